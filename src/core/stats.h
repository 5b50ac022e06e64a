/*
 * stats.h: what the allocator counts, for allocator_stats, mallinfo2 and the
 * MYMALLOC_STATS report.
 *
 *   - Bytes held from the system: every vmalloc and vmfree goes through the
 *     platform's mm_prim_map/mm_prim_unmap, which keep the current and peak
 *     sum (one atomic add per mapping; mapping is a slow path).
 *   - Small blocks: each heap counts the blocks it hands out and the blocks
 *     its user frees, per class (heap.h, no locked instruction). Sums over
 *     all heaps are exact once the threads are quiet.
 *   - Large blocks: counted under the large-block lock (large.c).
 *   - Bytes in use and their peak: on each slow path of a class (and each
 *     remote free) the heap's user counts the class's change in bytes in use
 *     (blocks handed out minus blocks freed, O(1)), and each free into a
 *     parked slab counts its block (two adds); once the changes add up
 *     to MM_STATS_PUBLISH_BYTES either way they go into one global sum, whose
 *     largest value is the peak. It may miss a short peak by up to that much
 *     per heap, plus what a class moves between two of its slow paths (about
 *     a slab).
 */
#ifndef MM_STATS_H
#define MM_STATS_H

#include "core/types.h"

#define MM_STATS_PUBLISH_BYTES ((int64_t)64 << 10)

/* The heap's user, on a slow path of class `c`: count the class's change,
 * and publish the heap's changes if they add up. O(1). */
void mm_stats_publish(mm_heap *heap, unsigned c);

/* Add the heap's counted changes to the global sum. */
void mm_stats_publish_counted(mm_heap *heap);

/* The heap's user freed a block of `block_bytes` of class `c` into a parked
 * slab (the free is counted in heap->frees already): count that block alone,
 * inline. Exact: the next count of the class (mm_stats_publish) starts from
 * this one. True when the heap's changes add up to be published
 * (mm_stats_publish_counted, which the caller makes out of line, so that
 * this path needs no frame). O(1). */
static inline bool mm_stats_parked_free(mm_heap *heap, unsigned c, uint32_t block_bytes)
{
    heap->class_counted[c] -= block_bytes;
    heap->unpublished -= block_bytes;
    return -heap->unpublished >= MM_STATS_PUBLISH_BYTES;
}

/* The heap's user is leaving it: count every class and publish. O(classes). */
void mm_stats_publish_all(mm_heap *heap);

/* A large block of `bytes` was handed out (positive) or freed (negative). */
void mm_stats_large(int64_t bytes);

/* A block freed by a thread that has no heap to count it in. */
void mm_stats_orphan_free(unsigned c);

typedef struct mm_stats {
    uint64_t mallocs, frees;                 /* small and large blocks */
    uint64_t allocated_bytes, freed_bytes;   /* usable sizes */
    uint64_t in_use_bytes;                   /* allocated - freed, never above
                                                the true value at some
                                                instant of the collection */
    uint64_t peak_bytes;                     /* peak of allocated - freed */
    uint64_t held_bytes, peak_held_bytes;    /* from vmalloc, now and peak */
    uint64_t large_mallocs, large_frees, large_allocated_bytes, large_freed_bytes;
    uint64_t heaps;                          /* heaps ever made */
    struct {
        uint64_t mallocs, frees, slabs;      /* slabs: on heaps' lists now */
    } classes[MM_CLASS_COUNT];
} mm_stats;

/* Sum every counter. O(heaps x classes); safe at any time, exact once other
 * threads are quiet. Every malloc count is read before any free count, so
 * that the bytes in use are never overstated (a free counted but not its
 * malloc). */
void mm_stats_collect(mm_stats *out);

#endif /* MM_STATS_H */
