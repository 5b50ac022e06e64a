/*
 * mymalloc.c: the entry points. Small requests go to the calling thread's
 * heap (identity.h), large ones to large.c; a free finds its block's span in
 * the page map and frees locally when the caller's heap owns it, remotely
 * otherwise.
 */
#include "mymalloc.h"
#include "core/heap.h"
#include "core/identity.h"
#include "core/large.h"
#include "core/pagemap.h"
#include "core/remote.h"
#include "core/size_class.h"

/* The entry points are the only symbols the shared library exports. */
#define MM_PUBLIC __attribute__((visibility("default")))

mm_hooks mm_platform_hooks;

MM_PUBLIC void *mymalloc(size_t size)
{
    if (MM_LIKELY(size <= MM_SMALL_MAX)) {
        unsigned c = mm_size_class(size);
        mm_heap *heap = mm_heap_enter();
#if defined(MM_IDENTITY_CPU)
        if (MM_UNLIKELY(heap == NULL))
            return NULL;
#endif
        void *block = mm_heap_malloc(heap, c);
        mm_heap_leave(heap);
        return block;
    }
    return mm_large_malloc(size);
}

static void report_invalid_free(void *ptr)
{
    if (mm_platform_hooks.invalid_free != NULL)
        mm_platform_hooks.invalid_free(ptr);
}

/* Whether `ptr` is the start of a block of slab `span`: the offset divided
 * by the block size (by multiplying with a reciprocal exact for offsets
 * below 2^20) leaves no remainder. */
static inline bool slab_block_start(const mm_span *span, const void *ptr)
{
    uintptr_t offset = (uintptr_t)ptr - (uintptr_t)span->base;
    uint64_t index = ((uint64_t)offset * span->block_reciprocal) >> MM_RECIPROCAL_SHIFT;
    return index * span->block_size == offset && (const char *)ptr < span->end;
}

static void free_slow(mm_span *span, void *ptr)
{
    if (span->kind == MM_SPAN_LARGE && ptr == span->base)
        mm_large_free(span);
    else if (span->kind == MM_SPAN_SLAB && slab_block_start(span, ptr))
        mm_remote_free(span, ptr);
    else
        report_invalid_free(ptr);
}

MM_PUBLIC void myfree(void *ptr)
{
    if (ptr == NULL)
        return;
    mm_span *span = mm_pagemap_lookup(ptr);
    if (MM_UNLIKELY(span == NULL)) {
        report_invalid_free(ptr);
        return;
    }
#if defined(MM_IDENTITY_TLS)
    /* Only this thread ever sets a slab's owner to its own heap, so the
     * comparison is exact even with a relaxed load. */
    mm_heap *heap = mm_thread_heap;
    if (MM_LIKELY(atomic_load_explicit(&span->owner, memory_order_relaxed) == heap &&
                  slab_block_start(span, ptr))) {
        mm_heap_free_local(heap, span, ptr);
        return;
    }
#else
    /* A slab's owner does not change while it has a block out. The free
     * waits for the owner heap's lock rather than pushing remotely: CPU heaps
     * never exit, so a block left on the word of a slab that is no longer
     * current could wait there forever. The wait is one malloc or free long. */
    mm_heap *heap = atomic_load_explicit(&span->owner, memory_order_relaxed);
    if (heap != NULL && slab_block_start(span, ptr)) {
        mm_lock_acquire(&heap->lock);
        mm_heap_free_local(heap, span, ptr);
        mm_heap_leave(heap);
        return;
    }
#endif
    free_slow(span, ptr);
}
