/*
 * rt_bench.c: the real-time heap (rt_*, the drop-in build) against glibc's
 * malloc/free and a TLSF-style good-fit heap (tlsf_ref.c).
 *   --waste        each synthetic trace replayed on rt (in a 512 MiB arena,
 *                  and in exactly rt_heap_required of the trace's peak and
 *                  largest request) and on TLSF: the memory each needs
 *                  (high-water mark of block ends above the arena's start)
 *                  over the trace's peak live requested bytes
 *   --throughput   ns per malloc+free pair (random sizes, 1000 live slots),
 *                  median of --runs runs
 *   --latency      cycles (rdtsc) per call of malloc and of free: p50, p99,
 *                  p99.9 and max over all calls of the throughput workload
 * Prints markdown tables.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "mymalloc_rt.h"
#include "tlsf_ref.h"

static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static size_t log_uniform(size_t lo, size_t hi)
{
    double u = (double)(rng() >> 11) / (double)(1ull << 53);
    double l = __builtin_log((double)lo), h = __builtin_log((double)hi);
    return (size_t)__builtin_exp(l + u * (h - l));
}

/* ---------------------------------------------------------- traces */
struct event {
    uint32_t slot; /* the slot freed (size 0) or filled */
    uint32_t size; /* 0: free */
};
struct trace {
    const char *name;
    struct event *events;
    size_t count, slots;
};

static void push(struct trace *t, uint32_t slot, uint32_t size, size_t *cap)
{
    if (t->count == *cap) {
        *cap = *cap ? 2 * *cap : 1 << 16;
        t->events = realloc(t->events, *cap * sizeof(*t->events));
    }
    t->events[t->count++] = (struct event){slot, size};
}

/* Steady replacement: `slots` live objects, random slot replaced each step. */
static struct trace steady(const char *name, size_t slots, long steps, size_t (*size_of)(void))
{
    struct trace t = {.name = name, .slots = slots};
    size_t cap = 0;
    char *used = calloc(slots, 1);
    for (long i = 0; i < steps; i++) {
        uint32_t s = (uint32_t)(rng() % slots);
        if (used[s])
            push(&t, s, 0, &cap);
        uint32_t size = (uint32_t)size_of();
        push(&t, s, size ? size : 1, &cap);
        used[s] = 1;
    }
    free(used);
    return t;
}
static size_t small_sizes(void) { return 8 + rng() % 121; }
static size_t mixed_sizes(void) { return log_uniform(16, 16384); }
static size_t tail_sizes(void) { return rng() % 16 ? 16 + rng() % 240 : log_uniform(256, 65536); }

/* Phases: small objects, then medium, then large, each phase freeing most
 * of the previous one's. */
static struct trace phases(long steps)
{
    struct trace t = {.name = "phases", .slots = 12000};
    size_t cap = 0;
    char *used = calloc(t.slots, 1);
    size_t ranges[3][2] = {{16, 128}, {128, 1024}, {1024, 8192}};
    size_t per_phase_slots[3] = {12000, 3000, 400};
    for (int p = 0; p < 3; p++) {
        for (uint32_t s = 0; s < t.slots; s++)
            if (used[s] && rng() % 10) {
                push(&t, s, 0, &cap);
                used[s] = 0;
            }
        for (long i = 0; i < steps / 3; i++) {
            uint32_t s = (uint32_t)(rng() % per_phase_slots[p]);
            if (used[s])
                push(&t, s, 0, &cap);
            push(&t, s, (uint32_t)log_uniform(ranges[p][0], ranges[p][1]), &cap);
            used[s] = 1;
        }
    }
    free(used);
    return t;
}

/* A queue that grows and drains: random sizes, first in first out. */
static struct trace queue(long steps)
{
    struct trace t = {.name = "queue", .slots = 20000};
    size_t cap = 0, head = 0, tail = 0;
    for (long i = 0; i < steps; i++) {
        long phase = (i / 20000) % 2;
        if ((phase == 0 && tail - head < t.slots) || head == tail) {
            push(&t, (uint32_t)(tail % t.slots), (uint32_t)(32 + rng() % 993), &cap);
            tail++;
        } else {
            push(&t, (uint32_t)(head % t.slots), 0, &cap);
            head++;
        }
    }
    return t;
}

/* The trace's peak live requested bytes and largest request. */
static void trace_needs(const struct trace *t, size_t *peak, size_t *largest)
{
    uint32_t *sizes = calloc(t->slots, sizeof(*sizes));
    size_t live = 0;
    *peak = *largest = 0;
    for (size_t i = 0; i < t->count; i++) {
        const struct event *e = &t->events[i];
        live += e->size ? e->size : 0;
        live -= e->size ? 0 : sizes[e->slot];
        sizes[e->slot] = e->size ? e->size : 0;
        *peak = live > *peak ? live : *peak;
        *largest = e->size > *largest ? e->size : *largest;
    }
    free(sizes);
}

