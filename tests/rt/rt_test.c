/*
 * rt_test.c: the real-time heap's tests (include/mymalloc/rt.h), built
 * against the library (rt_test), the drop-in (rt_test-dropin) and the drop-in
 * under ThreadSanitizer / AddressSanitizer + UBSan. --case=NAME:
 *   basic    init edge cases, sizes 0 and SIZE_MAX, bad alignments (errno in
 *            the library build), usable sizes, realloc, exhaustion, stats
 *   random   random malloc/aligned/realloc/free with tags checked before
 *            every free; rt_heap_check after every step; live bytes against
 *            an independent model of the size classes
 *   bad      double, foreign, interior, misaligned frees reported and
 *            nothing changed; corrupted headers and lists found by
 *            rt_heap_check
 *   sizing   adversarial sequences (class phases, Robson-style doubling with
 *            survivors, random) in a heap of exactly rt_heap_required(M, n):
 *            no NULL ever; the class-phase adversary needs all of it (the
 *            smallest memory it survives is found by bisection)
 *   threads  the owner allocates, --threads others free (cross-thread
 *            hand-off), plus racing double frees of one block
 *   calls    the sequences whose every call the callgrind bound test
 *            (tests/rt/instr.sh) measures
 * Exits 0 on success; prints FIGURES: lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#ifdef RT_TEST_DROPIN
#include "mymalloc_rt.h"
#else
#include "mymalloc/rt.h"
#endif

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}
/* A failed condition ends the test at once (later steps build on it). */
#define REQUIRE(cond, ...) \
    do { \
        if (!(cond)) \
            fail(__VA_ARGS__); \
    } while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    return check_xorshift(&rng_state);
}

/* The size classes, modelled independently of src/rt: the block for a
 * request is the smallest of 16, 32, 48, 64, 96, 128, 192, ... (2^e and
 * 3 * 2^(e-1)) holding the request and the 8-byte header. */
static size_t model_block(size_t request)
{
    size_t need = request + 8;
    if (need <= 16)
        return 16;
    if (need <= 32)
        return 32;
    for (size_t p = 32;; p *= 2) {
        if (need <= p + p / 2)
            return p + p / 2;
        if (need <= 2 * p)
            return 2 * p;
    }
}

/* Tags: every byte of a block (up to 256, then the last 64) holds a value
 * derived from its owner's id; checked before the block is freed. */
static void tag(void *p, size_t n, uint64_t id)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (i < 256 || i + 64 >= n)
            b[i] = (unsigned char)(id * 31 + i);
}
/* Checks the first `kept` bytes of a block tagged with length n. */
static void check_tag_kept(const void *p, size_t n, size_t kept, uint64_t id)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < kept; i++)
        if ((i < 256 || i + 64 >= n) && b[i] != (unsigned char)(id * 31 + i))
            fail("tag of block %llu broken at byte %zu of %zu", (unsigned long long)id, i, n);
}
static void check_tag(const void *p, size_t n, uint64_t id)
{
    check_tag_kept(p, n, n, id);
}

/* Error reports land here. */
static _Atomic int reports_double, reports_invalid;
static void *last_reported;
static void on_error(rt_heap_t *heap, void *ptr, enum rt_problem problem)
{
    (void)heap;
    last_reported = ptr;
    if (problem == RT_DOUBLE_FREE)
        atomic_fetch_add(&reports_double, 1);
    else if (problem == RT_INVALID_POINTER)
        atomic_fetch_add(&reports_invalid, 1);
    else
        fail("unknown problem %d", (int)problem);
}

static void expect_errno(int expected, const char *what)
{
#ifdef RT_TEST_DROPIN
    (void)expected;
    (void)what;
#else
    REQUIRE(errno == expected, "%s: errno %d, expected %d", what, errno, expected);
#endif
}

static void *big_buffer(size_t bytes)
{
    void *p = malloc(bytes);
    REQUIRE(p != NULL, "cannot get %zu bytes for the test's heap", bytes);
    return p;
}

