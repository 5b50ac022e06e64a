/*
 * heap.c: the real-time heap's calls (include/mymalloc/rt.h): init, malloc,
 * free, aligned_alloc, realloc, usable_size. Layout and invariants are in
 * rt_internal.h; docs/REALTIME.md has the proof of the sizing rule and the
 * instruction count of every path.
 *
 * Constant time: rt_malloc either lists one block left pending by a
 * contended rt_free, or takes a block from the good-fit region (a
 * find-first-set on each of two words, a split); if it did the first, or
 * the second failed, or the region's lock is held, it takes its class's
 * first free reserve block from the owner's list, else the whole inbox in
 * one exchange, else a block carved from the reserve's top.
 * rt_free checks the header, marks the block PENDING with a
 * compare-and-swap, and then merges a good-fit block with its free
 * neighbours (if it gets the lock at once; else it pushes it onto
 * fit_inbox) or pushes a reserve block onto its class's inbox. The only
 * loops are compare-and-swap retries, which repeat only when another thread
 * changes the same word in between.
 *
 * Threads: the owner alone reads and writes the fields above fit_map.
 * The good-fit lists are the fit_lock holder's (the owner in rt_malloc, or
 * any thread in rt_free). rt_free, on any thread, writes the block's header
 * (compare-and-swap, so that two frees of one block cannot both succeed),
 * the inboxes and freed_bytes.
 */
#include "rt/rt_internal.h"

static void rt_report(struct rt_heap *heap, void *ptr, enum rt_problem problem)
{
    if (heap->on_error != NULL)
        heap->on_error(heap, ptr, problem);
}

/* ------------------------------------------------ the good-fit region */

static inline void rt_fit_insert(struct rt_heap *heap, uintptr_t block, size_t size)
{
    unsigned list = rt_fit_index(size);
    uintptr_t *head = &heap->fit_heads[list];
    struct rt_fit_links *links = rt_links(block);
    links->next = *head;
    links->pprev = head;
    if (*head != 0)
        rt_links(*head)->pprev = &links->next;
    *head = block;
    heap->fit_map[list / 64] |= (uint64_t)1 << (list % 64);
}

/* Takes a block off its list: constant work without recomputing the list,
 * which is needed only when the block was its list's last (pprev is then
 * the list's head). */
static inline void rt_fit_unlink(struct rt_heap *heap, uintptr_t block)
{
    struct rt_fit_links *links = rt_links(block);
    uintptr_t next = links->next, *pprev = links->pprev;
    RT_ASSERT(*pprev == block && (next == 0 || rt_links(next)->pprev == &links->next));
    *pprev = next;
    if (next != 0) {
        rt_links(next)->pprev = pprev;
    } else {
        size_t list = (size_t)(pprev - heap->fit_heads);
        if (list < RT_FIT_LISTS)
            heap->fit_map[list / 64] &= ~((uint64_t)1 << (list % 64));
    }
}

/* Writes a FREE block (header, size in its last word) and lists it. The
 * block after it has RT_PREV_FREE set already, or the caller sets it. */
static inline void rt_fit_make_free(struct rt_heap *heap, uintptr_t block, size_t size,
                                    uint64_t prev_free)
{
    atomic_store_explicit(rt_header_of(block), size | RT_STATE_FREE | prev_free,
                          memory_order_relaxed);
    *(uint64_t *)(block + size - 8) = size;
    rt_fit_insert(heap, block, size);
}

/* A PENDING block becomes FREE, merged with its free neighbours. Lock held.
 * The neighbours' headers are read atomically: an rt_free on another thread
 * may be turning one from LIVE to PENDING, which is not FREE either way. */
RT_INLINE void rt_fit_release(struct rt_heap *heap, uintptr_t block)
{
    uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
    size_t size = word & RT_SIZE_MASK;
    uint64_t prev_free = word & RT_PREV_FREE;
    uintptr_t next = block + size;
    RT_ASSERT(rt_state(word) == RT_STATE_PENDING && next <= heap->fit_end);
    uint64_t next_word = atomic_load_explicit(rt_header_of(next), memory_order_relaxed);
    if (rt_state(next_word) == RT_STATE_FREE) {
        rt_fit_unlink(heap, next);
        size += next_word & RT_SIZE_MASK; /* the block after `next` has RT_PREV_FREE */
    } else {
        atomic_fetch_or_explicit(rt_header_of(next), RT_PREV_FREE, memory_order_relaxed);
    }
    if (prev_free) {
        size_t prev_size = *(uint64_t *)(block - 8);
        block -= prev_size;
        rt_fit_unlink(heap, block);
        size += prev_size;
        prev_free = atomic_load_explicit(rt_header_of(block), memory_order_relaxed) &
                    RT_PREV_FREE;
    }
    rt_fit_make_free(heap, block, size, prev_free);
}

