/*
 * check.h: what the test programs of the module suites (tests/ecc,
 * tests/rt, ...) share; they run on libc, where the core's kit uses
 * testlib.h. CHECK counts a failed condition in check_failures and prints
 * where and why, and the program goes on; a program exits non-zero when
 * check_failures is. check_xorshift steps a caller's xorshift64 state
 * (never zero).
 */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdint.h>
#include <stdio.h>

static int check_failures __attribute__((unused));

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            check_failures++;                                                                  \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                               \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

static inline uint64_t check_xorshift(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

#endif /* TESTS_CHECK_H */