/* ------------------------------------------------------------ basic */
static void case_basic(void)
{
    size_t bytes = 1 << 20;
    char *buf = big_buffer(bytes + 64);
    REQUIRE(rt_heap_init(NULL, bytes) == NULL, "init with NULL memory");
    REQUIRE(rt_heap_init(buf, 100) == NULL, "init with 100 bytes");
    REQUIRE(rt_heap_init(buf, rt_heap_required(0, 0) - 80) == NULL, "init below the minimum");
    REQUIRE(rt_heap_init(buf, rt_heap_required(0, 0)) != NULL, "init at the minimum");
    for (int offset = 0; offset < 64; offset += 7) {
        rt_heap_t *h = rt_heap_init(buf + offset, bytes);
        REQUIRE(h != NULL, "init at offset %d", offset);
        REQUIRE((uintptr_t)h >= (uintptr_t)(buf + offset), "heap state outside the memory");
        for (size_t s = 0; s < 3000; s += 1 + s / 8) {
            char *p = rt_malloc(h, s);
            REQUIRE(p != NULL, "malloc(%zu)", s);
            REQUIRE(((uintptr_t)p & 15) == 0, "malloc(%zu) not 16-aligned", s);
            REQUIRE(p >= buf + offset && p + s <= buf + offset + bytes, "block outside the memory");
            size_t usable = rt_usable_size(h, p);
            REQUIRE(usable >= s && usable + 8 == model_block(s), "usable_size(%zu) = %zu", s, usable);
        }
        REQUIRE(rt_heap_check(h) == 0, "check after mallocs");
    }
    rt_heap_t *h = rt_heap_init(buf, bytes);
    rt_set_error_handler(h, on_error);
    void *z1 = rt_malloc(h, 0), *z2 = rt_malloc(h, 0);
    REQUIRE(z1 != NULL && z2 != NULL && z1 != z2, "malloc(0) gives unique blocks");
    errno = 0;
    REQUIRE(rt_malloc(h, SIZE_MAX) == NULL, "malloc(SIZE_MAX)");
    expect_errno(ENOMEM, "malloc(SIZE_MAX)");
    errno = 0;
    REQUIRE(rt_malloc(h, ((size_t)1 << 46) + 1) == NULL, "malloc(2^46 + 1)");
    expect_errno(ENOMEM, "malloc(2^46 + 1)");
    errno = 0;
    REQUIRE(rt_malloc(h, bytes) == NULL, "malloc larger than the heap");
    expect_errno(ENOMEM, "malloc larger than the heap");
    size_t bad_alignments[] = {0, 3, 24, 48, 100, SIZE_MAX};
    for (size_t i = 0; i < sizeof(bad_alignments) / sizeof(bad_alignments[0]); i++) {
        errno = 0;
        REQUIRE(rt_aligned_alloc(h, bad_alignments[i], 16) == NULL, "alignment %zu accepted",
              bad_alignments[i]);
        expect_errno(EINVAL, "bad alignment");
    }
    errno = 0;
    REQUIRE(rt_aligned_alloc(h, (size_t)1 << 62, 16) == NULL, "alignment 2^62");
    expect_errno(ENOMEM, "alignment 2^62");
    REQUIRE(rt_aligned_alloc(h, 64, SIZE_MAX) == NULL, "aligned SIZE_MAX");
    for (size_t a = 1; a <= 65536; a *= 2) {
        for (size_t s = 0; s < 300; s += 37) {
            char *p = rt_aligned_alloc(h, a, s);
            REQUIRE(p != NULL, "aligned_alloc(%zu, %zu)", a, s);
            REQUIRE(((uintptr_t)p & (a - 1)) == 0 && ((uintptr_t)p & 15) == 0,
                  "aligned_alloc(%zu) gave %p", a, (void *)p);
            REQUIRE(rt_usable_size(h, p) >= s, "aligned usable size");
            tag(p, s, a + s);
            check_tag(p, s, a + s);
            rt_free(h, p);
            REQUIRE(rt_usable_size(h, p) == 0, "usable size of a freed aligned block");
        }
    }
    /* realloc */
    char *p = rt_realloc(h, NULL, 40);
    REQUIRE(p != NULL && rt_usable_size(h, p) >= 40, "realloc(NULL, 40)");
    tag(p, 40, 7);
    char *q = rt_realloc(h, p, 36);
    REQUIRE(q == p, "realloc within the class moves");
    q = rt_realloc(h, p, 5000);
    REQUIRE(q != NULL && q != p, "realloc grow");
    check_tag(q, 40, 7);
    REQUIRE(rt_usable_size(h, p) == 0, "old block still live after a move");
    errno = 0;
    REQUIRE(rt_realloc(h, q, SIZE_MAX) == NULL, "realloc SIZE_MAX");
    expect_errno(ENOMEM, "realloc SIZE_MAX");
    check_tag(q, 40, 7);
    char *r = rt_realloc(h, q, 20);
    REQUIRE(r != NULL && r != q, "realloc shrink to another class");
    check_tag(r, 20, 7);
    REQUIRE(rt_realloc(h, r, 0) == NULL && rt_usable_size(h, r) == 0, "realloc(p, 0) frees");
    char *al = rt_aligned_alloc(h, 256, 100);
    tag(al, 100, 9);
    char *moved = rt_realloc(h, al, 100);
    REQUIRE(moved != NULL, "realloc of an aligned block");
    check_tag(moved, 100, 9);
    rt_free(h, moved);
    REQUIRE(reports_double == 0 && reports_invalid == 0, "unexpected reports");
    REQUIRE(rt_heap_check(h) == 0, "check after basic");

    /* exhaustion: fill a small heap, then everything comes back */
    size_t small = rt_heap_required(0, 0) + 4096;
    rt_heap_t *s = rt_heap_init(buf, small);
    struct rt_heap_stats st;
    rt_heap_stats(s, &st);
    REQUIRE(st.capacity >= 4096 && st.capacity < small && st.live_bytes == 0 &&
              st.free_bytes == st.capacity && st.largest_free + 8 <= st.capacity,
          "stats of an empty heap");
    void *blocks[512];
    int n = 0;
    while ((blocks[n] = rt_malloc(s, 100)) != NULL)
        n++;
    REQUIRE(n == (int)(st.capacity / model_block(100)), "%d blocks of 100 in %zu bytes", n,
          st.capacity);
    rt_heap_stats(s, &st);
    REQUIRE(st.live_bytes == (size_t)n * model_block(100) && st.largest_free < 100,
          "stats of a full heap");
    REQUIRE(rt_heap_check(s) == 0, "check of a full heap");
    for (int i = 0; i < n; i++)
        rt_free(s, blocks[i]);
    rt_heap_stats(s, &st);
    REQUIRE(st.live_bytes == 0 && st.peak_live_bytes == (size_t)n * model_block(100) &&
              st.largest_free >= 100,
          "stats after freeing all");
    for (int i = 0; i < n; i++)
        REQUIRE(rt_malloc(s, 100) != NULL, "freed blocks not reused");
    REQUIRE(rt_heap_check(s) == 0, "check after reuse");
    free(buf);
    printf("FIGURES: blocks of 100 B in a 4 KiB heap: %d\n", n);
}

