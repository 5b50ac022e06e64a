/*
 * tests/ecc/api.c: protected blocks through the public calls (and the
 * internal walk of areas, to aim flips), one case per --case=NAME:
 *   basic       sizes 0..1 MiB+3 in both codes: zero-filled, random writes
 *               and reads at random offsets match a shadow copy; stats
 *               count blocks and bytes; freeing everything gives back every
 *               byte mapped but the table's segments;
 *   bad         EINVAL and nothing written for out-of-range offsets and
 *               lengths (incl. wrap-around), NULL buffers, invalid, foreign
 *               and stale handles; ENOMEM for SIZE_MAX; EINVAL for an
 *               unknown code; ecc_free of a freed or foreign handle is
 *               reported (the child aborts with the message);
 *   flips       single flips in data, check bits, every copy and every
 *               metadata word (size, base, tag, links of free slots, the
 *               directory) are corrected on access or by the scrub, counted
 *               and handed to the handler with the right offset; two flips
 *               in one SECDED word give EIO (never wrong data), a partial
 *               write over it EIO and nothing written, a whole write
 *               repairs it; any flips in one TMR copy are corrected; after
 *               one scrub pass a second finds nothing;
 *   scrubber    the hosted thread repairs flips without any read;
 *   threads     readers, a writer, the scrub and an in-process flipper
 *               (atomic XOR: a true single-event upset) on shared blocks,
 *               plus threads allocating and freeing their own: readers see
 *               only whole writes, never an error, never a wrong byte.
 * Exits 0 on success.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ecc/table.h"
#include "check.h"
#include "mymalloc/ecc.h"
#include "platform/mapped.h"

static _Thread_local uint64_t rng_state;
static uint64_t rnd(void)
{
    if (rng_state == 0)
        rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)pthread_self();
    return check_xorshift(&rng_state);
}

static const char *code_name(enum ecc_code code) { return code == ECC_TMR ? "tmr" : "secded"; }

/* ---- basic ------------------------------------------------------------------- */

static void test_basic(void)
{
    static const size_t sizes[] = {0, 1, 7, 8, 9, 63, 64, 65, 100, 4095, 4096, 65537, (1 << 20) + 3};
    enum { N = sizeof sizes / sizeof sizes[0] };
    ecc_t blocks[2][N];
    unsigned char *shadow[2][N];
    unsigned long long bytes = 0;
    unsigned char *buffer = malloc((1 << 20) + 16);
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < N; i++)
            shadow[c][i] = calloc(1, sizes[i] + 1);
    /* The library's malloc maps too: count only from here. */
    size_t held_before = mm_prim_held_bytes();
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < N; i++) {
            blocks[c][i] = ecc_alloc(sizes[i], (enum ecc_code)c);
            CHECK(blocks[c][i] != NULL, "alloc %zu %s", sizes[i], code_name(c));
            CHECK(ecc_size(blocks[c][i]) == sizes[i], "size of %zu", sizes[i]);
            bytes += sizes[i];
        }
    struct ecc_stats stats;
    ecc_get_stats(&stats);
    CHECK(stats.blocks == 2 * N && stats.bytes == bytes, "stats %llu blocks %llu bytes",
          stats.blocks, stats.bytes);
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < N; i++) {
            size_t size = sizes[i];
            if (size > 0) {
                CHECK(ecc_read(blocks[c][i], 0, buffer, size) == 0, "read");
                size_t nonzero = 0;
                for (size_t b = 0; b < size; b++)
                    nonzero += buffer[b] != 0;
                CHECK(nonzero == 0, "%s block of %zu not zero-filled", code_name(c), size);
            }
            for (int op = 0; op < 300 && size > 0; op++) {
                size_t offset = rnd() % size;
                size_t n = rnd() % (size - offset + 1);
                if (op % 3 == 0 && n > 64)
                    n = rnd() % 64;
                if (op % 2 == 0) {
                    for (size_t b = 0; b < n; b++)
                        buffer[b] = (unsigned char)rnd();
                    CHECK(ecc_write(blocks[c][i], offset, buffer, n) == 0, "write");
                    memcpy(shadow[c][i] + offset, buffer, n);
                } else {
                    CHECK(ecc_read(blocks[c][i], offset, buffer + 1, n) == 0, "read");
                    CHECK(memcmp(buffer + 1, shadow[c][i] + offset, n) == 0,
                          "%s size %zu: read [%zu, +%zu) differs", code_name(c), size, offset, n);
                }
            }
            if (size > 0) {
                CHECK(ecc_read(blocks[c][i], 0, buffer, size) == 0, "read all");
                CHECK(memcmp(buffer, shadow[c][i], size) == 0, "%s size %zu: final contents",
                      code_name(c), size);
            }
        }
    size_t held_live = mm_prim_held_bytes();
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < N; i++)
            ecc_free(blocks[c][i]);
    ecc_get_stats(&stats);
    CHECK(stats.blocks == 0 && stats.bytes == 0, "stats after free: %llu blocks", stats.blocks);
    size_t segment_bytes = ecc_mapped_bytes(sizeof(struct ecc_segment));
    CHECK(mm_prim_held_bytes() <= held_before + segment_bytes,
          "held %zu after free, %zu before (+ one segment %zu)", mm_prim_held_bytes(), held_before,
          segment_bytes);
    printf("basic: storage held for %d blocks: %zu bytes\n", 2 * N, held_live - held_before);
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < N; i++)
            free(shadow[c][i]);
    free(buffer);
}

