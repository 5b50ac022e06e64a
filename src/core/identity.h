/*
 * identity.h: which heap the calling thread uses.
 *
 * TLS identity (hosted build): each thread has its own heap, found in one
 * thread-local load; entering and leaving cost nothing. A thread starts on
 * mm_heap_none and gets a heap on its first slow path (mm_heap_attach): a
 * heap left by an exited thread if there is one, else a new one. The hosted
 * library calls mm_thread_detach when the thread exits.
 *
 * CPU identity (freestanding build, no TLS): up to MM_CPU_HEAPS heaps, each
 * with a spin lock. A thread starts at the slot of its CPU number
 * (mm_cpu_hint) and takes the first existing heap whose lock it gets, making
 * a heap in the first empty slot only when every existing heap is busy (so
 * there are at most as many heaps as threads ever inside the allocator at
 * once). Threads that share a TLS
 * area, migrate or get preempted are all safe: the lock, not the CPU number,
 * guarantees that one thread at a time uses a heap. A free takes the lock of
 * the block's own heap, waiting (spin, then yield) while another thread is
 * inside it.
 */
#ifndef MM_IDENTITY_H
#define MM_IDENTITY_H

#include "core/lock.h"
#include "core/types.h"
#include "platform/platform.h"

/* Out of memory: give back all the memory that can be found idle: the large
 * cache, and the empty slabs and caches of the caller's heap (`held`, the
 * heap the caller uses, or NULL) and, under CPU identity, of every heap
 * whose lock is free. */
void mm_reclaim(mm_heap *held);

/* The newest heap; the rest follow through next_all. Heaps are never
 * unmapped, so the walk is safe at any time. */
mm_heap *mm_heaps_all(void);

#if defined(MM_IDENTITY_TLS)

extern _Thread_local mm_heap *mm_thread_heap __attribute__((tls_model("initial-exec")));

static inline mm_heap *mm_heap_enter(void)
{
    return mm_thread_heap;
}

static inline void mm_heap_leave(mm_heap *heap)
{
    (void)heap;
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

#else

#define MM_CPU_HEAPS 64

extern _Atomic(mm_heap *) mm_cpu_heaps[MM_CPU_HEAPS];

/* Probe the other slots; see mm_heap_enter. */
mm_heap *mm_heap_enter_slow(unsigned first_slot);

/* A heap locked for the caller; NULL only when no heap exists and none can
 * be mapped. Acquire (in the lock, and on the slot) pairs with the heap's
 * initialisation and with the previous holder's release. */
static inline mm_heap *mm_heap_enter(void)
{
    unsigned slot = mm_cpu_hint() % MM_CPU_HEAPS;
    mm_heap *heap = atomic_load_explicit(&mm_cpu_heaps[slot], memory_order_acquire);
    if (MM_LIKELY(heap != NULL && mm_lock_try(&heap->lock)))
        return heap;
    return mm_heap_enter_slow(slot);
}

static inline void mm_heap_leave(mm_heap *heap)
{
    mm_lock_release(&heap->lock);
}

#endif

#endif /* MM_IDENTITY_H */
