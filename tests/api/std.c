/*
 * std: the standard malloc family exported by the hosted library, with
 * glibc's semantics: malloc/free/calloc/realloc/reallocarray, the aligned
 * allocators (posix_memalign, aligned_alloc, memalign, valloc, pvalloc),
 * malloc_usable_size, C23 free_sized/free_aligned_sized, mallinfo2/mallinfo,
 * malloc_trim, mallopt, malloc_stats; errno and NULL on failure, overflow
 * checks, alignment up to 1 GiB, contents kept across realloc.
 *
 * A plain program: run it with LD_PRELOAD=build/libmymalloc.so (or link it
 * with -lmymalloc) and --expect=mymalloc (the default). With --expect=glibc
 * (nothing preloaded) or --expect=jemalloc (jemalloc preloaded) it checks
 * the same things except where mymalloc's contract is stricter than glibc
 * 2.36 (EINVAL for non-power-of-two alignments, free_sized) or jemalloc
 * differs (realloc(p, 0), mallinfo2 of a foreign allocator).
 */
#include "api_test.h"

/* A failed realloc leaves the old block valid: using it after is the test. */
#pragma GCC diagnostic ignored "-Wuse-after-free"

#include <malloc.h>

static enum api_alloc alloc;
static struct api_my my;
static size_t page;

/* Every block handed out by the tests below goes through here. */
static void check_block(void *p, size_t size, size_t align)
{
    CHECKF(p != NULL, "size %zu", size);
    align = api_want_align(alloc == API_MYMALLOC, size, align);
    CHECKF(api_aligned(p, align), "%p (size %zu) not %zu-aligned", p, size, align);
    CHECKF(malloc_usable_size(p) >= size, "usable %zu < size %zu",
           malloc_usable_size(p), size);
    if (alloc == API_MYMALLOC)
        CHECKF(my.myusable_size(p) == malloc_usable_size(p),
               "myusable_size %zu != malloc_usable_size %zu", my.myusable_size(p),
               malloc_usable_size(p));
}

static void test_malloc_sizes(void)
{
    enum { N = 600 };
    static void *blocks[N];
    static size_t sizes[N];
    size_t n = 0;
    /* Every size to 1100, then around powers of two up to 8 MiB. */
    for (size_t s = 0; s <= 1100 && n < N; s += (s < 300 ? 1 : 7))
        sizes[n++] = s;
    for (size_t p2 = 2048; p2 <= 8 * API_MIB && n + 3 <= N; p2 *= 2) {
        sizes[n++] = p2 - 1;
        sizes[n++] = p2;
        sizes[n++] = p2 + 1;
    }
    for (size_t i = 0; i < n; i++) {
        blocks[i] = malloc(sizes[i]);
        check_block(blocks[i], sizes[i], 1);
        /* The whole usable size is the caller's. */
        api_tag(blocks[i], malloc_usable_size(blocks[i]), i);
    }
    for (size_t i = 0; i < n; i++) {
        CHECKF(api_tag_ok(blocks[i], malloc_usable_size(blocks[i]), i),
               "block %zu of size %zu overwritten", i, sizes[i]);
        free(blocks[i]);
    }
    free(NULL);
    CHECK(malloc_usable_size(NULL) == 0);
    printf("ok malloc sizes (%zu sizes, 0 .. 8 MiB + 1)\n", n);
}

static void test_malloc_zero(void)
{
    enum { N = 2000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = malloc(0);
        CHECKF(p[i] != NULL, "malloc(0) #%d", i);
        CHECK(api_aligned(p[i], 16) || alloc != API_MYMALLOC);
    }
    api_check_unique(p, N, "malloc(0)");
    for (int i = 0; i < N; i++)
        free(p[i]);
    printf("ok malloc(0): %d unique pointers\n", N);
}

static void expect_enomem(void *p, const char *what, size_t size)
{
    CHECKF(p == NULL, "%s(%zu) should fail", what, size);
    CHECKF(errno == ENOMEM, "%s(%zu): errno %d, want ENOMEM", what, size, errno);
}

