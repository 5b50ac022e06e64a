/*
 * kalloc_driver.c: kalloc-check's test program, linked with a student's
 * pmm.c (through `pmm`, kalloc_am.c) or with mymalloc's own kalloc. One
 * rule per run (--rule=NAME), on the simulated machine of kalloc_machine.h,
 * every block checked there (inside the heap, aligned, no overlap, tag
 * intact). Prints FAIL lines with the evidence, the FIGURES line, and exits
 * 0 only when every check passed. Rules (docs/CHECK.md has the table):
 *
 *   alignment    1 CPU: every size 1..256 and around every power of two up
 *                to 16 MiB; NULL on an almost empty heap fails up to 4 MiB
 *   bounds       1 CPU, a heap whose start and end are no power of two:
 *                kalloc until NULL with pages, 128-byte blocks, small and
 *                1-3 MiB blocks; every block inside the heap
 *   small|pages|mix  the lab's three workloads on --cpus CPUs: random
 *                kalloc/kfree, a quarter of the frees on another CPU, at
 *                most a quarter of the heap live: a NULL of a page or less
 *                fails
 *   concurrency  bursts of kallocs of one size on all CPUs at once, light
 *                checks, every other burst freed on another CPU
 *   remote-free  2 CPUs take turns: one allocates 40% of the heap, the
 *                other frees all of it; 6 rounds, no NULL allowed
 *   exhaustion   all CPUs kalloc until NULL (4 KiB pages, 128-byte blocks,
 *                small), all freed on the next CPU, 3 rounds each: the
 *                NULL must come, the first round must get 40% of the heap
 *                (30% for small), later rounds 90% of the first, and 1 MiB
 *                must be had after everything was freed
 *   throughput   the mix with light tags and no shadow; prints the calls
 *                (kalloc + kfree) per second
 * Options: --cpus=N (1..64), --ops=N (steps per CPU of the random rules
 * and of concurrency; for throughput, the calls of all CPUs), --ms=N (the
 * most a concurrency or throughput run lasts), --slots=N (throughput),
 * --seed=N.
 */
#include "kalloc_machine.h"

extern const struct km_allocator kam_pmm;

static uint64_t seed_base;

/* ---- alignment ----------------------------------------------------------- */

#define ALIGN_SMALL_MAX 256
#define ALIGN_COPIES 4
#define ALIGN_LIVE_TOP (64 * TL_KIB)
#define ALIGN_TOP (16 * TL_MIB)
#define ALIGN_NULL_OK_ABOVE (4 * TL_MIB)

/* Kallocs and checks one block; 0 (b->p NULL) when it cannot be kept, and
 * once anything failed (the first failure is the evidence). */
static int alignment_take(tl_block *b, size_t size, uint64_t serial)
{
    *b = (tl_block){NULL, size, km_seed(0, serial)};
    if (km_failed())
        return 0;
    b->p = km_kalloc(size);
    if (b->p == NULL) {
        if (size <= ALIGN_NULL_OK_ABOVE)
            tl_fail("alignment: kalloc(%zu) returned NULL on an almost empty %zu MiB heap", size,
                    km_heap_bytes() / TL_MIB);
        return 0;
    }
    return km_block_taken(b, "alignment");
}

static void rule_alignment(void)
{
    static tl_block held[ALIGN_SMALL_MAX * ALIGN_COPIES + 64 * 3 * ALIGN_COPIES];
    unsigned n = 0, big = 0, big_nulls = 0;
    uint64_t serial = 0;
    km_init();
    for (size_t size = 1; size <= ALIGN_SMALL_MAX; size++)
        for (int k = 0; k < ALIGN_COPIES; k++)
            n += (unsigned)alignment_take(&held[n], size, serial++);
    for (size_t p = 2 * ALIGN_SMALL_MAX; p <= ALIGN_LIVE_TOP; p *= 2)
        for (size_t size = p - 1; size <= p + 1; size++)
            for (int k = 0; k < ALIGN_COPIES / 2; k++)
                n += (unsigned)alignment_take(&held[n], size, serial++);
    for (unsigned i = 0; i < n; i++)
        km_block_give(&held[i], "alignment (all live)");
    /* Larger blocks one at a time: 16 MiB is a quarter of the heap. */
    for (size_t p = 2 * ALIGN_LIVE_TOP; p <= ALIGN_TOP && !km_failed(); p *= 2)
        for (size_t size = p - 1; size <= p + 1 && size <= ALIGN_TOP; size++) {
            tl_block b;
            if (alignment_take(&b, size, serial++)) {
                km_block_give(&b, "alignment");
                big++;
            } else if (b.p == NULL) {
                big_nulls++;
            }
        }
    tl_figure("sizes_checked=%u large=%u large_nulls(>4MiB)=%u", n, big, big_nulls);
}

