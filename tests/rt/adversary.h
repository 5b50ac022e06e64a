/*
 * adversary.h: the allocating side of the rt heap's sizing tests (rt_test.c,
 * sizing_pending.c): a set of live blocks whose requested bytes (or block
 * bytes, in FRAGMENTS units) stay within a budget, each block tagged at its
 * ends and checked when freed. The includer defines
 * fail(const char *format, ...), which does not return, and includes
 * "mymalloc/rt.h" first.
 */
#ifndef RT_ADVERSARY_H
#define RT_ADVERSARY_H

#include <stddef.h>
#include <stdlib.h>

enum units { REQUESTED, FRAGMENTS };
struct adversary {
    rt_heap_t *h;
    size_t cap, max_request, live, nulls;
    enum units units;
    char **ptrs;
    size_t *sizes;
    size_t count, slots;
};

static size_t adv_cost(const struct adversary *a, size_t size)
{
    if (a->units == FRAGMENTS)
        return (size + 8 + 15) / 16 * 16;
    return size == 0 ? 1 : size;
}

static char *adv_alloc(struct adversary *a, size_t size)
{
    size_t cost = adv_cost(a, size);
    if (a->live + cost > a->cap || a->count == a->slots)
        return NULL;
    char *p = rt_malloc(a->h, size);
    if (p == NULL) {
        a->nulls++;
        return NULL;
    }
    if (size > 0)
        p[0] = p[size - 1] = (char)size;
    a->ptrs[a->count] = p;
    a->sizes[a->count++] = size;
    a->live += cost;
    return p;
}

static void adv_free(struct adversary *a, size_t i)
{
    char *p = a->ptrs[i];
    size_t size = a->sizes[i];
    if (size > 1 && (p[0] != (char)size || p[size - 1] != (char)size))
        fail("adversary's block of %zu broken", size);
    rt_free(a->h, p);
    a->live -= adv_cost(a, size);
    a->ptrs[i] = a->ptrs[--a->count];
    a->sizes[i] = a->sizes[a->count];
}

/* Frees every block still live, then the set's arrays. */
static void adv_release_all(struct adversary *a)
{
    while (a->count)
        adv_free(a, a->count - 1);
    free(a->ptrs);
    free(a->sizes);
}

#endif /* RT_ADVERSARY_H */
