/*
 * common.h: what every workload (and micro-benchmark) shares: option parsing,
 * a monotonic clock, a fast PRNG, block tagging and checking, thread helpers,
 * a lock-free mailbox that hands batches of blocks to another thread, and the
 * one-line report.
 *
 * A workload allocates through the C library's malloc family, so the runner
 * swaps allocators with LD_PRELOAD. Every block a workload allocates carries a
 * tag unique to the allocation (in its first and last 8 bytes, or in every
 * byte of a smaller block), kept outside the block too, and checked before the
 * block is freed. Any mismatch is counted, and the report then says
 * verify=FAILED and the program exits with status 1. The report also names
 * the object that defines the malloc the program actually calls
 * (malloc=libc.so.6, malloc=libjemalloc.so.2, ...), so the runner can tell a
 * preload that did not take.
 *
 * Work sizes are totals for the whole run, split among the threads: a run at
 * 8 threads does the same work as one at 1 thread.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- options ------------------------------------------------------------ */

/*
 * A workload lists its options as { "name", &variable, "help", scaled }.
 * Every variable is a long with its default already in it. --threads=N and
 * --scale=F are common to all; --scale multiplies the options marked scaled
 * (the amounts of work), which is how the runner makes its QUICK sizes.
 */
struct bench_opt {
    const char *name;
    long *value;
    const char *help;
    int scaled;
};

static long bench_threads = 1;
static double bench_scale = 1.0;
static const char *bench_name = "bench";
static double bench_t0;
static atomic_long bench_errors;
static atomic_long bench_bytes;          /* bytes requested, summed: the run's checksum */
static _Thread_local long thread_bytes; /* this thread's share, not yet added */

static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_usage(const char *what, const struct bench_opt *opts, size_t n)
{
    fprintf(stderr, "%s: %s\n  --threads=N  threads (default 1)\n"
                    "  --scale=F    multiply the work options marked * by F (default 1)\n",
            bench_name, what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  --%s=N %s%s (default %ld)\n", opts[i].name, opts[i].help,
                opts[i].scaled ? " *" : "", *opts[i].value);
}

/* Whether `text` is a whole number, written to *value. */
static int bench_parse_long(const char *text, long *value)
{
    char *end;
    errno = 0;
    *value = strtol(text, &end, 10);
    return end != text && *end == '\0' && errno == 0;
}

/* Parses argv into the options; exits with status 2 on anything unknown and
 * on a value that is not a number. */
static void bench_init(int argc, char **argv, const char *name, const char *what,
                       const struct bench_opt *opts, size_t n)
{
    bench_name = name;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        const char *eq = strchr(arg, '=');
        int known = 0, valid = 1;
        if (strncmp(arg, "--", 2) == 0 && eq != NULL) {
            size_t len = (size_t)(eq - arg - 2);
            if (len == 7 && strncmp(arg + 2, "threads", 7) == 0) {
                valid = bench_parse_long(eq + 1, &bench_threads);
                known = 1;
            } else if (len == 5 && strncmp(arg + 2, "scale", 5) == 0) {
                char *end;
                bench_scale = strtod(eq + 1, &end);
                valid = end != eq + 1 && *end == '\0';
                known = 1;
            }
            for (size_t i = 0; i < n && !known; i++) {
                if (strlen(opts[i].name) == len && strncmp(arg + 2, opts[i].name, len) == 0) {
                    valid = bench_parse_long(eq + 1, opts[i].value);
                    known = 1;
                }
            }
        }
        if (!valid) {
            fprintf(stderr, "%s: %s: not a number\n", name, arg);
            exit(2);
        }
        if (!known) {
            if (strcmp(arg, "--help") != 0)
                fprintf(stderr, "%s: unknown argument %s\n", name, arg);
            bench_usage(what, opts, n);
            exit(2);
        }
    }
    if (bench_threads < 1 || bench_threads > 4096 || !(bench_scale > 0)) {
        fprintf(stderr, "%s: --threads must be 1..4096 and --scale positive\n", name);
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        if (opts[i].scaled) {
            double v = (double)*opts[i].value * bench_scale;
            *opts[i].value = v < 1 ? 1 : (long)v;
        }
    }
}

/* Thread t's share of a total split among bench_threads threads. */
static inline long share(long total, long t)
{
    return total / bench_threads + (t < total % bench_threads ? 1 : 0);
}

/* ---- PRNG: xorshift64*, one state per thread ------------------------------ */

struct rng {
    uint64_t s;
};

static inline struct rng rng_seeded(uint64_t seed)
{
    /* splitmix64 of the seed, so that seeds 0, 1, 2... give unrelated streams */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    struct rng r = { z ? z : 1 };
    return r;
}

