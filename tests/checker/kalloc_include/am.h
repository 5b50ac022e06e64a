/*
 * am.h (kalloc-check): the part of AbstractMachine's interface a pmm.c of
 * the L1 lab uses, for kalloc-check's simulated machine (docs/CHECK.md).
 * Threads play the CPUs; kalloc_am.c implements what is declared here.
 * The names of the older AbstractMachine (_heap, _cpu(), _ncpu(),
 * _atomic_xchg(), _putc(), _halt()) are accepted too.
 */
#ifndef KALLOC_CHECK_AM_H
#define KALLOC_CHECK_AM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    void *start, *end;
} Area;

/* The heap the allocator manages: set before pmm->init() runs. */
extern Area heap;

void putch(char ch);
void halt(int code) __attribute__((noreturn));
int cpu_count(void);
int cpu_current(void);
/* Atomically stores newval at *addr and returns the old value. */
int atomic_xchg(int *addr, int newval);
/* Interrupts (L2 and later): always off on the simulated CPUs. */
bool ienabled(void);
void iset(bool enable);

/* The older AbstractMachine's names. */
typedef Area _Area;
#define _heap heap
#define _cpu cpu_current
#define _ncpu cpu_count
#define _putc putch
#define _halt halt
intptr_t _atomic_xchg(volatile intptr_t *addr, intptr_t newval);
#define _intr_read() 0
#define _intr_write(on) ((void)(on))

#endif
