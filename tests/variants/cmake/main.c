/*
 * main.c: the program of the CMake package test (tests/variants/cmake/).
 * It checks that the allocator it was linked with is mymalloc's: the
 * program's own malloc hands out blocks that mymalloc knows
 * (myusable_size), and allocator_stats counts its allocations. Built with
 * EXPECT_REALTIME (mymalloc::realtime, run with MYMALLOC_RT_ARENA_MB=16):
 * a 64 MiB malloc fails with ENOMEM, the arena being all there is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <mymalloc.h>

int main(void)
{
    int failures = 0;
    size_t allocated_before, freed_before, peak, allocated_after, freed_after;
    allocator_stats(&allocated_before, &freed_before, &peak);
    char *block = malloc(1000);
    size_t usable = myusable_size(block);
    allocator_stats(&allocated_after, &freed_after, &peak);
    if (block == NULL || usable < 1000) {
        printf("malloc(1000) = %p is not a block of mymalloc (myusable_size %zu)\n", (void *)block, usable);
        failures++;
    }
    if (allocated_after < allocated_before + 1000) {
        printf("allocator_stats did not count malloc(1000): %zu then %zu bytes\n", allocated_before,
               allocated_after);
        failures++;
    }
    free(block);
#if defined(EXPECT_REALTIME)
    errno = 0;
    void *big = malloc((size_t)64 << 20);
    if (big != NULL || errno != ENOMEM) {
        printf("malloc(64 MiB) in a 16 MiB real-time arena gave %p, errno %d\n", big, errno);
        failures++;
    }
#endif
    printf("%s: malloc is mymalloc's (usable size %zu, %zu bytes counted)\n",
           failures == 0 ? "ok" : "FAILED", usable, allocated_after - allocated_before);
    return failures == 0 ? 0 : 1;
}
