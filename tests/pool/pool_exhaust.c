/*
 * pool_exhaust: the pools at the edge of memory, on the core objects with
 * the test kit's provider (tests/provider.h: vmalloc/vmfree counted, each
 * vmfree checked against a live region, a byte cap). No hosted platform
 * here: the hook table is the test kit's (no CPUs or nodes known, no
 * partial unmaps), as in the freestanding core.
 *
 *   1. region pool under a cap: palloc (small, then big blocks) until NULL
 *      with ENOMEM, every block's tag intact; pool_clear, and the same
 *      pallocs succeed again (recovery); destroy + pool_trim: the provider
 *      holds what it held before
 *   2. a fixed-size pool's capacity is guaranteed: reserved, then memory
 *      exhausted by another pool, then `capacity` objects still come (and
 *      one more does not); a capacity beyond the cap fails with ENOMEM and
 *      leaks nothing
 *   3. a POOL_SHARED|POOL_PER_CPU pool: objects a thread freed (in its
 *      CPU's cache) serve another thread when memory is exhausted
 *   4. every k-th vmalloc failing (k = 1, 2, 3, 7): pools are created,
 *      filled, cleared, destroyed; NULLs allowed, nothing else; then with
 *      the fault lifted, no NULL
 *   5. affinity where the platform knows no CPUs or nodes: EINVAL
 * The provider must see no contract violation (a vmfree of a region it did
 * not hand out, or of the wrong length).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mymalloc/pool.h"
#include "pool_check.h"
#include "provider.h"

#define MIB ((size_t)1 << 20)
#define MAX_BLOCKS 200000

static void *blocks[MAX_BLOCKS];

/* palloc `size` until NULL; returns how many came. */
static size_t fill(pool_t *pool, size_t size)
{
    size_t n = 0;
    for (; n < MAX_BLOCKS; n++) {
        errno = 0;
        void *p = palloc(pool, size);
        if (p == NULL) {
            CHECK(errno == ENOMEM, "errno %d after a NULL palloc", errno);
            break;
        }
        tag(p, size, n);
        blocks[n] = p;
    }
    CHECK(n < MAX_BLOCKS, "no NULL under the cap (size %zu)", size);
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !tag_ok(blocks[i], size, i);
    CHECK(bad == 0, "%d blocks of %zu lost their tags", bad, size);
    return n;
}

static void case_region(size_t base)
{
    provider_set_cap(base + 4 * MIB);
    pool_t *pool = pool_create(NULL);
    CHECK(pool != NULL, "pool_create under the cap");
    size_t sizes[] = {1000, 100 * 1024};
    for (int s = 0; s < 2; s++) {
        size_t first = fill(pool, sizes[s]);
        pool_clear(pool);
        size_t again = fill(pool, sizes[s]);
        CHECK(first > 0 && again >= first * 9 / 10, "after the clear %zu blocks of %zu, before %zu",
              again, sizes[s], first);
        printf("FIGURES: region %zuB: %zu blocks under 4 MiB, %zu after clear\n", sizes[s], first,
               again);
        pool_clear(pool);
    }
    pool_destroy(pool);
    pool_trim();
    CHECK(provider_held() == base, "held %zu after destroy, %zu before", provider_held(), base);
    provider_set_cap(0);
}

static void case_capacity(size_t base)
{
    provider_set_cap(base + 4 * MIB);
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.object_size = 200;
    config.capacity = 100000; /* 20 MB: beyond the cap */
    errno = 0;
    CHECK(pool_create(&config) == NULL && errno == ENOMEM, "a capacity beyond the cap");
    pool_trim();
    CHECK(provider_held() == base, "the failed create leaked %zu bytes", provider_held() - base);

    config.capacity = 3000;
    pool_t *fixed = pool_create(&config);
    CHECK(fixed != NULL, "a capacity within the cap");
    pool_t *hog = pool_create(NULL);
    fill(hog, 3000); /* memory is now exhausted */
    size_t got = 0;
    for (; got < config.capacity; got++) {
        void *p = palloc(fixed, 200);
        if (p == NULL)
            break;
        tag(p, 200, got);
        blocks[got] = p;
    }
    CHECK(got == config.capacity, "only %zu of %zu reserved objects", got, config.capacity);
    /* the slab's rounding may hold a few more; past them, NULL */
    size_t extra = 0;
    while (extra < 1000 && palloc(fixed, 200) != NULL)
        extra++;
    CHECK(extra < 1000, "objects beyond the capacity under an exhausted cap");
    for (size_t i = 0; i < got; i++)
        CHECK(tag_ok(blocks[i], 200, i), "object %zu", i);
    printf("FIGURES: capacity 3000 objects guaranteed under exhaustion (+%zu from slab rounding)\n",
           extra);
    pool_destroy(hog);
    pool_destroy(fixed);
    pool_trim();
    CHECK(provider_held() == base, "held %zu, %zu before", provider_held(), base);
    provider_set_cap(0);
}

