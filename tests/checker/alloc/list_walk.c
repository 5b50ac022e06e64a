/*
 * list_walk.c: correct but slow by design, the checker's throughput bug.
 * Every live block carries a 16-byte link in one global list of live blocks
 * (as allocators that "validate" frees do); myfree walks that list under a
 * global lock to unlink the block, so a free costs time linear in the number
 * of live blocks of all threads. Blocks come from page_slab.h (no bug).
 */
#define CHECKER_CUSTOM_API 1
#include "page_slab.h"

struct live {
    struct live *next;
    size_t pad; /* keeps the block 16-byte aligned */
};

static struct live *live_head;
static spinlock_t live_lock;

void *mymalloc(size_t size)
{
    if (size > ((size_t)1 << 46))
        return NULL;
    struct live *l = slab_malloc(size + sizeof(struct live));
    if (l == NULL)
        return NULL;
    spin_lock(&live_lock);
    l->next = live_head;
    live_head = l;
    spin_unlock(&live_lock);
    return l + 1;
}

void myfree(void *ptr)
{
    if (ptr == NULL)
        return;
    struct live *l = (struct live *)ptr - 1;
    spin_lock(&live_lock);
    struct live **at = &live_head;
    while (*at != l)
        at = &(*at)->next;
    *at = l->next;
    spin_unlock(&live_lock);
    slab_free(l);
}