/* A LIVE good-fit block of `need` bytes or a little more (its size in
 * *size), or 0. Lock held. */
RT_INLINE uintptr_t rt_fit_take(struct rt_heap *heap, size_t need, size_t *size)
{
    /* Round up to the next list's start: every block from there on fits
     * (on the last list, only blocks of its own smallest size and more). */
    size_t rounded =
        need + ((size_t)1 << (63 - __builtin_clzll(need) - RT_FIT_STEPS_LOG2)) - 1;
    unsigned list = rt_fit_index(rounded);
    uint64_t low = list < 64 ? heap->fit_map[0] & (~(uint64_t)0 << list) : 0;
    if (low != 0) {
        list = (unsigned)__builtin_ctzll(low);
    } else {
        uint64_t high = heap->fit_map[1] & (~(uint64_t)0 << (list < 64 ? 0 : list - 64));
        if (high == 0)
            return 0;
        list = 64 + (unsigned)__builtin_ctzll(high);
    }
    uintptr_t block = heap->fit_heads[list];
    uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
    size_t have = word & RT_SIZE_MASK;
    RT_ASSERT(rt_state(word) == RT_STATE_FREE && (block & 15) == RT_HEADER_BYTES &&
              block + have <= heap->fit_end && *(uint64_t *)(block + have - 8) == have);
    if (RT_UNLIKELY(have < need))
        return 0;
    rt_fit_unlink(heap, block);
    if (have - need >= RT_FIT_MIN_BLOCK) {
        /* The rest stays free; the block after it keeps RT_PREV_FREE. */
        rt_fit_make_free(heap, block + need, have - need, 0);
        have = need;
    } else {
        atomic_fetch_and_explicit(rt_header_of(block + have), ~(uint64_t)RT_PREV_FREE,
                                  memory_order_relaxed);
    }
    /* RT_PREV_FREE left clear even if an unmerged free block precedes: the
     * bit may be missing, never wrong (it only lets a merge happen). */
    atomic_store_explicit(rt_header_of(block), rt_header(heap, block, have, RT_STATE_LIVE),
                          memory_order_relaxed);
    *size = have;
    return block;
}

/* Acquire: the previous holder's lists are visible. */
static inline bool rt_fit_try_lock(struct rt_heap *heap)
{
    return !atomic_exchange_explicit(&heap->fit_lock, true, memory_order_acquire);
}

static inline void rt_fit_unlock(struct rt_heap *heap)
{
    atomic_store_explicit(&heap->fit_lock, false, memory_order_release);
}

/* Lists one block left pending by a contended rt_free, if any, and says
 * whether it did. Owner, lock held. One per call, without merging it with
 * free neighbours (a later free next to it merges), keeps the call's work
 * constant and short. The owner alone pops (so no ABA: the first block
 * cannot leave the list while it reads its link); the compare-and-swap is
 * retried only when a push lands in between. Acquire: the pusher's link
 * and header are visible. */
static inline bool rt_fit_take_in_one(struct rt_heap *heap)
{
    void *block = atomic_load_explicit(&heap->fit_inbox, memory_order_acquire);
    if (RT_LIKELY(block == NULL))
        return false;
    while (!atomic_compare_exchange_weak_explicit(
        &heap->fit_inbox, &block, *(void **)((uintptr_t)block + RT_HEADER_BYTES),
        memory_order_acquire, memory_order_acquire))
        ;
    uintptr_t b = (uintptr_t)block;
    uint64_t word = atomic_load_explicit(rt_header_of(b), memory_order_relaxed);
    size_t size = word & RT_SIZE_MASK;
    atomic_fetch_or_explicit(rt_header_of(b + size), RT_PREV_FREE, memory_order_relaxed);
    rt_fit_make_free(heap, b, size, word & RT_PREV_FREE);
    return true;
}

/* ------------------------------------------------------- the reserve */

/* A free reserve block of class c, or 0: the owner's list, else the inbox
 * taken whole, else a block carved from the top. */
static inline uintptr_t rt_reserve_take(struct rt_heap *heap, unsigned c)
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

/* A LIVE reserve block for a request of `size` bytes (its size in
 * *block_size), or 0. */
static inline uintptr_t rt_reserve_take_live(struct rt_heap *heap, size_t size,
                                             size_t *block_size)
{
    unsigned c = rt_class_of(size);
    uintptr_t block = rt_reserve_take(heap, c);
    *block_size = rt_class_size(c);
    if (block != 0)
        atomic_store_explicit(rt_header_of(block),
                              rt_header(heap, block, *block_size, RT_STATE_LIVE),
                              memory_order_relaxed);
    return block;
}

/* ------------------------------------------------------------ calls */

/* Heaps made so far: each heap's check bits get a salt of their own, so
 * that a pointer kept from an earlier heap on the same memory fails the
 * check (but for the 2^-16 chance) instead of passing as live. */
