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

/* Takes up to MMK_CACHE_BATCH pages from the smallest free blocks in one
 * hold of the buddy lock (at most MMK_CACHE_BATCH blocks), and caches them
 * outside it; false when there were none. Smallest first, as a plain buddy
 * allocator would hand out single pages: taking a whole block of 16 while
 * single free pages waited split large blocks and left the heap in
 * unmergeable single pages (docs/DECISIONS.md). */
static bool cache_refill(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    uint32_t first[MMK_CACHE_BATCH];
    unsigned order[MMK_CACHE_BATCH], blocks = 0;
    mmk_buddy_lock(heap);
    for (uint32_t want = MMK_CACHE_BATCH; want > 0; want -= 1u << order[blocks++]) {
        unsigned most = 31u - (unsigned)__builtin_clz(want); /* 2^most <= want */
        first[blocks] = mmk_buddy_take_smallest(heap, most, &order[blocks]);
        if (first[blocks] == MMK_NIL)
            break;
    }
    mmk_buddy_unlock(heap);
    /* Highest page first, so that the lowest comes out first. */
    for (unsigned b = blocks; b-- > 0;)
        for (uint32_t page = 1u << order[b]; page-- > 0;)
            cache_add(heap, cpu, first[b] + page);
    return blocks > 0;
}

uint32_t mmk_cache_steal(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    return cpu->cache.head == MMK_NIL ? MMK_NIL : cache_pop(heap, cpu);
}

uint32_t mmk_cache_take(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    if (cpu->cache.head == MMK_NIL && !cache_refill(heap, cpu))
        return MMK_NIL;
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
