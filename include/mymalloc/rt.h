/*
 * mymalloc/rt.h: the real-time heap. The caller hands it one region of
 * memory; every call then does constant work (no loop whose trip count
 * depends on the heap's contents, no system call, no lock), and a heap of
 * rt_heap_required(M, n) bytes provably never fails while the live requested
 * bytes stay <= M and every request is <= n. docs/REALTIME.md has the design,
 * the proof, the instruction bounds and the measurements.
 *
 * In the hosted library (build/libmymalloc.*) and as the freestanding
 * single-file drop-in build/rt/mymalloc_rt.c + mymalloc_rt.h, which needs
 * nothing from its embedder:
 *   gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -nostdlib -c mymalloc_rt.c
 *
 * rt_heap_init(memory, bytes)
 *          the heap lives inside [memory, memory + bytes): its state (about
 *          2 KiB) at the start, then a good-fit region (a sixteenth of the
 *          rest: blocks split and merged to the request's size, which serve
 *          first) and the reserve (blocks of power-of-two sizes that serve
 *          what the good-fit region cannot, and on which the size bound
 *          rests). Any alignment of `memory` works. NULL if memory is NULL
 *          or too small to hold the state and one block.
 * rt_malloc(heap, size)
 *          a 16-byte aligned block of at least `size` bytes, or NULL when the
 *          heap cannot serve it (size above 2^46, or no room). rt_malloc(0)
 *          returns a unique minimal block (counted as 1 byte in the bound).
 * rt_free(heap, ptr)
 *          NULL: nothing. Any thread may free (see Threads). A pointer that
 *          is not a live block of this heap (freed already, never returned,
 *          from elsewhere) is reported to the error handler and nothing is
 *          changed.
 * rt_realloc(heap, ptr, size)
 *          as realloc: NULL ptr is rt_malloc; size 0 frees ptr and returns
 *          NULL; in place when the block still fits the size (a reserve
 *          block: within its size class; a good-fit block: no larger than
 *          it and at least half of it), else a new block, a copy and a free
 *          (O(size)); on failure NULL and ptr unchanged. While it moves, old
 *          and new block both count as live.
 * rt_aligned_alloc(heap, alignment, size)
 *          a block aligned to `alignment` (a power of two); NULL for any
 *          other alignment. Above 16 it is a reserve block for a request of
 *          size + alignment - 16, which is what counts in the bound.
 * rt_usable_size(heap, ptr)
 *          bytes usable at ptr (>= the size asked); 0 for NULL or a pointer
 *          that is not a live block.
 * rt_heap_required(max_live_bytes, max_request)
 *          bytes of memory with which rt_heap_init's heap provably never
 *          returns NULL from rt_malloc while the sum of live requested sizes
 *          stays <= max_live_bytes and every request <= max_request
 *          (SIZE_MAX if that does not fit in a size_t).
 * rt_heap_check(heap)
 *          0 when every invariant holds (every block's header, every free
 *          list), else -1. Walks the whole heap: not a real-time call. Call
 *          it from the owner while no other thread frees into the heap.
 * rt_heap_stats(heap, stats)
 *          capacity: bytes for blocks; live_bytes, peak_live_bytes: bytes of
 *          live blocks (block sizes, header included), now and at most;
 *          free_bytes = capacity - live_bytes; largest_free: the largest
 *          size rt_malloc can serve now (good-fit blocks pending after a
 *          contended rt_free not counted until taken in). Not a real-time
 *          call; as rt_heap_check, call it from the owner while no other
 *          thread frees into the heap.
 *
 * Errors: the library build also sets errno (ENOMEM for sizes it cannot
 * serve, EINVAL for a bad alignment) as the malloc family does; the
 * drop-in has no errno, only the NULL.
 *
 * Bad pointers: rt_free, rt_realloc and rt_usable_size recognise a pointer
 * outside the heap or not 16-byte aligned exactly, a block freed twice
 * exactly (until its memory is handed out again), and any other pointer
 * into the heap by a 16-bit check in the block header (a false acceptance
 * has odds 2^-16). They report it to the heap's error handler,
 * rt_set_error_handler (none by default: the report is dropped), and change
 * nothing. A pointer into free memory may be reported as either problem.
 * A pointer kept from an earlier heap on the same memory is one of those
 * "other pointers": each rt_heap_init salts the check bits anew.
 *
 * Threads: one thread at a time calls rt_malloc, rt_realloc,
 * rt_aligned_alloc, rt_heap_check and rt_heap_stats (the owner; it may
 * change between calls if the program orders them). rt_free may be called
 * by any thread at any time. A reserve block goes onto a lock-free list of
 * its size class, which the owner takes in whole, in one atomic exchange,
 * when that class runs out. A good-fit block is merged with its free
 * neighbours under a try-lock: a call that finds it held never waits
 * (rt_free leaves the block on a lock-free list, which rt_malloc takes in
 * one block per call; rt_malloc serves from the reserve). The call that
 * takes one in serves itself from the reserve: beyond the sizing rule it
 * may return NULL while the good-fit region has room, which the next call
 * finds. Retries of the lists' compare-and-swaps (rt_free's push and
 * mark, the owner's take-in) are bounded by the operations other threads
 * complete meanwhile: lock-free, not wait-free. A block counts as live
 * until its rt_free returns.
 */
#ifndef MYMALLOC_RT_H
#define MYMALLOC_RT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_heap rt_heap_t;

rt_heap_t *rt_heap_init(void *memory, size_t bytes);
void *rt_malloc(rt_heap_t *heap, size_t size);
void rt_free(rt_heap_t *heap, void *ptr);
void *rt_realloc(rt_heap_t *heap, void *ptr, size_t size);
void *rt_aligned_alloc(rt_heap_t *heap, size_t alignment, size_t size);
size_t rt_usable_size(rt_heap_t *heap, void *ptr);
size_t rt_heap_required(size_t max_live_bytes, size_t max_request);
int rt_heap_check(rt_heap_t *heap);

struct rt_heap_stats {
    size_t capacity, free_bytes, largest_free, live_bytes, peak_live_bytes;
};
void rt_heap_stats(rt_heap_t *heap, struct rt_heap_stats *stats);

/* What a bad pointer was (the handler's `problem`). */
enum rt_problem {
    RT_DOUBLE_FREE = 1,     /* a block of this heap that is already free */
    RT_INVALID_POINTER = 2, /* not a block this heap handed out */
};
/* Called on the thread that passed the bad pointer, inside the call that
 * found it; it must not call into this heap. NULL: reports are dropped. */
typedef void (*rt_error_handler_t)(rt_heap_t *heap, void *ptr, enum rt_problem problem);
void rt_set_error_handler(rt_heap_t *heap, rt_error_handler_t handler);

#ifdef __cplusplus
}
#endif

#endif /* MYMALLOC_RT_H */
