/*
 * latency: percentiles (p50, p99, p99.9, p99.99, max) of the time of single
 * malloc, free and realloc calls, one thread pinned to one CPU. It keeps
 * --slots live blocks and, at each step, frees a random one and allocates
 * its replacement, then reallocs another random one to a new size, timing
 * each call alone with the time-stamp counter (lfence; rdtsc; lfence around
 * the call; clock_gettime where there is no TSC).
 *
 * Two mixes (--mix): 0, steady: sizes log-uniform in [--min-size,
 * --max-size] throughout; 1, fragmenting: the run is cut into --phases
 * phases and each draws its sizes from one of four bands of that range
 * (small, large, medium-small, medium-large in turn), so the blocks of the
 * last phase, freed in random order, leave holes of the wrong size.
 *
 * Output, one line: NAME_pXX=ns and cyc_NAME_pXX=ticks for NAME in malloc,
 * free, realloc (TSC ticks converted to ns against the monotonic clock; the
 * median cost of an empty timed region is taken off every sample).
 * Preemption outliers: a sample above --outlier-ns is checked against the
 * thread's context-switch count (getrusage RUSAGE_THREAD, read at every such
 * sample and every 64 steps otherwise, always outside the timed region); if
 * the count moved since the last reading, the sample is counted as
 * preempted (preempt_NAME=count) and left out of clean_NAME_max, the largest
 * sample not so explained. csw= and minflt= are the thread's context
 * switches and page faults over the timed steps.
 *
 * Built twice: against the C library's malloc (the runner swaps allocators
 * with LD_PRELOAD), and with -DLATENCY_RT_HEAP against mymalloc's real-time
 * heap directly (build/rt/mymalloc_rt.c): rt_malloc/rt_free/rt_realloc on a
 * pre-faulted heap of rt_heap_required(M, --max-size) bytes, where M is the
 * exact peak of live requested bytes of this run's trace (a dry run of the
 * same seeded trace computes it), so the heap provably never fails.
 * Samples live in mmap'd memory, outside the allocator tested. LATENCY_CDF=FILE
 * in the environment writes the sorted samples' tail distribution there
 * (lines: call ns fraction_slower), for the charts of bench/rt3r.
 */
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#include "common.h"

#ifdef LATENCY_RT_HEAP
#include "mymalloc_rt.h"
static rt_heap_t *rt_heap;
#define LAT_MALLOC(n) rt_malloc(rt_heap, (n))
#define LAT_FREE(p) rt_free(rt_heap, (p))
#define LAT_REALLOC(p, n) rt_realloc(rt_heap, (p), (n))
#define LAT_PROVIDER() "rt_heap"
#else
#define LAT_MALLOC(n) malloc(n)
#define LAT_FREE(p) free(p)
#define LAT_REALLOC(p, n) realloc((p), (n))
#define LAT_PROVIDER() malloc_provider()
#endif

static long steps = 1000000, warmup = 200000, slots = 4096, min_size = 8, max_size = 16384;
static long mix = 0, phases = 8, pin = 1, cpu = -1, outlier_ns = 10000, seed = 1;

static const struct bench_opt opts[] = {
    { "steps", &steps, "timed steps (a free, a malloc and a realloc each)", 1 },
    { "warmup", &warmup, "untimed steps first", 0 },
    { "slots", &slots, "live blocks", 0 },
    { "min-size", &min_size, "smallest block", 0 },
    { "max-size", &max_size, "largest block", 0 },
    { "mix", &mix, "0 steady, 1 fragmenting (sizes change in phases)", 0 },
    { "phases", &phases, "phases of the fragmenting mix", 0 },
    { "pin", &pin, "1: pin the thread to one CPU", 0 },
    { "cpu", &cpu, "the CPU to pin to (-1: the one it starts on)", 0 },
    { "outlier-ns", &outlier_ns, "samples above this are checked for a context switch", 0 },
    { "seed", &seed, "seed of the trace", 0 },
};

enum { CALL_FREE, CALL_MALLOC, CALL_REALLOC, CALLS };
static const char *const call_names[CALLS] = { "free", "malloc", "realloc" };

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
#ifdef HAVE_TSC
    double t0 = now_seconds();
    uint64_t c0 = ticks();
    while (now_seconds() - t0 < 0.05)
        ;
    return (now_seconds() - t0) * 1e9 / (double)(ticks() - c0);
#else
    return 1.0;
#endif
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void *map_or_die(size_t bytes, int flags)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED) {
        perror("latency: mmap");
        exit(2);
    }
    return p;
}

/* ---- the trace: the same for every allocator, and for the dry run ---------- */

/* The size band of a step: the whole range, or one of four log bands of it. */
static size_t next_size(struct rng *rng, long step)
{
    if (mix == 0)
        return rng_log_size(rng, (size_t)min_size, (size_t)max_size);
    static const int band_order[4] = { 0, 3, 1, 2 };
    long phase = (step + warmup) * phases / (steps + warmup);
    int band = band_order[phase % 4];
    int span = 63 - __builtin_clzl((unsigned long)(max_size / min_size)); /* doublings */
    size_t band_lo = (size_t)min_size << (span * band / 4);
    size_t band_hi = band == 3 ? (size_t)max_size : (size_t)min_size << (span * (band + 1) / 4);
    return rng_log_size(rng, band_lo, band_hi);
}

