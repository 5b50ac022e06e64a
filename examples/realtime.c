/*
 * realtime.c: the real-time heap (include/mymalloc/rt.h, docs/REALTIME.md)
 * in a static arena, as a control loop or an audio callback would use it.
 *
 * The program's budget: at most MAX_LIVE requested bytes live at once, no
 * request above MAX_REQUEST. rt_heap_required turns that budget into the
 * arena size with which rt_malloc provably never returns NULL; the arena is
 * a static array of ARENA_BYTES, checked against it at start. Then:
 *   - the loop (the heap's owner) allocates messages of random sizes within
 *     the budget, and the worst case for the sizing rule (every size class
 *     filled in turn with its smallest request): never a NULL;
 *   - a second thread frees part of the messages (rt_free is the one call
 *     any thread may make), after checking their tags;
 *   - a double free is reported to the error handler and changes nothing;
 *   - rt_heap_check and rt_heap_stats at the end (not real-time calls).
 *
 *   ./realtime
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include <mymalloc/rt.h>

#include "example.h"

#define MAX_LIVE (16 * 1024) /* bytes requested and not yet freed, at most */
#define MAX_REQUEST 256      /* bytes per request, at most */
/* rt_heap_required(MAX_LIVE, MAX_REQUEST) is about 500 KB on x86_64 (the
 * program prints it): the arena is rounded up from it; main checks it. */
#define ARENA_BYTES (512 * 1024)

static unsigned char arena[ARENA_BYTES];
static rt_heap_t *heap;

/* ---- messages: owned by the loop, or handed to the freeing thread ------- */

struct message {
    unsigned char *data;
    size_t size;
};

#define SLOTS 256
#define RING 64 /* a single-producer single-consumer ring to the freer */

static struct message ring[RING];
static atomic_size_t ring_head, ring_tail; /* head: the freer's; tail: the loop's */
static atomic_size_t live_bytes;           /* requested bytes live (the budget) */
static atomic_bool loop_done;

static uint64_t tag_of(const unsigned char *data)
{
    return (uint64_t)(uintptr_t)data;
}

static void *freer(void *unused)
{
    (void)unused;
    for (;;) {
        size_t head = atomic_load_explicit(&ring_head, memory_order_relaxed);
        /* acquire: the message's bytes and fields, written before the tail moved */
        if (head == atomic_load_explicit(&ring_tail, memory_order_acquire)) {
            if (atomic_load(&loop_done) &&
                head == atomic_load_explicit(&ring_tail, memory_order_acquire))
                return NULL;
            sched_yield(); /* nothing to free yet: let the loop run */
            continue;
        }
        struct message m = ring[head % RING];
        EXPECT(tag_ok(m.data, m.size, tag_of(m.data)), "message %p overwritten", (void *)m.data);
        rt_free(heap, m.data);
        /* The block counts as live until rt_free returned: only now may the
         * loop spend its bytes again. */
        atomic_fetch_sub(&live_bytes, m.size);
        atomic_store_explicit(&ring_head, head + 1, memory_order_release);
    }
}

/* Hands m to the freer; false if the ring is full. */
static bool send_to_freer(const struct message *m)
{
    size_t tail = atomic_load_explicit(&ring_tail, memory_order_relaxed);
    if (tail - atomic_load_explicit(&ring_head, memory_order_acquire) == RING)
        return false;
    ring[tail % RING] = *m;
    atomic_store_explicit(&ring_tail, tail + 1, memory_order_release);
    return true;
}

static void *allocate(size_t size)
{
    void *p = rt_malloc(heap, size);
    EXPECT(p != NULL, "rt_malloc(%zu) returned NULL within the budget (%zu bytes live)", size,
           atomic_load(&live_bytes));
    EXPECT((uintptr_t)p % 16 == 0 && rt_usable_size(heap, p) >= size, "block %p", p);
    atomic_fetch_add(&live_bytes, size);
    tag_fill(p, size, tag_of(p));
    return p;
}

