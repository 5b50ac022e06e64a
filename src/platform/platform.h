/*
 * platform.h: the one boundary between mymalloc and what it runs on. Every
 * call into the system, and every hook the host installs, is a primitive
 * listed here with its contract; the core and every module (pools,
 * protected memory, real-time) reach the system only through them.
 *
 * Each build defines exactly one of the following, and one header
 * implements the primitives for it:
 *   MM_PLATFORM_HOSTED        a Linux process (platform/hosted.h): threads
 *                             have TLS, one heap per thread; the hosted
 *                             library fills the hook table at start-up
 *                             (platform/hosted.c: mmap, clocks, NUMA, mlock,
 *                             threads; src/hosted/threads.c: thread exit,
 *                             fork, errno, bad pointers);
 *   MM_PLATFORM_FREESTANDING  no libc, no TLS (platform/freestanding.h, the
 *                             M5 drop-in): heaps per CPU, locked; pages from
 *                             the embedder's vmalloc and vmfree;
 *   MM_PLATFORM_KERNEL        inside a kernel (platform/kernel.h, the kernel
 *                             allocator): no page mapping, the CPU number and
 *                             interrupt control from the embedder.
 *
 * The primitives (P: hosted and freestanding; K: kernel; all: every build):
 *
 *   all  mm_prim_relax()            a pause hint inside a spin loop
 *   all  mm_prim_yield()            give the CPU away (sched_yield by a raw
 *                                   system call on Linux; a pause elsewhere)
 *   all  mm_prim_assert_failed(file, line, condition)
 *                                   a debug assertion failed (base.h): report
 *                                   where the platform can, then stop
 *   all  mm_prim_lock_record()      debug builds: the lock levels the caller
 *                                   holds (lock.h), or NULL where the
 *                                   platform has no per-thread record
 *   P    mm_prim_map(bytes)         `bytes` (a multiple of the page size) of
 *                                   page-aligned memory, or NULL; counted in
 *                                   the bytes held (mm_prim_held_bytes)
 *   P    mm_prim_unmap(base, bytes) give back what one mm_prim_map returned
 *                                   (or, where the table says so, several
 *                                   adjacent regions, or a tail of one)
 *   P    mm_prim_move_pages(from, bytes, to)
 *                                   move pages instead of copying them; false
 *                                   (nothing done) where the platform cannot
 *   P    mm_prim_held_bytes(), mm_prim_peak_held_bytes()
 *                                   what mm_prim_map handed out and was not
 *                                   given back, now and at most
 *   P    mm_prim_has_clock(), mm_prim_clock_ms(), mm_prim_clock_ns()
 *                                   a monotonic clock, where there is one
 *   P    mm_prim_cpu_hint()         a small number that tends to differ
 *                                   between threads running at once
 *                                   (freestanding only: CPU identity)
 *   P    mm_prim_cpu_count(), mm_prim_cpu_current(), mm_prim_node_count(),
 *        mm_prim_node_of_cpu(cpu), mm_prim_bind_node(base, bytes, node),
 *        mm_prim_node_of_address(ptr)
 *                                   CPUs and NUMA nodes; -1 where unknown
 *   P    mm_prim_lock_memory(base, bytes)
 *                                   keep pages resident (mlock); -1 if not
 *   P    mm_prim_thread_start(fn, arg), mm_prim_thread_join(thread),
 *        mm_prim_sleep_ms(ms)       background threads; -1/NULL if none
 *   P    mm_prim_thread_attached(heap), mm_prim_bad_pointer(ptr, problem),
 *        mm_prim_error(error)       upcalls to the host: a thread got a heap,
 *                                   a bad pointer was freed, a call fails
 *   K    mm_prim_cpu_current(), mm_prim_cpu_count()
 *                                   the embedder's kalloc_cpu_current and
 *                                   kalloc_cpu_count
 *   K    mm_prim_irq_save(), mm_prim_irq_restore(saved)
 *                                   interrupts off, and back as they were
 *
 * Everything the core calls on its fast paths is inline. The core's objects
 * reference no symbol but vmalloc and vmfree (hosted and freestanding) or the
 * two CPU hooks (kernel): what needs libc reaches them through the hook
 * table the hosted library fills, and is absent (NULL) elsewhere.
 */
#ifndef MM_PLATFORM_H
#define MM_PLATFORM_H

#include "platform/base.h"

#if defined(MM_PLATFORM_HOSTED) + defined(MM_PLATFORM_FREESTANDING) + \
        defined(MM_PLATFORM_KERNEL) != 1
#error "define exactly one of MM_PLATFORM_HOSTED, MM_PLATFORM_FREESTANDING, MM_PLATFORM_KERNEL"
#endif

struct mm_lock_record;

static inline void mm_prim_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#if defined(MM_PLATFORM_KERNEL)
#include "platform/kernel.h"
#else
#include "platform/mapped.h"
#if defined(MM_PLATFORM_HOSTED)
#include "platform/hosted.h"
#else
#include "platform/freestanding.h"
#endif
#endif

#endif /* MM_PLATFORM_H */
