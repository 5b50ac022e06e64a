/*
 * cache: the object-cache workload of the pool benchmark.
 *
 * Each thread keeps 4096 slots of objects of one size. An operation picks
 * a random slot: an empty one gets a new object (a tag written into its
 * first and last 8 bytes), a full one loses its object (the tag checked):
 * freed here, or, for one in four with more than one thread, handed to the
 * next thread (in batches of 32 under a mutex), which checks and frees it
 * (cross-thread frees). Allocations and frees are in random order.
 *
 *   cache MODE SIZE THREADS OPS_PER_THREAD
 *
 * MODE:
 *   pool         a fixed-size pool, POOL_SHARED | POOL_PER_CPU (cache-pool)
 *   pool-shared  a fixed-size pool, POOL_SHARED (one lock)
 *   pool-local   a fixed-size pool without POOL_SHARED (1 thread only)
 *   malloc       malloc/free of the process's allocator (LD_PRELOAD)
 * Prints: mode=... size=N threads=N ops=N seconds=S mops=M peak_rss_kib=K.
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
static pool_t *pool;
#endif

#define SLOTS 4096
#define BATCH 32
#define BOX 4096

enum mode { POOL, POOL_SHARED_ONE, POOL_LOCAL, MALLOC };
static enum mode mode;
static size_t size;
static int nthreads;
static long ops_per_thread;
static _Atomic long tag_errors;

struct box {
    pthread_mutex_t lock;
    int count;
    void *objects[BOX];
};

static struct worker {
    pthread_t id;
    int index;
    struct box box;
} workers[64];

static void *object_new(void)
{
#if defined(BENCH_POOL)
    if (mode != MALLOC)
        return palloc(pool, size);
#endif
    return malloc(size);
}

static void object_free(void *p)
{
    uint64_t head, tail;
    memcpy(&head, p, 8);
    memcpy(&tail, (char *)p + size - 8, 8);
    if (head != (uintptr_t)p || tail != ~(uint64_t)(uintptr_t)p)
        tag_errors++;
#if defined(BENCH_POOL)
    if (mode != MALLOC) {
        pfree(pool, p);
        return;
    }
#endif
    free(p);
}

static void drain(struct box *box)
{
    pthread_mutex_lock(&box->lock);
    for (int i = 0; i < box->count; i++)
        object_free(box->objects[i]);
    box->count = 0;
    pthread_mutex_unlock(&box->lock);
}

static void *worker_main(void *arg)
{
    struct worker *self = arg;
    struct box *next = &workers[(self->index + 1) % nthreads].box;
    void **slots = calloc(SLOTS, sizeof *slots);
    void *out[BATCH];
    int out_count = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(self->index + 1);
    for (long op = 0; op < ops_per_thread; op++) {
        uint64_t r = bench_random(&rng);
        void **slot = &slots[(r >> 20) & (SLOTS - 1)];
        if (*slot == NULL) {
            void *p = object_new();
            if (p == NULL) {
                fprintf(stderr, "cache: out of memory\n");
                exit(2);
            }
            uint64_t head = (uintptr_t)p, tail = ~head;
            memcpy(p, &head, 8);
            memcpy((char *)p + size - 8, &tail, 8);
            *slot = p;
            continue;
        }
        if (nthreads > 1 && (r & 3) == 0) {
            out[out_count++] = *slot;
            if (out_count == BATCH) {
                pthread_mutex_lock(&next->lock);
                int room = BOX - next->count;
                int n = room < out_count ? room : out_count;
                memcpy(&next->objects[next->count], out, (size_t)n * sizeof *out);
                next->count += n;
                pthread_mutex_unlock(&next->lock);
                for (int i = n; i < out_count; i++)
                    object_free(out[i]);
                out_count = 0;
            }
        } else {
            object_free(*slot);
        }
        *slot = NULL;
        if ((op & 255) == 0)
            drain(&self->box);
    }
    for (int i = 0; i < out_count; i++)
        object_free(out[i]);
    for (int i = 0; i < SLOTS; i++)
        if (slots[i] != NULL)
            object_free(slots[i]);
    free(slots);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *const names[] = {"pool", "pool-shared", "pool-local", "malloc"};
    int m = argc == 5 ? bench_mode(argv[1], names, 4) : -1;
    if (m < 0) {
        fprintf(stderr, "usage: cache pool|pool-shared|pool-local|malloc SIZE THREADS OPS\n");
        return 2;
    }
    mode = (enum mode)m;
    size = (size_t)atol(argv[2]);
    nthreads = atoi(argv[3]);
    ops_per_thread = atol(argv[4]);
    if (size < 16 || nthreads < 1 || nthreads > 64 || (mode == POOL_LOCAL && nthreads != 1))
        return 2;
#if defined(BENCH_POOL)
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.object_size = size;
    config.flags = mode == POOL ? POOL_SHARED | POOL_PER_CPU : mode == POOL_SHARED_ONE ? POOL_SHARED : 0;
    if (mode != MALLOC && (pool = pool_create(&config)) == NULL)
        return 2;
#else
    if (mode != MALLOC) {
        fprintf(stderr, "cache: mode %s is not in this build\n", names[m]);
        return 2;
    }
#endif
    double start = bench_now();
    for (int t = 0; t < nthreads; t++) {
        workers[t].index = t;
        pthread_mutex_init(&workers[t].box.lock, NULL);
    }
    for (int t = 0; t < nthreads; t++)
        pthread_create(&workers[t].id, NULL, worker_main, &workers[t]);
    for (int t = 0; t < nthreads; t++)
        pthread_join(workers[t].id, NULL);
    for (int t = 0; t < nthreads; t++)
        drain(&workers[t].box);
    double seconds = bench_now() - start;
    printf("mode=%s size=%zu threads=%d ops=%ld seconds=%.4f mops=%.2f peak_rss_kib=%ld\n",
           names[m], size, nthreads, ops_per_thread * nthreads, seconds,
           (double)(ops_per_thread * nthreads) / seconds / 1e6, bench_peak_rss_kib());
    if (tag_errors != 0) {
        fprintf(stderr, "cache: %ld tags wrong\n", (long)tag_errors);
        return 1;
    }
    return 0;
}
