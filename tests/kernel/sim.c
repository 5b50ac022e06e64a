/*
 * sim.c: the kernel allocator (build/kernel/kalloc.c) on a simulated
 * multiprocessor. Threads are CPUs: each pins its CPU number in a
 * thread-local that kalloc_cpu_current returns. The heap is one mmap'd
 * region, placed at an odd 4 KiB start (--start-kib past a 4 MiB boundary).
 *
 * Every block kalloc returns is checked: inside the heap, aligned to the
 * smallest power of two >= its size, overlapping no live block (a shadow
 * bitmap, one bit per 16 bytes, claimed and released with atomics) and
 * tagged (testlib); the tag is verified before kfree.
 *
 *   --case=small|pages|mix  the three workloads a kernel lab's pmm checks:
 *                 random kalloc/kfree over --slots slots on each of --cpus
 *                 CPUs, --ops steps each, a
 *                 quarter of the frees handed to another CPU; each CPU keeps
 *                 its live bytes under its share of --live-pct of the heap,
 *                 so that no request of a page or less may fail (bigger ones
 *                 may, the heap being fragmented: counted). At the end all is
 *                 freed and the largest block the heap can hold must be had.
 *   --case=fill   for each kind of block (4 KiB pages, 128-byte blocks,
 *                 1..128 bytes, the mix, 1..3 MiB) on a fresh heap: all CPUs
 *                 kalloc until NULL (it must come, without a hang), the
 *                 utilisation is block bytes / heap bytes (4 KiB pages must
 *                 reach 95%); every block is freed by the next CPU; the
 *                 largest block must then be had, and a refill with pages
 *                 must reach 95% again.
 *   --case=steal  CPU 0 fills the heap with 128-byte blocks and frees every
 *                 other one (no page is free, its slabs are half free); CPU
 *                 1 must then get all of those blocks before a NULL.
 *   --case=edges  sizes and alignments one by one: kalloc(0), sizes above
 *                 the heap, SIZE_MAX, 1 .. 2^k around every power of two,
 *                 kfree(NULL) and of pointers no block starts at.
 *   --case=bigheap  a heap of --heap-mib (4096 in the suite), light tags:
 *                 kalloc(1 GiB) and others aligned, the heap filled with
 *                 64 MiB blocks (at least 90%), the mix on all CPUs with 2%
 *                 of the heap live; the largest block after each.
 *   --case=pressure  over-commit (--overcommit-pct of the heap wanted at
 *                 once, the page module: 70% pages, 29% 4..64 KiB, 1%
 *                 64 KiB..1 MiB) on kalloc and on a plain buddy allocator
 *                 built from the same code; kalloc may not return more
 *                 NULLs than the buddy (but --tolerance-pct), nor any below
 *                 --floor-pct in use.
 *   --case=bench  throughput: the mix with light tags and no shadow; prints
 *                 calls (kalloc + kfree) per second.
 * Options: --cpus=N (threads, 1..64), --count=N (what kalloc_cpu_count
 * says; smaller than --cpus folds CPU numbers), --heap-mib, --ops, --slots,
 * --live-pct, --start-kib, --overcommit-pct, --floor-pct, --rounds,
 * --tolerance-pct.
 */
#include "kalloc.h"
#include "testlib.h"

#include <stdint.h>

#define MAX_CPUS 64
#define MAILBOX 256

/* ---- the simulated CPUs ------------------------------------------------ */

static _Thread_local int this_cpu_number;
static int cpu_count_answer;

int kalloc_cpu_current(void)
{
    return this_cpu_number;
}

int kalloc_cpu_count(void)
{
    return cpu_count_answer;
}

/* ---- the allocator under test ----------------------------------------- */

/* The baseline: the same buddy code built with -DKALLOC_BUDDY_ONLY, a plain
 * buddy allocator under one lock, its symbols renamed buddy_* (rules.mk). */
void buddy_kalloc_init(void *heap_start, void *heap_end);
void *buddy_kalloc(size_t size);
void buddy_kfree(void *ptr);

struct allocator {
    const char *name;
    void (*init)(void *, void *);
    void *(*alloc)(size_t);
    void (*free)(void *);
};

static const struct allocator kalloc_ops = {"kalloc", kalloc_init, kalloc, kfree};
static const struct allocator buddy_ops = {"buddy", buddy_kalloc_init, buddy_kalloc, buddy_kfree};

/* What block_give and check_largest call; the cases other than pressure
 * call kalloc directly. */
static const struct allocator *under_test = &kalloc_ops;

/* ---- the heap and the shadow ------------------------------------------- */

static char *heap_lo, *heap_hi; /* what kalloc_init got */
static atomic_ulong *shadow;    /* bit per 16 bytes of [heap_lo, heap_hi) */
static int use_shadow = 1;

static void heap_create(size_t bytes, size_t start_offset)
{
    size_t boundary = 4 * TL_MIB;
    char *map = tl_mmap(bytes + boundary + start_offset);
    if (map == NULL)
        tl_die("cannot map a heap of %zu MiB", bytes / TL_MIB);
    uintptr_t start = ((uintptr_t)map + boundary - 1) & ~(uintptr_t)(boundary - 1);
    heap_lo = (char *)(start + start_offset);
    heap_hi = heap_lo + bytes;
    if (use_shadow) {
        shadow = tl_mmap(bytes / 16 / 8 + 8);
        if (shadow == NULL)
            tl_die("cannot map the shadow");
    }
}

