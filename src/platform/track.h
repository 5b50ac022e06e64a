/*
 * track.h: what mymalloc tells a memory checker about the memory it hands
 * out, in one small set of operations that every allocator of the project
 * calls (the hosted malloc family and API, the pools, the core's ASan
 * poisoning). Each maps, per build, to
 *   - AddressSanitizer's poisoning, when the file is compiled with
 *     -fsanitize=address (__SANITIZE_ADDRESS__);
 *   - valgrind's client requests (<valgrind/memcheck.h>), in the hosted
 *     build when that header is installed (Debian: package `valgrind`) and
 *     the program runs under memcheck; a build without the header has them
 *     compiled to nothing;
 *   - nothing at all in the freestanding and kernel builds.
 *
 * The operations:
 *   mm_track_block_out(pool, p, size, zeroed)
 *                        a block of `size` bytes handed out (undefined, or
 *                        defined if `zeroed`): a malloc-like block when
 *                        `pool` is NULL, else a chunk of `pool`'s mempool
 *   mm_track_block_freed(pool, p, size)
 *                        that block freed: no access until handed out again
 *   mm_track_noaccess(p, n), mm_track_undefined(p, n), mm_track_defined(p, n)
 *                        a range held but not handed out / writable but not
 *                        yet written / readable (an allocator's own access
 *                        to a word of a free block)
 *   mm_track_metadata(p, n)
 *                        a range of an allocator's own structures that
 *                        point at blocks (the core's span descriptors): under
 *                        memcheck unaddressable, so that its leak search does
 *                        not count those pointers as references; the code
 *                        that reads it runs with reports off. Nothing under
 *                        ASan
 *   mm_track_pool_create(pool), mm_track_pool_destroy(pool)
 *                        a mempool's life; destroy frees its chunks at once
 *   mm_track_quiet_begin(), mm_track_quiet_end()
 *                        no reports from this thread in between (nesting):
 *                        around a call into the core, whose metadata lives
 *                        in free blocks (links, free marks, remote-free
 *                        words)
 *   mm_track_block_size(p, usable)
 *                        the size the checker knows for the malloc-like
 *                        block at p of `usable` bytes (memcheck: what was
 *                        asked; otherwise `usable`)
 *   mm_track_on()        whether the operations may do anything: true under
 *                        ASan; under valgrind's build, false once the process
 *                        is known to run without memcheck (callers take their
 *                        plain fast paths then)
 *   mm_track_memcheck()  whether memcheck watches, probing on the first call
 *                        (false outside valgrind's build; out of line there,
 *                        so callers test mm_track_on() first)
 *
 * Cost when not under valgrind: mm_track_on() is one load of a byte, a
 * compare and a branch that is never taken (the state is found once, on the
 * first request, and never changes; the hosted malloc and free test it only
 * on their slow paths, hosted/libc.c); the requests are out of line, so that
 * a caller's fast path needs no stack frame. Under ASan there is no state:
 * the operations always act. Memcheck only: other valgrind tools
 * (callgrind, massif, helgrind) see the plain allocator, so that callgrind
 * counts what a native run executes (docs/DEBUGGING.md).
 *
 * Which level annotates the core's blocks (MM_TRACK_CORE_BLOCKS): under ASan
 * the core itself (the ASan builds call the core directly, and keep the
 * first 16 bytes of a free block, its link and free mark, addressable);
 * otherwise the hosted malloc family and API, which know the size asked for.
 */
#ifndef MM_TRACK_H
#define MM_TRACK_H

#include "platform/base.h"

#if defined(__SANITIZE_ADDRESS__)
#define MM_TRACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MM_TRACK_ASAN 1
#endif
#endif

#if !defined(MM_TRACK_ASAN) && defined(MM_PLATFORM_HOSTED) && defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#define MM_TRACK_VALGRIND 1
#endif
#endif

#pragma GCC visibility push(hidden)

#if defined(MM_TRACK_ASAN)
#define MM_TRACK_CORE_BLOCKS 1
#else
#define MM_TRACK_CORE_BLOCKS 0
#endif

/* Bytes at the start of a free core block that stay addressable under ASan:
 * its link and its free mark (core/types.h), which the core reads. */
#define MM_TRACK_CORE_HEADER ((size_t)16)

