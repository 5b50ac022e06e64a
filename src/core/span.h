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

/* A descriptor for a new region of `bytes` mapped from vmalloc, entered in
 * the page map over `mapped_pages` pages; NULL when memory cannot be had.
 * Kind, owner and slab fields are the caller's to set. */
mm_span *mm_span_create(size_t bytes, size_t mapped_pages);

/* Clear the span's page-map entries, unmap its region, free its descriptor. */
void mm_span_destroy(mm_span *span);

/* Make `span` (a slab with no block out) an empty slab of class `c`. */
void mm_slab_format(mm_span *span, unsigned c);

#endif /* MM_SPAN_H */
