/* common.h (kalloc-check): the L1 skeleton's include/common.h. */
#include <kernel.h>
#include <klib.h>
#include <klib-macros.h>
