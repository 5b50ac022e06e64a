/*
 * vm_mmap.c: the hosted build's vmalloc/vmfree, over anonymous mmap/munmap,
 * and what the core should know of them. The memory is zeroed and
 * page-aligned; the first vmalloc tells the core so (maps_zeroed), and calloc
 * then leaves fresh regions alone. Mapping costs a system call and a page
 * fault per page touched, so the first vmalloc also gives the core a clock:
 * heaps then keep the empty slabs of a recent peak (heap.c) rather than
 * unmap and map them again. Both hooks are read only for memory the core
 * got from a vmalloc call, which ran the pthread_once first and reached the
 * reading thread through a lock or a release store: they are set before.
 * Referencing the hooks from here pulls threads.c into any static link that
 * pulls in the allocator.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#include "core/types.h"
#include "hosted/hosted.h"
#include "mymalloc.h"

static pthread_once_t maps_described = PTHREAD_ONCE_INIT;

/* The coarse clock: a vDSO read of the last tick, a few nanoseconds. */
static uint64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static void describe_maps(void)
{
    mm_platform_hooks.maps_zeroed = true;
    mm_platform_hooks.clock_ms = monotonic_ms;
}

void *vmalloc(void *addr, size_t length)
{
    mm_hosted_install();
    pthread_once(&maps_described, describe_maps);
    void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void vmfree(void *addr, size_t length)
{
    munmap(addr, length);
}
