/*
 * libc.c: the standard malloc family and glibc's extras, with glibc's
 * documented semantics, over the core's entry points (entry.h). Linking the
 * library before libc, or preloading it, makes these the process's
 * allocator; libstdc++'s operator new and delete reach them through malloc
 * and free.
 *
 * errno: the core reports failures through the error hook (threads.c), which
 * sets ENOMEM or EINVAL; posix_memalign returns its error instead and leaves
 * errno as it was.
 *
 * Under valgrind's memcheck (platform/track.h; docs/DEBUGGING.md) every
 * block is announced as a malloc-like block of the size asked for, the
 * slack behind it unaddressable, and every call into the core runs with
 * reports off, since the core keeps its metadata in free blocks. The core
 * API (mymalloc, myfree, ...) is defined here too, over the same tracking:
 * the core's own names for it are weak, and this is the member of the
 * archive that every program linking libmymalloc.a pulls in (for malloc).
 * Outside memcheck malloc, free, mymalloc and myfree cost nothing for it
 * (the test is on their slow paths), every other entry point a test of one
 * byte.
 */
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "core/entry.h"
#include "core/stats.h"
#include "core/types.h"
#include "hosted/hosted.h"
#include "platform/track.h"

/* ---- under memcheck --------------------------------------------------------- */

/* Block `block` (or NULL) just handed out for `size` bytes: the checker
 * sees `size` bytes, the rest of the usable size unaddressable. */
static void *announce(void *block, size_t size, bool zeroed)
{
    if (block == NULL)
        return NULL;
    mm_track_quiet_begin();
    size_t usable = mm_usable_size(block);
    mm_track_quiet_end();
    mm_track_noaccess((char *)block + size, usable - size);
    mm_track_block_out(NULL, block, size, zeroed);
    return block;
}

static __attribute__((noinline, cold)) void *tracked_malloc(size_t size)
{
    mm_track_quiet_begin();
    void *block = mm_malloc(size);
    mm_track_quiet_end();
    return announce(block, size, false);
}

static __attribute__((noinline, cold)) void *tracked_calloc(size_t count, size_t size)
{
    mm_track_quiet_begin();
    void *block = mm_calloc(count, size);
    mm_track_quiet_end();
    return announce(block, count * size, true);
}

static __attribute__((noinline, cold)) void *tracked_aligned_alloc(size_t alignment, size_t size)
{
    mm_track_quiet_begin();
    void *block = mm_aligned_alloc(alignment, size);
    mm_track_quiet_end();
    return announce(block, size, false);
}

/* The checker hears of the free first: the block may be handed out again
 * by another thread as soon as the core has it. A pointer that is not a
 * live block is reported by memcheck (invalid free), then by the core. */
static __attribute__((noinline, cold)) void tracked_free(void *ptr)
{
    if (ptr == NULL)
        return;
    mm_track_block_freed(NULL, ptr, 0);
    mm_track_quiet_begin();
    mm_free(ptr);
    mm_track_quiet_end();
}

/* Always a new block, as memcheck's own realloc: the old one's contents and
 * their definedness are copied, up to the size it was asked with. */
static __attribute__((noinline, cold)) void *tracked_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return tracked_malloc(size);
    if (size == 0) {
        tracked_free(ptr);
        return NULL;
    }
    mm_track_quiet_begin();
    size_t usable = mm_usable_size(ptr);
    mm_track_quiet_end();
    if (usable == 0)
        return mm_realloc(ptr, size); /* not a live block: the core reports it */
    size_t old = mm_track_block_size(ptr, usable);
    void *moved = tracked_malloc(size);
    if (moved == NULL)
        return NULL;
    memcpy(moved, ptr, old < size ? old : size);
    tracked_free(ptr);
    return moved;
}

static __attribute__((noinline, cold)) size_t tracked_usable_size(void *ptr)
{
    mm_track_quiet_begin();
    size_t usable = mm_usable_size(ptr);
    mm_track_quiet_end();
    return usable == 0 ? 0 : mm_track_block_size(ptr, usable);
}

/* ---- the malloc family ---------------------------------------------------- */

/* malloc and free, and the core API's mymalloc and myfree below, are the
 * core's inline fast paths (entry.h) with the test for memcheck moved onto
 * their slow paths, where it costs nothing:
 *   - malloc: a request at or above inline_limit leaves the fast path. The
 *     limit is 0 until a call finds the process without memcheck, then one
 *     above the largest small request: the first call of the process probes
 *     (tracked_malloc), and under memcheck every call is tracked.
 *   - free: the quick lookup never places a pointer while memcheck may
 *     watch (identity_tls.h), so the test is on its miss path.
 * A relaxed load and store: the limit goes only from 0 to MM_SMALL_MAX + 1,
 * written by any thread that finds the process without memcheck, and a
 * stale 0 only sends a call to the slow path. */
static _Atomic size_t inline_limit;

/* Whether `size` is at or above the limit. On x86_64 one compare with
 * memory, in assembly: compilers do not fold a relaxed atomic load into the
 * compare (one instruction more), and an aligned 8-byte load is atomic
 * there. Elsewhere the relaxed load. */
