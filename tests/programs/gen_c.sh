#!/bin/sh
# gen_c.sh DIR FILES FUNCS: writes into DIR a C program for the gcc workload:
# common.h (structs, static inline helpers), FILES files part_K.c of FUNCS
# generated functions each (loops, switches, struct arrays, calls down a
# chain; unsigned arithmetic only, no undefined behaviour) and main.c, which
# calls every part and prints one checksum per part and a total.
# Deterministic: the same arguments write the same files.
set -eu
dir=$1 files=$2 funcs=$3
mkdir -p "$dir"

cat >"$dir/common.h" <<'H'
#ifndef COMMON_H
#define COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct rec {
    uint64_t a, b;
    uint32_t c[4];
    char name[16];
};

static inline uint64_t rotl(uint64_t x, unsigned r) { return (x << (r & 63)) | (x >> ((64 - r) & 63)); }
static inline uint64_t mix(uint64_t x, uint64_t y)
{
    x ^= y + 0x9E3779B97F4A7C15ull + (x << 6) + (x >> 2);
    return x * 0xFF51AFD7ED558CCDull;
}
static inline uint64_t fold(const struct rec *r, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = mix(h, r[i].a ^ rotl(r[i].b, (unsigned)i) ^ r[i].c[i & 3] ^ (uint64_t)r[i].name[i & 15]);
    return h;
}
H
for k in $(seq 0 $((files - 1))); do
    echo "uint64_t part_$k(uint64_t x);" >>"$dir/common.h"
done
echo "#endif" >>"$dir/common.h"

for k in $(seq 0 $((files - 1))); do
    awk -v k="$k" -v n="$funcs" 'BEGIN {
        print "#include \"common.h\""
        for (j = 0; j < n; j++) {
            s = k * 1000 + j
            printf "static uint64_t f%d(uint64_t x)\n{\n", j
            printf "    struct rec r[%d];\n", 4 + s % 9
            printf "    uint64_t acc = x ^ %dull;\n", s * 2654435761 % 1000003
            printf "    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++) {\n"
            printf "        r[i].a = mix(acc, i);\n        r[i].b = rotl(acc, i + %d) ^ r[i].a;\n", s % 61
            printf "        for (unsigned q = 0; q < 4; q++)\n            r[i].c[q] = (uint32_t)(r[i].a >> (q * 8)) + q * %du;\n", s % 97
            printf "        snprintf(r[i].name, sizeof r[i].name, \"n%%u-%d\", i);\n", s
            printf "    }\n"
            printf "    switch ((unsigned)(acc >> 7) %% %d) {\n", 8 + s % 8
            for (c = 0; c < 8 + s % 8; c++) {
                printf "    case %d:\n", c
                op = (s + c) % 5
                if (op == 0) printf "        acc = acc * %dull + r[%d].b;\n", 3 + c * 2, c % 4
                if (op == 1) printf "        acc ^= rotl(r[%d].a, %d) + %dull;\n", c % 4, (c * 7 + s) % 63 + 1, c * s
                if (op == 2) printf "        for (unsigned i = 0; i < %d; i++)\n            acc = mix(acc, r[i %% 4].c[i & 3] + i);\n", 5 + c
                if (op == 3) printf "        acc += fold(r, 4) >> %d;\n", c % 13
                if (op == 4) printf "        acc -= (uint64_t)strlen(r[%d].name) * %dull;\n", c % 4, c + 11
                printf "        break;\n"
            }
            printf "    default:\n        acc = ~acc;\n    }\n"
            printf "    for (unsigned i = 0; i < %d; i++)\n", 10 + s % 23
            printf "        acc = rotl(acc * 6364136223846793005ull + i, %d) ^ r[i %% 4].b;\n", s % 63 + 1
            if (j > 0) printf "    acc ^= f%d(acc >> %d) + fold(r, 4);\n", j - 1, 1 + s % 31
            printf "    return acc;\n}\n\n"
        }
        printf "uint64_t part_%d(uint64_t x)\n{\n    uint64_t h = 0;\n", k
        for (j = 0; j < n; j += 1 + int(n / 16))
            printf "    h = mix(h, f%d(x + %d));\n", j, j
        printf "    return h ^ f%d(x);\n}\n", n - 1
    }' >"$dir/part_$k.c"
done

{
    echo '#include "common.h"'
    echo 'int main(void)'
    echo '{'
    echo '    uint64_t total = 0;'
    for k in $(seq 0 $((files - 1))); do
        echo "    uint64_t p$k = part_$k($k);"
        printf '    printf("part_%s %%016llx\\n", (unsigned long long)p%s);\n' "$k" "$k"
        echo "    total = mix(total, p$k);"
    done
    printf '%s\n' '    printf("total %016llx\n", (unsigned long long)total);'
    echo '    return 0;'
    echo '}'
} >"$dir/main.c"
