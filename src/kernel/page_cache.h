/*
 * page_cache.h: each CPU's cache of free single pages (page_cache.c), so
 * that the frequent kalloc(4096) and kfree of a page, and the slabs of the
 * small classes, rarely take the buddy lock.
 *
 * The caller holds the CPU's lock (locking.h) for every function here.
 */
#ifndef MMK_PAGE_CACHE_H
#define MMK_PAGE_CACHE_H

#include "kernel/layout.h"

/* A free page, now BLOCK of order 0, or MMK_NIL when the cache is empty and
 * the buddy allocator has nothing either. O(1); when the cache is empty it
 * takes MMK_CACHE_BATCH pages from the smallest free blocks under the buddy
 * lock (at most MMK_CACHE_BATCH * O(MMK_ORDERS) there) and caches them
 * outside it (MMK_CACHE_BATCH steps). */
uint32_t mmk_cache_take(struct mmk_heap *heap, struct mmk_cpu *cpu);

/* Puts a free page (any kind but FREE) on the cache. O(1); above
 * MMK_CACHE_HIGH pages it gives the MMK_CACHE_BATCH least recently cached
 * back to the buddy allocator under one hold of its lock
 * (MMK_CACHE_BATCH * O(MMK_ORDERS)). */
void mmk_cache_put(struct mmk_heap *heap, struct mmk_cpu *cpu, uint32_t index);

/* The out-of-memory path, on another CPU's cache: a cached page, now BLOCK
 * of order 0, without refilling; MMK_NIL when the cache is empty. O(1). */
uint32_t mmk_cache_steal(struct mmk_heap *heap, struct mmk_cpu *cpu);

/* The out-of-memory path: every cached page goes back to the buddy
 * allocator. O(cached pages * MMK_ORDERS) under the buddy lock. */
void mmk_cache_flush(struct mmk_heap *heap, struct mmk_cpu *cpu);

#endif /* MMK_PAGE_CACHE_H */
