/*
 * types.h: the data structures of the mymalloc core and the invariants that
 * tie them together. Read this first; docs/DESIGN.md tells the same story at
 * greater length.
 *
 * Memory comes from the embedder's vmalloc in regions that are handed back
 * whole. A region is either
 *   - a slab: 1..16 pages cut into equal blocks of one size class, owned by
 *     one heap; or
 *   - a large block: one request rounded up to pages, owned by no heap.
 * Each region is described by a span descriptor (struct mm_span) that lives
 * outside the region, in descriptor chunks (span.c). The page map (pagemap.c)
 * maps every page of a slab, and the first page of a large block, to its
 * descriptor: that is how myfree finds the metadata of any pointer.
 *
 * A heap (struct mm_heap) owns slabs. In the hosted build each thread has its
 * own heap (thread-local, no locks); in the freestanding build heaps are per
 * CPU and guarded by a spin lock (identity_cpu.c). Of each size class, one slab
 * is the heap's current slab: only the heap's user allocates from it or
 * touches its `free`/`local_free` lists and `used` count, with plain loads
 * and stores. Every other slab of the heap is parked (partial, full, or
 * ready again after being full): its owner still frees into it, but also
 * publishes its `used` count, so that whichever thread frees its last block
 * can see that it is empty and unmap it, even if the owner never runs again.
 *
 * A block freed by a thread that does not own its slab is pushed onto the
 * slab's `thread_free` word with one compare-and-swap (remote.c). The owner
 * takes the whole list with one exchange when it runs out of blocks. The word
 * packs the list head, the number of blocks on it and three flags:
 *   PARKED     the slab is not its owner's current slab; `published_used`
 *              holds its blocks out; a free that finds count + 1 equal to it
 *              takes the word and unmaps the slab (a claim).
 *   FULL       parked on the owner's full list; the first remote free moves
 *              it to the owner's ready list, where the owner's slow path
 *              finds it when it needs a slab of that class.
 *   ABANDONED  the owning thread exited; the slab waits in a pool for a heap
 *              of the same size class to adopt it, or for a claim.
 * The lists a slab is parked on are guarded by the owner heap's lists_lock,
 * which other threads take to move or unlink a parked slab.
 */
#ifndef MM_TYPES_H
#define MM_TYPES_H

#include "platform/lock.h"
#include "platform/platform.h"

/* Every core declaration from here on is internal to the library: no symbol
 * of the shared library but the public API, and no GOT in the core. */
#pragma GCC visibility push(hidden)

/* Size classes: see size_class.h. */
#define MM_CLASS_COUNT 40
#define MM_SMALL_MAX ((size_t)32768)
#define MM_SLAB_MAX_PAGES 16

/* Largest request served: far beyond any real mapping, far below overflow. */
#define MM_LARGE_MAX ((size_t)1 << 46)

/* The descriptor fields a free reads before it holds any lock (kind,
 * size_class, block_size, block_reciprocal, base, block_start): a checked
 * free of a stale pointer may read a descriptor that another thread is
 * reusing for a new region at that moment, and re-checks what it read under
 * the lock that settles it (check.c). They are written and read there with
 * relaxed atomic builtins (plain moves on x86_64). */
#define MM_SPAN_GET(span, field) __atomic_load_n(&(span)->field, __ATOMIC_RELAXED)
#define MM_SPAN_SET(span, field, value) __atomic_store_n(&(span)->field, (value), __ATOMIC_RELAXED)

/* Build macro MM_TRUSTED_FREE (off by default): myfree believes a pointer
 * that the page map sends to one of the caller's own slabs, skipping the
 * block-grid check and the double-free mark test of its fast path. It
 * exists to measure what that detection costs (docs/DECISIONS.md); a bad
 * pointer then corrupts the heap. myfree_checked, and frees of other
 * threads' blocks and of large blocks, judge every pointer as always. */
#if defined(MM_TRUSTED_FREE)
#define MM_FREE_JUDGES_OWN_BLOCKS 0
#else
#define MM_FREE_JUDGES_OWN_BLOCKS 1
#endif

/* Shift of the reciprocal that turns a slab offset into a block index. */
#define MM_RECIPROCAL_SHIFT 40

/* A free block: its first word links it to the next free block, its second
 * holds its free mark (mm_free_mark in heap.h), which every free writes and
 * every malloc clears. The mark is what tells a double free from a free: a
 * live block carries it only if the program wrote that very value there.
 * The mark is written and read with relaxed atomics: a checked free may look
 * at a block that its owner is handing out at the same moment. */
