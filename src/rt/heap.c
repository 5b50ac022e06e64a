/*
 * heap.c: the real-time heap's calls (include/mymalloc/rt.h): init, malloc,
 * free, aligned_alloc, realloc, usable_size. Layout and invariants are in
 * rt_internal.h; docs/REALTIME.md has the proof of the sizing rule and the
 * instruction count of every path.
 *
 * Constant time: rt_malloc takes its class's first free block from the
 * owner's list, else the whole inbox in one exchange, else a block carved
 * from the top; rt_free checks the header and pushes; neither has a loop but
 * rt_free's compare-and-swap, which repeats only when another thread's
 * rt_free of the same class lands in between.
 *
 * Threads: the owner alone reads and writes the fields above `inbox`.
 * rt_free, on any thread, writes only the block's header (compare-and-swap,
 * so that two frees of one block cannot both succeed), the inbox it pushes
 * onto and freed_bytes.
 */
#include "rt/rt_internal.h"

static void rt_report(struct rt_heap *heap, void *ptr, enum rt_problem problem)
{
    if (heap->on_error != NULL)
        heap->on_error(heap, ptr, problem);
}

RT_API rt_heap_t *rt_heap_init(void *memory, size_t bytes)
{
    uintptr_t base = (uintptr_t)memory;
    uintptr_t limit = base + bytes;
    uintptr_t heap_at = (base + 63) & ~(uintptr_t)63;
    uintptr_t start = ((heap_at + sizeof(struct rt_heap) + 15) & ~(uintptr_t)15) + RT_HEADER_BYTES;
    if (memory == NULL || limit < base || start > limit || limit - start < 16)
        return NULL;
    struct rt_heap *heap = (struct rt_heap *)heap_at;
    mm_zero(heap, sizeof(*heap));
    heap->start = heap->top = start;
    heap->end = limit;
    heap->salt = ((uint64_t)heap_at * 0x9e3779b97f4a7c15u) | 1u;
    return heap;
}

RT_API void rt_set_error_handler(rt_heap_t *heap, rt_error_handler_t handler)
{
    heap->on_error = handler;
}

/* A block of class c, or 0: the owner's list, the inbox, the top. */
static inline uintptr_t rt_take(struct rt_heap *heap, unsigned c)
{
    void *block = heap->private_list[c];
    if (block == NULL) {
        /* Acquire: the pushers' links and headers are visible. */
        block = atomic_exchange_explicit(&heap->inbox[c], NULL, memory_order_acquire);
        if (block == NULL) {
            size_t size = rt_class_size(c);
            if (RT_UNLIKELY(heap->end - heap->top < size))
                return 0;
            uintptr_t carved = heap->top;
            RT_ASSERT((carved & 15) == RT_HEADER_BYTES && carved <= heap->end);
            heap->top = carved + size;
            return carved;
        }
    }
    heap->private_list[c] = *(void **)((uintptr_t)block + RT_HEADER_BYTES);
    return (uintptr_t)block;
}

static inline void *rt_hand_out(struct rt_heap *heap, uintptr_t block, unsigned c)
{
    size_t size = rt_class_size(c);
    atomic_store_explicit(rt_header_of(block), rt_header(heap, block, size, RT_STATE_LIVE),
                          memory_order_relaxed);
    heap->allocated_bytes += size;
    size_t live = heap->allocated_bytes -
                  atomic_load_explicit(&heap->freed_bytes, memory_order_relaxed);
    if (live > heap->peak_live_bytes)
        heap->peak_live_bytes = live;
    return (void *)(block + RT_HEADER_BYTES);
}

/* rt_malloc's body, for the other calls too: inlined, so that each exported
 * function's instructions are its own (the callgrind bound test measures
 * every call of rt_malloc, rt_free and rt_aligned_alloc separately). */
static inline void *rt_allocate(struct rt_heap *heap, size_t size)
{
    if (RT_UNLIKELY(size > RT_MAX_REQUEST)) {
        rt_fail_no_memory();
        return NULL;
    }
    unsigned c = rt_class_of(size);
    uintptr_t block = rt_take(heap, c);
    if (RT_UNLIKELY(block == 0)) {
        rt_fail_no_memory();
        return NULL;
    }
    return rt_hand_out(heap, block, c);
}

RT_API void *rt_malloc(rt_heap_t *heap, size_t size)
{
    return rt_allocate(heap, size);
}

/* The block start and live header of `ptr`, or 0 with *problem set. The
 * reads stay inside the arena: ptr is checked against it first. */
static inline uintptr_t rt_find_block(const struct rt_heap *heap, const void *ptr,
                                      uint64_t *header, enum rt_problem *problem)
{
    uintptr_t p = (uintptr_t)ptr;
    *problem = RT_INVALID_POINTER;
    if (RT_UNLIKELY((p & 15) != 0 || p < heap->start + RT_HEADER_BYTES || p >= heap->end))
        return 0;
    uintptr_t block = p - RT_HEADER_BYTES;
    uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
    if ((word & RT_STATE_MASK) == RT_STATE_OFFSET) {
        /* An aligned pointer: the word says how far back its payload is. */
        uint64_t distance = (word & RT_SIZE_MASK) >> 4;
        if (RT_UNLIKELY(word != (rt_check_bits(heap, block, distance) | (distance << 4) |
                                 RT_STATE_OFFSET) ||
                        distance == 0 || (distance & 15) != 0 ||
                        distance > p - (heap->start + RT_HEADER_BYTES)))
            return 0;
        block -= distance;
        word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
    }
    size_t size = word & RT_SIZE_MASK;
    if (RT_UNLIKELY(!rt_is_class_size(size) || size > heap->end - block ||
                    (word & ~(uint64_t)RT_STATE_MASK) != (rt_header(heap, block, size, 0))))
        return 0;
    if (RT_UNLIKELY((word & RT_STATE_MASK) != RT_STATE_LIVE)) {
        if ((word & RT_STATE_MASK) == RT_STATE_FREE)
            *problem = RT_DOUBLE_FREE;
        return 0;
    }
    *header = word;
    return block;
}