static size_t heap_bytes(void)
{
    return (size_t)(heap_hi - heap_lo);
}

/* Flips the shadow bits of [p, p + size); `claim` sets them and fails if
 * one was set (an overlap), else clears them and fails if one was clear. */
static void shadow_mark(const void *p, size_t size, int claim)
{
    size_t from = (size_t)((const char *)p - heap_lo) / 16;
    size_t to = ((size_t)((const char *)p - heap_lo) + size + 15) / 16;
    while (from < to) {
        size_t word = from / 64, bit = from % 64;
        size_t n = to - from < 64 - bit ? to - from : 64 - bit;
        unsigned long mask = (n == 64 ? ~0UL : ((1UL << n) - 1)) << bit;
        unsigned long old = claim ? atomic_fetch_or(&shadow[word], mask)
                                  : atomic_fetch_and(&shadow[word], ~mask);
        if (claim && (old & mask) != 0)
            tl_fail("block %p size %zu overlaps a live block", p, size);
        if (!claim && (old & mask) != mask)
            tl_fail("block %p size %zu was not live in the shadow", p, size);
        from += n;
    }
}

static size_t pow2_at_least(size_t size)
{
    size_t a = 1;
    while (a < size)
        a <<= 1;
    return a;
}

/* The bytes a request really takes: its block. */
static size_t block_bytes(size_t size)
{
    return size <= 16 ? 16 : pow2_at_least(size);
}

/* The checks of a block kalloc just returned, then its tag. */
static void block_taken(tl_block *b, const char *where)
{
    uintptr_t a = (uintptr_t)b->p;
    if (a < (uintptr_t)heap_lo || b->size > (size_t)(heap_hi - (char *)b->p)) {
        tl_fail("%s: block %p size %zu is outside the heap [%p, %p)", where, b->p, b->size,
                (void *)heap_lo, (void *)heap_hi);
        b->p = NULL; /* never touch it */
        return;
    }
    if (a & (pow2_at_least(b->size) - 1))
        tl_fail("%s: block %p size %zu is not aligned to %zu", where, b->p, b->size,
                pow2_at_least(b->size));
    if (use_shadow)
        shadow_mark(b->p, b->size, 1);
    tl_fill(b);
}

static void block_give(tl_block *b, const char *where)
{
    tl_verify(b, where);
    if (use_shadow)
        shadow_mark(b->p, b->size, 0);
    under_test->free(b->p);
    b->p = NULL;
}

/* The largest power-of-two block that fits in the heap once its metadata
 * (under 1% + 64 KiB) is set aside. */
static size_t largest_expected(void)
{
    uintptr_t lo = (uintptr_t)heap_lo + heap_bytes() / 100 + 64 * TL_KIB, hi = (uintptr_t)heap_hi;
    size_t best = 0;
    for (size_t b = TL_PAGE; b <= heap_bytes(); b <<= 1) {
        uintptr_t first = (lo + b - 1) & ~(uintptr_t)(b - 1);
        if (first + b <= hi)
            best = b;
    }
    return best;
}

/* After everything is freed: the largest block must be had. */
static void check_largest(const char *where)
{
    size_t big = largest_expected();
    tl_block b = {under_test->alloc(big), big, 7};
    if (b.p == NULL) {
        tl_fail("%s: all freed, yet kalloc(%zu MiB) failed: memory did not come back or "
                "did not merge", where, big / TL_MIB);
        return;
    }
    int light = tl_light_tags;
    tl_light_tags = 1;
    block_taken(&b, where);
    block_give(&b, where);
    tl_light_tags = light;
}

/* ---- sizes ------------------------------------------------------------- */

enum kind { K_SMALL, K_PAGES, K_MIX, K_PAGE4K, K_B128, K_LARGE, K_PAGE_MODULE };

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

static size_t draw_size(enum kind k, tl_rng *r)
{
    unsigned x = (unsigned)tl_range(r, 0, 999);
    switch (k) {
    case K_SMALL: /* 90% up to 128 bytes, the rest up to 2 KiB */
        return x < 900 ? (size_t)tl_range(r, 1, 128) : log_uniform(r, 129, 2048);
    case K_PAGES: /* pages, and more */
        if (x < 600)
            return 4096;
        if (x < 750)
            return (size_t)tl_range(r, 2049, 4096);
        if (x < 950)
            return log_uniform(r, 4097, 64 * TL_KIB);
        return log_uniform(r, 64 * TL_KIB + 1, TL_MIB);
    case K_MIX: /* frequent small, frequent pages, rare large */
        if (x < 800)
            return (size_t)tl_range(r, 1, 128);
        if (x < 870)
            return log_uniform(r, 129, 2048);
        if (x < 970)
            return 4096;
        if (x < 999)
            return log_uniform(r, 4097, 64 * TL_KIB);
        return log_uniform(r, 64 * TL_KIB + 1, 4 * TL_MIB);
    case K_PAGE4K:
        return 4096;
    case K_B128:
        return 128;
    case K_LARGE:
        return (size_t)tl_range(r, TL_MIB, 3 * TL_MIB);
    case K_PAGE_MODULE: /* the page-sized module: pages, some more, rarely up to 1 MiB */
        if (x < 700)
            return 4096;
        if (x < 990)
            return (size_t)tl_range(r, 4097, 64 * TL_KIB);
        return (size_t)tl_range(r, 64 * TL_KIB + 1, TL_MIB);
    }
    return 1;
}