/* ----------------------------------------------------------- random */
struct slot {
    char *p;
    size_t size, block;
    uint64_t id;
};

static size_t random_size(void)
{
    uint64_t r = rng();
    switch (r % 8) {
    case 0:
        return r >> 60;                   /* 0..15 */
    case 1: case 2: case 3: case 4:
        return (r >> 32) % 256;           /* small */
    case 5: case 6:
        return (r >> 32) % 4096;          /* medium */
    default:
        return (r >> 32) % 65536;         /* large */
    }
}

static void case_random(long steps, int check_every)
{
    size_t bytes = 64 << 20;
    char *buf = big_buffer(bytes);
    rt_heap_t *h = rt_heap_init(buf + 8, bytes - 8);
    rt_set_error_handler(h, on_error);
    enum { SLOTS = 1024 };
    static struct slot slots[SLOTS];
    size_t live = 0, nulls = 0;
    for (long step = 0; step < steps; step++) {
        struct slot *s = &slots[rng() % SLOTS];
        uint64_t op = rng() % 10;
        if (s->p != NULL && op >= 6)
            continue; /* keep it */
        if (s->p != NULL) {
            check_tag(s->p, s->size, s->id);
            if (op == 5) {
                size_t size = random_size();
                char *q = rt_realloc(h, s->p, size);
                if (size == 0) {
                    REQUIRE(q == NULL, "realloc(p, 0) returned a block");
                    live -= s->block;
                    s->p = NULL;
                    continue;
                }
                REQUIRE(q != NULL, "realloc to %zu failed", size);
                size_t keep = s->size < size ? s->size : size;
                check_tag_kept(q, s->size, keep, s->id);
                live -= s->block;
                s->p = q;
                s->size = size;
                s->block = model_block(size);
            } else {
                rt_free(h, s->p);
                live -= s->block;
                s->p = NULL;
                continue;
            }
        } else {
            size_t size = random_size();
            size_t alignment = op == 9 ? (size_t)1 << (rng() % 13) : 0;
            s->p = alignment ? rt_aligned_alloc(h, alignment, size) : rt_malloc(h, size);
            if (s->p == NULL) {
                nulls++;
                continue;
            }
            REQUIRE(((uintptr_t)s->p & 15) == 0, "block not 16-aligned");
            REQUIRE(!alignment || ((uintptr_t)s->p & (alignment - 1)) == 0, "alignment %zu",
                  alignment);
            s->size = size;
            s->block = model_block(alignment > 16 ? size + alignment - 16 : size);
        }
        s->id = rng();
        REQUIRE(rt_usable_size(h, s->p) >= s->size, "usable size below the request");
        tag(s->p, s->size, s->id);
        live += s->block;
        if (step % check_every == 0) {
            REQUIRE(rt_heap_check(h) == 0, "rt_heap_check failed at step %ld", step);
            struct rt_heap_stats st;
            rt_heap_stats(h, &st);
            REQUIRE(st.live_bytes == live, "live bytes %zu, model %zu at step %ld", st.live_bytes,
                  live, step);
        }
    }
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL) {
            check_tag(slots[i].p, slots[i].size, slots[i].id);
            rt_free(h, slots[i].p);
        }
    struct rt_heap_stats st;
    rt_heap_stats(h, &st);
    REQUIRE(st.live_bytes == 0 && rt_heap_check(h) == 0, "heap not empty at the end");
    REQUIRE(nulls == 0, "%zu NULLs in a heap far larger than the live data", nulls);
    REQUIRE(reports_double == 0 && reports_invalid == 0, "unexpected reports");
    printf("FIGURES: steps=%ld peak_live=%zu KiB\n", steps, st.peak_live_bytes >> 10);
    free(buf);
}

