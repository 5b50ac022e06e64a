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
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/entry.h"
#include "core/stats.h"
#include "core/types.h"
#include "hosted/hosted.h"

MM_PUBLIC void *malloc(size_t size)
{
    return mm_malloc(size);
}

MM_PUBLIC void free(void *ptr)
{
    mm_free(ptr);
}

MM_PUBLIC void *calloc(size_t count, size_t size)
{
    return mm_calloc(count, size);
}

MM_PUBLIC void *realloc(void *ptr, size_t size)
{
    return mm_realloc(ptr, size);
}

MM_PUBLIC void *reallocarray(void *ptr, size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return mm_realloc(ptr, bytes);
}

MM_PUBLIC int posix_memalign(void **result, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *block = mm_aligned_alloc(alignment, size);
    errno = saved;
    if (block == NULL)
        return ENOMEM;
    *result = block;
    return 0;
}

MM_PUBLIC void *aligned_alloc(size_t alignment, size_t size)
{
    return mm_aligned_alloc(alignment, size);
}

/* Like aligned_alloc: an alignment that is not a power of two is EINVAL, as
 * the manual describes (glibc 2.36 itself rounds it up). */
MM_PUBLIC void *memalign(size_t alignment, size_t size)
{
    return mm_aligned_alloc(alignment, size);
}

MM_PUBLIC void *valloc(size_t size)
{
    return mm_aligned_alloc(MM_PAGE_SIZE, size);
}

MM_PUBLIC void *pvalloc(size_t size)
{
    if (size > SIZE_MAX - MM_PAGE_SIZE) {
        errno = ENOMEM;
        return NULL;
    }
    return mm_aligned_alloc(MM_PAGE_SIZE, (size + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1));
}

MM_PUBLIC size_t malloc_usable_size(void *ptr)
{
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
    mm_free(ptr);
}

MM_PUBLIC void free_aligned_sized(void *ptr, size_t alignment, size_t size)
{
    (void)alignment;
    (void)size;
    mm_free(ptr);
}

/* Returns the idle memory of the calling thread's heap and the large-block
 * cache; `pad` is irrelevant (there is no heap top to keep). */
MM_PUBLIC int malloc_trim(size_t pad)
{
    (void)pad;
    return mm_hosted_trim("malloc_trim") ? 1 : 0;
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