/* Replays a trace; returns the high-water mark of block ends over the
 * trace's peak live requested bytes. */
enum heap_kind { HEAP_RT, HEAP_TLSF };
static double replay(const struct trace *t, enum heap_kind kind, size_t arena_bytes)
{
    char *arena = malloc(arena_bytes);
    void **ptrs = calloc(t->slots, sizeof(*ptrs));
    uint32_t *sizes = calloc(t->slots, sizeof(*sizes));
    rt_heap_t *rt = kind == HEAP_RT ? rt_heap_init(arena, arena_bytes) : NULL;
    struct tlsf_ref *tl = kind == HEAP_TLSF ? tlsf_ref_init(arena, arena_bytes) : NULL;
    uintptr_t base = 0, high = 0;
    size_t live = 0, peak = 0;
    for (size_t i = 0; i < t->count; i++) {
        const struct event *e = &t->events[i];
        if (e->size == 0) {
            if (rt)
                rt_free(rt, ptrs[e->slot]);
            else
                tlsf_ref_free(tl, ptrs[e->slot]);
            live -= sizes[e->slot];
            continue;
        }
        void *p = rt ? rt_malloc(rt, e->size) : tlsf_ref_malloc(tl, e->size);
        if (!p) {
            fprintf(stderr, "rt_bench: %s ran out of a %zu-byte arena\n", t->name, arena_bytes);
            exit(1);
        }
        size_t usable = rt ? rt_usable_size(rt, p) : tlsf_ref_usable_size(p);
        if (base == 0 || (uintptr_t)p < base)
            base = (uintptr_t)p; /* the first block: both heaps start at the bottom */
        if ((uintptr_t)p + usable > high)
            high = (uintptr_t)p + usable;
        ptrs[e->slot] = p;
        sizes[e->slot] = e->size;
        live += e->size;
        if (live > peak)
            peak = live;
    }
    free(arena);
    free(ptrs);
    free(sizes);
    return (double)(high - base + 8) / (double)peak;
}

static void bench_waste(int quick)
{
    long steps = quick ? 100000 : 600000;
    struct trace traces[] = {
        steady("small-steady", 5000, steps, small_sizes),
        steady("mixed-steady", 2000, steps, mixed_sizes),
        steady("small+tail", 4000, steps, tail_sizes),
        phases(steps),
        queue(steps),
    };
    printf("\n### Memory needed on traces (high-water mark / peak live requested bytes)\n\n");
    printf("rt: in a 512 MiB arena, and in exactly rt_heap_required(peak, largest request) "
           "(its good-fit region is a sixteenth of that; past it, blocks come from the "
           "reserve)\n\n");
    printf("| trace | events | peak live | rt_heap_required / peak | rt | rt at the rule | "
           "TLSF-style good fit | rt / TLSF | rt at the rule / TLSF |\n"
           "|---|---|---|---|---|---|---|---|---|\n");
    double product = 1, product_rule = 1;
    int n = sizeof(traces) / sizeof(traces[0]);
    for (int i = 0; i < n; i++) {
        size_t peak, largest;
        trace_needs(&traces[i], &peak, &largest);
        size_t rule = rt_heap_required(peak, largest);
        double r = replay(&traces[i], HEAP_RT, 512u << 20);
        double at_rule = replay(&traces[i], HEAP_RT, rule);
        double tl = replay(&traces[i], HEAP_TLSF, 512u << 20);
        product *= r / tl;
        product_rule *= at_rule / tl;
        printf("| %s | %zu | %zu KiB | %.1f | %.3f | %.3f | %.3f | %.3f | %.3f |\n",
               traces[i].name, traces[i].count, peak >> 10, (double)rule / peak, r, at_rule, tl,
               r / tl, at_rule / tl);
        free(traces[i].events);
    }
    printf("| geometric mean | | | | | | | %.3f | %.3f |\n", __builtin_pow(product, 1.0 / n),
           __builtin_pow(product_rule, 1.0 / n));
}

/* --------------------------------------------------- speed, latency */
static rt_heap_t *rt_heap;
static struct tlsf_ref *tlsf_heap;
static void *a_rt(size_t s) { return rt_malloc(rt_heap, s); }
static void f_rt(void *p) { rt_free(rt_heap, p); }
static void *a_tlsf(size_t s) { return tlsf_ref_malloc(tlsf_heap, s); }
static void f_tlsf(void *p) { tlsf_ref_free(tlsf_heap, p); }
static void *a_glibc(size_t s) { return malloc(s); }
static void f_glibc(void *p) { free(p); }
static const struct {
    const char *name;
    void *(*alloc)(size_t);
    void (*release)(void *);
} heaps[] = {{"rt", a_rt, f_rt}, {"tlsf-ref", a_tlsf, f_tlsf}, {"glibc", a_glibc, f_glibc}};
enum { HEAPS = 3, SLOTS = 1000 };

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* One run: `pairs` malloc+free pairs on random slots; per-call cycles into
 * the arrays if given. Returns ns per pair. */
