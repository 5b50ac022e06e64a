/*
 * remote.h: the remote-free protocol: how a block freed by a thread that does
 * not own its slab gets back to the owner, and how a slab is unmapped by
 * whichever thread frees its last block when its owner is not looking.
 *
 * Each slab has one 64-bit word, thread_free:
 *   bits  0..44  head of a list of blocks freed remotely, shifted right by 3
 *                (blocks are 16-byte aligned, addresses below 2^48)
 *   bit   45     FULL: parked on the owner's full list
 *   bit   46     ABANDONED: no owner; the slab waits in the abandoned pool
 *   bit   47     PARKED: not the owner's current slab; published_used says
 *                how many blocks are out
 *   bits 48..63  number of blocks on the list
 *
 * Transitions (each one CAS or exchange on the word):
 *   push           a non-owner: list += block, count + 1 (release)
 *   collect        owner, current slab (no flags): exchange with 0 (acquire)
 *   park full      owner, exhausted current slab: 0 -> PARKED|FULL after
 *                  publishing used; fails if a push came first
 *   notify         first non-owner free into a FULL slab clears FULL and moves
 *                  the slab from the owner's full list to its ready list,
 *                  both under the owner's lists_lock
 *   unpark         owner makes a parked slab current: clear PARKED|FULL
 *   claim          a free whose block is the last one out (count + 1 ==
 *                  published_used, PARKED or ABANDONED set) takes the word to
 *                  0 instead of pushing, unlinks the slab and unmaps it
 *                  (with retention, caches it: mm_heap_claim_parked and
 *                  mm_cache_adopt_empty). It decides again and makes its CAS
 *                  under the lock that orders every transition that could
 *                  bring the word back to the same value with more blocks
 *                  out (the owner heap's lists_lock for PARKED, the pool
 *                  lock for ABANDONED): the word alone is subject to ABA.
 *                  The owner does the same, without a lock, after a local
 *                  free that leaves count == used (no claim can race with
 *                  it: its own block was out until then)
 *   abandon        owner thread exiting, under its lists_lock and the pool
 *                  lock: publish used, set ABANDONED, clear PARKED|FULL
 *   adopt          under the pool lock: ABANDONED -> 0, taking the list;
 *                  the adopter sets the owner when it links the slab
 *
 * Claims, abandon and adopt race on the word; the CAS, made under the lock of
 * the list the slab is on (which park and unpark hold too), decides, so the
 * loser never touches an unmapped slab. A free never touches the slab after its push succeeded.
 * Pushes and take-all exchanges have no ABA hazard: a push only links to the
 * head it saw, and a CAS that succeeds finds that head still current.
 *
 * After each free into a parked slab the owner reads the word (taking it if
 * the slab is empty) and then publishes used with a release store; a remote
 * free reads published_used (acquire) and pushes or claims. Published values only fall while a slab stays parked, so a
 * claim is never wrong; if the last two blocks of a slab are freed at the
 * same moment, one locally and one remotely, both may miss that the slab is
 * empty, and it stays until the owner reclaims, makes it current or exits.
 */
#ifndef MM_REMOTE_H
#define MM_REMOTE_H

#include "core/types.h"

#define MM_TF_LIST_BITS 45
#define MM_TF_LIST_MASK (((uint64_t)1 << MM_TF_LIST_BITS) - 1)
#define MM_TF_FULL ((uint64_t)1 << 45)
#define MM_TF_ABANDONED ((uint64_t)1 << 46)
#define MM_TF_PARKED ((uint64_t)1 << 47)
#define MM_TF_FLAGS (MM_TF_FULL | MM_TF_ABANDONED | MM_TF_PARKED)
#define MM_TF_COUNT_SHIFT 48
#define MM_TF_COUNT_MAX (((uint64_t)1 << (64 - MM_TF_COUNT_SHIFT)) - 1)

static inline mm_block *mm_tf_list(uint64_t word)
{
    return (mm_block *)(uintptr_t)((word & MM_TF_LIST_MASK) << 3);
}

