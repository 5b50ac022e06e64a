/*
 * kernel.h (kalloc-check): the L1 framework's module declarations
 * (framework/kernel.h): MODULE declares a module's interface, MODULE_DEF
 * defines its one instance and the pointer the framework calls it by.
 */
#ifndef KALLOC_CHECK_KERNEL_H
#define KALLOC_CHECK_KERNEL_H

#include <am.h>

#define MODULE(mod)                                                        \
    typedef struct mod_##mod##_t mod_##mod##_t;                            \
    extern mod_##mod##_t *mod;                                             \
    struct mod_##mod##_t

#define MODULE_DEF(mod)                                                    \
    extern mod_##mod##_t __##mod##_obj;                                    \
    mod_##mod##_t *mod = &__##mod##_obj;                                   \
    mod_##mod##_t __##mod##_obj

MODULE(os) {
    void (*init)();
    void (*run)();
};

MODULE(pmm) {
    void (*init)();
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);
};

#endif
