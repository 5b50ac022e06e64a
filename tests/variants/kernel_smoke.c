/*
 * kernel_smoke.c: the smoke test of a build of the kernel drop-in
 * (build/kernel/kalloc.c; docs/BUILD.md, "Variants"), linked with that
 * build's object and compiled with its macros. Two threads are two CPUs
 * (kalloc_cpu_current answers each its number) over a 256 MiB region.
 *
 *   kernel_smoke --checks=LIST   vt_exchange on kalloc/kfree (power-of-two
 *                                alignment), then each check of LIST:
 *   parallel  per-CPU locks: while CPU 0 is held inside a kalloc (in its
 *             kalloc_cpu_current), a kalloc and kfree on CPU 1 complete
 *   serial    KALLOC_SINGLE_LOCK: the same kalloc on CPU 1 waits until
 *             CPU 0's call has left (it is still waiting after a second)
 *   slabs     small blocks share pages: of three kalloc(16), two lie in
 *             one page
 *   buddy     KALLOC_BUDDY_ONLY: every block is whole pages: three
 *             kalloc(16) are three page-aligned blocks
 *   irq       KALLOC_IRQ_SAVE/RESTORE: every call made by the exchange
 *             saved and restored once, and read its CPU with interrupts
 *             "off" (the hooks keep a per-thread flag)
 *   debug     MM_DEBUG with KALLOC_ASSERT_FAILED: a block whose page
 *             descriptor was planted with an impossible order is refused
 *             by the buddy's assertion, reported through the hook, and the
 *             CPU traps (SIGILL)
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "kalloc.h"
#include "kernel_hooks.h"
#include "variants.h"
/* Last: the allocator's headers make what follows them hidden. */
#include "kernel/layout.h"

#define REGION_BYTES ((size_t)256 << 20)

static char *region;
static _Thread_local int my_cpu;

/* The parallel/serial probe: CPU 0's next kalloc_cpu_current, once armed,
 * waits (up to hold_ns) for CPU 1 to finish a call. */
static atomic_int probe_armed, cpu0_inside, cpu1_done, probe_over;
static long long hold_ns;

/* The irq hooks' record. */
static _Thread_local int irq_off;
static atomic_long irq_saves, irq_restores, cpu_reads_irq_on, calls_made;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int kalloc_cpu_count(void) { return 2; }

int kalloc_cpu_current(void)
{
    if (!irq_off)
        atomic_fetch_add(&cpu_reads_irq_on, 1);
    if (my_cpu == 0 && atomic_exchange(&probe_armed, 0)) {
        atomic_store(&cpu0_inside, 1);
        long long until = now_ns() + hold_ns;
        while (!atomic_load(&cpu1_done) && now_ns() < until)
            sched_yield();
        atomic_store(&cpu0_inside, 0);
    }
    return my_cpu;
}

unsigned long vt_irq_save(void)
{
    atomic_fetch_add(&irq_saves, 1);
    unsigned long was_off = (unsigned long)irq_off;
    irq_off = 1;
    return was_off;
}

void vt_irq_restore(unsigned long saved)
{
    atomic_fetch_add(&irq_restores, 1);
    irq_off = (int)saved;
}

void vt_assert_failed(const char *file, int line, const char *condition)
{
    fprintf(stderr, "kalloc: %s:%d: assertion failed: %s\n", file, line, condition);
}

static void *counted_kalloc(size_t size)
{
    atomic_fetch_add(&calls_made, 1);
    return kalloc(size);
}

static void counted_kfree(void *ptr)
{
    atomic_fetch_add(&calls_made, 1);
    kfree(ptr);
}

static size_t power_of_two_alignment(size_t size)
{
    size_t align = 16;
    while (align < size)
        align <<= 1;
    return align;
}

static void set_cpu(int cpu) { my_cpu = cpu; }

static const struct vt_ops kernel_ops = {counted_kalloc, counted_kfree, power_of_two_alignment,
                                         set_cpu};

