/*
 * core: the core API of include/mymalloc.h as its comments specify it:
 * mymalloc (sizes 0 .. 8 MiB, 16-byte alignment, page alignment above
 * 32 KiB, unique mymalloc(0), NULL + ENOMEM above 2^46), mycalloc (zeroed,
 * also when memory is reused; overflow), myrealloc (NULL, size 0, contents,
 * keeps the block when it is big enough and not more than twice too big,
 * failure leaves the block intact), myaligned_alloc (every power of two to
 * 2^32, NULL for other alignments), myusable_size (at least the size, the
 * whole of it writable, 0 for pointers that are not a live block's start).
 *
 * Linked with -lmymalloc.
 */
#include "api_test.h"

/* A failed realloc leaves the old block valid: using it after is the test. */
#pragma GCC diagnostic ignored "-Wuse-after-free"

#include <mymalloc.h>

static int static_var;

static void check_block(void *p, size_t size, size_t align)
{
    CHECKF(p != NULL, "size %zu", size);
    if (align < api_min_align(size))
        align = api_min_align(size);
    CHECKF(api_aligned(p, align), "%p (size %zu) not %zu-aligned", p, size, align);
    CHECKF(myusable_size(p) >= size, "myusable_size %zu < size %zu", myusable_size(p),
           size);
}

static void test_sizes(void)
{
    /* Every size to 4200 and sizes around each power of two to 8 MiB, a few
     * hundred live at once, every usable byte tagged. */
    enum { LIVE = 256 };
    static unsigned char *b[LIVE];
    static size_t bs[LIVE];
    size_t count = 0;
    for (size_t s = 0;; s++) {
        size_t size;
        if (s <= 4200)
            size = s;
        else {
            size_t k = s - 4201, p2 = (size_t)8192 << (k / 5);
            if (p2 > 8 * API_MIB)
                break;
            const long d[] = {-17, -1, 0, 1, 4097};
            size = p2 + (size_t)d[k % 5];
        }
        size_t slot = count++ % LIVE;
        if (b[slot]) {
            CHECKF(api_tag_ok(b[slot], myusable_size(b[slot]), bs[slot]),
                   "block of size %zu overwritten", bs[slot]);
            myfree(b[slot]);
        }
        b[slot] = mymalloc(size);
        check_block(b[slot], size, 16);
        bs[slot] = size;
        api_tag(b[slot], myusable_size(b[slot]), size);
    }
    /* 32768 is the last size that need not be page-aligned: above is. */
    for (int i = 0; i < 50; i++) {
        void *p = mymalloc(API_LARGE + 1 + (size_t)i * 1000);
        check_block(p, API_LARGE + 1 + (size_t)i * 1000, API_PAGE);
        myfree(p);
    }
    for (size_t i = 0; i < LIVE; i++) {
        CHECK(api_tag_ok(b[i], myusable_size(b[i]), bs[i]));
        myfree(b[i]);
    }
    myfree(NULL);
    printf("ok mymalloc: %zu sizes 0 .. 8 MiB, aligned, usable size writable\n", count);
}

static void test_zero_and_absurd(void)
{
    enum { N = 3000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = mymalloc(0);
        check_block(p[i], 0, 16);
    }
    api_check_unique(p, N, "mymalloc(0)");
    for (int i = 0; i < N; i++)
        CHECK(myfree_checked(p[i]) == 0);

    const size_t absurd[] = {SIZE_MAX,         SIZE_MAX - 4095, SIZE_MAX / 2,
                             (size_t)1 << 63,  (size_t)1 << 50, (size_t)1 << 47,
                             ((size_t)1 << 46) + 1};
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
        errno = 0;
        void *q = mymalloc(absurd[i]);
        CHECKF(q == NULL && errno == ENOMEM, "mymalloc(%zu) = %p errno %d", absurd[i], q,
               errno);
        errno = 0;
        q = mycalloc(absurd[i], 1);
        CHECKF(q == NULL && errno == ENOMEM, "mycalloc(%zu, 1) = %p errno %d", absurd[i], q,
               errno);
        errno = 0;
        q = myaligned_alloc(4096, absurd[i]);
        CHECKF(q == NULL && errno == ENOMEM, "myaligned_alloc(4096, %zu) = %p errno %d",
               absurd[i], q, errno);
    }
    printf("ok mymalloc(0) x %d unique; absurd sizes NULL + ENOMEM\n", N);
}