static void test_absurd_sizes(void)
{
    const size_t sizes[] = {SIZE_MAX,
                            SIZE_MAX - 4096,
                            SIZE_MAX - 15,
                            SIZE_MAX / 2,
                            SIZE_MAX / 2 + 1,
                            (size_t)1 << 63,
                            (size_t)1 << 62,
                            (size_t)1 << 48,
                            (size_t)1 << 47,
                            ((size_t)1 << 46) + 1};
    void *keep = malloc(64);
    api_tag(keep, 64, 7);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        if (s < ((size_t)1 << 48) && alloc != API_MYMALLOC)
            continue; /* jemalloc reserves 64 TiB happily; the 2^46 limit is ours */
        errno = 0;
        expect_enomem(malloc(s), "malloc", s);
        errno = 0;
        expect_enomem(calloc(1, s), "calloc(1, size)", s);
        errno = 0;
        expect_enomem(calloc(s, 1), "calloc(size, 1)", s);
        errno = 0;
        expect_enomem(aligned_alloc(64, s), "aligned_alloc(64, size)", s);
        void *q = (void *)0x1;
        errno = 0;
        CHECKF(posix_memalign(&q, 4096, s) == ENOMEM, "posix_memalign(4096, %zu)", s);
        /* Failure realloc: NULL, ENOMEM, old block intact and still ours
         * (jemalloc 5.3 leaves errno alone here). */
        errno = 0;
        void *r = realloc(keep, s);
        if (alloc != API_JEMALLOC)
            expect_enomem(r, "realloc(p, size)", s);
        CHECK(r == NULL && api_tag_ok(keep, 64, 7));
        errno = 0;
        r = reallocarray(keep, s, 1);
        if (alloc != API_JEMALLOC)
            expect_enomem(r, "reallocarray(p, size, 1)", s);
        CHECK(r == NULL && api_tag_ok(keep, 64, 7));
    }
    /* Fails, so the old block is ours to grow and free. */
    keep = realloc(keep, 100000);
    CHECK(keep != NULL && api_tag_ok(keep, 64, 7));
    free(keep);
    /* The allocator still works after the failures. */
    void *p = malloc(1000);
    check_block(p, 1000, 1);
    free(p);
    printf("ok absurd sizes: NULL + ENOMEM, realloc leaves the block intact\n");
}

static void test_calloc(void)
{
    /* Dirty memory first, so that calloc must clear reused blocks. */
    const size_t sizes[] = {1, 8, 16, 24, 100, 1000, 4000, 4096, 20000, 40000,
                            200000, 1 << 20, 3 << 20};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NS; i++) {
            unsigned char *d[8];
            for (int k = 0; k < 8; k++) {
                d[k] = malloc(sizes[i]);
                CHECK(d[k] != NULL);
                memset(d[k], 0xa5, malloc_usable_size(d[k]));
            }
            for (int k = 0; k < 8; k++)
                free(d[k]);
            for (int k = 0; k < 8; k++) {
                /* count * size split two ways */
                d[k] = k & 1 ? calloc(sizes[i], 1) : calloc(1, sizes[i]);
                check_block(d[k], sizes[i], 1);
                for (size_t b = 0; b < sizes[i]; b++)
                    CHECKF(d[k][b] == 0, "calloc(%zu) byte %zu = 0x%x", sizes[i], b,
                           d[k][b]);
            }
            for (int k = 0; k < 8; k++)
                free(d[k]);
        }
    }
    void *z = calloc(0, 0);
    CHECK(z != NULL);
    free(z);
    /* Products that overflow size_t, some wrapping to tiny numbers. */
    const size_t ovf[][2] = {{(size_t)1 << 32, (size_t)1 << 32}, /* 2^64 -> 0 */
                             {((size_t)1 << 63) + 1, 2},          /* -> 2 */
                             {SIZE_MAX, SIZE_MAX},                /* -> 1 */
                             {SIZE_MAX / 2 + 2, 2},               /* -> 2 */
                             {(size_t)1 << 33, ((size_t)1 << 31) + 1}};
    for (size_t i = 0; i < sizeof ovf / sizeof ovf[0]; i++) {
        errno = 0;
        void *p = calloc(ovf[i][0], ovf[i][1]);
        CHECKF(p == NULL && errno == ENOMEM, "calloc(%zu, %zu) = %p errno %d", ovf[i][0],
               ovf[i][1], p, errno);
        void *keep = malloc(32);
        api_tag(keep, 32, 3);
        errno = 0;
        p = reallocarray(keep, ovf[i][0], ovf[i][1]);
        CHECKF(p == NULL && errno == ENOMEM, "reallocarray(p, %zu, %zu) = %p errno %d",
               ovf[i][0], ovf[i][1], p, errno);
        CHECK(api_tag_ok(keep, 32, 3));
        free(keep);
    }
    printf("ok calloc zeroes reused memory; calloc/reallocarray overflow -> ENOMEM\n");
}

