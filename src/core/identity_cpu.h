/*
 * identity_cpu.h: CPU identity (freestanding build; the interface is
 * identity.h). Up to MM_CPU_HEAPS heaps, each with a spin lock. A thread
 * starts at the slot of its CPU number (mm_prim_cpu_hint) and takes the
 * first existing heap whose lock it gets, making a heap in the first empty
 * slot only when every existing heap is busy (so there are at most as many
 * heaps as threads ever inside the allocator at once). Threads that share a
 * TLS area, migrate or get preempted are all safe: the lock, not the CPU
 * number, guarantees that one thread at a time uses a heap. A free takes the
 * lock of the block's own heap, waiting (spin, then yield) while another
 * thread is inside it.
 */
#ifndef MM_IDENTITY_CPU_H
#define MM_IDENTITY_CPU_H

#include "core/pagemap.h"
#include "core/span.h"
#include "core/types.h"

#define MM_IDENTITY_ENTER_MAY_FAIL 1
#define MM_CPU_HEAPS 64

extern _Atomic(mm_heap *) mm_cpu_heaps[MM_CPU_HEAPS];

/* Probe the other slots; see mm_heap_enter. */
mm_heap *mm_heap_enter_slow(unsigned first_slot);

/* A heap locked for the caller; NULL only when no heap exists and none can
 * be mapped. Acquire (in the lock, and on the slot) pairs with the heap's
 * initialisation and with the previous holder's release. */
static inline mm_heap *mm_heap_enter(void)
{
    unsigned slot = mm_prim_cpu_hint() % MM_CPU_HEAPS;
    mm_heap *heap = atomic_load_explicit(&mm_cpu_heaps[slot], memory_order_acquire);
    if (MM_LIKELY(heap != NULL && mm_lock_try(&heap->lock)))
        return heap;
    return mm_heap_enter_slow(slot);
}

static inline void mm_heap_leave(mm_heap *heap)
{
    mm_lock_release(&heap->lock);
}

/* The span of `ptr` for a free: the page map, always (no per-thread leaf
 * to remember: the heap is known only once locked). */
static inline bool mm_free_lookup_quick(const void *ptr, mm_span **span)
{
    *span = mm_pagemap_lookup(ptr);
    return true;
}

static inline mm_span *mm_free_lookup(const void *ptr)
{
    return mm_pagemap_lookup(ptr);
}

/* A slab's owner does not change while it has a block out. The free waits
 * for the owner heap's lock rather than pushing remotely: CPU heaps never
 * exit, so a block left on the word of a slab that is no longer current
 * could wait there forever. The wait is one malloc or free long. A pointer
 * that is not live may lead into a slab that changed hands: the owner is
 * read again under the lock. */
static inline bool mm_heap_enter_owner(mm_span *span, const void *ptr, bool judge,
                                       mm_heap **owner)
{
    mm_heap *heap = atomic_load_explicit(&span->owner, memory_order_relaxed);
    if (heap == NULL || MM_SPAN_GET(span, kind) != MM_SPAN_SLAB ||
        (judge && !mm_slab_block_start(span, ptr)))
        return false;
    mm_lock_acquire(&heap->lock);
    if (MM_LIKELY(atomic_load_explicit(&span->owner, memory_order_relaxed) == heap)) {
        *owner = heap;
        return true;
    }
    mm_heap_leave(heap);
    return false;
}

/* Every free of a live block goes through its owner's lock
 * (mm_heap_enter_owner): a block of a slab no heap owns is not live. */
static inline bool mm_heap_free_foreign(mm_span *span, mm_block *block)
{
    (void)span;
    (void)block;
    return false;
}

static inline mm_heap *mm_caller_heap(void)
{
    return NULL;
}

/* No thread exits under CPU identity: nothing to trim after. */
static inline void mm_trim_if_alone(void)
{
}

#endif /* MM_IDENTITY_CPU_H */
