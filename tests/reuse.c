/*
 * reuse: freed memory is reused, and given back.
 *
 *   --case=rounds   Rounds of allocate-all / free-all with one size each
 *                   (8, 24, 100, 4096, 4100, 20000, 300000, 5 MiB and the
 *                   stress mix), on 1 thread and on N threads; from the
 *                   second round on, each thread frees another thread's
 *                   blocks. The provider's peak in every round must stay
 *                   within the first round's peak + 1 MiB + 256 KiB x
 *                   threads; the frugality rule must hold at each round's
 *                   peak; after each free-all held falls back near zero.
 *                   Catches: freed (especially remotely freed) memory that
 *                   is not reused, leaks, fragmentation that grows.
 *   --case=large    A burst of big blocks is freed while a bigger one is
 *                   still live, then that one too: held must fall back near
 *                   zero, and stay proportionate while only small blocks
 *                   are live afterwards.
 *                   Catches: caches of freed big blocks that are bounded
 *                   only when a block enters them, not when use drops.
 *                   Then two 4 MiB blocks are shrunk in place by realloc to
 *                   just over half, and two more are freed: large blocks and
 *                   their cache must hold at most 3 x the live bytes + 1 MiB.
 *                   Catches: a cache bounded by the live blocks' regions,
 *                   which realloc may keep at twice what they are asked for
 *                   (4 x in all, the whole M5 allowance).
 *   --case=remote   One thread allocates 8 MiB of small and page-sized
 *                   blocks, another frees them all while the first stays
 *                   alive and idle: held must fall back near zero (and stay
 *                   there once both threads have exited).
 *                   Catches: remotely freed memory that only returns when
 *                   its owner allocates again.
 *   --case=threads  2000 short-lived threads, first one at a time, then
 *                   four at a time; each allocates a few hundred blocks,
 *                   frees most and leaves the rest to the main thread,
 *                   which frees them after the thread has exited. After
 *                   every batch held must be back near zero.
 *                   Catches: per-thread heaps or caches of exited threads
 *                   that are never reclaimed; orphaned blocks whose memory
 *                   is lost.
 *
 *   --case=metadata  A fresh process mallocs one small block: of its
 *                   descriptor chunk (the one 16 KiB region; span.c) only
 *                   the first page may be resident. Then 60 large blocks,
 *                   a descriptor each, touch more of it, never more than
 *                   the chunk. Catches: metadata prepared ahead of use,
 *                   which every process pays for in resident memory.
 *
 * usage: reuse --case=rounds|large|remote|threads|metadata [--threads=4] [--clone]
 */
#include "mymalloc.h"
#include "provider.h"
#include "testlib.h"

#define MAX_THREADS 16
#define ROUNDS 6
#define ROUND_BYTES (8 * TL_MIB) /* requested bytes per round */

static tl_thread_kind thread_kind;

/* ------------------------------------------------------------------ */
/* --case=rounds                                                       */
/* ------------------------------------------------------------------ */

#define MIX 0 /* size 0 in the pattern list stands for the stress mix */
static const size_t round_sizes[] = {8,     24,     100,         4096, 4100,
                                     20000, 300000, 5 * TL_MIB, MIX};

struct roundw {
    int id;
    tl_block *blocks; /* count entries, tl_mmap'd */
    tl_live *live;
};

static struct roundw rws[MAX_THREADS];
static tl_live rw_lives[MAX_THREADS];
static int rw_threads;
static size_t rw_size, rw_count;
static tl_barrier rw_barrier;

static size_t block_size(size_t i)
{
    if (rw_size != MIX)
        return rw_size;
    tl_rng r;
    tl_rng_seed(&r, i);
    return tl_size_mix(&r);
}

static int rounds_worker(void *arg)
{
    struct roundw *w = arg;
    for (int round = 0; round < ROUNDS; round++) {
        tl_barrier_wait(&rw_barrier); /* start */
        for (size_t i = 0; i < rw_count; i++) {
            /* The same sizes every round; a fresh tag. */
            size_t size = block_size(i + (size_t)w->id * rw_count);
            uint64_t seed = ((uint64_t)round << 48) | ((uint64_t)w->id << 32) | i;
            if (!tl_alloc(&w->blocks[i], size, seed, w->live))
                tl_fail("reuse: mymalloc(%zu) returned NULL", size);
        }
        tl_barrier_wait(&rw_barrier); /* allocated; main checks */
        tl_barrier_wait(&rw_barrier); /* go free */
        /* Round 0: our own blocks; later: another thread's, alternating
         * the order. */
        struct roundw *victim = &rws[(w->id + round) % rw_threads];
        for (size_t k = 0; k < rw_count; k++) {
            size_t i = round % 2 ? rw_count - 1 - k : k;
            if (victim->blocks[i].p)
                tl_free(&victim->blocks[i], w->live, "reuse: free");
        }
        tl_barrier_wait(&rw_barrier); /* freed; main checks */
    }
    return 0;
}

