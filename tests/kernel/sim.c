/*
 * sim.c: the kernel allocator (build/kernel/kalloc.c) on a simulated
 * multiprocessor, the machine of tests/checker/kalloc_machine.h (shared
 * with kalloc-check). Threads are CPUs: each pins its CPU number in a
 * thread-local (km_this_cpu) that kalloc_cpu_current returns. The heap is
 * one mapping between guard regions, placed at an odd 4 KiB start
 * (--start-kib past a 4 MiB boundary).
 *
 * Every block kalloc returns is checked there: inside the heap, aligned to
 * the smallest power of two >= its size, overlapping no live block (a
 * shadow bitmap, one bit per 16 bytes, kalloc's smallest block, claimed and
 * released with atomics) and tagged (testlib); the tag is verified before
 * kfree.
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
#include "kalloc_machine.h"

#include <stdint.h>

/* kalloc's smallest block: the machine's shadow grain. */
#define KALLOC_GRAIN 16

/* ---- the simulated CPUs ------------------------------------------------ */

static int cpu_count_answer;

int kalloc_cpu_current(void)
{
    return km_this_cpu;
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

static const struct km_allocator kalloc_ops = {"kalloc", kalloc_init, kalloc, kfree};
static const struct km_allocator buddy_ops = {"buddy", buddy_kalloc_init, buddy_kalloc,
                                              buddy_kfree};

/* The largest power-of-two block that fits in the heap once its metadata
 * (under 1% + 64 KiB) is set aside. */
static size_t largest_expected(void)
{
    uintptr_t lo = (uintptr_t)km_heap_lo + km_heap_bytes() / 100 + 64 * TL_KIB;
    uintptr_t hi = (uintptr_t)km_heap_hi;
    size_t best = 0;
    for (size_t b = TL_PAGE; b <= km_heap_bytes(); b <<= 1) {
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
    tl_block b = {km_kalloc(big), big, 7};
    if (b.p == NULL) {
        tl_fail("%s: all freed, yet kalloc(%zu MiB) failed: memory did not come back or "
                "did not merge", where, big / TL_MIB);
        return;
    }
    int light = tl_light_tags;
    tl_light_tags = 1;
    if (km_block_taken(&b, where))
        km_block_give(&b, where);
    tl_light_tags = light;
}

/* ---- case: small, pages, mix, bench ------------------------------------ */

/* Options of the random phases (the pressure case's too). */
static enum km_kind workload;
static unsigned long steps_per_cpu, slot_count;

static void sum_calls(unsigned long *calls, unsigned long *nulls_small, unsigned long *nulls_large)
{
    *calls = *nulls_small = *nulls_large = 0;
    for (int i = 0; i < km_ncpus; i++) {
        *calls += km_cpus[i].calls;
        *nulls_small += km_cpus[i].nulls_small;
        *nulls_large += km_cpus[i].nulls_large;
    }
}

/* The random phase of the options: each CPU keeps its live bytes under
 * `live_share`, hands a quarter of its frees to another CPU, and may not
 * get a NULL for a page or less. */
static void random_params(long live_share)
{
    km_random_params = (struct km_random){.kind = workload, .slots = slot_count,
                                          .steps = steps_per_cpu, .live_share = live_share,
                                          .remote_one_in = 4, .strict = 1};
}

/* A fresh heap, the random phase on every CPU (seeded with `seed`), and
 * its calls summed; returns the seconds it took. */
static double timed_random_run(uint64_t seed, long live_share, unsigned long *calls,
                               unsigned long *nulls_small, unsigned long *nulls_large)
{
    random_params(live_share);
    km_cpus_reset(seed);
    km_init();
    double t0 = tl_now();
    km_run_cpus(km_random_phase);
    double secs = tl_now() - t0;
    sum_calls(calls, nulls_small, nulls_large);
    return secs;
}

static void case_random(int live_pct)
{
    long live_share = (long)(km_heap_bytes() / 100 * (size_t)live_pct) / km_ncpus;
    unsigned long calls, nulls_small, nulls_large;
    double secs = timed_random_run(1, live_share, &calls, &nulls_small, &nulls_large);
    check_largest(km_kind_name(workload));
    tl_figure("%s cpus=%d calls=%lu %.2fMcalls/s null_small=%lu null_large=%lu",
              km_kind_name(workload), km_ncpus, calls, calls / secs / 1e6, nulls_small, nulls_large);
}

static void case_bench(void)
{
    tl_light_tags = 1;
    long live_share = (long)(km_heap_bytes() / 2) / km_ncpus;
    unsigned long calls, nulls_small, nulls_large;
    double secs = timed_random_run(2, live_share, &calls, &nulls_small, &nulls_large);
    tl_printf("calls=%lu secs=%.3f\n", calls, secs);
    tl_figure("cpus=%d calls_per_sec=%.0f", km_ncpus, calls / secs);
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
static enum km_kind fill_kind;

/* The block of filled[i], as it was tagged. */
static tl_block filled_block(size_t i)
{
    return (tl_block){filled[i].p, filled[i].size, km_seed((int)filled[i].cpu, i)};
}

/* Kallocs `kind` until a request of a page or less fails (bigger ones
 * failing on a fragmented heap are skipped, up to 64 in a row), recording
 * every block. */
static void fill_until_null(struct km_cpu *cpu, enum km_kind kind)
{
    int large_misses = 0;
    for (;;) {
        size_t size = km_draw_size(kind, &cpu->rng);
        void *p = km_kalloc(size);
        if (p == NULL) {
            if (size <= TL_PAGE || ++large_misses > 64)
                break;
            continue;
        }
        large_misses = 0;
        size_t at = atomic_fetch_add(&filled_count, 1);
        if (at >= filled_cap)
            tl_die("more blocks than the test can record");
        tl_block b = {p, size, km_seed(cpu->id, at)};
        km_block_taken(&b, "fill"); /* b.p NULL if outside the heap: not kept */
        filled[at] = (struct filled){b.p, (uint32_t)size, (uint32_t)cpu->id};
        cpu->filled_bytes += km_block_bytes(size);
        cpu->filled_requested += size;
    }
}

static int fill_phase(struct km_cpu *cpu)
{
    tl_barrier_wait(&km_barrier);
    fill_until_null(cpu, fill_kind);
    return 0;
}

/* Each CPU frees the blocks the previous CPU allocated. */
static int unfill_phase(struct km_cpu *cpu)
{
    uint32_t from = (uint32_t)((cpu->id + km_ncpus - 1) % km_ncpus);
    size_t n = atomic_load(&filled_count);
    tl_barrier_wait(&km_barrier);
    for (size_t i = 0; i < n; i++) {
        if (filled[i].cpu != from || filled[i].p == NULL)
            continue;
        tl_block b = filled_block(i);
        km_block_give(&b, "unfill");
    }
    return 0;
}

/* Fills the heap with `kind`, frees it all; returns the share of the heap
 * the blocks took, and in *requested the share the requests took. */
static double fill_and_free(enum km_kind kind, double *requested)
{
    fill_kind = kind;
    atomic_store(&filled_count, 0);
    km_cpus_reset(3 + kind);
    km_run_cpus(fill_phase);
    size_t bytes = 0, asked = 0;
    for (int i = 0; i < km_ncpus; i++) {
        bytes += km_cpus[i].filled_bytes;
        asked += km_cpus[i].filled_requested;
    }
    km_run_cpus(unfill_phase);
    *requested = (double)asked / (double)km_heap_bytes();
    return (double)bytes / (double)km_heap_bytes();
}

static void filled_prepare(void)
{
    filled_cap = km_heap_bytes() / 16 + 1024;
    filled = tl_mmap(filled_cap * sizeof *filled);
    if (filled == NULL)
        tl_die("cannot map the block records");
}

static void case_fill(void)
{
    static const enum km_kind kinds[] = {KM_PAGE4K, KM_B128, KM_SMALL, KM_MIX, KM_LARGE};
    filled_prepare();
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        km_init();
        double requested, ignored;
        double used = fill_and_free(kinds[k], &requested);
        tl_printf("fill %s: blocks %.2f%% of the heap, requests %.2f%%, in %zu blocks\n",
                  km_kind_name(kinds[k]), used * 100, requested * 100, atomic_load(&filled_count));
        if (kinds[k] == KM_SMALL || kinds[k] == KM_MIX)
            tl_figure("%s util=%.1f%%(requested %.1f%%)", km_kind_name(kinds[k]), used * 100,
                      requested * 100);
        else
            tl_figure("%s util=%.1f%%", km_kind_name(kinds[k]), used * 100);
        if (kinds[k] == KM_PAGE4K && used < 0.95)
            tl_fail("4 KiB pages filled only %.2f%% of the heap", used * 100);
        check_largest(km_kind_name(kinds[k]));
        double again = fill_and_free(KM_PAGE4K, &ignored);
        if (again < 0.95)
            tl_fail("after %s blocks were freed, 4 KiB pages filled only %.2f%% of the heap",
                    km_kind_name(kinds[k]), again * 100);
        check_largest("refill");
    }
}

/* ---- case: steal ------------------------------------------------------ */

static size_t steal_freed, steal_got;

/* CPU 0 fills the heap with 128-byte blocks and frees every other one: its
 * slabs are all partly free and no page is free. Then CPU 1 must get every
 * one of those blocks before kalloc(128) returns NULL. */
static int steal_phase(struct km_cpu *cpu)
{
    if (cpu->id == 0) {
        fill_until_null(cpu, KM_B128);
        size_t n = atomic_load(&filled_count);
        for (size_t i = 1; i < n; i += 2) {
            tl_block b = filled_block(i);
            km_block_give(&b, "steal");
            filled[i].p = NULL;
        }
        steal_freed = n / 2;
    }
    tl_barrier_wait(&km_barrier);
    if (cpu->id == 1) {
        size_t before = atomic_load(&filled_count);
        fill_until_null(cpu, KM_B128);
        steal_got = atomic_load(&filled_count) - before;
    }
    return 0;
}

static void case_steal(void)
{
    if (km_ncpus < 2)
        tl_die("--case=steal needs 2 CPUs or more");
    filled_prepare();
    km_init();
    atomic_store(&filled_count, 0);
    km_cpus_reset(9);
    km_run_cpus(steal_phase);
    if (steal_got < steal_freed)
        tl_fail("CPU 0 freed %zu blocks of 128 bytes on a full heap, CPU 1 got only %zu",
                steal_freed, steal_got);
    km_run_cpus(unfill_phase);
    check_largest("steal");
    tl_figure("steal: freed=%zu taken=%zu", steal_freed, steal_got);
}

/* ---- case: edges ------------------------------------------------------- */

static void case_edges(void)
{
    km_init();
    size_t too_big[] = {0, km_heap_bytes() + 1, km_heap_bytes() * 2, SIZE_MAX, SIZE_MAX / 2 + 1,
                        SIZE_MAX - 4095, (size_t)1 << 62};
    for (unsigned i = 0; i < sizeof too_big / sizeof too_big[0]; i++)
        TL_CHECK(km_kalloc(too_big[i]) == NULL, "kalloc(%zu) did not return NULL", too_big[i]);
    km_kfree(NULL);

    /* Every size around every power of two up to 4 MiB, all live at once. */
    tl_block held[3 * 23];
    unsigned n = 0;
    for (size_t p = 1; p <= 4 * TL_MIB; p <<= 1) {
        size_t sizes[3] = {p - 1, p, p + 1};
        for (unsigned s = 0; s < 3; s++) {
            if (sizes[s] == 0)
                continue;
            tl_block *b = &held[n++];
            *b = (tl_block){km_kalloc(sizes[s]), sizes[s], n};
            if (b->p == NULL) {
                tl_fail("kalloc(%zu) returned NULL on an empty heap", sizes[s]);
                n--;
                continue;
            }
            km_block_taken(b, "edges");
        }
    }
    /* Pointers no block starts at: ignored. */
    char *inside = held[n - 1].p;
    km_kfree(inside + 4096);
    km_kfree(inside + 16);
    km_kfree(km_heap_lo);
    km_kfree(km_heap_hi + 4096);
    km_kfree(km_heap_lo - 4096);
    for (unsigned i = 0; i < n; i++)
        km_block_give(&held[i], "edges");
    /* A page block freed twice is caught. */
    void *page = km_kalloc(8192);
    km_kfree(page);
    km_kfree(page);
    check_largest("edges");

    /* Regions too small for the metadata and a page: every kalloc NULL. A
     * region of two pages: one for the metadata, one to hand out. A start
     * and an end inside pages: those pages are not used. */
    kalloc_init(km_heap_lo, km_heap_lo + TL_PAGE);
    TL_CHECK(km_kalloc(16) == NULL, "kalloc from a one-page region");
    km_kfree(km_heap_lo + 64);
    kalloc_init(km_heap_lo + TL_PAGE, km_heap_lo);
    TL_CHECK(km_kalloc(16) == NULL, "kalloc from a region that ends before it starts");
    kalloc_init(km_heap_lo, km_heap_lo + 2 * TL_PAGE);
    void *only = km_kalloc(TL_PAGE);
    TL_CHECK(only == km_heap_lo + TL_PAGE, "the one page of a two-page region: %p", only);
    TL_CHECK(km_kalloc(1) == NULL, "a second block from a two-page region");
    km_kfree(only);
    TL_CHECK(km_kalloc(TL_PAGE) == only, "the one page did not come back");
    kalloc_init(km_heap_lo + 100, km_heap_hi - 100);
    for (size_t size = 1; size <= 4 * TL_MIB; size *= 2) {
        char *p = km_kalloc(size);
        TL_CHECK(p >= km_heap_lo + TL_PAGE && p + size <= km_heap_hi - TL_PAGE,
                 "kalloc(%zu) = %p: outside the whole pages of an unaligned region", size,
                 (void *)p);
    }
    tl_figure("edges: %u sizes checked", n);
}

/* ---- case: bigheap ----------------------------------------------------- */

static void case_bigheap(void)
{
    tl_light_tags = 1;
    km_init();
    size_t sizes[] = {(size_t)1 << 30, (size_t)3 << 20, 24, 4096, 5000, 2049};
    tl_block some[sizeof sizes / sizeof sizes[0]];
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        some[i] = (tl_block){km_kalloc(sizes[i]), sizes[i], i};
        if (some[i].p == NULL)
            tl_die("kalloc(%zu) returned NULL on an empty %zu MiB heap", sizes[i],
                   km_heap_bytes() / TL_MIB);
        km_block_taken(&some[i], "bigheap");
    }
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        km_block_give(&some[i], "bigheap");
    check_largest("bigheap");

    enum { MAX_BIG = 256 };
    tl_block big[MAX_BIG];
    unsigned n = 0;
    while (n < MAX_BIG && (big[n].p = km_kalloc(64 * TL_MIB)) != NULL) {
        big[n].size = 64 * TL_MIB;
        big[n].seed = n;
        km_block_taken(&big[n++], "bigheap");
    }
    double used = (double)n * 64 * TL_MIB / (double)km_heap_bytes();
    if (used < 0.9)
        tl_fail("64 MiB blocks filled only %.1f%% of the heap", used * 100);
    while (n > 0)
        km_block_give(&big[--n], "bigheap");
    check_largest("bigheap after 64 MiB blocks");

    workload = KM_MIX;
    random_params((long)(km_heap_bytes() / 50) / km_ncpus);
    km_cpus_reset(4);
    km_run_cpus(km_random_phase);
    check_largest("bigheap after the mix");
    tl_figure("bigheap=%zuMiB util_64M=%.1f%%", km_heap_bytes() / TL_MIB, used * 100);
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

/* The NULLs of a CPU in the counted steps, beyond km_cpu's nulls_small and
 * nulls_large: each CPU writes its own, read once the CPUs are joined. */
struct null_counts {
    _Alignas(TL_CACHELINE) unsigned long low; /* below the floor */
    double fill_min, fill_sum;                /* in-use share at NULLs */
    size_t low_size;                          /* request of the lowest */
};
static struct null_counts null_counts[KM_MAX_CPUS];

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
    for (size_t p = km_block_bytes(lo); p / 2 < hi; p <<= 1) {
        size_t from = p / 2 + 1 > lo ? p / 2 + 1 : lo, to = p < hi ? p : hi;
        sum += (double)(to - from + 1) * (double)p;
    }
    return sum / (double)(hi - lo + 1);
}

/* The mean block of KM_PAGE_MODULE, as km_draw_size draws it. */
static double page_module_mean_block(void)
{
    return 0.700 * 4096 + 0.290 * mean_block_uniform(4097, 64 * TL_KIB) +
           0.010 * mean_block_uniform(64 * TL_KIB + 1, TL_MIB);
}

/* Bytes in pages a fresh heap hands out: kalloc(4096) until NULL. */
static size_t measure_usable(void)
{
    km_init();
    size_t pages = 0;
    while (km_kalloc(TL_PAGE) != NULL)
        pages++;
    return pages * TL_PAGE;
}

static size_t bytes_in_use(void)
{
    long sum = 0;
    for (int i = 0; i < km_ncpus; i++)
        sum += atomic_load_explicit(&km_cpus[i].live, memory_order_relaxed);
    return sum < 0 ? 0 : (size_t)sum;
}

static void null_seen(struct km_cpu *cpu, size_t size)
{
    double fill = (double)bytes_in_use() / (double)usable_bytes;
    struct null_counts *c = &null_counts[cpu->id];
    if (size <= TL_PAGE)
        cpu->nulls_small++;
    else
        cpu->nulls_large++;
    c->fill_sum += fill;
    if (fill < c->fill_min) {
        c->fill_min = fill;
        c->low_size = size;
    }
    if (fill < pressure_floor)
        c->low++;
}

static int pressure_phase(struct km_cpu *cpu)
{
    tl_block *slots = km_slots_start(slot_count);
    uint64_t serial = 0;
    /* Filling up: every slot once; NULLs are not counted yet. */
    for (unsigned long i = 0; i < slot_count; i++) {
        size_t size = km_draw_size(KM_PAGE_MODULE, &cpu->rng);
        tl_block *b = &slots[i];
        *b = (tl_block){km_kalloc(size), size, km_seed(cpu->id, serial++)};
        if (b->p != NULL) {
            atomic_fetch_add(&cpu->live, (long)km_block_bytes(size));
            km_block_taken(b, km_under_test->name);
        }
    }
    /* The first settle_steps replacements are not counted either: the NULLs
     * right after filling up depend on which CPU filled up first. */
    unsigned long settle_steps = PRESSURE_SETTLE * slot_count;
    for (unsigned long step = 0; step < settle_steps + steps_per_cpu; step++) {
        if (step % PRESSURE_ROUND == 0)
            tl_barrier_wait(&km_barrier);
        tl_block *b = km_random_slot(cpu, slots, slot_count, step);
        if (b->p != NULL)
            km_release(cpu, b, 8);
        size_t size = km_draw_size(KM_PAGE_MODULE, &cpu->rng);
        b->p = km_kalloc(size);
        b->size = size;
        b->seed = km_seed(cpu->id, serial++);
        cpu->calls++;
        if (b->p == NULL) {
            if (step >= settle_steps)
                null_seen(cpu, size);
            continue;
        }
        atomic_fetch_add(&cpu->live, (long)km_block_bytes(size));
        km_block_taken(b, km_under_test->name);
    }
    /* No CPU frees its blocks while another still counts NULLs. */
    tl_barrier_wait(&km_barrier);
    km_slots_end(cpu, slots, slot_count);
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
static void pressure_run(const struct km_allocator *a, uint64_t seed, struct pressure_result *r)
{
    km_under_test = a;
    km_init();
    km_cpus_reset(seed);
    for (int i = 0; i < km_ncpus; i++)
        null_counts[i] = (struct null_counts){.fill_min = 2};
    double t0 = tl_now();
    km_run_cpus(pressure_phase);
    r->secs += tl_now() - t0;
    check_largest(a->name);
    km_under_test = &kalloc_ops;
    for (int i = 0; i < km_ncpus; i++) {
        const struct km_cpu *cpu = &km_cpus[i];
        const struct null_counts *c = &null_counts[i];
        r->calls += cpu->calls;
        r->nulls_pages += cpu->nulls_small;
        r->nulls += cpu->nulls_small + cpu->nulls_large;
        r->nulls_low += c->low;
        r->fill_sum += c->fill_sum;
        if (c->fill_min < r->fill_min) {
            r->fill_min = c->fill_min;
            r->low_size = c->low_size;
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
    km_mailbox_cap = 16;
    pressure_floor = (double)floor_pct / 100;
    usable_bytes = measure_usable();
    double mean = page_module_mean_block();
    slot_count = (unsigned long)((double)overcommit_pct / 100 * (double)usable_bytes /
                                 ((double)km_ncpus * mean) + 0.5);
    tl_printf("over-commit %lu%%: %lu live blocks per CPU of %.1f KiB on average, %.0f MiB "
              "wanted of %zu MiB usable, %lu rounds of %lu steps per CPU\n", overcommit_pct,
              slot_count, mean / 1024, (double)slot_count * km_ncpus * mean / TL_MIB,
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
    km_ncpus = (int)tl_arg_ulong(argc, argv, "cpus", 4);
    if (km_ncpus < 1 || km_ncpus > KM_MAX_CPUS)
        tl_die("--cpus must be 1..%d", KM_MAX_CPUS);
    cpu_count_answer = (int)tl_arg_ulong(argc, argv, "count", (unsigned long)km_ncpus);
    steps_per_cpu = tl_arg_ulong(argc, argv, "ops", 200000);
    slot_count = tl_arg_ulong(argc, argv, "slots", 1024);
    if (slot_count < 1)
        tl_die("--slots must be at least 1");
    size_t heap = tl_arg_ulong(argc, argv, "heap-mib", 64) * TL_MIB;
    size_t start_offset = tl_arg_ulong(argc, argv, "start-kib", 4) * TL_KIB;
    km_under_test = &kalloc_ops;
    km_grain = KALLOC_GRAIN;
    km_heap_create(heap, start_offset, !tl_streq(which, "bench"));
    tl_printf("case %s: %d CPUs (count %d), heap %zu MiB at %p\n", which, km_ncpus, cpu_count_answer,
              heap / TL_MIB, (void *)km_heap_lo);

    if (tl_streq(which, "small") || tl_streq(which, "pages") || tl_streq(which, "mix")) {
        workload = tl_streq(which, "small") ? KM_SMALL : tl_streq(which, "pages") ? KM_PAGES : KM_MIX;
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
        workload = KM_MIX;
        case_bench();
    } else {
        tl_die("unknown --case=%s", which);
    }
    return tl_finish("kernel/sim");
}
