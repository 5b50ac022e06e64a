/*
 * core_smoke.c: the smoke test of a build of the core (docs/BUILD.md,
 * "Variants"): a library variant (linked with that variant's
 * libmymalloc.a) or, with -DVT_M5, an M5 drop-in variant (linked with the
 * drop-in's object and the test kit's counting vmalloc provider).
 *
 *   core_smoke --checks=LIST   vt_exchange on mymalloc/myfree, then each
 *                              check of the comma-separated LIST:
 *   release   MM_ASSERT is compiled out: a planted inconsistency (a slab
 *             whose count of blocks out says it is full while its free list
 *             is not empty) goes unnoticed by the next mymalloc
 *   debug     MM_DEBUG: the same plant stops the next mymalloc with the
 *             assertion of heap.h (library: "assertion failed" on stderr and
 *             SIGABRT; M5: a trap, SIGILL)
 *   judged    free judges its pointer: a second myfree of a block is
 *             reported (library: "double free", SIGABRT) or ignored (M5,
 *             which has no report hook); two mymallocs after it return two
 *             blocks; myfree_checked refuses the freed block
 *   trusted   MM_TRUSTED_FREE: myfree believes the pointer: after a double
 *             free the next two mymallocs return the same block; still
 *             myfree_checked refuses (-1) a freed block
 *   realtime  MM_REALTIME (the library's real-time mode, run with
 *             MYMALLOC_RT_ARENA_MB=96): a 128 MiB request fails with ENOMEM
 *             (the arena is all the memory there is)
 * The M5 build's provider must see no bad vmfree (its figures: the peak
 * and what the heaps keep after every free). Planted faults run in a child
 * process pinned to one CPU (the M5 build's heaps are per CPU).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "mymalloc.h"
#include "variants.h"
#if defined(VT_M5)
#include "provider.h"
#endif
/* Last: the core's headers make what follows them hidden. */
#include "core/pagemap.h"

#define PLANT_SIZE 1500 /* a size the exchange does not use */

static void *core_alloc(size_t size) { return mymalloc(size); }
static void core_free(void *ptr) { myfree(ptr); }
static size_t core_alignment(size_t size) { return size > 32768 ? 4096 : 16; }

static const struct vt_ops core_ops = {core_alloc, core_free, core_alignment, NULL};

static void pin_to_one_cpu(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* Marks the current slab of PLANT_SIZE's class full while blocks are still
 * free on it, then allocates from it. */
static void plant_full_slab(void)
{
    pin_to_one_cpu();
    void *first = mymalloc(PLANT_SIZE);
    mm_span *span = mm_pagemap_lookup(first);
    if (first == NULL || span == NULL || span->free == NULL)
        _exit(3);
    span->used = span->capacity;
    if (mymalloc(PLANT_SIZE) == NULL)
        _exit(4);
}

/* What double_free_then_two_mallocs expects: the freed block twice (trusted)
 * or two different blocks (judged). */
static int expect_block_twice;

static void double_free_then_two_mallocs(void)
{
    pin_to_one_cpu();
    void *keep = mymalloc(48), *block = mymalloc(48);
    myfree(block);
    myfree(block);
    void *a = mymalloc(48), *b = mymalloc(48);
    if (expect_block_twice)
        _exit(a == block && b == block ? 0 : 5);
    _exit(a != b && keep != a && keep != b ? 0 : 5);
}

static void check_freed_block_refused(void)
{
    void *block = mymalloc(64);
    myfree(block);
    CHECK(myfree_checked(block) == -1, "myfree_checked of a freed block did not refuse it");
}

int main(int argc, char **argv)
{
    const char *checks = argc > 1 && strncmp(argv[1], "--checks=", 9) == 0 ? argv[1] + 9 : "";
    vt_exchange(&core_ops);
    if (strstr(checks, "release") != NULL)
        vt_expect_child(plant_full_slab, 0, NULL, "release: planted full slab unnoticed");
    if (strstr(checks, "debug") != NULL)
#if defined(VT_M5)
        vt_expect_child(plant_full_slab, SIGILL, NULL, "debug: planted full slab trapped");
#else
        vt_expect_child(plant_full_slab, SIGABRT, "assertion failed: span->used < span->capacity",
                        "debug: planted full slab caught");
#endif
    if (strstr(checks, "judged") != NULL) {
#if defined(VT_M5)
        vt_expect_child(double_free_then_two_mallocs, 0, NULL, "judged: double free ignored");
#else
        vt_expect_child(double_free_then_two_mallocs, SIGABRT, "double free",
                        "judged: double free reported");
#endif
        check_freed_block_refused();
    }
    if (strstr(checks, "trusted") != NULL) {
        expect_block_twice = 1;
        vt_expect_child(double_free_then_two_mallocs, 0, NULL, "trusted: double free believed");
        check_freed_block_refused();
    }
    if (strstr(checks, "realtime") != NULL) {
        errno = 0;
        void *big = mymalloc((size_t)128 << 20);
        CHECK(big == NULL && errno == ENOMEM, "realtime: 128 MiB in a 96 MiB arena gave %p, errno %d",
              big, errno);
    }
#if defined(VT_M5)
    provider_stats stats;
    provider_get_stats(&stats);
    printf("FIGURES: provider peak %zu KiB, held after the frees %zu KiB\n", stats.peak >> 10,
           stats.held >> 10);
    CHECK(stats.errors == 0, "the provider saw %lu bad vmfree calls", stats.errors);
#endif
    return check_finish(argv[0]);
}
