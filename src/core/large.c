/*
 * large.c: large blocks and their cache (see large.h).
 *
 * The cache keeps at most MM_LARGE_CACHE_SLOTS regions. A cached region
 * serves a request that needs between half of it and all of it, and realloc
 * keeps a block in place down to half its region, so a live block's region
 * holds at most twice the bytes asked for (beyond-page alignment aside).
 * Without a clock the cache's bytes add up to at most MM_LARGE_CACHE_BASE
 * plus half the bytes of the regions of large blocks in use: large blocks and
 * their cache hold at most three times the live bytes asked for, plus the
 * base, which leaves room under the M5 rule's four for the small blocks'
 * rounding. With a clock (retain.h) the cache may hold the regions' bytes in
 * full, plus what those fell from their recent peak: speed for memory, where
 * no such rule applies; regions of huge pages only within that surplus
 * (large_cache_keeps).
 * Huge pages (huge_page_bytes) change three more things, for requests of at
 * least a huge page, which fault in at little cost:
 *   - before such a request maps a fresh region, the cache drops its oldest
 *     regions until it holds at most MM_LARGE_CACHE_BASE plus what large
 *     use, with the new block, is below its recent peak, so that large blocks
 *     and their cache never hold more than that peak;
 *   - a cached region more than twice the request serves it when none
 *     nearer does, cut to the request (rounded to huge pages) by unmapping
 *     its tail: no faults, and the tail goes back;
 *   - realloc moves a growing block's pages into its new region
 *     (mm_large_move) rather than copy them while holding both.
 * (Figures: docs/DECISIONS.md, "Large blocks and huge pages".)
 * Everything is under one spin lock, taken only on the large path (which
 * maps or unmaps anyway); all operations are O(MM_LARGE_CACHE_SLOTS), over
 * an array of the cached regions' lengths that the lock's holder reads in
 * one sweep, not the regions' descriptors.
 */
#include "core/large.h"
#include "core/identity.h"
#include "platform/lock.h"
#include "core/check.h"
#include "core/pagemap.h"
#include "core/retain.h"
#include "core/span.h"
#include "core/stats.h"

#define MM_LARGE_CACHE_SLOTS 128
#define MM_LARGE_CACHE_BASE ((size_t)256 << 10)

/* A cached region, with its length copied beside it. */
typedef struct {
    size_t bytes;
    mm_span *span;
} large_cached;

static struct {
    mm_lock lock;
    unsigned count;
    large_cached cached[MM_LARGE_CACHE_SLOTS]; /* the first count, oldest first */
    size_t bytes;      /* the cached regions' */
    size_t live_bytes; /* bytes of large blocks in use */
    mm_retention retention; /* of live_bytes */
} large = {.lock = MM_LOCK_INITIALIZER(MM_LOCK_LARGE_CACHE)};

/* Take `n` cached regions out from index `from` on, keeping the others'
 * order. Under the lock. */
static void cached_remove(unsigned from, unsigned n)
{
    MM_ASSERT(from + n <= large.count);
    for (unsigned i = from; i + n < large.count; i++)
        large.cached[i] = large.cached[i + n];
    large.count -= n;
}

/* The smallest cached region that holds `bytes` in at most twice as many;
 * else, for a request of huge pages, the smallest bigger one, cut to the
 * request: *tail_bytes (else 0) beyond its new end are the caller's to
 * unmap once it drops the lock (the platform that gives huge pages takes
 * part of a region back). Under the lock. */
static mm_span *large_cache_take(size_t bytes, size_t *tail_bytes)
{
    size_t huge = mm_prim_huge_page_bytes();
    bool may_cut = huge != 0 && bytes >= huge;
    /* Of regions of the same length, the most recently freed (<=). */
    size_t best_bytes = SIZE_MAX, cut_bytes = SIZE_MAX;
    unsigned best = MM_LARGE_CACHE_SLOTS, cut = MM_LARGE_CACHE_SLOTS;
    for (unsigned i = 0; i < large.count; i++) {
        size_t region = large.cached[i].bytes;
        if (region < bytes)
            continue;
        if (region / 2 <= bytes) {
            if (region <= best_bytes) {
                best = i;
                best_bytes = region;
            }
        } else if (may_cut && region <= cut_bytes) {
            cut = i;
            cut_bytes = region;
        }
    }
    bool cutting = best == MM_LARGE_CACHE_SLOTS && cut != MM_LARGE_CACHE_SLOTS;
    if (cutting)
        best = cut;
    *tail_bytes = 0;
    if (best == MM_LARGE_CACHE_SLOTS)
        return NULL;
    mm_span *span = large.cached[best].span;
    MM_ASSERT(span->bytes == large.cached[best].bytes);
    cached_remove(best, 1);
    large.bytes -= span->bytes;
    if (cutting) {
        size_t keep = (bytes + huge - 1) & ~(huge - 1);
        *tail_bytes = span->bytes - keep;
        span->bytes = keep;
        span->end = span->base + keep;
    }
    return span;
}