/* ---- fills: bounds and exhaustion --------------------------------------- */

/* The blocks of a fill: a CPU takes a slot with filled_count; the freeing
 * phase reads them after the filling threads were joined. */
static tl_block *filled;
static size_t filled_cap;
static atomic_size_t filled_count;
static enum km_kind fill_kind;

/* Kallocs fill_kind until NULL (for blocks above a page, 8 NULLs in a
 * row: a fragmented heap may refuse one and take the next), recording
 * every block. */
static int fill_phase(struct km_cpu *cpu)
{
    uint64_t serial = 0;
    int misses = 0;
    tl_barrier_wait(&km_barrier);
    while (!km_failed()) {
        size_t size = km_draw_size(fill_kind, &cpu->rng);
        tl_block b = {km_kalloc(size), size, km_seed(cpu->id, serial++)};
        if (b.p == NULL) {
            if (size <= TL_PAGE || ++misses >= 8)
                break;
            continue;
        }
        misses = 0;
        if (!km_block_taken(&b, "fill"))
            break;
        size_t at = atomic_fetch_add(&filled_count, 1);
        if (at >= filled_cap) {
            tl_fail("fill: more than %zu blocks of %s in a %zu MiB heap", filled_cap,
                    km_kind_name(fill_kind), km_heap_bytes() / TL_MIB);
            km_block_give(&b, "fill");
            break;
        }
        filled[at] = b;
        cpu->filled_bytes += km_pow2_at_least(size);
    }
    return 0;
}

/* Each CPU frees the blocks the previous CPU allocated. */
static int unfill_phase(struct km_cpu *cpu)
{
    int from = (cpu->id + km_ncpus - 1) % km_ncpus;
    size_t n = atomic_load(&filled_count);
    if (n > filled_cap)
        n = filled_cap;
    tl_barrier_wait(&km_barrier);
    for (size_t i = 0; i < n; i++)
        if (filled[i].p != NULL && (int)(filled[i].seed >> 56) == from)
            km_block_give(&filled[i], "free after the fill");
    return 0;
}

/* All CPUs fill the heap with `kind`, then free it all; returns the block
 * bytes the fill got. */
static size_t fill_and_free(enum km_kind kind, uint64_t seed)
{
    fill_kind = kind;
    atomic_store(&filled_count, 0);
    km_cpus_reset(seed);
    km_run_cpus(fill_phase);
    size_t bytes = 0;
    for (int i = 0; i < km_ncpus; i++)
        bytes += km_cpus[i].filled_bytes;
    km_run_cpus(unfill_phase);
    return bytes;
}

static void fills_prepare(void)
{
    filled_cap = km_heap_bytes() / 16 + 1024;
    filled = tl_mmap(filled_cap * sizeof *filled);
    if (filled == NULL)
        tl_die("cannot map the block records");
}

static double share(size_t bytes)
{
    return 100.0 * (double)bytes / (double)km_heap_bytes();
}

static void rule_bounds(void)
{
    static const enum km_kind kinds[] = {KM_PAGE4K, KM_B128, KM_SMALL, KM_LARGE};
    fills_prepare();
    km_init();
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0] && !km_failed(); k++) {
        size_t got = fill_and_free(kinds[k], seed_base + k);
        tl_figure("%s=%.1f%%", km_kind_name(kinds[k]), share(got));
    }
}

#define EXHAUST_ROUNDS 3
#define EXHAUST_RECOVERY 0.90