static void free_own(struct message *m)
{
    EXPECT(tag_ok(m->data, m->size, tag_of(m->data)), "message %p overwritten", (void *)m->data);
    rt_free(heap, m->data);
    atomic_fetch_sub(&live_bytes, m->size);
    m->data = NULL;
}

/* ---- the loop ---------------------------------------------------------- */

static void control_loop(void)
{
    static struct message slots[SLOTS];
    uint64_t random_state = 88172645463325252u;
    for (long step = 0; step < 1000000; step++) {
        random_state ^= random_state >> 12; /* xorshift64* */
        random_state ^= random_state << 25;
        random_state ^= random_state >> 27;
        uint64_t r = random_state * 0x2545f4914f6cdd1du;
        struct message *m = &slots[r % SLOTS];
        if (m->data != NULL) {
            if ((r >> 20) % 4 == 0 && send_to_freer(m))
                m->data = NULL;
            else
                free_own(m);
            continue;
        }
        size_t size = 1 + (r >> 32) % MAX_REQUEST;
        if (atomic_load(&live_bytes) + size > MAX_LIVE)
            continue; /* over budget: this message waits for a later step */
        m->size = size;
        m->data = allocate(size);
    }
    for (size_t i = 0; i < SLOTS; i++)
        if (slots[i].data != NULL)
            free_own(&slots[i]);
}

/* The sizing rule's worst case: every class filled in turn with blocks of
 * its smallest request, up to the budget, then freed. */
static void worst_case(void)
{
    static struct message held[MAX_LIVE];
    for (size_t size = 1; size <= MAX_REQUEST; size++) {
        size_t count = 0;
        while (atomic_load(&live_bytes) + size <= MAX_LIVE) {
            held[count].size = size;
            held[count].data = allocate(size);
            count++;
        }
        while (count > 0)
            free_own(&held[--count]);
    }
}

/* ---- bad pointers ------------------------------------------------------ */

static enum rt_problem last_problem;
static void on_bad_pointer(rt_heap_t *h, void *ptr, enum rt_problem problem)
{
    (void)h;
    (void)ptr; /* must not call into the heap here */
    last_problem = problem;
}

int main(void)
{
    size_t required = rt_heap_required(MAX_LIVE, MAX_REQUEST);
    EXPECT(required <= sizeof arena, "the arena needs %zu bytes", required);
    heap = rt_heap_init(arena, sizeof arena);
    EXPECT(heap != NULL, "rt_heap_init");
    rt_set_error_handler(heap, on_bad_pointer);

    pthread_t thread;
    EXPECT(pthread_create(&thread, NULL, freer, NULL) == 0, "pthread_create");
    control_loop();
    atomic_store(&loop_done, true);
    pthread_join(thread, NULL);
    EXPECT(atomic_load(&live_bytes) == 0, "every message freed");

    worst_case();

    void *p = rt_malloc(heap, 100);
    EXPECT(p != NULL, "rt_malloc");
    rt_free(heap, p);
    rt_free(heap, p); /* a double free: reported, nothing changed */
    EXPECT(last_problem == RT_DOUBLE_FREE, "the double free was reported");

    EXPECT(rt_heap_check(heap) == 0, "rt_heap_check");
    struct rt_heap_stats stats;
    rt_heap_stats(heap, &stats);
    EXPECT(stats.live_bytes == 0, "%zu bytes live", stats.live_bytes);
    EXPECT(stats.peak_live_bytes <= stats.capacity, "peak within the arena");
    printf("realtime: %zu bytes asked by rt_heap_required(%d, %d), a static arena of %d; no NULL "
           "in 10^6 steps and the worst case; peak %zu of %zu bytes of blocks\n",
           required, MAX_LIVE, MAX_REQUEST, ARENA_BYTES, stats.peak_live_bytes, stats.capacity);
    return 0;
}
