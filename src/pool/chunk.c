/*
 * chunk.c: the spans of the pools, every mapping a pool holds, and the
 * shared cache of chunks that cleared and destroyed pools leave for new
 * ones.
 *
 * A span comes from mm_prim_map (counted in the bytes held), aligned to
 * what its user asks: a slab of a fixed-size pool to its size, so that the
 * pool finds a slab's start from an object's address. Where the platform
 * unmaps parts of a mapping (mm_prim_unmaps_across_regions: the hosted
 * munmap), the slack before and after the aligned range goes back at once,
 * and every chunk is aligned (pool_chunk_align), so that any cached chunk
 * can become a slab; elsewhere a span keeps its whole mapping (address
 * space of up to one more alignment) and gives it back whole, so only
 * slabs are aligned there. A span for a NUMA node is bound
 * (mm_prim_bind_node) before anything touches its pages, so each page is
 * placed on the node at its first touch.
 *
 * The cache holds chunks only, one list per node (and one for unbound
 * chunks) and alignment, at most POOL_CACHE_MAX_BYTES in all; a chunk is
 * handed out again only for its own node. When the system refuses a
 * mapping, the cache goes back to it and the mapping is tried again. The
 * cache is guarded by one lock (MM_LOCK_POOL_CHUNKS), held for list
 * operations and never across a system call.
 */
#include "pool/pool_internal.h"

static mm_lock cache_lock = MM_LOCK_INITIALIZER(MM_LOCK_POOL_CHUNKS);
static pool_span *cache[2][POOL_MAX_NODES + 1]; /* [chunk-aligned][node + 1] */
static size_t cache_bytes;

static bool is_aligned(const pool_span *span)
{
    return ((uintptr_t)span & (POOL_CHUNK_BYTES - 1)) == 0;
}

/* A cached chunk of `node` aligned to `align`: a page-aligned one is
 * taken first when that is enough. */
static pool_span *cache_pop(int node, size_t align)
{
    mm_lock_acquire(&cache_lock);
    pool_span **list = &cache[0][node + 1];
    if (*list == NULL || align == POOL_CHUNK_BYTES)
        list = &cache[1][node + 1];
    pool_span *span = *list;
    if (span != NULL) {
        *list = span->next;
        cache_bytes -= POOL_CHUNK_BYTES;
    }
    mm_lock_release(&cache_lock);
    return span;
}

static bool cache_push(pool_span *span)
{
    mm_lock_acquire(&cache_lock);
    bool room = cache_bytes + POOL_CHUNK_BYTES <= POOL_CACHE_MAX_BYTES;
    if (room) {
        pool_span **list = &cache[is_aligned(span)][span->node + 1];
        span->next = *list;
        *list = span;
        cache_bytes += POOL_CHUNK_BYTES;
    }
    mm_lock_release(&cache_lock);
    return room;
}

/* Any cached chunk, taken out of the cache; NULL when it is empty. */
static pool_span *cache_take_any(void)
{
    pool_span *span = NULL;
    mm_lock_acquire(&cache_lock);
    for (int i = 0; i < 2 * (POOL_MAX_NODES + 1) && span == NULL; i++) {
        pool_span **list = &cache[i & 1][i >> 1];
        if ((span = *list) != NULL) {
            *list = span->next;
            cache_bytes -= POOL_CHUNK_BYTES;
        }
    }
    mm_lock_release(&cache_lock);
    return span;
}

/* `bytes` at a multiple of `align`, from a fresh mapping. */
static pool_span *map_aligned(size_t bytes, size_t align)
{
    size_t slack = align - MM_PAGE_SIZE;
    if (bytes > SIZE_MAX - slack)
        return NULL;
    char *base = mm_prim_map(bytes + slack);
    if (base == NULL)
        return NULL;
    char *start = (char *)pool_round_up((uintptr_t)base, align);
    pool_span *span = (pool_span *)start;
    if (slack != 0 && mm_prim_unmaps_across_regions()) {
        if (start > base)
            mm_prim_unmap(base, (size_t)(start - base));
        if (base + slack > start)
            mm_prim_unmap(start + bytes, (size_t)(base + slack - start));
        span->map_base = start;
        span->map_bytes = bytes;
    } else {
        span->map_base = base;
        span->map_bytes = bytes + slack;
    }
    return span;
}

pool_span *pool_span_acquire(size_t bytes, size_t align, int node)
{
    MM_ASSERT(bytes % MM_PAGE_SIZE == 0 && align >= MM_PAGE_SIZE && (align & (align - 1)) == 0);
    MM_ASSERT(node >= -1 && node < POOL_MAX_NODES);
    pool_span *span = NULL;
    if (bytes == POOL_CHUNK_BYTES && align <= POOL_CHUNK_BYTES)
        span = cache_pop(node, align);
    if (span != NULL) {
        mm_track_defined(span, bytes);
        span->next = NULL;
        return span;
    }
    span = map_aligned(bytes, align);
    if (span == NULL) {
        pool_trim(); /* what the cache holds may be all there is */
        if ((span = map_aligned(bytes, align)) == NULL)
            return NULL;
    }
    if (node >= 0 && mm_prim_bind_node(span, bytes, node) != 0) {
        mm_prim_unmap(span->map_base, span->map_bytes);
        return NULL;
    }
    span->bytes = bytes;
    span->next = NULL;
    span->node = node;
    return span;
}

/* A cached chunk is poisoned but for its record: a pointer kept into a
 * destroyed pool is reported under ASan until a new pool takes the chunk.
 * Before unmapping, the shadow goes back to addressable for the next user
 * of the addresses. */
void pool_span_release(pool_span *span)
{
    if (span->bytes == POOL_CHUNK_BYTES) {
        mm_track_noaccess((char *)span + POOL_SPAN_HEADER, span->bytes - POOL_SPAN_HEADER);
        if (cache_push(span))
            return;
    }
    mm_track_defined(span, span->bytes);
    mm_prim_unmap(span->map_base, span->map_bytes);
}

MM_API void pool_trim(void)
{
    pool_span *span;
    while ((span = cache_take_any()) != NULL) {
        mm_track_defined(span, span->bytes);
        mm_prim_unmap(span->map_base, span->map_bytes);
    }
}
