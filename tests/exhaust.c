/*
 * exhaust: mymalloc at the edge of memory.
 *
 *   --case=cap    With a 64 MiB provider cap, threads allocate blocks of one
 *                 size pattern (small, page, the stress mix, 1-3 MiB) until
 *                 mymalloc returns NULL (it must, without crashing or
 *                 hanging), then free them all, half of them on another
 *                 thread (or, with one thread, on the main thread after the
 *                 allocating thread exited). Then a 24 MiB block must
 *                 succeed, and refilling with the same pattern must get at
 *                 least half the bytes of the first fill: freed memory is
 *                 not dead.
 *                 Catches: crash/hang on exhaustion, leaks and memory that
 *                 cannot be reused after cross-thread or orphaned frees.
 *   --case=fault  Short stress runs with every k-th vmalloc failing
 *                 (k = 1, 2, 3, 7, 64): NULLs are allowed, but block
 *                 integrity, alignment and provider bookkeeping must hold;
 *                 then a clean run with the fault lifted must see no NULL.
 *                 Catches: bad handling of a failed vmalloc (crash, lost or
 *                 half-built heap state, leaked regions).
 *   --case=sizes  Every size up to 32 KiB in its tightest class;
 *                 unrepresentable sizes (SIZE_MAX, SIZE_MAX-4096,
 *                 SIZE_MAX/2, 1<<62 ...) and sizes over the cap return NULL
 *                 without leaking; myfree(NULL) is a no-op; mymalloc(0)
 *                 returns unique, aligned, freeable, non-NULL pointers that
 *                 do not overlap other live blocks.
 *                 Catches: size arithmetic overflow, malloc(0) mistakes.
 *
 * usage: exhaust --case=cap|fault|sizes [--threads=4] [--clone]
 */
#include <stdint.h>
#include <stdlib.h>

#include "mymalloc.h"
#include "provider.h"
#include "stress_engine.h"
#include "testlib.h"

#define CAP (64 * TL_MIB)
#define BIG_BLOCK (24 * TL_MIB)
#define MAX_THREADS 16

static tl_thread_kind thread_kind;

/* ------------------------------------------------------------------ */
/* --case=cap                                                          */
/* ------------------------------------------------------------------ */

enum pattern { SMALL, PAGE, MIX, HUGE, NPATTERNS };
static const char *const pattern_names[] = {"small 1-256 B", "page 4096 B",
                                            "stress mix", "huge 1-3 MiB"};

/* Size and tag seed of block i of a filler: recomputed, not stored, so a
 * filler only keeps an array of pointers. */
static size_t pattern_size(int pat, uint64_t i)
{
    tl_rng r;
    tl_rng_seed(&r, i * 7919 + (uint64_t)pat);
    switch (pat) {
    case SMALL:
        return (size_t)tl_range(&r, 1, 256);
    case PAGE:
        return 4096;
    case MIX:
        return tl_size_mix(&r);
    default:
        return (size_t)tl_range(&r, TL_MIB, 3 * TL_MIB);
    }
}

struct filler {
    int id, pat;
    void **ptrs;       /* tl_mmap'd */
    size_t max_count;  /* capacity of ptrs */
    size_t count;      /* blocks obtained before the first NULL */
    size_t bytes;      /* requested bytes obtained */
    tl_live live;
};

static struct filler fillers[MAX_THREADS];
static int nfillers;

static tl_block filler_block(const struct filler *f, size_t i)
{
    uint64_t key = ((uint64_t)f->id << 40) | i;
    tl_block b = {f->ptrs[i], pattern_size(f->pat, key), key};
    return b;
}

/* Allocates until the first NULL. */
static void fill(struct filler *f)
{
    for (f->count = 0; f->count < f->max_count; f->count++) {
        uint64_t key = ((uint64_t)f->id << 40) | f->count;
        tl_block b;
        if (!tl_alloc(&b, pattern_size(f->pat, key), key, &f->live))
            return;
        f->ptrs[f->count] = b.p;
        f->bytes += b.size;
    }
    tl_fail("exhaust: %zu blocks of pattern '%s' obtained without a NULL "
            "under a %zu MiB cap",
            f->count, pattern_names[f->pat], CAP / TL_MIB);
}

/* Frees the blocks of filler f with index parity `parity`. */
static void free_half(struct filler *f, size_t parity, tl_live *live)
{
    for (size_t i = parity; i < f->count; i += 2) {
        tl_block b = filler_block(f, i);
        tl_free(&b, live, "exhaust: free");
    }
}

