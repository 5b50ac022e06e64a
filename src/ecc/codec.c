/*
 * codec.c: the SECDED tables and kernels, the TMR kernels (codec.h says
 * what the codes are). The tables are constants computed by the
 * preprocessor from the column list below, so they sit in read-only data
 * with the code; the unit test (tests/ecc/codec.c) checks the code's
 * properties and every kernel against a bit-by-bit reference.
 *
 * Invariant: for every word w, ecc_check_bits(w) is the XOR of the columns
 * of w's set bits, and every kernel computes exactly that.
 */
#include "ecc/codec.h"
#include "platform/memops.h"

/* The columns of data bits 8j .. 8j+7: the weight-3 bytes in increasing
 * order, then the weight-5 rotations of 0x1f. */
#define ECC_COLUMNS_0 0x07, 0x0b, 0x0d, 0x0e, 0x13, 0x15, 0x16, 0x19
#define ECC_COLUMNS_1 0x1a, 0x1c, 0x23, 0x25, 0x26, 0x29, 0x2a, 0x2c
#define ECC_COLUMNS_2 0x31, 0x32, 0x34, 0x38, 0x43, 0x45, 0x46, 0x49
#define ECC_COLUMNS_3 0x4a, 0x4c, 0x51, 0x52, 0x54, 0x58, 0x61, 0x62
#define ECC_COLUMNS_4 0x64, 0x68, 0x70, 0x83, 0x85, 0x86, 0x89, 0x8a
#define ECC_COLUMNS_5 0x8c, 0x91, 0x92, 0x94, 0x98, 0xa1, 0xa2, 0xa4
#define ECC_COLUMNS_6 0xa8, 0xb0, 0xc1, 0xc2, 0xc4, 0xc8, 0xd0, 0xe0
#define ECC_COLUMNS_7 0x1f, 0x3e, 0x7c, 0xf8, 0xf1, 0xe3, 0xc7, 0x8f

#define ECC_APPLY(macro, ...) macro(__VA_ARGS__)

/* Encode table: entry [j][b] is the check bits of byte b at position j. */
#define ECC_E(b, c0, c1, c2, c3, c4, c5, c6, c7)                                             \
    (uint8_t)((((b)&1) ? (c0) : 0) ^ (((b)&2) ? (c1) : 0) ^ (((b)&4) ? (c2) : 0) ^           \
              (((b)&8) ? (c3) : 0) ^ (((b)&16) ? (c4) : 0) ^ (((b)&32) ? (c5) : 0) ^         \
              (((b)&64) ? (c6) : 0) ^ (((b)&128) ? (c7) : 0))
#define ECC_E4(b, ...)                                                                        \
    ECC_E(b, __VA_ARGS__), ECC_E((b) + 1, __VA_ARGS__), ECC_E((b) + 2, __VA_ARGS__),         \
        ECC_E((b) + 3, __VA_ARGS__)
#define ECC_E16(b, ...)                                                                       \
    ECC_E4(b, __VA_ARGS__), ECC_E4((b) + 4, __VA_ARGS__), ECC_E4((b) + 8, __VA_ARGS__),      \
        ECC_E4((b) + 12, __VA_ARGS__)
#define ECC_E64(b, ...)                                                                       \
    ECC_E16(b, __VA_ARGS__), ECC_E16((b) + 16, __VA_ARGS__), ECC_E16((b) + 32, __VA_ARGS__), \
        ECC_E16((b) + 48, __VA_ARGS__)
#define ECC_E256(...)                                                                         \
    ECC_E64(0, __VA_ARGS__), ECC_E64(64, __VA_ARGS__), ECC_E64(128, __VA_ARGS__),            \
        ECC_E64(192, __VA_ARGS__)

const uint8_t ecc_encode_table[8][256] = {
    {ECC_APPLY(ECC_E256, ECC_COLUMNS_0)}, {ECC_APPLY(ECC_E256, ECC_COLUMNS_1)},
    {ECC_APPLY(ECC_E256, ECC_COLUMNS_2)}, {ECC_APPLY(ECC_E256, ECC_COLUMNS_3)},
    {ECC_APPLY(ECC_E256, ECC_COLUMNS_4)}, {ECC_APPLY(ECC_E256, ECC_COLUMNS_5)},
    {ECC_APPLY(ECC_E256, ECC_COLUMNS_6)}, {ECC_APPLY(ECC_E256, ECC_COLUMNS_7)},
};

