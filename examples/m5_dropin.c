/*
 * m5_dropin.c: the single-file drop-in for the M5 lab (build/m5/mymalloc.c
 * and mymalloc.h, made by `make`), with the two functions its embedder
 * supplies: vmalloc and vmfree, here over mmap and munmap, counting the
 * bytes mapped. The drop-in is compiled as the lab compiles it:
 *
 *   gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -c build/m5/mymalloc.c
 *   gcc -std=gnu11 -O2 -Ibuild/m5 m5_dropin.c mymalloc.o -lpthread
 *
 * Threads allocate tagged blocks, free half of them on the spot and leave
 * the other half to the next thread, which checks and frees them. The
 * drop-in must hand every region back exactly as vmalloc gave it, and once
 * everything is freed it must hold little: it follows what is live.
 *
 *   ./m5_dropin
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "mymalloc.h" /* build/m5/mymalloc.h: the same API as include/mymalloc.h */

#include "example.h"

/* ---- what the embedder supplies ---------------------------------------- */

static atomic_size_t mapped_bytes, peak_mapped_bytes;

void *vmalloc(void *addr, size_t length)
{
    EXPECT(addr == NULL && length % 4096 == 0, "vmalloc(%p, %zu)", addr, length);
    void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    size_t now = atomic_fetch_add(&mapped_bytes, length) + length;
    size_t peak = atomic_load(&peak_mapped_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_mapped_bytes, &peak, now))
        ;
    return p;
}

void vmfree(void *addr, size_t length)
{
    /* munmap would also accept part of a region; the contract is whole
     * regions, which this example does not check (tests/provider.c does). */
    EXPECT(munmap(addr, length) == 0, "vmfree(%p, %zu)", addr, length);
    atomic_fetch_sub(&mapped_bytes, length);
}

/* ---- the program ------------------------------------------------------- */

#define THREADS 4
#define BLOCKS 20000

static unsigned char *handed[THREADS][BLOCKS / 2]; /* left to the next thread */
static size_t handed_size[THREADS][BLOCKS / 2];
static pthread_barrier_t barrier;

static size_t size_of(int thread, int i)
{
    return (size_t)(i * 37 + thread * 11) % (i % 50 == 0 ? 100000 : 600);
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < BLOCKS; i++) {
        size_t size = size_of(me, i);
        unsigned char *p = mymalloc(size);
        EXPECT(p != NULL && (uintptr_t)p % 16 == 0, "mymalloc(%zu) = %p", size, (void *)p);
        tag_fill(p, size, (uint64_t)me << 32 | (uint64_t)i);
        if (i % 2 == 0) {
            handed[me][i / 2] = p;
            handed_size[me][i / 2] = size;
        } else {
            EXPECT(tag_ok(p, size, (uint64_t)me << 32 | (uint64_t)i), "block %p", (void *)p);
            myfree(p);
        }
    }
    pthread_barrier_wait(&barrier);
    int from = (me + 1) % THREADS;
    for (int k = 0; k < BLOCKS / 2; k++) {
        unsigned char *p = handed[from][k];
        EXPECT(tag_ok(p, handed_size[from][k], (uint64_t)from << 32 | (uint64_t)(2 * k)),
               "block %p of thread %d was overwritten", (void *)p, from);
        myfree(p);
    }
    return NULL;
}

int main(void)
{
    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        EXPECT(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) == 0, "thread");
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);

    /* Everything is freed: what stays mapped is the metadata and a few
     * empty slabs kept per CPU, well under the peak. */
    size_t now = atomic_load(&mapped_bytes), peak = atomic_load(&peak_mapped_bytes);
    EXPECT(now < peak / 4, "%zu bytes still mapped after freeing everything (peak %zu)", now,
           peak);
    EXPECT(myfree_checked(mymalloc(10)) == 0, "the drop-in still serves after that");
    printf("m5_dropin: %d threads, half the blocks freed by another thread; mapped %zu KiB at the "
           "peak, %zu KiB with nothing live\n",
           THREADS, peak >> 10, now >> 10);
    return 0;
}
