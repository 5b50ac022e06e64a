/*
 * tests/ecc/workload.c: the program the fault injector attacks
 * (tools/ecc-inject.c starts it; tests/ecc/shared.h is the protocol).
 *
 * Blocks of mixed sizes (8 B .. 64 KiB) in both codes, with known contents
 * kept in a shadow copy in plain memory:
 *   - shared blocks, written once, read and verified by every worker;
 *   - each worker's own blocks, which it reads and verifies and then
 *     rewrites with new contents (read and write in one operation, so that
 *     every flip is met by a read before a write could overwrite it);
 *   - a churner allocates, fills, verifies and frees blocks of its own
 *     (verify and free in one operation), republishing the areas;
 *   - a scrubber runs full scrub passes (ecc_scrub) and counts them.
 * Every thread parks between operations when the injector asks.
 *
 * A read that returns EIO (a double flip the injector made on purpose) is
 * not a wrong read: the word was reported to the handler; the thread
 * rewrites the words from the shadow. The handler counts distinct words
 * detected. At the end: every block verified, one full scrub pass, then a
 * second must repair nothing (latent errors), and the figures go to the
 * shared file. Exit 0 if no read was ever wrong.
 *
 *   workload --shared=FILE [--workers=N] [--blocks=N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ecc/table.h"
#include "check.h"
#include "ecc/shared.h"
#include "mymalloc/ecc.h"

static struct ecc_shared *shared;

struct block {
    ecc_t handle;
    size_t size;
    unsigned char *shadow;
};

enum { MAX_WORKERS = 8, SHARED_BLOCKS = 16 };
static int workers = 2, blocks_per_worker = 24;
static struct block shared_blocks[SHARED_BLOCKS];
static struct block *own_blocks[MAX_WORKERS];
static _Atomic uint64_t reads, writes, allocs, frees, wrong_reads, io_errors;


/* ---- words the handler saw uncorrectable, until rewritten ------------------------ */

static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;
enum { BAD_MAX = 1 << 16 };
static struct {
    ecc_t block;
    size_t offset;
} bad_words[BAD_MAX];
static size_t bad_count;
static uint64_t detected_words;

static void on_error(ecc_t block, size_t offset, int corrected)
{
    if (corrected)
        return;
    pthread_mutex_lock(&bad_lock);
    bool known = false;
    for (size_t i = 0; i < bad_count && !known; i++)
        known = bad_words[i].block == block && bad_words[i].offset == offset;
    if (!known && bad_count < BAD_MAX) {
        bad_words[bad_count].block = block;
        bad_words[bad_count].offset = offset;
        bad_count++;
        detected_words++;
        uint32_t i = atomic_fetch_add(&shared->detection_count, 1);
        if (i < ECC_SHARED_MAX_DETECTIONS) {
            shared->detections[i].block = (uint64_t)(uintptr_t)block;
            shared->detections[i].offset = offset;
        }
    }
    pthread_mutex_unlock(&bad_lock);
}

static void forget_bad_words(ecc_t block, size_t offset, size_t end)
{
    pthread_mutex_lock(&bad_lock);
    for (size_t i = 0; i < bad_count;)
        if (bad_words[i].block == block && bad_words[i].offset >= offset &&
            bad_words[i].offset < end)
            bad_words[i] = bad_words[--bad_count];
        else
            i++;
    pthread_mutex_unlock(&bad_lock);
}

/* ---- pauses and areas ------------------------------------------------------------------ */

static _Thread_local uint64_t seen_request;

static void safe_point(void)
{
    uint64_t request = atomic_load(&shared->pause_request);
    if (request == seen_request)
        return;
    seen_request = request;
    atomic_fetch_add(&shared->parked, 1);
    while (atomic_load(&shared->resume) < request)
        sched_yield();
    atomic_fetch_sub(&shared->parked, 1);
}

static int publish_area(const struct ecc_area *area, void *count)
{
    uint32_t *n = count;
    if (*n >= ECC_SHARED_MAX_AREAS)
        return 1;
    shared->areas[(*n)++] = (struct ecc_shared_area){
        .base = (uint64_t)(uintptr_t)area->base,
        .length = area->length,
        .words = area->view.words,
        .block = (uint64_t)(uintptr_t)area->block,
        .code = area->view.code == ECC_CODE_TMR ? SHARED_TMR : SHARED_SECDED,
        .metadata = area->metadata,
    };
    return 0;
}

/* Called by one thread at a time (the main thread before the others start,
 * then only the churner), never while the workload is parked. */
static void publish_areas(void)
{
    uint32_t count = 0;
    if (ecc_walk_areas(publish_area, &count) != 0) {
        fprintf(stderr, "workload: more than %d areas\n", ECC_SHARED_MAX_AREAS);
        exit(2);
    }
    shared->area_count = count;
}

/* ---- blocks ------------------------------------------------------------------------------ */

