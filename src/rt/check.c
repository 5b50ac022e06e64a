/*
 * check.c: the real-time heap's calls that are not real-time: the sizing
 * rule (rt_heap_required), the invariant walk (rt_heap_check) and the
 * statistics (rt_heap_stats). Each is O(classes) or O(blocks); none changes
 * the heap. The proof behind rt_heap_required is in docs/REALTIME.md
 * ("The sizing rule"); its inequality is the one rt_take in heap.c keeps.
 */
#include "rt/rt_internal.h"

/* What rt_heap_init may lose before the first block: the 64-byte alignment
 * of the heap state, the state, the 16-byte alignment and the header offset. */
#define RT_INIT_OVERHEAD (63 + sizeof(struct rt_heap) + 15 + RT_HEADER_BYTES)

static size_t rt_add_saturated(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Class c carves a block only when it has no free block, so every block it
 * ever carved is live at that moment, each holding a request of at least
 * rt_class_min_request(c) bytes: it carves at most M / that many blocks. */
RT_API size_t rt_heap_required(size_t max_live_bytes, size_t max_request)
{
    if (max_request > RT_MAX_REQUEST)
        return SIZE_MAX;
    size_t total = RT_INIT_OVERHEAD + 16;
    for (unsigned c = 0; c < RT_CLASSES; c++) {
        if (c == 1)
            continue;
        size_t smallest = rt_class_min_request(c);
        if (smallest > max_request && c > 0)
            break;
        size_t blocks = max_live_bytes / smallest;
        size_t size = rt_class_size(c);
        if (blocks > SIZE_MAX / size)
            return SIZE_MAX;
        total = rt_add_saturated(total, blocks * size);
    }
    return total;
}

/* A hash of a block address, summed over the free blocks the walk finds and
 * over the list entries: equal sums mean (but for a deliberate collision)
 * that the lists hold each free block exactly once. */
static uint64_t rt_mix(uintptr_t block)
{
    uint64_t x = (uint64_t)block * 0xff51afd7ed558ccdu;
    return x ^ (x >> 29);
}

/* Checks one free list of class c; adds its entries to *count and *sum.
 * `limit` stops a cycle. */
static bool rt_list_sound(const struct rt_heap *heap, void *first, unsigned c, size_t limit,
                          size_t *count, uint64_t *sum)
{
    size_t size = rt_class_size(c);
    for (void *entry = first; entry != NULL;
         entry = *(void **)((uintptr_t)entry + RT_HEADER_BYTES)) {
        uintptr_t block = (uintptr_t)entry;
        if (*count >= limit || block < heap->start || block >= heap->top ||
            (block & 15) != RT_HEADER_BYTES || heap->top - block < size)
            return false;
        uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
        if (word != rt_header(heap, block, size, RT_STATE_FREE))
            return false;
        *count += 1;
        *sum += rt_mix(block);
    }
    return true;
}

RT_API int rt_heap_check(rt_heap_t *heap)
{
    if (heap == NULL || heap->start > heap->top || heap->top > heap->end ||
        (heap->start & 15) != RT_HEADER_BYTES || (heap->top & 15) != RT_HEADER_BYTES)
        return -1;
    size_t free_blocks[RT_CLASSES];
    uint64_t free_sum[RT_CLASSES];
    mm_zero(free_blocks, sizeof(free_blocks));
    mm_zero(free_sum, sizeof(free_sum));
    size_t live = 0;
    for (uintptr_t block = heap->start; block < heap->top;) {
        uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
        size_t size = word & RT_SIZE_MASK;
        unsigned state = word & RT_STATE_MASK;
        if (!rt_is_class_size(size) || size > heap->top - block ||
            word != rt_header(heap, block, size, state))
            return -1;
        unsigned c = rt_class_of(size - RT_HEADER_BYTES);
        if (state == RT_STATE_FREE) {
            free_blocks[c]++;
            free_sum[c] += rt_mix(block);
        } else if (state == RT_STATE_LIVE) {
            live += size;
        } else {
            return -1;
        }
        block += size;
    }
    for (unsigned c = 0; c < RT_CLASSES; c++) {
        size_t count = 0;
        uint64_t sum = 0;
        void *inbox = atomic_load_explicit(&heap->inbox[c], memory_order_acquire);
        if (!rt_list_sound(heap, heap->private_list[c], c, free_blocks[c], &count, &sum) ||
            !rt_list_sound(heap, inbox, c, free_blocks[c], &count, &sum) ||
            count != free_blocks[c] || sum != free_sum[c])
            return -1;
    }
    size_t freed = atomic_load_explicit(&heap->freed_bytes, memory_order_relaxed);
    if (heap->allocated_bytes - freed != live || live > heap->peak_live_bytes)
        return -1;
    return 0;
}

RT_API void rt_heap_stats(rt_heap_t *heap, struct rt_heap_stats *stats)
{
    size_t live = heap->allocated_bytes -
                  atomic_load_explicit(&heap->freed_bytes, memory_order_relaxed);
    stats->capacity = heap->end - heap->start;
    stats->live_bytes = live;
    stats->peak_live_bytes = heap->peak_live_bytes;
    stats->free_bytes = stats->capacity - live;
    stats->largest_free = 0;
    size_t room = heap->end - heap->top;
    for (unsigned c = RT_CLASSES; c-- > 0;) {
        if (c == 1)
            continue;
        size_t size = rt_class_size(c);
        if (size <= room || heap->private_list[c] != NULL ||
            atomic_load_explicit(&heap->inbox[c], memory_order_relaxed) != NULL) {
            stats->largest_free = size - RT_HEADER_BYTES;
            break;
        }
    }
}
