/*
 * larson: a server simulation after Larson & Krishnan, "Memory allocation for
 * long-running server applications" (ISMM 1998), as also run in the Hoard
 * paper. Each of N lanes holds an array of live blocks. A lane's thread
 * replaces randomly chosen blocks (free the old one, allocate a new one of a
 * random size) for its share of the work, then starts its successor thread,
 * hands it the array and exits; the successor frees blocks its predecessor
 * allocated ("bleeding" between threads). Each lane runs --rounds threads in
 * sequence, without waiting for the other lanes.
 */
#include <semaphore.h>

#include "common.h"

static long rounds = 40, ops = 8000000, slots = 1000, min_size = 8, max_size = 1000;

static const struct bench_opt opts[] = {
    { "ops", &ops, "block replacements in all", 1 },
    { "rounds", &rounds, "threads per lane, one after the other", 0 },
    { "slots", &slots, "live blocks per lane", 0 },
    { "min-size", &min_size, "smallest block", 0 },
    { "max-size", &max_size, "largest block", 0 },
};

struct lane {
    long round;
    long steps;        /* replacements per round */
    pthread_t pred;    /* the previous thread of this lane, joined by its successor */
    struct blk *blocks;
    struct rng rng;
    long ops;
};

static sem_t lanes_done;

static void *lane_thread(void *arg)
{
    struct lane *l = arg;
    if (l->round > 0)
        pthread_join(l->pred, NULL);
    for (long i = 0; i < l->steps; i++) {
        struct blk *b = &l->blocks[rng_below(&l->rng, (uint64_t)slots)];
        blk_free(*b);
        *b = blk_new(rng_range(&l->rng, (size_t)min_size, (size_t)max_size));
    }
    l->ops += 2 * l->steps;
    thread_done();
    l->pred = pthread_self();
    if (++l->round < rounds)
        start_thread(lane_thread, l); /* the successor joins this thread */
    else
        sem_post(&lanes_done); /* main joins the last thread through l->pred */
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "larson", "Larson & Krishnan server simulation", opts, COUNTOF(opts));
    if (min_size < 1 || max_size < min_size || slots < 1 || rounds < 1) {
        fprintf(stderr, "larson: bad sizes\n");
        return 2;
    }
    long n = bench_threads;
    struct lane *lanes = calloc((size_t)n, sizeof *lanes);
    sem_init(&lanes_done, 0, 0);
    long total_ops = 0;
    for (long t = 0; t < n; t++) {
        struct lane *l = &lanes[t];
        l->rng = rng_seeded((uint64_t)t);
        l->steps = share(ops, t) / rounds;
        l->blocks = calloc((size_t)slots, sizeof *l->blocks);
        for (long i = 0; i < slots; i++) {
            l->blocks[i] = blk_new(rng_range(&l->rng, (size_t)min_size, (size_t)max_size));
        }
        total_ops += slots;
    }

    bench_start();
    for (long t = 0; t < n; t++)
        start_thread(lane_thread, &lanes[t]);
    for (long t = 0; t < n; t++)
        sem_wait(&lanes_done);
    for (long t = 0; t < n; t++) {
        pthread_join(lanes[t].pred, NULL);
        total_ops += lanes[t].ops;
    }

    for (long t = 0; t < n; t++) {
        for (long i = 0; i < slots; i++)
            blk_free(lanes[t].blocks[i]);
        total_ops += slots;
        free(lanes[t].blocks);
    }
    free(lanes);
    return bench_report(total_ops);
}