static void *cpu1_call(void *unused)
{
    (void)unused;
    my_cpu = 1;
    while (!atomic_load(&cpu0_inside) && !atomic_load(&probe_over))
        sched_yield();
    kfree(kalloc(64));
    atomic_store(&cpu1_done, 1);
    return NULL;
}

/* CPU 0 calls kalloc, held inside for up to `hold` ns unless CPU 1's call
 * completes first; returns whether it did. */
static int cpu1_finished_while_cpu0_inside(long long hold)
{
    hold_ns = hold;
    atomic_store(&cpu1_done, 0);
    atomic_store(&probe_over, 0);
    atomic_store(&probe_armed, 1);
    pthread_t other;
    pthread_create(&other, NULL, cpu1_call, NULL);
    my_cpu = 0;
    void *block = kalloc(64);
    int finished = atomic_load(&cpu1_done);
    int reached = !atomic_exchange(&probe_armed, 0);
    atomic_store(&probe_over, 1);
    pthread_join(other, NULL);
    CHECK(reached, "kalloc(64) never asked for its CPU: the probe could not hold it inside");
    CHECK(block != NULL && atomic_load(&cpu1_done), "the probe's calls failed");
    kfree(block);
    return finished;
}

static void check_three_small_blocks(int whole_pages)
{
    char *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = kalloc(16);
    int page_aligned = 0, sharing = 0;
    for (int i = 0; i < 3; i++) {
        page_aligned += ((uintptr_t)p[i] & 4095) == 0;
        for (int j = i + 1; j < 3; j++)
            sharing += (uintptr_t)p[i] >> 12 == (uintptr_t)p[j] >> 12;
    }
    if (whole_pages)
        CHECK(page_aligned == 3 && sharing == 0, "buddy: kalloc(16) gave %p %p %p", (void *)p[0],
              (void *)p[1], (void *)p[2]);
    else
        CHECK(sharing > 0, "slabs: three kalloc(16) in three pages: %p %p %p", (void *)p[0],
              (void *)p[1], (void *)p[2]);
    for (int i = 0; i < 3; i++)
        kfree(p[i]);
}

static void plant_bad_order(void)
{
    char *block = kalloc(8192);
    struct mmk_heap *heap = (struct mmk_heap *)(((uintptr_t)region + 4095) & ~(uintptr_t)4095);
    if (block == NULL || heap->base != (char *)heap)
        _exit(3);
    heap->pages[(block - heap->base) >> 12].order = 40;
    kfree(block);
}

int main(int argc, char **argv)
{
    const char *checks = argc > 1 && strncmp(argv[1], "--checks=", 9) == 0 ? argv[1] + 9 : "";
    region = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
    if (region == MAP_FAILED)
        return 2;
    kalloc_init(region, region + REGION_BYTES);
    vt_exchange(&kernel_ops);
    if (strstr(checks, "irq") != NULL) {
        long calls = atomic_load(&calls_made);
        CHECK(atomic_load(&irq_saves) == calls && atomic_load(&irq_restores) == calls,
              "irq: %ld calls, %ld saves, %ld restores", calls, atomic_load(&irq_saves),
              atomic_load(&irq_restores));
        CHECK(atomic_load(&cpu_reads_irq_on) == 0, "irq: %ld CPU reads with interrupts on",
              atomic_load(&cpu_reads_irq_on));
    }
    if (strstr(checks, "parallel") != NULL)
        CHECK(cpu1_finished_while_cpu0_inside(10000000000LL),
              "parallel: CPU 1's call waited for CPU 0's");
    if (strstr(checks, "serial") != NULL)
        CHECK(!cpu1_finished_while_cpu0_inside(1000000000LL),
              "serial: CPU 1's call completed while CPU 0 was inside one");
    if (strstr(checks, "slabs") != NULL)
        check_three_small_blocks(0);
    if (strstr(checks, "buddy") != NULL)
        check_three_small_blocks(1);
    if (strstr(checks, "debug") != NULL)
        vt_expect_child(plant_bad_order, SIGILL, "assertion failed: block_fits",
                        "debug: planted block order caught");
    return check_finish(argv[0]);
}
