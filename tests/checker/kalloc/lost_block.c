/* lost_block.c: kalloc-check's pmm_base allocator with one planted bug, KBUG_LOST_BLOCK (see pmm_base.h). */
#define KBUG_LOST_BLOCK 1
#include "pmm_base.h"
