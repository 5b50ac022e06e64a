/*
 * verify: allocator_verify.
 *
 * Returns 0 on a sound heap: at start, during and after a long mix of
 * malloc/calloc/realloc/aligned/free on one thread (where no new block may
 * overlap a live one), after 4 threads churn
 * with a fifth of the frees handed to another thread (each thread verifies
 * its own heap before it exits), and after the threads exited.
 *
 * Returns 0 after rounds in which a slab parked full becomes its bin's
 * waiting slab (one block freed by the owner) and another thread frees its
 * other blocks, claiming it; the owner's next slow path must not find it
 * still waiting (heap.c, bin_forget), and no block may be lost.
 *
 * Returns -1 with a message on stderr after a use-after-free write that
 * corrupts a freed small block's free-list link on the calling thread:
 * 64-byte blocks, one freed (first, middle, last of the batch), its first
 * 16 bytes overwritten with 0x41. Run in forked children, one per case, with
 * a control child that does the same without the write (expects 0).
 *
 * Linked with -lmymalloc.
 */
#include "api_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <mymalloc.h>

/* ---- one thread ---------------------------------------------------------- */

enum { SLOTS = 1500, STEPS = 60000 };
static unsigned char *b[SLOTS];
static size_t bs[SLOTS];
static uint64_t seed[SLOTS];

/* A new block [p, p + max(n, 1)) must not overlap a live one. */
static void check_no_overlap(int i, const char *how, size_t align, int step)
{
    uintptr_t lo = (uintptr_t)b[i], hi = lo + (bs[i] ? bs[i] : 1);
    for (int k = 0; k < SLOTS; k++) {
        if (k == i || !b[k])
            continue;
        uintptr_t klo = (uintptr_t)b[k], khi = klo + (bs[k] ? bs[k] : 1);
        CHECKF(hi <= klo || khi <= lo,
               "step %d: %s(size %zu, align %zu) = %p overlaps the live block %p of %zu bytes",
               step, how, bs[i], align, (void *)b[i], (void *)b[k], bs[k]);
    }
}

static void test_single(void)
{
    uint64_t r = 42, next_seed = 1;
    CHECK(allocator_verify() == 0);
    for (int step = 0; step < STEPS; step++) {
        int i = (int)(api_rng(&r) % SLOTS);
        if (b[i]) {
            CHECKF(api_tag_ok(b[i], bs[i], seed[i]), "step %d: block of %zu damaged", step,
                   bs[i]);
            if (api_rng(&r) % 4 == 0) {
                size_t n = api_rng(&r) % 10000;
                unsigned char *q = myrealloc(b[i], n);
                if (n == 0) {
                    CHECK(q == NULL);
                    b[i] = NULL;
                    continue;
                }
                CHECK(q && api_aligned(q, api_min_align(n)));
                CHECK(api_tag_ok(q, bs[i] < n ? bs[i] : n, seed[i]));
                b[i] = q;
                bs[i] = n;
                check_no_overlap(i, "myrealloc", 16, step);
                seed[i] = next_seed++;
                api_tag(q, n, seed[i]);
            } else {
                myfree(b[i]);
                b[i] = NULL;
            }
            continue;
        }
        uint64_t kind = api_rng(&r) % 100;
        size_t n = kind < 80 ? api_rng(&r) % 512
                 : kind < 97 ? api_rng(&r) % 40000
                             : API_MIB + api_rng(&r) % (2 * API_MIB);
        size_t align = 16;
        const char *how = "mymalloc";
        if (kind % 5 == 0) {
            align = (size_t)1 << (api_rng(&r) % 14);
            b[i] = myaligned_alloc(align, n);
            how = "myaligned_alloc";
        } else if (kind % 5 == 1) {
            b[i] = mycalloc(1, n);
            how = "mycalloc";
            CHECK(b[i]);
            for (size_t k = 0; k < n; k++)
                CHECK(b[i][k] == 0);
        } else {
            b[i] = mymalloc(n);
        }
        CHECKF(b[i] && api_aligned(b[i], align) && api_aligned(b[i], api_min_align(n)),
               "size %zu align %zu", n, align);
        bs[i] = n;
        check_no_overlap(i, how, align, step);
        seed[i] = next_seed++;
        api_tag(b[i], n, seed[i]);
        if (step % 5000 == 0)
            CHECKF(allocator_verify() == 0, "allocator_verify at step %d", step);
    }
    CHECK(allocator_verify() == 0);
    for (int i = 0; i < SLOTS; i++)
        if (b[i]) {
            CHECK(api_tag_ok(b[i], bs[i], seed[i]));
            myfree(b[i]);
        }
    CHECK(allocator_verify() == 0);
    printf("ok allocator_verify == 0 through %d mixed steps on one thread\n", STEPS);
}

