/*
 * identity.c: the heaps and how threads find theirs (see identity.h).
 *
 * Heaps are mapped one per page and never unmapped: a remote free that read
 * a slab's owner may take that heap's lists_lock after the heap's thread
 * exited (it then finds the slab no longer owned and leaves), so heaps are
 * recycled instead. Their number is the largest number of threads
 * (TLS) or of simultaneous lock holders (CPU) the process ever had.
 */
#include "core/identity.h"
#include "core/heap.h"
#include "core/large.h"

#define MM_HEAP_BYTES ((sizeof(mm_heap) + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1))

static mm_heap *heap_create(void)
{
    mm_heap *heap = mm_map(MM_HEAP_BYTES);
    if (heap != NULL) {
        mm_heap_init(heap);
        atomic_init(&heap->lock, 0);
        heap->next_free = NULL;
    }
    return heap;
}

#if defined(MM_IDENTITY_TLS)

_Thread_local mm_heap *mm_thread_heap __attribute__((tls_model("initial-exec"))) = &mm_heap_none;

/* Heaps whose thread exited, linked by next_free. */
static struct {
    mm_lock lock;
    mm_heap *head;
} idle_heaps;

mm_heap *mm_heap_attach(void)
{
    mm_lock_acquire(&idle_heaps.lock);
    mm_heap *heap = idle_heaps.head;
    if (heap != NULL)
        idle_heaps.head = heap->next_free;
    mm_lock_release(&idle_heaps.lock);
    if (heap == NULL)
        heap = heap_create();
    if (heap == NULL)
        return NULL;
    mm_thread_heap = heap;
    if (mm_platform_hooks.thread_attached != NULL)
        mm_platform_hooks.thread_attached(heap);
    return heap;
}

void mm_reclaim(mm_heap *held)
{
    mm_heap *heap = held != NULL ? held : mm_thread_heap;
    if (heap != &mm_heap_none)
        mm_heap_reclaim(heap);
    mm_large_cache_flush();
}

void mm_thread_detach(void *heap_ptr)
{
    mm_heap *heap = heap_ptr;
    if (heap == NULL || heap == &mm_heap_none)
        return;
    mm_thread_heap = &mm_heap_none;
    mm_heap_abandon(heap);
    mm_lock_acquire(&idle_heaps.lock);
    heap->next_free = idle_heaps.head;
    idle_heaps.head = heap;
    mm_lock_release(&idle_heaps.lock);
}

#else

_Atomic(mm_heap *) mm_cpu_heaps[MM_CPU_HEAPS];

/* The heap in `slot`, made if the slot is empty; NULL if that fails. */
static mm_heap *slot_heap(_Atomic(mm_heap *) *slot)
{
    mm_heap *heap = atomic_load_explicit(slot, memory_order_acquire);
    if (heap != NULL)
        return heap;
    mm_heap *fresh = heap_create();
    if (fresh == NULL)
        return NULL;
    /* Release: a thread that finds the heap finds it initialised. */
    if (atomic_compare_exchange_strong_explicit(slot, &heap, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    mm_unmap(fresh, MM_HEAP_BYTES);
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
    mm_large_cache_flush();
}

mm_heap *mm_heap_enter_slow(unsigned first)
{
    unsigned spins = 0;
    for (;;) {
        bool any_heap = false;
        for (unsigned i = 0; i < MM_CPU_HEAPS; i++) {
            mm_heap *heap = slot_heap(&mm_cpu_heaps[(first + i) % MM_CPU_HEAPS]);
            if (heap == NULL)
                continue; /* out of memory for a new heap: use a busy one */
            any_heap = true;
            if (mm_lock_try(&heap->lock))
                return heap;
        }
        if (!any_heap)
            return NULL;
        if (++spins < MM_SPINS_BEFORE_YIELD) {
            mm_cpu_relax();
        } else {
            spins = 0;
            mm_yield();
        }
    }
}

#endif
