/*
 * stress_engine: concurrent random mymalloc/myfree workload (see
 * stress_engine.h). Workers use only mymalloc/myfree, atomics, raw system
 * calls and testlib, so they can run on raw clone() threads.
 */
#include <string.h>

#include "mymalloc.h"
#include "stress_engine.h"

#include "provider.h"

#define MAILBOX_CAP 64
#define DRAIN_EVERY 32       /* steps between mailbox drains */
#define LIMIT_PERIOD 5000    /* steps between changes of the slot limit */
#define MIN_LIMIT 16
#define MAX_SLOTS 4096
#define GIVE_UP_FAILURES 200 /* stop early once this many checks failed */

struct mailbox {
    tl_spin_t lock;
    int n;
    tl_block items[MAILBOX_CAP];
};

struct worker {
    _Alignas(TL_CACHELINE) int id;
    const stress_config *cfg;
    tl_rng rng;
    tl_live *live;
    tl_block *slots; /* cfg->slots entries, mapped with tl_mmap */
    int limit;       /* slots in use: [0, limit) */
    unsigned long ops, nulls, handoffs;
    _Alignas(TL_CACHELINE) struct mailbox box;
};

static struct worker workers[STRESS_MAX_THREADS];
static tl_live lives[STRESS_MAX_THREADS];
static tl_thread threads[STRESS_MAX_THREADS];
static tl_barrier start_barrier;
static atomic_int finished; /* workers done with their random steps */
/* The half-way quiet point: workers that paused there, and whether the
 * main thread has checked the allocator's structures meanwhile. */
static atomic_int quiet_arrived;
static atomic_int quiet_over;

/* Pause, out of the allocator, until the main thread has run its structural
 * check (tl_verify_allocator) with every worker paused. */
static void quiet_point(void)
{
    atomic_fetch_add(&quiet_arrived, 1);
    while (!atomic_load(&quiet_over))
        tl_yield();
}

static int giving_up(void)
{
    return atomic_load_explicit(&tl_failures, memory_order_relaxed) >
           GIVE_UP_FAILURES;
}

static int mailbox_post(struct mailbox *m, const tl_block *b)
{
    int ok = 0;
    tl_spin_lock(&m->lock);
    if (m->n < MAILBOX_CAP) {
        m->items[m->n++] = *b;
        ok = 1;
    }
    tl_spin_unlock(&m->lock);
    return ok;
}

/* Frees `b` (tag verified), plainly or through myfree_checked. `local`: b
 * was allocated by this thread; if it is at most 1 KiB, it sits in a slab
 * of this thread's heap, where no other thread can hand it out again before
 * a second checked free, which must then be refused. (A large block goes to
 * a cache every thread takes from, so a second free could meet another
 * thread's new block there. So could a block whose free empties its slab,
 * if the slab is cached, trimmed by another thread's claim and its address
 * mapped again by a third, all between the two calls: a slab of a class
 * above 1 KiB holds as few as one block, which every free of it empties,
 * and core/stress-api-t4 once saw exactly that, a page-aligned block of
 * 26813 bytes; slabs of 1 KiB blocks and smaller hold at least four.) The M5
 * build's heaps are per CPU, shared by the threads that run there: another
 * thread may take the block at once, so it makes no second free. */
static void free_block(struct worker *w, tl_block *b, int local, const char *where)
{
    if (!w->cfg->api) {
        tl_free(b, w->live, where);
        return;
    }
    tl_verify(b, where);
    void *p = b->p;
    if (myfree_checked(p) != 0)
        tl_fail("%s: myfree_checked refused a live block %p", where, p);
#if defined(TL_M5)
    local = 0;
#endif
    if (local && b->size <= 1024 && myfree_checked(p) != -1)
        tl_fail("%s: myfree_checked accepted a second free of %p", where, p);
    tl_live_add(w->live, -(long)b->size);
    b->p = NULL;
}

