/*
 * identity.c: the heaps, whichever identity finds them (identity.h): making
 * them, the registry of every heap, and giving back what no heap owns.
 * identity_tls.c and identity_cpu.c say how a thread finds its heap.
 *
 * Heaps are mapped one per page and never unmapped: a remote free that read
 * a slab's owner may take that heap's lists_lock after the heap's thread
 * exited (it then finds the slab no longer owned and leaves), so heaps are
 * recycled instead. Their number is the largest number of threads
 * (TLS) or of simultaneous lock holders (CPU) the process ever had.
 */
#include "core/stats.h"
#include "core/identity.h"
#include "core/cache.h"
#include "core/heap.h"
#include "core/large.h"
#include "core/remote.h"
#include "core/span.h"

/* Every heap ever made, newest first, linked by next_all; only ever pushed
 * (release), so a reader (acquire) walks initialised heaps. Pushes take
 * registry_lock, which the fork handler holds while it locks every heap:
 * no heap joins unlocked. */
static _Atomic(mm_heap *) all_heaps;
mm_lock mm_identity_registry_lock = MM_LOCK_INITIALIZER(MM_LOCK_REGISTRY);

mm_heap *mm_heaps_all(void)
{
    return atomic_load_explicit(&all_heaps, memory_order_acquire);
}

/* Unmap what no heap owns: the shared cache of empty slabs and the large
 * cache. Takes their locks: the caller holds neither. */
void mm_identity_flush_shared_caches(void)
{
    mm_shared_cache_flush();
    mm_large_cache_flush();
}

void mm_identity_register(mm_heap *heap)
{
    mm_lock_acquire(&mm_identity_registry_lock);
    heap->next_all = atomic_load_explicit(&all_heaps, memory_order_relaxed);
    atomic_store_explicit(&all_heaps, heap, memory_order_release);
    mm_lock_release(&mm_identity_registry_lock);
}

/* A fresh heap, not registered yet. mm_heap_init leaves the statistics
 * alone: a recycled heap keeps counting for the process. */
mm_heap *mm_identity_create_heap(void)
{
    mm_heap *heap = mm_prim_map(MM_HEAP_BYTES);
    if (heap != NULL) {
        mm_heap_init(heap);
        mm_lock_init(&heap->lock, MM_LOCK_HEAP);
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
