/*
 * app.c: the application API of include/mymalloc.h (allocator_init,
 * allocator_cleanup, allocator_stats, allocator_dump, allocator_verify)
 * over the core's statistics, trimming and structural check. Under memcheck
 * the trim and the check read free blocks (their links): with reports off
 * (platform/track.h).
 */
/* The public header first: the core's headers make what follows hidden. */
#include "mymalloc.h"

#include "core/check.h"
#include "core/entry.h"
#include "core/identity.h"
#include "core/stats.h"
#include "hosted/hosted.h"
#include "platform/track.h"

MM_PUBLIC int allocator_init(int enable_concurrency)
{
    (void)enable_concurrency; /* concurrency is always on; see mymalloc.h */
    mm_hosted_install();
    mm_options_read();
    return 0;
}

MM_PUBLIC void allocator_cleanup(void)
{
    mm_track_quiet_begin();
    mm_hosted_trim("allocator_cleanup");
    mm_track_quiet_end();
}

MM_PUBLIC void allocator_stats(size_t *allocated, size_t *freed, size_t *peak)
{
    mm_stats s;
    mm_stats_collect(&s);
    if (allocated != NULL)
        *allocated = s.allocated_bytes;
    if (freed != NULL)
        *freed = s.freed_bytes;
    if (peak != NULL)
        *peak = s.peak_bytes;
}

/* The pools' lines (src/pool/pool.c), weak: a library built without the
 * pool module (MODULE_DIRS) dumps the rest. */
void mm_pool_report(void (*say)(const char *format, ...)) __attribute__((weak));

MM_PUBLIC void allocator_dump(void)
{
    mm_report_stats();
    if (mm_pool_report != NULL)
        mm_pool_report(mm_say);
}

static void report_violation(const char *what, const void *where)
{
    mm_say("mymalloc: allocator_verify: %s (at %p)", what, where);
}

MM_PUBLIC int allocator_verify(void)
{
    mm_track_quiet_begin();
    unsigned found = mm_verify(mm_caller_heap(), report_violation, 20);
    mm_track_quiet_end();
    if (found == 0)
        return 0;
    mm_say("mymalloc: allocator_verify: %u problem%s found", found, found == 1 ? "" : "s");
    return -1;
}
