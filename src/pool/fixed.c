/*
 * fixed.c: fixed-size pools (object_size > 0). Objects of `stride` bytes
 * (object_size rounded up to 16) are carved from slabs: spans of
 * slab_bytes (a chunk, or a power of two holding at least 8 objects)
 * aligned to their size, objects from POOL_SPAN_HEADER on. A free object
 * holds a link and the pool's free mark; free objects wait in the caches
 * of the slots (one, or one per CPU), then in the pool's depot.
 *
 * palloc pops the slot's cache; when it is empty, the depot refills it:
 * where the pool has one slot, with all the depot holds, else with a batch.
 * An empty depot takes a new slab (a kept one first) whose objects are all
 * linked and marked free at once (O(slab) once per slab: O(1) per object),
 * so every object of a slab in the set is free or live, never unknown.
 * Without memory, the other CPUs' caches are emptied into the depot before
 * palloc fails, so a pool holding fewer live objects than its capacity
 * finds one. pfree checks the pointer (an object's start, by a reciprocal;
 * in a slab of this pool, found in its slab set without touching the
 * pointer's memory; not marked free) and pushes it on the caller's slot; a
 * per-CPU cache that reaches two batches hands them all to the depot.
 * Every step is O(1) but a batch move (O(batch) once per batch) and a
 * slab's linking.
 *
 * Exactness of the double-free check: a second pfree is caught unless the
 * program wrote the free mark into the object itself, or two threads pfree
 * the same object at the same moment (the core's rule, README "Bad
 * pointers").
 */
#include "pool/pool_internal.h"

#define BATCH_BYTES ((size_t)16 << 10)
#define BATCH_MIN 4
#define BATCH_MAX 64

static void object_set(pool_object *obj, pool_object *next, uintptr_t mark)
{
    mm_track_defined(obj, sizeof *obj);
    obj->next = next;
    obj->mark = mark;
    mm_track_noaccess(obj, sizeof *obj);
}

/* ---- the slab set ---------------------------------------------------------- */

static void set_put(const pool_t *pool, pool_set *set, uintptr_t slab)
{
    size_t i = pool_set_home(pool, slab, set->mask);
    while (atomic_load_explicit(&set->entry[i], memory_order_relaxed) != 0)
        i = (i + 1) & set->mask;
    atomic_store_explicit(&set->entry[i], slab, memory_order_relaxed);
}

/* Under the pool lock: add a slab, doubling the table when it would be
 * more than half full. False when a bigger table cannot be had. */
static bool set_insert(pool_t *pool, uintptr_t slab)
{
    pool_set *set = atomic_load_explicit(&pool->set, memory_order_relaxed);
    if ((pool->set_count + 1) * 2 > set->mask + 1) {
        size_t entries = (set->mask + 1) * 2;
        size_t bytes = pool_round_up(POOL_SPAN_HEADER + sizeof(pool_set) + entries * sizeof(uintptr_t),
                                     MM_PAGE_SIZE);
        pool_span *span = pool_take_span(pool, bytes, MM_PAGE_SIZE, SPAN_SET);
        if (span == NULL)
            return false;
        span->next = pool->spans;
        pool->spans = span;
        pool_set *bigger = (pool_set *)((char *)span + POOL_SPAN_HEADER);
        bigger->mask = entries - 1;
        for (size_t i = 0; i < entries; i++)
            atomic_init(&bigger->entry[i], 0);
        for (size_t i = 0; i <= set->mask; i++) {
            uintptr_t entry = atomic_load_explicit(&set->entry[i], memory_order_relaxed);
            if (entry != 0)
                set_put(pool, bigger, entry);
        }
        atomic_store_explicit(&pool->set, bigger, memory_order_release);
        set = bigger;
    }
    set_put(pool, set, slab);
    pool->set_count++;
    return true;
}

static void set_reset(pool_t *pool)
{
    pool_set *set = pool->first_set;
    for (size_t i = 0; i <= set->mask; i++)
        atomic_store_explicit(&set->entry[i], 0, memory_order_relaxed);
    atomic_store_explicit(&pool->set, set, memory_order_release);
    pool->set_count = 0;
}

/* ---- slabs ---------------------------------------------------------------- */

/* Under the pool lock, with the depot empty: a slab (a kept one first,
 * else a new one) into the slab set, and all of its objects, marked free,
 * into the depot, in address order. False when memory cannot be had. */
