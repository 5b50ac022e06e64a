/* plain_lock.c: the checker's page_slab allocator with one planted bug, CHECKER_BUG_PLAIN_LOCK (see page_slab.h). */
#define CHECKER_BUG_PLAIN_LOCK 1
#include "page_slab.h"
