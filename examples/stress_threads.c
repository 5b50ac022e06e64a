/*
 * stress_threads.c: many threads allocating at once, and blocks freed by a
 * thread other than the one that allocated them (the producer/consumer
 * pattern of servers and pipelines).
 *
 * Each thread keeps its own table of blocks. At each step it allocates a
 * block (random size, filled with a tag naming the thread and the step),
 * frees one of its blocks after checking the tag, or hands one to another
 * thread through that thread's mailbox (a mutex-protected array). A thread
 * empties its mailbox now and then: it checks each block's tag (written by
 * the sender, whose stores the mutex makes visible) and frees it. At the
 * end allocator_verify checks the heap and the bytes in use must be back
 * where they started (but for what glibc keeps for its cached threads).
 *
 *   ./stress_threads [threads] [steps per thread]     (default 8, 100000)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <mymalloc.h>

#include "example.h"

#define MAX_THREADS 64
#define SLOTS 512
#define MAILBOX 256
/* What glibc itself may keep allocated per thread after it exited. */
#define GLIBC_BYTES_PER_THREAD 512

struct block {
    unsigned char *data;
    size_t size;
    uint64_t tag;
};

struct mailbox {
    pthread_mutex_t lock;
    struct block blocks[MAILBOX];
    size_t count;
};

static struct mailbox mailboxes[MAX_THREADS];
static int thread_count;
static long steps_per_thread;
static _Atomic long blocks_sent; /* freed by another thread than their own */

static uint64_t next_random(uint64_t *state) /* xorshift64* */
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1du;
}

static void check_and_free(const struct block *b)
{
    EXPECT(tag_ok(b->data, b->size, b->tag), "block %p (%zu bytes, tag %#llx) was overwritten",
           (void *)b->data, b->size, (unsigned long long)b->tag);
    free(b->data);
}

/* Gives b to thread `to`; false if its mailbox is full (b stays ours). */
static bool send(int to, const struct block *b)
{
    struct mailbox *box = &mailboxes[to];
    pthread_mutex_lock(&box->lock);
    bool sent = box->count < MAILBOX;
    if (sent)
        box->blocks[box->count++] = *b;
    pthread_mutex_unlock(&box->lock);
    return sent;
}

/* Frees every block other threads sent to thread `me`. */
static void empty_mailbox(int me)
{
    struct mailbox *box = &mailboxes[me];
    pthread_mutex_lock(&box->lock);
    for (size_t i = 0; i < box->count; i++)
        check_and_free(&box->blocks[i]);
    box->count = 0;
    pthread_mutex_unlock(&box->lock);
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t random_state = 0x9e3779b97f4a7c15u * (uint64_t)(me + 1);
    struct block mine[SLOTS] = {{0}};

    for (long step = 0; step < steps_per_thread; step++) {
        struct block *b = &mine[next_random(&random_state) % SLOTS];
        uint64_t r = next_random(&random_state);
        if (b->data == NULL) {
            b->size = (r >> 16) % (r % 8 == 0 ? 65536 : 256); /* mostly small */
            b->tag = (uint64_t)me << 48 | (uint64_t)step;
            b->data = malloc(b->size);
            EXPECT(b->data != NULL, "malloc(%zu) failed", b->size);
            EXPECT((uintptr_t)b->data % 16 == 0, "%p is not 16-byte aligned", (void *)b->data);
            tag_fill(b->data, b->size, b->tag);
        } else if (r % 2 == 0 && thread_count > 1) {
            int to = (int)((me + 1 + (r >> 8) % (uint64_t)(thread_count - 1)) % thread_count);
            if (send(to, b)) {
                b->data = NULL;
                blocks_sent++;
            }
        } else {
            check_and_free(b);
            b->data = NULL;
        }
        if (step % 64 == 0)
            empty_mailbox(me);
    }
    for (size_t i = 0; i < SLOTS; i++)
        if (mine[i].data != NULL)
            check_and_free(&mine[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    thread_count = argc > 1 ? atoi(argv[1]) : 8;
    steps_per_thread = argc > 2 ? atol(argv[2]) : 100000;
    EXPECT(thread_count >= 1 && thread_count <= MAX_THREADS, "1 to %d threads", MAX_THREADS);

    size_t allocated0, freed0;
    allocator_stats(&allocated0, &freed0, NULL);

    pthread_t threads[MAX_THREADS];
    for (int i = 0; i < thread_count; i++)
        pthread_mutex_init(&mailboxes[i].lock, NULL);
    for (int i = 0; i < thread_count; i++)
        EXPECT(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) == 0, "thread %d", i);
    for (int i = 0; i < thread_count; i++)
        pthread_join(threads[i], NULL);
    /* Blocks sent after their receiver's last look: freed here, on yet
     * another thread. */
    for (int i = 0; i < thread_count; i++)
        empty_mailbox(i);

    EXPECT(allocator_verify() == 0, "allocator_verify found a problem (see above)");
    /* The threads are gone: the counts are exact again. What is still in
     * use beyond the start is glibc's: pthread_create callocs each thread's
     * TLS vector (320 bytes here), kept with the thread stacks glibc caches
     * for reuse. More than that would be blocks this program lost. */
    size_t allocated, freed;
    allocator_stats(&allocated, &freed, NULL);
    size_t still_in_use = (allocated - freed) - (allocated0 - freed0);
    EXPECT(still_in_use <= (size_t)thread_count * GLIBC_BYTES_PER_THREAD,
           "%zu bytes still counted in use", still_in_use);
    printf("stress_threads: %d threads x %ld steps, %ld blocks freed by another thread, every "
           "block intact, %zu MiB allocated in all\n",
           thread_count, steps_per_thread, (long)blocks_sent, (allocated - allocated0) >> 20);
    EXPECT(thread_count == 1 || blocks_sent > 0, "no block went to another thread");
    return 0;
}
