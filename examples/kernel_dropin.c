/*
 * kernel_dropin.c: the kernel allocator's single-file drop-in
 * (build/kernel/kalloc.c and kalloc.h, made by `make`; docs/KERNEL.md) in
 * a user program that plays the kernel: threads stand for CPUs, a mapped
 * region for the physical memory. The drop-in is compiled as a kernel
 * compiles it:
 *
 *   gcc -std=gnu11 -O2 -ffreestanding -fno-builtin -c build/kernel/kalloc.c
 *   gcc -std=gnu11 -O2 -Ibuild/kernel kernel_dropin.c kalloc.o -lpthread
 *
 * The embedder supplies the two CPU hooks. Each "CPU" allocates blocks of
 * random sizes, checks that each lies in the region and is aligned to the
 * smallest power of two at least its size, tags them, and frees half of its
 * blocks itself and half of the next CPU's (after checking their tags).
 * With everything freed, the largest block fits again: nothing was lost.
 *
 *   ./kernel_dropin
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "kalloc.h" /* build/kernel/kalloc.h: include/mymalloc/kalloc.h */

#include "example.h"

#define CPUS 4
#define HEAP_BYTES ((size_t)64 << 20)
#define BLOCKS 2000 /* per CPU: about 25 MiB live at the peak, in powers of two */

/* ---- what the embedder supplies: the CPU hooks ---------------------------
 * A kernel reads its CPU number from the hardware; here each thread is a
 * CPU and keeps its number in a thread-local variable. */
static _Thread_local int this_cpu;
int kalloc_cpu_current(void)
{
    return this_cpu;
}
int kalloc_cpu_count(void)
{
    return CPUS;
}

/* ---- the "kernel" ------------------------------------------------------ */

static unsigned char *heap_start;
static unsigned char *blocks[CPUS][BLOCKS];
static size_t sizes[CPUS][BLOCKS];
static pthread_barrier_t barrier;

static size_t alignment_of(size_t size) /* the smallest power of two >= size, at least 16 */
{
    size_t a = 16;
    while (a < size)
        a *= 2;
    return a;
}

static void check_and_free(int cpu, int i)
{
    EXPECT(tag_ok(blocks[cpu][i], sizes[cpu][i], (uint64_t)cpu << 32 | (uint64_t)i),
           "block %p of CPU %d was overwritten", (void *)blocks[cpu][i], cpu);
    kfree(blocks[cpu][i]);
}

static void *cpu_main(void *arg)
{
    this_cpu = (int)(intptr_t)arg;
    uint64_t random_state = 0x9e3779b97f4a7c15u * (uint64_t)(this_cpu + 1);
    for (int i = 0; i < BLOCKS; i++) {
        random_state ^= random_state >> 12; /* xorshift64* */
        random_state ^= random_state << 25;
        random_state ^= random_state >> 27;
        uint64_t r = random_state * 0x2545f4914f6cdd1du;
        /* Mostly small objects, some pages, a few blocks of up to 64 KiB. */
        size_t size = 1 + (r >> 40) % (r % 16 == 0 ? 65536 : r % 4 == 0 ? 4096 : 256);
        unsigned char *p = kalloc(size);
        EXPECT(p != NULL, "kalloc(%zu) failed", size);
        EXPECT(p >= heap_start && p + size <= heap_start + HEAP_BYTES, "%p outside the heap",
               (void *)p);
        EXPECT((uintptr_t)p % alignment_of(size) == 0, "kalloc(%zu) = %p: not aligned to %zu",
               size, (void *)p, alignment_of(size));
        tag_fill(p, size, (uint64_t)this_cpu << 32 | (uint64_t)i);
        blocks[this_cpu][i] = p;
        sizes[this_cpu][i] = size;
    }
    pthread_barrier_wait(&barrier);
    /* Even blocks: our own; odd blocks: the next CPU's (a remote free). */
    int next = (this_cpu + 1) % CPUS;
    for (int i = 0; i < BLOCKS; i += 2) {
        check_and_free(this_cpu, i);
        check_and_free(next, i + 1);
    }
    return NULL;
}

int main(void)
{
    heap_start = mmap(NULL, HEAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT(heap_start != MAP_FAILED, "mmap");
    kalloc_init(heap_start, heap_start + HEAP_BYTES); /* once, on one CPU, first */

    EXPECT(kalloc(0) == NULL, "kalloc(0) is NULL");
    kfree(NULL); /* does nothing */

    pthread_barrier_init(&barrier, NULL, CPUS);
    pthread_t threads[CPUS];
    for (int i = 0; i < CPUS; i++)
        EXPECT(pthread_create(&threads[i], NULL, cpu_main, (void *)(intptr_t)i) == 0, "thread");
    for (int i = 0; i < CPUS; i++)
        pthread_join(threads[i], NULL);

    /* Everything was freed: a block of a quarter of the region (aligned to
     * its size) can be had again, so no page was lost in a CPU's cache. */
    void *big = kalloc(HEAP_BYTES / 4);
    EXPECT(big != NULL && (uintptr_t)big % (HEAP_BYTES / 4) == 0, "kalloc(16 MiB) = %p", big);
    kfree(big);
    printf("kernel_dropin: %d CPUs x %d blocks, every block in the heap, aligned and intact, "
           "half freed on another CPU; 16 MiB free again at the end\n",
           CPUS, BLOCKS);
    return 0;
}
