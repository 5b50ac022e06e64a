/*
 * pool_test: the pools of include/mymalloc/pool.h, in the hosted library
 * (or its ThreadSanitizer/AddressSanitizer builds, tests/pool/rules.mk).
 *
 *   --case=region     region pools: every block tagged and checked before
 *                     the clear, alignment, big blocks, the capacity (no
 *                     mapping within it), bytes held back to where they
 *                     were after clear, destroy and pool_trim
 *   --case=fixed      fixed-size pools: tags, reuse after pfree, live
 *                     counts, capacity, bytes held, object sizes 1..1 MiB
 *   --case=tree       sub-pools and cleanups: order (cleanups last first,
 *                     then sub-pools, deepest first), cleanups registered
 *                     by cleanups, sub-pools destroyed alone
 *   --case=cycles     10,000 create/clear/destroy cycles (trees of three,
 *                     both kinds): bytes held do not grow
 *   --case=bad        bad input: palloc 0, above object_size, SIZE_MAX,
 *                     pool_destroy(NULL), pfree into the wrong pool, of an
 *                     interior pointer, twice (checked: -1; unchecked: the
 *                     process aborts, in a child), sub-pool of a destroyed
 *                     pool, clear/destroy of a destroyed pool, bad configs
 *   --case=threads    --threads=N: a POOL_SHARED fixed-size pool, a
 *                     POOL_SHARED|POOL_PER_CPU one and a shared region
 *                     pool; every thread allocates, tags, and hands half of
 *                     its objects to the next thread, which checks and
 *                     frees them (cross-thread pfree)
 *   --case=placement  the pages of pools for node 0 and CPU 0 are on node
 *                     0, asked of the kernel (move_pages with no target,
 *                     get_mempolicy MPOL_F_NODE|MPOL_F_ADDR); the bound
 *                     policy is MPOL_BIND; a CPU or node that does not
 *                     exist gives EINVAL
 *   --case=poison     (AddressSanitizer build only) a read after
 *                     pool_clear, and after pfree, is reported (in a
 *                     child, which must die with ASan's exit code)
 * Exits 0 on success; prints FIGURES lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mymalloc/pool.h"
#include "platform/mapped.h"
#include "pool_check.h"

/* The library's count of bytes mapped (platform/prim.c): hidden in the
 * shared library, so this program links the static one or the objects. */
size_t mm_prim_held_bytes(void);

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    return check_xorshift(&rng_state);
}

static size_t held(void) { return mm_prim_held_bytes(); }

/* Run fn in a child; return its wait status. */
static int in_child(void (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        if (devnull >= 0)
            dup2(devnull, 2);
        fn(arg);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* ---- region ------------------------------------------------------------------ */

#define REGION_BLOCKS 4000

static void case_region(void)
{
    static void *ptrs[REGION_BLOCKS];
    static size_t sizes[REGION_BLOCKS];
    size_t before = held();
    pool_t *pool = pool_create(NULL);
    CHECK(pool != NULL, "pool_create(NULL)");
    size_t after_create = held();
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < REGION_BLOCKS; i++) {
            /* mostly small, some strings, a few big blocks */
            size_t r = rnd() % 100;
            sizes[i] = r < 90 ? 1 + rnd() % 512 : r < 98 ? 1 + rnd() % 4096 : 8192 + rnd() % 60000;
            ptrs[i] = palloc(pool, sizes[i]);
            CHECK(ptrs[i] != NULL, "palloc %zu", sizes[i]);
            CHECK(((uintptr_t)ptrs[i] & 15) == 0, "alignment %p", ptrs[i]);
            tag(ptrs[i], sizes[i], (uint64_t)i + round);
        }
        int bad = 0;
        for (int i = 0; i < REGION_BLOCKS; i++)
            bad += !tag_ok(ptrs[i], sizes[i], (uint64_t)i + round);
        CHECK(bad == 0, "%d blocks lost their tags before the clear", bad);
        pool_stats_t st;
        CHECK(pool_stats(pool, &st) == 0, "stats");
        CHECK(st.blocks == REGION_BLOCKS, "blocks %zu", st.blocks);
        CHECK(st.bytes_held >= st.bytes_in_use, "held %zu in use %zu", st.bytes_held, st.bytes_in_use);
        pool_clear(pool);
        CHECK(pool_stats(pool, &st) == 0 && st.blocks == 0 && st.bytes_in_use == 0,
              "after clear: %zu blocks", st.blocks);
        /* the pool keeps at most 256 KiB */
        CHECK(st.bytes_held <= 256 * 1024, "a cleared pool holds %zu", st.bytes_held);
    }
    /* The pool's content goes to the shared cache (at most 8 MiB). */
    size_t after_clears = held();
    CHECK(after_clears <= after_create + (8u << 20) + (256u << 10),
          "held after clears %zu, after create %zu", after_clears, after_create);
    pool_destroy(pool);
    pool_trim();
    CHECK(held() == before, "bytes held %zu after destroy and trim, %zu before", held(), before);

    /* Capacity: 1 MiB of requests, rounded to 16, never maps a thing. */
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.capacity = 1 << 20;
    pool = pool_create(&config);
    CHECK(pool != NULL, "capacity pool");
    size_t held_reserved = held();
    size_t total = 0;
    int served = 0;
    while (pool != NULL) {
        size_t size = 1 + rnd() % 3000;
        size_t rounded = (size + 15) & ~(size_t)15;
        if (total + rounded > config.capacity)
            break;
        void *p = palloc(pool, size);
        CHECK(p != NULL, "palloc within capacity");
        tag(p, size, 5);
        total += rounded;
        served++;
    }
    CHECK(held() == held_reserved, "mapped %zd bytes within the capacity",
          (ssize_t)(held() - held_reserved));
    pool_stats_t st;
    pool_stats(pool, &st);
    CHECK(st.regions == 1, "%zu regions within the capacity", st.regions);
    pool_clear(pool);
    pool_stats(pool, &st);
    CHECK(st.bytes_held >= config.capacity, "capacity kept after clear: %zu", st.bytes_held);
    pool_destroy(pool);
    pool_trim();
    CHECK(held() == before, "bytes held %zu after capacity pool, %zu before", held(), before);
    printf("FIGURES: blocks/round=%d capacity-pallocs=%d\n", REGION_BLOCKS, served);

    /* pcalloc zeroes a reused region; pstrdup & co. */
    pool = pool_create(NULL);
    memset(palloc(pool, 4000), 0xab, 4000);
    pool_clear(pool);
    unsigned char *z = pcalloc(pool, 4000);
    int nonzero = 0;
    for (int i = 0; i < 4000; i++)
        nonzero += z[i] != 0;
    CHECK(nonzero == 0, "pcalloc left %d bytes", nonzero);
    char *s = pstrdup(pool, "hello, pools");
    CHECK(s != NULL && strcmp(s, "hello, pools") == 0, "pstrdup");
    s = pstrndup(pool, "abcdef", 3);
    CHECK(s != NULL && strcmp(s, "abc") == 0, "pstrndup");
    int v[4] = {1, 2, 3, 4};
    int *w = pmemdup(pool, v, sizeof v);
    CHECK(w != NULL && memcmp(v, w, sizeof v) == 0, "pmemdup");
    pool_destroy(pool);
}

