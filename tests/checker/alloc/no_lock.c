/* no_lock.c: the checker's page_slab allocator with one planted bug, CHECKER_BUG_NO_LOCK (see page_slab.h). */
#define CHECKER_BUG_NO_LOCK 1
#include "page_slab.h"