/* One step's decisions: which block to replace and its new size, which to realloc and to what. */
struct step_plan {
    long replace, resize;
    size_t size, new_size;
};

static struct step_plan plan_step(struct rng *rng, long step)
{
    struct step_plan s;
    s.replace = (long)rng_below(rng, (uint64_t)slots);
    s.size = next_size(rng, step);
    s.resize = (long)rng_below(rng, (uint64_t)slots);
    s.new_size = next_size(rng, step);
    return s;
}

#ifdef LATENCY_RT_HEAP
/*
 * The peak of live requested bytes over the whole trace (initial fill,
 * warm-up, timed steps), counting a moving realloc's old and new block
 * together, as rt_heap_required's contract does.
 */
static size_t trace_peak_live(void)
{
    size_t *sizes = map_or_die((size_t)slots * sizeof *sizes, 0);
    struct rng rng = rng_seeded((uint64_t)seed);
    size_t live = 0, peak = 0;
    for (long i = 0; i < slots; i++) {
        sizes[i] = next_size(&rng, -warmup);
        live += sizes[i];
    }
    peak = live;
    for (long i = -warmup; i < steps; i++) {
        struct step_plan s = plan_step(&rng, i);
        live = live - sizes[s.replace] + s.size;
        sizes[s.replace] = s.size;
        if (live + s.new_size > peak)
            peak = live + s.new_size;
        live = live - sizes[s.resize] + s.new_size;
        sizes[s.resize] = s.new_size;
        if (live > peak)
            peak = live;
    }
    munmap(sizes, (size_t)slots * sizeof *sizes);
    return peak;
}

/* The rt heap, sized for this trace, pre-faulted and (best effort) locked. */
static void rt_heap_setup(void)
{
    size_t peak = trace_peak_live();
    size_t bytes = rt_heap_required(peak, (size_t)max_size);
    void *memory = map_or_die(bytes, MAP_POPULATE);
    int locked = mlock(memory, bytes) == 0;
    rt_heap = rt_heap_init(memory, bytes);
    if (rt_heap == NULL) {
        fprintf(stderr, "latency: rt_heap_init failed\n");
        exit(2);
    }
    fprintf(stderr, "latency: rt heap of %zu MiB for a peak of %zu KiB live, requests <= %ld, %s\n",
            bytes >> 20, peak >> 10, max_size, locked ? "locked" : "not locked (mlock refused)");
}
#endif

/* ---- context switches ---------------------------------------------------- */

struct thread_usage {
    long switches, faults;
};

static struct thread_usage thread_usage(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    struct thread_usage u = { ru.ru_nvcsw + ru.ru_nivcsw, ru.ru_minflt + ru.ru_majflt };
    return u;
}

/* The blocks' first min(old, new, 8) bytes after a realloc: what tag_write put there. */
static void prefix_check(const void *p, size_t old_size, size_t new_size, uint64_t tag)
{
    const unsigned char *b = p;
    size_t n = old_size < new_size ? old_size : new_size;
    for (size_t i = 0; i < n && i < 8; i++) {
        if (b[i] != (unsigned char)(tag >> (8 * i))) {
            bench_error("realloc lost the block's contents", p, new_size);
            return;
        }
    }
}

static void *checked(void *p, size_t size)
{
    if (p == NULL) {
        bench_error("allocation returned NULL", NULL, size);
        fprintf(stderr, "latency: out of memory, verify=FAILED\n");
        exit(1);
    }
    return p;
}

static void pin_thread(void)
{
    if (!pin)
        return;
    if (cpu < 0)
        cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        perror("latency: sched_setaffinity");
        exit(2);
    }
}

/* Sorts the samples; prints NAME_p50=ns ... NAME_max=ns and cyc_NAME_... in ticks. */
static void print_percentiles(const char *name, uint64_t *s, long n, double scale)
{
    qsort(s, (size_t)n, sizeof *s, compare_u64);
    static const struct { const char *label; double q; } points[] = {
        { "p50", 0.50 }, { "p99", 0.99 }, { "p999", 0.999 }, { "p9999", 0.9999 }, { "max", 1.0 },
    };
    for (int unit = 0; unit < 2; unit++) {
        for (size_t i = 0; i < COUNTOF(points); i++) {
            long k = (long)(points[i].q * (double)(n - 1));
            printf(" %s%s_%s=%.0f", unit ? "cyc_" : "", name, points[i].label,
                   (double)s[k] * (unit ? 1.0 : scale));
        }
    }
}

/*
 * The tail of sorted samples: for fractions slower 1, 0.5, ... down to 1/n
 * in 20 steps per decade, the latency at that fraction, in ns.
 */