static const char *kind_name(enum kind k)
{
    static const char *names[] = {"small", "pages", "mix", "4k", "128", "1-3M", "page-module"};
    return names[k];
}

/* ---- CPUs -------------------------------------------------------------- */

struct cpu {
    /* Written by this CPU only. */
    _Alignas(TL_CACHELINE) int id;
    int (*phase)(struct cpu *);
    tl_rng rng;
    unsigned long calls;     /* kalloc + kfree */
    unsigned long nulls_small, nulls_large;
    size_t filled_bytes, filled_requested;
    unsigned long nulls_low;         /* pressure: NULLs below the floor */
    double null_fill_min, null_fill_sum; /* pressure: in-use share at NULLs */
    size_t null_low_size;            /* pressure: request of the lowest */

    /* Written by other CPUs too, each on a line of its own. */
    _Alignas(TL_CACHELINE) atomic_long live; /* block bytes this CPU
                                                allocated, not yet freed */
    _Alignas(TL_CACHELINE) tl_spin_t box_lock; /* guards the mailbox: blocks
                                                  handed over for freeing */
    unsigned boxed;
    tl_block box[MAILBOX];
};

static struct cpu cpus[MAX_CPUS];
/* Blocks a mailbox takes before a hand-over frees the block at once: few
 * under pressure, so that CPUs descheduled by the host hold little. */
static unsigned mailbox_cap = MAILBOX;
static int ncpus;
static enum kind workload;
static unsigned long steps_per_cpu;
static long live_share; /* bytes per CPU */
static tl_barrier phase_barrier;

static int cpu_thread(void *arg)
{
    struct cpu *cpu = arg;
    this_cpu_number = cpu->id;
    return cpu->phase(cpu);
}

/* Runs `phase` on every CPU, each on its own thread, and waits for them. */
static void run_cpus(int (*phase)(struct cpu *))
{
    tl_thread threads[MAX_CPUS];
    tl_barrier_init(&phase_barrier, ncpus);
    for (int i = 0; i < ncpus; i++) {
        cpus[i].phase = phase;
        if (tl_thread_start(&threads[i], TL_PTHREAD, cpu_thread, &cpus[i]) != 0)
            tl_die("cannot start CPU %d", i);
    }
    for (int i = 0; i < ncpus; i++)
        tl_thread_join(&threads[i]);
}

static void cpus_reset(uint64_t seed)
{
    for (int i = 0; i < ncpus; i++) {
        struct cpu *cpu = &cpus[i];
        cpu->id = i;
        tl_rng_seed(&cpu->rng, seed * 1000 + (uint64_t)i);
        atomic_store(&cpu->live, 0);
        atomic_store(&cpu->box_lock.held, 0);
        cpu->boxed = 0;
        cpu->calls = cpu->nulls_small = cpu->nulls_large = 0;
        cpu->filled_bytes = cpu->filled_requested = 0;
        cpu->nulls_low = 0;
        cpu->null_fill_min = 2;
        cpu->null_fill_sum = 0;
        cpu->null_low_size = 0;
    }
}

/* Frees a block allocated by CPU `owner` (whose live count it lowers). */
static void free_block(struct cpu *self, tl_block *b, int owner)
{
    atomic_fetch_sub(&cpus[owner].live, (long)block_bytes(b->size));
    block_give(b, "kfree");
    self->calls++;
}

/* The owner of a block rides in the top bits of its seed. */
static int seed_owner(uint64_t seed)
{
    return (int)(seed >> 56);
}

static void drain_box(struct cpu *cpu)
{
    tl_block got[MAILBOX];
    tl_spin_lock(&cpu->box_lock);
    unsigned n = cpu->boxed;
    for (unsigned i = 0; i < n; i++)
        got[i] = cpu->box[i];
    cpu->boxed = 0;
    tl_spin_unlock(&cpu->box_lock);
    for (unsigned i = 0; i < n; i++)
        free_block(cpu, &got[i], seed_owner(got[i].seed));
}

/* Hands a block to another CPU's mailbox; frees it here if that is full. */
static void hand_over(struct cpu *cpu, tl_block *b)
{
    struct cpu *to = &cpus[(cpu->id + 1 + (int)tl_range(&cpu->rng, 0, (uint64_t)ncpus - 2)) % ncpus];
    tl_spin_lock(&to->box_lock);
    int placed = to->boxed < mailbox_cap;
    if (placed)
        to->box[to->boxed++] = *b;
    tl_spin_unlock(&to->box_lock);
    if (placed)
        b->p = NULL;
    else
        free_block(cpu, b, cpu->id);
}

/* ---- case: small, pages, mix, bench ------------------------------------ */

static unsigned long slot_count;

/* The end of a phase: every block of its slots freed here, and, once every
 * CPU is through, what others handed this CPU. */
static void phase_end(struct cpu *cpu, tl_block *slots)
{
    for (unsigned long i = 0; i < slot_count; i++)
        if (slots[i].p != NULL)
            free_block(cpu, &slots[i], cpu->id);
    tl_munmap(slots, slot_count * sizeof *slots);
    tl_barrier_wait(&phase_barrier);
    drain_box(cpu);
}