static inline uint64_t rng_next(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n). */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(struct rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)rng_below(r, hi - lo + 1);
}

/* Uniform in [0, 1). */
static inline double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * Log-uniform in [lo, hi]: each doubling of size (lo..2lo, 2lo..4lo, ...) is
 * as likely as any other, so small blocks are many and large ones rare.
 */
static inline size_t rng_log_size(struct rng *r, size_t lo, size_t hi)
{
    unsigned doublings = 0;
    while ((lo << (doublings + 1)) <= hi)
        doublings++;
    size_t base = lo << rng_below(r, doublings + 1);
    size_t top = 2 * base - 1 < hi ? 2 * base - 1 : hi;
    return rng_range(r, base, top);
}

/* ---- tagging -------------------------------------------------------------- */

/*
 * A live block: its address, its size and the tag written into it. The tag
 * is unique to the allocation (a per-thread counter, mixed), and the owner
 * keeps it outside the block, so that a block handed out twice, or written
 * after it was freed, fails its check even at the same address and size.
 */
struct blk {
    void *p;
    size_t size;
    uint64_t tag;
};

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* A fresh tag: this thread's counter, salted by where its counter lives. */
static inline uint64_t next_tag(void)
{
    static _Thread_local uint64_t counter;
    return mix64(++counter + (uint64_t)(uintptr_t)&counter * 0x9E3779B97F4A7C15ull);
}

static void bench_error(const char *what, const void *p, size_t size)
{
    if (atomic_fetch_add(&bench_errors, 1) < 10)
        fprintf(stderr, "%s: %s (block %p, %zu bytes)\n", bench_name, what, p, size);
}

/* Writes tag t into the block: its first and last 8 bytes, or all of it below 16. */
static inline void tag_write(void *p, size_t size, uint64_t t)
{
    unsigned char *b = p;
    if (size >= 16) {
        memcpy(b, &t, 8);
        memcpy(b + size - 8, &t, 8);
    } else {
        for (size_t i = 0; i < size; i++)
            b[i] = (unsigned char)(t >> (8 * (i & 7)));
    }
}

/* Checks the tag written by tag_write; counts and reports a mismatch. */
static inline int tag_check(const void *p, size_t size, uint64_t t)
{
    const volatile unsigned char *b = p;
    int ok = 1;
    if (size >= 16) {
        uint64_t head, tail;
        memcpy(&head, (const void *)b, 8);
        memcpy(&tail, (const void *)(b + size - 8), 8);
        ok = head == t && tail == t;
    } else {
        for (size_t i = 0; i < size && ok; i++)
            ok = b[i] == (unsigned char)(t >> (8 * (i & 7)));
    }
    if (!ok)
        bench_error("tag overwritten", p, size);
    return ok;
}

/* malloc, where NULL (for a non-zero size) is an error that ends the run. */
static inline void *alloc_or_die(size_t size)
{
    void *p = malloc(size);
    if (p == NULL && size != 0) {
        bench_error("malloc returned NULL", NULL, size);
        fprintf(stderr, "%s: out of memory, verify=FAILED\n", bench_name);
        exit(1);
    }
    thread_bytes += (long)size;
    return p;
}

/* malloc + a fresh tag. */
static inline struct blk blk_new(size_t size)
{
    struct blk b = { alloc_or_die(size), size, next_tag() };
    tag_write(b.p, size, b.tag);
    return b;
}

/* check + free. */
static inline void blk_free(struct blk b)
{
    tag_check(b.p, b.size, b.tag);
    free(b.p);
}

/*
 * The cache benchmarks' work on an object: zero it, then increment each of its
 * bytes reps times, each a real load and store (volatile), and check that
 * every byte ended at reps modulo 256.
 */
static inline void hammer_object(void *p, size_t size, long reps)
{
    volatile unsigned char *b = p;
    for (size_t i = 0; i < size; i++)
        b[i] = 0;
    for (long r = 0; r < reps; r++)
        for (size_t i = 0; i < size; i++)
            b[i]++;
    for (size_t i = 0; i < size; i++) {
        if (b[i] != (unsigned char)reps) {
            bench_error("object lost a write", p, size);
            break;
        }
    }
}

/* The cache benchmarks' loop, thread t's share of `iterations`: allocate an
 * object of `size` bytes, hammer it, free it. */
static inline void hammer_objects(long t, long iterations, size_t size, long reps)
{
    for (long i = share(iterations, t); i > 0; i--) {
        void *p = alloc_or_die(size);
        hammer_object(p, size, reps);
        free(p);
    }
}