static tl_barrier fill_barrier;

/* Thread body: fill, wait for all fillers, free our even blocks and the
 * odd blocks of the next filler (with one filler, the main thread frees
 * the odd blocks after this thread has exited). */
static int filler_main(void *arg)
{
    struct filler *f = arg;
    fill(f);
    tl_barrier_wait(&fill_barrier); /* everyone filled */
    tl_barrier_wait(&fill_barrier); /* main has looked at the figures */
    free_half(f, 0, &f->live);
    if (nfillers > 1)
        free_half(&fillers[(f->id + 1) % nfillers], 1, &f->live);
    return 0;
}

/* Returns the requested bytes the fillers got before their first NULL. */
static size_t run_fill_round(int pat, int nthreads)
{
    tl_thread threads[MAX_THREADS];
    nfillers = nthreads;
    tl_barrier_init(&fill_barrier, nthreads + 1);
    for (int t = 0; t < nthreads; t++) {
        struct filler *f = &fillers[t];
        f->id = t;
        f->pat = pat;
        f->count = f->bytes = 0;
        f->max_count = CAP / 8 + 16; /* more than an 8-byte granule allows */
        f->ptrs = tl_mmap(f->max_count * sizeof(void *));
        tl_live_init(&f->live);
        if (!f->ptrs || tl_thread_start(&threads[t], thread_kind, filler_main,
                                        f) != 0)
            tl_die("exhaust: cannot set up filler %d", t);
    }
    tl_barrier_wait(&fill_barrier);
    size_t count = 0, bytes = 0;
    for (int t = 0; t < nthreads; t++) {
        count += fillers[t].count;
        bytes += fillers[t].bytes;
    }
    size_t held = provider_held();
    TL_CHECK(held <= CAP, "exhaust: held %zu over the cap", held);
    char b1[24], b2[24];
    tl_printf("  %-14s %d thread(s): NULL after %zu blocks, %s requested, "
              "%s held (%.0f%% of the cap in use)\n",
              pattern_names[pat], nthreads, count, tl_fmt_bytes(b1, bytes),
              tl_fmt_bytes(b2, held), 100.0 * (double)bytes / (double)CAP);
    tl_barrier_wait(&fill_barrier);
    for (int t = 0; t < nthreads; t++)
        tl_thread_join(&threads[t]);
    if (nthreads == 1) { /* blocks of a thread that has exited */
        tl_live main_live;
        tl_live_init(&main_live);
        free_half(&fillers[0], 1, &main_live);
    }
    for (int t = 0; t < nthreads; t++)
        tl_munmap(fillers[t].ptrs, fillers[t].max_count * sizeof(void *));
    return bytes;
}

/* After a fill round: a big block, then refilling the same pattern on the
 * main thread must get at least half as many bytes. */
static void check_memory_back(int pat, size_t first_bytes, int nthreads)
{
    tl_check_drained(nthreads + 1, "exhaust: after freeing every block");

    tl_block big;
    if (!tl_alloc(&big, BIG_BLOCK, 1, NULL))
        tl_fail("exhaust: mymalloc(%zu MiB) failed after everything was "
                "freed (cap %zu MiB, %zu bytes held)",
                BIG_BLOCK / TL_MIB, CAP / TL_MIB, provider_held());
    else
        tl_free(&big, NULL, "exhaust: big block");

    struct filler *f = &fillers[0];
    f->id = 100;
    f->pat = pat;
    f->count = f->bytes = 0;
    f->max_count = CAP / 8 + 16;
    f->ptrs = tl_mmap(f->max_count * sizeof(void *));
    tl_live_init(&f->live);
    fill(f);
    char b1[24], b2[24];
    if (f->bytes < first_bytes / 2)
        tl_fail("exhaust: refilling '%s' got only %s before a NULL, the first "
                "round %s: freed memory is not reused",
                pattern_names[pat], tl_fmt_bytes(b1, f->bytes),
                tl_fmt_bytes(b2, first_bytes));
    free_half(f, 0, &f->live);
    free_half(f, 1, &f->live);
    tl_munmap(f->ptrs, f->max_count * sizeof(void *));
    tl_check_drained(nthreads + 1, "exhaust: after the refill");
}

