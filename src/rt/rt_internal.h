/*
 * rt_internal.h: the real-time heap's layout, shared by heap.c (the calls)
 * and check.c (the walk, the statistics, the sizing rule). The same sources
 * build into the libraries (MM_PLATFORM_HOSTED: exported with MM_API, errno
 * through mm_prim_error) and into the freestanding drop-in (MM_RT_STANDALONE,
 * defined by tools/amalgamate.sh: no platform primitive at all).
 *
 * Layout of the memory given to rt_heap_init: struct rt_heap at the first
 * 64-byte boundary, then the blocks in two regions:
 *   - the good-fit region [start, fit_end): a sixteenth of the capacity,
 *     blocks of exact size (the request and an 8-byte header rounded up to
 *     16, at least 32), split and merged TLSF-style: free blocks on lists
 *     indexed by (log2 of the size, 32 steps below it), two bitmaps find
 *     the first list whose every block fits. It serves first. Its lists are
 *     guarded by `fit_lock`, a try-lock: whoever cannot take it at once
 *     does not wait (rt_malloc goes to the reserve, rt_free leaves the
 *     block in `fit_inbox`). A boundary word at fit_end closes the region.
 *   - the reserve [fit_end + 16, end): blocks of 16 * 2^c bytes carved once
 *     from its top (`top`, the wilderness) and never split or merged; free
 *     ones on per-class lists (the owner's `private_list` and the lock-free
 *     `inbox` that rt_free pushes onto). It serves what the good-fit region
 *     cannot, and it alone carries the sizing proof (docs/REALTIME.md).
 * Every block starts at an address = 8 (mod 16) with its 8-byte header;
 * the payload (16-byte aligned) follows the header.
 *
 * Invariants:
 *   - start <= fit_end < reserve_start <= top <= end, all = 8 (mod 16);
 *     [start, fit_end) and [reserve_start, top) are tiled by blocks with
 *     valid headers (rt_header); fit_end holds the boundary word;
 *   - a good-fit block is LIVE, FREE (on exactly one fit list, its size in
 *     its last word too) or PENDING (freed, on fit_inbox, not yet
 *     listed); its header's RT_PREV_FREE bit is set only when the block
 *     before it is FREE, and always then but for the two exceptions of
 *     blocks listed from fit_inbox (rt_fit_take_in_one) unmerged: two FREE
 *     blocks may then lie side by side, and a block taken from the lists
 *     after a FREE one has the bit clear;
 *   - a reserve block is LIVE or FREE (on exactly one of private_list[c]
 *     or inbox[c], c its class), linked through its payload's first word;
 *   - every header's check bits match its address and size (rt_check_bits).
 */
#ifndef MM_RT_INTERNAL_H
#define MM_RT_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/memops.h"

#if defined(MM_RT_STANDALONE)
#define RT_API
#define RT_LIKELY(x) __builtin_expect(!!(x), 1)
#define RT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#if defined(MM_DEBUG)
#define RT_ASSERT(condition) (RT_LIKELY(condition) ? (void)0 : __builtin_trap())
#else
#define RT_ASSERT(condition) ((void)0)
#endif
/* No errno in the drop-in: the NULL is the whole report. */
#define rt_fail_no_memory() ((void)0)
#define rt_fail_invalid() ((void)0)
#else
#include "mymalloc/rt.h"
#include "platform/platform.h"
#define RT_API MM_API
#define RT_LIKELY(x) MM_LIKELY(x)
#define RT_UNLIKELY(x) MM_UNLIKELY(x)
#define RT_ASSERT(condition) MM_ASSERT(condition)
#define rt_fail_no_memory() mm_prim_error(MM_ERROR_NO_MEMORY)
#define rt_fail_invalid() mm_prim_error(MM_ERROR_INVALID)
#endif

/* For the calls' bodies, so that each exported call is one function with
 * no inner call (fewer instructions per call, and callgrind's per-call
 * count covers exactly it). */
#define RT_INLINE static inline __attribute__((always_inline))

/* The largest request: sizes fit the header's size field with room. */
#define RT_MAX_REQUEST ((size_t)1 << 46)
#define RT_HEADER_BYTES 8u
/* Reserve classes: blocks of 16 << c bytes, up to one holding RT_MAX_REQUEST. */
#define RT_CLASSES 44u
/* Good-fit lists: 8 per octave (RT_FIT_STEPS_LOG2) for the octaves 2^5 ..
 * 2^20, 128 lists under two 64-bit maps; blocks of 2 MiB and more go on the
 * last list too (there only its first block is tried). */
#define RT_FIT_STEPS_LOG2 3u
#define RT_FIT_MIN_LOG2 5u
#define RT_FIT_MAX_LOG2 20u
#define RT_FIT_LISTS 128u
#define RT_FIT_MIN_BLOCK 32u /* header, two links, the size again at the end */
/* The good-fit region's share of the capacity: 1 / 2^RT_FIT_SHARE_LOG2. */
#define RT_FIT_SHARE_LOG2 4u

/* Header word: the block size (a multiple of 16) | RT_PREV_FREE | its state
 * in the low 3 bits | 16 check bits in the top 16 (none in a FREE good-fit
 * block's header: its size is checked against its last word instead, and
 * no FREE header is ever taken for a LIVE one). An aligned block
 * (rt_aligned_alloc) has a second word just before the pointer handed out:
 * the distance back to the payload, shifted left 4, | RT_STATE_OFFSET |
 * check bits. */
