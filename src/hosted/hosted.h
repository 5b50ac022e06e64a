/*
 * hosted.h: what the hosted layer's files share.
 *
 *   threads.c   the hooks into the core: thread exit, fork, errno, bad
 *               pointers; installed on first use
 *   options.c   the MYMALLOC_ environment options and the report at exit
 *   report.c    everything the library prints (to stderr, without malloc)
 *   libc.c      the standard malloc family and glibc's extras
 *   app.c       the application API (allocator_init, ..._verify)
 *   (vmalloc/vmfree over mmap are the platform's: src/platform/hosted.c)
 */
#ifndef MM_HOSTED_H
#define MM_HOSTED_H

#include <stdbool.h>
#include <stddef.h>

/* Internal to the library: what is declared here is not exported (the
 * public functions are defined MM_PUBLIC). */
#pragma GCC visibility push(hidden)

/* What the library exports: the core's headers make everything after them
 * hidden by default. */
#define MM_PUBLIC __attribute__((visibility("default")))

/* Install the hooks; idempotent and thread-safe. */
void mm_hosted_install(void);

/* Options (options.c): read the environment once and act on it (the
 * report at exit); idempotent. mm_options_parse only sets the option
 * variables, and allocates nothing: for the first vmalloc, which may come
 * before the library's constructor. */
void mm_options_read(void);
void mm_options_parse(void);
extern bool mm_option_verbose;
extern bool mm_option_huge_pages;
#if defined(MM_REALTIME)
/* MYMALLOC_RT_ARENA_MB: the real-time arena's size (platform/hosted.c). */
extern size_t mm_option_rt_arena_mb;
/* Hold the arena's lock across a fork (platform/hosted.c, threads.c). */
void mm_rt_arena_fork_lock(void);
void mm_rt_arena_fork_unlock(void);
#endif

/* Output (report.c). Each writes whole lines to stderr with write(2), from
 * a stack buffer: safe inside the allocator's hooks and in any thread.
 * Every line the library prints starts with "mymalloc", so that scripts can
 * tell it from the program's own output. */
void mm_say(const char *format, ...) __attribute__((format(printf, 1, 2)));
void mm_verbose(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Statistics: totals, bytes held, per size class, and the one-line summary
 * "mymalloc: stats: mallocs=N frees=N allocated_bytes=N freed_bytes=N
 * peak_bytes=N held_bytes=N peak_held_bytes=N" that scripts read. */
void mm_report_stats(void);
/* Return idle memory (malloc_trim, allocator_cleanup); true if any was. */
bool mm_hosted_trim(const char *who);

#pragma GCC visibility pop

#endif /* MM_HOSTED_H */
