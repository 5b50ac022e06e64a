/*
 * check.h: telling live blocks from freed and foreign ones (double-free
 * detection, myfree_checked) and walking the allocator's structures to check
 * their invariants (allocator_verify).
 */
#ifndef MM_CHECK_H
#define MM_CHECK_H

#include "core/types.h"

enum mm_block_state {
    MM_BLOCK_LIVE,     /* handed out and not freed since */
    MM_BLOCK_FREE,     /* freed, or in a slab with no block out */
    MM_BLOCK_INVALID,  /* never the start of a block handed out */
};

/* The state of `block`, which the page map sends to slab `span` and which
 * starts a block ever handed out (mm_slab_block_start). `user` is the heap
 * the caller may walk: under TLS identity the caller's own heap, under CPU
 * identity the heap whose lock the caller holds; else NULL.
 *   - slab owned by `user`: exact, by a walk of the slab's free lists under
 *     the heap's lists_lock (O(blocks of the slab));
 *   - slab owned by another heap: under that heap's lists_lock, by the
 *     block's free mark (types.h);
 *   - abandoned slab: under its pool's lock, by the free mark.
 * Under the lock it checks again that the page map sends the block to
 * `span` and that the block starts one handed out: the slab cannot then be
 * unmapped or its descriptor reused while the block is read, since every
 * unmap of a slab on a list, or the claim that leads to it, happens under
 * that lock. A slab in transit (adopted, not yet on its adopter's lists) is
 * waited for. */
enum mm_block_state mm_check_slab_block(const mm_heap *user, mm_span *span, mm_block *block);

/* A structural check under way: each violation goes to report(), at most
 * `limit` of them; `found` counts them all. */
typedef struct mm_verifier {
    void (*report)(const char *what, const void *where);
    unsigned found, limit;
} mm_verifier;

void mm_verify_fail(mm_verifier *v, const char *what, const void *where);

/* Walk every heap, slab list, cache and page-map entry the allocator keeps
 * and check the invariants; also the free lists of `user`'s slabs (as
 * above). Calls report(what, where) for each violation (at most `limit`)
 * and returns how many it found. */
unsigned mm_verify(const mm_heap *user, void (*report)(const char *what, const void *where),
                   unsigned limit);

#endif /* MM_CHECK_H */
