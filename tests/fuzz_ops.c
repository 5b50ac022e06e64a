/*
 * fuzz_ops: libFuzzer drives the core API (library core, with ASan and
 * UBSan, coverage-instrumented) through sequences of operations decoded from
 * its input, over 64 slots:
 *   byte 0        a byte cap for the provider (0: none; else k x 256 KiB),
 *                 so exhaustion paths are explored too
 *   then triples  (op, a, b) on slot a: mymalloc (a size decoded from op, a,
 *                 b: 0, small, medium, large, or an absurd one), myfree, fail
 *                 every k-th vmalloc for a while, myrealloc (contents kept up
 *                 to the smaller size; on failure the old block intact),
 *                 mycalloc (zeroed), myaligned_alloc (alignments up to
 *                 8 MiB), and myfree_checked on a live block (0), on an
 *                 interior pointer, a stack address or the same block twice
 *                 (-1, and nothing may change)
 * Every block is tagged and verified before free and its alignment checked;
 * at the end of each input the allocator's structural check runs
 * (allocator_verify's walk), everything is freed, the check runs again,
 * held bytes must fall back
 * to the idle allowance and the provider must have seen no bad vmfree.
 * A NULL is a failure unless a cap or fault injection is in force or the
 * size is absurd. Any failure aborts, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "provider.h"
#include "testlib.h"

#define SLOTS 64

static size_t decode_size(uint8_t op, uint8_t a, uint8_t b)
{
    switch ((op >> 3) % 8) {
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

/* What must hold of any block handed out: alignment, usable size. */
static void check_block(const tl_block *blk, size_t alignment, const char *what)
{
    if ((uintptr_t)blk->p % alignment != 0)
        tl_fail("fuzz: %s: %p not aligned to %zu", what, blk->p, alignment);
    if (myusable_size(blk->p) < blk->size)
        tl_fail("fuzz: %s: usable size %zu below %zu", what, myusable_size(blk->p), blk->size);
}

/* myrealloc of slot `blk` to `size`: the first bytes (up to 4 KiB) must
 * survive a move, and a failure must leave the old block as it was. */
static void fuzz_realloc(tl_block *blk, size_t size, uint64_t seed, int may_fail)
{
    static uint8_t kept[4096];
    size_t old_size = blk->p != NULL ? blk->size : 0;
    size_t compare = old_size < size ? old_size : size;
    if (compare > sizeof kept)
        compare = sizeof kept;
    if (blk->p != NULL) {
        tl_verify(blk, "fuzz: before realloc");
        memcpy(kept, blk->p, compare);
    }
    void *moved = myrealloc(blk->p, size);
    if (moved == NULL) {
        if (size == 0) { /* freed */
            blk->p = NULL;
            return;
        }
        if (!may_fail && size <= ((size_t)64 << 20))
            tl_fail("fuzz: myrealloc(%zu) returned NULL with no cap or fault", size);
        if (blk->p != NULL)
            tl_verify(blk, "fuzz: old block after a failed realloc");
        return;
    }
    if (size >= ((size_t)1 << 62))
        tl_fail("fuzz: myrealloc(%zu) did not return NULL", size);
    if (memcmp(kept, moved, compare) != 0)
        tl_fail("fuzz: myrealloc lost the contents (%zu -> %zu bytes)", old_size, size);
    blk->p = moved;
    blk->size = size;
    blk->seed = seed;
    check_block(blk, 16, "myrealloc");
    tl_fill(blk);
}

static void fuzz_calloc(tl_block *blk, size_t count, size_t size, uint64_t seed, int may_fail)
{
    size_t bytes;
    int absurd = __builtin_mul_overflow(count, size, &bytes) || bytes >= ((size_t)1 << 62);
    uint8_t *p = mycalloc(count, size);
    if (p != NULL && absurd)
        tl_fail("fuzz: mycalloc(%zu, %zu) did not return NULL", count, size);
    if (p == NULL) {
        if (!may_fail && !absurd && bytes <= ((size_t)64 << 20))
            tl_fail("fuzz: mycalloc(%zu, %zu) returned NULL with no cap or fault", count, size);
        return;
    }
    for (size_t i = 0; i < bytes; i++)
        if (p[i] != 0)
            tl_fail("fuzz: mycalloc(%zu, %zu): byte %zu is %02x", count, size, i, p[i]);
    *blk = (tl_block){p, bytes, seed};
    check_block(blk, 16, "mycalloc");
    tl_fill(blk);
}

