/*
 * provider_test: the test provider itself catches what it must, so a
 * passing allocator test means something.
 *
 * Checks that a vmfree with the wrong length, of an unknown address, or
 * with a length that is not a positive multiple of 4096 is counted as an
 * error (and not carried out); that a bad vmalloc length or a non-NULL hint
 * is counted; that the byte cap and fail-every-k work; that held/peak are
 * right; and that the region table stays consistent through 200000
 * regions mapped and unmapped in random order from 4 threads at once.
 */
#include "mymalloc.h"
#include "provider.h"
#include "testlib.h"

#define P TL_PAGE

static void expect_errors(unsigned long n, const char *what)
{
    unsigned long got = provider_errors();
    TL_CHECK(got == n, "provider: %s: %lu errors counted, expected %lu", what,
             got, n);
    provider_clear_errors();
}

static void check_bad_calls(void)
{
    char *p = vmalloc(NULL, 3 * P);
    TL_CHECK(p != NULL, "provider: vmalloc(3 pages) failed");
    TL_CHECK(provider_held() == 3 * P, "provider: held %zu after 3 pages",
             provider_held());
    p[0] = 1, p[3 * P - 1] = 2; /* mapped and writable */

    vmfree(p, 2 * P);
    expect_errors(1, "vmfree with a shorter length");
    vmfree(p, 4 * P);
    expect_errors(1, "vmfree with a longer length");
    vmfree(p + P, 2 * P);
    expect_errors(1, "vmfree of an address inside a region");
    vmfree(p, 3 * P - 8);
    expect_errors(1, "vmfree of a length that is not a page multiple");
    vmfree(p, 0);
    expect_errors(1, "vmfree of length 0");
    TL_CHECK(provider_held() == 3 * P && p[3 * P - 1] == 2,
             "provider: a rejected vmfree was carried out");
    vmfree(p, 3 * P);
    expect_errors(0, "matching vmfree");
    vmfree(p, 3 * P);
    expect_errors(1, "second vmfree of the same region");
    TL_CHECK(provider_held() == 0, "provider: held %zu after all freed",
             provider_held());

    TL_CHECK(vmalloc(NULL, 100) == NULL, "provider: vmalloc(100) mapped");
    expect_errors(1, "vmalloc of 100 bytes");
    TL_CHECK(vmalloc(NULL, 0) == NULL, "provider: vmalloc(0) mapped");
    expect_errors(1, "vmalloc of 0 bytes");
    void *q = vmalloc((void *)0x100000000000, P);
    expect_errors(1, "vmalloc with an address hint");
    if (q)
        vmfree(q, P);
    expect_errors(0, "cleanup");
}

static void check_cap_and_faults(void)
{
    void *pages[17];
    provider_reset_peak();
    provider_set_cap(16 * P);
    for (int i = 0; i < 16; i++) {
        pages[i] = vmalloc(NULL, P);
        TL_CHECK(pages[i] != NULL, "provider: page %d refused under the cap",
                 i);
    }
    TL_CHECK(vmalloc(NULL, P) == NULL, "provider: cap not enforced");
    vmfree(pages[3], P);
    pages[3] = vmalloc(NULL, P);
    TL_CHECK(pages[3] != NULL, "provider: freed room under the cap not usable");
    TL_CHECK(provider_peak() == 16 * P, "provider: peak %zu, expected %zu",
             provider_peak(), 16 * P);
    provider_set_cap(0);
    for (int i = 0; i < 16; i++)
        vmfree(pages[i], P);

    provider_fail_every(3);
    int nulls = 0;
    for (int i = 0; i < 30; i++) {
        void *p = vmalloc(NULL, P);
        if (p)
            vmfree(p, P);
        else
            nulls++;
    }
    provider_fail_every(0);
    TL_CHECK(nulls == 10, "provider: fail_every(3) failed %d of 30 calls",
             nulls);
    expect_errors(0, "cap and faults");
}

#define TABLE_THREADS 4
#define TABLE_REGIONS 50000

static int table_worker(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    static void *regions[TABLE_THREADS][TABLE_REGIONS];
    static size_t lengths[TABLE_THREADS][TABLE_REGIONS];
    void **r = regions[id];
    size_t *len = lengths[id];
    tl_rng rng;
    tl_rng_seed(&rng, id);
    for (int i = 0; i < TABLE_REGIONS; i++) {
        len[i] = P * (size_t)tl_range(&rng, 1, 3);
        r[i] = vmalloc(NULL, len[i]);
        if (!r[i])
            tl_fail("provider: vmalloc failed in the table test");
        /* Free some at once, to mix insertions with deletions. */
        if (r[i] && tl_rand(&rng) % 3 == 0) {
            vmfree(r[i], len[i]);
            r[i] = NULL;
        }
    }
    for (int i = TABLE_REGIONS - 1; i > 0; i--) {
        int j = (int)tl_range(&rng, 0, (uint64_t)i);
        void *t = r[i];
        size_t tl = len[i];
        r[i] = r[j], len[i] = len[j];
        r[j] = t, len[j] = tl;
    }
    for (int i = 0; i < TABLE_REGIONS; i++)
        if (r[i])
            vmfree(r[i], len[i]);
    return 0;
}

static void check_table(void)
{
    tl_thread threads[TABLE_THREADS];
    for (int t = 0; t < TABLE_THREADS; t++)
        if (tl_thread_start(&threads[t], TL_PTHREAD, table_worker,
                            (void *)(uintptr_t)t))
            tl_die("provider: cannot start thread %d", t);
    for (int t = 0; t < TABLE_THREADS; t++)
        tl_thread_join(&threads[t]);
    provider_stats s;
    provider_get_stats(&s);
    TL_CHECK(s.errors == 0 && s.held == 0 && s.regions == 0,
             "provider: table test ended with %lu errors, %zu held, %zu "
             "regions",
             s.errors, s.held, s.regions);
}

int main(void)
{
    check_bad_calls();
    check_cap_and_faults();
    check_table();
    return tl_finish("provider_test");
}