/* ---- fixed --------------------------------------------------------------------- */

static void fixed_one(size_t object_size, size_t count, size_t capacity)
{
    size_t before = held();
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.object_size = object_size;
    config.capacity = capacity;
    pool_t *pool = pool_create(&config);
    CHECK(pool != NULL, "fixed pool of %zu", object_size);
    if (pool == NULL)
        return;
    size_t reserved = held();
    static void *ptrs[30000];
    if (count > sizeof ptrs / sizeof ptrs[0])
        count = sizeof ptrs / sizeof ptrs[0];
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < count; i++) {
            ptrs[i] = palloc(pool, 1 + rnd() % object_size);
            CHECK(ptrs[i] != NULL, "palloc");
            CHECK(((uintptr_t)ptrs[i] & 15) == 0, "alignment");
            tag(ptrs[i], object_size, i);
        }
        if (capacity >= count && round == 0)
            CHECK(held() == reserved, "mapped within the capacity (%zu objects of %zu)", count,
                  object_size);
        /* free half in random order, refill, check all */
        for (size_t i = 0; i < count; i++) {
            size_t j = rnd() % count;
            void *t = ptrs[i];
            ptrs[i] = ptrs[j];
            ptrs[j] = t;
        }
        /* tags follow the pointers: re-tag after the shuffle */
        for (size_t i = 0; i < count; i++)
            tag(ptrs[i], object_size, i + 7);
        for (size_t i = 0; i < count / 2; i++)
            pfree(pool, ptrs[i]);
        pool_stats_t st;
        pool_stats(pool, &st);
        CHECK(st.blocks == count - count / 2, "live %zu, expected %zu", st.blocks, count - count / 2);
        for (size_t i = 0; i < count / 2; i++) {
            ptrs[i] = palloc(pool, object_size);
            CHECK(ptrs[i] != NULL, "palloc after pfree");
            tag(ptrs[i], object_size, i + 7);
        }
        int bad = 0;
        for (size_t i = 0; i < count; i++)
            bad += !tag_ok(ptrs[i], object_size, i + 7);
        CHECK(bad == 0, "%d objects of %zu lost their tags", bad, object_size);
        /* distinct objects */
        for (size_t i = 1; i < count && i < 2000; i++)
            CHECK(ptrs[i] != ptrs[0], "object handed out twice");
        pool_clear(pool);
        pool_stats(pool, &st);
        CHECK(st.blocks == 0, "live after clear %zu", st.blocks);
    }
    pool_destroy(pool);
    pool_trim();
    CHECK(held() == before, "bytes held %zu after fixed pool of %zu, %zu before", held(),
          object_size, before);
}

