/*
 * locking.h: how a call of the kernel allocator enters and leaves, and which
 * lock stands for a CPU's lock and for the buddy lock (lock order:
 * platform/lock.h).
 *
 * Every kalloc and kfree runs between mmk_call_begin and mmk_call_end:
 * interrupts off (the embedder's hook, platform.h), and under
 * KALLOC_SINGLE_LOCK the one lock of the build. Inside, the CPU and buddy
 * locks are the spin lock of platform/lock.h, or nothing in the
 * single-lock build, where the call already holds the only lock. Both builds
 * use the same structures and the same code paths.
 */
#ifndef MMK_LOCKING_H
#define MMK_LOCKING_H

#include "kernel/layout.h"

static inline unsigned long mmk_call_begin(struct mmk_heap *heap)
{
    unsigned long irq = mm_prim_irq_save();
#if defined(KALLOC_SINGLE_LOCK)
    mm_lock_acquire(&heap->single_lock);
#else
    (void)heap;
#endif
    return irq;
}

static inline void mmk_call_end(struct mmk_heap *heap, unsigned long irq)
{
#if defined(KALLOC_SINGLE_LOCK)
    mm_lock_release(&heap->single_lock);
#else
    (void)heap;
#endif
    mm_prim_irq_restore(irq);
}

#if defined(KALLOC_SINGLE_LOCK)
static inline void mmk_cpu_lock(struct mmk_cpu *cpu) { (void)cpu; }
static inline void mmk_cpu_unlock(struct mmk_cpu *cpu) { (void)cpu; }
static inline void mmk_buddy_lock(struct mmk_heap *heap) { (void)heap; }
static inline void mmk_buddy_unlock(struct mmk_heap *heap) { (void)heap; }
#else
static inline void mmk_cpu_lock(struct mmk_cpu *cpu) { mm_lock_acquire(&cpu->lock); }
static inline void mmk_cpu_unlock(struct mmk_cpu *cpu) { mm_lock_release(&cpu->lock); }
static inline void mmk_buddy_lock(struct mmk_heap *heap) { mm_lock_acquire(&heap->buddy_lock); }
static inline void mmk_buddy_unlock(struct mmk_heap *heap) { mm_lock_release(&heap->buddy_lock); }
#endif

#endif /* MMK_LOCKING_H */
