/*
 * xmalloc: producer/consumer after Lever & Boreham's xmalloc-test ("malloc()
 * Performance in a Multithreaded Linux Environment", USENIX 2000). Threads
 * come in pairs: the producer only allocates, filling batches of blocks of
 * random sizes, and posts each batch to its consumer's mailbox; the consumer
 * only frees, checking every block. Every block is thus freed by a thread that
 * never allocates, which defeats allocators whose thread caches assume the
 * allocating thread frees. --threads=N runs N pairs (2N threads). A producer
 * waits while --depth of its batches are still unfreed, bounding the memory.
 */
#include <sched.h>

#include "common.h"

static long ops = 2000000, batch_size = 100, depth = 64, min_size = 8, max_size = 512;

static const struct bench_opt opts[] = {
    { "ops", &ops, "blocks allocated (and freed) in all", 1 },
    { "batch", &batch_size, "blocks per batch", 0 },
    { "depth", &depth, "batches in flight per pair before the producer waits", 0 },
    { "min-size", &min_size, "smallest block", 0 },
    { "max-size", &max_size, "largest block", 0 },
};

static struct mailbox *boxes;     /* one per pair */
static atomic_long producers_left;
static atomic_long freed_ops;

static void *producer(void *arg)
{
    long t = (long)(intptr_t)arg;
    struct rng rng = rng_seeded((uint64_t)t);
    long left = share(ops, t);
    while (left > 0) {
        while (atomic_load_explicit(&boxes[t].pending, memory_order_relaxed) >= depth)
            sched_yield();
        long count = left < batch_size ? left : batch_size;
        struct batch *b = batch_new(batch_size);
        for (long i = 0; i < count; i++) {
            b->b[i] = blk_new(rng_log_size(&rng, (size_t)min_size, (size_t)max_size));
        }
        b->count = count;
        mailbox_put(&boxes[t], b);
        left -= count;
    }
    atomic_fetch_sub(&producers_left, 1);
    return NULL;
}

static void *consumer(void *arg)
{
    long t = (long)(intptr_t)arg - bench_threads;
    long freed = 0;
    for (;;) {
        int finished = atomic_load(&producers_left) == 0;
        struct batch *list = mailbox_take_all(&boxes[t]);
        if (list != NULL)
            freed += free_batches(&boxes[t], list);
        else if (finished)
            break;
        else
            sched_yield();
    }
    atomic_fetch_add(&freed_ops, freed);
    return NULL;
}

/* Threads 0..N-1 produce, N..2N-1 consume. */
static void *pair_thread(void *arg)
{
    return (long)(intptr_t)arg < bench_threads ? producer(arg) : consumer(arg);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "xmalloc", "producer/consumer after xmalloc-test", opts, COUNTOF(opts));
    if (min_size < 1 || max_size < min_size || batch_size < 1 || depth < 1) {
        fprintf(stderr, "xmalloc: bad sizes\n");
        return 2;
    }
    boxes = calloc((size_t)bench_threads, sizeof *boxes);
    atomic_store(&producers_left, bench_threads);
    bench_start();
    run_threads(2 * bench_threads, pair_thread);
    /* allocations: the blocks and the batches; frees: the same again */
    long batches = 0;
    for (long t = 0; t < bench_threads; t++)
        batches += (share(ops, t) + batch_size - 1) / batch_size;
    long allocated = ops + batches;
    if (atomic_load(&freed_ops) != allocated)
        bench_error("blocks lost between producer and consumer", NULL, 0);
    free(boxes);
    return bench_report(2 * allocated);
}
