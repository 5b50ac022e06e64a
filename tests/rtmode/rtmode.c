/*
 * rtmode.c: tests of the library's real-time mode (build/libmymalloc-rt.so,
 * docs/REALTIME.md), run with the library preloaded (tests/rtmode/register.sh).
 *
 *   --case=stress     threads malloc, calloc, realloc, posix_memalign,
 *                     aligned_alloc and free blocks of 1 B to 256 KiB, free
 *                     a third of them on another thread, and check every
 *                     block's tag, alignment and calloc's zeros
 *   --case=syscalls   the same workload in a child that first starts its
 *                     threads, then installs a seccomp filter (all threads)
 *                     that stops the process on any system call but futex,
 *                     write and exit; the child must end cleanly. With
 *                     --expect=killed the filter must stop the child instead
 *                     (the test of the test: run on the ordinary library,
 *                     which maps pages, or with --probe, which makes one
 *                     sched_yield under the filter)
 *   --case=exhaust    (with a small MYMALLOC_RT_ARENA_MB) blocks of a size
 *                     until malloc returns NULL with errno ENOMEM, and a huge
 *                     request fails at once the same way; after freeing all,
 *                     as many blocks of that size again (recovery)
 *   --case=huge-pages the arena's mapping (found by a block's address in
 *                     /proc/self/smaps) starts on a 2 MiB boundary and is
 *                     eligible for transparent huge pages exactly when the
 *                     system's setting is "always", or "madvise" and
 *                     MYMALLOC_HUGE_PAGES is not 0; prints how much of it
 *                     the kernel made of huge pages (a figure: that depends
 *                     on the free memory's fragmentation)
 *
 * Exits 0 on success; prints FIGURES: lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Output by write(2) alone: it is allowed under the filter, and needs no
 * stdio buffer (which would fstat). */
static void say(const char *format, ...)
{
    char line[256];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (n < 0)
        return;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        say("FAIL: " __VA_ARGS__);                                                                 \
        _exit(1);                                                                                  \
    } while (0)

/* ---- the tagged workload ------------------------------------------------ */

typedef struct block {
    unsigned char *ptr;
    size_t size;
    uint8_t tag;
} block;

#define SLOTS 512
#define HANDOFF 64 /* blocks passed between threads */

static _Atomic(block *) handoff[HANDOFF];
static int thread_count = 4;
static long ops_per_thread = 200000;
static bool probe_syscall; /* --probe: one system call under the filter */

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void fill(block *b)
{
    memset(b->ptr, b->tag, b->size);
}

static void check(const block *b)
{
    for (size_t i = 0; i < b->size; i++)
        if (b->ptr[i] != b->tag)
            FAIL("block %p of %zu bytes: byte %zu is %#x, tag %#x", (void *)b->ptr, b->size, i,
                 b->ptr[i], b->tag);
}

/* Sizes: mostly small, some up to 16 KiB, a few large (to 256 KiB). */
static size_t random_size(uint64_t *state)
{
    uint64_t r = next_random(state);
    switch (r % 16) {
    case 0:
        return 1 + (r >> 8) % (256 << 10);
    case 1:
    case 2:
        return 1 + (r >> 8) % (16 << 10);
    default:
        return 1 + (r >> 8) % 512;
    }
}

/* A new block by one of the allocation calls, tagged; false if NULL. */
static bool allocate(block *b, uint64_t *state, unsigned id)
{
    size_t size = random_size(state);
    uint64_t how = next_random(state) % 8;
    size_t align = 16;
    void *p = NULL;
    if (how == 0) {
        p = calloc(1, size);
        if (p != NULL)
            for (size_t i = 0; i < size; i++)
                if (((unsigned char *)p)[i] != 0)
                    FAIL("calloc(%zu): byte %zu is not zero", size, i);
    } else if (how == 1) {
        align = (size_t)8 << (next_random(state) % 14); /* 8 B to 64 KiB */
        int err = posix_memalign(&p, align, size);
        if (err != 0 && err != ENOMEM)
            FAIL("posix_memalign(%zu, %zu) = %d", align, size, err);
    } else if (how == 2) {
        align = (size_t)16 << (next_random(state) % 9);
        size = (size + align - 1) / align * align;
        p = aligned_alloc(align, size);
    } else {
        p = malloc(size);
    }
    if (p == NULL)
        return false;
    if ((uintptr_t)p % align != 0)
        FAIL("block %p not aligned to %zu", p, align);
    b->ptr = p;
    b->size = size;
    b->tag = (uint8_t)(id * 37 + next_random(state));
    fill(b);
    return true;
}