static double run_pairs(int h, long pairs, size_t max_size, uint32_t *alloc_cycles,
                        uint32_t *free_cycles)
{
    static void *slots[SLOTS];
    rng_state = 12345;
    for (int i = 0; i < SLOTS; i++)
        slots[i] = heaps[h].alloc(1 + rng() % max_size);
    double start = now_ns();
    for (long i = 0; i < pairs; i++) {
        int s = (int)(rng() % SLOTS);
        size_t size = 1 + (rng() >> 20) % max_size;
        if (alloc_cycles) {
            unsigned aux;
            uint64_t t0 = __rdtscp(&aux);
            heaps[h].release(slots[s]);
            uint64_t t1 = __rdtscp(&aux);
            slots[s] = heaps[h].alloc(size);
            uint64_t t2 = __rdtscp(&aux);
            free_cycles[i] = (uint32_t)(t1 - t0);
            alloc_cycles[i] = (uint32_t)(t2 - t1);
        } else {
            heaps[h].release(slots[s]);
            slots[s] = heaps[h].alloc(size);
        }
        *(volatile char *)slots[s] = 1;
    }
    double ns = (now_ns() - start) / pairs;
    for (int i = 0; i < SLOTS; i++)
        heaps[h].release(slots[i]);
    return ns;
}

static void bench_speed(int quick, int runs)
{
    long pairs = quick ? 200000 : 2000000;
    size_t arena = 256u << 20;
    char *m1 = malloc(arena), *m2 = malloc(arena);
    rt_heap = rt_heap_init(m1, arena);
    tlsf_heap = tlsf_ref_init(m2, arena);
    size_t max_sizes[] = {64, 1024, 16384};
    printf("\n### ns per malloc+free pair (median of %d runs; 1000 live slots, random sizes)\n\n",
           runs);
    printf("| sizes | rt | tlsf-ref | glibc | rt / glibc | rt / tlsf-ref |\n|---|---|---|---|---|---|\n");
    for (int k = 0; k < 3; k++) {
        double med[HEAPS];
        for (int h = 0; h < HEAPS; h++) {
            double t[32];
            for (int r = 0; r < runs; r++)
                t[r] = run_pairs(h, pairs, max_sizes[k], NULL, NULL);
            qsort(t, runs, sizeof(double), cmp_double);
            med[h] = t[runs / 2];
        }
        printf("| 1..%zu | %.1f | %.1f | %.1f | %.2f | %.2f |\n", max_sizes[k], med[0], med[1],
               med[2], med[0] / med[2], med[0] / med[1]);
    }
    printf("\n### cycles per call (rdtscp around each call; sizes 1..1024, %ld calls)\n\n", pairs);
    printf("| heap | call | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|\n");
    uint32_t *ac = malloc(pairs * sizeof(uint32_t)), *fc = malloc(pairs * sizeof(uint32_t));
    for (int h = 0; h < HEAPS; h++) {
        run_pairs(h, pairs, 1024, ac, fc);
        uint32_t *arrays[2] = {ac, fc};
        const char *calls[2] = {"malloc", "free"};
        for (int c = 0; c < 2; c++) {
            qsort(arrays[c], pairs, sizeof(uint32_t), cmp_u32);
            printf("| %s | %s | %u | %u | %u | %u |\n", heaps[h].name, calls[c],
                   arrays[c][pairs / 2], arrays[c][pairs * 99 / 100],
                   arrays[c][pairs * 999 / 1000], arrays[c][pairs - 1]);
        }
    }
    free(ac);
    free(fc);
    free(m1);
    free(m2);
}

int main(int argc, char **argv)
{
    int quick = 0, waste = 0, speed = 0, runs = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--waste"))
            waste = 1;
        else if (!strcmp(argv[i], "--throughput") || !strcmp(argv[i], "--latency"))
            speed = 1;
        else if (!strncmp(argv[i], "--runs=", 7))
            runs = atoi(argv[i] + 7);
    }
    if (runs < 1 || runs > 31)
        runs = 7;
    rng_state = 0x2545f4914f6cdd1du;
    if (waste)
        bench_waste(quick);
    if (speed)
        bench_speed(quick, runs);
    return 0;
}
