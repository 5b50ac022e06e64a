/*
 * heap.c: a heap's slow paths: refilling the current slab, parking slabs that
 * stop being current and bringing them back, making new slabs (from the
 * empty-slab caches of cache.c first), and giving everything up when the
 * heap's thread exits.
 *
 * Invariants of a heap (asserted where they are relied on):
 *   - heap->current[c] is bins[c].partial's head, or &mm_span_none when the
 *     list is empty; the head is not parked, every other slab on the three
 *     lists is (span->parked set, PARKED in its word, published_used kept
 *     equal to used by the owner);
 *   - bins[c].waiting is the one slab of class c whose parked is
 *     MM_PARKED_WAITING, on `full` or `ready`, or NULL when there is none;
 *     while one waits, no slab comes off `ready` but through it
 *     (bin_activate_next takes it first);
 *   - span->list names the list a slab is on; bins[c].span_count counts the
 *     slabs on the three lists of class c;
 *   - the lists, span->list and span_count change only under lists_lock,
 *     taken by the owner on slow paths and by other threads that move a
 *     full slab to `ready` or unlink a slab they claimed (remote.c);
 *   - current[c] and the fields of the current slab change only by the owner;
 *   - slab_bytes sums the bytes of the slabs on the lists, and changes only
 *     under lists_lock; the cache's invariants are in cache.c.
 * Locks: lists_lock (level MM_LOCK_HEAP_LISTS of platform/lock.h).
 */
#include "core/heap.h"
#include "core/cache.h"
#include "core/identity.h"
#include "core/pagemap.h"
#include "platform/lock.h"
#include "core/remote.h"
#include "core/retain.h"
#include "core/size_class.h"
#include "core/span.h"
#include "core/stats.h"

mm_span mm_span_none;
const char mm_free_mark_anchor;

void mm_heap_init(mm_heap *heap)
{
    for (unsigned k = 0; k < MM_PAGEMAP_HINT_WAYS; k++)
        heap->leaf_hint.way[k].key = MM_PAGEMAP_HINT_EMPTY;
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
        heap->current[c] = &mm_span_none;
        heap->bins[c] = (mm_bin){0};
    }
    mm_lock_init(&heap->lists_lock, MM_LOCK_HEAP_LISTS);
    for (unsigned p = 0; p <= MM_SLAB_MAX_PAGES; p++)
        heap->empty_cache[p] = NULL;
    heap->empty_cache_bytes = 0;
    heap->empty_cache_mask = 0;
    heap->slab_bytes = 0;
}

/* ---- lists (under lists_lock) ------------------------------------------- */

static mm_span **list_head(mm_heap *heap, unsigned c, enum mm_list list)
{
    mm_bin *bin = &heap->bins[c];
    return list == MM_LIST_PARTIAL ? &bin->partial : list == MM_LIST_FULL ? &bin->full : &bin->ready;
}

#if defined(MM_DEBUG)
/* Whether the caller may change `heap`'s lists: its lists_lock is held. */
static inline bool lists_locked(mm_heap *heap)
{
    return atomic_load_explicit(&heap->lists_lock.held, memory_order_relaxed) != 0;
}
#endif

/* The last slab of `list`, kept for the partial list only (NULL for the
 * others). */
static mm_span **list_tail(mm_heap *heap, unsigned c, enum mm_list list)
{
    return list == MM_LIST_PARTIAL ? &heap->bins[c].partial_tail : NULL;
}

static void list_remove(mm_heap *heap, mm_span *span)
{
    MM_ASSERT(lists_locked(heap));
    MM_ASSERT(span->list == MM_LIST_PARTIAL || span->list == MM_LIST_FULL ||
              span->list == MM_LIST_READY);
    mm_span **head = list_head(heap, span->size_class, (enum mm_list)span->list);
    mm_span **tail = list_tail(heap, span->size_class, (enum mm_list)span->list);
    MM_ASSERT(span->prev != NULL ? span->prev->next == span : *head == span);
    MM_ASSERT(span->next != NULL ? span->next->prev == span : tail == NULL || *tail == span);
    if (span->prev != NULL)
        span->prev->next = span->next;
    else
        *head = span->next;
    if (span->next != NULL)
        span->next->prev = span->prev;
    else if (tail != NULL)
        *tail = span->prev;
    span->next = span->prev = NULL;
    span->list = MM_LIST_NONE;
}

