/*
 * pool.c: the life of a pool and the entry points of include/mymalloc/pool.h.
 *
 * A pool's header, its slots and its first cleanup records live in its
 * first span (pool_internal.h has the layout). pool_create checks the
 * config, resolves the placement, lays the header out and links the pool
 * into the set of live pools and under its parent. pool_clear runs the
 * cleanups, destroys the sub-pools and resets the kind's state
 * (region.c, fixed.c); pool_destroy does the same, then gives every span
 * back, the first one last.
 *
 * The set of live pools (open addressing on the header's address, under
 * MM_LOCK_POOL_REGISTRY, in a static table that grows into mapped pages)
 * lets pool_clear, pool_destroy, pool_stats and pool_create's parent be
 * checked before their memory is read: a destroyed pool's address is not
 * in it (unless a new pool took that address). It is touched by create,
 * clear, destroy and stats only, never by palloc or pfree.
 */
#include "platform/memops.h"
#include "pool/pool_internal.h"

/* ---- the set of live pools ------------------------------------------------- */

#define REGISTRY_FIRST 256

static mm_lock registry_lock = MM_LOCK_INITIALIZER(MM_LOCK_POOL_REGISTRY);
static uintptr_t registry_first[REGISTRY_FIRST];
static uintptr_t *registry = registry_first;
static size_t registry_mask = REGISTRY_FIRST - 1, registry_count;