/* -------------------------------------------------------------- bad */
static void same_stats(rt_heap_t *h, const struct rt_heap_stats *before, const char *what)
{
    struct rt_heap_stats now;
    rt_heap_stats(h, &now);
    REQUIRE(memcmp(&now, before, sizeof(now)) == 0, "%s changed the heap's statistics", what);
    REQUIRE(rt_heap_check(h) == 0, "%s broke the heap", what);
}

static void expect_report(int doubles, int invalids, const char *what)
{
    REQUIRE(reports_double == doubles && reports_invalid == invalids,
          "%s: reports double=%d invalid=%d, expected %d %d", what, reports_double,
          reports_invalid, doubles, invalids);
}

static void case_bad(void)
{
    size_t bytes = 1 << 20;
    char *buf = big_buffer(bytes), *other_buf = big_buffer(bytes);
    rt_heap_t *h = rt_heap_init(buf, bytes), *other = rt_heap_init(other_buf, bytes);
    rt_set_error_handler(h, on_error);
    char *a = rt_malloc(h, 100), *b = rt_malloc(h, 100), *c = rt_malloc(h, 40);
    char *al = rt_aligned_alloc(h, 512, 64);
    char *foreign = rt_malloc(other, 100);
    tag(a, 100, 1);
    tag(b, 100, 2);
    rt_free(h, c);
    struct rt_heap_stats st;
    rt_heap_stats(h, &st);
    int stack_var = 0;
    struct {
        void *ptr;
        const char *what;
        int is_double;
    } bad[] = {
        {c, "double free", 1},
        {a + 16, "interior pointer", 0},
        {a + 1, "misaligned pointer", 0},
        {&stack_var, "stack pointer", 0},
        {foreign, "another heap's block", 0},
        {buf + bytes - 4096, "never handed out", 0},
        {al + 64, "interior of an aligned block", 0},
        {(char *)16, "small address", 0},
    };
    int doubles = 0, invalids = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rt_free(h, bad[i].ptr);
        *(bad[i].is_double ? &doubles : &invalids) += 1;
        expect_report(doubles, invalids, bad[i].what);
        REQUIRE(last_reported == bad[i].ptr, "%s: wrong pointer reported", bad[i].what);
        same_stats(h, &st, bad[i].what);
        REQUIRE(rt_usable_size(h, bad[i].ptr) == 0, "%s has a usable size", bad[i].what);
        errno = 0;
        REQUIRE(rt_realloc(h, bad[i].ptr, 10) == NULL, "%s reallocated", bad[i].what);
        expect_errno(EINVAL, "realloc of a bad pointer");
        *(bad[i].is_double ? &doubles : &invalids) += 1;
        expect_report(doubles, invalids, bad[i].what);
        same_stats(h, &st, bad[i].what);
    }
    rt_free(h, al);
    rt_free(h, al);
    expect_report(++doubles, invalids, "double free of an aligned block");
    rt_heap_stats(h, &st);
    check_tag(a, 100, 1);
    check_tag(b, 100, 2);

    /* Corruption found by rt_heap_check: a live block's header, a free
     * block's header, an overrun into the next block, a free-list link. */
    uint64_t *header_b = (uint64_t *)(b - 8);
    uint64_t saved = *header_b;
    *header_b ^= 0x30; /* another size */
    REQUIRE(rt_heap_check(h) == -1, "a live header with another size not found");
    *header_b = saved ^ ((uint64_t)1 << 52); /* check bits */
    REQUIRE(rt_heap_check(h) == -1, "a live header with broken check bits not found");
    *header_b = saved;
    REQUIRE(rt_heap_check(h) == 0, "restored header");
    memset(a, 0x41, rt_usable_size(h, a) + 8); /* overrun into b's header */
    REQUIRE(rt_heap_check(h) == -1, "an overrun into the next header not found");
    *header_b = saved;
    REQUIRE(rt_heap_check(h) == 0, "restored after overrun");
    void **link_c = (void **)c;
    void *saved_link = *link_c;
    *link_c = a - 8; /* the free list now runs into a live block */
    REQUIRE(rt_heap_check(h) == -1, "a free list into a live block not found");
    *link_c = c - 8; /* a cycle */
    REQUIRE(rt_heap_check(h) == -1, "a cycle in a free list not found");
    *link_c = saved_link;
    REQUIRE(rt_heap_check(h) == 0, "restored link");
    uint64_t *header_c = (uint64_t *)(c - 8);
    saved = *header_c;
    *header_c = (saved & ~(uint64_t)0xf) | 0x5; /* a free block marked live */
    REQUIRE(rt_heap_check(h) == -1, "a listed block marked live not found");
    *header_c = saved;
    REQUIRE(rt_heap_check(h) == 0, "restored free header");
    printf("FIGURES: bad pointers reported=%d (double=%d invalid=%d), corruptions found=7\n",
           doubles + invalids, doubles, invalids);
    free(buf);
    free(other_buf);
}

