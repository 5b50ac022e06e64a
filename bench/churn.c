/*
 * churn.c: small-object churn. Each thread keeps 256 slots and, for a fixed
 * number of steps, frees a random slot's block or fills it with a new block
 * of 1..128 bytes. Prints million operations (malloc or free) per second.
 * Built on glibc (-DBENCH_LIBC), the mymalloc library and the M5 drop-in by
 * bench/churn.sh.
 *   churn THREADS [TOTAL_STEPS]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_alloc.h"

#define SLOTS 256

static long steps_per_thread;

static void *worker(void *arg)
{
    void *slots[SLOTS] = {0};
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    for (long i = 0; i < steps_per_thread; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
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
    if (threads < 1 || threads > 256) {
        fprintf(stderr, "usage: churn THREADS [TOTAL_STEPS]\n");
        return 2;
    }
    steps_per_thread = total / threads;
    pthread_t tid[256];
    double start = bench_seconds();
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    printf("%.2f\n", (double)steps_per_thread * threads / (bench_seconds() - start) / 1e6);
    return 0;
}