typedef struct mm_block {
    struct mm_block *next;
    _Atomic uintptr_t mark;
} mm_block;

/* Where a slab is linked. PARTIAL, FULL and READY are a heap's lists (its
 * lists_lock), POOL the abandoned pool of the slab's class (its lock). */
enum mm_list {
    MM_LIST_NONE = 0,
    MM_LIST_PARTIAL,
    MM_LIST_FULL,
    MM_LIST_READY,
    MM_LIST_POOL,
};

enum mm_span_kind {
    MM_SPAN_UNUSED = 0, /* descriptor on its chunk's free list */
    MM_SPAN_SLAB,
    MM_SPAN_LARGE,
};

struct mm_heap;
struct mm_desc_chunk;

/* A span descriptor is three cache lines, grouped by who writes them, so
 * that a thread freeing blocks of another thread's slab (a consumer fed by a
 * producer) never shares a line with the owner's mallocs, which would move
 * that line between the cores on each malloc after a remote free
 * (docs/DECISIONS.md). */
typedef struct mm_span {
    /* Written by the owner on every malloc and free. The list links and
     * `list` change on slow paths only, under the lock of the list. */
    mm_block *free;         /* blocks ready to hand out */
    mm_block *local_free;   /* blocks the owner freed since the last refill */
    uint32_t used;          /* blocks out: not on free, local_free or collected */
    uint32_t capacity;      /* blocks the slab holds */
    uint8_t parked;         /* not the owner's current slab (owner-only) */
    uint8_t list;           /* enum mm_list: which list holds the slab;
                               guarded by the lock of that list */
    uint16_t unfull_free;   /* free blocks at which a slab parked full goes
                               back to the partial list: a quarter of its
                               blocks, at least 1 (set by mm_slab_format) */
    uint8_t retire_empty;   /* larger than mm_slab_keep_empty_bytes(): leaves
                               its heap when its last block comes back while
                               it is current (set by mm_slab_format) */
    uint32_t unfull_below;  /* parked full: a free that leaves `used` below
                               this has unfull_free blocks free again
                               (capacity - unfull_free + 1); else 0, which no
                               count is below. Kept with `parked` by
                               mm_span_set_parked */
    /* List links: a heap's bin (owner), the abandoned pool, the large cache
     * or an empty cache, whichever the span is on. */
    struct mm_span *next;
    struct mm_span *prev;

    /* Read by every free; written when the span is formatted, when blocks
     * are carved (bump) and when the slab changes hands (owner). */
    _Alignas(64) uint32_t block_size;
    uint8_t size_class;
    uint8_t kind;           /* enum mm_span_kind */
    uint64_t block_reciprocal; /* ceil(2^MM_RECIPROCAL_SHIFT / block_size) */
    _Atomic(char *) bump;   /* first block never carved into a list; set by
                               the owner, read by checked frees (relaxed:
                               a block at or past it was never handed out) */
    char *end;              /* end of the blocks (large spans: of the block) */
    _Atomic(struct mm_heap *) owner;  /* NULL for large blocks and abandoned slabs */
    /* The region, as vmalloc returned it: its base here, its length below. */
    char *base;
    char *block_start; /* where the page map's entries begin: the base for
                          slabs; the block handed out for large spans (the
                          base, or an aligned address inside the region) */

    /* Written by other threads' frees. */
    _Alignas(64) _Atomic uint64_t thread_free; /* slabs: remote-free word (remote.h);
                                                  large spans: 1 while handed out */
    _Atomic uint32_t published_used;  /* `used` as the owner last published
                                         it (parked or abandoned slabs) */
    size_t bytes;                     /* the region's length */
    struct mm_desc_chunk *chunk;      /* the descriptor chunk this lives in */
} mm_span;

/* The slabs of one size class that a heap owns. `partial` heads the list of
 * slabs that may have blocks; its head is the current slab
 * (heap->current[c]), the rest are parked (`partial_tail` is the last).
 * `full` lists parked slabs found exhausted (and not yet a quarter free
 * again), `ready` those that a remote free found on `full`. */
typedef struct mm_bin {
    mm_span *partial;
    mm_span *partial_tail;
    mm_span *kept_empty; /* a parked slab of `partial` that its owner emptied
                            and kept rather than cached (retention), or NULL */
    mm_span *full;
    mm_span *ready;
    _Atomic uint32_t span_count; /* slabs on the three lists; changed under
                                    lists_lock, read without it */
    /* A slab parked full that its owner's frees made a quarter free, left
     * on `full` or `ready` for the class's next slow path to make current
     * (heap.c, slab_wait), or NULL. Set from NULL by the heap's user alone,
     * without a lock; taken or cleared only under lists_lock (the user's
     * slow path, or bin_forget when a slab leaves the lists). */
    _Atomic(mm_span *) waiting;
} mm_bin;

