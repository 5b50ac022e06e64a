/*
 * kernel.h: the primitives of the kernel build (MM_PLATFORM_KERNEL, the
 * kernel allocator): the embedder's CPU hooks and interrupt control
 * (include/mymalloc/kalloc.h), no page mapping, no scheduler to yield to.
 * Debug builds keep the record of held locks per CPU: a call runs with
 * interrupts off, so it stays on its CPU while it holds a lock.
 */
#ifndef MM_PLATFORM_KERNEL_H
#define MM_PLATFORM_KERNEL_H

#include "mymalloc/kalloc.h" /* kalloc_cpu_current, kalloc_cpu_count, KALLOC_IRQ_* */

/* Internal to the libraries: no symbol here is exported, and calls need no
 * GOT or PLT. */
#pragma GCC visibility push(hidden)

static inline int mm_prim_cpu_current(void) { return kalloc_cpu_current(); }
static inline int mm_prim_cpu_count(void) { return kalloc_cpu_count(); }

/* Interrupts off around a critical section, and back as they were: the
 * embedder's KALLOC_IRQ_SAVE and KALLOC_IRQ_RESTORE (by default nothing). */
static inline unsigned long mm_prim_irq_save(void) { return KALLOC_IRQ_SAVE(); }
static inline void mm_prim_irq_restore(unsigned long saved) { KALLOC_IRQ_RESTORE(saved); }

/* Nobody to yield to: a pause. */
static inline void mm_prim_yield(void) { mm_prim_relax(); }

#if defined(MM_DEBUG)
#define MM_PRIM_KERNEL_CPUS 64
struct mm_lock_record *mm_prim_lock_record(void);

/* The embedder may define KALLOC_ASSERT_FAILED(file, line, condition) to
 * report a failed assertion; then, or without it, the CPU traps. */
#endif

#pragma GCC visibility pop

#endif /* MM_PLATFORM_KERNEL_H */