static void test_calloc(void)
{
    const size_t sizes[] = {0, 1, 15, 16, 48, 100, 512, 2000, 4096, 5000, 32768, 32769,
                            100000, 1 << 20, (1 << 20) + 1, 5 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        /* Leave dirty blocks of this size behind, then ask for zeroes. */
        for (int round = 0; round < 2; round++) {
            unsigned char *d[6];
            for (int k = 0; k < 6; k++) {
                d[k] = mymalloc(s);
                check_block(d[k], s, 16);
                memset(d[k], 0xee, myusable_size(d[k]));
            }
            for (int k = 0; k < 6; k++)
                myfree(d[k]);
            for (int k = 0; k < 6; k++) {
                d[k] = k & 1 ? mycalloc(s, 1) : mycalloc(1, s);
                check_block(d[k], s, 16);
                for (size_t j = 0; j < s; j++)
                    CHECKF(d[k][j] == 0, "mycalloc(%zu) byte %zu = 0x%x", s, j, d[k][j]);
            }
            for (int k = 0; k < 6; k++)
                myfree(d[k]);
        }
    }
    /* n * size spread over both arguments. */
    int *v = mycalloc(1000, sizeof(int));
    check_block(v, 1000 * sizeof(int), 16);
    for (int i = 0; i < 1000; i++)
        CHECK(v[i] == 0);
    myfree(v);
    /* Overflowing products, some that wrap to small numbers. */
    const size_t ovf[][2] = {{(size_t)1 << 32, (size_t)1 << 32},
                             {((size_t)1 << 63) + 1, 2},
                             {SIZE_MAX, SIZE_MAX},
                             {3, SIZE_MAX / 2},
                             {(size_t)1 << 40, (size_t)1 << 25}};
    for (size_t i = 0; i < sizeof ovf / sizeof ovf[0]; i++) {
        errno = 0;
        void *p = mycalloc(ovf[i][0], ovf[i][1]);
        CHECKF(p == NULL && errno == ENOMEM, "mycalloc(%zu, %zu) = %p", ovf[i][0], ovf[i][1],
               p);
    }
    printf("ok mycalloc: zeroed after reuse, overflow -> NULL\n");
}

static void test_realloc(void)
{
    /* NULL: mymalloc. */
    unsigned char *p = myrealloc(NULL, 100);
    check_block(p, 100, 16);
    /* Size 0: frees and returns NULL (a second free is detected). */
    CHECK(myrealloc(p, 0) == NULL);
    CHECKF(myfree_checked(p) == -1, "myrealloc(p, 0) did not free p");
    void *big = mymalloc(API_MIB);
    CHECK(myrealloc(big, 0) == NULL);
    CHECKF(myfree_checked(big) == -1, "myrealloc(big, 0) did not free it");

    /* Contents survive any chain of sizes. */
    const size_t chain[] = {1,       24,    100,    1000,     4000,     4097,
                            32768,   32769, 300000, 2 << 20,  (2 << 20) + 4096,
                            7 << 20, 50000, 40000,  33000,    1000,
                            17,      0x3000, 1 << 20, 10};
    size_t old = 0;
    p = NULL;
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        size_t n = chain[i];
        unsigned char *q = myrealloc(p, n);
        check_block(q, n, 16);
        size_t keep = old < n ? old : n;
        CHECKF(!p || api_tag_ok(q, keep, i), "myrealloc %zu -> %zu lost data", old, n);
        api_tag(q, n, i + 1);
        p = q;
        old = n;
    }
    myfree(p);

    /* Kept in place when big enough and not more than twice too big. */
    const size_t sz[] = {16, 100, 1000, 3000, 20000, 100000, 1 << 20};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
        p = mymalloc(sz[i]);
        check_block(p, sz[i], 16);
        size_t u = myusable_size(p);
        api_tag(p, u, 1);
        CHECKF(myrealloc(p, u) == p, "myrealloc to the usable size %zu moved", u);
        /* 5/8 of the usable size: well within "not more than twice too big"
         * (the exact boundary, usable == 2 * size, is left open). */
        size_t smaller = u / 2 + u / 8 + 1;
        CHECKF(myrealloc(p, smaller) == p, "myrealloc %zu -> %zu (usable %zu) moved", sz[i],
               smaller, u);
        CHECK(api_tag_ok(p, smaller, 1));
        CHECK(myusable_size(p) >= smaller);
        myfree(p);
    }

    /* Failure: NULL + ENOMEM, block intact and still live. */
    const size_t sizes[] = {100, 5000, 1 << 20};
    for (size_t i = 0; i < 3; i++) {
        p = mymalloc(sizes[i]);
        check_block(p, sizes[i], 16);
        api_tag(p, sizes[i], 9);
        errno = 0;
        CHECK(myrealloc(p, (size_t)1 << 47) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(myrealloc(p, SIZE_MAX) == NULL && errno == ENOMEM);
        CHECK(api_tag_ok(p, sizes[i], 9));
        CHECK(myusable_size(p) >= sizes[i]);
        CHECK(myfree_checked(p) == 0);
    }
    printf("ok myrealloc: NULL, 0, contents, in place within 2x, failure intact\n");
}

