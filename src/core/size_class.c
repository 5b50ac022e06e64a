/*
 * size_class.c: the class table of small requests, and slab geometry (see
 * size_class.h). The table is constant data; the rest is slow path only.
 */
#include "core/size_class.h"

/* The class of a request of `s` bytes, s <= MM_CLASS_TABLE_MAX, as a
 * constant expression: mm_size_class's arithmetic with the logarithm of
 * s - 1 (7, 8 or 9 above 128) spelled out. */
#define MM_TABLE_LOG2(x) ((x) >= 512 ? 9 : (x) >= 256 ? 8 : 7)
#define MM_TABLE_CLASS(s)                                                                      \
    ((s) <= 16    ? 0                                                                          \
     : (s) <= 128 ? ((s) - 1) >> 4                                                             \
                  : 8 + 4 * (MM_TABLE_LOG2((s) - 1) - 7) + ((((s) - 1) >> (MM_TABLE_LOG2((s) - 1) - 2)) & 3))

/* Entry i: the class of a request of 16 i bytes, which is also the class of
 * every request of 16 (i - 1) + 1 .. 16 i bytes (class boundaries up to
 * MM_CLASS_TABLE_MAX are multiples of 16). */
const uint8_t mm_class_table[MM_CLASS_TABLE_MAX / 16 + 1] = {
    MM_TABLE_CLASS(0), MM_TABLE_CLASS(16), MM_TABLE_CLASS(32), MM_TABLE_CLASS(48),
    MM_TABLE_CLASS(64), MM_TABLE_CLASS(80), MM_TABLE_CLASS(96), MM_TABLE_CLASS(112),
    MM_TABLE_CLASS(128), MM_TABLE_CLASS(144), MM_TABLE_CLASS(160), MM_TABLE_CLASS(176),
    MM_TABLE_CLASS(192), MM_TABLE_CLASS(208), MM_TABLE_CLASS(224), MM_TABLE_CLASS(240),
    MM_TABLE_CLASS(256), MM_TABLE_CLASS(272), MM_TABLE_CLASS(288), MM_TABLE_CLASS(304),
    MM_TABLE_CLASS(320), MM_TABLE_CLASS(336), MM_TABLE_CLASS(352), MM_TABLE_CLASS(368),
    MM_TABLE_CLASS(384), MM_TABLE_CLASS(400), MM_TABLE_CLASS(416), MM_TABLE_CLASS(432),
    MM_TABLE_CLASS(448), MM_TABLE_CLASS(464), MM_TABLE_CLASS(480), MM_TABLE_CLASS(496),
    MM_TABLE_CLASS(512), MM_TABLE_CLASS(528), MM_TABLE_CLASS(544), MM_TABLE_CLASS(560),
    MM_TABLE_CLASS(576), MM_TABLE_CLASS(592), MM_TABLE_CLASS(608), MM_TABLE_CLASS(624),
    MM_TABLE_CLASS(640), MM_TABLE_CLASS(656), MM_TABLE_CLASS(672), MM_TABLE_CLASS(688),
    MM_TABLE_CLASS(704), MM_TABLE_CLASS(720), MM_TABLE_CLASS(736), MM_TABLE_CLASS(752),
    MM_TABLE_CLASS(768), MM_TABLE_CLASS(784), MM_TABLE_CLASS(800), MM_TABLE_CLASS(816),
    MM_TABLE_CLASS(832), MM_TABLE_CLASS(848), MM_TABLE_CLASS(864), MM_TABLE_CLASS(880),
    MM_TABLE_CLASS(896), MM_TABLE_CLASS(912), MM_TABLE_CLASS(928), MM_TABLE_CLASS(944),
    MM_TABLE_CLASS(960), MM_TABLE_CLASS(976), MM_TABLE_CLASS(992), MM_TABLE_CLASS(1008),
    MM_TABLE_CLASS(1024)};

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