static inline uint32_t mm_tf_count(uint64_t word)
{
    return (uint32_t)(word >> MM_TF_COUNT_SHIFT);
}

/* Free `block` of slab `span` from a thread that does not own the slab (TLS
 * identity; under CPU identity a free locks the owner heap instead).
 * `caller` is the freeing thread's heap, or NULL: when the block was the
 * last one out of an abandoned slab, the slab goes to its empty cache (with
 * retention; else, and without a caller, it is unmapped). */
void mm_remote_free(mm_span *span, mm_block *block, mm_heap *caller);

/* Owner, current slab: take the blocks freed remotely since the last
 * collect. Returns the list; *count gets its length. */
mm_block *mm_remote_collect(mm_span *span, uint32_t *count);

/* Owner: park the exhausted current slab as FULL. False when remote frees
 * arrived in the meantime (collect them instead). */
bool mm_remote_park_full(mm_span *span);

/* Owner: a FULL slab got room from a local free; remote frees need not
 * notify any more. */
void mm_remote_clear_full(mm_span *span);

/* Owner, holding its lists_lock: make parked `span` current again. It cannot
 * have been claimed: a claim and its unlink happen together under that lock. */
void mm_remote_unpark(mm_span *span);

/* Owner, after freeing into parked `span` (or holding its lists_lock): if
 * every block out is on the word, take the word and return true: the slab is
 * empty and the owner's alone, and *taken is the word (its list holds the
 * blocks freed remotely, mm_tf_count(*taken) of them, still counted in
 * span->used). Else publish span->used and return false; from then on a
 * remote free may claim and unmap the slab, so a caller that does not hold
 * lists_lock must not touch it again. */
bool mm_remote_owner_claim(mm_span *span, uint64_t *taken);

/* The same, inline, for the common case of a free into a parked slab: if
 * some block out is not on the word, publish span->used and return true
 * (the slab must not be touched again); else false, touching nothing, and
 * the caller goes on to mm_remote_owner_claim. A load, a compare and a
 * store. */
static inline bool mm_remote_owner_publish(mm_span *span)
{
    /* Until used is published, published_used counts the block the owner
     * just freed, so no remote free can claim the slab: the word is safe to
     * look at. After the store, the slab may be claimed and unmapped at
     * once, so it is the last thing done. */
    uint32_t used = span->used;
    uint64_t word = atomic_load_explicit(&span->thread_free, memory_order_acquire);
    if (MM_UNLIKELY(mm_tf_count(word) == used))
        return false;
    /* Release: the owner's touches of the slab happen before a claim that
     * reads this value (acquire). */
    atomic_store_explicit(&span->published_used, used, memory_order_release);
    return true;
}

/* Owner, holding its lists_lock, after mm_remote_owner_claim took the word
 * of parked `span` and the owner put the blocks of its list back on the
 * slab's free list: keep the empty slab parked (word PARKED, published_used
 * 0). No block is out, so no other thread writes the word until the slab
 * hands one out, which it does only once unparked. */
void mm_remote_repark_empty(mm_span *span);

/* Owner whose thread exits, holding its lists_lock: give `span` up. `span`
 * must be off the heap's lists, with its free blocks on span->free. If every
 * block is back, false: the slab stays the caller's, empty, for it to cache
 * or unmap. Else true: it is in the abandoned pool, and the caller must not
 * touch it again. */
bool mm_remote_abandon(mm_span *span);

/* Take an abandoned slab of class `c`, or NULL. The slab comes back owned by
 * nobody (the adopter sets the owner when it links the slab, heap.c),
 * unparked, on no list, its remotely freed blocks on local_free. */
mm_span *mm_remote_adopt(unsigned c);

/* The lock of the abandoned pool of class `c` (check.c looks at an
 * abandoned slab under it). */
mm_lock *mm_remote_pool_lock(unsigned c);

/* fork: take and release every pool lock (identity_tls.c). */
void mm_remote_lock_pools(void);
void mm_remote_unlock_pools(void);

#endif /* MM_REMOTE_H */
