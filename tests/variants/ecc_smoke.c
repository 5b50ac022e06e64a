/*
 * ecc_smoke.c: the smoke test of protected memory's build choices
 * (docs/BUILD.md, "Variants"): the program's ECC_DEFAULT_CODE (compiled in
 * here, -DECC_DEFAULT_CODE=ECC_TMR or the default) and the module's
 * ECC_PROTECTION_OFF (the library it is linked with).
 *
 *   ecc_smoke --expect=secded|tmr|plain
 *     two threads each allocate blocks with ecc_alloc_default, write a
 *     pattern, read it back, and hand half to the other thread, which reads
 *     and frees them; then one more block of 64 KiB adds exactly the storage
 *     of the expected code to what ecc_regions reports: 9 bytes per 8
 *     (SECDED), 24 per 8 (TMR, three copies) or 8 per 8 (one plain copy).
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "mymalloc/ecc.h"
#include "variants.h"

#define BLOCKS 200
#define PROBE_BYTES 65536

static ecc_t handed[2][BLOCKS];
static pthread_barrier_t barrier;

static void pattern(unsigned char *buf, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(seed >> (i & 7) * 8) ^ (unsigned char)(i >> 3);
}

static int read_back(ecc_t block, size_t n, uint64_t seed, const char *where)
{
    static _Thread_local unsigned char want[20000], got[20000];
    pattern(want, n, seed);
    int ok = ecc_read(block, 0, got, n) == 0 && memcmp(want, got, n) == 0;
    CHECK(ok, "%s: block %p of %zu bytes does not read back", where, (void *)block, n);
    return ok;
}

static size_t size_of(int i) { return (size_t)(i * 97) % 20000; }

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    static _Thread_local unsigned char buf[20000];
    for (int i = 0; i < BLOCKS; i++) {
        size_t n = size_of(i);
        ecc_t block = ecc_alloc_default(n);
        CHECK(block != NULL, "thread %d: ecc_alloc_default(%zu) failed", me, n);
        pattern(buf, n, (uint64_t)me << 32 | (uint64_t)i);
        CHECK(block == NULL || ecc_write(block, 0, buf, n) == 0, "thread %d: ecc_write failed", me);
        handed[me][i] = block;
    }
    for (int i = 0; i < BLOCKS; i += 2) {
        if (handed[me][i] != NULL && read_back(handed[me][i], size_of(i), (uint64_t)me << 32 | (uint64_t)i,
                                               "own block"))
            ecc_free(handed[me][i]);
    }
    pthread_barrier_wait(&barrier);
    int other = 1 - me;
    for (int i = 1; i < BLOCKS; i += 2) {
        ecc_t block = handed[other][i];
        if (block != NULL &&
            read_back(block, size_of(i), (uint64_t)other << 32 | (uint64_t)i, "the other thread's block"))
            ecc_free(block);
    }
    return NULL;
}

static int add_length(void *base, size_t length, void *total)
{
    (void)base;
    *(size_t *)total += length;
    return 0;
}

static size_t protected_bytes(void)
{
    size_t total = 0;
    ecc_regions(add_length, &total);
    return total;
}

int main(int argc, char **argv)
{
    const char *expect = argc > 1 && strncmp(argv[1], "--expect=", 9) == 0 ? argv[1] + 9 : "";
    size_t per_word = strcmp(expect, "secded") == 0 ? 9 : strcmp(expect, "tmr") == 0 ? 24
                                                     : strcmp(expect, "plain") == 0 ? 8 : 0;
    if (per_word == 0) {
        fprintf(stderr, "usage: ecc_smoke --expect=secded|tmr|plain\n");
        return 2;
    }
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    struct ecc_stats stats;
    ecc_get_stats(&stats);
    CHECK(stats.blocks == 0 && stats.uncorrectable == 0, "after the exchange: %llu blocks live, %llu uncorrectable",
          stats.blocks, stats.uncorrectable);

    /* A slot freed just before is reused: the table does not grow. */
    ecc_free(ecc_alloc_default(PROBE_BYTES));
    size_t before = protected_bytes();
    ecc_t probe = ecc_alloc_default(PROBE_BYTES);
    size_t added = protected_bytes() - before;
    size_t want = PROBE_BYTES / 8 * per_word;
    printf("FIGURES: a %d-byte block adds %zu bytes of storage (%s: %zu)\n", PROBE_BYTES, added, expect,
           want);
    CHECK(added == want, "a %d-byte block added %zu bytes of storage, not %zu (%s)", PROBE_BYTES, added,
          want, expect);
    ecc_free(probe);
    return check_finish(argv[0]);
}
