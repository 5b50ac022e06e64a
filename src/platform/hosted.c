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
 * realloc then grows a buffer of huge pages without copying it. The
 * real-time mode's arena is mapped the same way, whole (arena_create).
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
#include <sys/rseq.h>
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

#if !defined(MM_REALTIME) /* the real-time mode has no clock and no page moves */
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

static bool move_pages(void *from, size_t bytes, void *to)
{
    return mremap(from, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, to) != MAP_FAILED;
}
#endif

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

/* glibc 2.35 and later register every thread's rseq area and say where it
 * is; weak, so that an older glibc leaves them at 0 (no area). Declared again
 * for the weak attribute, which <sys/rseq.h>'s declarations lack.
 * NOLINTBEGIN(readability-redundant-declaration) */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
/* NOLINTEND(readability-redundant-declaration) */

/* Where mm_prim_cpu_current finds the CPU number, relative to the thread
 * pointer, or 0 when glibc registered no rseq area (then sched_getcpu). */
static long rseq_cpu_offset(void)
{
    if (&__rseq_size == NULL || &__rseq_offset == NULL || __rseq_size == 0)
        return 0;
    return (long)__rseq_offset + (long)offsetof(struct rseq, cpu_id);
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
    (void)snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d", cpu); /* fits any int */
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int node = -1;
    for (struct dirent *entry; node < 0 && (entry = readdir(dir)) != NULL;)
        if (strncmp(entry->d_name, "node", 4) == 0 && entry->d_name[4] >= '0' &&
            entry->d_name[4] <= '9')
            node = (int)strtol(entry->d_name + 4, NULL, 10);
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

#if defined(MM_REALTIME)
/* ---- the real-time arena ------------------------------------------------ *
 * MM_REALTIME (build/libmymalloc-rt.so): every page the core maps comes from
 * one arena, mapped with MAP_POPULATE and mlocked when the table is filled,
 * so that no malloc-family call makes a system call or takes a page fault
 * (docs/REALTIME.md, "The library's real-time mode").
 *
 * Page runs are kept by a two-level segregated fit (TLSF) over page numbers,
 * with its bookkeeping beside the pages, not in them: a run's first and last
 * page have its length in `tag` (FREE_RUN set while it is free); a free run
 * is on the list of its class (ARENA_SUB_BINS classes per power of two of
 * pages), linked through next/prev by its first page; a bit per non-empty
 * list, and per first level with one. Taking a run rounds the request up to
 * its class's start, takes the head of the first non-empty list of that
 * class or above (two find-first-set) and gives the rest back; a run that
 * comes back merges with free neighbours (their tags) and goes on its list.
 * No loop: every call is constant work. A taken run is at most 1/8 larger
 * than the class it was found in needed, never larger than asked.
 *
 * Invariants: the runs tile [0, pages); each run's first and last tag hold
 * its length, and FREE_RUN iff it is on a list; no two free runs touch; a bit
 * of sub_map[f] is set iff its list is non-empty, a bit of first_map iff
 * sub_map[f] != 0; used_pages counts the pages of runs handed out.
 * Locks: arena.lock (MM_LOCK_RT_ARENA, innermost: the core maps pages while
 * holding its own locks) around every change. */
#include "platform/lock.h"

#define ARENA_SUB_BITS 3
#define ARENA_SUB_BINS (1u << ARENA_SUB_BITS)
#define ARENA_FIRST_LEVELS 32            /* runs below 2^31 pages */
#define ARENA_MAX_PAGES ((size_t)1 << 31) /* lengths below FREE_RUN */
#define FREE_RUN 0x80000000u
#define NO_RUN UINT32_MAX

static struct {
    mm_lock lock;
    char *base;      /* page 0 */
    size_t pages;
    uint32_t *tag;   /* per page */
    uint32_t *next, *prev;
    uint32_t first_map;
    uint8_t sub_map[ARENA_FIRST_LEVELS];
    uint32_t head[ARENA_FIRST_LEVELS][ARENA_SUB_BINS];
    size_t used_pages, peak_pages;
    bool locked; /* mlock succeeded */
} arena = {.lock = MM_LOCK_INITIALIZER(MM_LOCK_RT_ARENA)};

/* The class of a run of `pages` (>= 1): pages < 8 one class each, then 8 per
 * power of two. */
static void arena_class(size_t pages, unsigned *first, unsigned *sub)
{
    unsigned log = 63u - (unsigned)__builtin_clzll(pages);
    if (log < ARENA_SUB_BITS) {
        *first = 0;
        *sub = (unsigned)pages;
        return;
    }
    *first = log - ARENA_SUB_BITS + 1;
    *sub = (unsigned)(pages >> (log - ARENA_SUB_BITS)) - ARENA_SUB_BINS;
}

static void arena_mark(uint32_t first, size_t pages, uint32_t flag)
{
    arena.tag[first] = arena.tag[first + pages - 1] = (uint32_t)pages | flag;
}

static void arena_list_add(uint32_t first, size_t pages)
{
    unsigned f, s;
    arena_class(pages, &f, &s);
    arena_mark(first, pages, FREE_RUN);
    uint32_t old = arena.head[f][s];
    arena.next[first] = old;
    arena.prev[first] = NO_RUN;
    if (old != NO_RUN)
        arena.prev[old] = first;
    arena.head[f][s] = first;
    arena.sub_map[f] |= (uint8_t)(1u << s);
    arena.first_map |= 1u << f;
}

static void arena_list_remove(uint32_t first, size_t pages)
{
    unsigned f, s;
    arena_class(pages, &f, &s);
    uint32_t next = arena.next[first], prev = arena.prev[first];
    if (next != NO_RUN)
        arena.prev[next] = prev;
    if (prev != NO_RUN) {
        arena.next[prev] = next;
        return;
    }
    arena.head[f][s] = next;
    if (next == NO_RUN) {
        arena.sub_map[f] &= (uint8_t)~(1u << s);
        if (arena.sub_map[f] == 0)
            arena.first_map &= ~(1u << f);
    }
}

/* The first page of a free run of at least `pages` whose class is the
 * smallest that surely holds them, or NO_RUN. Under the lock. */
static uint32_t arena_find(size_t pages)
{
    unsigned log = 63u - (unsigned)__builtin_clzll(pages);
    if (log >= ARENA_SUB_BITS)
        pages += ((size_t)1 << (log - ARENA_SUB_BITS)) - 1; /* to the next class's start */
    unsigned f, s;
    arena_class(pages, &f, &s);
    if (f >= ARENA_FIRST_LEVELS)
        return NO_RUN;
    unsigned subs = arena.sub_map[f] & (0xffu << s);
    if (subs == 0) {
        uint32_t firsts = f + 1 < ARENA_FIRST_LEVELS ? arena.first_map & (~0u << (f + 1)) : 0;
        if (firsts == 0)
            return NO_RUN;
        f = (unsigned)__builtin_ctz(firsts);
        subs = arena.sub_map[f];
    }
    return arena.head[f][__builtin_ctz(subs)];
}

static void arena_bad_free(const void *addr, size_t length, const char *problem)
{
    mm_say("mymalloc: real-time arena: %s: %zu bytes at %p; ignored", problem, length, addr);
}

/* Map, fault in and lock the arena and its bookkeeping (after it):
 * MYMALLOC_RT_ARENA_MB. On huge pages where the system gives them (as the
 * ordinary library's large blocks, MYMALLOC_HUGE_PAGES), for fewer TLB
 * misses on every call (docs/DECISIONS.md). Each page is written once here,
 * after the advice, so that every huge page is made at start-up and nothing
 * is left for a fault or for khugepaged later. */
static void arena_create(void)
{
    size_t pages = (mm_option_rt_arena_mb << 20) / MM_PAGE_SIZE;
    size_t books = (3 * pages * sizeof(uint32_t) + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
    size_t total = pages * MM_PAGE_SIZE + books;
    char *base = NULL;
    if (pages != 0 && pages < ARENA_MAX_PAGES)
        base = mm_option_huge_pages && system_has_huge_pages() ? map_huge(total)
                                                               : map(NULL, total);
    if (base == NULL) {
        mm_say("mymalloc: real-time arena of %zu MiB could not be mapped: every malloc fails",
               mm_option_rt_arena_mb);
        return;
    }
    for (size_t offset = 0; offset < total; offset += MM_PAGE_SIZE)
        *(volatile char *)(base + offset) = 0;
    arena.locked = mlock(base, total) == 0;
    if (!arena.locked)
        mm_say("mymalloc: real-time arena: mlock of %zu MiB refused (RLIMIT_MEMLOCK?); its "
               "pages are faulted in but may be swapped out",
               total >> 20);
    arena.tag = (uint32_t *)(base + pages * MM_PAGE_SIZE);
    arena.next = arena.tag + pages;
    arena.prev = arena.next + pages;
    for (unsigned f = 0; f < ARENA_FIRST_LEVELS; f++)
        for (unsigned s = 0; s < ARENA_SUB_BINS; s++)
            arena.head[f][s] = NO_RUN;
    arena.pages = pages;
    arena.base = base;
    arena_list_add(0, pages);
}

/* A run of length / MM_PAGE_SIZE pages, or NULL. */
static void *arena_take(size_t length)
{
    size_t pages = length / MM_PAGE_SIZE;
    if (pages == 0 || pages > arena.pages)
        return NULL;
    mm_lock_acquire(&arena.lock);
    uint32_t first = arena_find(pages);
    if (first == NO_RUN) {
        mm_lock_release(&arena.lock);
        return NULL;
    }
    size_t found = arena.tag[first] & ~FREE_RUN;
    MM_ASSERT((arena.tag[first] & FREE_RUN) && found >= pages);
    arena_list_remove(first, found);
    arena_mark(first, pages, 0);
    if (found > pages)
        arena_list_add(first + (uint32_t)pages, found - pages);
    arena.used_pages += pages;
    if (arena.used_pages > arena.peak_pages)
        arena.peak_pages = arena.used_pages;
    mm_lock_release(&arena.lock);
    return arena.base + (size_t)first * MM_PAGE_SIZE;
}

/* The run at `addr`, as taken (unmaps_across_regions is false: whole runs
 * only), goes back and merges with its free neighbours. Its pages keep what
 * was written to them (maps_zeroed is false). */
static void arena_give_back(void *addr, size_t length)
{
    size_t pages = length / MM_PAGE_SIZE;
    size_t offset = (size_t)((char *)addr - arena.base);
    if ((char *)addr < arena.base || offset % MM_PAGE_SIZE != 0 ||
        offset / MM_PAGE_SIZE >= arena.pages) {
        arena_bad_free(addr, length, "not a run of the arena");
        return;
    }
    uint32_t first = (uint32_t)(offset / MM_PAGE_SIZE);
    mm_lock_acquire(&arena.lock);
    if (arena.tag[first] != pages) {
        mm_lock_release(&arena.lock);
        arena_bad_free(addr, length, "not a run handed out, or freed twice");
        return;
    }
    arena.used_pages -= pages;
    if (first > 0 && (arena.tag[first - 1] & FREE_RUN)) {
        size_t before = arena.tag[first - 1] & ~FREE_RUN;
        first -= (uint32_t)before;
        arena_list_remove(first, before);
        pages += before;
    }
    if (first + pages < arena.pages && (arena.tag[first + pages] & FREE_RUN)) {
        size_t after = arena.tag[first + pages] & ~FREE_RUN;
        arena_list_remove(first + (uint32_t)pages, after);
        pages += after;
    }
    arena_list_add(first, pages);
    mm_lock_release(&arena.lock);
}

/* fork: the forking thread holds the arena's lock across the fork, taken
 * last (after the core's locks, mm_fork_prepare), so that no other thread is
 * inside the page-run lists when the child is made (threads.c). */
void mm_rt_arena_fork_lock(void)
{
    mm_lock_acquire(&arena.lock);
}

void mm_rt_arena_fork_unlock(void)
{
    mm_lock_release(&arena.lock);
}

/* At exit, one line: the arena's size, its peak and current use, and
 * whether it is locked. */
__attribute__((destructor)) static void arena_report(void)
{
    if (arena.pages == 0)
        return;
    mm_lock_acquire(&arena.lock);
    size_t peak = arena.peak_pages, now = arena.used_pages;
    mm_lock_release(&arena.lock);
    size_t page_kib = MM_PAGE_SIZE >> 10;
    mm_say("mymalloc: real-time arena: %zu KiB, peak used %zu KiB, used now %zu KiB, mlock %s",
           arena.pages * page_kib, peak * page_kib, now * page_kib,
           arena.locked ? "ok" : "refused");
}
#endif /* MM_REALTIME */

static void fill_table(void)
{
    mm_prim_hooks *t = &mm_prim_table;
#if defined(MM_REALTIME)
    /* Arena pages come back dirty and go back as whole runs; no page moves,
     * and no clock: retention stays off, so caches hold little and trimming
     * them is bounded (docs/REALTIME.md). */
    t->maps_zeroed = false;
    t->unmaps_across_regions = false;
#else
    t->maps_zeroed = true;
    t->unmaps_across_regions = true;
    t->move_pages = move_pages;
    t->clock_ms = monotonic_ms;
    t->clock_ns = monotonic_ns;
#endif
    t->cpu_count = cpu_count;
    t->cpu_current = cpu_current;
    t->rseq_cpu_offset = rseq_cpu_offset();
    t->node_count = node_count;
    t->node_of_cpu = node_of_cpu;
    t->node_of_address = node_of_address;
    t->bind_node = bind_node;
    t->lock_memory = lock_memory;
    t->thread_start = thread_start;
    t->thread_join = thread_join;
    t->sleep_ms = sleep_ms;
    mm_options_parse();
#if defined(MM_REALTIME)
    arena_create();
#else
    if (mm_option_huge_pages && system_has_huge_pages())
        t->huge_page_bytes = HUGE_PAGE;
#endif
}

__attribute__((constructor)) static void fill_table_at_load(void)
{
    pthread_once(&table_filled, fill_table);
}

void *vmalloc(void *addr, size_t length)
{
    mm_hosted_install();
    pthread_once(&table_filled, fill_table);
#if defined(MM_REALTIME)
    (void)addr; /* a hint only */
    return arena_take(length);
#else
    if (addr == NULL && mm_prim_table.huge_page_bytes != 0 && length >= HUGE_PAGE)
        return map_huge(length);
    return map(addr, length);
#endif
}

void vmfree(void *addr, size_t length)
{
#if defined(MM_REALTIME)
    arena_give_back(addr, length);
#else
    munmap(addr, length);
#endif
}
