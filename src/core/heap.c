/*
 * heap.c: a heap's slow paths: refilling the current slab, moving slabs
 * between the partial list, the full list and the empty-slab cache, making
 * new slabs, draining blocks handed over by remote frees, and giving
 * everything up when the heap's thread exits.
 *
 * Invariants of a heap (only its user touches them):
 *   - heap->current[c] is bins[c].partial, or &mm_span_none when that is NULL;
 *   - every slab the heap owns is on exactly one of: bins[c].partial,
 *     bins[c].full (span->in_full set), or the empty cache (no block out);
 *   - bins[c].span_count counts the slabs on the two bin lists;
 *   - empty_cache_bytes sums the cache and stays <= MM_HEAP_CACHE_BYTES.
 */
#include "core/heap.h"
#include "core/identity.h"
#include "core/large.h"
#include "core/pagemap.h"
#include "core/remote.h"
#include "core/size_class.h"
#include "core/span.h"

mm_span mm_span_none;
#if defined(MM_IDENTITY_TLS)
mm_heap mm_heap_none = {.current = {[0 ... MM_CLASS_COUNT - 1] = &mm_span_none}};
#endif

void mm_heap_init(mm_heap *heap)
{
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
        heap->current[c] = &mm_span_none;
        heap->bins[c] = (mm_bin){0};
    }
    atomic_init(&heap->delayed, NULL);
    heap->empty_cache = NULL;
    heap->empty_cache_bytes = 0;
}

/* ---- bin lists ---------------------------------------------------------- */

static void list_unlink(mm_span **head, mm_span *span)
{
    if (span->prev != NULL)
        span->prev->next = span->next;
    else
        *head = span->next;
    if (span->next != NULL)
        span->next->prev = span->prev;
    span->next = span->prev = NULL;
}

/* Insert at the head, or just behind it when `behind_head`. */
static void list_insert(mm_span **head, mm_span *span, bool behind_head)
{
    mm_span *after = behind_head ? *head : NULL;
    if (after == NULL) {
        span->prev = NULL;
        span->next = *head;
        if (*head != NULL)
            (*head)->prev = span;
        *head = span;
        return;
    }
    span->prev = after;
    span->next = after->next;
    if (after->next != NULL)
        after->next->prev = span;
    after->next = span;
}

static void bin_sync_current(mm_heap *heap, unsigned c)
{
    mm_span *partial = heap->bins[c].partial;
    heap->current[c] = partial != NULL ? partial : &mm_span_none;
}

static void bin_remove(mm_heap *heap, mm_span *span)
{
    unsigned c = span->size_class;
    list_unlink(span->in_full ? &heap->bins[c].full : &heap->bins[c].partial, span);
    span->in_full = 0;
    heap->bins[c].span_count--;
    bin_sync_current(heap, c);
}

/* ---- empty-slab cache --------------------------------------------------- */

static void empty_cache_put(mm_heap *heap, mm_span *span)
{
    if (heap->empty_cache_bytes + span->bytes > MM_HEAP_CACHE_BYTES) {
        mm_span_destroy(span);
        return;
    }
    span->next = heap->empty_cache;
    heap->empty_cache = span;
    heap->empty_cache_bytes += span->bytes;
}

/* A cached slab of `pages` to 2 x `pages` pages whose tail wastes at most
 * 1/8 as a slab of class `c`; the walk is bounded by the cache's size. */
static mm_span *empty_cache_take(mm_heap *heap, unsigned c, size_t pages)
{
    size_t want = pages * MM_PAGE_SIZE, size = mm_class_size(c);
    for (mm_span **link = &heap->empty_cache; *link != NULL; link = &(*link)->next) {
        mm_span *span = *link;
        if (span->bytes >= want && span->bytes <= 2 * want && span->bytes % size * 8 <= span->bytes) {
            *link = span->next;
            heap->empty_cache_bytes -= span->bytes;
            return span;
        }
    }
    return NULL;
}

