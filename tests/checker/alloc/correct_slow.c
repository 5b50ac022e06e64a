/* correct_slow.c: the checker's page_slab allocator, correct but slow (one global lock). */
#include "page_slab.h"
