/*
 * fuzz_ops: libFuzzer drives mymalloc/myfree (library core, with ASan and
 * UBSan, coverage-instrumented) through sequences of operations decoded from
 * its input, over 64 slots:
 *   byte 0        a byte cap for the provider (0: none; else k x 256 KiB),
 *                 so exhaustion paths are explored too
 *   then triples  (op, a, b): allocate into slot a (a size decoded from op,
 *                 a, b: 0, small, medium, large, or an absurd one), free
 *                 slot a, or fail every k-th vmalloc for a while
 * Every block is tagged and verified before free and its alignment checked;
 * at the end of each input everything is freed, held bytes must fall back
 * to the idle allowance and the provider must have seen no bad vmfree.
 * A NULL is a failure unless a cap or fault injection is in force or the
 * size is absurd. Any failure aborts, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "provider.h"
#include "testlib.h"

#define SLOTS 64

static size_t decode_size(uint8_t op, uint8_t a, uint8_t b)
{
    switch ((op >> 2) % 8) {
    case 0:
        return b % 17; /* 0..16: the smallest classes, and 0 */
    case 1:
    case 2:
        return 1 + b; /* up to 256 */
    case 3:
        return 1 + (((size_t)a << 8) | b) % 32768; /* every small class */
    case 4:
        return 4096 - 8 + b % 16; /* around a page */
    case 5:
        return 32768 + (((size_t)a << 8) | b) * 16; /* large, up to ~1 MiB */
    case 6:
        return ((size_t)1 << (20 + b % 3)) + a; /* 1..4 MiB */
    default:
        return SIZE_MAX - (size_t)b * 4096; /* absurd: must be NULL */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static tl_block blocks[SLOTS];
    if (n == 0)
        return 0;
    size_t cap = (size_t)data[0] * 256 * 1024;
    provider_set_cap(cap);
    unsigned long faulting = 0;
    for (size_t i = 1; i + 3 <= n; i += 3) {
        uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
        tl_block *blk = &blocks[a % SLOTS];
        if (faulting > 0 && --faulting == 0)
            provider_fail_every(0);
        switch (op % 4) {
        case 0:
        case 1: {
            if (blk->p != NULL)
                tl_free(blk, NULL, "fuzz: free before reuse");
            size_t size = decode_size(op, a, b);
            int ok = tl_alloc(blk, size, ((uint64_t)i << 16) | op, NULL);
            if (!ok && cap == 0 && faulting == 0 && size <= ((size_t)64 << 20))
                tl_fail("fuzz: mymalloc(%zu) returned NULL with no cap or fault", size);
            if (ok && size >= ((size_t)1 << 62))
                tl_fail("fuzz: mymalloc(%zu) did not return NULL", size);
            break;
        }
        case 2:
            if (blk->p != NULL)
                tl_free(blk, NULL, "fuzz: free");
            break;
        default:
            /* Fail every (2 + b % 8)-th vmalloc for the next a % 32 ops. */
            faulting = a % 32;
            provider_fail_every(faulting ? 2 + b % 8 : 0);
            break;
        }
    }
    provider_fail_every(0);
    provider_set_cap(0);
    for (int s = 0; s < SLOTS; s++)
        if (blocks[s].p != NULL)
            tl_free(&blocks[s], NULL, "fuzz: final free");
    tl_check_drained(1, "fuzz: after freeing everything");
    if (atomic_load(&tl_failures) != 0)
        abort();
    return 0;
}