static _Atomic uint64_t rt_heaps_made;

static uint64_t rt_new_salt(uintptr_t heap_at)
{
    uint64_t made = atomic_fetch_add_explicit(&rt_heaps_made, 1, memory_order_relaxed);
    return (((uint64_t)heap_at ^ (made * 0xc2b2ae3d27d4eb4fu)) * 0x9e3779b97f4a7c15u) | 1u;
}

RT_API rt_heap_t *rt_heap_init(void *memory, size_t bytes)
{
    uintptr_t base = (uintptr_t)memory;
    uintptr_t limit = base + bytes;
    uintptr_t heap_at = (base + 63) & ~(uintptr_t)63;
    uintptr_t start = ((heap_at + sizeof(struct rt_heap) + 15) & ~(uintptr_t)15) + RT_HEADER_BYTES;
    /* Room for the boundary word and one reserve block at least. */
    if (memory == NULL || limit < base || start > limit || limit - start < 32)
        return NULL;
    struct rt_heap *heap = (struct rt_heap *)heap_at;
    mm_zero(heap, sizeof(*heap));
    heap->salt = rt_new_salt(heap_at);
    /* At most a sixteenth (the sizing rule counts on it), at most what a
     * header's size field holds, and none if under one block. */
    size_t fit_bytes = ((limit - start) >> RT_FIT_SHARE_LOG2) & ~(size_t)15;
    if (fit_bytes > RT_MAX_REQUEST)
        fit_bytes = RT_MAX_REQUEST;
    if (fit_bytes < RT_FIT_MIN_BLOCK)
        fit_bytes = 0;
    heap->start = start;
    heap->fit_end = start + fit_bytes;
    heap->reserve_start = heap->top = heap->fit_end + 16;
    heap->end = limit;
    atomic_store_explicit(rt_header_of(heap->fit_end),
                          rt_header(heap, heap->fit_end, 16, RT_STATE_BOUNDARY),
                          memory_order_relaxed);
    if (fit_bytes != 0) {
        atomic_fetch_or_explicit(rt_header_of(heap->fit_end), RT_PREV_FREE, memory_order_relaxed);
        rt_fit_make_free(heap, start, fit_bytes, 0);
    }
    return heap;
}

RT_API void rt_set_error_handler(rt_heap_t *heap, rt_error_handler_t handler)
{
    heap->on_error = handler;
}

