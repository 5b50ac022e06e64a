/*
 * kalloc_machine.c: the simulated multiprocessor of kalloc_machine.h. It
 * owns the heap mapping and its guards, the shadow bitmap and the block
 * records, the crash report, the CPU threads and their mailboxes.
 *
 * Invariants: a shadow bit is set exactly while a byte of its grain belongs
 * to a block some CPU holds (claimed after kalloc returned, released before
 * kfree is called); a block's record is written after its shadow is claimed
 * and cleared before it is released. Both are written with atomics, as
 * CPUs claim and release neighbouring bytes at once.
 */
#define _GNU_SOURCE
#include "kalloc_machine.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const struct km_allocator *km_under_test;

/* ---- the heap, the shadow, the records -------------------------------- */

#define GUARD ((size_t)1 << 20)
#define BOUNDARY ((size_t)4 << 20)
#define RECORD_SIZE_BITS 25 /* sizes up to 32 MiB; larger ones are capped */
#define RECORD_SIZE_MAX ((1u << RECORD_SIZE_BITS) - 1)

char *km_heap_lo, *km_heap_hi;
size_t km_grain = 1;
static atomic_ulong *shadow;    /* bit per km_grain bytes of the heap */
static _Atomic uint32_t *records; /* per record_grain bytes: size | (cpu + 1)
                                     << 25 of the live block starting there,
                                     or 0 */
static size_t record_grain;       /* km_grain, at least 8 */

static void *map_or_die(size_t bytes, const char *what)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        tl_die("cannot map %s (%zu MiB)", what, bytes / TL_MIB);
    return p;
}

static void install_crash_report(void);

void km_heap_create(size_t bytes, size_t start_offset, int checked)
{
    size_t span = GUARD + BOUNDARY + start_offset + bytes + GUARD;
    char *map = map_or_die(span, "the heap");
    uintptr_t start = ((uintptr_t)map + GUARD + BOUNDARY - 1) & ~(uintptr_t)(BOUNDARY - 1);
    km_heap_lo = (char *)(start + start_offset);
    km_heap_hi = km_heap_lo + bytes;
    /* The guards: everything of the mapping outside the heap's pages. */
    uintptr_t lo_page = (uintptr_t)km_heap_lo & ~(uintptr_t)(TL_PAGE - 1);
    uintptr_t hi_page = ((uintptr_t)km_heap_hi + TL_PAGE - 1) & ~(uintptr_t)(TL_PAGE - 1);
    if (mprotect(map, lo_page - (uintptr_t)map, PROT_NONE) != 0 ||
        mprotect((void *)hi_page, (uintptr_t)map + span - hi_page, PROT_NONE) != 0)
        tl_die("cannot protect the heap's guard regions");
    if (checked) {
        record_grain = km_grain < 8 ? 8 : km_grain;
        shadow = map_or_die(bytes / km_grain / 8 + 16, "the shadow");
        records = map_or_die((bytes / record_grain + 1) * sizeof *records, "the block records");
    }
    install_crash_report();
}

size_t km_heap_bytes(void)
{
    return (size_t)(km_heap_hi - km_heap_lo);
}

const char *km_where(char *buf, const void *p)
{
    const char *c = p;
    if (c >= km_heap_lo && c < km_heap_hi)
        tl_snprintf(buf, 48, "heap.start+0x%zx", (size_t)(c - km_heap_lo));
    else if (c >= km_heap_hi && c - km_heap_hi < (long)(64 * TL_MIB))
        tl_snprintf(buf, 48, "heap.end+0x%zx", (size_t)(c - km_heap_hi));
    else if (c < km_heap_lo && km_heap_lo - c < (long)(64 * TL_MIB))
        tl_snprintf(buf, 48, "heap.start-0x%zx", (size_t)(km_heap_lo - c));
    else
        tl_snprintf(buf, 48, "%p (far outside the heap)", p);
    return buf;
}

size_t km_pow2_at_least(size_t size)
{
    size_t a = 1;
    while (a < size)
        a <<= 1;
    return a;
}

size_t km_block_bytes(size_t size)
{
    size_t block = km_pow2_at_least(size);
    return block < km_grain ? km_grain : block;
}

/* The live block the heap byte at `p` lies in, from the records: the
 * nearest recorded start at or below p whose block reaches p. Read without
 * stopping the other CPUs: for a report only, so a block freed meanwhile
 * may be named. Returns 0 when none is found. */
