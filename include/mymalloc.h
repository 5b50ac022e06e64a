/*
 * mymalloc: a thread-parallel memory allocator that needs nothing but two
 * page-mapping functions and C11 atomics.
 *
 * This header declares three layers:
 *   1. the core API (every build, including the freestanding M5 drop-in):
 *      mymalloc, myfree, mycalloc, myrealloc, myaligned_alloc, myusable_size,
 *      myfree_checked;
 *   2. the application API of the hosted library (build/libmymalloc.*):
 *      allocator_init, allocator_cleanup, allocator_stats, allocator_dump,
 *      allocator_verify;
 *   3. what the embedder of the freestanding core supplies: vmalloc, vmfree.
 * The hosted library also exports the standard malloc family (malloc, free,
 * calloc, realloc, ...) with glibc's semantics; see README.md.
 *
 * Alignment: every block is 16-byte aligned; blocks above 32 KiB are
 * page-aligned. A block is reusable by every thread once freed, on any thread.
 *
 * Errors: a function that returns NULL for lack of memory sets errno to
 * ENOMEM in the hosted library (the freestanding build has no errno); for
 * a bad argument (an alignment that is not a power of two, a pointer that
 * is not a live block), EINVAL. A
 * pointer passed to myfree that no live block starts at (never returned,
 * interior, or already freed) is reported through the platform's error hook
 * (hosted library: a message on stderr, then abort()) and never corrupts
 * the heap; the exceptions are a second free of a small block owned by
 * another thread that races with the first (see myfree_checked), and a
 * free of a pointer into a slab that another thread unmaps at that very
 * moment, which may fault instead of being reported.
 */
#ifndef MYMALLOC_H
#define MYMALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. core API ---------------------------------------------------------
 *
 * mymalloc(size)    a block of at least `size` bytes; NULL when memory cannot
 *                   be had or `size` exceeds 2^46 (e.g. SIZE_MAX).
 *                   mymalloc(0) returns a unique freeable block.
 * myfree(ptr)       frees a block from any function here, on any thread;
 *                   myfree(NULL) does nothing. O(1) except when the block's
 *                   slab becomes empty (then a bounded slow path, DESIGN.md).
 * mycalloc(n, size) n * size zeroed bytes; NULL if the product overflows.
 *                   Memory fresh from the system is not cleared again.
 * myrealloc(p, size)
 *                   p == NULL: mymalloc(size). size == 0: frees p, returns
 *                   NULL. Otherwise keeps the block when it is big enough and
 *                   not more than twice too big, else moves the contents to a
 *                   new block (large blocks grow in place when their mapping
 *                   has room); on failure returns NULL and p stays valid.
 *                   A p that is not a live block is reported as myfree
 *                   reports it; if the report returns, NULL with EINVAL.
 * myaligned_alloc(alignment, size)
 *                   a block of at least `size` bytes whose address is a
 *                   multiple of `alignment`, which must be a power of two
 *                   (else NULL with EINVAL); any alignment up to 2^30 (1 GiB) and beyond,
 *                   as long as size + alignment fits 2^46. Alignments up to
 *                   16 cost nothing; up to 4096 a size class that is a
 *                   multiple of the alignment; above, address space (not
 *                   memory) of one extra alignment.
 * myusable_size(p)  bytes usable in block p (at least what was asked; the
 *                   size class's size); 0 for NULL or a pointer that is not
 *                   a live block's start.
 * myfree_checked(p) frees p and returns 0 if p is a live block of this
 *                   allocator; returns -1 and changes nothing otherwise: an
 *                   address never returned, an interior pointer, a block
 *                   already freed (a double free), a pointer into a cached
 *                   region. myfree_checked(NULL) returns 0, as free(NULL) is
 *                   allowed. Cost: a large block, O(1); a small block of the
 *                   caller's own heap, a walk of its slab's free lists
 *                   (O(blocks per slab), at most a few thousand); a small
 *                   block of another thread's heap, a lock of that heap's
 *                   lists and a look at the block's free mark (a word a free
 *                   writes into every freed block and malloc clears): exact
 *                   unless the program wrote that mark itself into a live
 *                   block, or two threads free the same block at the same
 *                   moment.
 */
void *mymalloc(size_t size);
void myfree(void *ptr);
void *mycalloc(size_t count, size_t size);
void *myrealloc(void *ptr, size_t size);
void *myaligned_alloc(size_t alignment, size_t size);
size_t myusable_size(void *ptr);
int myfree_checked(void *ptr);

/* ---- 2. application API (hosted library) ---------------------------------
 *
 * allocator_init(enable_concurrency)
 *                   optional: everything initialises itself on first use.
 *                   Reads the MYMALLOC_ options from the environment if not
 *                   read yet. Concurrency is always on (a thread-private heap
 *                   costs nothing when there is one thread); the argument is
 *                   accepted for compatibility. Returns 0.
 * allocator_cleanup()
 *                   returns the idle memory of the calling thread's heap,
 *                   of the heaps of exited threads and the large-block cache
 *                   to the system. Live blocks stay valid; the allocator
 *                   stays usable.
 * allocator_stats(allocated, freed, peak)
 *                   bytes handed out since the start (usable sizes), bytes
 *                   freed, and the peak of allocated - freed. Any pointer may
 *                   be NULL. Counts are per thread and summed on request:
 *                   exact for allocated and freed once other threads are
 *                   quiet; the peak is sampled on slow paths and may miss a
 *                   short-lived peak by up to 64 KiB per thread, plus about
 *                   a slab per size class that thread uses.
 * allocator_dump()  prints to stderr a picture of the allocator: bytes held
 *                   from the system, heaps, and per size class the blocks
 *                   handed out and the slabs held.
 * allocator_verify()
 *                   walks the allocator's structures (heaps, slab lists, page
 *                   map, large blocks and caches) and checks their invariants;
 *                   also the free lists of the calling thread's own slabs.
 *                   Returns 0 when sound, else -1 after printing what is
 *                   wrong to stderr. O(slabs + pages held).
 */
int allocator_init(int enable_concurrency);
void allocator_cleanup(void);
void allocator_stats(size_t *allocated, size_t *freed, size_t *peak);
void allocator_dump(void);
int allocator_verify(void);

/* ---- 3. supplied by the embedder -----------------------------------------
 * (the hosted library brings its own over mmap/munmap)
 *
 * vmalloc(addr, length)  maps `length` bytes (a multiple of 4096) of readable
 *                        and writable memory and returns its start,
 *                        page-aligned, or NULL when it cannot. mymalloc always
 *                        passes addr = NULL (no placement wish) and does not
 *                        rely on the memory being zeroed.
 * vmfree(addr, length)   unmaps a region. mymalloc hands back each region
 *                        whole, with exactly the address and length vmalloc
 *                        returned it with.
 * Over an embedder's vmalloc, what mymalloc holds follows what is live (at
 * most 4 x the live bytes plus a fixed slack, the M5 rule). The hosted
 * library's own vmalloc also gives the core a clock, and it then keeps the
 * memory of recent peaks for reuse (docs/DESIGN.md, memory-return policy).
 */
void *vmalloc(void *addr, size_t length);
void vmfree(void *addr, size_t length);

#ifdef __cplusplus
}
#endif

#endif /* MYMALLOC_H */
