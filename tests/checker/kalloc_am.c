/*
 * kalloc_am.c: AbstractMachine as a pmm.c of the L1 lab sees it on
 * kalloc-check's simulated machine (kalloc_include/am.h): the heap, the CPU
 * number and count, atomic_xchg, putch and halt; and the allocator ops the
 * checker drives, which call the student's module through `pmm`.
 *
 * atomic_xchg is a real sequentially consistent exchange. On a host with
 * fewer cores than simulated CPUs, a thread spinning on a lock whose holder
 * was descheduled would burn its whole time slice, which a real CPU never
 * does (the holder keeps running); so after 64 exchanges in a row on one
 * thread that found the value already there (a lock found held), the
 * thread yields. That changes no outcome of an exchange, only how long a
 * spin lasts.
 */
#define _GNU_SOURCE
#include "kalloc_machine.h"

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* ---- what am.h declares ------------------------------------------------ */

typedef struct {
    void *start, *end;
} Area;
Area heap;

int cpu_current(void)
{
    return km_this_cpu;
}

int cpu_count(void)
{
    return km_ncpus;
}

static _Thread_local unsigned busy_exchanges;

static void spun(bool found_same)
{
    if (!found_same) {
        busy_exchanges = 0;
    } else if (++busy_exchanges >= 64) {
        busy_exchanges = 0;
        sched_yield();
    }
}

int atomic_xchg(int *addr, int newval)
{
    int old = __atomic_exchange_n(addr, newval, __ATOMIC_SEQ_CST);
    spun(old == newval && newval != 0);
    return old;
}

intptr_t _atomic_xchg(volatile intptr_t *addr, intptr_t newval)
{
    intptr_t old = __atomic_exchange_n(addr, newval, __ATOMIC_SEQ_CST);
    spun(old == newval && newval != 0);
    return old;
}

bool ienabled(void)
{
    return false;
}

void iset(bool enable)
{
    (void)enable;
}

void putch(char ch)
{
    /* Unbuffered, so that it interleaves with printf's flushed lines. */
    fflush(stdout);
    if (write(1, &ch, 1) < 0)
        return;
}

void halt(int code)
{
    fflush(stdout);
    tl_die("CPU %d: the allocator called halt(%d) (an assert, a panic or a halt)", km_this_cpu,
           code);
}

/* ---- the student's module ------------------------------------------------ */

/* MODULE(pmm) of the framework's kernel.h. */
struct pmm_module {
    void (*init)(void);
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);
};
extern struct pmm_module *pmm;

static void pmm_start(void *start, void *end)
{
    heap.start = start;
    heap.end = end;
    pmm->init();
    fflush(stdout);
}

static void *pmm_alloc(size_t size)
{
    return pmm->alloc(size);
}

static void pmm_free(void *ptr)
{
    pmm->free(ptr);
}

const struct km_allocator kam_pmm = {"pmm", pmm_start, pmm_alloc, pmm_free};
