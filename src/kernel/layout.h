/*
 * layout.h: the kernel allocator's data structures and the invariants that
 * tie them together (src/kernel; the public side is include/mymalloc/kalloc.h).
 * Read this first; docs/KERNEL.md tells the same story at greater length.
 *
 * The region given to kalloc_init is cut into 4 KiB pages, numbered from its
 * first whole page (index 0). Its first pages hold all the metadata:
 *   struct mmk_heap  the control block: geometry, the buddy free lists;
 *   struct mmk_cpu   one per CPU (at most MMK_MAX_CPUS): its page cache, its
 *                    slabs, its inbox of blocks freed by other CPUs;
 *   struct mmk_page  one descriptor per page, and one more: the sentinel
 *                    "no slab" (index npages).
 * The other pages are handed out. The first page of anything has a
 * descriptor whose `kind` says what it is:
 *   INSIDE  no block starts here: a metadata page, or a page inside a block
 *           whose first page is FREE or BLOCK;
 *   FREE    a free buddy block of 2^order pages, on the buddy list of that
 *           order (buddy.c, under the buddy lock);
 *   BLOCK   a block of 2^order pages handed out by kalloc, or a page or
 *           block in passing between two of the other states;
 *   CACHED  a free page on one CPU's page cache (page_cache.c);
 *   SLAB    a page cut into blocks of one small class, 16 .. 2048 bytes,
 *           owned by one CPU (slab.c).
 *
 * Alignment. Buddy blocks are aligned to their size in absolute addresses:
 * a block of order k starts at an absolute page number (address >> 12) that
 * is a multiple of 2^k, whatever the region's start, and its buddy is the
 * block whose absolute page number differs in bit k only. Slab blocks of
 * 2^s bytes lie at multiples of 2^s inside their page. So every block is
 * aligned to its size, the smallest power of two >= the request (>= 16).
 *
 * Locks (their levels and order: platform/lock.h, the one list):
 *   cpu->lock      taken by its own CPU on every kalloc and kfree that uses
 *                  its caches, so uncontended: other CPUs take it only on
 *                  the out-of-memory path, one CPU's at a time. Guards the
 *                  CPU's page cache, its slabs (their descriptors' lists and
 *                  counts, their free blocks) and its `taken` list.
 *   buddy_lock     guards the buddy lists and every move into or out of
 *                  the FREE state; taken to refill or drain a page cache,
 *                  for blocks above a page and on the out-of-memory path.
 * With KALLOC_SINGLE_LOCK (locking.h) one lock held for the whole call
 * replaces both.
 *
 * Read or written without a lock: a CPU's `inbox` (atomic, slab.c); a
 * descriptor's `kind` (atomic, relaxed: mmk_kind below says why that is
 * enough); and, by kfree, a live block's descriptor's `order`, `cpu` and
 * `size_class` (plain: fixed while the block is out, see slab.c).
 */
#ifndef MMK_LAYOUT_H
#define MMK_LAYOUT_H

#include "platform/lock.h"
#include "platform/platform.h"

#define MMK_MAX_CPUS 64

/* Orders 0 .. MMK_ORDERS-1; order 20 is 4 GiB, 31 would be 8 TiB. */
#define MMK_ORDERS 32

/* Small classes: blocks of 16 << class bytes, class 0 .. MMK_CLASSES-1. */
#define MMK_CLASS_SHIFT 4
#define MMK_CLASSES 8
#define MMK_SMALL_MAX ((size_t)16 << (MMK_CLASSES - 1))

/* A CPU's page cache: above MMK_CACHE_HIGH pages it gives MMK_CACHE_BATCH
 * back to the buddy; when empty it takes MMK_CACHE_BATCH pages from the
 * smallest free blocks. */
#define MMK_CACHE_HIGH 64u
#define MMK_CACHE_BATCH 16u

/* Blocks taken from a CPU's inbox per call (slab.c). */
#define MMK_INBOX_BATCH 4u

/* "No page" in a list link or list end. */
#define MMK_NIL UINT32_MAX

enum mmk_page_kind {
    MMK_INSIDE = 0,
    MMK_FREE,
    MMK_BLOCK,
    MMK_CACHED,
    MMK_SLAB,
};

/* A free small block: its first word links it to the next. */
typedef struct mmk_block {
    struct mmk_block *next;
} mmk_block;

/* Ends of a doubly linked list of pages, linked through their descriptors. */
struct mmk_list {
    uint32_t head;
    uint32_t tail;
};

/* 24 bytes per page (0.6% of the region). Which fields mean something
 * depends on `kind`; each field says under which lock it is written. */
