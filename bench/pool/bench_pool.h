/*
 * bench_pool.h: what the pool benchmark's workloads (request.c, cache.c)
 * share: the clock, the random numbers, the mode named on the command
 * line, and the peak RSS they print.
 */
#ifndef BENCH_POOL_H
#define BENCH_POOL_H

#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* xorshift64: the next number of the stream *s (never 0 if *s is not). */
static inline uint64_t bench_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A number in [0, n): a multiply, not a division. */
static inline uint64_t bench_below(uint64_t *s, uint64_t n)
{
    return ((bench_random(s) >> 32) * n) >> 32;
}

/* The index of `name` among the `count` names, or -1. */
static inline int bench_mode(const char *name, const char *const *names, int count)
{
    for (int m = 0; m < count; m++)
        if (strcmp(name, names[m]) == 0)
            return m;
    return -1;
}

/* The process's peak resident set so far, in KiB. */
static inline long bench_peak_rss_kib(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

#endif /* BENCH_POOL_H */