static void case_fixed(void)
{
    fixed_one(1, 5000, 0);
    fixed_one(16, 20000, 0);
    fixed_one(24, 10000, 10000);
    fixed_one(64, 30000, 0);
    fixed_one(256, 5000, 5000);
    fixed_one(1000, 3000, 0);
    fixed_one(8192, 300, 300);
    fixed_one(100000, 40, 0);
    fixed_one(1 << 20, 10, 10);
    /* exhausting the reserve and going on */
    fixed_one(128, 3000, 100);
}

/* ---- tree --------------------------------------------------------------------- */

static char order[512];
static int order_len;
static void note(void *arg) { order[order_len++] = (char)(uintptr_t)arg; }
static pool_t *cleanup_target;
static void note_and_register(void *arg)
{
    note(arg);
    pool_cleanup_register(cleanup_target, note, (void *)(uintptr_t)'z');
}
/* A cleanup reads memory of its pool and of a sub-pool: still there. */
static char *kept_string;
static void read_string(void *arg)
{
    (void)arg;
    order[order_len++] = kept_string[0];
}

/* The pools' lines of allocator_dump (pool.c's mm_pool_report; the
 * library's allocator_dump prints them after the core's), collected. */
void mm_pool_report(void (*say)(const char *format, ...));
static char dump_text[1 << 16];
static size_t dump_length;

static void collect_line(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = vsnprintf(dump_text + dump_length, sizeof dump_text - dump_length, format, args);
    va_end(args);
    if (n > 0 && dump_length + (size_t)n + 1 < sizeof dump_text) {
        dump_length += (size_t)n;
        dump_text[dump_length++] = '\n';
        dump_text[dump_length] = '\0';
    }
}

static const char *dump_pools(void)
{
    dump_length = 0;
    dump_text[0] = '\0';
    mm_pool_report(collect_line);
    return dump_text;
}

/* allocator_dump lists every live pool by name, with its kind, parent and
 * memory, and forgets destroyed ones. */
static void check_dump(pool_t *root, pool_t *grandchild)
{
    const char *text = dump_pools();
    char line[256];
    snprintf(line, sizeof line, "pool %p grandchild       region", (void *)grandchild);
    CHECK(strstr(text, line) != NULL, "dump has no line for the grandchild: %s", text);
    snprintf(line, sizeof line, "child-b          fixed  %7d, parent %p", 48, (void *)root);
    CHECK(strstr(text, line) != NULL, "dump has no line for child-b: %s", text);
    CHECK(strstr(text, "pools: 4 live") != NULL, "dump's count: %s", text);
}

static void check_dump_empty(void)
{
    const char *text = dump_pools();
    CHECK(strstr(text, "pools: 0 live") != NULL && strstr(text, "child-a") == NULL,
          "destroyed pools still dumped: %s", text);
}

static void *destroy_pool(void *pool)
{
    pool_destroy(pool);
    return NULL;
}

/* A chain of 2000 sub-pools, each with a cleanup that checks it runs after
 * its parent's, destroyed on a thread with a 32 KiB stack: emptying a tree
 * takes constant stack, however deep it nests (a recursion per level
 * overflowed this stack). */
static int chain_next;
static void chain_note(void *depth)
{
    CHECK((int)(intptr_t)depth == chain_next, "cleanup of level %d ran at %d", (int)(intptr_t)depth,
          chain_next);
    chain_next++;
}

static void check_deep_tree(void)
{
    enum { DEPTH = 2000 };
    size_t before = held();
    pool_t *root = pool_create(NULL), *pool = root;
    pool_config_t config = POOL_CONFIG_DEFAULT;
    for (int level = 0; level < DEPTH && pool != NULL; level++) {
        config.parent = pool;
        pool = pool_create(&config);
        CHECK(pool != NULL && pool_cleanup_register(pool, chain_note, (void *)(intptr_t)level) == 0,
              "level %d", level);
        tag(palloc(pool, 48), 48, (uint64_t)level);
    }
    chain_next = 0;
    pthread_attr_t small;
    pthread_t thread;
    CHECK(pthread_attr_init(&small) == 0 && pthread_attr_setstacksize(&small, 32 << 10) == 0 &&
              pthread_create(&thread, &small, destroy_pool, root) == 0,
          "thread with a 32 KiB stack");
    pthread_join(thread, NULL);
    CHECK(chain_next == DEPTH, "%d of %d cleanups ran", chain_next, (int)DEPTH);
    pool_trim();
    CHECK(held() == before, "bytes held %zu after the chain, %zu before", held(), before);
}

