/*
 * size_class.c: the class table of small requests, and slab geometry (see
 * size_class.h). The table is constant data; the rest is slow path only.
 */
#include "core/size_class.h"

/* The class of a request of `s` bytes, s <= MM_SMALL_MAX, as a constant
 * expression: up to 128, (s - 1) / 16; above, with L the logarithm of s - 1
 * (7 to 14, spelled out), 8 + 4 (L - 7) plus the two bits of s - 1 below
 * its top bit (four classes per doubling). */
#define MM_TABLE_LOG2(x)                                                                       \
    ((x) >= 16384 ? 14 : (x) >= 8192 ? 13 : (x) >= 4096 ? 12 : (x) >= 2048 ? 11               \
     : (x) >= 1024 ? 10 : (x) >= 512 ? 9 : (x) >= 256 ? 8 : 7)
#define MM_TABLE_CLASS(s)                                                                      \
    ((uint8_t)((s) <= 16    ? 0                                                                \
               : (s) <= 128 ? ((s) - 1) >> 4                                                   \
                            : 8 + 4 * (MM_TABLE_LOG2((s) - 1) - 7) +                           \
                                  ((((s) - 1) >> (MM_TABLE_LOG2((s) - 1) - 2)) & 3)))

/* Entry i: the class of a request of 16 i bytes, which is also the class of
 * every request of 16 (i - 1) + 1 .. 16 i bytes (every class size is a
 * multiple of 16). Entries 16 i to 16 i + 15 at a time, 2048 of them, and
 * the last (32 KiB). */
#define MM_TABLE_ENTRY(i, k) MM_TABLE_CLASS((size_t)16 * (16 * (size_t)(i) + (k)))
#define MM_TABLE_16(i)                                                                         \
    MM_TABLE_ENTRY(i, 0), MM_TABLE_ENTRY(i, 1), MM_TABLE_ENTRY(i, 2), MM_TABLE_ENTRY(i, 3),     \
    MM_TABLE_ENTRY(i, 4), MM_TABLE_ENTRY(i, 5), MM_TABLE_ENTRY(i, 6), MM_TABLE_ENTRY(i, 7),     \
    MM_TABLE_ENTRY(i, 8), MM_TABLE_ENTRY(i, 9), MM_TABLE_ENTRY(i, 10), MM_TABLE_ENTRY(i, 11),   \
    MM_TABLE_ENTRY(i, 12), MM_TABLE_ENTRY(i, 13), MM_TABLE_ENTRY(i, 14), MM_TABLE_ENTRY(i, 15)
#define MM_TABLE_256(i)                                                                        \
    MM_TABLE_16(16 * (i) + 0), MM_TABLE_16(16 * (i) + 1), MM_TABLE_16(16 * (i) + 2),              \
    MM_TABLE_16(16 * (i) + 3), MM_TABLE_16(16 * (i) + 4), MM_TABLE_16(16 * (i) + 5),              \
    MM_TABLE_16(16 * (i) + 6), MM_TABLE_16(16 * (i) + 7), MM_TABLE_16(16 * (i) + 8),              \
    MM_TABLE_16(16 * (i) + 9), MM_TABLE_16(16 * (i) + 10), MM_TABLE_16(16 * (i) + 11),            \
    MM_TABLE_16(16 * (i) + 12), MM_TABLE_16(16 * (i) + 13), MM_TABLE_16(16 * (i) + 14),           \
    MM_TABLE_16(16 * (i) + 15)

_Static_assert(MM_SMALL_MAX == (size_t)2048 * 16, "the table below has an entry per 16 bytes");
const uint8_t mm_class_table[MM_SMALL_MAX / 16 + 1] = {
    MM_TABLE_256(0), MM_TABLE_256(1), MM_TABLE_256(2), MM_TABLE_256(3),
    MM_TABLE_256(4), MM_TABLE_256(5), MM_TABLE_256(6), MM_TABLE_256(7),
    MM_TABLE_CLASS(MM_SMALL_MAX)};

/* The base page counts, without and with retention, by class, found on
 * first use; 0: not yet. Relaxed: threads that race store the same value. */
static _Atomic uint8_t base_pages_found[2][MM_CLASS_COUNT];

size_t mm_slab_pages(unsigned c, uint32_t held, bool retained)
{
    MM_ASSERT(c < MM_CLASS_COUNT);
    size_t size = mm_class_size(c);
    size_t min_blocks = retained ? 2 : 1;
    _Atomic uint8_t *found = &base_pages_found[retained][c];
    size_t base = atomic_load_explicit(found, memory_order_relaxed);
    if (MM_UNLIKELY(base == 0)) {
        base = 1;
        while ((base * MM_PAGE_SIZE) % size * 8 > base * MM_PAGE_SIZE ||
               (base * MM_PAGE_SIZE / size < min_blocks && base < MM_SLAB_MAX_PAGES))
            base++;
        atomic_store_explicit(found, (uint8_t)base, memory_order_relaxed);
    }
    /* Doubling keeps the tail's share of the slab. */
    uint32_t doublings = size <= MM_PAGE_SIZE ? 4 : retained ? 1 : 0;
    size_t pages = base;
    for (uint32_t i = 0; i < held && i < doublings && 2 * pages <= MM_SLAB_MAX_PAGES; i++)
        pages *= 2;
    return pages;
}