static void case_cap(int max_threads)
{
    int counts[2] = {1, max_threads};
    provider_set_cap(CAP);
    for (int c = 0; c < (max_threads > 1 ? 2 : 1); c++) {
        for (int pat = 0; pat < NPATTERNS; pat++) {
            size_t bytes = run_fill_round(pat, counts[c]);
            check_memory_back(pat, bytes, counts[c]);
            if (atomic_load(&tl_failures)) {
                provider_set_cap(0);
                return;
            }
        }
    }
    provider_set_cap(0);

    /* With the cap lifted, the allocator works normally again. */
    tl_block b;
    TL_CHECK(tl_alloc(&b, 100 * TL_MIB, 7, NULL),
             "exhaust: 100 MiB block failed after the cap was lifted");
    if (b.p)
        tl_free(&b, NULL, "exhaust: block after the cap");
    tl_check_drained(max_threads + 1, "exhaust: end");
}

/* ------------------------------------------------------------------ */
/* --case=fault                                                        */
/* ------------------------------------------------------------------ */

static void case_fault(int nthreads)
{
    static const unsigned long ks[] = {1, 2, 3, 7, 64};
    stress_config c;
    stress_default_config(&c);
    c.threads = nthreads;
    c.kind = thread_kind;
    c.ops_per_thread = 20000;
    c.allow_null = 1;

    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        stress_result r;
        c.seed = 100 + i;
        provider_fail_every(ks[i]);
        stress_run(&c, &r);
        provider_fail_every(0);
        tl_printf("  vmalloc fails every %lu call(s): %lu calls, %lu NULLs\n",
                  ks[i], r.ops, r.nulls);
        tl_figure("nulls@k=%lu:%lu", ks[i], r.nulls);
        tl_check_drained(nthreads, "exhaust: after a fault-injection run");
    }

    /* Fault lifted: no NULL may come back now. */
    stress_result r;
    c.allow_null = 0;
    c.seed = 999;
    stress_run(&c, &r);
    tl_printf("  fault lifted: %lu calls, %lu NULLs\n", r.ops, r.nulls);
    tl_check_drained(nthreads, "exhaust: after the clean run");
}

/* ------------------------------------------------------------------ */
/* --case=sizes                                                        */
/* ------------------------------------------------------------------ */

static int cmp_block_addr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const tl_block *)a)->p;
    uintptr_t y = (uintptr_t)((const tl_block *)b)->p;
    return x < y ? -1 : x > y;
}

/* Every small size, 0 .. 32 KiB: its block holds it, 16-byte aligned, in
 * the tightest class (the usable size changes only just after a size that
 * fills its block exactly), wasting below 25% from 49 bytes on (size_class.h). */
static void check_class_sizes(void)
{
    size_t previous = 0;
    for (size_t s = 0; s <= 32768; s++) {
        void *p = mymalloc(s);
        if (p == NULL) {
            tl_fail("exhaust: mymalloc(%zu) returned NULL", s);
            return;
        }
        size_t usable = myusable_size(p);
        TL_CHECK(usable >= s && usable >= 16 && usable % 16 == 0 && (uintptr_t)p % 16 == 0,
                 "exhaust: mymalloc(%zu): %zu usable bytes at %p", s, usable, p);
        TL_CHECK(s == 0 || usable == previous || previous == s - 1,
                 "exhaust: mymalloc(%zu) takes %zu bytes, mymalloc(%zu) took %zu", s, usable,
                 s - 1, previous);
        TL_CHECK(s < 49 || (usable - s) * 4 < usable,
                 "exhaust: mymalloc(%zu) wastes %zu of %zu bytes", s, usable - s, usable);
        previous = usable;
        myfree(p);
    }
}

