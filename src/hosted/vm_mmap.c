/*
 * vm_mmap.c: the hosted build's vmalloc/vmfree, over anonymous mmap/munmap,
 * and what the core should know of them. The memory is zeroed and
 * page-aligned; the first vmalloc tells the core so (maps_zeroed), and calloc
 * then leaves fresh regions alone. Mapping costs a system call and a page
 * fault per page touched, so the first vmalloc also gives the core a clock:
 * heaps then keep the empty slabs of a recent peak (heap.c) rather than
 * unmap and map them again. The hooks are read only for memory the core got
 * from a vmalloc call, which ran the pthread_once first and reached the
 * reading thread through a lock or a release store: they are set before.
 * Referencing the hooks from here pulls threads.c into any static link that
 * pulls in the allocator.
 *
 * Huge pages: where the system's transparent huge pages are on ("always" or
 * "madvise") and MYMALLOC_HUGE_PAGES is not 0, a region of HUGE_PAGE bytes
 * or more (only large blocks are: slabs are at most 64 KiB) starts on a
 * huge-page boundary and is advised MADV_HUGEPAGE, and the core is told
 * (huge_page_bytes). Each whole 2 MiB of it then faults in at once, 25 times
 * faster than 512 page faults on the virtual machines we measure on; the
 * cost is that touching one byte of such a 2 MiB makes all of it resident.
 * The tail of a region short of a whole huge page keeps small pages.
 * Such a region can also move its pages into a bigger one with mremap
 * (move_pages): realloc then grows a buffer of huge pages without copying
 * it and without holding the old and the new region at once (the core
 * moves only regions of huge pages, large.c).
 */
#define _GNU_SOURCE /* mremap */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/types.h"
#include "hosted/hosted.h"
#include "mymalloc.h"

#define HUGE_PAGE ((size_t)2 << 20)

static pthread_once_t maps_described = PTHREAD_ONCE_INIT;

/* The coarse clock: a vDSO read of the last tick, a few nanoseconds. */
static uint64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Whether the system gives transparent huge pages to regions advised
 * MADV_HUGEPAGE: its setting is "[always]" or "[madvise]", not "[never]". */
static bool system_has_huge_pages(void)
{
    char setting[64] = "";
    int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t length = read(fd, setting, sizeof setting - 1);
    close(fd);
    return length > 0 && strstr(setting, "[never]") == NULL;
}

static bool move_pages(void *from, size_t bytes, void *to)
{
    return mremap(from, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, to) != MAP_FAILED;
}

static void describe_maps(void)
{
    mm_platform_hooks.maps_zeroed = true;
    mm_platform_hooks.move_pages = move_pages;
    mm_platform_hooks.unmaps_across_regions = true;
    mm_platform_hooks.clock_ms = monotonic_ms;
    mm_options_parse();
    if (mm_option_huge_pages && system_has_huge_pages())
        mm_platform_hooks.huge_page_bytes = HUGE_PAGE;
}

/* Anonymous memory, at `addr` if it is free (a hint), else anywhere. */
static void *map(void *addr, size_t length)
{
    void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* `length` bytes on a huge-page boundary, advised MADV_HUGEPAGE: map what
 * holds them wherever the boundary falls, and unmap the two ends. */
static void *map_huge(size_t length)
{
    size_t slack = HUGE_PAGE - MM_PAGE_SIZE;
    char *p = map(NULL, length + slack);
    if (p == NULL)
        return NULL;
    char *start = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (start > p)
        munmap(p, (size_t)(start - p));
    if (p + slack > start)
        munmap(start + length, (size_t)(p + slack - start));
    madvise(start, length, MADV_HUGEPAGE);
    return start;
}

void *vmalloc(void *addr, size_t length)
{
    mm_hosted_install();
    pthread_once(&maps_described, describe_maps);
    if (addr == NULL && mm_platform_hooks.huge_page_bytes != 0 && length >= HUGE_PAGE)
        return map_huge(length);
    return map(addr, length);
}

void vmfree(void *addr, size_t length)
{
    munmap(addr, length);
}
