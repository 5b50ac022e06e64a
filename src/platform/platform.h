/*
 * platform.h: the one boundary between the core and what it runs on.
 *
 * Each build defines exactly one of
 *   MM_PLATFORM_HOSTED        a Linux process: threads have TLS (identity.c
 *                             keeps one heap per thread), the hosted library
 *                             installs thread-exit and error hooks;
 *   MM_PLATFORM_FREESTANDING  no TLS, no libc (the M5 drop-in): heaps are per
 *                             CPU and locked, threads may share a TLS area;
 *   MM_PLATFORM_KERNEL        inside an operating-system kernel (the kernel
 *                             allocator, src/kernel): no scheduler below it,
 *                             no page mapping, the CPU number from the
 *                             embedder's kalloc_cpu_current.
 * and this header gives the core, for any of them:
 *   mm_cpu_relax()      a pause hint inside a spin loop;
 *   mm_yield()          give the CPU away (sched_yield where there is a
 *                       kernel to ask, else a pause; the kernel platform
 *                       has nobody to ask and only pauses);
 * for the hosted and freestanding platforms:
 *   mm_cpu_hint()       (CPU identity) a small number that tends to differ
 *                       between threads running at the same time;
 *   mm_map(), mm_unmap() page mapping: the embedder's vmalloc and vmfree;
 * and for the kernel platform:
 *   mm_cpu_current(), mm_cpu_count()
 *                       the embedder's kalloc_cpu_current and
 *                       kalloc_cpu_count, unchanged;
 *   mm_irq_save(), mm_irq_restore()
 *                       interrupts off and back (the embedder's hook).
 * Everything here is inline: the core's objects reference no symbol but
 * vmalloc and vmfree, the kernel allocator's none but the two CPU hooks.
 */
#ifndef MM_PLATFORM_H
#define MM_PLATFORM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(MM_PLATFORM_HOSTED) + defined(MM_PLATFORM_FREESTANDING) + \
        defined(MM_PLATFORM_KERNEL) != 1
#error "define exactly one of MM_PLATFORM_HOSTED, MM_PLATFORM_FREESTANDING, MM_PLATFORM_KERNEL"
#endif

#if defined(MM_PLATFORM_HOSTED)
#define MM_IDENTITY_TLS 1
#elif defined(MM_PLATFORM_FREESTANDING)
#define MM_IDENTITY_CPU 1
#endif

#if defined(MM_PLATFORM_KERNEL)
#include "mymalloc/kalloc.h" /* kalloc_cpu_current, kalloc_cpu_count */

static inline int mm_cpu_current(void) { return kalloc_cpu_current(); }
static inline int mm_cpu_count(void) { return kalloc_cpu_count(); }

/* Interrupts off around a critical section, and back as they were: the
 * embedder's KALLOC_IRQ_SAVE and KALLOC_IRQ_RESTORE (kalloc.h; by default
 * nothing). */
static inline unsigned long mm_irq_save(void) { return KALLOC_IRQ_SAVE(); }
static inline void mm_irq_restore(unsigned long saved) { KALLOC_IRQ_RESTORE(saved); }
#else
#include "mymalloc.h" /* vmalloc, vmfree */

static inline void *mm_map(size_t bytes) { return vmalloc(NULL, bytes); }
static inline void mm_unmap(void *base, size_t bytes) { vmfree(base, bytes); }
#endif

static inline void mm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* sched_yield by a raw system call: no libc, no errno (a thread started by
 * raw clone() may share its TLS with another). A kernel has no scheduler
 * below it to ask: there it is a pause. */
static inline void mm_yield(void)
{
#if defined(__linux__) && defined(__x86_64__) && !defined(MM_PLATFORM_KERNEL)
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(24L /* SYS_sched_yield */)
                         : "rcx", "r11", "memory");
    (void)ret;
#else
    mm_cpu_relax();
#endif
}

#if defined(MM_IDENTITY_CPU)
#if defined(__x86_64__)
static inline void mm_cpuid(unsigned leaf, unsigned regs[4])
{
    __asm__ __volatile__("cpuid" : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3])
                         : "a"(leaf), "c"(0));
}
#endif

enum { MM_HINT_UNKNOWN, MM_HINT_RDPID, MM_HINT_RDTSCP, MM_HINT_STACK };

/* A small number that tends to differ between threads running at the same
 * time: the CPU number, which Linux keeps in TSC_AUX, read with RDPID (under
 * a nanosecond) or else RDTSCP (~20 ns under virtualisation); without either,
 * a hash of the stack address. Only a hint: identity.c locks the heap it
 * picks, so a stale or colliding value costs a retry, never correctness. */
static inline unsigned mm_cpu_hint(void)
{
    /* Racing first callers all store the same answer. */
    static _Atomic int method = MM_HINT_UNKNOWN;
    int how = atomic_load_explicit(&method, memory_order_relaxed);
    if (__builtin_expect(how == MM_HINT_UNKNOWN, 0)) {
        how = MM_HINT_STACK;
#if defined(__x86_64__)
        unsigned regs[4];
        mm_cpuid(0, regs);
        unsigned max_leaf = regs[0];
        mm_cpuid(0x80000000u, regs);
        unsigned max_extended = regs[0];
        if (max_extended >= 0x80000001u) {
            mm_cpuid(0x80000001u, regs);
            if (regs[3] & (1u << 27))
                how = MM_HINT_RDTSCP;
        }
        if (max_leaf >= 7) {
            mm_cpuid(7, regs);
            if (regs[2] & (1u << 22))
                how = MM_HINT_RDPID;
        }
#endif
        atomic_store_explicit(&method, how, memory_order_relaxed);
    }
#if defined(__x86_64__)
    if (how == MM_HINT_RDPID) {
        unsigned long aux;
        __asm__ __volatile__("rdpid %0" : "=r"(aux));
        return (unsigned)aux & 0xfffu;
    }
    if (how == MM_HINT_RDTSCP) {
        unsigned lo, hi, aux;
        __asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
        (void)lo;
        (void)hi;
        return aux & 0xfffu;
    }
#endif
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    return (unsigned)((sp >> 16) * 0x9E3779B1u >> 20);
}
#endif

#endif /* MM_PLATFORM_H */
