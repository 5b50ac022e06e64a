/*
 * ecc.c: protected memory (include/mymalloc/ecc.h, docs/ECC.md).
 *
 * A table is written into a protected block; then a bit of its storage is
 * flipped, as a cosmic ray or a weak DRAM cell would, and the read returns
 * the table unchanged: the flip is corrected, written back, counted and
 * reported to the error handler. Two flips in one word of a SECDED block
 * cannot be corrected: the read says so (-1, errno EIO) instead of
 * returning wrong data. A TMR block corrects a whole copy gone bad.
 *
 * The flips are made the way the test kit's injector (tools/ecc-inject.c)
 * finds its targets: ecc_regions lists the memory that holds protected
 * storage, and a SECDED block's storage starts with its data words, as
 * written (docs/ECC.md, "Layout"), so the block is the region that starts
 * with the table's first word.
 *
 *   ./ecc
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <mymalloc/ecc.h>

#include "example.h"

#define WORDS 512 /* a 4 KiB table */

static uint64_t table[WORDS];

/* ---- the error handler: records what the library reports ----------------- */

static int reports_corrected, reports_uncorrectable;
static size_t last_offset;

static void on_error(ecc_t block, size_t offset, int corrected)
{
    (void)block; /* the handler must not call ecc_* functions */
    if (corrected)
        reports_corrected++;
    else
        reports_uncorrectable++;
    last_offset = offset;
}

/* ---- finding a block's storage, for the flips ---------------------------- */

struct search {
    uint64_t first_word;
    size_t length;
    unsigned char *found;
};

static int find_storage(void *base, size_t length, void *arg)
{
    struct search *search = arg;
    if (length == search->length && memcmp(base, &search->first_word, 8) == 0)
        search->found = base;
    return 0; /* go on: no ecc_* call in here, the table is locked */
}

/* The storage of the block whose data starts with `first_word` and takes
 * `length` bytes of storage. */
static unsigned char *storage_of(uint64_t first_word, size_t length)
{
    struct search search = {first_word, length, NULL};
    EXPECT(ecc_regions(find_storage, &search) == 0, "ecc_regions");
    EXPECT(search.found != NULL, "no region of %zu bytes starts with the table", length);
    return search.found;
}

static void flip(unsigned char *storage, size_t bit)
{
    storage[bit / 8] ^= (unsigned char)(1u << (bit % 8));
}

/* ---- the example ------------------------------------------------------- */

static void secded(void)
{
    ecc_t block = ecc_alloc(sizeof table, ECC_SECDED);
    EXPECT(block != NULL, "ecc_alloc: errno %d", errno);
    EXPECT(ecc_size(block) == sizeof table, "ecc_size");
    EXPECT(ecc_write(block, 0, table, sizeof table) == 0, "ecc_write");

    /* SECDED storage: the data words, then one check byte per word. */
    unsigned char *storage = storage_of(table[0], sizeof table + WORDS);
    struct ecc_stats before;
    ecc_get_stats(&before);

    flip(storage, 100 * 64 + 17); /* one bit of word 100 */
    uint64_t copy[WORDS];
    EXPECT(ecc_read(block, 0, copy, sizeof copy) == 0, "a single flip is corrected: errno %d",
           errno);
    EXPECT(memcmp(copy, table, sizeof table) == 0, "the read returned the table unchanged");
    EXPECT(reports_corrected == 1 && last_offset == 100 * 8, "reported at offset %zu",
           last_offset);
    struct ecc_stats after;
    ecc_get_stats(&after);
    EXPECT(after.corrected == before.corrected + 1, "counted once");
    /* Written back: the storage holds the right word again. */
    EXPECT(memcmp(storage + 100 * 8, &table[100], 8) == 0, "the word was repaired in memory");

    /* A flip of a check bit is corrected too; here the scrub finds it. */
    flip(storage, (sizeof table + 7) * 8 + 3); /* a bit of word 7's check byte */
    EXPECT(ecc_scrub((size_t)-1) >= 1, "the scrub repaired the check byte");
    EXPECT(reports_corrected == 2, "and reported it");

    /* Two flips in one word: detected, never returned wrong. */
    flip(storage, 200 * 64 + 1);
    flip(storage, 200 * 64 + 40);
    errno = 0;
    EXPECT(ecc_read(block, 200 * 8, copy, 8) == -1 && errno == EIO, "a double flip is EIO");
    EXPECT(reports_uncorrectable == 1 && last_offset == 200 * 8, "and reported");
    /* Words around it still read fine, and a write of the whole word heals it. */
    EXPECT(ecc_read(block, 199 * 8, copy, 8) == 0 && copy[0] == table[199], "word 199");
    EXPECT(ecc_write(block, 200 * 8, &table[200], 8) == 0, "rewriting the lost word");
    EXPECT(ecc_read(block, 0, copy, sizeof copy) == 0 && memcmp(copy, table, sizeof table) == 0,
           "the whole table reads back");
    ecc_free(block);
}

static void tmr(void)
{
    ecc_t block = ecc_alloc(sizeof table, ECC_TMR);
    EXPECT(block != NULL, "ecc_alloc: errno %d", errno);
    EXPECT(ecc_write(block, 0, table, sizeof table) == 0, "ecc_write");
    /* TMR storage: three copies of the data, back to back. */
    unsigned char *storage = storage_of(table[0], 3 * sizeof table);
    /* Every bit of word 5 in copy 1 flipped: the vote of copies 0 and 2 wins. */
    for (size_t bit = 0; bit < 64; bit++)
        flip(storage + sizeof table, 5 * 64 + bit);
    uint64_t word;
    EXPECT(ecc_read(block, 5 * 8, &word, 8) == 0 && word == table[5], "TMR outvotes a copy");
    ecc_free(block);
}

int main(void)
{
    for (size_t i = 0; i < WORDS; i++)
        table[i] = 0x0123456789abcdefu * (i + 1);
    ecc_set_error_handler(on_error);
    secded();
    int secded_reports = reports_corrected;
    tmr();
    EXPECT(reports_corrected == secded_reports + 1, "the TMR repair was reported");
    struct ecc_stats stats;
    ecc_get_stats(&stats);
    EXPECT(stats.blocks == 0, "%llu blocks live", stats.blocks);
    printf("ecc: single flips corrected and written back (%llu repairs), a double flip "
           "reported as EIO (%llu), a TMR copy outvoted\n",
           stats.corrected, stats.uncorrectable);
    return 0;
}