/* ----------------------------------------------------------- sizing */
/* Class boundaries, from the model: the smallest request of each class. */
static size_t class_starts[100];
static int class_count;
static void model_classes(size_t max_request)
{
    class_count = 0;
    for (size_t r = 1; r <= max_request; r = model_block(r) - 8 + 1)
        class_starts[class_count++] = r;
}

struct adversary {
    rt_heap_t *h;
    size_t cap, max_request, live, nulls;
    char **ptrs;
    size_t *sizes;
    size_t count, slots;
};

static int adv_alloc(struct adversary *a, size_t size)
{
    size_t counted = size == 0 ? 1 : size;
    if (a->live + counted > a->cap || a->count == a->slots)
        return 0;
    char *p = rt_malloc(a->h, size);
    if (p == NULL) {
        a->nulls++;
        return 0;
    }
    if (size > 0)
        p[0] = p[size - 1] = (char)size;
    a->ptrs[a->count] = p;
    a->sizes[a->count++] = counted;
    a->live += counted;
    return 1;
}

static void adv_free(struct adversary *a, size_t i)
{
    char *p = a->ptrs[i];
    size_t size = a->sizes[i];
    if (size > 1 && (p[0] != (char)size || p[size - 1] != (char)size))
        fail("adversary's block of %zu broken", size);
    rt_free(a->h, p);
    a->live -= size;
    a->ptrs[i] = a->ptrs[--a->count];
    a->sizes[i] = a->sizes[a->count];
}