#if defined(__x86_64__)
static inline __attribute__((always_inline)) bool past_inline_limit(size_t size)
{
    __asm__ goto("cmpq %0, %1\n\tjae %l[past]"
                 :
                 : "m"(*(const size_t *)&inline_limit), "r"(size)
                 : "cc"
                 : past);
    return false;
    /* cppcheck-suppress unusedLabel ; the asm goto above jumps to it */
past:
    return true;
}
#else
static inline bool past_inline_limit(size_t size)
{
    return size >= atomic_load_explicit(&inline_limit, memory_order_relaxed);
}
#endif

/* A request the inline path left: a large one, or any while memcheck may
 * watch. */
static __attribute__((noinline)) void *malloc_unusual(size_t size)
{
    if (mm_track_on())
        return tracked_malloc(size);
    atomic_store_explicit(&inline_limit, MM_SMALL_MAX + 1, memory_order_relaxed);
    return mm_malloc(size);
}

static inline __attribute__((always_inline)) void *malloc_inline(size_t size,
                                                                 void *(*unusual)(size_t))
{
    if (MM_UNLIKELY(past_inline_limit(size)))
        return unusual(size);
    return mm_malloc_class(mm_size_class(size));
}

static __attribute__((noinline)) int free_missed(void *ptr, bool checked)
{
    if (mm_track_on()) {
        tracked_free(ptr);
        return 0;
    }
    return mm_free_looked_up(ptr, checked);
}

MM_PUBLIC void *malloc(size_t size)
{
    return malloc_inline(size, malloc_unusual);
}

MM_PUBLIC void free(void *ptr)
{
    mm_free_pointer(ptr, false, free_missed);
}

MM_PUBLIC void *calloc(size_t count, size_t size)
{
    if (MM_UNLIKELY(mm_track_on()))
        return tracked_calloc(count, size);
    return mm_calloc(count, size);
}

MM_PUBLIC void *realloc(void *ptr, size_t size)
{
    if (MM_UNLIKELY(mm_track_on()))
        return tracked_realloc(ptr, size);
    return mm_realloc(ptr, size);
}

static void *aligned(size_t alignment, size_t size)
{
    if (MM_UNLIKELY(mm_track_on()))
        return tracked_aligned_alloc(alignment, size);
    return mm_aligned_alloc(alignment, size);
}

MM_PUBLIC void *reallocarray(void *ptr, size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, bytes);
}

MM_PUBLIC int posix_memalign(void **result, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *block = aligned(alignment, size);
    errno = saved;
    if (block == NULL)
        return ENOMEM;
    *result = block;
    return 0;
}

MM_PUBLIC void *aligned_alloc(size_t alignment, size_t size)
{
    return aligned(alignment, size);
}

/* Like aligned_alloc: an alignment that is not a power of two is EINVAL, as
 * the manual describes (glibc 2.36 itself rounds it up). */
MM_PUBLIC void *memalign(size_t alignment, size_t size)
{
    return aligned(alignment, size);
}

MM_PUBLIC void *valloc(size_t size)
{
    return aligned(MM_PAGE_SIZE, size);
}

