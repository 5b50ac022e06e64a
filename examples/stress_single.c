/*
 * stress_single.c: one thread, many blocks. A table of slots; each step
 * picks a slot at random and frees its block (after checking its tag) or
 * allocates a new one of a random size (small, medium or large), fills it
 * with a tag of its own and checks its alignment; now and then a realloc
 * must keep the bytes. At the end allocator_verify checks the heap, the
 * bytes in use must be back where they started, and allocator_cleanup must
 * give the idle memory back to the system (mallinfo2().arena).
 *
 *   ./stress_single [steps]      (default 400000)
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include <mymalloc.h>

#include "example.h"

#define SLOTS 4096

struct slot {
    unsigned char *block;
    size_t size;
    uint64_t tag;
};

static struct slot slots[SLOTS];

static uint64_t random_state = 88172645463325252u;
static uint64_t next_random(void) /* xorshift64* */
{
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    return random_state * 0x2545f4914f6cdd1du;
}

/* Mostly small, some medium, a few large (above 32 KiB: page-aligned). */
static size_t random_size(void)
{
    uint64_t r = next_random();
    switch (r % 100) {
    case 0:
        return 32768 + (r >> 8) % (1 << 20);
    case 1 ... 9:
        return 1024 + (r >> 8) % 31744;
    default:
        return (r >> 8) % 512;
    }
}

static void check_and_free(struct slot *s)
{
    EXPECT(tag_ok(s->block, s->size, s->tag), "block %p (%zu bytes, tag %llu) was overwritten",
           (void *)s->block, s->size, (unsigned long long)s->tag);
    free(s->block);
    s->block = NULL;
}

int main(int argc, char **argv)
{
    long steps = argc > 1 ? atol(argv[1]) : 400000;
    size_t allocated_at_start, freed_at_start;
    allocator_stats(&allocated_at_start, &freed_at_start, NULL);

    for (long step = 0; step < steps; step++) {
        struct slot *s = &slots[next_random() % SLOTS];
        if (s->block != NULL && next_random() % 8 == 0) {
            /* realloc: the old bytes must survive; the tail gets the tag too */
            size_t size = random_size();
            EXPECT(tag_ok(s->block, s->size, s->tag), "block %p overwritten", (void *)s->block);
            unsigned char *moved = realloc(s->block, size);
            EXPECT(moved != NULL || size == 0, "realloc(%zu) failed", size);
            if (size == 0) { /* realloc(p, 0) freed p */
                s->block = NULL;
                continue;
            }
            size_t kept = size < s->size ? size : s->size;
            EXPECT(tag_ok(moved, kept, s->tag), "realloc lost the bytes of %p", (void *)moved);
            s->block = moved;
            s->size = size;
            tag_fill(moved, size, s->tag);
        } else if (s->block != NULL) {
            check_and_free(s);
        } else {
            s->size = random_size();
            s->tag = (uint64_t)step;
            s->block = malloc(s->size);
            EXPECT(s->block != NULL, "malloc(%zu) failed", s->size);
            EXPECT((uintptr_t)s->block % 16 == 0, "%p is not 16-byte aligned", (void *)s->block);
            EXPECT(s->size <= 32768 || (uintptr_t)s->block % 4096 == 0,
                   "a block of %zu bytes at %p is not page-aligned", s->size, (void *)s->block);
            tag_fill(s->block, s->size, s->tag);
        }
    }
    EXPECT(allocator_verify() == 0, "allocator_verify found a problem (see above)");
    size_t held_busy = mallinfo2().arena; /* bytes held from the system */

    for (size_t i = 0; i < SLOTS; i++)
        if (slots[i].block != NULL)
            check_and_free(&slots[i]);

    /* Everything freed: the bytes in use are back where they started. */
    size_t allocated, freed;
    allocator_stats(&allocated, &freed, NULL);
    EXPECT(allocated - freed == allocated_at_start - freed_at_start,
           "%zu bytes still counted in use", (allocated - freed) - (allocated_at_start - freed_at_start));
    EXPECT(allocator_verify() == 0, "allocator_verify after freeing everything");

    /* The idle memory goes back to the system (at once with allocator_cleanup;
     * by itself within about two seconds otherwise). */
    allocator_cleanup();
    size_t held_idle = mallinfo2().arena;
    EXPECT(held_idle < held_busy / 4, "still %zu bytes held of %zu", held_idle, held_busy);
    printf("stress_single: %ld steps, every block intact; held from the system: %zu KiB busy, "
           "%zu KiB after freeing all and allocator_cleanup\n",
           steps, held_busy >> 10, held_idle >> 10);
    return 0;
}