static bool next_slab(pool_t *pool)
{
    pool_span *span = pool->spare;
    bool kept = span != NULL;
    if (kept)
        pool->spare = span->next;
    else if ((span = pool_take_span(pool, pool->slab_bytes, pool->slab_bytes, SPAN_SLAB)) == NULL)
        return false;
    if (!set_insert(pool, (uintptr_t)span)) {
        if (kept) {
            span->next = pool->spare;
            pool->spare = span;
        } else {
            pool_drop_span(pool, span);
        }
        return false;
    }
    span->next = pool->spans;
    pool->spans = span;
    if (!kept)
        mm_track_noaccess((char *)span + POOL_SPAN_HEADER, pool->slab_bytes - POOL_SPAN_HEADER);
    char *first = (char *)span + POOL_SPAN_HEADER;
    char *last = first + (pool->slab_objects - 1) * pool->stride;
    for (char *obj = first; obj < last; obj += pool->stride)
        object_set((pool_object *)obj, (pool_object *)(obj + pool->stride), pool->free_mark);
    object_set((pool_object *)last, NULL, pool->free_mark);
    pool->depot = (pool_object *)first;
    return true;
}

/* Under the pool lock, with the slot's cache empty: free objects into it
 * from the depot (a new slab's when it is empty): all of them where the
 * pool has one slot, else up to a batch. */
static void refill(pool_t *pool, pool_slot *slot)
{
    if (pool->depot == NULL && !next_slab(pool))
        return;
    pool_object *head = pool->depot;
    slot->cache.head = head;
    if (pool->slot_mask == 0) {
        pool->depot = NULL;
        return;
    }
    pool_object *tail = head, *next = pool_object_next(head);
    size_t count = 1;
    for (; count < pool->batch && next != NULL; count++) {
        tail = next;
        next = pool_object_next(tail);
    }
    pool->depot = next;
    object_set(tail, NULL, pool->free_mark);
    slot->cache.tail = tail;
    slot->cache.count = count;
}

/* Without any lock held: every CPU's cache into the depot. True if any
 * object moved. */
static bool gather_caches(pool_t *pool)
{
    bool moved = false;
    for (unsigned i = 0; i <= pool->slot_mask; i++) {
        pool_slot *slot = &pool->slots[i];
        mm_lock_acquire(&slot->lock);
        pool_object *head = slot->cache.head, *tail = slot->cache.tail;
        slot->cache.head = NULL;
        slot->cache.count = 0;
        mm_lock_release(&slot->lock);
        if (head == NULL)
            continue;
        mm_lock_acquire(&pool->lock);
        object_set(tail, pool->depot, pool->free_mark);
        pool->depot = head;
        mm_lock_release(&pool->lock);
        moved = true;
    }
    return moved;
}

/* The slot's cache is empty, or size is out of range. Leaves the slot. */
void *pool_fixed_alloc_slow(pool_t *pool, pool_slot *slot, size_t size)
{
    if (size - 1 >= pool->object_size && size != 0) {
        pool_slot_leave(pool, slot);
        mm_prim_error(MM_ERROR_INVALID);
        return NULL;
    }
    for (int attempt = 0;; attempt++) {
        if (slot->cache.head == NULL) {
            pool_lock(pool);
            refill(pool, slot);
            pool_unlock(pool);
        }
        if (slot->cache.head != NULL)
            return pool_cache_take(pool, slot);
        pool_slot_leave(pool, slot);
        /* Out of memory: objects other CPUs cache are this pool's too. */
        if (attempt > 0 || pool->slot_mask == 0 || !gather_caches(pool)) {
            mm_prim_error(MM_ERROR_NO_MEMORY);
            return NULL;
        }
        slot = pool_slot_enter(pool);
    }
}

/* ---- pfree ----------------------------------------------------------------- */

/* Under the pool lock not held, the slot's lock held: the whole cache to
 * the depot (a per-CPU cache that grew to two batches). */
static void flush_to_depot(pool_t *pool, pool_slot *slot)
{
    mm_lock_acquire(&pool->lock);
    object_set(slot->cache.tail, pool->depot, pool->free_mark);
    pool->depot = slot->cache.head;
    mm_lock_release(&pool->lock);
    slot->cache.head = NULL;
    slot->cache.count = 0;
}

