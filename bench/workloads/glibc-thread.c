/*
 * glibc-thread: the loop of glibc's benchtests/bench-malloc-thread, as its
 * description goes: each thread keeps a working set of blocks and, at each
 * step, frees a randomly chosen one and allocates a replacement whose size
 * follows an inverse-square distribution between 4 and 32768 bytes (many
 * small blocks, few large ones, as in real programs).
 */
#include "common.h"

static long ops = 6000000, working_set = 4000, min_size = 4, max_size = 32768;

static const struct bench_opt opts[] = {
    { "ops", &ops, "block replacements in all", 1 },
    { "working-set", &working_set, "live blocks per thread", 0 },
    { "min-size", &min_size, "smallest block", 0 },
    { "max-size", &max_size, "largest block", 0 },
};

/* P(size = s) proportional to 1/s^2 on [min_size, max_size], by inverting the CDF. */
static size_t inverse_square_size(struct rng *r)
{
    double lo = 1.0 / (double)min_size, hi = 1.0 / (double)max_size;
    return (size_t)(1.0 / (lo - rng_unit(r) * (lo - hi)));
}

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    struct rng rng = rng_seeded((uint64_t)t);
    struct blk *set = alloc_or_die((size_t)working_set * sizeof *set);
    for (long i = 0; i < working_set; i++) {
        set[i] = blk_new(inverse_square_size(&rng));
    }
    for (long i = share(ops, t); i > 0; i--) {
        struct blk *b = &set[rng_below(&rng, (uint64_t)working_set)];
        blk_free(*b);
        *b = blk_new(inverse_square_size(&rng));
    }
    for (long i = 0; i < working_set; i++)
        blk_free(set[i]);
    free(set);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "glibc-thread", "bench-malloc-thread's random replacement", opts,
               COUNTOF(opts));
    if (min_size < 1 || max_size < min_size || working_set < 1) {
        fprintf(stderr, "glibc-thread: bad sizes\n");
        return 2;
    }
    bench_start();
    run_threads(bench_threads, worker);
    return bench_report(2 * ops + 2 * working_set * bench_threads);
}
