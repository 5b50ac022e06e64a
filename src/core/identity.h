/*
 * identity.h: which heap the calling thread uses. One interface, two
 * identities, chosen by the platform (platform.h):
 *
 *   TLS identity (hosted build, identity_tls.h): each thread has its own
 *   heap, found in one thread-local load; entering and leaving cost nothing.
 *   CPU identity (freestanding build, identity_cpu.h): no TLS; heaps are per
 *   CPU, each used by the holder of its spin lock.
 *
 * Each identity header gives, inline:
 *   mm_heap_enter()          the heap for the caller's malloc (under CPU
 *                            identity locked); NULL only where
 *                            MM_IDENTITY_ENTER_MAY_FAIL
 *   mm_heap_leave(heap)      done with it
 *   mm_free_lookup_quick(ptr, &span)
 *                            the span of a pointer being freed, if found
 *                            quickly (TLS: in a page-map leaf the
 *                            thread's frees remember; CPU: always)
 *   mm_free_lookup(ptr)      else the same from the page map (TLS:
 *                            remembering the leaf)
 *   mm_heap_enter_owner(span, ptr, judge, &owner)
 *                            for a free of `ptr` in `span`: whether it is
 *                            in a slab whose owner the caller may free
 *                            into, and a block start (unless not `judge`,
 *                            MM_TRUSTED_FREE), and that heap (TLS: the
 *                            caller's own; CPU: the owner, locked)
 *   mm_heap_free_foreign(span, block)
 *                            a live block whose slab the caller may not free
 *                            into as its owner: hand it over (TLS: a remote
 *                            free); false if the identity has no such block
 *   mm_caller_heap()         the heap the caller may walk for checks, or NULL
 *   mm_trim_if_alone()       on malloc's slow paths: give the shared caches
 *                            back if a trim was asked for (TLS only)
 * and identity.c, for both, the registry of every heap.
 */
#ifndef MM_IDENTITY_H
#define MM_IDENTITY_H

#include "core/types.h"

/* Heaps take whole pages, one heap each, never unmapped. */
#define MM_HEAP_BYTES ((sizeof(mm_heap) + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1))

/* Out of memory: give back all the memory that can be found idle: the large
 * cache, and the empty slabs and caches of the caller's heap (`held`, the
 * heap the caller uses, or NULL) and, under CPU identity, of every heap
 * whose lock is free. */
void mm_reclaim(mm_heap *held);

/* The newest heap; the rest follow through next_all. Heaps are never
 * unmapped, so the walk is safe at any time. */
mm_heap *mm_heaps_all(void);

/* For the identities (identity.c): a fresh heap, not registered yet, or
 * NULL; add a heap to the registry (its lock, MM_LOCK_REGISTRY, is taken
 * alone but by the fork handler); unmap what no heap owns (the shared cache
 * of empty slabs and the large cache; takes their locks). */
mm_heap *mm_identity_create_heap(void);
void mm_identity_register(mm_heap *heap);
void mm_identity_flush_shared_caches(void);
extern mm_lock mm_identity_registry_lock;

#if defined(MM_IDENTITY_TLS)
#include "core/identity_tls.h"
#else
#include "core/identity_cpu.h"
#endif

#endif /* MM_IDENTITY_H */