static void case_tree(void)
{
    check_deep_tree();
    size_t before = held();
    pool_t *root = pool_create(NULL);
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.parent = root;
    config.name = "child-a";
    pool_t *a = pool_create(&config);
    config.name = "child-b";
    config.object_size = 48;
    pool_t *b = pool_create(&config);
    config.parent = a;
    config.object_size = 0;
    config.name = "grandchild";
    pool_t *aa = pool_create(&config);
    CHECK(root && a && b && aa, "create tree");
    CHECK(strcmp(pool_name(aa), "grandchild") == 0 && strcmp(pool_name(root), "") == 0, "names");
    CHECK(pool_parent(aa) == a && pool_parent(a) == root && pool_parent(root) == NULL, "parents");
    pool_stats_t st;
    pool_stats(root, &st);
    CHECK(st.subpools == 2, "subpools %zu", st.subpools);
    check_dump(root, aa);

    kept_string = pstrdup(aa, "g");
    pool_cleanup_register(root, note, (void *)(uintptr_t)'1');
    pool_cleanup_register(root, read_string, NULL);
    pool_cleanup_register(root, note, (void *)(uintptr_t)'2');
    pool_cleanup_register(a, note, (void *)(uintptr_t)'a');
    pool_cleanup_register(aa, note, (void *)(uintptr_t)'A');
    pool_cleanup_register(b, note, (void *)(uintptr_t)'b');
    cleanup_target = root;
    pool_cleanup_register(root, note_and_register, (void *)(uintptr_t)'3');
    /* many cleanups: beyond the first span's records */
    for (int i = 0; i < 200; i++)
        CHECK(pool_cleanup_register(b, note, (void *)(uintptr_t)'.') == 0, "register");
    CHECK(pool_cleanup_register(root, NULL, NULL) == -1 && errno == EINVAL, "NULL cleanup");

    order_len = 0;
    pool_clear(root);
    order[order_len] = 0;
    /* root's cleanups last first (3, then z registered by 3, 2, g read
     * from the grandchild, 1), then sub-pools: b (newest first) with its
     * 200 dots and b, then a: its sub-pool aa first? No: a's cleanups run
     * before a's sub-pools, so a, then A. */
    char expected[64 + 256];
    int n = snprintf(expected, sizeof expected, "3z2g1");
    for (int i = 0; i < 200; i++)
        expected[n++] = '.';
    n += snprintf(expected + n, sizeof expected - n, "baA");
    CHECK(order_len == n && memcmp(order, expected, n) == 0, "order %.*s", order_len, order);
    pool_stats(root, &st);
    CHECK(st.subpools == 0, "subpools after clear %zu", st.subpools);

    /* a sub-pool destroyed alone leaves its siblings and parent */
    config = POOL_CONFIG_DEFAULT;
    config.parent = root;
    pool_t *c1 = pool_create(&config), *c2 = pool_create(&config), *c3 = pool_create(&config);
    pool_destroy(c2);
    pool_stats(root, &st);
    CHECK(st.subpools == 2, "subpools %zu after destroying one", st.subpools);
    tag(palloc(c1, 100), 1, 1);
    tag(palloc(c3, 100), 1, 1);
    order_len = 0;
    pool_cleanup_register(c3, note, (void *)(uintptr_t)'x');
    pool_destroy(root);
    CHECK(order_len == 1 && order[0] == 'x', "cleanup of a sub-pool at destroy");
    check_dump_empty();
    pool_trim();
    CHECK(held() == before, "bytes held %zu after tree, %zu before", held(), before);
}

/* ---- cycles ------------------------------------------------------------------ */

static void case_cycles(void)
{
    size_t warm = 0, max = 0;
    for (int i = 0; i < 10000; i++) {
        pool_t *root = pool_create(NULL);
        pool_config_t config = POOL_CONFIG_DEFAULT;
        config.parent = root;
        pool_t *sub = pool_create(&config);
        config.object_size = 40;
        pool_t *objects = pool_create(&config);
        if (!root || !sub || !objects) {
            CHECK(0, "create in cycle %d", i);
            break;
        }
        for (int k = 0; k < 50; k++) {
            tag(palloc(root, 100), 100, 1);
            tag(palloc(sub, 300), 300, 1);
            void *o = palloc(objects, 40);
            tag(o, 40, 1);
            if (k & 1)
                pfree(objects, o);
        }
        pool_clear(root);
        tag(palloc(root, 20000), 20000, 1);
        pool_destroy(root);
        if (i == 99)
            warm = held();
        if (i > 99 && held() > max)
            max = held();
    }
    CHECK(max == warm, "bytes held grew from %zu (cycle 100) to %zu", warm, max);
    printf("FIGURES: cycles=10000 held-after-warmup=%zuKiB max=%zuKiB\n", warm >> 10, max >> 10);
}

/* ---- bad input ---------------------------------------------------------------- */

static pool_t *victim_pool;
static void *victim_ptr;
static void do_pfree(void *arg)
{
    (void)arg;
    pfree(victim_pool, victim_ptr);
}
static void do_destroy(void *arg)
{
    (void)arg;
    pool_destroy(victim_pool);
}
static void do_clear(void *arg)
{
    (void)arg;
    pool_clear(victim_pool);
}

static int aborted(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT; }

