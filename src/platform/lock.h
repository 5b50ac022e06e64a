/*
 * lock.h: the spin lock, and the one lock order of every build.
 *
 * The lock is test-and-test-and-set with a pause hint; after
 * MM_SPINS_BEFORE_YIELD failed looks it yields the CPU (mm_prim_yield), so
 * that many threads on few cores make progress when a holder is preempted.
 * Few looks: a holder that runs is out within tens of nanoseconds, and one
 * that does not is best helped by yielding at once (docs/DECISIONS.md).
 * In the kernel build mm_prim_yield is a pause and the lock only spins: a
 * holder there runs with interrupts off and is never preempted. In the
 * real-time mode (MM_REALTIME) it is a pause too: no system call after
 * start-up. Acquire ordering on success, release on unlock: what a holder
 * wrote under the lock is visible to the next holder.
 *
 * Lock order. Every lock has a level, given when it is initialised. A thread
 * that holds locks may wait for a lock only of a higher level than all of
 * them; a try-lock, which never waits, may take any. The levels, lowest
 * (taken first) to highest:
 *
 *   the pools (src/pool; they map pages while holding these, and run no
 *   user code under them)
 *    1 MM_LOCK_POOL_REGISTRY the set of live pools (pool.c); taken alone
 *    2 MM_LOCK_POOL_SLOT     a POOL_SHARED pool's bump region or object
 *                            cache (one per CPU with POOL_PER_CPU); never two
 *                            at once
 *    3 MM_LOCK_POOL          a pool's regions, slabs, cleanups, sub-pools and
 *                            depot of objects; one pool's at a time
 *    4 MM_LOCK_POOL_CHUNKS   the regions cleared and destroyed pools left for
 *                            new pools (chunk.c)
 *   the core (src/core)
 *    5 MM_LOCK_REGISTRY      the list of every heap (identity.c); taken alone
 *                            but by the fork handler
 *    6 MM_LOCK_IDLE_HEAPS    heaps whose thread exited (identity_tls.c); alone
 *                            but by the fork handler
 *    7 MM_LOCK_HEAP          the user of a heap, CPU identity (identity_cpu.c);
 *                            other heaps' only by try-lock
 *    8 MM_LOCK_HEAP_LISTS    a heap's lists and its empty cache (heap.c,
 *                            cache.c); one heap's at a time, but by the fork
 *                            handler, which takes them all (nested)
 *    9 MM_LOCK_SHARED_CACHE  the cache of empty slabs shared by all heaps
 *                            (cache.c)
 *   10 MM_LOCK_ABANDONED     the abandoned-slab pool of one class (remote.c);
 *                            one at a time, but by the fork handler (nested)
 *   11 MM_LOCK_LARGE_CACHE   the large-block cache (large.c)
 *   12 MM_LOCK_DESCRIPTORS   the span descriptor chunks (span.c)
 *   the kernel allocator (src/kernel; its own locks, never mixed with the
 *   core's)
 *   13 MM_LOCK_KERNEL_CALL   the one lock of the KALLOC_SINGLE_LOCK build
 *   14 MM_LOCK_KERNEL_CPU    a CPU's caches; never two at once
 *   15 MM_LOCK_KERNEL_BUDDY  the buddy lists
 *   protected memory (src/ecc)
 *   16 MM_LOCK_ECC_TABLE     the table of protected blocks; taken alone
 *   the real-time mode's page provider (platform/hosted.c, MM_REALTIME)
 *   17 MM_LOCK_RT_ARENA      the arena's page runs; innermost: vmalloc runs
 *                            under any of the locks above
 *
 * Debug builds (MM_DEBUG) check the order at every acquisition, at the line
 * that takes the lock, against a record of the levels the caller holds that
 * the platform keeps per thread (per CPU in the kernel); a platform without
 * such a record (the freestanding build: threads may share one TLS area)
 * checks only that each lock has a level and is held when released.
 */
#ifndef MM_LOCK_H
#define MM_LOCK_H

#include "platform/platform.h"

enum mm_lock_level {
    MM_LOCK_UNSET = 0,
    MM_LOCK_POOL_REGISTRY,
    MM_LOCK_POOL_SLOT,
    MM_LOCK_POOL,
    MM_LOCK_POOL_CHUNKS,
    MM_LOCK_REGISTRY,
    MM_LOCK_IDLE_HEAPS,
    MM_LOCK_HEAP,
    MM_LOCK_HEAP_LISTS,
    MM_LOCK_SHARED_CACHE,
    MM_LOCK_ABANDONED,
    MM_LOCK_LARGE_CACHE,
    MM_LOCK_DESCRIPTORS,
    MM_LOCK_KERNEL_CALL,
    MM_LOCK_KERNEL_CPU,
    MM_LOCK_KERNEL_BUDDY,
    MM_LOCK_ECC_TABLE,
    MM_LOCK_RT_ARENA,
    MM_LOCK_LEVELS
};