/* Blocks of several sizes kept live while aligned blocks come and go: a
 * new block must never overlap one of them. */
enum { KEEP = 24 };
static unsigned char *keep[KEEP];
static size_t keep_size[KEEP];

static void check_apart(const void *p, size_t n, const char *what)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + (n ? n : 1);
    for (int k = 0; k < KEEP; k++) {
        uintptr_t klo = (uintptr_t)keep[k], khi = klo + (keep_size[k] ? keep_size[k] : 1);
        CHECKF(hi <= klo || khi <= lo, "%s = %p (%zu bytes) overlaps the live block %p of %zu",
               what, p, n, (void *)keep[k], keep_size[k]);
    }
}

static void test_aligned(void)
{
    const size_t keep_sizes[] = {0, 8, 16, 100, 4000, 40000};
    for (int k = 0; k < KEEP; k++) {
        keep_size[k] = keep_sizes[k % 6];
        keep[k] = mymalloc(keep_size[k]);
        check_block(keep[k], keep_size[k], 16);
        api_tag(keep[k], keep_size[k], 500 + k);
    }
    /* API_ALIGN_MAX_LOG2 (default 32): the largest alignment tried, for the
     * real-time library, whose arena must hold two blocks of each alignment
     * (tests/rtmode/register.sh). */
    const char *max_env = getenv("API_ALIGN_MAX_LOG2");
    int max_log2 = max_env != NULL ? atoi(max_env) : 32;
    CHECKF(max_log2 >= 12 && max_log2 <= 32, "API_ALIGN_MAX_LOG2=%s", max_env);
    for (int k = 0; k <= max_log2; k++) {
        size_t a = (size_t)1 << k;
        const size_t sizes[] = {0, 1, 100, a, a + 1, 3 * a - 1};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t s = sizes[i];
            if (s > 8 * API_MIB)
                continue;
            void *p = myaligned_alloc(a, s);
            check_block(p, s, a);
            CHECKF(api_aligned(p, a), "myaligned_alloc(%zu, %zu) = %p", a, s, p);
            /* The size and a little of the usable slack beyond it. */
            size_t np = myusable_size(p) < s + 64 ? myusable_size(p) : s + 64;
            api_tag(p, np, a + s);
            /* A second one live at the same time, then both verified. */
            void *q = myaligned_alloc(a, s);
            check_block(q, s, a);
            CHECKF(api_aligned(q, a), "myaligned_alloc(%zu, %zu) = %p", a, s, q);
            size_t nq = myusable_size(q) < s + 64 ? myusable_size(q) : s + 64;
            char what[64];
            snprintf(what, sizeof what, "myaligned_alloc(%zu, %zu)", a, s);
            check_apart(p, s, what);
            check_apart(q, s, what);
            CHECKF((uintptr_t)p + (s ? s : 1) <= (uintptr_t)q ||
                       (uintptr_t)q + (s ? s : 1) <= (uintptr_t)p,
                   "%s twice: %p and %p overlap", what, p, q);
            api_tag(q, nq, a + s + 1);
            CHECK(api_tag_ok(p, np, a + s));
            CHECK(api_tag_ok(q, nq, a + s + 1));
            CHECK(myfree_checked(p) == 0);
            myfree(q);
        }
    }
    for (int k = 0; k < KEEP; k++) {
        CHECKF(api_tag_ok(keep[k], keep_size[k], 500 + k), "kept block of %zu damaged",
               keep_size[k]);
        CHECK(myfree_checked(keep[k]) == 0);
    }
    /* Not a power of two: NULL. */
    const size_t bad[] = {0, 3, 6, 12, 24, 48, 100, 4095, 4097, 12288, ((size_t)1 << 30) + 1,
                          SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(myaligned_alloc(bad[i], 64) == NULL, "myaligned_alloc(%zu, 64) not NULL",
               bad[i]);
    /* size + alignment beyond 2^46: NULL. */
    CHECK(myaligned_alloc((size_t)1 << 46, 64) == NULL);
    CHECK(myaligned_alloc((size_t)1 << 45, ((size_t)1 << 45) + 4096) == NULL);
    /* Realloc of an aligned block keeps the contents. */
    unsigned char *p = myaligned_alloc(4096, 5000);
    check_block(p, 5000, 4096);
    api_tag(p, 5000, 4);
    p = myrealloc(p, 70000);
    check_block(p, 70000, 16);
    CHECK(api_tag_ok(p, 5000, 4));
    myfree(p);
    printf("ok myaligned_alloc: 2^0 .. 2^%d, bad alignments NULL\n", max_log2);
}

