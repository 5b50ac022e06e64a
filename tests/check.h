/*
 * check.h: what the test programs of the module suites (tests/ecc,
 * tests/rt, ...) share; they run on libc, where the core's kit uses
 * testlib.h. CHECK counts a failed condition in check_failures and prints
 * where, what and why, and the program goes on; check_finish gives main's
 * exit status. check_xorshift steps a caller's xorshift64 state (never
 * zero).
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
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

/* main's exit status: 0 without failures; else the count is printed. */
static inline int check_finish(const char *program)
{
    if (check_failures != 0)
        fprintf(stderr, "%s: %d failures\n", program, check_failures);
    return check_failures == 0 ? 0 : 1;
}

static inline uint64_t check_xorshift(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

#endif /* TESTS_CHECK_H */