static void rule_exhaustion(void)
{
    static const enum km_kind kinds[] = {KM_PAGE4K, KM_B128, KM_SMALL};
    static const double floors[] = {0.40, 0.40, 0.30};
    fills_prepare();
    km_init();
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0] && !km_failed(); k++) {
        size_t first = 0;
        for (int round = 0; round < EXHAUST_ROUNDS && !km_failed(); round++) {
            size_t got = fill_and_free(kinds[k], seed_base + 10 * k + (uint64_t)round);
            if (round == 0) {
                first = got;
                tl_figure("%s=%.1f%%", km_kind_name(kinds[k]), share(got));
                if ((double)got < floors[k] * (double)km_heap_bytes())
                    tl_fail("exhaustion: %d CPUs got only %.1f MiB (%.1f%% of the %zu MiB heap) "
                            "of %s before kalloc returned NULL (at least %.0f%% expected)",
                            km_ncpus, (double)got / TL_MIB, share(got), km_heap_bytes() / TL_MIB,
                            km_kind_name(kinds[k]), floors[k] * 100);
            } else if ((double)got < EXHAUST_RECOVERY * (double)first) {
                tl_fail("exhaustion: after %d rounds of filling the heap with %s and freeing "
                        "everything, round %d got %.1f MiB, the first %.1f MiB: memory freed was "
                        "not given back or not reused", round, km_kind_name(kinds[k]), round + 1,
                        (double)got / TL_MIB, (double)first / TL_MIB);
            }
        }
    }
    if (km_failed())
        return;
    km_this_cpu = 0;
    tl_block b = {km_kalloc(TL_MIB), TL_MIB, 1};
    if (b.p == NULL)
        tl_fail("exhaustion: after everything was freed, kalloc(1 MiB) returned NULL");
    else if (km_block_taken(&b, "exhaustion"))
        km_block_give(&b, "exhaustion");
}

/* ---- remote-free ------------------------------------------------------- */

#define REMOTE_ROUNDS 6
#define REMOTE_LIVE 0.40

/* Written by the allocating CPU of a round, read by the other after the
 * barrier that ends the allocating half (the barrier orders them). */
static tl_block *remote_blocks;
static size_t remote_cap, remote_count;

static size_t remote_size(tl_rng *r)
{
    return tl_range(r, 0, 9) < 7 ? (size_t)tl_range(r, 1, 128) : TL_PAGE;
}

static int remote_phase(struct km_cpu *cpu)
{
    uint64_t serial = 0;
    for (int round = 0; round < REMOTE_ROUNDS && !km_failed(); round++) {
        int giver = round % 2;
        tl_barrier_wait(&km_barrier);
        if (cpu->id == giver) {
            size_t live = 0, target = (size_t)(REMOTE_LIVE * (double)km_heap_bytes());
            remote_count = 0;
            while (live < target && remote_count < remote_cap && !km_failed()) {
                size_t size = remote_size(&cpu->rng);
                tl_block *b = &remote_blocks[remote_count];
                *b = (tl_block){km_kalloc(size), size, km_seed(cpu->id, serial++)};
                if (b->p == NULL) {
                    tl_fail("remote-free: round %d: kalloc(%zu) on CPU %d returned NULL with "
                            "%.1f MiB live, after %d rounds in which the other CPU freed all the "
                            "blocks this one allocated", round + 1, size, cpu->id,
                            (double)live / TL_MIB, round);
                    break;
                }
                if (!km_block_taken(b, "remote-free"))
                    break;
                remote_count++;
                live += km_pow2_at_least(size);
            }
        }
        tl_barrier_wait(&km_barrier);
        if (cpu->id != giver)
            for (size_t i = 0; i < remote_count; i++)
                km_block_give(&remote_blocks[i], "remote-free (freed by the other CPU)");
    }
    return 0;
}

static void rule_remote_free(void)
{
    remote_cap = km_heap_bytes() / 32;
    remote_blocks = tl_mmap(remote_cap * sizeof *remote_blocks);
    if (remote_blocks == NULL)
        tl_die("cannot map the block records");
    km_init();
    km_cpus_reset(seed_base);
    km_run_cpus(remote_phase);
}

/* ---- concurrency ---------------------------------------------------------- */

/* Each CPU kallocs a burst of blocks of one size (so that the CPUs meet on
 * the same lists), back to back, then frees them, every other burst on
 * another CPU; the checks are light, so that the time goes to the
 * allocator and a race has the most chances to show. */
#define BURST 16

static unsigned long burst_steps;
static double burst_deadline;

static int burst_phase(struct km_cpu *cpu)
{
    tl_block burst[BURST];
    uint64_t serial = 0;
    tl_barrier_wait(&km_barrier);
    for (unsigned long round = 0; round * BURST < burst_steps && !km_failed(); round++) {
        if (round % 8 == 0) {
            km_drain_box(cpu);
            if (tl_now() > burst_deadline)
                break;
        }
        size_t size = km_draw_size(KM_SMALL, &cpu->rng);
        for (int i = 0; i < BURST; i++) {
            burst[i] = (tl_block){km_kalloc(size), size, km_seed(cpu->id, serial++)};
            cpu->calls++;
            if (burst[i].p != NULL && km_block_taken(&burst[i], "concurrency"))
                atomic_fetch_add(&cpu->live, (long)km_pow2_at_least(size));
        }
        int remote = km_ncpus > 1 && round % 2 == 1;
        for (int i = 0; i < BURST; i++) {
            if (burst[i].p == NULL)
                continue;
            if (remote)
                km_hand_over(cpu, &burst[i]);
            else
                km_free_block(cpu, &burst[i]);
        }
    }
    tl_barrier_wait(&km_barrier);
    km_drain_box(cpu);
    return 0;
}

