/* plain_lock.c: kalloc-check's pmm_base allocator with one planted bug, KBUG_PLAIN_LOCK (see pmm_base.h). */
#define KBUG_PLAIN_LOCK 1
#include "pmm_base.h"
