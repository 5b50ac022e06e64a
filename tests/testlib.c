/*
 * testlib: shared helpers of the mymalloc tests (see testlib.h).
 *
 * Nothing here may touch errno or libc TLS on a path a raw clone() thread
 * can take: system calls are inline asm, formatting is our own. pthread
 * calls are only made for TL_PTHREAD threads.
 */
#include "testlib.h"

#include <pthread.h>

#include "mymalloc.h"
#include "provider.h"

/* ------------------------------------------------------------------ */
/* Raw system calls                                                    */
/* ------------------------------------------------------------------ */

#define TL_SYS_mprotect 10

static int sys_failed(long r)
{
    return r < 0 && r > -4096;
}

void *tl_mmap(size_t length)
{
    long r = tl_syscall6(TL_SYS_mmap, 0, (long)length, 3 /* RW */,
                         0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
    return sys_failed(r) ? NULL : (void *)r;
}

void tl_munmap(void *addr, size_t length)
{
    tl_syscall6(TL_SYS_munmap, (long)addr, (long)length, 0, 0, 0, 0);
}

void tl_yield(void)
{
    tl_syscall6(TL_SYS_sched_yield, 0, 0, 0, 0, 0, 0);
}

struct tl_timespec {
    long sec, nsec;
};

void tl_sleep_us(unsigned long us)
{
    struct tl_timespec ts = {(long)(us / 1000000), (long)(us % 1000000) * 1000};
    tl_syscall6(TL_SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
}

double tl_now(void)
{
    struct tl_timespec ts;
    tl_syscall6(TL_SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&ts, 0,
                0, 0, 0);
    return (double)ts.sec + (double)ts.nsec * 1e-9;
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        long r = tl_syscall6(TL_SYS_write, fd, (long)s, (long)n, 0, 0, 0);
        if (r == -4 /* EINTR */)
            continue;
        if (r <= 0)
            return;
        s += r;
        n -= (size_t)r;
    }
}

/* ------------------------------------------------------------------ */
/* Formatting                                                          */
/* ------------------------------------------------------------------ */

struct out {
    char *buf;
    size_t cap, len;
};

static void put_char(struct out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width,
                       int left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (fill-- > 0)
            put_char(o, pad);
    for (size_t i = 0; i < n; i++)
        put_char(o, s[i]);
    if (left)
        while (fill-- > 0)
            put_char(o, ' ');
}

static size_t utoa_base(char *tmp, unsigned long long v, unsigned base)
{
    size_t n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    for (size_t i = 0; i < n / 2; i++) {
        char c = tmp[i];
        tmp[i] = tmp[n - 1 - i];
        tmp[n - 1 - i] = c;
    }
    return n;
}

static size_t ftoa(char *tmp, double v, int prec)
{
    size_t n = 0;
    if (v != v) {
        tmp[0] = 'n', tmp[1] = 'a', tmp[2] = 'n';
        return 3;
    }
    if (v < 0) {
        tmp[n++] = '-';
        v = -v;
    }
    if (prec > 9)
        prec = 9;
    double scale = 1;
    for (int i = 0; i < prec; i++)
        scale *= 10;
    if (v > 1e18) {
        tmp[n++] = 'i', tmp[n++] = 'n', tmp[n++] = 'f';
        return n;
    }
    unsigned long long whole = (unsigned long long)v;
    unsigned long long frac =
        (unsigned long long)((v - (double)whole) * scale + 0.5);
    if (frac >= (unsigned long long)scale) {
        whole++;
        frac -= (unsigned long long)scale;
    }
    n += utoa_base(tmp + n, whole, 10);
    if (prec > 0) {
        tmp[n++] = '.';
        char f[24];
        size_t fl = utoa_base(f, frac, 10);
        for (size_t i = fl; i < (size_t)prec; i++)
            tmp[n++] = '0';
        for (size_t i = 0; i < fl; i++)
            tmp[n++] = f[i];
    }
    return n;
}

/* A small vsnprintf: flags '-' '0', width, precision (for f and s),
 * lengths l, ll, z; conversions d i u x p s c f %. */
static size_t vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, cap, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put_char(&o, *f);
            continue;
        }
        f++;
        int left = 0, width = 0, prec = -1, lng = 0;
        char pad = ' ';
        for (;; f++) {
            if (*f == '-')
                left = 1;
            else if (*f == '0')
                pad = '0';
            else
                break;
        }
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (*f++ - '0');
        if (*f == '.') {
            prec = 0;
            f++;
            while (*f >= '0' && *f <= '9')
                prec = prec * 10 + (*f++ - '0');
        }
        while (*f == 'l' || *f == 'z') {
            lng++;
            f++;
        }
        char tmp[64];
        size_t n;
        switch (*f) {
        case 'd':
        case 'i': {
            long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
            unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                         : (unsigned long long)v;
            n = 0;
            if (v < 0)
                tmp[n++] = '-';
            n += utoa_base(tmp + n, u, 10);
            put_padded(&o, tmp, n, width, left, pad);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = lng ? va_arg(ap, unsigned long long)
                                       : va_arg(ap, unsigned);
            n = utoa_base(tmp, v, *f == 'x' ? 16 : 10);
            put_padded(&o, tmp, n, width, left, pad);
            break;
        }
        case 'p': {
            tmp[0] = '0', tmp[1] = 'x';
            n = 2 + utoa_base(tmp + 2, (uintptr_t)va_arg(ap, void *), 16);
            put_padded(&o, tmp, n, width, left, ' ');
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t len = 0;
            while (s[len] && (prec < 0 || len < (size_t)prec))
                len++;
            put_padded(&o, s, len, width, left, ' ');
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            put_padded(&o, tmp, 1, width, left, ' ');
            break;
        case 'f':
            n = ftoa(tmp, va_arg(ap, double), prec < 0 ? 6 : prec);
            put_padded(&o, tmp, n, width, left, pad);
            break;
        case '%':
            put_char(&o, '%');
            break;
        default: /* unknown: print it verbatim */
            put_char(&o, '%');
            if (*f)
                put_char(&o, *f);
            else
                f--;
            break;
        }
    }
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len < cap ? o.len : cap - 1;
}

