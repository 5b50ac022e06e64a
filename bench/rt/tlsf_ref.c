/*
 * tlsf_ref.c: a TLSF-style good-fit heap, the reference of the real-time
 * heap's benchmark (bench/rt/rt_bench.c), written for this comparison from
 * the published design (Masmano et al., two-level segregated fit): free
 * blocks on lists indexed by (log2 of the size, 32 linear steps below it),
 * two bitmaps to find the first non-empty list whose every block fits,
 * splitting to the exact size and immediate coalescing through boundary
 * tags. Same contract as the rt heap where it matters for the comparison:
 * 16-byte aligned blocks, an 8-byte header. Not part of the library.
 */
#include <stddef.h>
#include <stdint.h>

#include "tlsf_ref.h"

#define SL_LOG2 5
#define SL_COUNT (1u << SL_LOG2)
#define FL_COUNT 48
#define HEADER 8u
#define MIN_BLOCK 32u
#define FREE_BIT 1u
#define PREV_FREE_BIT 2u

struct free_links {
    uintptr_t next, prev;
};

struct tlsf_ref {
    uint64_t fl_bitmap;
    uint32_t sl_bitmap[FL_COUNT];
    uintptr_t heads[FL_COUNT][SL_COUNT];
    uintptr_t start, end;
};

static uint64_t *hdr(uintptr_t b) { return (uint64_t *)b; }
static size_t bsize(uintptr_t b) { return *hdr(b) & ~(uint64_t)15; }
static struct free_links *links(uintptr_t b) { return (struct free_links *)(b + HEADER); }
static int msb(size_t x) { return 63 - __builtin_clzll(x); }

static void mapping(size_t size, int *fl, int *sl)
{
    int f = msb(size);
    *fl = f;
    *sl = (int)((size >> (f - SL_LOG2)) - SL_COUNT);
}

static void insert(struct tlsf_ref *t, uintptr_t b)
{
    int fl, sl;
    mapping(bsize(b), &fl, &sl);
    links(b)->next = t->heads[fl][sl];
    links(b)->prev = 0;
    if (t->heads[fl][sl])
        links(t->heads[fl][sl])->prev = b;
    t->heads[fl][sl] = b;
    t->fl_bitmap |= 1ull << fl;
    t->sl_bitmap[fl] |= 1u << sl;
}

static void unlink_block(struct tlsf_ref *t, uintptr_t b)
{
    int fl, sl;
    mapping(bsize(b), &fl, &sl);
    struct free_links *l = links(b);
    if (l->prev)
        links(l->prev)->next = l->next;
    else
        t->heads[fl][sl] = l->next;
    if (l->next)
        links(l->next)->prev = l->prev;
    if (!t->heads[fl][sl]) {
        t->sl_bitmap[fl] &= ~(1u << sl);
        if (!t->sl_bitmap[fl])
            t->fl_bitmap &= ~(1ull << fl);
    }
}

/* A free block written out: header, footer, the next block's flag. */
static void make_free(struct tlsf_ref *t, uintptr_t b, size_t size, uint64_t prev_flag)
{
    *hdr(b) = size | FREE_BIT | prev_flag;
    *(uint64_t *)(b + size - 8) = size;
    *hdr(b + size) |= PREV_FREE_BIT;
    insert(t, b);
}

struct tlsf_ref *tlsf_ref_init(void *memory, size_t bytes)
{
    uintptr_t m = ((uintptr_t)memory + 63) & ~(uintptr_t)63;
    struct tlsf_ref *t = (struct tlsf_ref *)m;
    char *clear = (char *)t;
    for (size_t i = 0; i < sizeof(*t); i++)
        clear[i] = 0;
    t->start = ((m + sizeof(*t) + 15) & ~(uintptr_t)15) + 8;
    uintptr_t last = (((uintptr_t)memory + bytes - 8) & ~(uintptr_t)15) - 8; /* sentinel */
    t->end = last;
    *hdr(last) = 0; /* a used block of size 0 */
    make_free(t, t->start, last - t->start, 0);
    return t;
}

void *tlsf_ref_malloc(struct tlsf_ref *t, size_t size)
{
    size_t need = (size + HEADER + 15) & ~(size_t)15;
    if (need < MIN_BLOCK)
        need = MIN_BLOCK;
    /* Round up to the next list boundary: every block there fits. */
    size_t rounded = need + ((size_t)1 << (msb(need) - SL_LOG2)) - 1;
    int fl, sl;
    mapping(rounded, &fl, &sl);
    if (fl >= FL_COUNT)
        return NULL;
    uint32_t sl_map = t->sl_bitmap[fl] & (~0u << sl);
    if (!sl_map) {
        uint64_t fl_map = fl + 1 < 64 ? t->fl_bitmap & (~0ull << (fl + 1)) : 0;
        if (!fl_map)
            return NULL;
        fl = __builtin_ctzll(fl_map);
        sl_map = t->sl_bitmap[fl];
    }
    sl = __builtin_ctz(sl_map);
    uintptr_t b = t->heads[fl][sl];
    unlink_block(t, b);
    size_t have = bsize(b);
    uint64_t prev_flag = *hdr(b) & PREV_FREE_BIT;
    if (have - need >= MIN_BLOCK) {
        *hdr(b) = need | prev_flag;
        make_free(t, b + need, have - need, 0);
    } else {
        *hdr(b) = have | prev_flag;
        *hdr(b + have) &= ~(uint64_t)PREV_FREE_BIT;
    }
    return (void *)(b + HEADER);
}

void tlsf_ref_free(struct tlsf_ref *t, void *ptr)
{
    if (!ptr)
        return;
    uintptr_t b = (uintptr_t)ptr - HEADER;
    size_t size = bsize(b);
    uint64_t prev_flag = *hdr(b) & PREV_FREE_BIT;
    uintptr_t next = b + size;
    if (*hdr(next) & FREE_BIT) {
        unlink_block(t, next);
        size += bsize(next);
    }
    if (prev_flag) {
        size_t prev_size = *(uint64_t *)(b - 8);
        b -= prev_size;
        unlink_block(t, b);
        size += prev_size;
        prev_flag = *hdr(b) & PREV_FREE_BIT; /* always 0: free blocks never touch */
    }
    make_free(t, b, size, prev_flag);
}

size_t tlsf_ref_usable_size(void *ptr)
{
    return bsize((uintptr_t)ptr - HEADER) - HEADER;
}
