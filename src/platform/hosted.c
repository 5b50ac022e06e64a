/*
 * hosted.c: the hosted platform's libc side (platform.h): vmalloc/vmfree over
 * anonymous mmap/munmap, and the hooks of mm_prim_table that need the system:
 * clocks, page moves, CPUs and NUMA nodes, mlock, background threads. The
 * table is filled once, by the first vmalloc or the library's constructor,
 * whichever comes first; the core reads a hook only for memory it got from a
 * vmalloc call, which ran the pthread_once first and reached the reading
 * thread through a lock or a release store. (The upcalls, thread exit, fork,
 * errno and bad pointers, are the hosted library's: src/hosted/threads.c.)
 *
 * The memory is zeroed and page-aligned (maps_zeroed: calloc leaves fresh
 * regions alone). Mapping costs a system call and a page fault per page
 * touched, so the table also gives the core a clock: the caches then keep
 * the memory of a recent peak (core/retain.h) rather than unmap and map it
 * again.
 *
 * Huge pages: where the system's transparent huge pages are on ("always" or
 * "madvise") and MYMALLOC_HUGE_PAGES is not 0, a region of HUGE_PAGE bytes
 * or more (only large blocks are: slabs are at most 64 KiB) starts on a
 * huge-page boundary and is advised MADV_HUGEPAGE, and the core is told
 * (huge_page_bytes). Each whole 2 MiB of it then faults in at once; the cost
 * is that touching one byte of such a 2 MiB makes all of it resident. The
 * tail of a region short of a whole huge page keeps small pages. Such a
 * region can also move its pages into a bigger one with mremap (move_pages):
 * realloc then grows a buffer of huge pages without copying it.
 *
 * NUMA: nodes are those of /sys/devices/system/node; binding is mbind with
 * MPOL_BIND, and a page's node is what move_pages reports for it (by raw
 * system calls: no libnuma needed).
 */
#define _GNU_SOURCE /* mremap */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hosted/hosted.h"
#include "mymalloc.h"
#include "platform/platform.h"

#define HUGE_PAGE ((size_t)2 << 20)

static pthread_once_t table_filled = PTHREAD_ONCE_INIT;

/* Anonymous memory, at `addr` if it is free (a hint), else anywhere. */
static void *map(void *addr, size_t length)
{
    void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The coarse clock: a vDSO read of the last tick, a few nanoseconds. */
static uint64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
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

/* ---- CPUs and NUMA nodes ------------------------------------------------ */

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    return n > 0 ? (int)n : -1;
}

static int cpu_current(void)
{
    return sched_getcpu();
}

/* The highest number in a sysfs list such as "0", "0-3" or "0,2-5", + 1. */
static int list_end(const char *path)
{
    char text[256] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    int end = -1;
    for (char *p = text; length > 0 && *p != '\0';) {
        char *next;
        long value = strtol(p, &next, 10);
        if (next == p)
            break;
        if (value + 1 > end)
            end = (int)value + 1;
        p = next + (*next == ',' || *next == '-');
    }
    return end;
}

static int node_count(void)
{
    int nodes = list_end("/sys/devices/system/node/online");
    return nodes > 0 ? nodes : 1; /* a kernel without NUMA: one node */
}

/* The node whose directory the CPU's sysfs directory links to. */
static int node_of_cpu(int cpu)
{
    char path[64];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d", cpu);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int node = -1;
    for (struct dirent *entry; node < 0 && (entry = readdir(dir)) != NULL;)
        if (strncmp(entry->d_name, "node", 4) == 0 && entry->d_name[4] >= '0' &&
            entry->d_name[4] <= '9')
            node = atoi(entry->d_name + 4);
    closedir(dir);
    return node < 0 && cpu < cpu_count() ? 0 : node;
}

/* move_pages with no target nodes reports where a resident page is. */
static int node_of_address(const void *ptr)
{
    void *page = (void *)((uintptr_t)ptr & ~(uintptr_t)(MM_PAGE_SIZE - 1));
    int status = -1;
    if (syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0) != 0)
        return -1;
    return status >= 0 ? status : -1;
}

#define MPOL_BIND_MODE 2 /* MPOL_BIND of <linux/mempolicy.h> */

static int bind_node(void *base, size_t bytes, int node)
{
    unsigned long mask[2] = {0, 0};
    if (node < 0 || node >= (int)(8 * sizeof mask))
        return -1;
    mask[node / (8 * sizeof mask[0])] = 1UL << (node % (8 * sizeof mask[0]));
    return syscall(SYS_mbind, base, bytes, MPOL_BIND_MODE, mask, 8 * sizeof mask + 1, 0) == 0 ? 0
                                                                                           : -1;
}

static int lock_memory(void *base, size_t bytes)
{
    return mlock(base, bytes) == 0 ? 0 : -1;
}

/* ---- background threads ------------------------------------------------ */

typedef struct background_thread {
    pthread_t id;
    void (*fn)(void *);
    void *arg;
} background_thread;

static void *background_main(void *start)
{
    background_thread *thread = start;
    thread->fn(thread->arg);
    return NULL;
}

/* The handle lives in a page of its own: no malloc from the platform. */
static void *thread_start(void (*fn)(void *), void *arg)
{
    background_thread *thread = map(NULL, MM_PAGE_SIZE);
    if (thread == NULL)
        return NULL;
    thread->fn = fn;
    thread->arg = arg;
    if (pthread_create(&thread->id, NULL, background_main, thread) != 0) {
        munmap(thread, MM_PAGE_SIZE);
        return NULL;
    }
    return thread;
}

static void thread_join(void *handle)
{
    background_thread *thread = handle;
    pthread_join(thread->id, NULL);
    munmap(thread, MM_PAGE_SIZE);
}

static void sleep_ms(unsigned ms)
{
    struct timespec delay = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&delay, &delay) != 0) {
    }
}

static void fill_table(void)
{
    mm_prim_hooks *t = &mm_prim_table;
    t->maps_zeroed = true;
    t->unmaps_across_regions = true;
    t->move_pages = move_pages;
    t->clock_ms = monotonic_ms;
    t->clock_ns = monotonic_ns;
    t->cpu_count = cpu_count;
    t->cpu_current = cpu_current;
    t->node_count = node_count;
    t->node_of_cpu = node_of_cpu;
    t->node_of_address = node_of_address;
    t->bind_node = bind_node;
    t->lock_memory = lock_memory;
    t->thread_start = thread_start;
    t->thread_join = thread_join;
    t->sleep_ms = sleep_ms;
    mm_options_parse();
    if (mm_option_huge_pages && system_has_huge_pages())
        t->huge_page_bytes = HUGE_PAGE;
}

__attribute__((constructor)) static void fill_table_at_load(void)
{
    pthread_once(&table_filled, fill_table);
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
    pthread_once(&table_filled, fill_table);
    if (addr == NULL && mm_prim_table.huge_page_bytes != 0 && length >= HUGE_PAGE)
        return map_huge(length);
    return map(addr, length);
}

void vmfree(void *addr, size_t length)
{
    munmap(addr, length);
}
