/*
 * sizing_pending.c: the sizing rule with blocks pending. In exactly
 * rt_heap_required(M, n) bytes (at each of 64 misalignments of the memory), an
 * adversary keeps live requested bytes <= M and requests <= n while the
 * good-fit lock is held at times as a stalled rt_free on another thread
 * would hold it (white box: fit_lock set from the test): rt_malloc then
 * serves from the reserve, rt_free leaves good-fit blocks pending, and later
 * rt_malloc calls list them one per call (serving themselves from the
 * reserve). rt_malloc must never return NULL; rt_heap_check must pass.
 *   phases: the good-fit region filled with live blocks, the lock held, those
 *           freed (all pending), then every reserve class filled with its
 *           smallest request and freed, once under the held lock and once
 *           while the pending blocks are listed;
 *   random: log-uniform sizes, random frees, the lock held in random windows.
 */
#include "white_box.h"

#include <stdarg.h>
#include <string.h>

#include "check.h"

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint64_t rng(void)
{
    return check_xorshift(&rng_state);
}

static void fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

#include "adversary.h"

static void hold(struct adversary *a, bool held)
{
    atomic_store(&a->h->fit_lock, held);
}

static size_t pending_count(const struct adversary *a)
{
    size_t k = 0;
    for (void *b = atomic_load(&a->h->fit_inbox); b; b = *(void **)((char *)b + 8))
        k++;
    return k;
}

/* Every reserve class filled with its smallest request, then freed. */
static void classes_filled(struct adversary *a)
{
    for (unsigned c = 0; c < RT_CLASSES && rt_class_min_request(c) <= a->max_request; c++) {
        size_t first = a->count;
        while (adv_alloc(a, rt_class_min_request(c)))
            ;
        while (a->count > first)
            adv_free(a, a->count - 1);
    }
}

static size_t run(int which, size_t cap, size_t n, size_t offset, size_t *pending_max,
                  unsigned percent)
{
    size_t rule = rt_heap_required(cap, n);
    size_t bytes = percent == 100 ? rule : rule / 100 * percent;
    char *buf = malloc(bytes + 64);
    struct adversary a = {.cap = cap, .max_request = n, .units = REQUESTED, .slots = cap + 1};
    a.ptrs = malloc(a.slots * sizeof(*a.ptrs));
    a.sizes = malloc(a.slots * sizeof(*a.sizes));
    a.h = rt_heap_init(buf + offset, bytes);
    WB_REQUIRE(a.h != NULL, "init");
    if (which == 0) {
        /* good-fit region full of live 1-byte blocks, then all pending */
        while (adv_alloc(&a, 1) && (uintptr_t)a.ptrs[a.count - 1] < a.h->fit_end)
            ;
        hold(&a, true);
        while (a.count)
            adv_free(&a, a.count - 1);
        size_t pending = pending_count(&a);
        if (pending > *pending_max)
            *pending_max = pending;
        classes_filled(&a); /* lock held: all from the reserve */
        hold(&a, false);
        classes_filled(&a); /* the pending blocks listed meanwhile */
    } else {
        bool held = false;
        for (long s = 0; s < 100000 && !a.nulls; s++) {
            if (rng() % 512 == 0)
                hold(&a, held = !held);
            if (a.count && rng() % 2) {
                adv_free(&a, rng() % a.count);
            } else {
                unsigned bits = 1 + rng() % 40;
                adv_alloc(&a, (rng() & (((size_t)1 << bits) - 1)) % (n + 1));
            }
            if (s % 1024 == 0) {
                size_t pending = pending_count(&a);
                if (pending > *pending_max)
                    *pending_max = pending;
            }
        }
        hold(&a, false);
    }
    WB_REQUIRE(rt_heap_check(a.h) == 0, "heap broken (adversary %d, offset %zu)", which, offset);
    adv_release_all(&a);
    free(buf);
    return a.nulls;
}

int main(void)
{
    static const size_t points[][2] = {{4096, 64}, {65536, 1000}, {65536, 4096}};
    int failures = 0;
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        for (int which = 0; which < 2; which++) {
            size_t nulls = 0, pending_max = 0;
            for (size_t offset = 0; offset < 64; offset++)
                nulls += run(which, points[i][0], points[i][1], offset, &pending_max, 100);
            printf("M=%zu n=%zu %s: NULLs=%zu, most blocks pending at once=%zu\n", points[i][0],
                   points[i][1], which ? "random" : "phases", nulls, pending_max);
            failures += nulls != 0;
        }
        /* The test of the test: in 85% of the rule the phases meet NULL. */
        size_t ignored = 0, short_nulls = run(0, points[i][0], points[i][1], 0, &ignored, 85);
        printf("M=%zu n=%zu phases in 85%% of the rule: NULLs=%zu (must be > 0)\n", points[i][0],
               points[i][1], short_nulls);
        failures += short_nulls == 0;
    }
    return failures ? 1 : 0;
}