/* A random slot of a phase, after the CPU's inbox is drained every 32
 * steps. */
static tl_block *random_slot(struct cpu *cpu, tl_block *slots, unsigned long step)
{
    if (step % 32 == 0)
        drain_box(cpu);
    return &slots[tl_range(&cpu->rng, 0, slot_count - 1)];
}

/* Free the block of slot `b` here, or one time in `remote_one_in` (with
 * several CPUs) hand it to another CPU to free. */
static void release_slot(struct cpu *cpu, tl_block *b, uint64_t remote_one_in)
{
    if (ncpus > 1 && tl_range(&cpu->rng, 0, remote_one_in - 1) == 0)
        hand_over(cpu, b);
    else
        free_block(cpu, b, cpu->id);
}

/* A phase's slots (all empty), once every CPU is ready to start. */
static tl_block *phase_start(void)
{
    tl_block *slots = tl_mmap(slot_count * sizeof *slots);
    if (slots == NULL)
        tl_die("cannot map the slots");
    tl_barrier_wait(&phase_barrier);
    return slots;
}

static int random_phase(struct cpu *cpu)
{
    tl_block *slots = phase_start();
    uint64_t serial = 0;
    for (unsigned long step = 0; step < steps_per_cpu; step++) {
        tl_block *b = random_slot(cpu, slots, step);
        if (b->p != NULL) {
            release_slot(cpu, b, 4);
            continue;
        }
        size_t size = draw_size(workload, &cpu->rng);
        long bytes = (long)block_bytes(size);
        if (atomic_load_explicit(&cpu->live, memory_order_relaxed) + bytes > live_share)
            continue;
        atomic_fetch_add(&cpu->live, bytes);
        b->p = kalloc(size);
        b->size = size;
        b->seed = ((uint64_t)cpu->id << 56) | serial++;
        cpu->calls++;
        if (b->p == NULL) {
            atomic_fetch_sub(&cpu->live, bytes);
            if (size <= TL_PAGE) {
                cpu->nulls_small++;
                tl_fail("CPU %d: kalloc(%zu) returned NULL with every CPU under its share "
                        "of live bytes", cpu->id, size);
            } else {
                cpu->nulls_large++;
            }
            continue;
        }
        block_taken(b, "kalloc");
    }
    phase_end(cpu, slots);
    return 0;
}

static void sum_calls(unsigned long *calls, unsigned long *nulls_small, unsigned long *nulls_large)
{
    *calls = *nulls_small = *nulls_large = 0;
    for (int i = 0; i < ncpus; i++) {
        *calls += cpus[i].calls;
        *nulls_small += cpus[i].nulls_small;
        *nulls_large += cpus[i].nulls_large;
    }
}

/* A fresh heap, the random phase on every CPU (seeded with `seed`), and
 * its calls summed; returns the seconds it took. */
static double timed_random_run(uint64_t seed, unsigned long *calls, unsigned long *nulls_small,
                               unsigned long *nulls_large)
{
    cpus_reset(seed);
    kalloc_init(heap_lo, heap_hi);
    double t0 = tl_now();
    run_cpus(random_phase);
    double secs = tl_now() - t0;
    sum_calls(calls, nulls_small, nulls_large);
    return secs;
}

static void case_random(int live_pct)
{
    live_share = (long)(heap_bytes() / 100 * (size_t)live_pct) / ncpus;
    unsigned long calls, nulls_small, nulls_large;
    double secs = timed_random_run(1, &calls, &nulls_small, &nulls_large);
    check_largest(kind_name(workload));
    tl_figure("%s cpus=%d calls=%lu %.2fMcalls/s null_small=%lu null_large=%lu",
              kind_name(workload), ncpus, calls, calls / secs / 1e6, nulls_small, nulls_large);
}

static void case_bench(void)
{
    tl_light_tags = 1;
    live_share = (long)(heap_bytes() / 2) / ncpus;
    unsigned long calls, nulls_small, nulls_large;
    double secs = timed_random_run(2, &calls, &nulls_small, &nulls_large);
    tl_printf("calls=%lu secs=%.3f\n", calls, secs);
    tl_figure("cpus=%d calls_per_sec=%.0f", ncpus, calls / secs);
}

/* ---- case: fill -------------------------------------------------------- */

struct filled {
    void *p;
    uint32_t size;
    uint32_t cpu;
};

static struct filled *filled;
static size_t filled_cap;
static atomic_size_t filled_count;
static enum kind fill_kind;

/* Kallocs `kind` until a request of a page or less fails (bigger ones
 * failing on a fragmented heap are skipped, up to 64 in a row), recording
 * every block. */
static void fill_until_null(struct cpu *cpu, enum kind kind)
{
    int large_misses = 0;
    for (;;) {
        size_t size = draw_size(kind, &cpu->rng);
        void *p = kalloc(size);
        if (p == NULL) {
            if (size <= TL_PAGE || ++large_misses > 64)
                break;
            continue;
        }
        large_misses = 0;
        size_t at = atomic_fetch_add(&filled_count, 1);
        if (at >= filled_cap)
            tl_die("more blocks than the test can record");
        tl_block b = {p, size, at};
        block_taken(&b, "fill");
        filled[at] = (struct filled){p, (uint32_t)size, (uint32_t)cpu->id};
        cpu->filled_bytes += block_bytes(size);
        cpu->filled_requested += size;
    }
}