/* Phases: each class in turn, filled with its smallest request, then freed. */
static void adversary_phases(struct adversary *a)
{
    for (int k = 0; k < class_count && class_starts[k] <= a->max_request; k++) {
        while (adv_alloc(a, class_starts[k]))
            ;
        if (a->nulls)
            return;
        while (a->count)
            adv_free(a, a->count - 1);
    }
}

/* Robson-style: sizes doubling; fill with the size, keep every other block
 * alive (so the freed ones are holes too small for the next size). */
static void adversary_doubling(struct adversary *a)
{
    for (size_t size = 1; size <= a->max_request && !a->nulls; size *= 2) {
        size_t first = a->count;
        while (adv_alloc(a, size))
            ;
        for (size_t i = a->count; i-- > first;)
            if (i % 2)
                adv_free(a, i);
        for (size_t i = first; i-- > 0;) /* older survivors thin out too */
            if (rng() % 2)
                adv_free(a, i);
    }
}

/* Random sizes (log-uniform) and random frees under the cap. */
static void adversary_random(struct adversary *a, long steps)
{
    for (long s = 0; s < steps && !a->nulls; s++) {
        if (a->count && rng() % 2)
            adv_free(a, rng() % a->count);
        else {
            unsigned bits = 1 + rng() % 63;
            size_t size = (rng() & (((size_t)1 << bits) - 1)) % (a->max_request + 1);
            adv_alloc(a, size);
        }
    }
}

/* Runs one adversary in `bytes` of memory; returns the NULLs it met. */
static size_t run_adversary(int which, size_t cap, size_t max_request, size_t bytes,
                            size_t offset, size_t *peak)
{
    char *buf = big_buffer(bytes + offset);
    struct adversary a = {.cap = cap, .max_request = max_request, .slots = cap + 1};
    a.ptrs = big_buffer(a.slots * sizeof(*a.ptrs));
    a.sizes = big_buffer(a.slots * sizeof(*a.sizes));
    a.h = rt_heap_init(buf + offset, bytes);
    if (a.h == NULL) {
        free(buf);
        free(a.ptrs);
        free(a.sizes);
        return SIZE_MAX;
    }
    if (which == 0)
        adversary_phases(&a);
    else if (which == 1)
        adversary_doubling(&a);
    else
        adversary_random(&a, 200000);
    REQUIRE(rt_heap_check(a.h) == 0, "heap broken by adversary %d", which);
    struct rt_heap_stats st;
    rt_heap_stats(a.h, &st);
    *peak = st.peak_live_bytes;
    while (a.count)
        adv_free(&a, a.count - 1);
    free(a.ptrs);
    free(a.sizes);
    free(buf);
    return a.nulls;
}

