/*
 * checked: myfree_checked and the reporting of bad frees.
 *
 * myfree_checked(p) must return 0 and free a live block, and -1 changing
 * nothing for every other pointer: NULL (0), stack, static, code, a mapping
 * of the test's own, addresses outside the user address space, interior
 * pointers (p+1, p+8, p+16, p+4096 of large blocks), a second free (small,
 * large, aligned blocks; a block allocated on one thread and freed twice on
 * a third, with its owner alive and after it exited). After every -1 the
 * allocator must stay sound: allocator_verify() == 0, no block handed out
 * twice (a double free that got through shows as two equal pointers), and a
 * tagged malloc storm verifies.
 *
 * free()/myfree() of an interior pointer, of a stack address or a double free
 * must print a message to stderr and abort (checked in forked children).
 *
 * Linked with -lmymalloc.
 */
#include "api_test.h"

/* Bad frees are what this file is about. */
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#pragma GCC diagnostic ignored "-Wuse-after-free"

#include <pthread.h>
#include <mymalloc.h>

static int static_var;

/* The allocator is sound: verify passes and a tagged storm of blocks of the
 * sizes around `size` never hands out a block twice. */
static void check_sound(size_t size, const char *after)
{
    enum { N = 3000 };
    static unsigned char *b[N];
    static size_t bs[N];
    CHECKF(allocator_verify() == 0, "allocator_verify after %s", after);
    uint64_t r = size * 7 + 1;
    for (int i = 0; i < N; i++) {
        if ((i % 3 == 0 && size <= 65536) || i % 500 == 0)
            bs[i] = size;
        else
            bs[i] = api_rng(&r) % (i % 50 == 0 ? 300000 : 2048);
        b[i] = mymalloc(bs[i]);
        CHECKF(b[i] != NULL && api_aligned(b[i], api_min_align(bs[i])), "after %s", after);
        api_tag(b[i], bs[i] < 512 ? bs[i] : 512, (uintptr_t)i * 2654435761u);
    }
    for (int i = 0; i < N; i++) {
        CHECKF(api_tag_ok(b[i], bs[i] < 512 ? bs[i] : 512, (uintptr_t)i * 2654435761u),
               "block %d (size %zu) overwritten: a block handed out twice after %s", i, bs[i],
               after);
        CHECK(myfree_checked(b[i]) == 0);
    }
    CHECKF(allocator_verify() == 0, "allocator_verify after a storm after %s", after);
}

/* The double-free case: `p` was freed; it must never come back twice. */
static void check_not_duplicated(size_t size, const char *after)
{
    enum { N = 4096 };
    static void *b[N];
    int n = size > 100000 ? 64 : N;
    for (int i = 0; i < n; i++) {
        b[i] = mymalloc(size);
        CHECK(b[i] != NULL);
        size_t u = myusable_size(b[i]);
        api_tag(b[i], u < 64 ? u : 64, (uintptr_t)i);
    }
    for (int i = 0; i < n; i++) {
        size_t u = myusable_size(b[i]);
        CHECKF(api_tag_ok(b[i], u < 64 ? u : 64, (uintptr_t)i),
               "block %d of %zu bytes handed out twice after %s", i, size, after);
        myfree(b[i]);
    }
}

static void test_foreign(void)
{
    int local = 0;
    CHECK(myfree_checked(NULL) == 0);
    CHECK(myfree_checked(&local) == -1);
    CHECK(myfree_checked(&static_var) == -1);
    CHECK(myfree_checked((void *)test_foreign) == -1);
    CHECK(myfree_checked((void *)environ) == -1);
    unsigned char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    memset(m, 0x5a, 1 << 20);
    const size_t offs[] = {0, 16, 4096, 65536, (1 << 20) - 16};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++)
        CHECKF(myfree_checked(m + offs[i]) == -1, "mmap region + %zu", offs[i]);
    munmap(m, 1 << 20);
    /* Addresses no user mapping can have, and odd ones. */
    const uintptr_t odd[] = {16,
                             4096,
                             (uintptr_t)1 << 46,
                             ((uintptr_t)1 << 47) - 16,
                             (uintptr_t)1 << 47,
                             (uintptr_t)0xffff800000000000ull,
                             UINTPTR_MAX - 15,
                             (uintptr_t)0xdeadbeefdeadbee0ull};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        CHECKF(myfree_checked((void *)odd[i]) == -1, "address %#lx",
               (unsigned long)odd[i]);
    /* A live block's address with bits above the 48th set: the page map
     * looks up its low 48 bits and finds the block's own span, whose checks
     * must refuse it. */
    const size_t sizes[] = {16, 4096, 40000, 1 << 21};
    const uintptr_t high[] = {(uintptr_t)1 << 48, (uintptr_t)1 << 56, (uintptr_t)0xffffull << 48};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char *p = mymalloc(sizes[s]);
        CHECK(p != NULL);
        for (size_t h = 0; h < sizeof high / sizeof high[0]; h++) {
            void *alias = (void *)((uintptr_t)p | high[h]);
            CHECKF(myusable_size(alias) == 0, "usable size of %zu block | %#lx", sizes[s],
                   (unsigned long)high[h]);
            CHECKF(myfree_checked(alias) == -1, "%zu block | %#lx", sizes[s],
                   (unsigned long)high[h]);
        }
        CHECKF(myfree_checked(p) == 0, "the %zu block after its aliases were refused", sizes[s]);
    }
    check_sound(64, "foreign pointers");
    printf("ok myfree_checked: NULL 0; stack, static, code, mmap, wild -1\n");
}

