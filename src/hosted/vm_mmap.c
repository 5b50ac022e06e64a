/*
 * vm_mmap.c: the hosted build's vmalloc/vmfree, over anonymous mmap/munmap.
 * The memory is zeroed and page-aligned. Referencing the hooks from here
 * pulls threads.c into any static link that pulls in the allocator.
 */
#include <sys/mman.h>

#include "hosted/hosted.h"
#include "mymalloc.h"

void *vmalloc(void *addr, size_t length)
{
    mm_hosted_install();
    void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void vmfree(void *addr, size_t length)
{
    munmap(addr, length);
}
