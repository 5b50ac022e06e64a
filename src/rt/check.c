/*
 * check.c: the real-time heap's calls that are not real-time: the sizing
 * rule (rt_heap_required), the invariant walk (rt_heap_check) and the
 * statistics (rt_heap_stats). Each is O(classes) or O(blocks); none changes
 * the heap. The proof behind rt_heap_required is in docs/REALTIME.md
 * ("The sizing rule"); its inequality is the one rt_reserve_take in heap.c
 * keeps.
 */
#include "rt/rt_internal.h"

/* What rt_heap_init may lose before the first block: the 64-byte alignment
 * of the heap state, the state, the 16-byte alignment and the header offset. */
#define RT_INIT_OVERHEAD (63 + sizeof(struct rt_heap) + 15 + RT_HEADER_BYTES)

static size_t rt_add_saturated(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* The reserve alone carries the proof. A reserve class c carves a block only
 * when it has no free block, so every block it ever carved is live at that
 * moment, each holding a request of at least rt_class_min_request(c) bytes:
 * it carves at most M / that many blocks. The good-fit region takes a
 * sixteenth of the capacity on top, and the boundary word 16 bytes. */
RT_API size_t rt_heap_required(size_t max_live_bytes, size_t max_request)
{
    if (max_request > RT_MAX_REQUEST)
        return SIZE_MAX;
    size_t reserve = 0;
    for (unsigned c = 0; c < RT_CLASSES; c++) {
        size_t smallest = rt_class_min_request(c);
        if (smallest > max_request && c > 0)
            break;
        size_t blocks = max_live_bytes / smallest;
        size_t size = rt_class_size(c);
        if (blocks > SIZE_MAX / size)
            return SIZE_MAX;
        reserve = rt_add_saturated(reserve, blocks * size);
    }
    /* capacity C with C - floor(C / 16) - 16 >= reserve */
    size_t needed = rt_add_saturated(reserve, 16);
    size_t capacity = rt_add_saturated(needed, needed / 15 + 1);
    if (capacity < 32)
        capacity = 32;
    return rt_add_saturated(capacity, RT_INIT_OVERHEAD);
}

/* A hash of a block address, summed over the blocks a walk finds in one
 * state and over the list entries: equal sums mean (but for a deliberate
 * collision) that the lists hold each such block exactly once. */
static uint64_t rt_mix(uintptr_t block)
{
    uint64_t x = (uint64_t)block * 0xff51afd7ed558ccdu;
    return x ^ (x >> 29);
}

struct rt_tally {
    size_t count;
    uint64_t sum;
};

static void rt_tally_add(struct rt_tally *tally, uintptr_t block)
{
    tally->count += 1;
    tally->sum += rt_mix(block);
}

static bool rt_tally_equal(const struct rt_tally *a, const struct rt_tally *b)
{
    return a->count == b->count && a->sum == b->sum;
}

/* Checks a singly linked list (reserve class c, or the good-fit blocks
 * pending when c is RT_CLASSES) against `state`; tallies its entries and
 * stops after `limit` (a cycle). */
static bool rt_list_sound(const struct rt_heap *heap, void *first, unsigned c, unsigned state,
                          size_t limit, struct rt_tally *tally)
{
    for (void *entry = first; entry != NULL;
         entry = *(void **)((uintptr_t)entry + RT_HEADER_BYTES)) {
        uintptr_t block = (uintptr_t)entry;
        bool in_fit = block >= heap->start && block < heap->fit_end;
        bool in_reserve = block >= heap->reserve_start && block < heap->top;
        if (tally->count >= limit || (block & 15) != RT_HEADER_BYTES ||
            !(c == RT_CLASSES ? in_fit : in_reserve))
            return false;
        uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
        size_t size = word & RT_SIZE_MASK;
        if (rt_state(word) != state || (word & RT_CHECK_MASK) != rt_check_bits(heap, block, size) ||
            !rt_size_fits_region(heap, block, size) ||
            (c != RT_CLASSES && size != rt_class_size(c)))
            return false;
        rt_tally_add(tally, block);
    }
    return true;
}

/* Checks the good-fit lists and map; tallies the listed blocks. */
static bool rt_fit_lists_sound(const struct rt_heap *heap, size_t limit, struct rt_tally *tally)
{
    for (unsigned list = 0; list < RT_FIT_LISTS; list++) {
        const uintptr_t *pprev = &heap->fit_heads[list];
        uintptr_t block = *pprev;
        if (((heap->fit_map[list / 64] >> (list % 64)) & 1) != (block != 0))
            return false;
        for (; block != 0; pprev = &rt_links(block)->next, block = *pprev) {
            if (tally->count >= limit || block < heap->start || block >= heap->fit_end ||
                (block & 15) != RT_HEADER_BYTES || rt_links(block)->pprev != pprev)
                return false;
            uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
            size_t size = word & RT_SIZE_MASK;
            if (rt_state(word) != RT_STATE_FREE || !rt_size_fits_region(heap, block, size) ||
                rt_fit_index(size) != list)
                return false;
            rt_tally_add(tally, block);
        }
    }
    return true;
}

/* Walks the good-fit region: headers, boundary tags, RT_PREV_FREE (set
 * only after a FREE block: rt_internal.h). Adds live bytes; tallies free
 * and pending blocks. */
static bool rt_fit_walk(const struct rt_heap *heap, size_t *live, struct rt_tally *free_blocks,
                        struct rt_tally *pending)
{
    bool prev_free = false;
    uintptr_t block = heap->start;
    while (block < heap->fit_end) {
        uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
        size_t size = word & RT_SIZE_MASK;
        unsigned state = rt_state(word);
        if (!rt_size_fits_region(heap, block, size) || ((word & RT_PREV_FREE) && !prev_free))
            return false;
        if (state == RT_STATE_FREE) {
            /* No check bits: the size again in the last word instead. */
            if ((word & RT_CHECK_MASK) != 0 || *(uint64_t *)(block + size - 8) != size)
                return false;
        } else if ((word & RT_CHECK_MASK) != rt_check_bits(heap, block, size)) {
            return false;
        }
        if (state == RT_STATE_FREE) {
            rt_tally_add(free_blocks, block);
        } else if (state == RT_STATE_PENDING) {
            rt_tally_add(pending, block);
        } else if (state == RT_STATE_LIVE) {
            *live += size;
        } else {
            return false;
        }
        prev_free = state == RT_STATE_FREE;
        block += size;
    }
    uint64_t boundary = atomic_load_explicit(rt_header_of(heap->fit_end), memory_order_relaxed);
    return block == heap->fit_end &&
           (boundary & ~(uint64_t)RT_PREV_FREE) ==
               rt_header(heap, heap->fit_end, 16, RT_STATE_BOUNDARY) &&
           (!(boundary & RT_PREV_FREE) || prev_free);
}

RT_API int rt_heap_check(rt_heap_t *heap)
{
    if (heap == NULL || heap->start > heap->fit_end || heap->reserve_start != heap->fit_end + 16 ||
        heap->reserve_start > heap->top || heap->top > heap->end ||
        (heap->start & 15) != RT_HEADER_BYTES || (heap->top & 15) != RT_HEADER_BYTES ||
        (heap->fit_end & 15) != RT_HEADER_BYTES)
        return -1;
    size_t live = 0;
    struct rt_tally fit_free = {0, 0}, fit_pending = {0, 0};
    if (!rt_fit_walk(heap, &live, &fit_free, &fit_pending))
        return -1;
    struct rt_tally listed = {0, 0}, pending_listed = {0, 0};
    void *fit_inbox = atomic_load_explicit(&heap->fit_inbox, memory_order_acquire);
    if (!rt_fit_lists_sound(heap, fit_free.count, &listed) || !rt_tally_equal(&listed, &fit_free) ||
        !rt_list_sound(heap, fit_inbox, RT_CLASSES, RT_STATE_PENDING, fit_pending.count,
                       &pending_listed) ||
        !rt_tally_equal(&pending_listed, &fit_pending))
        return -1;
    struct rt_tally reserve_free[RT_CLASSES];
    mm_zero(reserve_free, sizeof(reserve_free));
    for (uintptr_t block = heap->reserve_start; block < heap->top;) {
        uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
        size_t size = word & RT_SIZE_MASK;
        unsigned state = rt_state(word);
        if (!rt_is_class_size(size) || size > heap->top - block ||
            word != rt_header(heap, block, size, state))
            return -1;
        if (state == RT_STATE_FREE)
            rt_tally_add(&reserve_free[rt_class_of(size - RT_HEADER_BYTES)], block);
        else if (state == RT_STATE_LIVE)
            live += size;
        else
            return -1;
        block += size;
    }
    for (unsigned c = 0; c < RT_CLASSES; c++) {
        struct rt_tally found = {0, 0};
        void *inbox = atomic_load_explicit(&heap->inbox[c], memory_order_acquire);
        if (!rt_list_sound(heap, heap->private_list[c], c, RT_STATE_FREE, reserve_free[c].count,
                           &found) ||
            !rt_list_sound(heap, inbox, c, RT_STATE_FREE, reserve_free[c].count, &found) ||
            !rt_tally_equal(&found, &reserve_free[c]))
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
    stats->capacity = (heap->fit_end - heap->start) + (heap->end - heap->reserve_start);
    stats->live_bytes = live;
    stats->peak_live_bytes = heap->peak_live_bytes;
    stats->free_bytes = stats->capacity - live;
    stats->largest_free = 0;
    /* Good fit: a request whose block is the smallest size of the highest
     * non-empty list always finds it (rt_fit_take's rounding); on the last
     * list, one as large as its first block. */
    uintptr_t last = heap->fit_heads[RT_FIT_LISTS - 1];
    if (last != 0) {
        stats->largest_free = (*rt_header_of(last) & RT_SIZE_MASK) - RT_HEADER_BYTES;
    } else if (heap->fit_map[1] != 0) {
        stats->largest_free =
            rt_fit_list_min(127u - (unsigned)__builtin_clzll(heap->fit_map[1])) - RT_HEADER_BYTES;
    } else if (heap->fit_map[0] != 0) {
        stats->largest_free =
            rt_fit_list_min(63u - (unsigned)__builtin_clzll(heap->fit_map[0])) - RT_HEADER_BYTES;
    }
    size_t room = heap->end - heap->top;
    for (unsigned c = RT_CLASSES; c-- > 0;) {
        size_t size = rt_class_size(c);
        if (size <= room || heap->private_list[c] != NULL ||
            atomic_load_explicit(&heap->inbox[c], memory_order_relaxed) != NULL) {
            if (size - RT_HEADER_BYTES > stats->largest_free)
                stats->largest_free = size - RT_HEADER_BYTES;
            break;
        }
    }
}
