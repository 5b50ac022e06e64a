/*
 * testlib: helpers shared by every mymalloc test.
 *
 * Everything here is safe to call from threads started with raw clone()
 * that share the parent's TLS: no errno, no stdio, no libc TLS (pthread
 * calls are made for pthread threads only). System calls go through inline
 * asm (x86-64 only), output goes through a raw write(2), and failures are
 * counted in a global atomic.
 *
 * Pieces:
 *   raw syscalls      tl_mmap/tl_munmap/tl_yield/tl_sleep_us/tl_now
 *   output            tl_printf/tl_snprintf (a small printf: d i u x p s c f
 *                     %, lengths l ll z, width, precision), tl_fail,
 *                     tl_die, tl_figure/tl_finish (the FIGURES line)
 *   spin lock         tl_spin_t (test-side lock, distinct from the M5 one)
 *   random numbers    tl_rng (xorshift64*), tl_size_mix (the stress size mix)
 *   blocks            tl_block: fill with a tag derived from (ptr, size,
 *                     seed), verify every byte (or, with tl_light_tags, the
 *                     block's ends), check alignment
 *   live accounting   tl_live: per-thread live requested bytes with a
 *                     windowed maximum, for a race-free frugality check
 *   threads           tl_thread_start/tl_thread_join: pthreads or raw clone()
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__x86_64__)
#error "the mymalloc test kit uses x86-64 inline-asm system calls"
#endif

#define TL_KIB ((size_t)1024)
#define TL_MIB ((size_t)1024 * 1024)
#define TL_PAGE ((size_t)4096)
#define TL_CACHELINE 64

/* ------------------------------------------------------------------ */
/* Raw system calls                                                    */
/* ------------------------------------------------------------------ */

static inline long tl_syscall6(long n, long a1, long a2, long a3, long a4,
                               long a5, long a6)
{
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8),
                       "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define TL_SYS_write 1
#define TL_SYS_mmap 9
#define TL_SYS_munmap 11
#define TL_SYS_mincore 27
#define TL_SYS_sched_yield 24
#define TL_SYS_nanosleep 35
#define TL_SYS_clone 56
#define TL_SYS_exit 60
#define TL_SYS_futex 202
#define TL_SYS_clock_gettime 228

/* Anonymous private read/write mapping; NULL on failure. Not counted by the
 * test provider: this is for the tests' own bookkeeping. */
void *tl_mmap(size_t length);
void tl_munmap(void *addr, size_t length);
void tl_yield(void);
void tl_sleep_us(unsigned long us);
/* Monotonic time in seconds. */
double tl_now(void);

/* ------------------------------------------------------------------ */
/* Output and failure reporting                                        */
/* ------------------------------------------------------------------ */

void tl_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tl_vprintf(const char *fmt, va_list ap);
size_t tl_snprintf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Number of failed checks so far (any thread). */
extern atomic_long tl_failures;

/* Report a failed check: prints "FAIL: <msg>" (the first 30 only) and
 * counts it. */
void tl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a failure the test cannot continue after (e.g. a thread that
 * could not be started while others wait for it) and exits with status 1. */
void tl_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define TL_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond))                                                           \
            tl_fail(__VA_ARGS__);                                              \
    } while (0)

/* Prints "FIGURES: ..." (picked up by run.sh) and a summary; returns the
 * process exit status: 0 when no check failed. */
int tl_finish(const char *test_name);

/* A figures line is collected piecewise with tl_figure() and printed by
 * tl_finish(). */
void tl_figure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------ */
/* Spin lock (test side)                                               */
/* ------------------------------------------------------------------ */

typedef struct {
    atomic_int held;
} tl_spin_t;

#define TL_SPIN_INIT {0}

static inline void tl_spin_lock(tl_spin_t *l)
{
    unsigned spins = 0;
    for (;;) {
        if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (++spins < 64)
                __builtin_ia32_pause();
            else
                tl_yield(); /* the holder may be preempted (2 cores) */
        }
    }
}