static void case_bad(void)
{
    pool_config_t config = POOL_CONFIG_DEFAULT;
    pool_t *region = pool_create(NULL);
    config.object_size = 64;
    pool_t *fixed = pool_create(&config);
    pool_t *fixed2 = pool_create(&config);

    /* palloc(0): a unique, freeable block */
    void *z1 = palloc(region, 0), *z2 = palloc(region, 0);
    CHECK(z1 && z2 && z1 != z2, "region palloc(0)");
    void *f1 = palloc(fixed, 0), *f2 = palloc(fixed, 0);
    CHECK(f1 && f2 && f1 != f2, "fixed palloc(0)");
    CHECK(pfree_checked(fixed, f1) == 0, "pfree of palloc(0)");
    /* above object_size, SIZE_MAX */
    errno = 0;
    CHECK(palloc(fixed, 65) == NULL && errno == EINVAL, "palloc above object_size");
    errno = 0;
    CHECK(palloc(fixed, SIZE_MAX) == NULL && errno == EINVAL, "fixed palloc(SIZE_MAX)");
    errno = 0;
    CHECK(palloc(region, SIZE_MAX) == NULL && errno == ENOMEM, "region palloc(SIZE_MAX)");
    errno = 0;
    CHECK(palloc(region, SIZE_MAX - 8) == NULL && errno == ENOMEM, "region palloc(SIZE_MAX-8)");
    errno = 0;
    CHECK(palloc(region, (size_t)1 << 47) == NULL && errno == ENOMEM, "region palloc(2^47)");
    CHECK(pcalloc(region, SIZE_MAX) == NULL, "pcalloc(SIZE_MAX)");
    /* pool still fine */
    void *ok = palloc(region, 100);
    CHECK(ok != NULL, "palloc after failures");
    pool_destroy(NULL);
    pool_clear(NULL);

    /* pfree into the wrong pool, interior, twice, never handed out */
    void *obj = palloc(fixed, 64);
    tag(obj, 64, 3);
    CHECK(pfree_checked(fixed2, obj) == -1, "pfree into another pool");
    CHECK(pfree_checked(fixed, (char *)obj + 16) == -1, "interior pointer");
    CHECK(pfree_checked(fixed, (char *)obj + 64 * 50) == -1, "object not carved yet");
    CHECK(pfree_checked(fixed, ok) == -1, "region block into a fixed pool");
    int on_stack;
    CHECK(pfree_checked(fixed, &on_stack) == -1, "stack pointer");
    CHECK(pfree_checked(fixed, (void *)16) == -1, "address 16");
    CHECK(tag_ok(obj, 64, 3), "refused pfrees changed the object");
    CHECK(pfree_checked(fixed, obj) == 0, "pfree");
    CHECK(pfree_checked(fixed, obj) == -1, "double pfree");
    CHECK(pfree_checked(region, ok) == 0, "region pfree_checked of its block");
    CHECK(pfree_checked(region, obj) == -1, "region pfree_checked of another pool's object");
    pfree(region, ok); /* nothing */
    /* unchecked: reported, the process aborts (hosted) */
    void *obj2 = palloc(fixed, 10);
    victim_pool = fixed2;
    victim_ptr = obj2;
    CHECK(aborted(in_child(do_pfree, NULL)), "pfree into the wrong pool did not abort");
    void *obj3 = palloc(fixed, 64);
    pfree(fixed, obj3);
    victim_pool = fixed;
    victim_ptr = obj3;
    CHECK(aborted(in_child(do_pfree, NULL)), "double pfree did not abort");
    victim_ptr = (char *)obj2 + 8;
    CHECK(aborted(in_child(do_pfree, NULL)), "interior pfree did not abort");
    /* the pool is intact: its objects are all distinct */
    void *a = palloc(fixed, 64), *b = palloc(fixed, 64);
    CHECK(a && b && a != b && a != obj2 && b != obj2, "pool after refused pfrees");

    /* destroyed pools */
    pool_t *dead = pool_create(NULL);
    pool_destroy(dead);
    config = POOL_CONFIG_DEFAULT;
    config.parent = dead;
    errno = 0;
    CHECK(pool_create(&config) == NULL && errno == EINVAL, "sub-pool of a destroyed pool");
    pool_stats_t st;
    errno = 0;
    CHECK(pool_stats(dead, &st) == -1 && errno == EINVAL, "stats of a destroyed pool");
    victim_pool = dead;
    CHECK(aborted(in_child(do_destroy, NULL)), "destroy of a destroyed pool did not abort");
    CHECK(aborted(in_child(do_clear, NULL)), "clear of a destroyed pool did not abort");
    victim_pool = (pool_t *)&on_stack;
    CHECK(aborted(in_child(do_destroy, NULL)), "destroy of a stack address did not abort");

    /* bad configs */
    pool_config_t bad[] = {
        {.cpu = -1, .numa_node = -1, .flags = 4},
        {.cpu = -1, .numa_node = -1, .flags = POOL_PER_CPU},
        {.cpu = -1, .numa_node = -1, .object_size = ((size_t)1 << 20) + 1},
        {.cpu = -1, .numa_node = -1, .capacity = 4096, .flags = POOL_SHARED | POOL_PER_CPU},
        {.cpu = -5, .numa_node = -1},
        {.cpu = -1, .numa_node = -7},
        {.cpu = 100000, .numa_node = -1},
        {.cpu = -1, .numa_node = 1000},
        {.cpu = -1, .numa_node = -1, .parent = (pool_t *)&on_stack},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        pool_t *p = pool_create(&bad[i]);
        CHECK(p == NULL && errno == EINVAL, "bad config %zu accepted (errno %d)", i, errno);
    }
    config = POOL_CONFIG_DEFAULT;
    config.capacity = SIZE_MAX;
    errno = 0;
    CHECK(pool_create(&config) == NULL && errno == ENOMEM, "region capacity SIZE_MAX");
    config.object_size = 100;
    errno = 0;
    CHECK(pool_create(&config) == NULL && errno == ENOMEM, "fixed capacity SIZE_MAX");
    /* a zeroed config with cpu and node -1 is a root region pool */
    pool_config_t zero;
    memset(&zero, 0, sizeof zero);
    zero.cpu = zero.numa_node = -1;
    pool_t *p = pool_create(&zero);
    CHECK(p != NULL && palloc(p, 100000) != NULL && pool_parent(p) == NULL, "zeroed config");
    pool_destroy(p);

    pool_destroy(region);
    pool_destroy(fixed);
    pool_destroy(fixed2);
}

