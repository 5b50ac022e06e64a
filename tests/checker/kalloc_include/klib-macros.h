/*
 * klib-macros.h (kalloc-check): the helper macros of AbstractMachine's
 * klib that pmm.c files commonly use.
 */
#ifndef KALLOC_CHECK_KLIB_MACROS_H
#define KALLOC_CHECK_KLIB_MACROS_H

#include <am.h>

#define ROUNDUP(a, sz) ((((uintptr_t)(a)) + (sz) - 1) & ~((sz) - 1))
#define ROUNDDOWN(a, sz) (((uintptr_t)(a)) & ~((sz) - 1))
#define LENGTH(arr) (sizeof(arr) / sizeof((arr)[0]))
#define RANGE(st, ed) ((Area){.start = (void *)(st), .end = (void *)(ed)})
#define IN_RANGE(ptr, area) ((area).start <= (ptr) && (ptr) < (area).end)

#define STRINGIFY(s) #s
#define TOSTRING(s) STRINGIFY(s)
#define putstr(s)                                                          \
    ({                                                                     \
        for (const char *p_ = (s); *p_; p_++)                              \
            putch(*p_);                                                    \
    })
#define panic_on(cond, s)                                                  \
    ({                                                                     \
        if (cond) {                                                        \
            putstr("AM Panic: ");                                          \
            putstr(s);                                                     \
            putstr(" @ " __FILE__ ":" TOSTRING(__LINE__) "  \n");          \
            halt(1);                                                       \
        }                                                                  \
    })
#define panic(s) panic_on(1, s)

#endif
