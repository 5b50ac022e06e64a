/* no_lock.c: kalloc-check's pmm_base allocator with one planted bug, KBUG_NO_LOCK (see pmm_base.h). */
#define KBUG_NO_LOCK 1
#include "pmm_base.h"