/* Decode table: syndrome -> the data bit (0..63) or check bit (64 + k) it
 * names, ECC_DECODE_UNCORRECTABLE for every other syndrome. */
#define ECC_D8(s, base, c0, c1, c2, c3, c4, c5, c6, c7, rest)                                 \
    ((s) == (c0) ? (base) : (s) == (c1) ? (base) + 1 : (s) == (c2) ? (base) + 2 :             \
     (s) == (c3) ? (base) + 3 : (s) == (c4) ? (base) + 4 : (s) == (c5) ? (base) + 5 :         \
     (s) == (c6) ? (base) + 6 : (s) == (c7) ? (base) + 7 : (rest))
#define ECC_DG(s, base, columns, rest) ECC_APPLY(ECC_D8, s, base, columns, rest)
#define ECC_D(s)                                                                              \
    (uint8_t)ECC_DG(                                                                          \
        s, 0, ECC_COLUMNS_0,                                                                  \
        ECC_DG(s, 8, ECC_COLUMNS_1,                                                           \
               ECC_DG(s, 16, ECC_COLUMNS_2,                                                   \
                      ECC_DG(s, 24, ECC_COLUMNS_3,                                            \
                             ECC_DG(s, 32, ECC_COLUMNS_4,                                     \
                                    ECC_DG(s, 40, ECC_COLUMNS_5,                              \
                                           ECC_DG(s, 48, ECC_COLUMNS_6,                       \
                                                  ECC_DG(s, 56, ECC_COLUMNS_7,                \
                                                         ECC_D8(s, 64, 1, 2, 4, 8, 16, 32,   \
                                                                64, 128,                      \
                                                                ECC_DECODE_UNCORRECTABLE)))))))))
#define ECC_D4(s) ECC_D(s), ECC_D((s) + 1), ECC_D((s) + 2), ECC_D((s) + 3)
#define ECC_D16(s) ECC_D4(s), ECC_D4((s) + 4), ECC_D4((s) + 8), ECC_D4((s) + 12)
#define ECC_D64(s) ECC_D16(s), ECC_D16((s) + 16), ECC_D16((s) + 32), ECC_D16((s) + 48)

const uint8_t ecc_decode_table[256] = {ECC_D64(0), ECC_D64(64), ECC_D64(128), ECC_D64(192)};

/* ---- SECDED, one table lookup per byte ----------------------------------- */

typedef uint64_t ecc_u64_unaligned __attribute__((aligned(1), may_alias));

ECC_NO_TSAN static uint64_t secded_copy_out_table(const uint64_t *data, const uint8_t *check,
                                                  unsigned char *dst, size_t count)
{
    uint64_t syndromes = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t word = data[i];
        *(ecc_u64_unaligned *)(dst + 8 * i) = word;
        syndromes |= (uint8_t)(ecc_check_bits(word) ^ check[i]);
    }
    return syndromes;
}

ECC_NO_TSAN static uint64_t secded_verify_table(const uint64_t *data, const uint8_t *check,
                                                size_t count)
{
    uint64_t syndromes = 0;
    for (size_t i = 0; i < count; i++)
        syndromes |= (uint8_t)(ecc_check_bits(data[i]) ^ check[i]);
    return syndromes;
}

ECC_NO_TSAN static void secded_store_table(uint64_t *data, uint8_t *check, const unsigned char *src,
                                           size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t word = *(const ecc_u64_unaligned *)(src + 8 * i);
        data[i] = word;
        check[i] = ecc_check_bits(word);
    }
}

/* ---- SECDED, eight words at a time with AVX-512 VBMI and GFNI ------------ */

#if defined(__x86_64__)
#define ECC_GFNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi,gfni")))