static void case_sizing(void)
{
    static const struct {
        size_t cap, max_request;
    } grid[] = {{4096, 64}, {65536, 1000}, {65536, 4096}, {1 << 20, 65536}, {300000, 300000}};
    static const char *names[] = {"phases", "doubling", "random"};
    for (size_t g = 0; g < sizeof(grid) / sizeof(grid[0]); g++) {
        size_t M = grid[g].cap, n = grid[g].max_request;
        size_t required = rt_heap_required(M, n);
        model_classes(n);
        for (int which = 0; which < 3; which++) {
            size_t peak;
            /* Offset 1: rt_heap_init loses the most to alignment. */
            size_t nulls = run_adversary(which, M, n, required, 1, &peak);
            REQUIRE(nulls == 0, "adversary %s, M=%zu n=%zu: NULL in rt_heap_required = %zu bytes",
                  names[which], M, n, required);
            printf("sizing M=%zu n=%zu %s: no NULL in %zu bytes (peak live blocks %zu)\n", M, n,
                   names[which], required, peak);
        }
        /* Tightness: the smallest memory the phase adversary survives. */
        size_t lo = 0, hi = required, peak;
        while (hi - lo > 16) {
            size_t mid = lo + (hi - lo) / 2;
            if (run_adversary(0, M, n, mid, 0, &peak) != 0)
                lo = mid;
            else
                hi = mid;
        }
        REQUIRE(required - hi <= 128, "the bound is loose: %zu needed, %zu asked", hi, required);
        REQUIRE(run_adversary(0, M, n, hi - 32, 0, &peak) != 0, "survives below the bound");
        double log_n = 0;
        for (size_t x = 1; x < n; x *= 2)
            log_n++;
        printf("FIGURES: M=%zu n=%zu: required %.2f M (phases need %.2f M; half-fit 2M(1+log2 n) "
               "= %.0f M)\n",
               M, n, (double)required / M, (double)hi / M, 2 * (1 + log_n));
    }
}

/* ---------------------------------------------------------- threads */
struct handoff {
    char *p;
    size_t size;
    uint64_t id;
};
static struct handoff *queue;
static _Atomic size_t queue_head, queue_tail;
static size_t queue_len;
static rt_heap_t *shared_heap;
static _Atomic int producer_done;

static void *freer(void *arg)
{
    (void)arg;
    for (;;) {
        size_t t = atomic_load(&queue_tail);
        if (t == atomic_load_explicit(&queue_head, memory_order_acquire)) {
            if (atomic_load(&producer_done) &&
                t == atomic_load_explicit(&queue_head, memory_order_acquire))
                return NULL;
            continue;
        }
        if (!atomic_compare_exchange_weak(&queue_tail, &t, t + 1))
            continue;
        struct handoff *item = &queue[t % queue_len];
        check_tag(item->p, item->size, item->id);
        rt_free(shared_heap, item->p);
    }
}

static char *race_block;
static pthread_barrier_t race_barrier;
static void *racer(void *arg)
{
    long rounds = (long)arg;
    for (long r = 0; r < rounds; r++) {
        pthread_barrier_wait(&race_barrier);
        rt_free(shared_heap, race_block);
        pthread_barrier_wait(&race_barrier);
    }
    return NULL;
}

