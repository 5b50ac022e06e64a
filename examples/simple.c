/*
 * simple.c: a program linked with mymalloc (built here against
 * build/libmymalloc.so; the other examples use the static library).
 *
 *   cc simple.c -Iinclude -Lbuild -lmymalloc -Wl,-rpath,$PWD/build
 *
 * Once linked, the program's malloc, free, calloc, ... are mymalloc's, and
 * include/mymalloc.h adds the allocator's own API: my* calls (the same
 * allocator under its own names, plus a free that reports a bad pointer
 * instead of aborting) and allocator_* calls (statistics, a check of the
 * heap, returning idle memory). Every step checks what the header promises;
 * the program exits 1 at the first thing that does not hold.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mymalloc.h>

#include "example.h"

static bool aligned(const void *p, size_t alignment)
{
    return (uintptr_t)p % alignment == 0;
}

/* The standard calls: the program needs no change to use mymalloc. */
static void standard_calls(void)
{
    char *text = malloc(100);
    EXPECT(text != NULL && aligned(text, 16), "malloc(100) = %p", (void *)text);
    strcpy(text, "hello, mymalloc");

    text = realloc(text, 10000); /* moves to a bigger block, keeps the bytes */
    EXPECT(text != NULL && strcmp(text, "hello, mymalloc") == 0, "realloc kept the text");
    EXPECT(malloc_usable_size(text) >= 10000, "usable %zu", malloc_usable_size(text));
    free(text);

    int *zeros = calloc(1000, sizeof *zeros);
    EXPECT(zeros != NULL, "calloc");
    for (size_t i = 0; i < 1000; i++)
        EXPECT(zeros[i] == 0, "calloc'd int %zu is %d", i, zeros[i]);
    free(zeros);

    void *page = NULL;
    EXPECT(posix_memalign(&page, 4096, 100) == 0 && aligned(page, 4096), "posix_memalign");
    free(page);
    EXPECT(posix_memalign(&page, 24, 100) == EINVAL, "alignment 24 is not a power of two");

    /* Failures are glibc's: NULL and errno, never a crash. (volatile: a size
     * known at run time; the compiler warns about a constant this large.) */
    volatile size_t huge = SIZE_MAX / 2;
    errno = 0;
    EXPECT(malloc(huge) == NULL && errno == ENOMEM, "malloc(2^63): errno %d", errno);
    EXPECT(calloc(huge, 4) == NULL, "calloc: the product overflows");
}

/* The allocator's own names, and the checked free. */
static void mymalloc_calls(void)
{
    char *block = mymalloc(1000);
    EXPECT(block != NULL && aligned(block, 16), "mymalloc(1000) = %p", (void *)block);
    size_t usable = myusable_size(block);
    EXPECT(usable >= 1000, "myusable_size %zu", usable);
    memset(block, 'x', usable); /* all of the usable size may be used */

    EXPECT(myusable_size(block + 16) == 0, "an interior pointer is not a block");
    EXPECT(myfree_checked(block + 16) == -1, "myfree_checked refuses an interior pointer");
    EXPECT(myfree_checked(block) == 0, "myfree_checked frees a live block");
    EXPECT(myfree_checked(block) == -1, "and refuses the second free of it");

    void *big = myaligned_alloc(1 << 21, 5000); /* any power of two */
    EXPECT(big != NULL && aligned(big, 1 << 21), "myaligned_alloc(2 MiB) = %p", big);
    myfree(big);
    errno = 0;
    EXPECT(myaligned_alloc(48, 100) == NULL && errno == EINVAL, "alignment 48: errno %d", errno);
    volatile size_t huge = SIZE_MAX / 2;
    errno = 0;
    EXPECT(mycalloc(huge, 4) == NULL && errno == ENOMEM, "mycalloc overflow: errno %d", errno);
}

/* Statistics, the structural check and giving memory back. */
static void application_api(void)
{
    EXPECT(allocator_init(1) == 0, "allocator_init"); /* optional: shown for completeness */

    size_t allocated0, freed0, peak0;
    allocator_stats(&allocated0, &freed0, &peak0);
    void *block = mymalloc(256); /* a size class's size: usable == asked */
    EXPECT(block != NULL, "mymalloc(256)");
    size_t allocated1, freed1;
    allocator_stats(&allocated1, &freed1, NULL);
    /* One thread: the counts are exact, in usable sizes. */
    EXPECT(allocated1 - allocated0 == 256, "allocated grew by %zu", allocated1 - allocated0);
    myfree(block);
    size_t freed2, peak2;
    allocator_stats(NULL, &freed2, &peak2);
    EXPECT(freed2 - freed1 == allocated1 - allocated0, "freed grew by %zu", freed2 - freed1);
    EXPECT(peak2 >= peak0 && peak2 > 0, "the peak never falls: %zu, then %zu", peak0, peak2);

    /* mallinfo2: arena is what the allocator holds from the system. */
    struct mallinfo2 info = mallinfo2();
    EXPECT(info.arena > 0 && info.arena >= info.uordblks, "arena %zu, in use %zu", info.arena,
           info.uordblks);

    /* The heap's structures are sound (0), else a report on stderr and -1. */
    EXPECT(allocator_verify() == 0, "allocator_verify");

    /* Idle memory back to the system; live blocks stay valid. */
    char *kept = mymalloc(64);
    EXPECT(kept != NULL, "mymalloc(64)");
    tag_fill(kept, 64, 7);
    for (int i = 0; i < 1000; i++)
        myfree(mymalloc(4096));
    allocator_cleanup();
    EXPECT(tag_ok(kept, 64, 7), "a live block survives allocator_cleanup");
    myfree(kept);

    /* mallopt takes glibc's parameters and ignores them (returns 1). */
    EXPECT(mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1, "mallopt");
}

int main(void)
{
    /* Options come from the environment: MYMALLOC_STATS=1 ./simple prints
     * statistics at exit (README.md, "Options"). */
    standard_calls();
    mymalloc_calls();
    application_api();
    printf("simple: malloc family, my* calls, stats, verify and cleanup as documented\n");
    return 0;
}
