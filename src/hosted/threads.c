/*
 * threads.c: the hosted build's hooks into the core. A pthread key whose
 * destructor retires the heap of an exiting thread, and gives the caches
 * back (or asks the core to, at the next slow path) when that leaves the
 * main thread alone; fork handlers that take
 * every allocator lock around fork; errno for failed calls; and the report
 * of a bad pointer given to free (a message on stderr, then abort, as glibc
 * does). Installed by a constructor, and again by the hosted vmalloc in case
 * an allocation runs before constructors do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/identity.h"
#include "hosted/hosted.h"
#include "platform/track.h"

static pthread_key_t exit_key;

/* Whether the main thread holds a heap. Relaxed, like the count it is
 * compared with: a decision to give memory back, not a guard of memory. */
static atomic_bool main_attached;

#if defined(MM_REALTIME)
/* Real-time mode: no system call after start-up (gettid, getpid are): the
 * main thread is the one that installed the hooks, at load. */
static pthread_t main_thread;

static bool on_main_thread(void)
{
    return pthread_equal(pthread_self(), main_thread);
}
#else
static bool on_main_thread(void)
{
    return gettid() == getpid();
}
#endif

/* Whether the main thread has been left alone, and whether threads started
 * allocating after that: the program runs its threads in rounds (each
 * thread starting its successor, phases). Relaxed: hints for the decision
 * below. */
static atomic_bool was_alone, threads_came_back;

static void on_thread_attached(void *heap)
{
    pthread_setspecific(exit_key, heap);
    if (on_main_thread())
        atomic_store_explicit(&main_attached, true, memory_order_relaxed);
    else if (atomic_load_explicit(&was_alone, memory_order_relaxed))
        atomic_store_explicit(&threads_came_back, true, memory_order_relaxed);
}

/* The shared cache of empty slabs and the large cache keep what the threads'
 * memory fell from its recent peak, for the next thread or burst. Once the
 * last thread beside the main one exits, the program may have ended its
 * parallel part, and what the caches keep is the peak of threads that are
 * gone: it goes back at once, before the program goes on to its results.
 * But in a program whose threads came back after such an exit (a thread
 * that starts its successor and exits, phases of threads), a thread may be
 * about to take that memory: there it goes back at the main thread's next
 * malloc slow path, unless a thread allocates first (mm_trim_when_alone).
 * The main thread's own cache stays. */
static void retire_thread(void *heap)
{
    if (on_main_thread())
        atomic_store_explicit(&main_attached, false, memory_order_relaxed);
    mm_thread_detach(heap);
    size_t main_heaps = atomic_load_explicit(&main_attached, memory_order_relaxed) ? 1 : 0;
    if (mm_heaps_in_use() > main_heaps)
        return;
    atomic_store_explicit(&was_alone, true, memory_order_relaxed);
    if (!atomic_load_explicit(&threads_came_back, memory_order_relaxed)) {
        mm_hosted_trim("the last thread beside the main thread exited");
        return;
    }
    mm_trim_when_alone();
    mm_verbose("mymalloc: the last thread beside the main thread exited: the caches go back at "
               "the next malloc slow path unless another thread allocates first");
}

/* Under memcheck the core reads the links of free blocks: no reports
 * (platform/track.h). */
static void on_thread_exit(void *heap)
{
    mm_track_quiet_begin();
    retire_thread(heap);
    mm_track_quiet_end();
}

static void on_bad_pointer(void *ptr, const char *problem)
{
    mm_say("mymalloc: free(): %s %p (not a live block of this allocator); aborting", problem, ptr);
    abort();
}

/* A debug build's assertion (platform/base.h) failed: say where, and stop. */
static void on_assert_failed(const char *file, int line, const char *condition)
{
    mm_say("mymalloc: %s:%d: assertion failed: %s", file, line, condition);
    abort();
}

static void on_error(enum mm_error error)
{
    errno = error == MM_ERROR_INVALID ? EINVAL : error == MM_ERROR_IO ? EIO : ENOMEM;
}

static void on_fork_child(void)
{
    mm_track_quiet_begin();
    mm_fork_child();
    mm_track_quiet_end();
    mm_verbose("mymalloc: fork: heaps of the parent's other threads retired in the child");
}

#if defined(MM_REALTIME)
/* The arena's lock is the innermost: taken after the core's, released
 * before them. */
static void fork_prepare(void)
{
    mm_fork_prepare();
    mm_rt_arena_fork_lock();
}

static void fork_parent(void)
{
    mm_rt_arena_fork_unlock();
    mm_fork_parent();
}

static void fork_child(void)
{
    mm_rt_arena_fork_unlock();
    on_fork_child();
}
#else
#define fork_prepare mm_fork_prepare
#define fork_parent mm_fork_parent
#define fork_child on_fork_child
#endif

static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static void install(void)
{
#if defined(MM_REALTIME)
    main_thread = pthread_self();
#endif
    if (pthread_key_create(&exit_key, on_thread_exit) == 0)
        mm_prim_table.thread_attached = on_thread_attached;
    mm_prim_table.bad_pointer = on_bad_pointer;
    mm_prim_table.error = on_error;
    mm_prim_table.assert_failed = on_assert_failed;
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((constructor)) void mm_hosted_install(void)
{
    pthread_once(&install_once, install);
}