static void empty_cache_flush(mm_heap *heap)
{
    while (heap->empty_cache != NULL) {
        mm_span *span = heap->empty_cache;
        heap->empty_cache = span->next;
        mm_span_destroy(span);
    }
    heap->empty_cache_bytes = 0;
}

/* ---- slabs -------------------------------------------------------------- */

/* Put blocks on span->free: the owner's frees, else the remote frees, else
 * blocks carved from never-used space (at most a page's worth, so a fresh
 * slab is touched gradually). False when the slab is exhausted. */
static bool slab_refill(mm_span *span)
{
    if (span->free != NULL) /* an adopted slab keeps its abandoner's free list */
        return true;
    if (span->local_free != NULL) {
        span->free = span->local_free;
        span->local_free = NULL;
        return true;
    }
    uint32_t count;
    mm_block *list = mm_remote_collect(span, &count);
    if (list != NULL) {
        span->free = list;
        span->used -= count;
        return true;
    }
    if (span->bump == span->end)
        return false;
    size_t size = span->block_size;
    size_t batch = MM_PAGE_SIZE / size;
    size_t left = (size_t)(span->end - span->bump) / size;
    if (batch == 0)
        batch = 1;
    if (batch > left)
        batch = left;
    char *first = span->bump;
    for (size_t i = 0; i + 1 < batch; i++)
        ((mm_block *)(first + i * size))->next = (mm_block *)(first + (i + 1) * size);
    ((mm_block *)(first + (batch - 1) * size))->next = NULL;
    span->free = (mm_block *)first;
    span->bump = first + batch * size;
    return true;
}

/* Move every remotely freed block onto local_free (walks the collected list,
 * at most the slab's capacity). */
static void slab_collect_all(mm_span *span)
{
    uint32_t count;
    mm_block *list = mm_remote_collect(span, &count);
    if (list == NULL)
        return;
    mm_block *tail = list;
    while (tail->next != NULL)
        tail = tail->next;
    tail->next = span->local_free;
    span->local_free = list;
    span->used -= count;
}

static mm_span *slab_new(mm_heap *heap, unsigned c)
{
    size_t pages = mm_slab_pages(c, heap->bins[c].span_count);
    mm_span *span = empty_cache_take(heap, c, pages);
    if (span == NULL) {
        span = mm_span_create(pages * MM_PAGE_SIZE, pages);
        if (span == NULL)
            return NULL;
    }
    mm_slab_format(span, c);
    atomic_store_explicit(&span->owner, heap, memory_order_relaxed);
    return span;
}

/* Slab `span` has no block out: drop it from the bins into the cache. An
 * empty current slab of one page stays, so a malloc/free loop neither maps
 * nor walks the cache; a larger one goes, so that an idle heap holds at most
 * one page per class plus its cache (about 100 KiB + MM_HEAP_CACHE_BYTES),
 * and the next slab of its class starts small again. */
static void slab_retire_if_idle(mm_heap *heap, mm_span *span)
{
    if (span->used != 0)
        return;
    if (span == heap->current[span->size_class] && span->bytes == MM_PAGE_SIZE)
        return;
    bin_remove(heap, span);
    empty_cache_put(heap, span);
}

void mm_heap_slab_event(mm_heap *heap, mm_span *span)
{
    if (span->in_full) {
        unsigned c = span->size_class;
        list_unlink(&heap->bins[c].full, span);
        span->in_full = 0;
        list_insert(&heap->bins[c].partial, span, true);
        bin_sync_current(heap, c);
    }
    slab_retire_if_idle(heap, span);
}

/* ---- the malloc slow path ----------------------------------------------- */

/* Free, from `heap`, a block that a remote free handed over. */
static void free_handed_over(mm_heap *heap, mm_block *block)
{
    mm_span *span = mm_pagemap_lookup(block);
    if (atomic_load_explicit(&span->owner, memory_order_relaxed) == heap)
        mm_heap_free_local(heap, span, block);
    else
        mm_remote_free(span, block);
}

