/*
 * mymalloc.c: the entry points. Small requests go to the calling thread's
 * heap (identity.h), large ones to large.c; a free finds its block's span in
 * the page map and frees locally when the caller's heap owns it, remotely
 * otherwise. Aligned requests up to a page take a size class whose blocks
 * are multiples of the alignment apart; larger alignments take a large
 * region with room to align.
 *
 * Every free checks that its pointer starts a block handed out (the page map,
 * the block grid, the slab's bump pointer) and that the block does not carry
 * its free mark (types.h); a marked block is confirmed (check.c) and then
 * reported as a double free. A bad pointer is reported through
 * the platform (mm_prim_bad_pointer) and never reaches the free lists.
 */
#include "mymalloc.h"
#include "core/check.h"
#include "core/entry.h"
#include "core/heap.h"
#include "core/identity.h"
#include "core/large.h"
#include "platform/memops.h"
#include "core/pagemap.h"
#include "core/remote.h"
#include "core/size_class.h"
#include "core/span.h"
#include "core/stats.h"
#include "platform/track.h"

/* ---- allocation ---------------------------------------------------------- */

static void *malloc_large(size_t size, size_t alignment, const mm_span *replacing, bool *fresh)
{
    mm_trim_if_alone();
    void *block = mm_large_malloc(size, alignment, replacing, fresh);
    return block != NULL ? block : mm_entry_fail(MM_ERROR_NO_MEMORY);
}

/* A large block whose freshness the caller does not need, out of line so
 * that mm_malloc's fast path needs no stack frame. */
static __attribute__((noinline)) void *malloc_large_any(size_t size, size_t alignment)
{
    bool fresh;
    return malloc_large(size, alignment, NULL, &fresh);
}

void *mm_malloc(size_t size)
{
    if (MM_UNLIKELY(size > MM_SMALL_MAX))
        return malloc_large_any(size, MM_PAGE_SIZE);
    return mm_malloc_class(mm_size_class(size));
}

void *mm_calloc(size_t count, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(count, size, &bytes))
        return mm_entry_fail(MM_ERROR_NO_MEMORY);
    bool fresh = false;
    void *block = bytes <= MM_SMALL_MAX ? mm_malloc_class(mm_size_class(bytes))
                                        : malloc_large(bytes, MM_PAGE_SIZE, NULL, &fresh);
    if (block != NULL && !(fresh && mm_prim_maps_zeroed()))
        mm_zero(block, bytes);
    return block;
}

/* The first class from `size` up whose block size is a multiple of
 * `alignment` (at most a page): slabs are page-aligned, so every block of it
 * is aligned. MM_CLASS_COUNT when none is (size too large). O(classes). */
static unsigned aligned_class(size_t size, size_t alignment)
{
    if (size < alignment)
        size = alignment;
    if (size > MM_SMALL_MAX)
        return MM_CLASS_COUNT;
    unsigned c = mm_size_class(size);
    while (c < MM_CLASS_COUNT && mm_class_size(c) % alignment != 0)
        c++;
    return c;
}

void *mm_aligned_alloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return mm_entry_fail(MM_ERROR_INVALID);
    if (alignment <= 16)
        return mm_malloc(size);
    if (alignment <= MM_PAGE_SIZE) {
        unsigned c = aligned_class(size, alignment);
        if (c < MM_CLASS_COUNT)
            return mm_malloc_class(c);
    }
    return malloc_large_any(size, alignment);
}

/* ---- what a pointer is ---------------------------------------------------- */

/* Bytes usable in the block `ptr` starts, judged without locks: 0 unless
 * `ptr` starts a block handed out and not marked free. Exact for a live
 * block; for a pointer into a slab that another thread is unmapping at that
 * moment, see check.h. */
static size_t live_usable(const mm_span *span, const void *ptr)
{
    if (span == NULL)
        return 0;
    if (MM_SPAN_GET(span, kind) == MM_SPAN_LARGE)
        return ptr == MM_SPAN_GET(span, block_start) &&
                       atomic_load_explicit(&span->thread_free, memory_order_relaxed) == 1
                   ? mm_large_usable(span)
                   : 0;
    if (MM_SPAN_GET(span, kind) == MM_SPAN_SLAB && mm_slab_block_start(span, ptr) &&
        !mm_block_marked_free((mm_block *)ptr))
        return MM_SPAN_GET(span, block_size);
    return 0;
}

size_t mm_usable_size(void *ptr)
{
    return ptr == NULL ? 0 : live_usable(mm_pagemap_lookup(ptr), ptr);
}

/* ---- free ------------------------------------------------------------------ */

/* A block of slab `span`, which `user` (the caller's heap, or the heap it
 * locked) owns, judged by check.c before it is freed: every block for
 * myfree_checked (`checked`), only a marked one otherwise. 0 when freed;
 * -1, reported unless `checked`, when not live. */
