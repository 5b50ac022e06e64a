/*
 * entry.h: the core's entry points under their internal names, and the fast
 * paths of malloc and free inline. mymalloc.c exports the entry points as
 * mymalloc, myfree, ... (include/mymalloc.h); the hosted library's malloc
 * family calls these names, which are hidden, so that the call is direct (no
 * PLT) and cannot be interposed. Its malloc and free are the inline fast
 * paths themselves, with a test of their own on the slow paths (the memory
 * checker's: hosted/libc.c), so that they cost nothing on top of the core's.
 */
#ifndef MM_ENTRY_H
#define MM_ENTRY_H

#include "core/heap.h"
#include "core/identity.h"
#include "core/size_class.h"
#include "core/span.h"
#include "core/types.h"
#include "platform/track.h"

void *mm_malloc(size_t size);
void mm_free(void *ptr);
void *mm_calloc(size_t count, size_t size);
void *mm_realloc(void *ptr, size_t size);
void *mm_aligned_alloc(size_t alignment, size_t size);
size_t mm_usable_size(void *ptr);
int mm_free_checked(void *ptr);

/* ---- the fast paths, inline ------------------------------------------------ */

/* An entry point's failure: reported to the platform, NULL returned. */
static inline void *mm_entry_fail(enum mm_error error)
{
    mm_prim_error(error);
    return NULL;
}

/* A block of class `c` from the caller's heap; NULL (reported) when none. */
static inline void *mm_malloc_class(unsigned c)
{
    mm_heap *heap = mm_heap_enter();
    if (MM_IDENTITY_ENTER_MAY_FAIL && MM_UNLIKELY(heap == NULL))
        return mm_entry_fail(MM_ERROR_NO_MEMORY);
    void *block = mm_heap_malloc(heap, c);
    mm_heap_leave(heap);
    if (MM_UNLIKELY(block == NULL))
        return mm_entry_fail(MM_ERROR_NO_MEMORY);
    if (MM_TRACK_CORE_BLOCKS)
        mm_track_block_out(NULL, block, mm_class_size(c), false);
    return block;
}

/* The parts of a free out of line (mymalloc.c), each taking `checked`
 * (myfree_checked: judge every pointer, report nothing, return -1 for a bad
 * one): a pointer that the quick lookup did not place (mm_free_looked_up,
 * the page map's own lookup), that is not in one of the caller's own slabs
 * (mm_free_slow: NULL, a large block, another heap's block, a bad pointer),
 * or that carries its free mark (mm_free_owned_judged, by check.c). Each
 * returns 0 when the block was live and is freed, else -1. */
int mm_free_looked_up(void *ptr, bool checked);
int mm_free_slow(void *ptr, mm_span *span, bool checked);
int mm_free_owned_judged(mm_heap *user, mm_span *span, mm_block *block, bool checked);

/* ASan builds (platform/track.h): a small block is poisoned while free, but
 * for its link and mark, which the core reads. */
static inline void mm_track_small_freed(const mm_span *span, mm_block *block)
{
    if (MM_TRACK_CORE_BLOCKS)
        mm_track_noaccess((char *)block + MM_TRACK_CORE_HEADER,
                          span->block_size - MM_TRACK_CORE_HEADER);
}

/* A block of slab `span`, which `user` (the caller's heap, or the heap it
 * locked) owns: judged first when `checked` or when it carries its free
 * mark. */
static inline int mm_free_owned(mm_heap *user, mm_span *span, mm_block *block, bool checked)
{
    if (MM_UNLIKELY(checked || (MM_FREE_JUDGES_OWN_BLOCKS && mm_block_marked_free(block))))
        return mm_free_owned_judged(user, span, block, checked);
    mm_track_small_freed(span, block);
    mm_heap_free_local(user, span, block);
    return 0;
}

/* The free of `ptr`, whose span the page map gave. */
static inline __attribute__((always_inline)) int mm_free_span(mm_span *span, void *ptr,
                                                              bool checked)
{
    /* NULL finds no span (page 0 is never a region's) and goes to
     * mm_free_slow, which frees nothing. */
    if (MM_UNLIKELY(span == NULL))
        return mm_free_slow(ptr, span, checked);
    mm_heap *heap;
    if (MM_LIKELY(mm_heap_enter_owner(span, ptr, checked || MM_FREE_JUDGES_OWN_BLOCKS, &heap))) {
        int result = mm_free_owned(heap, span, ptr, checked);
        mm_heap_leave(heap);
        return result;
    }
    return mm_free_slow(ptr, span, checked);
}

/* The free of `ptr`: `missed` takes a pointer that the quick lookup
 * (identity.h) did not place (mm_free_looked_up, or a caller's own test in
 * front of it). A leaf with no frame: every other path is a tail call. */
static inline __attribute__((always_inline)) int mm_free_pointer(void *ptr, bool checked,
                                                                 int (*missed)(void *, bool))
{
    mm_span *span;
    if (MM_UNLIKELY(!mm_free_lookup_quick(ptr, &span)))
        return missed(ptr, checked);
    return mm_free_span(span, ptr, checked);
}

#endif /* MM_ENTRY_H */