static void test_interior_and_double(void)
{
    const size_t sizes[] = {0, 1, 16, 64, 100, 1000, 4096, 8000, 32768, 32769, 65536,
                            1 << 20, 5 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        /* Neighbours on both sides, so that the slab stays in use. */
        void *before = mymalloc(s), *after = NULL;
        unsigned char *p = mymalloc(s);
        after = mymalloc(s);
        CHECK(before && p && after);
        size_t u = myusable_size(p);
        CHECK(u >= s);
        api_tag(p, u, 77);
        size_t offs[] = {1, 8, 16, 32, 4096, 65536};
        for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
            if (offs[k] >= u)
                continue;
            CHECKF(myfree_checked(p + offs[k]) == -1, "interior p+%zu of a %zu block",
                   offs[k], s);
        }
        CHECKF(api_tag_ok(p, u, 77), "block of %zu changed by interior frees", s);
        CHECK(myusable_size(p) == u);
        CHECKF(myfree_checked(p) == 0, "live block of %zu", s);
        CHECKF(myfree_checked(p) == -1, "double free of a %zu block", s);
        CHECKF(myfree_checked(p) == -1, "third free of a %zu block", s);
        char what[64];
        snprintf(what, sizeof what, "double free of a %zu-byte block", s);
        check_not_duplicated(s, what);
        myfree(before);
        CHECK(myfree_checked(after) == 0);
        CHECK(myfree_checked(after) == -1);
        check_sound(s, what);
    }
    printf("ok myfree_checked: interior -1, live 0, double -1 (0 .. 5 MiB)\n");
}

static void test_aligned_blocks(void)
{
    for (int k = 4; k <= 22; k += 3) {
        size_t a = (size_t)1 << k;
        const size_t sizes[] = {10, a, 3 * a};
        for (int i = 0; i < 3; i++) {
            if (sizes[i] > 16 * API_MIB)
                continue;
            unsigned char *p = myaligned_alloc(a, sizes[i]);
            CHECK(p != NULL && api_aligned(p, a));
            if (sizes[i] > 16)
                CHECK(myfree_checked(p + 16) == -1);
            if (sizes[i] > 4096)
                CHECK(myfree_checked(p + 4096) == -1);
            CHECKF(myfree_checked(p) == 0, "myaligned_alloc(%zu, %zu)", a, sizes[i]);
            CHECKF(myfree_checked(p) == -1, "double free of myaligned_alloc(%zu, %zu)", a,
                   sizes[i]);
        }
    }
    check_sound(4096, "aligned double frees");
    printf("ok myfree_checked on myaligned_alloc blocks\n");
}

/* ---- cross-thread double frees ------------------------------------------ */

struct owner {
    size_t size;
    int count;
    void **blocks;
    pthread_barrier_t *hold; /* NULL: exit at once */
};

static void *owner_main(void *arg)
{
    struct owner *o = arg;
    for (int i = 0; i < o->count; i++) {
        o->blocks[i] = mymalloc(o->size);
        CHECK(o->blocks[i] != NULL);
        api_tag(o->blocks[i], o->size < 64 ? o->size : 64, (uintptr_t)i);
    }
    if (o->hold) {
        pthread_barrier_wait(o->hold); /* blocks handed over */
        pthread_barrier_wait(o->hold); /* the third thread is done */
    }
    return NULL;
}

struct freer {
    size_t size;
    int count;
    void **blocks;
};