/* ---- bad input ------------------------------------------------------------------ */

/* Runs ecc_free(block) in a child: it must abort with `message` on stderr. */
static void expect_bad_free(ecc_t block, const char *message)
{
    int pipe_fd[2];
    if (pipe(pipe_fd) != 0)
        abort();
    pid_t child = fork();
    if (child == 0) {
        dup2(pipe_fd[1], 2);
        ecc_free(block);
        _exit(0);
    }
    close(pipe_fd[1]);
    char text[512] = "";
    ssize_t length = read(pipe_fd[0], text, sizeof text - 1);
    close(pipe_fd[0]);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "bad free of %p did not abort",
          (void *)block);
    CHECK(length > 0 && strstr(text, message) != NULL, "bad free said \"%s\", expected \"%s\"",
          text, message);
}

static void test_bad(void)
{
    for (int c = 0; c < 2; c++) {
        ecc_t block = ecc_alloc(100, (enum ecc_code)c);
        unsigned char pattern[100], out[200];
        memset(pattern, 0x3c, sizeof pattern);
        CHECK(ecc_write(block, 0, pattern, 100) == 0, "write");
        struct {
            size_t offset, n;
        } bad[] = {{101, 0}, {100, 1}, {0, 101}, {99, 2}, {1, SIZE_MAX}, {SIZE_MAX, 1},
                   {SIZE_MAX, SIZE_MAX}};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            memset(out, 0x11, sizeof out);
            errno = 0;
            CHECK(ecc_write(block, bad[i].offset, out, bad[i].n) == -1 && errno == EINVAL,
                  "write [%zu, +%zu)", bad[i].offset, bad[i].n);
            errno = 0;
            CHECK(ecc_read(block, bad[i].offset, out, bad[i].n) == -1 && errno == EINVAL,
                  "read [%zu, +%zu)", bad[i].offset, bad[i].n);
            CHECK(out[0] == 0x11, "a refused read wrote its buffer");
        }
        CHECK(ecc_read(block, 0, out, 100) == 0 && memcmp(out, pattern, 100) == 0,
              "refused writes changed the block");
        CHECK(ecc_read(block, 100, out, 0) == 0 && ecc_write(block, 100, out, 0) == 0,
              "empty access at the end");
        errno = 0;
        CHECK(ecc_read(block, 0, NULL, 1) == -1 && errno == EINVAL, "NULL dst");
        errno = 0;
        CHECK(ecc_write(block, 0, NULL, 1) == -1 && errno == EINVAL, "NULL src");
        ecc_free(block);
        errno = 0;
        CHECK(ecc_read(block, 0, out, 1) == -1 && errno == EINVAL, "read of a freed block");
        errno = 0;
        CHECK(ecc_size(block) == 0 && errno == EINVAL, "size of a freed block");
        expect_bad_free(block, "double free");
        /* The slot is reused: the stale handle is still refused. */
        ecc_t again = ecc_alloc(100, (enum ecc_code)c);
        CHECK(again != block, "a reused slot kept its generation");
        errno = 0;
        CHECK(ecc_write(block, 0, pattern, 1) == -1 && errno == EINVAL, "write by a stale handle");
        expect_bad_free(block, "double free");
        ecc_free(again);
    }
    void *foreign = malloc(64);
    errno = 0;
    CHECK(ecc_read((ecc_t)foreign, 0, foreign, 1) == -1 && errno == EINVAL, "foreign handle");
    errno = 0;
    CHECK(ecc_size((ecc_t)0xec00000000fffffeULL) == 0 && errno == EINVAL, "unused slot");
    CHECK(ecc_read(NULL, 0, foreign, 0) == -1, "NULL handle");
    expect_bad_free((ecc_t)foreign, "invalid pointer");
    expect_bad_free((ecc_t)0xec00000000fffffeULL, "invalid pointer");
    free(foreign);
    ecc_free(NULL);
    errno = 0;
    CHECK(ecc_alloc(SIZE_MAX, ECC_SECDED) == NULL && errno == ENOMEM, "SIZE_MAX");
    errno = 0;
    CHECK(ecc_alloc((size_t)1 << 41, ECC_TMR) == NULL && errno == ENOMEM, "2^41");
    errno = 0;
    CHECK(ecc_alloc(8, (enum ecc_code)7) == NULL && errno == EINVAL, "unknown code");
    ecc_t empty = ecc_alloc(0, ECC_TMR);
    CHECK(empty != NULL && ecc_size(empty) == 0, "size 0");
    ecc_free(empty);
    errno = 0;
    CHECK(ecc_scrubber_start(0) == -1 && errno == EINVAL, "scrubber period 0");
    /* A platform without threads (the freestanding build). */
    void *(*thread_start)(void (*)(void *), void *) = mm_prim_table.thread_start;
    mm_prim_table.thread_start = NULL;
    errno = 0;
    CHECK(ecc_scrubber_start(100) == -1 && errno == EINVAL, "scrubber without threads");
    mm_prim_table.thread_start = thread_start;
}

