/*
 * mapped.h: the primitives the hosted and the freestanding builds share
 * (platform.h lists them). Both map pages with the embedder's vmalloc and
 * vmfree (the hosted library's own are over mmap, platform/hosted.c), counted
 * in prim.c; both take whatever else the host offers from one table of hooks,
 * mm_prim_table, which is zero (nothing offered) unless the host fills it.
 * The hosted library fills it before its first vmalloc returns (hosted.c,
 * src/hosted/threads.c); the M5 drop-in leaves it empty. A hook is read only
 * after memory came from vmalloc, so a reader sees the table as it was set.
 */
#ifndef MM_PLATFORM_MAPPED_H
#define MM_PLATFORM_MAPPED_H

#include "mymalloc.h" /* vmalloc, vmfree */
#include "platform/base.h"

/* Internal to the libraries: no symbol here is exported, and calls need no
 * GOT or PLT. */
#pragma GCC visibility push(hidden)

/* Why an entry point fails (mm_prim_error). */
enum mm_error {
    MM_ERROR_NO_MEMORY = 1, /* memory cannot be had, or the size is absurd */
    MM_ERROR_INVALID,       /* an argument is invalid (an alignment) */
    MM_ERROR_IO,            /* stored data could not be recovered (ecc_read) */
};

typedef struct mm_prim_hooks {
    /* Pages. vmalloc returns zeroed memory: calloc need not clear fresh
     * regions. */
    bool maps_zeroed;
    /* vmfree takes a range made of several adjacent regions, or a tail of
     * one (the hosted munmap does): a cache flushed at once goes back by
     * runs of adjacent regions (span.c), a region is cut to a request
     * (large.c). */
    bool unmaps_across_regions;
    /* Regions of at least this many bytes are backed by huge pages of this
     * size (0: none); mapping one afresh costs a fault per huge page. */
    size_t huge_page_bytes;
    /* Move the pages of [from, from + bytes) into the place of
     * [to, to + bytes), part of a region mapped for them, without copying:
     * true when done (the old range is then unmapped); false, nothing done. */
    bool (*move_pages)(void *from, size_t bytes, void *to);

    /* Monotonic clocks. With clock_ms the caches keep the memory of their
     * recent peak (core/retain.h); without, what is held follows what is
     * used (the M5 rule). */
    uint64_t (*clock_ms)(void);
    uint64_t (*clock_ns)(void);

    /* CPUs and NUMA nodes: counts, the caller's CPU, a CPU's node, the node
     * of a resident page (-1 if unknown); bind a range's pages to a node
     * (0, or -1 when the system refuses). */
    int (*cpu_count)(void);
    int (*cpu_current)(void);
    /* Hosted with glibc's rseq registration: where the caller's CPU number
     * is, relative to the thread pointer (0: ask cpu_current). */
    long rseq_cpu_offset;
    int (*node_count)(void);
    int (*node_of_cpu)(int cpu);
    int (*node_of_address)(const void *ptr);
    int (*bind_node)(void *base, size_t bytes, int node);

    /* Keep a range resident (0, or -1 when refused). */
    int (*lock_memory)(void *base, size_t bytes);

    /* Background threads: start one running fn(arg) (a handle, or NULL),
     * wait for it to return, sleep the caller. */
    void *(*thread_start)(void (*fn)(void *), void *arg);
    void (*thread_join)(void *thread);
    void (*sleep_ms)(unsigned ms);

    /* Upcalls to the host. A thread got a heap: arrange for its release at
     * the thread's exit. free got a pointer that is not a live block
     * (`problem`: "invalid pointer" or "double free"). An entry point is
     * about to fail. A debug assertion failed (then the program stops). */
    void (*thread_attached)(void *heap);
    void (*bad_pointer)(void *ptr, const char *problem);
    void (*error)(enum mm_error error);
    void (*assert_failed)(const char *file, int line, const char *condition);
} mm_prim_hooks;

extern mm_prim_hooks mm_prim_table;

/* Pages, counted (prim.c). */
void *mm_prim_map(size_t bytes);
void mm_prim_unmap(void *base, size_t bytes);
bool mm_prim_move_pages(void *from, size_t bytes, void *to);
size_t mm_prim_held_bytes(void);
size_t mm_prim_peak_held_bytes(void);