static void rounds_one(size_t size, int nthreads)
{
    tl_thread threads[MAX_THREADS];
    char label[24];
    if (size == MIX)
        tl_snprintf(label, sizeof label, "mix");
    else
        tl_snprintf(label, sizeof label, "%zu", size);
    rw_threads = nthreads;
    rw_size = size;
    size_t per_round = size == MIX ? 4000 : ROUND_BYTES / size;
    if (per_round < (size_t)nthreads * 2)
        per_round = (size_t)nthreads * 2;
    rw_count = per_round / (size_t)nthreads;
    size_t table = rw_count * sizeof(tl_block);

    tl_barrier_init(&rw_barrier, nthreads + 1);
    for (int t = 0; t < nthreads; t++) {
        rws[t].id = t;
        rws[t].blocks = tl_mmap(table);
        rws[t].live = &rw_lives[t];
        tl_live_init(rws[t].live);
        if (!rws[t].blocks ||
            tl_thread_start(&threads[t], thread_kind, rounds_worker, &rws[t]))
            tl_die("reuse: cannot start thread %d", t);
    }

    size_t first_peak = 0, worst_growth = 0, slack = tl_frugal_allowed(0, nthreads);
    char b1[24], b2[24], b3[24];
    for (int round = 0; round < ROUNDS; round++) {
        provider_reset_peak();
        tl_barrier_wait(&rw_barrier); /* start */
        tl_barrier_wait(&rw_barrier); /* allocated */
        tl_frugal_check(rw_lives, nthreads, nthreads, "reuse: all allocated");
        size_t peak = provider_peak();
        if (round == 0)
            first_peak = peak;
        else if (peak > first_peak) {
            size_t growth = peak - first_peak;
            if (growth > worst_growth)
                worst_growth = growth;
            if (growth > slack)
                tl_fail("reuse: size %s, %d thread(s): round %d peak %s > "
                        "first round's %s + %s: freed memory not reused",
                        label, nthreads, round + 1, tl_fmt_bytes(b1, peak),
                        tl_fmt_bytes(b2, first_peak), tl_fmt_bytes(b3, slack));
        }
        tl_barrier_wait(&rw_barrier); /* go free */
        tl_barrier_wait(&rw_barrier); /* freed */
        tl_check_drained(nthreads, "reuse: after a free-all round");
    }
    for (int t = 0; t < nthreads; t++) {
        tl_thread_join(&threads[t]);
        tl_munmap(rws[t].blocks, table);
    }
    tl_printf("  size %-8s %d thread(s): %zu blocks/round, first peak %s, "
              "worst growth %s\n",
              label, nthreads, rw_count * (size_t)nthreads,
              tl_fmt_bytes(b1, first_peak), tl_fmt_bytes(b2, worst_growth));
}

static void case_rounds(int max_threads)
{
    for (size_t s = 0; s < sizeof round_sizes / sizeof round_sizes[0]; s++) {
        rounds_one(round_sizes[s], 1);
        if (max_threads > 1)
            rounds_one(round_sizes[s], max_threads);
        if (atomic_load(&tl_failures))
            return;
    }
}

/* ------------------------------------------------------------------ */
/* --case=large                                                        */
/* ------------------------------------------------------------------ */

#define BURST 8