static size_t registry_home(uintptr_t pool, size_t mask)
{
    /* Headers sit at the same offset of chunk-aligned spans. */
    return (size_t)(((pool >> POOL_CHUNK_SHIFT) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* Under the registry lock: the index of `pool`, or the empty slot where
 * it would go. */
static size_t registry_slot(uintptr_t pool)
{
    size_t i = registry_home(pool, registry_mask);
    while (registry[i] != 0 && registry[i] != pool)
        i = (i + 1) & registry_mask;
    return i;
}

static size_t registry_bytes(size_t mask)
{
    return pool_round_up((mask + 1) * sizeof(uintptr_t), MM_PAGE_SIZE);
}

/* Under the registry lock: move the set into a table of `entries`, mapped
 * (or the static one). False when the pages cannot be had. */
static bool registry_resize(size_t entries)
{
    uintptr_t *table = entries == REGISTRY_FIRST ? registry_first
                                                 : mm_prim_map(registry_bytes(entries - 1));
    if (table == NULL)
        return false;
    uintptr_t *old = registry;
    size_t old_mask = registry_mask;
    if (table == registry_first)
        mm_zero(table, sizeof registry_first);
    registry = table;
    registry_mask = entries - 1;
    for (size_t i = 0; i <= old_mask; i++)
        if (old[i] != 0)
            registry[registry_slot(old[i])] = old[i];
    if (old != registry_first)
        mm_prim_unmap(old, registry_bytes(old_mask));
    return true;
}

static bool registry_insert(pool_t *pool)
{
    mm_lock_acquire(&registry_lock);
    bool room = (registry_count + 1) * 2 <= registry_mask + 1 ||
                registry_resize((registry_mask + 1) * 2);
    if (room) {
        registry[registry_slot((uintptr_t)pool)] = (uintptr_t)pool;
        registry_count++;
    }
    mm_lock_release(&registry_lock);
    return room;
}

void mm_pool_report(void (*say)(const char *format, ...))
{
    mm_lock_acquire(&registry_lock);
    say("mymalloc:   pools: %zu live (name, kind, object size, flags)", registry_count);
    for (size_t i = 0; i <= registry_mask; i++) {
        const pool_t *pool = (const pool_t *)registry[i];
        if (pool == NULL)
            continue;
        say("mymalloc:     pool %p %-16s %-6s %7zu%s%s, parent %p: %zu bytes held in %zu spans",
            (const void *)pool, pool->name[0] != '\0' ? pool->name : "(no name)",
            pool->fixed ? "fixed" : "region", pool->object_size, pool->shared ? " shared" : "",
            pool->slot_mask != 0 ? " per-cpu" : "", (const void *)pool->parent,
            atomic_load_explicit(&pool->held_bytes, memory_order_relaxed),
            atomic_load_explicit(&pool->span_count, memory_order_relaxed));
    }
    mm_lock_release(&registry_lock);
}

static bool registry_contains(const pool_t *pool)
{
    mm_lock_acquire(&registry_lock);
    bool found = registry[registry_slot((uintptr_t)pool)] != 0;
    mm_lock_release(&registry_lock);
    return found;
}

/* Take `pool` out of the set; false if it was not in it. Backward-shift
 * deletion keeps every probe run unbroken; an empty set goes back to the
 * static table (its pages return to the system). */
static bool registry_remove(const pool_t *pool)
{
    mm_lock_acquire(&registry_lock);
    size_t hole = registry_slot((uintptr_t)pool);
    bool found = registry[hole] != 0;
    if (found) {
        for (size_t i = (hole + 1) & registry_mask; registry[i] != 0; i = (i + 1) & registry_mask) {
            size_t home = registry_home(registry[i], registry_mask);
            bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
            if (!stays) {
                registry[hole] = registry[i];
                hole = i;
            }
        }
        registry[hole] = 0;
        if (--registry_count == 0 && registry != registry_first)
            registry_resize(REGISTRY_FIRST);
    }
    mm_lock_release(&registry_lock);
    return found;
}

/* ---- spans of a pool ------------------------------------------------------- */

pool_span *pool_take_span(pool_t *pool, size_t bytes, size_t align, enum pool_span_kind kind)
{
    pool_span *span = pool_span_acquire(bytes, align, pool->node);
    if (span != NULL) {
        span->kind = (uint8_t)kind;
        atomic_fetch_add_explicit(&pool->held_bytes, span->bytes, memory_order_relaxed);
        atomic_fetch_add_explicit(&pool->span_count, 1, memory_order_relaxed);
    }
    return span;
}

void pool_drop_span(pool_t *pool, pool_span *span)
{
    atomic_fetch_sub_explicit(&pool->held_bytes, span->bytes, memory_order_relaxed);
    atomic_fetch_sub_explicit(&pool->span_count, 1, memory_order_relaxed);
    pool_span_release(span);
}

void pool_keep_spans(pool_t *pool, enum pool_span_kind kind, size_t reserved, bool keep)
{
    size_t kept_spans = 0, kept_bytes = pool->first->bytes;
    for (pool_span *span = pool->spare; span != NULL; span = span->next) {
        kept_spans++;
        kept_bytes += span->bytes;
    }
    pool_span *span = pool->spans;
    pool->spans = NULL;
    while (span != NULL) {
        pool_span *next = span->next;
        if (keep && span->kind == kind &&
            (kept_spans < reserved || kept_bytes + span->bytes <= POOL_KEEP_BYTES)) {
            kept_spans++;
            kept_bytes += span->bytes;
            mm_track_noaccess((char *)span + POOL_SPAN_HEADER, span->bytes - POOL_SPAN_HEADER);
            span->next = pool->spare;
            pool->spare = span;
        } else {
            pool_drop_span(pool, span);
        }
        span = next;
    }
    while (!keep && (span = pool->spare) != NULL) {
        pool->spare = span->next;
        pool_drop_span(pool, span);
    }
}

/* ---- life ------------------------------------------------------------------ */

static void *fail(enum mm_error error)
{
    mm_prim_error(error);
    return NULL;
}

/* The node a config places the pool on: -1 for none, -2 when the CPU or
 * node does not exist (or the platform knows none). numa_node wins over
 * cpu; a sub-pool without either takes its parent's. */
static int placement(const pool_config_t *config)
{
    if (config->cpu == -1 && config->numa_node == -1)
        return config->parent != NULL ? config->parent->node : -1;
    int node = -1;
    if (config->cpu != -1) {
        int cpus = mm_prim_cpu_count();
        if (config->cpu < 0 || cpus <= 0 || config->cpu >= cpus)
            return -2;
        node = mm_prim_node_of_cpu(config->cpu);
    }
    if (config->numa_node != -1) {
        int nodes = mm_prim_node_count();
        if (config->numa_node < 0 || nodes <= 0 || config->numa_node >= nodes)
            return -2;
        node = config->numa_node;
    }
    return node >= 0 && node < POOL_MAX_NODES ? node : -2;
}

static unsigned slot_count(const pool_config_t *config)
{
    if (!(config->flags & POOL_PER_CPU))
        return 1;
    int cpus = mm_prim_cpu_count();
    unsigned wanted = cpus > 0 ? (unsigned)cpus : 4, slots = 1;
    while (slots < wanted && slots < POOL_MAX_SLOTS)
        slots *= 2;
    return slots;
}

static bool config_is_valid(const pool_config_t *config)
{
    unsigned flags = config->flags;
    return (flags & ~(POOL_SHARED | POOL_PER_CPU)) == 0 &&
           (!(flags & POOL_PER_CPU) || (flags & POOL_SHARED)) &&
           config->object_size <= POOL_MAX_OBJECT &&
           (config->object_size != 0 || config->capacity == 0 || !(flags & POOL_PER_CPU));
}

static void empty_pool(pool_t *top, bool keep);

/* The last of a pool, emptied: its first span, which holds its header. */
static void give_back_header(pool_t *pool)
{
    mm_track_pool_destroy(pool);
    pool->magic = 0;
    pool_span_release(pool->first);
}

/* Give back everything of a pool that is out of the registry and of its
 * parent's list: its content, then its first span. */
static void release_pool(pool_t *pool)
{
    empty_pool(pool, false);
    give_back_header(pool);
}

MM_API pool_t *pool_create(const pool_config_t *config)
{
    pool_config_t c = config != NULL ? *config : POOL_CONFIG_DEFAULT;
    if (!config_is_valid(&c) || (c.parent != NULL && !registry_contains(c.parent)))
        return fail(MM_ERROR_INVALID);
    int node = placement(&c);
    if (node == -2)
        return fail(MM_ERROR_INVALID);
    if (c.object_size == 0 && c.capacity > POOL_MAX_SIZE)
        return fail(MM_ERROR_NO_MEMORY);

    unsigned slots = slot_count(&c);
    size_t meta = POOL_SPAN_HEADER + sizeof(pool_t) + slots * sizeof(pool_slot);
    size_t set = meta + POOL_META_BYTES;
    size_t prefix = c.object_size != 0
                        ? set + sizeof(pool_set) + POOL_SET_FIRST * sizeof(uintptr_t)
                        : set;
    size_t first_bytes = POOL_CHUNK_BYTES;
    if (c.object_size == 0 && prefix + c.capacity > POOL_CHUNK_BYTES)
        first_bytes = pool_round_up(prefix + c.capacity, MM_PAGE_SIZE);

    pool_span *first = pool_span_acquire(first_bytes, pool_chunk_align(), node);
    if (first == NULL)
        return fail(MM_ERROR_NO_MEMORY);
    first->kind = SPAN_FIRST;
    char *base = (char *)first;
    mm_zero(base + POOL_SPAN_HEADER, prefix - POOL_SPAN_HEADER);
    pool_t *pool = (pool_t *)(base + POOL_SPAN_HEADER);
    pool->slot_mask = slots - 1;
    pool->shared = (c.flags & POOL_SHARED) != 0;
    pool->fixed = c.object_size != 0;
    pool->bump_only = !pool->fixed && !pool->shared;
    pool->local_objects = pool->fixed && !pool->shared;
    pool->node = node;
    for (size_t i = 0; c.name != NULL && c.name[i] != '\0' && i + 1 < sizeof pool->name; i++)
        pool->name[i] = c.name[i];
    mm_lock_init(&pool->lock, MM_LOCK_POOL);
    for (unsigned i = 0; i < slots; i++)
        mm_lock_init(&pool->slots[i].lock, MM_LOCK_POOL_SLOT);
    pool->first = first;
    atomic_init(&pool->held_bytes, first->bytes);
    atomic_init(&pool->span_count, 1);
    pool->meta_cur = base + meta;
    pool->meta_end = base + set;
    pool->first_bump = base + prefix;
    pool->parent = c.parent;
    pool->magic = POOL_MAGIC;
    mm_track_pool_create(pool);
    if (pool->fixed) {
        pool->first_set = (pool_set *)(base + set);
        pool->first_set->mask = POOL_SET_FIRST - 1;
        atomic_init(&pool->set, pool->first_set);
        if (!pool_fixed_init(pool, c.object_size, c.capacity)) {
            release_pool(pool);
            return fail(MM_ERROR_NO_MEMORY);
        }
    } else {
        pool_region_reset(pool, true);
    }
    if (!registry_insert(pool)) {
        release_pool(pool);
        return fail(MM_ERROR_NO_MEMORY);
    }
    if (c.parent != NULL) {
        pool_t *parent = c.parent;
        pool_lock(parent);
        pool->next_sibling = parent->children;
        if (parent->children != NULL)
            parent->children->prev_sibling = pool;
        parent->children = pool;
        parent->child_count++;
        pool_unlock(parent);
    }
    return pool;
}

static void unlink_from_parent(pool_t *pool)
{
    pool_t *parent = pool->parent;
    if (parent == NULL)
        return;
    pool_lock(parent);
    if (pool->prev_sibling != NULL)
        pool->prev_sibling->next_sibling = pool->next_sibling;
    else
        parent->children = pool->next_sibling;
    if (pool->next_sibling != NULL)
        pool->next_sibling->prev_sibling = pool->prev_sibling;
    parent->child_count--;
    pool_unlock(parent);
}

/* Runs the pool's cleanups, last registered first (one registered by a
 * cleanup runs too). No lock is held while a cleanup runs. */
static void run_cleanups(pool_t *pool)
{
    for (;;) {
        pool_lock(pool);
        pool_cleanup *cleanup = pool->cleanups;
        if (cleanup != NULL)
            pool->cleanups = cleanup->next;
        pool_unlock(pool);
        if (cleanup == NULL)
            return;
        cleanup->fn(cleanup->arg);
    }
}

/* Gives back the pool's blocks and cleanup records (but what `keep`
 * keeps for the next use). */
static void reset_memory(pool_t *pool, bool keep)
{
    if (pool->fixed)
        pool_fixed_reset(pool, keep);
    else
        pool_region_reset(pool, keep);
    pool_span *span;
    while ((span = pool->meta_spans) != NULL) {
        pool->meta_spans = span->next;
        pool_drop_span(pool, span);
    }
    char *base = (char *)pool->first;
    pool->meta_cur = (char *)pool->slots + (pool->slot_mask + 1) * sizeof(pool_slot);
    pool->meta_end = base + (pool->meta_cur - base) + POOL_META_BYTES;
}

/* With `top` to itself: its cleanups, its sub-pools (newest first, each
 * the same way: cleanups, sub-pools, then the sub-pool itself given back),
 * its blocks and cleanup records. Depth first without recursion, so that a
 * tree of any depth takes constant stack: a sub-pool leaves the registry
 * and its parent's list before its cleanups run (a cleanup cannot destroy
 * it twice), its `parent` leads back up once its own sub-pools are gone,
 * and back there the parent's cleanups run again, for any a sub-pool's
 * cleanup registered on it. */
static void empty_pool(pool_t *top, bool keep)
{
    pool_t *pool = top;
    for (;;) {
        run_cleanups(pool);
        pool_t *child = pool->children;
        if (child != NULL) {
            registry_remove(child);
            unlink_from_parent(child);
            pool = child;
            continue;
        }
        if (pool == top)
            break;
        pool_t *parent = pool->parent;
        reset_memory(pool, false);
        give_back_header(pool);
        pool = parent;
    }
    reset_memory(top, keep);
}

MM_API void pool_clear(pool_t *pool)
{
    if (pool == NULL)
        return;
    if (!registry_contains(pool)) {
        mm_prim_bad_pointer(pool, "pool_clear: not a live pool");
        return;
    }
    empty_pool(pool, true);
    mm_track_pool_destroy(pool); /* every block freed at once */
    mm_track_pool_create(pool);
}

MM_API void pool_destroy(pool_t *pool)
{
    if (pool == NULL)
        return;
    if (!registry_remove(pool)) {
        mm_prim_bad_pointer(pool, "pool_destroy: not a live pool");
        return;
    }
    unlink_from_parent(pool);
    release_pool(pool);
}

MM_API int pool_cleanup_register(pool_t *pool, void (*fn)(void *), void *arg)
{
    MM_ASSERT(pool->magic == POOL_MAGIC);
    if (fn == NULL) {
        mm_prim_error(MM_ERROR_INVALID);
        return -1;
    }
    pool_lock(pool);
    if ((size_t)(pool->meta_end - pool->meta_cur) < sizeof(pool_cleanup)) {
        pool_span *span = pool_take_span(pool, POOL_CHUNK_BYTES, pool_chunk_align(), SPAN_META);
        if (span != NULL) {
            span->next = pool->meta_spans;
            pool->meta_spans = span;
            pool->meta_cur = (char *)span + POOL_SPAN_HEADER;
            pool->meta_end = (char *)span + span->bytes;
        }
    }
    pool_cleanup *cleanup = NULL;
    if ((size_t)(pool->meta_end - pool->meta_cur) >= sizeof(pool_cleanup)) {
        cleanup = (pool_cleanup *)pool->meta_cur;
        pool->meta_cur += pool_round_up(sizeof(pool_cleanup), POOL_ALIGN);
        cleanup->fn = fn;
        cleanup->arg = arg;
        cleanup->next = pool->cleanups;
        pool->cleanups = cleanup;
    }
    pool_unlock(pool);
    if (cleanup == NULL) {
        mm_prim_error(MM_ERROR_NO_MEMORY);
        return -1;
    }
    return 0;
}

/* ---- blocks ---------------------------------------------------------------- */

/* palloc but a bump in the region, or a pop from the cache, of a pool
 * without POOL_SHARED. */
static __attribute__((noinline)) void *palloc_other(pool_t *pool, size_t size)
{
    if (!pool->fixed)
        return pool_region_alloc(pool, size);
    return pool_fixed_alloc(pool, size);
}

/* A leaf in the common cases: APR's rule (one thread at a time) costs no
 * lock, and a bump or a pop needs no register saved. Under a memory checker
 * (platform/track.h), the general paths, which tell it. */
MM_API void *palloc(pool_t *pool, size_t size)
{
    MM_ASSERT(pool->magic == POOL_MAGIC);
    pool_slot *slot = pool->slots;
    if (MM_UNLIKELY(mm_track_on()))
        return palloc_other(pool, size);
    if (MM_LIKELY(pool->bump_only)) {
        char *cur = slot->bump.cur;
        if (MM_LIKELY(size - 1 < (size_t)(slot->bump.end - cur))) {
            slot->bump.cur = cur + pool_round_up(size, POOL_ALIGN);
            slot->blocks++;
            return cur;
        }
    } else if (pool->local_objects && slot->cache.head != NULL && size - 1 < pool->object_size) {
        return pool_cache_pop(pool, slot, false); /* one slot: no count kept */
    }
    return palloc_other(pool, size);
}

MM_API void *pcalloc(pool_t *pool, size_t size)
{
    void *block = palloc(pool, size);
    if (block != NULL)
        mm_zero(block, size);
    return block;
}

/* pfree but a push on the cache of a pool without POOL_SHARED. */
static __attribute__((noinline)) void pfree_other(pool_t *pool, void *ptr)
{
    if (pool->fixed && ptr != NULL)
        pool_fixed_free(pool, ptr, false);
}

/* A leaf in the common case, as palloc (and as palloc, the general path
 * under a memory checker). */
MM_API void pfree(pool_t *pool, void *ptr)
{
    MM_ASSERT(pool->magic == POOL_MAGIC);
    if (MM_LIKELY(pool->local_objects) && MM_LIKELY(!mm_track_on()) &&
        pool_fixed_is_object(pool, ptr)) {
        pool_object *obj = ptr;
        if (MM_LIKELY(obj->mark != pool->free_mark)) {
            pool_cache_push(pool, pool->slots, obj, false); /* one slot: no tail or count kept */
            return;
        }
    }
    pfree_other(pool, ptr); /* also reports a bad pointer */
}

MM_API int pfree_checked(pool_t *pool, void *ptr)
{
    MM_ASSERT(pool->magic == POOL_MAGIC);
    if (ptr == NULL)
        return 0;
    if (pool->fixed)
        return pool_fixed_free(pool, ptr, true);
    return pool_region_contains(pool, ptr) ? 0 : -1;
}

MM_API void *pmemdup(pool_t *pool, const void *src, size_t size)
{
    void *block = palloc(pool, size);
    if (block != NULL)
        mm_copy(block, src, size);
    return block;
}

MM_API char *pstrndup(pool_t *pool, const char *s, size_t n)
{
    size_t length = 0;
    while (length < n && s[length] != '\0')
        length++;
    char *copy = palloc(pool, length + 1);
    if (copy != NULL) {
        mm_copy(copy, s, length);
        copy[length] = '\0';
    }
    return copy;
}

MM_API char *pstrdup(pool_t *pool, const char *s)
{
    return pstrndup(pool, s, SIZE_MAX);
}

/* ---- figures --------------------------------------------------------------- */

MM_API const char *pool_name(const pool_t *pool)
{
    return pool->name;
}

MM_API pool_t *pool_parent(const pool_t *pool)
{
    return pool->parent;
}

MM_API int pool_stats(pool_t *pool, pool_stats_t *stats)
{
    if (!registry_contains(pool)) {
        mm_prim_error(MM_ERROR_INVALID);
        return -1;
    }
    size_t blocks = 0, bytes = 0;
    if (pool->fixed) {
        blocks = pool_fixed_live(pool);
        bytes = blocks * pool->stride;
    } else {
        for (unsigned i = 0; i <= pool->slot_mask; i++) {
            pool_slot *slot = &pool->slots[i];
            if (pool->shared)
                mm_lock_acquire(&slot->lock);
            blocks += slot->blocks;
            bytes += slot->bytes + (size_t)(slot->bump.cur - slot->bump.start);
            if (pool->shared)
                mm_lock_release(&slot->lock);
        }
    }
    pool_lock(pool);
    stats->bytes_held = atomic_load_explicit(&pool->held_bytes, memory_order_relaxed);
    stats->regions = atomic_load_explicit(&pool->span_count, memory_order_relaxed);
    stats->subpools = pool->child_count;
    pool_unlock(pool);
    stats->bytes_in_use = bytes;
    stats->blocks = blocks;
    return 0;
}
