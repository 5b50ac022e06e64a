/*
 * remote.c: the remote-free protocol and the pool of abandoned slabs (see
 * remote.h for the word and its transitions).
 *
 * Invariants:
 *   - a slab is in abandoned_pool[c] (span->list == MM_LIST_POOL) only while
 *     its word has ABANDONED set, or a claimer that cleared it has yet to
 *     unlink it; the pool's links and span->list are guarded by its lock;
 *   - while ABANDONED is set nobody changes span->used, free or local_free;
 *     published_used holds the blocks that were out when it was set;
 *   - while PARKED is set the owner does not allocate from the slab, so
 *     published_used only falls.
 * Locks: a pool lock is taken under a heap's lists_lock (abandon) or alone,
 * never the other way round.
 */
#include "core/remote.h"
#include "core/cache.h"
#include "core/heap.h"
#include "core/pagemap.h"
#include "platform/lock.h"
#include "core/size_class.h"
#include "core/span.h"

_Static_assert(MM_SLAB_MAX_PAGES * MM_PAGE_SIZE / 8 <= MM_TF_COUNT_MAX,
               "every slab's block count fits the word's count field");

/* `head` is written under `lock` and peeked at without it. */
static struct {
    mm_lock lock;
    _Atomic(mm_span *) head;
} abandoned_pool[MM_CLASS_COUNT] = {
    [0 ... MM_CLASS_COUNT - 1] = {.lock = MM_LOCK_INITIALIZER(MM_LOCK_ABANDONED)}};

static mm_span *pool_head(unsigned c)
{
    return atomic_load_explicit(&abandoned_pool[c].head, memory_order_relaxed);
}

static void pool_unlink_locked(mm_span *span)
{
    MM_ASSERT(span->list == MM_LIST_POOL);
    if (span->prev != NULL)
        span->prev->next = span->next;
    else
        atomic_store_explicit(&abandoned_pool[span->size_class].head, span->next,
                              memory_order_relaxed);
    if (span->next != NULL)
        span->next->prev = span->prev;
    span->list = MM_LIST_NONE;
}

static uint64_t tf_make(mm_block *list, uint32_t count, uint64_t flags)
{
    MM_ASSERT(((uintptr_t)list & 15) == 0 && (uintptr_t)list >> MM_ADDRESS_BITS == 0);
    MM_ASSERT(count <= MM_TF_COUNT_MAX && (flags & ~MM_TF_FLAGS) == 0);
    return ((uint64_t)(uintptr_t)list >> 3) | flags | ((uint64_t)count << MM_TF_COUNT_SHIFT);
}

/* Our block of abandoned `span` looks like the last one out. Decide again
 * under the pool lock, where ABANDONED is set (abandon) and cleared (adopt):
 * the word cannot leave ABANDONED and come back to the value we test with
 * more blocks out (ABA). True if the slab was ours: it is then given to
 * `caller`'s cache or unmapped. */
static bool claim_abandoned(mm_span *span, mm_heap *caller)
{
    mm_lock *lock = &abandoned_pool[span->size_class].lock;
    bool claimed = false;
    mm_lock_acquire(lock);
    uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
    if ((old & MM_TF_ABANDONED) &&
        mm_tf_count(old) + 1 == atomic_load_explicit(&span->published_used, memory_order_relaxed) &&
        atomic_compare_exchange_strong_explicit(&span->thread_free, &old, 0, memory_order_acquire,
                                                memory_order_relaxed)) {
        if (span->list == MM_LIST_POOL)
            pool_unlink_locked(span);
        claimed = true;
    }
    mm_lock_release(lock);
    if (claimed)
        mm_cache_adopt_empty(caller, span);
    return claimed;
}