static pool_t *per_cpu;
static size_t per_cpu_count;

static void *alloc_and_free_all(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < per_cpu_count; i++) {
        blocks[i] = palloc(per_cpu, 64);
        if (blocks[i] == NULL)
            return (void *)1;
    }
    for (size_t i = 0; i < per_cpu_count; i++)
        pfree(per_cpu, blocks[i]);
    return NULL;
}

static void *alloc_all(void *arg)
{
    size_t *got = arg;
    for (*got = 0; *got < per_cpu_count; (*got)++) {
        blocks[*got] = palloc(per_cpu, 64);
        if (blocks[*got] == NULL)
            break;
    }
    return NULL;
}

static void case_per_cpu(size_t base)
{
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.object_size = 64;
    config.capacity = per_cpu_count = 5000;
    config.flags = POOL_SHARED | POOL_PER_CPU;
    per_cpu = pool_create(&config);
    CHECK(per_cpu != NULL, "per-CPU pool");
    pthread_t t;
    void *result;
    pthread_create(&t, NULL, alloc_and_free_all, NULL);
    pthread_join(t, &result);
    CHECK(result == NULL, "first thread's pallocs");
    provider_set_cap(provider_held() + MIB);
    pool_t *hog = pool_create(NULL);
    fill(hog, 3000);
    size_t got = 0;
    pthread_create(&t, NULL, alloc_all, &got);
    pthread_join(t, NULL);
    CHECK(got == per_cpu_count, "%zu of %zu objects another thread freed", got, per_cpu_count);
    pool_destroy(hog);
    pool_destroy(per_cpu);
    pool_trim();
    CHECK(provider_held() == base, "held %zu, %zu before", provider_held(), base);
    provider_set_cap(0);
}

static void churn(int rounds)
{
    for (int r = 0; r < rounds; r++) {
        pool_config_t config = POOL_CONFIG_DEFAULT;
        pool_t *root = pool_create(NULL);
        if (root == NULL)
            continue;
        config.parent = root;
        config.object_size = (size_t)(r % 5) * 100;
        config.capacity = (size_t)(r % 3) * 50;
        pool_t *sub = pool_create(&config);
        for (int i = 0; i < 300; i++) {
            void *p = palloc(root, (size_t)(i * 37 % 20000));
            if (p != NULL)
                memset(p, 1, (size_t)(i * 37 % 20000));
            if (sub != NULL && (p = palloc(sub, 50)) != NULL) {
                memset(p, 2, 50);
                if (config.object_size != 0 && (i & 1))
                    pfree(sub, p);
            }
        }
        pool_clear(root);
        pool_destroy(root);
    }
}

static void case_faults(size_t base)
{
    unsigned long ks[] = {1, 2, 3, 7};
    for (int i = 0; i < 4; i++) {
        provider_fail_every(ks[i]);
        churn(50);
    }
    provider_fail_every(0);
    pool_trim();
    CHECK(provider_held() == base, "held %zu after faults, %zu before", provider_held(), base);
    /* lifted: nothing fails */
    pool_t *pool = pool_create(NULL);
    int nulls = 0;
    for (int i = 0; i < 1000; i++)
        nulls += palloc(pool, 5000) == NULL;
    CHECK(pool != NULL && nulls == 0, "%d NULLs with the fault lifted", nulls);
    pool_destroy(pool);
    pool_trim();
}

static void case_affinity(void)
{
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.numa_node = 0;
    errno = 0;
    CHECK(pool_create(&config) == NULL && errno == EINVAL, "a node without NUMA information");
    config = POOL_CONFIG_DEFAULT;
    config.cpu = 0;
    errno = 0;
    CHECK(pool_create(&config) == NULL && errno == EINVAL, "a CPU without CPU information");
}

int main(void)
{
    /* The first pool maps what later ones find in the shared cache. */
    pool_trim();
    size_t base = provider_held();
    case_region(base);
    case_capacity(base);
    case_per_cpu(base);
    case_faults(base);
    case_affinity();
    provider_stats s;
    provider_get_stats(&s);
    CHECK(s.errors == 0, "%lu provider contract violations", s.errors);
    printf("FIGURES: vmalloc=%lu vmfree=%lu refused=%lu\n", s.vmallocs, s.vmfrees, s.refused);
    return check_finish("pool_exhaust");
}
