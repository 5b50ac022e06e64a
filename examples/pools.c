/*
 * pools.c: the two kinds of pool of include/mymalloc/pool.h (docs/POOLS.md).
 *
 * 1. A request loop with a region pool: everything a request allocates
 *    (strings, zeroed structures, a big buffer, a sub-pool) dies with it at
 *    one pool_clear, which also runs the cleanups the request registered.
 *    The pool keeps its first region between requests, so after the first
 *    request it maps nothing.
 * 2. An object cache with a fixed-size pool shared by threads, with a cache
 *    per CPU and a capacity reserved at creation: threads allocate
 *    connection objects, tag them, and hand them to the next thread, which
 *    checks the tags and frees them. Within the capacity the pool maps
 *    nothing more and never fails.
 *
 *   ./pools
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <mymalloc/pool.h>

#include "example.h"

/* ---- 1. a request loop with a region pool ------------------------------- */

struct header {
    char name[32];
    long value;
};

static int cleanups_run;
static void count_cleanup(void *counter)
{
    ++*(int *)counter;
}

static void handle_request(pool_t *request, int number)
{
    char path[64];
    snprintf(path, sizeof path, "/items/%d", number);
    char *copy = pstrdup(request, path);
    EXPECT(copy != NULL && strcmp(copy, path) == 0, "pstrdup");

    struct header *headers = pcalloc(request, 20 * sizeof *headers);
    EXPECT(headers != NULL && (uintptr_t)headers % 16 == 0, "pcalloc");
    for (int i = 0; i < 20; i++)
        EXPECT(headers[i].value == 0 && headers[i].name[0] == 0, "pcalloc'd header %d", i);

    unsigned char *body = palloc(request, 64 * 1024); /* above 8 KiB: a region of its own */
    EXPECT(body != NULL, "palloc(64 KiB)");
    tag_fill(body, 64 * 1024, (uint64_t)number);

    /* A sub-pool: cleared (and destroyed) with its parent. */
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.parent = request;
    pool_t *scratch = pool_create(&config);
    EXPECT(scratch != NULL && pool_parent(scratch) == request, "sub-pool");
    EXPECT(pstrndup(scratch, "temporary text", 9) != NULL, "pstrndup");

    /* Runs at the clear, e.g. to close a file the request opened. */
    EXPECT(pool_cleanup_register(request, count_cleanup, &cleanups_run) == 0, "cleanup");
    EXPECT(pool_cleanup_register(scratch, count_cleanup, &cleanups_run) == 0, "cleanup");

    pool_stats_t stats;
    EXPECT(pool_stats(request, &stats) == 0, "pool_stats");
    EXPECT(stats.subpools == 1 && stats.blocks == 3, "%zu sub-pools, %zu blocks", stats.subpools,
           stats.blocks);
    EXPECT(tag_ok(body, 64 * 1024, (uint64_t)number), "the body was overwritten");
    /* A region pool's pfree does nothing; pfree_checked knows its regions. */
    EXPECT(pfree_checked(request, copy) == 0, "pfree_checked of a block of the pool");
}

/* Returns the bytes the pool holds between requests. */
static size_t request_loop(void)
{
    pool_t *request = pool_create(NULL); /* NULL config: a root region pool */
    EXPECT(request != NULL, "pool_create: errno %d", errno);
    size_t held_after_first = 0;
    for (int number = 0; number < 1000; number++) {
        handle_request(request, number);
        int before = cleanups_run;
        pool_clear(request); /* the cleanups, the sub-pool, every block */
        EXPECT(cleanups_run == before + 2, "both cleanups ran once");

        pool_stats_t stats;
        EXPECT(pool_stats(request, &stats) == 0, "pool_stats");
        EXPECT(stats.blocks == 0 && stats.bytes_in_use == 0 && stats.subpools == 0,
               "a cleared pool is empty");
        if (number == 0)
            held_after_first = stats.bytes_held;
        EXPECT(stats.bytes_held <= held_after_first, "request %d: the pool grew to %zu bytes",
               number, stats.bytes_held);
    }
    pool_destroy(request);
    return held_after_first;
}

/* ---- 2. an object cache: a fixed-size pool shared by threads ------------ */

#define THREADS 4
#define BATCH 256
#define ROUNDS 200

struct connection {
    int fd;
    char peer[44];
    uint64_t tag;
};

static pool_t *connections;
static struct connection *batches[THREADS][BATCH];
static pthread_barrier_t barrier;

static void *connection_worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t tag = (uint64_t)me << 32 | (uint64_t)round;
        for (int i = 0; i < BATCH; i++) {
            struct connection *c = palloc(connections, sizeof *c);
            EXPECT(c != NULL, "palloc failed within the capacity (errno %d)", errno);
            tag_fill(c, sizeof *c, tag + (uint64_t)i * 0x10000);
            batches[me][i] = c;
        }
        pthread_barrier_wait(&barrier);
        /* Free the next thread's batch: frees from another thread than the
         * one that allocated, into this CPU's cache. */
        int from = (me + 1) % THREADS;
        uint64_t from_tag = (uint64_t)from << 32 | (uint64_t)round;
        for (int i = 0; i < BATCH; i++) {
            struct connection *c = batches[from][i];
            EXPECT(tag_ok(c, sizeof *c, from_tag + (uint64_t)i * 0x10000),
                   "connection %p was overwritten", (void *)c);
            pfree(connections, c);
        }
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

/* Returns the bytes reserved at creation. */
static size_t object_cache(void)
{
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.object_size = sizeof(struct connection);
    config.capacity = THREADS * BATCH; /* as many as can be live at once */
    config.flags = POOL_SHARED | POOL_PER_CPU;
    config.name = "connections";
    connections = pool_create(&config);
    EXPECT(connections != NULL, "pool_create: errno %d", errno);
    EXPECT(strcmp(pool_name(connections), "connections") == 0, "pool_name");
    pool_stats_t at_start;
    EXPECT(pool_stats(connections, &at_start) == 0, "pool_stats");

    pthread_barrier_init(&barrier, NULL, THREADS);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        EXPECT(pthread_create(&threads[i], NULL, connection_worker, (void *)(intptr_t)i) == 0,
               "pthread_create");
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);

    pool_stats_t at_end;
    EXPECT(pool_stats(connections, &at_end) == 0, "pool_stats");
    EXPECT(at_end.blocks == 0, "%zu connections still live", at_end.blocks);
    EXPECT(at_end.bytes_held == at_start.bytes_held,
           "within the capacity the pool mapped more: %zu bytes, %zu at creation",
           at_end.bytes_held, at_start.bytes_held);

    /* Bad input: a size above object_size, and a second free. */
    errno = 0;
    EXPECT(palloc(connections, sizeof(struct connection) + 1) == NULL && errno == EINVAL,
           "palloc above object_size: errno %d", errno);
    struct connection *c = palloc(connections, sizeof *c);
    EXPECT(c != NULL, "palloc");
    EXPECT(pfree_checked(connections, c) == 0, "pfree_checked of a live object");
    EXPECT(pfree_checked(connections, c) == -1, "pfree_checked refuses a second free");

    pool_destroy(connections);
    return at_start.bytes_held;
}

int main(void)
{
    size_t request_bytes = request_loop();
    size_t cache_bytes = object_cache();
    pool_trim(); /* the regions the pools' shared cache keeps go back now */
    printf("pools: 1000 requests in one region pool holding %zu KiB between them; %d threads x "
           "%d rounds of %d objects freed by another thread, within %zu KiB reserved at creation\n",
           request_bytes >> 10, THREADS, ROUNDS, BATCH, cache_bytes >> 10);
    return 0;
}