/* ---- threads -------------------------------------------------------------------- */

#define MAX_THREADS 64
#define HANDOFF 64

struct handoff {
    pthread_mutex_t lock;
    void *ptrs[HANDOFF];
    uint64_t seeds[HANDOFF];
    int count;
};

static struct thread_ctx {
    pthread_t id;
    int index;
    struct handoff box;
} threads[MAX_THREADS];
static int nthreads, ops_per_thread;
static pool_t *shared_pool;
static size_t shared_size;
static atomic_int tag_errors, alloc_failures;

/* Allocate, tag, keep a few, hand some to the next thread; take what the
 * previous thread handed us, check and pfree it (cross-thread). */
static void *worker(void *arg)
{
    struct thread_ctx *self = arg;
    struct thread_ctx *next = &threads[(self->index + 1) % nthreads];
    enum { KEEP = 32 };
    void *mine[KEEP] = {0};
    uint64_t seed_of[KEEP];
    uint64_t seed = (uint64_t)self->index << 40;
    for (int op = 0; op < ops_per_thread; op++) {
        void *p = palloc(shared_pool, shared_size);
        if (p == NULL) {
            alloc_failures++;
            continue;
        }
        tag(p, shared_size, ++seed);
        int slot = op % KEEP;
        if (mine[slot] != NULL) {
            if (!tag_ok(mine[slot], shared_size, seed_of[slot]))
                tag_errors++;
            /* hand to the next thread, or free here */
            int handed = 0;
            if (op & 1) {
                pthread_mutex_lock(&next->box.lock);
                if (next->box.count < HANDOFF) {
                    next->box.ptrs[next->box.count] = mine[slot];
                    next->box.seeds[next->box.count++] = seed_of[slot];
                    handed = 1;
                }
                pthread_mutex_unlock(&next->box.lock);
            }
            if (!handed)
                pfree(shared_pool, mine[slot]);
        }
        mine[slot] = p;
        seed_of[slot] = seed;
        if ((op & 7) == 0) {
            pthread_mutex_lock(&self->box.lock);
            for (int i = 0; i < self->box.count; i++) {
                if (!tag_ok(self->box.ptrs[i], shared_size, self->box.seeds[i]))
                    tag_errors++;
                pfree(shared_pool, self->box.ptrs[i]);
            }
            self->box.count = 0;
            pthread_mutex_unlock(&self->box.lock);
        }
    }
    for (int i = 0; i < KEEP; i++)
        if (mine[i] != NULL) {
            if (!tag_ok(mine[i], shared_size, seed_of[i]))
                tag_errors++;
            pfree(shared_pool, mine[i]);
        }
    return NULL;
}

static void run_threads(pool_t *pool, size_t size, const char *label)
{
    shared_pool = pool;
    shared_size = size;
    tag_errors = alloc_failures = 0;
    for (int i = 0; i < nthreads; i++) {
        threads[i].index = i;
        threads[i].box.count = 0;
        pthread_mutex_init(&threads[i].box.lock, NULL);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_create(&threads[i].id, NULL, worker, &threads[i]);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i].id, NULL);
    /* what is left in the boxes */
    for (int i = 0; i < nthreads; i++)
        for (int k = 0; k < threads[i].box.count; k++) {
            if (!tag_ok(threads[i].box.ptrs[k], size, threads[i].box.seeds[k]))
                tag_errors++;
            pfree(pool, threads[i].box.ptrs[k]);
        }
    CHECK(tag_errors == 0, "%s: %d tag errors", label, (int)tag_errors);
    CHECK(alloc_failures == 0, "%s: %d palloc failures", label, (int)alloc_failures);
    pool_stats_t st;
    pool_stats(pool, &st);
    if (pool_name(pool)[0] == 'f')
        CHECK(st.blocks == 0, "%s: %zu objects live after every pfree", label, st.blocks);
}