static void rule_concurrency(unsigned long steps, double secs)
{
    tl_light_tags = 1;
    burst_steps = steps;
    burst_deadline = tl_now() + secs;
    km_init();
    km_cpus_reset(seed_base);
    km_run_cpus(burst_phase);
}

/* ---- the random rules ------------------------------------------------------ */

static void run_random(struct km_random params, const char *name)
{
    km_random_params = params;
    km_init();
    km_cpus_reset(seed_base);
    double t0 = tl_now();
    km_run_cpus(km_random_phase);
    double secs = tl_now() - t0;
    unsigned long calls = 0;
    for (int i = 0; i < km_ncpus; i++)
        calls += km_cpus[i].calls;
    tl_printf("%s: %d CPUs, %lu calls in %.3f s, calls_per_sec=%.0f\n", name, km_ncpus, calls,
              secs, (double)calls / secs);
    tl_figure("%s cpus=%d %.2fMcalls/s", name, km_ncpus, (double)calls / secs / 1e6);
}

static long heap_share(double part)
{
    return (long)(part * (double)km_heap_bytes()) / km_ncpus;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const char *rule = tl_arg_str(argc, argv, "rule", "mix");
    km_ncpus = (int)tl_arg_ulong(argc, argv, "cpus", 8);
    if (km_ncpus < 1 || km_ncpus > KM_MAX_CPUS)
        tl_die("--cpus must be 1..%d", KM_MAX_CPUS);
    unsigned long ops = tl_arg_ulong(argc, argv, "ops", 40000);
    seed_base = tl_arg_ulong(argc, argv, "seed", 1);
    km_under_test = &kam_pmm;
    int is_bounds = tl_streq(rule, "bounds"), is_throughput = tl_streq(rule, "throughput");
    /* The bounds rule's heap looks like a real machine's: it starts after
     * the kernel's image and ends below a device hole, at no power of two. */
    size_t heap = is_bounds ? 96 * TL_MIB + 20 * TL_KIB : 64 * TL_MIB;
    size_t offset = is_bounds ? TL_MIB + 12 * TL_KIB : 4 * TL_KIB;
    km_heap_create(heap, offset, !is_throughput);
    if (tl_streq(rule, "alignment") || is_bounds)
        km_ncpus = 1;
    else if (tl_streq(rule, "remote-free"))
        km_ncpus = 2;
    tl_printf("rule %s: %d CPUs, heap [%p, %p) of %zu KiB\n", rule, km_ncpus, (void *)km_heap_lo,
              (void *)km_heap_hi, heap / TL_KIB);

    if (tl_streq(rule, "alignment")) {
        rule_alignment();
    } else if (is_bounds) {
        rule_bounds();
    } else if (tl_streq(rule, "small") || tl_streq(rule, "pages") || tl_streq(rule, "mix")) {
        enum km_kind kind = tl_streq(rule, "small") ? KM_SMALL
                          : tl_streq(rule, "pages") ? KM_PAGES : KM_MIX;
        run_random((struct km_random){kind, 1024, ops, heap_share(0.25), 4, 1, 0}, rule);
    } else if (tl_streq(rule, "concurrency")) {
        rule_concurrency(ops, (double)tl_arg_ulong(argc, argv, "ms", 1000) / 1000);
    } else if (tl_streq(rule, "remote-free")) {
        rule_remote_free();
    } else if (tl_streq(rule, "exhaustion")) {
        rule_exhaustion();
    } else if (is_throughput) {
        tl_light_tags = 1;
        run_random((struct km_random){KM_MIX, tl_arg_ulong(argc, argv, "slots", 4096),
                                      ops / (unsigned long)km_ncpus, heap_share(0.5), 4, 0,
                                      tl_now() + (double)tl_arg_ulong(argc, argv, "ms", 2000) / 1000},
                   rule);
    } else {
        tl_die("unknown --rule=%s", rule);
    }
    return tl_finish("kalloc-check");
}
