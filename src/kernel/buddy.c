/*
 * buddy.c: the buddy allocator (see buddy.h).
 *
 * Locks: every function but mmk_buddy_init runs under the buddy lock
 * (MM_LOCK_KERNEL_BUDDY of platform/lock.h, the kernel allocator's last).
 * Invariants (under the buddy lock):
 *   - a page is FREE iff it is the first page of a block on free[order],
 *     where order is its descriptor's order; the other pages of that block
 *     are INSIDE;
 *   - bit k of free_orders is set iff free[k] is not empty;
 *   - no two free blocks of the same order are buddies (a block given back
 *     merges first), except at the largest order, which has no buddy.
 */
#include "kernel/buddy.h"

#if defined(MM_DEBUG)
/* A block of 2^order pages starts at an absolute page number that is a
 * multiple of 2^order, and lies inside the region. */
static inline bool block_fits(const struct mmk_heap *heap, uint32_t index, unsigned order)
{
    uintptr_t pfn = heap->base_pfn + index;
    return order < MMK_ORDERS && (pfn & (((uintptr_t)1 << order) - 1)) == 0 &&
           (uintptr_t)index + ((uintptr_t)1 << order) <= heap->npages;
}
#endif

static void free_block_add(struct mmk_heap *heap, uint32_t index, unsigned order)
{
    MM_ASSERT(block_fits(heap, index, order));
    struct mmk_page *page = mmk_page(heap, index);
    page->order = (uint8_t)order;
    mmk_set_kind(page, MMK_FREE);
    mmk_list_push(heap, &heap->free[order], index);
    heap->free_orders |= 1u << order;
}

static void free_block_remove(struct mmk_heap *heap, uint32_t index, unsigned order)
{
    MM_ASSERT(mmk_kind(mmk_page(heap, index)) == MMK_FREE && mmk_page(heap, index)->order == order);
    mmk_list_unlink(heap, &heap->free[order], index);
    if (heap->free[order].head == MMK_NIL)
        heap->free_orders &= ~(1u << order);
}

unsigned mmk_buddy_init(struct mmk_heap *heap, uint32_t first, uint32_t end)
{
    unsigned largest = 0;
    uintptr_t pfn = heap->base_pfn + first, end_pfn = heap->base_pfn + end;
    while (pfn < end_pfn) {
        unsigned order = pfn == 0 ? MMK_ORDERS - 1 : (unsigned)__builtin_ctzl((unsigned long)pfn);
        if (order > MMK_ORDERS - 1)
            order = MMK_ORDERS - 1;
        /* Order 0 always fits (pfn < end_pfn); the test says so to the
         * static analyzer, which cannot relate the two comparisons. */
        while (order > 0 && pfn + ((uintptr_t)1 << order) > end_pfn)
            order--;
        mmk_buddy_give(heap, (uint32_t)(pfn - heap->base_pfn), order);
        if (order > largest)
            largest = order;
        pfn += (uintptr_t)1 << order;
    }
    return largest;
}

/* Takes the first block of free[have] and splits it down to `order`, the
 * upper halves going back on the lists. */
static uint32_t take_split(struct mmk_heap *heap, unsigned have, unsigned order)
{
    uint32_t index = heap->free[have].head;
    MM_ASSERT(index != MMK_NIL && (heap->free_orders >> have & 1u));
    free_block_remove(heap, index, have);
    while (have > order) {
        have--;
        free_block_add(heap, index + (1u << have), have);
    }
    struct mmk_page *page = mmk_page(heap, index);
    page->order = (uint8_t)order;
    mmk_set_kind(page, MMK_BLOCK);
    return index;
}

uint32_t mmk_buddy_take(struct mmk_heap *heap, unsigned order)
{
    uint32_t large_enough = heap->free_orders & ~((1u << order) - 1);
    if (large_enough == 0)
        return MMK_NIL;
    return take_split(heap, (unsigned)__builtin_ctz(large_enough), order);
}

uint32_t mmk_buddy_take_smallest(struct mmk_heap *heap, unsigned most, unsigned *got)
{
    if (heap->free_orders == 0)
        return MMK_NIL;
    unsigned have = (unsigned)__builtin_ctz(heap->free_orders);
    *got = have < most ? have : most;
    MM_ASSERT(*got <= most && (heap->free_orders & ((1u << *got) - 1)) == 0);
    return take_split(heap, have, *got);
}

void mmk_buddy_give(struct mmk_heap *heap, uint32_t index, unsigned order)
{
    MM_ASSERT(block_fits(heap, index, order) && mmk_kind(mmk_page(heap, index)) != MMK_FREE);
    mmk_set_kind(mmk_page(heap, index), MMK_INSIDE);
    uintptr_t pfn = heap->base_pfn + index;
    while (order < MMK_ORDERS - 1) {
        /* Below the region, the difference wraps to a huge index. */
        uintptr_t buddy = (pfn ^ ((uintptr_t)1 << order)) - heap->base_pfn;
        if (buddy >= heap->npages)
            break;
        struct mmk_page *page = mmk_page(heap, (uint32_t)buddy);
        if (mmk_kind(page) != MMK_FREE || page->order != order)
            break;
        free_block_remove(heap, (uint32_t)buddy, order);
        mmk_set_kind(page, MMK_INSIDE);
        pfn &= ~((uintptr_t)1 << order);
        order++;
    }
    free_block_add(heap, (uint32_t)(pfn - heap->base_pfn), order);
}
