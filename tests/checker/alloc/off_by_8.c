/* off_by_8.c: the checker's page_slab allocator with one planted bug, CHECKER_BUG_OFF_BY_8 (see page_slab.h). */
#define CHECKER_BUG_OFF_BY_8 1
#include "page_slab.h"
