/*
 * tests/ecc/codec.c: the codes of protected memory, checked exhaustively
 * against a bit-by-bit reference (src/ecc/codec.h):
 *   columns   the 64 data columns are distinct, of odd weight >= 3; the
 *             decode table names every column and unit vector, and calls
 *             every other syndrome uncorrectable;
 *   single    every one of the 72 bits of a codeword flipped: corrected
 *             and written back, for 2000 random words;
 *   double    every pair of the 72 bits flipped (2556 pairs): detected,
 *             never "corrected", for 200 random words;
 *   kernels   each SECDED kernel (table; GFNI/AVX-512 where the CPU has
 *             it) stores and checks runs of 0..80 words from unaligned
 *             buffers exactly as the reference does, and reports one
 *             flipped bit at any word of the run;
 *   tmr       any set of flips confined to one copy is voted away.
 * Exits 0 on success; prints the kernel tested and FIGURES.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ecc/codec.h"


static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    return check_xorshift(&rng_state);
}

static uint8_t column[64];
static long singles_corrected, doubles_detected;

/* The reference: XOR of the columns of the set bits, one bit at a time. */
static uint8_t reference_check(uint64_t word)
{
    uint8_t check = 0;
    for (int bit = 0; bit < 64; bit++)
        if (word >> bit & 1)
            check ^= column[bit];
    return check;
}

static void test_columns(void)
{
    for (int bit = 0; bit < 64; bit++)
        column[bit] = ecc_encode_table[bit / 8][1u << (bit % 8)];
    for (int i = 0; i < 64; i++) {
        int weight = __builtin_popcount(column[i]);
        CHECK(weight % 2 == 1 && weight >= 3, "column %d = %#x has weight %d", i, column[i], weight);
        for (int j = 0; j < i; j++)
            CHECK(column[i] != column[j], "columns %d and %d are equal", i, j);
    }
    for (int s = 1; s < 256; s++) {
        int expect = ECC_DECODE_UNCORRECTABLE;
        for (int i = 0; i < 64; i++)
            if (column[i] == s)
                expect = i;
        for (int k = 0; k < 8; k++)
            if (s == 1 << k)
                expect = 64 + k;
        CHECK(ecc_decode_table[s] == expect, "decode[%#x] = %d, expected %d", s,
              ecc_decode_table[s], expect);
    }
    /* Every byte of every position: the table is linear in the columns. */
    for (int j = 0; j < 8; j++)
        for (int b = 0; b < 256; b++)
            CHECK(ecc_encode_table[j][b] == reference_check((uint64_t)b << (8 * j)),
                  "encode[%d][%#x]", j, b);
}

/* A one-word SECDED view over data[0], check[0]. */
static struct ecc_view one_word(uint64_t *data, uint8_t *check)
{
    return (struct ecc_view){.data = data, .check = check, .words = 1, .code = ECC_CODE_SECDED};
}

/* Flips codeword bit `bit` (0..63 data, 64..71 check). */
static void flip(uint64_t *data, uint8_t *check, int bit)
{
    if (bit < 64)
        *data ^= (uint64_t)1 << bit;
    else
        *check ^= (uint8_t)(1u << (bit - 64));
}

static void test_single(void)
{
    for (int round = 0; round < 2000; round++) {
        uint64_t word = round < 2 ? (round ? ~0ULL : 0) : rnd();
        for (int bit = 0; bit < 72; bit++) {
            uint64_t data = word;
            uint8_t check = reference_check(word);
            flip(&data, &check, bit);
            struct ecc_view view = one_word(&data, &check);
            uint64_t value;
            CHECK(!ecc_word_load(&view, 0, &value), "flip of bit %d not seen", bit);
            CHECK(ecc_word_repair(&view, 0, &value) == ECC_WORD_CORRECTED, "bit %d", bit);
            CHECK(value == word && data == word && check == reference_check(word),
                  "bit %d of %#llx not corrected", bit, (unsigned long long)word);
            CHECK(ecc_word_repair(&view, 0, &value) == ECC_WORD_CLEAN, "bit %d: still dirty", bit);
            singles_corrected += value == word && data == word;
        }
    }
}

static void test_double(void)
{
    long pairs = 0;
    for (int round = 0; round < 200; round++) {
        uint64_t word = rnd();
        for (int a = 0; a < 72; a++)
            for (int b = a + 1; b < 72; b++) {
                uint64_t data = word;
                uint8_t check = reference_check(word);
                flip(&data, &check, a);
                flip(&data, &check, b);
                uint64_t flipped_data = data;
                uint8_t flipped_check = check;
                struct ecc_view view = one_word(&data, &check);
                uint64_t value;
                bool detected = ecc_word_repair(&view, 0, &value) == ECC_WORD_UNCORRECTABLE;
                CHECK(detected, "bits %d and %d not detected", a, b);
                doubles_detected += detected;
                CHECK(data == flipped_data && check == flipped_check,
                      "bits %d and %d: the word was changed", a, b);
                pairs++;
            }
    }
    printf("double flips detected: %ld of %ld\n", doubles_detected, pairs);
}

