/*
 * mymalloc: a thread-parallel memory allocator that needs nothing but two
 * page-mapping functions and C11 atomics.
 *
 * Allocation:
 *   mymalloc(size)  returns a block of at least `size` bytes, 8-byte aligned,
 *                   16-byte aligned when size >= 16; NULL when memory cannot be
 *                   had or the size cannot be represented (e.g. SIZE_MAX).
 *                   mymalloc(0) returns a unique, freeable block of 8 bytes
 *                   (never NULL unless memory is exhausted), like glibc's malloc(0).
 *   myfree(ptr)     returns a block from mymalloc, on any thread; myfree(NULL)
 *                   does nothing. A pointer this allocator never returned is
 *                   reported through the platform's error hook (hosted build:
 *                   a message on stderr and abort()) and never corrupts the heap.
 *
 * The embedder supplies (the hosted library brings its own over mmap/munmap):
 *   vmalloc(addr, length)  maps `length` bytes (a multiple of 4096) of readable
 *                          and writable memory and returns its start,
 *                          page-aligned, or NULL when it cannot. mymalloc always
 *                          passes addr = NULL (no placement wish) and does not
 *                          rely on the memory being zeroed.
 *   vmfree(addr, length)   unmaps a region. mymalloc hands back each region
 *                          whole, with exactly the address and length vmalloc
 *                          returned it with.
 */
#ifndef MYMALLOC_H
#define MYMALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *mymalloc(size_t size);
void myfree(void *ptr);

void *vmalloc(void *addr, size_t length);
void vmfree(void *addr, size_t length);

#ifdef __cplusplus
}
#endif

#endif /* MYMALLOC_H */
