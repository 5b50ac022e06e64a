/*
 * stats: the application API.
 *
 * allocator_init(0)/(1) return 0. allocator_stats(&a, &f, &p): any argument
 * may be NULL; on a quiet process a grows by exactly the usable sizes of the
 * blocks allocated, f by those freed, a - f returns to where it was; summed
 * over threads (blocks allocated on one thread and freed on another); the
 * peak is at least the live peak created minus 64 KiB per thread, and
 * blocks freed into parked slabs leave it at once (freed, then as many bytes
 * of another class allocated: the peak is one set's bytes plus 2 MiB at most).
 * mallinfo2: uordblks is the live bytes (a - f), arena >= uordblks.
 * allocator_dump prints to stderr and mentions size classes.
 * allocator_cleanup keeps every live block valid (small, large, aligned, on
 * this thread and others), the allocator stays usable, and it gives the
 * memory of freed large blocks and of this thread's idle slabs back.
 * Retention (the hosted library has a clock): a freed burst of small and
 * large blocks stays mapped, and allocating it again maps nothing new; once
 * two windows (2 x 1 s) pass, the next slab emptied and large block freed
 * give it back. A thread that frees 8 MiB of small blocks and exits while
 * another thread lives leaves no more held than at its peak (its slabs in
 * the shared cache), and that thread's new slabs come from that cache
 * (700 KiB of blocks add at most 256 KiB held); once that thread exits too,
 * leaving the main thread alone, the caches wait (threads started after the
 * main thread was alone before, in earlier tests): held drops by at least
 * 1 MiB only at the main thread's next malloc slow path (a large block),
 * to within 512 KiB of where it was before the threads, and malloc_trim
 * gives the rest back. The shared cache:
 * while one live thread's freed burst of 8 MiB is cached, another thread's
 * burst of the same size adds at most 2 MiB held. Blocks of a
 * thread that exited: replaced one by one by the main thread, held stays
 * within 2 MiB of where it was; only freed, at least 256 KiB of their slabs
 * and no more than all stay cached (the main thread's cache, the shared
 * cache); allocator_verify passes after each (cached slabs belong to their
 * heap, or to the shared cache).
 * Trim by runs: a thread maps 40 slabs of two 16 KiB blocks, keeps every
 * fifth and frees the others, and exits, leaving the main thread alone for
 * the first time: at once, every page of the freed slabs is unmapped
 * (mincore: ENOMEM) and the kept blocks keep their tags.
 * Huge pages: with the system's transparent huge pages on ("always" or
 * "madvise") and MYMALLOC_HUGE_PAGES not 0 (register.sh runs this program
 * both ways), a 4 MiB block starts on a 2 MiB boundary, and the 2 MiB region
 * of a block that realloc outgrew goes back to the system; otherwise it is
 * cached (held stays). Freed 4 MiB and 1 MiB blocks are cached either way,
 * and the 4 MiB region serves the realloc to 3 MiB. With huge pages, a
 * cached 16 MiB region serves a 3 MiB request cut to 4 MiB (same address);
 * two cached 8 MiB regions beyond the peak go back before a 20 MiB block is
 * mapped (held grows by 4 MiB, not 20); realloc of 64 to 128 MiB moves the
 * pages (the peak resident set, VmHWM reset through /proc/self/clear_refs,
 * grows by less than 32 MiB, where a copy adds 64). A block realloc moved
 * counts once in the peak the large cache keeps (8 MiB grown to 16 MiB and
 * freed, then a 3 MiB block freed: at most 4 MiB stays held, the 3 MiB
 * block's region, not 19).
 * Slab growth: a fresh thread's slabs of 2 KiB blocks double as it holds
 * more of them (a step of 32 KiB or more in held bytes), its slabs of 8 KiB
 * blocks keep their base size (at most two steps beyond 16 KiB).
 *
 * Linked with -lmymalloc.
 */
#include "api_test.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdbool.h>
#include <time.h>
#include <mymalloc.h>

#define PER_THREAD_SLACK (64 * API_KIB)

struct stats {
    size_t a, f, p;
};

static struct stats get_stats(void)
{
    struct stats s;
    allocator_stats(&s.a, &s.f, &s.p);
    CHECKF(s.a >= s.f, "allocated %zu < freed %zu", s.a, s.f);
    return s;
}

/* Built with -DAPI_REALTIME for the real-time library (tests/rtmode): its
 * arena replaces the memory-return policy (unmapping, retention, the shared
 * cache, huge pages, slab growth), whose tests are left out there. */
#if defined(API_REALTIME)
enum { TEST_RETURN_POLICY = 0 };
#else
enum { TEST_RETURN_POLICY = 1 };
#endif

static void test_init_and_nulls(void)
{
    CHECK(allocator_init(0) == 0);
    CHECK(allocator_init(1) == 0);
    CHECK(allocator_init(0) == 0);
    allocator_stats(NULL, NULL, NULL);
    size_t a = 0, f = 0, p = 0, a2 = 0, f2 = 0, p2 = 0;
    allocator_stats(&a, NULL, NULL);
    allocator_stats(NULL, &f, NULL);
    allocator_stats(NULL, NULL, &p);
    allocator_stats(&a2, &f2, &p2);
    /* Nothing happened in between. */
    CHECK(a == a2 && f == f2 && p == p2);
    printf("ok allocator_init returns 0; allocator_stats takes NULLs\n");
}

