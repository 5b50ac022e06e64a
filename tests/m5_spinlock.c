/*
 * m5_spinlock: the M5 header (build/m5/mymalloc.h) compiles on its own in
 * a user program and its lab spin lock works: spinlock_t, LOCKED,
 * UNLOCKED, spin_lock, spin_unlock. Two threads add to a counter under the
 * lock; the total must be exact (mutual exclusion), and the status word
 * must read LOCKED while held and UNLOCKED after.
 *
 * Built and run by check_freestanding.sh against a copy of the header and
 * the amalgamation object (vmalloc/vmfree are stubs: never called here
 * except by the one mymalloc/myfree at the end, which they serve).
 */
#include "mymalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>

#define ROUNDS 200000

static spinlock_t lock = {UNLOCKED};
static long counter;

void *vmalloc(void *addr, size_t length)
{
    void *p = mmap(addr, length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void vmfree(void *addr, size_t length)
{
    munmap(addr, length);
}

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        spin_lock(&lock);
        long v = counter; /* a racy read-modify-write unless excluded */
        __asm__ volatile("" ::: "memory");
        counter = v + 1;
        spin_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    int bad = 0;
    spin_lock(&lock);
    if (atomic_load(&lock.status) != LOCKED) {
        printf("FAIL: status is not LOCKED while held\n");
        bad = 1;
    }
    spin_unlock(&lock);
    if (atomic_load(&lock.status) != UNLOCKED) {
        printf("FAIL: status is not UNLOCKED after unlock\n");
        bad = 1;
    }

    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, adder, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (counter != 2L * ROUNDS) {
        printf("FAIL: counter %ld, expected %ld: no mutual exclusion\n",
               counter, 2L * ROUNDS);
        bad = 1;
    }

    /* The header's allocator API links against the amalgamation. */
    void *p = mymalloc(100);
    if (p == NULL) {
        printf("FAIL: mymalloc(100) returned NULL\n");
        bad = 1;
    }
    myfree(p);
    printf("spin lock: %s (counter %ld)\n", bad ? "FAILED" : "ok", counter);
    return bad;
}