/* Where list_add puts a slab. */
enum list_end { LIST_HEAD, LIST_SECOND, LIST_TAIL };

/* Insert at the head, or at the tail (the partial list only). */
static void list_add(mm_heap *heap, mm_span *span, enum mm_list list, enum list_end end)
{
    MM_ASSERT(lists_locked(heap) && span->list == MM_LIST_NONE);
    MM_ASSERT(atomic_load_explicit(&span->owner, memory_order_relaxed) == heap);
    mm_span **head = list_head(heap, span->size_class, list);
    mm_span **tail = list_tail(heap, span->size_class, list);
    MM_ASSERT(end == LIST_HEAD || tail != NULL);
    span->list = (uint8_t)list;
    if (end == LIST_SECOND && *head != NULL) {
        mm_span *after = *head;
        span->prev = after;
        span->next = after->next;
        if (after->next != NULL)
            after->next->prev = span;
        else
            *tail = span;
        after->next = span;
        return;
    }
    if (end == LIST_TAIL && *tail != NULL) {
        span->prev = *tail;
        span->next = NULL;
        (*tail)->next = span;
        *tail = span;
        return;
    }
    span->prev = NULL;
    span->next = *head;
    if (*head != NULL)
        (*head)->prev = span;
    else if (tail != NULL)
        *tail = span;
    *head = span;
}

/* Add a new or adopted slab to the lists (at the partial head: it becomes
 * current) and make it the heap's. Setting the owner here, under lists_lock,
 * keeps an invariant checked frees rely on (check.c): a slab owned by a heap
 * is on its lists, in its empty cache, or being claimed. Release: see
 * still_owned(). */
static void bin_add_current(mm_heap *heap, mm_span *span, unsigned c)
{
    MM_ASSERT(span->kind == MM_SPAN_SLAB && span->size_class == c && !span->parked);
    MM_ASSERT(heap->current[c] == &mm_span_none && span->list == MM_LIST_NONE);
    atomic_store_explicit(&span->owner, heap, memory_order_release);
    list_add(heap, span, MM_LIST_PARTIAL, LIST_HEAD);
    atomic_fetch_add_explicit(&heap->bins[c].span_count, 1, memory_order_relaxed);
    heap->slab_bytes += span->bytes;
    mm_cache_slabs_added(span->bytes);
    heap->current[c] = span;
}

/* Drop a slab from the heap's lists for good. */
static void bin_forget(mm_heap *heap, mm_span *span)
{
    MM_ASSERT(heap->slab_bytes >= span->bytes &&
              atomic_load_explicit(&heap->bins[span->size_class].span_count,
                                   memory_order_relaxed) > 0);
    heap->slab_bytes -= span->bytes;
    mm_cache_slabs_removed(span->bytes);
    if (heap->bins[span->size_class].kept_empty == span)
        heap->bins[span->size_class].kept_empty = NULL;
    /* A remote free may claim the waiting slab: the user, which sets the
     * field from NULL alone, cannot set it meanwhile (it is not NULL). */
    if (atomic_load_explicit(&heap->bins[span->size_class].waiting, memory_order_relaxed) == span)
        atomic_store_explicit(&heap->bins[span->size_class].waiting, NULL, memory_order_relaxed);
    list_remove(heap, span);
    atomic_fetch_sub_explicit(&heap->bins[span->size_class].span_count, 1, memory_order_relaxed);
}

/* Move parked `span` from `full` or `ready` to `end` of `partial`, parked
 * as MM_PARKED (no longer full; its word may still carry FULL). */
static void slab_move_to_partial(mm_heap *heap, mm_span *span, enum list_end end)
{
    list_remove(heap, span);
    list_add(heap, span, MM_LIST_PARTIAL, end);
    mm_span_set_parked(span, MM_PARKED);
}

