/*
 * identity_tls.c: TLS identity (hosted build, identity_tls.h): each thread
 * has its own heap; a heap whose thread exited waits on the idle list for
 * the next thread; the fork handlers.
 *
 * Invariants: a heap is in_use (counted in heaps_in_use) from its attach
 * until its retire, and on the idle list exactly when it is not in_use;
 * mm_thread_heap is &mm_heap_none or a heap in use by this thread.
 * Locks: idle_heaps.lock (MM_LOCK_IDLE_HEAPS), the registry's; the fork
 * handlers take every lock in the order of platform/lock.h.
 */
#include "core/cache.h"
#include "core/heap.h"
#include "core/identity.h"
#include "core/large.h"
#include "core/remote.h"
#include "core/span.h"
#include "core/stats.h"

#if defined(MM_IDENTITY_TLS)

_Thread_local mm_heap *mm_thread_heap __attribute__((tls_model("initial-exec"))) = &mm_heap_none;

/* The heap of a thread with no heap: no class has a slab, so the fast path
 * falls into the slow path, which attaches a heap, without a test of its
 * own. */
mm_heap mm_heap_none = {.current = {[0 ... MM_CLASS_COUNT - 1] = &mm_span_none},
                        .leaf_hint = {.way = {[0 ... MM_PAGEMAP_HINT_WAYS - 1] = {
                                                  .key = MM_PAGEMAP_HINT_FROZEN}}}};

bool mm_heap_free_foreign(mm_span *span, mm_block *block)
{
    mm_heap *heap = mm_thread_heap;
    if (heap == &mm_heap_none)
        heap = mm_heap_attach();
    if (heap == NULL) {
        mm_stats_orphan_free(span->size_class);
    } else {
        mm_heap_count(&heap->frees[span->size_class]);
        /* Remote frees never reach the heap's own slow paths. */
        mm_stats_publish(heap, span->size_class);
    }
    mm_remote_free(span, block, heap);
    return true;
}

/* Heaps whose thread exited, linked by next_free. */
static struct {
    mm_lock lock;
    mm_heap *head;
} idle_heaps = {.lock = MM_LOCK_INITIALIZER(MM_LOCK_IDLE_HEAPS)};

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
    mm_identity_flush_shared_caches();
}

mm_heap *mm_heap_attach(void)
{
    mm_lock_acquire(&idle_heaps.lock);
    mm_heap *heap = idle_heaps.head;
    if (heap != NULL)
        idle_heaps.head = heap->next_free;
    mm_lock_release(&idle_heaps.lock);
    if (heap == NULL) {
        heap = mm_identity_create_heap();
        if (heap == NULL)
            return NULL;
        mm_identity_register(heap);
    }
    heap->in_use = true;
    atomic_fetch_add_explicit(&heaps_in_use, 1, memory_order_relaxed);
    mm_thread_heap = heap;
    mm_prim_thread_attached(heap);
    return heap;
}

void mm_reclaim(mm_heap *held)
{
    mm_heap *heap = held != NULL ? held : mm_thread_heap;
    if (heap != &mm_heap_none)
        mm_heap_reclaim(heap);
    /* Idle heaps hold nothing: mm_heap_abandon gave their slabs away. */
    mm_identity_flush_shared_caches();
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

/* Every lock of the core, in the order of platform/lock.h; every heap's
 * lists_lock and every abandoned pool nested (no other thread holds two of
 * a level). */
void mm_fork_prepare(void)
{
    mm_lock_acquire(&mm_identity_registry_lock);
    mm_lock_acquire(&idle_heaps.lock);
    for (mm_heap *heap = mm_heaps_all(); heap != NULL; heap = heap->next_all)
        mm_lock_acquire_nested(&heap->lists_lock);
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
    mm_lock_release(&mm_identity_registry_lock);
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

#endif