static int owner_of(const char *p, const char **start, size_t *size, int *cpu)
{
    if (records == NULL || p < km_heap_lo || p >= km_heap_hi)
        return 0;
    size_t g = (size_t)(p - km_heap_lo) / record_grain;
    size_t lowest = g > RECORD_SIZE_MAX / record_grain ? g - RECORD_SIZE_MAX / record_grain : 0;
    for (size_t i = g + 1; i-- > lowest;) {
        uint32_t r = atomic_load_explicit(&records[i], memory_order_relaxed);
        if (r == 0)
            continue;
        const char *s = km_heap_lo + i * record_grain;
        size_t n = r & RECORD_SIZE_MAX;
        if (s + n > p) {
            *start = s;
            *size = n;
            *cpu = (int)(r >> RECORD_SIZE_BITS) - 1;
            return 1;
        }
    }
    return 0;
}

/* Sets (claim) or clears the shadow bits of the grains [p, p + size)
 * touches; returns the start of the first grain that was already set
 * (claim) or already clear (release), or NULL. */
static const char *shadow_mark(const char *p, size_t size, int claim)
{
    size_t from = (size_t)(p - km_heap_lo) / km_grain;
    size_t to = ((size_t)(p - km_heap_lo) + size + km_grain - 1) / km_grain;
    const char *first_bad = NULL;
    while (from < to) {
        size_t word = from / 64, bit = from % 64;
        size_t n = to - from < 64 - bit ? to - from : 64 - bit;
        unsigned long mask = (n == 64 ? ~0UL : ((1UL << n) - 1)) << bit;
        unsigned long old = claim ? atomic_fetch_or(&shadow[word], mask)
                                  : atomic_fetch_and(&shadow[word], ~mask);
        unsigned long bad = claim ? old & mask : ~old & mask;
        if (bad != 0 && first_bad == NULL)
            first_bad = km_heap_lo + (word * 64 + (size_t)__builtin_ctzl(bad)) * km_grain;
        from += n;
    }
    return first_bad;
}

/* Records are read only for a failure's report (owner_of), so relaxed
 * order serves: a report may name a block one step stale. */
static void record_set(const char *p, size_t size, int cpu)
{
    uint32_t n = size > RECORD_SIZE_MAX ? RECORD_SIZE_MAX : (uint32_t)size;
    atomic_store_explicit(&records[(size_t)(p - km_heap_lo) / record_grain],
                          n | (uint32_t)(cpu + 1) << RECORD_SIZE_BITS, memory_order_relaxed);
}

static void record_clear(const char *p)
{
    atomic_store_explicit(&records[(size_t)(p - km_heap_lo) / record_grain], 0,
                          memory_order_relaxed);
}

/* "the live block kalloc(N) of CPU c at heap.start+0x..", or a note that
 * no live block holds `p`. */
static const char *describe_owner(char *buf, size_t cap, const char *p)
{
    const char *start;
    size_t size;
    int cpu;
    char at[48];
    if (owner_of(p, &start, &size, &cpu))
        tl_snprintf(buf, cap, "the live block kalloc(%zu) of CPU %d at %s", size, cpu,
                    km_where(at, start));
    else
        tl_snprintf(buf, cap, "no block the checker holds (the allocator's own data?)");
    return buf;
}

int km_block_taken(tl_block *b, const char *where)
{
    char at[48], other[160];
    const char *p = b->p;
    if (p < km_heap_lo || p > km_heap_hi || b->size > (size_t)(km_heap_hi - p)) {
        tl_fail("%s: CPU %d: kalloc(%zu) returned %s: the block [%p, %p) is not inside "
                "[heap.start, heap.end) = [%p, %p)", where, km_this_cpu, b->size, km_where(at, p),
                (void *)p, (void *)(p + b->size), (void *)km_heap_lo, (void *)km_heap_hi);
        b->p = NULL; /* never touched, never freed */
        return 0;
    }
    /* The lab: aligned to 2^i, i the smallest positive integer with
     * 2^i >= size (so kalloc(1) to 2). */
    size_t align = km_pow2_at_least(b->size < 2 ? 2 : b->size);
    if ((uintptr_t)p & (align - 1))
        tl_fail("%s: CPU %d: kalloc(%zu) returned %s (address %p), not aligned to %zu "
                "(the smallest power of two >= the size, at least 2)", where, km_this_cpu,
                b->size, km_where(at, p), (void *)p, align);
    if (shadow != NULL) {
        const char *clash = shadow_mark(p, b->size, 1);
        if (clash != NULL)
            tl_fail("%s: CPU %d: kalloc(%zu) returned %s, whose byte %s lies in %s",
                    where, km_this_cpu, b->size, km_where(at, p), km_where(other + 100, clash),
                    describe_owner(other, 100, clash));
        record_set(p, b->size, km_this_cpu);
    }
    tl_fill(b);
    return 1;
}

