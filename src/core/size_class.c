/*
 * size_class.c: slab geometry (see size_class.h). Slow path only.
 */
#include "core/size_class.h"

size_t mm_slab_pages(unsigned c, uint32_t held)
{
    size_t size = mm_class_size(c);
    size_t base = 1;
    while ((base * MM_PAGE_SIZE) % size * 8 > base * MM_PAGE_SIZE)
        base++;
    size_t pages = base << (held < 4 ? held : 4);
    size_t limit = base > MM_SLAB_MAX_PAGES ? base : MM_SLAB_MAX_PAGES;
    return pages < limit ? pages : limit;
}
