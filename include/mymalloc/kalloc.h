/*
 * kalloc.h: mymalloc's kernel mode, the physical-memory allocator of a
 * kernel with up to 64 CPUs (built for 8). The kernel hands it one region
 * of memory and a way to ask which CPU it runs on; it needs nothing else:
 * no libc, no page mapping, no threads, no static data beyond one pointer.
 * docs/KERNEL.md has the design and how to plug it into an AbstractMachine
 * kernel.
 *
 * kalloc_init(heap_start, heap_end)
 *              hands the allocator [heap_start, heap_end): 64 MiB to 4 GiB
 *              (smaller works too), any 4 KiB-aligned start (a start or end
 *              inside a page loses that page). All metadata is carved from
 *              the start of the region (about 0.6% of it). Runs once, on one
 *              CPU, before any other call; it asks kalloc_cpu_count() then.
 *              O(pages of the region). Called again (with no call running),
 *              it starts over and forgets the old region.
 * kalloc(size) a block of at least `size` bytes, aligned to the smallest
 *              power of two >= size (kalloc(24) to 32, kalloc(4096) to 4096,
 *              kalloc(3 << 20) to 4 MiB; at least to 16). NULL for size 0,
 *              for sizes above the largest block the region can hold,
 *              when no free block of that size can be found on any CPU, and
 *              before kalloc_init (kfree then does nothing).
 * kfree(ptr)   gives a block back, on any CPU; kfree(NULL) does nothing.
 *              A pointer that is not the start of a live block is ignored
 *              when that is cheap to see (outside the region, a page that
 *              starts no block, a block offset that is not a multiple of
 *              its size, a page block freed twice); a second kfree of a
 *              small block is not caught.
 *
 * The embedder supplies
 *   kalloc_cpu_current()  the calling CPU's number, 0 .. count-1;
 *   kalloc_cpu_count()    the number of CPUs (asked once, by kalloc_init).
 * Numbers outside 0 .. count-1 are folded into it (CPUs then share a
 * cache, safely); counts above 64 share 64 caches.
 *
 * Interrupts. Each call takes its CPU's cache lock; an interrupt handler
 * that calls kalloc or kfree on a CPU already inside one would wait for
 * itself. A kernel that allocates in interrupt handlers defines, before
 * this header is first read (e.g. with -D), both of
 *   KALLOC_IRQ_SAVE()          disables interrupts on this CPU, returns the
 *                              previous state as an unsigned long;
 *   KALLOC_IRQ_RESTORE(saved)  puts that state back.
 * kalloc and kfree run entirely between the two (and read the CPU number
 * inside, so the calling code cannot migrate in between). By default they do
 * nothing. Example for AbstractMachine:
 *   #define KALLOC_IRQ_SAVE() ({ unsigned long on_ = ienabled(); iset(false); on_; })
 *   #define KALLOC_IRQ_RESTORE(saved) iset((saved) != 0)
 *
 * Build option KALLOC_SINGLE_LOCK: the same structures behind one lock
 * that every call takes (for comparison; slower on several CPUs).
 */
#ifndef MYMALLOC_KALLOC_H
#define MYMALLOC_KALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void kalloc_init(void *heap_start, void *heap_end);
void *kalloc(size_t size);
void kfree(void *ptr);

/* Supplied by the embedder. */
int kalloc_cpu_current(void);
int kalloc_cpu_count(void);

#ifndef KALLOC_IRQ_SAVE
#define KALLOC_IRQ_SAVE() 0UL
#define KALLOC_IRQ_RESTORE(saved) ((void)(saved))
#endif

#ifdef __cplusplus
}
#endif

#endif /* MYMALLOC_KALLOC_H */