/* A thread's remembered page-map leaves (pagemap.h; TLS identity: in its
 * heap), direct-mapped: way k holds the leaf (its first entry) of the last
 * address its frees looked up whose bits above the leaf's (`key`) are k
 * modulo MM_PAGEMAP_HINT_WAYS. Leaves are never freed or moved, so a leaf
 * once found stays right for its key; the hint is its thread's alone, read
 * and written without atomics. */
#define MM_PAGEMAP_HINT_WAYS 4
typedef struct mm_pagemap_way {
    uintptr_t key;
    _Atomic(void *) *leaf;
} mm_pagemap_way;
typedef struct mm_pagemap_hint {
    mm_pagemap_way way[MM_PAGEMAP_HINT_WAYS];
} mm_pagemap_hint;

/* The recent peak of a quantity of memory, by windows of MM_RETAIN_MS on
 * the platform's clock (retain.h): the most seen in this window and in the
 * one before, and when this one ends. Guarded by its owner's lock, except
 * that window_peak may also be raised without it (the peak of the slabs of
 * all heaps, raised by each heap under its own lock). */
typedef struct mm_retention {
    _Atomic size_t window_peak;
    size_t previous_peak;
    uint64_t window_end;
} mm_retention;

typedef struct mm_heap {
    /* The free path's page-map leaves (TLS identity), written by the heap's
     * user only: on the line of the first current slabs, away from
     * lists_lock, which other threads write. */
    mm_pagemap_hint leaf_hint;
    /* Fast path: the slab each class allocates from, or mm_span_none.
     * Written by the heap's user only. */
    mm_span *current[MM_CLASS_COUNT];

    /* Guards the bins' lists, span_count, span->list of slabs on them,
     * slab_bytes and the empty cache. */
    mm_lock lists_lock;
    mm_bin bins[MM_CLASS_COUNT];
    size_t slab_bytes; /* bytes of the slabs on the bins' lists */

    /* Empty slabs kept for reuse, by page count, bounded by
     * MM_HEAP_CACHE_BYTES + slab_bytes / MM_HEAP_CACHE_SHARE. (The shared
     * cache, cache.c, is a heap that holds only this cache, bounded instead
     * by what the slabs of all heaps fell from their recent peak.) */
    mm_span *empty_cache[MM_SLAB_MAX_PAGES + 1];
    size_t empty_cache_bytes;
    uint32_t empty_cache_mask; /* bit p: empty_cache[p] is not empty */

    mm_lock lock;                 /* CPU identity: who uses the heap now */
    struct mm_heap *next_free;    /* TLS identity: link on the list of
                                     heaps whose thread exited */
    struct mm_heap *next_all;     /* every heap ever made (identity.c) */
    bool in_use;                  /* TLS identity: a thread uses it */

    /* Statistics (stats.h): blocks handed out by this heap and blocks freed
     * by its user, per class; written by the heap's user only, read by
     * anyone (relaxed atomics, never a locked instruction). */
    _Atomic uint64_t mallocs[MM_CLASS_COUNT];
    _Atomic uint64_t frees[MM_CLASS_COUNT];
    /* Its user's bookkeeping of the global bytes in use (stats.c): per
     * class the bytes counted so far, and their change not yet added to the
     * global sum. */
    int64_t class_counted[MM_CLASS_COUNT];
    int64_t unpublished;
} mm_heap;

/* Bounds on what a heap holds beyond its blocks: its cache of empty slabs
 * (a floor plus a share of the slabs it holds, so the cache follows the
 * heap's working set up and down), and the current slabs beyond their base
 * size (heap.c), which only a class holding several slabs grows into and
 * which an emptied slab larger than mm_slab_keep_empty_bytes() leaves. */
#define MM_HEAP_CACHE_BYTES ((size_t)16 << 10)
#define MM_HEAP_CACHE_SHARE 4
#define MM_HEAP_CURRENT_BYTES ((size_t)1 << 20)
/* With a clock, the length of a retention window: the caches keep the
 * memory of a peak for one to two windows after it (retain.h). */
#define MM_RETAIN_MS 1000

#endif /* MM_TYPES_H */