static void fuzz_aligned(tl_block *blk, size_t alignment, size_t size, uint64_t seed,
                         int may_fail)
{
    void *p = myaligned_alloc(alignment, size);
    if (p == NULL) {
        if (!may_fail && size <= ((size_t)64 << 20))
            tl_fail("fuzz: myaligned_alloc(%zu, %zu) returned NULL", alignment, size);
        return;
    }
    if (size >= ((size_t)1 << 62))
        tl_fail("fuzz: myaligned_alloc(%zu, %zu) did not return NULL", alignment, size);
    *blk = (tl_block){p, size, seed};
    check_block(blk, alignment, "myaligned_alloc");
    tl_fill(blk);
}

/* myfree_checked: 0 for the live block, -1 (changing nothing) for a pointer
 * into it, a stack address, or the block again. */
static void fuzz_checked_free(tl_block *blk, uint8_t how)
{
    int stack_word;
    if (how % 3 == 0 && myfree_checked(&stack_word) != -1)
        tl_fail("fuzz: myfree_checked accepted a stack address");
    if (blk->p == NULL)
        return;
    tl_verify(blk, "fuzz: before a checked free");
    if (how % 3 == 1 && myfree_checked((char *)blk->p + 8) != -1)
        tl_fail("fuzz: myfree_checked accepted an interior pointer");
    if (how % 3 == 1) {
        tl_verify(blk, "fuzz: after a refused checked free");
        return;
    }
    void *p = blk->p;
    if (myfree_checked(p) != 0)
        tl_fail("fuzz: myfree_checked refused a live block %p", p);
    blk->p = NULL;
    if (myfree_checked(p) != -1)
        tl_fail("fuzz: myfree_checked accepted a double free of %p", p);
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
        uint64_t seed = ((uint64_t)i << 16) | op;
        int may_fail = cap != 0 || faulting != 0;
        if (faulting > 0 && --faulting == 0)
            provider_fail_every(0);
        switch (op % 8) {
        case 0:
        case 1: {
            if (blk->p != NULL)
                tl_free(blk, NULL, "fuzz: free before reuse");
            size_t size = decode_size(op, a, b);
            int ok = tl_alloc(blk, size, seed, NULL);
            if (!ok && !may_fail && size <= ((size_t)64 << 20))
                tl_fail("fuzz: mymalloc(%zu) returned NULL with no cap or fault", size);
            if (ok && size >= ((size_t)1 << 62))
                tl_fail("fuzz: mymalloc(%zu) did not return NULL", size);
            if (ok)
                check_block(blk, 16, "mymalloc");
            break;
        }
        case 2:
            if (blk->p != NULL)
                tl_free(blk, NULL, "fuzz: free");
            break;
        case 3:
            /* Fail every (2 + b % 8)-th vmalloc for the next a % 32 ops. */
            faulting = a % 32;
            provider_fail_every(faulting ? 2 + b % 8 : 0);
            break;
        case 4:
            fuzz_realloc(blk, (op & 0x80) ? 0 : decode_size(op, a, b), seed, may_fail);
            break;
        case 5:
            if (blk->p != NULL)
                tl_free(blk, NULL, "fuzz: free before calloc");
            fuzz_calloc(blk, 1 + a % 16, decode_size(op, a, b) / 16, seed, may_fail);
            break;
        case 6:
            if (blk->p != NULL)
                tl_free(blk, NULL, "fuzz: free before aligned alloc");
            fuzz_aligned(blk, (size_t)1 << (b % 24), decode_size(op, a, b), seed, may_fail);
            break;
        default:
            fuzz_checked_free(blk, b);
            break;
        }
    }
    provider_fail_every(0);
    provider_set_cap(0);
    tl_verify_allocator("fuzz: after the input's operations, before the final frees");
    for (int s = 0; s < SLOTS; s++)
        if (blocks[s].p != NULL)
            tl_free(&blocks[s], NULL, "fuzz: final free");
    tl_verify_allocator("fuzz: after freeing everything");
    tl_check_drained(1, "fuzz: after freeing everything");
    if (atomic_load(&tl_failures) != 0)
        abort();
    return 0;
}
