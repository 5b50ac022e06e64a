/*
 * stale_pointer.c: a pointer from an earlier heap on the same memory (the
 * buffer re-initialised with rt_heap_init, e.g. between mission phases) is a
 * foreign pointer for the new heap. rt_free must report it and change
 * nothing: each rt_heap_init salts the check bits anew, so the old block's
 * header fails the check (it passed when the salt was the address alone,
 * and the block was merged or handed out twice).
 */
#include "white_box.h"

static _Alignas(64) char memory[1 << 20];

int main(void)
{
    int failures = 0;
    /* Good-fit region: a stale block inside the new heap's one free block. */
    rt_heap_t *h = rt_heap_init(memory, sizeof memory);
    rt_set_error_handler(h, wb_on_error);
    void *a = rt_malloc(h, 100), *b = rt_malloc(h, 100);
    (void)a;
    WB_REQUIRE(b != NULL && (uintptr_t)b < h->fit_end, "b from the good-fit region");
    h = rt_heap_init(memory, sizeof memory);
    rt_set_error_handler(h, wb_on_error);
    rt_free(h, b);
    int reported = wb_doubles + wb_invalids;
    int sound = rt_heap_check(h) == 0;
    printf("good-fit stale pointer: reported=%d heap_check=%s\n", reported, sound ? "ok" : "BROKEN");
    if (!reported || !sound)
        failures++;

    /* Reserve: a stale block above the new heap's top; accepted, pushed,
     * and then handed out while the top carves the same bytes again. */
    h = rt_heap_init(memory, sizeof memory);
    rt_set_error_handler(h, wb_on_error);
    void *hold = rt_aligned_alloc(h, 64, 1000); /* reserve block at reserve_start */
    void *stale = rt_aligned_alloc(h, 64, 1000);
    (void)hold;
    h = rt_heap_init(memory, sizeof memory);
    rt_set_error_handler(h, wb_on_error);
    int before = wb_doubles + wb_invalids;
    rt_free(h, stale);
    reported = wb_doubles + wb_invalids - before;
    void *x = rt_aligned_alloc(h, 64, 1000); /* from the inbox: the stale block */
    void *y = rt_aligned_alloc(h, 64, 1000); /* carved at reserve_start */
    void *z = rt_aligned_alloc(h, 64, 1000); /* carved: the same bytes as x */
    printf("reserve stale pointer: reported=%d x=%p z=%p handed out twice=%s heap_check=%s\n",
           reported, x, z, x == z ? "YES" : "no", rt_heap_check(h) == 0 ? "ok" : "BROKEN");
    (void)y;
    if (!reported || x == z)
        failures++;
    return failures ? 1 : 0;
}