static int fill_phase(struct cpu *cpu)
{
    tl_barrier_wait(&phase_barrier);
    fill_until_null(cpu, fill_kind);
    return 0;
}

/* Each CPU frees the blocks the previous CPU allocated. */
static int unfill_phase(struct cpu *cpu)
{
    uint32_t from = (uint32_t)((cpu->id + ncpus - 1) % ncpus);
    size_t n = atomic_load(&filled_count);
    tl_barrier_wait(&phase_barrier);
    for (size_t i = 0; i < n; i++) {
        if (filled[i].cpu != from || filled[i].p == NULL)
            continue;
        tl_block b = {filled[i].p, filled[i].size, i};
        block_give(&b, "unfill");
    }
    return 0;
}

/* Fills the heap with `kind`, frees it all; returns the share of the heap
 * the blocks took, and in *requested the share the requests took. */
static double fill_and_free(enum kind kind, double *requested)
{
    fill_kind = kind;
    atomic_store(&filled_count, 0);
    cpus_reset(3 + kind);
    run_cpus(fill_phase);
    size_t bytes = 0, asked = 0;
    for (int i = 0; i < ncpus; i++) {
        bytes += cpus[i].filled_bytes;
        asked += cpus[i].filled_requested;
    }
    run_cpus(unfill_phase);
    *requested = (double)asked / (double)heap_bytes();
    return (double)bytes / (double)heap_bytes();
}

static void filled_prepare(void)
{
    filled_cap = heap_bytes() / 16 + 1024;
    filled = tl_mmap(filled_cap * sizeof *filled);
    if (filled == NULL)
        tl_die("cannot map the block records");
}

static void case_fill(void)
{
    static const enum kind kinds[] = {K_PAGE4K, K_B128, K_SMALL, K_MIX, K_LARGE};
    filled_prepare();
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        kalloc_init(heap_lo, heap_hi);
        double requested, ignored;
        double used = fill_and_free(kinds[k], &requested);
        tl_printf("fill %s: blocks %.2f%% of the heap, requests %.2f%%, in %zu blocks\n",
                  kind_name(kinds[k]), used * 100, requested * 100, atomic_load(&filled_count));
        if (kinds[k] == K_SMALL || kinds[k] == K_MIX)
            tl_figure("util_%s=%.1f%%(requested %.1f%%)", kind_name(kinds[k]), used * 100,
                      requested * 100);
        else
            tl_figure("util_%s=%.1f%%", kind_name(kinds[k]), used * 100);
        if (kinds[k] == K_PAGE4K && used < 0.95)
            tl_fail("4 KiB pages filled only %.2f%% of the heap", used * 100);
        check_largest(kind_name(kinds[k]));
        double again = fill_and_free(K_PAGE4K, &ignored);
        if (again < 0.95)
            tl_fail("after %s blocks were freed, 4 KiB pages filled only %.2f%% of the heap",
                    kind_name(kinds[k]), again * 100);
        check_largest("refill");
    }
}

/* ---- case: steal ------------------------------------------------------ */

static size_t steal_freed, steal_got;

/* CPU 0 fills the heap with 128-byte blocks and frees every other one: its
 * slabs are all partly free and no page is free. Then CPU 1 must get every
 * one of those blocks before kalloc(128) returns NULL. */
static int steal_phase(struct cpu *cpu)
{
    if (cpu->id == 0) {
        fill_until_null(cpu, K_B128);
        size_t n = atomic_load(&filled_count);
        for (size_t i = 1; i < n; i += 2) {
            tl_block b = {filled[i].p, filled[i].size, i};
            block_give(&b, "steal");
            filled[i].p = NULL;
        }
        steal_freed = n / 2;
    }
    tl_barrier_wait(&phase_barrier);
    if (cpu->id == 1) {
        size_t before = atomic_load(&filled_count);
        fill_until_null(cpu, K_B128);
        steal_got = atomic_load(&filled_count) - before;
    }
    return 0;
}

static void case_steal(void)
{
    if (ncpus < 2)
        tl_die("--case=steal needs 2 CPUs or more");
    filled_prepare();
    kalloc_init(heap_lo, heap_hi);
    atomic_store(&filled_count, 0);
    cpus_reset(9);
    run_cpus(steal_phase);
    if (steal_got < steal_freed)
        tl_fail("CPU 0 freed %zu blocks of 128 bytes on a full heap, CPU 1 got only %zu",
                steal_freed, steal_got);
    run_cpus(unfill_phase);
    check_largest("steal");
    tl_figure("steal: freed=%zu taken=%zu", steal_freed, steal_got);
}

/* ---- case: edges ------------------------------------------------------- */