MM_PUBLIC void *pvalloc(size_t size)
{
    if (size > SIZE_MAX - MM_PAGE_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    /* By name: memcheck, which replaces memalign but not pvalloc, then
     * sees the block from the allocator that frees it. */
    return memalign(MM_PAGE_SIZE, (size + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1));
}

/* Under memcheck, the size asked for, as memcheck's own. */
MM_PUBLIC size_t malloc_usable_size(void *ptr)
{
    if (MM_UNLIKELY(mm_track_on()))
        return tracked_usable_size(ptr);
    return mm_usable_size(ptr);
}

/* C23: the size (and alignment) the block was asked with are hints the core
 * does not need; the block's own metadata decides. (glibc 2.36's headers do
 * not declare them yet.) */
MM_PUBLIC void free_sized(void *ptr, size_t size);
MM_PUBLIC void free_aligned_sized(void *ptr, size_t alignment, size_t size);

MM_PUBLIC void free_sized(void *ptr, size_t size)
{
    (void)size;
    free(ptr);
}

MM_PUBLIC void free_aligned_sized(void *ptr, size_t alignment, size_t size)
{
    (void)alignment;
    (void)size;
    free(ptr);
}

/* Returns the idle memory of the calling thread's heap and the large-block
 * cache; `pad` is irrelevant (there is no heap top to keep). */
MM_PUBLIC int malloc_trim(size_t pad)
{
    (void)pad;
    mm_track_quiet_begin();
    bool trimmed = mm_hosted_trim("malloc_trim");
    mm_track_quiet_end();
    return trimmed ? 1 : 0;
}

/* glibc's tuning parameters have no counterpart here: accepted and ignored
 * (returns 1, success); an unknown parameter returns 0, as in glibc. */
MM_PUBLIC int mallopt(int param, int value)
{
    (void)value;
    switch (param) {
    case M_MXFAST:
    case M_TRIM_THRESHOLD:
    case M_TOP_PAD:
    case M_MMAP_THRESHOLD:
    case M_MMAP_MAX:
    case M_CHECK_ACTION:
    case M_PERTURB:
    case M_ARENA_TEST:
    case M_ARENA_MAX:
        mm_verbose("mymalloc: mallopt(%d, %d) ignored: no such tuning here", param, value);
        return 1;
    default:
        return 0;
    }
}

/* arena: bytes held from the system; uordblks: bytes in live blocks (usable
 * sizes); fordblks: the rest of what is held; hblks/hblkhd: large blocks in
 * use and their bytes; ordblks: heaps. */
MM_PUBLIC struct mallinfo2 mallinfo2(void)
{
    mm_stats s;
    mm_stats_collect(&s);
    size_t in_use = s.in_use_bytes;
    struct mallinfo2 info = {0};
    info.arena = s.held_bytes;
    info.ordblks = s.heaps;
    /* With other threads running, a free may be counted before its malloc. */
    info.hblks = s.large_mallocs > s.large_frees ? s.large_mallocs - s.large_frees : 0;
    info.hblkhd = s.large_allocated_bytes > s.large_freed_bytes
                      ? s.large_allocated_bytes - s.large_freed_bytes
                      : 0;
    info.usmblks = s.peak_held_bytes;
    info.uordblks = in_use;
    info.fordblks = s.held_bytes > in_use ? s.held_bytes - in_use : 0;
    return info;
}

/* The old interface truncates to int, as glibc's does. */
MM_PUBLIC struct mallinfo mallinfo(void)
{
    struct mallinfo2 wide = mallinfo2();
    struct mallinfo info = {0};
    info.arena = (int)wide.arena;
    info.ordblks = (int)wide.ordblks;
    info.hblks = (int)wide.hblks;
    info.hblkhd = (int)wide.hblkhd;
    info.usmblks = (int)wide.usmblks;
    info.uordblks = (int)wide.uordblks;
    info.fordblks = (int)wide.fordblks;
    return info;
}

MM_PUBLIC void malloc_stats(void)
{
    mm_report_stats();
}

/* ---- the core API ------------------------------------------------------------
 * Under memcheck these go through the malloc family by name: to the tracked
 * entry points above, or to memcheck's own, which by default replace the
 * malloc family of every object (docs/DEBUGGING.md); either way every block
 * lives in one allocator, and myfree(malloc(n)) stays valid. Elsewhere (and
 * in a library loaded with dlopen, whose malloc is not the process's), the
 * core's own. */

/* mymalloc and myfree: malloc's and free's inline paths, whose slow paths
 * go to the family by name under memcheck. */
static __attribute__((noinline)) void *mymalloc_unusual(size_t size)
{
    if (mm_track_on() && mm_track_memcheck())
        return malloc(size);
    return malloc_unusual(size);
}

static __attribute__((noinline)) int myfree_missed(void *ptr, bool checked)
{
    if (mm_track_on() && mm_track_memcheck()) {
        free(ptr);
        return 0;
    }
    return free_missed(ptr, checked);
}

MM_PUBLIC void *mymalloc(size_t size)
{
    return malloc_inline(size, mymalloc_unusual);
}

MM_PUBLIC void myfree(void *ptr)
{
    mm_free_pointer(ptr, false, myfree_missed);
}

MM_PUBLIC void *mycalloc(size_t count, size_t size)
{
    if (MM_UNLIKELY(mm_track_on()) && mm_track_memcheck())
        return calloc(count, size);
    return mm_calloc(count, size);
}

MM_PUBLIC void *myrealloc(void *ptr, size_t size)
{
    if (MM_UNLIKELY(mm_track_on()) && mm_track_memcheck())
        return realloc(ptr, size);
    return mm_realloc(ptr, size);
}

MM_PUBLIC void *myaligned_alloc(size_t alignment, size_t size)
{
    if (MM_UNLIKELY(mm_track_on()) && mm_track_memcheck())
        return aligned_alloc(alignment, size);
    return mm_aligned_alloc(alignment, size);
}

MM_PUBLIC size_t myusable_size(void *ptr)
{
    if (MM_UNLIKELY(mm_track_on()) && mm_track_memcheck())
        return malloc_usable_size(ptr);
    return mm_usable_size(ptr);
}

/* Under memcheck: a live block of the core is judged and freed by it; a
 * block of memcheck's own malloc (when it replaced the family) is freed by
 * free; anything else is -1. */
static __attribute__((noinline, cold)) int tracked_free_checked(void *ptr)
{
    if (ptr == NULL)
        return 0;
    mm_track_quiet_begin();
    bool core_block = mm_usable_size(ptr) != 0;
    mm_track_quiet_end();
    if (core_block || malloc_usable_size(ptr) != 0) {
        free(ptr);
        return 0;
    }
    return -1;
}

MM_PUBLIC int myfree_checked(void *ptr)
{
    if (MM_UNLIKELY(mm_track_on()) && mm_track_memcheck())
        return tracked_free_checked(ptr);
    return mm_free_checked(ptr);
}