size_t tl_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void tl_vprintf(const char *fmt, va_list ap)
{
    char buf[1024];
    size_t n = vformat(buf, sizeof buf, fmt, ap);
    write_all(1, buf, n);
}

void tl_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tl_vprintf(fmt, ap);
    va_end(ap);
}

const char *tl_fmt_bytes(char *buf, size_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    struct out o = {buf, 24, 0};
    char tmp[48];
    size_t len = u == 0 ? utoa_base(tmp, n, 10) : ftoa(tmp, v, 1);
    for (size_t i = 0; i < len; i++)
        put_char(&o, tmp[i]);
    for (const char *s = units[u]; *s; s++)
        put_char(&o, *s);
    buf[o.len < 24 ? o.len : 23] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ */
/* Failures and figures                                                */
/* ------------------------------------------------------------------ */

#define MAX_FAIL_MESSAGES 30

atomic_long tl_failures;

void tl_fail(const char *fmt, ...)
{
    long n = atomic_fetch_add(&tl_failures, 1) + 1;
    if (n > MAX_FAIL_MESSAGES) {
        if (n == MAX_FAIL_MESSAGES + 1)
            tl_printf("FAIL: (further failure messages suppressed)\n");
        return;
    }
    char buf[1024];
    size_t len = 6;
    __builtin_memcpy(buf, "FAIL: ", 6);
    va_list ap;
    va_start(ap, fmt);
    len += vformat(buf + len, sizeof buf - len - 1, fmt, ap);
    va_end(ap);
    buf[len++] = '\n';
    write_all(1, buf, len);
}

void tl_die(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tl_fail("%s (cannot continue)", buf);
    tl_syscall6(231 /* exit_group */, 1, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}

static char figures[1024];
static size_t figures_len;
static tl_spin_t figures_lock = TL_SPIN_INIT;

void tl_figure(const char *fmt, ...)
{
    tl_spin_lock(&figures_lock);
    if (figures_len > 0 && figures_len + 1 < sizeof figures)
        figures[figures_len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    figures_len += vformat(figures + figures_len, sizeof figures - figures_len,
                           fmt, ap);
    va_end(ap);
    tl_spin_unlock(&figures_lock);
}

int tl_finish(const char *test_name)
{
    if (provider_errors() != 0)
        tl_fail("%s: the provider counted %lu contract violations", test_name,
                provider_errors());
    provider_print_stats("end");
    if (figures_len > 0)
        tl_printf("FIGURES: %s\n", figures);
    long f = atomic_load(&tl_failures);
    tl_printf("RESULT: %s %s (%ld failed checks)\n", test_name,
              f ? "FAILED" : "passed", f);
    return f ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Size mix                                                            */
/* ------------------------------------------------------------------ */

size_t tl_size_mix(tl_rng *r)
{
    uint64_t x = tl_rand(r);
    unsigned bucket = (unsigned)(x % 10000);
    x >>= 20; /* fresh bits for the size itself */
    if (bucket < 8500)
        return (x & 127) == 0 ? 0 : 1 + (size_t)((x >> 7) % 128);
    if (bucket < 9500)
        return (x & 1) ? 4096 : 4000 + (size_t)((x >> 1) % 201);
    if (bucket < 9990)
        return 129 + (size_t)(x % (32768 - 129 + 1));
    return 64 * TL_KIB + (size_t)(x % (4 * TL_MIB - 64 * TL_KIB + 1));
}

/* ------------------------------------------------------------------ */
/* Tags                                                                */
/* ------------------------------------------------------------------ */

#define TAG_STEP 0x9e3779b97f4a7c15ULL

/* The tag is a Weyl sequence of 64-bit words starting at a hash of
 * (pointer, size, seed): two blocks, or a block and its own past
 * incarnation, essentially never share a word at the same offset. */
static uint64_t tag_start(const tl_block *b)
{
    return tl_mix64((uint64_t)(uintptr_t)b->p ^ tl_mix64(b->size + 1) ^
                    b->seed);
}

static uint8_t tag_byte(uint64_t start, size_t i)
{
    uint64_t w = start + (uint64_t)(i / 8) * TAG_STEP;
    return (uint8_t)(w >> (8 * (i % 8)));
}

int tl_check_align(const void *p, size_t size, const char *where)
{
    uintptr_t a = (uintptr_t)p;
    size_t need = size >= 16 ? 16 : 8;
    if (a % need == 0)
        return 1;
    tl_fail("%s: block %p of size %zu is not %zu-byte aligned", where, p, size,
            need);
    return 0;
}

/* Light tags: only the first and last LIGHT_BYTES of a block. */
#define LIGHT_BYTES 32
int tl_light_tags;

/* The byte ranges [from, to) a block's tag covers: all of it, or with light
 * tags its two ends. Every `from` is a multiple of 8. */
static int tag_ranges(const tl_block *b, size_t from[2], size_t to[2])
{
    from[0] = 0;
    if (!tl_light_tags || b->size <= 2 * LIGHT_BYTES) {
        to[0] = b->size;
        return 1;
    }
    to[0] = LIGHT_BYTES;
    from[1] = (b->size - LIGHT_BYTES) & ~(size_t)7;
    to[1] = b->size;
    return 2;
}

static void fill_range(void *p, uint64_t start, size_t from, size_t to)
{
    size_t i = from;
    if ((uintptr_t)p % 8 == 0) { /* whole words while they fit */
        uint64_t *w = p, v = start + (uint64_t)(from / 8) * TAG_STEP;
        for (; i + 8 <= to; i += 8, v += TAG_STEP)
            w[i / 8] = v;
    }
    for (; i < to; i++)
        ((volatile uint8_t *)p)[i] = tag_byte(start, i);
}

/* Non-zero when a byte of [from, to) differs from the tag. */
static uint64_t diff_range(const void *p, uint64_t start, size_t from,
                           size_t to)
{
    size_t i = from;
    uint64_t diff = 0;
    if ((uintptr_t)p % 8 == 0) {
        const uint64_t *w = p;
        uint64_t v = start + (uint64_t)(from / 8) * TAG_STEP;
        for (; i + 8 <= to; i += 8, v += TAG_STEP)
            diff |= w[i / 8] ^ v;
    }
    for (; i < to; i++)
        diff |= ((const volatile uint8_t *)p)[i] ^ tag_byte(start, i);
    return diff;
}

void tl_fill(const tl_block *b)
{
    size_t from[2], to[2];
    int n = tag_ranges(b, from, to);
    uint64_t start = tag_start(b);
    for (int r = 0; r < n; r++)
        fill_range(b->p, start, from[r], to[r]);
}

static void report_mismatch(const tl_block *b, uint64_t start,
                            const char *where)
{
    const uint8_t *p = b->p;
    size_t from[2], to[2], first = 0, bad = 0;
    int n = tag_ranges(b, from, to);
    for (int r = 0; r < n; r++)
        for (size_t i = from[r]; i < to[r]; i++)
            if (p[i] != tag_byte(start, i) && bad++ == 0)
                first = i;
    tl_fail("%s: block %p size %zu corrupted at offset %zu (byte %02x, "
            "expected %02x; %zu bad bytes in all) - overlapping blocks or "
            "heap corruption",
            where, b->p, b->size, first, p[first], tag_byte(start, first),
            bad);
}

int tl_verify(const tl_block *b, const char *where)
{
    size_t from[2], to[2];
    int n = tag_ranges(b, from, to);
    uint64_t start = tag_start(b), diff = 0;
    for (int r = 0; r < n; r++)
        diff |= diff_range(b->p, start, from[r], to[r]);
    if (diff != 0)
        report_mismatch(b, start, where);
    return diff == 0;
}

/* ------------------------------------------------------------------ */
/* Live accounting and the frugality rule                              */
/* ------------------------------------------------------------------ */

static atomic_ulong live_epoch;
static atomic_int regions_printed;

/* On the first failed memory check, show what the held bytes are. */
static void print_regions_once(void)
{
    if (atomic_exchange(&regions_printed, 1) == 0)
        provider_print_regions();
}
static tl_spin_t check_lock = TL_SPIN_INIT;
static double worst_ratio;
/* The largest held / live seen by a check with at least 1 MiB live (below
 * that the fixed allowance, not the ratio, is what the rule is about). */
static double worst_live_ratio;

void tl_live_init(tl_live *l)
{
    atomic_store(&l->cur, 0);
    atomic_store(&l->max, 0);
    atomic_store(&l->seen_epoch, atomic_load(&live_epoch));
}

void tl_live_add(tl_live *l, long delta)
{
    unsigned long e = atomic_load_explicit(&live_epoch, memory_order_acquire);
    long c = atomic_load_explicit(&l->cur, memory_order_relaxed);
    if (e != atomic_load_explicit(&l->seen_epoch, memory_order_relaxed)) {
        /* New window: until now our value was constant at c. */
        atomic_store_explicit(&l->max, c, memory_order_relaxed);
        atomic_store_explicit(&l->seen_epoch, e, memory_order_release);
    }
    c += delta;
    atomic_store_explicit(&l->cur, c, memory_order_release);
    if (c > atomic_load_explicit(&l->max, memory_order_relaxed))
        atomic_store_explicit(&l->max, c, memory_order_relaxed);
    /* Order the stores above before the allocator's work that follows (the
     * provider updates `held` with sequentially consistent RMWs). */
    atomic_thread_fence(memory_order_seq_cst);
}

/* An upper bound of the counter's value at any moment since the epoch was
 * bumped to `e` (see testlib.h). An owner that has not seen `e` yet has
 * changed its value since the bump at most by one update already under
 * way, whose effect on held is already done (a free) or not yet begun (an
 * allocation): its current value serves. An owner that has seen `e` may
 * have freed blocks since, so its maximum since then serves. Reading cur
 * before seen_epoch (acquire) makes sure that a cur read as "not seen" is
 * not a value stored after the owner saw `e`. */
static long live_bound(tl_live *l, unsigned long e)
{
    long c = atomic_load_explicit(&l->cur, memory_order_acquire);
    if (atomic_load_explicit(&l->seen_epoch, memory_order_acquire) != e)
        return c;
    return atomic_load_explicit(&l->max, memory_order_acquire);
}

size_t tl_frugal_allowed(long live, int nthreads)
{
    if (live < 0)
        live = 0;
    return 4 * (size_t)live + TL_MIB + 256 * TL_KIB * (size_t)nthreads;
}

int tl_frugal_check(tl_live *lives, int nlives, int nthreads,
                    const char *where)
{
    /* One check at a time: live_bound() relies on the epoch not moving. */
    tl_spin_lock(&check_lock);
    unsigned long e = atomic_fetch_add(&live_epoch, 1) + 1;
    size_t h = provider_held();
    long live = 0;
    for (int i = 0; i < nlives; i++)
        live += live_bound(&lives[i], e);
    size_t allowed = tl_frugal_allowed(live, nthreads);
    double ratio = (double)h / (double)allowed;
    if (ratio > worst_ratio)
        worst_ratio = ratio;
    if (live >= (long)TL_MIB && (double)h / (double)live > worst_live_ratio)
        worst_live_ratio = (double)h / (double)live;
    tl_spin_unlock(&check_lock);

    if (h <= allowed)
        return 1;
    char b1[24], b2[24], b3[24];
    tl_fail("%s: frugality rule broken: held %s > allowed %s "
            "(4 x live %s + 1 MiB + 256 KiB x %d threads)",
            where, tl_fmt_bytes(b1, h), tl_fmt_bytes(b2, allowed),
            tl_fmt_bytes(b3, (size_t)(live < 0 ? 0 : live)), nthreads);
    print_regions_once();
    return 0;
}

double tl_frugal_worst_live_ratio(void)
{
    tl_spin_lock(&check_lock);
    double w = worst_live_ratio;
    tl_spin_unlock(&check_lock);
    return w;
}

double tl_frugal_worst(void)
{
    tl_spin_lock(&check_lock);
    double w = worst_ratio;
    tl_spin_unlock(&check_lock);
    return w;
}

int tl_check_drained(int nthreads, const char *where)
{
    size_t h = provider_held();
    size_t allowed = tl_frugal_allowed(0, nthreads);
    int ok = 1;
    if (h > allowed) {
        char b1[24], b2[24];
        tl_fail("%s: after freeing everything %s still held (allowed %s = "
                "1 MiB + 256 KiB x %d threads)",
                where, tl_fmt_bytes(b1, h), tl_fmt_bytes(b2, allowed),
                nthreads);
        print_regions_once();
        ok = 0;
    }
    if (provider_errors() != 0) {
        tl_fail("%s: provider counted %lu contract violations", where,
                provider_errors());
        ok = 0;
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* Allocation wrappers                                                 */
/* ------------------------------------------------------------------ */

int tl_alloc(tl_block *b, size_t size, uint64_t seed, tl_live *live)
{
    if (live)
        tl_live_add(live, (long)size);
    void *p = mymalloc(size);
    if (p == NULL) {
        if (live)
            tl_live_add(live, -(long)size);
        b->p = NULL;
        return 0;
    }
    b->p = p;
    b->size = size;
    b->seed = seed;
    tl_check_align(p, size, "mymalloc");
    tl_fill(b);
    return 1;
}

void tl_free(tl_block *b, tl_live *live, const char *where)
{
    tl_verify(b, where);
    myfree(b->p);
    if (live)
        tl_live_add(live, -(long)b->size);
    b->p = NULL;
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

#define CLONE_STACK_SIZE (256 * TL_KIB)
#define TL_CLONE_FLAGS                                                         \
    (0x100UL         /* CLONE_VM */                                            \
     | 0x200UL       /* CLONE_FS */                                            \
     | 0x400UL       /* CLONE_FILES */                                         \
     | 0x800UL       /* CLONE_SIGHAND */                                       \
     | 0x10000UL     /* CLONE_THREAD */                                        \
     | 0x40000UL     /* CLONE_SYSVSEM */                                       \
     | 0x100000UL    /* CLONE_PARENT_SETTID */                                 \
     | 0x200000UL)   /* CLONE_CHILD_CLEARTID */
#define FUTEX_WAIT 0

static void *pthread_entry(void *arg)
{
    tl_thread *t = arg;
    return (void *)(intptr_t)t->fn(t->arg);
}

/* First code run by a clone thread: on its own stack, sharing the
 * parent's TLS (fs base), so it must stay away from libc. */
static __attribute__((noinline, used)) int clone_entry(tl_thread *t)
{
    return t->fn(t->arg);
}

/* clone(2) with a small asm trampoline: the child pops the entry function
 * and its argument off its new stack, calls it, and exits the thread with
 * SYS_exit (not exit_group). No CLONE_SETTLS: the child keeps the parent's
 * TLS pointer, exactly the situation the M5 build is written for. */
static long raw_clone(tl_thread *t, void *stack_top)
{
    uintptr_t *sp = (uintptr_t *)((uintptr_t)stack_top & ~(uintptr_t)15);
    *--sp = (uintptr_t)t;
    *--sp = (uintptr_t)clone_entry;
    register long r10 __asm__("r10") = (long)&t->tid; /* child_tid */
    register long r8 __asm__("r8") = 0;               /* tls (unused) */
    long ret;
    __asm__ volatile("syscall\n\t"
                     "testq %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     /* child */
                     "xorl %%ebp, %%ebp\n\t"
                     "popq %%rax\n\t"
                     "popq %%rdi\n\t"
                     "andq $-16, %%rsp\n\t"
                     "callq *%%rax\n\t"
                     "movl %%eax, %%edi\n\t"
                     "movl $60, %%eax\n\t" /* SYS_exit */
                     "syscall\n\t"
                     "ud2\n\t"
                     "1:\n\t"
                     : "=a"(ret)
                     : "0"((long)TL_SYS_clone), "D"(TL_CLONE_FLAGS), "S"(sp),
                       "d"(&t->tid) /* parent_tid */, "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}

int tl_thread_start(tl_thread *t, tl_thread_kind kind, int (*fn)(void *),
                    void *arg)
{
    t->kind = kind;
    t->fn = fn;
    t->arg = arg;
    if (kind == TL_PTHREAD) {
        pthread_t id;
        if (pthread_create(&id, NULL, pthread_entry, t) != 0)
            return -1;
        t->pthread_id = (unsigned long)id;
        return 0;
    }
    t->stack_size = CLONE_STACK_SIZE;
    t->stack = tl_mmap(t->stack_size);
    if (t->stack == NULL)
        return -1;
    /* Guard page at the low end of the stack. */
    tl_syscall6(TL_SYS_mprotect, (long)t->stack, (long)TL_PAGE, 0, 0, 0, 0);
    atomic_store(&t->tid, -1);
    long r = raw_clone(t, (char *)t->stack + t->stack_size);
    if (r < 0) {
        tl_munmap(t->stack, t->stack_size);
        t->stack = NULL;
        return -1;
    }
    return 0;
}

void tl_thread_join(tl_thread *t)
{
    if (t->kind == TL_PTHREAD) {
        pthread_join((pthread_t)t->pthread_id, NULL);
        return;
    }
    /* CLONE_CHILD_CLEARTID: the kernel zeroes tid and wakes the futex once
     * the thread is gone and no longer uses its stack. */
    int v;
    while ((v = atomic_load(&t->tid)) != 0)
        tl_syscall6(TL_SYS_futex, (long)&t->tid, FUTEX_WAIT, v, 0, 0, 0);
    tl_munmap(t->stack, t->stack_size);
    t->stack = NULL;
}

const char *tl_thread_kind_name(tl_thread_kind k)
{
    return k == TL_CLONE ? "clone" : "pthread";
}

int tl_streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Returns the value part of "--name=value" or NULL. */
static const char *arg_value(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *n = name;
        if (a[0] != '-' || a[1] != '-')
            continue;
        a += 2;
        while (*n && *a == *n)
            a++, n++;
        if (*n == '\0' && *a == '=')
            return a + 1;
    }
    return NULL;
}

unsigned long tl_arg_ulong(int argc, char **argv, const char *name,
                           unsigned long dflt)
{
    const char *v = arg_value(argc, argv, name);
    if (!v)
        return dflt;
    unsigned long n = 0;
    for (; *v >= '0' && *v <= '9'; v++)
        n = n * 10 + (unsigned long)(*v - '0');
    if (*v == 'k' || *v == 'K')
        n *= 1000;
    else if (*v == 'm' || *v == 'M')
        n *= 1000000;
    return n;
}

const char *tl_arg_str(int argc, char **argv, const char *name,
                       const char *dflt)
{
    const char *v = arg_value(argc, argv, name);
    return v ? v : dflt;
}

int tl_arg_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] == '-' && tl_streq(argv[i] + 2, name))
            return 1;
    return 0;
}

tl_thread_kind tl_parse_thread_kind(int argc, char **argv)
{
    if (!tl_arg_flag(argc, argv, "clone"))
        return TL_PTHREAD;
#ifndef TL_M5
    tl_die("--clone needs the M5 build: the library core keeps its thread "
           "identity in TLS, which raw clone() threads share");
#endif
    return TL_CLONE;
}

/* ------------------------------------------------------------------ */
/* Barrier                                                             */
/* ------------------------------------------------------------------ */

void tl_barrier_init(tl_barrier *b, int parties)
{
    atomic_store(&b->count, 0);
    atomic_store(&b->generation, 0);
    atomic_store(&b->parties, parties);
}

void tl_barrier_wait(tl_barrier *b)
{
    int gen = atomic_load(&b->generation);
    if (atomic_fetch_add(&b->count, 1) + 1 == atomic_load(&b->parties)) {
        atomic_store(&b->count, 0);
        atomic_fetch_add(&b->generation, 1);
        return;
    }
    unsigned spins = 0;
    while (atomic_load(&b->generation) == gen) {
        if (++spins < 64)
            __builtin_ia32_pause();
        else
            tl_yield();
    }
}

unsigned long tl_arg_threads(int argc, char **argv, unsigned long max)
{
    unsigned long threads = tl_arg_ulong(argc, argv, "threads", 4);
    return threads < 1 || threads > max ? 4 : threads;
}

/* The core's structural check (src/core/check.h), linked from the core
 * objects or the M5 amalgamation, where it is a hidden symbol. */
struct mm_heap;
unsigned mm_verify(struct mm_heap *user, void (*report)(const char *what, const void *where),
                   unsigned limit);
#if !defined(TL_M5)
extern __thread struct mm_heap *mm_thread_heap;
#endif

static const char *verify_where;

static void verify_report(const char *what, const void *where)
{
    tl_fail("%s: allocator_verify: %s at %p", verify_where, what, where);
}

unsigned tl_verify_allocator(const char *where)
{
    verify_where = where;
#if defined(TL_M5)
    return mm_verify(NULL, verify_report, 10);
#else
    return mm_verify(mm_thread_heap, verify_report, 10);
#endif
}