/* ---- flips ------------------------------------------------------------------------ */

struct event {
    ecc_t block;
    size_t offset;
    int corrected;
};
static struct event events[4096];
static atomic_int event_count;

static void record(ecc_t block, size_t offset, int corrected)
{
    int i = atomic_fetch_add(&event_count, 1);
    if (i < 4096)
        events[i] = (struct event){block, offset, corrected};
}

/* The area of a block (storage) or the metadata areas, found by walking. */
struct find {
    ecc_t block;
    int metadata_index; /* which metadata area, or -1 */
    struct ecc_area area;
    int seen_metadata;
    bool found;
};

static int find_area(const struct ecc_area *area, void *arg)
{
    struct find *find = arg;
    if (area->metadata ? find->metadata_index == find->seen_metadata++
                       : find->metadata_index < 0 && area->block == find->block) {
        find->area = *area;
        find->found = true;
        return 1;
    }
    return 0;
}

static struct ecc_area area_of(ecc_t block, int metadata_index)
{
    struct find find = {.block = block, .metadata_index = metadata_index};
    ecc_walk_areas(find_area, &find);
    if (!find.found) {
        fprintf(stderr, "no area\n");
        exit(1);
    }
    return find.area;
}

static void flip_bit(void *base, size_t byte, int bit)
{
    ((unsigned char *)base)[byte] ^= (unsigned char)(1u << bit);
}

static unsigned long long corrected_now(void)
{
    struct ecc_stats stats;
    ecc_get_stats(&stats);
    return stats.corrected;
}

static int count_region(void *base, size_t length, void *count)
{
    *(int *)count += base != NULL && length > 0;
    return 0;
}

