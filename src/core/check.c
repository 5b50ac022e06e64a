/*
 * check.c: the state of a block (double-free detection, myfree_checked) and
 * the structural check behind allocator_verify. Slow paths only.
 *
 * What a checked free relies on (see check.h): a slab whose owner field
 * names a heap, and that the page map still sends the block to, is on that
 * heap's lists, in its empty cache, being claimed, or being formatted by
 * the owner; the owner changes and slabs leave the lists only under the
 * heap's lists_lock (heap.c, bin_add_current and the callers of bin_forget;
 * abandon clears the owner under it). The shared cache (cache.c) is such a
 * heap: it owns the slabs in its cache, which it takes from a heap under
 * both heaps' lists_locks and which stay its own, with no block out, until
 * a heap that took one makes it its own in bin_add_current. An abandoned
 * slab (no owner) is in its class's pool, or adopted and on its way to the
 * adopter's lists, or claimed and on its way to the claimer's empty cache
 * or to vmfree, and leaves the pool only under the pool's lock. Under the right lock, with
 * the owner unchanged and the page map still naming the descriptor, a slab
 * on a list stays mapped; one on no list has no block out.
 */
#include "core/check.h"
#include "core/cache.h"
#include "core/heap.h"
#include "core/identity.h"
#include "core/large.h"
#include "platform/lock.h"
#include "core/pagemap.h"
#include "core/remote.h"
#include "core/span.h"

/* The length of a free list, stopping at the first link that leaves the
 * slab's handed-out blocks or lacks its free mark (reported), or after
 * `limit` links (a cycle). Also tells whether `wanted` is on it. */
typedef struct list_walk {
    uint32_t length;
    bool found;
    bool broken;
} list_walk;

static list_walk walk_free_list(const mm_span *span, mm_block *head, const mm_block *wanted,
                                uint32_t limit)
{
    list_walk walk = {0, false, false};
    for (mm_block *block = head; block != NULL; block = block->next) {
        if (!mm_slab_block_start(span, block) || !mm_block_marked_free(block) ||
            walk.length == limit) {
            walk.broken = true;
            return walk;
        }
        walk.found |= block == wanted;
        walk.length++;
    }
    return walk;
}

static mm_block *remote_list(const mm_span *span)
{
    return mm_tf_list(atomic_load_explicit(&span->thread_free, memory_order_acquire));
}

/* Whether `block` is on a free list of `span`; the caller is the slab's user. */
static bool on_free_lists(const mm_span *span, const mm_block *block)
{
    mm_block *lists[3] = {span->free, span->local_free, remote_list(span)};
    for (unsigned i = 0; i < 3; i++)
        if (walk_free_list(span, lists[i], block, span->capacity).found)
            return true;
    return false;
}

static enum mm_block_state by_mark(mm_block *block)
{
    return mm_block_marked_free(block) ? MM_BLOCK_FREE : MM_BLOCK_LIVE;
}

/* Whether `span` still describes the slab in which `block` starts a block
 * ever handed out. Asked under the lock of the list the slab is on: the
 * slab cannot be unmapped, or its descriptor reused, meanwhile. */
static bool still_describes(mm_span *span, mm_block *block)
{
    return mm_pagemap_lookup(block) == span && MM_SPAN_GET(span, kind) == MM_SPAN_SLAB &&
           mm_slab_block_start(span, block);
}

enum mm_block_state mm_check_slab_block(const mm_heap *user, mm_span *span, mm_block *block)
{
    for (;;) {
        /* A slab with an owner is looked at under the owner's lists_lock;
         * one without, under its class's pool lock (abandoned slabs). */
        mm_heap *owner = atomic_load_explicit(&span->owner, memory_order_acquire);
        mm_lock *lock =
            owner != NULL ? &owner->lists_lock : mm_remote_pool_lock(MM_SPAN_GET(span, size_class));
        mm_lock_acquire(lock);
        bool settled = true;
        enum mm_block_state state = MM_BLOCK_INVALID;
        if (atomic_load_explicit(&span->owner, memory_order_relaxed) != owner)
            settled = false; /* abandoned or adopted meanwhile: look again */
        else if (!still_describes(span, block))
            state = MM_BLOCK_INVALID; /* unmapped, or reused for another slab */
        else if (owner == NULL && span->list != MM_LIST_POOL)
            settled = false; /* adopted, on its way to its new owner's lists */
        else if (owner == NULL)
            state = by_mark(block);
        else if (span->list == MM_LIST_NONE)
            state = MM_BLOCK_FREE; /* cached or being claimed: no block out */
        else if (owner == user)
            state = on_free_lists(span, block) ? MM_BLOCK_FREE : MM_BLOCK_LIVE;
        else
            state = by_mark(block);
        mm_lock_release(lock);
        if (settled)
            return state;
        mm_prim_relax();
    }
}