static inline void tl_spin_unlock(tl_spin_t *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* ------------------------------------------------------------------ */
/* Random numbers                                                      */
/* ------------------------------------------------------------------ */

typedef struct {
    uint64_t s;
} tl_rng;

static inline uint64_t tl_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void tl_rng_seed(tl_rng *r, uint64_t seed)
{
    r->s = tl_mix64(seed + 0x9e3779b97f4a7c15ULL) | 1;
}

static inline uint64_t tl_rand(tl_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [lo, hi] (inclusive). */
static inline uint64_t tl_range(tl_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + tl_rand(r) % (hi - lo + 1);
}

/* The stress size mix (per 10000 draws):
 *   8500  1..128 bytes (of which 1 in 128 is a mymalloc(0))
 *   1000  4096 exactly (half) or 4000..4200
 *    490  129..32768
 *     10  64 KiB..4 MiB                                                  */
size_t tl_size_mix(tl_rng *r);

/* ------------------------------------------------------------------ */
/* Blocks: tagging, verification, alignment                            */
/* ------------------------------------------------------------------ */

typedef struct {
    void *p;
    size_t size;   /* requested size */
    uint64_t seed; /* per-block seed mixed into the tag */
} tl_block;

/* Checks 8-byte alignment, and 16 when size >= 16. Reports and returns 0
 * on a misaligned block. */
int tl_check_align(const void *p, size_t size, const char *where);

/* Writes the block's tag over every requested byte (with tl_light_tags set:
 * over its first and last 32 bytes only, for throughput runs). */
void tl_fill(const tl_block *b);
extern int tl_light_tags;

/* Verifies every tagged byte; on a mismatch reports the first bad offset
 * and returns 0. */
int tl_verify(const tl_block *b, const char *where);

/* ------------------------------------------------------------------ */
/* Live requested bytes, per thread, with a windowed maximum           */
/* ------------------------------------------------------------------ */

/*
 * Each allocating thread owns one tl_live and is its only writer; a thread
 * that frees another thread's block subtracts from its own counter (so a
 * single counter may go negative; only the sum means anything).
 *
 * The counters are raised before mymalloc and lowered after myfree, so at
 * every instant their sum is >= the bytes the allocator really has live.
 * A checker cannot read all counters at one instant, so each counter also
 * keeps `max`, its highest value since its owner last saw the global epoch
 * change. tl_frugal_check() bumps the epoch, reads the provider's held
 * bytes, then takes per counter its current value if the owner has not
 * seen the new epoch yet (the value cannot have dropped below what it was
 * when held was read, except by a free that had already completed), or its
 * max since it saw it. The sum bounds the live bytes at the moment held
 * was read from above, so a violation it reports is real.
 */
typedef struct {
    _Alignas(TL_CACHELINE) atomic_long cur;
    atomic_long max;
    atomic_ulong seen_epoch;
    char pad[TL_CACHELINE - 3 * sizeof(long)];
} tl_live;

void tl_live_init(tl_live *l);
void tl_live_add(tl_live *l, long delta);

/* Frugality rule: held <= 4 * live + 1 MiB + 256 KiB * nthreads.
 * Checks it against the provider's held bytes; reports a violation and
 * returns 0. Keeps the worst ratio held / allowed seen (tl_frugal_worst). */
int tl_frugal_check(tl_live *lives, int nlives, int nthreads,
                    const char *where);
/* The largest held / live bytes seen by a check with at least 1 MiB live. */
double tl_frugal_worst_live_ratio(void);
double tl_frugal_worst(void);
size_t tl_frugal_allowed(long live, int nthreads);

/* After everything is freed: held <= 1 MiB + 256 KiB * nthreads. Also fails
 * when the provider counted errors. */
int tl_check_drained(int nthreads, const char *where);

/* The allocator's own structural check (allocator_verify's walk, core
 * check.c) at a quiet point: no other thread inside the allocator. Each
 * violation it reports is a tl_fail naming `where`; also walks the free
 * lists of the calling thread's heap (library core) or of every heap (M5,
 * which locks each). Returns the number of violations. */
unsigned tl_verify_allocator(const char *where);

/* ------------------------------------------------------------------ */
/* Allocation wrappers (account, allocate, check, tag / verify, free)   */
/* ------------------------------------------------------------------ */

/* Allocates `size` bytes into *b, accounting in `live`. On success checks
 * alignment and fills the tag; returns 1. On NULL returns 0 and leaves
 * b->p NULL (the caller decides whether a NULL is a failure). */
int tl_alloc(tl_block *b, size_t size, uint64_t seed, tl_live *live);

/* Verifies the tag, frees the block, accounts in `live` and clears *b. */
void tl_free(tl_block *b, tl_live *live, const char *where);

/* ------------------------------------------------------------------ */
/* Threads: pthreads or raw clone() (no TLS of their own)              */
/* ------------------------------------------------------------------ */

typedef enum { TL_PTHREAD, TL_CLONE } tl_thread_kind;

typedef struct {
    tl_thread_kind kind;
    int (*fn)(void *);
    void *arg;
    /* pthread */
    unsigned long pthread_id;
    /* clone */
    void *stack;
    size_t stack_size;
    atomic_int tid; /* set by CLONE_PARENT_SETTID, cleared by the kernel */
} tl_thread;

/* Starts fn(arg) on a new thread of the given kind; returns 0 or -1. */
int tl_thread_start(tl_thread *t, tl_thread_kind kind, int (*fn)(void *),
                    void *arg);
void tl_thread_join(tl_thread *t);

/* Parses "--clone" / "--pthread"; the thread kind picked on the command
 * line. Clone threads are refused for the TLS-based library core. */
tl_thread_kind tl_parse_thread_kind(int argc, char **argv);
const char *tl_thread_kind_name(tl_thread_kind k);

/* Command-line helper: value of "--name=V" as an unsigned long, or dflt. */
unsigned long tl_arg_ulong(int argc, char **argv, const char *name,
                           unsigned long dflt);
/* --threads=N when it is within 1..max, else 4. */
unsigned long tl_arg_threads(int argc, char **argv, unsigned long max);
int tl_arg_flag(int argc, char **argv, const char *name);
/* Value of "--name=V", or dflt. */
const char *tl_arg_str(int argc, char **argv, const char *name,
                       const char *dflt);
int tl_streq(const char *a, const char *b);

/* Simple spinning barrier for a fixed number of participants, usable
 * several times in a row. */
typedef struct {
    atomic_int count;
    atomic_int generation;
    atomic_int parties;
} tl_barrier;

void tl_barrier_init(tl_barrier *b, int parties);
void tl_barrier_wait(tl_barrier *b);

/* Formats a byte count like "12.3MiB" into buf (>= 16 bytes). */
const char *tl_fmt_bytes(char *buf, size_t n);

#endif /* TESTLIB_H */
