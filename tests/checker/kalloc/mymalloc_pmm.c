/*
 * mymalloc_pmm.c: mymalloc's kernel allocator as an L1 lab's pmm.c, exactly
 * as docs/KERNEL.md tells a student to plug it in. tests/checker/rules.mk
 * pastes it and build/kernel/kalloc.c into one file, which kalloc-check
 * must pass on every rule, and which is its throughput rule's reference.
 */
#include <common.h>
#include "kalloc.h"

int kalloc_cpu_current(void) { return cpu_current(); }
int kalloc_cpu_count(void) { return cpu_count(); }

static void pmm_init(void) { kalloc_init(heap.start, heap.end); }

MODULE_DEF(pmm) = {
    .init = pmm_init,
    .alloc = kalloc,
    .free = kfree,
};
