/*
 * stress: concurrent random mymalloc/myfree on N threads (pthreads, or raw
 * clone() threads for the M5 build), with blocks handed between threads.
 *
 * Catches: overlapping or corrupted blocks (every byte tagged and verified
 * before free), misaligned blocks, NULL without a limit, breaking the
 * frugality rule while running, memory not given back once everything is
 * freed, and vmfree calls that do not match a vmalloc (provider errors).
 * Reports throughput (mymalloc + myfree calls per second, including the
 * tagging and verification work) as the median of --runs runs. With
 * --light only the first and last 32 bytes of each block are tagged, so
 * the figure is mostly the allocator's own (the "bench" runs).
 *
 * With --retain (library builds only) the core gets a clock, as the hosted
 * library's vmalloc gives it, and keeps the memory of recent peaks
 * (src/core/retain.h): the run then exercises those paths (remote claims
 * into the owner's cache, caches kept by exited threads' heaps) and, instead
 * of the frugality rule, which retention trades away, checks that a trim
 * gives everything back after each run.
 *
 * usage: stress --threads=N [--ops=STEPS_PER_THREAD] [--runs=R] [--clone]
 *               [--light] [--api] [--slots=2000] [--seed=S] [--check-us=2000]
 *               [--retain]
 */
#include <stdbool.h>

#include "provider.h"
#include "stress_engine.h"
#include "testlib.h"

#if !defined(TL_M5)
#define MM_PLATFORM_HOSTED 1
#include "core/identity.h"

static uint64_t clock_ms(void)
{
    return (uint64_t)(tl_now() * 1000);
}
#endif

#define MAX_RUNS 15

static void sort_doubles(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

int main(int argc, char **argv)
{
    stress_config c;
    stress_default_config(&c);
    c.threads = (int)tl_arg_ulong(argc, argv, "threads", 4);
    c.ops_per_thread = tl_arg_ulong(argc, argv, "ops", 200000);
    c.slots = (int)tl_arg_ulong(argc, argv, "slots", 2000);
    c.seed = tl_arg_ulong(argc, argv, "seed", 1);
    c.check_us = (unsigned)tl_arg_ulong(argc, argv, "check-us", 2000);
    c.kind = tl_parse_thread_kind(argc, argv);
    tl_light_tags = tl_arg_flag(argc, argv, "light");
    c.api = tl_arg_flag(argc, argv, "api");
    int runs = (int)tl_arg_ulong(argc, argv, "runs", 1);
    if (runs < 1 || runs > MAX_RUNS)
        runs = 1;
    bool retain = tl_arg_flag(argc, argv, "retain");
    if (retain) {
#if defined(TL_M5)
        tl_die("stress: --retain needs a library build");
#else
        mm_prim_table.clock_ms = clock_ms;
        c.check_us = 0;
#endif
    }

    tl_printf("stress: %d %s threads, %lu steps each, %d slots, %d run(s), "
              "%s tags\n",
              c.threads, tl_thread_kind_name(c.kind), c.ops_per_thread,
              c.slots, runs, tl_light_tags ? "light (block ends)" : "full");

    double rates[MAX_RUNS];
    size_t peak = 0;
    int done = 0;
    while (done < runs && !atomic_load(&tl_failures)) {
        stress_result r;
        c.seed += (uint64_t)done;
        if (stress_run(&c, &r) != 0)
            break;
        rates[done] = (double)r.ops / r.seconds;
        if (r.peak_held > peak)
            peak = r.peak_held;
        char b[24];
        tl_printf("run %d: %lu calls in %.3f s = %.0f calls/s, %lu handed "
                  "over, peak held %s, %lu frugality checks\n",
                  done + 1, r.ops, r.seconds, rates[done], r.handoffs,
                  tl_fmt_bytes(b, r.peak_held), r.checks);
#if !defined(TL_M5)
        if (retain) {
            tl_printf("held after the run, retained: %s\n", tl_fmt_bytes(b, provider_held()));
            mm_reclaim(NULL);
        }
#endif
        tl_check_drained(c.threads, "stress (after the run)");
        provider_print_stats("after run");
        done++;
    }

    if (done > 0) {
        char b[24];
        sort_doubles(rates, done);
        tl_figure("ops/s=%.2fM", rates[done / 2] / 1e6);
        if (done > 1)
            tl_figure("(median of %d, min %.2fM max %.2fM)", done,
                      rates[0] / 1e6, rates[done - 1] / 1e6);
        tl_figure("peak_held=%s", tl_fmt_bytes(b, peak));
        if (!retain)
            tl_figure("worst_held/allowed=%.2f held/live<=%.2f", tl_frugal_worst(),
                      tl_frugal_worst_live_ratio());
    }
    return tl_finish("stress");
}
