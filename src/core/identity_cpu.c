/*
 * identity_cpu.c: CPU identity (freestanding build, identity_cpu.h): up to
 * MM_CPU_HEAPS heaps, each used by whichever thread holds its lock.
 *
 * Invariants: a slot, once set, keeps its heap for good (heaps are never
 * unmapped); a heap is used only by the holder of its lock; there are at
 * most as many heaps as threads ever inside the allocator at once.
 * Locks: each heap's lock (MM_LOCK_HEAP of platform/lock.h); other heaps'
 * only by try-lock.
 */
#include "core/heap.h"
#include "core/identity.h"

#if defined(MM_IDENTITY_CPU)

_Atomic(mm_heap *) mm_cpu_heaps[MM_CPU_HEAPS];

/* The heap in `slot`, made if the slot is empty; NULL if that fails. */
static mm_heap *slot_heap(_Atomic(mm_heap *) *slot)
{
    mm_heap *heap = atomic_load_explicit(slot, memory_order_acquire);
    if (heap != NULL)
        return heap;
    mm_heap *fresh = mm_identity_create_heap();
    if (fresh == NULL)
        return NULL;
    /* Release: a thread that finds the heap finds it initialised. */
    if (atomic_compare_exchange_strong_explicit(slot, &heap, fresh, memory_order_acq_rel,
                                                memory_order_acquire)) {
        mm_identity_register(fresh);
        return fresh;
    }
    mm_prim_unmap(fresh, MM_HEAP_BYTES);
    return heap;
}

void mm_reclaim(mm_heap *held)
{
    if (held != NULL)
        mm_heap_reclaim(held);
    /* Try-lock only: the caller may hold `held`, and blocking on a second
     * heap lock could deadlock with a thread doing the same the other way. */
    for (unsigned i = 0; i < MM_CPU_HEAPS; i++) {
        mm_heap *heap = atomic_load_explicit(&mm_cpu_heaps[i], memory_order_acquire);
        if (heap != NULL && heap != held && mm_lock_try(&heap->lock)) {
            mm_heap_reclaim(heap);
            mm_heap_leave(heap);
        }
    }
    mm_identity_flush_shared_caches();
}

mm_heap *mm_heap_enter_slow(unsigned first)
{
    unsigned spins = 0;
    for (;;) {
        /* A free heap that exists comes first: a heap made in every slot a
         * hint lands on (stack hashes spread over all of them) would leave
         * dozens of idle heaps each holding its current slabs. */
        bool any_heap = false;
        _Atomic(mm_heap *) *empty = NULL;
        for (unsigned i = 0; i < MM_CPU_HEAPS; i++) {
            _Atomic(mm_heap *) *slot = &mm_cpu_heaps[(first + i) % MM_CPU_HEAPS];
            mm_heap *heap = atomic_load_explicit(slot, memory_order_acquire);
            if (heap == NULL) {
                if (empty == NULL)
                    empty = slot;
                continue;
            }
            any_heap = true;
            if (mm_lock_try(&heap->lock))
                return heap;
        }
        /* Every heap is busy: a new one in the first empty slot, so there
         * are at most as many heaps as threads ever inside at once. */
        mm_heap *fresh = empty != NULL ? slot_heap(empty) : NULL;
        if (fresh != NULL) {
            if (mm_lock_try(&fresh->lock))
                return fresh;
            continue;
        }
        if (!any_heap)
            return NULL; /* none exists and none can be made */
        if (++spins < MM_SPINS_BEFORE_YIELD) {
            mm_prim_relax();
        } else {
            spins = 0;
            mm_prim_yield();
        }
    }
}

#endif