static void test_flips(void)
{
    int regions = 0;
    ecc_set_error_handler(record);
    unsigned char buffer[4096], out[4096];
    for (size_t i = 0; i < sizeof buffer; i++)
        buffer[i] = (unsigned char)rnd();
    for (int c = 0; c < 2; c++) {
        ecc_t block = ecc_alloc(1000, (enum ecc_code)c);
        ecc_write(block, 0, buffer, 1000);
        struct ecc_area area = area_of(block, -1);
        CHECK(area.length == (c ? 3000 : 1125), "%s area of 1000 bytes is %zu", code_name(c),
              area.length);
        /* Every bit of the storage, one at a time. */
        for (size_t byte = 0; byte < area.length; byte++)
            for (int bit = 0; bit < 8; bit++) {
                atomic_store(&event_count, 0);
                unsigned long long before = corrected_now();
                flip_bit(area.base, byte, bit);
                size_t word = c ? byte % 1000 / 8 : byte < 1000 ? byte / 8 : byte - 1000;
                CHECK(ecc_read(block, 0, out, 1000) == 0 && memcmp(out, buffer, 1000) == 0,
                      "%s: flip of byte %zu bit %d: read", code_name(c), byte, bit);
                CHECK(corrected_now() == before + 1, "%s: flip of byte %zu not counted",
                      code_name(c), byte);
                CHECK(atomic_load(&event_count) == 1 && events[0].block == block &&
                          events[0].offset == 8 * word && events[0].corrected,
                      "%s: flip of byte %zu bit %d: handler got %d events, offset %zu",
                      code_name(c), byte, bit, atomic_load(&event_count), events[0].offset);
                CHECK(ecc_scrub((size_t)-1) == 0, "repaired flip still there");
            }
        /* Two flips in one byte. */
        atomic_store(&event_count, 0);
        flip_bit(area.base, 80, 1);
        flip_bit(area.base, 80, 6);
        errno = 0;
        int result = ecc_read(block, 80, out, 8);
        if (c == ECC_SECDED) {
            CHECK(result == -1 && errno == EIO, "secded double flip: read gave %d", result);
            CHECK(atomic_load(&event_count) == 1 && !events[0].corrected && events[0].offset == 80,
                  "secded double flip: handler");
            errno = 0;
            CHECK(ecc_write(block, 81, out, 2) == -1 && errno == EIO, "partial write over it");
            CHECK(ecc_read(block, 0, out, 80) == 0 && memcmp(out, buffer, 80) == 0,
                  "the words around it");
            CHECK(ecc_write(block, 80, buffer + 80, 8) == 0, "whole write over it");
        } else {
            CHECK(result == 0 && memcmp(out, buffer + 80, 8) == 0, "tmr double flip");
        }
        CHECK(ecc_read(block, 0, out, 1000) == 0 && memcmp(out, buffer, 1000) == 0, "after");
        if (c == ECC_TMR) {
            /* Every bit of one copy of a word. */
            atomic_store(&event_count, 0);
            for (int bit = 0; bit < 8; bit++)
                for (size_t byte = 2000 + 8 * 10; byte < 2000 + 8 * 11; byte++)
                    flip_bit(area.base, byte, bit);
            CHECK(ecc_read(block, 80, out, 8) == 0 && memcmp(out, buffer + 80, 8) == 0,
                  "tmr: all 64 bits of copy 2 flipped");
        }
        /* The last word, beyond the size. */
        ecc_t odd = ecc_alloc(13, (enum ecc_code)c);
        ecc_write(odd, 0, buffer, 13);
        struct ecc_area odd_area = area_of(odd, -1);
        flip_bit(odd_area.base, 15, 7); /* a byte past the size, in the last word */
        CHECK(ecc_read(odd, 12, out, 1) == 0 && out[0] == buffer[12], "tail word");
        CHECK(ecc_scrub((size_t)-1) == 0, "tail flip left");
        flip_bit(odd_area.base, 14, 0);
        flip_bit(odd_area.base, 14, 1);
        if (c == ECC_SECDED) {
            CHECK(ecc_write(odd, 8, buffer, 5) == 0, "a write of the whole tail word");
            CHECK(ecc_read(odd, 0, out, 13) == 0 && memcmp(out, buffer, 8) == 0 &&
                      memcmp(out + 8, buffer, 5) == 0,
                  "after the whole tail write");
        }
        ecc_free(odd);
        ecc_free(block);
    }
    /* Metadata: every bit of a live block's metadata words, and of a free
     * slot's, and of the directory's used words. */
    ecc_t block = ecc_alloc(200, ECC_TMR);
    ecc_write(block, 0, buffer, 200);
    ecc_t freed = ecc_alloc(8, ECC_SECDED);
    ecc_free(freed);
    uint32_t number, generation, freed_number;
    ecc_handle_decode(block, &number, &generation);
    ecc_handle_decode(freed, &freed_number, &generation);
    struct ecc_area directory = area_of(NULL, 0), segment = area_of(NULL, 1);
    int meta_flips = 0;
    unsigned long long before = corrected_now();
    for (int copy = 0; copy < 3; copy++)
        for (int field = 0; field < ECC_META_WORDS; field++)
            for (int bit = 0; bit < 64; bit++) {
                uint64_t *plane = (uint64_t *)segment.base + copy * segment.view.words;
                plane[(number & (ECC_SEGMENT_SLOTS - 1)) * ECC_META_WORDS + field] ^= 1ULL << bit;
                CHECK(ecc_size(block) == 200, "size after flipping copy %d field %d bit %d", copy,
                      field, bit);
                CHECK(ecc_read(block, 0, out, 200) == 0 && memcmp(out, buffer, 200) == 0,
                      "data after a metadata flip");
                meta_flips++;
                /* field NEXT is not read by ecc_size or ecc_read: the scrub finds it */
                ecc_scrub((size_t)-1);
                plane[(freed_number & (ECC_SEGMENT_SLOTS - 1)) * ECC_META_WORDS + field] ^=
                    1ULL << bit;
                ecc_scrub((size_t)-1);
                meta_flips++;
            }
    for (int copy = 0; copy < 3; copy++)
        for (int word = 0; word < 3; word++)
            for (int bit = 0; bit < 64; bit++) {
                uint64_t *plane = (uint64_t *)directory.base + copy * directory.view.words;
                plane[word] ^= 1ULL << bit;
                CHECK(ecc_read(block, 0, out, 200) == 0 && memcmp(out, buffer, 200) == 0,
                      "data after a directory flip");
                ecc_scrub((size_t)-1);
                meta_flips++;
            }
    /* A dirty directory word met with the table locked: by the walk, by
     * alloc, by free (each must repair it in place, not wait for itself). */
    for (int call = 0; call < 3; call++) {
        uint64_t *plane = (uint64_t *)directory.base + (1 + call % 2) * directory.view.words;
        plane[ECC_DIRECTORY_SEGMENT0] ^= 1ULL << (5 + call);
        if (call == 0) {
            CHECK(ecc_regions(count_region, &regions) == 0 && regions >= 3, "regions");
        } else {
            ecc_t other = ecc_alloc(8, ECC_TMR);
            CHECK(other != NULL, "alloc");
            if (call == 2)
                plane[ECC_DIRECTORY_SEGMENT0] ^= 1ULL << 9;
            ecc_free(other);
        }
        meta_flips += call == 2 ? 2 : 1;
    }
    CHECK(corrected_now() == before + (unsigned long long)meta_flips,
          "metadata: %llu corrected of %d flips", corrected_now() - before, meta_flips);
    ecc_t reused = ecc_alloc(8, ECC_SECDED);
    uint32_t reused_number;
    ecc_handle_decode(reused, &reused_number, &generation);
    CHECK(reused_number == freed_number, "the free slot (flipped %d times) was reused",
          3 * ECC_META_WORDS * 64);
    ecc_free(reused);
    /* Scrub: many flips over many blocks, one pass repairs all, the next none. */
    ecc_t many[64];
    int flips = 0;
    for (int i = 0; i < 64; i++) {
        many[i] = ecc_alloc(1 + rnd() % 20000, (enum ecc_code)(i % 2));
        struct ecc_area area = area_of(many[i], -1);
        /* One flip per codeword: data, check byte or copy of a distinct word. */
        static bool hit[2500];
        memset(hit, 0, sizeof hit);
        for (size_t at = rnd() % 64; at < area.length; at += 4096 + rnd() % 64) {
            size_t words = area.view.words;
            size_t word = i % 2 ? at % (8 * words) / 8 : at < 8 * words ? at / 8 : at - 8 * words;
            if (hit[word])
                continue;
            hit[word] = true;
            flip_bit(area.base, at, (int)(rnd() % 8));
            flips++;
        }
    }
    before = corrected_now();
    size_t repaired = ecc_scrub((size_t)-1);
    CHECK(repaired == (size_t)flips && corrected_now() == before + flips,
          "scrub repaired %zu of %d flips", repaired, flips);
    CHECK(ecc_scrub((size_t)-1) == 0, "latent errors after one pass");
    /* Bounded steps: 1 KiB at a time still reaches everything. */
    struct ecc_area area = area_of(many[63], -1);
    flip_bit(area.base, area.length - 1, 3);
    size_t steps = 0;
    while (ecc_scrub(1024) == 0 && steps < 100000)
        steps++;
    CHECK(steps < 100000, "bounded scrub steps never reached the last byte");
    for (int i = 0; i < 64; i++)
        ecc_free(many[i]);
    ecc_free(block);
    printf("flips: %d metadata flips corrected; %d flips repaired by one scrub pass\n",
           meta_flips, flips);
    ecc_set_error_handler(NULL);
}

