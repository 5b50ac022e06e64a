/*
 * Test provider of vmalloc/vmfree (see provider.h).
 *
 * Checks, for every call from the allocator:
 *   vmalloc: addr == NULL, length a positive multiple of 4096;
 *   vmfree:  length a positive multiple of 4096, and (addr, length) is
 *            exactly a live region handed out by vmalloc.
 * A violation is counted in `errors` and described on stderr (the first
 * few); a bad vmfree is not carried out, so the test keeps running.
 *
 * The region table is a fixed-size open-addressing hash table in static
 * memory (linear probing, backward-shift deletion, no tombstones), guarded
 * by a test-side spin lock. Held/peak/call counters are atomics.
 */
#include "provider.h"

#include "mymalloc.h"
#include "testlib.h"

#define TABLE_BITS 21 /* 2M slots: 32 MiB of bss, touched only as used */
#define TABLE_SIZE ((size_t)1 << TABLE_BITS)
#define TABLE_MAX_FILL (TABLE_SIZE / 4 * 3)
#define MAX_ERROR_MESSAGES 20

struct region {
    uintptr_t addr; /* 0 = empty slot */
    size_t length;
};

static struct region table[TABLE_SIZE];
static size_t table_count;
static tl_spin_t table_lock = TL_SPIN_INIT;

static atomic_size_t held, peak, cap;
static atomic_ulong vmalloc_calls, vmallocs, vmfrees, refused, errors;
static atomic_ulong fail_every;

static size_t slot_of(uintptr_t addr)
{
    return (size_t)(tl_mix64(addr >> 12) & (TABLE_SIZE - 1));
}

static void provider_error(const char *what, void *addr, size_t length)
{
    unsigned long n = atomic_fetch_add(&errors, 1) + 1;
    if (n <= MAX_ERROR_MESSAGES)
        tl_printf("PROVIDER ERROR #%lu: %s (addr=%p length=%zu)\n", n, what,
                  addr, length);
}

static int length_ok(size_t length)
{
    return length != 0 && length % TL_PAGE == 0;
}

/* Called with table_lock held. Returns 0 when the table is full. */
static int table_insert(uintptr_t addr, size_t length)
{
    if (table_count >= TABLE_MAX_FILL)
        return 0;
    size_t i = slot_of(addr);
    while (table[i].addr != 0)
        i = (i + 1) & (TABLE_SIZE - 1);
    table[i].addr = addr;
    table[i].length = length;
    table_count++;
    return 1;
}

/* Called with table_lock held. Returns the slot index or -1. */
static long table_find(uintptr_t addr)
{
    size_t i = slot_of(addr);
    while (table[i].addr != 0) {
        if (table[i].addr == addr)
            return (long)i;
        i = (i + 1) & (TABLE_SIZE - 1);
    }
    return -1;
}

/* Called with table_lock held: backward-shift deletion keeps every probe
 * chain unbroken without tombstones. */
static void table_remove(size_t i)
{
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & (TABLE_SIZE - 1);
        if (table[j].addr == 0)
            break;
        size_t home = slot_of(table[j].addr);
        /* Move j into the hole unless its home lies cyclically in
         * (hole, j]. */
        int home_in_range = hole <= j ? (home > hole && home <= j)
                                      : (home > hole || home <= j);
        if (!home_in_range) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole].addr = 0;
    table[hole].length = 0;
    table_count--;
}