static void case_edges(void)
{
    kalloc_init(heap_lo, heap_hi);
    size_t too_big[] = {0, heap_bytes() + 1, heap_bytes() * 2, SIZE_MAX, SIZE_MAX / 2 + 1,
                        SIZE_MAX - 4095, (size_t)1 << 62};
    for (unsigned i = 0; i < sizeof too_big / sizeof too_big[0]; i++)
        TL_CHECK(kalloc(too_big[i]) == NULL, "kalloc(%zu) did not return NULL", too_big[i]);
    kfree(NULL);

    /* Every size around every power of two up to 4 MiB, all live at once. */
    tl_block held[3 * 23];
    unsigned n = 0;
    for (size_t p = 1; p <= 4 * TL_MIB; p <<= 1) {
        size_t sizes[3] = {p - 1, p, p + 1};
        for (unsigned s = 0; s < 3; s++) {
            if (sizes[s] == 0)
                continue;
            tl_block *b = &held[n++];
            *b = (tl_block){kalloc(sizes[s]), sizes[s], n};
            if (b->p == NULL) {
                tl_fail("kalloc(%zu) returned NULL on an empty heap", sizes[s]);
                n--;
                continue;
            }
            block_taken(b, "edges");
        }
    }
    /* Pointers no block starts at: ignored. */
    char *inside = held[n - 1].p;
    kfree(inside + 4096);
    kfree(inside + 16);
    kfree(heap_lo);
    kfree(heap_hi + 4096);
    kfree(heap_lo - 4096);
    for (unsigned i = 0; i < n; i++)
        block_give(&held[i], "edges");
    /* A page block freed twice is caught. */
    void *page = kalloc(8192);
    kfree(page);
    kfree(page);
    check_largest("edges");

    /* Regions too small for the metadata and a page: every kalloc NULL. A
     * region of two pages: one for the metadata, one to hand out. A start
     * and an end inside pages: those pages are not used. */
    kalloc_init(heap_lo, heap_lo + TL_PAGE);
    TL_CHECK(kalloc(16) == NULL, "kalloc from a one-page region");
    kfree(heap_lo + 64);
    kalloc_init(heap_lo + TL_PAGE, heap_lo);
    TL_CHECK(kalloc(16) == NULL, "kalloc from a region that ends before it starts");
    kalloc_init(heap_lo, heap_lo + 2 * TL_PAGE);
    void *only = kalloc(TL_PAGE);
    TL_CHECK(only == heap_lo + TL_PAGE, "the one page of a two-page region: %p", only);
    TL_CHECK(kalloc(1) == NULL, "a second block from a two-page region");
    kfree(only);
    TL_CHECK(kalloc(TL_PAGE) == only, "the one page did not come back");
    kalloc_init(heap_lo + 100, heap_hi - 100);
    for (size_t size = 1; size <= 4 * TL_MIB; size *= 2) {
        char *p = kalloc(size);
        TL_CHECK(p >= heap_lo + TL_PAGE && p + size <= heap_hi - TL_PAGE,
                 "kalloc(%zu) = %p: outside the whole pages of an unaligned region", size,
                 (void *)p);
    }
    tl_figure("edges: %u sizes checked", n);
}

/* ---- case: bigheap ----------------------------------------------------- */

static void case_bigheap(void)
{
    tl_light_tags = 1;
    kalloc_init(heap_lo, heap_hi);
    size_t sizes[] = {(size_t)1 << 30, (size_t)3 << 20, 24, 4096, 5000, 2049};
    tl_block some[sizeof sizes / sizeof sizes[0]];
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        some[i] = (tl_block){kalloc(sizes[i]), sizes[i], i};
        if (some[i].p == NULL)
            tl_die("kalloc(%zu) returned NULL on an empty %zu MiB heap", sizes[i],
                   heap_bytes() / TL_MIB);
        block_taken(&some[i], "bigheap");
    }
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        block_give(&some[i], "bigheap");
    check_largest("bigheap");

    enum { MAX_BIG = 256 };
    tl_block big[MAX_BIG];
    unsigned n = 0;
    while (n < MAX_BIG && (big[n].p = kalloc(64 * TL_MIB)) != NULL) {
        big[n].size = 64 * TL_MIB;
        big[n].seed = n;
        block_taken(&big[n++], "bigheap");
    }
    double used = (double)n * 64 * TL_MIB / (double)heap_bytes();
    if (used < 0.9)
        tl_fail("64 MiB blocks filled only %.1f%% of the heap", used * 100);
    while (n > 0)
        block_give(&big[--n], "bigheap");
    check_largest("bigheap after 64 MiB blocks");

    workload = K_MIX;
    live_share = (long)(heap_bytes() / 50) / ncpus;
    cpus_reset(4);
    run_cpus(random_phase);
    check_largest("bigheap after the mix");
    tl_figure("bigheap=%zuMiB util_64M=%.1f%%", heap_bytes() / TL_MIB, used * 100);
}

/* ---- case: pressure ---------------------------------------------------- */

/* More memory is wanted than the heap has: each CPU fills its slots (set
 * from --overcommit-pct) with blocks of the page module, then at each of
 * --ops steps replaces the block of a random slot, 1 in 8 of the old ones
 * freed by another CPU. NULLs are due; counted, in the steps, are how many
 * and the share of the heap in use at each: the sum of the live blocks'
 * bytes over the bytes the empty heap hands out in pages. kalloc and the
 * plain buddy baseline take turns with the same seeds. Fails if kalloc
 * returns more NULLs than the baseline, or any NULL while less than
 * --floor-pct of the heap is in use. */

static size_t usable_bytes;
static double pressure_floor;

/* Steps between barriers: the host runs 8 CPUs on fewer cores in time
 * slices; without them, a CPU could run thousands of steps alone while the
 * others sit still holding their memory. */