static void case_large(void)
{
    tl_live live;
    tl_live_init(&live);
    tl_block big, burst[BURST], small[64];

    for (int round = 0; round < 3; round++) {
        TL_CHECK(tl_alloc(&big, 16 * TL_MIB, 1, &live),
                 "reuse: 16 MiB block refused");
        for (int i = 0; i < BURST; i++)
            TL_CHECK(tl_alloc(&burst[i], TL_MIB + (size_t)i * 4096,
                              (uint64_t)i, &live),
                     "reuse: 1 MiB block refused");
        for (int i = 0; i < BURST; i++)
            tl_free(&burst[i], &live, "reuse: free of a 1 MiB block");
        tl_frugal_check(&live, 1, 1, "reuse: burst freed, 16 MiB live");
        tl_free(&big, &live, "reuse: free of the 16 MiB block");
        tl_check_drained(1, "reuse: every big block freed");

        /* Only small blocks live now: 64 x 100 bytes. */
        for (int i = 0; i < 64; i++)
            TL_CHECK(tl_alloc(&small[i], 100, (uint64_t)i, &live),
                     "reuse: small block refused");
        tl_frugal_check(&live, 1, 1, "reuse: 64 small blocks live");
        for (int i = 0; i < 64; i++)
            tl_free(&small[i], &live, "reuse: free of a small block");
        tl_check_drained(1, "reuse: small blocks freed");
    }

    tl_block shrunk[2], freed[2];
    for (int i = 0; i < 2; i++) {
        TL_CHECK(tl_alloc(&shrunk[i], 4 * TL_MIB, (uint64_t)i, &live), "reuse: 4 MiB block refused");
        TL_CHECK(tl_alloc(&freed[i], 4 * TL_MIB, (uint64_t)i, &live), "reuse: 4 MiB block refused");
    }
    for (int i = 0; i < 2; i++) {
        size_t half = 2 * TL_MIB + 4096;
        tl_verify(&shrunk[i], "reuse: 4 MiB block before realloc");
        void *p = myrealloc(shrunk[i].p, half);
        TL_CHECK(p == shrunk[i].p, "reuse: realloc to %zu bytes moved a 4 MiB block", half);
        tl_live_add(&live, (long)half - (long)shrunk[i].size);
        shrunk[i].size = half;
        tl_fill(&shrunk[i]);
    }
    for (int i = 0; i < 2; i++)
        tl_free(&freed[i], &live, "reuse: free of a 4 MiB block");
    size_t held = provider_held(), asked = 2 * shrunk[0].size;
    char b1[24], b2[24];
    TL_CHECK(held <= 3 * asked + TL_MIB,
             "reuse: held %s > 3 x live %s + 1 MiB with blocks shrunk in place",
             tl_fmt_bytes(b1, held), tl_fmt_bytes(b2, asked));
    for (int i = 0; i < 2; i++)
        tl_free(&shrunk[i], &live, "reuse: free of a shrunk block");
    tl_check_drained(1, "reuse: shrunk blocks freed");
}

/* ------------------------------------------------------------------ */
/* --case=remote                                                       */
/* ------------------------------------------------------------------ */

#define REMOTE_BYTES (8 * TL_MIB)

static const size_t remote_sizes[] = {8, 100, 4000};
static tl_block *remote_blocks;
static size_t remote_count;
static tl_barrier remote_barrier;
static tl_live remote_lives[2];

static int remote_owner(void *arg)
{
    tl_barrier_wait(&remote_barrier); /* start */
    size_t n = 0;
    for (size_t s = 0; s < 3; s++)
        for (size_t b = 0; b < REMOTE_BYTES / 3; b += remote_sizes[s], n++)
            if (!tl_alloc(&remote_blocks[n], remote_sizes[s], n, &remote_lives[0]))
                tl_fail("reuse: mymalloc(%zu) returned NULL", remote_sizes[s]);
    remote_count = n;
    tl_barrier_wait(&remote_barrier); /* allocated */
    tl_barrier_wait(&remote_barrier); /* freed by the other thread */
    tl_barrier_wait(&remote_barrier); /* main has checked */
    return 0;
}

static int remote_freer(void *arg)
{
    tl_barrier_wait(&remote_barrier); /* start */
    tl_barrier_wait(&remote_barrier); /* allocated */
    for (size_t i = 0; i < remote_count; i++)
        if (remote_blocks[i].p)
            tl_free(&remote_blocks[i], &remote_lives[1], "reuse: remote free");
    tl_barrier_wait(&remote_barrier); /* freed */
    tl_barrier_wait(&remote_barrier); /* main has checked */
    return 0;
}

