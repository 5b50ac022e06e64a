/*
 * pair.c: the cost of one malloc+free pair of a fixed size, single thread.
 * Built three ways by bench/pair.sh: on glibc (-DBENCH_LIBC), on the mymalloc
 * library, and on the M5 drop-in. Prints the median ns per pair of 7 timed
 * runs; under callgrind, run it with a small count and divide instructions.
 *   pair SIZE [PAIRS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_alloc.h"

#define RUNS 7

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pair SIZE [PAIRS]\n");
        return 2;
    }
    size_t size = strtoul(argv[1], NULL, 10);
    long pairs = argc > 2 ? atol(argv[2]) : 20000000;
    void *volatile sink;
    double ns[RUNS];
    int runs = pairs >= 1000000 ? RUNS : 1;
    for (int r = 0; r < runs; r++) {
        double start = bench_seconds();
        for (long i = 0; i < pairs; i++) {
            void *p = ALLOC(size);
            sink = p;
            FREE(p);
        }
        ns[r] = (bench_seconds() - start) * 1e9 / (double)pairs;
    }
    (void)sink;
    qsort(ns, (size_t)runs, sizeof ns[0], compare);
    printf("%zu bytes: %.2f ns per pair (median of %d)\n", size, ns[runs / 2], runs);
    return 0;
}
