/*
 * span.h: span descriptors and the regions they describe.
 *
 * Descriptors live in 16 KiB chunks from vmalloc, each chunk with its own
 * free list; chunks with a free descriptor are on one list, and a chunk whose
 * descriptors are all free goes back to vmfree unless it is the only chunk
 * with room. All of it is guarded by one spin lock, taken only when a region
 * is mapped or unmapped (never on the malloc/free fast paths); every
 * operation is O(1).
 */
#ifndef MM_SPAN_H
#define MM_SPAN_H

#include "core/types.h"

/* A descriptor for a new region of `bytes` mapped from vmalloc; its
 * block_start is the region's first address aligned to `align` (a power of
 * two, at least a page), and the page map sends `mapped_pages` pages from
 * there to the descriptor. NULL when memory cannot be had. Kind, owner and
 * slab fields are the caller's to set. */
mm_span *mm_span_create(size_t bytes, size_t align, size_t mapped_pages);

/* Clear the span's page-map entries, unmap its region, free its descriptor. */
void mm_span_destroy(mm_span *span);

/* mm_span_destroy every span of `list` (linked by `next`). Where the
 * platform's vmfree takes a range of several adjacent regions
 * (mm_prim_unmaps_across_regions()), each run of adjacent regions
 * goes back with one call: one system call and one TLB shootdown instead of
 * one per region (regions mapped one after another are mostly adjacent).
 * O(n log n) for n spans. */
void mm_span_destroy_list(mm_span *list);

/* Free the descriptor of a span whose region is gone already (its pages
 * moved elsewhere); the caller cleared its page-map entries before the
 * region went, so that nobody finds the span at addresses mapped anew. */
void mm_span_forget(mm_span *span);

/* Whether `ptr` is the start of a block of slab `span` that was ever handed
 * out: below the slab's bump pointer, and the offset divided by the block
 * size (by multiplying with a reciprocal exact for offsets below 2^20)
 * leaves no remainder. */
static inline bool mm_slab_block_start(const mm_span *span, const void *ptr)
{
    uintptr_t offset = (uintptr_t)ptr - (uintptr_t)MM_SPAN_GET(span, base);
    uint64_t index =
        ((uint64_t)offset * MM_SPAN_GET(span, block_reciprocal)) >> MM_RECIPROCAL_SHIFT;
    return index * MM_SPAN_GET(span, block_size) == offset &&
           (const char *)ptr < atomic_load_explicit(&span->bump, memory_order_relaxed);
}

/* Make `span` (a slab with no block out) an empty slab of class `c`. */
void mm_slab_format(mm_span *span, unsigned c);

/* fork: take and release the descriptor pool's lock (identity_tls.c). */
void mm_span_lock_pool(void);
void mm_span_unlock_pool(void);

#endif /* MM_SPAN_H */