/* Grow or shrink a block with realloc; its kept bytes must keep their tag. */
static void resize(block *b, uint64_t *state)
{
    size_t size = random_size(state);
    unsigned char *p = realloc(b->ptr, size);
    if (p == NULL)
        return; /* b stays valid */
    size_t kept = size < b->size ? size : b->size;
    for (size_t i = 0; i < kept; i++)
        if (p[i] != b->tag)
            FAIL("realloc to %zu: byte %zu lost its tag", size, i);
    b->ptr = p;
    b->size = size;
    fill(b);
}

static void release(block *b)
{
    check(b);
    free(b->ptr);
    b->ptr = NULL;
}

static pthread_barrier_t ready, start_line, finish_line, never;
static bool park_workers; /* syscalls: a worker must not exit (see below) */

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    /* Past glibc's thread start-up (rseq, robust list, signal mask: system
     * calls made with signals blocked) before any filter goes on. */
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&start_line);
    if (probe_syscall && id == 0)
        sched_yield(); /* under the filter: must kill the process */
    uint64_t state = 0x9e3779b97f4a7c15u * (id + 1);
    block *slots = calloc(SLOTS, sizeof(block));
    if (slots == NULL)
        FAIL("calloc of the slots");
    for (long op = 0; op < ops_per_thread; op++) {
        block *b = &slots[next_random(&state) % SLOTS];
        uint64_t what = next_random(&state) % 8;
        if (b->ptr == NULL) {
            if (!allocate(b, &state, id))
                FAIL("allocation failed with the arena far from full");
        } else if (what == 0) {
            resize(b, &state);
        } else if (what <= 2) {
            /* Hand the block to another thread, which frees it. */
            block *mine = malloc(sizeof(block));
            if (mine == NULL)
                FAIL("malloc of a hand-off record");
            *mine = *b;
            b->ptr = NULL;
            block *other = atomic_exchange(&handoff[next_random(&state) % HANDOFF], mine);
            if (other != NULL) {
                release(other);
                free(other);
            }
        } else {
            release(b);
        }
    }
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].ptr != NULL)
            release(&slots[i]);
    free(slots);
    pthread_barrier_wait(&finish_line);
    if (park_workers)
        pthread_barrier_wait(&never); /* a futex wait until exit_group */
    return NULL;
}

/* After both barriers: the blocks still handed off. */
static void drain_handoff(void)
{
    for (unsigned i = 0; i < HANDOFF; i++) {
        block *b = atomic_exchange(&handoff[i], NULL);
        if (b != NULL) {
            release(b);
            free(b);
        }
    }
}

static pthread_t *start_workers(void)
{
    pthread_barrier_init(&ready, NULL, (unsigned)thread_count + 1);
    pthread_barrier_init(&start_line, NULL, (unsigned)thread_count + 1);
    pthread_barrier_init(&finish_line, NULL, (unsigned)thread_count + 1);
    pthread_barrier_init(&never, NULL, (unsigned)thread_count + 1);
    pthread_t *threads = malloc(sizeof(pthread_t) * (size_t)thread_count);
    for (int i = 0; i < thread_count; i++)
        if (threads == NULL || pthread_create(&threads[i], NULL, worker, (void *)(uintptr_t)i) != 0)
            FAIL("pthread_create");
    pthread_barrier_wait(&ready);
    return threads;
}

static int case_stress(void)
{
    pthread_t *threads = start_workers();
    pthread_barrier_wait(&start_line);
    pthread_barrier_wait(&finish_line);
    for (int i = 0; i < thread_count; i++)
        pthread_join(threads[i], NULL);
    drain_handoff();
    free(threads);
    say("FIGURES: stress threads=%d ops_per_thread=%ld tags, alignment and calloc zeros checked",
        thread_count, ops_per_thread);
    return 0;
}

