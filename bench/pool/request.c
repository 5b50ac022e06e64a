/*
 * request: the request-scoped workload of the pool benchmark.
 *
 * Each thread serves requests one after the other. A request allocates 20
 * to 500 objects of 16 to 512 bytes and 1 to 3 strings of 64 bytes to
 * 4 KiB, touches each as it gets it (writes one 8-byte word in every cache
 * line the block spans: its first word, one every 64 bytes, its last
 * word), reads each block's first word back at its end (a wrong one counts
 * as an error: blocks that overlap), and ends: the pool is cleared, the
 * context freed, or every object freed. The same for every allocator;
 * checking every byte of every block is the tests' job (tests/pool/).
 *
 *   request MODE THREADS REQUESTS_PER_THREAD
 *
 * MODE (what the binary was built with, see rules.mk):
 *   pool         mymalloc region pools: a pool per thread, pool_clear per
 *                request (request-pool)
 *   pool-sub     mymalloc: a sub-pool per request, pool_destroy at its end
 *   apr          APR: a pool per thread on its own allocator (as httpd's
 *                workers), apr_pool_clear per request (request-peers)
 *   talloc       talloc: a context per request, talloc_free at its end
 *   malloc       malloc per object, free of each at the end; the allocator
 *                is the process's (LD_PRELOAD picks it)
 * Prints one line: mode=... threads=N requests=N seconds=S rps=R
 * peak_rss_kib=K checksum=C. Exits 1 if a first word was wrong.
 */
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_pool.h"

#if defined(BENCH_POOL)
#include "mymalloc/pool.h"
#endif
#if defined(BENCH_APR)
#include <apr_pools.h>
#endif
#if defined(BENCH_TALLOC)
#include <talloc.h>
#endif

#define MAX_OBJECTS 504

enum mode { POOL, POOL_SUB, APR, TALLOC, MALLOC };
static enum mode mode;
static long requests_per_thread;
static _Atomic long tag_errors;


struct worker {
    pthread_t id;
    uint64_t rng;
    uint64_t checksum;
};

/* The allocator of one thread, for one mode. */
struct arena {
    void *state;   /* the thread's pool, APR pool, or the request's context */
    void *request; /* pool-sub: the request's sub-pool */
};

static void *arena_alloc(struct arena *a, size_t size)
{
    switch (mode) {
#if defined(BENCH_POOL)
    case POOL:
        return palloc(a->state, size);
    case POOL_SUB:
        return palloc(a->request, size);
#endif
#if defined(BENCH_APR)
    case APR:
        return apr_palloc(a->state, size);
#endif
#if defined(BENCH_TALLOC)
    case TALLOC:
        return talloc_size(a->state, size);
#endif
    default:
        return malloc(size);
    }
}

static void request_begin(struct arena *a)
{
#if defined(BENCH_POOL)
    if (mode == POOL_SUB) {
        pool_config_t config = POOL_CONFIG_DEFAULT;
        config.parent = a->state;
        a->request = pool_create(&config);
    }
#endif
#if defined(BENCH_TALLOC)
    if (mode == TALLOC)
        a->state = talloc_new(NULL);
#endif
    (void)a;
}

static void request_end(struct arena *a, void **objects, int count)
{
    switch (mode) {
#if defined(BENCH_POOL)
    case POOL:
        pool_clear(a->state);
        break;
    case POOL_SUB:
        pool_destroy(a->request);
        break;
#endif
#if defined(BENCH_APR)
    case APR:
        apr_pool_clear(a->state);
        break;
#endif
#if defined(BENCH_TALLOC)
    case TALLOC:
        talloc_free(a->state);
        break;
#endif
    default:
        for (int i = 0; i < count; i++)
            free(objects[i]);
    }
}

static void arena_open(struct arena *a)
{
    switch (mode) {
#if defined(BENCH_POOL)
    case POOL:
    case POOL_SUB:
        a->state = pool_create(NULL);
        break;
#endif
#if defined(BENCH_APR)
    case APR: {
        apr_allocator_t *allocator;
        apr_pool_t *pool;
        apr_allocator_create(&allocator);
        apr_pool_create_ex(&pool, NULL, NULL, allocator);
        apr_allocator_owner_set(allocator, pool);
        a->state = pool;
        break;
    }
#endif
    default:
        a->state = NULL;
    }
}

