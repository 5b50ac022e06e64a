/*
 * kalloc_machine.h: a simulated multiprocessor for checking a kernel
 * allocator (kalloc/kfree over one heap region), the machine kalloc-check
 * runs a student's pmm.c on (docs/CHECK.md). Threads are CPUs, each with
 * its number in a thread-local (km_this_cpu). The heap is one mapping
 * between two inaccessible guard regions, so an allocator that touches
 * memory just outside [heap.start, heap.end) crashes there, and the crash
 * report names the address relative to the heap and the call it was in.
 *
 * Every block the allocator returns is checked (km_block_taken): inside the
 * heap, aligned to the smallest power of two >= its size (at least 2, as
 * the lab says), overlapping no
 * live block (a shadow bitmap, one bit per km_grain bytes of heap, claimed
 * and released with atomics) and tagged (testlib); the tag is verified
 * before the block is freed (km_block_give). A failure names the blocks
 * involved by heap offset, size and CPU: the start of every live block is
 * recorded (a 32-bit record per km_grain bytes of heap, at least 8), so an
 * overlap or a corrupted byte is traced to the live block it lies in.
 *
 * Two programs run on it: kalloc-check's driver (kalloc_driver.c, a
 * student's pmm, km_grain 1) and tests/kernel/sim.c (mymalloc's kalloc,
 * whose blocks are at least 16 bytes: km_grain 16, which keeps the shadow
 * of its 4 GiB heap at 32 MiB).
 */
#ifndef KALLOC_MACHINE_H
#define KALLOC_MACHINE_H

#include "testlib.h"

#include <stdint.h>

#define KM_MAX_CPUS 64
#define KM_MAILBOX 256

/* The allocator under test: init hands it [start, end). */
struct km_allocator {
    const char *name;
    void (*init)(void *start, void *end);
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);
};
extern const struct km_allocator *km_under_test;

/* ---- the heap -------------------------------------------------------- */

extern char *km_heap_lo, *km_heap_hi;

/* The allocator's smallest block, a power of two (1 unless set before
 * km_heap_create): the shadow's and the records' unit, and the least a
 * block counts in live bytes. Blocks of the allocator never share a grain,
 * else two live ones would be reported overlapping. */
extern size_t km_grain;

/* Maps a heap of `bytes` starting `start_offset` bytes past a 4 MiB
 * boundary, between guard regions; `checked` adds the shadow and the block
 * records (off for throughput runs). Then installs the crash report. */
void km_heap_create(size_t bytes, size_t start_offset, int checked);
size_t km_heap_bytes(void);
/* Writes "heap.start+0x..", "heap.end+0x..", "heap.start-0x.." or the raw
 * address into buf (at least 48 bytes); returns buf. */
const char *km_where(char *buf, const void *p);

size_t km_pow2_at_least(size_t size);
/* The bytes a request of `size` takes: its power-of-two block, at least
 * km_grain. */
size_t km_block_bytes(size_t size);

/* ---- calls and blocks --------------------------------------------------- */

/* The CPU this thread plays. */
extern _Thread_local int km_this_cpu;

/* The allocator's calls, noting what this CPU is doing for a crash report. */
void km_init(void);
void *km_kalloc(size_t size);
void km_kfree(void *ptr);

/* Checks a block kalloc just returned (b->p non-NULL, b->size, b->seed
 * set) and tags it. Returns 0 when the block lies outside the heap: it was
 * not touched and must not be freed. */
int km_block_taken(tl_block *b, const char *where);
/* Verifies the tag, releases the shadow, frees the block, clears b->p. */
void km_block_give(tl_block *b, const char *where);

/* Non-zero once any check failed: long loops stop early, so that the
 * first failure is the evidence and a broken allocator is not run on.
 * Relaxed: a CPU that reads a stale 0 only stops a step later. */
static inline int km_failed(void)
{
    return atomic_load_explicit(&tl_failures, memory_order_relaxed) != 0;
}

/* ---- sizes ------------------------------------------------------------- */

/* KM_PAGE_MODULE: the page-sized module of a kernel (70% pages, 29% 4 KiB
 * to 64 KiB, 1% to 1 MiB). */