/* The base plus what large use, at `live` bytes, is below its recent peak:
 * all the cache may hold beside large blocks of huge pages. Under the lock. */
static size_t large_cache_peak_room(size_t live)
{
    return MM_LARGE_CACHE_BASE + mm_retention_surplus(&large.retention, live);
}

/* The most bytes the cache may hold now. */
static size_t large_cache_limit(void)
{
    if (!mm_retention_enabled())
        return MM_LARGE_CACHE_BASE + large.live_bytes / 2;
    return large.live_bytes + large_cache_peak_room(large.live_bytes);
}

/* Whether the cache keeps a freed block's region; under the lock. Only a
 * page-aligned block's: a cached region serves requests that want the block
 * at its base. A region of huge pages (huge_page_bytes) only within the
 * surplus, not the share of the live bytes: mapped afresh it costs a page
 * fault per huge page, while cached it holds all its memory. So a block
 * freed and asked for again still reuses its pages, but the cache does not
 * double what a program of big blocks holds. And never one that realloc
 * outgrew: a growing buffer is seldom asked for at its old size again. */
static bool large_cache_keeps(const mm_span *span, bool outgrown)
{
#if defined(MM_REALTIME)
    /* Real-time mode: the arena maps in O(1); a cache would only add walks. */
    (void)span;
    (void)outgrown;
    return false;
#endif
    if (span->block_start != span->base)
        return false;
    size_t huge = mm_prim_huge_page_bytes();
    if (huge == 0 || span->bytes < huge)
        return span->bytes <= large_cache_limit();
    return !outgrown && span->bytes <= large_cache_peak_room(large.live_bytes);
}

/* Under the lock: a block of region `bytes` handed out, and the peak noted
 * without the block it replaces. */
static void live_add(size_t bytes, const mm_span *replacing)
{
    large.live_bytes += bytes;
    mm_retention_note(&large.retention, large.live_bytes - (replacing != NULL ? replacing->bytes : 0));
}

/* Drop the oldest cached regions until one of `extra_bytes` more fits
 * within `limit` bytes and the slots; returns them as a list to unmap
 * outside the lock. */
static mm_span *large_cache_drop(size_t extra_bytes, size_t limit)
{
    mm_span *dropped = NULL;
    unsigned n = 0;
    while (n < large.count &&
           (large.count - n >= MM_LARGE_CACHE_SLOTS || large.bytes + extra_bytes > limit)) {
        mm_span *oldest = large.cached[n++].span;
        large.bytes -= oldest->bytes;
        oldest->next = dropped;
        dropped = oldest;
    }
    cached_remove(0, n);
    return dropped;
}

/* Hand out `span`'s block: mark it live for the double-free check. */
static void *hand_out(mm_span *span)
{
    atomic_store_explicit(&span->thread_free, 1, memory_order_relaxed);
    mm_stats_large((int64_t)mm_large_usable(span));
    return span->block_start;
}

void *mm_large_malloc(size_t size, size_t align, const mm_span *replacing, bool *fresh)
{
    if (size > MM_LARGE_MAX || align > MM_LARGE_MAX)
        return NULL;
    if (align < MM_PAGE_SIZE)
        align = MM_PAGE_SIZE;
    if (size == 0)
        size = 1; /* a block has a page, or it could sit at its region's end */
    /* Room for the block wherever the first aligned address falls. */
    size_t bytes = ((size + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1)) + (align - MM_PAGE_SIZE);
    mm_span *span = NULL;
    if (align == MM_PAGE_SIZE) {
        size_t tail_bytes;
        mm_lock_acquire(&large.lock);
        span = large_cache_take(bytes, &tail_bytes);
        if (span != NULL)
            live_add(span->bytes, replacing);
        mm_lock_release(&large.lock);
        if (span != NULL && tail_bytes > 0)
            mm_prim_unmap(span->base + span->bytes, tail_bytes);
    }
    *fresh = span == NULL;
    if (span != NULL)
        return hand_out(span);

    size_t huge = mm_prim_huge_page_bytes();
    if (huge != 0 && bytes >= huge) {
        /* Huge pages fault in cheaply: rather than map this beside cached
         * regions beyond the recent peak, give those back first. (Not for
         * smaller requests: their regions fault in a page at a time, so a
         * cached one is worth keeping.) */
        mm_lock_acquire(&large.lock);
        size_t live_after = large.live_bytes + bytes - (replacing != NULL ? replacing->bytes : 0);
        mm_span *dropped = large_cache_drop(0, large_cache_peak_room(live_after));
        mm_lock_release(&large.lock);
        mm_span_destroy_list(dropped);
    }
    span = mm_span_create(bytes, align, 1);
#if defined(MM_REALTIME)
    if (span == NULL) /* real-time mode: no reclaim, which walks every slab */
        return NULL;
#endif
    if (span == NULL) {
        mm_reclaim(NULL);
        span = mm_span_create(bytes, align, 1);
        if (span == NULL)
            return NULL;
    }
    MM_SPAN_SET(span, kind, MM_SPAN_LARGE);
    MM_SPAN_SET(span, block_size, 0);
    /* The block ends where the request does (rounded to pages); an
     * over-aligned block's region has unused address space beyond it. */
    span->end = span->block_start + (bytes - (align - MM_PAGE_SIZE));
    mm_lock_acquire(&large.lock);
    live_add(span->bytes, replacing);
    mm_lock_release(&large.lock);
    return hand_out(span);
}

