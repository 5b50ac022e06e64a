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

/* Values of span->parked. */
#define MM_PARKED 1         /* on the partial or ready list, not current */
#define MM_PARKED_FULL 2    /* on the full or ready list, as far as the owner knows */
#define MM_PARKED_WAITING 3 /* parked full, a quarter free again, its bin's
                               waiting slab (heap.c, slab_wait) */

/* The unfull_below of `span` when its `parked` is `parked`. */
static inline uint32_t mm_span_unfull_below(const mm_span *span, uint8_t parked)
{
    return parked == MM_PARKED_FULL ? span->capacity - span->unfull_free + 1 : 0;
}

/* Set `parked` (owner-only) and the unfull_below it implies, so that a free
 * into a parked slab tests for its turn back to partial with one compare. */
static inline void mm_span_set_parked(mm_span *span, uint8_t parked)
{
    span->parked = parked;
    span->unfull_below = mm_span_unfull_below(span, parked);
}

/* Whether `ptr` is the start of a block of slab `span` that was ever handed
 * out: below the slab's bump pointer, and its offset a multiple of the
 * block size, told by one multiplication with the reciprocal R =
 * ceil(2^40 / size): the low 40 bits of offset x R are, for offset = k size,
 * k (size R - 2^40) < k size = offset, below 2^16 in a slab; for
 * offset = k size + r with 0 < r < size, that plus r R, at least
 * R >= 2^40 / MM_SMALL_MAX = 2^25 and below 2^40. So bits 25 to 39 are all
 * zero exactly at block starts (checked for every class and every offset
 * below 2^20). An offset beyond the slab (an address 2^48 away, which the
 * page map aliases) fails the bump test. */
#define MM_GRID_REMAINDER_BIT 25
_Static_assert(MM_SMALL_MAX <= (size_t)1 << (MM_RECIPROCAL_SHIFT - MM_GRID_REMAINDER_BIT) &&
                   (size_t)MM_SLAB_MAX_PAGES * MM_PAGE_SIZE <= (size_t)1 << MM_GRID_REMAINDER_BIT,
               "the grid test's bits separate block starts from the rest");
static inline bool mm_slab_block_start(const mm_span *span, const void *ptr)
{
    uintptr_t offset = (uintptr_t)ptr - (uintptr_t)MM_SPAN_GET(span, base);
    uint64_t scaled = (uint64_t)offset * MM_SPAN_GET(span, block_reciprocal);
    return (scaled << (64 - MM_RECIPROCAL_SHIFT)) >>
                   (64 - MM_RECIPROCAL_SHIFT + MM_GRID_REMAINDER_BIT) == 0 &&
           (const char *)ptr < atomic_load_explicit(&span->bump, memory_order_relaxed);
}

/* Make `span` (a slab with no block out) an empty slab of class `c`. */
void mm_slab_format(mm_span *span, unsigned c);

/* fork: take and release the descriptor pool's lock (identity_tls.c). */
void mm_span_lock_pool(void);
void mm_span_unlock_pool(void);

#endif /* MM_SPAN_H */