static void test_counts_one_thread(void)
{
    enum { N = 1000 };
    static void *b[N];
    const size_t sizes[] = {1, 24, 100, 1000, 5000, 40000, 300000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t S = sizes[k];
        int n = S > 10000 ? 40 : N;
        struct stats s0 = get_stats();
        size_t usable = 0;
        for (int i = 0; i < n; i++) {
            b[i] = mymalloc(S);
            CHECK(b[i] != NULL);
            usable += myusable_size(b[i]);
        }
        struct stats s1 = get_stats();
        CHECKF(s1.a - s0.a == usable, "size %zu: allocated grew by %zu, usable sizes sum %zu",
               S, s1.a - s0.a, usable);
        CHECK(s1.a - s0.a >= (size_t)n * S);
        CHECKF(s1.f == s0.f, "size %zu: freed moved from %zu to %zu without a free", S, s0.f,
               s1.f);
        /* mallinfo2's uordblks counts the same live bytes. */
        struct mallinfo2 mi = mallinfo2();
        CHECKF(mi.uordblks == s1.a - s1.f, "uordblks %zu != allocated - freed %zu",
               mi.uordblks, s1.a - s1.f);
        CHECK(mi.arena >= mi.uordblks);
        for (int i = 0; i < n; i++)
            myfree(b[i]);
        struct stats s2 = get_stats();
        CHECKF(s2.f - s1.f == usable, "size %zu: freed grew by %zu, usable sizes sum %zu", S,
               s2.f - s1.f, usable);
        CHECK(s2.a == s1.a);
        CHECK(s2.a - s2.f == s0.a - s0.f);
        /* The peak does not fall (beyond the sampling slack). */
        CHECKF(s2.p + PER_THREAD_SLACK >= s1.p && s1.p + PER_THREAD_SLACK >= s0.p,
               "peak %zu -> %zu -> %zu", s0.p, s1.p, s2.p);
    }
    /* calloc, realloc and aligned blocks count too. */
    struct stats s0 = get_stats();
    void *c = mycalloc(100, 10), *al = myaligned_alloc(256, 1000);
    CHECK(c && al);
    void *r = mymalloc(10);
    CHECK(r);
    r = myrealloc(r, 100000);
    CHECK(r);
    struct stats s1 = get_stats();
    CHECK(s1.a - s1.f >= s0.a - s0.f + 1000 + 1000 + 100000);
    myfree(c);
    myfree(al);
    myfree(r);
    struct stats s2 = get_stats();
    CHECKF(s2.a - s2.f == s0.a - s0.f, "live bytes %zu -> %zu after calloc/aligned/realloc",
           s0.a - s0.f, s2.a - s2.f);
    printf("ok allocator_stats: exact usable sizes allocated and freed, one thread\n");
}

static void test_peak(void)
{
    enum { N = 4096 };
    static void *b[N];
    struct stats s0 = get_stats();
    /* 16 MiB live in 4 KiB blocks, then one 8 MiB block on top. */
    for (int i = 0; i < N; i++) {
        b[i] = mymalloc(4096);
        CHECK(b[i] != NULL);
    }
    void *big = mymalloc(8 * API_MIB);
    CHECK(big);
    struct stats s1 = get_stats();
    size_t live = s1.a - s1.f;
    CHECKF(s1.p + PER_THREAD_SLACK >= live, "peak %zu below live %zu", s1.p, live);
    myfree(big);
    for (int i = 0; i < N; i++)
        myfree(b[i]);
    struct stats s2 = get_stats();
    CHECKF(s2.p + PER_THREAD_SLACK >= live, "peak %zu below the earlier live %zu", s2.p, live);
    CHECK(s2.p >= s0.p);
    printf("FIGURES: peak=%zu live_at_peak=%zu\n", s2.p, live);
    printf("ok allocator_stats: peak >= live peak - 64 KiB\n");
}

/* Frees into parked slabs count at once: blocks of one class freed, then as
 * many bytes of another class allocated, make a peak of one set, not two. */
static void test_peak_after_frees(void)
{
    struct stats s0 = get_stats();
    size_t bytes = s0.p + 16 * API_MIB;
    size_t n_first = bytes / 1024, n_second = bytes / 896;
    void **first = mymalloc(n_first * sizeof *first);
    void **second = mymalloc(n_second * sizeof *second);
    CHECK(first != NULL && second != NULL);
    for (size_t i = 0; i < n_first; i++) {
        first[i] = mymalloc(1024);
        CHECK(first[i] != NULL);
    }
    /* The last block keeps the current slab from emptying (which would
     * count the class anew): the others go back into parked slabs. */
    for (size_t i = 0; i + 1 < n_first; i++)
        myfree(first[i]);
    for (size_t i = 0; i < n_second; i++) {
        second[i] = mymalloc(896);
        CHECK(second[i] != NULL);
    }
    struct stats s1 = get_stats();
    for (size_t i = 0; i < n_second; i++)
        myfree(second[i]);
    myfree(first[n_first - 1]);
    myfree(first);
    myfree(second);
    printf("FIGURES: peak_after_frees set_bytes=%zu peak=%zu\n", n_first * 1024, s1.p);
    CHECKF(s1.p <= n_first * 1024 + 2 * API_MIB,
           "peak %zu after freeing %zu bytes and allocating as many again", s1.p,
           n_first * 1024);
    printf("ok allocator_stats: freed blocks leave the peak at once\n");
}

/* ---- threads ------------------------------------------------------------- */

enum { THREADS = 4, PER = 2000 };
static void *shared[THREADS][PER];
static pthread_barrier_t bar;

