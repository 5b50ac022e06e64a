/*
 * bench/ecc/ecc_bench.c: protected memory's throughput, next to memcpy in
 * the same run (bench/ecc/run.sh makes the tables). Prints CSV rows
 *   what,code,size,value,unit
 * Built twice: against the library (codes secded and tmr, plus memcpy, the
 * codec kernels, the scrub and the storage cost), and against the module
 * built with ECC_PROTECTION_OFF (code "off": the same calls storing one
 * plain copy, the cost of the interface alone).
 *
 *   read/write  MB/s of ecc_read/ecc_write of 8 B, 64 B, 4 KiB and 1 MiB
 *               transfers (8 B and 64 B walk a 4 KiB block, 4 KiB a 64 KiB
 *               one), and memcpy of the same transfers over plain buffers
 *   read8       ns per 8-byte ecc_read
 *   scrub       MB/s of storage checked by ecc_scrub over 64 MiB of blocks
 *   kernel      MB/s of data encoded by each SECDED encoder over 1 MiB:
 *               bit by bit, 8 parities (popcount), the table kernel, the
 *               GFNI/AVX-512 kernel
 *   storage     bytes of storage (and mapped) per block size
 * Each figure is the median of 7 runs.   ecc_bench [--quick] [--off]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mymalloc/ecc.h"
#if !defined(BENCH_OFF)
#include "ecc/codec.h"
#endif

enum { RUNS = 7 };
static size_t volume = (size_t)64 << 20; /* bytes moved per run */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values)
{
    qsort(values, RUNS, sizeof *values, compare);
    return values[RUNS / 2];
}

static void fail(const char *what)
{
    perror(what);
    exit(1);
}

/* The block a transfer size walks. */
static size_t span_of(size_t size)
{
    return size <= 64 ? 4096 : size <= 4096 ? 65536 : size;
}

/* Median seconds per byte of transfers of `size` by op 'r' or 'w' on a
 * block of `code` ('c' memcpy). */
static double transfer(char op, int code, size_t size)
{
    size_t span = span_of(size), calls = volume / size;
    unsigned char *plain = malloc(span), *buffer = malloc(size + 64);
    memset(plain, 7, span);
    memset(buffer, 9, size + 64);
    ecc_t block = code < 0 ? NULL : ecc_alloc(span, (enum ecc_code)code);
    if (code >= 0 && (block == NULL || ecc_write(block, 0, plain, span) != 0))
        fail("ecc_alloc");
    double seconds[RUNS];
    for (int run = 0; run < RUNS; run++) {
        size_t offset = 0;
        double start = now();
        for (size_t i = 0; i < calls; i++) {
            if (code < 0) {
                if (op == 'r')
                    memcpy(buffer, plain + offset, size);
                else
                    memcpy(plain + offset, buffer, size);
                __asm__ __volatile__("" ::"r"(buffer), "r"(plain) : "memory");
            } else if ((op == 'r' ? ecc_read(block, offset, buffer, size)
                                  : ecc_write(block, offset, buffer, size)) != 0) {
                fail("ecc_read/ecc_write");
            }
            offset += size;
            if (offset + size > span)
                offset = 0;
        }
        seconds[run] = (now() - start) / (double)(calls * size);
    }
    ecc_free(block);
    free(plain);
    free(buffer);
    return median(seconds);
}

static const char *code_name(int code)
{
#if defined(BENCH_OFF)
    (void)code;
    return "off";
#else
    return code == ECC_SECDED ? "secded" : code == ECC_TMR ? "tmr" : "memcpy";
#endif
}

static void transfers(void)
{
    static const size_t sizes[] = {8, 64, 4096, 1 << 20};
#if defined(BENCH_OFF)
    static const int codes[] = {ECC_SECDED};
#else
    static const int codes[] = {-1, ECC_SECDED, ECC_TMR};
#endif
    for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (const char *op = "rw"; *op; op++) {
                double per_byte = transfer(*op, codes[c], sizes[s]);
                printf("%s,%s,%zu,%.0f,MB/s\n", *op == 'r' ? "read" : "write",
                       code_name(codes[c]), sizes[s], 1e-6 / per_byte);
                if (*op == 'r' && sizes[s] == 8)
                    printf("read8,%s,8,%.2f,ns\n", code_name(codes[c]), per_byte * 8 * 1e9);
            }
}

