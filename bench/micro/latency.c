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
 * A control is timed the same way at every step, after the allocator's calls:
 * a fixed function of about 60 instructions (control_work), so the
 * platform's own spikes (interrupts, host preemption) are measured in the
 * same run beside the allocator's (control_pXX=ns).
 *
 * Platform outliers: a sample above --slow-ns is classified after the run
 * against the kernel's record of what happened to the thread and when
 * (bench/rt3r/platform_events.h: interrupts, IPIs, softirqs, NMIs, page
 * faults, system calls, context switches, each time-stamped by the kernel; no
 * system call in the loop): causes_NAME_CAUSE=count for each cause found
 * inside the sample's window. Faults and system calls are the timed code's
 * own; the others are the platform's (PLATFORM_CAUSES). A sample above
 * --steal-ns with no such event is checked for time taken by the hypervisor:
 * the thread's CPU time (which excludes steal) against the wall clock since
 * the last such check; if at least half the sample is missing from the CPU
 * time, and the thread was not switched out meanwhile, it is stolen. Samples
 * with a platform cause are the identified outliers (ident_NAME=count):
 * clean_NAME_max is the largest sample without one, own_NAME the count of
 * slow samples with only a fault or system call, unexpl_NAME of those with
 * no cause at all (unexpl_big_NAME: of those above --steal-ns, the size of
 * the platform's spikes the guest cannot see; small_NAME_max: the largest
 * sample without a platform cause at most --steal-ns). timed_ms_NAME is the
 * time spent inside NAME's timed regions, for the rate of those spikes.
 * csw=, minflt=, steal_ms= and irq_* are the thread's context switches and
 * page faults and the pinned CPU's steal time and interrupts
 * (/proc/interrupts) over the timed steps, events_CAUSE= the events recorded.
 *
 * --lock=1 locks the process's memory (mlockall, on fault, so nothing is
 * faulted in that the allocator did not touch; only when RLIMIT_MEMLOCK can
 * be lifted or CAP_IPC_LOCK ignores it) and prefaults the stack;
 * --fifo=PRIO runs the thread at SCHED_FIFO (root); the output says whether
 * each took effect.
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
 * LATENCY_SLOW=FILE writes every slow sample there, a line each: call step
 * ns size lost_ns causes (size: of the block freed, allocated or reallocated
 * to; lost_ns: wall minus CPU time since the last steal check, 0 when not
 * checked; causes: none when nothing was recorded in the window).
 */
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#include "common.h"
#include "../rt3r/platform_events.h"

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
static long mix = 0, phases = 8, pin = 1, cpu = -1, slow_ns = 500, steal_ns = 2000, seed = 1;
static long lock_memory = 0, fifo = 0;

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
    { "slow-ns", &slow_ns, "samples above this are classified against the platform's events", 0 },
    { "steal-ns", &steal_ns, "slow samples above this with no event are checked for steal", 0 },
    { "lock", &lock_memory, "1: mlockall (on fault) and prefault the stack", 0 },
    { "fifo", &fifo, "SCHED_FIFO priority of the thread (0: not)", 0 },
    { "seed", &seed, "seed of the trace", 0 },
};

enum { CALL_FREE, CALL_MALLOC, CALL_REALLOC, CALL_CONTROL, CALLS };
static const char *const call_names[CALLS] = { "free", "malloc", "realloc", "control" };

/* The control: a fixed chain of about 60 instructions (5 rounds of 11), called through a pointer. */
static __attribute__((noinline)) uint64_t control_work(uint64_t x)
{
    for (int i = 0; i < 5; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}
static uint64_t (*volatile control_call)(uint64_t) = control_work;

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
    if (flags & MAP_POPULATE) /* under mlockall(MCL_ONFAULT) the kernel skips MAP_POPULATE */
        memset(p, 0, bytes);
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

/* ---- what the platform did ------------------------------------------------ */

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

/* Whether the process holds capability CAP (its bit in CapEff of /proc/self/status). */
static int has_capability(int cap)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long caps = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "CapEff: %llx", &caps) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return (caps >> cap) & 1;
}

