/*
 * pairs: instructions per malloc+free pair, counted by callgrind. For each
 * size (default 8, 16, 64, 256, 4096 bytes) it warms the allocator up with
 * --warmup pairs, zeroes callgrind's counters, runs --pairs pairs and dumps
 * the counters with the size in the dump's name ("pairs-SIZE"). The runner
 * reads each dump's total and divides by --pairs; the figure includes the
 * loop and the two calls (about 6 instructions). Run outside valgrind, it
 * also prints the nanoseconds per pair.
 *
 *   valgrind --tool=callgrind --callgrind-out-file=F pairs [--pairs=N] [SIZE...]
 */
#include <valgrind/callgrind.h>

#include "common.h"

static long pairs = 20000, warmup = 2000;

static const struct bench_opt opts[] = {
    { "pairs", &pairs, "pairs counted per size", 0 },
    { "warmup", &warmup, "pairs run before counting", 0 },
};

static void *volatile sink; /* keeps each pair from being optimized away */

static void run_pairs(size_t size, long n)
{
    for (long i = 0; i < n; i++) {
        void *p = malloc(size);
        sink = p;
        free(p);
    }
}

int main(int argc, char **argv)
{
    static const size_t default_sizes[] = { 8, 16, 64, 256, 4096 };
    size_t sizes[32];
    size_t nsizes = 0;
    int first_size = argc;
    for (int a = 1; a < argc; a++) {
        if (argv[a][0] != '-') { /* the sizes follow the options */
            first_size = a;
            break;
        }
    }
    bench_init(first_size, argv, "pairs", "instructions per malloc+free pair", opts,
               COUNTOF(opts));
    for (int a = first_size; a < argc && nsizes < COUNTOF(sizes); a++)
        sizes[nsizes++] = strtoul(argv[a], NULL, 10);
    if (nsizes == 0) {
        memcpy(sizes, default_sizes, sizeof default_sizes);
        nsizes = COUNTOF(default_sizes);
    }
    for (size_t s = 0; s < nsizes; s++) {
        char name[32];
        snprintf(name, sizeof name, "pairs-%zu", sizes[s]);
        run_pairs(sizes[s], warmup);
        CALLGRIND_ZERO_STATS;
        double t0 = now_seconds();
        run_pairs(sizes[s], pairs);
        double ns = (now_seconds() - t0) * 1e9 / (double)pairs;
        CALLGRIND_DUMP_STATS_AT(name);
        if (!RUNNING_ON_VALGRIND)
            printf("size=%zu ns_per_pair=%.1f\n", sizes[s], ns);
    }
    printf("pairs verify=ok malloc=%s\n", malloc_provider());
    return 0;
}
