/*
 * page_cache.c: a CPU's cache of free pages (see page_cache.h).
 *
 * Locks: everything here runs under the CPU's lock; refills and drains
 * take the buddy lock inside it (the lock order of platform/lock.h).
 * Invariants (under the CPU's lock): the pages on cpu->cache are exactly
 * the CACHED pages of this CPU, most recently cached first; cpu->cached
 * counts them and stays at most MMK_CACHE_HIGH between calls. A page freed
 * on any CPU goes to that CPU's cache: pages have no owner.
 */
#include "kernel/page_cache.h"
#include "kernel/buddy.h"
#include "kernel/locking.h"

static void cache_add(struct mmk_heap *heap, struct mmk_cpu *cpu, uint32_t index)
{
    mmk_set_kind(mmk_page(heap, index), MMK_CACHED);
    mmk_list_push(heap, &cpu->cache, index);
    cpu->cached++;
}

/* Gives the `count` least recently cached pages back; buddy lock held. */
static void cache_give_back(struct mmk_heap *heap, struct mmk_cpu *cpu, uint32_t count)
{
    while (count-- > 0) {
        uint32_t index = cpu->cache.tail;
        mmk_list_unlink(heap, &cpu->cache, index);
        cpu->cached--;
        mmk_buddy_give(heap, index, 0);
    }
}

/* The most recently cached page, handed out. */
static uint32_t cache_pop(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    uint32_t index = cpu->cache.head;
    mmk_list_unlink(heap, &cpu->cache, index);
    cpu->cached--;
    struct mmk_page *page = mmk_page(heap, index);
    page->order = 0;
    mmk_set_kind(page, MMK_BLOCK);
    return index;
}

uint32_t mmk_cache_steal(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    return cpu->cache.head == MMK_NIL ? MMK_NIL : cache_pop(heap, cpu);
}

uint32_t mmk_cache_take(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    if (cpu->cache.head == MMK_NIL) {
        unsigned order = 0;
        mmk_buddy_lock(heap);
        uint32_t first = mmk_buddy_take_upto(heap, MMK_CACHE_REFILL_ORDER, &order);
        mmk_buddy_unlock(heap);
        if (first == MMK_NIL)
            return MMK_NIL;
        /* Highest page first, so that the lowest comes out first. */
        for (uint32_t page = 1u << order; page-- > 0;)
            cache_add(heap, cpu, first + page);
    }
    return cache_pop(heap, cpu);
}

void mmk_cache_put(struct mmk_heap *heap, struct mmk_cpu *cpu, uint32_t index)
{
    cache_add(heap, cpu, index);
    if (cpu->cached > MMK_CACHE_HIGH) {
        mmk_buddy_lock(heap);
        cache_give_back(heap, cpu, MMK_CACHE_BATCH);
        mmk_buddy_unlock(heap);
    }
}

void mmk_cache_flush(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    mmk_buddy_lock(heap);
    cache_give_back(heap, cpu, cpu->cached);
    mmk_buddy_unlock(heap);
}
