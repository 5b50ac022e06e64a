/*
 * glibc-simple: the loop of glibc's benchtests/bench-malloc-simple, as its
 * description goes: allocate a number of blocks of one size, then free them
 * all, for each of several counts (25, 100, 400, 1600) and sizes (16, 64,
 * 256, 1024, 4096 bytes). The glibc benchmark runs it on the main thread and
 * on a second thread; here each of the N threads runs it on its own share of
 * the rounds, so --threads=1 is the single-threaded case and more threads
 * the thread-arena case.
 */
#include "common.h"

static long rounds = 40;

static const struct bench_opt opts[] = {
    { "rounds", &rounds, "passes over every (count, size) pair, in all", 1 },
};

static const long counts[] = { 25, 100, 400, 1600 };
static const size_t sizes[] = { 16, 64, 256, 1024, 4096 };

static atomic_long done_ops;

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    struct blk blocks[1600];
    long n = 0;
    for (long r = share(rounds, t); r > 0; r--) {
        for (size_t c = 0; c < COUNTOF(counts); c++) {
            for (size_t s = 0; s < COUNTOF(sizes); s++) {
                for (long i = 0; i < counts[c]; i++)
                    blocks[i] = blk_new(sizes[s]);
                for (long i = 0; i < counts[c]; i++)
                    blk_free(blocks[i]);
                n += 2 * counts[c];
            }
        }
    }
    atomic_fetch_add(&done_ops, n);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "glibc-simple", "bench-malloc-simple's allocate-then-free loops", opts,
               COUNTOF(opts));
    bench_start();
    if (bench_threads == 1)
        worker(0); /* the main thread, as in the glibc benchmark's first case */
    else
        run_threads(bench_threads, worker);
    return bench_report(atomic_load(&done_ops));
}