static void write_cdf(FILE *f, const char *name, const uint64_t *s, long n, double scale)
{
    for (double slower = 1.0; slower * (double)n >= 1.0; slower /= 1.122018454) {
        long k = (long)((1.0 - slower) * (double)(n - 1));
        fprintf(f, "%s %.1f %.3g\n", name, (double)s[k] * scale, slower);
    }
    fprintf(f, "%s %.1f %.3g\n", name, (double)s[n - 1] * scale, 1.0 / (double)n);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "latency", "percentiles of single malloc, free and realloc calls",
               opts, COUNTOF(opts));
    if (slots < 1 || min_size < 1 || max_size < min_size || phases < 1 || warmup < 0 ||
        (mix != 0 && mix != 1)) {
        fprintf(stderr, "latency: bad options\n");
        return 2;
    }
    pin_thread();
#ifdef LATENCY_RT_HEAP
    rt_heap_setup();
#endif
    uint64_t *samples[CALLS];
    for (int c = 0; c < CALLS; c++)
        samples[c] = map_or_die((size_t)steps * sizeof(uint64_t), MAP_POPULATE);
    struct blk *set = map_or_die((size_t)slots * sizeof *set, MAP_POPULATE);
    struct rng rng = rng_seeded((uint64_t)seed);
    for (long i = 0; i < slots; i++) {
        size_t size = next_size(&rng, -warmup);
        set[i] = (struct blk){ checked(LAT_MALLOC(size), size), size, next_tag() };
        tag_write(set[i].p, size, set[i].tag);
    }

    /* the cost of the timing itself: the median of empty timed regions */
    long nempty = steps < 100000 ? steps : 100000;
    for (long i = 0; i < nempty; i++) {
        uint64_t t0 = ticks();
        samples[0][i] = ticks() - t0;
    }
    qsort(samples[0], (size_t)nempty, sizeof(uint64_t), compare_u64);
    uint64_t overhead = samples[0][nempty / 2];
    double scale = ns_per_tick();
    uint64_t outlier_ticks = (uint64_t)((double)outlier_ns / scale);

    long preempted[CALLS] = { 0 };
    uint64_t clean_max[CALLS] = { 0 };
    struct thread_usage start = thread_usage(), last = start;
    for (long i = -warmup; i < steps; i++) {
        struct step_plan s = plan_step(&rng, i);
        struct blk *b = &set[s.replace];
        tag_check(b->p, b->size, b->tag);
        uint64_t d[CALLS], t0 = ticks();
        LAT_FREE(b->p);
        uint64_t t1 = ticks();
        void *p = LAT_MALLOC(s.size);
        d[CALL_MALLOC] = ticks() - t1;
        d[CALL_FREE] = t1 - t0;
        *b = (struct blk){ checked(p, s.size), s.size, next_tag() };
        tag_write(p, s.size, b->tag);

        b = &set[s.resize];
        tag_check(b->p, b->size, b->tag);
        t0 = ticks();
        p = LAT_REALLOC(b->p, s.new_size);
        d[CALL_REALLOC] = ticks() - t0;
        prefix_check(checked(p, s.new_size), b->size, s.new_size, b->tag);
        *b = (struct blk){ p, s.new_size, next_tag() };
        tag_write(p, s.new_size, b->tag);
        if (i < 0)
            continue;

        int slow = 0;
        for (int c = 0; c < CALLS; c++) {
            samples[c][i] = d[c] > overhead ? d[c] - overhead : 0;
            slow |= samples[c][i] > outlier_ticks;
        }
        if (!slow && (i & 63) != 0)
            continue;
        struct thread_usage now = thread_usage();
        int switched = now.switches != last.switches;
        last = now;
        for (int c = 0; c < CALLS; c++) {
            if (samples[c][i] > outlier_ticks && switched)
                preempted[c]++;
            else if (samples[c][i] > clean_max[c])
                clean_max[c] = samples[c][i];
        }
    }
    struct thread_usage end = thread_usage();
    for (long i = 0; i < slots; i++) {
        tag_check(set[i].p, set[i].size, set[i].tag);
        LAT_FREE(set[i].p);
    }

    printf("latency steps=%ld mix=%s cpu=%ld timer_ns=%.0f ns_per_tick=%.4f", steps,
           mix ? "fragmenting" : "steady", pin ? cpu : -1L, (double)overhead * scale, scale);
    const char *cdf_path = getenv("LATENCY_CDF");
    FILE *cdf = cdf_path ? fopen(cdf_path, "w") : NULL;
    for (int c = 0; c < CALLS; c++) {
        print_percentiles(call_names[c], samples[c], steps, scale);
        printf(" clean_%s_max=%.0f preempt_%s=%ld", call_names[c], (double)clean_max[c] * scale,
               call_names[c], preempted[c]);
        if (cdf)
            write_cdf(cdf, call_names[c], samples[c], steps, scale);
    }
    if (cdf)
        fclose(cdf);
    long errors = atomic_load(&bench_errors);
    printf(" csw=%ld minflt=%ld verify=%s malloc=%s\n", end.switches - start.switches,
           end.faults - start.faults, errors ? "FAILED" : "ok", LAT_PROVIDER());
    return errors ? 1 : 0;
}
