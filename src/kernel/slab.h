/*
 * slab.h: the small classes, 16 .. 2048 bytes in powers of two (slab.c).
 * Each CPU cuts pages from its page cache into blocks of one class (a
 * slab); blocks come back to their own slab, whichever CPU frees them.
 *
 * The caller holds the lock of the CPU passed (locking.h), except for
 * mmk_inbox_push, which is lock-free.
 */
#ifndef MMK_SLAB_H
#define MMK_SLAB_H

#include "kernel/layout.h"

/* The class of a request of 1 .. MMK_SMALL_MAX bytes: blocks of
 * 16 << class bytes, the smallest power of two >= size (at least 16). */
static inline unsigned mmk_size_class(size_t size)
{
    if (size <= ((size_t)1 << MMK_CLASS_SHIFT))
        return 0;
    return (unsigned)(64 - __builtin_clzll((unsigned long long)size - 1)) - MMK_CLASS_SHIFT;
}

static inline size_t mmk_class_bytes(unsigned c)
{
    return (size_t)1 << (c + MMK_CLASS_SHIFT);
}

/* A block of class c from the CPU's slabs, or NULL when it has no free block
 * of that class and no page can be had for a new slab. O(1): the current
 * slab's free list or its uncut rest, else the first partial slab, else a
 * new slab from the page cache (mmk_cache_take). */
void *mmk_slab_alloc(struct mmk_heap *heap, struct mmk_cpu *cpu, unsigned c);

/* Frees a block of a slab of `cpu` (on page `index`). O(1); a slab that
 * becomes empty, unless it is current, goes to the page cache
 * (mmk_cache_put). */
void mmk_slab_free(struct mmk_heap *heap, struct mmk_cpu *cpu, uint32_t index, mmk_block *block);

/* Another CPU's free: puts a block of a slab of `owner` on the owner's
 * inbox, for the owner (or the out-of-memory path) to free with
 * mmk_inbox_collect. One compare-and-swap loop; no lock. */
void mmk_inbox_push(struct mmk_cpu *owner, mmk_block *block);

/* Whether blocks wait on the CPU's inbox; the caller holds the CPU's lock
 * (for `taken`). The relaxed load of the inbox is a hint: a push it misses
 * is collected on a later call, and the exchange that takes the list is
 * what orders the blocks' links (mmk_inbox_collect). */
static inline bool mmk_inbox_waiting(struct mmk_cpu *cpu)
{
    return cpu->taken != NULL || atomic_load_explicit(&cpu->inbox, memory_order_relaxed) != NULL;
}

/* Frees up to `limit` blocks from the CPU's inbox (mmk_slab_free each). */
void mmk_inbox_collect(struct mmk_heap *heap, struct mmk_cpu *cpu, size_t limit);

/* The out-of-memory path: every current slab of the CPU that is empty goes
 * to its page cache. O(MMK_CLASSES). */
void mmk_slab_release_empty(struct mmk_heap *heap, struct mmk_cpu *cpu);

/* The out-of-memory path, holding another CPU's lock: a block of class c
 * from that CPU's current or first partial slab, or NULL. The block stays
 * in its slab; freeing it later is a remote free to that CPU. O(1). */
void *mmk_slab_steal(struct mmk_heap *heap, struct mmk_cpu *victim, unsigned c);

#endif /* MMK_SLAB_H */