static size_t random_size(uint64_t *state)
{
    static const size_t sizes[] = {8, 13, 64, 100, 512, 1000, 4096, 9000, 65536};
    return sizes[check_xorshift(state) % (sizeof sizes / sizeof sizes[0])] + check_xorshift(state) % 3;
}

static void fill(struct block *block, size_t offset, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; i++)
        block->shadow[offset + i] = (unsigned char)check_xorshift(state);
}

static void block_create(struct block *block, size_t size, enum ecc_code code, uint64_t *state)
{
    block->size = size;
    block->handle = ecc_alloc(size, code);
    block->shadow = malloc(size);
    if (block->handle == NULL || block->shadow == NULL) {
        perror("workload: alloc");
        exit(2);
    }
    fill(block, 0, size, state);
    if (ecc_write(block->handle, 0, block->shadow, size) != 0) {
        perror("workload: first write");
        exit(2);
    }
}

/* After EIO: rewrite [offset, offset + n) widened to whole words. Each word
 * is read alone first: the read that met the uncorrectable word may have
 * stopped before correcting single flips further on, and a rewrite would
 * erase those flips uncounted (the injector expects every single flip
 * corrected). The uncorrectable words stay uncorrectable until rewritten. */
static void rewrite_words(struct block *block, size_t offset, size_t n)
{
    size_t start = offset & ~(size_t)7, end = (offset + n + 7) & ~(size_t)7;
    if (end > block->size)
        end = block->size;
    for (size_t word = start; word < end; word += 8) {
        unsigned char ignored[8];
        if (ecc_read(block->handle, word, ignored, end - word < 8 ? end - word : 8) != 0 &&
            errno != EIO) {
            perror("workload: read before the rewrite");
            exit(2);
        }
    }
    if (ecc_write(block->handle, start, block->shadow + start, end - start) != 0) {
        perror("workload: rewrite");
        exit(2);
    }
    forget_bad_words(block->handle, start, end);
}

/* Reads and verifies [offset, offset + n); counts wrong bytes. */
static void verify(struct block *block, size_t offset, size_t n, unsigned char *buffer)
{
    if (ecc_read(block->handle, offset, buffer, n) != 0) {
        if (errno != EIO) {
            perror("workload: read");
            exit(2);
        }
        atomic_fetch_add(&io_errors, 1);
        rewrite_words(block, offset, n);
        if (ecc_read(block->handle, offset, buffer, n) != 0) {
            perror("workload: read after the rewrite");
            exit(2);
        }
    }
    atomic_fetch_add(&reads, 1);
    if (memcmp(buffer, block->shadow + offset, n) != 0) {
        atomic_fetch_add(&wrong_reads, 1);
        fprintf(stderr, "workload: WRONG READ of [%zu, +%zu) in a block of %zu\n", offset, n,
                block->size);
    }
}

static void random_range(struct block *block, uint64_t *state, size_t *offset, size_t *n)
{
    *offset = check_xorshift(state) % block->size;
    *n = 1 + check_xorshift(state) % (block->size - *offset);
    if (*n > 4096)
        *n = 4096;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t state = 0x1234567ULL * (uint64_t)(id + 1);
    unsigned char *buffer = malloc(65536 + 8);
    while (!atomic_load(&shared->stop)) {
        safe_point();
        size_t offset, n;
        struct block *block;
        if (check_xorshift(&state) % 3 == 0) {
            block = &shared_blocks[check_xorshift(&state) % SHARED_BLOCKS];
            random_range(block, &state, &offset, &n);
            verify(block, offset, n, buffer);
            continue;
        }
        block = &own_blocks[id][check_xorshift(&state) % (size_t)blocks_per_worker];
        random_range(block, &state, &offset, &n);
        verify(block, offset, n, buffer);
        fill(block, offset, n, &state);
        if (ecc_write(block->handle, offset, block->shadow + offset, n) != 0) {
            perror("workload: write");
            exit(2);
        }
        atomic_fetch_add(&writes, 1);
    }
    free(buffer);
    return NULL;
}

static void *churner(void *arg)
{
    enum { CHURN = 32 };
    struct block blocks[CHURN];
    uint64_t state = 0xfeedULL;
    unsigned char *buffer = malloc(65536 + 8);
    for (int i = 0; i < CHURN; i++)
        blocks[i].handle = NULL;
    while (!atomic_load(&shared->stop)) {
        safe_point();
        struct block *block = &blocks[check_xorshift(&state) % CHURN];
        if (block->handle != NULL) {
            verify(block, 0, block->size, buffer);
            ecc_free(block->handle);
            free(block->shadow);
            block->handle = NULL;
            atomic_fetch_add(&frees, 1);
        } else {
            block_create(block, random_size(&state), (enum ecc_code)(check_xorshift(&state) % 2), &state);
            atomic_fetch_add(&allocs, 1);
        }
        publish_areas();
    }
    for (int i = 0; i < CHURN; i++)
        if (blocks[i].handle != NULL) {
            verify(&blocks[i], 0, blocks[i].size, buffer);
            ecc_free(blocks[i].handle);
            free(blocks[i].shadow);
        }
    free(buffer);
    return arg;
}

