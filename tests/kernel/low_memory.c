/*
 * low_memory: kalloc must not return NULL while a page is free, even when
 * the free pages move between CPUs' page caches as fast as kalloc looks
 * for them (a reclaim frees them and another CPU's refill caches them
 * again).
 *
 *   low_memory CPUS SECONDS [REMOTE_PERCENT] [SIZE]
 *
 * The heap (64 MiB) is filled with pages, then FREE of them (an aligned
 * run) are given back. Each CPU (a thread) reserves a slot of a global
 * budget of FREE before each kalloc(SIZE) and gives it back after the
 * kfree, so at every kalloc at least one page is free somewhere; a share
 * of the blocks is handed to another CPU to free, so pages collect in other
 * CPUs' caches. Any NULL fails the test.
 */
#define _GNU_SOURCE
#include "kalloc.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/mman.h>
#include <stdatomic.h>
#define MAXC 64
#define FREE 16
static _Thread_local int me;
static int ncpu = 8, remote_pct = 50;
static size_t want = 4096;
int kalloc_cpu_current(void) { return me; }
int kalloc_cpu_count(void) { return ncpu; }
static atomic_int stop, reserved;
static _Atomic(void *) box[MAXC][FREE];
static atomic_long nulls, calls;
static void drain(int i)
{
    for (int j = 0; j < FREE; j++) {
        void *q = atomic_exchange(&box[i][j], NULL);
        if (q) { kfree(q); atomic_fetch_sub(&reserved, 1); }
    }
}
static void *cpu(void *arg)
{
    int i = me = (int)(intptr_t)arg;
    unsigned r = 12345u * (i + 1);
    while (!atomic_load(&stop)) {
        drain(i);
        if (atomic_fetch_add(&reserved, 1) >= FREE) { atomic_fetch_sub(&reserved, 1); continue; }
        void *p = kalloc(want);
        atomic_fetch_add(&calls, 1);
        if (p == NULL) { atomic_fetch_add(&nulls, 1); atomic_fetch_sub(&reserved, 1); continue; }
        r = r * 1103515245u + 12345u;
        if ((int)((r >> 16) % 100) < remote_pct) {
            int to = (int)((r >> 8) % ncpu);
            for (int j = 0; ; j = (j + 1) % FREE) {
                void *exp = NULL;
                if (atomic_compare_exchange_strong(&box[to][j], &exp, p)) break;
            }
        } else {
            kfree(p);
            atomic_fetch_sub(&reserved, 1);
        }
    }
    drain(i);
    return NULL;
}
int main(int argc, char **argv)
{
    if (argc > 1) ncpu = atoi(argv[1]);
    int secs = argc > 2 ? atoi(argv[2]) : 5;
    if (argc > 3) remote_pct = atoi(argv[3]);
    if (argc > 4) want = strtoul(argv[4], 0, 0);
    size_t bytes = 64 << 20;
    char *h = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    kalloc_init(h, h + bytes);
    me = 0;
    size_t n = 0;
    void **v = malloc(bytes / 4096 * sizeof *v);
    while ((v[n] = kalloc(4096)) != NULL) n++;
    size_t k = 0;
    while (!(((uintptr_t)v[k] >> 12) % FREE == 0 && (char *)v[k + FREE - 1] == (char *)v[k] + (FREE - 1) * 4096)) k++;
    for (int j = 0; j < FREE; j++) kfree(v[k + j]);
    pthread_t t[MAXC];
    for (int i = 0; i < ncpu; i++) pthread_create(&t[i], 0, cpu, (void *)(intptr_t)i);
    sleep(secs);
    atomic_store(&stop, 1);
    for (int i = 0; i < ncpu; i++) pthread_join(t[i], 0);
    printf("FIGURES: cpus=%d size=%zu remote=%d%% calls=%ld nulls_while_free=%ld\n", ncpu, want,
           remote_pct, (long)calls, (long)nulls);
    return nulls ? 1 : 0;
}
