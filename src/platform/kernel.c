/*
 * kernel.c: the state behind the kernel build's primitives (kernel.h), in
 * debug builds only: the report of a failed assertion and each CPU's record
 * of the locks it holds (a call holds its locks with interrupts off, so it
 * stays on its CPU meanwhile).
 */
#include "platform/lock.h"
#include "platform/platform.h"

#if defined(MM_DEBUG)
void mm_prim_assert_failed(const char *file, int line, const char *condition)
{
#if defined(KALLOC_ASSERT_FAILED)
    KALLOC_ASSERT_FAILED(file, line, condition);
#else
    (void)file;
    (void)line;
    (void)condition;
#endif
    __builtin_trap();
}

static struct mm_lock_record lock_records[MM_PRIM_KERNEL_CPUS];

struct mm_lock_record *mm_prim_lock_record(void)
{
    return &lock_records[(unsigned)mm_prim_cpu_current() % MM_PRIM_KERNEL_CPUS];
}
#endif
