/*
 * codec.h: the two codes of protected memory, on runs of 64-bit words.
 *
 * SECDED is a (72,64) Hsiao code: data bit i contributes column
 * ECC_COLUMN(i) to the 8 check bits (the 56 bytes of weight 3, then the 8
 * rotations of 0x1f, weight 5; every row has weight 26); check bit k is the
 * unit column 1 << k. The syndrome, check bits recomputed XOR check bits
 * stored, is 0 for a clean word, one column for one flipped bit (odd
 * weight: it names the bit), and of even weight, never 0, for two: any two
 * flips are detected, and no odd-weight syndrome is mistaken for them.
 * Encoding is a table lookup per data byte (ecc_encode_table) or, where the
 * CPU has AVX-512 VBMI and GFNI, eight words at a time: VPERMB transposes
 * the 8x8 bytes, VGF2P8AFFINEQB multiplies byte position j by the 8x8 bit
 * matrix of its columns, and an XOR of the eight lanes leaves the 8 check
 * bytes (docs/DECISIONS.md has the measurements).
 *
 * TMR keeps three copies, `stride` words apart; the vote is bitwise
 * majority. A copy that differs is rewritten from the vote.
 *
 * A view (struct ecc_view) is one block's storage: SECDED data words with
 * their check bytes right after them (check byte i belongs to word i), or
 * the three TMR copies back to back. Runs of words are checked while they
 * are copied out: the kernels return the OR of the syndromes (SECDED) or
 * of the copies' differences (TMR), 0 when every word was clean, and the
 * caller takes the word-by-word repair path (ecc_word_repair) otherwise.
 *
 * Racy access: readers check words that a writer may be storing at the
 * same moment. They validate with the block's sequence counter afterwards
 * (table.h) and discard what they read if it moved, so a torn word is never
 * acted on. Single words go through relaxed atomics; the bulk kernels use
 * plain and vector loads, which are not instrumented in ThreadSanitizer
 * builds (ECC_NO_TSAN) for that reason.
 */
#ifndef MM_ECC_CODEC_H
#define MM_ECC_CODEC_H

#include "platform/base.h"

/* The one-word helpers are on every read's path: always inlined. */
#define ECC_INLINE static inline __attribute__((always_inline))

#if defined(__SANITIZE_THREAD__)
#define ECC_NO_TSAN __attribute__((no_sanitize_thread))
#else
#define ECC_NO_TSAN
#endif

/* The storage codes; ECC_CODE_PLAIN is the unprotected baseline build
 * (ECC_PROTECTION_OFF), where every block is stored as one plain copy. */
enum ecc_storage_code { ECC_CODE_SECDED = 0, ECC_CODE_TMR = 1, ECC_CODE_PLAIN = 2 };

/* What a word-by-word check found. */
enum ecc_word_status { ECC_WORD_CLEAN, ECC_WORD_CORRECTED, ECC_WORD_UNCORRECTABLE };

struct ecc_view {
    uint64_t *data;      /* SECDED data words, TMR copy 0, plain words */
    uint8_t *check;      /* SECDED: check byte of word i at check[i] */
    size_t words;        /* words per copy */
    unsigned char code;  /* enum ecc_storage_code */
};

/* ECC_DECODE_* are the decode table's values beside 0..63 (a data bit)
 * and 64..71 (check bit k at 64 + k). */
#define ECC_DECODE_UNCORRECTABLE 0xff

extern const uint8_t ecc_encode_table[8][256];
extern const uint8_t ecc_decode_table[256];

ECC_INLINE uint64_t ecc_load(const uint64_t *word)
{
    return __atomic_load_n(word, __ATOMIC_RELAXED);
}

ECC_INLINE void ecc_store(uint64_t *word, uint64_t value)
{
    __atomic_store_n(word, value, __ATOMIC_RELAXED);
}

ECC_INLINE uint8_t ecc_load_byte(const uint8_t *byte)
{
    return __atomic_load_n(byte, __ATOMIC_RELAXED);
}

ECC_INLINE void ecc_store_byte(uint8_t *byte, uint8_t value)
{
    __atomic_store_n(byte, value, __ATOMIC_RELAXED);
}

/* The 8 check bits of a data word. */
ECC_INLINE uint8_t ecc_check_bits(uint64_t word)
{
    return (uint8_t)(ecc_encode_table[0][word & 0xff] ^ ecc_encode_table[1][(word >> 8) & 0xff] ^
                     ecc_encode_table[2][(word >> 16) & 0xff] ^
                     ecc_encode_table[3][(word >> 24) & 0xff] ^
                     ecc_encode_table[4][(word >> 32) & 0xff] ^
                     ecc_encode_table[5][(word >> 40) & 0xff] ^
                     ecc_encode_table[6][(word >> 48) & 0xff] ^ ecc_encode_table[7][word >> 56]);
}

static inline uint64_t ecc_vote(uint64_t a, uint64_t b, uint64_t c)
{
    return (a & b) | (a & c) | (b & c);
}

/* Word i as stored, and whether it checked clean (no repair, no store). */
ECC_INLINE bool ecc_word_load(const struct ecc_view *view, size_t i, uint64_t *value)
{
    uint64_t a = ecc_load(view->data + i);
    *value = a;
    switch (view->code) {
    case ECC_CODE_SECDED:
        return ecc_check_bits(a) == ecc_load_byte(view->check + i);
    case ECC_CODE_TMR:
        return a == ecc_load(view->data + i + view->words) &&
               a == ecc_load(view->data + i + 2 * view->words);
    default:
        return true;
    }
}

/* Stores word i with its redundancy. */
ECC_INLINE void ecc_word_store(const struct ecc_view *view, size_t i, uint64_t value)
{
    ecc_store(view->data + i, value);
    if (view->code == ECC_CODE_SECDED) {
        ecc_store_byte(view->check + i, ecc_check_bits(value));
    } else if (view->code == ECC_CODE_TMR) {
        ecc_store(view->data + i + view->words, value);
        ecc_store(view->data + i + 2 * view->words, value);
    }
}

/* Checks word i and, if one error is there, corrects it in place; *value is
 * the corrected word (the raw word if uncorrectable). The caller holds the
 * block's write lock. */
enum ecc_word_status ecc_word_repair(const struct ecc_view *view, size_t i, uint64_t *value);

/* The bulk kernels, words [first, first + count) of a view; dst and src
 * need no alignment. copy_out copies the words to dst and returns the OR of
 * their syndromes / differences (0: all clean); verify only checks; store
 * writes src's words with their redundancy. */
uint64_t ecc_copy_out(const struct ecc_view *view, size_t first, void *dst, size_t count);
uint64_t ecc_verify(const struct ecc_view *view, size_t first, size_t count);
void ecc_store_words(const struct ecc_view *view, size_t first, const void *src, size_t count);

/* Which SECDED kernel runs: "gfni-avx512" or "table" (for reports), and,
 * for the codec test and the benchmark, a choice of the table kernel (true)
 * or the vector one (false: returns false where the CPU lacks it). */
const char *ecc_secded_kernel_name(void);
bool ecc_secded_use_table_kernel(bool table);

/* Storage bytes of `words` words in a code. */
static inline size_t ecc_storage_bytes(size_t words, unsigned code)
{
    return code == ECC_CODE_SECDED ? words * 9 : code == ECC_CODE_TMR ? words * 24 : words * 8;
}

#endif /* MM_ECC_CODEC_H */