#define PRESSURE_ROUND 512

/* Steps per slot, after filling up, before NULLs are counted. */
#define PRESSURE_SETTLE 4

/* The mean block of a request drawn uniformly from lo .. hi. */
static double mean_block_uniform(size_t lo, size_t hi)
{
    double sum = 0;
    for (size_t p = block_bytes(lo); p / 2 < hi; p <<= 1) {
        size_t from = p / 2 + 1 > lo ? p / 2 + 1 : lo, to = p < hi ? p : hi;
        sum += (double)(to - from + 1) * (double)p;
    }
    return sum / (double)(hi - lo + 1);
}

/* The mean block of K_PAGE_MODULE, as draw_size draws it. */
static double page_module_mean_block(void)
{
    return 0.700 * 4096 + 0.290 * mean_block_uniform(4097, 64 * TL_KIB) +
           0.010 * mean_block_uniform(64 * TL_KIB + 1, TL_MIB);
}

/* Bytes in pages a fresh heap hands out: kalloc(4096) until NULL. */
static size_t measure_usable(void)
{
    kalloc_init(heap_lo, heap_hi);
    size_t pages = 0;
    while (kalloc(TL_PAGE) != NULL)
        pages++;
    return pages * TL_PAGE;
}

static size_t bytes_in_use(void)
{
    long sum = 0;
    for (int i = 0; i < ncpus; i++)
        sum += atomic_load_explicit(&cpus[i].live, memory_order_relaxed);
    return sum < 0 ? 0 : (size_t)sum;
}

static void null_seen(struct cpu *cpu, size_t size)
{
    double fill = (double)bytes_in_use() / (double)usable_bytes;
    if (size <= TL_PAGE)
        cpu->nulls_small++;
    else
        cpu->nulls_large++;
    cpu->null_fill_sum += fill;
    if (fill < cpu->null_fill_min) {
        cpu->null_fill_min = fill;
        cpu->null_low_size = size;
    }
    if (fill < pressure_floor)
        cpu->nulls_low++;
}

static int pressure_phase(struct cpu *cpu)
{
    tl_block *slots = phase_start();
    uint64_t serial = 0;
    /* Filling up: every slot once; NULLs are not counted yet. */
    for (unsigned long i = 0; i < slot_count; i++) {
        size_t size = draw_size(K_PAGE_MODULE, &cpu->rng);
        tl_block *b = &slots[i];
        *b = (tl_block){under_test->alloc(size), size, ((uint64_t)cpu->id << 56) | serial++};
        if (b->p != NULL) {
            atomic_fetch_add(&cpu->live, (long)block_bytes(size));
            block_taken(b, under_test->name);
        }
    }
    /* The first settle_steps replacements are not counted either: the NULLs
     * right after filling up depend on which CPU filled up first. */
    unsigned long settle_steps = PRESSURE_SETTLE * slot_count;
    for (unsigned long step = 0; step < settle_steps + steps_per_cpu; step++) {
        if (step % PRESSURE_ROUND == 0)
            tl_barrier_wait(&phase_barrier);
        tl_block *b = random_slot(cpu, slots, step);
        if (b->p != NULL)
            release_slot(cpu, b, 8);
        size_t size = draw_size(K_PAGE_MODULE, &cpu->rng);
        b->p = under_test->alloc(size);
        b->size = size;
        b->seed = ((uint64_t)cpu->id << 56) | serial++;
        cpu->calls++;
        if (b->p == NULL) {
            if (step >= settle_steps)
                null_seen(cpu, size);
            continue;
        }
        atomic_fetch_add(&cpu->live, (long)block_bytes(size));
        block_taken(b, under_test->name);
    }
    /* No CPU frees its blocks while another still counts NULLs. */
    tl_barrier_wait(&phase_barrier);
    phase_end(cpu, slots);
    return 0;
}

/* What the runs of one allocator added up to. */
struct pressure_result {
    unsigned long calls, nulls, nulls_pages, nulls_low;
    double fill_min, fill_sum, secs;
    size_t low_size;
};

/* One run of the pressure phase on allocator `a`, seeded with `seed`, added
 * to `r`. */
static void pressure_run(const struct allocator *a, uint64_t seed, struct pressure_result *r)
{
    under_test = a;
    a->init(heap_lo, heap_hi);
    cpus_reset(seed);
    double t0 = tl_now();
    run_cpus(pressure_phase);
    r->secs += tl_now() - t0;
    check_largest(a->name);
    under_test = &kalloc_ops;
    for (int i = 0; i < ncpus; i++) {
        struct cpu *cpu = &cpus[i];
        r->calls += cpu->calls;
        r->nulls_pages += cpu->nulls_small;
        r->nulls += cpu->nulls_small + cpu->nulls_large;
        r->nulls_low += cpu->nulls_low;
        r->fill_sum += cpu->null_fill_sum;
        if (cpu->null_fill_min < r->fill_min) {
            r->fill_min = cpu->null_fill_min;
            r->low_size = cpu->null_low_size;
        }
    }
}