static void *alloc_free_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    /* Allocate own, hand over, free the next thread's blocks. */
    for (int i = 0; i < PER; i++) {
        shared[t][i] = mymalloc(100 + (size_t)(i % 7) * 100);
        CHECK(shared[t][i] != NULL);
    }
    pthread_barrier_wait(&bar);
    int o = (t + 1) % THREADS;
    for (int i = 0; i < PER; i++)
        myfree(shared[o][i]);
    pthread_barrier_wait(&bar);
    return NULL;
}

static void test_counts_threads(void)
{
    struct stats s0 = get_stats();
    pthread_t th[THREADS];
    pthread_barrier_init(&bar, NULL, THREADS);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, alloc_free_main, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    pthread_barrier_destroy(&bar);
    struct stats s1 = get_stats();
    size_t requested = 0;
    for (int i = 0; i < PER; i++)
        requested += 100 + (size_t)(i % 7) * 100;
    requested *= THREADS;
    CHECKF(s1.a - s0.a >= requested, "allocated grew %zu < %zu requested on 4 threads",
           s1.a - s0.a, requested);
    CHECKF(s1.f - s0.f >= requested, "freed grew %zu < %zu freed across threads", s1.f - s0.f,
           requested);
    /* pthread_create/join may allocate (thread stacks are mmap'd by libc,
     * but its own bookkeeping is malloc'd); allow a little. */
    long long d = (long long)(s1.a - s1.f) - (long long)(s0.a - s0.f);
    CHECKF(d >= -4096 && d <= 4096, "live bytes moved by %lld across 4 threads", d);
    CHECK(s1.p + THREADS * PER_THREAD_SLACK >= requested / THREADS);
    printf("ok allocator_stats: summed over threads, cross-thread frees\n");
}

/* ---- dump ---------------------------------------------------------------- */

static void dump_child(void *arg)
{
    (void)arg;
    void *p = mymalloc(100), *q = mymalloc(5000), *r = mymalloc(1 << 20);
    allocator_dump();
    myfree(p);
    myfree(q);
    myfree(r);
}

static void test_dump(void)
{
    char *err;
    int st = api_in_child(dump_child, NULL, 20, &err);
    CHECKF(api_exited0(st), "allocator_dump child: %s", api_status_str(st));
    CHECKF(strlen(err) > 0, "allocator_dump printed nothing on stderr");
    CHECKF(api_find_line(err, NULL, "class") != NULL,
           "allocator_dump does not mention size classes:\n%.2000s", err);
    printf("FIGURES: dump_bytes=%zu\n", strlen(err));
    free(err);
    printf("ok allocator_dump prints to stderr, mentions size classes\n");
}

/* ---- cleanup ------------------------------------------------------------- */

struct holder {
    void *blocks[64];
    pthread_barrier_t *bar;
};

static void *holder_main(void *arg)
{
    struct holder *h = arg;
    for (int i = 0; i < 64; i++) {
        size_t s = 16 + (size_t)i * 1000;
        h->blocks[i] = mymalloc(s);
        CHECK(h->blocks[i]);
        api_tag(h->blocks[i], s, 1000 + i);
    }
    pthread_barrier_wait(h->bar); /* blocks ready */
    pthread_barrier_wait(h->bar); /* main cleaned up */
    for (int i = 0; i < 64; i++) {
        CHECK(api_tag_ok(h->blocks[i], 16 + (size_t)i * 1000, 1000 + i));
        myfree(h->blocks[i]);
    }
    allocator_cleanup();
    return NULL;
}

static void test_cleanup(void)
{
    enum { N = 2000 };
    static unsigned char *b[N];
    static size_t bs[N];
    /* Another thread's blocks must survive this thread's cleanup. */
    pthread_barrier_t hb;
    pthread_barrier_init(&hb, NULL, 2);
    struct holder h = {.bar = &hb};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, holder_main, &h) == 0);
    pthread_barrier_wait(&hb);

    allocator_cleanup();
    size_t held0 = mallinfo2().arena;
    uint64_t r = 5;
    for (int i = 0; i < N; i++) {
        bs[i] = i % 100 == 0 ? API_MIB + api_rng(&r) % API_MIB : api_rng(&r) % 5000;
        b[i] = i % 10 == 0 ? myaligned_alloc(512, bs[i]) : mymalloc(bs[i]);
        CHECK(b[i] != NULL);
        api_tag(b[i], bs[i], i);
    }
    /* Free every other block: idle memory next to live blocks. */
    for (int i = 0; i < N; i += 2)
        myfree(b[i]);
    allocator_cleanup();
    for (int i = 1; i < N; i += 2)
        CHECKF(api_tag_ok(b[i], bs[i], i), "block %d (%zu bytes) damaged by cleanup", i,
               bs[i]);
    /* Still usable: reallocate the freed half, verify everything. */
    for (int i = 0; i < N; i += 2) {
        b[i] = mymalloc(bs[i]);
        CHECK(b[i] != NULL);
        api_tag(b[i], bs[i], i);
    }
    CHECK(allocator_verify() == 0);
    for (int i = 0; i < N; i++) {
        CHECK(api_tag_ok(b[i], bs[i], i));
        myfree(b[i]);
    }
    pthread_barrier_wait(&hb);
    CHECK(pthread_join(th, NULL) == 0);
    pthread_barrier_destroy(&hb);

    /* 32 MiB of large blocks and 4 MiB of small ones freed, then cleanup:
     * what is held goes back near where it was. */
    for (int i = 0; i < 32; i++) {
        b[i] = mymalloc(API_MIB + (size_t)i * 4096);
        CHECK(b[i]);
        memset(b[i], 1, 4096);
    }
    for (int i = 32; i < N; i++) {
        b[i] = mymalloc(2000);
        CHECK(b[i]);
    }
    size_t held1 = mallinfo2().arena;
    for (int i = 0; i < N; i++)
        myfree(b[i]);
    allocator_cleanup();
    size_t held2 = mallinfo2().arena;
    printf("FIGURES: held_before=%zu held_full=%zu held_after_cleanup=%zu\n", held0, held1,
           held2);
    CHECKF(held2 <= held0 + API_MIB, "held %zu after cleanup, %zu before the blocks", held2,
           held0);
    CHECK(allocator_verify() == 0);
    void *p = mymalloc(100);
    CHECK(p);
    myfree(p);
    printf("ok allocator_cleanup: live blocks intact, usable, memory returned\n");
}

