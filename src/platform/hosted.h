/*
 * hosted.h: the primitives of a Linux process (MM_PLATFORM_HOSTED), beyond
 * those it shares with the freestanding build (mapped.h). Threads have TLS:
 * each has its own heap (core/identity_tls.c) and, in debug builds, its own
 * record of the locks it holds.
 */
#ifndef MM_PLATFORM_HOSTED_H
#define MM_PLATFORM_HOSTED_H

#define MM_IDENTITY_TLS 1

/* Internal to the libraries: no symbol here is exported, and calls need no
 * GOT or PLT. */
#pragma GCC visibility push(hidden)

#if defined(MM_DEBUG)
struct mm_lock_record *mm_prim_lock_record(void);
#endif

#pragma GCC visibility pop

#endif /* MM_PLATFORM_HOSTED_H */