typedef uint64_t ecc_v8u64 __attribute__((vector_size(64)));
typedef uint64_t ecc_v4u64 __attribute__((vector_size(32)));
typedef uint64_t ecc_v2u64 __attribute__((vector_size(16)));
typedef char ecc_v64i8 __attribute__((vector_size(64)));
typedef ecc_v8u64 ecc_v8u64_unaligned __attribute__((aligned(1), may_alias));

/* Byte 8j + w of the transposed group is byte j of word w. */
#define ECC_T8(j) (j), 8 + (j), 16 + (j), 24 + (j), 32 + (j), 40 + (j), 48 + (j), 56 + (j)
static const ecc_v64i8 transpose = {ECC_T8(0), ECC_T8(1), ECC_T8(2), ECC_T8(3),
                                    ECC_T8(4), ECC_T8(5), ECC_T8(6), ECC_T8(7)};

/* VGF2P8AFFINEQB computes output bit i of a byte as the parity of the byte
 * AND matrix byte 7 - i: check bit i of column c goes to bit 56 - 8i, and
 * the column of input bit k to bit k of that byte. */
#define ECC_SPREAD(c)                                                                         \
    (((uint64_t)((c) >> 0 & 1) << 56) | ((uint64_t)((c) >> 1 & 1) << 48) |                    \
     ((uint64_t)((c) >> 2 & 1) << 40) | ((uint64_t)((c) >> 3 & 1) << 32) |                    \
     ((uint64_t)((c) >> 4 & 1) << 24) | ((uint64_t)((c) >> 5 & 1) << 16) |                    \
     ((uint64_t)((c) >> 6 & 1) << 8) | ((uint64_t)((c) >> 7 & 1)))
#define ECC_MATRIX(c0, c1, c2, c3, c4, c5, c6, c7)                                            \
    (ECC_SPREAD(c0) | ECC_SPREAD(c1) << 1 | ECC_SPREAD(c2) << 2 | ECC_SPREAD(c3) << 3 |       \
     ECC_SPREAD(c4) << 4 | ECC_SPREAD(c5) << 5 | ECC_SPREAD(c6) << 6 | ECC_SPREAD(c7) << 7)
static const ecc_v8u64 matrices = {
    ECC_APPLY(ECC_MATRIX, ECC_COLUMNS_0), ECC_APPLY(ECC_MATRIX, ECC_COLUMNS_1),
    ECC_APPLY(ECC_MATRIX, ECC_COLUMNS_2), ECC_APPLY(ECC_MATRIX, ECC_COLUMNS_3),
    ECC_APPLY(ECC_MATRIX, ECC_COLUMNS_4), ECC_APPLY(ECC_MATRIX, ECC_COLUMNS_5),
    ECC_APPLY(ECC_MATRIX, ECC_COLUMNS_6), ECC_APPLY(ECC_MATRIX, ECC_COLUMNS_7),
};

/* VPERMB, under each compiler's name for it: byte i of the result is byte
 * index[i] of table. */
#if defined(__clang__)
#define ECC_PERMUTE_BYTES(table, index) __builtin_ia32_permvarqi512((table), (index))
#else
#define ECC_PERMUTE_BYTES(table, index)                                                       \
    __builtin_ia32_permvarqi512_mask((table), (index), (table), ~0ULL)
#endif

/* The check bytes of eight words, byte w for word w. */
ECC_GFNI_TARGET static inline uint64_t gfni_check8(ecc_v8u64 words)
{
    ecc_v64i8 by_position = ECC_PERMUTE_BYTES((ecc_v64i8)words, transpose);
    ecc_v8u64 partial =
        (ecc_v8u64)__builtin_ia32_vgf2p8affineqb_v64qi(by_position, (ecc_v64i8)matrices, 0);
    ecc_v4u64 half = __builtin_shufflevector(partial, partial, 0, 1, 2, 3) ^
                     __builtin_shufflevector(partial, partial, 4, 5, 6, 7);
    ecc_v2u64 quarter = __builtin_shufflevector(half, half, 0, 1) ^
                        __builtin_shufflevector(half, half, 2, 3);
    return quarter[0] ^ quarter[1];
}

