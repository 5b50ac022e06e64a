/*
 * vg_prog: a program linked with build/libmymalloc.a for memcheck
 * (tests/valgrind/check.sh runs it under valgrind; docs/DEBUGGING.md).
 *
 *   vg_prog clean      every entry point of the malloc family, the core API,
 *                      the application API and the pools, on 4 threads with
 *                      blocks freed across threads; every block freed, every
 *                      byte read was written: memcheck must report nothing
 *   vg_prog uaf        reads a block after free (malloc/free, and
 *                      mymalloc/myfree): an invalid read in a freed block
 *   vg_prog uninit     decides a branch on a malloc'd byte never written
 *   vg_prog leak       loses a small and a large block: definitely lost
 *   vg_prog overflow   writes one byte past a 20-byte block (into the slack
 *                      of its 32-byte size class)
 *   vg_prog pool-uaf   reads a fixed-size pool's object after pfree, and a
 *                      region pool's block after pool_clear
 *
 * Each bug case exits 0 after its bug: memcheck's report is the verdict.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mymalloc.h"
#include "mymalloc/pool.h"

static int failures;

#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "vg_prog: %s:%d: %s is false\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

/* Fill `n` bytes with a pattern of `seed` and check it back. */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7);
}

static int holds(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7))
            return 0;
    return 1;
}

static void malloc_family(void)
{
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 1000, 4096, 32768, 40000, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *p = malloc(n);
        EXPECT(p != NULL);
        fill(p, n, (unsigned)i);
        EXPECT(holds(p, n, (unsigned)i));
        /* The usable size is the size asked for under memcheck: all of it
         * may be written. */
        size_t usable = malloc_usable_size(p);
        EXPECT(usable >= n);
        memset(p, 1, usable);
        free(p);

        unsigned char *z = calloc(n + 1, 3);
        for (size_t k = 0; k < (n + 1) * 3; k++)
            EXPECT(z[k] == 0);
        free(z);
    }
    /* realloc: the contents and their definedness follow the block. */
    unsigned char *r = malloc(10);
    fill(r, 10, 3);
    r = realloc(r, 5000);
    EXPECT(holds(r, 10, 3));
    fill(r, 5000, 4);
    r = realloc(r, 200000);
    EXPECT(holds(r, 5000, 4));
    r = realloc(r, 24);
    EXPECT(holds(r, 24, 4));
    r = reallocarray(r, 8, 8);
    EXPECT(holds(r, 24, 4));
    EXPECT(realloc(r, 0) == NULL);
    free(realloc(NULL, 7));

    void *a = NULL;
    EXPECT(posix_memalign(&a, 64, 100) == 0 && (uintptr_t)a % 64 == 0);
    memset(a, 2, 100);
    free(a);
    a = aligned_alloc(4096, 5000);
    EXPECT(a != NULL && (uintptr_t)a % 4096 == 0);
    memset(a, 2, 5000);
    free(a);
    a = memalign(1 << 16, 10);
    EXPECT(a != NULL && (uintptr_t)a % (1 << 16) == 0);
    free(a);
    a = valloc(10);
    memset(a, 3, 10);
    free(a);
    a = pvalloc(10);
    memset(a, 3, 4096);
    free(a);
    char *s = strdup("through glibc's own call to malloc");
    EXPECT(strlen(s) == 34);
    free(s);
}

static void core_api(void)
{
    unsigned char *p = mymalloc(100);
    fill(p, 100, 9);
    p = myrealloc(p, 3000);
    EXPECT(holds(p, 100, 9));
    EXPECT(myusable_size(p) >= 3000);
    myfree(p);
    unsigned char *z = mycalloc(10, 10);
    EXPECT(z[99] == 0);
    EXPECT(myfree_checked(z) == 0);
    int on_stack;
    EXPECT(myfree_checked(&on_stack) == -1);
    void *a = myaligned_alloc(256, 256);
    EXPECT(a != NULL && (uintptr_t)a % 256 == 0);
    free(a);                   /* the same allocator */
    myfree(malloc(33));
    EXPECT(allocator_verify() == 0);
    size_t allocated = 0, freed = 0, peak = 0;
    allocator_stats(&allocated, &freed, &peak);
    EXPECT(allocated >= freed);
    allocator_cleanup();
    malloc_trim(0);
}

