/*
 * retain.h: the memory-return policy's clock, shared by the cache of empty
 * slabs shared by all heaps (cache.c) and the large-block cache (large.c).
 *
 * A cache may always hold a small budget of its own. When the platform
 * gives a clock (mm_prim_has_clock: the hosted library), it may also
 * hold what the memory it serves fell from its recent peak: the most seen in
 * the current window of MM_RETAIN_MS and in the one before. A program that
 * frees a burst and allocates it again (a request loop, a phase) so reuses
 * mapped, already faulted memory instead of unmapping and mapping it again,
 * and a cache gives its surplus back once a whole window passes below the
 * peak. Windows move only when their cache is used (a slab put in it, a
 * large block freed): an idle program keeps its surplus until its next such
 * event or malloc_trim. Without a clock the surplus is always zero.
 *
 * Invariant: window_peak >= the quantity tracked, but for a quantity that
 * several threads change (the shared cache's) only once each change has
 * been noted: meanwhile the surplus is taken as zero. Every new window
 * starts at the current value. Each call is O(1); all but
 * mm_retention_note are made under the lock of the structure that owns the
 * mm_retention.
 */
#ifndef MM_RETAIN_H
#define MM_RETAIN_H

#include "core/types.h"

/* Whether the platform gave a clock, and the caches keep a recent peak. */
static inline bool mm_retention_enabled(void)
{
    return mm_prim_has_clock();
}

/* What else retention changes, for a heap whose memory is kept anyway:
 * - slabs are bigger (mm_slab_pages with `retained`);
 * - an empty current slab stays up to three pages rather than one (every
 *   class up to 4 KiB: a malloc/free loop of one block takes no lock).
 * Without retention the frugal values hold, for the M5 rule. */
static inline size_t mm_slab_keep_empty_bytes(void)
{
    return mm_retention_enabled() ? 3 * MM_PAGE_SIZE : MM_PAGE_SIZE;
}

/* Start over at `current`: no surplus. */
static inline void mm_retention_reset(mm_retention *r, size_t current)
{
    atomic_store_explicit(&r->window_peak, current, memory_order_relaxed);
    r->previous_peak = current;
    r->window_end = 0;
}

/* The tracked quantity rose to `current`. Lock-free, so that the heaps can
 * raise the shared cache's peak each under its own lock: a compare-and-swap
 * loop that only raises (relaxed: the peak is a budget, not a guard of other
 * memory; a note that races with a new window is at worst forgotten, which
 * only makes the cache give memory back sooner). */
static inline void mm_retention_note(mm_retention *r, size_t current)
{
    mm_atomic_raise(&r->window_peak, current);
}

/* Start a new window when this one is over; the one before counts only if
 * it ended just now, not before an idle spell. */
static inline void mm_retention_advance(mm_retention *r, size_t current)
{
    if (!mm_retention_enabled())
        return;
    uint64_t now = mm_prim_clock_ms();
    if (now < r->window_end)
        return;
    size_t peak = atomic_exchange_explicit(&r->window_peak, current, memory_order_relaxed);
    r->previous_peak = now < r->window_end + MM_RETAIN_MS ? peak : current;
    r->window_end = now + MM_RETAIN_MS;
}

/* What the quantity, now `current`, fell from its recent peak: what a cache
 * may keep beyond its own budget (zero without a clock). */
static inline size_t mm_retention_surplus(const mm_retention *r, size_t current)
{
    if (!mm_retention_enabled())
        return 0;
    size_t peak = atomic_load_explicit(&r->window_peak, memory_order_relaxed);
    if (r->previous_peak > peak)
        peak = r->previous_peak;
    return peak > current ? peak - current : 0;
}

#endif /* MM_RETAIN_H */
