/*
 * sh6bench: batch allocate/free after the description of MicroQuill's
 * sh6bench (SmartHeap): some objects are freed in the usual last-allocated,
 * first-freed (LIFO) order, others in reverse, first-allocated first-freed
 * order, with the block size sweeping a range. Each thread, at each step,
 * allocates a batch of --batch blocks of the step's size; it frees the first
 * half of the batch at once, last allocated first, and keeps the second half
 * until the next step, when it frees it first allocated first. The size
 * grows from --min-size to --max-size by a fixed stride and wraps around.
 */
#include "common.h"

static long ops = 4000000, batch = 200, min_size = 1, max_size = 1000, stride = 7;

static const struct bench_opt opts[] = {
    { "ops", &ops, "blocks allocated in all", 1 },
    { "batch", &batch, "blocks allocated per step", 0 },
    { "min-size", &min_size, "smallest block", 0 },
    { "max-size", &max_size, "largest block", 0 },
    { "stride", &stride, "size increase from one step to the next", 0 },
};

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    long half = batch / 2;
    struct blk *now = alloc_or_die((size_t)batch * sizeof *now);
    struct blk *kept = alloc_or_die((size_t)batch * sizeof *kept);
    long nkept = 0;
    size_t size = (size_t)(min_size + t * stride % (max_size - min_size + 1));
    for (long left = share(ops, t); left > 0; left -= batch) {
        for (long i = 0; i < batch; i++) {
            now[i] = blk_new(size);
        }
        for (long i = half - 1; i >= 0; i--) /* LIFO */
            blk_free(now[i]);
        for (long i = 0; i < nkept; i++) /* FIFO: the previous batch's second half */
            blk_free(kept[i]);
        nkept = batch - half;
        memcpy(kept, now + half, (size_t)nkept * sizeof *kept);
        size += (size_t)stride;
        if (size > (size_t)max_size)
            size = (size_t)min_size + size % (size_t)(max_size - min_size + 1);
    }
    for (long i = 0; i < nkept; i++)
        blk_free(kept[i]);
    free(now);
    free(kept);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "sh6bench", "batch allocate, LIFO and FIFO frees (sh6bench)", opts,
               COUNTOF(opts));
    if (min_size < 1 || max_size < min_size || batch < 2 || stride < 1) {
        fprintf(stderr, "sh6bench: bad sizes\n");
        return 2;
    }
    long allocated = 0;
    for (long t = 0; t < bench_threads; t++)
        allocated += (share(ops, t) + batch - 1) / batch * batch;
    bench_start();
    run_threads(bench_threads, worker);
    return bench_report(2 * allocated);
}