static void pools(void)
{
    pool_t *region = pool_create(NULL);
    pool_config_t sub_config = POOL_CONFIG_DEFAULT;
    sub_config.parent = region;
    pool_t *sub = pool_create(&sub_config);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            unsigned char *b = palloc(region, (size_t)(i * 13 % 700) + 1);
            fill(b, (size_t)(i * 13 % 700) + 1, (unsigned)i);
            EXPECT(holds(b, (size_t)(i * 13 % 700) + 1, (unsigned)i));
        }
        char *big = palloc(sub, 20000);
        memset(big, 4, 20000);
        char *zero = pcalloc(sub, 64);
        EXPECT(zero[63] == 0);
        EXPECT(strcmp(pstrdup(region, "pool"), "pool") == 0);
        pool_clear(region); /* the sub-pool goes with it */
        sub = pool_create(&sub_config);
    }
    pool_destroy(region);

    pool_config_t fixed_config = POOL_CONFIG_DEFAULT;
    fixed_config.object_size = 48;
    fixed_config.flags = POOL_SHARED;
    pool_t *fixed = pool_create(&fixed_config);
    void *objects[500];
    for (int i = 0; i < 500; i++) {
        objects[i] = palloc(fixed, 48);
        fill(objects[i], 48, (unsigned)i);
    }
    for (int i = 0; i < 500; i += 2) {
        EXPECT(holds(objects[i], 48, (unsigned)i));
        pfree(fixed, objects[i]);
    }
    EXPECT(pfree_checked(fixed, objects[0]) == -1); /* a double free, found */
    for (int i = 0; i < 500; i += 2)
        objects[i] = palloc(fixed, 48);
    pool_clear(fixed);
    memset(palloc(fixed, 48), 5, 48);
    pool_destroy(fixed); /* live objects go with the pool: no leak */
}

/* Blocks allocated on one thread and freed on another, both ways. */
#define HANDED 2000
static void *handed[4][HANDED];

static void *worker(void *arg)
{
    void **mine = arg;
    for (int i = 0; i < HANDED; i++) {
        size_t n = (size_t)(i * 37 % 3000) + 1;
        mine[i] = malloc(n);
        fill(mine[i], n, (unsigned)i);
    }
    return NULL;
}

static void *freer(void *arg)
{
    void **theirs = arg;
    for (int i = 0; i < HANDED; i++) {
        EXPECT(holds(theirs[i], (size_t)(i * 37 % 3000) + 1, (unsigned)i));
        free(theirs[i]);
    }
    return NULL;
}

static void threads(void)
{
    pthread_t t[4];
    for (int k = 0; k < 4; k++)
        pthread_create(&t[k], NULL, worker, handed[k]);
    for (int k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
    for (int k = 0; k < 2; k++)
        freer(handed[k]); /* the main thread frees two threads' blocks */
    for (int k = 2; k < 4; k++)
        pthread_create(&t[k], NULL, freer, handed[k]); /* new threads, the rest */
    for (int k = 2; k < 4; k++)
        pthread_join(t[k], NULL);
}

static volatile unsigned char sink;
static void *volatile lost;

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "clean";
    if (strcmp(c, "clean") == 0) {
        malloc_family();
        core_api();
        pools();
        threads();
    } else if (strcmp(c, "uaf") == 0) {
        /* Frees of the same page-map leaf before it: a free's quick path,
         * which memcheck would not see, must stay off under memcheck. */
        for (int i = 0; i < 4; i++)
            free(malloc(40));
        unsigned char *p = malloc(40);
        memset(p, 1, 40);
        free(p);
        sink = p[8];
        unsigned char *q = mymalloc(4000);
        memset(q, 1, 4000);
        myfree(q);
        sink = q[100];
    } else if (strcmp(c, "uninit") == 0) {
        unsigned char *p = malloc(64);
        p[0] = 1;
        if (p[5] == 42) /* never written */
            puts("42");
        free(p);
    } else if (strcmp(c, "leak") == 0) {
        lost = malloc(48);
        memset(lost, 1, 48);
        lost = malloc(100000);
        lost = NULL;
    } else if (strcmp(c, "overflow") == 0) {
        unsigned char *p = malloc(20);
        p[20] = 1;
        free(p);
    } else if (strcmp(c, "pool-uaf") == 0) {
        pool_config_t config = POOL_CONFIG_DEFAULT;
        config.object_size = 64;
        pool_t *fixed = pool_create(&config);
        unsigned char *o = palloc(fixed, 64);
        memset(o, 1, 64);
        pfree(fixed, o);
        sink = o[40];
        pool_destroy(fixed);
        pool_t *region = pool_create(NULL);
        unsigned char *b = palloc(region, 100);
        memset(b, 1, 100);
        pool_clear(region);
        sink = b[50];
        pool_destroy(region);
    } else {
        fprintf(stderr, "usage: vg_prog clean|uaf|uninit|leak|overflow|pool-uaf\n");
        return 2;
    }
    return failures == 0 ? 0 : 1;
}
