/*
 * kalloc_pmm_adapter.c: the module for a pmm.c that does not define it
 * (no MODULE_DEF(pmm)) but global kalloc and kfree, and maybe pmm_init:
 * kalloc-check links this file only then.
 */
#include <stddef.h>

void *kalloc(size_t size);
void kfree(void *ptr);
void pmm_init(void) __attribute__((weak));

struct pmm_module {
    void (*init)(void);
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);
};

static void init_if_any(void)
{
    if (pmm_init != NULL)
        pmm_init();
}

static struct pmm_module adapter = {init_if_any, kalloc, kfree};
struct pmm_module *pmm = &adapter;