/* Allocate the burst of test_retention: n small blocks and LARGE of a MiB. */
enum { BURST_SMALL = 40000, BURST_LARGE = 16 };

static void burst_fill(void **small, void **large)
{
    for (int i = 0; i < BURST_SMALL; i++) {
        small[i] = mymalloc(200);
        CHECK(small[i] != NULL);
        api_tag(small[i], 200, i);
    }
    for (int i = 0; i < BURST_LARGE; i++) {
        large[i] = mymalloc(API_MIB);
        CHECK(large[i] != NULL);
        memset(large[i], i, API_MIB);
    }
}

static void burst_free(void **small, void **large)
{
    for (int i = 0; i < BURST_SMALL; i++) {
        CHECK(api_tag_ok(small[i], 200, i));
        myfree(small[i]);
    }
    for (int i = 0; i < BURST_LARGE; i++)
        myfree(large[i]);
}

/* 8 MiB of small blocks (tagged, checked); returns the bytes held with all
 * of them out. The threads that call it take turns, so one array serves. */
static size_t small_burst(void)
{
    enum { N = 40000 };
    static void *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = mymalloc(200);
        CHECK(b[i] != NULL);
        api_tag(b[i], 200, (uint64_t)i);
    }
    size_t held = mallinfo2().arena;
    for (int i = 0; i < N; i++) {
        CHECK(api_tag_ok(b[i], 200, (uint64_t)i));
        myfree(b[i]);
    }
    return held;
}

/* The burst, then the thread exits. */
/* Threads that take turns: turn_wait(n) returns once turn_pass(n) was called. */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cond = PTHREAD_COND_INITIALIZER;
static int turn;

static void turn_wait(int mine)
{
    pthread_mutex_lock(&turn_lock);
    while (turn != mine)
        pthread_cond_wait(&turn_cond, &turn_lock);
    pthread_mutex_unlock(&turn_lock);
}

static void turn_pass(int next)
{
    pthread_mutex_lock(&turn_lock);
    turn = next;
    pthread_cond_broadcast(&turn_cond);
    pthread_mutex_unlock(&turn_lock);
}

static size_t small_burst_held;

static void *small_burst_thread(void *arg)
{
    small_burst_held = small_burst();
    return arg;
}

/* A thread that holds a heap, waits for turn 2, then allocates FROM_IDLE
 * blocks of 200 bytes, notes what is held, frees them and exits. */
enum { FROM_IDLE = 3500 };
static size_t from_idle_held;

static void *from_idle_thread(void *arg)
{
    static void *from_idle[FROM_IDLE];
    myfree(mymalloc(16));
    turn_pass(1);
    turn_wait(2);
    for (int i = 0; i < FROM_IDLE; i++) {
        from_idle[i] = mymalloc(200);
        CHECK(from_idle[i] != NULL);
        api_tag(from_idle[i], 200, (uint64_t)i);
    }
    from_idle_held = mallinfo2().arena;
    for (int i = 0; i < FROM_IDLE; i++) {
        CHECK(api_tag_ok(from_idle[i], 200, (uint64_t)i));
        myfree(from_idle[i]);
    }
    return arg;
}

