/*
 * threads.c: the hosted build's thread hooks. A pthread key whose destructor
 * runs when a thread that got a heap exits, so its heap is abandoned and
 * reused; and the report of an invalid free (a message on stderr, then
 * abort, as glibc does). Installed by a constructor, and again by the hosted
 * vmalloc in case an allocation runs before constructors do.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/identity.h"
#include "hosted/hosted.h"

static pthread_key_t exit_key;

static void on_thread_attached(mm_heap *heap)
{
    pthread_setspecific(exit_key, heap);
}

static void on_invalid_free(void *ptr)
{
    fprintf(stderr, "mymalloc: free(): invalid pointer %p (not a block this allocator handed out)\n",
            ptr);
    abort();
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void install(void)
{
    if (pthread_key_create(&exit_key, mm_thread_detach) == 0)
        mm_platform_hooks.thread_attached = on_thread_attached;
    mm_platform_hooks.invalid_free = on_invalid_free;
}

__attribute__((constructor)) void mm_hosted_install(void)
{
    pthread_once(&install_once, install);
}