/* After a failed tag check: which byte changed and whose block it now lies
 * in. The expected tag is written back over the block to find the byte (the
 * run is failing anyway). */
static void report_corruption(tl_block *b, const char *where)
{
    size_t n = b->size < 4096 ? b->size : 4096;
    unsigned char seen[4096];
    memcpy(seen, b->p, n);
    tl_fill(b);
    size_t i = 0;
    while (i < n && seen[i] == ((unsigned char *)b->p)[i])
        i++;
    if (i == n)
        return;
    char at[48], other[160];
    const char *byte = (const char *)b->p + i;
    tl_fail("%s: the block kalloc(%zu) of CPU %d at %s was written by someone else at offset "
            "%zu (%s), now inside %s", where, b->size, (int)(b->seed >> 56), km_where(at, b->p), i,
            km_where(other + 100, byte), describe_owner(other, 100, byte));
}

void km_block_give(tl_block *b, const char *where)
{
    if (!tl_verify(b, where))
        report_corruption(b, where);
    if (shadow != NULL) {
        record_clear(b->p);
        shadow_mark(b->p, b->size, 0);
    }
    km_kfree(b->p);
    b->p = NULL;
}

/* ---- calls and the crash report ---------------------------------------- */

_Thread_local int km_this_cpu;

/* What this CPU is doing, for a crash report: read by the signal handler
 * on the same thread, hence volatile. */
enum doing { DOING_CHECKER, DOING_INIT, DOING_KALLOC, DOING_KFREE };
static _Thread_local volatile int doing;
static _Thread_local volatile uintptr_t doing_arg;

void km_init(void)
{
    doing = DOING_INIT;
    km_under_test->init(km_heap_lo, km_heap_hi);
    doing = DOING_CHECKER;
}

void *km_kalloc(size_t size)
{
    doing_arg = size;
    doing = DOING_KALLOC;
    void *p = km_under_test->alloc(size);
    doing = DOING_CHECKER;
    return p;
}

void km_kfree(void *ptr)
{
    doing_arg = (uintptr_t)ptr;
    doing = DOING_KFREE;
    km_under_test->free(ptr);
    doing = DOING_CHECKER;
}

static void crash_report(int sig, siginfo_t *info, void *context)
{
    char call[80], at[48], fault[48];
    switch (doing) {
    case DOING_INIT:
        tl_snprintf(call, sizeof call, "in %s->init()", km_under_test->name);
        break;
    case DOING_KALLOC:
        tl_snprintf(call, sizeof call, "in kalloc(%zu)", (size_t)doing_arg);
        break;
    case DOING_KFREE:
        tl_snprintf(call, sizeof call, "in kfree(%s)", km_where(at, (void *)doing_arg));
        break;
    default:
        tl_snprintf(call, sizeof call, "in the checker, between calls");
    }
    if (sig == SIGSEGV || sig == SIGBUS)
        tl_fail("crash: CPU %d %s: signal %d at address %s", km_this_cpu, call, sig,
                km_where(fault, info->si_addr));
    else
        tl_fail("crash: CPU %d %s: signal %d", km_this_cpu, call, sig);
    /* Back to the default action: the fault happens again and kills us. */
    signal(sig, SIG_DFL);
    if (sig == SIGABRT)
        raise(sig);
}

static void install_crash_report(void)
{
    static const int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = crash_report;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaction(signals[i], &sa, NULL);
}

/* ---- sizes ------------------------------------------------------------- */

/* Uniform in a power-of-two range [2^k, 2^(k+1)] of [lo, hi], with k
 * uniform: as many requests near lo as near hi on a log scale. */