/* --lock and --fifo: "ok", "off" or why not. */
static const char *lock_result = "off", *fifo_result = "off";

static void quiet_the_platform(void)
{
    /* under a finite RLIMIT_MEMLOCK, MCL_FUTURE would make the allocator's mmap fail at the limit,
     * unless CAP_IPC_LOCK (bit 14 of CapEff) lifts it */
    struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
    if (lock_memory && setrlimit(RLIMIT_MEMLOCK, &unlimited) != 0 && !has_capability(14)) {
        lock_result = "skipped(RLIMIT_MEMLOCK)";
    } else if (lock_memory) {
        lock_result = mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0 ? "ok" : "refused";
        volatile char stack[256 << 10];
        for (size_t i = 0; i < sizeof stack; i += 4096)
            stack[i] = 0;
    }
    if (fifo > 0) {
        struct sched_param sp = { .sched_priority = (int)fifo };
        fifo_result = sched_setscheduler(0, SCHED_FIFO, &sp) == 0 ? "ok" : "refused";
    }
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

/* A sample above --slow-ns: its window in CLOCK_MONOTONIC ns, for the classification after the run. */
struct slow_sample {
    uint64_t begin_ns, end_ns, ticks;
    uint64_t steal_since_ns; /* the start of the interval whose lost time was checked */
    int64_t lost_ns;         /* wall time minus CPU time over that interval; 0 when not checked */
    long step;
    size_t size;
    unsigned causes; /* bit 1 << CAUSE_x */
    int call;
};
#define MAX_SLOW (1L << 18)
/* an event this close to a window counts as inside it: the TSC-to-clock conversion's error */
#define WINDOW_SLACK_NS 50

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
    quiet_the_platform();
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

    const char *tracing = platform_events_open(1 << 20);
    struct slow_sample *slow = map_or_die(MAX_SLOW * sizeof *slow, MAP_POPULATE);
    long nslow = 0, slow_dropped = 0;
    uint64_t slow_ticks = (uint64_t)((double)slow_ns / scale);
    uint64_t steal_ticks = (uint64_t)((double)steal_ns / scale);
    uint64_t last_wall = 0, last_cpu = 0, sink = 0, timed_ticks[CALLS] = { 0 };
    static const char *const irq_rows[][6] = {
        { "LOC", NULL }, { "RES", "CAL", "TLB", "IWI", "PLT", NULL }, { NULL },
    };
    long irq_start[3], steal_start = proc_steal_ms((int)cpu);
    struct thread_usage start = thread_usage();
    for (long i = -warmup; i < steps; i++) {
        if (i == 0) {
            for (int r = 0; r < 3; r++)
                irq_start[r] = proc_interrupts((int)cpu, irq_rows[r][0] ? irq_rows[r] : NULL);
            start = thread_usage();
            if (tracing == NULL)
                platform_events_enable(1);
            last_wall = mono_ns(CLOCK_MONOTONIC);
            last_cpu = mono_ns(CLOCK_THREAD_CPUTIME_ID);
        }
        struct step_plan s = plan_step(&rng, i);
        struct blk *b = &set[s.replace];
        tag_check(b->p, b->size, b->tag);
        size_t sizes[CALLS] = { b->size, s.size, s.new_size, 0 };
        uint64_t d[CALLS], t[CALLS], t0 = ticks();
        LAT_FREE(b->p);
        uint64_t t1 = ticks();
        void *p = LAT_MALLOC(s.size);
        d[CALL_MALLOC] = ticks() - t1;
        d[CALL_FREE] = t1 - t0;
        t[CALL_FREE] = t0;
        t[CALL_MALLOC] = t1;
        *b = (struct blk){ checked(p, s.size), s.size, next_tag() };
        tag_write(p, s.size, b->tag);

        b = &set[s.resize];
        tag_check(b->p, b->size, b->tag);
        t[CALL_REALLOC] = t0 = ticks();
        p = LAT_REALLOC(b->p, s.new_size);
        d[CALL_REALLOC] = ticks() - t0;
        prefix_check(checked(p, s.new_size), b->size, s.new_size, b->tag);
        *b = (struct blk){ p, s.new_size, next_tag() };
        tag_write(p, s.new_size, b->tag);

        t[CALL_CONTROL] = t0 = ticks();
        sink += control_call(t0);
        d[CALL_CONTROL] = ticks() - t0;
        if (i < 0)
            continue;

        uint64_t worst = 0;
        for (int c = 0; c < CALLS; c++) {
            timed_ticks[c] += d[c];
            samples[c][i] = d[c] > overhead ? d[c] - overhead : 0;
            if (samples[c][i] > worst)
                worst = samples[c][i];
        }
        if (worst <= slow_ticks) {
            if ((i & 4095) == 0 && platform_events_pending())
                platform_events_drain();
            continue;
        }
        /* a slow step: its samples' windows in CLOCK_MONOTONIC, from a (TSC, clock) pair taken now */
        uint64_t tsc_now = ticks(), wall = mono_ns(CLOCK_MONOTONIC);
        unsigned stolen = 0;
        uint64_t steal_since = last_wall;
        int64_t lost = 0;
        if (worst > steal_ticks) {
            /* CPU time excludes steal: what the wall clock gained beyond it since the last check */
            uint64_t cpu_time = mono_ns(CLOCK_THREAD_CPUTIME_ID);
            lost = (int64_t)((wall - last_wall) - (cpu_time - last_cpu));
            if (lost > (int64_t)((double)worst * scale / 2))
                stolen = 1u << CAUSE_STOLEN;
            last_wall = mono_ns(CLOCK_MONOTONIC);
            last_cpu = cpu_time;
        }
        for (int c = 0; c < CALLS; c++) {
            if (samples[c][i] <= slow_ticks)
                continue;
            if (nslow == MAX_SLOW) {
                slow_dropped++;
                continue;
            }
            uint64_t begin = wall - (uint64_t)((double)(tsc_now - t[c]) * scale);
            slow[nslow++] = (struct slow_sample){ begin, begin + (uint64_t)((double)d[c] * scale),
                                                  samples[c][i], steal_since, lost, i, sizes[c],
                                                  samples[c][i] > steal_ticks ? stolen : 0, c };
        }
        if (platform_events_pending())
            platform_events_drain();
    }
    struct thread_usage end = thread_usage();
    long irq_delta[3], steal_ms = proc_steal_ms((int)cpu) - steal_start;
    for (int r = 0; r < 3; r++)
        irq_delta[r] = proc_interrupts((int)cpu, irq_rows[r][0] ? irq_rows[r] : NULL) - irq_start[r];
    if (tracing == NULL) {
        platform_events_enable(0);
        platform_events_drain();
    }
    for (long i = 0; i < slots; i++) {
        tag_check(set[i].p, set[i].size, set[i].tag);
        LAT_FREE(set[i].p);
    }

    /* classify: a slow sample with an event inside its window (or stolen time) is identified */
    long causes[CALLS][CAUSES] = { { 0 } }, nslow_of[CALLS] = { 0 }, unexplained[CALLS] = { 0 };
    long identified[CALLS] = { 0 }, own[CALLS] = { 0 }, unexplained_big[CALLS] = { 0 };
    uint64_t clean_max[CALLS] = { 0 }, small_max[CALLS] = { 0 };
    const char *slow_path = getenv("LATENCY_SLOW");
    FILE *slow_file = slow_path ? fopen(slow_path, "w") : NULL;
    for (long k = 0; k < nslow; k++) {
        struct slow_sample *x = &slow[k];
        /* lost time is steal only if the thread was not switched out in that interval */
        if ((platform_causes_between(x->steal_since_ns, x->end_ns) >> CAUSE_SWITCH) & 1)
            x->causes &= ~(1u << CAUSE_STOLEN);
        x->causes |= platform_causes_between(x->begin_ns - WINDOW_SLACK_NS, x->end_ns + WINDOW_SLACK_NS);
        nslow_of[x->call]++;
        for (int c = 0; c < CAUSES; c++)
            causes[x->call][c] += (x->causes >> c) & 1;
        if (x->causes & PLATFORM_CAUSES)
            identified[x->call]++;
        else if (x->causes != 0)
            own[x->call]++;
        else
            unexplained[x->call]++;
        unexplained_big[x->call] += x->causes == 0 && x->ticks > steal_ticks;
        if (slow_file) {
            fprintf(slow_file, "%s %ld %.0f %zu %lld", call_names[x->call], x->step,
                    (double)x->ticks * scale, x->size, (long long)x->lost_ns);
            for (int c = 0; c < CAUSES; c++)
                if ((x->causes >> c) & 1)
                    fprintf(slow_file, " %s", cause_names[c]);
            fprintf(slow_file, "%s\n", x->causes ? "" : " none");
        }
    }
    if (slow_file)
        fclose(slow_file);
    /* the largest sample not identified: samples not classified are all at most slow_ns */
    for (int c = 0; c < CALLS; c++)
        for (long i = 0; i < steps; i++)
            if (samples[c][i] <= slow_ticks && samples[c][i] > clean_max[c])
                clean_max[c] = small_max[c] = samples[c][i];
    for (long k = 0; k < nslow; k++) {
        int c = slow[k].call;
        if (slow[k].causes & PLATFORM_CAUSES)
            continue;
        if (slow[k].ticks > clean_max[c])
            clean_max[c] = slow[k].ticks;
        if (slow[k].ticks <= steal_ticks && slow[k].ticks > small_max[c])
            small_max[c] = slow[k].ticks;
    }

    printf("latency steps=%ld mix=%s cpu=%ld timer_ns=%.0f ns_per_tick=%.4f sink=%u", steps,
           mix ? "fragmenting" : "steady", pin ? cpu : -1L, (double)overhead * scale, scale,
           (unsigned)(sink & 1));
    const char *cdf_path = getenv("LATENCY_CDF");
    FILE *cdf = cdf_path ? fopen(cdf_path, "w") : NULL;
    for (int c = 0; c < CALLS; c++) {
        const char *n = call_names[c];
        print_percentiles(n, samples[c], steps, scale);
        printf(" clean_%s_max=%.0f slow_%s=%ld ident_%s=%ld own_%s=%ld unexpl_%s=%ld", n,
               (double)clean_max[c] * scale, n, nslow_of[c], n, identified[c], n, own[c], n,
               unexplained[c]);
        printf(" unexpl_big_%s=%ld small_%s_max=%.0f timed_ms_%s=%.2f", n, unexplained_big[c], n,
               (double)small_max[c] * scale, n, (double)timed_ticks[c] * scale * 1e-6);
        for (int k = 0; k < CAUSES; k++)
            printf(" causes_%s_%s=%ld", n, cause_names[k], causes[c][k]);
        if (cdf)
            write_cdf(cdf, n, samples[c], steps, scale);
    }
    if (cdf)
        fclose(cdf);
    long errors = atomic_load(&bench_errors);
    printf(" slow_ns=%ld events=%ld events_lost=%ld slow_dropped=%ld irq_timer=%ld irq_ipi=%ld"
           " irq_all=%ld steal_ms=%ld lock=%s fifo=%s tracing=%s",
           slow_ns, platform.nevents, platform.lost, slow_dropped, irq_delta[0], irq_delta[1],
           irq_delta[2], steal_ms, lock_result, fifo_result, tracing ? "off" : "on");
    long seen[CAUSES] = { 0 };
    for (long k = 0; k < platform.nevents; k++)
        seen[platform.events[k].cause]++;
    for (int k = 0; k < CAUSES; k++)
        printf(" events_%s=%ld", cause_names[k], seen[k]);
    if (tracing)
        fprintf(stderr, "latency: no classification of slow samples: %s\n", tracing);
    printf(" csw=%ld minflt=%ld verify=%s malloc=%s\n", end.switches - start.switches,
           end.faults - start.faults, errors ? "FAILED" : "ok", LAT_PROVIDER());
    return errors ? 1 : 0;
}
