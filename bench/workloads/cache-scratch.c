/*
 * cache-scratch: passive false sharing, after the cache-scratch benchmark of
 * Berger et al., "Hoard: A Scalable Memory Allocator for Multithreaded
 * Applications" (ASPLOS 2000). The main thread allocates one small object per
 * thread, back to back, so that several share a cache line, and hands one to
 * each thread. Each thread frees the object it was given, then repeatedly
 * allocates an object of the same size, writes every byte of it many times
 * and frees it. An allocator that gives a thread back the block another
 * thread's object came from (rather than memory of its own) keeps the
 * threads writing to one cache line.
 */
#include "common.h"

static long iterations = 8000, repetitions = 5000, obj_size = 8;

static const struct bench_opt opts[] = {
    { "iterations", &iterations, "objects allocated in all", 1 },
    { "repetitions", &repetitions, "writes to each byte of an object", 0 },
    { "size", &obj_size, "object size in bytes", 0 },
};

static struct blk *given; /* the object handed to each thread */

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    blk_free(given[t]);
    hammer_objects(t, iterations, (size_t)obj_size, repetitions);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "cache-scratch", "passive false sharing (Hoard)", opts, COUNTOF(opts));
    hammer_check_args("cache-scratch", obj_size, repetitions);
    given = alloc_or_die((size_t)bench_threads * sizeof *given);
    for (long t = 0; t < bench_threads; t++)
        given[t] = blk_new((size_t)obj_size);
    bench_start();
    run_threads(bench_threads, worker);
    free(given);
    return bench_report(2 * iterations + 2 * bench_threads);
}