typedef struct mm_lock {
    atomic_int held;
    uint8_t level; /* enum mm_lock_level; read by debug builds only */
} mm_lock;

#define MM_LOCK_INITIALIZER(lock_level) {.held = 0, .level = (lock_level)}
#define MM_SPINS_BEFORE_YIELD 4

static inline void mm_lock_init(mm_lock *lock, enum mm_lock_level level)
{
    atomic_init(&lock->held, 0);
    lock->level = (uint8_t)level;
}

static inline bool mm_lock_try_raw(mm_lock *lock)
{
    return atomic_load_explicit(&lock->held, memory_order_relaxed) == 0 &&
           atomic_exchange_explicit(&lock->held, 1, memory_order_acquire) == 0;
}

static inline void mm_lock_acquire_raw(mm_lock *lock)
{
    unsigned spins = 0;
    while (!mm_lock_try_raw(lock)) {
        if (++spins < MM_SPINS_BEFORE_YIELD) {
            mm_prim_relax();
        } else {
            spins = 0;
            mm_prim_yield();
        }
    }
}

static inline void mm_lock_release_raw(mm_lock *lock)
{
    atomic_store_explicit(&lock->held, 0, memory_order_release);
}

#if !defined(MM_DEBUG)

static inline bool mm_lock_try(mm_lock *lock) { return mm_lock_try_raw(lock); }
static inline void mm_lock_acquire(mm_lock *lock) { mm_lock_acquire_raw(lock); }
static inline void mm_lock_acquire_nested(mm_lock *lock) { mm_lock_acquire_raw(lock); }
static inline void mm_lock_release(mm_lock *lock) { mm_lock_release_raw(lock); }

#else

/* The levels a thread (a CPU, in the kernel) holds: a count per level and
 * a mask of the levels with a count. */
struct mm_lock_record {
    uint32_t levels;
    uint16_t count[MM_LOCK_LEVELS];
};

static inline void mm_lock_check_order(const mm_lock *lock, bool nested, const char *file, int line)
{
    if (lock->level == MM_LOCK_UNSET || lock->level >= MM_LOCK_LEVELS)
        mm_prim_assert_failed(file, line, "a lock without a level (platform/lock.h)");
    struct mm_lock_record *record = mm_prim_lock_record();
    if (record != NULL && (record->levels >> (lock->level + (nested ? 1 : 0))) != 0)
        mm_prim_assert_failed(file, line,
                              nested ? "lock order: a lock taken while holding one of a higher level "
                                       "(platform/lock.h)"
                                     : "lock order: a lock taken while holding one of its level or "
                                       "higher (platform/lock.h)");
}

static inline void mm_lock_note_taken(const mm_lock *lock, const char *file, int line)
{
    (void)file;
    (void)line;
    struct mm_lock_record *record = mm_prim_lock_record();
    if (record == NULL)
        return;
    record->count[lock->level]++;
    record->levels |= (uint32_t)1 << lock->level;
}

static inline void mm_lock_note_released(const mm_lock *lock, const char *file, int line)
{
    if (atomic_load_explicit(&lock->held, memory_order_relaxed) == 0)
        mm_prim_assert_failed(file, line, "a lock released that is not held");
    struct mm_lock_record *record = mm_prim_lock_record();
    if (record == NULL)
        return;
    if (record->count[lock->level] == 0)
        mm_prim_assert_failed(file, line, "a lock released that this thread does not hold");
    if (--record->count[lock->level] == 0)
        record->levels &= ~((uint32_t)1 << lock->level);
}

static inline bool mm_lock_try_at(mm_lock *lock, const char *file, int line)
{
    if (!mm_lock_try_raw(lock))
        return false;
    mm_lock_note_taken(lock, file, line);
    return true;
}

static inline void mm_lock_acquire_at(mm_lock *lock, bool nested, const char *file, int line)
{
    mm_lock_check_order(lock, nested, file, line);
    mm_lock_acquire_raw(lock);
    mm_lock_note_taken(lock, file, line);
}

static inline void mm_lock_release_at(mm_lock *lock, const char *file, int line)
{
    mm_lock_note_released(lock, file, line);
    mm_lock_release_raw(lock);
}

#define mm_lock_try(lock) mm_lock_try_at((lock), __FILE__, __LINE__)
#define mm_lock_acquire(lock) mm_lock_acquire_at((lock), false, __FILE__, __LINE__)
/* Another lock of a level the caller holds already, which only the fork
 * handler takes (every heap's lists, every abandoned pool, in one order). */
#define mm_lock_acquire_nested(lock) mm_lock_acquire_at((lock), true, __FILE__, __LINE__)
#define mm_lock_release(lock) mm_lock_release_at((lock), __FILE__, __LINE__)

#endif /* MM_DEBUG */

#endif /* MM_LOCK_H */
