/*
 * memops.h: copying and clearing memory without libc, for realloc and
 * calloc, the modules and the real-time drop-in. On x86_64 `rep movsb` and `rep stosb`, which fast-string microcode
 * runs at memcpy speed for the kilobytes and megabytes realloc and calloc
 * move; elsewhere a byte loop through a volatile pointer, which no compiler
 * turns back into a call to memcpy (slow, but the core stays libc-free).
 * clang's static analyzer (make check) reads the loops, which it can follow,
 * rather than the asm, whose stores it does not see.
 */
#ifndef MM_MEMOPS_H
#define MM_MEMOPS_H

#include <stddef.h>

static inline void mm_copy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__) && !defined(__clang_analyzer__)
    __asm__ __volatile__("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
#else
    volatile unsigned char *d = dst;
    const unsigned char *s = src;
    while (n-- > 0)
        *d++ = *s++;
#endif
}

static inline void mm_zero(void *dst, size_t n)
{
#if defined(__x86_64__) && !defined(__clang_analyzer__)
    __asm__ __volatile__("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
#else
    volatile unsigned char *d = dst;
    while (n-- > 0)
        *d++ = 0;
#endif
}

#endif /* MM_MEMOPS_H */
