/*
 * vm_mmap.c: the hosted build's vmalloc/vmfree, over anonymous mmap/munmap.
 * The memory is zeroed and page-aligned; the first vmalloc tells the core so
 * (maps_zeroed), and calloc then leaves fresh regions alone. A thread that
 * gets a fresh region has called vmalloc, whose pthread_once orders the flag
 * before its read. Referencing the hooks from here pulls threads.c into any
 * static link that pulls in the allocator.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "core/types.h"
#include "hosted/hosted.h"
#include "mymalloc.h"

static pthread_once_t zeroed_once = PTHREAD_ONCE_INIT;

static void declare_zeroed_maps(void)
{
    mm_platform_hooks.maps_zeroed = true;
}

void *vmalloc(void *addr, size_t length)
{
    mm_hosted_install();
    pthread_once(&zeroed_once, declare_zeroed_maps);
    void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void vmfree(void *addr, size_t length)
{
    munmap(addr, length);
}
