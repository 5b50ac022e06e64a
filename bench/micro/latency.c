/*
 * latency: percentiles (p50, p99, p99.9, max) of the time of single malloc
 * and free calls under a steady mix, one thread. It keeps --slots live
 * blocks of log-uniform sizes between --min-size and --max-size and, at each
 * step, frees a random one and allocates its replacement, timing each call
 * alone with the time-stamp counter (rdtsc fenced by lfence; clock_gettime
 * where there is no TSC). The TSC is converted to nanoseconds against the
 * monotonic clock, and the median cost of an empty timed region is taken off
 * every sample. Samples live in mmap'd memory, outside the allocator tested.
 * Prints one line: malloc_p50=... malloc_p99=... ... free_max=... (ns).
 */
#include <sys/mman.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#include "common.h"

static long steps = 1000000, warmup = 200000, slots = 4096, min_size = 8, max_size = 16384;

static const struct bench_opt opts[] = {
    { "steps", &steps, "timed steps (one malloc and one free each)", 1 },
    { "warmup", &warmup, "untimed steps first", 0 },
    { "slots", &slots, "live blocks", 0 },
    { "min-size", &min_size, "smallest block", 0 },
    { "max-size", &max_size, "largest block", 0 },
};

static inline uint64_t ticks(void)
{
#ifdef HAVE_TSC
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* Nanoseconds per tick, measured over 50 ms. */
static double ns_per_tick(void)
{
    double t0 = now_seconds();
    uint64_t c0 = ticks();
    while (now_seconds() - t0 < 0.05)
        ;
    return (now_seconds() - t0) * 1e9 / (double)(ticks() - c0);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t *samples_new(long n)
{
    void *p = mmap(NULL, (size_t)n * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

/* Sorts the samples and prints NAME_p50=... NAME_p99=... NAME_p999=... NAME_max=... */
static void print_percentiles(const char *name, uint64_t *s, long n, double scale)
{
    qsort(s, (size_t)n, sizeof *s, compare_u64);
    static const struct { const char *label; double q; } points[] = {
        { "p50", 0.50 }, { "p99", 0.99 }, { "p999", 0.999 }, { "max", 1.0 },
    };
    for (size_t i = 0; i < COUNTOF(points); i++) {
        long k = (long)(points[i].q * (double)(n - 1));
        printf(" %s_%s=%.0f", name, points[i].label, (double)s[k] * scale);
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "latency", "percentiles of single malloc and free calls", opts,
               COUNTOF(opts));
    if (slots < 1 || min_size < 1 || max_size < min_size) {
        fprintf(stderr, "latency: bad sizes\n");
        return 2;
    }
    uint64_t *malloc_ticks = samples_new(steps), *free_ticks = samples_new(steps);
    struct blk *set = alloc_or_die((size_t)slots * sizeof *set);
    struct rng rng = rng_seeded(1);
    for (long i = 0; i < slots; i++) {
        set[i] = blk_new(rng_log_size(&rng, (size_t)min_size, (size_t)max_size));
    }

    /* the cost of the timing itself: the median of empty timed regions */
    for (long i = 0; i < steps && i < 100000; i++) {
        uint64_t t0 = ticks();
        malloc_ticks[i] = ticks() - t0;
    }
    long nempty = steps < 100000 ? steps : 100000;
    qsort(malloc_ticks, (size_t)nempty, sizeof *malloc_ticks, compare_u64);
    uint64_t overhead = malloc_ticks[nempty / 2];

    for (long i = -warmup; i < steps; i++) {
        struct blk *b = &set[rng_below(&rng, (uint64_t)slots)];
        size_t size = rng_log_size(&rng, (size_t)min_size, (size_t)max_size);
        tag_check(b->p, b->size, b->tag);
        uint64_t t0 = ticks();
        free(b->p);
        uint64_t t1 = ticks();
        void *p = malloc(size);
        uint64_t t2 = ticks();
        if (p == NULL)
            alloc_or_die(SIZE_MAX >> 1); /* reports out of memory and exits */
        b->p = p;
        b->size = size;
        b->tag = next_tag();
        tag_write(p, size, b->tag);
        if (i >= 0) {
            free_ticks[i] = t1 - t0 > overhead ? t1 - t0 - overhead : 0;
            malloc_ticks[i] = t2 - t1 > overhead ? t2 - t1 - overhead : 0;
        }
    }
    for (long i = 0; i < slots; i++)
        blk_free(set[i]);
    free(set);

#ifdef HAVE_TSC
    double scale = ns_per_tick();
#else
    double scale = 1.0;
#endif
    printf("latency steps=%ld timer_ns=%.0f", steps, (double)overhead * scale);
    print_percentiles("malloc", malloc_ticks, steps, scale);
    print_percentiles("free", free_ticks, steps, scale);
    long errors = atomic_load(&bench_errors);
    printf(" verify=%s malloc=%s\n", errors ? "FAILED" : "ok", malloc_provider());
    return errors ? 1 : 0;
}
