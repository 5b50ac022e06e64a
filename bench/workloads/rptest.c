/*
 * rptest: random sizes with cross-thread frees, after the description of the
 * rpmalloc benchmark (Mattias Jansson's rpmalloc-benchmark, as modified in
 * mimalloc-bench): threads allocate blocks of random sizes in loops, free a
 * random part of what they hold in random order, and pass another part to
 * another thread, which frees it.
 *
 * Each loop of a thread allocates --batch blocks (log-uniform sizes between
 * --min-size and --max-size) into its set of held blocks, posts a quarter of
 * a batch of randomly chosen held blocks to the next thread's mailbox, frees
 * randomly chosen held blocks until half a batch is left, then frees every
 * block waiting in its own mailbox. A thread waits while the next one has
 * --depth of its batches unfreed, freeing its own mail meanwhile. With one
 * thread the posted blocks come back to the same thread.
 */
#include <sched.h>

#include "common.h"

static long ops = 2000000, batch = 256, depth = 8, min_size = 16, max_size = 16000;

static const struct bench_opt opts[] = {
    { "ops", &ops, "blocks allocated in all", 1 },
    { "batch", &batch, "blocks allocated per loop", 0 },
    { "depth", &depth, "batches posted to a thread and not yet freed before the poster waits", 0 },
    { "min-size", &min_size, "smallest block", 0 },
    { "max-size", &max_size, "largest block", 0 },
};

static struct mailbox *boxes;
static atomic_long finished; /* threads done posting */
static atomic_long done_ops;

/* Removes a random block from the held set (of *n blocks) and returns it. */
static struct blk take_random(struct blk *held, long *n, struct rng *rng)
{
    long i = (long)rng_below(rng, (uint64_t)*n);
    struct blk b = held[i];
    held[i] = held[--*n];
    return b;
}

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    struct rng rng = rng_seeded((uint64_t)t);
    struct mailbox *next = &boxes[(t + 1) % bench_threads];
    struct blk *held = alloc_or_die((size_t)(2 * batch) * sizeof *held);
    long n = 0, calls = 0;
    for (long left = share(ops, t); left > 0; left -= batch) {
        long count = left < batch ? left : batch;
        for (long i = 0; i < count; i++) {
            held[n] = blk_new(rng_log_size(&rng, (size_t)min_size, (size_t)max_size));
            n++;
        }
        struct batch *post = batch_new(batch / 4);
        while (post->count < batch / 4 && n > 0)
            post->b[post->count++] = take_random(held, &n, &rng);
        /* bound the blocks in flight: wait (freeing what comes in) while the next
           thread is --depth batches behind */
        while (atomic_load_explicit(&next->pending, memory_order_relaxed) >= depth) {
            calls += free_batches(&boxes[t], mailbox_take_all(&boxes[t]));
            sched_yield();
        }
        mailbox_put(next, post);
        while (n > batch / 2) {
            struct blk b = take_random(held, &n, &rng);
            blk_free(b);
            calls++;
        }
        calls += count + 1 + free_batches(&boxes[t], mailbox_take_all(&boxes[t]));
    }
    while (n > 0) {
        struct blk b = take_random(held, &n, &rng);
        blk_free(b);
        calls++;
    }
    free(held);
    /* keep freeing incoming mail until every thread has posted its last batch */
    atomic_fetch_add(&finished, 1);
    while (atomic_load(&finished) < bench_threads) {
        calls += free_batches(&boxes[t], mailbox_take_all(&boxes[t]));
        sched_yield();
    }
    calls += free_batches(&boxes[t], mailbox_take_all(&boxes[t]));
    atomic_fetch_add(&done_ops, calls);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "rptest", "random sizes, cross-thread frees (rpmalloc benchmark)",
               opts, COUNTOF(opts));
    if (min_size < 1 || max_size < min_size || batch < 4) {
        fprintf(stderr, "rptest: bad sizes\n");
        return 2;
    }
    boxes = calloc((size_t)bench_threads, sizeof *boxes);
    bench_start();
    run_threads(bench_threads, worker);
    free(boxes);
    return bench_report(atomic_load(&done_ops));
}
