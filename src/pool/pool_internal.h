/*
 * pool_internal.h: the structures of the pools (include/mymalloc/pool.h)
 * and what their files share. chunk.c owns the spans (every mapping a pool
 * holds) and their shared cache; region.c the bump allocation of region
 * pools; fixed.c the objects, slabs and caches of fixed-size pools; pool.c
 * the life of a pool (create, clear, destroy, cleanups, sub-pools, the set
 * of live pools) and the entry points.
 *
 * Invariants:
 *  - every span starts with its pool_span record, is aligned to at least a
 *    page (a slab to its size), and is bound to span->node;
 *  - a pool's header lives in its first span, after the record, its slots
 *    at its end; then the first cleanup records, then (fixed-size) the first
 *    table of its slab set, then (region) the first bump range;
 *  - slot->bump.cur <= slot->bump.end, both 16-byte aligned (or both NULL);
 *  - a fixed-size pool's objects are at slab + POOL_SPAN_HEADER + i * stride
 *    for i < slab_objects, the slab aligned to slab_bytes; every object of
 *    a slab in the pool's slab set is free (it holds its free-list link and
 *    the pool's free mark) or live (handed out; it never holds the mark in
 *    that word unless the program wrote it): a slab's objects are all
 *    linked into the depot when it enters the set.
 * Locks (platform/lock.h): a POOL_SHARED pool's slot lock, then its pool
 * lock, then the chunk cache's lock; the registry alone. A pool without
 * POOL_SHARED takes only its pool lock and the chunk cache's, on slow paths.
 */
#ifndef MM_POOL_INTERNAL_H
#define MM_POOL_INTERNAL_H

#include "mymalloc/pool.h"
#include "platform/lock.h"
#include "platform/platform.h"
#include "platform/track.h"

#define POOL_CHUNK_SHIFT 16
#define POOL_CHUNK_BYTES ((size_t)1 << POOL_CHUNK_SHIFT) /* a region, a slab, a cached span */
#define POOL_SPAN_HEADER ((size_t)64)                    /* the pool_span record, padded */
#define POOL_ALIGN ((size_t)16)
#define POOL_BIG_BLOCK ((size_t)8 << 10)  /* region blocks above get a span of their own */
#define POOL_KEEP_BYTES ((size_t)256 << 10) /* what a cleared pool keeps without a capacity */
#define POOL_MAX_SIZE ((size_t)1 << 46)   /* larger requests fail (ENOMEM), as mymalloc's */
#define POOL_MAX_OBJECT ((size_t)1 << 20)
#define POOL_CACHE_MAX_BYTES ((size_t)8 << 20) /* the shared cache of chunks */
#define POOL_MAX_NODES 64
#define POOL_MAX_SLOTS 64
#define POOL_META_BYTES ((size_t)1024)   /* cleanup records in the first span */
#define POOL_SET_FIRST 128               /* entries of a fixed-size pool's first slab set */
#define POOL_MAGIC 0x706f6f6c6c697665ull /* "poollive" */

static inline size_t pool_round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

/* ---- memory checkers (platform/track.h) -----------------------------------
 * Under ASan and memcheck, memory a pool holds but has not handed out is
 * unaddressable: a region's unused and cleared ranges, free objects, cached
 * chunks. The pool's own accesses to free memory (free-list links, marks)
 * make the words they touch addressable around the access. For memcheck
 * each pool is a mempool: palloc hands out a chunk of it, pfree frees one,
 * pool_clear and pool_destroy free them all at once. */

/* ---- spans (chunk.c) ------------------------------------------------------- */

enum pool_span_kind { SPAN_FIRST, SPAN_REGION, SPAN_BIG, SPAN_SLAB, SPAN_META, SPAN_SET };

typedef struct pool_span {
    void *map_base;         /* what goes back to mm_prim_unmap */
    size_t map_bytes;
    size_t bytes;           /* usable from the record on */
    struct pool_span *next; /* in a pool's list, or in the shared cache */
    int node;               /* bound to this node, or -1 */
    uint8_t kind;           /* enum pool_span_kind, while a pool holds it */
} pool_span;

/* `bytes` (a multiple of the page) aligned to `align` (a power of two, at
 * least a page) bound to `node` (-1: none); a cached chunk when bytes and
 * align are POOL_CHUNK_BYTES. NULL when memory cannot be had (or the
 * binding is refused). Unpoisoned. */