#if !defined(BENCH_OFF)
static void scrub(void)
{
    enum { BLOCKS = 64 };
    for (int code = ECC_SECDED; code <= ECC_TMR; code++) {
        ecc_t blocks[BLOCKS];
        for (int i = 0; i < BLOCKS; i++)
            if ((blocks[i] = ecc_alloc(volume / BLOCKS, (enum ecc_code)code)) == NULL)
                fail("ecc_alloc");
        double rates[RUNS];
        for (int run = 0; run < RUNS; run++) {
            struct ecc_stats before, after;
            ecc_get_stats(&before);
            double start = now();
            ecc_scrub((size_t)-1);
            double seconds = now() - start;
            ecc_get_stats(&after);
            rates[run] = (double)(after.scrubbed_bytes - before.scrubbed_bytes) / seconds * 1e-6;
        }
        printf("scrub,%s,%zu,%.0f,MB/s\n", code_name(code), volume, median(rates));
        for (int i = 0; i < BLOCKS; i++)
            ecc_free(blocks[i]);
    }
}

static uint8_t column[64];
static uint64_t row_mask[8];

static uint8_t check_bit_by_bit(uint64_t word)
{
    uint8_t check = 0;
    for (int bit = 0; bit < 64; bit++)
        if (word >> bit & 1)
            check ^= column[bit];
    return check;
}

static uint8_t check_parity(uint64_t word)
{
    uint8_t check = 0;
    for (int k = 0; k < 8; k++)
        check |= (uint8_t)(__builtin_parityll(word & row_mask[k]) << k);
    return check;
}

static void kernels(void)
{
    for (int bit = 0; bit < 64; bit++) {
        column[bit] = ecc_encode_table[bit / 8][1u << (bit % 8)];
        for (int k = 0; k < 8; k++)
            if (column[bit] >> k & 1)
                row_mask[k] |= 1ULL << bit;
    }
    enum { WORDS = (1 << 20) / 8 };
    uint64_t *words = malloc(8 * WORDS), *data = malloc(8 * WORDS);
    uint8_t *check = malloc(WORDS);
    for (size_t i = 0; i < WORDS; i++)
        words[i] = (uint64_t)rand() << 32 ^ (uint64_t)rand() * 2654435761u;
    const char *names[] = {"bit-by-bit", "parity", "table", "gfni-avx512"};
    for (int kernel = 0; kernel < 4; kernel++) {
        if (kernel >= 2 && !ecc_secded_use_table_kernel(kernel == 2))
            continue;
        struct ecc_view view = {.data = data, .check = check, .words = WORDS,
                                .code = ECC_CODE_SECDED};
        size_t repeats = kernel == 0 ? 2 : 32;
        double rates[RUNS];
        for (int run = 0; run < RUNS; run++) {
            double start = now();
            for (size_t r = 0; r < repeats; r++) {
                if (kernel == 0)
                    for (size_t i = 0; i < WORDS; i++)
                        check[i] = check_bit_by_bit(words[i]);
                else if (kernel == 1)
                    for (size_t i = 0; i < WORDS; i++)
                        check[i] = check_parity(words[i]);
                else
                    ecc_store_words(&view, 0, words, WORDS);
                __asm__ __volatile__("" ::"r"(check) : "memory");
            }
            rates[run] = 8.0 * WORDS * repeats / (now() - start) * 1e-6;
        }
        printf("kernel,%s,%d,%.0f,MB/s\n", names[kernel], 1 << 20, median(rates));
    }
    ecc_secded_use_table_kernel(false);
    free(words);
    free(data);
    free(check);
}

static void storage(void)
{
    static const size_t sizes[] = {8, 64, 1000, 4096, 65536, 1 << 20};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int code = ECC_SECDED; code <= ECC_TMR; code++) {
            size_t words = (sizes[s] + 7) / 8;
            size_t bytes = ecc_storage_bytes(words, code == ECC_TMR ? ECC_CODE_TMR
                                                                    : ECC_CODE_SECDED);
            size_t mapped = (bytes + 4095) & ~(size_t)4095;
            printf("storage,%s,%zu,%zu,%zu\n", code_name(code), sizes[s], bytes, mapped);
        }
}
#endif

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0)
            volume = (size_t)16 << 20;
    transfers();
#if !defined(BENCH_OFF)
    scrub();
    kernels();
    storage();
    printf("info,kernel,%s\n", ecc_secded_kernel_name());
#endif
    return 0;
}
