/*
 * rt_internal.h: the real-time heap's layout, shared by heap.c (the calls)
 * and check.c (the walk, the statistics, the sizing rule). The same sources
 * build into the libraries (MM_PLATFORM_HOSTED: exported with MM_API, errno
 * through mm_prim_error) and into the freestanding drop-in (MM_RT_STANDALONE,
 * defined by tools/amalgamate.sh: no platform primitive at all).
 *
 * Layout of the memory given to rt_heap_init: struct rt_heap at the first
 * 64-byte boundary, then the arena [start, end) of blocks. Blocks are carved
 * from the arena's unused top (`top`, the wilderness) and never merged or
 * split: a block keeps its size class for the heap's life. A block of class c
 * is rt_class_size(c) bytes (a multiple of 16: 16, 32, 48, 64, 96, 128, 192,
 * ..., i.e. 2^e and 3 * 2^(e-1)), starts at an address = 8 (mod 16) with its
 * 8-byte header, and its payload (16-byte aligned) follows the header.
 *
 * Invariants:
 *   - start <= top <= end, start = top = 8 (mod 16); [start, top) is tiled by
 *     blocks, each with a valid header (rt_header);
 *   - a free block of class c is on exactly one of the lists private_list[c]
 *     (the owner's) or inbox[c] (where rt_free pushes), linked through the
 *     first word of its payload; a live block is on none;
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

/* The largest request: sizes fit the header's size field with room. */
#define RT_MAX_REQUEST ((size_t)1 << 46)
#define RT_HEADER_BYTES 8u
/* Classes 0 .. RT_CLASSES-1 (class 1 stays empty: no 24-byte blocks). */
#define RT_CLASSES 88u

/* Header word: the block size (a multiple of 16) | its state in the low 4
 * bits | 16 check bits in the top 16. An aligned block (rt_aligned_alloc)
 * has a second word just before the pointer handed out: the distance back
 * to the payload, shifted left 4, | RT_STATE_OFFSET | check bits. */
#define RT_STATE_MASK 0xfu
#define RT_STATE_LIVE 0x5u
#define RT_STATE_FREE 0xau
#define RT_STATE_OFFSET 0x3u
#define RT_SIZE_MASK ((((uint64_t)1 << 48) - 1) & ~(uint64_t)RT_STATE_MASK)

struct rt_heap {
    /* Written by the owner only. */
    uintptr_t start, top, end;
    uint64_t salt; /* odd multiplier of the check bits, from the heap's address */
    size_t allocated_bytes; /* block bytes handed out, ever */
    size_t peak_live_bytes;
    rt_error_handler_t on_error;
    void *private_list[RT_CLASSES];
    /* Written by rt_free on any thread; on their own cache lines. */
    _Alignas(64) _Atomic(void *) inbox[RT_CLASSES];
    _Alignas(64) _Atomic size_t freed_bytes; /* block bytes given back, ever */
};

/* The class of a block able to hold `size` bytes (size <= RT_MAX_REQUEST):
 * header and size rounded up to 16, then up to 2^e or 3 * 2^(e-1). */
static inline unsigned rt_class_of(size_t size)
{
    size_t x = ((size + RT_HEADER_BYTES + 15) & ~(size_t)15) - 1;
    unsigned e = 63u - (unsigned)__builtin_clzll(x);
    unsigned half = (unsigned)(x >> (e - 1)) & 1u;
    return 2 * e + half - 7;
}

static inline size_t rt_class_size(unsigned c)
{
    unsigned e = (c + 7) >> 1, half = (c + 7) & 1u;
    return (size_t)(3 + half) << (e - 1);
}

/* The smallest request that lands in class c (the sizing rule's divisor). */
static inline size_t rt_class_min_request(unsigned c)
{
    return c == 0 ? 1 : rt_class_size(c - (c == 2 ? 2 : 1)) - RT_HEADER_BYTES + 1;
}

static inline uint64_t rt_check_bits(const struct rt_heap *heap, uintptr_t where, uint64_t value)
{
    return (((uint64_t)where ^ value) * heap->salt) & ~RT_SIZE_MASK & ~(uint64_t)RT_STATE_MASK;
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

static inline bool rt_is_class_size(size_t size)
{
    return size >= 16 && size <= rt_class_size(RT_CLASSES - 1) &&
           rt_class_size(rt_class_of(size - RT_HEADER_BYTES)) == size;
}

#endif /* MM_RT_INTERNAL_H */
