/*
 * entry.h: the core's entry points under their internal names. mymalloc.c
 * exports them as mymalloc, myfree, ... (include/mymalloc.h); the hosted
 * library's malloc family calls these names, which are hidden, so that the
 * call is direct (no PLT) and cannot be interposed.
 */
#ifndef MM_ENTRY_H
#define MM_ENTRY_H

#include "core/types.h"

void *mm_malloc(size_t size);
void mm_free(void *ptr);
void *mm_calloc(size_t count, size_t size);
void *mm_realloc(void *ptr, size_t size);
void *mm_aligned_alloc(size_t alignment, size_t size);
size_t mm_usable_size(void *ptr);
int mm_free_checked(void *ptr);

#endif /* MM_ENTRY_H */