static void test_retention(void)
{
    static void *small[BURST_SMALL];
    void *large[BURST_LARGE];
    allocator_cleanup();
    size_t held0 = mallinfo2().arena;
    burst_fill(small, large);
    size_t full = mallinfo2().arena;
    burst_free(small, large);
    size_t kept = mallinfo2().arena;
    CHECKF(kept >= held0 + (full - held0) / 2,
           "a freed burst of %zu bytes held went back at once (%zu held, %zu before)",
           full - held0, kept, held0);
    burst_fill(small, large);
    size_t again = mallinfo2().arena;
    CHECKF(again <= full + API_MIB, "the burst again: %zu held, %zu the first time", again, full);
    burst_free(small, large);
    /* Two windows below the peak; then a slab emptied and a large block
     * freed move the windows, and the surplus goes. */
    struct timespec pause = {.tv_sec = 2, .tv_nsec = 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    void *few[64];
    for (int i = 0; i < 64; i++) {
        few[i] = mymalloc(3000);
        CHECK(few[i] != NULL);
    }
    for (int i = 0; i < 64; i++)
        myfree(few[i]);
    myfree(mymalloc(API_MIB));
    size_t after = mallinfo2().arena;
    printf("FIGURES: retention held_before=%zu held_full=%zu held_freed=%zu held_after_2s=%zu\n",
           held0, full, kept, after);
    CHECKF(after <= held0 + 2 * API_MIB, "held %zu two windows after the burst, %zu before",
           after, held0);
    printf("ok retention: a freed burst stays for reuse, and goes after two idle windows\n");

    /* The burst thread exits while another thread lives: its slabs wait in
     * the shared cache and serve that thread's new slabs. */
    turn = 0;
    pthread_t keeper, burst;
    CHECK(pthread_create(&keeper, NULL, from_idle_thread, NULL) == 0);
    turn_wait(1);
    CHECK(pthread_create(&burst, NULL, small_burst_thread, NULL) == 0);
    CHECK(pthread_join(burst, NULL) == 0);
    size_t idle = mallinfo2().arena;
    turn_pass(2);
    CHECK(pthread_join(keeper, NULL) == 0);
    /* Threads came back after the main thread was alone (the tests before
     * this one): the caches wait for the main thread's next malloc slow
     * path, here a large block. */
    size_t alone_waiting = mallinfo2().arena;
    void *probe = mymalloc(API_MIB);
    CHECK(probe != NULL);
    size_t alone = mallinfo2().arena - API_MIB;
    myfree(probe);
    printf("FIGURES: retention held_after_thread=%zu held_after_reuse=%zu held_main_alone=%zu "
           "held_main_alone_after_malloc=%zu\n",
           idle, from_idle_held, alone_waiting, alone);
    CHECKF(alone_waiting >= alone + API_MIB,
           "held %zu with the main thread alone before its next slow path, %zu after: the "
           "caches did not wait", alone_waiting, alone);
    CHECKF(idle <= small_burst_held,
           "held %zu after a thread's freed burst, %zu at its peak", idle, small_burst_held);
    CHECKF(from_idle_held <= idle + 256 * API_KIB,
           "held %zu after %d blocks of 200 bytes, %zu before: an exited thread's slabs went unused",
           from_idle_held, FROM_IDLE, idle);
    /* The last thread beside this one exited and this one reached a slow
     * path: the caches gave the exited threads' memory back. */
    CHECKF(alone <= after + 512 * API_KIB,
           "held %zu with the main thread alone, %zu before the threads", alone, after);
    malloc_trim(0);
    size_t trimmed = mallinfo2().arena;
    printf("FIGURES: retention held_after_trim=%zu\n", trimmed);
    CHECKF(trimmed <= after, "held %zu after malloc_trim, %zu before the thread", trimmed, after);
    printf("ok retention: an exited thread's slabs serve live threads, and go back once the main "
           "thread is alone\n");
}

/* Two live threads burst one after the other: the second reuses the slabs
 * the first freed (the shared cache) instead of mapping its own, though the
 * first thread is alive and could burst again. */
static void *turn_burst_thread(void *arg)
{
    int me = (int)(intptr_t)arg;
    turn_wait(me);
    size_t at_peak = small_burst();
    if (me == 1) {
        small_burst_held = at_peak;
    } else {
        printf("FIGURES: shared_cache held_first_burst=%zu held_second_burst=%zu\n",
               small_burst_held, at_peak);
        CHECKF(at_peak <= small_burst_held + 2 * API_MIB,
               "held %zu at a second thread's burst, %zu at the first's: its freed slabs went "
               "unused",
               at_peak, small_burst_held);
    }
    turn_pass(me + 1);
    turn_wait(3); /* both alive until both are done */
    return NULL;
}

static void test_shared_cache(void)
{
    malloc_trim(0);
    turn = 0;
    pthread_t first, second;
    CHECK(pthread_create(&first, NULL, turn_burst_thread, (void *)(intptr_t)1) == 0);
    CHECK(pthread_create(&second, NULL, turn_burst_thread, (void *)(intptr_t)2) == 0);
    turn_pass(1);
    CHECK(pthread_join(first, NULL) == 0);
    CHECK(pthread_join(second, NULL) == 0);
    CHECK(allocator_verify() == 0);
    printf("ok retention: one thread's freed burst serves another live thread's burst\n");
}

/* Slabs of two RUN_BLOCK_SIZE blocks (class 32 KiB: sixteen pages each, the
 * largest slabs, which never double), mapped one after the other; the thread keeps both blocks of every fifth
 * slab and frees the rest, so the cache holds runs of adjacent empty slabs
 * between slabs in use. */
enum { RUN_SLABS = 40, RUN_BLOCK_SIZE = 32000, RUN_CLASS_SIZE = 32768, RUN_KEEP_EVERY = 5 };
static void *run_blocks[2 * RUN_SLABS];

static void *run_slabs_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2 * RUN_SLABS; i++) {
        run_blocks[i] = mymalloc(RUN_BLOCK_SIZE);
        CHECK(run_blocks[i] != NULL);
        api_tag(run_blocks[i], RUN_BLOCK_SIZE, (uint64_t)i);
    }
    for (int slab = 0; slab < RUN_SLABS; slab++) {
        char *first = run_blocks[2 * slab];
        CHECKF((char *)run_blocks[2 * slab + 1] == first + RUN_CLASS_SIZE,
               "blocks %d and %d are not the two blocks of one slab", 2 * slab, 2 * slab + 1);
        if (slab % RUN_KEEP_EVERY != 0) {
            myfree(run_blocks[2 * slab]);
            myfree(run_blocks[2 * slab + 1]);
        }
    }
    return NULL;
}

static bool page_mapped(const void *p)
{
    unsigned char resident;
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)(API_PAGE - 1));
    return mincore(page, API_PAGE, &resident) == 0 || errno != ENOMEM;
}