pool_span *pool_span_acquire(size_t bytes, size_t align, int node);
/* Give a span back: to the shared cache if it is a chunk and the cache has
 * room, else to the system. */
void pool_span_release(pool_span *span);

/* The alignment of chunks that need none of their own (regions, a pool's
 * first span): the chunk's size where trimming a mapping costs nothing but
 * system calls (every cached chunk can then become a slab), else a page. */
static inline size_t pool_chunk_align(void)
{
    return mm_prim_unmaps_across_regions() ? POOL_CHUNK_BYTES : MM_PAGE_SIZE;
}

/* ---- pools ----------------------------------------------------------------- */

typedef struct pool_object {
    struct pool_object *next; /* free list */
    uintptr_t mark;           /* the pool's free_mark while free */
} pool_object;

/* A bump range (region pools) or a cache of free objects (fixed-size
 * pools): one, or one per CPU with POOL_PER_CPU. A cache's tail and count
 * are kept only where there are several slots (they decide and make the
 * move of a cache to the depot); a pool with one slot never moves it. */
typedef struct pool_slot {
    mm_lock lock; /* POOL_SHARED: guards the rest */
    union {
        struct {
            char *cur, *end; /* the free rest of the current region */
            char *start;     /* where the current region's blocks begin */
        } bump;
        struct {
            pool_object *head, *tail; /* several slots: tail valid while count > 0 */
            size_t count;
        } cache;
    };
    size_t blocks; /* region: pallocs since the clear; fixed: pallocs - pfrees here (mod 2^64) */
    size_t bytes;  /* region: bytes handed out since the clear, but from start to cur */
} __attribute__((aligned(64))) pool_slot;

typedef struct pool_cleanup {
    void (*fn)(void *);
    void *arg;
    struct pool_cleanup *next;
} pool_cleanup;

/* The slabs of a fixed-size pool whose objects are in use (linked free or
 * handed out): open addressing, at most half
 * full. Entries are only added until the clear; a bigger table replaces a
 * full one, and the old stays mapped (a span of the pool) until the clear,
 * for a pfree that still reads it. */
typedef struct pool_set {
    size_t mask;                /* entries - 1 */
    _Atomic(uintptr_t) entry[]; /* slab addresses; 0: empty */
} pool_set;

struct mm_pool {
    uint64_t magic;     /* POOL_MAGIC while live */
    unsigned slot_mask; /* slots - 1, a power of two */
    bool shared, fixed;
    bool bump_only;     /* a region pool without POOL_SHARED: palloc's leaf fast path */
    bool local_objects; /* a fixed-size pool without POOL_SHARED: palloc's and pfree's */
    int node; /* pages bound to this node, or -1 */
    char name[32];

    /* Fixed-size pools: constants. */
    size_t object_size, stride, slab_bytes, slab_objects;
    size_t objects_bytes;  /* slab_objects * stride */
    uintptr_t slab_start;  /* ~(slab_bytes - 1): an address & slab_start is its slab */
    unsigned slab_shift;   /* slab_bytes == 1 << slab_shift */
    uint64_t reciprocal;  /* (off * reciprocal) >> 44 == off / stride for off < slab_bytes */
    uintptr_t free_mark;
    size_t batch;          /* objects moved between a CPU's cache and the depot */
    size_t reserved_spans; /* slabs (fixed) kept at the clear: the capacity */

    mm_lock lock; /* guards what follows (and a shared parent's child list) */
    pool_span *first;  /* the span holding this header */
    pool_span *spans;  /* regions and big blocks; slabs in the slab set */
    pool_span *spare;  /* regions, slabs not in use: kept by the clear or reserved */
    /* Changed under the lock (or by the pool's one thread); relaxed atomics
     * so that allocator_dump may read them from any thread. */
    _Atomic size_t held_bytes, span_count;
    pool_cleanup *cleanups;
    char *meta_cur, *meta_end; /* where the next cleanup record goes */
    pool_span *meta_spans;
    pool_t *parent, *children, *prev_sibling, *next_sibling;
    size_t child_count;
    char *first_bump; /* region: the first span's bump range starts here */

    /* Fixed-size pools: the depot (free objects no slot caches), the slab
     * set. */
    pool_object *depot;
    _Atomic(pool_set *) set; /* read without the lock by pfree's check */
    pool_set *first_set;     /* in the first span */
    size_t set_count;

    /* The slots, at a constant offset from the header (no pointer to load). */
    pool_slot slots[];
};