static size_t log_uniform(tl_rng *r, size_t lo, size_t hi)
{
    size_t top = lo;
    int steps = 0;
    while (top < hi) {
        top <<= 1;
        steps++;
    }
    size_t from = lo << tl_range(r, 0, (uint64_t)(steps > 0 ? steps - 1 : 0));
    size_t to = from * 2 < hi ? from * 2 : hi;
    return (size_t)tl_range(r, from, to);
}

size_t km_draw_size(enum km_kind kind, tl_rng *r)
{
    unsigned x = (unsigned)tl_range(r, 0, 999);
    switch (kind) {
    case KM_SMALL: /* 90% up to 128 bytes, the rest up to 2 KiB */
        return x < 900 ? (size_t)tl_range(r, 1, 128) : log_uniform(r, 129, 2048);
    case KM_PAGES: /* pages, and more */
        if (x < 600)
            return 4096;
        if (x < 750)
            return (size_t)tl_range(r, 2049, 4096);
        if (x < 950)
            return log_uniform(r, 4097, 64 * TL_KIB);
        return log_uniform(r, 64 * TL_KIB + 1, TL_MIB);
    case KM_MIX: /* frequent small, frequent pages, rare large */
        if (x < 800)
            return (size_t)tl_range(r, 1, 128);
        if (x < 870)
            return log_uniform(r, 129, 2048);
        if (x < 970)
            return 4096;
        if (x < 999)
            return log_uniform(r, 4097, 64 * TL_KIB);
        return log_uniform(r, 64 * TL_KIB + 1, 4 * TL_MIB);
    case KM_PAGE4K:
        return 4096;
    case KM_B128:
        return 128;
    case KM_LARGE:
        return (size_t)tl_range(r, TL_MIB, 3 * TL_MIB);
    case KM_PAGE_MODULE:
        if (x < 700)
            return 4096;
        if (x < 990)
            return (size_t)tl_range(r, 4097, 64 * TL_KIB);
        return (size_t)tl_range(r, 64 * TL_KIB + 1, TL_MIB);
    }
    return 1;
}

const char *km_kind_name(enum km_kind kind)
{
    static const char *names[] = {"small", "pages", "mix", "4 KiB pages", "128-byte blocks",
                                  "1-3 MiB blocks", "page-module"};
    return names[kind];
}

/* ---- CPUs -------------------------------------------------------------- */

struct km_cpu km_cpus[KM_MAX_CPUS];
int km_ncpus = 1;
unsigned km_mailbox_cap = KM_MAILBOX;
tl_barrier km_barrier;

void km_cpus_reset(uint64_t seed)
{
    for (int i = 0; i < km_ncpus; i++) {
        struct km_cpu *cpu = &km_cpus[i];
        cpu->id = i;
        tl_rng_seed(&cpu->rng, seed * 1000 + (uint64_t)i);
        atomic_store(&cpu->live, 0);
        atomic_store(&cpu->box_lock.held, 0);
        cpu->boxed = 0;
        cpu->calls = cpu->nulls_small = cpu->nulls_large = 0;
        cpu->filled_bytes = cpu->filled_requested = 0;
    }
}

static int cpu_thread(void *arg)
{
    struct km_cpu *cpu = arg;
    km_this_cpu = cpu->id;
    return cpu->phase(cpu);
}

void km_run_cpus(int (*phase)(struct km_cpu *))
{
    tl_thread threads[KM_MAX_CPUS];
    tl_barrier_init(&km_barrier, km_ncpus);
    for (int i = 0; i < km_ncpus; i++) {
        km_cpus[i].phase = phase;
        if (tl_thread_start(&threads[i], TL_PTHREAD, cpu_thread, &km_cpus[i]) != 0)
            tl_die("cannot start CPU %d", i);
    }
    for (int i = 0; i < km_ncpus; i++)
        tl_thread_join(&threads[i]);
}

void km_free_block(struct km_cpu *self, tl_block *b)
{
    atomic_fetch_sub(&km_cpus[b->seed >> 56].live, (long)km_block_bytes(b->size));
    km_block_give(b, "kfree");
    self->calls++;
}

void km_drain_box(struct km_cpu *self)
{
    tl_block got[KM_MAILBOX];
    tl_spin_lock(&self->box_lock);
    unsigned n = self->boxed;
    memcpy(got, self->box, n * sizeof got[0]);
    self->boxed = 0;
    tl_spin_unlock(&self->box_lock);
    for (unsigned i = 0; i < n; i++)
        km_free_block(self, &got[i]);
}