#define RT_STATE_MASK 0x7u
#define RT_STATE_LIVE 0x5u
#define RT_STATE_FREE 0x2u
#define RT_STATE_PENDING 0x6u
#define RT_STATE_OFFSET 0x3u
#define RT_STATE_BOUNDARY 0x7u
#define RT_PREV_FREE 0x8u
#define RT_SIZE_MASK ((((uint64_t)1 << 48) - 1) & ~(uint64_t)15)
#define RT_CHECK_MASK (~(((uint64_t)1 << 48) - 1))

struct rt_heap {
    /* Written by the owner only. */
    uintptr_t start, fit_end, reserve_start, top, end;
    uint64_t salt; /* odd multiplier of the check bits: the heap's address and its number */
    size_t allocated_bytes; /* block bytes handed out, ever */
    size_t peak_live_bytes;
    rt_error_handler_t on_error;
    void *private_list[RT_CLASSES];
    /* Written only by the holder of fit_lock (the owner in rt_malloc, any
     * thread in rt_free). */
    uint64_t fit_map[RT_FIT_LISTS / 64]; /* bit i: list i is non-empty */
    uintptr_t fit_heads[RT_FIT_LISTS];
    /* Written by rt_free on any thread; on their own cache lines. */
    _Alignas(64) atomic_bool fit_lock;
    _Alignas(64) _Atomic(void *) fit_inbox;
    _Atomic(void *) inbox[RT_CLASSES];
    _Alignas(64) _Atomic size_t freed_bytes; /* block bytes given back, ever */
};

/* ---- reserve classes */

/* The class of a reserve block able to hold `size` bytes (size <=
 * RT_MAX_REQUEST): header and size rounded up to the next power of two. */
static inline unsigned rt_class_of(size_t size)
{
    size_t x = (size + RT_HEADER_BYTES - 1) | 15;
    return 60u - (unsigned)__builtin_clzll(x);
}

static inline size_t rt_class_size(unsigned c)
{
    return (size_t)16 << c;
}

/* The smallest request that lands in class c (the sizing rule's divisor). */
static inline size_t rt_class_min_request(unsigned c)
{
    return c == 0 ? 1 : rt_class_size(c - 1) - RT_HEADER_BYTES + 1;
}

static inline bool rt_is_class_size(size_t size)
{
    return size >= 16 && size <= rt_class_size(RT_CLASSES - 1) && (size & (size - 1)) == 0;
}

/* ---- good-fit lists */

/* The block size for a request in the good-fit region. */
static inline size_t rt_fit_need(size_t size)
{
    size_t at_least = size < RT_FIT_MIN_BLOCK - RT_HEADER_BYTES ? RT_FIT_MIN_BLOCK - RT_HEADER_BYTES
                                                                : size;
    return (at_least + RT_HEADER_BYTES + 15) & ~(size_t)15;
}

/* The list of a free block of `size` (>= 32) bytes: 8 per octave from
 * 2^RT_FIT_MIN_LOG2 (size >> (f - 3) is 8 .. 15 in octave f), the last
 * list for every size from its own smallest on. */
static inline unsigned rt_fit_index(size_t size)
{
    unsigned f = 63u - (unsigned)__builtin_clzll(size);
    unsigned list = (f << RT_FIT_STEPS_LOG2) + (unsigned)(size >> (f - RT_FIT_STEPS_LOG2)) -
                    ((RT_FIT_MIN_LOG2 + 1) << RT_FIT_STEPS_LOG2);
    return list < RT_FIT_LISTS - 1 ? list : RT_FIT_LISTS - 1;
}

/* The smallest size of list i. */
static inline size_t rt_fit_list_min(unsigned i)
{
    unsigned f = (i >> RT_FIT_STEPS_LOG2) + RT_FIT_MIN_LOG2;
    size_t steps = ((size_t)1 << RT_FIT_STEPS_LOG2) + (i & ((1u << RT_FIT_STEPS_LOG2) - 1));
    return steps << (f - RT_FIT_STEPS_LOG2);
}

/* A free good-fit block's links, in its payload: the next block of its list
 * and the word that points to this one (the list's head or the previous
 * block's `next`). */
struct rt_fit_links {
    uintptr_t next, *pprev;
};

static inline struct rt_fit_links *rt_links(uintptr_t block)
{
    return (struct rt_fit_links *)(block + RT_HEADER_BYTES);
}

/* ---- headers */

static inline uint64_t rt_check_bits(const struct rt_heap *heap, uintptr_t where, uint64_t value)
{
    return (((uint64_t)where ^ value) * heap->salt) & RT_CHECK_MASK;
}

static inline uint64_t rt_header(const struct rt_heap *heap, uintptr_t block, size_t size,
                                 unsigned state)
{
    return rt_check_bits(heap, block, size) | size | state;
}

static inline _Atomic uint64_t *rt_header_of(uintptr_t block)
{
    return (_Atomic uint64_t *)block;
}

static inline unsigned rt_state(uint64_t word)
{
    return (unsigned)(word & RT_STATE_MASK);
}

/* True when `size` is a possible block size at `block` (in its region). */
static inline bool rt_size_fits_region(const struct rt_heap *heap, uintptr_t block, size_t size)
{
    if (block < heap->fit_end)
        return size >= RT_FIT_MIN_BLOCK && size <= heap->fit_end - block;
    return rt_is_class_size(size) && size <= heap->end - block;
}

#endif /* MM_RT_INTERNAL_H */