static void test_realloc(void)
{
    /* realloc(NULL, n) is malloc(n). */
    void *p = realloc(NULL, 200);
    check_block(p, 200, 1);
    free(p);

    /* A chain of sizes up and down; contents kept to min(old, new). */
    const size_t chain[] = {1,     7,       16,      17,     100,     1000,   1000,
                            4095,  4097,    32768,   32769,  100000,  99000,  1 << 20,
                            3 << 20, (3 << 20) + 5, 1 << 20, 40000, 33000, 5000, 30,
                            1,     8 << 20, 64};
    size_t old = 0;
    uint64_t seed = 11;
    unsigned char *b = NULL;
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        size_t n = chain[i];
        unsigned char *q = realloc(b, n);
        check_block(q, n, 1);
        size_t keep = old < n ? old : n;
        CHECKF(b == NULL || api_tag_ok(q, keep, seed), "realloc %zu -> %zu lost data", old, n);
        seed++;
        api_tag(q, n, seed);
        b = q;
        old = n;
    }
    /* realloc(p, 0) frees p; glibc returns NULL. */
    if (alloc != API_JEMALLOC) {
        errno = 0;
        CHECK(realloc(b, 0) == NULL);
    } else {
        free(realloc(b, 0));
    }

    /* reallocarray like realloc. */
    int *a = reallocarray(NULL, 10, sizeof(int));
    check_block(a, 10 * sizeof(int), 1);
    for (int i = 0; i < 10; i++)
        a[i] = i * 3;
    a = reallocarray(a, 100000, sizeof(int));
    check_block(a, 100000 * sizeof(int), 1);
    for (int i = 0; i < 10; i++)
        CHECK(a[i] == i * 3);
    free(a);

    /* Many blocks reallocated in turn, all live at once. */
    enum { N = 300 };
    static unsigned char *v[N];
    static size_t vs[N];
    uint64_t r = 99;
    for (int i = 0; i < N; i++) {
        vs[i] = api_rng(&r) % 3000;
        v[i] = malloc(vs[i]);
        check_block(v[i], vs[i], 1);
        api_tag(v[i], vs[i], i);
    }
    for (int step = 0; step < 3000; step++) {
        int i = api_rng(&r) % N;
        size_t n = api_rng(&r) % 9 == 0 ? api_rng(&r) % 200000 : api_rng(&r) % 3000;
        unsigned char *q = realloc(v[i], n ? n : 1);
        if (!n)
            n = 1;
        check_block(q, n, 1);
        CHECKF(api_tag_ok(q, vs[i] < n ? vs[i] : n, i), "realloc %zu -> %zu", vs[i], n);
        api_tag(q, n, i);
        v[i] = q;
        vs[i] = n;
    }
    for (int i = 0; i < N; i++) {
        CHECK(api_tag_ok(v[i], vs[i], i));
        free(v[i]);
    }
    printf("ok realloc: NULL, chains up/down, p,0 frees, reallocarray, 3000 random\n");
}