static void *scrubber(void *arg)
{
    while (!atomic_load(&shared->stop)) {
        safe_point();
        ecc_scrub((size_t)-1);
        atomic_fetch_add(&shared->scrub_passes, 1);
        safe_point();
        usleep(500);
    }
    return arg;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--shared=", 9) == 0)
            path = argv[i] + 9;
        else if (strncmp(argv[i], "--workers=", 10) == 0)
            workers = atoi(argv[i] + 10);
        else if (strncmp(argv[i], "--blocks=", 9) == 0)
            blocks_per_worker = atoi(argv[i] + 9);
    }
    if (path == NULL || workers < 1 || workers > MAX_WORKERS || blocks_per_worker < 1) {
        fprintf(stderr, "usage: workload --shared=FILE [--workers=1..8] [--blocks=N]\n");
        return 2;
    }
    /* Let a process other than the parent write our memory too (Yama). */
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
    int fd = open(path, O_RDWR);
    shared = fd < 0 ? MAP_FAILED
                    : mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED) {
        perror("workload: shared file");
        return 2;
    }
    ecc_set_error_handler(on_error);
    uint64_t state = 42;
    for (int i = 0; i < SHARED_BLOCKS; i++)
        block_create(&shared_blocks[i], random_size(&state), (enum ecc_code)(i % 2), &state);
    for (int w = 0; w < workers; w++) {
        own_blocks[w] = calloc((size_t)blocks_per_worker, sizeof(struct block));
        for (int i = 0; i < blocks_per_worker; i++)
            block_create(&own_blocks[w][i], random_size(&state), (enum ecc_code)(i % 2), &state);
    }
    publish_areas();

    pthread_t threads[MAX_WORKERS + 2];
    atomic_store(&shared->threads, (uint32_t)workers + 2);
    for (int w = 0; w < workers; w++)
        pthread_create(&threads[w], NULL, worker, (void *)(intptr_t)w);
    pthread_create(&threads[workers], NULL, churner, NULL);
    pthread_create(&threads[workers + 1], NULL, scrubber, NULL);
    atomic_store(&shared->ready, 1);
    for (int i = 0; i < workers + 2; i++)
        pthread_join(threads[i], NULL);

    /* The injector stopped: verify everything, then one pass must leave
     * nothing for a second. */
    unsigned char *buffer = malloc(65536 + 8);
    uint64_t wrong_before = atomic_load(&wrong_reads);
    for (int i = 0; i < SHARED_BLOCKS; i++)
        verify(&shared_blocks[i], 0, shared_blocks[i].size, buffer);
    for (int w = 0; w < workers; w++)
        for (int i = 0; i < blocks_per_worker; i++)
            verify(&own_blocks[w][i], 0, own_blocks[w][i].size, buffer);
    ecc_scrub((size_t)-1);
    size_t latent = ecc_scrub((size_t)-1);
    struct ecc_stats stats;
    ecc_get_stats(&stats);
    uint64_t uncorrectable_before = stats.uncorrectable;
    ecc_scrub((size_t)-1);
    ecc_get_stats(&stats);
    latent += stats.uncorrectable - uncorrectable_before;

    shared->reads = atomic_load(&reads);
    shared->writes = atomic_load(&writes);
    shared->allocs = atomic_load(&allocs);
    shared->frees = atomic_load(&frees);
    shared->wrong_reads = atomic_load(&wrong_reads);
    shared->final_wrong = atomic_load(&wrong_reads) - wrong_before;
    shared->io_errors = atomic_load(&io_errors);
    shared->detected_words = detected_words;
    shared->corrected = stats.corrected;
    shared->uncorrectable = stats.uncorrectable;
    shared->latent_after_pass = latent;
    shared->passes = atomic_load(&shared->scrub_passes);
    shared->exit_status = shared->wrong_reads == 0 && latent == 0 ? 0 : 1;
    atomic_store(&shared->finished, 1);
    printf("workload: reads=%llu writes=%llu allocs=%llu frees=%llu wrong=%llu eio=%llu "
           "corrected=%llu uncorrectable=%llu detected_words=%llu latent=%zu passes=%llu\n",
           (unsigned long long)shared->reads, (unsigned long long)shared->writes,
           (unsigned long long)shared->allocs, (unsigned long long)shared->frees,
           (unsigned long long)shared->wrong_reads, (unsigned long long)shared->io_errors,
           stats.corrected, stats.uncorrectable, (unsigned long long)detected_words, latent,
           (unsigned long long)shared->passes);
    return (int)shared->exit_status;
}