static void check_bad_sizes(void)
{
    static const size_t bad[] = {
        SIZE_MAX,
        SIZE_MAX - 1,
        SIZE_MAX - 7,
        SIZE_MAX - 15,
        SIZE_MAX - 4095,
        SIZE_MAX - 4096,
        SIZE_MAX - 65536,
        SIZE_MAX - 16 * TL_MIB,
        SIZE_MAX / 2,
        SIZE_MAX / 2 + 1,
        (size_t)1 << 63,
        (size_t)1 << 62,
        ((size_t)1 << 62) + 1,
        (size_t)1 << 48, /* 256 TiB: representable, never mappable */
    };
    size_t held0 = provider_held();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = mymalloc(bad[i]);
        if (p != NULL) {
            tl_fail("exhaust: mymalloc(%zu = 0x%zx) returned %p, not NULL",
                    bad[i], bad[i], p);
            myfree(p);
        }
    }
    size_t held1 = provider_held();
    TL_CHECK(held1 <= held0 + TL_MIB,
             "exhaust: refusing huge sizes left %zu bytes held (was %zu)",
             held1, held0);

    /* Over the cap: NULL, and memory within the cap still comes. */
    provider_set_cap(CAP);
    void *p = mymalloc(CAP + TL_MIB);
    TL_CHECK(p == NULL, "exhaust: mymalloc(cap + 1 MiB) returned %p", p);
    if (p)
        myfree(p);
    tl_block b;
    TL_CHECK(tl_alloc(&b, CAP / 4 * 3, 3, NULL),
             "exhaust: 48 MiB block refused under a 64 MiB cap");
    if (b.p)
        tl_free(&b, NULL, "exhaust: 48 MiB block");
    provider_set_cap(0);
}

#define ZERO_BLOCKS 20000

static void check_free_null_and_zero(void)
{
    size_t held0 = provider_held();
    myfree(NULL);
    myfree(NULL);
    TL_CHECK(provider_held() == held0, "exhaust: myfree(NULL) changed held");

    /* Interleave mymalloc(0) with tagged 1..24-byte blocks. */
    size_t n = 2 * ZERO_BLOCKS;
    tl_block *blocks = tl_mmap(n * sizeof(tl_block));
    tl_rng rng;
    tl_rng_seed(&rng, 5);
    for (size_t i = 0; i < n; i++) {
        size_t size = (i % 2) ? (size_t)tl_range(&rng, 1, 24) : 0;
        if (!tl_alloc(&blocks[i], size, i, NULL))
            tl_fail("exhaust: mymalloc(%zu) returned NULL", size);
        blocks[i].size = size; /* also for a NULL, to keep the loop simple */
    }
    for (size_t i = 1; i < n; i += 2)
        if (blocks[i].p)
            tl_verify(&blocks[i], "exhaust: block next to mymalloc(0) blocks");

    /* Sorted by address, no block (a zero block counting as one byte) may
     * reach into the next: mymalloc(0) pointers are unique. */
    qsort(blocks, n, sizeof(tl_block), cmp_block_addr);
    for (size_t i = 0; i + 1 < n; i++) {
        if (!blocks[i].p)
            continue;
        size_t extent = blocks[i].size ? blocks[i].size : 1;
        uintptr_t end = (uintptr_t)blocks[i].p + extent;
        if (end > (uintptr_t)blocks[i + 1].p)
            tl_fail("exhaust: block %p (size %zu) and block %p (size %zu) "
                    "overlap or share an address",
                    blocks[i].p, blocks[i].size, blocks[i + 1].p,
                    blocks[i + 1].size);
    }

    /* Free in a shuffled order. */
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)tl_range(&rng, 0, i);
        tl_block t = blocks[i];
        blocks[i] = blocks[j];
        blocks[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        if (blocks[i].p)
            tl_free(&blocks[i], NULL, "exhaust: free");
    tl_munmap(blocks, n * sizeof(tl_block));
    tl_check_drained(1, "exhaust: after the mymalloc(0) blocks");
}

int main(int argc, char **argv)
{
    unsigned long threads = tl_arg_threads(argc, argv, MAX_THREADS);
    thread_kind = tl_parse_thread_kind(argc, argv);
    const char *name = tl_arg_str(argc, argv, "case", "");
    int which = tl_streq(name, "cap")     ? 1
                : tl_streq(name, "fault") ? 2
                : tl_streq(name, "sizes") ? 3
                                          : 0;
    switch (which) {
    case 1:
        tl_printf("exhaust cap: %zu MiB cap, up to %lu %s threads\n",
                  CAP / TL_MIB, threads, tl_thread_kind_name(thread_kind));
        case_cap((int)threads);
        break;
    case 2:
        tl_printf("exhaust fault: %lu %s threads\n", threads,
                  tl_thread_kind_name(thread_kind));
        case_fault((int)threads);
        break;
    case 3:
        tl_printf("exhaust sizes\n");
        check_class_sizes();
        check_bad_sizes();
        check_free_null_and_zero();
        break;
    default:
        tl_printf("usage: exhaust --case=cap|fault|sizes [--threads=N] "
                  "[--clone]\n");
        return 2;
    }
    return tl_finish("exhaust");
}