ECC_GFNI_TARGET ECC_NO_TSAN static uint64_t secded_copy_out_gfni(const uint64_t *data,
                                                                 const uint8_t *check,
                                                                 unsigned char *dst, size_t count)
{
    uint64_t syndromes = 0;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        ecc_v8u64 words = *(const ecc_v8u64_unaligned *)(data + i);
        *(ecc_v8u64_unaligned *)(dst + 8 * i) = words;
        syndromes |= gfni_check8(words) ^ *(const ecc_u64_unaligned *)(check + i);
    }
    return syndromes | secded_copy_out_table(data + i, check + i, dst + 8 * i, count - i);
}

ECC_GFNI_TARGET ECC_NO_TSAN static uint64_t secded_verify_gfni(const uint64_t *data,
                                                               const uint8_t *check, size_t count)
{
    uint64_t syndromes = 0;
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        syndromes |= gfni_check8(*(const ecc_v8u64_unaligned *)(data + i)) ^
                     *(const ecc_u64_unaligned *)(check + i);
    return syndromes | secded_verify_table(data + i, check + i, count - i);
}

ECC_GFNI_TARGET ECC_NO_TSAN static void secded_store_gfni(uint64_t *data, uint8_t *check,
                                                           const unsigned char *src, size_t count)
{
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        ecc_v8u64 words = *(const ecc_v8u64_unaligned *)(src + 8 * i);
        *(ecc_v8u64_unaligned *)(data + i) = words;
        *(ecc_u64_unaligned *)(check + i) = gfni_check8(words);
    }
    secded_store_table(data + i, check + i, src + 8 * i, count - i);
}

/* AVX-512 F, BW and VBMI, GFNI, and an OS that saves the ZMM state. */
static bool cpu_has_gfni_avx512(void)
{
    unsigned a, b, c, d;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    if (a < 7)
        return false;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c >> 27 & 1)) /* OSXSAVE */
        return false;
    unsigned xcr0_low, xcr0_high;
    __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    if ((xcr0_low & 0xe6) != 0xe6) /* SSE, AVX, opmask, ZMM state */
        return false;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    return (b >> 16 & 1) && (b >> 30 & 1) && (c >> 1 & 1) && (c >> 8 & 1);
}
#endif

/* ---- kernel choice ------------------------------------------------------- */

struct secded_kernels {
    uint64_t (*copy_out)(const uint64_t *data, const uint8_t *check, unsigned char *dst,
                         size_t count);
    uint64_t (*verify)(const uint64_t *data, const uint8_t *check, size_t count);
    void (*store)(uint64_t *data, uint8_t *check, const unsigned char *src, size_t count);
    const char *name;
};

static const struct secded_kernels table_kernels = {secded_copy_out_table, secded_verify_table,
                                                    secded_store_table, "table"};
#if defined(__x86_64__)
static const struct secded_kernels gfni_kernels = {secded_copy_out_gfni, secded_verify_gfni,
                                                   secded_store_gfni, "gfni-avx512"};
#endif

/* Chosen at the first use; racing first uses choose the same. Relaxed: the
 * kernels are constants. */
static const struct secded_kernels *_Atomic chosen_kernels;

static const struct secded_kernels *secded_kernels(void)
{
    const struct secded_kernels *kernels =
        atomic_load_explicit(&chosen_kernels, memory_order_relaxed);
    if (MM_LIKELY(kernels != NULL))
        return kernels;
    kernels = &table_kernels;
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
    if (cpu_has_gfni_avx512())
        kernels = &gfni_kernels;
#endif
    atomic_store_explicit(&chosen_kernels, kernels, memory_order_relaxed);
    return kernels;
}

const char *ecc_secded_kernel_name(void)
{
    return secded_kernels()->name;
}

bool ecc_secded_use_table_kernel(bool table)
{
    secded_kernels();
    if (table) {
        atomic_store_explicit(&chosen_kernels, &table_kernels, memory_order_relaxed);
        return true;
    }
#if defined(__x86_64__)
    if (cpu_has_gfni_avx512()) {
        atomic_store_explicit(&chosen_kernels, &gfni_kernels, memory_order_relaxed);
        return true;
    }
#endif
    return false;
}