static void *freer_main(void *arg)
{
    struct freer *f = arg;
    size_t n = f->size < 64 ? f->size : 64;
    for (int i = 0; i < f->count; i++) {
        CHECK(api_tag_ok(f->blocks[i], n, (uintptr_t)i));
        CHECKF(myfree_checked(f->blocks[i]) == 0, "remote free of a live %zu block",
               f->size);
    }
    for (int i = 0; i < f->count; i++)
        CHECKF(myfree_checked(f->blocks[i]) == -1, "remote double free of a %zu block #%d",
               f->size, i);
    /* Interior pointers of remote blocks too (freed ones now). */
    for (int i = 0; i < f->count; i++)
        CHECK(myfree_checked((char *)f->blocks[i] + 16) == -1);
    CHECK(allocator_verify() == 0);
    return NULL;
}

static void test_cross_thread(void)
{
    const size_t sizes[] = {16, 64, 200, 3000, 40000, 1 << 20};
    for (int alive = 1; alive >= 0; alive--) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            enum { COUNT = 100 };
            void *blocks[COUNT];
            int count = sizes[i] > 100000 ? 8 : COUNT;
            pthread_barrier_t hold;
            pthread_barrier_init(&hold, NULL, 2);
            struct owner o = {sizes[i], count, blocks, alive ? &hold : NULL};
            pthread_t a, c;
            CHECK(pthread_create(&a, NULL, owner_main, &o) == 0);
            if (alive)
                pthread_barrier_wait(&hold);
            else
                CHECK(pthread_join(a, NULL) == 0);
            struct freer f = {sizes[i], count, blocks};
            CHECK(pthread_create(&c, NULL, freer_main, &f) == 0);
            CHECK(pthread_join(c, NULL) == 0);
            /* And from this (a second foreign) thread: still -1. */
            for (int k = 0; k < count; k++)
                CHECK(myfree_checked(blocks[k]) == -1);
            if (alive) {
                pthread_barrier_wait(&hold);
                CHECK(pthread_join(a, NULL) == 0);
            }
            pthread_barrier_destroy(&hold);
            char what[96];
            snprintf(what, sizeof what, "cross-thread double frees of %zu-byte blocks (%s)",
                     sizes[i], alive ? "owner alive" : "owner exited");
            check_not_duplicated(sizes[i], what);
            check_sound(sizes[i], what);
        }
    }
    printf("ok myfree_checked: allocated on A, freed twice on C -> 0, -1 (owner alive, "
           "exited)\n");
}

/* ---- free()/myfree() of bad pointers abort ------------------------------ */

static void child_free_interior(void *arg)
{
    char *p = malloc(64);
    memset(p, 0, 64);
    free(p + 16);
    (void)arg;
}
static void child_myfree_interior_large(void *arg)
{
    char *p = mymalloc(1 << 20);
    myfree(p + 4096);
    (void)arg;
}
static void child_free_double(void *arg)
{
    void *keep = malloc(64), *p = malloc(64);
    free(p);
    free(p);
    (void)arg;
    (void)keep;
}
static void child_myfree_double_large(void *arg)
{
    void *p = mymalloc(1 << 20);
    myfree(p);
    myfree(p);
    (void)arg;
}
static void child_free_stack(void *arg)
{
    int local[8] = {0};
    free(&local[4]);
    (void)arg;
}

static void test_abort(void)
{
    const struct {
        void (*fn)(void *);
        const char *what;
    } cases[] = {{child_free_interior, "free(p + 16)"},
                 {child_myfree_interior_large, "myfree(large p + 4096)"},
                 {child_free_double, "free(p); free(p)"},
                 {child_myfree_double_large, "myfree twice of a 1 MiB block"},
                 {child_free_stack, "free(stack address)"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int st = api_in_child(cases[i].fn, NULL, 20, &err);
        CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "%s: child ended with %s, not SIGABRT",
               cases[i].what, api_status_str(st));
        CHECKF(strlen(err) > 0, "%s: aborted without a message on stderr", cases[i].what);
        printf("  %s: SIGABRT, stderr: %.*s\n", cases[i].what, (int)strcspn(err, "\n"), err);
        free(err);
    }
    printf("ok free/myfree of bad pointers: message + SIGABRT\n");
}

int main(void)
{
    test_foreign();
    test_interior_and_double();
    test_aligned_blocks();
    test_cross_thread();
    test_abort();
    CHECK(allocator_verify() == 0);
    printf("checked: all checks passed\n");
    return 0;
}