static void arena_close(struct arena *a)
{
#if defined(BENCH_POOL)
    if (mode == POOL || mode == POOL_SUB)
        pool_destroy(a->state);
#endif
#if defined(BENCH_APR)
    if (mode == APR)
        apr_pool_destroy(a->state);
#endif
    (void)a;
}

/* Write `tag` into one word of every cache line of the block: its first
 * word, one every 64 bytes, its last word (size >= 16). */
static void touch(char *block, size_t size, uint64_t tag)
{
    for (size_t at = 0; at < size - 8; at += 64)
        memcpy(block + at, &tag, 8);
    memcpy(block + size - 8, &tag, 8);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct arena a = {NULL, NULL};
    void *objects[MAX_OBJECTS];
    size_t sizes[MAX_OBJECTS];
    arena_open(&a);
    for (long r = 0; r < requests_per_thread; r++) {
        request_begin(&a);
        int count = 20 + (int)bench_below(&w->rng, 481);
        int strings = 1 + (int)bench_below(&w->rng, 3);
        for (int i = 0; i < count + strings; i++) {
            size_t size = i < count ? 16 + bench_below(&w->rng, 497)
                                    : 64 + bench_below(&w->rng, 4096 - 64 + 1);
            char *p = arena_alloc(&a, size);
            if (p == NULL) {
                fprintf(stderr, "request: out of memory\n");
                exit(2);
            }
            touch(p, size, (uintptr_t)p ^ size ^ (uint64_t)r);
            objects[i] = p;
            sizes[i] = size;
        }
        for (int i = 0; i < count + strings; i++) {
            uint64_t first;
            memcpy(&first, objects[i], 8);
            if (first != ((uintptr_t)objects[i] ^ sizes[i] ^ (uint64_t)r))
                tag_errors++;
            w->checksum += sizes[i];
        }
        request_end(&a, objects, count + strings);
    }
    arena_close(&a);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: request pool|pool-sub|apr|talloc|malloc THREADS REQUESTS\n");
        return 2;
    }
    const char *const names[] = {"pool", "pool-sub", "apr", "talloc", "malloc"};
    int m = bench_mode(argv[1], names, 5);
    int available[] = {
#if defined(BENCH_POOL)
        1, 1,
#else
        0, 0,
#endif
#if defined(BENCH_APR)
        1,
#else
        0,
#endif
#if defined(BENCH_TALLOC)
        1,
#else
        0,
#endif
        1};
    if (m < 0 || !available[m]) {
        fprintf(stderr, "request: mode %s is not in this build\n", argv[1]);
        return 2;
    }
    mode = (enum mode)m;
    int threads = atoi(argv[2]);
    requests_per_thread = atol(argv[3]);
#if defined(BENCH_APR)
    if (mode == APR)
        apr_initialize();
#endif
    struct worker workers[64];
    if (threads < 1 || threads > 64)
        return 2;
    double start = bench_now();
    for (int t = 0; t < threads; t++) {
        workers[t].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(t + 1);
        workers[t].checksum = 0;
        pthread_create(&workers[t].id, NULL, worker_main, &workers[t]);
    }
    uint64_t checksum = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t].id, NULL);
        checksum += workers[t].checksum;
    }
    double seconds = bench_now() - start;
    printf("mode=%s threads=%d requests=%ld seconds=%.4f rps=%.0f peak_rss_kib=%ld checksum=%llu\n",
           names[m], threads, requests_per_thread * threads, seconds,
           (double)(requests_per_thread * threads) / seconds, bench_peak_rss_kib(),
           (unsigned long long)checksum);
    if (tag_errors != 0) {
        fprintf(stderr, "request: %ld first words wrong\n", (long)tag_errors);
        return 1;
    }
    return 0;
}
