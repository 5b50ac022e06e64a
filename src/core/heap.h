/*
 * heap.h: a heap's small-block fast paths. A heap is used by one thread at a
 * time (its own thread, or the holder of its lock under CPU identity), so
 * nothing here is atomic except reading a slab's owner.
 *
 * malloc: take the head of the current slab's free list.
 * free:   push onto the slab's local_free list; the slow path runs only when
 *         the slab becomes empty or was on the full list.
 */
#ifndef MM_HEAP_H
#define MM_HEAP_H

#include "core/types.h"
#include "platform/platform.h"

/* The slab of a class with no slab, and the heap of a thread with no heap:
 * both have nothing to hand out, so the fast path falls into the slow path
 * without a test of its own. */
extern mm_span mm_span_none;
#if defined(MM_IDENTITY_TLS)
extern mm_heap mm_heap_none;
#endif

void *mm_heap_malloc_slow(mm_heap *heap, unsigned c);
void mm_heap_slab_event(mm_heap *heap, mm_span *span);

static inline void *mm_heap_malloc(mm_heap *heap, unsigned c)
{
    mm_span *span = heap->current[c];
    mm_block *block = span->free;
    if (MM_LIKELY(block != NULL)) {
        span->free = block->next;
        span->used++;
        return block;
    }
    return mm_heap_malloc_slow(heap, c);
}

/* Free `block` of `span`, which `heap` owns. */
static inline void mm_heap_free_local(mm_heap *heap, mm_span *span, mm_block *block)
{
    block->next = span->local_free;
    span->local_free = block;
    if (MM_UNLIKELY(--span->used == 0 || span->in_full)) {
        /* An empty current slab of one page stays, so that a malloc/free
         * loop does not go to the cache each time; see slab_retire_if_idle. */
        if (!span->in_full && span == heap->current[span->size_class] &&
            span->bytes == MM_PAGE_SIZE)
            return;
        mm_heap_slab_event(heap, span);
    }
}

/* Give up every slab of `heap` (its thread is exiting): empty ones are
 * unmapped, the rest go to the abandoned pool. The heap is left empty. */
void mm_heap_abandon(mm_heap *heap);

/* Out of memory: collect every remote free of the heap's slabs, unmap its
 * empty slabs and its cache. Walks all the heap's slabs: a last resort. */
void mm_heap_reclaim(mm_heap *heap);

/* Make `heap` a fresh, empty heap. */
void mm_heap_init(mm_heap *heap);

#endif /* MM_HEAP_H */
