/*
 * large: large allocations, in the spirit of mimalloc-bench's malloc-large:
 * blocks of several MiB, used in full, and buffers grown by realloc. Each
 * thread alternates two kinds of step:
 *  - replace one of its --live big blocks by a new one of --min-kib..--max-kib
 *    (uniform), writing a tag into every page of it (so the pages are really
 *    touched) and checking them all before the old one is freed;
 *  - grow a buffer from 64 KiB by realloc, doubling up to a random size of at
 *    most --grow-kib, writing the tags of each new part and checking, after
 *    every realloc, that the contents moved along.
 * The tags depend on the block's serial number and the page's offset, not on
 * the address, so that they survive a move.
 */
#include "common.h"

static long steps = 200, live = 2, min_kib = 1024, max_kib = 8192, grow_kib = 16384;

static const struct bench_opt opts[] = {
    { "steps", &steps, "steps (a replacement or a growth) in all", 1 },
    { "live", &live, "big blocks held per thread", 0 },
    { "min-kib", &min_kib, "smallest big block, KiB", 0 },
    { "max-kib", &max_kib, "largest big block, KiB", 0 },
    { "grow-kib", &grow_kib, "largest size a buffer grows to, KiB", 0 },
};

#define PAGE 4096

static atomic_long done_ops;

static uint64_t page_tag(uint64_t serial, size_t offset)
{
    return mix64(serial * 0x9E3779B97F4A7C15ull + offset);
}

/* Tags the pages of [from, to) of a block (offsets from its start). */
static void fill_pages(unsigned char *p, size_t from, size_t to, uint64_t serial)
{
    for (size_t off = from; off < to; off += PAGE) {
        uint64_t tag = page_tag(serial, off);
        memcpy(p + off, &tag, 8);
    }
}

static void check_pages(const unsigned char *p, size_t to, uint64_t serial)
{
    for (size_t off = 0; off < to; off += PAGE) {
        uint64_t tag;
        memcpy(&tag, p + off, 8);
        if (tag != page_tag(serial, off)) {
            bench_error("page tag overwritten", p, to);
            return;
        }
    }
}

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    struct rng rng = rng_seeded((uint64_t)t);
    struct blk *held = alloc_or_die((size_t)live * sizeof *held);
    uint64_t *serials = alloc_or_die((size_t)live * sizeof *serials);
    uint64_t serial = (uint64_t)t << 40;
    long calls = 0;
    for (long i = 0; i < live; i++)
        held[i].p = NULL;
    for (long s = share(steps, t); s > 0; s--) {
        if (s & 1) {
            long k = (long)rng_below(&rng, (uint64_t)live);
            if (held[k].p != NULL) {
                check_pages(held[k].p, held[k].size, serials[k]);
                free(held[k].p);
                calls++;
            }
            held[k].size = rng_range(&rng, (size_t)min_kib << 10, (size_t)max_kib << 10) & ~(size_t)7;
            held[k].p = alloc_or_die(held[k].size);
            serials[k] = ++serial;
            fill_pages(held[k].p, 0, held[k].size, serials[k]);
            calls++;
        } else {
            size_t target = rng_range(&rng, 1 << 20, (size_t)grow_kib << 10);
            size_t size = 64 << 10;
            unsigned char *buf = alloc_or_die(size);
            uint64_t id = ++serial;
            fill_pages(buf, 0, size, id);
            calls++;
            while (size < target) {
                size_t bigger = 2 * size;
                buf = realloc(buf, bigger);
                if (buf == NULL) {
                    bench_error("realloc returned NULL", NULL, bigger);
                    exit(1);
                }
                check_pages(buf, size, id);
                fill_pages(buf, size, bigger, id);
                size = bigger;
                calls++;
            }
            check_pages(buf, size, id);
            free(buf);
            calls++;
        }
    }
    for (long i = 0; i < live; i++) {
        if (held[i].p != NULL) {
            check_pages(held[i].p, held[i].size, serials[i]);
            free(held[i].p);
            calls++;
        }
    }
    free(held);
    free(serials);
    atomic_fetch_add(&done_ops, calls);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "large", "MiB blocks and realloc growth", opts, COUNTOF(opts));
    if (live < 1 || min_kib < 64 || max_kib < min_kib || grow_kib < 1024) {
        fprintf(stderr, "large: bad sizes\n");
        return 2;
    }
    bench_start();
    run_threads(bench_threads, worker);
    return bench_report(atomic_load(&done_ops));
}
