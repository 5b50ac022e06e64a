/*
 * cache.c: the caches of empty slabs: each heap's own, and the one shared by
 * all heaps. A slab whose last block comes back goes to its heap's cache,
 * and past that cache's budget to the shared cache (with a clock) or back to
 * the system; a heap that needs a slab takes one from its own cache, then
 * from the shared one, before it maps a new one.
 *
 * Invariants (under the lists_lock of the heap that owns the cache):
 *   - a cached slab is on no list, owned by the cache's heap, with no block
 *     out, in empty_cache[its page count]; empty_cache_bytes sums them, and
 *     bit p of empty_cache_mask is set exactly when empty_cache[p] is not
 *     empty;
 *   - a heap's cache stays within cache_budget(): a floor plus a share of
 *     the heap's slab_bytes, so it falls as slab_bytes falls (also when a
 *     remote free claims a slab, so an idle heap's cache shrinks too);
 *   - the shared cache stays within what all_slab_bytes (every heap's
 *     slab_bytes) fell from its recent peak: nothing without a clock.
 */
#include "core/cache.h"
#include "core/retain.h"
#include "core/size_class.h"
#include "core/span.h"

/*
 * The shared cache: with a clock, the empty slabs that overflow a heap's own
 * cache go to one cache that every heap takes from, bounded by what the
 * slabs of all heaps together fell from their recent peak (retain.h). Threads
 * whose working sets rise and fall at different moments so keep one peak's
 * worth of slabs between them, not one each (docs/DECISIONS.md).
 * It is a heap with no thread and nothing but this cache: its slabs are owned
 * by it, so checked frees find them under its lists_lock like any cached
 * slab. Its lists_lock is taken alone or under one heap's lists_lock (lock
 * order: platform/lock.h). all_slab_bytes sums every heap's slab_bytes: each heap adds
 * and subtracts its own changes (relaxed atomics: the sum and its peak are a
 * budget, read to decide what to keep, never to guard other memory).
 * Without a clock the shared cache stays empty.
 */
mm_heap mm_shared_cache = {.lists_lock = MM_LOCK_INITIALIZER(MM_LOCK_SHARED_CACHE)};
static _Atomic size_t all_slab_bytes;
static mm_retention all_slab_retention;

void mm_cache_slabs_added(size_t bytes)
{
    size_t now = atomic_fetch_add_explicit(&all_slab_bytes, bytes, memory_order_relaxed) + bytes;
    mm_retention_note(&all_slab_retention, now);
}

void mm_cache_slabs_removed(size_t bytes)
{
    atomic_fetch_sub_explicit(&all_slab_bytes, bytes, memory_order_relaxed);
}

/* A heap's own cache: a floor and a share of its slabs in use. The shared
 * cache: what the slabs of all heaps fell from their recent peak. */
static size_t cache_budget(const mm_heap *heap)
{
#if defined(MM_REALTIME)
    /* Real-time mode: a fixed budget, so one trim moves a bounded number of
     * slabs (a share of slab_bytes can fall by any amount at once). */
    return heap == &mm_shared_cache ? 0 : MM_HEAP_CACHE_BYTES;
#endif
    if (heap == &mm_shared_cache)
        return mm_retention_surplus(&all_slab_retention,
                                    atomic_load_explicit(&all_slab_bytes, memory_order_relaxed));
    return MM_HEAP_CACHE_BYTES + heap->slab_bytes / MM_HEAP_CACHE_SHARE;
}

/* An empty slab a heap's cache has no room for: to the shared cache, with a
 * clock; else, or from the shared cache itself, back to the system. Under
 * the lists_lock of `heap`. */
static void cache_overflow(const mm_heap *heap, mm_span *span)
{
    if (heap == &mm_shared_cache || !mm_retention_enabled()) {
        mm_span_destroy(span);
        return;
    }
    mm_lock_acquire(&mm_shared_cache.lists_lock);
    /* Release: see still_owned() in heap.c. */
    atomic_store_explicit(&span->owner, &mm_shared_cache, memory_order_release);
    mm_cache_put(&mm_shared_cache, span);
    mm_lock_release(&mm_shared_cache.lists_lock);
}

/* The cache's buckets: push onto and pop off the list of slabs of `pages`
 * pages, keeping empty_cache_bytes and the mask of non-empty buckets. */
static void cache_push(mm_heap *heap, size_t pages, mm_span *span)
{
    span->next = heap->empty_cache[pages];
    heap->empty_cache[pages] = span;
    heap->empty_cache_bytes += span->bytes;
    heap->empty_cache_mask |= (uint32_t)1 << pages;
}

static mm_span *cache_pop(mm_heap *heap, size_t pages)
{
    mm_span *span = heap->empty_cache[pages];
    MM_ASSERT(span != NULL && heap->empty_cache_bytes >= span->bytes &&
              span->list == MM_LIST_NONE);
    heap->empty_cache[pages] = span->next;
    heap->empty_cache_bytes -= span->bytes;
    if (span->next == NULL)
        heap->empty_cache_mask &= ~((uint32_t)1 << pages);
    return span;
}

