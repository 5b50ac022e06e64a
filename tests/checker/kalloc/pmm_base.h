/*
 * pmm_base.h: a small pmm for kalloc-check's own tests, in the shape of a
 * student's L1 pmm.c (MODULE_DEF(pmm), one global spin lock over
 * atomic_xchg, everything it manages inside [heap.start, heap.end)). Each
 * allocator in this directory is a .c file that defines at most one
 * KBUG_* macro and includes this file; with none (correct_slow.c) it is
 * correct but slow: every CPU takes the one lock on every call.
 *
 * Pages come from a buddy allocator: a block of 2^k pages starts at an
 * absolute page number that is a multiple of 2^k, so it is aligned to its
 * size. Requests up to 2048 bytes come from one-page slabs of one power-of-
 * two class (so a block of 2^s bytes lies at a multiple of 2^s). Every
 * page has a descriptor, all of them in the first pages of the heap.
 * Invariants, under `lk`: a free buddy block's first page is FREE_HEAD with
 * its order and is on free_head[order]; an allocated block's first page is
 * USED_HEAD with its order; a slab page is SLAB, `used` counts its blocks
 * handed out, and it is on partial[class] exactly when it has free blocks.
 *
 * The planted bugs (one per file):
 *   KBUG_NO_LOCK     the lock is never taken: a race on the shared lists
 *   KBUG_PLAIN_LOCK  the lock is a plain load, then a plain store
 *   KBUG_OFF_BY_8    the class is chosen for size - 8, as if an 8-byte
 *                    header were counted twice: a block's last bytes
 *                    overlap the next block
 *   KBUG_LOST_BLOCK  every 8th kfree is dropped: that memory never returns
 *   KBUG_MISALIGNED  classes of 3 x 2^k bytes too (48, 96, ...): blocks of
 *                    33..48 bytes at multiples of 48, not of 64
 *   KBUG_LIST_WALK   kfree finds a block's page by walking one global list
 *                    of every slab and block in use, under the global lock
 */
#include <common.h>

#define PAGE 4096
#define MAX_ORDER 12 /* 2^12 pages: 16 MiB, the largest request */
#define NONE 0xffffffffu

enum { TAIL, FREE_HEAD, USED_HEAD, SLAB };

struct page {
    uint8_t kind;
    uint8_t order; /* a block's order, or a slab's class */
    uint16_t used;
    uint32_t prev, next; /* free_head[order] or partial[class] */
    void *free;          /* a slab's free blocks, linked through them */
#if defined(KBUG_LIST_WALK)
    uint32_t in_use_prev, in_use_next;
#endif
};

#if defined(KBUG_MISALIGNED)
static const unsigned class_size[] = {16,  32,  48,  64,   96,   128,  192,
                                      256, 384, 512, 768, 1024, 1536, 2048};
#else
static const unsigned class_size[] = {16, 32, 64, 128, 256, 512, 1024, 2048};
#endif
#define NCLASS (sizeof class_size / sizeof class_size[0])
#define SMALL_MAX 2048

static struct page *pages; /* descriptor of page i: pages[i] */
static char *base;         /* page 0 */
static uint32_t npages, first_free_page;
static uint32_t free_head[MAX_ORDER + 1];
static uint32_t partial[NCLASS];

/* ---- the lock ---------------------------------------------------------- */

#if defined(KBUG_NO_LOCK)
static void lock(void) {}
static void unlock(void) {}
#elif defined(KBUG_PLAIN_LOCK)
/* The bug: test and set as two plain accesses; two CPUs can both see 0. */
static int lk;
static void lock(void)
{
    while (*(volatile int *)&lk != 0)
        ;
    *(volatile int *)&lk = 1;
}
static void unlock(void)
{
    *(volatile int *)&lk = 0;
}
#else
static int lk;
static void lock(void)
{
    while (atomic_xchg(&lk, 1) != 0)
        ;
}
static void unlock(void)
{
    atomic_xchg(&lk, 0);
}
#endif