void mm_remote_free(mm_span *span, mm_block *block, mm_heap *caller)
{
    /* Acquire on every read of the word: when it shows PARKED or ABANDONED,
     * the published_used stored before is visible. Our block is still out,
     * so the slab cannot go away before our CAS succeeds; after a push we
     * never touch the slab again. */
    uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
    for (;;) {
        if (old & (MM_TF_PARKED | MM_TF_ABANDONED)) {
            /* The owner is set whenever PARKED is: abandon clears PARKED
             * before it clears the owner. */
            mm_heap *owner = atomic_load_explicit(&span->owner, memory_order_acquire);
            bool parked = (old & MM_TF_PARKED) != 0;
            if (parked && owner == NULL) {
                old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
                continue;
            }
            if (mm_tf_count(old) + 1 ==
                atomic_load_explicit(&span->published_used, memory_order_acquire)) {
                /* Ours looks like the last block out: claim instead of
                 * pushing. The claim is decided again and made under the
                 * lock that orders every transition able to bring the word
                 * back to `old` with more blocks out: the owner's
                 * lists_lock (unpark, park, abandon) or the pool lock. */
                if (parked ? mm_heap_claim_parked(owner, span) : claim_abandoned(span, caller))
                    return;
                old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
                continue;
            }
            if (old & MM_TF_FULL) {
                /* Cleared under the owner's lists_lock, with the move to
                 * `ready`. Our block keeps the slab alive meanwhile. */
                mm_heap_ready(owner, span);
                old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
                continue;
            }
        }
        /* A push adds a block that is out: never more than the slab holds. */
        MM_ASSERT(mm_tf_count(old) < span->capacity);
        mm_block_set_free(block, mm_tf_list(old));
        uint64_t new = tf_make(block, mm_tf_count(old) + 1, old & MM_TF_FLAGS);
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
    /* Collect: only the owner's current slab, which carries no flag. */
    MM_ASSERT((word & MM_TF_FLAGS) == 0 && !span->parked);
    *count = mm_tf_count(word);
    return mm_tf_list(word);
}

bool mm_remote_park_full(mm_span *span)
{
    MM_ASSERT(!span->parked && span->used == span->capacity && span->free == NULL &&
              span->local_free == NULL);
    atomic_store_explicit(&span->published_used, span->used, memory_order_relaxed);
    uint64_t expected = 0;
    /* Release: a free that sees PARKED sees published_used. */
    return atomic_compare_exchange_strong_explicit(&span->thread_free, &expected,
                                                   MM_TF_PARKED | MM_TF_FULL,
                                                   memory_order_release, memory_order_relaxed);
}

void mm_remote_clear_full(mm_span *span)
{
    uint64_t old = atomic_fetch_and_explicit(&span->thread_free, ~MM_TF_FULL, memory_order_relaxed);
    /* A remote free may have cleared FULL first (notify); PARKED stays. */
    MM_ASSERT((old & MM_TF_PARKED) && !(old & MM_TF_ABANDONED));
    (void)old;
}

void mm_remote_unpark(mm_span *span)
{
    /* Pushes may change the rest of the word meanwhile, so clear the flags
     * with one atomic AND; acquire pairs with those pushes. */
    uint64_t old = atomic_fetch_and_explicit(&span->thread_free, ~(MM_TF_PARKED | MM_TF_FULL),
                                             memory_order_acquire);
    MM_ASSERT((old & MM_TF_PARKED) && !(old & MM_TF_ABANDONED) && span->parked);
    (void)old;
}

bool mm_remote_owner_claim(mm_span *span, uint64_t *taken)
{
    /* As in mm_remote_owner_publish: no remote free can claim the slab
     * before the store. The owner's parked slabs carry PARKED (park_full
     * sets it; only unpark, by the owner, and abandon, at its exit, clear
     * it). A push that comes first makes the CAS fail and the counts
     * differ: then publish. */
    uint32_t used = span->used;
    uint64_t word = atomic_load_explicit(&span->thread_free, memory_order_acquire);
    MM_ASSERT(span->parked && (word & MM_TF_PARKED));
    while (mm_tf_count(word) == used) {
        if (atomic_compare_exchange_weak_explicit(&span->thread_free, &word, 0,
                                                  memory_order_acquire, memory_order_acquire)) {
            *taken = word;
            return true;
        }
    }
    atomic_store_explicit(&span->published_used, used, memory_order_release);
    return false;
}

void mm_remote_repark_empty(mm_span *span)
{
    MM_ASSERT(atomic_load_explicit(&span->thread_free, memory_order_relaxed) == 0 &&
              span->used == 0 && span->parked == MM_PARKED);
    atomic_store_explicit(&span->published_used, 0, memory_order_relaxed);
    atomic_store_explicit(&span->thread_free, MM_TF_PARKED, memory_order_relaxed);
}

bool mm_remote_abandon(mm_span *span)
{
    MM_ASSERT(span->list == MM_LIST_NONE && span->local_free == NULL);
    mm_span_set_parked(span, 0);
    atomic_store_explicit(&span->published_used, span->used, memory_order_relaxed);
    unsigned c = span->size_class;
    mm_lock_acquire(&abandoned_pool[c].lock);
    uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
    for (;;) {
        if (mm_tf_count(old) == span->used) {
            /* Every block is back: nobody else can touch the slab now. */
            mm_lock_release(&abandoned_pool[c].lock);
            return false;
        }
        MM_ASSERT(!(old & MM_TF_ABANDONED) && mm_tf_count(old) < span->used);
        uint64_t new = (old & ~(MM_TF_FULL | MM_TF_PARKED)) | MM_TF_ABANDONED;
        /* Release: a free that sees ABANDONED sees published_used. */
        if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, new,
                                                  memory_order_acq_rel, memory_order_acquire))
            break;
    }
    /* Only now, with PARKED gone: a free that read PARKED and then the owner
     * must find it set. */
    atomic_store_explicit(&span->owner, NULL, memory_order_release);
    span->prev = NULL;
    span->next = pool_head(c);
    if (span->next != NULL)
        span->next->prev = span;
    atomic_store_explicit(&abandoned_pool[c].head, span, memory_order_relaxed);
    span->list = MM_LIST_POOL;
    mm_lock_release(&abandoned_pool[c].lock);
    return true;
}

