/* misaligned.c: kalloc-check's pmm_base allocator with one planted bug, KBUG_MISALIGNED (see pmm_base.h). */
#define KBUG_MISALIGNED 1
#include "pmm_base.h"
