/*
 * large.c: large blocks and their cache (see large.h).
 *
 * The cache keeps at most MM_LARGE_CACHE_SLOTS regions whose bytes add up to
 * at most MM_LARGE_CACHE_BASE plus the bytes of large blocks in use, so that
 * what it holds stays proportionate to what the program uses (large blocks
 * and their cache together hold at most twice the live large bytes plus the
 * base). A cached region serves a request that needs between half of it and
 * all of it. Everything is under one spin lock, taken only on the large path
 * (which maps or unmaps anyway); all operations are O(MM_LARGE_CACHE_SLOTS).
 */
#include "core/large.h"
#include "core/identity.h"
#include "core/lock.h"
#include "core/span.h"

#define MM_LARGE_CACHE_SLOTS 8
#define MM_LARGE_CACHE_BASE ((size_t)256 << 10)

static struct {
    mm_lock lock;
    mm_span *head;     /* most recently freed first, linked by ->next */
    unsigned count;
    size_t bytes;
    size_t live_bytes; /* bytes of large blocks in use */
} large;

static mm_span *large_cache_take(size_t bytes)
{
    for (mm_span **link = &large.head; *link != NULL; link = &(*link)->next) {
        mm_span *span = *link;
        if (span->bytes >= bytes && span->bytes / 2 <= bytes) {
            *link = span->next;
            large.count--;
            large.bytes -= span->bytes;
            return span;
        }
    }
    return NULL;
}

/* Drop the oldest cached regions until the cache fits its bounds; returns
 * them as a list to unmap outside the lock. */
static size_t large_cache_limit(void)
{
    return MM_LARGE_CACHE_BASE + large.live_bytes;
}

/* Drop the oldest cached regions until one of `extra_bytes` more fits;
 * returns them as a list to unmap outside the lock. */
static mm_span *large_cache_make_room(size_t extra_bytes)
{
    mm_span *dropped = NULL;
    while (large.head != NULL &&
           (large.count >= MM_LARGE_CACHE_SLOTS || large.bytes + extra_bytes > large_cache_limit())) {
        mm_span **link = &large.head;
        while ((*link)->next != NULL)
            link = &(*link)->next;
        mm_span *oldest = *link;
        *link = NULL;
        large.count--;
        large.bytes -= oldest->bytes;
        oldest->next = dropped;
        dropped = oldest;
    }
    return dropped;
}

static void destroy_list(mm_span *list)
{
    while (list != NULL) {
        mm_span *next = list->next;
        mm_span_destroy(list);
        list = next;
    }
}

void *mm_large_malloc(size_t size)
{
    if (size > MM_LARGE_MAX)
        return NULL;
    size_t bytes = (size + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
    mm_lock_acquire(&large.lock);
    mm_span *span = large_cache_take(bytes);
    if (span != NULL)
        large.live_bytes += span->bytes;
    mm_lock_release(&large.lock);
    if (span != NULL)
        return span->base;

    span = mm_span_create(bytes, 1);
    if (span == NULL) {
        mm_reclaim(NULL);
        span = mm_span_create(bytes, 1);
        if (span == NULL)
            return NULL;
    }
    span->kind = MM_SPAN_LARGE;
    span->block_size = 0;
    mm_lock_acquire(&large.lock);
    large.live_bytes += span->bytes;
    mm_lock_release(&large.lock);
    return span->base;
}

void mm_large_free(mm_span *span)
{
    mm_span *dropped = NULL;
    mm_lock_acquire(&large.lock);
    large.live_bytes -= span->bytes;
    bool keep = span->bytes <= large_cache_limit();
    /* Trim to the new limit even when this region is not kept: live_bytes
     * just fell, and the cache must follow it down. */
    dropped = large_cache_make_room(keep ? span->bytes : 0);
    if (keep) {
        span->next = large.head;
        large.head = span;
        large.count++;
        large.bytes += span->bytes;
    }
    mm_lock_release(&large.lock);
    destroy_list(dropped);
    if (!keep)
        mm_span_destroy(span);
}

void mm_large_cache_flush(void)
{
    mm_lock_acquire(&large.lock);
    mm_span *list = large.head;
    large.head = NULL;
    large.count = 0;
    large.bytes = 0;
    mm_lock_release(&large.lock);
    destroy_list(list);
}