/* A cache given back at once goes back by runs of adjacent regions: the
 * thread that freed the slabs exits and leaves the main thread alone for the
 * first time, which unmaps the shared cache at once (no malloc_trim, no
 * malloc before the checks). Every page of every freed slab must be
 * unmapped, and every slab still in use intact (a run that reached past its
 * last region, or stopped short, shows here). Run first: later tests leave
 * holes that new regions fill, and start threads after the main thread was
 * alone, which defers that trim. */
static void test_trim_by_runs(void)
{
    malloc_trim(0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, run_slabs_thread, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    int left_mapped = 0, broken = 0;
    for (int slab = 0; slab < RUN_SLABS; slab++) {
        char *first = run_blocks[2 * slab];
        if (slab % RUN_KEEP_EVERY != 0) {
            for (size_t off = 0; off < 2 * RUN_CLASS_SIZE; off += API_PAGE)
                left_mapped += page_mapped(first + off);
            continue;
        }
        for (int b = 0; b < 2; b++) {
            broken += !api_tag_ok(run_blocks[2 * slab + b], RUN_BLOCK_SIZE, (uint64_t)(2 * slab + b));
            myfree(run_blocks[2 * slab + b]);
        }
    }
    CHECKF(left_mapped == 0, "%d pages of freed slabs still mapped with the main thread alone", left_mapped);
    CHECKF(broken == 0, "%d blocks in use lost their contents", broken);
    CHECK(allocator_verify() == 0);
    printf("ok trim: freed slabs between slabs in use go back, by runs of adjacent regions\n");
}

/* A thread allocates HANDOVER blocks into `arg` and exits without freeing them. */
enum { HANDOVER = 20000, HANDOVER_SIZE = 200 };

static void *handover_thread(void *arg)
{
    void **blocks = arg;
    for (int i = 0; i < HANDOVER; i++) {
        blocks[i] = mymalloc(HANDOVER_SIZE);
        CHECK(blocks[i] != NULL);
        api_tag(blocks[i], HANDOVER_SIZE, (uint64_t)i);
    }
    return NULL;
}

static void handover(void **blocks)
{
    pthread_t th;
    CHECK(pthread_create(&th, NULL, handover_thread, blocks) == 0);
    CHECK(pthread_join(th, NULL) == 0);
}

/* Blocks of a thread that exited, freed by another thread. Replaced one by
 * one (Larson's pattern), the main thread adopts the dead thread's slabs
 * and what is held stays near one set of blocks. Only freed, the slabs
 * their last free empties go to the freeing thread's cache, within its
 * budget (a quarter of its slab bytes), and beyond it to the shared cache
 * (what the slabs of all heaps fell from their recent peak), rather than
 * back to the system at once. Cached slabs must belong to the heap that
 * caches them (allocator_verify). */
static void test_retention_handover(void)
{
    static void *mine[HANDOVER], *theirs[HANDOVER];
    malloc_trim(0);
    handover(mine);
    size_t before = mallinfo2().arena;
    size_t most = before;
    for (int i = 0; i < HANDOVER; i++) {
        CHECK(api_tag_ok(mine[i], HANDOVER_SIZE, (uint64_t)i));
        myfree(mine[i]);
        mine[i] = mymalloc(HANDOVER_SIZE);
        CHECK(mine[i] != NULL);
        api_tag(mine[i], HANDOVER_SIZE, (uint64_t)(HANDOVER + i));
        size_t held = i % 1000 == 0 ? mallinfo2().arena : 0;
        if (held > most)
            most = held;
    }
    CHECK(allocator_verify() == 0);
    CHECKF(most <= before + 2 * API_MIB,
           "held %zu while replacing a dead thread's %d blocks, %zu before", most, HANDOVER,
           before);

    size_t alone = mallinfo2().arena;
    handover(theirs);
    size_t with_theirs = mallinfo2().arena;
    for (int i = 0; i < HANDOVER; i++) {
        CHECK(api_tag_ok(theirs[i], HANDOVER_SIZE, (uint64_t)i));
        myfree(theirs[i]);
    }
    size_t freed = mallinfo2().arena;
    CHECK(allocator_verify() == 0);
    printf("FIGURES: handover held_before=%zu held_most=%zu held_alone=%zu held_with_theirs=%zu "
           "held_theirs_freed=%zu\n",
           before, most, alone, with_theirs, freed);
    CHECKF(freed >= alone + 256 * API_KIB && freed <= with_theirs,
           "held %zu after freeing a dead thread's blocks: %zu before they were made, %zu with "
           "them; at least 256 KiB of their slabs should have stayed cached, no more than all",
           freed, alone, with_theirs);
    for (int i = 0; i < HANDOVER; i++) {
        CHECK(api_tag_ok(mine[i], HANDOVER_SIZE, (uint64_t)(HANDOVER + i)));
        myfree(mine[i]);
    }
    CHECK(allocator_verify() == 0);
    printf("ok retention: a dead thread's blocks, replaced or freed by another thread\n");
}

/* Give everything cached back, then free a large block: the first large
 * free after a trim opens a retention window, so that what follows is
 * cached by the recent peak. */
static void trim_and_open_window(void)
{
    malloc_trim(0);
    myfree(mymalloc(64 * API_KIB));
}

/* Whether the library asks for huge pages here (src/platform/hosted.c). */
static bool huge_pages_expected(void)
{
    const char *option = getenv("MYMALLOC_HUGE_PAGES");
    if (option != NULL && strcmp(option, "0") == 0)
        return false;
    char setting[64] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f == NULL)
        return false;
    bool read = fgets(setting, sizeof setting, f) != NULL;
    fclose(f);
    return read && strstr(setting, "[never]") == NULL;
}

