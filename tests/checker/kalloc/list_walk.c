/* list_walk.c: kalloc-check's pmm_base allocator with one planted bug, KBUG_LIST_WALK (see pmm_base.h). */
#define KBUG_LIST_WALK 1
#include "pmm_base.h"
