/*
 * prim.c: the state behind the primitives of the hosted and freestanding
 * builds (platform.h, mapped.h): the hook table, the count of bytes held
 * from vmalloc, the report of a failed debug assertion and, in hosted debug
 * builds, each thread's record of the locks it holds.
 *
 * Invariant: held_bytes is what vmalloc returned minus what went back to
 * vmfree (or moved away), through these calls only; peak_held_bytes is at
 * least every value held_bytes had. Relaxed atomics: counts, never guards.
 */
#include "platform/lock.h"
#include "platform/platform.h"

mm_prim_hooks mm_prim_table;

static _Atomic size_t held_bytes, peak_held_bytes;

void *mm_prim_map(size_t bytes)
{
    MM_ASSERT(bytes % MM_PAGE_SIZE == 0);
    void *base = vmalloc(NULL, bytes);
    if (base != NULL) {
        MM_ASSERT((uintptr_t)base % MM_PAGE_SIZE == 0);
        size_t now = atomic_fetch_add_explicit(&held_bytes, bytes, memory_order_relaxed) + bytes;
        mm_atomic_raise(&peak_held_bytes, now);
    }
    return base;
}

void mm_prim_unmap(void *base, size_t bytes)
{
    MM_ASSERT(atomic_load_explicit(&held_bytes, memory_order_relaxed) >= bytes);
    atomic_fetch_sub_explicit(&held_bytes, bytes, memory_order_relaxed);
    vmfree(base, bytes);
}

bool mm_prim_move_pages(void *from, size_t bytes, void *to)
{
    if (mm_prim_table.move_pages == NULL || !mm_prim_table.move_pages(from, bytes, to))
        return false;
    atomic_fetch_sub_explicit(&held_bytes, bytes, memory_order_relaxed);
    return true;
}

size_t mm_prim_held_bytes(void)
{
    return atomic_load_explicit(&held_bytes, memory_order_relaxed);
}

size_t mm_prim_peak_held_bytes(void)
{
    return atomic_load_explicit(&peak_held_bytes, memory_order_relaxed);
}

#if defined(MM_DEBUG)
void mm_prim_assert_failed(const char *file, int line, const char *condition)
{
    if (mm_prim_table.assert_failed != NULL)
        mm_prim_table.assert_failed(file, line, condition);
    __builtin_trap();
}

#if defined(MM_IDENTITY_TLS)
static _Thread_local struct mm_lock_record lock_record __attribute__((tls_model("initial-exec")));

struct mm_lock_record *mm_prim_lock_record(void)
{
    return &lock_record;
}
#endif
#endif
