/*
 * span.c: the descriptor pool and the mapping and unmapping of regions.
 *
 * Invariants (under desc_pool.lock):
 *   - a chunk is on the with_room list iff it has a free descriptor: one on
 *     its free list or one never handed out (index >= carved);
 *   - descriptors are carved in address order, on demand, so that a chunk's
 *     pages are touched only as its descriptors are used (a fresh chunk is
 *     one page of resident memory, not four);
 *   - chunk->used counts its descriptors in use; a chunk with used == 0 is
 *     unmapped as soon as another chunk has room.
 */
#include "core/stats.h"
#include "core/span.h"
#include "platform/lock.h"
#include "core/pagemap.h"
#include "core/retain.h"
#include "core/size_class.h"
#include "platform/track.h"

#define MM_DESC_CHUNK_BYTES ((size_t)16 << 10)

typedef struct mm_desc_chunk {
    struct mm_desc_chunk *next;
    struct mm_desc_chunk *prev;
    mm_span *free;
    uint32_t used;
    uint32_t carved;
} mm_desc_chunk;

/* Descriptors start one cache line into the chunk, so that no two share a
 * line with each other or with the chunk header. */
#define MM_DESC_STRIDE ((sizeof(mm_span) + 63) & ~(size_t)63)
_Static_assert(sizeof(mm_span) == 3 * (size_t)64, "a span descriptor is three cache lines (types.h)");
#define MM_DESC_FIRST ((sizeof(mm_desc_chunk) + 63) & ~(size_t)63)
#define MM_DESCS_PER_CHUNK ((MM_DESC_CHUNK_BYTES - MM_DESC_FIRST) / MM_DESC_STRIDE)

/* Chunks with room, oldest first: descriptors are taken from the head and a
 * chunk that regains room goes to the tail, so allocation keeps filling the
 * same few chunks while the others drain and can be unmapped. */
static struct {
    mm_lock lock;
    mm_desc_chunk *with_room;
    mm_desc_chunk *with_room_tail;
} desc_pool = {.lock = MM_LOCK_INITIALIZER(MM_LOCK_DESCRIPTORS)};

static void chunk_unlink(mm_desc_chunk *chunk)
{
    if (chunk->prev != NULL)
        chunk->prev->next = chunk->next;
    else
        desc_pool.with_room = chunk->next;
    if (chunk->next != NULL)
        chunk->next->prev = chunk->prev;
    else
        desc_pool.with_room_tail = chunk->prev;
}

static void chunk_append(mm_desc_chunk *chunk)
{
    chunk->next = NULL;
    chunk->prev = desc_pool.with_room_tail;
    if (chunk->prev != NULL)
        chunk->prev->next = chunk;
    else
        desc_pool.with_room = chunk;
    desc_pool.with_room_tail = chunk;
}

static mm_desc_chunk *chunk_create(void)
{
    mm_desc_chunk *chunk = mm_prim_map(MM_DESC_CHUNK_BYTES);
    if (chunk == NULL)
        return NULL;
    chunk->used = 0;
    chunk->carved = 0;
    chunk->free = NULL;
    mm_track_metadata(chunk, MM_DESC_CHUNK_BYTES); /* no root of memcheck's leak search */
    return chunk;
}

static bool chunk_has_room(const mm_desc_chunk *chunk)
{
    return chunk->free != NULL || chunk->carved < MM_DESCS_PER_CHUNK;
}

/* A free descriptor of a chunk with room: a recycled one, else the next
 * never handed out. */
static mm_span *chunk_take(mm_desc_chunk *chunk)
{
    MM_ASSERT(chunk_has_room(chunk));
    mm_span *span = chunk->free;
    if (span != NULL) {
        MM_ASSERT(span->kind == MM_SPAN_UNUSED && span->chunk == chunk);
        chunk->free = span->next;
        return span;
    }
    span = (mm_span *)((char *)chunk + MM_DESC_FIRST + chunk->carved * MM_DESC_STRIDE);
    chunk->carved++;
    MM_SPAN_SET(span, kind, MM_SPAN_UNUSED);
    span->chunk = chunk;
    return span;
}

static mm_span *desc_alloc(void)
{
    mm_lock_acquire(&desc_pool.lock);
    mm_desc_chunk *chunk = desc_pool.with_room;
    if (chunk == NULL) {
        chunk = chunk_create();
        if (chunk == NULL) {
            mm_lock_release(&desc_pool.lock);
            return NULL;
        }
        chunk_append(chunk);
    }
    mm_span *span = chunk_take(chunk);
    chunk->used++;
    MM_ASSERT(chunk->used <= chunk->carved && chunk->carved <= MM_DESCS_PER_CHUNK);
    if (!chunk_has_room(chunk))
        chunk_unlink(chunk);
    mm_lock_release(&desc_pool.lock);
    return span;
}

static void desc_free(mm_span *span)
{
    mm_desc_chunk *chunk = span->chunk;
    mm_lock_acquire(&desc_pool.lock);
    /* (kind may be UNUSED: a region that could not be mapped) */
    MM_ASSERT(chunk->used > 0 && span->chunk == chunk);
    MM_SPAN_SET(span, kind, MM_SPAN_UNUSED);
    bool had_room = chunk_has_room(chunk);
    span->next = chunk->free;
    chunk->free = span;
    chunk->used--;
    if (!had_room)
        chunk_append(chunk);
    bool release = chunk->used == 0 && (chunk->prev != NULL || chunk->next != NULL);
    if (release)
        chunk_unlink(chunk);
    mm_lock_release(&desc_pool.lock);
    if (release)
        mm_prim_unmap(chunk, MM_DESC_CHUNK_BYTES);
}