static void case_threads(int n, int ops)
{
    nthreads = n;
    ops_per_thread = ops;
    size_t before = held();
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.flags = POOL_SHARED;
    config.object_size = 96;
    config.name = "fixed-shared";
    pool_t *pool = pool_create(&config);
    run_threads(pool, 96, "fixed shared");
    pool_destroy(pool);

    config.flags = POOL_SHARED | POOL_PER_CPU;
    config.name = "fixed-per-cpu";
    config.capacity = 1000;
    pool = pool_create(&config);
    run_threads(pool, 96, "fixed per-CPU");
    /* and again after a clear */
    pool_clear(pool);
    run_threads(pool, 96, "fixed per-CPU after clear");
    pool_destroy(pool);

    config = POOL_CONFIG_DEFAULT;
    config.flags = POOL_SHARED | POOL_PER_CPU;
    config.name = "region-per-cpu";
    pool = pool_create(&config);
    run_threads(pool, 200, "region per-CPU");
    pool_destroy(pool);
    config.flags = POOL_SHARED;
    config.name = "region-shared";
    pool = pool_create(&config);
    run_threads(pool, 200, "region shared");
    pool_destroy(pool);
    pool_trim();
    CHECK(held() == before, "bytes held %zu after the threads, %zu before", held(), before);
    printf("FIGURES: threads=%d ops/thread=%d\n", n, ops);
}

/* ---- placement ----------------------------------------------------------------- */

#define MPOL_BIND_MODE 2
#define MPOL_F_NODE_FLAG (1 << 0)
#define MPOL_F_ADDR_FLAG (1 << 1)

/* The node of the page at p: move_pages with no target nodes. */
static int kernel_node_of(void *p)
{
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)4095);
    int status = -100;
    if (syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0) != 0)
        return -100;
    return status;
}

/* The policy (mode) and the node get_mempolicy reports for address p. */
static void kernel_policy_of(void *p, int *mode, int *node)
{
    unsigned long mask[2] = {0, 0};
    *mode = -1;
    *node = -1;
    if (syscall(SYS_get_mempolicy, mode, mask, 128UL, p, (unsigned long)MPOL_F_ADDR_FLAG) != 0)
        *mode = -2;
    if (syscall(SYS_get_mempolicy, node, NULL, 0UL, p, (unsigned long)(MPOL_F_NODE_FLAG | MPOL_F_ADDR_FLAG)) != 0)
        *node = -2;
}

static void check_placed(pool_t *pool, size_t size, int node, const char *label)
{
    int pages = 0, right = 0, bound = 0;
    for (int i = 0; i < 64; i++) {
        char *p = palloc(pool, size);
        if (p == NULL) {
            CHECK(0, "%s: palloc", label);
            return;
        }
        memset(p, 1, size);
        int where = kernel_node_of(p), mode, policy_node;
        kernel_policy_of(p, &mode, &policy_node);
        pages++;
        right += where == node && policy_node == node;
        bound += mode == MPOL_BIND_MODE;
    }
    CHECK(right == pages, "%s: %d of %d pages on node %d", label, right, pages, node);
    CHECK(bound == pages, "%s: %d of %d pages bound (MPOL_BIND)", label, bound, pages);
    printf("FIGURES: %s: %d/%d pages on node %d (move_pages, get_mempolicy), %d bound\n", label,
           right, pages, node, bound);
}

/* The CPU that POOL_PER_CPU picks a cache by (platform/mapped.h): pinned to
 * each CPU it may run on, the thread must read that CPU's number, through
 * the rseq area where glibc registered one, else through sched_getcpu. */
static void check_cpu_hint(void)
{
    cpu_set_t allowed;
    CHECK(sched_getaffinity(0, sizeof allowed, &allowed) == 0, "sched_getaffinity");
    int checked = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        CHECK(sched_setaffinity(0, sizeof one, &one) == 0, "pin to cpu %d", cpu);
        CHECK(mm_prim_cpu_current() == cpu && sched_getcpu() == cpu, "cpu %d read as %d", cpu,
              mm_prim_cpu_current());
        checked++;
    }
    CHECK(sched_setaffinity(0, sizeof allowed, &allowed) == 0, "sched_setaffinity back");
    printf("FIGURES: cpu hint checked on %d CPUs, from %s\n", checked,
           mm_prim_table.rseq_cpu_offset != 0 ? "the rseq area" : "sched_getcpu");
}