/* ---- allocator_verify --------------------------------------------------- */

void mm_verify_fail(mm_verifier *v, const char *what, const void *where)
{
    if (v->found++ < v->limit)
        v->report(what, where);
}

static void verify_slab_pages(mm_verifier *v, mm_span *span)
{
    for (size_t p = 0; p < span->bytes >> MM_PAGE_SHIFT; p++) {
        if (mm_pagemap_lookup(span->base + (p << MM_PAGE_SHIFT)) != span) {
            mm_verify_fail(v, "page map entry of a slab page does not name its slab", span->base);
            return;
        }
    }
}

/* The free lists of a slab the caller uses: every link a marked block of the
 * slab, and the blocks carved from it equal to those out plus those free. */
static void verify_slab_blocks(mm_verifier *v, mm_span *span)
{
    list_walk free = walk_free_list(span, span->free, NULL, span->capacity);
    list_walk local = walk_free_list(span, span->local_free, NULL, span->capacity);
    list_walk remote = walk_free_list(span, remote_list(span), NULL, span->capacity);
    if (free.broken || local.broken || remote.broken) {
        mm_verify_fail(v, "free list of a slab links to a block that is not free (use after free?)",
             span->base);
        return;
    }
    char *bump = atomic_load_explicit(&span->bump, memory_order_relaxed);
    uint32_t carved = (uint32_t)((size_t)(bump - span->base) / span->block_size);
    if (carved != span->used + free.length + local.length)
        mm_verify_fail(v, "slab block count: carved != out + free", span->base);
    if (remote.length > span->used)
        mm_verify_fail(v, "slab has more remote frees than blocks out", span->base);
}

/* Returns the list's last slab (NULL if empty or broken). `is_user`: the
 * caller uses the heap, so its blocks may be walked and none of its slabs
 * is being claimed. */
static mm_span *verify_bin_list(mm_verifier *v, const mm_heap *heap, unsigned c, enum mm_list list,
                                mm_span *head, bool is_user, uint32_t *count, size_t *bytes,
                                uint32_t *waiting)
{
    mm_span *prev = NULL;
    for (mm_span *span = head; span != NULL; prev = span, span = span->next) {
        if (span->prev != prev || span->list != list || span->kind != MM_SPAN_SLAB ||
            span->size_class != c ||
            atomic_load_explicit(&span->owner, memory_order_relaxed) != heap) {
            mm_verify_fail(v, "slab list link, list tag, kind, class or owner is wrong", span);
            return NULL;
        }
        bool is_current = list == MM_LIST_PARTIAL && prev == NULL;
        uint64_t word = atomic_load_explicit(&span->thread_free, memory_order_relaxed);
        /* An owner that claims its emptied parked slab (mm_remote_owner_claim)
         * takes the word to 0 before it takes its lists_lock to move the
         * slab: a verify on another thread can see that moment. */
        bool claim_in_flight = !is_user && word == 0;
        if (!is_current && !(word & MM_TF_PARKED) && !claim_in_flight)
            mm_verify_fail(v, "a slab that is not current is not parked", span->base);
        if (++*count > (1u << 24)) {
            mm_verify_fail(v, "slab list does not end", head);
            return NULL;
        }
        *bytes += span->bytes;
        verify_slab_pages(v, span);
        if (is_user) {
            if (span->unfull_below != mm_span_unfull_below(span, span->parked))
                mm_verify_fail(v, "a slab's unfull_below does not follow its parked state",
                               span->base);
            if (span->parked == MM_PARKED_WAITING) {
                if (list == MM_LIST_PARTIAL)
                    mm_verify_fail(v, "a waiting slab is on the partial list", span->base);
                ++*waiting;
            }
            verify_slab_blocks(v, span);
        }
    }
    return prev;
}

/* Class c's lists of `heap` (under its lists_lock): each list's links and
 * slabs, the partial list's tail, its kept empty slab, the bin's count,
 * and (`is_user`) the current slab. */
