/*
 * remote.h: the remote-free protocol: how a block freed by a thread that does
 * not own its slab gets back to the owner, and how slabs outlive their
 * owner's thread.
 *
 * Each slab has one 64-bit word, thread_free:
 *   bits  0..47  head of a list of blocks freed remotely (linked via ->next)
 *   bit   48     FULL: the owner parked the slab on its full list
 *   bit   49     ABANDONED: the slab has no owner and waits in the pool
 *   bits 50..63  number of blocks on the list (a slab holds < 2^14 blocks)
 *
 * Transitions (every one a single CAS or exchange on the word):
 *   remote push       list += block, count += 1 (release: the block's link and
 *                     contents reach whoever takes the list)
 *   owner collect     list, count -> empty (acquire), only on an owned slab
 *                     that is not FULL, so an exchange does it
 *   owner marks full  0 -> FULL, only when nothing is pending
 *   FULL handoff      a remote free finding FULL clears it and pushes its block
 *                     onto the owner heap's `delayed` stack instead; the
 *                     owner's slow path drains that stack and so learns that
 *                     the slab has room again
 *   abandon           FULL cleared, ABANDONED set, under the pool lock, after
 *                     abandoned_used was stored (release); then the heap's
 *                     delayed stack is closed, so a late FULL handoff goes
 *                     through the word
 *   adopt             ABANDONED -> owned again; the new owner takes the list
 *   claim             a remote free whose block is the last one out
 *                     (count + 1 == abandoned_used) takes the word to 0
 *                     instead of pushing, and unmaps the slab
 * Adopt and claim race on the word; whoever wins the CAS owns the slab. The
 * adopter makes its CAS under the pool lock and the claimer takes that lock
 * before unmapping, so a losing adopter never looks at an unmapped slab. A
 * remote free never touches the slab after its push succeeded: from then on
 * the owner (or a claimer) may unmap it.
 * Pushes and take-all exchanges have no ABA hazard: a push only links to the
 * head it saw, and a CAS that succeeds finds that head still current.
 */
#ifndef MM_REMOTE_H
#define MM_REMOTE_H

#include "core/types.h"

#define MM_TF_LIST_MASK (((uint64_t)1 << 48) - 1)
#define MM_TF_FULL ((uint64_t)1 << 48)
#define MM_TF_ABANDONED ((uint64_t)1 << 49)
#define MM_TF_FLAGS (MM_TF_FULL | MM_TF_ABANDONED)
#define MM_TF_COUNT_SHIFT 50
#define MM_TF_COUNT_MAX (((uint64_t)1 << (64 - MM_TF_COUNT_SHIFT)) - 1)

static inline mm_block *mm_tf_list(uint64_t word)
{
    return (mm_block *)(uintptr_t)(word & MM_TF_LIST_MASK);
}

static inline uint32_t mm_tf_count(uint64_t word)
{
    return (uint32_t)(word >> MM_TF_COUNT_SHIFT);
}

/* Free `block` of slab `span` from a thread that does not own the slab (TLS
 * identity; under CPU identity a free locks the owner heap instead). */
void mm_remote_free(mm_span *span, mm_block *block);

/* Owner: take the blocks freed remotely since the last collect. Returns the
 * list; *count gets its length. */
mm_block *mm_remote_collect(mm_span *span, uint32_t *count);

/* Owner: mark an exhausted slab FULL. False when remote frees arrived in the
 * meantime (collect them instead). */
bool mm_remote_mark_full(mm_span *span);

/* Owner whose thread exits: give `span` up. It is unmapped at once if every
 * block is back, else it goes to the abandoned pool. `span` must be unlinked
 * from the heap, with its free blocks on span->free. */
void mm_remote_abandon(mm_span *span);

/* Take an abandoned slab of class `c` for `heap`, or NULL. The slab comes back
 * formatted as owned by `heap`, its remotely freed blocks on local_free. */
mm_span *mm_remote_adopt(mm_heap *heap, unsigned c);

#endif /* MM_REMOTE_H */
