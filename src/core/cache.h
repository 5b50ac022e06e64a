/*
 * cache.h: the caches of empty slabs, each heap's and the shared one
 * (cache.c). Unless said otherwise, a call is made under the lists_lock of
 * the heap whose cache it changes.
 */
#ifndef MM_CACHE_H
#define MM_CACHE_H

#include "core/types.h"

/* The cache of empty slabs that overflow the heaps' own caches, shared by
 * all heaps: a heap with no thread and nothing but this cache. Its
 * lists_lock guards it. */
extern mm_heap mm_shared_cache;

/* The bytes of slabs on some heap's lists rose or fell (heap.c, under that
 * heap's lists_lock): the shared cache's budget follows their recent peak.
 * Lock-free. */
void mm_cache_slabs_added(size_t bytes);
void mm_cache_slabs_removed(size_t bytes);

/* Cache empty slab `span`, owned by `heap`; beyond the budget it goes on to
 * the shared cache or back to the system. */
void mm_cache_put(mm_heap *heap, mm_span *span);

/* Make room in the budget for `extra` more bytes. */
void mm_cache_trim(mm_heap *heap, size_t extra);

/* Move cached slabs out (to the shared cache, or from it to the system),
 * largest first, until the cache holds at most `limit` bytes. */
void mm_cache_shrink(mm_heap *heap, size_t limit);

/* Unmap every cached slab of `heap`. */
void mm_cache_flush(mm_heap *heap);

/* Takes `heap`'s lists_lock itself: an empty slab for class `c`, near
 * `pages` pages, out of its cache, or NULL. From the shared cache, the slab
 * stays owned by it until the taker links it (heap.c). O(MM_SLAB_MAX_PAGES). */
mm_span *mm_cache_take(mm_heap *heap, unsigned c, size_t pages);

/* Takes `heap`'s lists_lock itself: `span` was abandoned and is now empty,
 * claimed by a remote free of the thread whose heap is `heap` (NULL if it has
 * none): with retention it goes to that heap's cache (beyond its budget, to
 * the shared cache), so that the memory of a thread that exited serves the
 * threads that freed its blocks; else, or without a heap, it is unmapped. */
void mm_cache_adopt_empty(mm_heap *heap, mm_span *span);

/* Takes the shared cache's lock itself: unmap every slab of the shared
 * cache (malloc_trim, out of memory). */
void mm_shared_cache_flush(void);

#endif /* MM_CACHE_H */