static void test_alignment(void)
{
    /* posix_memalign: every power of two from sizeof(void *) to 1 GiB. */
    for (size_t a = sizeof(void *); a <= ((size_t)1 << 30); a *= 2) {
        const size_t sizes[] = {1, 16, 100, a / 2 + 1, a, a + 1};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t s = sizes[i];
            if (s > 16 * API_MIB)
                continue; /* big alignments: small sizes only */
            void *p = NULL;
            CHECKF(posix_memalign(&p, a, s) == 0, "posix_memalign(%zu, %zu)", a, s);
            check_block(p, s, a);
            CHECKF(api_aligned(p, a), "posix_memalign(%zu, %zu) = %p", a, s, p);
            api_tag(p, s, a);
            CHECK(api_tag_ok(p, s, a));
            free(p);
        }
    }
    /* aligned_alloc and memalign from 1 to 1 GiB, a size that is not a
     * multiple of the alignment included. */
    for (size_t a = 1; a <= ((size_t)1 << 30); a *= 2) {
        const size_t sizes[] = {a, 100, 3 * a + 5};
        for (size_t i = 0; i < 3; i++) {
            size_t s = sizes[i];
            if (s > 16 * API_MIB)
                continue;
            void *p = aligned_alloc(a, s);
            check_block(p, s, a);
            CHECKF(api_aligned(p, a), "aligned_alloc(%zu, %zu) = %p", a, s, p);
            api_tag(p, s, 1);
            void *q = memalign(a, s);
            check_block(q, s, a);
            CHECKF(api_aligned(q, a), "memalign(%zu, %zu) = %p", a, s, q);
            api_tag(q, s, 2);
            CHECK(api_tag_ok(p, s, 1) && api_tag_ok(q, s, 2));
            free(p);
            free(q);
        }
    }
    /* The 1 GiB case once more with several blocks live at once. */
    void *g[3];
    for (int i = 0; i < 3; i++) {
        g[i] = aligned_alloc((size_t)1 << 30, 64);
        CHECK(g[i] != NULL && api_aligned(g[i], (size_t)1 << 30));
        api_tag(g[i], 64, i);
    }
    for (int i = 0; i < 3; i++) {
        CHECK(api_tag_ok(g[i], 64, i));
        free(g[i]);
    }

    /* posix_memalign rejects alignments that are not a power-of-two
     * multiple of sizeof(void *) with EINVAL and leaves *memptr alone. */
    const size_t bad[] = {0, 1, 2, 4, 12, 24, 48, 96, 4097, 3 << 20, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *sentinel = (void *)&bad[i], *p = sentinel;
        int rc = posix_memalign(&p, bad[i], 64);
        CHECKF(rc == EINVAL, "posix_memalign(%zu) = %d", bad[i], rc);
        CHECKF(p == sentinel, "posix_memalign(%zu) changed *memptr on EINVAL", bad[i]);
    }
    /* aligned_alloc and memalign: NULL + EINVAL for a non-power-of-two
     * (glibc 2.36 rounds the alignment up instead). */
    if (alloc == API_MYMALLOC) {
        const size_t bad2[] = {3, 12, 24, 48, 100, 4097, 3 << 20};
        for (size_t i = 0; i < sizeof bad2 / sizeof bad2[0]; i++) {
            errno = 0;
            void *p = aligned_alloc(bad2[i], 64);
            CHECKF(p == NULL && errno == EINVAL, "aligned_alloc(%zu, 64) = %p errno %d",
                   bad2[i], p, errno);
            errno = 0;
            p = memalign(bad2[i], 64);
            CHECKF(p == NULL && errno == EINVAL, "memalign(%zu, 64) = %p errno %d", bad2[i],
                   p, errno);
        }
    }

    /* valloc: page-aligned; pvalloc: page-aligned, usable rounded to pages. */
    const size_t vs[] = {1, 100, 4095, 4096, 4097, 10000, 40000, 1 << 20};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        void *p = valloc(vs[i]);
        check_block(p, vs[i], page);
        CHECKF(api_aligned(p, page), "valloc(%zu) = %p", vs[i], p);
        api_tag(p, vs[i], 5);
        CHECK(api_tag_ok(p, vs[i], 5));
        free(p);
        if (alloc == API_JEMALLOC)
            continue; /* jemalloc has no pvalloc: glibc's would hand out its own */
        void *q = pvalloc(vs[i]);
        size_t rounded = (vs[i] + page - 1) & ~(page - 1);
        check_block(q, rounded, page);
        CHECKF(api_aligned(q, page), "pvalloc(%zu) = %p", vs[i], q);
        api_tag(q, rounded, 6);
        CHECK(api_tag_ok(q, rounded, 6));
        free(q);
    }
    printf("ok alignment: posix_memalign/aligned_alloc/memalign to 1 GiB, EINVAL, "
           "valloc, pvalloc\n");
}

static void test_free_sized(void)
{
    void (*fs)(void *, size_t);
    void (*fas)(void *, size_t, size_t);
    *(void **)&fs = dlsym(RTLD_DEFAULT, "free_sized");
    *(void **)&fas = dlsym(RTLD_DEFAULT, "free_aligned_sized");
    if (alloc == API_MYMALLOC)
        CHECKF(fs && fas, "free_sized / free_aligned_sized not exported");
    if (!fs || !fas) {
        printf("skip free_sized/free_aligned_sized (not provided)\n");
        return;
    }
    fs(NULL, 0);
    fas(NULL, 64, 0);
    for (int round = 0; round < 200; round++) {
        size_t s = (size_t)round * 977 % 70000;
        void *p = malloc(s);
        check_block(p, s, 1);
        api_tag(p, s, 1);
        fs(p, s);
        size_t a = (size_t)16 << (round % 10);
        void *q = aligned_alloc(a, s + 1);
        check_block(q, s + 1, a);
        fas(q, a, s + 1);
        void *r = calloc(3, s);
        check_block(r, 3 * s, 1);
        fs(r, 3 * s);
    }
    if (alloc == API_MYMALLOC)
        CHECK(my.allocator_verify() == 0);
    printf("ok free_sized, free_aligned_sized\n");
}

