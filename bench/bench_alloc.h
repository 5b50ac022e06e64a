/*
 * bench_alloc.h: what the micro-benchmarks share: ALLOC/FREE as glibc's
 * malloc/free (-DBENCH_LIBC) or as mymalloc/myfree, and a monotonic clock.
 */
#ifndef BENCH_ALLOC_H
#define BENCH_ALLOC_H

#include <stdlib.h>
#include <time.h>

#ifdef BENCH_LIBC
#define ALLOC malloc
#define FREE free
#else
#include "mymalloc.h"
#define ALLOC mymalloc
#define FREE myfree
#endif

static inline double bench_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif /* BENCH_ALLOC_H */
