/*
 * large.h: blocks above MM_SMALL_MAX. Each is its own vmalloc region, rounded
 * up to pages and page-aligned, owned by no heap: any thread frees it
 * directly. Freed regions wait in a small cache (LRU, bounded in count and
 * bytes) so that a loop of large malloc/free does not map and unmap each time.
 */
#ifndef MM_LARGE_H
#define MM_LARGE_H

#include "core/types.h"

void *mm_large_malloc(size_t size);
void mm_large_free(mm_span *span);

/* Unmap every cached region (out-of-memory path). */
void mm_large_cache_flush(void);

#endif /* MM_LARGE_H */