/* Moves slot block *b to a new size from the mix with myrealloc; the first
 * bytes (up to 256) must survive. A NULL (allowed in fault runs) leaves
 * the block as it was. */
static void resize(struct worker *w, tl_block *b)
{
    uint8_t kept[256];
    size_t size = tl_size_mix(&w->rng);
    if (size == 0)
        size = 1; /* myrealloc(p, 0) would free p */
    size_t compare = b->size < size ? b->size : size;
    if (compare > sizeof kept)
        compare = sizeof kept;
    tl_verify(b, "stress: before myrealloc");
    memcpy(kept, b->p, compare);
    tl_live_add(w->live, (long)size);
    void *moved = myrealloc(b->p, size);
    w->ops++;
    if (moved == NULL) {
        tl_live_add(w->live, -(long)size);
        if (!w->cfg->allow_null)
            tl_fail("stress: myrealloc(%zu) returned NULL with no limit set", size);
        return;
    }
    tl_live_add(w->live, -(long)b->size);
    if (memcmp(kept, moved, compare) != 0)
        tl_fail("stress: myrealloc lost the contents of a block");
    b->p = moved;
    b->size = size;
    tl_check_align(moved, size, "myrealloc");
    tl_fill(b);
}

/* Frees every block other workers posted to w. */
static void drain(struct worker *w)
{
    tl_block got[MAILBOX_CAP];
    int n;
    tl_spin_lock(&w->box.lock);
    n = w->box.n;
    for (int i = 0; i < n; i++)
        got[i] = w->box.items[i];
    w->box.n = 0;
    tl_spin_unlock(&w->box.lock);
    for (int i = 0; i < n; i++) {
        free_block(w, &got[i], 0, "stress: free of a block from another thread");
        w->ops++;
    }
}

static void allocate(struct worker *w, int k)
{
    size_t size = tl_size_mix(&w->rng);
    if (!tl_alloc(&w->slots[k], size, tl_rand(&w->rng), w->live)) {
        w->nulls++;
        if (!w->cfg->allow_null)
            tl_fail("stress: mymalloc(%zu) returned NULL with no limit set",
                    size);
    }
    w->ops++;
}

/* Frees slot k here, or posts it to another worker to free. */
static void release(struct worker *w, int k)
{
    tl_block b = w->slots[k];
    w->slots[k].p = NULL;
    if (w->cfg->api && tl_rand(&w->rng) % 8 == 0)
        resize(w, &b);
    int n = w->cfg->threads;
    if (n > 1 && (int)(tl_rand(&w->rng) % 100) < w->cfg->handoff_pct) {
        int to = (int)(tl_rand(&w->rng) % (uint64_t)(n - 1));
        if (to >= w->id)
            to++;
        if (mailbox_post(&workers[to].box, &b)) {
            w->handoffs++;
            return;
        }
    }
    free_block(w, &b, 1, "stress: free");
    w->ops++;
}

static void change_limit(struct worker *w)
{
    int max = w->cfg->slots;
    int lo = MIN_LIMIT < max ? MIN_LIMIT : max;
    /* A quarter of the periods run nearly empty, the rest anywhere. */
    int limit = (tl_rand(&w->rng) % 4 == 0)
                    ? (int)tl_range(&w->rng, (uint64_t)lo, (uint64_t)(lo * 4 < max ? lo * 4 : max))
                    : (int)tl_range(&w->rng, (uint64_t)lo, (uint64_t)max);
    for (int k = limit; k < w->limit; k++)
        if (w->slots[k].p)
            release(w, k);
    w->limit = limit;
}