/* ---- lists of pages ------------------------------------------------------ */

static void list_push(uint32_t *head, uint32_t i)
{
    pages[i].prev = NONE;
    pages[i].next = *head;
    if (*head != NONE)
        pages[*head].prev = i;
    *head = i;
}

static void list_remove(uint32_t *head, uint32_t i)
{
    if (pages[i].prev != NONE)
        pages[pages[i].prev].next = pages[i].next;
    else
        *head = pages[i].next;
    if (pages[i].next != NONE)
        pages[pages[i].next].prev = pages[i].prev;
}

#if defined(KBUG_LIST_WALK)
static uint32_t in_use = NONE;

static void in_use_add(uint32_t i)
{
    pages[i].in_use_prev = NONE;
    pages[i].in_use_next = in_use;
    if (in_use != NONE)
        pages[in_use].in_use_prev = i;
    in_use = i;
}

static void in_use_remove(uint32_t i)
{
    if (pages[i].in_use_prev != NONE)
        pages[pages[i].in_use_prev].in_use_next = pages[i].in_use_next;
    else
        in_use = pages[i].in_use_next;
    if (pages[i].in_use_next != NONE)
        pages[pages[i].in_use_next].in_use_prev = pages[i].in_use_prev;
}
#else
static void in_use_add(uint32_t i) {}
static void in_use_remove(uint32_t i) {}
#endif

/* ---- the buddy allocator ------------------------------------------------ */

static uintptr_t abs_page(uint32_t i)
{
    return (uintptr_t)(base + (size_t)i * PAGE) / PAGE;
}

static void buddy_push(uint32_t i, unsigned order)
{
    pages[i].kind = FREE_HEAD;
    pages[i].order = (uint8_t)order;
    list_push(&free_head[order], i);
}

static uint32_t buddy_alloc(unsigned order)
{
    unsigned k = order;
    while (k <= MAX_ORDER && free_head[k] == NONE)
        k++;
    if (k > MAX_ORDER)
        return NONE;
    uint32_t i = free_head[k];
    list_remove(&free_head[k], i);
    while (k > order) {
        k--;
        buddy_push(i + (1u << k), k);
    }
    pages[i].kind = USED_HEAD;
    pages[i].order = (uint8_t)order;
    return i;
}

static void buddy_free(uint32_t i, unsigned order)
{
    while (order < MAX_ORDER) {
        uint32_t buddy = (abs_page(i) & (1u << order)) ? i - (1u << order) : i + (1u << order);
        if (buddy < first_free_page || buddy >= npages || buddy + (1u << order) > npages ||
            pages[buddy].kind != FREE_HEAD || pages[buddy].order != order)
            break;
        list_remove(&free_head[order], buddy);
        pages[buddy].kind = TAIL;
        if (buddy < i) {
            pages[i].kind = TAIL;
            i = buddy;
        }
        order++;
    }
    buddy_push(i, order);
}

/* ---- slabs ---------------------------------------------------------------- */

static unsigned class_of(size_t size)
{
#if defined(KBUG_OFF_BY_8)
    if (size > 16)
        size -= 8;
#endif
    unsigned c = 0;
    while (class_size[c] < size)
        c++;
    return c;
}

static uint32_t slab_new(unsigned c)
{
    uint32_t i = buddy_alloc(0);
    if (i == NONE)
        return NONE;
    char *page = base + (size_t)i * PAGE;
    pages[i].kind = SLAB;
    pages[i].order = (uint8_t)c;
    pages[i].used = 0;
    pages[i].free = NULL;
    for (unsigned n = PAGE / class_size[c]; n-- > 0;) {
        void **block = (void **)(page + (size_t)n * class_size[c]);
        *block = pages[i].free;
        pages[i].free = block;
    }
    list_push(&partial[c], i);
    in_use_add(i);
    return i;
}