bool mm_large_move(mm_span *span, void *to)
{
    size_t huge = mm_prim_huge_page_bytes();
    if (huge == 0 || span->bytes < huge || span->block_start != span->base ||
        span->end != span->base + span->bytes)
        return false;
    /* The page map forgets the region before its addresses can be mapped
     * again by anyone; if the move fails, the entry comes back (its node
     * exists, so setting it cannot fail). */
    mm_pagemap_clear(span->base, 1);
    if (!mm_prim_move_pages(span->base, span->bytes, to)) {
        (void)mm_pagemap_set(span->base, 1, span);
        return false;
    }
    mm_stats_large(-(int64_t)mm_large_usable(span));
    mm_lock_acquire(&large.lock);
    large.live_bytes -= span->bytes;
    mm_lock_release(&large.lock);
    mm_span_forget(span);
    return true;
}

bool mm_large_free(mm_span *span, bool outgrown)
{
    /* The exchange decides between two frees of the same block. */
    if (atomic_exchange_explicit(&span->thread_free, 0, memory_order_relaxed) != 1)
        return false;
    mm_stats_large(-(int64_t)mm_large_usable(span));
    mm_span *dropped = NULL;
    mm_lock_acquire(&large.lock);
    large.live_bytes -= span->bytes;
    mm_retention_advance(&large.retention, large.live_bytes);
    bool keep = large_cache_keeps(span, outgrown);
    /* Trim to the new limit even when this region is not kept: live_bytes
     * just fell, and the cache must follow it down. */
    dropped = large_cache_drop(keep ? span->bytes : 0, large_cache_limit());
    if (keep) {
        /* An over-aligned block that fell at the base leaves the whole
         * region usable by the next one. */
        span->end = span->base + span->bytes;
        MM_ASSERT(large.count < MM_LARGE_CACHE_SLOTS);
        large.cached[large.count++] = (large_cached){.bytes = span->bytes, .span = span};
        large.bytes += span->bytes;
    }
    mm_lock_release(&large.lock);
    mm_span_destroy_list(dropped);
    /* cppcheck-suppress knownConditionTrueFalse ; the real-time mode keeps none */
    if (!keep)
        mm_span_destroy(span);
    return true;
}

void mm_large_verify(mm_verifier *v)
{
    unsigned count = 0;
    size_t bytes = 0;
    mm_lock_acquire(&large.lock);
    for (; count < large.count && count < MM_LARGE_CACHE_SLOTS; count++) {
        const mm_span *span = large.cached[count].span;
        if (span->kind != MM_SPAN_LARGE || span->bytes != large.cached[count].bytes ||
            atomic_load_explicit(&span->thread_free, memory_order_relaxed) != 0 ||
            mm_pagemap_lookup(span->block_start) != span)
            mm_verify_fail(v,
                           "cached large region: wrong kind or length, handed out, or not in the "
                           "page map",
                           span->base);
        bytes += span->bytes;
    }
    if (count != large.count || bytes != large.bytes)
        mm_verify_fail(v, "large-block cache count or bytes wrong", &large);
    mm_lock_release(&large.lock);
}

void mm_large_cache_flush(void)
{
    mm_lock_acquire(&large.lock);
    mm_span *list = NULL;
    for (unsigned i = 0; i < large.count; i++) {
        large.cached[i].span->next = list;
        list = large.cached[i].span;
    }
    large.count = 0;
    large.bytes = 0;
    mm_retention_reset(&large.retention, large.live_bytes);
    mm_lock_release(&large.lock);
    mm_span_destroy_list(list);
}

void mm_large_lock(void)
{
    mm_lock_acquire(&large.lock);
}

void mm_large_unlock(void)
{
    mm_lock_release(&large.lock);
}
