/*
 * shim.c: what the test kit's programs reference beyond mymalloc/myfree,
 * for a student's allocator that has only those two (the M5 lab's API).
 * Weak, so an allocator that defines them (mymalloc's own M5 build) keeps
 * its own. mm_verify, the structural walk of mymalloc's own heaps, reports
 * nothing for a foreign allocator; the rest are never called by the rules
 * mymalloc-check runs and die loudly if they are.
 */
#include <stddef.h>

#include "testlib.h"

struct mm_heap;

__attribute__((weak)) unsigned mm_verify(struct mm_heap *user,
                                         void (*report)(const char *what, const void *where),
                                         unsigned limit)
{
    return 0;
}

__attribute__((weak)) void *myrealloc(void *ptr, size_t size)
{
    tl_die("mymalloc-check: myrealloc is not part of the M5 API");
}

__attribute__((weak)) size_t myusable_size(void *ptr)
{
    tl_die("mymalloc-check: myusable_size is not part of the M5 API");
}

__attribute__((weak)) int myfree_checked(void *ptr)
{
    tl_die("mymalloc-check: myfree_checked is not part of the M5 API");
}