/* ---- the scrubber thread ----------------------------------------------------------- */

static void test_scrubber(void)
{
    ecc_t block = ecc_alloc(1 << 16, ECC_SECDED);
    struct ecc_area area = area_of(block, -1);
    CHECK(ecc_scrubber_start(20) == 0, "scrubber start");
    errno = 0;
    CHECK(ecc_scrubber_start(20) == -1 && errno == EINVAL, "a second scrubber");
    unsigned long long before = corrected_now();
    for (int i = 0; i < 50; i++)
        __atomic_fetch_xor((unsigned char *)area.base + 1000 * i, 4, __ATOMIC_RELAXED);
    for (int wait = 0; wait < 200 && corrected_now() < before + 50; wait++)
        usleep(5000);
    CHECK(corrected_now() == before + 50, "scrubber repaired %llu of 50",
          corrected_now() - before);
    ecc_scrubber_stop();
    ecc_scrubber_stop();
    ecc_free(block);
}

/* ---- threads ----------------------------------------------------------------------- */

enum { SHARED = 4, SHARED_WORDS = 512 };
static ecc_t shared[SHARED];
static struct ecc_area shared_area[SHARED];
static atomic_bool stop;
static atomic_long reads_done, wrong_reads, read_errors, writes_done;

/* Every word of a shared block holds the same version: a read that sees two
 * versions saw a torn write. */
