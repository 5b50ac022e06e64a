/*
 * report.c: everything the hosted library prints. Lines are formatted into a
 * stack buffer and written to stderr with one write(2): no stdio buffer, no
 * malloc, so printing is safe inside the allocator's hooks, at exit and in
 * any thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "core/entry.h"
#include "core/identity.h"
#include "core/size_class.h"
#include "core/stats.h"
#include "hosted/hosted.h"

static void say_v(const char *format, va_list args)
{
    char line[512];
    int n = vsnprintf(line, sizeof line - 1, format, args);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    for (ssize_t done = 0, w; done < n; done += w)
        if ((w = write(STDERR_FILENO, line + done, (size_t)(n - done))) <= 0)
            return;
}

void mm_say(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    say_v(format, args);
    va_end(args);
}

void mm_verbose(const char *format, ...)
{
    if (!mm_option_verbose)
        return;
    va_list args;
    va_start(args, format);
    say_v(format, args);
    va_end(args);
}

/* a - b, or 0: with other threads running, a free may be counted before
 * the malloc it undoes is. */
static unsigned long long difference(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

void mm_report_stats(void)
{
    mm_stats s;
    mm_stats_collect(&s);
    unsigned long long in_use = s.in_use_bytes;
    mm_say("mymalloc: statistics (pid %d)", (int)getpid());
    mm_say("mymalloc:   blocks handed out   %llu, freed %llu, in use %llu",
           (unsigned long long)s.mallocs, (unsigned long long)s.frees,
           difference(s.mallocs, s.frees));
    mm_say("mymalloc:   bytes handed out    %llu, freed %llu, in use %llu, peak in use %llu",
           (unsigned long long)s.allocated_bytes, (unsigned long long)s.freed_bytes, in_use,
           (unsigned long long)s.peak_bytes);
    mm_say("mymalloc:   bytes held from the system %llu, peak %llu; heaps %llu",
           (unsigned long long)s.held_bytes, (unsigned long long)s.peak_held_bytes,
           (unsigned long long)s.heaps);
    mm_say("mymalloc:   large blocks (> %zu bytes): %llu handed out, %llu freed, %llu bytes in use",
           (size_t)MM_SMALL_MAX, (unsigned long long)s.large_mallocs,
           (unsigned long long)s.large_frees,
           difference(s.large_allocated_bytes, s.large_freed_bytes));
    mm_say("mymalloc:   %5s %7s %12s %12s %12s %6s", "class", "size", "mallocs", "frees", "in use",
           "slabs");
    for (unsigned c = 0; c < MM_CLASS_COUNT; c++) {
        if (s.classes[c].mallocs == 0 && s.classes[c].slabs == 0)
            continue;
        mm_say("mymalloc:   %5u %7zu %12llu %12llu %12llu %6llu", c, mm_class_size(c),
               (unsigned long long)s.classes[c].mallocs,
               (unsigned long long)s.classes[c].frees,
               difference(s.classes[c].mallocs, s.classes[c].frees),
               (unsigned long long)s.classes[c].slabs);
    }
    mm_say("mymalloc: stats: mallocs=%llu frees=%llu allocated_bytes=%llu freed_bytes=%llu "
           "peak_bytes=%llu held_bytes=%llu peak_held_bytes=%llu",
           (unsigned long long)s.mallocs, (unsigned long long)s.frees,
           (unsigned long long)s.allocated_bytes, (unsigned long long)s.freed_bytes,
           (unsigned long long)s.peak_bytes, (unsigned long long)s.held_bytes,
           (unsigned long long)s.peak_held_bytes);
}

bool mm_hosted_trim(const char *who)
{
    mm_stats before, after;
    mm_stats_collect(&before);
    mm_reclaim(mm_caller_heap());
    mm_stats_collect(&after);
    unsigned long long returned =
        before.held_bytes > after.held_bytes ? before.held_bytes - after.held_bytes : 0;
    mm_verbose("mymalloc: %s: returned %llu bytes to the system, %llu held", who, returned,
               (unsigned long long)after.held_bytes);
    return returned > 0;
}
