/* waste_64k.c: the checker's page_slab allocator with one planted bug, CHECKER_BUG_WASTE_64K (see page_slab.h). */
#define CHECKER_BUG_WASTE_64K 1
#include "page_slab.h"