int pool_fixed_free(pool_t *pool, void *ptr, bool checked)
{
    const char *problem = "pfree: invalid pointer";
    if (pool_fixed_is_object(pool, ptr)) {
        pool_object *obj = ptr;
        pool_slot *slot = pool_slot_enter(pool);
        bool track = mm_track_on();
        if (MM_LIKELY(!pool_object_marked(pool, obj, track))) {
            if (slot->cache.count++ == 0)
                slot->cache.tail = obj;
            pool_cache_push(pool, slot, obj, track);
            if (pool->slot_mask != 0 && slot->cache.count >= 2 * pool->batch)
                flush_to_depot(pool, slot);
            pool_slot_leave(pool, slot);
            return 0;
        }
        pool_slot_leave(pool, slot);
        problem = "pfree: double free";
    }
    if (!checked)
        mm_prim_bad_pointer(ptr, problem);
    return -1;
}

/* ---- life ------------------------------------------------------------------ */

/* With the pool to itself: every object is free again (`keep`: the pool
 * keeps its reserved slabs, or if fewer, slabs up to POOL_KEEP_BYTES with
 * its first span, to link anew) or gone (every slab back). */
void pool_fixed_reset(pool_t *pool, bool keep)
{
    for (unsigned i = 0; i <= pool->slot_mask; i++) {
        pool_slot *slot = &pool->slots[i];
        slot->cache.head = slot->cache.tail = NULL;
        slot->cache.count = 0;
        slot->blocks = 0;
    }
    pool->depot = NULL;
    set_reset(pool);
    pool_keep_spans(pool, SPAN_SLAB, pool->reserved_spans, keep);
}

/* The constants of a fixed-size pool and its reserved slabs. The pool's
 * first slab set is in place. False (ENOMEM) when the slabs for
 * `capacity` objects cannot be had; the pool then holds what it got. */
bool pool_fixed_init(pool_t *pool, size_t object_size, size_t capacity)
{
    MM_ASSERT(object_size > 0 && object_size <= POOL_MAX_OBJECT);
    size_t stride = pool_round_up(object_size < sizeof(pool_object) ? sizeof(pool_object)
                                                                    : object_size,
                                  POOL_ALIGN);
    size_t slab_bytes = POOL_CHUNK_BYTES;
    while (slab_bytes < POOL_SPAN_HEADER + 8 * stride)
        slab_bytes *= 2;
    pool->object_size = object_size;
    pool->stride = stride;
    pool->slab_bytes = slab_bytes;
    pool->slab_objects = (slab_bytes - POOL_SPAN_HEADER) / stride;
    pool->reciprocal = ((uint64_t)1 << POOL_RECIPROCAL_SHIFT) / stride + 1;
    pool->objects_bytes = pool->slab_objects * stride;
    pool->slab_start = ~(uintptr_t)(slab_bytes - 1);
    while (((size_t)1 << pool->slab_shift) < slab_bytes)
        pool->slab_shift++;
    pool->free_mark = (uintptr_t)pool ^ 0xF7EE0B1EC7F7EE0Bull;
    size_t batch = BATCH_BYTES / stride;
    pool->batch = batch < BATCH_MIN ? BATCH_MIN : batch > BATCH_MAX ? BATCH_MAX : batch;
    MM_ASSERT(slab_bytes <= ((size_t)1 << 24) && stride <= ((size_t)1 << 20));

    if (capacity > POOL_MAX_SIZE / stride) /* absurd: more than 2^46 bytes */
        return false;
    size_t slabs = (capacity + pool->slab_objects - 1) / pool->slab_objects;
    for (pool->reserved_spans = 0; pool->reserved_spans < slabs; pool->reserved_spans++) {
        pool_span *span = pool_take_span(pool, slab_bytes, slab_bytes, SPAN_SLAB);
        if (span == NULL)
            return false;
        mm_track_noaccess((char *)span + POOL_SPAN_HEADER, slab_bytes - POOL_SPAN_HEADER);
        span->next = pool->spare;
        pool->spare = span;
    }
    return true;
}

/* Objects handed out and not freed: the sum of the slots' counts. */
size_t pool_fixed_live(pool_t *pool)
{
    size_t live = 0;
    for (unsigned i = 0; i <= pool->slot_mask; i++) {
        pool_slot *slot = &pool->slots[i];
        if (pool->shared)
            mm_lock_acquire(&slot->lock);
        live += slot->blocks;
        if (pool->shared)
            mm_lock_release(&slot->lock);
    }
    return live;
}