/* ---- threads with cross-thread frees -------------------------------------- */

enum { THREADS = 4, MAILBOX = 256 };

struct mailbox {
    pthread_mutex_t lock;
    void *slot[MAILBOX];
    size_t size[MAILBOX];
    int n;
};

static struct mailbox box[THREADS];
static atomic_int running;

static void drain(struct mailbox *m)
{
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->n; i++) {
        size_t n = m->size[i] < 64 ? m->size[i] : 64;
        CHECK(api_tag_ok(m->slot[i], n, m->size[i] + (uintptr_t)m->slot[i]));
        myfree(m->slot[i]);
    }
    m->n = 0;
    pthread_mutex_unlock(&m->lock);
}

static void *churn_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    enum { SLOTS = 500, STEPS = 40000 };
    void *b[SLOTS] = {0};
    size_t bs[SLOTS] = {0};
    uint64_t r = (uint64_t)t * 977 + 3;
    for (int step = 0; step < STEPS; step++) {
        int i = (int)(api_rng(&r) % SLOTS);
        if (b[i]) {
            size_t n = bs[i] < 64 ? bs[i] : 64;
            CHECK(api_tag_ok(b[i], n, bs[i] + (uintptr_t)b[i]));
            struct mailbox *m = &box[(t + 1 + api_rng(&r) % (THREADS - 1)) % THREADS];
            int handed = 0;
            if (api_rng(&r) % 5 == 0) {
                pthread_mutex_lock(&m->lock);
                if (m->n < MAILBOX) {
                    m->slot[m->n] = b[i];
                    m->size[m->n++] = bs[i];
                    handed = 1;
                }
                pthread_mutex_unlock(&m->lock);
            }
            if (!handed)
                myfree(b[i]);
            b[i] = NULL;
        } else {
            bs[i] = api_rng(&r) % 50 == 0 ? api_rng(&r) % 200000 : api_rng(&r) % 1024;
            b[i] = mymalloc(bs[i]);
            CHECK(b[i] && api_aligned(b[i], api_min_align(bs[i])));
            api_tag(b[i], bs[i] < 64 ? bs[i] : 64, bs[i] + (uintptr_t)b[i]);
        }
        if (step % 64 == 0)
            drain(&box[t]);
    }
    for (int i = 0; i < SLOTS; i++)
        myfree(b[i]);
    drain(&box[t]);
    CHECKF(allocator_verify() == 0, "allocator_verify on thread %d before it exits", t);
    atomic_fetch_sub(&running, 1);
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_mutex_init(&box[t].lock, NULL);
    atomic_store(&running, THREADS);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, churn_main, (void *)(intptr_t)t) == 0);
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    /* Blocks handed to a thread that had already finished. */
    for (int t = 0; t < THREADS; t++)
        drain(&box[t]);
    CHECK(allocator_verify() == 0);
    /* The exited threads' memory is reused soundly. */
    void *p[1000];
    for (int i = 0; i < 1000; i++) {
        p[i] = mymalloc((size_t)i * 37 % 2000);
        CHECK(p[i]);
    }
    CHECK(allocator_verify() == 0);
    for (int i = 0; i < 1000; i++)
        myfree(p[i]);
    CHECK(allocator_verify() == 0);
    printf("ok allocator_verify == 0 after 4 threads with cross-thread frees\n");
}

/* ---- a waiting slab claimed by another thread ------------------------------ */

enum { WAIT_BLOCKS = 8, WAIT_ROUNDS = 300, WAIT_SIZE = 12000 };