static void *slab_alloc(size_t size)
{
    unsigned c = class_of(size);
    uint32_t i = partial[c] != NONE ? partial[c] : slab_new(c);
    if (i == NONE)
        return NULL;
    void **block = pages[i].free;
    pages[i].free = *block;
    pages[i].used++;
    if (pages[i].free == NULL)
        list_remove(&partial[c], i);
    return block;
}

static void slab_free(uint32_t i, void *ptr)
{
    unsigned c = pages[i].order;
    if (pages[i].free == NULL)
        list_push(&partial[c], i);
    *(void **)ptr = pages[i].free;
    pages[i].free = ptr;
    if (--pages[i].used == 0) {
        list_remove(&partial[c], i);
        in_use_remove(i);
        buddy_free(i, 0);
    }
}

/* ---- the module ------------------------------------------------------------ */

/* The page a live block starts in: by index, or (the bug) by a walk. */
static uint32_t page_of(void *ptr)
{
#if defined(KBUG_LIST_WALK)
    for (uint32_t i = in_use; i != NONE; i = pages[i].in_use_next) {
        char *start = base + (size_t)i * PAGE;
        size_t bytes = pages[i].kind == SLAB ? PAGE : (size_t)PAGE << pages[i].order;
        if ((char *)ptr >= start && (char *)ptr < start + bytes)
            return i;
    }
    return NONE;
#else
    return (uint32_t)(((char *)ptr - base) / PAGE);
#endif
}

static void *kalloc(size_t size)
{
    if (size == 0 || size > ((size_t)PAGE << MAX_ORDER))
        return NULL;
    void *p = NULL;
    lock();
    if (size <= SMALL_MAX) {
        p = slab_alloc(size);
    } else {
        unsigned order = 0;
        while (((size_t)PAGE << order) < size)
            order++;
        uint32_t i = buddy_alloc(order);
        if (i != NONE) {
            in_use_add(i);
            p = base + (size_t)i * PAGE;
        }
    }
    unlock();
    return p;
}

static void kfree(void *ptr)
{
    if (ptr == NULL)
        return;
    lock();
#if defined(KBUG_LOST_BLOCK)
    static unsigned frees;
    if (++frees % 8 == 0) {
        unlock();
        return;
    }
#endif
    uint32_t i = page_of(ptr);
    if (i != NONE && pages[i].kind == SLAB) {
        slab_free(i, ptr);
    } else if (i != NONE && pages[i].kind == USED_HEAD) {
        in_use_remove(i);
        buddy_free(i, pages[i].order);
    }
    unlock();
}

/* The descriptors take the first pages; the rest is cut into the largest
 * blocks their absolute alignment allows. */
static void pmm_init(void)
{
    base = (char *)ROUNDUP(heap.start, PAGE);
    npages = (uint32_t)((ROUNDDOWN(heap.end, PAGE) - (uintptr_t)base) / PAGE);
    pages = (struct page *)base;
    first_free_page = (uint32_t)ROUNDUP((size_t)npages * sizeof(struct page), PAGE) / PAGE;
    for (unsigned k = 0; k <= MAX_ORDER; k++)
        free_head[k] = NONE;
    for (unsigned c = 0; c < NCLASS; c++)
        partial[c] = NONE;
    for (uint32_t i = 0; i < npages; i++)
        pages[i].kind = TAIL;
    for (uint32_t i = first_free_page; i < npages;) {
        unsigned k = MAX_ORDER;
        while ((abs_page(i) & ((1u << k) - 1)) != 0 || i + (1u << k) > npages)
            k--;
        buddy_push(i, k);
        i += 1u << k;
    }
    printf("pmm: %u pages, %u of them for descriptors\n", npages, first_free_page);
}

MODULE_DEF(pmm) = {
    .init = pmm_init,
    .alloc = kalloc,
    .free = kfree,
};
