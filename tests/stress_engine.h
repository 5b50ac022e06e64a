/*
 * stress_engine: the concurrent random mymalloc/myfree workload, shared by
 * the stress test and the fault-injection part of the exhaustion test.
 *
 * Each worker keeps up to `slots` live blocks and picks a random slot per
 * step: an empty slot gets a new block from the size mix, a full one is
 * released - freed locally, or (handoff_pct %) posted to another worker's
 * spin-locked mailbox and freed there. Every few thousand steps a worker
 * changes how many slots it uses (16..slots), releasing the ones above, so
 * the live total swings up and down. Every block is tagged on allocation
 * and fully verified before it is freed, alignment is checked on every
 * block, and the calling thread checks the frugality rule against the
 * provider every `check_us` microseconds while the workers run. Half-way
 * through its steps each worker pauses until the calling thread has run
 * the allocator's structural check (tl_verify_allocator), which runs again
 * once everything is freed. With
 * `api` set the releases go through the rest of the core API (below).
 */
#ifndef STRESS_ENGINE_H
#define STRESS_ENGINE_H

#include "testlib.h"

#define STRESS_MAX_THREADS 64

typedef struct {
    int threads;
    unsigned long ops_per_thread; /* random steps per worker */
    tl_thread_kind kind;
    int slots;        /* live-block slots per worker (<= 4096) */
    int handoff_pct;  /* share of releases freed by another worker */
    int allow_null;   /* a NULL from mymalloc is tolerated (fault runs) */
    uint64_t seed;
    unsigned check_us; /* frugality check period; 0 = no checks */
    int api;           /* the wider core API: frees through myfree_checked
                          (must return 0), a second checked free of each
                          local one (must return -1), and one release in
                          eight is a myrealloc first (contents kept) */
} stress_config;

typedef struct {
    double seconds;        /* from the start barrier until all joined */
    unsigned long ops;     /* mymalloc + myfree calls */
    unsigned long nulls;   /* mymalloc calls that returned NULL */
    unsigned long handoffs;
    unsigned long checks;  /* frugality checks made */
    size_t peak_held;      /* provider peak during the run */
} stress_result;

/* Fills in defaults: 1 thread, 100000 ops, pthreads, 2000 slots, 20 %
 * handoffs, no NULLs allowed, frugality checked every 2 ms. */
void stress_default_config(stress_config *c);

/* Runs the workload to the end (everything freed, all threads joined).
 * Failed checks are counted in tl_failures. Returns 0, or -1 for a bad
 * configuration. */
int stress_run(const stress_config *c, stress_result *r);

#endif /* STRESS_ENGINE_H */
