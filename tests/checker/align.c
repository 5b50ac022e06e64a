/*
 * align.c: mymalloc-check's alignment rule. On one thread, 32 live blocks
 * of each size from 0 to 80 and of sizes around every power of two up to
 * 4 MiB (32 of each size up to 64 KiB, 2 above): every block must be 8-byte aligned, 16-byte aligned from 16 bytes
 * on (tl_check_align), non-NULL, and keep its tag (tl_alloc/tl_free fill
 * and verify every byte) while all the others are live. Then everything is
 * freed and held must fall back (tl_check_drained).
 */
#include "provider.h"
#include "testlib.h"

#define PER_SIZE 32
#define PER_BIG_SIZE 2 /* above 64 KiB: every byte is tagged */
#define MAX_SIZES 160

int main(void)
{
    size_t sizes[MAX_SIZES];
    int n = 0;
    for (size_t s = 0; s <= 80; s++)
        sizes[n++] = s;
    for (size_t p = 128; p <= ((size_t)4 << 20); p *= 2) {
        sizes[n++] = p - 1;
        sizes[n++] = p;
        sizes[n++] = p + 1;
    }
    static tl_block blocks[MAX_SIZES][PER_SIZE];
    tl_live live;
    tl_live_init(&live);
    uint64_t seed = 1;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < (sizes[i] > 65536 ? PER_BIG_SIZE : PER_SIZE); k++)
            if (!tl_alloc(&blocks[i][k], sizes[i], seed++, &live))
                tl_fail("align: mymalloc(%zu) returned NULL with no limit set", sizes[i]);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < PER_SIZE; k++)
            if (blocks[i][k].p != NULL)
                tl_free(&blocks[i][k], &live, "align: before free (all blocks live)");
    tl_check_drained(1, "align: after every block was freed");
    return tl_finish("align");
}
