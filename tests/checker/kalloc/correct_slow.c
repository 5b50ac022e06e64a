/* correct_slow.c: kalloc-check's pmm_base allocator with no bug: correct, one global lock (see pmm_base.h). */
#include "pmm_base.h"