static void case_placement(void)
{
    check_cpu_hint();
    int nodes = 0;
    for (int n = 0; n < 64; n++) {
        char path[64];
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d", n);
        if (access(path, F_OK) == 0)
            nodes = n + 1;
    }
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    printf("FIGURES: nodes=%d cpus=%ld\n", nodes, cpus);
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.numa_node = 0;
    pool_t *region = pool_create(&config);
    CHECK(region != NULL, "region pool on node 0");
    check_placed(region, 3000, 0, "region node 0");
    check_placed(region, 20000, 0, "region node 0 big blocks");
    config.object_size = 512;
    config.numa_node = -1;
    config.cpu = (int)cpus - 1;
    config.flags = POOL_SHARED | POOL_PER_CPU;
    pool_t *fixed = pool_create(&config);
    CHECK(fixed != NULL, "fixed pool for the last CPU");
    check_placed(fixed, 512, 0, "fixed cpu");
    /* a sub-pool inherits the placement */
    config = POOL_CONFIG_DEFAULT;
    config.parent = region;
    pool_t *sub = pool_create(&config);
    check_placed(sub, 1000, 0, "sub-pool");
    pool_destroy(region);
    pool_destroy(fixed);

    /* nodes and CPUs that do not exist */
    int bad_nodes[] = {nodes, nodes + 1, 63, 64, 1000, -2};
    for (size_t i = 0; i < sizeof bad_nodes / sizeof bad_nodes[0]; i++) {
        config = POOL_CONFIG_DEFAULT;
        config.numa_node = bad_nodes[i];
        errno = 0;
        CHECK(pool_create(&config) == NULL && errno == EINVAL, "node %d accepted", bad_nodes[i]);
    }
    int bad_cpus[] = {(int)cpus, (int)cpus + 1, 4096, -2};
    for (size_t i = 0; i < sizeof bad_cpus / sizeof bad_cpus[0]; i++) {
        config = POOL_CONFIG_DEFAULT;
        config.cpu = bad_cpus[i];
        config.object_size = 32;
        errno = 0;
        CHECK(pool_create(&config) == NULL && errno == EINVAL, "cpu %d accepted", bad_cpus[i]);
    }
}

/* ---- poison (ASan) ---------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
static volatile char sink;
static void read_after_clear(void *arg)
{
    (void)arg;
    pool_t *pool = pool_create(NULL);
    char *p = palloc(pool, 100);
    p[0] = 1;
    pool_clear(pool);
    sink = p[0];
}
static void read_after_pfree(void *arg)
{
    (void)arg;
    pool_config_t config = POOL_CONFIG_DEFAULT;
    config.object_size = 100;
    pool_t *pool = pool_create(&config);
    char *p = palloc(pool, 100);
    p[50] = 1;
    pfree(pool, p);
    sink = p[50];
}
static void read_past_block(void *arg)
{
    (void)arg;
    pool_t *pool = pool_create(NULL);
    char *p = palloc(pool, 20);
    sink = p[24];
}
static void read_after_destroy(void *arg)
{
    (void)arg;
    pool_t *pool = pool_create(NULL);
    char *p = palloc(pool, 100);
    pool_destroy(pool);
    sink = p[0];
}
static void clean_use(void *arg)
{
    (void)arg;
    pool_t *pool = pool_create(NULL);
    char *p = palloc(pool, 100);
    p[99] = 1;
    sink = p[99];
    pool_clear(pool);
    p = palloc(pool, 100);
    p[0] = 2;
    pool_destroy(pool);
}
static int asan_report(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 67; }
#endif

static void case_poison(void)
{
#if defined(__SANITIZE_ADDRESS__)
    setenv("ASAN_OPTIONS", "halt_on_error=1 exitcode=67 detect_leaks=0", 1);
    CHECK(asan_report(in_child(read_after_clear, NULL)), "a read after pool_clear not reported");
    CHECK(asan_report(in_child(read_after_pfree, NULL)), "a read after pfree not reported");
    CHECK(asan_report(in_child(read_past_block, NULL)), "a read past a block not reported");
    CHECK(asan_report(in_child(read_after_destroy, NULL)), "a read after pool_destroy not reported");
    int status = in_child(clean_use, NULL);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a clean use reported (status %d)", status);
#else
    printf("FIGURES: not an AddressSanitizer build: nothing to check\n");
#endif
}

int main(int argc, char **argv)
{
    const char *which = "";
    int n = 1, ops = 20000;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--case=", 7) == 0)
            which = argv[i] + 7;
        else if (strncmp(argv[i], "--threads=", 10) == 0)
            n = atoi(argv[i] + 10);
        else if (strncmp(argv[i], "--ops=", 6) == 0)
            ops = atoi(argv[i] + 6);
    }
    if (n < 1 || n > MAX_THREADS)
        n = 1;
    if (strcmp(which, "region") == 0)
        case_region();
    else if (strcmp(which, "fixed") == 0)
        case_fixed();
    else if (strcmp(which, "tree") == 0)
        case_tree();
    else if (strcmp(which, "cycles") == 0)
        case_cycles();
    else if (strcmp(which, "bad") == 0)
        case_bad();
    else if (strcmp(which, "threads") == 0)
        case_threads(n, ops);
    else if (strcmp(which, "placement") == 0)
        case_placement();
    else if (strcmp(which, "poison") == 0)
        case_poison();
    else {
        fprintf(stderr, "usage: pool_test --case=region|fixed|tree|cycles|bad|threads|placement|poison"
                        " [--threads=N] [--ops=N]\n");
        return 2;
    }
    return check_finish("pool_test");
}