/* The slot of the caller: its CPU's under POOL_PER_CPU, the only one
 * otherwise; locked for a POOL_SHARED pool. The CPU is only a hint: any
 * slot is correct under its lock. Without a CPU number (the freestanding
 * build), a hash of the caller's stack spreads threads. */
static inline pool_slot *pool_slot_enter(pool_t *pool)
{
    pool_slot *slot = pool->slots;
    if (MM_LIKELY(!pool->shared))
        return slot;
    if (pool->slot_mask != 0) {
        int cpu = mm_prim_cpu_current();
        char here;
        uintptr_t spread = cpu >= 0 ? (uintptr_t)cpu
                                    : (((uintptr_t)&here >> 16) * 0x9E3779B97F4A7C15ull) >> 40;
        slot += spread & pool->slot_mask;
    }
    mm_lock_acquire(&slot->lock);
    return slot;
}

static inline void pool_slot_leave(pool_t *pool, pool_slot *slot)
{
    if (pool->shared)
        mm_lock_release(&slot->lock);
}

/* The pool lock, taken only by a POOL_SHARED pool: a pool of one thread
 * at a time needs none. */
static inline void pool_lock(pool_t *pool)
{
    if (pool->shared)
        mm_lock_acquire(&pool->lock);
}

static inline void pool_unlock(pool_t *pool)
{
    if (pool->shared)
        mm_lock_release(&pool->lock);
}

/* A span for the pool, on its node, counted in its figures; under the pool
 * lock (or with the pool to itself). NULL when memory cannot be had. The
 * caller links it into one of the pool's lists. */
pool_span *pool_take_span(pool_t *pool, size_t bytes, size_t align, enum pool_span_kind kind);
/* Give back a span the pool holds (unlinked by the caller). */
void pool_drop_span(pool_t *pool, pool_span *span);
/* With the pool to itself, at a clear (`keep`): its spans of `kind` move
 * to pool->spare while it keeps fewer than `reserved` spare spans, or at
 * most POOL_KEEP_BYTES with its first span and the spare ones; every other
 * span goes back. At a destroy (`keep` false): every span but the first
 * goes back, the spare ones too. O(spans). */
void pool_keep_spans(pool_t *pool, enum pool_span_kind kind, size_t reserved, bool keep);

/* allocator_dump's lines on the live pools, through `say` (printf-like):
 * a count, then each pool's name, kind, flags, parent and memory held.
 * Any thread, at any time: it reads only what pool_create set and the
 * relaxed held_bytes and span_count, under the registry lock, which keeps
 * every listed pool mapped. O(live pools). */
void mm_pool_report(void (*say)(const char *format, ...));

/* region.c */
void *pool_region_alloc_slow(pool_t *pool, pool_slot *slot, size_t size);
void pool_region_reset(pool_t *pool, bool keep);
bool pool_region_contains(pool_t *pool, const void *ptr);

static inline void *pool_region_alloc(pool_t *pool, size_t size)
{
    pool_slot *slot = pool_slot_enter(pool);
    char *cur = slot->bump.cur;
    void *block;
    /* 1 <= size <= room; room is a multiple of 16, so is the rounded size. */
    if (MM_LIKELY(size - 1 < (size_t)(slot->bump.end - cur))) {
        slot->bump.cur = cur + pool_round_up(size, POOL_ALIGN);
        slot->blocks++;
        block = cur;
    } else {
        block = pool_region_alloc_slow(pool, slot, size);
    }
    pool_slot_leave(pool, slot);
    if (block != NULL)
        mm_track_block_out(pool, block, size == 0 ? 1 : size, false);
    return block;
}

/* fixed.c */
void *pool_fixed_alloc_slow(pool_t *pool, pool_slot *slot, size_t size);
int pool_fixed_free(pool_t *pool, void *ptr, bool checked);
void pool_fixed_reset(pool_t *pool, bool keep);
bool pool_fixed_init(pool_t *pool, size_t object_size, size_t capacity);
size_t pool_fixed_live(pool_t *pool);

/* The link of free object `obj`, read where the checker has it unaddressable. */
static inline pool_object *pool_object_next(pool_object *obj)
{
    mm_track_defined(obj, sizeof *obj);
    pool_object *next = obj->next;
    mm_track_noaccess(obj, sizeof *obj);
    return next;
}