/* Huge pages: a cached region more than twice a request of huge pages
 * serves it, cut down (the same address, and 12 of its 16 MiB unmapped);
 * without huge pages the request maps its own region. */
static void test_huge_cut(bool huge)
{
    trim_and_open_window();
    char *big = mymalloc(16 * API_MIB);
    CHECK(big != NULL);
    memset(big, 3, 16 * API_MIB);
    myfree(big);
    size_t before = mallinfo2().arena;
    char *small = mymalloc(3 * API_MIB);
    CHECK(small != NULL);
    memset(small, 4, 3 * API_MIB);
    size_t after = mallinfo2().arena;
    printf("FIGURES: huge_cut held_before=%zu held_after=%zu same_region=%d\n", before, after,
           small == big);
    if (huge)
        CHECKF(small == big && after + 12 * API_MIB == before,
               "3 MiB after a cached 16 MiB region: %p (region %p), held %zu then %zu; the region "
               "should have been cut to 4 MiB",
               (void *)small, (void *)big, before, after);
    else
        CHECKF(after == before + 3 * API_MIB,
               "3 MiB beside a cached 16 MiB region: held %zu then %zu", before, after);
    myfree(small);
}

/* Huge pages: before a request of huge pages maps a fresh region, the cache
 * gives back what is beyond the recent peak of large use. Two 8 MiB blocks
 * freed (cached: the peak was 16 MiB), then a 20 MiB block: both cached
 * regions go first (held grows by 4 MiB, not 20), and 20 MiB more is held
 * only without huge pages. */
static void test_huge_trim_before_map(bool huge)
{
    trim_and_open_window();
    char *a = mymalloc(8 * API_MIB), *b = mymalloc(8 * API_MIB);
    CHECK(a != NULL && b != NULL);
    myfree(a);
    myfree(b);
    size_t before = mallinfo2().arena;
    char *c = mymalloc(20 * API_MIB);
    CHECK(c != NULL);
    size_t after = mallinfo2().arena;
    printf("FIGURES: huge_trim held_before=%zu held_after=%zu\n", before, after);
    if (huge)
        CHECKF(after <= before + 5 * API_MIB,
               "a 20 MiB block beside two cached 8 MiB regions beyond the peak: held %zu, then %zu",
               before, after);
    else
        CHECKF(after >= before + 20 * API_MIB, "a 20 MiB block: held %zu, then %zu", before, after);
    myfree(c);
}

/* The peak resident set (VmHWM) since it was last reset, in bytes; 0 when
 * it cannot be read or reset here. */
static size_t peak_resident(bool reset)
{
    if (reset) {
        FILE *f = fopen("/proc/self/clear_refs", "w");
        if (f == NULL)
            return 0;
        bool ok = fputs("5", f) >= 0;
        ok = fclose(f) == 0 && ok;
        if (!ok)
            return 0;
    }
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char line[128];
    size_t kib = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %zu kB", &kib) == 1)
            break;
    fclose(f);
    return kib * API_KIB;
}

/* Huge pages: realloc grows a 64 MiB buffer to 128 MiB by moving its pages,
 * never resident twice: the peak resident set rises by less than 32 MiB
 * (a copy touches 64 MiB more). The contents stay either way. */
static void test_huge_realloc_moves(bool huge)
{
    malloc_trim(0);
    char *buf = mymalloc(64 * API_MIB);
    CHECK(buf != NULL);
    for (size_t i = 0; i < 64 * API_MIB; i += 4096)
        buf[i] = (char)(i >> 12);
    size_t base = peak_resident(true);
    buf = myrealloc(buf, 128 * API_MIB);
    CHECK(buf != NULL);
    size_t peak = peak_resident(false);
    for (size_t i = 0; i < 64 * API_MIB; i += 4096)
        CHECKF(buf[i] == (char)(i >> 12), "realloc lost the contents at offset %zu", i);
    printf("FIGURES: huge_realloc peak_resident_before=%zu peak_resident_after=%zu\n", base, peak);
    if (huge && base == 0)
        printf("skip: VmHWM cannot be reset here (/proc/self/clear_refs)\n");
    else if (huge)
        CHECKF(peak < base + 32 * API_MIB,
               "realloc of 64 to 128 MiB: peak resident %zu, %zu before: the buffer was copied",
               peak, base);
    myfree(buf);
}

static void test_huge_pages(void)
{
    const bool huge = huge_pages_expected();
    trim_and_open_window();
    char *kept = mymalloc(API_MIB);
    char *big = mymalloc(4 * API_MIB);
    char *grown = mymalloc(2 * API_MIB);
    CHECK(kept != NULL && big != NULL && grown != NULL);
    for (size_t i = 0; i < 2 * API_MIB; i += 4096)
        grown[i] = (char)(i >> 12);
    memset(kept, 1, API_MIB);
    memset(big, 2, 4 * API_MIB);
    if (huge)
        CHECKF(((uintptr_t)big & (2 * API_MIB - 1)) == 0, "a 4 MiB block at %p, not on a 2 MiB boundary",
               (void *)big);
    size_t before = mallinfo2().arena;
    myfree(big);
    size_t after = mallinfo2().arena;
    CHECKF(after == before, "freed 4 MiB block not cached: held %zu, then %zu", before, after);
    before = after;
    myfree(kept);
    after = mallinfo2().arena;
    CHECKF(after == before, "freed 1 MiB block not cached: held %zu, then %zu", before, after);

    before = mallinfo2().arena;
    grown = myrealloc(grown, 3 * API_MIB);
    CHECK(grown != NULL);
    for (size_t i = 0; i < 2 * API_MIB; i += 4096)
        CHECKF(grown[i] == (char)(i >> 12), "realloc lost the contents at offset %zu", i);
    after = mallinfo2().arena;
    /* The 3 MiB block takes the cached 4 MiB region; the outgrown 2 MiB
     * region is unmapped with huge pages, else cached. */
    if (huge)
        CHECKF(after + 2 * API_MIB == before,
               "outgrown 2 MiB region kept: held %zu, then %zu after realloc to 3 MiB", before,
               after);
    else
        CHECKF(after == before,
               "outgrown 2 MiB region not cached: held %zu, then %zu after realloc to 3 MiB",
               before, after);
    myfree(grown);
    test_huge_cut(huge);
    test_huge_trim_before_map(huge);
    test_huge_realloc_moves(huge);
    CHECK(allocator_verify() == 0);
    printf("ok huge pages %s: 4 MiB block%s cached, outgrown 2 MiB region %s%s\n",
           huge ? "on" : "off", huge ? " 2 MiB-aligned and" : "", huge ? "unmapped" : "cached",
           huge ? "; cached regions cut to a request and dropped beyond the peak before a map; "
                  "realloc moves pages"
                : "");
}