static void *free_odd_blocks(void *arg)
{
    void **p = arg;
    for (int i = 1; i < WAIT_BLOCKS; i += 2) {
        CHECK(api_tag_ok(p[i], 64, (uintptr_t)p[i]));
        myfree(p[i]);
    }
    return NULL;
}

static void test_waiting_claimed(void)
{
    void *p[WAIT_BLOCKS];
    for (int round = 0; round < WAIT_ROUNDS; round++) {
        /* Slabs of 12 KiB blocks hold a few: the mallocs fill and park some,
         * the owner's free of one block makes a full slab due back (the
         * first such waits), the other thread's frees of its neighbours
         * may claim it. */
        for (int i = 0; i < WAIT_BLOCKS; i++) {
            p[i] = mymalloc(WAIT_SIZE);
            CHECK(p[i]);
            api_tag(p[i], 64, (uintptr_t)p[i]);
        }
        for (int i = 0; i < WAIT_BLOCKS; i += 2) {
            CHECK(api_tag_ok(p[i], 64, (uintptr_t)p[i]));
            myfree(p[i]);
        }
        pthread_t helper;
        CHECK(pthread_create(&helper, NULL, free_odd_blocks, p) == 0);
        CHECK(pthread_join(helper, NULL) == 0);
        CHECKF(allocator_verify() == 0, "allocator_verify after round %d", round);
    }
    for (int i = 0; i < WAIT_BLOCKS; i++) {
        p[i] = mymalloc(WAIT_SIZE);
        CHECK(p[i] && api_aligned(p[i], api_min_align(WAIT_SIZE)));
    }
    CHECK(allocator_verify() == 0);
    for (int i = 0; i < WAIT_BLOCKS; i++)
        myfree(p[i]);
    CHECK(allocator_verify() == 0);
    printf("ok allocator_verify == 0 through %d rounds of waiting slabs claimed by another "
           "thread\n",
           WAIT_ROUNDS);
}

/* ---- detection of a corrupted free list ----------------------------------- */

struct uaf {
    int victim;  /* which block of the batch is freed */
    int corrupt; /* overwrite its first 16 bytes */
};

static void uaf_child(void *arg)
{
    const struct uaf *u = arg;
    enum { N = 64 };
    unsigned char *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = mymalloc(64);
        CHECK(b[i]);
        memset(b[i], 0, 64);
    }
    myfree(b[u->victim]);
    if (u->corrupt)
        memset(b[u->victim], 0x41, 16);
    int rc = allocator_verify();
    /* Report through the exit status; stderr holds verify's message. */
    _exit(rc == 0 ? 10 : rc == -1 ? 11 : 12);
}

static void test_detects_corruption(void)
{
    const int victims[] = {0, 31, 63};
    for (int v = 0; v < 3; v++) {
        for (int corrupt = 0; corrupt <= 1; corrupt++) {
            struct uaf u = {victims[v], corrupt};
            char *err;
            int st = api_in_child(uaf_child, &u, 20, &err);
            CHECKF(WIFEXITED(st), "victim %d corrupt %d: child %s", u.victim, corrupt,
                   api_status_str(st));
            int code = WEXITSTATUS(st);
            if (!corrupt) {
                CHECKF(code == 10, "control (victim %d freed, no write): allocator_verify %s",
                       u.victim, code == 11 ? "== -1" : "returned neither 0 nor -1");
            } else {
                CHECKF(code == 11, "victim %d overwritten after free: allocator_verify %s",
                       u.victim, code == 10 ? "== 0 (not detected)" : "returned neither 0 nor -1");
                CHECKF(strlen(err) > 0, "allocator_verify returned -1 without a message");
                printf("  victim %d: -1, stderr: %.*s\n", u.victim, (int)strcspn(err, "\n"), err);
            }
            free(err);
        }
    }
    printf("ok allocator_verify == -1 with a message after a use-after-free write\n");
}

int main(void)
{
    test_single();
    test_threads();
    test_waiting_claimed();
    test_detects_corruption();
    printf("verify: all checks passed\n");
    return 0;
}