mm_span *mm_span_create(size_t bytes, size_t align, size_t mapped_pages)
{
    mm_span *span = desc_alloc();
    if (span == NULL)
        return NULL;
    char *base = mm_prim_map(bytes);
    if (base == NULL) {
        desc_free(span);
        return NULL;
    }
    MM_SPAN_SET(span, base, base);
    span->bytes = bytes;
    MM_SPAN_SET(span, block_start,
                (char *)(((uintptr_t)base + align - 1) & ~(uintptr_t)(align - 1)));
    span->next = span->prev = NULL;
    span->list = MM_LIST_NONE;
    mm_span_set_parked(span, 0);
    atomic_init(&span->owner, NULL);
    atomic_init(&span->thread_free, 0);
    atomic_init(&span->published_used, 0);
    if (!mm_pagemap_set(span->block_start, mapped_pages, span)) {
        mm_prim_unmap(base, bytes);
        desc_free(span);
        return NULL;
    }
    return span;
}

/* Clear the span's page-map entries and free its descriptor: once its
 * region goes, nothing refers to it. */
static void span_forget_region(mm_span *span)
{
    MM_ASSERT(span->list == MM_LIST_NONE);
    size_t mapped_pages = span->kind == MM_SPAN_SLAB ? span->bytes >> MM_PAGE_SHIFT : 1;
    mm_pagemap_clear(span->block_start, mapped_pages);
    if (MM_TRACK_CORE_BLOCKS) /* ASan's shadow stays after an unmap */
        mm_track_undefined(span->base, span->bytes);
    desc_free(span);
}

void mm_span_destroy(mm_span *span)
{
    char *base = span->base;
    size_t bytes = span->bytes;
    span_forget_region(span);
    mm_prim_unmap(base, bytes);
}

/* Merge two lists sorted by base address. */
static mm_span *merge_by_base(mm_span *a, mm_span *b)
{
    mm_span *head = NULL, **tail = &head;
    while (a != NULL && b != NULL) {
        mm_span **lower = a->base < b->base ? &a : &b;
        *tail = *lower;
        tail = &(*lower)->next;
        *lower = (*lower)->next;
    }
    *tail = a != NULL ? a : b;
    return head;
}

/* `list` sorted by base address: a merge sort, O(n log n), recursion depth
 * log2 n. */
static mm_span *sort_by_base(mm_span *list)
{
    if (list == NULL || list->next == NULL)
        return list;
    mm_span *middle = list, *probe = list->next;
    while (probe != NULL && probe->next != NULL) {
        middle = middle->next;
        probe = probe->next->next;
    }
    mm_span *second = middle->next;
    middle->next = NULL;
    return merge_by_base(sort_by_base(list), sort_by_base(second));
}

void mm_span_destroy_list(mm_span *list)
{
    bool join = mm_prim_unmaps_across_regions();
    list = join ? sort_by_base(list) : list;
    while (list != NULL) {
        char *run_base = list->base;
        size_t run_bytes = 0;
        do {
            mm_span *span = list;
            list = span->next;
            run_bytes += span->bytes;
            span_forget_region(span);
        } while (join && list != NULL && list->base == run_base + run_bytes);
        mm_prim_unmap(run_base, run_bytes);
    }
}

void mm_span_forget(mm_span *span)
{
    desc_free(span);
}

void mm_slab_format(mm_span *span, unsigned c)
{
    MM_ASSERT(span->list == MM_LIST_NONE && span->bytes % MM_PAGE_SIZE == 0);
    size_t size = mm_class_size(c);
    MM_SPAN_SET(span, kind, MM_SPAN_SLAB);
    MM_SPAN_SET(span, size_class, (uint8_t)c);
    MM_SPAN_SET(span, block_size, (uint32_t)size);
    MM_SPAN_SET(span, block_reciprocal,
                (((uint64_t)1 << MM_RECIPROCAL_SHIFT) + size - 1) / size);
    if (MM_TRACK_CORE_BLOCKS) /* an emptied slab may come back with another class */
        mm_track_undefined(span->base, span->bytes);
    span->capacity = (uint32_t)(span->bytes / size);
    atomic_store_explicit(&span->bump, span->base, memory_order_relaxed);
    span->end = span->base + (size_t)span->capacity * size;
    span->free = NULL;
    span->local_free = NULL;
    span->used = 0;
    mm_span_set_parked(span, 0);
    span->retire_empty = span->bytes > mm_slab_keep_empty_bytes();
    span->unfull_free = (uint16_t)(span->capacity >= 8 ? span->capacity / 4 : 1);
    atomic_store_explicit(&span->thread_free, 0, memory_order_relaxed);
}

void mm_span_lock_pool(void)
{
    mm_lock_acquire(&desc_pool.lock);
}

void mm_span_unlock_pool(void)
{
    mm_lock_release(&desc_pool.lock);
}
