/*
 * cache-thrash: active false sharing, after the cache-thrash benchmark of
 * Berger et al., "Hoard: A Scalable Memory Allocator for Multithreaded
 * Applications" (ASPLOS 2000). Each thread repeatedly allocates a small
 * object, writes every byte of it many times, and frees it. The threads
 * share nothing; if the allocator places objects of different threads on
 * one cache line, the line bounces between cores and the run slows down.
 */
#include "common.h"

static long iterations = 8000, repetitions = 5000, obj_size = 8;

static const struct bench_opt opts[] = {
    { "iterations", &iterations, "objects allocated in all", 1 },
    { "repetitions", &repetitions, "writes to each byte of an object", 0 },
    { "size", &obj_size, "object size in bytes", 0 },
};

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    hammer_objects(t, iterations, (size_t)obj_size, repetitions);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "cache-thrash", "active false sharing (Hoard)", opts, COUNTOF(opts));
    hammer_check_args("cache-thrash", obj_size, repetitions);
    bench_start();
    run_threads(bench_threads, worker);
    return bench_report(2 * iterations);
}