int mm_free_owned_judged(mm_heap *user, mm_span *span, mm_block *block, bool checked)
{
    enum mm_block_state state = mm_check_slab_block(user, span, block);
    if (state == MM_BLOCK_LIVE) {
        mm_track_small_freed(span, block);
        mm_heap_free_local(user, span, block);
        return 0;
    }
    if (!checked)
        mm_prim_bad_pointer(block, state == MM_BLOCK_FREE ? "double free" : "invalid pointer");
    return -1;
}

/* Free a block that is not the caller's own: a large block, or a block of
 * another heap's slab (mm_heap_free_foreign). False if `ptr` is not a live block, with
 * *problem saying why. `checked` (myfree_checked): every slab block is
 * judged under its owner's lock; else only one that carries its free mark,
 * read without a lock (a pointer freed twice into a slab that another
 * thread unmaps at that moment can fault there). */
static bool free_other(mm_span *span, void *ptr, bool checked, const char **problem)
{
    *problem = "invalid pointer";
    if (MM_SPAN_GET(span, kind) == MM_SPAN_LARGE) {
        if (ptr != MM_SPAN_GET(span, block_start))
            return false;
        *problem = "double free";
        return mm_large_free(span, false);
    }
    if (MM_SPAN_GET(span, kind) != MM_SPAN_SLAB || !mm_slab_block_start(span, ptr))
        return false;
    mm_block *block = ptr;
    if (checked || mm_block_marked_free(block)) {
        enum mm_block_state state = mm_check_slab_block(mm_caller_heap(), span, block);
        if (state != MM_BLOCK_LIVE) {
            *problem = state == MM_BLOCK_FREE ? "double free" : "invalid pointer";
            return false;
        }
    }
    mm_track_small_freed(span, block);
    return mm_heap_free_foreign(span, block);
}

int mm_free_slow(void *ptr, mm_span *span, bool checked)
{
    if (ptr == NULL)
        return 0;
    const char *problem = "invalid pointer";
    if (span != NULL && free_other(span, ptr, checked, &problem))
        return 0;
    if (!checked)
        mm_prim_bad_pointer(ptr, problem);
    return -1;
}

int mm_free_looked_up(void *ptr, bool checked)
{
    return mm_free_span(mm_free_lookup(ptr), ptr, checked);
}

void mm_free(void *ptr)
{
    mm_free_pointer(ptr, false, mm_free_looked_up);
}

int mm_free_checked(void *ptr)
{
    return mm_free_pointer(ptr, true, mm_free_looked_up);
}

/* ---- realloc --------------------------------------------------------------- */

/* The bytes a fresh block for `size` would take. */
static size_t block_bytes(size_t size)
{
    return size <= MM_SMALL_MAX ? mm_class_size(mm_size_class(size))
                                : (size + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
}

void *mm_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return mm_malloc(size);
    if (size == 0) {
        mm_free(ptr);
        return NULL;
    }
    mm_span *span = mm_pagemap_lookup(ptr);
    size_t usable = live_usable(span, ptr);
    if (usable == 0) {
        mm_prim_bad_pointer(ptr, "invalid pointer");
        return mm_entry_fail(MM_ERROR_INVALID);
    }
    /* In place when it fits and the block is at most twice what a fresh
     * block would take (a large block grows into its region's slack). */
    if (size <= usable && size <= MM_LARGE_MAX && block_bytes(size) * 2 >= usable)
        return ptr;
    /* A large block moving to a large block: the recent peak is not
     * counted with both. */
    bool large = MM_SPAN_GET(span, kind) == MM_SPAN_LARGE;
    bool fresh;
    void *moved = large && size > MM_SMALL_MAX ? malloc_large(size, MM_PAGE_SIZE, span, &fresh)
                                               : mm_malloc(size);
    if (moved == NULL)
        return NULL;
    if (large && size > usable && mm_large_move(span, moved))
        return moved;
    mm_copy(moved, ptr, size < usable ? size : usable);
    /* A large block that grew says so: its region is not worth caching. */
    if (!large)
        mm_free(ptr);
    else if (!mm_large_free(span, size > usable))
        mm_prim_bad_pointer(ptr, "double free");
    return moved;
}

/* ---- the exported names ---------------------------------------------------- */

/* Weak: the hosted library defines them again over its memcheck tracking
 * (src/hosted/libc.c). `name` is the name declared, not an expression. */
#define MM_EXPORT(name, internal) \
    extern __typeof__(internal) name /* NOLINT(bugprone-macro-parentheses) */  \
        __attribute__((weak, alias(#internal), visibility("default")))

MM_EXPORT(mymalloc, mm_malloc);
MM_EXPORT(myfree, mm_free);
MM_EXPORT(mycalloc, mm_calloc);
MM_EXPORT(myrealloc, mm_realloc);
MM_EXPORT(myaligned_alloc, mm_aligned_alloc);
MM_EXPORT(myusable_size, mm_usable_size);
MM_EXPORT(myfree_checked, mm_free_checked);
