/*
 * size_class.c: slab geometry (see size_class.h). Slow path only.
 */
#include "core/size_class.h"

size_t mm_slab_pages(unsigned c, uint32_t held, size_t min_blocks)
{
    size_t size = mm_class_size(c);
    size_t base = 1;
    while ((base * MM_PAGE_SIZE) % size * 8 > base * MM_PAGE_SIZE ||
           (base * MM_PAGE_SIZE / size < min_blocks && base < MM_SLAB_MAX_PAGES))
        base++;
    if (size > MM_PAGE_SIZE)
        return base;
    /* Doubling keeps the tail's share of the slab. */
    size_t pages = base;
    for (uint32_t i = 0; i < held && i < 4 && 2 * pages <= MM_SLAB_MAX_PAGES; i++)
        pages *= 2;
    return pages;
}
