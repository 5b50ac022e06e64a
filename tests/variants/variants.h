/*
 * variants.h: what the smoke tests of the build variants share
 * (tests/variants/, one program per kind of build; docs/BUILD.md has the variants). Each smoke test
 * runs vt_exchange over its allocator's calls, then one check of what its
 * variant changes, often in a child process (vt_expect_child) because the
 * check plants a fault on purpose.
 *
 * vt_exchange: two threads each allocate VT_BLOCKS blocks of a fixed size
 * cycle (8 B to 300 KB), fill every byte with a pattern of the block's
 * address and a seed, check the alignment, verify all of them, free half
 * themselves and hand the other half to the other thread, which verifies
 * and frees them; three rounds. A block that overlaps another, moves, is
 * misaligned or corrupted fails the pattern check.
 */
#ifndef TESTS_VARIANTS_H
#define TESTS_VARIANTS_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

struct vt_ops {
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);
    size_t (*alignment)(size_t size); /* the alignment a block of `size` must have */
    void (*thread_begin)(int thread); /* NULL, or called first on each thread (0, 1) */
};

#define VT_BLOCKS 600
#define VT_ROUNDS 3

static const size_t vt_sizes[] = {8, 16, 24, 48, 100, 256, 1000, 4000, 4096, 9000, 70000, 300000};

struct vt_block {
    unsigned char *ptr;
    size_t size;
    uint64_t seed;
};

static inline unsigned char vt_pattern(const struct vt_block *b, size_t i)
{
    uint64_t x = b->seed ^ (uint64_t)(uintptr_t)b->ptr ^ (i >> 3) * 0x9E3779B97F4A7C15ull;
    return (unsigned char)(x >> (i & 7) * 8);
}

static inline void vt_fill(const struct vt_block *b)
{
    for (size_t i = 0; i < b->size; i++)
        b->ptr[i] = vt_pattern(b, i);
}

/* 0, or 1 with a report naming the first byte that is wrong. */
static inline int vt_verify(const struct vt_block *b, const char *where)
{
    for (size_t i = 0; i < b->size; i++)
        if (b->ptr[i] != vt_pattern(b, i)) {
            CHECK(0, "%s: block %p of %zu bytes: byte %zu is %#x, wrote %#x", where,
                  (void *)b->ptr, b->size, i, b->ptr[i], vt_pattern(b, i));
            return 1;
        }
    return 0;
}

struct vt_exchange_state {
    const struct vt_ops *ops;
    pthread_barrier_t barrier;
    struct vt_block blocks[2][VT_BLOCKS];
};

struct vt_thread_arg {
    struct vt_exchange_state *state;
    int thread;
};

static void *vt_exchange_thread(void *argument)
{
    struct vt_thread_arg *arg = argument;
    struct vt_exchange_state *s = arg->state;
    const struct vt_ops *ops = s->ops;
    int me = arg->thread;
    if (ops->thread_begin != NULL)
        ops->thread_begin(me);
    uint64_t seed = 0x5eed0000u + (uint64_t)me;
    for (int round = 0; round < VT_ROUNDS; round++) {
        struct vt_block *mine = s->blocks[me];
        for (int i = 0; i < VT_BLOCKS; i++) {
            struct vt_block *b = &mine[i];
            b->size = vt_sizes[(size_t)(i + round) % (sizeof vt_sizes / sizeof vt_sizes[0])];
            b->ptr = ops->alloc(b->size);
            b->seed = check_xorshift(&seed);
            CHECK(b->ptr != NULL, "thread %d: alloc(%zu) returned NULL", me, b->size);
            if (b->ptr == NULL) {
                b->size = 0;
                continue;
            }
            size_t align = ops->alignment(b->size);
            CHECK(((uintptr_t)b->ptr & (align - 1)) == 0, "thread %d: alloc(%zu) = %p, not %zu-aligned",
                  me, b->size, (void *)b->ptr, align);
            vt_fill(b);
        }
        for (int i = 0; i < VT_BLOCKS; i++)
            vt_verify(&mine[i], "own block before any free");
        /* Free the even blocks here; the odd ones go to the other thread. */
        for (int i = 0; i < VT_BLOCKS; i += 2)
            if (mine[i].ptr != NULL && vt_verify(&mine[i], "own block at its free") == 0)
                ops->free(mine[i].ptr);
        pthread_barrier_wait(&s->barrier);
        struct vt_block *theirs = s->blocks[1 - me];
        for (int i = 1; i < VT_BLOCKS; i += 2)
            if (theirs[i].ptr != NULL && vt_verify(&theirs[i], "block freed by the other thread") == 0)
                ops->free(theirs[i].ptr);
        pthread_barrier_wait(&s->barrier);
    }
    return NULL;
}

/* The two-thread exchange over `ops`; failures are counted by CHECK. */
static inline void vt_exchange(const struct vt_ops *ops)
{
    static struct vt_exchange_state state;
    state.ops = ops;
    pthread_barrier_init(&state.barrier, NULL, 2);
    pthread_t threads[2];
    struct vt_thread_arg args[2];
    for (int t = 0; t < 2; t++) {
        args[t] = (struct vt_thread_arg){&state, t};
        if (pthread_create(&threads[t], NULL, vt_exchange_thread, &args[t]) != 0) {
            CHECK(0, "pthread_create failed");
            return;
        }
    }
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&state.barrier);
}

/* Runs fn in a child process with its stderr captured. Passes (returns 0)
 * when the child ends as expected, by signal `signal_number` or, for 0, by
 * exit status 0, and its stderr contains `text` (NULL: anything); otherwise
 * counts a failure and prints what the child said. */
static inline int vt_expect_child(void (*fn)(void), int signal_number, const char *text,
                                  const char *what)
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
        CHECK(0, "%s: pipe failed", what);
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipe_fds[0]);
        dup2(pipe_fds[1], 2);
        fn();
        _exit(0);
    }
    close(pipe_fds[1]);
    /* Read to the end (a child blocked on a full pipe would never exit);
     * keep the first 4 KiB. */
    char said[4096], chunk[512];
    size_t got = 0;
    ssize_t n;
    while ((n = read(pipe_fds[0], chunk, sizeof chunk)) > 0) {
        size_t keep = (size_t)n < sizeof said - 1 - got ? (size_t)n : sizeof said - 1 - got;
        memcpy(said + got, chunk, keep);
        got += keep;
    }
    said[got] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int ended_right = signal_number == 0
                          ? WIFEXITED(status) && WEXITSTATUS(status) == 0
                          : WIFSIGNALED(status) && WTERMSIG(status) == signal_number;
    int said_right = text == NULL || strstr(said, text) != NULL;
    CHECK(ended_right && said_right,
          "%s: expected the child to %s%s%s; it %s %d and said: %s", what,
          signal_number == 0 ? "exit 0" : strsignal(signal_number), text != NULL ? " saying " : "",
          text != NULL ? text : "", WIFSIGNALED(status) ? "was killed by signal" : "exited with",
          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), said);
    if (ended_right && said_right)
        printf("%s: as expected (%s)\n", what, signal_number == 0 ? "exit 0" : strsignal(signal_number));
    return ended_right && said_right ? 0 : 1;
}

#endif /* TESTS_VARIANTS_H */
