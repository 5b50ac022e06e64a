/*
 * glibc_shim.c: mymalloc/myfree as the C library's malloc/free, so that a
 * program written against mymalloc (the test kit's stress) measures glibc in
 * the same workload.
 */
#include <stdlib.h>

void *mymalloc(size_t size);
void myfree(void *ptr);

void *mymalloc(size_t size)
{
    return malloc(size);
}

void myfree(void *ptr)
{
    free(ptr);
}