static void test_kernel(const char *name)
{
    enum { MAX = 80 };
    uint64_t data[MAX + 8], words[MAX + 8];
    uint8_t check[MAX + 8];
    unsigned char src[8 * MAX + 3], dst[8 * MAX + 3];
    for (size_t count = 0; count <= MAX; count++)
        for (size_t misalign = 0; misalign < 3; misalign++) {
            for (size_t i = 0; i < count; i++)
                words[i] = rnd();
            memcpy(src + misalign, words, 8 * count);
            memset(data, 0xa5, sizeof data);
            memset(check, 0x5a, sizeof check);
            struct ecc_view view = {.data = data, .check = check, .words = count,
                                    .code = ECC_CODE_SECDED};
            ecc_store_words(&view, 0, src + misalign, count);
            for (size_t i = 0; i < count; i++)
                CHECK(data[i] == words[i] && check[i] == reference_check(words[i]),
                      "%s: store of %zu words, word %zu", name, count, i);
            CHECK(data[count] == 0xa5a5a5a5a5a5a5a5ULL && check[count] == 0x5a,
                  "%s: store of %zu words wrote past the run", name, count);
            CHECK(ecc_copy_out(&view, 0, dst + misalign, count) == 0, "%s: clean run of %zu",
                  name, count);
            CHECK(memcmp(dst + misalign, words, 8 * count) == 0, "%s: copy of %zu", name, count);
            CHECK(ecc_verify(&view, 0, count) == 0, "%s: verify of %zu", name, count);
            if (count == 0)
                continue;
            size_t at = rnd() % count;
            int bit = (int)(rnd() % 72);
            flip(&data[at], &check[at], bit);
            CHECK(ecc_copy_out(&view, 0, dst, count) != 0, "%s: flip of bit %d at word %zu of %zu"
                  " not seen", name, bit, at, count);
            CHECK(ecc_verify(&view, 0, count) != 0, "%s: verify missed a flip", name);
            uint64_t value;
            CHECK(ecc_word_repair(&view, at, &value) == ECC_WORD_CORRECTED && value == words[at],
                  "%s: repair", name);
            CHECK(ecc_verify(&view, 0, count) == 0, "%s: verify after repair", name);
        }
}

static void test_tmr(void)
{
    enum { WORDS = 37 };
    uint64_t copies[3 * WORDS];
    unsigned char src[8 * WORDS], dst[8 * WORDS];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (unsigned char)rnd();
    struct ecc_view view = {.data = copies, .check = NULL, .words = WORDS, .code = ECC_CODE_TMR};
    for (int round = 0; round < 2000; round++) {
        ecc_store_words(&view, 0, src, WORDS);
        CHECK(ecc_copy_out(&view, 0, dst, WORDS) == 0 && memcmp(dst, src, sizeof src) == 0,
              "tmr clean copy");
        size_t word = rnd() % WORDS, copy = rnd() % 3;
        uint64_t flips = rnd() | 1; /* many bits, never none */
        copies[copy * WORDS + word] ^= flips;
        CHECK(ecc_copy_out(&view, 0, dst, WORDS) != 0, "tmr flip not seen");
        uint64_t value;
        CHECK(ecc_word_repair(&view, word, &value) == ECC_WORD_CORRECTED, "tmr repair");
        CHECK(value == copies[word] && copies[word] == copies[WORDS + word] &&
                  copies[word] == copies[2 * WORDS + word],
              "tmr copies after repair");
        CHECK(ecc_copy_out(&view, 0, dst, WORDS) == 0 && memcmp(dst, src, sizeof src) == 0,
              "tmr data after repair");
    }
}

int main(void)
{
    test_columns();
    test_single();
    test_double();
    ecc_secded_use_table_kernel(true);
    test_kernel(ecc_secded_kernel_name());
    int kernels = 1;
    if (ecc_secded_use_table_kernel(false)) {
        test_kernel(ecc_secded_kernel_name());
        kernels++;
    } else {
        printf("the CPU has no AVX-512 VBMI + GFNI: the vector kernel is not tested\n");
    }
    test_tmr();
    printf("FIGURES: kernels_tested=%d singles_corrected=%ld/%d doubles_detected=%ld/%d\n", kernels,
           singles_corrected, 2000 * 72, doubles_detected, 200 * 72 * 71 / 2);
    if (check_failures) {
        printf("codec: %d failures\n", check_failures);
        return 1;
    }
    printf("codec: passed\n");
    return 0;
}