/* A large block realloc moves to a bigger one counts once in the recent
 * peak the large cache may keep: after 8 MiB grown to 16 MiB and freed, a
 * 3 MiB block freed pushes the 16 MiB region out of the cache (the peak is
 * 16 MiB, not 8 + 16). */
static void test_realloc_peak(void)
{
    trim_and_open_window();
    size_t start = mallinfo2().arena;
    char *grown = mymalloc(8 * API_MIB);
    CHECK(grown != NULL);
    memset(grown, 3, 8 * API_MIB);
    grown = myrealloc(grown, 16 * API_MIB);
    CHECK(grown != NULL && grown[8 * API_MIB - 1] == 3);
    myfree(grown);
    char *other = mymalloc(3 * API_MIB);
    CHECK(other != NULL);
    myfree(other);
    size_t held = mallinfo2().arena;
    /* The 3 MiB block's region stays: 3 MiB, or with huge pages the 16 MiB
     * region cut to 4 MiB for it. */
    CHECKF(held <= start + 4 * API_MIB + PER_THREAD_SLACK,
           "held %zu, %zu before: the cache kept more than the 16 MiB peak", held, start);
    printf("ok realloc: a moved large block counts once in the recent peak\n");
}

/* Slab growth: on a fresh thread, 200 blocks of 2 KiB and then of 8 KiB,
 * allocated one by one; the largest single step up in held bytes is the
 * largest slab mapped. Slabs of blocks up to a page double as the heap holds
 * more of them (steps of 32 KiB and more); slabs of bigger blocks double
 * once (from 4 pages for two 8 KiB blocks to 8 pages), and only a few
 * steps, at most what a descriptor chunk or page-map node takes, go beyond
 * that: *beyond counts the steps above `limit` bytes. */
static size_t largest_step(size_t size, int count, size_t limit, int *beyond)
{
    static void *blocks[200];
    size_t before = mallinfo2().arena, largest = 0;
    *beyond = 0;
    for (int i = 0; i < count; i++) {
        blocks[i] = mymalloc(size);
        CHECK(blocks[i] != NULL);
        api_tag(blocks[i], size, (uint64_t)i);
        size_t held = mallinfo2().arena;
        if (held > before && held - before > largest)
            largest = held - before;
        if (held > before && held - before > limit)
            (*beyond)++;
        before = held;
    }
    for (int i = 0; i < count; i++) {
        CHECK(api_tag_ok(blocks[i], size, (uint64_t)i));
        myfree(blocks[i]);
    }
    return largest;
}

static void *slab_growth_thread(void *arg)
{
    int beyond_small, beyond_big;
    size_t small_step = largest_step(2048, 200, 16 * API_KIB, &beyond_small);
    size_t big_step = largest_step(8192, 200, 32 * API_KIB, &beyond_big);
    printf("FIGURES: slab_growth largest_step_2k=%zu largest_step_8k=%zu steps_beyond_32k_8k=%d\n",
           small_step, big_step, beyond_big);
    CHECKF(small_step >= 32 * API_KIB,
           "2 KiB blocks: largest slab %zu bytes; slabs of small blocks should double", small_step);
    CHECKF(big_step >= 32 * API_KIB,
           "8 KiB blocks: largest slab %zu bytes; slabs of blocks above a page should double once",
           big_step);
    CHECKF(beyond_big <= 2,
           "8 KiB blocks: %d slabs beyond 32 KiB (largest %zu); slabs of blocks above a page "
           "should double only once",
           beyond_big, big_step);
    return arg;
}

static void test_slab_growth(void)
{
    malloc_trim(0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, slab_growth_thread, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    printf("ok slabs: blocks up to a page in doubling slabs, bigger ones in base-size slabs\n");
}

int main(void)
{
    if (TEST_RETURN_POLICY)
        test_trim_by_runs(); /* first: see there */
    test_init_and_nulls();
    test_counts_one_thread();
    test_peak();
    test_peak_after_frees();
    test_counts_threads();
    test_dump();
    test_cleanup();
    if (TEST_RETURN_POLICY) {
        test_retention();
        test_shared_cache();
        test_retention_handover();
        test_huge_pages();
    }
    test_realloc_peak();
    if (TEST_RETURN_POLICY)
        test_slab_growth();
    CHECK(allocator_verify() == 0);
    printf("stats: all checks passed\n");
    return 0;
}