#define POOL_RECIPROCAL_SHIFT 44 /* exact for offsets below 2^24, strides up to 2^20 */

/* Where `slab` probes the slab set first: its number, hashed (a
 * multiplication) so that slabs spaced by a multiple of the table's size
 * do not meet. */
static inline size_t pool_set_home(const pool_t *pool, uintptr_t slab, size_t mask)
{
    return (size_t)(((slab >> pool->slab_shift) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* Whether `slab` is in the pool's slab set. Lock-free: the table is read
 * with acquire (its entries were written before it was published); an
 * entry is relaxed, as a slab reaches the set before any of its objects
 * is handed out, and the object reached the caller through some
 * synchronisation after that. */
static inline bool pool_set_contains(pool_t *pool, uintptr_t slab)
{
    pool_set *set = atomic_load_explicit(&pool->set, memory_order_acquire);
    for (size_t i = pool_set_home(pool, slab, set->mask);; i = (i + 1) & set->mask) {
        uintptr_t entry = atomic_load_explicit(&set->entry[i], memory_order_relaxed);
        if (entry == slab)
            return true;
        if (entry == 0)
            return false;
    }
}

/* Whether `ptr` is an object's start in a slab of this pool: checked
 * without reading the memory at `ptr`. (Free or live: the mark tells.)
 * The slab set, not the slab's header, proves the slab is the pool's: the
 * header of an address that is not a slab (a stack address, 16) may not
 * be mapped. */
static inline bool pool_fixed_is_object(pool_t *pool, const void *ptr)
{
    uintptr_t address = (uintptr_t)ptr;
    uintptr_t slab = address & pool->slab_start;
    uint64_t offset = address - slab - POOL_SPAN_HEADER; /* wraps when below the objects */
    return offset < pool->objects_bytes &&
           ((offset * pool->reciprocal) >> POOL_RECIPROCAL_SHIFT) * pool->stride == offset &&
           pool_set_contains(pool, slab);
}

/* The first object of the slot's cache (not empty), handed out. The
 * caller keeps the cache's count where the pool has several slots; `track`
 * is mm_track_on(), or false where the caller knows it. */
static inline void *pool_cache_pop(pool_t *pool, pool_slot *slot, bool track)
{
    pool_object *obj = slot->cache.head;
    if (MM_UNLIKELY(track))
        mm_track_defined(obj, sizeof *obj);
    slot->cache.head = obj->next;
    slot->blocks++;
    obj->mark = 0;
    if (MM_UNLIKELY(track)) {
        mm_track_noaccess(obj, sizeof *obj);
        mm_track_block_out(pool, obj, pool->object_size, false);
    }
    return obj;
}

/* Whether object `obj` of the pool (checked) carries the free mark, read
 * where a checker may hold it unaddressable; `track` is mm_track_on(), which
 * the caller tests once for this and the push. */
static inline bool pool_object_marked(pool_t *pool, pool_object *obj, bool track)
{
    if (MM_UNLIKELY(track))
        mm_track_defined(obj, sizeof *obj);
    if (MM_LIKELY(obj->mark != pool->free_mark))
        return false;
    if (MM_UNLIKELY(track))
        mm_track_noaccess(obj, sizeof *obj);
    return true;
}

/* Object `obj` of the pool (checked), not free, onto the slot's cache. The
 * caller keeps the cache's tail and count where the pool has several
 * slots. */
static inline void pool_cache_push(pool_t *pool, pool_slot *slot, pool_object *obj, bool track)
{
    obj->next = slot->cache.head;
    obj->mark = pool->free_mark;
    slot->cache.head = obj;
    slot->blocks--;
    if (MM_UNLIKELY(track))
        mm_track_block_freed(pool, obj, pool->stride);
}

/* The first object of the entered slot's cache (not empty), counted, and
 * the slot left. */
static inline void *pool_cache_take(pool_t *pool, pool_slot *slot)
{
    slot->cache.count--;
    void *obj = pool_cache_pop(pool, slot, mm_track_on());
    pool_slot_leave(pool, slot);
    return obj;
}

static inline void *pool_fixed_alloc(pool_t *pool, size_t size)
{
    pool_slot *slot = pool_slot_enter(pool);
    if (MM_LIKELY(slot->cache.head != NULL && size - 1 < pool->object_size))
        return pool_cache_take(pool, slot);
    return pool_fixed_alloc_slow(pool, slot, size);
}

#endif /* MM_POOL_INTERNAL_H */