static void verify_bin(mm_verifier *v, const mm_heap *heap, unsigned c, bool is_user,
                       size_t *slab_bytes)
{
    const mm_bin *bin = &heap->bins[c];
    uint32_t count = 0, waiting = 0;
    if (verify_bin_list(v, heap, c, MM_LIST_PARTIAL, bin->partial, is_user, &count, slab_bytes,
                        &waiting) != bin->partial_tail)
        mm_verify_fail(v, "partial list's tail is not its last slab", heap);
    const mm_span *kept = bin->kept_empty;
    if (kept != NULL && (kept->list != MM_LIST_PARTIAL || kept == bin->partial ||
                         (is_user && kept->used != 0)))
        mm_verify_fail(v, "a kept empty slab is not a parked, empty slab of the partial list",
                       heap);
    verify_bin_list(v, heap, c, MM_LIST_FULL, bin->full, is_user, &count, slab_bytes, &waiting);
    verify_bin_list(v, heap, c, MM_LIST_READY, bin->ready, is_user, &count, slab_bytes, &waiting);
    if (count != atomic_load_explicit(&bin->span_count, memory_order_relaxed))
        mm_verify_fail(v, "bin slab count differs from its lists", heap);
    if (is_user) {
        /* The waiting slab (set by the heap's user alone): the one waiting
         * slab of the lists, if any. */
        const mm_span *span = atomic_load_explicit(&bin->waiting, memory_order_relaxed);
        if (waiting != (span != NULL) ||
            (span != NULL && (span->parked != MM_PARKED_WAITING || span->size_class != c)))
            mm_verify_fail(v, "the bin's waiting slab is not the one waiting slab of its lists",
                           heap);
    }
    if (is_user && heap->current[c] != (bin->partial != NULL ? bin->partial : &mm_span_none))
        mm_verify_fail(v, "current slab is not the head of the partial list", heap);
}

/* `heap`'s cache of empty slabs (under its lists_lock): mask, buckets,
 * owner and bytes. */
static void verify_empty_cache(mm_verifier *v, const mm_heap *heap)
{
    size_t cached = 0;
    for (size_t p = 0; p <= MM_SLAB_MAX_PAGES; p++) {
        if ((heap->empty_cache[p] != NULL) != (heap->empty_cache_mask >> p & 1))
            mm_verify_fail(v, "empty-cache mask disagrees with its buckets", heap);
        for (mm_span *span = heap->empty_cache[p]; span != NULL; span = span->next) {
            if (span->bytes != p << MM_PAGE_SHIFT || span->list != MM_LIST_NONE ||
                atomic_load_explicit(&span->owner, memory_order_relaxed) != heap)
                mm_verify_fail(v, "empty-cache slab in the wrong bucket, on a list or not the heap's",
                               span);
            cached += span->bytes;
        }
    }
    if (cached != heap->empty_cache_bytes)
        mm_verify_fail(v, "empty-cache bytes differ from its slabs", heap);
}

/* Under the heap's lists_lock; `is_user`: the caller uses the heap. */
static void verify_heap(mm_verifier *v, mm_heap *heap, bool is_user)
{
    size_t slab_bytes = 0;
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++)
        verify_bin(v, heap, c, is_user, &slab_bytes);
    if (slab_bytes != heap->slab_bytes)
        mm_verify_fail(v, "heap slab bytes differ from its lists", heap);
    verify_empty_cache(v, heap);
}

unsigned mm_verify(const mm_heap *user, void (*report)(const char *what, const void *where),
                   unsigned limit)
{
    mm_verifier v = {report, 0, limit};
    for (mm_heap *heap = mm_heaps_all(); heap != NULL; heap = heap->next_all) {
#if defined(MM_IDENTITY_CPU)
        /* Holding a heap's lock makes the caller its user. */
        bool lock_here = heap != user;
        if (lock_here)
            mm_lock_acquire(&heap->lock);
        bool is_user = true;
#else
        bool is_user = heap == user;
#endif
        mm_lock_acquire(&heap->lists_lock);
        verify_heap(&v, heap, is_user);
        mm_lock_release(&heap->lists_lock);
#if defined(MM_IDENTITY_CPU)
        if (lock_here)
            mm_lock_release(&heap->lock);
#endif
    }
    mm_lock_acquire(&mm_shared_cache.lists_lock);
    verify_heap(&v, &mm_shared_cache, false);
    mm_lock_release(&mm_shared_cache.lists_lock);
    mm_large_verify(&v);
    return v.found;
}
