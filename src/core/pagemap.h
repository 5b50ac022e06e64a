/*
 * pagemap.h: from any address to the span descriptor of the region holding it.
 *
 * A three-level radix tree over 48-bit addresses, 12 bits per level, indexed
 * by page number: root -> middle nodes -> leaves of span pointers. Each node
 * is 4096 pointers (32 KiB): the root is static (its untouched pages cost
 * nothing), the others come from vmalloc. Nodes are created on demand, never
 * freed (a leaf covers 16 MiB of address space, so the tree costs at most
 * 0.2% of the memory it maps), and published with a release compare-and-swap
 * so a reader that finds a node also finds it initialised.
 *
 * Entries are written before the blocks of their region are handed out and
 * cleared before the region goes back to vmfree; a thread freeing a block
 * received it through some synchronisation after the entry was written, so
 * relaxed loads suffice on lookup. Lookup is three dependent loads and never
 * blocks; an address below 2^48 outside any region yields NULL. A thread
 * may remember the last leaf it used (a hint, types.h): a free in the same
 * 16 MiB then takes one compare and one load.
 */
#ifndef MM_PAGEMAP_H
#define MM_PAGEMAP_H

#include "core/types.h"

#define MM_PAGEMAP_BITS 12
#define MM_PAGEMAP_FANOUT ((size_t)1 << MM_PAGEMAP_BITS)
#define MM_PAGEMAP_MASK (MM_PAGEMAP_FANOUT - 1)
#define MM_ADDRESS_BITS 48

typedef _Atomic(void *) mm_pagemap_node[MM_PAGEMAP_FANOUT];

extern mm_pagemap_node mm_pagemap_root;

/* Keys no address has (an address's key is below 2^40): a hint that
 * remembers nothing yet, and one that must never remember (a hint shared by
 * threads, mm_heap_none's). */
#define MM_PAGEMAP_HINT_EMPTY (~(uintptr_t)0 - 1)
#define MM_PAGEMAP_HINT_FROZEN (~(uintptr_t)0)

/* The key of address `a` (its bits above the leaf's) and its way. */
static inline uintptr_t mm_pagemap_hint_key(uintptr_t a)
{
    return a >> (MM_PAGE_SHIFT + MM_PAGEMAP_BITS);
}

static inline unsigned mm_pagemap_hint_way(uintptr_t key)
{
    return (unsigned)(key % MM_PAGEMAP_HINT_WAYS);
}

/* Whether `p` lies in the 16 MiB of a leaf `hint` remembers: then its span
 * is mm_pagemap_hint_lookup's one load, instead of three dependent loads
 * and two tests. */
static inline bool mm_pagemap_hint_covers(const mm_pagemap_hint *hint, const void *p)
{
    uintptr_t key = mm_pagemap_hint_key((uintptr_t)p);
    return hint->way[mm_pagemap_hint_way(key)].key == key;
}

static inline mm_span *mm_pagemap_hint_lookup(const mm_pagemap_hint *hint, const void *p)
{
    MM_ASSERT(mm_pagemap_hint_covers(hint, p));
    uintptr_t a = (uintptr_t)p;
    const mm_pagemap_way *way = &hint->way[mm_pagemap_hint_way(mm_pagemap_hint_key(a))];
    return atomic_load_explicit(&way->leaf[(a >> MM_PAGE_SHIFT) & MM_PAGEMAP_MASK],
                                memory_order_relaxed);
}

/* The span of `p`; the leaf it is found in goes to its way of `hint` when
 * `hint` is not NULL (a constant at each call, so the plain lookup pays
 * nothing for it) and not frozen. An address at or above 2^48 is looked up
 * as its low 48 bits (and not remembered): it may find the span of the
 * region 2^48 below it, but every caller checks the pointer against the
 * span it found (a slab's block grid and bump pointer, a large block's
 * start), which an address 2^48 away never passes. */
static inline mm_span *mm_pagemap_lookup_remember(mm_pagemap_hint *hint, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    mm_pagemap_node *mid = atomic_load_explicit(
        &mm_pagemap_root[(a >> (MM_PAGE_SHIFT + 2 * MM_PAGEMAP_BITS)) & MM_PAGEMAP_MASK],
        memory_order_acquire);
    if (MM_UNLIKELY(mid == NULL))
        return NULL;
    mm_pagemap_node *leaf = atomic_load_explicit(
        &(*mid)[(a >> (MM_PAGE_SHIFT + MM_PAGEMAP_BITS)) & MM_PAGEMAP_MASK],
        memory_order_acquire);
    if (MM_UNLIKELY(leaf == NULL))
        return NULL;
    if (hint != NULL && (a >> MM_ADDRESS_BITS) == 0) {
        uintptr_t key = mm_pagemap_hint_key(a);
        mm_pagemap_way *way = &hint->way[mm_pagemap_hint_way(key)];
        if (way->key != MM_PAGEMAP_HINT_FROZEN) {
            way->key = key;
            way->leaf = *leaf;
        }
    }
    return atomic_load_explicit(&(*leaf)[(a >> MM_PAGE_SHIFT) & MM_PAGEMAP_MASK],
                                memory_order_relaxed);
}

/* Lookup is three dependent loads and never blocks. */
static inline mm_span *mm_pagemap_lookup(const void *p)
{
    return mm_pagemap_lookup_remember(NULL, p);
}

/* Map `pages` pages from page-aligned `start` to `span`. False when a node
 * could not be mapped; entries already written are then cleared again. */
bool mm_pagemap_set(const void *start, size_t pages, mm_span *span);

/* Clear the entries of `pages` pages from `start`. */
void mm_pagemap_clear(const void *start, size_t pages);

#endif /* MM_PAGEMAP_H */