#if defined(MM_TRACK_ASAN)

/* ASan's runtime, not ours: outside the hidden visibility. */
__attribute__((visibility("default"))) void __asan_poison_memory_region(void const volatile *addr,
                                                                        size_t size);
__attribute__((visibility("default"))) void __asan_unpoison_memory_region(void const volatile *addr,
                                                                          size_t size);

static inline bool mm_track_on(void) { return true; }
static inline bool mm_track_memcheck(void) { return false; }
static inline void mm_track_noaccess(const void *p, size_t n) { __asan_poison_memory_region(p, n); }
static inline void mm_track_undefined(const void *p, size_t n) { __asan_unpoison_memory_region(p, n); }
static inline void mm_track_defined(const void *p, size_t n) { __asan_unpoison_memory_region(p, n); }
static inline void mm_track_metadata(const void *p, size_t n) { (void)p, (void)n; }
static inline void mm_track_block_out(const void *pool, const void *p, size_t size, bool zeroed)
{
    (void)pool, (void)zeroed;
    __asan_unpoison_memory_region(p, size);
}
static inline void mm_track_block_freed(const void *pool, const void *p, size_t size)
{
    (void)pool;
    __asan_poison_memory_region(p, size);
}
static inline void mm_track_pool_create(const void *pool) { (void)pool; }
static inline void mm_track_pool_destroy(const void *pool) { (void)pool; }
static inline void mm_track_quiet_begin(void) {}
static inline void mm_track_quiet_end(void) {}
static inline size_t mm_track_block_size(const void *p, size_t usable) { (void)p; return usable; }

#elif defined(MM_TRACK_VALGRIND)

#include <valgrind/memcheck.h>

enum { MM_TRACK_UNKNOWN = 0, MM_TRACK_OFF, MM_TRACK_MEMCHECK };

/* The state: UNKNOWN until the first mm_track_on(), then OFF or MEMCHECK
 * for the life of the process. One byte for the whole program: a weak
 * definition in every file that includes this header, which the linker
 * merges. Relaxed: every thread that reads UNKNOWN probes and finds the
 * same answer, so the value guards no other memory. */
__attribute__((weak)) _Atomic unsigned char mm_track_state;

/* Whether memcheck runs, probing on the first call: only memcheck answers
 * GET_VBITS (1); without valgrind, and under other tools, the request
 * returns its default 0, silently. */
static __attribute__((noinline, cold, unused)) bool mm_track_memcheck(void)
{
    unsigned char state = atomic_load_explicit(&mm_track_state, memory_order_relaxed);
    if (state == MM_TRACK_UNKNOWN) {
        char byte = 0, vbits = 0;
        state = RUNNING_ON_VALGRIND && VALGRIND_GET_VBITS(&byte, &vbits, 1) == 1
                    ? MM_TRACK_MEMCHECK
                    : MM_TRACK_OFF;
        atomic_store_explicit(&mm_track_state, state, memory_order_relaxed);
    }
    return state == MM_TRACK_MEMCHECK;
}

/* False once the process is known to run without memcheck: a compare of
 * the byte and a branch, and no call, so that a caller's fast path needs no
 * stack frame. True before the first probe too: the requests below probe. */
static inline bool mm_track_on(void)
{
    return atomic_load_explicit(&mm_track_state, memory_order_relaxed) != MM_TRACK_OFF;
}

/* The requests themselves, out of line: each builds its arguments in a
 * stack frame, which the inline tests keep off the callers' fast paths. */
#define MM_TRACK_COLD static __attribute__((noinline, cold, unused))
MM_TRACK_COLD void mm_track_vg_noaccess(const void *p, size_t n)
{
    if (mm_track_memcheck())
        VALGRIND_MAKE_MEM_NOACCESS(p, n);
}
MM_TRACK_COLD void mm_track_vg_undefined(const void *p, size_t n)
{
    if (mm_track_memcheck())
        VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}
