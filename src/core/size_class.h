/*
 * size_class.h: the size classes of small blocks and the geometry of the
 * slabs that hold them.
 *
 * Classes 0..7 step by 16 from 16 to 128 (requests 0..16 take class 0), so
 * every block is 16-byte aligned (slabs are page-aligned and every class
 * size is a multiple of 16) and has room for the two words of a free block
 * (its link and its free mark, types.h). Above 128, each doubling is split
 * into four classes (160, 192, 224, 256, 320, ... 28672, 32768): 40 classes
 * in all.
 *
 * Worst internal waste, (class - request) / class:
 *   requests of 49 bytes and more: below 25% (49 -> 64 wastes 23.4%; above 128
 *   at most 19.4%, e.g. 129 -> 160);
 *   requests of 1..48 bytes: at most 15 bytes, the price of the 16-byte grid
 *   that the x86_64 ABI's alignment requires (17 -> 32 wastes 46.9%).
 * Slab tails waste at most 1/8 of the slab (mm_slab_pages).
 */
#ifndef MM_SIZE_CLASS_H
#define MM_SIZE_CLASS_H

#include "core/types.h"

/* The class of a request of `size` bytes, 129 .. MM_SMALL_MAX: four classes
 * per doubling. */
static inline unsigned mm_size_class_above_128(size_t size)
{
    size_t x = size - 1;
    unsigned log2 = 63u - (unsigned)__builtin_clzll((unsigned long long)x);
    return 8 + 4 * (log2 - 7) + (unsigned)((x >> (log2 - 2)) & 3);
}

/* Requests up to MM_CLASS_TABLE_MAX bytes find their class in a table of
 * one byte per 16 bytes of size (size_class.c): three instructions on the
 * fast path. Every class boundary up to there is a multiple of 16. */
#define MM_CLASS_TABLE_MAX ((size_t)1024)
extern const uint8_t mm_class_table[MM_CLASS_TABLE_MAX / 16 + 1];

/* The class of a request of `size` <= MM_CLASS_TABLE_MAX bytes. */
static inline unsigned mm_size_class_table(size_t size)
{
    return mm_class_table[(size + 15) >> 4];
}

/* The class of a request of `size` <= MM_SMALL_MAX bytes. */
static inline unsigned mm_size_class(size_t size)
{
    if (MM_LIKELY(size <= MM_CLASS_TABLE_MAX))
        return mm_size_class_table(size);
    return mm_size_class_above_128(size);
}

/* The block size of class `c`. */
static inline size_t mm_class_size(unsigned c)
{
    if (c < 8)
        return (size_t)(c + 1) * 16;
    unsigned group = (c - 8) / 4, step = (c - 8) % 4;
    return ((size_t)128 << group) + (size_t)(step + 1) * ((size_t)32 << group);
}

/* Pages of the next slab of class `c` for a heap that holds `held` slabs of
 * that class already: the smallest page count that holds a block, or two
 * when `retained` (mm_retention_enabled(): a slab of one is parked full and
 * taken back on every malloc and free of its class), as far as
 * MM_SLAB_MAX_PAGES allows, and whose tail wastes at most 1/8 (1 to 16
 * pages). Doubled for each slab held while it stays within
 * MM_SLAB_MAX_PAGES, so that a heap touching a class once pays little while
 * a busy class amortises its slow paths over larger slabs: at most four
 * times for blocks of up to a page; for bigger blocks, whose slabs hold 2
 * to 12 blocks and which random frees keep from emptying the longer the
 * more they hold, once when `retained`, else never (the M5 rule's
 * frugality; docs/DECISIONS.md). */
size_t mm_slab_pages(unsigned c, uint32_t held, bool retained);

#endif /* MM_SIZE_CLASS_H */
