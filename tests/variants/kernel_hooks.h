/*
 * kernel_hooks.h: the embedder's hooks that the kernel drop-in's variants
 * are compiled with (tests/variants/rules.mk passes this file with -include
 * and the macros with -D): interrupt control for KALLOC_IRQ_SAVE and
 * KALLOC_IRQ_RESTORE, and the report of KALLOC_ASSERT_FAILED. Defined in
 * kernel_smoke.c.
 */
#ifndef TESTS_VARIANTS_KERNEL_HOOKS_H
#define TESTS_VARIANTS_KERNEL_HOOKS_H

unsigned long vt_irq_save(void);
void vt_irq_restore(unsigned long saved);
void vt_assert_failed(const char *file, int line, const char *condition);

#endif /* TESTS_VARIANTS_KERNEL_HOOKS_H */