MM_TRACK_COLD void mm_track_vg_defined(const void *p, size_t n)
{
    if (mm_track_memcheck())
        VALGRIND_MAKE_MEM_DEFINED(p, n);
}
MM_TRACK_COLD void mm_track_vg_block_out(const void *pool, const void *p, size_t size, bool zeroed)
{
    if (!mm_track_memcheck())
        return;
    if (pool == NULL)
        VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, zeroed);
    else
        VALGRIND_MEMPOOL_ALLOC(pool, p, size);
}
MM_TRACK_COLD void mm_track_vg_block_freed(const void *pool, const void *p)
{
    if (!mm_track_memcheck())
        return;
    if (pool == NULL)
        VALGRIND_FREELIKE_BLOCK(p, 0);
    else
        VALGRIND_MEMPOOL_FREE(pool, p);
}
MM_TRACK_COLD void mm_track_vg_pool_create(const void *pool)
{
    if (mm_track_memcheck())
        VALGRIND_CREATE_MEMPOOL(pool, 0, 0);
}
MM_TRACK_COLD void mm_track_vg_pool_destroy(const void *pool)
{
    if (mm_track_memcheck())
        VALGRIND_DESTROY_MEMPOOL(pool);
}

static inline void mm_track_noaccess(const void *p, size_t n)
{
    if (MM_UNLIKELY(mm_track_on()))
        mm_track_vg_noaccess(p, n);
}
static inline void mm_track_undefined(const void *p, size_t n)
{
    if (MM_UNLIKELY(mm_track_on()))
        mm_track_vg_undefined(p, n);
}
static inline void mm_track_defined(const void *p, size_t n)
{
    if (MM_UNLIKELY(mm_track_on()))
        mm_track_vg_defined(p, n);
}
static inline void mm_track_metadata(const void *p, size_t n) { mm_track_noaccess(p, n); }
static inline void mm_track_block_out(const void *pool, const void *p, size_t size, bool zeroed)
{
    if (MM_UNLIKELY(mm_track_on()))
        mm_track_vg_block_out(pool, p, size, zeroed);
}
static inline void mm_track_block_freed(const void *pool, const void *p, size_t size)
{
    (void)size;
    if (MM_UNLIKELY(mm_track_on()))
        mm_track_vg_block_freed(pool, p);
}
static inline void mm_track_pool_create(const void *pool)
{
    if (MM_UNLIKELY(mm_track_on()))
        mm_track_vg_pool_create(pool);
}
static inline void mm_track_pool_destroy(const void *pool)
{
    if (MM_UNLIKELY(mm_track_on()))
        mm_track_vg_pool_destroy(pool);
}
static inline void mm_track_quiet_begin(void) { VALGRIND_DISABLE_ERROR_REPORTING; }
static inline void mm_track_quiet_end(void) { VALGRIND_ENABLE_ERROR_REPORTING; }
/* The first byte memcheck holds unaddressable (quietly: that is no error
 * here) is where the block asked for ends. */
static inline size_t mm_track_block_size(const void *p, size_t usable)
{
    if (!mm_track_on() || !mm_track_memcheck())
        return usable;
    mm_track_quiet_begin();
    uintptr_t end = (uintptr_t)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, usable);
    mm_track_quiet_end();
    return end == 0 ? usable : end - (uintptr_t)p;
}

#else /* no checker: nothing */

static inline bool mm_track_on(void) { return false; }
static inline bool mm_track_memcheck(void) { return false; }
static inline void mm_track_noaccess(const void *p, size_t n) { (void)p, (void)n; }
static inline void mm_track_undefined(const void *p, size_t n) { (void)p, (void)n; }
static inline void mm_track_defined(const void *p, size_t n) { (void)p, (void)n; }
static inline void mm_track_metadata(const void *p, size_t n) { (void)p, (void)n; }
static inline void mm_track_block_out(const void *pool, const void *p, size_t size, bool zeroed)
{
    (void)pool, (void)p, (void)size, (void)zeroed;
}
static inline void mm_track_block_freed(const void *pool, const void *p, size_t size)
{
    (void)pool, (void)p, (void)size;
}
static inline void mm_track_pool_create(const void *pool) { (void)pool; }
static inline void mm_track_pool_destroy(const void *pool) { (void)pool; }
static inline void mm_track_quiet_begin(void) {}
static inline void mm_track_quiet_end(void) {}
static inline size_t mm_track_block_size(const void *p, size_t usable) { (void)p; return usable; }

#endif

#pragma GCC visibility pop

#endif /* MM_TRACK_H */
