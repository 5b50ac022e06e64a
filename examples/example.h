/*
 * example.h: the two helpers every example uses, so that each example is a
 * program that checks what it shows.
 *
 *   EXPECT(cond, ...)        if cond is false: print the file, the line, the
 *                            condition and a printf-style reason to stderr,
 *                            and exit(1). An example stops at its first
 *                            surprise: what follows may depend on it.
 *   tag_fill(p, n, tag)      write a pattern derived from tag over n bytes;
 *   tag_ok(p, n, tag)        true if the n bytes still hold that pattern.
 *
 * A block filled with a tag of its own (its number, its thread) and checked
 * before it is freed shows that no other block overlapped it and that the
 * allocator wrote nothing into it while it was live.
 */
#ifndef EXAMPLE_H
#define EXAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define EXPECT(cond, ...)                                                                       \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: expected %s: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

/* The byte at offset i of a block tagged `tag`: varies with both, so that a
 * block shifted by a few bytes or swapped with another does not match. */
static inline unsigned char tag_byte(uint64_t tag, size_t i)
{
    uint64_t x = (tag + i) * 0x9e3779b97f4a7c15u;
    return (unsigned char)(x >> 56);
}

static inline void tag_fill(void *p, size_t n, uint64_t tag)
{
    unsigned char *bytes = p;
    for (size_t i = 0; i < n; i++)
        bytes[i] = tag_byte(tag, i);
}

static inline bool tag_ok(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *bytes = p;
    for (size_t i = 0; i < n; i++)
        if (bytes[i] != tag_byte(tag, i))
            return false;
    return true;
}

#endif /* EXAMPLE_H */