enum km_kind { KM_SMALL, KM_PAGES, KM_MIX, KM_PAGE4K, KM_B128, KM_LARGE, KM_PAGE_MODULE };
size_t km_draw_size(enum km_kind kind, tl_rng *r);
const char *km_kind_name(enum km_kind kind);

/* ---- CPUs -------------------------------------------------------------- */

struct km_cpu {
    /* Written by this CPU only. */
    _Alignas(TL_CACHELINE) int id;
    int (*phase)(struct km_cpu *);
    tl_rng rng;
    unsigned long calls;
    unsigned long nulls_small, nulls_large; /* random phase: NULLs for a page
                                               or less, for more */
    size_t filled_bytes;     /* fills: block bytes taken */
    size_t filled_requested; /* fills: bytes requested */

    /* Written by other CPUs too, each on a line of its own. */
    _Alignas(TL_CACHELINE) atomic_long live; /* block bytes this CPU
                                                allocated, not yet freed */
    _Alignas(TL_CACHELINE) tl_spin_t box_lock; /* guards the mailbox: blocks
                                                  handed over for freeing */
    unsigned boxed;
    tl_block box[KM_MAILBOX];
};

extern struct km_cpu km_cpus[KM_MAX_CPUS];
extern int km_ncpus;
/* Blocks a mailbox takes (at most KM_MAILBOX) before a hand-over frees the
 * block at once: few under memory pressure, so that CPUs the host
 * deschedules hold little. */
extern unsigned km_mailbox_cap;
extern tl_barrier km_barrier; /* all CPUs of the running phase */

void km_cpus_reset(uint64_t seed);
/* Runs `phase` on every CPU, each on its own thread, and waits for them. */
void km_run_cpus(int (*phase)(struct km_cpu *));

/* A block's seed carries the CPU that allocated it in its top byte. */
static inline uint64_t km_seed(int cpu, uint64_t serial)
{
    return ((uint64_t)cpu << 56) | serial;
}

/* Frees `b` on CPU `self`, lowering the live bytes of the CPU that
 * allocated it. */
void km_free_block(struct km_cpu *self, tl_block *b);
/* Hands `b` to a random other CPU's mailbox (frees it here when full). */
void km_hand_over(struct km_cpu *self, tl_block *b);
/* Frees what other CPUs handed this one. */
void km_drain_box(struct km_cpu *self);

/* A phase over `n` slots of blocks on each CPU: km_slots_start maps them
 * (all empty) once every CPU is ready; km_random_slot picks one at step
 * `step`, draining the CPU's mailbox every 32 steps; km_release frees a
 * slot's block here or, one time in `remote_one_in` (with several CPUs),
 * hands it to another CPU; km_slots_end frees every block left, unmaps the
 * slots and, once every CPU is through, drains the mailbox. */
tl_block *km_slots_start(unsigned long n);
tl_block *km_random_slot(struct km_cpu *cpu, tl_block *slots, unsigned long n, unsigned long step);
void km_release(struct km_cpu *cpu, tl_block *b, uint64_t remote_one_in);
void km_slots_end(struct km_cpu *cpu, tl_block *slots, unsigned long n);

/* ---- the random workload ------------------------------------------------ */

/* Random kalloc/kfree over `slots` slots per CPU for `steps` steps: an
 * empty slot gets a block of `kind` unless the CPU's live bytes would pass
 * `live_share`; a full one is freed, one time in `remote_one_in` by another
 * CPU. A NULL for a request of a page or less fails when `strict` (every
 * CPU being under its share, little of the heap is live); NULLs are counted
 * in nulls_small and nulls_large. At the end
 * everything is freed, unless the CPU stopped at `deadline` (tl_now(); 0:
 * none), a throughput run's limit: then its blocks are left. */
struct km_random {
    enum km_kind kind;
    unsigned long slots, steps;
    long live_share;
    unsigned remote_one_in;
    int strict;
    double deadline;
};
extern struct km_random km_random_params;
int km_random_phase(struct km_cpu *cpu);

#endif