static void raise_peak(size_t now)
{
    size_t p = atomic_load_explicit(&peak, memory_order_relaxed);
    while (now > p &&
           !atomic_compare_exchange_weak_explicit(&peak, &p, now,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

/* Counts `length` more bytes held, within the cap (0 = none); returns the
 * new held value, or 0 when the cap does not allow it. Sequentially
 * consistent: pairs with tl_live_add's fence (see testlib.h). */
static size_t add_held(size_t length)
{
    size_t limit = atomic_load_explicit(&cap, memory_order_relaxed);
    size_t h = atomic_load_explicit(&held, memory_order_relaxed);
    for (;;) {
        if (length > SIZE_MAX - h)
            return 0;
        if (limit != 0 && (h > limit || length > limit - h))
            return 0;
        if (atomic_compare_exchange_weak(&held, &h, h + length))
            return h + length;
    }
}

void *vmalloc(void *addr, size_t length)
{
    unsigned long call = atomic_fetch_add(&vmalloc_calls, 1) + 1;

    if (addr != NULL)
        provider_error("vmalloc with a non-NULL address hint", addr, length);
    if (!length_ok(length)) {
        provider_error("vmalloc length not a positive multiple of 4096",
                       addr, length);
        atomic_fetch_add(&refused, 1);
        return NULL;
    }
    unsigned long k = atomic_load_explicit(&fail_every, memory_order_relaxed);
    if (k != 0 && call % k == 0) {
        atomic_fetch_add(&refused, 1);
        return NULL;
    }
    /* Under a cap, reserve before mapping so that racing callers cannot
     * overshoot it; without one, map first so that a huge request the
     * kernel refuses never shows up in `held`, not even for a moment. */
    int capped = atomic_load_explicit(&cap, memory_order_relaxed) != 0;
    size_t held_now = 0;
    if (capped && (held_now = add_held(length)) == 0) {
        atomic_fetch_add(&refused, 1);
        return NULL;
    }
    void *p = tl_mmap(length);
    if (p != NULL && !capped)
        held_now = add_held(length);
    if (p == NULL) {
        if (capped)
            atomic_fetch_sub(&held, length);
        atomic_fetch_add(&refused, 1);
        return NULL;
    }

    tl_spin_lock(&table_lock);
    int stored = table_insert((uintptr_t)p, length);
    tl_spin_unlock(&table_lock);
    if (!stored) {
        /* A limit of the test kit, not of the allocator; still fail. */
        provider_error("provider region table full", p, length);
        tl_munmap(p, length);
        atomic_fetch_sub(&held, length);
        atomic_fetch_add(&refused, 1);
        return NULL;
    }
    raise_peak(held_now);
    atomic_fetch_add(&vmallocs, 1);
    return p;
}

void vmfree(void *addr, size_t length)
{
    if (!length_ok(length)) {
        provider_error("vmfree length not a positive multiple of 4096", addr,
                       length);
        return;
    }

    tl_spin_lock(&table_lock);
    long i = table_find((uintptr_t)addr);
    size_t recorded = i >= 0 ? table[i].length : 0;
    if (i >= 0 && recorded == length)
        table_remove((size_t)i);
    tl_spin_unlock(&table_lock);

    if (i < 0) {
        provider_error("vmfree of an address that is not a live region",
                       addr, length);
        return;
    }
    if (recorded != length) {
        provider_error("vmfree length differs from the region's length",
                       addr, length);
        tl_printf("    (the region was mapped with length %zu)\n", recorded);
        return;
    }
    /* Removed from the table before unmapping: the kernel may hand the
     * address out again as soon as it is unmapped. */
    tl_munmap(addr, length);
    atomic_fetch_sub(&held, length);
    atomic_fetch_add(&vmfrees, 1);
}

size_t provider_held(void)
{
    return atomic_load(&held);
}

size_t provider_peak(void)
{
    return atomic_load(&peak);
}

void provider_reset_peak(void)
{
    atomic_store(&peak, atomic_load(&held));
}

unsigned long provider_errors(void)
{
    return atomic_load(&errors);
}

void provider_clear_errors(void)
{
    atomic_store(&errors, 0);
}

void provider_get_stats(provider_stats *s)
{
    s->held = atomic_load(&held);
    s->peak = atomic_load(&peak);
    tl_spin_lock(&table_lock);
    s->regions = table_count;
    tl_spin_unlock(&table_lock);
    s->vmallocs = atomic_load(&vmallocs);
    s->vmfrees = atomic_load(&vmfrees);
    s->refused = atomic_load(&refused);
    s->errors = atomic_load(&errors);
}

void provider_set_cap(size_t bytes)
{
    atomic_store(&cap, bytes);
}

void provider_fail_every(unsigned long k)
{
    atomic_store(&fail_every, k);
}

#define HIST_LENGTHS 24

size_t provider_regions_of_length(size_t length, void **out, size_t max)
{
    size_t found = 0;
    tl_spin_lock(&table_lock);
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        if (table[i].addr == 0 || table[i].length != length)
            continue;
        if (found < max)
            out[found] = (void *)table[i].addr;
        found++;
    }
    tl_spin_unlock(&table_lock);
    return found;
}

void provider_print_regions(void)
{
    struct {
        size_t length, count;
    } hist[HIST_LENGTHS];
    int n = 0;
    size_t other_count = 0, other_bytes = 0;

    tl_spin_lock(&table_lock);
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        size_t len = table[i].length;
        if (table[i].addr == 0)
            continue;
        int j = 0;
        while (j < n && hist[j].length != len)
            j++;
        if (j == n && n < HIST_LENGTHS) {
            hist[n].length = len;
            hist[n].count = 0;
            n++;
        }
        if (j < n) {
            hist[j].count++;
        } else {
            other_count++;
            other_bytes += len;
        }
    }
    tl_spin_unlock(&table_lock);

    tl_printf("provider: live regions by length:");
    for (int j = 0; j < n; j++)
        tl_printf(" %zux%zuK", hist[j].count, hist[j].length / 1024);
    if (other_count)
        tl_printf(" +%zu others (%zu KiB)", other_count, other_bytes / 1024);
    tl_printf("\n");
}

void provider_print_stats(const char *label)
{
    provider_stats s;
    char b1[24], b2[24];
    provider_get_stats(&s);
    tl_printf("provider[%s]: held=%s peak=%s regions=%zu vmalloc=%lu "
              "vmfree=%lu refused=%lu errors=%lu\n",
              label, tl_fmt_bytes(b1, s.held), tl_fmt_bytes(b2, s.peak),
              s.regions, s.vmallocs, s.vmfrees, s.refused, s.errors);
}
