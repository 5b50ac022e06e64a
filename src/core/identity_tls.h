/*
 * identity_tls.h: TLS identity (hosted build; the interface is identity.h).
 * A thread starts on mm_heap_none, whose classes have no slab, and gets a
 * heap on its first slow path (mm_heap_attach): a heap left by an exited
 * thread if there is one, else a new one. The hosted library calls
 * mm_thread_detach when the thread exits.
 */
#ifndef MM_IDENTITY_TLS_H
#define MM_IDENTITY_TLS_H

#include "core/pagemap.h"
#include "core/span.h"
#include "core/types.h"
#include "platform/track.h"

#define MM_IDENTITY_ENTER_MAY_FAIL 0

extern _Thread_local mm_heap *mm_thread_heap __attribute__((tls_model("initial-exec")));
extern mm_heap mm_heap_none;

static inline mm_heap *mm_heap_enter(void)
{
    return mm_thread_heap;
}

static inline void mm_heap_leave(mm_heap *heap)
{
    (void)heap;
}

/* The span of `ptr` for a free, through the page-map leaves this thread's
 * frees remember: false when `ptr` is in none of them (then
 * mm_free_lookup, which remembers the leaf it finds; a thread without a
 * heap yet, on mm_heap_none, never remembers). */
static inline bool mm_free_lookup_quick(const void *ptr, mm_span **span)
{
    const mm_pagemap_hint *hint = &mm_thread_heap->leaf_hint;
    if (MM_UNLIKELY(!mm_pagemap_hint_covers(hint, ptr)))
        return false;
    *span = mm_pagemap_hint_lookup(hint, ptr);
    return true;
}

/* Under memcheck (platform/track.h; probed here if no call has yet)
 * nothing is remembered: the hosted free's test for it rides on the quick
 * lookup's miss. */
static inline mm_span *mm_free_lookup(const void *ptr)
{
    if (MM_UNLIKELY(mm_track_on()) && mm_track_memcheck())
        return mm_pagemap_lookup(ptr);
    return mm_pagemap_lookup_remember(&mm_thread_heap->leaf_hint, ptr);
}

/* Only this thread ever sets a slab's owner to its own heap, so the
 * comparison is exact even with a relaxed load. `judge`: check that `ptr`
 * starts a block (else the caller trusts it, MM_TRUSTED_FREE). */
static inline bool mm_heap_enter_owner(mm_span *span, const void *ptr, bool judge,
                                       mm_heap **owner)
{
    *owner = mm_thread_heap;
    return atomic_load_explicit(&span->owner, memory_order_relaxed) == *owner &&
           (!judge || mm_slab_block_start(span, ptr));
}

/* A remote free (remote.c), counted on the caller's heap (made if the
 * thread has none). Always true. */
bool mm_heap_free_foreign(mm_span *span, mm_block *block);

static inline mm_heap *mm_caller_heap(void)
{
    return mm_thread_heap != &mm_heap_none ? mm_thread_heap : NULL;
}

/* Give the calling thread a heap; NULL when none can be mapped. */
mm_heap *mm_heap_attach(void);

/* The thread that uses `heap` exits: abandon its slabs, keep the heap for the
 * next thread. Safe to call again if the thread allocates after it. */
void mm_thread_detach(void *heap);

/* How many threads hold a heap now (attached and not yet detached). */
size_t mm_heaps_in_use(void);

/* Ask for the shared cache of empty slabs and the large cache to go back at
 * the next slow path of a malloc (a new slab, a large block) if the thread
 * taking it is then the only one holding a heap. The hosted library asks
 * when the last thread beside the main one exits: the main thread's next
 * slow path gives back the memory of the threads that are gone, while a
 * thread started meanwhile (a successor, a new phase) cancels the request
 * and finds its predecessors' slabs cached. */
void mm_trim_when_alone(void);

extern atomic_bool mm_trim_requested;
void mm_trim_if_alone_slow(void);

/* On malloc's slow paths: O(1), one relaxed load unless a trim was asked
 * for. Takes the shared cache's and the large cache's locks: call it
 * holding no lock. */
static inline void mm_trim_if_alone(void)
{
    if (atomic_load_explicit(&mm_trim_requested, memory_order_relaxed))
        mm_trim_if_alone_slow();
}

/* fork from a process with threads: before it, take every allocator lock
 * (so no other thread is inside a critical section at the fork); after it,
 * release them in the parent; in the child release them and retire the
 * heaps of the threads that did not survive. A block such a thread was
 * handing out at the very instant of the fork may be lost to the child;
 * nothing is ever handed out twice. */
void mm_fork_prepare(void);
void mm_fork_parent(void);
void mm_fork_child(void);

#endif /* MM_IDENTITY_TLS_H */