static void test_usable_size(void)
{
    int local = 0;
    CHECK(myusable_size(NULL) == 0);
    CHECK(myusable_size(&local) == 0);
    CHECK(myusable_size(&static_var) == 0);
    CHECK(myusable_size((void *)test_usable_size) == 0);
    unsigned char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    CHECK(m != MAP_FAILED);
    CHECK(myusable_size(m) == 0);
    CHECK(myusable_size(m + 4096) == 0);
    CHECK(myusable_size(m + 16) == 0);
    munmap(m, 1 << 20);

    const size_t sizes[] = {1, 64, 1000, 4096, 40000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = mymalloc(sizes[i]);
        check_block(p, sizes[i], 16);
        size_t u = myusable_size(p);
        /* Interior pointers are not a block's start. */
        CHECKF(myusable_size(p + 8) == 0, "myusable_size(p + 8), size %zu", sizes[i]);
        CHECKF(myusable_size(p + 16) == 0, "myusable_size(p + 16), size %zu", sizes[i]);
        if (u > 4096)
            CHECKF(myusable_size(p + 4096) == 0, "myusable_size(p + 4096), size %zu",
                   sizes[i]);
        /* The usable size is stable. */
        CHECK(myusable_size(p) == u);
        myfree(p);
    }
    printf("ok myusable_size: 0 for NULL, stack, static, code, mmap, interior\n");
}

/* The header: "0 for NULL or a pointer that is not a live block's start". */
static void test_usable_size_freed(void)
{
    const size_t sizes[] = {64, 1000, 40000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *keep = mymalloc(sizes[i]); /* keeps the slab from going away */
        void *p = mymalloc(sizes[i]);
        check_block(p, sizes[i], 16);
        myfree(p);
        CHECKF(myusable_size(p) == 0, "myusable_size of a freed block of %zu = %zu",
               sizes[i], myusable_size(p));
        myfree(keep);
    }
    printf("ok myusable_size: 0 for freed blocks\n");
}

int main(void)
{
    CHECK(allocator_init(1) == 0);
    test_sizes();
    test_zero_and_absurd();
    test_calloc();
    test_realloc();
    test_aligned();
    test_usable_size();
    test_usable_size_freed();
    CHECK(allocator_verify() == 0);
    printf("core: all checks passed\n");
    return 0;
}
