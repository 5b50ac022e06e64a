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

/* Every request up to MM_SMALL_MAX bytes finds its class in a table of one
 * byte per 16 bytes of size (size_class.c, 2 KiB): three instructions and
 * no branch on the size, which random sizes would mispredict (every class
 * size is a multiple of 16). */
extern const uint8_t mm_class_table[MM_SMALL_MAX / 16 + 1];

/* The class of a request of `size` <= MM_SMALL_MAX bytes. */
static inline unsigned mm_size_class(size_t size)
{
    MM_ASSERT(size <= MM_SMALL_MAX);
    return mm_class_table[(size + 15) >> 4];
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
