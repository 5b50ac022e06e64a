/*
 * buddy.h: the buddy allocator over the region's pages, where all CPUs meet
 * (buddy.c). Blocks of 2^order pages, aligned to their size in absolute
 * addresses (layout.h); a block given back merges with its free buddy,
 * again and again, so free memory stays in the largest blocks it can.
 *
 * The caller holds the buddy lock (locking.h) for every function here but
 * mmk_buddy_init.
 */
#ifndef MMK_BUDDY_H
#define MMK_BUDDY_H

#include "kernel/layout.h"

/* kalloc_init: pages [first, end) become free blocks, as large as their
 * alignment allows. Returns the largest order made. O(log pages). */
unsigned mmk_buddy_init(struct mmk_heap *heap, uint32_t first, uint32_t end);

/* The first page of a block of 2^order pages, now BLOCK with that order, or
 * MMK_NIL when no free block is that large. O(MMK_ORDERS): one look at the
 * bitmap of non-empty orders, then at most one split per order. */
uint32_t mmk_buddy_take(struct mmk_heap *heap, unsigned order);

/* A block from the smallest free ones, split down to at most 2^most pages;
 * *got says its order. MMK_NIL when nothing is free. What a plain buddy
 * allocator would hand out for single pages, so the pages of the CPU caches
 * come from the fragments first and larger blocks stay whole. O(MMK_ORDERS). */
uint32_t mmk_buddy_take_smallest(struct mmk_heap *heap, unsigned most, unsigned *got);

/* Gives back the block of 2^order pages at `index` (any kind but FREE),
 * merging it with its free buddies. O(MMK_ORDERS). */
void mmk_buddy_give(struct mmk_heap *heap, uint32_t index, unsigned order);

#endif /* MMK_BUDDY_H */