mm_span *mm_remote_adopt(unsigned c)
{
    /* Peek without the lock: most slow paths find the pool empty. */
    if (pool_head(c) == NULL)
        return NULL;
    /* The CAS is made under the pool lock: a claimer that wins the word
     * takes this lock before it unmaps, so the slab stays mapped while we
     * look at it. */
    mm_lock_acquire(&abandoned_pool[c].lock);
    mm_span *span;
    while ((span = pool_head(c)) != NULL) {
        pool_unlink_locked(span);
        uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
        while (old & MM_TF_ABANDONED) {
            if (atomic_compare_exchange_weak_explicit(&span->thread_free, &old, 0,
                                                      memory_order_acquire, memory_order_acquire)) {
                mm_lock_release(&abandoned_pool[c].lock);
                span->used = atomic_load_explicit(&span->published_used, memory_order_relaxed) -
                             mm_tf_count(old);
                span->local_free = mm_tf_list(old);
                span->next = span->prev = NULL;
                /* The owner is set when the slab joins the heap's lists
                 * (heap.c, bin_add_current): until then it is in transit,
                 * owned by nobody, and frees into it are pushed. */
                return span;
            }
        }
        /* A remote free claimed it; it unmaps it once we drop the lock. */
    }
    mm_lock_release(&abandoned_pool[c].lock);
    return NULL;
}

mm_lock *mm_remote_pool_lock(unsigned c)
{
    return &abandoned_pool[c].lock;
}

void mm_remote_lock_pools(void)
{
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++)
        mm_lock_acquire_nested(&abandoned_pool[c].lock);
}

void mm_remote_unlock_pools(void)
{
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++)
        mm_lock_release(&abandoned_pool[c].lock);
}