static void case_remote(void)
{
    size_t max = REMOTE_BYTES / 8 + REMOTE_BYTES / 100 + REMOTE_BYTES / 4000 + 8;
    remote_blocks = tl_mmap(max * sizeof(tl_block));
    tl_live_init(&remote_lives[0]);
    tl_live_init(&remote_lives[1]);
    tl_barrier_init(&remote_barrier, 3);
    tl_thread owner, freer;
    if (tl_thread_start(&owner, thread_kind, remote_owner, NULL) ||
        tl_thread_start(&freer, thread_kind, remote_freer, NULL))
        tl_die("reuse: cannot start threads");
    char b[24];
    tl_barrier_wait(&remote_barrier); /* start */
    tl_barrier_wait(&remote_barrier); /* allocated */
    tl_printf("  %zu blocks allocated, %s held\n", remote_count,
              tl_fmt_bytes(b, provider_held()));
    tl_barrier_wait(&remote_barrier); /* freed */
    tl_printf("  all freed by the other thread: %s held\n",
              tl_fmt_bytes(b, provider_held()));
    tl_figure("held_owner_idle=%s", tl_fmt_bytes(b, provider_held()));
    tl_check_drained(2, "reuse: all blocks freed by another thread, owner "
                        "alive and idle");
    tl_barrier_wait(&remote_barrier); /* checked */
    tl_thread_join(&owner);
    tl_thread_join(&freer);
    tl_printf("  both threads exited: %s held\n",
              tl_fmt_bytes(b, provider_held()));
    tl_figure("held_after_exit=%s", tl_fmt_bytes(b, provider_held()));
    tl_check_drained(2, "reuse: remote frees, both threads exited");
    tl_munmap(remote_blocks, max * sizeof(tl_block));
}

/* ------------------------------------------------------------------ */
/* --case=threads                                                      */
/* ------------------------------------------------------------------ */

#define SHORT_THREADS 1000 /* per phase; two phases */
#define SHORT_BLOCKS 300
#define LEFT_EVERY 10      /* one block in ten is left to the main thread */
#define BATCH 4

struct shortw {
    uint64_t seed;
    tl_live *live;
    tl_block blocks[SHORT_BLOCKS];
    int left; /* blocks[0..left) are left to the main thread */
};

static int short_worker(void *arg)
{
    struct shortw *w = arg;
    tl_rng rng;
    tl_rng_seed(&rng, w->seed);
    for (int i = 0; i < SHORT_BLOCKS; i++) {
        size_t size = tl_size_mix(&rng);
        if (!tl_alloc(&w->blocks[i], size, tl_rand(&rng), w->live))
            tl_fail("reuse: mymalloc(%zu) returned NULL", size);
    }
    /* Free most in a random order, keep every LEFT_EVERY-th. */
    w->left = 0;
    for (int i = SHORT_BLOCKS - 1; i > 0; i--) {
        int j = (int)tl_range(&rng, 0, (uint64_t)i);
        tl_block t = w->blocks[i];
        w->blocks[i] = w->blocks[j];
        w->blocks[j] = t;
    }
    for (int i = 0; i < SHORT_BLOCKS; i++) {
        if (!w->blocks[i].p)
            continue;
        if (i % LEFT_EVERY == 0)
            w->blocks[w->left++] = w->blocks[i];
        else
            tl_free(&w->blocks[i], w->live, "reuse: short-lived thread free");
    }
    return 0;
}

static void short_phase(int batch, const char *label)
{
    static struct shortw ws[BATCH];
    tl_thread threads[BATCH];
    tl_live lives[BATCH + 1]; /* + the main thread */
    size_t worst = 0;
    char b1[24], b2[24];

    for (int i = 0; i <= batch; i++)
        tl_live_init(&lives[i]);
    for (int done = 0; done < SHORT_THREADS && !atomic_load(&tl_failures);
         done += batch) {
        for (int t = 0; t < batch; t++) {
            ws[t].seed = (uint64_t)done * 31 + (uint64_t)t;
            ws[t].live = &lives[t];
            if (tl_thread_start(&threads[t], thread_kind, short_worker,
                                &ws[t]))
                tl_die("reuse: cannot start a short-lived thread");
        }
        for (int t = 0; t < batch; t++)
            tl_thread_join(&threads[t]);
        /* The threads are gone; their leftovers are still live. */
        tl_frugal_check(lives, batch + 1, batch + 1,
                        "reuse: short-lived threads exited");
        for (int t = 0; t < batch; t++)
            for (int i = 0; i < ws[t].left; i++)
                tl_free(&ws[t].blocks[i], &lives[batch],
                        "reuse: leftover of an exited thread");
        size_t held = provider_held();
        if (held > worst)
            worst = held;
        tl_check_drained(batch + 1, "reuse: after a batch of short-lived "
                                    "threads and their leftovers");
    }
    tl_printf("  %s: %d threads, %d at a time: held after batches at most "
              "%s, peak %s\n",
              label, SHORT_THREADS, batch, tl_fmt_bytes(b1, worst),
              tl_fmt_bytes(b2, provider_peak()));
    tl_figure("%s_held_max=%s", label, tl_fmt_bytes(b1, worst));
}

