/*
 * The M5 lab framework's spin lock, kept under its names so that the lab's
 * own files compile against this header: spinlock_t, LOCKED, UNLOCKED,
 * spin_lock, spin_unlock. Test-and-test-and-set with a pause hint; acquire
 * on lock, release on unlock.
 */
#include <stdatomic.h>

typedef struct {
    atomic_int status;
} spinlock_t;

#define LOCKED 1
#define UNLOCKED 0

static inline void spin_lock(spinlock_t *lock)
{
    for (;;) {
        int expected = UNLOCKED;
        if (atomic_compare_exchange_weak_explicit(&lock->status, &expected, LOCKED,
                                                  memory_order_acquire, memory_order_relaxed))
            return;
        while (atomic_load_explicit(&lock->status, memory_order_relaxed) == LOCKED) {
#if defined(__x86_64__) || defined(__i386__)
            __asm__ __volatile__("pause" ::: "memory");
#endif
        }
    }
}

static inline void spin_unlock(spinlock_t *lock)
{
    atomic_store_explicit(&lock->status, UNLOCKED, memory_order_release);
}
