/*
 * large.h: blocks above MM_SMALL_MAX. Each is its own vmalloc region, rounded
 * up to pages and page-aligned, owned by no heap: any thread frees it
 * directly. Freed regions wait in a small cache (LRU, bounded in count and
 * bytes) so that a loop of large malloc/free does not map and unmap each time.
 * With huge pages, realloc moves a growing block's pages (mm_large_move).
 */
#ifndef MM_LARGE_H
#define MM_LARGE_H

#include "core/types.h"

/* A block of at least `size` bytes aligned to `align` (a power of two; up to
 * a page costs nothing, beyond it address space of one more `align`);
 * *fresh tells whether its memory was mapped just now. NULL when memory
 * cannot be had or size or align exceed MM_LARGE_MAX. `replacing`: the
 * large block that realloc frees right after (its contents copied), which
 * the recent peak of large use (retain.h) then does not count twice; else
 * NULL. */
void *mm_large_malloc(size_t size, size_t align, const mm_span *replacing, bool *fresh);

/* Free the block of large span `span`; false, doing nothing, when the block
 * is not handed out (a double free). `outgrown`: realloc is freeing it
 * after moving it to a bigger block. */
bool mm_large_free(mm_span *span, bool outgrown);

/* realloc grows the block of large span `span` into `to`, a fresh large
 * block at the base of a region of at least span->bytes: where the
 * platform can move pages (move_pages) and the block is the whole of a
 * region of huge pages, its pages move into `to` and `span` is gone (true);
 * else nothing changes (false), and the caller copies. Pages of small
 * regions are copied: moving them costs a page fault per page afresh, more
 * than the copy. */
bool mm_large_move(mm_span *span, void *to);

/* Bytes usable in the block of large span `span`: its pages (for a block at
 * the region's base, the whole region). */
static inline size_t mm_large_usable(const mm_span *span)
{
    return (size_t)(span->end - span->block_start);
}

struct mm_verifier;
/* allocator_verify: the cache's regions are large, not handed out, found by
 * the page map, and within the cache's bounds. */
void mm_large_verify(struct mm_verifier *v);

/* Unmap every cached region (out-of-memory path). */
void mm_large_cache_flush(void);

/* fork: take and release the cache's lock (identity_tls.c). */
void mm_large_lock(void);
void mm_large_unlock(void);

#endif /* MM_LARGE_H */
