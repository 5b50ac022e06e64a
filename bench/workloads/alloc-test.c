/*
 * alloc-test: a random mix after the description of OLogN's alloc-test
 * (ithare.com, "Testing Memory Allocators: ptmalloc2 vs tcmalloc vs hoard vs
 * jemalloc While Trying to Simulate Real-World Loads"): intensive allocation
 * with a Pareto size distribution of objects up to 1 KiB, on each of N
 * threads independently. Each thread owns --slots slots; at each step it
 * picks a random slot and frees the block in it, or allocates one into it if
 * it is empty, so about half the slots are live in the steady state and
 * allocations and frees come in no fixed order.
 */
#include "common.h"

static long ops = 8000000, slots = 32768, min_size = 8, max_size = 1024;

static const struct bench_opt opts[] = {
    { "ops", &ops, "steps (one malloc or one free each) in all", 1 },
    { "slots", &slots, "slots per thread", 0 },
    { "min-size", &min_size, "smallest block (the Pareto scale)", 0 },
    { "max-size", &max_size, "largest block (the tail is cut there)", 0 },
};

static atomic_long done_ops;

/* Pareto with shape 1: P(size > x) = min_size / x, cut at max_size. */
static size_t pareto_size(struct rng *r)
{
    double u = 1.0 - rng_unit(r); /* (0, 1] */
    double s = (double)min_size / u;
    return s >= (double)max_size ? (size_t)max_size : (size_t)s;
}

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    struct rng rng = rng_seeded((uint64_t)t);
    struct blk *slot = alloc_or_die((size_t)slots * sizeof *slot);
    memset(slot, 0, (size_t)slots * sizeof *slot);
    long n = share(ops, t);
    for (long i = share(ops, t); i > 0; i--) {
        struct blk *b = &slot[rng_below(&rng, (uint64_t)slots)];
        if (b->p != NULL) {
            blk_free(*b);
            b->p = NULL;
        } else {
            *b = blk_new(pareto_size(&rng));
        }
    }
    for (long i = 0; i < slots; i++) {
        if (slot[i].p != NULL) {
            blk_free(slot[i]);
            n++;
        }
    }
    free(slot);
    atomic_fetch_add(&done_ops, n);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "alloc-test", "random mix with Pareto sizes (alloc-test)", opts,
               COUNTOF(opts));
    if (min_size < 1 || max_size < min_size || slots < 1) {
        fprintf(stderr, "alloc-test: bad sizes\n");
        return 2;
    }
    bench_start();
    run_threads(bench_threads, worker);
    return bench_report(atomic_load(&done_ops));
}
