/*
 * threads.c: the hosted build's hooks into the core. A pthread key whose
 * destructor retires the heap of an exiting thread; fork handlers that take
 * every allocator lock around fork; errno for failed calls; and the report
 * of a bad pointer given to free (a message on stderr, then abort, as glibc
 * does). Installed by a constructor, and again by the hosted vmalloc in case
 * an allocation runs before constructors do.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/identity.h"
#include "hosted/hosted.h"

static pthread_key_t exit_key;

static void on_thread_attached(mm_heap *heap)
{
    pthread_setspecific(exit_key, heap);
}

static void on_bad_pointer(void *ptr, const char *problem)
{
    mm_say("mymalloc: free(): %s %p (not a live block of this allocator); aborting", problem, ptr);
    abort();
}

static void on_error(enum mm_error error)
{
    errno = error == MM_ERROR_INVALID ? EINVAL : ENOMEM;
}

static void on_fork_child(void)
{
    mm_fork_child();
    mm_verbose("mymalloc: fork: heaps of the parent's other threads retired in the child");
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void install(void)
{
    if (pthread_key_create(&exit_key, mm_thread_detach) == 0)
        mm_platform_hooks.thread_attached = on_thread_attached;
    mm_platform_hooks.bad_pointer = on_bad_pointer;
    mm_platform_hooks.error = on_error;
    pthread_atfork(mm_fork_prepare, mm_fork_parent, on_fork_child);
}

__attribute__((constructor)) void mm_hosted_install(void)
{
    pthread_once(&install_once, install);
}
