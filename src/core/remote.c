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

/* A remote free took the word of an abandoned slab to 0 with its last block:
 * the slab is ours. The pool lock waits out an abandoner still inserting it
 * and an adopter still looking at it. */
static void destroy_claimed(mm_span *span)
{
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
    /* Acquire on reading MM_DELAYED_CLOSED: the owner's abandon of every
     * slab, this one included, is then visible (ABANDONED in the word). */
    mm_block *head = atomic_load_explicit(&owner->delayed, memory_order_acquire);
    do {
        if (head == MM_DELAYED_CLOSED)
            return false;
        block->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&owner->delayed, &head, block,
                                                    memory_order_release, memory_order_acquire));
    return true;
}

void mm_remote_free(mm_span *span, mm_block *block)
{
    /* Acquire on every read of the word: when it shows ABANDONED, the
     * abandoner's abandoned_used is visible. Our block is still out, so the
     * slab cannot go away before our CAS succeeds; after it we never touch
     * the slab again. */
    uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
    for (;;) {
        if (old & MM_TF_FULL) {
            if (!atomic_compare_exchange_weak_explicit(&span->thread_free, &old,
                                                       old & ~MM_TF_FULL, memory_order_acq_rel,
                                                       memory_order_acquire))
                continue;
            if (push_delayed(span, block))
                return;
            old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
            continue;
        }
        if ((old & MM_TF_ABANDONED) &&
            mm_tf_count(old) + 1 ==
                atomic_load_explicit(&span->abandoned_used, memory_order_relaxed)) {
            /* Ours is the last block out: claim the slab in the same CAS
             * (acquire: every earlier pusher's writes are done). */
            if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, 0,
                                                      memory_order_acquire, memory_order_acquire)) {
                destroy_claimed(span);
                return;
            }
            continue;
        }
        block->next = mm_tf_list(old);
        uint64_t new = (uint64_t)(uintptr_t)block | (old & MM_TF_FLAGS) |
                       ((uint64_t)(mm_tf_count(old) + 1) << MM_TF_COUNT_SHIFT);
        if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, new,
                                                  memory_order_release, memory_order_acquire))
            return;
    }
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
    uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
    for (;;) {
        if (mm_tf_count(old) == span->used) {
            /* Every block is back: nobody else can touch the slab now. */
            mm_lock_release(&abandoned_pool[c].lock);
            mm_span_destroy(span);
            return;
        }
        uint64_t new = (old & ~MM_TF_FULL) | MM_TF_ABANDONED;
        if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, new,
                                                  memory_order_acq_rel, memory_order_acquire))
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
    /* The CAS is made under the pool lock: a claimer that wins the word
     * takes this lock before it unmaps, so the slab (and its descriptor)
     * stays valid while we look at it. */
    mm_lock_acquire(&abandoned_pool[c].lock);
    mm_span *span;
    while ((span = pool_head(c)) != NULL) {
        pool_unlink_locked(span);
        uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_relaxed);
        while (old & MM_TF_ABANDONED) {
            if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, 0,
                                                      memory_order_acquire, memory_order_relaxed)) {
                mm_lock_release(&abandoned_pool[c].lock);
                span->used = atomic_load_explicit(&span->abandoned_used, memory_order_relaxed) -
                             mm_tf_count(old);
                span->local_free = mm_tf_list(old);
                span->next = span->prev = NULL;
                atomic_store_explicit(&span->owner, heap, memory_order_relaxed);
                return span;
            }
        }
        /* A remote free claimed it; it unmaps it once we drop the lock. */
    }
    mm_lock_release(&abandoned_pool[c].lock);
    return NULL;
}