/* Take the waiting slab of class `c`, if any, off `full` or `ready` and put
 * it at `end` of `partial`, parked as MM_PARKED: the turn its owner's free
 * left to a slow path (slab_wait). Its word may still carry FULL, for the
 * caller to clear (or to unpark it). Returns the slab, or NULL. */
static mm_span *bin_unwait(mm_heap *heap, unsigned c, enum list_end end)
{
    mm_bin *bin = &heap->bins[c];
    MM_ASSERT(lists_locked(heap));
    mm_span *span = atomic_load_explicit(&bin->waiting, memory_order_relaxed);
    if (span == NULL)
        return NULL;
    MM_ASSERT(span->parked == MM_PARKED_WAITING && span->size_class == c);
    atomic_store_explicit(&bin->waiting, NULL, memory_order_relaxed);
    slab_move_to_partial(heap, span, end);
    return span;
}

/* Make the waiting slab (else the head of `partial`, else the first `ready`
 * slab) current, unparking it. The kept empty slab comes after every other:
 * moved to the tail when it would be the head, and passed over for a `ready`
 * slab (which would otherwise wait, holding its remote frees, while the kept
 * slab cycles). */
static void bin_activate_next(mm_heap *heap, unsigned c)
{
    mm_bin *bin = &heap->bins[c];
    bin_unwait(heap, c, LIST_HEAD);
    mm_span *span = bin->partial;
    if (span != NULL && span == bin->kept_empty && span->next != NULL) {
        list_remove(heap, span);
        list_add(heap, span, MM_LIST_PARTIAL, LIST_TAIL);
        span = bin->partial;
    }
    if ((span == NULL || span == bin->kept_empty) && bin->ready != NULL) {
        span = bin->ready;
        list_remove(heap, span);
        list_add(heap, span, MM_LIST_PARTIAL, LIST_HEAD);
    }
    if (span == NULL) {
        heap->current[c] = &mm_span_none;
        return;
    }
    if (span->parked) {
        mm_remote_unpark(span);
        mm_span_set_parked(span, 0);
    }
    if (bin->kept_empty == span)
        bin->kept_empty = NULL;
    heap->current[c] = span;
    MM_ASSERT(span == bin->partial && span->list == MM_LIST_PARTIAL);
}

/* Whether `heap` still owns `span`; under heap->lists_lock the answer holds
 * (an owner gives a slab up only under its lists_lock). */
static bool still_owned(const mm_heap *heap, mm_span *span)
{
    /* Acquire pairs with the adopter's release store of the owner, so the
     * slab's list fields read after this are the adopter's. */
    return atomic_load_explicit(&span->owner, memory_order_acquire) == heap;
}

void mm_heap_ready(mm_heap *heap, mm_span *span)
{
    /* FULL is set (park_full) and cleared by others (unpark, abandon,
     * clear_full) only under the owner's lists_lock, so it needs no CAS
     * here; a claim that could also clear it cannot happen while the
     * caller's block is out. */
    mm_lock_acquire(&heap->lists_lock);
    if (still_owned(heap, span)) {
        uint64_t old = atomic_fetch_and_explicit(&span->thread_free, ~MM_TF_FULL,
                                                 memory_order_relaxed);
        if ((old & MM_TF_FULL) && span->list == MM_LIST_FULL) {
            list_remove(heap, span);
            list_add(heap, span, MM_LIST_READY, LIST_HEAD);
        }
    }
    mm_lock_release(&heap->lists_lock);
}

