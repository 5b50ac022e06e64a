/*
 * base.h: the basics every build and every module shares, whatever it runs
 * on: the page size, branch hints and the debug assertion. It depends on no
 * build and on no allocator structure, so that the kernel allocator and the
 * modules take it without the core's types.
 *
 * MM_ASSERT(condition) states an invariant at the point where the code relies
 * on it. Debug builds (MM_DEBUG defined: `make debug`, the sanitizer and fuzz
 * builds of the test kit) check it and, when it is false, hand the file, line
 * and condition to mm_prim_assert_failed (platform.h), which reports them
 * where the platform can and stops the program. Other builds compile it to
 * nothing: the condition is not evaluated, so it must have no side effect.
 */
#ifndef MM_BASE_H
#define MM_BASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal to the libraries: no symbol here is exported, and calls need no
 * GOT or PLT. */
#pragma GCC visibility push(hidden)

#define MM_PAGE_SHIFT 12
#define MM_PAGE_SIZE ((size_t)1 << MM_PAGE_SHIFT)

/* What the libraries export: the core and the modules are compiled with
 * hidden visibility, and mark their public functions with this. */
#define MM_API __attribute__((visibility("default")))

#define MM_LIKELY(x) __builtin_expect(!!(x), 1)
#define MM_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Raise `*peak` to `value` if it is below: a compare-and-swap loop that only
 * raises (relaxed: a peak is a figure or a budget, never a guard of other
 * memory). */
static inline void mm_atomic_raise(_Atomic size_t *peak, size_t value)
{
    size_t seen = atomic_load_explicit(peak, memory_order_relaxed);
    while (value > seen && !atomic_compare_exchange_weak_explicit(peak, &seen, value,
                                                                  memory_order_relaxed,
                                                                  memory_order_relaxed)) {
    }
}

#if defined(MM_DEBUG)
void mm_prim_assert_failed(const char *file, int line, const char *condition)
    __attribute__((noreturn, cold));
#define MM_ASSERT(condition) \
    (MM_LIKELY(condition) ? (void)0 : mm_prim_assert_failed(__FILE__, __LINE__, #condition))
#else
#define MM_ASSERT(condition) ((void)0)
#endif

#pragma GCC visibility pop

#endif /* MM_BASE_H */