/* Move cached slabs out (to the shared cache, or from it back to the
 * system), largest first, until the cache holds at most `limit` bytes.
 * O(1) per slab moved. */
void mm_cache_shrink(mm_heap *heap, size_t limit)
{
    while (heap->empty_cache_bytes > limit) {
        MM_ASSERT(heap->empty_cache_mask != 0);
        size_t pages = 31u - (unsigned)__builtin_clz(heap->empty_cache_mask);
        cache_overflow(heap, cache_pop(heap, pages));
    }
}

/* Make room in the budget for `extra` more bytes. */
void mm_cache_trim(mm_heap *heap, size_t extra)
{
    size_t budget = cache_budget(heap);
    mm_cache_shrink(heap, budget > extra ? budget - extra : 0);
}

void mm_cache_put(mm_heap *heap, mm_span *span)
{
    MM_ASSERT(atomic_load_explicit(&heap->lists_lock.held, memory_order_relaxed) != 0);
    /* (parked and the remote-free word may be stale: a claimed slab keeps
     * them until mm_slab_format) */
    MM_ASSERT(span->list == MM_LIST_NONE && span->kind == MM_SPAN_SLAB);
    MM_ASSERT(atomic_load_explicit(&span->owner, memory_order_relaxed) == heap);
    size_t pages = span->bytes >> MM_PAGE_SHIFT;
    if (heap == &mm_shared_cache)
        mm_retention_advance(&all_slab_retention,
                             atomic_load_explicit(&all_slab_bytes, memory_order_relaxed));
    if (span->bytes > cache_budget(heap)) {
        cache_overflow(heap, span);
        return;
    }
    mm_cache_trim(heap, span->bytes);
    cache_push(heap, pages, span);
}

/* A cached slab for class `c`, which would like `pages` pages: the one
 * nearest that size (larger first) that holds a block and whose tail wastes
 * at most 1/4 (growth and the 1/8 of fresh slabs are only optimisations; a
 * cached slab reused is one less to map and fill). The mask of non-empty
 * buckets gives, by bit scans, the nearest non-empty bucket above (at or
 * from `pages`) and below: one look, and a division, per non-empty bucket,
 * at most MM_SLAB_MAX_PAGES + 1. */
static mm_span *cache_take_locked(mm_heap *heap, unsigned c, size_t pages)
{
    MM_ASSERT(pages >= 1 && pages <= MM_SLAB_MAX_PAGES);
    uint32_t above = heap->empty_cache_mask >> pages; /* bit d: bucket pages + d */
    uint32_t below = heap->empty_cache_mask & (((uint32_t)1 << pages) - 1);
    size_t size = mm_class_size(c);
    while ((above | below) != 0) {
        size_t up = above != 0 ? (unsigned)__builtin_ctz(above) : MM_SLAB_MAX_PAGES + 1;
        size_t down = below != 0 ? pages - (31u - (unsigned)__builtin_clz(below))
                                 : MM_SLAB_MAX_PAGES + 1;
        size_t p;
        if (up <= down) {
            p = pages + up;
            above &= above - 1;
        } else {
            p = pages - down;
            below &= ~((uint32_t)1 << p);
        }
        size_t bytes = heap->empty_cache[p]->bytes;
        if (bytes >= size && bytes % size * 4 <= bytes)
            return cache_pop(heap, p);
    }
    return NULL;
}

void mm_cache_flush(mm_heap *heap)
{
    mm_span *all = NULL;
    while (heap->empty_cache_mask != 0) {
        mm_span *span = cache_pop(heap, (unsigned)__builtin_ctz(heap->empty_cache_mask));
        span->next = all;
        all = span;
    }
    MM_ASSERT(heap->empty_cache_bytes == 0);
    mm_span_destroy_list(all);
}

void mm_cache_adopt_empty(mm_heap *heap, mm_span *span)
{
    if (heap == NULL || !mm_retention_enabled()) {
        mm_span_destroy(span);
        return;
    }
    mm_lock_acquire(&heap->lists_lock);
    /* Release: see still_owned() in heap.c. A checked free that finds the new owner
     * waits for this lock and then sees the slab cached (or unmapped). */
    atomic_store_explicit(&span->owner, heap, memory_order_release);
    mm_cache_put(heap, span);
    mm_lock_release(&heap->lists_lock);
}

/* An empty slab for class `c` near `pages` pages out of `heap`'s cache,
 * under its lists_lock, or NULL. From the shared cache, the slab stays
 * owned by it until bin_add_current makes it the caller's. */
mm_span *mm_cache_take(mm_heap *heap, unsigned c, size_t pages)
{
    mm_lock_acquire(&heap->lists_lock);
    mm_span *span = cache_take_locked(heap, c, pages);
    mm_lock_release(&heap->lists_lock);
    return span;
}


void mm_shared_cache_flush(void)
{
    mm_lock_acquire(&mm_shared_cache.lists_lock);
    mm_cache_flush(&mm_shared_cache);
    mm_retention_reset(&all_slab_retention,
                       atomic_load_explicit(&all_slab_bytes, memory_order_relaxed));
    mm_lock_release(&mm_shared_cache.lists_lock);
}
