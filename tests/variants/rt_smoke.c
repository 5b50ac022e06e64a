/*
 * rt_smoke.c: the smoke test of a build of the real-time heap
 * (docs/BUILD.md, "Variants"): the drop-in build/rt/mymalloc_rt.c
 * (MM_RT_STANDALONE, with or without MM_DEBUG), or, with -DVT_RT_LIBRARY,
 * the same calls in the library (linked with build/libmymalloc.a). Each of
 * the two threads owns a heap of 64 MiB and allocates from it; a block is
 * freed into the heap whose memory holds it, by whichever thread frees it.
 *
 *   rt_smoke --checks=LIST   vt_exchange, both heaps sound (rt_heap_check)
 *                            and empty after it, then each check of LIST:
 *   dropin    a request too large for the heap: NULL, errno untouched (the
 *             drop-in has no errno); a heap whose top (where blocks are
 *             carved when no free block serves) was planted off its 16-byte
 *             grid goes on unchecked (RT_ASSERT compiled out)
 *   library   the same request: NULL with errno ENOMEM
 *   debug     MM_DEBUG: the planted top stops the next carve (SIGILL)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(VT_RT_LIBRARY)
#include "mymalloc/rt.h"
#else
#include "mymalloc_rt.h"
#endif
#include "variants.h"
/* Last: the allocator's headers make what follows them hidden. */
#include "rt/rt_internal.h"

#define HEAP_BYTES ((size_t)64 << 20)

static char *memory[2];
static rt_heap_t *heaps[2];
static _Thread_local int my_heap;

static void *rt_alloc(size_t size) { return rt_malloc(heaps[my_heap], size); }

static void rt_free_anywhere(void *ptr)
{
    int h = (char *)ptr >= memory[1] && (char *)ptr < memory[1] + HEAP_BYTES;
    rt_free(heaps[h], ptr);
}

static size_t rt_alignment(size_t size)
{
    (void)size;
    return 16;
}

static void set_heap(int thread) { my_heap = thread; }

static const struct vt_ops rt_ops = {rt_alloc, rt_free_anywhere, rt_alignment, set_heap};

/* A fresh heap: blocks of 100 bytes until one is carved from the top (the
 * first block the heap finds nowhere else), then the top moved 8 bytes off
 * the grid, and one more carve. */
static void plant_bad_top(void)
{
    static _Alignas(16) char small[1 << 20];
    rt_heap_t *heap = rt_heap_init(small, sizeof small);
    if (heap == NULL)
        _exit(3);
    uintptr_t untouched_top = heap->top;
    while (heap->top == untouched_top)
        if (rt_malloc(heap, 100) == NULL)
            _exit(4);
    heap->top += 8;
    rt_malloc(heap, 100);
}

int main(int argc, char **argv)
{
    const char *checks = argc > 1 && strncmp(argv[1], "--checks=", 9) == 0 ? argv[1] + 9 : "";
    for (int h = 0; h < 2; h++) {
        memory[h] = mmap(NULL, HEAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        heaps[h] = memory[h] == MAP_FAILED ? NULL : rt_heap_init(memory[h], HEAP_BYTES);
        if (heaps[h] == NULL)
            return 2;
    }
    vt_exchange(&rt_ops);
    for (int h = 0; h < 2; h++) {
        struct rt_heap_stats stats;
        rt_heap_stats(heaps[h], &stats);
        CHECK(rt_heap_check(heaps[h]) == 0, "heap %d unsound after the exchange", h);
        CHECK(stats.live_bytes == 0, "heap %d: %zu bytes live after every free", h, stats.live_bytes);
        printf("FIGURES: heap %d peak live %zu KiB\n", h, stats.peak_live_bytes >> 10);
    }
    if (strstr(checks, "dropin") != NULL || strstr(checks, "library") != NULL) {
        errno = 4242;
        void *huge = rt_malloc(heaps[0], HEAP_BYTES);
        int expected = strstr(checks, "library") != NULL ? ENOMEM : 4242;
        CHECK(huge == NULL && errno == expected, "a request beyond the heap gave %p, errno %d (want %d)",
              huge, errno, expected);
    }
    if (strstr(checks, "dropin") != NULL)
        vt_expect_child(plant_bad_top, 0, NULL, "dropin: planted top unnoticed");
    if (strstr(checks, "debug") != NULL)
        vt_expect_child(plant_bad_top, SIGILL, NULL, "debug: planted top trapped");
    return check_finish(argv[0]);
}