static inline bool mm_prim_maps_zeroed(void) { return mm_prim_table.maps_zeroed; }
static inline bool mm_prim_unmaps_across_regions(void) { return mm_prim_table.unmaps_across_regions; }
static inline size_t mm_prim_huge_page_bytes(void) { return mm_prim_table.huge_page_bytes; }

static inline bool mm_prim_has_clock(void) { return mm_prim_table.clock_ms != NULL; }
/* Only where mm_prim_has_clock(). */
static inline uint64_t mm_prim_clock_ms(void) { return mm_prim_table.clock_ms(); }
/* 0 without a clock. */
static inline uint64_t mm_prim_clock_ns(void)
{
    return mm_prim_table.clock_ns != NULL ? mm_prim_table.clock_ns() : 0;
}

static inline int mm_prim_cpu_count(void)
{
    return mm_prim_table.cpu_count != NULL ? mm_prim_table.cpu_count() : -1;
}
static inline int mm_prim_cpu_current(void)
{
#if defined(__x86_64__)
    /* The kernel keeps the CPU number in the thread's rseq area, which glibc
     * registered at the thread's start: one load, no call. A thread without
     * a registered area reads a negative number there and asks below. */
    long offset = mm_prim_table.rseq_cpu_offset;
    if (MM_LIKELY(offset != 0)) {
        int cpu;
        __asm__ __volatile__("movl %%fs:(%1), %0" : "=r"(cpu) : "r"(offset));
        if (MM_LIKELY(cpu >= 0))
            return cpu;
    }
#endif
    return mm_prim_table.cpu_current != NULL ? mm_prim_table.cpu_current() : -1;
}
static inline int mm_prim_node_count(void)
{
    return mm_prim_table.node_count != NULL ? mm_prim_table.node_count() : -1;
}
static inline int mm_prim_node_of_cpu(int cpu)
{
    return mm_prim_table.node_of_cpu != NULL ? mm_prim_table.node_of_cpu(cpu) : -1;
}
static inline int mm_prim_node_of_address(const void *ptr)
{
    return mm_prim_table.node_of_address != NULL ? mm_prim_table.node_of_address(ptr) : -1;
}
static inline int mm_prim_bind_node(void *base, size_t bytes, int node)
{
    return mm_prim_table.bind_node != NULL ? mm_prim_table.bind_node(base, bytes, node) : -1;
}
static inline int mm_prim_lock_memory(void *base, size_t bytes)
{
    return mm_prim_table.lock_memory != NULL ? mm_prim_table.lock_memory(base, bytes) : -1;
}

static inline void *mm_prim_thread_start(void (*fn)(void *), void *arg)
{
    return mm_prim_table.thread_start != NULL ? mm_prim_table.thread_start(fn, arg) : NULL;
}
static inline void mm_prim_thread_join(void *thread) { mm_prim_table.thread_join(thread); }
/* Returns at once where the host has no sleep. */
static inline void mm_prim_sleep_ms(unsigned ms)
{
    if (mm_prim_table.sleep_ms != NULL)
        mm_prim_table.sleep_ms(ms);
}

static inline void mm_prim_thread_attached(void *heap)
{
    if (mm_prim_table.thread_attached != NULL)
        mm_prim_table.thread_attached(heap);
}
static inline void mm_prim_bad_pointer(void *ptr, const char *problem)
{
    if (mm_prim_table.bad_pointer != NULL)
        mm_prim_table.bad_pointer(ptr, problem);
}
static inline void mm_prim_error(enum mm_error error)
{
    if (mm_prim_table.error != NULL)
        mm_prim_table.error(error);
}

/* sched_yield by a raw system call: no libc, no errno (a thread started by
 * raw clone() may share its TLS with another). A pause in the real-time
 * mode, which makes no system call after start-up. */
static inline void mm_prim_yield(void)
{
#if defined(__linux__) && defined(__x86_64__) && !defined(MM_REALTIME)
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(24L /* SYS_sched_yield */)
                         : "rcx", "r11", "memory");
    (void)ret;
#else
    mm_prim_relax();
#endif
}

#pragma GCC visibility pop

#endif /* MM_PLATFORM_MAPPED_H */