static void pressure_report(const char *name, const struct pressure_result *r)
{
    double fill_min = r->nulls > 0 ? r->fill_min * 100 : 0;
    tl_printf("%s: %lu calls in %.2f s, %lu NULLs (%lu of a page), %lu below %.0f%% in use; "
              "in use at a NULL: lowest %.1f%% (kalloc(%zu)), mean %.1f%%\n",
              name, r->calls, r->secs, r->nulls, r->nulls_pages, r->nulls_low, pressure_floor * 100,
              fill_min, r->low_size, r->nulls > 0 ? r->fill_sum / (double)r->nulls * 100 : 0);
    tl_figure("%s nulls=%lu pages=%lu low=%lu fill_min=%.1f%% %.2fMcalls/s", name, r->nulls,
              r->nulls_pages, r->nulls_low, fill_min, (double)r->calls / r->secs / 1e6);
}

/* --rounds runs of each allocator, alternating, the same seeds for both;
 * compared are the sums. At 1.5x both fail only requests above a page, at
 * the same fill, and tie: the sums differ by up to 2% either way from run
 * to run, hence --tolerance-pct (docs/DECISIONS.md). */
static void case_pressure(unsigned long overcommit_pct, unsigned long floor_pct,
                          unsigned long rounds, unsigned long tolerance_pct)
{
    tl_light_tags = 1;
    mailbox_cap = 16;
    pressure_floor = (double)floor_pct / 100;
    usable_bytes = measure_usable();
    double mean = page_module_mean_block();
    slot_count = (unsigned long)((double)overcommit_pct / 100 * (double)usable_bytes /
                                 ((double)ncpus * mean) + 0.5);
    tl_printf("over-commit %lu%%: %lu live blocks per CPU of %.1f KiB on average, %.0f MiB "
              "wanted of %zu MiB usable, %lu rounds of %lu steps per CPU\n", overcommit_pct,
              slot_count, mean / 1024, (double)slot_count * ncpus * mean / TL_MIB,
              usable_bytes / TL_MIB, rounds, steps_per_cpu);
    tl_figure("overcommit=%lu%% slots=%lu rounds=%lu", overcommit_pct, slot_count, rounds);
    struct pressure_result mine = {.fill_min = 2}, base = {.fill_min = 2};
    for (unsigned long round = 0; round < rounds; round++) {
        pressure_run(&kalloc_ops, 11 + round, &mine);
        pressure_run(&buddy_ops, 11 + round, &base);
    }
    pressure_report("kalloc", &mine);
    pressure_report("buddy", &base);
    tl_figure("ratio=%.3f", (double)mine.nulls / (double)(base.nulls > 0 ? base.nulls : 1));
    if ((double)mine.nulls > (double)base.nulls * (1 + (double)tolerance_pct / 100))
        tl_fail("kalloc returned NULL %lu times, the plain buddy allocator %lu times (%lu%% more "
                "allowed)", mine.nulls, base.nulls, tolerance_pct);
    if (mine.nulls_low > 0)
        tl_fail("kalloc returned NULL %lu times with less than %lu%% of the heap in use (the "
                "lowest at %.1f%%, kalloc(%zu))", mine.nulls_low, floor_pct, mine.fill_min * 100,
                mine.low_size);
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *which = tl_arg_str(argc, argv, "case", "mix");
    ncpus = (int)tl_arg_ulong(argc, argv, "cpus", 4);
    if (ncpus < 1 || ncpus > MAX_CPUS)
        tl_die("--cpus must be 1..%d", MAX_CPUS);
    cpu_count_answer = (int)tl_arg_ulong(argc, argv, "count", (unsigned long)ncpus);
    steps_per_cpu = tl_arg_ulong(argc, argv, "ops", 200000);
    slot_count = tl_arg_ulong(argc, argv, "slots", 1024);
    if (slot_count < 1)
        tl_die("--slots must be at least 1");
    size_t heap = tl_arg_ulong(argc, argv, "heap-mib", 64) * TL_MIB;
    size_t start_offset = tl_arg_ulong(argc, argv, "start-kib", 4) * TL_KIB;
    use_shadow = !tl_streq(which, "bench");
    heap_create(heap, start_offset);
    tl_printf("case %s: %d CPUs (count %d), heap %zu MiB at %p\n", which, ncpus, cpu_count_answer,
              heap / TL_MIB, (void *)heap_lo);

    if (tl_streq(which, "small") || tl_streq(which, "pages") || tl_streq(which, "mix")) {
        workload = tl_streq(which, "small") ? K_SMALL : tl_streq(which, "pages") ? K_PAGES : K_MIX;
        case_random((int)tl_arg_ulong(argc, argv, "live-pct", 50));
    } else if (tl_streq(which, "fill")) {
        case_fill();
    } else if (tl_streq(which, "steal")) {
        case_steal();
    } else if (tl_streq(which, "bigheap")) {
        case_bigheap();
    } else if (tl_streq(which, "edges")) {
        case_edges();
    } else if (tl_streq(which, "pressure")) {
        case_pressure(tl_arg_ulong(argc, argv, "overcommit-pct", 150),
                      tl_arg_ulong(argc, argv, "floor-pct", 90), tl_arg_ulong(argc, argv, "rounds", 3),
                      tl_arg_ulong(argc, argv, "tolerance-pct", 3));
    } else if (tl_streq(which, "bench")) {
        workload = K_MIX;
        case_bench();
    } else {
        tl_die("unknown --case=%s", which);
    }
    return tl_finish("kernel/sim");
}