static inline void *rt_hand_out(struct rt_heap *heap, uintptr_t block, size_t size)
{
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
RT_INLINE void *rt_allocate(struct rt_heap *heap, size_t size)
{
    if (RT_UNLIKELY(size > RT_MAX_REQUEST)) {
        rt_fail_no_memory();
        return NULL;
    }
    uintptr_t block = 0;
    size_t block_size;
    if (RT_LIKELY(rt_fit_try_lock(heap))) {
        /* A call that lists a pending block takes its own from the reserve:
         * both on one call would exceed its instruction bound. */
        if (!rt_fit_take_in_one(heap))
            block = rt_fit_take(heap, rt_fit_need(size), &block_size);
        rt_fit_unlock(heap);
    }
    if (block == 0) {
        block = rt_reserve_take_live(heap, size, &block_size);
        if (RT_UNLIKELY(block == 0)) {
            rt_fail_no_memory();
            return NULL;
        }
    }
    return rt_hand_out(heap, block, block_size);
}

RT_API void *rt_malloc(rt_heap_t *heap, size_t size)
{
    return rt_allocate(heap, size);
}

/* The block start and live header of `ptr`, or 0 with *problem set. The
 * reads stay inside the heap: ptr is checked against it first. */
RT_INLINE uintptr_t rt_find_block(const struct rt_heap *heap, const void *ptr,
                                      uint64_t *header, enum rt_problem *problem)
{
    uintptr_t p = (uintptr_t)ptr;
    *problem = RT_INVALID_POINTER;
    if (RT_UNLIKELY((p & 15) != 0 || p < heap->start + RT_HEADER_BYTES || p >= heap->end))
        return 0;
    uintptr_t block = p - RT_HEADER_BYTES;
    uint64_t word = atomic_load_explicit(rt_header_of(block), memory_order_relaxed);
    if (rt_state(word) == RT_STATE_OFFSET) {
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
    if (RT_UNLIKELY(!rt_size_fits_region(heap, block, size)))
        return 0;
    if (RT_UNLIKELY(rt_state(word) != RT_STATE_LIVE ||
                    (word & RT_CHECK_MASK) != rt_check_bits(heap, block, size))) {
        /* A FREE good-fit header has no check bits. */
        if (rt_state(word) == RT_STATE_FREE ||
            (rt_state(word) == RT_STATE_PENDING &&
             (word & RT_CHECK_MASK) == rt_check_bits(heap, block, size)))
            *problem = RT_DOUBLE_FREE;
        return 0;
    }
    *header = word;
    return block;
}

/* Live -> `state` (PENDING, or FREE for a reserve block) exactly once: a
 * second free of the block, even racing on another thread, fails here and
 * changes nothing. The compare-and-swap is retried only when the fit_lock
 * holder changed RT_PREV_FREE in between. */
static inline bool rt_mark_freed(uintptr_t block, uint64_t word, unsigned state)
{
    const uint64_t judged = word;
    for (;;) {
        uint64_t freed = (word & ~(uint64_t)RT_STATE_MASK) | state;
        if (atomic_compare_exchange_strong_explicit(rt_header_of(block), &word, freed,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed))
            return true;
        /* Anything but that bit changed: the block was freed (and maybe
         * handed out again, with another header) since it was judged. */
        if (((word ^ judged) & ~(uint64_t)RT_PREV_FREE) != 0)
            return false;
    }
}

/* Release: the link and the header reach the taker with the block. A push
 * needs no ABA care (its link is the very head it swaps out); the owner
 * takes a reserve inbox whole and pops fit_inbox alone. */
static inline void rt_push(_Atomic(void *) *list, uintptr_t block)
{
    void **link = (void **)(block + RT_HEADER_BYTES);
    void *head = atomic_load_explicit(list, memory_order_relaxed);
    do {
        *link = head;
    } while (!atomic_compare_exchange_weak_explicit(list, &head, (void *)block,
                                                    memory_order_release, memory_order_relaxed));
}

RT_INLINE void rt_release(struct rt_heap *heap, void *ptr)
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
    bool in_fit = block < heap->fit_end;
    if (RT_UNLIKELY(!rt_mark_freed(block, word, in_fit ? RT_STATE_PENDING : RT_STATE_FREE))) {
        rt_report(heap, ptr, RT_DOUBLE_FREE);
        return;
    }
    size_t size = word & RT_SIZE_MASK;
    atomic_fetch_add_explicit(&heap->freed_bytes, size, memory_order_relaxed);
    if (in_fit) {
        if (RT_LIKELY(rt_fit_try_lock(heap))) {
            rt_fit_release(heap, block);
            rt_fit_unlock(heap);
        } else {
            rt_push(&heap->fit_inbox, block);
        }
    } else {
        rt_push(&heap->inbox[rt_class_of(size - RT_HEADER_BYTES)], block);
    }
}

RT_API void rt_free(rt_heap_t *heap, void *ptr)
{
    rt_release(heap, ptr);
}

/* Above 16, a reserve block of size + alignment - 16 bytes: its first
 * `alignment` boundary holds the pointer (the good-fit region's longer
 * path would take this call over its instruction bound). */
RT_API void *rt_aligned_alloc(rt_heap_t *heap, size_t alignment, size_t size)
{
    /* 1 .. 16, a power of two: every block is aligned so (0 wraps round). */
    if ((alignment - 1) < 16 && (alignment & (alignment - 1)) == 0)
        return rt_allocate(heap, size);
    if (RT_UNLIKELY(alignment == 0 || (alignment & (alignment - 1)) != 0)) {
        rt_fail_invalid();
        return NULL;
    }
    if (RT_UNLIKELY(size > RT_MAX_REQUEST || alignment > RT_MAX_REQUEST)) {
        rt_fail_no_memory();
        return NULL;
    }
    size_t block_size;
    uintptr_t block = rt_reserve_take_live(heap, size + alignment - 16, &block_size);
    if (RT_UNLIKELY(block == 0)) {
        rt_fail_no_memory();
        return NULL;
    }
    uintptr_t p = (uintptr_t)rt_hand_out(heap, block, block_size);
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

/* True when a block of `block_size` at `block` may keep serving `size`:
 * a reserve block only within its class (the sizing proof counts every
 * reserve block of class c as holding at least its smallest request), a
 * good-fit block when the size needs no more and at least half of it. */
static inline bool rt_fits_in_place(const struct rt_heap *heap, uintptr_t block,
                                    size_t block_size, size_t size)
{
    if (block >= heap->fit_end)
        return rt_class_size(rt_class_of(size)) == block_size;
    size_t need = rt_fit_need(size);
    return need <= block_size && 2 * need >= block_size;
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
    if ((uintptr_t)ptr == block + RT_HEADER_BYTES &&
        rt_fits_in_place(heap, block, block_size, size))
        return ptr;
    void *moved = rt_allocate(heap, size);
    if (moved == NULL)
        return NULL;
    size_t usable = block + block_size - (uintptr_t)ptr;
    mm_copy(moved, ptr, usable < size ? usable : size);
    rt_release(heap, ptr);
    return moved;
}