/* ---- TMR ------------------------------------------------------------------ */

ECC_NO_TSAN static uint64_t tmr_copy_out(const uint64_t *copy0, size_t stride, unsigned char *dst,
                                         size_t count)
{
    const uint64_t *copy1 = copy0 + stride, *copy2 = copy0 + 2 * stride;
    uint64_t differences = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t a = copy0[i];
        differences |= (a ^ copy1[i]) | (a ^ copy2[i]);
        *(ecc_u64_unaligned *)(dst + 8 * i) = a;
    }
    return differences;
}

ECC_NO_TSAN static uint64_t tmr_verify(const uint64_t *copy0, size_t stride, size_t count)
{
    const uint64_t *copy1 = copy0 + stride, *copy2 = copy0 + 2 * stride;
    uint64_t differences = 0;
    for (size_t i = 0; i < count; i++)
        differences |= (copy0[i] ^ copy1[i]) | (copy0[i] ^ copy2[i]);
    return differences;
}

ECC_NO_TSAN static void tmr_store(uint64_t *copy0, size_t stride, const unsigned char *src,
                                  size_t count)
{
    uint64_t *copy1 = copy0 + stride, *copy2 = copy0 + 2 * stride;
    for (size_t i = 0; i < count; i++) {
        uint64_t word = *(const ecc_u64_unaligned *)(src + 8 * i);
        copy0[i] = word;
        copy1[i] = word;
        copy2[i] = word;
    }
}

/* ---- the entry points ------------------------------------------------------ */

uint64_t ecc_copy_out(const struct ecc_view *view, size_t first, void *dst, size_t count)
{
    switch (view->code) {
    case ECC_CODE_SECDED:
        return secded_kernels()->copy_out(view->data + first, view->check + first, dst, count);
    case ECC_CODE_TMR:
        return tmr_copy_out(view->data + first, view->words, dst, count);
    default:
        mm_copy(dst, view->data + first, 8 * count);
        return 0;
    }
}

uint64_t ecc_verify(const struct ecc_view *view, size_t first, size_t count)
{
    switch (view->code) {
    case ECC_CODE_SECDED:
        return secded_kernels()->verify(view->data + first, view->check + first, count);
    case ECC_CODE_TMR:
        return tmr_verify(view->data + first, view->words, count);
    default:
        return 0;
    }
}

void ecc_store_words(const struct ecc_view *view, size_t first, const void *src, size_t count)
{
    switch (view->code) {
    case ECC_CODE_SECDED:
        secded_kernels()->store(view->data + first, view->check + first, src, count);
        break;
    case ECC_CODE_TMR:
        tmr_store(view->data + first, view->words, src, count);
        break;
    default:
        mm_copy(view->data + first, src, 8 * count);
        break;
    }
}

enum ecc_word_status ecc_word_repair(const struct ecc_view *view, size_t i, uint64_t *value)
{
    uint64_t word = ecc_load(view->data + i);
    *value = word;
    if (view->code == ECC_CODE_SECDED) {
        uint8_t syndrome = ecc_check_bits(word) ^ ecc_load_byte(view->check + i);
        if (syndrome == 0)
            return ECC_WORD_CLEAN;
        unsigned position = ecc_decode_table[syndrome];
        if (position == ECC_DECODE_UNCORRECTABLE)
            return ECC_WORD_UNCORRECTABLE;
        if (position < 64) {
            word ^= (uint64_t)1 << position;
            *value = word;
            ecc_store(view->data + i, word);
        }
        ecc_store_byte(view->check + i, ecc_check_bits(word));
        return ECC_WORD_CORRECTED;
    }
    if (view->code == ECC_CODE_TMR) {
        uint64_t *copy1 = view->data + view->words + i, *copy2 = copy1 + view->words;
        uint64_t b = ecc_load(copy1), c = ecc_load(copy2);
        if (word == b && word == c)
            return ECC_WORD_CLEAN;
        uint64_t voted = ecc_vote(word, b, c);
        *value = voted;
        ecc_word_store(view, i, voted);
        return ECC_WORD_CORRECTED;
    }
    return ECC_WORD_CLEAN;
}