/* ---- no system call after start-up --------------------------------------- */

#define ALLOW(nr)                                                                                  \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* A forbidden system call traps here: name it, end the process. */
#define EXIT_FORBIDDEN 159 /* 128 + SIGSYS */

static void on_forbidden(int signal, siginfo_t *info, void *context)
{
    say("forbidden system call %d (from %p)", info->si_syscall, info->si_call_addr);
    syscall(SYS_exit_group, EXIT_FORBIDDEN);
}

/* Every thread of the process: futex (barriers), write (output), exit and
 * exit_group; anything else traps (on_forbidden, which exits with
 * EXIT_FORBIDDEN; rt_sigreturn is never reached). */
static void forbid_system_calls(void)
{
    struct sigaction action = {.sa_sigaction = on_forbidden, .sa_flags = SA_SIGINFO};
    sigaction(SIGSYS, &action, NULL);
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        ALLOW(SYS_futex),
        ALLOW(SYS_write),
        ALLOW(SYS_exit),
        ALLOW(SYS_exit_group),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
    };
    struct sock_fprog program = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        FAIL("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program) != 0)
        FAIL("seccomp: %s", strerror(errno));
}

/* The child: threads started (stacks mapped), then the filter, then the
 * workload: each thread's first malloc (its heap) comes under the filter.
 * No join and no exit handlers: a thread's exit and the process's would
 * make system calls of their own (glibc frees stacks, the library reports). */
static void syscalls_child(void)
{
    park_workers = true;
    pthread_t *threads = start_workers();
    forbid_system_calls();
    pthread_barrier_wait(&start_line);
    pthread_barrier_wait(&finish_line);
    drain_handoff();
    say("FIGURES: syscalls threads=%d ops_per_thread=%ld under a seccomp filter (futex, write, "
        "exit only): no other system call",
        thread_count, ops_per_thread);
    (void)threads;
    syscall(SYS_exit_group, 0);
}

static int case_syscalls(bool expect_killed)
{
    pid_t pid = fork();
    if (pid < 0)
        FAIL("fork: %s", strerror(errno));
    if (pid == 0)
        syscalls_child();
    int status;
    if (waitpid(pid, &status, 0) != pid)
        FAIL("waitpid: %s", strerror(errno));
    bool killed = (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) ||
                  (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FORBIDDEN);
    if (expect_killed) {
        if (!killed)
            FAIL("the filter did not stop the child (status %#x): it catches nothing",
                 status);
        say("FIGURES: syscalls probe: the filter stopped the child, as expected");
        return 0;
    }
    if (killed)
        FAIL("the child made a forbidden system call (status %#x)", status);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        FAIL("the child failed (status %#x)", status);
    return 0;
}

/* ---- exhaustion ---------------------------------------------------------- */

#define EXHAUST_MAX 100000

/* Blocks of `size` until NULL (which must come with ENOMEM); returns their
 * count, freeing them all. */
static size_t fill_arena(void **blocks, size_t size)
{
    size_t count = 0;
    for (;;) {
        if (count == EXHAUST_MAX)
            FAIL("%d blocks of %zu bytes and no NULL: is the arena small?", EXHAUST_MAX, size);
        errno = 0;
        void *p = malloc(size);
        if (p == NULL) {
            if (errno != ENOMEM)
                FAIL("malloc(%zu) returned NULL with errno %d, not ENOMEM", size, errno);
            break;
        }
        memset(p, (int)(count & 0xff), size);
        blocks[count++] = p;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned char *p = blocks[i];
        if (p[0] != (i & 0xff) || p[size - 1] != (i & 0xff))
            FAIL("block %zu of %zu bytes lost its tag", i, size);
        free(p);
    }
    return count;
}

