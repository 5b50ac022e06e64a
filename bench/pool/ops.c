/*
 * ops: loops of one pool operation each, for callgrind's instruction
 * counts per operation (run.sh runs each loop function under
 * --toggle-collect and divides by the count). Each loop function runs
 * COUNT operations on a warmed pool (its memory already mapped; the
 * warm-up is not counted), so the counts are of the steady state, call
 * and loop included (8 instructions an operation: the loop's 7 and the
 * PLT's jump; the function itself is that much less).
 * COUNT 100000 of 64 bytes: the pools cross slabs and regions within the
 * loop, and their refills and region changes are in the counts.
 *
 *   ops LOOP COUNT     LOOP: one of the loop_* names below
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "mymalloc/pool.h"

#define MAX_COUNT 100000

static void *ptrs[MAX_COUNT];
static long count;

/* Each loop is noinline so that --toggle-collect sees it. */
#define LOOP __attribute__((noinline))

LOOP void loop_region_palloc(pool_t *pool)
{
    for (long i = 0; i < count; i++)
        ptrs[i] = palloc(pool, 64);
}

LOOP void loop_fixed_palloc(pool_t *pool)
{
    for (long i = 0; i < count; i++)
        ptrs[i] = palloc(pool, 64);
}

LOOP void loop_fixed_pfree(pool_t *pool)
{
    for (long i = 0; i < count; i++)
        pfree(pool, ptrs[i]);
}

LOOP void loop_malloc(void)
{
    for (long i = 0; i < count; i++)
        ptrs[i] = mymalloc(64);
}

LOOP void loop_free(void)
{
    for (long i = 0; i < count; i++)
        myfree(ptrs[i]);
}

/* Warming up (not counted): COUNT blocks allocated and freed once. */
static void warm(pool_t *pool)
{
    for (long i = 0; i < count; i++)
        ptrs[i] = palloc(pool, 64);
    for (long i = 0; i < count; i++)
        pfree(pool, ptrs[i]);
}

/* A fixed-size pool of 64-byte objects with `flags`, warmed. */
static pool_t *fixed_pool(unsigned flags)
{
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.object_size = 64;
    config.flags = flags;
    pool_t *pool = pool_create(&config);
    warm(pool);
    return pool;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (count = atol(argv[2])) < 1 || count > MAX_COUNT) {
        fprintf(stderr, "usage: ops LOOP COUNT (COUNT <= %d)\n", MAX_COUNT);
        return 2;
    }
    const char *loop = argv[1];
    if (strcmp(loop, "region") == 0) {
        pool_t *pool = pool_create(NULL);
        warm(pool);
        pool_clear(pool);
        loop_region_palloc(pool); /* measured: the pool's regions are kept or cached */
        pool_destroy(pool);
    } else if (strncmp(loop, "fixed", 5) == 0) {
        unsigned flags = strcmp(loop, "fixed-shared") == 0    ? POOL_SHARED
                         : strcmp(loop, "fixed-per-cpu") == 0 ? POOL_SHARED | POOL_PER_CPU
                                                              : 0;
        pool_t *pool = fixed_pool(flags);
        loop_fixed_palloc(pool);
        loop_fixed_pfree(pool);
        pool_destroy(pool);
    } else if (strcmp(loop, "malloc") == 0) {
        for (long i = 0; i < count; i++)
            ptrs[i] = mymalloc(64);
        for (long i = 0; i < count; i++)
            myfree(ptrs[i]);
        loop_malloc();
        loop_free();
    } else {
        fprintf(stderr, "ops: no loop %s\n", loop);
        return 2;
    }
    return 0;
}
