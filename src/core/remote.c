/*
 * remote.c: the remote-free protocol and the pool of abandoned slabs (see
 * remote.h for the word and its transitions).
 *
 * Invariants:
 *   - a slab is in abandoned_pool[c] (and span->in_pool is 1) only while its
 *     word has ABANDONED set or a claimer that cleared it has yet to unlink it;
 *     span->in_pool and the list links are guarded by the pool's lock;
 *   - while ABANDONED is set nobody changes span->used, free or local_free;
 *     abandoned_used holds the blocks that were out when it was set.
 * Locks: a pool lock is the innermost lock; nothing else is taken under it.
 */
#include "core/remote.h"
#include "core/lock.h"
#include "core/size_class.h"
#include "core/span.h"

_Static_assert(MM_SLAB_MAX_PAGES * MM_PAGE_SIZE / 8 < MM_TF_COUNT_MAX,
               "every slab's block count fits the word's count field");

/* `head` is written under `lock` and peeked at without it. */
static struct {
    mm_lock lock;
    _Atomic(mm_span *) head;
} abandoned_pool[MM_CLASS_COUNT];

static mm_span *pool_head(unsigned c)
{
    return atomic_load_explicit(&abandoned_pool[c].head, memory_order_relaxed);
}

static void pool_unlink_locked(mm_span *span)
{
    if (span->prev != NULL)
        span->prev->next = span->next;
    else
        atomic_store_explicit(&abandoned_pool[span->size_class].head, span->next,
                              memory_order_relaxed);
    if (span->next != NULL)
        span->next->prev = span->prev;
    span->in_pool = 0;
}

/* A remote free found the abandoned slab empty and won the word: unmap it. */
static void claim_and_destroy(mm_span *span, uint64_t seen)
{
    /* Acquire: every pusher's writes into the slab happen before its release
     * push, so they are done before we unmap. */
    if (!atomic_compare_exchange_strong_explicit(&span->thread_free, &seen, 0,
                                                 memory_order_acquire, memory_order_relaxed))
        return; /* adopted, or pushed to again, in between: not ours */
    mm_lock *lock = &abandoned_pool[span->size_class].lock;
    mm_lock_acquire(lock);
    if (span->in_pool)
        pool_unlink_locked(span);
    mm_lock_release(lock);
    mm_span_destroy(span);
}

/* Hand `block` to the owner through its delayed stack after clearing FULL.
 * False when the slab lost its owner meanwhile (then use the word). */
static bool push_delayed(mm_span *span, mm_block *block)
{
    /* Acquire pairs with the owner pointer stored before the slab went on
     * the full list. Heaps are never unmapped, so the pointer stays valid
     * even if its thread is exiting: mm_thread_detach drains the stack, and
     * a block that lands after that waits for the heap's next thread. */
    mm_heap *owner = atomic_load_explicit(&span->owner, memory_order_acquire);
    if (owner == NULL)
        return false;
    mm_block *head = atomic_load_explicit(&owner->delayed, memory_order_relaxed);
    do {
        block->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&owner->delayed, &head, block,
                                                    memory_order_release, memory_order_relaxed));
    return true;
}

void mm_remote_free(mm_span *span, mm_block *block)
{
    uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_relaxed);
    uint64_t new;
    for (;;) {
        if (old & MM_TF_FULL) {
            if (!atomic_compare_exchange_weak_explicit(&span->thread_free, &old,
                                                       old & ~MM_TF_FULL, memory_order_acq_rel,
                                                       memory_order_relaxed))
                continue;
            if (push_delayed(span, block))
                return;
            old = atomic_load_explicit(&span->thread_free, memory_order_relaxed);
            continue;
        }
        block->next = mm_tf_list(old);
        new = (uint64_t)(uintptr_t)block | (old & MM_TF_FLAGS) |
              ((uint64_t)(mm_tf_count(old) + 1) << MM_TF_COUNT_SHIFT);
        /* Release publishes the block; acquire pairs with the abandoner's
         * store of abandoned_used when ABANDONED is set. */
        if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, new,
                                                  memory_order_acq_rel, memory_order_relaxed))
            break;
    }
    if ((new & MM_TF_ABANDONED) &&
        mm_tf_count(new) == atomic_load_explicit(&span->abandoned_used, memory_order_relaxed))
        claim_and_destroy(span, new);
}

mm_block *mm_remote_collect(mm_span *span, uint32_t *count)
{
    /* Relaxed peek first: most refills find nothing and need no locked op. */
    if (atomic_load_explicit(&span->thread_free, memory_order_relaxed) == 0) {
        *count = 0;
        return NULL;
    }
    uint64_t word = atomic_exchange_explicit(&span->thread_free, 0, memory_order_acquire);
    *count = mm_tf_count(word);
    return mm_tf_list(word);
}

bool mm_remote_mark_full(mm_span *span)
{
    uint64_t expected = 0;
    return atomic_compare_exchange_strong_explicit(&span->thread_free, &expected, MM_TF_FULL,
                                                   memory_order_acq_rel, memory_order_relaxed);
}

void mm_remote_abandon(mm_span *span)
{
    /* Before the word changes: a FULL handoff that reads the owner after
     * this sees NULL and pushes through the word instead. */
    atomic_store_explicit(&span->owner, NULL, memory_order_relaxed);
    atomic_store_explicit(&span->abandoned_used, span->used, memory_order_relaxed);
    span->in_full = 0;
    unsigned c = span->size_class;
    mm_lock_acquire(&abandoned_pool[c].lock);
    uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_relaxed);
    for (;;) {
        if (mm_tf_count(old) == span->used) {
            /* Every block is back: nobody else can touch the slab now. */
            mm_lock_release(&abandoned_pool[c].lock);
            atomic_thread_fence(memory_order_acquire);
            mm_span_destroy(span);
            return;
        }
        uint64_t new = (old & ~MM_TF_FULL) | MM_TF_ABANDONED;
        if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, new,
                                                  memory_order_acq_rel, memory_order_relaxed))
            break;
    }
    span->prev = NULL;
    span->next = pool_head(c);
    if (span->next != NULL)
        span->next->prev = span;
    atomic_store_explicit(&abandoned_pool[c].head, span, memory_order_relaxed);
    span->in_pool = 1;
    mm_lock_release(&abandoned_pool[c].lock);
}

mm_span *mm_remote_adopt(mm_heap *heap, unsigned c)
{
    /* Peek without the lock: most slow paths find the pool empty. */
    if (pool_head(c) == NULL)
        return NULL;
    for (;;) {
        mm_lock_acquire(&abandoned_pool[c].lock);
        mm_span *span = pool_head(c);
        if (span != NULL)
            pool_unlink_locked(span);
        mm_lock_release(&abandoned_pool[c].lock);
        if (span == NULL)
            return NULL;
        uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_relaxed);
        while (old & MM_TF_ABANDONED) {
            if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, 0,
                                                      memory_order_acquire, memory_order_relaxed)) {
                span->used = atomic_load_explicit(&span->abandoned_used, memory_order_relaxed) -
                             mm_tf_count(old);
                span->local_free = mm_tf_list(old);
                span->next = span->prev = NULL;
                atomic_store_explicit(&span->owner, heap, memory_order_relaxed);
                return span;
            }
        }
        /* A remote free claimed it first and will unmap it; try the next. */
    }
}