static int worker_main(void *arg)
{
    struct worker *w = arg;
    const stress_config *c = w->cfg;

    tl_barrier_wait(&start_barrier);
    int paused = 0;
    for (unsigned long step = 0; step < c->ops_per_thread && !giving_up();
         step++) {
        if (step == c->ops_per_thread / 2) {
            quiet_point();
            paused = 1;
        }
        if (step % DRAIN_EVERY == 0)
            drain(w);
        if (step % LIMIT_PERIOD == 0)
            change_limit(w);
        int k = (int)(tl_rand(&w->rng) % (uint64_t)w->limit);
        if (w->slots[k].p)
            release(w, k);
        else
            allocate(w, k);
    }

    if (!paused)
        quiet_point(); /* gave up early: the others still wait for us */
    /* Others may still post to us until every worker is past its loop. */
    atomic_fetch_add(&finished, 1);
    while (atomic_load(&finished) < c->threads) {
        drain(w);
        tl_yield();
    }
    drain(w);
    for (int k = 0; k < c->slots; k++)
        if (w->slots[k].p) {
            tl_free(&w->slots[k], w->live, "stress: final free");
            w->ops++;
        }
    return 0;
}

void stress_default_config(stress_config *c)
{
    c->threads = 1;
    c->ops_per_thread = 100000;
    c->kind = TL_PTHREAD;
    c->slots = 2000;
    c->handoff_pct = 20;
    c->allow_null = 0;
    c->seed = 1;
    c->check_us = 2000;
    c->api = 0;
}

int stress_run(const stress_config *c, stress_result *r)
{
    int n = c->threads;
    if (n < 1 || n > STRESS_MAX_THREADS || c->slots < 1 ||
        c->slots > MAX_SLOTS) {
        tl_fail("stress: bad configuration (threads=%d slots=%d)", n,
                c->slots);
        return -1;
    }
    size_t slot_bytes = ((size_t)c->slots * sizeof(tl_block) + TL_PAGE - 1) &
                        ~(TL_PAGE - 1);

    tl_barrier_init(&start_barrier, n + 1);
    atomic_store(&quiet_arrived, 0);
    atomic_store(&quiet_over, 0);
    atomic_store(&finished, 0);
    for (int i = 0; i < n; i++) {
        struct worker *w = &workers[i];
        w->id = i;
        w->cfg = c;
        tl_rng_seed(&w->rng, c->seed * 1000003 + (uint64_t)i);
        tl_live_init(&lives[i]);
        w->live = &lives[i];
        w->slots = tl_mmap(slot_bytes); /* zeroed: every slot empty */
        w->limit = c->slots;
        w->ops = w->nulls = w->handoffs = 0;
        w->box.n = 0;
        if (w->slots == NULL)
            tl_die("stress: cannot map the slot table");
    }
    provider_reset_peak();

    for (int i = 0; i < n; i++)
        if (tl_thread_start(&threads[i], c->kind, worker_main, &workers[i]))
            tl_die("stress: could not start thread %d of %d", i, n);

    tl_barrier_wait(&start_barrier);
    double t0 = tl_now();
    unsigned long checks = 0;
    while (atomic_load(&finished) < n) {
        if (!atomic_load(&quiet_over) && atomic_load(&quiet_arrived) == n) {
            tl_verify_allocator("stress: half-way, every worker paused");
            atomic_store(&quiet_over, 1);
        }
        if (c->check_us == 0) {
            tl_sleep_us(1000);
            continue;
        }
        tl_sleep_us(c->check_us);
        tl_frugal_check(lives, n, n, "stress (while running)");
        checks++;
    }
    for (int i = 0; i < n; i++)
        tl_thread_join(&threads[i]);
    double t1 = tl_now();
    tl_verify_allocator("stress: at the end, every block freed");

    r->seconds = t1 - t0;
    r->ops = r->nulls = r->handoffs = 0;
    r->checks = checks;
    r->peak_held = provider_peak();
    for (int i = 0; i < n; i++) {
        r->ops += workers[i].ops;
        r->nulls += workers[i].nulls;
        r->handoffs += workers[i].handoffs;
        tl_munmap(workers[i].slots, slot_bytes);
        workers[i].slots = NULL;
    }
    return 0;
}