static int case_exhaust(void)
{
    void **blocks = calloc(EXHAUST_MAX, sizeof(void *));
    if (blocks == NULL)
        FAIL("calloc");
    errno = 0;
    if (malloc((size_t)1 << 40) != NULL || errno != ENOMEM)
        FAIL("malloc(1 TiB) did not fail with ENOMEM");
    static const size_t sizes[] = {64 << 10, 100};
    for (unsigned s = 0; s < 2; s++) {
        size_t first = fill_arena(blocks, sizes[s]);
        size_t again = fill_arena(blocks, sizes[s]);
        if (first == 0 || again < first)
            FAIL("blocks of %zu: %zu before the NULL, only %zu after freeing them", sizes[s],
                 first, again);
        say("FIGURES: exhaust size=%zu blocks_until_null=%zu after_free=%zu", sizes[s], first,
            again);
    }
    free(blocks);
    return 0;
}

/* The system's transparent huge page setting: 'a'lways, 'm'advise, 'n'ever. */
static char huge_page_setting(void)
{
    char text[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f == NULL)
        return 'n';
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *chosen = strchr(text, '[');
    return chosen == NULL ? 'n' : chosen[1];
}

static int case_huge_pages(void)
{
    char setting = huge_page_setting();
    const char *option = getenv("MYMALLOC_HUGE_PAGES");
    bool advised = option == NULL || strcmp(option, "0") != 0;
    int expected = setting == 'a' || (setting == 'm' && advised);
    char *block = malloc(64 << 10);
    if (block == NULL)
        FAIL("malloc(64 KiB)");
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (smaps == NULL)
        FAIL("no /proc/self/smaps");
    char line[256];
    uintptr_t start = 0, end = 0;
    bool inside = false;
    int eligible = -1;
    long huge_kib = -1, size_kib = -1;
    while (fgets(line, sizeof line, smaps) != NULL) {
        uintptr_t from, to;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &from, &to) == 2) {
            if (inside)
                break;
            inside = from <= (uintptr_t)block && (uintptr_t)block < to;
            start = from, end = to;
            continue;
        }
        if (!inside)
            continue;
        sscanf(line, "THPeligible: %d", &eligible);
        sscanf(line, "AnonHugePages: %ld kB", &huge_kib);
        sscanf(line, "Size: %ld kB", &size_kib);
    }
    fclose(smaps);
    free(block);
    if (!inside)
        FAIL("no mapping holds the block %p", (void *)block);
    if (eligible < 0)
        FAIL("no THPeligible line for %" PRIxPTR "-%" PRIxPTR, start, end);
    if (eligible != expected)
        FAIL("setting %c, MYMALLOC_HUGE_PAGES=%s: the arena %" PRIxPTR "-%" PRIxPTR
             " is %seligible for huge pages",
             setting, option ? option : "(unset)", start, end, eligible ? "" : "not ");
    if (expected && setting == 'm' && start % (2u << 20) != 0)
        FAIL("the arena starts at %" PRIxPTR ", not on a 2 MiB boundary", start);
    say("FIGURES: huge-pages setting=%c eligible=%d arena_kib=%ld huge_kib=%ld", setting,
        eligible, size_kib, huge_kib);
    return 0;
}

int main(int argc, char **argv)
{
    const char *which = NULL;
    bool expect_killed = false;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--case=", 7) == 0)
            which = argv[i] + 7;
        else if (strcmp(argv[i], "--expect=killed") == 0)
            expect_killed = true;
        else if (strcmp(argv[i], "--probe") == 0)
            probe_syscall = true;
        else if (strncmp(argv[i], "--threads=", 10) == 0)
            thread_count = atoi(argv[i] + 10);
        else if (strncmp(argv[i], "--ops=", 6) == 0)
            ops_per_thread = atol(argv[i] + 6);
        else
            which = NULL, i = argc;
    }
    if (thread_count < 1 || ops_per_thread < 1 || which == NULL) {
        say("usage: rtmode --case=stress|syscalls|exhaust|huge-pages [--threads=N] [--ops=N] "
            "[--expect=killed] [--probe]");
        return 2;
    }
    if (strcmp(which, "stress") == 0)
        return case_stress();
    if (strcmp(which, "syscalls") == 0)
        return case_syscalls(expect_killed);
    if (strcmp(which, "exhaust") == 0)
        return case_exhaust();
    if (strcmp(which, "huge-pages") == 0)
        return case_huge_pages();
    say("unknown case %s", which);
    return 2;
}
