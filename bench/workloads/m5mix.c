/*
 * m5mix: the size mix of the operating-systems lab "M5 mymalloc" that
 * mymalloc also ships for: mostly small blocks (1..128 bytes), frequent
 * 4 KiB blocks (a page), and rare large ones (32 KiB..1 MiB). Each thread
 * keeps --slots live blocks and replaces a random one at each step.
 * Percentages are per thousand: --small (default 895) and --page (100); the
 * rest are large.
 */
#include "common.h"

static long ops = 6000000, slots = 4096, small = 895, page = 100;

static const struct bench_opt opts[] = {
    { "ops", &ops, "block replacements in all", 1 },
    { "slots", &slots, "live blocks per thread", 0 },
    { "small", &small, "per thousand blocks of 1..128 bytes", 0 },
    { "page", &page, "per thousand blocks of 4096 bytes", 0 },
};

static size_t m5_size(struct rng *r)
{
    uint64_t x = rng_below(r, 1000);
    if (x < (uint64_t)small)
        return rng_range(r, 1, 128);
    if (x < (uint64_t)(small + page))
        return 4096;
    return rng_log_size(r, 32 << 10, 1 << 20);
}

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    struct rng rng = rng_seeded((uint64_t)t);
    struct blk *set = alloc_or_die((size_t)slots * sizeof *set);
    for (long i = 0; i < slots; i++) {
        set[i] = blk_new(m5_size(&rng));
    }
    for (long i = share(ops, t); i > 0; i--) {
        struct blk *b = &set[rng_below(&rng, (uint64_t)slots)];
        blk_free(*b);
        *b = blk_new(m5_size(&rng));
    }
    for (long i = 0; i < slots; i++)
        blk_free(set[i]);
    free(set);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "m5mix", "the M5 lab's size mix", opts, COUNTOF(opts));
    if (slots < 1 || small < 0 || page < 0 || small + page > 1000) {
        fprintf(stderr, "m5mix: bad mix\n");
        return 2;
    }
    bench_start();
    run_threads(bench_threads, worker);
    return bench_report(2 * ops + 2 * slots * bench_threads);
}