static void case_threads(void)
{
    provider_reset_peak();
    short_phase(1, "sequential");
    provider_reset_peak();
    short_phase(BATCH, "concurrent");
}

/* ------------------------------------------------------------------ */
/* --case=metadata                                                     */
/* ------------------------------------------------------------------ */

#define DESC_CHUNK_BYTES (16 * TL_KIB) /* MM_DESC_CHUNK_BYTES, span.c */
#define METADATA_SPANS 60

/* Resident pages of the one live descriptor chunk; -1 (and a failure) if
 * there is not exactly one. */
static int chunk_resident_pages(const char *when)
{
    void *chunk;
    size_t chunks = provider_regions_of_length(DESC_CHUNK_BYTES, &chunk, 1);
    if (chunks != 1) {
        tl_fail("%s: %zu regions of %zu bytes, expected the one descriptor chunk\n", when,
                chunks, (size_t)DESC_CHUNK_BYTES);
        return -1;
    }
    unsigned char resident[DESC_CHUNK_BYTES / TL_PAGE];
    long rc = tl_syscall6(TL_SYS_mincore, (long)chunk, DESC_CHUNK_BYTES, (long)resident, 0, 0, 0);
    if (rc != 0) {
        tl_fail("%s: mincore failed (%ld)\n", when, rc);
        return -1;
    }
    int pages = 0;
    for (size_t i = 0; i < sizeof resident; i++)
        pages += resident[i] & 1;
    return pages;
}

static void case_metadata(void)
{
    static tl_block blocks[METADATA_SPANS + 1];
    static tl_live live;
    tl_live_init(&live);
    if (!tl_alloc(&blocks[0], 16, 0, &live)) {
        tl_fail("mymalloc(16) returned NULL\n");
        return;
    }
    int fresh = chunk_resident_pages("after one malloc");
    if (fresh != 1)
        tl_fail("after one malloc %d pages of the descriptor chunk are resident, expected 1\n",
                fresh);
    for (int i = 1; i <= METADATA_SPANS; i++)
        if (!tl_alloc(&blocks[i], 40 * TL_KIB, (uint64_t)i, &live)) {
            tl_fail("mymalloc(40 KiB) returned NULL\n");
            return;
        }
    int used = chunk_resident_pages("after 60 large blocks");
    if (used < 2 || used > (int)(DESC_CHUNK_BYTES / TL_PAGE))
        tl_fail("after %d more spans %d pages of the descriptor chunk are resident, expected "
                "2 to %zu\n",
                METADATA_SPANS, used, (size_t)(DESC_CHUNK_BYTES / TL_PAGE));
    for (int i = 0; i <= METADATA_SPANS; i++)
        tl_free(&blocks[i], &live, "metadata");
    tl_figure("descriptor_chunk_resident_pages fresh=%d after_%d_spans=%d", fresh, METADATA_SPANS,
              used);
}

int main(int argc, char **argv)
{
    unsigned long threads = tl_arg_threads(argc, argv, MAX_THREADS);
    thread_kind = tl_parse_thread_kind(argc, argv);
    const char *name = tl_arg_str(argc, argv, "case", "");
    if (tl_streq(name, "rounds")) {
        tl_printf("reuse rounds: %d rounds, on 1 and on %lu %s threads\n", ROUNDS,
                  threads, tl_thread_kind_name(thread_kind));
        case_rounds((int)threads);
    } else if (tl_streq(name, "large")) {
        tl_printf("reuse large: big-block caches shrink with use\n");
        case_large();
    } else if (tl_streq(name, "remote")) {
        tl_printf("reuse remote: %s threads, one allocates, one frees\n",
                  tl_thread_kind_name(thread_kind));
        case_remote();
    } else if (tl_streq(name, "threads")) {
        tl_printf("reuse threads: %d short-lived %s threads\n",
                  2 * SHORT_THREADS, tl_thread_kind_name(thread_kind));
        case_threads();
    } else if (tl_streq(name, "metadata")) {
        tl_printf("reuse metadata: descriptors are prepared as they are used\n");
        case_metadata();
    } else {
        tl_printf("usage: reuse --case=rounds|large|remote|threads|metadata [--threads=N] "
                  "[--clone]\n");
        return 2;
    }
    return tl_finish("reuse");
}