struct mmk_page {
    _Atomic uint8_t kind;   /* enum mmk_page_kind, see mmk_kind */
    uint8_t order;          /* FREE, BLOCK: log2 of the block's pages; written
                               by whoever took the block off a list */
    uint8_t size_class;     /* SLAB: set once by the owner when it makes the
                               slab, read by kfree on any CPU (see slab.c) */
    uint8_t cpu;            /* SLAB: index of the owner; as size_class */
    uint16_t used;          /* SLAB: blocks out (owner's lock) */
    uint16_t carved;        /* SLAB: bytes of the page cut into blocks so far;
                               blocks at or past it were never handed out */
    uint32_t next, prev;    /* links on whichever list holds the page: a buddy
                               list, a page cache, a partial-slab list */
    mmk_block *free;        /* SLAB: free blocks below `carved` */
};

struct mmk_cpu {
    /* Written by this CPU (under `lock`) on every call. */
    mm_lock lock;
    uint32_t cached;                    /* pages on `cache` */
    struct mmk_list cache;              /* CACHED pages, most recent first */
    uint32_t current[MMK_CLASSES];      /* the slab each class allocates from,
                                           or the sentinel; never on a list */
    struct mmk_list partial[MMK_CLASSES]; /* other slabs with a free block */
    mmk_block *taken;                   /* taken from `inbox`, not yet freed */

    /* Written by other CPUs: kept off the line above. */
    _Alignas(64) _Atomic(mmk_block *) inbox;
};

struct mmk_heap {
    /* Read-only after kalloc_init. */
    char *base;             /* page 0 */
    uintptr_t base_pfn;     /* absolute page number of page 0 */
    size_t bytes;           /* npages pages */
    size_t largest;         /* bytes of the largest block the region holds */
    uint32_t npages;        /* pages described, metadata included */
    uint32_t ncpu;          /* per-CPU structures, 1 .. MMK_MAX_CPUS */
    struct mmk_page *pages; /* npages descriptors + the sentinel */
    struct mmk_cpu *cpus;

    /* The buddy allocator (buddy.c). */
    _Alignas(64) mm_lock buddy_lock;
    uint32_t free_orders;   /* bit k set iff free[k] is not empty */
    struct mmk_list free[MMK_ORDERS];

#if defined(KALLOC_SINGLE_LOCK)
    _Alignas(64) mm_lock single_lock; /* every call holds it (locking.h) */
#endif
};

static inline struct mmk_page *mmk_page(const struct mmk_heap *heap, uint32_t index)
{
    return &heap->pages[index];
}

static inline char *mmk_page_address(const struct mmk_heap *heap, uint32_t index)
{
    return heap->base + ((size_t)index << MM_PAGE_SHIFT);
}

/* The sentinel "no slab": a descriptor past the last page whose free list
 * is empty and whose page is all cut, so a class without a slab fails the
 * fast path's one test like an exhausted slab. */
static inline uint32_t mmk_no_slab(const struct mmk_heap *heap)
{
    return heap->npages;
}

/* The page a pointer into the region lies in. */
static inline uint32_t mmk_page_index(const struct mmk_heap *heap, const void *ptr)
{
    return (uint32_t)(((uintptr_t)ptr - (uintptr_t)heap->base) >> MM_PAGE_SHIFT);
}

/* A descriptor's kind is read without the lock that guards its changes: by
 * kfree, on the page of the block it frees, and by the buddy allocator,
 * on the first page of a buddy that may belong to a CPU. Relaxed suffices:
 *   - kfree's page is BLOCK or SLAB from before kalloc returned the block
 *     until this kfree; the caller got the block through some
 *     synchronisation that orders kalloc before kfree, so the read sees that
 *     value (coherence) and the fields the owner wrote along with it;
 *   - the buddy allocator acts only on FREE, and every move into or out of
 *     FREE is made under the buddy lock it holds; any other value it reads
 *     it merely skips. */
static inline unsigned mmk_kind(const struct mmk_page *page)
{
    return atomic_load_explicit(&page->kind, memory_order_relaxed);
}

static inline void mmk_set_kind(struct mmk_page *page, unsigned kind)
{
    atomic_store_explicit(&page->kind, (uint8_t)kind, memory_order_relaxed);
}

/* The list helpers. The caller holds the lock of the list. */
static inline void mmk_list_init(struct mmk_list *list)
{
    list->head = MMK_NIL;
    list->tail = MMK_NIL;
}

static inline void mmk_list_push(struct mmk_heap *heap, struct mmk_list *list, uint32_t index)
{
    struct mmk_page *page = mmk_page(heap, index);
    page->prev = MMK_NIL;
    page->next = list->head;
    if (list->head != MMK_NIL)
        mmk_page(heap, list->head)->prev = index;
    else
        list->tail = index;
    list->head = index;
}

static inline void mmk_list_unlink(struct mmk_heap *heap, struct mmk_list *list, uint32_t index)
{
    struct mmk_page *page = mmk_page(heap, index);
    if (page->prev != MMK_NIL)
        mmk_page(heap, page->prev)->next = page->next;
    else
        list->head = page->next;
    if (page->next != MMK_NIL)
        mmk_page(heap, page->next)->prev = page->prev;
    else
        list->tail = page->prev;
}

#endif /* MMK_LAYOUT_H */
