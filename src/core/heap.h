/*
 * heap.h: a heap's small-block fast paths. A heap is used by one thread at a
 * time (its own thread, or the holder of its lock under CPU identity), so
 * nothing here is atomic.
 *
 * malloc: take the head of the current slab's free list, and prefetch the
 *         next block.
 * free:   push onto the current slab's free list (the block is reused
 *         first, while cached), or onto a parked slab's local_free list
 *         (collected when the slab is current again), counted and its
 *         slab's `used` published for remote frees in one call, which takes
 *         a slow path only when the slab was full (it becomes its bin's
 *         waiting slab, heap.c) or is now empty; for the current slab the
 *         slow path runs only when it empties.
 */
#ifndef MM_HEAP_H
#define MM_HEAP_H

#include "core/types.h"
#include "platform/platform.h"

/* The slab of a class with no slab: it has nothing to hand out, so the fast
 * path falls into the slow path without a test of its own. */
extern mm_span mm_span_none;

void *mm_heap_malloc_slow(mm_heap *heap, size_t class_index);
/* The free paths out of line (heap.c): the current slab emptied (and is
 * larger than an empty current slab may stay); a block freed into a parked
 * slab. */
void mm_heap_current_emptied(mm_heap *heap, mm_span *span);
void mm_heap_free_parked(mm_heap *heap, mm_span *span, mm_block *block, uintptr_t mark);

/* The free mark of `block`: its address scrambled with the library's own
 * load address (randomised by ASLR), so that no program holds it by chance.
 * Three instructions, no memory access. */
extern const char mm_free_mark_anchor;
static inline uintptr_t mm_free_mark(const mm_block *block)
{
    return ((uintptr_t)block ^ (uintptr_t)&mm_free_mark_anchor) * (uintptr_t)0x9E3779B97F4A7C15ull;
}

/* Link `block` to `next` and mark it free with `mark`, its mm_free_mark
 * (which a caller that has it already passes on). */
static inline void mm_block_set_free_marked(mm_block *block, mm_block *next, uintptr_t mark)
{
    MM_ASSERT(mark == mm_free_mark(block));
    block->next = next;
    atomic_store_explicit(&block->mark, mark, memory_order_relaxed);
}

static inline void mm_block_set_free(mm_block *block, mm_block *next)
{
    mm_block_set_free_marked(block, next, mm_free_mark(block));
}

static inline bool mm_block_marked_free(mm_block *block)
{
    return atomic_load_explicit(&block->mark, memory_order_relaxed) == mm_free_mark(block);
}

/* Count a block handed out or taken back by the heap's user (stats.h). Only
 * that user writes the counter; other threads read it with relaxed loads.
 * On x86_64 one unlocked add to memory: an aligned 8-byte store is never
 * seen torn, and no locked instruction is needed with a single writer (a
 * relaxed load and store of the _Atomic, which compilers do not fuse, cost
 * three instructions more). Elsewhere the relaxed load and store. */
static inline void mm_heap_count(_Atomic uint64_t *counter)
{
#if defined(__x86_64__)
    __asm__("addq $1, %0" : "+m"(*(uint64_t *)counter));
#else
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
#endif
}

/* `c` is a size_t so that current[c] and mallocs[c] share one index register
 * (an unsigned index cost a widening and an add: one instruction a malloc). */
static inline void *mm_heap_malloc(mm_heap *heap, size_t c)
{
    MM_ASSERT(c < MM_CLASS_COUNT);
    mm_span *span = heap->current[c];
    mm_block *block = span->free;
    if (MM_LIKELY(block != NULL)) {
        MM_ASSERT(span->used < span->capacity && !span->parked);
        span->free = block->next;
        /* The next block's line, for the next malloc of the class: a block
         * another thread freed is in that thread's cache, and the read of
         * its link would stall that malloc. A hint: never a fault, even on
         * NULL. (A read prefetch: PREFETCHW needs a CPU feature.) */
        __builtin_prefetch(span->free);
        span->used++;
        atomic_store_explicit(&block->mark, 0, memory_order_relaxed);
        mm_heap_count(&heap->mallocs[c]);
        return block;
    }
    return mm_heap_malloc_slow(heap, c);
}

/* Free `block` of `span`, which `heap` owns. */
static inline void mm_heap_free_local(mm_heap *heap, mm_span *span, mm_block *block)
{
    MM_ASSERT(atomic_load_explicit(&span->owner, memory_order_relaxed) == heap && span->used > 0);
    mm_heap_count(&heap->frees[span->size_class]);
    /* Computed once (the caller's double-free test computed it too). */
    uintptr_t mark = mm_free_mark(block);
    if (MM_LIKELY(!span->parked)) {
        /* The current slab: the block is the next one handed out, while its
         * lines are still in the cache. A small empty current slab stays,
         * so that a malloc/free loop does not go to the cache each time;
         * see heap.c. */
        mm_block_set_free_marked(block, span->free, mark);
        span->free = block;
        if (MM_UNLIKELY(--span->used == 0) && span->retire_empty)
            mm_heap_current_emptied(heap, span);
        return;
    }
    mm_heap_free_parked(heap, span, block, mark);
}

/* A remote free found FULL on `span`, owned by `heap`: if `heap` still owns
 * it, clear FULL and move it from the full list to the ready list. */
void mm_heap_ready(mm_heap *heap, mm_span *span);

/* A remote free's block looks like the last one out of parked `span` of
 * `heap`: under lists_lock, if `heap` still owns it and it is still parked
 * with every other block on its word, take the word, unlink the slab, put
 * it in the heap's empty cache (with retention, retain.h; beyond the cache's
 * budget, in the shared cache) or unmap it, and return true; else false
 * (the caller re-reads the word). */
bool mm_heap_claim_parked(mm_heap *heap, mm_span *span);

/* Give up every slab of `heap` (its thread is exiting): those with blocks
 * out go to the abandoned pool, empty ones and the heap's cache to the
 * shared cache (with retention, within its budget) or back to the system;
 * the heap is left empty. */
void mm_heap_abandon(mm_heap *heap);

/* Out of memory: collect every remote free of the heap's slabs, unmap its
 * empty slabs and its cache. Walks all the heap's slabs: a last resort. */
void mm_heap_reclaim(mm_heap *heap);

/* Make `heap` a fresh, empty heap. */
void mm_heap_init(mm_heap *heap);

#endif /* MM_HEAP_H */