bool mm_heap_claim_parked(mm_heap *heap, mm_span *span)
{
    /* Under lists_lock with `heap` the owner, PARKED is neither cleared
     * (unpark, abandon; owner_claim cannot succeed while the caller's block
     * is out) nor set again (park_full), and published_used only falls: the
     * word read here cannot come back to the same value with more blocks
     * out before the CAS. */
    bool claimed = false, unmap = false;
    mm_lock_acquire(&heap->lists_lock);
    uint64_t old = atomic_load_explicit(&span->thread_free, memory_order_acquire);
    if (still_owned(heap, span) && (old & MM_TF_PARKED) &&
        mm_tf_count(old) + 1 == atomic_load_explicit(&span->published_used, memory_order_acquire) &&
        atomic_compare_exchange_strong_explicit(&span->thread_free, &old, 0, memory_order_acquire,
                                                memory_order_relaxed)) {
        if (span->list != MM_LIST_NONE)
            bin_forget(heap, span);
        /* With retention the owner may well want it back (a producer whose
         * consumer frees): it goes to the cache, within the budget. Without,
         * a slab others emptied goes back at once. */
        unmap = !mm_retention_enabled();
        if (unmap)
            mm_cache_trim(heap, 0);
        else
            mm_cache_put(heap, span);
        claimed = true;
    }
    mm_lock_release(&heap->lists_lock);
    if (unmap)
        mm_span_destroy(span);
    return claimed;
}

/* ---- slabs -------------------------------------------------------------- */

/* Put blocks on span->free: the owner's frees, else the remote frees, else
 * blocks carved from never-used space (at most a page's worth, so a fresh
 * slab is touched gradually). False when the slab is exhausted. */
