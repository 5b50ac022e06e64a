/*
 * free_reuse_race.c: a deterministic interleaving of a double free racing
 * with the memory's reuse. Thread A's rt_free has read the block's header
 * (rt_find_block) when thread B frees the block and the owner hands the
 * same address out again as a block of another size. A's compare-and-swap
 * then fails with a LIVE header of another size, and rt_mark_freed must give
 * up (it retries only when RT_PREV_FREE alone changed): A's free is a double
 * free, reported, and the owner's new block stays live. (It used to retry
 * on any LIVE word, freeing the owner's new block.)
 * Steps of A are those of rt_release (heap.c), split at the CAS.
 */
#include "white_box.h"

static _Alignas(64) char memory[1 << 20];

int main(void)
{
    rt_heap_t *h = rt_heap_init(memory, sizeof memory);
    rt_set_error_handler(h, wb_on_error);
    void *p = rt_malloc(h, 100);
    /* A: the first half of rt_release */
    uint64_t word;
    enum rt_problem problem;
    uintptr_t block = rt_find_block(h, p, &word, &problem);
    WB_REQUIRE(block != 0, "p is live");
    /* B frees p; the owner's next block lands at the same address */
    rt_free(h, p);
    void *q = rt_malloc(h, 200);
    WB_REQUIRE(q == p, "q reuses p's address (q=%p p=%p)", q, p);
    /* A: the compare-and-swap and the rest of rt_release */
    bool marked = rt_mark_freed(block, word, RT_STATE_PENDING);
    if (marked) {
        atomic_fetch_add_explicit(&h->freed_bytes, word & RT_SIZE_MASK, memory_order_relaxed);
        if (rt_fit_try_lock(h)) {
            rt_fit_release(h, block);
            rt_fit_unlock(h);
        } else {
            rt_push(&h->fit_inbox, block);
        }
    }
    int check = rt_heap_check(h);
    printf("stale double free: CAS %s; owner's new block q %s; rt_heap_check %d\n",
           marked ? "SUCCEEDED on a header of another size" : "failed (reported)",
           marked ? "FREED under the owner" : "kept", check);
    return marked || check != 0 ? 1 : 0;
}