static void case_threads(int threads, long ops)
{
    size_t bytes = 32 << 20;
    char *buf = big_buffer(bytes);
    shared_heap = rt_heap_init(buf, bytes);
    rt_set_error_handler(shared_heap, on_error);
    queue_len = (size_t)ops;
    queue = big_buffer(queue_len * sizeof(*queue));
    pthread_t tids[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, freer, NULL);
    /* The owner: allocates, hands every other block to the freers, frees
     * the rest itself. */
    char *own[64] = {0};
    size_t own_size[64];
    uint64_t own_id[64];
    for (long i = 0; i < ops; i++) {
        size_t size = random_size() % 2048;
        char *p = rt_malloc(shared_heap, size);
        REQUIRE(p != NULL, "owner's malloc failed");
        uint64_t id = rng();
        tag(p, size, id);
        if (i % 2) {
            size_t h = atomic_load_explicit(&queue_head, memory_order_relaxed);
            queue[h % queue_len] = (struct handoff){p, size, id};
            atomic_store_explicit(&queue_head, h + 1, memory_order_release);
        } else {
            int k = (int)(rng() % 64);
            if (own[k]) {
                check_tag(own[k], own_size[k], own_id[k]);
                rt_free(shared_heap, own[k]);
            }
            own[k] = p;
            own_size[k] = size;
            own_id[k] = id;
        }
    }
    atomic_store(&producer_done, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    for (int k = 0; k < 64; k++)
        if (own[k])
            rt_free(shared_heap, own[k]);
    struct rt_heap_stats st;
    rt_heap_stats(shared_heap, &st);
    REQUIRE(st.live_bytes == 0, "live bytes %zu after every block was freed", st.live_bytes);
    REQUIRE(rt_heap_check(shared_heap) == 0, "heap broken by cross-thread frees");
    REQUIRE(reports_double == 0 && reports_invalid == 0, "unexpected reports");

    /* Racing double frees: two threads free the same block at once; one
     * succeeds, the other is reported, the heap stays sound. */
    long rounds = ops / 100 + 10;
    pthread_barrier_init(&race_barrier, NULL, 3);
    pthread_t r1, r2;
    pthread_create(&r1, NULL, racer, (void *)rounds);
    pthread_create(&r2, NULL, racer, (void *)rounds);
    for (long r = 0; r < rounds; r++) {
        race_block = rt_malloc(shared_heap, 64);
        pthread_barrier_wait(&race_barrier);
        pthread_barrier_wait(&race_barrier);
    }
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    REQUIRE(reports_double == rounds && reports_invalid == 0, "racing double frees: %d reports in %ld rounds",
          reports_double, rounds);
    rt_heap_stats(shared_heap, &st);
    REQUIRE(st.live_bytes == 0 && rt_heap_check(shared_heap) == 0, "heap after racing frees");
    printf("FIGURES: threads=%d cross-thread frees=%ld racing double frees caught=%ld/%ld\n",
           threads, ops / 2, rounds, rounds);
    free(queue);
    free(buf);
}

/* ------------------------------------------------------------ calls */
/* Every path of rt_malloc, rt_free and rt_aligned_alloc, adversarially:
 * carving, the owner's list, the inbox exchange, exhaustion, bad sizes and
 * alignments, double and foreign frees, every class and alignment. */
static void case_calls(void)
{
    size_t bytes = 1 << 20;
    char *buf = big_buffer(bytes);
    rt_heap_t *h = rt_heap_init(buf, bytes);
    static void *kept[4096];
    size_t n = 0;
    for (size_t s = 0; s <= 70000 && n < 4096; s = s < 64 ? s + 1 : s + s / 5) {
        void *p = rt_malloc(h, s);                      /* carve */
        void *q = rt_aligned_alloc(h, (size_t)1 << (n % 14), s); /* carve, aligned */
        rt_free(h, p);                                  /* push */
        void *r = rt_malloc(h, s);                      /* inbox exchange */
        void *t = rt_malloc(h, s);
        rt_free(h, r);
        rt_free(h, t);
        r = rt_malloc(h, s);                            /* inbox, then owner's list */
        t = rt_malloc(h, s);
        rt_free(h, r);
        rt_free(h, r);                                  /* double free */
        rt_free(h, (char *)t + 16);                     /* interior */
        kept[n++] = q;
        kept[n++] = t;
    }
    rt_malloc(h, SIZE_MAX);
    rt_aligned_alloc(h, 3, 10);
    rt_aligned_alloc(h, 64, SIZE_MAX);
    while (rt_malloc(h, 1000) != NULL) /* exhaustion */
        ;
    rt_malloc(h, 1000);
    rt_aligned_alloc(h, 4096, 1000);
    for (size_t i = 0; i < n; i++)
        rt_free(h, kept[i]);
    rt_free(h, NULL);
    rt_free(h, buf);
    REQUIRE(rt_heap_check(h) == 0, "calls case broke the heap");
    free(buf);
}

int main(int argc, char **argv)
{
    const char *name = "basic";
    int threads = 2;
    long ops = 200000, steps = 20000;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "--case=", 7))
            name = argv[i] + 7;
        else if (!strncmp(argv[i], "--threads=", 10))
            threads = atoi(argv[i] + 10);
        else if (!strncmp(argv[i], "--ops=", 6))
            ops = steps = atol(argv[i] + 6);
        else
            fail("unknown argument %s", argv[i]);
    }
    if (!strcmp(name, "basic"))
        case_basic();
    else if (!strcmp(name, "random"))
        case_random(steps, 1);
    else if (!strcmp(name, "random-long"))
        case_random(steps, 1000);
    else if (!strcmp(name, "bad"))
        case_bad();
    else if (!strcmp(name, "sizing"))
        case_sizing();
    else if (!strcmp(name, "threads"))
        case_threads(threads, ops);
    else if (!strcmp(name, "calls"))
        case_calls();
    else
        fail("unknown case %s", name);
    return 0;
}