static bool slab_refill(mm_span *span)
{
    if (span->free != NULL) /* an adopted slab keeps its abandoner's free list */
        return true;
    /* Each list is taken from where it was before it is published in
     * span->free, with a compiler barrier between: a fork between the two
     * stores (the child sees this thread's memory as of that instant)
     * must not find a block on two lists, or on a list and past the bump,
     * which would hand it out twice. */
    if (span->local_free != NULL) {
        mm_block *list = span->local_free;
        span->local_free = NULL;
        atomic_signal_fence(memory_order_seq_cst);
        span->free = list;
        return true;
    }
    uint32_t count;
    mm_block *list = mm_remote_collect(span, &count);
    if (list != NULL) {
        span->free = list;
        span->used -= count;
        return true;
    }
    char *first = atomic_load_explicit(&span->bump, memory_order_relaxed);
    if (first == span->end)
        return false;
    size_t size = span->block_size;
    size_t batch = MM_PAGE_SIZE / size;
    size_t left = (size_t)(span->end - first) / size;
    if (batch == 0)
        batch = 1;
    if (batch > left)
        batch = left;
    for (size_t i = 0; i + 1 < batch; i++)
        mm_block_set_free((mm_block *)(first + i * size), (mm_block *)(first + (i + 1) * size));
    mm_block_set_free((mm_block *)(first + (batch - 1) * size), NULL);
    atomic_store_explicit(&span->bump, first + batch * size, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    span->free = (mm_block *)first;
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

/* Bytes of the heap's current slabs. A current slab cannot be claimed by a
 * remote free (its owner allocates from it without atomics), so an idle
 * thread keeps its current slabs even when other threads freed every block
 * in them: their sum is what slab growth must stay within. O(classes). */
static size_t current_slab_bytes(const mm_heap *heap)
{
    size_t bytes = 0;
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++)
        bytes += heap->current[c]->bytes;
    return bytes;
}

static mm_span *slab_new(mm_heap *heap, unsigned c)
{
    bool retained = mm_retention_enabled();
    size_t pages = mm_slab_pages(
        c, atomic_load_explicit(&heap->bins[c].span_count, memory_order_relaxed), retained);
    size_t base = mm_slab_pages(c, 0, retained);
    if (pages > base && current_slab_bytes(heap) + pages * MM_PAGE_SIZE > MM_HEAP_CURRENT_BYTES)
        pages = base;
    mm_span *span = mm_cache_take(heap, c, pages);
    if (span == NULL && mm_retention_enabled())
        span = mm_cache_take(&mm_shared_cache, c, pages);
    if (span == NULL) {
        span = mm_span_create(pages * MM_PAGE_SIZE, MM_PAGE_SIZE, pages);
        if (span == NULL)
            return NULL;
    }
    mm_slab_format(span, c);
    return span;
}

/* The current slab of class `c` is exhausted: park it on the full list and
 * make the next slab current. False when remote frees arrived meanwhile
 * (refill takes them). */
static bool slab_park_full(mm_heap *heap, mm_span *span, unsigned c)
{
    mm_lock_acquire(&heap->lists_lock);
    MM_ASSERT(heap->current[c] == span && heap->bins[c].partial == span);
    bool parked = mm_remote_park_full(span);
    if (parked) {
        list_remove(heap, span);
        list_add(heap, span, MM_LIST_FULL, LIST_HEAD);
        mm_span_set_parked(span, MM_PARKED_FULL);
        bin_activate_next(heap, c);
    }
    mm_lock_release(&heap->lists_lock);
    return parked;
}

/* The current slab has no block out and is larger than
 * mm_slab_keep_empty_bytes(): it goes to the cache, and the next slab of its
 * class starts small again. (A smaller empty current slab stays, so a
 * malloc/free loop neither maps nor walks the cache; an idle heap so holds
 * at most a page per class, about 100 KiB, or with retention the base slabs
 * of the classes up to 4 KiB, 136 KiB, plus its cache.) */
static void slab_retire_current(mm_heap *heap, mm_span *span)
{
    mm_lock_acquire(&heap->lists_lock);
    bin_forget(heap, span);
    bin_activate_next(heap, span->size_class);
    mm_cache_put(heap, span);
    mm_lock_release(&heap->lists_lock);
}

/* The owner took back parked `span`, whose last block it freed
 * (mm_remote_owner_claim): the slab is empty and the owner's alone. With
 * retention, a slab of a few blocks (at most MM_KEEP_EMPTY_MAX_BLOCKS: a
 * class of large blocks, whose slabs fill and empty again and again) stays
 * where it is, parked on the partial list (its word PARKED again), so that
 * the class takes it back as a current slab without a trip through the
 * cache and a new format; a class keeps one at a time. Others go to the
 * empty cache (slabs of many blocks empty rarely: the trip is paid for). */
#define MM_KEEP_EMPTY_MAX_BLOCKS 8
static void slab_parked_emptied(mm_heap *heap, mm_span *span, uint64_t taken)
{
    mm_bin *bin = &heap->bins[span->size_class];
    mm_lock_acquire(&heap->lists_lock);
    /* A waiting slab is one the class would have back on `partial`, behind
     * the current slab (its word, taken, carries no FULL any more); with no
     * current slab it goes to the cache, as does a slab still parked full,
     * on `full` or `ready`, emptied by remote frees but for less than a
     * quarter. */
    if (span->parked == MM_PARKED_WAITING && bin->partial != NULL)
        bin_unwait(heap, span->size_class, LIST_TAIL);
    if (bin->kept_empty == NULL && span->capacity <= MM_KEEP_EMPTY_MAX_BLOCKS &&
        span->list == MM_LIST_PARTIAL && mm_retention_enabled()) {
        /* The blocks the claim took off the word go on `free`, which a
         * parked slab leaves empty (park_full requires it). */
        MM_ASSERT(span->parked == MM_PARKED && span->free == NULL &&
                  span->used == mm_tf_count(taken));
        span->free = mm_tf_list(taken);
        span->used = 0;
        mm_remote_repark_empty(span);
        bin->kept_empty = span;
    } else {
        mm_span_set_parked(span, 0);
        bin_forget(heap, span);
        mm_cache_put(heap, span);
    }
    mm_lock_release(&heap->lists_lock);
}

/* Whether parked `span`, which its owner parked full, has a quarter of its
 * blocks (at least span->unfull_free) free again, for slab_parked_unfull. */
static inline bool slab_unfull_due(const mm_span *span)
{
    /* One compare, rarely true, not a branch on parked full or not, which is
     * a coin toss under random frees: a slab not parked full has
     * unfull_below 0 (mm_span_set_parked). */
    MM_ASSERT(span->unfull_below == mm_span_unfull_below(span, span->parked));
    return span->used < span->unfull_below;
}

/* The owner freed a block into parked `span`, which it had parked full,
 * and a quarter of its blocks (at least span->unfull_free) are free again:
 * turn it back to `partial` now (slab_wait had no room, or reclaim). */
static void slab_parked_unfull(mm_heap *heap, mm_span *span)
{
    /* It has room again: behind the current slab, where the slow path finds
     * it next (or current, if there is none). It comes back only once a
     * quarter of it is free (hysteresis): one free block would make it
     * current for one malloc, and a slow path each. Its other free blocks
     * wait on local_free meanwhile. */
    unsigned c = span->size_class;
    mm_lock_acquire(&heap->lists_lock);
    mm_remote_clear_full(span);
    slab_move_to_partial(heap, span, LIST_SECOND);
    if (heap->bins[c].partial == span)
        bin_activate_next(heap, c);
    mm_lock_release(&heap->lists_lock);
    if (!span->parked) {
        /* It became current (there was none): the rules of an empty current
         * slab apply. */
        if (span->used == 0 && span->retire_empty)
            slab_retire_current(heap, span);
        return;
    }
    uint64_t taken;
    if (mm_remote_owner_claim(span, &taken))
        slab_parked_emptied(heap, span, taken);
}

/* A slab parked full that the owner's free made a quarter free becomes its
 * bin's waiting slab rather than go back to `partial` at once: the move (the
 * lists' lock, FULL off the remote-free word, the list neighbours' links:
 * lines this free would otherwise touch) is left to the class's next slow
 * path, bin_activate_next, which holds the lock then anyway. The slab stays
 * on `full` or `ready` meanwhile, published as any parked slab, so a remote
 * free may still claim it (bin_forget then clears the bin's field). False
 * when another slab waits. */
static bool slab_wait(mm_heap *heap, mm_span *span)
{
    mm_bin *bin = &heap->bins[span->size_class];
    if (atomic_load_explicit(&bin->waiting, memory_order_relaxed) != NULL)
        return false;
    mm_span_set_parked(span, MM_PARKED_WAITING);
    atomic_store_explicit(&bin->waiting, span, memory_order_relaxed);
    return true;
}

/* The rare turns of a free into parked `span`: the heap's statistics add up
 * to be published, the slab was parked full and is a quarter free (it
 * waits, or with another waiting turns back now), or every block out may be
 * on the remote-free word. Out of line, so that mm_heap_free_parked needs no
 * frame. The statistics come first: they do not touch the slab. */
static __attribute__((noinline)) void parked_free_slow(mm_heap *heap, mm_span *span,
                                                       bool publish)
{
    uint64_t taken;
    if (publish)
        mm_stats_publish_counted(heap);
    if (slab_unfull_due(span) && !slab_wait(heap, span))
        slab_parked_unfull(heap, span);
    else if (mm_remote_owner_claim(span, &taken))
        slab_parked_emptied(heap, span, taken);
}

/* Until used is published the slab cannot be claimed (published_used still
 * counts this block), so everything that touches it comes first: the block
 * is counted for the statistics (two adds) and, once the slab's turn after
 * being full is settled (slab_wait) and unless it is now empty (the owner
 * takes it back), used is published for remote frees (remote.h); once
 * published, a remote free may claim and unmap the slab at any moment, and
 * the owner must not touch it again unless the claim was its own. */
void mm_heap_free_parked(mm_heap *heap, mm_span *span, mm_block *block, uintptr_t mark)
{
    MM_ASSERT(span->parked && span->used > 0 && heap->current[span->size_class] != span);
    mm_block_set_free_marked(block, span->local_free, mark);
    span->local_free = block;
    span->used--;
    bool publish = mm_stats_parked_free(heap, span->size_class, span->block_size);
    if (MM_UNLIKELY(publish || slab_unfull_due(span) || !mm_remote_owner_publish(span)))
        parked_free_slow(heap, span, publish);
}

void mm_heap_current_emptied(mm_heap *heap, mm_span *span)
{
    mm_stats_publish(heap, span->size_class);
    slab_retire_current(heap, span);
}

/* ---- the malloc slow path ----------------------------------------------- */

void mm_heap_reclaim(mm_heap *heap)
{
    mm_lock_acquire(&heap->lists_lock);
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
        mm_span *waiting = bin_unwait(heap, c, LIST_TAIL);
        if (waiting != NULL)
            mm_remote_clear_full(waiting);
        static const enum mm_list lists[] = {MM_LIST_PARTIAL, MM_LIST_READY, MM_LIST_FULL};
        for (unsigned l = 0; l < 3; l++) {
            mm_span *span = *list_head(heap, c, lists[l]);
            while (span != NULL) {
                mm_span *next = span->next;
                bool empty;
                if (span->parked) {
                    uint64_t taken;
                    empty = mm_remote_owner_claim(span, &taken);
                } else {
                    slab_collect_all(span);
                    empty = span->used == 0;
                }
                if (empty) {
                    bin_forget(heap, span);
                    mm_span_destroy(span);
                }
                span = next;
            }
        }
        mm_span *head = heap->bins[c].partial;
        if (head == NULL || head != heap->current[c])
            bin_activate_next(heap, c);
    }
    mm_cache_flush(heap);
    mm_lock_release(&heap->lists_lock);
}

