/*
 * identity.c: the heaps and how threads find theirs (see identity.h).
 *
 * Heaps are mapped one per page and never unmapped: a remote free that read
 * a slab's owner may take that heap's lists_lock after the heap's thread
 * exited (it then finds the slab no longer owned and leaves), so heaps are
 * recycled instead. Their number is the largest number of threads
 * (TLS) or of simultaneous lock holders (CPU) the process ever had.
 */
#include "core/stats.h"
#include "core/identity.h"
#include "core/heap.h"
#include "core/large.h"
#include "core/remote.h"
#include "core/span.h"

#define MM_HEAP_BYTES ((sizeof(mm_heap) + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1))

/* Every heap ever made, newest first, linked by next_all; only ever pushed
 * (release), so a reader (acquire) walks initialised heaps. Pushes take
 * registry_lock, which the fork handler holds while it locks every heap:
 * no heap joins unlocked. */
static _Atomic(mm_heap *) all_heaps;
static mm_lock registry_lock;

mm_heap *mm_heaps_all(void)
{
    return atomic_load_explicit(&all_heaps, memory_order_acquire);
}

/* Unmap what no heap owns: the shared cache of empty slabs and the large
 * cache. Takes their locks: the caller holds neither. */
static void flush_shared_caches(void)
{
    mm_shared_cache_flush();
    mm_large_cache_flush();
}

static void heap_register(mm_heap *heap)
{
    mm_lock_acquire(&registry_lock);
    heap->next_all = atomic_load_explicit(&all_heaps, memory_order_relaxed);
    atomic_store_explicit(&all_heaps, heap, memory_order_release);
    mm_lock_release(&registry_lock);
}

/* A fresh heap, not registered yet. mm_heap_init leaves the statistics
 * alone: a recycled heap keeps counting for the process. */
static mm_heap *heap_create(void)
{
    mm_heap *heap = mm_vm_map(MM_HEAP_BYTES);
    if (heap != NULL) {
        mm_heap_init(heap);
        atomic_init(&heap->lock, 0);
        heap->next_free = NULL;
        heap->in_use = false;
        heap->unpublished = 0;
        for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
            atomic_init(&heap->mallocs[c], 0);
            atomic_init(&heap->frees[c], 0);
            heap->class_counted[c] = 0;
        }
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

/* Heaps that a thread uses (in_use). Relaxed: a count for the decisions to
 * give cached memory back (the hosted library's at a thread's exit, and
 * mm_trim_if_alone_slow's), never a guard of memory. */
static _Atomic size_t heaps_in_use;

size_t mm_heaps_in_use(void)
{
    return atomic_load_explicit(&heaps_in_use, memory_order_relaxed);
}

/* Relaxed, like heaps_in_use: a request to give cached memory back, which
 * guards no other memory; a request lost in a race only keeps the caches. */
atomic_bool mm_trim_requested;

void mm_trim_when_alone(void)
{
    atomic_store_explicit(&mm_trim_requested, true, memory_order_relaxed);
}

void mm_trim_if_alone_slow(void)
{
    if (!atomic_exchange_explicit(&mm_trim_requested, false, memory_order_relaxed))
        return;
    if (atomic_load_explicit(&heaps_in_use, memory_order_relaxed) > 1)
        return;
    flush_shared_caches();
}

mm_heap *mm_heap_attach(void)
{
    mm_lock_acquire(&idle_heaps.lock);
    mm_heap *heap = idle_heaps.head;
    if (heap != NULL)
        idle_heaps.head = heap->next_free;
    mm_lock_release(&idle_heaps.lock);
    if (heap == NULL) {
        heap = heap_create();
        if (heap == NULL)
            return NULL;
        heap_register(heap);
    }
    heap->in_use = true;
    atomic_fetch_add_explicit(&heaps_in_use, 1, memory_order_relaxed);
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
    /* Idle heaps hold nothing: mm_heap_abandon gave their slabs away. */
    flush_shared_caches();
}

/* Give up `heap`, whose thread is gone: its slabs to the abandoned pool,
 * the heap to the idle list. */
static void heap_retire(mm_heap *heap)
{
    mm_stats_publish_all(heap);
    mm_heap_abandon(heap);
    heap->in_use = false;
    atomic_fetch_sub_explicit(&heaps_in_use, 1, memory_order_relaxed);
    mm_lock_acquire(&idle_heaps.lock);
    heap->next_free = idle_heaps.head;
    idle_heaps.head = heap;
    mm_lock_release(&idle_heaps.lock);
}

void mm_thread_detach(void *heap_ptr)
{
    mm_heap *heap = heap_ptr;
    if (heap == NULL || heap == &mm_heap_none)
        return;
    mm_thread_heap = &mm_heap_none;
    heap_retire(heap);
}

/* Every lock of the allocator, in the lock order (heap.c): the registry,
 * the idle list, each heap's lists_lock (no thread holds two), the shared
 * cache's, the abandoned pools, the large cache and the descriptor pool
 * (leaves). */
void mm_fork_prepare(void)
{
    mm_lock_acquire(&registry_lock);
    mm_lock_acquire(&idle_heaps.lock);
    for (mm_heap *heap = mm_heaps_all(); heap != NULL; heap = heap->next_all)
        mm_lock_acquire(&heap->lists_lock);
    mm_lock_acquire(&mm_shared_cache.lists_lock);
    mm_remote_lock_pools();
    mm_large_lock();
    mm_span_lock_pool();
}

void mm_fork_parent(void)
{
    mm_span_unlock_pool();
    mm_large_unlock();
    mm_remote_unlock_pools();
    mm_lock_release(&mm_shared_cache.lists_lock);
    for (mm_heap *heap = mm_heaps_all(); heap != NULL; heap = heap->next_all)
        mm_lock_release(&heap->lists_lock);
    mm_lock_release(&idle_heaps.lock);
    mm_lock_release(&registry_lock);
}

void mm_fork_child(void)
{
    mm_fork_parent();
    /* Only the forking thread lives on: the other threads' heaps are
     * retired as if those threads had exited. */
    for (mm_heap *heap = mm_heaps_all(); heap != NULL; heap = heap->next_all)
        if (heap->in_use && heap != mm_thread_heap)
            heap_retire(heap);
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
                                                memory_order_acquire)) {
        heap_register(fresh);
        return fresh;
    }
    mm_vm_unmap(fresh, MM_HEAP_BYTES);
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
    flush_shared_caches();
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
            mm_cpu_relax();
        } else {
            spins = 0;
            mm_yield();
        }
    }
}

#endif