void km_hand_over(struct km_cpu *self, tl_block *b)
{
    int to_id = (self->id + 1 + (int)tl_range(&self->rng, 0, (uint64_t)km_ncpus - 2)) % km_ncpus;
    struct km_cpu *to = &km_cpus[to_id];
    tl_spin_lock(&to->box_lock);
    int placed = to->boxed < km_mailbox_cap;
    if (placed)
        to->box[to->boxed++] = *b;
    tl_spin_unlock(&to->box_lock);
    if (placed)
        b->p = NULL;
    else
        km_free_block(self, b);
}

/* ---- phases over slots ------------------------------------------------- */

tl_block *km_slots_start(unsigned long n)
{
    tl_block *slots = tl_mmap(n * sizeof *slots);
    if (slots == NULL)
        tl_die("cannot map the slots");
    tl_barrier_wait(&km_barrier);
    return slots;
}

tl_block *km_random_slot(struct km_cpu *cpu, tl_block *slots, unsigned long n, unsigned long step)
{
    if (step % 32 == 0)
        km_drain_box(cpu);
    return &slots[tl_range(&cpu->rng, 0, n - 1)];
}

void km_release(struct km_cpu *cpu, tl_block *b, uint64_t remote_one_in)
{
    if (km_ncpus > 1 && tl_range(&cpu->rng, 0, remote_one_in - 1) == 0)
        km_hand_over(cpu, b);
    else
        km_free_block(cpu, b);
}

void km_slots_end(struct km_cpu *cpu, tl_block *slots, unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        if (slots[i].p != NULL)
            km_free_block(cpu, &slots[i]);
    tl_munmap(slots, n * sizeof *slots);
    tl_barrier_wait(&km_barrier);
    km_drain_box(cpu);
}

/* ---- the random workload ------------------------------------------------ */

struct km_random km_random_params;

static int past_deadline(const struct km_random *rp)
{
    return rp->deadline > 0 && tl_now() > rp->deadline;
}

int km_random_phase(struct km_cpu *cpu)
{
    const struct km_random *rp = &km_random_params;
    tl_block *slots = km_slots_start(rp->slots);
    uint64_t serial = 0;
    for (unsigned long step = 0; step < rp->steps; step++) {
        if (step % 32 == 0 && (km_failed() || past_deadline(rp)))
            break;
        tl_block *b = km_random_slot(cpu, slots, rp->slots, step);
        if (b->p != NULL) {
            km_release(cpu, b, rp->remote_one_in);
            continue;
        }
        size_t size = km_draw_size(rp->kind, &cpu->rng);
        long bytes = (long)km_block_bytes(size);
        /* Relaxed: other CPUs lower `live` as they free this CPU's blocks;
         * a stale value only moves the share by a block or two. */
        if (atomic_load_explicit(&cpu->live, memory_order_relaxed) + bytes > rp->live_share)
            continue;
        atomic_fetch_add(&cpu->live, bytes);
        *b = (tl_block){km_kalloc(size), size, km_seed(cpu->id, serial++)};
        cpu->calls++;
        if (b->p != NULL && km_block_taken(b, km_kind_name(rp->kind)))
            continue;
        atomic_fetch_sub(&cpu->live, bytes);
        if (b->p != NULL)
            continue;
        if (size > TL_PAGE) {
            cpu->nulls_large++;
            continue;
        }
        cpu->nulls_small++;
        if (rp->strict) {
            long live = 0;
            for (int i = 0; i < km_ncpus; i++)
                live += atomic_load_explicit(&km_cpus[i].live, memory_order_relaxed);
            tl_fail("%s: CPU %d: kalloc(%zu) returned NULL with about %ld KiB (%.0f%%) of "
                    "the %zu MiB heap in live blocks", km_kind_name(rp->kind), cpu->id, size,
                    live / 1024, 100.0 * (double)live / (double)km_heap_bytes(),
                    km_heap_bytes() / TL_MIB);
        }
    }
    /* A CPU cut short by the deadline (a throughput run of a slow
     * allocator) leaves its blocks: the process ends without them. It
     * still meets the others, which may have finished their steps. */
    if (past_deadline(rp)) {
        tl_munmap(slots, rp->slots * sizeof *slots);
        tl_barrier_wait(&km_barrier);
        return 0;
    }
    km_slots_end(cpu, slots, rp->slots);
    return 0;
}