static void *reader(void *arg)
{
    uint64_t words[SHARED_WORDS];
    while (!atomic_load(&stop)) {
        int b = (int)(rnd() % SHARED);
        size_t first = rnd() % SHARED_WORDS, count = 1 + rnd() % (SHARED_WORDS - first);
        if (ecc_read(shared[b], 8 * first, words, 8 * count) != 0) {
            fprintf(stderr, "read error: %s\n", strerror(errno));
            atomic_fetch_add(&read_errors, 1);
            continue;
        }
        for (size_t i = 1; i < count; i++)
            if (words[i] != words[0]) {
                atomic_fetch_add(&wrong_reads, 1);
                break;
            }
        if ((words[0] & 0xffff) != (uint64_t)b)
            atomic_fetch_add(&wrong_reads, 1);
        atomic_fetch_add(&reads_done, 1);
    }
    return arg;
}

static void *writer(void *arg)
{
    uint64_t words[SHARED_WORDS];
    for (uint64_t version = 1; !atomic_load(&stop); version++) {
        int b = (int)(rnd() % SHARED);
        for (int i = 0; i < SHARED_WORDS; i++)
            words[i] = version << 16 | (uint64_t)b;
        if (ecc_write(shared[b], 0, words, sizeof words) != 0)
            atomic_fetch_add(&read_errors, 1);
        atomic_fetch_add(&writes_done, 1);
    }
    return arg;
}

/* One flip pending at a time, by an atomic XOR (a true single-event upset):
 * the next comes once the last was corrected or overwritten (the byte
 * changed), or after 50 ms, so that two flips do not meet in one codeword. */
