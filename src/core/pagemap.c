/*
 * pagemap.c: creating nodes of the page map and writing its entries (see
 * pagemap.h). Callers own the pages they map, so no two threads write the
 * same entry at once; nodes are the only thing threads race to create.
 */
#include "core/stats.h"
#include "core/pagemap.h"
#include "platform/platform.h"

mm_pagemap_node mm_pagemap_root;

/* The node in `slot`, created if absent. NULL only when vmalloc fails. */
static mm_pagemap_node *node_get_or_create(_Atomic(void *) *slot)
{
    mm_pagemap_node *node = atomic_load_explicit(slot, memory_order_acquire);
    if (node != NULL)
        return node;
    mm_pagemap_node *fresh = mm_prim_map(sizeof(mm_pagemap_node));
    if (fresh == NULL)
        return NULL;
    /* A node is 8 pages. Writing NULL into zeroed pages would make all of
     * them resident, where a lookup-only workload touches one or two; on the
     * targets we build for a null pointer is all zero bits, so a zeroed map
     * already holds NULL entries. */
    if (!mm_prim_maps_zeroed())
        for (size_t i = 0; i < MM_PAGEMAP_FANOUT; i++)
            atomic_init(&(*fresh)[i], NULL);
    void *expected = NULL;
    /* Release: a reader that sees the node sees its NULL entries. */
    if (atomic_compare_exchange_strong_explicit(slot, &expected, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    mm_prim_unmap(fresh, sizeof(mm_pagemap_node));
    return expected;
}

/* The node in `slot`: created if absent when `create`, else NULL if absent. */
static mm_pagemap_node *node_at(_Atomic(void *) *slot, bool create)
{
    if (create)
        return node_get_or_create(slot);
    return atomic_load_explicit(slot, memory_order_acquire);
}

/* The leaf slot of address `a`, creating nodes on the way when `create`. */
static _Atomic(void *) *leaf_slot(uintptr_t a, bool create)
{
    mm_pagemap_node *mid = node_at(&mm_pagemap_root[a >> (MM_PAGE_SHIFT + 2 * MM_PAGEMAP_BITS)], create);
    if (mid == NULL)
        return NULL;
    mm_pagemap_node *leaf =
        node_at(&(*mid)[(a >> (MM_PAGE_SHIFT + MM_PAGEMAP_BITS)) & MM_PAGEMAP_MASK], create);
    if (leaf == NULL)
        return NULL;
    return &(*leaf)[(a >> MM_PAGE_SHIFT) & MM_PAGEMAP_MASK];
}

bool mm_pagemap_set(const void *start, size_t pages, mm_span *span)
{
    uintptr_t a = (uintptr_t)start;
    if ((a >> MM_ADDRESS_BITS) != 0 || ((a + pages * MM_PAGE_SIZE - 1) >> MM_ADDRESS_BITS) != 0)
        return false;
    for (size_t i = 0; i < pages; i++) {
        _Atomic(void *) *slot = leaf_slot(a + i * MM_PAGE_SIZE, true);
        if (slot == NULL) {
            mm_pagemap_clear(start, i);
            return false;
        }
        /* A page belongs to one region at a time. */
        MM_ASSERT(atomic_load_explicit(slot, memory_order_relaxed) == NULL);
        atomic_store_explicit(slot, span, memory_order_relaxed);
    }
    return true;
}

void mm_pagemap_clear(const void *start, size_t pages)
{
    uintptr_t a = (uintptr_t)start;
    for (size_t i = 0; i < pages; i++) {
        _Atomic(void *) *slot = leaf_slot(a + i * MM_PAGE_SIZE, false);
        MM_ASSERT(slot != NULL && atomic_load_explicit(slot, memory_order_relaxed) != NULL);
        if (slot != NULL)
            atomic_store_explicit(slot, NULL, memory_order_relaxed);
    }
}
