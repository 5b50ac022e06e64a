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
 *   sizing   adversarial sequences (reserve-class phases and Robson's
 *            every-other pattern after filling the good-fit region,
 *            Robson-style doubling on the good-fit region, random) in a heap
 *            of exactly rt_heap_required(M, n), and with M counted in blocks
 *            as half-fit counts it in the fragment-unit bound: no NULL ever;
 *            the smallest memory each survives (bisection) against the rule
 *   threads  the owner allocates, --threads others free (cross-thread
 *            hand-off), plus racing double frees of one block
 *   pending  (white box) frees while another thread holds the good-fit
 *            lock stay pending; later rt_mallocs list them one per call
 *   calls    the sequences whose every call the callgrind bound test
 *            (tests/rt/instr.sh) measures; in the white-box build
 *            (rt_test-white, the drop-in's code included) with the good-fit
 *            region's lock held as a contending thread would
 * Exits 0 on success; prints FIGURES: lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#if defined(RT_TEST_WHITEBOX)
/* The drop-in's code itself, for the calls case: it holds the good-fit
 * region's lock as another thread's rt_free would. */
#include "mymalloc_rt.c"
static void hold_fit_lock(rt_heap_t *heap, bool held)
{
    atomic_store(&heap->fit_lock, held);
}
#else
#if defined(RT_TEST_DROPIN)
#include "mymalloc_rt.h"
#else
#include "mymalloc/rt.h"
#endif
static void hold_fit_lock(rt_heap_t *heap, bool held)
{
    (void)heap;
    (void)held;
}
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

/* The block sizes, modelled independently of src/rt: a good-fit block is
 * the request and an 8-byte header rounded up to 16 (at least 32), or up to
 * 16 more (a split leaves no free block under 32); a reserve block is the
 * smallest power of two from 16 holding the request and the header. */
static size_t model_fit_block(size_t request)
{
    size_t need = (request + 8 + 15) / 16 * 16;
    return need < 32 ? 32 : need;
}
static size_t model_reserve_block(size_t request)
{
    size_t block = 16;
    while (block < request + 8)
        block *= 2;
    return block;
}
static int model_block_ok(size_t request, size_t block)
{
    size_t fit = model_fit_block(request);
    return (block >= fit && block <= fit + 16) || block == model_reserve_block(request);
}
/* The layout's split: a sixteenth of the capacity (rounded down to 16, none
 * under 32) for the good-fit region, 16 bytes of boundary, the reserve. */
static size_t model_fit_bytes(size_t capacity_with_boundary)
{
    size_t fit = capacity_with_boundary / 16 / 16 * 16;
    return fit < 32 ? 0 : fit;
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
            REQUIRE(usable >= s && model_block_ok(s, usable + 8), "usable_size(%zu) = %zu", s,
                    usable);
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
    size_t held = 0;
    while ((blocks[n] = rt_malloc(s, 100)) != NULL)
        held += rt_usable_size(s, blocks[n++]) + 8;
    /* The good-fit region holds blocks of 112 bytes, the reserve of 128. */
    size_t fit = model_fit_bytes(st.capacity + 16), room = st.capacity - fit;
    REQUIRE(n == (int)(fit / 112 + room / 128), "%d blocks of 100 in %zu + %zu bytes", n, fit,
            room);
    rt_heap_stats(s, &st);
    REQUIRE(st.live_bytes == held && held <= st.capacity && st.largest_free < 100,
          "stats of a full heap");
    REQUIRE(rt_heap_check(s) == 0, "check of a full heap");
    for (int i = 0; i < n; i++)
        rt_free(s, blocks[i]);
    rt_heap_stats(s, &st);
    REQUIRE(st.live_bytes == 0 && st.peak_live_bytes == held && st.largest_free >= 100,
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

static size_t live_now(rt_heap_t *h)
{
    struct rt_heap_stats st;
    rt_heap_stats(h, &st);
    return st.live_bytes;
}

/* Every block's size comes from the statistics' rise at its allocation and
 * is checked against the model; the statistics' live bytes must then fall
 * by exactly that at its free (checked every check_every steps). */
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
                size_t block = live_now(h) - live;
                REQUIRE(q == s->p ? block == s->block : model_block_ok(size, block),
                        "realloc to %zu: block of %zu", size, block);
                s->p = q;
                s->size = size;
                s->block = block;
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
            s->block = live_now(h) - live;
            REQUIRE(model_block_ok(alignment > 16 ? size + alignment - 16 : size, s->block),
                    "malloc(%zu, alignment %zu): block of %zu", size, alignment, s->block);
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
    /* c's free block (merged with al's and the rest): its last word repeats
     * its size; b's header must not say that a (live) is free. */
    size_t c_block = *(uint64_t *)(c - 8) & 0xfffffffffff0u;
    uint64_t *footer_c = (uint64_t *)(c - 16 + c_block);
    *footer_c ^= 16;
    REQUIRE(rt_heap_check(h) == -1, "a free block's broken size tag not found");
    *footer_c ^= 16;
    *header_b ^= 0x8;
    REQUIRE(rt_heap_check(h) == -1, "a wrong previous-is-free bit not found");
    *header_b ^= 0x8;
    REQUIRE(rt_heap_check(h) == 0, "restored tags");
    printf("FIGURES: bad pointers reported=%d (double=%d invalid=%d), corruptions found=9\n",
           doubles + invalids, doubles, invalids);
    free(buf);
    free(other_buf);
}

/* ----------------------------------------------------------- sizing */
/* The reserve's classes, from the model: the smallest request of each
 * (blocks of 16, 32, 64, ...: 1, 9, 25, 57, ...). */
static size_t class_starts[64];
static int class_count;
static void model_classes(size_t max_request)
{
    class_count = 0;
    for (size_t r = 1; r <= max_request; r = model_reserve_block(r) - 8 + 1)
        class_starts[class_count++] = r;
}

/* The bound with M counted as half-fit counts it: the peak of the sum of
 * the blocks (request and header rounded up to 16) rather than of the
 * requests. A reserve block of class c then holds at least 16 << (c - 1)
 * plus 16 of that sum (16 for class 0); the layout is rt_heap_required's. */
static size_t fragment_required(size_t fragments, size_t max_request)
{
    size_t reserve = 0;
    for (size_t r = 1, block = 16; r <= max_request; r = block - 8 + 1, block *= 2)
        reserve += block * (fragments / (block == 16 ? 16 : block / 2 + 16));
    size_t needed = reserve + 16, capacity = needed + needed / 15 + 1;
    return rt_heap_required(0, 0) - 32 + (capacity < 32 ? 32 : capacity);
}

#include "adversary.h"

/* Fills the good-fit region with 1-byte requests kept live for good (its
 * blocks are 32 bytes apart; the first that is not has come from the
 * reserve and goes back), so that every later request goes to the reserve.
 * Returns how many stay live. */
static size_t adv_poison_fit(struct adversary *a)
{
    char *prev = NULL;
    for (;;) {
        char *p = adv_alloc(a, 1);
        if (p == NULL)
            return a->count;
        if (prev != NULL && (size_t)(p - prev) != 32) {
            adv_free(a, a->count - 1);
            return a->count;
        }
        prev = p;
    }
}

/* Phases: each reserve class in turn, filled with its smallest request,
 * then freed: the sizing rule's own worst case. */
static void adversary_phases(struct adversary *a)
{
    size_t kept = adv_poison_fit(a);
    for (int k = 0; k < class_count && class_starts[k] <= a->max_request && !a->nulls; k++) {
        while (adv_alloc(a, class_starts[k]))
            ;
        while (a->count > kept)
            adv_free(a, a->count - 1);
    }
}

/* Robson's pattern on the classes: fill with the smallest request of a
 * class, free every other block (holes no larger request can use), go up
 * a class with what the survivors leave of the budget. */
static void adversary_every_other(struct adversary *a)
{
    adv_poison_fit(a);
    for (int k = 0; k < class_count && class_starts[k] <= a->max_request && !a->nulls; k++) {
        size_t first = a->count;
        while (adv_alloc(a, class_starts[k]))
            ;
        for (size_t i = a->count; i-- > first;)
            if ((i - first) % 2)
                adv_free(a, i);
    }
}

/* Robson's pattern on the good-fit region (no poison): sizes doubling, one
 * block in two kept, older survivors thinned at random. */
static void adversary_doubling(struct adversary *a)
{
    for (size_t size = 1; size <= a->max_request && !a->nulls; size *= 2) {
        size_t first = a->count;
        while (adv_alloc(a, size))
            ;
        for (size_t i = a->count; i-- > first;)
            if (i % 2)
                adv_free(a, i);
        for (size_t i = first; i-- > 0;)
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

enum { ADVERSARIES = 4 };
static const char *adversary_names[ADVERSARIES] = {"phases", "every-other", "doubling", "random"};

/* Runs one adversary in `bytes` of memory; returns the NULLs it met. */
static size_t run_adversary(int which, enum units units, size_t cap, size_t max_request,
                            size_t bytes, size_t offset)
{
    char *buf = big_buffer(bytes + offset);
    struct adversary a = {
        .cap = cap, .max_request = max_request, .units = units, .slots = cap + 1};
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
        adversary_every_other(&a);
    else if (which == 2)
        adversary_doubling(&a);
    else
        adversary_random(&a, 200000);
    REQUIRE(rt_heap_check(a.h) == 0, "heap broken by adversary %s", adversary_names[which]);
    adv_release_all(&a);
    free(buf);
    return a.nulls;
}

/* The smallest memory (to 16 bytes) in which an adversary meets no NULL. */
static size_t smallest_surviving(int which, enum units units, size_t cap, size_t n, size_t hi)
{
    size_t lo = 0;
    while (hi - lo > 16) {
        size_t mid = lo + (hi - lo) / 2;
        if (run_adversary(which, units, cap, n, mid, 0) != 0)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

static double half_fit(size_t n)
{
    double log_n = 0;
    for (size_t x = 1; x < n; x *= 2)
        log_n++;
    return 2 * (1 + log_n);
}

static void case_sizing(void)
{
    static const struct {
        size_t cap, max_request;
    } grid[] = {{4096, 64}, {65536, 1000}, {65536, 4096}, {1 << 20, 65536}, {300000, 300000}};
    for (size_t g = 0; g < sizeof(grid) / sizeof(grid[0]); g++) {
        size_t M = grid[g].cap, n = grid[g].max_request;
        size_t required[2] = {rt_heap_required(M, n), fragment_required(M, n)};
        model_classes(n);
        for (int units = REQUESTED; units <= FRAGMENTS; units++)
            for (int which = 0; which < ADVERSARIES; which++) {
                /* Offset 1: rt_heap_init loses the most to alignment. */
                size_t nulls = run_adversary(which, units, M, n, required[units], 1);
                REQUIRE(nulls == 0, "adversary %s, M=%zu n=%zu (%s): NULL in %zu bytes",
                        adversary_names[which], M, n, units ? "fragments" : "requests",
                        required[units]);
            }
        /* Tightness: the memory the phase adversary needs against the rule. */
        size_t need = smallest_surviving(0, REQUESTED, M, n, required[0]);
        size_t need_f = smallest_surviving(0, FRAGMENTS, M, n, required[1]);
        /* The adversary spends part of M filling the good-fit region, which
         * the rule does not count on: it cannot use all of the rule. Counted
         * in blocks, filling it costs more (a 1-byte request costs 16 of
         * M_f for 32 bytes of the region): our adversaries reach less. */
        REQUIRE(need >= required[0] / 10 * 9 && need_f >= required[1] / 5 * 2,
                "the bound is loose: %zu and %zu needed, %zu and %zu asked", need, need_f,
                required[0], required[1]);
        REQUIRE(run_adversary(0, REQUESTED, M, n, need - 32, 0) != 0, "survives below its need");
        size_t need_other = 0;
        for (int which = 1; which < ADVERSARIES && M <= 65536; which++) {
            size_t x = smallest_surviving(which, REQUESTED, M, n, required[0]);
            need_other = x > need_other ? x : need_other;
        }
        printf("FIGURES: M=%zu n=%zu: rule %.2f M, phases need %.3f of it", M, n,
               (double)required[0] / M, (double)need / required[0]);
        if (need_other != 0)
            printf(", the others at most %.3f", (double)need_other / required[0]);
        printf("; in blocks %.2f M_f, phases need %.3f; half-fit %.0f M\n",
               (double)required[1] / M, (double)need_f / required[1], half_fit(n));
    }
    /* The table of docs/REALTIME.md: M = 1 MiB. */
    for (size_t n = 16; n <= (1 << 20); n *= 4)
        printf("table M=1MiB n=%zu: required/M=%.2f fragments/M_f=%.2f half-fit=%.0f\n",
               n, (double)rt_heap_required(1 << 20, n) / (1 << 20),
               (double)fragment_required(1 << 20, n) / (1 << 20), half_fit(n));
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

/* ---------------------------------------------------------- pending */
/* White box: frees from two threads while the good-fit lock is held (as by
 * a third) leave their blocks pending; each rt_malloc then lists one and
 * takes its own block from the reserve; the heap stays sound throughout
 * and every byte comes back. */
#if defined(RT_TEST_WHITEBOX)
struct pending_batch {
    rt_heap_t *h;
    char **blocks;
    size_t first, count;
};
static void *free_batch(void *arg)
{
    struct pending_batch *b = arg;
    for (size_t i = b->first; i < b->first + b->count; i++)
        rt_free(b->h, b->blocks[i]);
    return NULL;
}
#endif

static void case_pending(void)
{
#if defined(RT_TEST_WHITEBOX)
    enum { BLOCKS = 2000 };
    size_t bytes = 16 << 20;
    char *buf = big_buffer(bytes);
    rt_heap_t *h = rt_heap_init(buf, bytes);
    rt_set_error_handler(h, on_error);
    static char *blocks[BLOCKS];
    for (size_t i = 0; i < BLOCKS; i++) {
        blocks[i] = rt_malloc(h, 1 + rng() % 500);
        REQUIRE(blocks[i] != NULL && (uintptr_t)blocks[i] < h->fit_end, "block %zu", i);
    }
    hold_fit_lock(h, true);
    struct pending_batch batches[2] = {{h, blocks, 0, BLOCKS / 2},
                                       {h, blocks, BLOCKS / 2, BLOCKS / 2}};
    pthread_t tids[2];
    for (int t = 0; t < 2; t++)
        pthread_create(&tids[t], NULL, free_batch, &batches[t]);
    for (int t = 0; t < 2; t++)
        pthread_join(tids[t], NULL);
    for (size_t i = 0; i < BLOCKS; i++)
        rt_free(h, blocks[i]); /* double frees of pending blocks */
    REQUIRE(reports_double == BLOCKS && reports_invalid == 0, "pending double frees: %d",
            reports_double);
    REQUIRE(rt_heap_check(h) == 0, "heap with pending blocks");
    char *reserve_blocks[BLOCKS];
    void *held = rt_malloc(h, 100); /* lock held: from the reserve */
    REQUIRE(held != NULL && (uintptr_t)held > h->fit_end, "malloc under a held lock");
    hold_fit_lock(h, false);
    for (size_t i = 0; i < BLOCKS; i++) {
        reserve_blocks[i] = rt_malloc(h, 40);
        REQUIRE(reserve_blocks[i] != NULL && (uintptr_t)reserve_blocks[i] > h->fit_end,
                "listing call %zu took a good-fit block", i);
        REQUIRE(i % 100 || rt_heap_check(h) == 0, "heap while listing");
    }
    REQUIRE(atomic_load(&h->fit_inbox) == NULL, "blocks still pending");
    void *fit = rt_malloc(h, 40);
    REQUIRE(fit != NULL && (uintptr_t)fit < h->fit_end, "no good fit once nothing is pending");
    rt_free(h, fit);
    rt_free(h, held);
    for (size_t i = 0; i < BLOCKS; i++)
        rt_free(h, reserve_blocks[i]);
    struct rt_heap_stats st;
    rt_heap_stats(h, &st);
    REQUIRE(st.live_bytes == 0 && rt_heap_check(h) == 0, "heap after the pending case");
    printf("FIGURES: blocks left pending and listed: %d\n", BLOCKS);
    free(buf);
#else
    fail("the pending case needs the white-box build (rt_test-white)");
#endif
}

/* ------------------------------------------------------------ calls */
/* Every path of rt_malloc, rt_free and rt_aligned_alloc, adversarially: the
 * good-fit region's splits and merges (with the next block, the previous,
 * both), blocks left pending while another thread holds its lock and
 * listed by the next rt_malloc (the costliest path: a merge with both
 * neighbours, then a search that fails and a reserve block), the reserve's
 * carving, lists and inbox exchange, exhaustion, bad sizes and alignments,
 * double and foreign frees, every size class and alignment. The calls go
 * through volatile pointers so that none is inlined into this function
 * (the white-box build has the heap's code in this file). */
static void case_calls(void)
{
    void *(*volatile call_malloc)(rt_heap_t *, size_t) = rt_malloc;
    void (*volatile call_free)(rt_heap_t *, void *) = rt_free;
    void *(*volatile call_aligned)(rt_heap_t *, size_t, size_t) = rt_aligned_alloc;
    size_t bytes = 4 << 20;
    char *buf = big_buffer(bytes);
    rt_heap_t *h = rt_heap_init(buf, bytes);
    static void *kept[4096];
    size_t n = 0;
    for (size_t s = 0; s <= 70000 && n < 4000; s = s < 64 ? s + 1 : s + s / 5) {
        /* b merges with both neighbours: of b's size (one list), or one of
         * them larger (two lists, which the merge empties) */
        void *a = call_malloc(h, s), *b = call_malloc(h, s);
        void *c = call_malloc(h, n % 4 < 2 ? s : s + 200);
        void *d = call_malloc(h, s);
        void *q = call_aligned(h, (size_t)1 << (n % 14), s);
        call_free(h, a);
        call_free(h, c);
        call_free(h, b);
        a = call_malloc(h, s);
        b = call_malloc(h, s);
        c = call_malloc(h, s);
        hold_fit_lock(h, true);
        call_free(h, b);                 /* left pending */
        void *r = call_malloc(h, s);     /* the reserve: carve, list or inbox */
        void *big = call_malloc(h, 300000);
        hold_fit_lock(h, false);
        call_free(h, a);
        call_free(h, c);
        call_free(h, big);               /* a reserve block onto its inbox */
        big = call_malloc(h, 300000);    /* lists b, no fit, reserve */
        void *t = call_malloc(h, s);
        hold_fit_lock(h, true);
        call_free(h, t);
        hold_fit_lock(h, false);
        t = call_malloc(h, s);           /* lists t, then a good fit */
        call_free(h, r);
        call_free(h, r);                 /* double free */
        call_free(h, (char *)t + 16);    /* interior */
        call_free(h, big);
        call_free(h, d);
        kept[n++] = q;
        kept[n++] = t;
    }
    call_malloc(h, SIZE_MAX);
    call_aligned(h, 3, 10);
    call_aligned(h, 64, SIZE_MAX);
    while (call_malloc(h, 1000) != NULL) /* exhaustion */
        ;
    call_malloc(h, 1000);
    call_aligned(h, 4096, 1000);
    for (size_t i = 0; i < n; i++)
        call_free(h, kept[i]);
    call_free(h, NULL);
    call_free(h, buf);
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
    else if (!strcmp(name, "pending"))
        case_pending();
    else
        fail("unknown case %s", name);
    return 0;
}
