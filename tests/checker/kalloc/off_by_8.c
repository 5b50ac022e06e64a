/* off_by_8.c: kalloc-check's pmm_base allocator with one planted bug, KBUG_OFF_BY_8 (see pmm_base.h). */
#define KBUG_OFF_BY_8 1
#include "pmm_base.h"
