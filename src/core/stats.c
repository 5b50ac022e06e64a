/*
 * stats.c: the counters of stats.h and their sums.
 *
 * Global counters are atomics updated on slow paths only. A heap's
 * class_counted and unpublished are its user's alone; the global live sum
 * is the sum over heaps of (class_counted summed - unpublished) plus the
 * bytes of large blocks in use, so it is exact whenever every heap has just
 * published everything.
 */
#include "core/stats.h"
#include "core/identity.h"
#include "core/size_class.h"

static _Atomic int64_t live_bytes;
static _Atomic size_t peak_live_bytes;
static _Atomic uint64_t large_mallocs, large_frees, large_allocated, large_freed;
static _Atomic uint64_t orphan_frees[MM_CLASS_COUNT];

static void add_live(int64_t delta)
{
    int64_t now = atomic_fetch_add_explicit(&live_bytes, delta, memory_order_relaxed) + delta;
    if (delta > 0 && now > 0)
        mm_atomic_raise(&peak_live_bytes, (size_t)now);
}

static void count_class(mm_heap *heap, unsigned c)
{
    uint64_t out = atomic_load_explicit(&heap->mallocs[c], memory_order_relaxed);
    uint64_t back = atomic_load_explicit(&heap->frees[c], memory_order_relaxed);
    int64_t live = (int64_t)(out - back) * (int64_t)mm_class_size(c);
    heap->unpublished += live - heap->class_counted[c];
    heap->class_counted[c] = live;
}

void mm_stats_publish_counted(mm_heap *heap)
{
    add_live(heap->unpublished);
    heap->unpublished = 0;
}

void mm_stats_publish(mm_heap *heap, unsigned c)
{
    count_class(heap, c);
    if (heap->unpublished >= MM_STATS_PUBLISH_BYTES || -heap->unpublished >= MM_STATS_PUBLISH_BYTES)
        mm_stats_publish_counted(heap);
}

void mm_stats_publish_all(mm_heap *heap)
{
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++)
        count_class(heap, c);
    mm_stats_publish_counted(heap);
}

void mm_stats_large(int64_t bytes)
{
    if (bytes > 0) {
        atomic_fetch_add_explicit(&large_mallocs, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&large_allocated, (uint64_t)bytes, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&large_frees, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&large_freed, (uint64_t)-bytes, memory_order_relaxed);
    }
    add_live(bytes);
}

void mm_stats_orphan_free(unsigned c)
{
    atomic_fetch_add_explicit(&orphan_frees[c], 1, memory_order_relaxed);
    add_live(-(int64_t)mm_class_size(c));
}

void mm_stats_collect(mm_stats *out)
{
    *out = (mm_stats){0};
    /* Heaps are only ever added at the head: the second walk stops where
     * the first began, so both see the same heaps. */
    mm_heap *first = mm_heaps_all();
    out->large_mallocs = atomic_load_explicit(&large_mallocs, memory_order_relaxed);
    out->large_allocated_bytes = atomic_load_explicit(&large_allocated, memory_order_relaxed);
    for (mm_heap *heap = first; heap != NULL; heap = heap->next_all) {
        out->heaps++;
        for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
            out->classes[c].mallocs += atomic_load_explicit(&heap->mallocs[c], memory_order_relaxed);
            out->classes[c].slabs +=
                atomic_load_explicit(&heap->bins[c].span_count, memory_order_relaxed);
        }
    }
    /* No free count may be read before a malloc count above. */
    atomic_thread_fence(memory_order_acquire);
    for (mm_heap *heap = first; heap != NULL; heap = heap->next_all)
        for (unsigned c = 0; c < MM_CLASS_COUNT; c++)
            out->classes[c].frees += atomic_load_explicit(&heap->frees[c], memory_order_relaxed);
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
        out->classes[c].frees += atomic_load_explicit(&orphan_frees[c], memory_order_relaxed);
        out->mallocs += out->classes[c].mallocs;
        out->frees += out->classes[c].frees;
        out->allocated_bytes += out->classes[c].mallocs * mm_class_size(c);
        out->freed_bytes += out->classes[c].frees * mm_class_size(c);
    }
    out->large_frees = atomic_load_explicit(&large_frees, memory_order_relaxed);
    out->large_freed_bytes = atomic_load_explicit(&large_freed, memory_order_relaxed);
    out->mallocs += out->large_mallocs;
    out->frees += out->large_frees;
    out->allocated_bytes += out->large_allocated_bytes;
    out->freed_bytes += out->large_freed_bytes;
    /* The sampled peak can trail the exact sums: it is raised to the bytes
     * in use now, so a peak once reported never falls. */
    out->in_use_bytes =
        out->allocated_bytes > out->freed_bytes ? out->allocated_bytes - out->freed_bytes : 0;
    mm_atomic_raise(&peak_live_bytes, out->in_use_bytes);
    out->peak_bytes = atomic_load_explicit(&peak_live_bytes, memory_order_relaxed);
    out->held_bytes = mm_prim_held_bytes();
    out->peak_held_bytes = mm_prim_peak_held_bytes();
}