/* Take every block that remote frees handed over; each is one slab that left
 * the full list, so the work is bounded by the number of such slabs. */
static void drain_delayed(mm_heap *heap)
{
    if (atomic_load_explicit(&heap->delayed, memory_order_relaxed) == NULL)
        return;
    mm_block *block = atomic_exchange_explicit(&heap->delayed, NULL, memory_order_acquire);
    while (block != NULL) {
        mm_block *next = block->next;
        free_handed_over(heap, block);
        block = next;
    }
}

void mm_heap_reclaim(mm_heap *heap)
{
    drain_delayed(heap);
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
        mm_span *span = heap->bins[c].partial;
        while (span != NULL) {
            mm_span *next = span->next;
            slab_collect_all(span);
            if (span->used == 0) {
                bin_remove(heap, span);
                mm_span_destroy(span);
            }
            span = next;
        }
    }
    empty_cache_flush(heap);
}

#define MM_ADOPT_TRIES 4

void *mm_heap_malloc_slow(mm_heap *heap, unsigned c)
{
#if defined(MM_IDENTITY_TLS)
    if (heap == &mm_heap_none) {
        heap = mm_heap_attach();
        if (heap == NULL)
            return NULL;
    }
#endif
    drain_delayed(heap);
    bool reclaimed = false;
    unsigned adoptions = 0;
    for (;;) {
        mm_span *span = heap->current[c];
        if (span != &mm_span_none) {
            if (slab_refill(span))
                return mm_heap_malloc(heap, c);
            if (!mm_remote_mark_full(span))
                continue; /* remote frees arrived: refill takes them */
            list_unlink(&heap->bins[c].partial, span);
            span->in_full = 1;
            list_insert(&heap->bins[c].full, span, false);
            bin_sync_current(heap, c);
            continue;
        }
        /* Adopted slabs may turn out exhausted; a few tries, then a new one,
         * so one slow path never walks the whole pool. */
        span = adoptions < MM_ADOPT_TRIES ? mm_remote_adopt(heap, c) : NULL;
        if (span != NULL)
            adoptions++;
        else
            span = slab_new(heap, c);
        if (span != NULL) {
            list_insert(&heap->bins[c].partial, span, false);
            heap->bins[c].span_count++;
            bin_sync_current(heap, c);
            continue;
        }
        if (reclaimed)
            return NULL;
        mm_reclaim(heap);
        reclaimed = true;
    }
}

/* ---- thread exit -------------------------------------------------------- */

/* Put the slab's local_free blocks behind its free blocks (walks at most the
 * slab's capacity), so that an adopter finds local_free empty. */
static void slab_merge_free_lists(mm_span *span)
{
    if (span->local_free == NULL)
        return;
    if (span->free == NULL) {
        span->free = span->local_free;
    } else {
        mm_block *tail = span->free;
        while (tail->next != NULL)
            tail = tail->next;
        tail->next = span->local_free;
    }
    span->local_free = NULL;
}

void mm_heap_abandon(mm_heap *heap)
{
    drain_delayed(heap);
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
        mm_bin *bin = &heap->bins[c];
        while (bin->partial != NULL || bin->full != NULL) {
            mm_span *span = bin->partial != NULL ? bin->partial : bin->full;
            bin_remove(heap, span);
            slab_merge_free_lists(span);
            if (span->used == 0 && atomic_load_explicit(&span->thread_free, memory_order_relaxed) == 0)
                mm_span_destroy(span);
            else
                mm_remote_abandon(span);
        }
    }
    empty_cache_flush(heap);
    /* Close the stack: a FULL handoff that read this heap as owner and
     * pushes later finds it closed and goes through the word. Blocks that
     * came in before go the remote way now that their slabs have no owner. */
    mm_block *block = atomic_exchange_explicit(&heap->delayed, MM_DELAYED_CLOSED, memory_order_acq_rel);
    while (block != NULL) {
        mm_block *next = block->next;
        free_handed_over(heap, block);
        block = next;
    }
}
