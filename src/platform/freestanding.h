/*
 * freestanding.h: the primitives of the freestanding build
 * (MM_PLATFORM_FREESTANDING, the M5 drop-in), beyond those it shares with
 * the hosted build (mapped.h). No TLS: a harness may start threads with raw
 * clone() that share one thread pointer, so heaps are per CPU and locked
 * (core/identity_cpu.c), found from mm_prim_cpu_hint, and debug builds keep
 * no per-thread record of the locks held.
 */
#ifndef MM_PLATFORM_FREESTANDING_H
#define MM_PLATFORM_FREESTANDING_H

#define MM_IDENTITY_CPU 1

#if defined(MM_DEBUG)
static inline struct mm_lock_record *mm_prim_lock_record(void) { return NULL; }
#endif

#if defined(__x86_64__)
static inline void mm_prim_cpuid(unsigned leaf, unsigned regs[4])
{
    __asm__ __volatile__("cpuid" : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3])
                         : "a"(leaf), "c"(0));
}
#endif

enum { MM_HINT_UNKNOWN, MM_HINT_RDPID, MM_HINT_RDTSCP, MM_HINT_STACK };

/* A small number that tends to differ between threads running at the same
 * time: the CPU number, which Linux keeps in TSC_AUX, read with RDPID or else
 * the slower RDTSCP (docs/DECISIONS.md); without either, a hash of the stack
 * address. Only a hint: identity_cpu.c locks the heap it
 * picks, so a stale or colliding value costs a retry, never correctness. */
static inline unsigned mm_prim_cpu_hint(void)
{
    /* Racing first callers all store the same answer. */
    static _Atomic int method = MM_HINT_UNKNOWN;
    int how = atomic_load_explicit(&method, memory_order_relaxed);
    if (MM_UNLIKELY(how == MM_HINT_UNKNOWN)) {
        how = MM_HINT_STACK;
#if defined(__x86_64__)
        unsigned regs[4];
        mm_prim_cpuid(0, regs);
        unsigned max_leaf = regs[0];
        mm_prim_cpuid(0x80000000u, regs);
        unsigned max_extended = regs[0];
        if (max_extended >= 0x80000001u) {
            mm_prim_cpuid(0x80000001u, regs);
            if (regs[3] & (1u << 27))
                how = MM_HINT_RDTSCP;
        }
        if (max_leaf >= 7) {
            mm_prim_cpuid(7, regs);
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

#endif /* MM_PLATFORM_FREESTANDING_H */