static inline void rt_release(struct rt_heap *heap, void *ptr)
{
    if (ptr == NULL)
        return;
    uint64_t word;
    enum rt_problem problem;
    uintptr_t block = rt_find_block(heap, ptr, &word, &problem);
    if (RT_UNLIKELY(block == 0)) {
        rt_report(heap, ptr, problem);
        return;
    }
    /* Live -> free exactly once: a second free of the block, even racing on
     * another thread, fails here and changes nothing. */
    uint64_t freed = (word & ~(uint64_t)RT_STATE_MASK) | RT_STATE_FREE;
    if (RT_UNLIKELY(!atomic_compare_exchange_strong_explicit(
            rt_header_of(block), &word, freed, memory_order_relaxed, memory_order_relaxed))) {
        rt_report(heap, ptr, RT_DOUBLE_FREE);
        return;
    }
    size_t size = word & RT_SIZE_MASK;
    RT_ASSERT(rt_is_class_size(size) && (block & 15) == RT_HEADER_BYTES);
    _Atomic(void *) *inbox = &heap->inbox[rt_class_of(size - RT_HEADER_BYTES)];
    void **link = (void **)(block + RT_HEADER_BYTES);
    void *head = atomic_load_explicit(inbox, memory_order_relaxed);
    /* Release: the link and the header reach the owner with the block. Only
     * pushes race here (the owner takes the whole list), so no ABA. */
    do {
        *link = head;
    } while (!atomic_compare_exchange_weak_explicit(inbox, &head, (void *)block,
                                                    memory_order_release, memory_order_relaxed));
    atomic_fetch_add_explicit(&heap->freed_bytes, size, memory_order_relaxed);
}

RT_API void rt_free(rt_heap_t *heap, void *ptr)
{
    rt_release(heap, ptr);
}

RT_API void *rt_aligned_alloc(rt_heap_t *heap, size_t alignment, size_t size)
{
    if (RT_UNLIKELY(alignment == 0 || (alignment & (alignment - 1)) != 0)) {
        rt_fail_invalid();
        return NULL;
    }
    if (alignment <= 16)
        return rt_allocate(heap, size);
    if (RT_UNLIKELY(size > RT_MAX_REQUEST || alignment > RT_MAX_REQUEST)) {
        rt_fail_no_memory();
        return NULL;
    }
    /* The payload is 16-aligned, so the first `alignment` boundary in it is
     * at most alignment - 16 further on. */
    char *payload = rt_allocate(heap, size + alignment - 16);
    if (RT_UNLIKELY(payload == NULL))
        return NULL;
    uintptr_t p = (uintptr_t)payload;
    uintptr_t aligned = (p + alignment - 1) & ~(uintptr_t)(alignment - 1);
    if (aligned != p) {
        uintptr_t word_at = aligned - RT_HEADER_BYTES;
        uint64_t distance = aligned - p;
        atomic_store_explicit(rt_header_of(word_at),
                              rt_check_bits(heap, word_at, distance) | (distance << 4) |
                                  RT_STATE_OFFSET,
                              memory_order_relaxed);
    }
    return (void *)aligned;
}

RT_API size_t rt_usable_size(rt_heap_t *heap, void *ptr)
{
    if (ptr == NULL)
        return 0;
    uint64_t word;
    enum rt_problem problem;
    uintptr_t block = rt_find_block(heap, ptr, &word, &problem);
    if (block == 0)
        return 0;
    return block + (word & RT_SIZE_MASK) - (uintptr_t)ptr;
}

RT_API void *rt_realloc(rt_heap_t *heap, void *ptr, size_t size)
{
    if (ptr == NULL)
        return rt_allocate(heap, size);
    if (size == 0) {
        rt_release(heap, ptr);
        return NULL;
    }
    uint64_t word;
    enum rt_problem problem;
    uintptr_t block = rt_find_block(heap, ptr, &word, &problem);
    if (RT_UNLIKELY(block == 0)) {
        rt_report(heap, ptr, problem);
        rt_fail_invalid();
        return NULL;
    }
    if (RT_UNLIKELY(size > RT_MAX_REQUEST)) {
        rt_fail_no_memory();
        return NULL;
    }
    size_t block_size = word & RT_SIZE_MASK;
    /* In place when the size keeps the class (and the pointer is the
     * block's own payload): the block is exactly what rt_malloc would give. */
    if ((uintptr_t)ptr == block + RT_HEADER_BYTES && rt_class_size(rt_class_of(size)) == block_size)
        return ptr;
    void *moved = rt_allocate(heap, size);
    if (moved == NULL)
        return NULL;
    size_t usable = block + block_size - (uintptr_t)ptr;
    mm_copy(moved, ptr, usable < size ? usable : size);
    rt_release(heap, ptr);
    return moved;
}
