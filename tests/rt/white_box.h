/*
 * white_box.h: the harness of the real-time heap's white-box tests
 * (stale_pointer.c, free_reuse_race.c, handoff_stress.c, sizing_pending.c):
 * the heap's sources compiled into the test as
 * the drop-in compiles them (MM_RT_STANDALONE), so that a test can read the
 * heap's state and drive single steps of a call (a deterministic
 * interleaving). Build: gcc -std=gnu11 -O1 -g -Iinclude -Isrc [-DMM_DEBUG]
 * [-fsanitize=thread] tests/rt/X.c -lpthread
 */
#ifndef RT_WHITE_BOX_H
#define RT_WHITE_BOX_H
#define MM_RT_STANDALONE 1
#include "mymalloc/rt.h"
#include "rt/heap.c"
#include "rt/check.c"

#include <stdio.h>
#include <stdlib.h>

static _Atomic int wb_doubles, wb_invalids;
__attribute__((unused)) static void wb_on_error(rt_heap_t *heap, void *ptr, enum rt_problem problem)
{
    (void)heap;
    (void)ptr;
    if (problem == RT_DOUBLE_FREE)
        atomic_fetch_add(&wb_doubles, 1);
    else
        atomic_fetch_add(&wb_invalids, 1);
}

#define WB_REQUIRE(cond, ...)                                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#endif
