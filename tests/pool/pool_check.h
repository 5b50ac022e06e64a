/*
 * pool_check.h: what the pools' test programs (pool_test.c, pool_exhaust.c)
 * share beside tests/check.h (CHECK, check_finish): tags that fill a block
 * with bytes derived from its address and a seed, so that a block
 * overwritten by another, or moved, is told. Each program includes it once
 * (its definitions are its own).
 */
#ifndef POOL_CHECK_H
#define POOL_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include "check.h"

static inline uint8_t tag_byte(const void *p, size_t i, uint64_t seed)
{
    uint64_t x = ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull + seed * 31 + i * 7;
    return (uint8_t)(x ^ (x >> 29));
}

/* Fill `size` bytes at p with the tag of (p, seed). */
static inline void tag(void *p, size_t size, uint64_t seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < size; i++)
        b[i] = tag_byte(p, i, seed);
}

/* Whether the `size` bytes at p still hold the tag of (p, seed). */
static inline int tag_ok(const void *p, size_t size, uint64_t seed)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < size; i++)
        if (b[i] != tag_byte(p, i, seed))
            return 0;
    return 1;
}

#endif /* POOL_CHECK_H */