static void test_mallinfo(void)
{
    if (alloc == API_JEMALLOC) {
        printf("skip mallinfo2 (glibc's, not jemalloc's)\n");
    } else {
        /* 64 blocks of 64 KiB: above mymalloc's 32 KiB large-block limit,
         * below glibc's 128 KiB mmap threshold. */
        enum { N = 64 };
        const size_t S = 64 * API_KIB;
        void *b[N];
        struct mallinfo2 m0 = mallinfo2();
        CHECK(m0.arena >= m0.uordblks);
        for (int i = 0; i < N; i++) {
            b[i] = malloc(S);
            check_block(b[i], S, 1);
            memset(b[i], i, S);
        }
        struct mallinfo2 m1 = mallinfo2();
        CHECKF(m1.uordblks >= m0.uordblks + N * S, "uordblks %zu -> %zu after %zu bytes",
               m0.uordblks, m1.uordblks, N * S);
        CHECK(m1.arena >= m1.uordblks);
        CHECK(m1.fordblks == m1.arena - m1.uordblks);
        if (alloc == API_MYMALLOC)
            CHECKF(m1.hblkhd >= m0.hblkhd + N * S, "hblkhd %zu -> %zu", m0.hblkhd, m1.hblkhd);
        /* mallinfo: the same numbers, as int. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        struct mallinfo mi = mallinfo();
#pragma GCC diagnostic pop
        CHECK((size_t)(unsigned)mi.uordblks == (m1.uordblks & 0xffffffffu));
        CHECK((size_t)(unsigned)mi.arena == (m1.arena & 0xffffffffu));
        for (int i = 0; i < N; i++)
            free(b[i]);
        struct mallinfo2 m2 = mallinfo2();
        CHECKF(m2.uordblks + N * S <= m1.uordblks, "uordblks %zu -> %zu after freeing",
               m1.uordblks, m2.uordblks);
        CHECK(m2.arena >= m2.uordblks);

        /* A 1 MiB block counts as mapped and live. */
        void *big = malloc(API_MIB);
        check_block(big, API_MIB, 1);
        struct mallinfo2 m3 = mallinfo2();
        if (alloc == API_MYMALLOC) {
            CHECKF(m3.hblkhd >= m2.hblkhd + API_MIB, "hblkhd %zu -> %zu", m2.hblkhd,
                   m3.hblkhd);
            CHECK(m3.uordblks >= m2.uordblks + API_MIB);
        }
        free(big);
        printf("FIGURES: arena=%zu uordblks=%zu hblkhd=%zu (with 4 MiB live)\n", m1.arena,
               m1.uordblks, m1.hblkhd);
    }

    /* malloc_trim returns 0 or 1; mallopt accepts the known parameters. */
    int t = malloc_trim(0);
    CHECKF(t == 0 || t == 1, "malloc_trim = %d", t);
    t = malloc_trim(1 << 20);
    CHECKF(t == 0 || t == 1, "malloc_trim = %d", t);
    const struct {
        int param, value;
        const char *name;
    } opts[] = {{M_TRIM_THRESHOLD, 128 * 1024, "M_TRIM_THRESHOLD"},
                {M_TOP_PAD, 128 * 1024, "M_TOP_PAD"},
                {M_MMAP_THRESHOLD, 1024 * 1024, "M_MMAP_THRESHOLD"},
                {M_MMAP_MAX, 65536, "M_MMAP_MAX"},
                {M_ARENA_MAX, 8, "M_ARENA_MAX"},
                {M_ARENA_TEST, 8, "M_ARENA_TEST"},
                {M_MXFAST, 64, "M_MXFAST"}};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        CHECKF(mallopt(opts[i].param, opts[i].value) == 1, "mallopt(%s)", opts[i].name);

    /* malloc_stats prints to stderr; it must not crash or allocate wrongly. */
    malloc_stats();
    void *p = malloc(10);
    check_block(p, 10, 1);
    free(p);
    if (alloc == API_MYMALLOC)
        CHECK(my.allocator_verify() == 0);
    printf("ok mallinfo2/mallinfo relations, malloc_trim, mallopt, malloc_stats\n");
}

int main(int argc, char **argv)
{
    alloc = api_allocator(argc, argv);
    my = api_my_lookup();
    page = (size_t)sysconf(_SC_PAGESIZE);
    test_malloc_sizes();
    test_malloc_zero();
    test_absurd_sizes();
    test_calloc();
    test_realloc();
    test_alignment();
    test_free_sized();
    test_mallinfo();
    printf("std: all checks passed\n");
    return 0;
}