static void *flipper(void *arg)
{
    long *count = arg;
    while (!atomic_load(&stop)) {
        int b = (int)(rnd() % SHARED);
        size_t byte = rnd() % shared_area[b].length;
        unsigned char *target = (unsigned char *)shared_area[b].base + byte;
        unsigned long long before = corrected_now();
        unsigned char flipped = __atomic_xor_fetch(target, (unsigned char)(1u << (rnd() % 8)),
                                                   __ATOMIC_RELAXED);
        (*count)++;
        for (int wait = 0; wait < 500 && corrected_now() == before &&
                           __atomic_load_n(target, __ATOMIC_RELAXED) == flipped;
             wait++)
            usleep(100);
    }
    return arg;
}

static void *scrubber(void *arg)
{
    while (!atomic_load(&stop))
        ecc_scrub(8192);
    return arg;
}

static void *churner(void *arg)
{
    unsigned char data[300], out[300];
    while (!atomic_load(&stop)) {
        size_t size = 1 + rnd() % 300;
        ecc_t block = ecc_alloc(size, (enum ecc_code)(rnd() % 2));
        for (size_t i = 0; i < size; i++)
            data[i] = (unsigned char)rnd();
        ecc_write(block, 0, data, size);
        if (ecc_read(block, 0, out, size) != 0 || memcmp(out, data, size) != 0)
            atomic_fetch_add(&wrong_reads, 1);
        ecc_free(block);
    }
    return arg;
}

static void test_threads(double seconds)
{
    for (int b = 0; b < SHARED; b++) {
        shared[b] = ecc_alloc(8 * SHARED_WORDS, (enum ecc_code)(b % 2));
        uint64_t words[SHARED_WORDS];
        for (int i = 0; i < SHARED_WORDS; i++)
            words[i] = (uint64_t)b;
        ecc_write(shared[b], 0, words, sizeof words);
        shared_area[b] = area_of(shared[b], -1);
    }
    unsigned long long before = corrected_now();
    long flips = 0;
    pthread_t threads[8];
    void *(*roles[8])(void *) = {reader, reader, reader, writer, scrubber, flipper, churner, churner};
    for (int i = 0; i < 8; i++)
        pthread_create(&threads[i], NULL, roles[i], roles[i] == flipper ? (void *)&flips : NULL);
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&stop, true);
    for (int i = 0; i < 8; i++)
        pthread_join(threads[i], NULL);
    ecc_scrub((size_t)-1);
    CHECK(ecc_scrub((size_t)-1) == 0, "latent errors after the threads");
    unsigned long long corrected = corrected_now() - before;
    CHECK(atomic_load(&wrong_reads) == 0, "%ld wrong reads", atomic_load(&wrong_reads));
    CHECK(atomic_load(&read_errors) == 0, "%ld errors", atomic_load(&read_errors));
    CHECK(atomic_load(&reads_done) > 0 && atomic_load(&writes_done) > 0, "no progress");
    /* A flip overwritten by a write before anything read it is gone
     * without a count: corrected <= flips. */
    CHECK(corrected <= (unsigned long long)flips, "%llu corrected, %ld flips", corrected, flips);
    printf("FIGURES: reads=%ld writes=%ld flips=%ld corrected=%llu wrong=%ld errors=%ld\n",
           atomic_load(&reads_done), atomic_load(&writes_done), flips, corrected,
           atomic_load(&wrong_reads), atomic_load(&read_errors));
    for (int b = 0; b < SHARED; b++)
        ecc_free(shared[b]);
}

int main(int argc, char **argv)
{
    const char *which = "all";
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--case=", 7) == 0)
            which = argv[i] + 7;
        else if (strncmp(argv[i], "--seconds=", 10) == 0)
            seconds = atof(argv[i] + 10);
    }
    bool all = strcmp(which, "all") == 0;
    if (all || strcmp(which, "basic") == 0)
        test_basic();
    if (all || strcmp(which, "bad") == 0)
        test_bad();
    if (all || strcmp(which, "flips") == 0)
        test_flips();
    if (all || strcmp(which, "scrubber") == 0)
        test_scrubber();
    if (all || strcmp(which, "threads") == 0)
        test_threads(seconds);
    if (check_failures) {
        printf("ecc api %s: %d failures\n", which, check_failures);
        return 1;
    }
    printf("ecc api %s: passed\n", which);
    return 0;
}
