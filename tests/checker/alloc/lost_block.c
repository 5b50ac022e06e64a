/* lost_block.c: the checker's page_slab allocator with one planted bug, CHECKER_BUG_LOST_BLOCK (see page_slab.h). */
#define CHECKER_BUG_LOST_BLOCK 1
#include "page_slab.h"