#define MM_ADOPT_TRIES 4

void *mm_heap_malloc_slow(mm_heap *heap, size_t class_index)
{
    unsigned c = (unsigned)class_index;
#if defined(MM_IDENTITY_TLS)
    if (heap == &mm_heap_none) {
        heap = mm_heap_attach();
        if (heap == NULL)
            return NULL;
    }
    mm_trim_if_alone();
#endif
    mm_stats_publish(heap, c);
    bool reclaimed = false;
    unsigned adoptions = 0;
    for (;;) {
        mm_span *span = heap->current[c];
        if (span != &mm_span_none) {
            if (slab_refill(span)) {
                void *block = mm_heap_malloc(heap, c);
                /* A slab whose last block just went out is parked at once
                 * rather than on the next malloc of its class: parked, it
                 * can be unmapped by whichever thread frees its last block,
                 * even if this thread never allocates from the class again.
                 * (It matters for large classes, whose slabs hold a few
                 * blocks and are exhausted here, not on the fast path.) */
                if (span->free == NULL && span->local_free == NULL && atomic_load_explicit(&span->bump, memory_order_relaxed) == span->end)
                    slab_park_full(heap, span, c);
                return block;
            }
            slab_park_full(heap, span, c);
            continue; /* the next slab, or remote frees that arrived */
        }
        /* A waiting slab, or one a remote free moved to `ready` while the
         * class had no current slab, comes first. */
        mm_lock_acquire(&heap->lists_lock);
        bin_activate_next(heap, c);
        mm_lock_release(&heap->lists_lock);
        if (heap->current[c] != &mm_span_none)
            continue;
        /* Adopted slabs may turn out exhausted; a few tries, then a new one,
         * so one slow path never walks the whole pool. */
        span = adoptions < MM_ADOPT_TRIES ? mm_remote_adopt(c) : NULL;
        if (span != NULL)
            adoptions++;
        else
            span = slab_new(heap, c);
        if (span != NULL) {
            mm_lock_acquire(&heap->lists_lock);
            bin_add_current(heap, span, c);
            mm_lock_release(&heap->lists_lock);
            continue;
        }
        /* Real-time mode: reclaim walks every slab; fail at once instead. */
#if defined(MM_REALTIME)
        return NULL;
#endif
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
    /* Under lists_lock: a remote free that claims one of these slabs takes
     * the lock before it unmaps, so each stays mapped while we look at it. */
    mm_lock_acquire(&heap->lists_lock);
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
        mm_bin *bin = &heap->bins[c];
        for (;;) {
            mm_span *span = bin->partial != NULL ? bin->partial
                            : bin->full != NULL  ? bin->full
                                                 : bin->ready;
            if (span == NULL)
                break;
            bin_forget(heap, span);
            slab_merge_free_lists(span);
            /* Unless it is empty, the slab is not ours from here on. */
            if (!mm_remote_abandon(span))
                mm_cache_put(heap, span);
        }
        heap->current[c] = &mm_span_none;
    }
    /* With retention its cache goes to the shared cache, where any thread
     * (the next one to take this heap, too) finds it; without, it is
     * unmapped. The idle heap holds nothing. */
    if (mm_retention_enabled())
        mm_cache_shrink(heap, 0);
    else
        mm_cache_flush(heap);
    mm_lock_release(&heap->lists_lock);
}

