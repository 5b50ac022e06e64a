/*
 * region.c: region pools (object_size 0). palloc bumps a pointer through
 * the current region of its slot (pool_region_alloc, inline); this file is
 * what happens when the request does not fit: a region of its own for a
 * block above POOL_BIG_BLOCK, else a new chunk (one the pool kept at its
 * last clear, one from the shared cache, or a fresh mapping) as the slot's
 * current region. The rest of the old region is left unused: at most
 * POOL_BIG_BLOCK bytes of a chunk, 1/8.
 *
 * Invariants: every region and big block of the pool is on pool->spans,
 * the chunks kept for reuse on pool->spare, the first span (the pool's
 * header and first bump range) on neither; clear is O(spans). Under ASan
 * the part of a region not handed out is poisoned.
 */
#include "pool/pool_internal.h"

/* A block above POOL_BIG_BLOCK: a span of its own, given back at the
 * clear (it is not a chunk the slot could bump through). */
static void *big_block(pool_t *pool, size_t rounded)
{
    size_t bytes = pool_round_up(POOL_SPAN_HEADER + rounded, MM_PAGE_SIZE);
    pool_lock(pool);
    pool_span *span = pool_take_span(pool, bytes, MM_PAGE_SIZE, SPAN_BIG);
    if (span != NULL) {
        span->next = pool->spans;
        pool->spans = span;
    }
    pool_unlock(pool);
    return span != NULL ? (char *)span + POOL_SPAN_HEADER : NULL;
}

/* A chunk for `slot` to bump through: a kept one, else a cached or fresh
 * one. False when memory cannot be had. */
static bool next_region(pool_t *pool, pool_slot *slot)
{
    pool_lock(pool);
    pool_span *span = pool->spare;
    if (span != NULL)
        pool->spare = span->next;
    else
        span = pool_take_span(pool, POOL_CHUNK_BYTES, pool_chunk_align(), SPAN_REGION);
    if (span != NULL) {
        span->next = pool->spans;
        pool->spans = span;
    }
    pool_unlock(pool);
    if (span == NULL)
        return false;
    slot->bytes += (size_t)(slot->bump.cur - slot->bump.start);
    slot->bump.start = slot->bump.cur = (char *)span + POOL_SPAN_HEADER;
    slot->bump.end = (char *)span + span->bytes;
    mm_track_noaccess(slot->bump.cur, (size_t)(slot->bump.end - slot->bump.cur));
    return true;
}

void *pool_region_alloc_slow(pool_t *pool, pool_slot *slot, size_t size)
{
    if (size == 0)
        size = 1; /* a unique block, as mymalloc(0) */
    if (size > POOL_MAX_SIZE) {
        mm_prim_error(MM_ERROR_NO_MEMORY);
        return NULL;
    }
    size_t rounded = pool_round_up(size, POOL_ALIGN);
    char *block;
    if (rounded <= (size_t)(slot->bump.end - slot->bump.cur)) {
        block = slot->bump.cur;
        slot->bump.cur += rounded;
    } else if (rounded > POOL_BIG_BLOCK) {
        if ((block = big_block(pool, rounded)) != NULL)
            slot->bytes += rounded;
    } else if (next_region(pool, slot)) {
        block = slot->bump.cur;
        slot->bump.cur += rounded;
    } else {
        block = NULL;
    }
    if (block == NULL) {
        mm_prim_error(MM_ERROR_NO_MEMORY);
        return NULL;
    }
    slot->blocks++;
    return block;
}

/* With the pool to itself: every block goes back. `keep`: the first span
 * becomes slot 0's region again, and chunks up to POOL_KEEP_BYTES in all
 * (counting the first span and chunks kept before) stay on pool->spare;
 * else (destroy) every span but the first goes back. */
void pool_region_reset(pool_t *pool, bool keep)
{
    pool_keep_spans(pool, SPAN_REGION, 0, keep);
    for (unsigned i = 0; i <= pool->slot_mask; i++) {
        pool_slot *slot = &pool->slots[i];
        slot->bump.cur = slot->bump.end = slot->bump.start = NULL;
        slot->blocks = slot->bytes = 0;
    }
    if (keep) {
        char *end = (char *)pool->first + pool->first->bytes;
        pool->slots[0].bump.cur = pool->slots[0].bump.start = pool->first_bump;
        pool->slots[0].bump.end = end;
        mm_track_noaccess(pool->first_bump, (size_t)(end - pool->first_bump));
    }
}

static bool span_holds(const pool_span *span, const char *start, const void *ptr)
{
    return (const char *)ptr >= start && (const char *)ptr < (const char *)span + span->bytes;
}

/* Whether `ptr` lies in one of the pool's regions or big blocks (not in
 * a kept chunk). A walk of them, for pfree_checked. */
bool pool_region_contains(pool_t *pool, const void *ptr)
{
    pool_lock(pool);
    bool found = span_holds(pool->first, pool->first_bump, ptr);
    for (pool_span *span = pool->spans; span != NULL && !found; span = span->next)
        found = span_holds(span, (const char *)span + POOL_SPAN_HEADER, ptr);
    pool_unlock(pool);
    return found;
}