/* The cache benchmarks' argument check; exits on a bad size or count. */
static inline void hammer_check_args(const char *name, long size, long reps)
{
    if (size < 1 || reps < 0) {
        fprintf(stderr, "%s: bad sizes\n", name);
        exit(2);
    }
}

/* ---- threads -------------------------------------------------------------- */

/* Adds this thread's byte count to the run's; every thread calls it at its end. */
static inline void thread_done(void)
{
    atomic_fetch_add(&bench_bytes, thread_bytes);
    thread_bytes = 0;
}

static void *(*run_threads_fn)(void *);

static void *run_threads_body(void *arg)
{
    void *result = run_threads_fn(arg);
    thread_done();
    return result;
}

/* Starts a thread running fn(arg); exits the program if it cannot. */
static inline pthread_t start_thread(void *(*fn)(void *), void *arg)
{
    pthread_t id;
    if (pthread_create(&id, NULL, fn, arg) != 0) {
        perror("pthread_create");
        exit(2);
    }
    return id;
}

/* Runs fn(0) .. fn(n-1) on n new threads and waits for them all. */
static void run_threads(long n, void *(*fn)(void *))
{
    pthread_t *ids = calloc((size_t)n, sizeof *ids);
    if (ids == NULL) {
        perror("calloc");
        exit(2);
    }
    run_threads_fn = fn;
    for (long i = 0; i < n; i++)
        ids[i] = start_thread(run_threads_body, (void *)(intptr_t)i);
    for (long i = 0; i < n; i++)
        pthread_join(ids[i], NULL);
    free(ids);
}

/* ---- mailbox: hand batches of blocks to another thread --------------------- */

struct batch {
    struct batch *next;
    long count;
    struct blk b[]; /* count blocks */
};

struct mailbox {
    _Atomic(struct batch *) head;
    atomic_long pending; /* batches put and not yet taken */
    char pad[48];        /* one mailbox per cache line */
};

static inline struct batch *batch_new(long capacity)
{
    struct batch *b = malloc(sizeof *b + (size_t)capacity * sizeof b->b[0]);
    if (b == NULL) {
        bench_error("malloc returned NULL", NULL, 0);
        exit(1);
    }
    b->next = NULL;
    b->count = 0;
    return b;
}

static inline void mailbox_put(struct mailbox *m, struct batch *b)
{
    struct batch *head = atomic_load_explicit(&m->head, memory_order_relaxed);
    do
        b->next = head;
    while (!atomic_compare_exchange_weak_explicit(&m->head, &head, b, memory_order_release,
                                                  memory_order_relaxed));
    atomic_fetch_add_explicit(&m->pending, 1, memory_order_relaxed);
}

/* Takes every batch in the mailbox (a list linked by next), or NULL. */
static inline struct batch *mailbox_take_all(struct mailbox *m)
{
    if (atomic_load_explicit(&m->head, memory_order_relaxed) == NULL)
        return NULL;
    return atomic_exchange_explicit(&m->head, NULL, memory_order_acquire);
}

/* Checks and frees every block of every batch in the list, and the batches. */
static inline long free_batches(struct mailbox *m, struct batch *list)
{
    long freed = 0;
    while (list != NULL) {
        struct batch *next = list->next;
        for (long i = 0; i < list->count; i++)
            blk_free(list->b[i]);
        freed += list->count + 1;
        free(list);
        if (m != NULL)
            atomic_fetch_sub_explicit(&m->pending, 1, memory_order_relaxed);
        list = next;
    }
    return freed;
}

/* ---- report --------------------------------------------------------------- */

/* The file name of the object whose malloc this program calls. */
static const char *malloc_provider(void)
{
    Dl_info info;
    void *(*volatile fn)(size_t) = malloc;
    if (dladdr((void *)fn, &info) == 0 || info.dli_fname == NULL)
        return "unknown";
    const char *slash = strrchr(info.dli_fname, '/');
    return slash ? slash + 1 : info.dli_fname;
}

static inline void bench_start(void)
{
    bench_t0 = now_seconds();
}

/*
 * Prints the one-line result and returns the exit status: 0, or 1 when any
 * block failed its check. ops is the number of allocator calls made.
 */
static int bench_report(long ops)
{
    thread_done();
    double seconds = now_seconds() - bench_t0;
    long errors = atomic_load(&bench_errors);
    printf("%s threads=%ld ops=%ld seconds=%.3f ops_per_sec=%.0f bytes=%ld verify=%s malloc=%s\n",
           bench_name, bench_threads, ops, seconds, (double)ops / seconds,
           atomic_load(&bench_bytes), errors ? "FAILED" : "ok", malloc_provider());
    fflush(stdout);
    return errors ? 1 : 0;
}

#endif /* BENCH_COMMON_H */
