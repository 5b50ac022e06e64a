/*
 * handoff_stress.c: the owner allocates (malloc, aligned_alloc, realloc in
 * place and moving, frees of its own) while freer threads free what it
 * hands them; one block in 64 is handed to two freers at once (a racing
 * double free: exactly one report each). Every block is tagged and checked
 * before its free (the owner waits for both frees of a racing pair before it
 * allocates again: a later double free of reused memory is undetectable by
 * design); at quiescent points (queue drained, freers idle) the heap must
 * pass rt_heap_check (headers, lists, pending blocks, the byte counters
 * against a walk), and at the end hold no live byte.
 * Under ThreadSanitizer: no report. --stats: the owner also calls
 * rt_heap_stats while freers run (rt.h allows it: only rt_heap_check is
 * restricted to quiet times).
 *   handoff_stress [--threads=N] [--ops=N] [--stats]
 */
#include "white_box.h"

#include <pthread.h>
#include <string.h>

static uint64_t rng_state = 88172645463325252u;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void tag(unsigned char *p, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(id + i * 131);
}
static void check_tag(const unsigned char *p, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        WB_REQUIRE(p[i] == (unsigned char)(id + i * 131), "tag of %p broken at %zu", (void *)p, i);
}

struct item {
    unsigned char *p;
    size_t n;
    uint64_t id;
    int twice; /* handed to two freers: neither checks the tag (the other may free first) */
};
#define QLEN 4096
static struct item queue[QLEN];
static _Atomic int slot_full[QLEN]; /* the owner fills a slot only when its taker emptied it */
static _Atomic size_t q_head, q_tail, q_done;
static _Atomic int stop;
static rt_heap_t *heap;
static _Atomic long expected_doubles;

static void *freer(void *arg)
{
    (void)arg;
    for (;;) {
        size_t t = atomic_load(&q_tail);
        if (t == atomic_load_explicit(&q_head, memory_order_acquire)) {
            if (atomic_load(&stop))
                return NULL;
            continue;
        }
        if (!atomic_compare_exchange_weak(&q_tail, &t, t + 1))
            continue;
        while (!atomic_load_explicit(&slot_full[t % QLEN], memory_order_acquire))
            ;
        struct item it = queue[t % QLEN];
        atomic_store_explicit(&slot_full[t % QLEN], 0, memory_order_release);
        if (!it.twice)
            check_tag(it.p, it.n, it.id);
        rt_free(heap, it.p);
        atomic_fetch_add_explicit(&q_done, 1, memory_order_release);
    }
}

static void hand(struct item it)
{
    size_t h = atomic_load_explicit(&q_head, memory_order_relaxed);
    while (atomic_load_explicit(&slot_full[h % QLEN], memory_order_acquire))
        ;
    queue[h % QLEN] = it;
    atomic_store_explicit(&slot_full[h % QLEN], 1, memory_order_release);
    atomic_store_explicit(&q_head, h + 1, memory_order_release);
}

static void quiesce(void)
{
    while (atomic_load_explicit(&q_done, memory_order_acquire) !=
           atomic_load_explicit(&q_head, memory_order_relaxed))
        ;
}

#define OWN 256
int main(int argc, char **argv)
{
    int threads = 3, with_stats = 0;
    long ops = 200000;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--threads=", 10))
            threads = atoi(argv[i] + 10);
        else if (!strncmp(argv[i], "--ops=", 6))
            ops = atol(argv[i] + 6);
        else if (!strcmp(argv[i], "--stats"))
            with_stats = 1;
    }
    size_t bytes = 8 << 20;
    char *buf = malloc(bytes);
    heap = rt_heap_init(buf, bytes);
    rt_set_error_handler(heap, wb_on_error);
    pthread_t tids[16];
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, freer, NULL);
    struct item own[OWN] = {{0}};
    long nulls = 0, pending_seen = 0;
    for (long i = 0; i < ops; i++) {
        size_t n = rng() % 8 == 0 ? rng() % 3000 : rng() % 200;
        uint64_t id = rng();
        unsigned char *p;
        unsigned r = (unsigned)(rng() % 16);
        if (r == 0)
            p = rt_aligned_alloc(heap, (size_t)32 << (rng() % 5), n);
        else
            p = rt_malloc(heap, n);
        if (p == NULL) {
            nulls++;
            continue;
        }
        tag(p, n, id);
        if (atomic_load_explicit(&heap->fit_inbox, memory_order_relaxed) != NULL)
            pending_seen++;
        if (rng() % 2) {
            if (rng() % 64 == 0) {
                hand((struct item){p, n, id, 1});
                hand((struct item){p, n, id, 2});
                atomic_fetch_add(&expected_doubles, 1);
                quiesce(); /* both frees done before the memory can be handed out again */
            } else {
                hand((struct item){p, n, id, 0});
            }
        } else {
            int k = (int)(rng() % OWN);
            if (own[k].p) {
                check_tag(own[k].p, own[k].n, own[k].id);
                if (rng() % 4 == 0) {
                    /* realloc: in place or moving, tag kept up to min */
                    size_t m = rng() % 2 ? own[k].n / 2 + 1 : own[k].n + 1 + rng() % 300; /* never 0: that would free */
                    unsigned char *q = rt_realloc(heap, own[k].p, m);
                    if (q != NULL) {
                        check_tag(q, own[k].n < m ? own[k].n : m, own[k].id);
                        tag(q, m, own[k].id);
                        own[k].p = q;
                        own[k].n = m;
                    }
                    rt_free(heap, own[k].p);
                } else {
                    rt_free(heap, own[k].p);
                }
            }
            own[k] = (struct item){p, n, id, 0};
        }
        if (with_stats && i % 64 == 0) {
            struct rt_heap_stats st;
            rt_heap_stats(heap, &st);
            WB_REQUIRE(st.live_bytes <= st.capacity, "stats");
        }
        if (i % 20000 == 19999) {
            quiesce();
            WB_REQUIRE(rt_heap_check(heap) == 0, "heap broken at step %ld", i);
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    for (int k = 0; k < OWN; k++)
        if (own[k].p)
            rt_free(heap, own[k].p);
    struct rt_heap_stats st;
    rt_heap_stats(heap, &st);
    WB_REQUIRE(rt_heap_check(heap) == 0, "heap broken at the end");
    WB_REQUIRE(st.live_bytes == 0, "live bytes %zu at the end", st.live_bytes);
    WB_REQUIRE(wb_doubles == expected_doubles && wb_invalids == 0,
                   "reports: %d double (expected %ld), %d invalid", (int)wb_doubles,
                   (long)expected_doubles, (int)wb_invalids);
    printf("FIGURES: ops=%ld threads=%d racing double frees=%ld nulls=%ld pending seen=%ld\n", ops,
           threads, (long)expected_doubles, nulls, pending_seen);
    free(buf);
    return 0;
}
