/*
 * lock.h: the spin lock used wherever threads must meet (heap registry,
 * abandoned-slab pool, large-block cache, descriptor chunks, and the heaps
 * themselves under CPU identity). Test-and-test-and-set with a pause hint;
 * after MM_SPINS_BEFORE_YIELD failed looks it yields the CPU, so that many
 * threads on few cores make progress when a lock holder is preempted. Few
 * looks: a holder that runs is out within tens of nanoseconds, and one that
 * does not is best helped by yielding at once (small-object churn of the M5
 * build at 32 threads on 2 cores: 4 looks 167 Mops/s, 16 looks 153, 64
 * looks 128, 256 looks 126; 2 threads unchanged at about 190).
 * Under MM_PLATFORM_KERNEL (the kernel allocator) there is no scheduler to
 * yield to and mm_yield is a pause, so the lock only spins: there a holder
 * runs with interrupts off and is never preempted.
 *
 * Acquire ordering on success, release on unlock: everything written under
 * the lock is visible to the next holder.
 */
#ifndef MM_LOCK_H
#define MM_LOCK_H

#include "core/types.h"
#include "platform/platform.h"

#define MM_SPINS_BEFORE_YIELD 4

static inline bool mm_lock_try(mm_lock *lock)
{
    return atomic_load_explicit(lock, memory_order_relaxed) == 0 &&
           atomic_exchange_explicit(lock, 1, memory_order_acquire) == 0;
}

static inline void mm_lock_acquire(mm_lock *lock)
{
    unsigned spins = 0;
    while (!mm_lock_try(lock)) {
        if (++spins < MM_SPINS_BEFORE_YIELD) {
            mm_cpu_relax();
        } else {
            spins = 0;
            mm_yield();
        }
    }
}

static inline void mm_lock_release(mm_lock *lock)
{
    atomic_store_explicit(lock, 0, memory_order_release);
}

#endif /* MM_LOCK_H */
