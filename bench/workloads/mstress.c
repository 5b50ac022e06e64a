/*
 * mstress: server-like phases with short- and long-lived objects, after the
 * description of mimalloc-bench's mstress: N threads allocate objects whose
 * sizes are powers of two, objects migrate between threads and some live
 * long; the threads do unequal amounts of work, and after each phase all
 * threads end and new ones start, while some objects survive the phase.
 *
 * Each thread keeps --live short-lived blocks and replaces random ones. One
 * replacement in 8 instead swaps the old block into a random slot of a
 * global --shared array (which outlives the phases) and keeps whatever block
 * was there, allocated by some thread in this phase or an earlier one; the
 * thread frees that one later. At the end of a phase each thread frees its
 * short-lived blocks. Thread t of a phase does work in proportion to t%4+1.
 */
#include <sched.h>

#include "common.h"

static long ops = 6000000, rounds = 10, live = 500, shared_slots = 8192, max_shift = 14;

static const struct bench_opt opts[] = {
    { "ops", &ops, "block replacements in all", 1 },
    { "rounds", &rounds, "phases; the threads are new in each", 0 },
    { "live", &live, "short-lived blocks per thread", 0 },
    { "shared", &shared_slots, "long-lived blocks shared by all threads", 0 },
    { "max-shift", &max_shift, "largest block is 2^N bytes (smallest 16)", 0 },
};

/* A shared slot: a block (p == NULL when empty) behind a spin lock. */
struct shared_slot {
    atomic_int busy;
    struct blk b;
};

static struct shared_slot *shared;
static long phase_steps[4096]; /* replacements per thread in the current phase */
static long phase;
static atomic_long done_ops;

/* A block of 2^k bytes, k >= 4: mostly small (each k half as likely as k-1). */
static struct blk power_of_two_new(struct rng *r)
{
    long k = 4;
    uint64_t bits = rng_next(r);
    while (k < max_shift && (bits & 1)) {
        k++;
        bits >>= 1;
    }
    return blk_new((size_t)1 << k);
}

/* Puts b into the slot and returns what was there. */
static struct blk swap_shared(struct shared_slot *s, struct blk b)
{
    while (atomic_exchange_explicit(&s->busy, 1, memory_order_acquire))
        sched_yield();
    struct blk old = s->b;
    s->b = b;
    atomic_store_explicit(&s->busy, 0, memory_order_release);
    return old;
}

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    struct rng rng = rng_seeded((uint64_t)(phase * 4096 + t));
    struct blk *mine = alloc_or_die((size_t)live * sizeof *mine);
    long n = 0;
    for (long i = 0; i < live; i++)
        mine[i] = power_of_two_new(&rng);
    for (long i = 0; i < phase_steps[t]; i++) {
        long k = (long)rng_below(&rng, (uint64_t)live);
        if (rng_below(&rng, 8) == 0) {
            long s = (long)rng_below(&rng, (uint64_t)shared_slots);
            mine[k] = swap_shared(&shared[s], mine[k]);
            if (mine[k].p == NULL) {
                mine[k] = power_of_two_new(&rng);
                n++;
            }
        } else {
            blk_free(mine[k]);
            mine[k] = power_of_two_new(&rng);
            n += 2;
        }
    }
    for (long i = 0; i < live; i++)
        blk_free(mine[i]);
    free(mine);
    atomic_fetch_add(&done_ops, n + 2 * live + 2);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "mstress", "phases of short- and long-lived objects", opts,
               COUNTOF(opts));
    if (live < 1 || shared_slots < 1 || rounds < 1 || max_shift < 4 || max_shift > 30 ||
        bench_threads > (long)COUNTOF(phase_steps)) {
        fprintf(stderr, "mstress: bad sizes\n");
        return 2;
    }
    shared = alloc_or_die((size_t)shared_slots * sizeof *shared);
    memset(shared, 0, (size_t)shared_slots * sizeof *shared);
    long weights = 0;
    for (long t = 0; t < bench_threads; t++)
        weights += t % 4 + 1;
    bench_start();
    for (phase = 0; phase < rounds; phase++) {
        long per_phase = ops / rounds;
        for (long t = 0; t < bench_threads; t++)
            phase_steps[t] = per_phase * (t % 4 + 1) / weights;
        run_threads(bench_threads, worker);
    }
    long frees = 0;
    for (long s = 0; s < shared_slots; s++) {
        if (shared[s].b.p != NULL) {
            blk_free(shared[s].b);
            frees++;
        }
    }
    free(shared);
    return bench_report(atomic_load(&done_ops) + frees);
}
