/*
 * churn.c: thread-local churn. Prints million operations (malloc or free)
 * per second. Built on glibc (-DBENCH_LIBC), the mymalloc library and the M5
 * drop-in by bench/churn.sh.
 *   churn THREADS [TOTAL_STEPS] [small|mix]
 * small (the default): each thread keeps 256 slots and, for a fixed number
 *   of steps, frees a random slot's block or fills it with a new block of
 *   1..128 bytes;
 * mix: each thread keeps 1024 live blocks and at each step frees a random
 *   one and allocates into its slot: 15/16 of requests 8..128 bytes, 1/16
 *   129..4096 bytes (two operations a step).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_alloc.h"

#include <string.h>

#define SLOTS 256
#define MIX_SLOTS 1024

static long steps_per_thread;

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static size_t mix_size(uint64_t r)
{
    return (r >> 60) != 0 ? 8 + (size_t)((r >> 8) % 121) : 129 + (size_t)((r >> 8) % 3968);
}

static void *mix_worker(void *arg)
{
    static _Thread_local void *slots[MIX_SLOTS];
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    for (unsigned k = 0; k < MIX_SLOTS; k++)
        slots[k] = ALLOC(mix_size(next_random(&x)));
    for (long i = 0; i < steps_per_thread; i += 2) {
        uint64_t r = next_random(&x);
        unsigned k = (unsigned)(r & (MIX_SLOTS - 1));
        FREE(slots[k]);
        slots[k] = ALLOC(mix_size(r));
    }
    for (unsigned k = 0; k < MIX_SLOTS; k++)
        FREE(slots[k]);
    return NULL;
}

static void *worker(void *arg)
{
    void *slots[SLOTS] = {0};
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    for (long i = 0; i < steps_per_thread; i++) {
        next_random(&x);
        unsigned k = (unsigned)(x & (SLOTS - 1));
        if (slots[k] != NULL) {
            FREE(slots[k]);
            slots[k] = NULL;
        } else {
            slots[k] = ALLOC(1 + (size_t)((x >> 8) % 128));
        }
    }
    for (unsigned k = 0; k < SLOTS; k++)
        FREE(slots[k]);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    long total = argc > 2 ? atol(argv[2]) : 40000000;
    int mix = argc > 3 && strcmp(argv[3], "mix") == 0;
    if (threads < 1 || threads > 256 || (argc > 3 && !mix && strcmp(argv[3], "small") != 0)) {
        fprintf(stderr, "usage: churn THREADS [TOTAL_STEPS] [small|mix]\n");
        return 2;
    }
    steps_per_thread = total / threads;
    pthread_t tid[256];
    double start = bench_seconds();
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, mix ? mix_worker : worker, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    printf("%.2f\n", (double)steps_per_thread * threads / (bench_seconds() - start) / 1e6);
    return 0;
}
