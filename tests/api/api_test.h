/*
 * api_test.h: helpers shared by the tests in tests/api/ (the public API of
 * the hosted library: the my* core API, the application API, the exported
 * malloc family, the environment options and the tools).
 *
 *   CHECK(expr), CHECKF(expr, fmt, ...)
 *                     on failure print "FAIL file:line: expr" (and the
 *                     message) to stderr and _exit(1), from any thread
 *   api_tag / api_tag_ok
 *                     fill a block with a pattern derived from a seed (and
 *                     the offset); verify every byte
 *   api_aligned(p, a) p is a multiple of a
 *   api_allocator()   which allocator serves malloc in this process: the
 *                     program's --expect=mymalloc|glibc|jemalloc argument
 *                     (default mymalloc), checked against what is loaded
 *   api_my            the mymalloc entry points used by programs that are not
 *                     linked with the library (found with dlsym; NULL when
 *                     mymalloc is not loaded); linked programs define
 *                     API_LINKED and call them directly
 *   api_in_child      run a function in a forked child with its stderr
 *                     captured; return its wait status
 *   api_spawn         run a command (argv, extra environment, directory)
 *                     with stdout and stderr captured; return its wait status
 *
 * Everything is header-only (static functions) so each test is one .c file.
 */
#ifndef API_TEST_H
#define API_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define API_KIB ((size_t)1024)
#define API_MIB ((size_t)1024 * 1024)
#define API_PAGE ((size_t)4096)
#define API_LARGE ((size_t)32 * 1024) /* blocks above this are page-aligned */

extern char **environ;

/* ---- failure reporting -------------------------------------------------- */

__attribute__((noreturn, format(printf, 4, 5))) static void
api_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "FAIL %s:%d: %s", file, line, expr);
    if (fmt && n > 0 && (size_t)n < sizeof msg) {
        va_list ap;
        va_start(ap, fmt);
        n += snprintf(msg + n, sizeof msg - n, ": ");
        if ((size_t)n < sizeof msg)
            vsnprintf(msg + n, sizeof msg - n, fmt, ap);
        va_end(ap);
    }
    /* One write so that lines from several threads do not interleave. */
    size_t len = strnlen(msg, sizeof msg - 2);
    msg[len++] = '\n';
    fflush(stdout);
    if (write(2, msg, len) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}

#define CHECK(e)                                                               \
    do {                                                                       \
        if (!(e))                                                              \
            api_fail(__FILE__, __LINE__, #e, NULL);                            \
    } while (0)

#define CHECKF(e, ...)                                                         \
    do {                                                                       \
        if (!(e))                                                              \
            api_fail(__FILE__, __LINE__, #e, __VA_ARGS__);                     \
    } while (0)

/* ---- block contents and alignment --------------------------------------- */

static inline uint64_t api_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint8_t api_tag_byte(uint64_t s, size_t i)
{
    return (uint8_t)((s >> ((i & 7) * 8)) + (i >> 3) * 0x9d);
}

/* Fill n bytes at p with the pattern of `seed`. The pattern depends on the
 * seed and the offset only, so a prefix can be verified after realloc moved
 * or shrank the block; give live blocks distinct seeds to catch overlaps. */
static inline void api_tag(void *p, size_t n, uint64_t seed)
{
    uint64_t s = api_mix(seed ^ 0x9e3779b97f4a7c15ULL);
    uint8_t *b = (uint8_t *)p;
    for (size_t i = 0; i < n; i++)
        b[i] = api_tag_byte(s, i);
}

/* 1 if the n bytes at p hold the pattern api_tag(p, n, seed) writes. */
static inline int api_tag_ok(const void *p, size_t n, uint64_t seed)
{
    uint64_t s = api_mix(seed ^ 0x9e3779b97f4a7c15ULL);
    const uint8_t *b = (const uint8_t *)p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != api_tag_byte(s, i)) {
            fprintf(stderr, "tag mismatch in block %p (%zu bytes) at offset %zu\n",
                    p, n, i);
            return 0;
        }
    return 1;
}

static inline int api_aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* The alignment every block of `size` bytes must have. */
static inline size_t api_min_align(size_t size)
{
    return size > API_LARGE ? API_PAGE : 16;
}

/* The alignment a block of `size` bytes asked with `align` must have: all
 * of mymalloc's contract; for another allocator only what C requires. */
static inline size_t api_want_align(int strict, size_t size, size_t align)
{
    size_t base = strict ? api_min_align(size) : size >= 16 ? 16 : 8;
    return align > base ? align : base;
}

static inline uint64_t api_rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* ---- which allocator ---------------------------------------------------- */

enum api_alloc { API_MYMALLOC, API_GLIBC, API_JEMALLOC };

struct api_my {
    void *(*mymalloc)(size_t);
    void (*myfree)(void *);
    size_t (*myusable_size)(void *);
    int (*allocator_verify)(void);
};

/* The mymalloc entry points visible in the global scope (preloaded or
 * linked); members are NULL when mymalloc is not there. */
static inline struct api_my api_my_lookup(void)
{
    struct api_my m;
    *(void **)&m.mymalloc = dlsym(RTLD_DEFAULT, "mymalloc");
    *(void **)&m.myfree = dlsym(RTLD_DEFAULT, "myfree");
    *(void **)&m.myusable_size = dlsym(RTLD_DEFAULT, "myusable_size");
    *(void **)&m.allocator_verify = dlsym(RTLD_DEFAULT, "allocator_verify");
    return m;
}

/* Reads --expect=mymalloc|glibc|jemalloc from argv (default mymalloc) and
 * checks that this allocator is the one loaded. With mymalloc, malloc must
 * be served by it: myusable_size of a malloc'd block is at least its size. */
static inline enum api_alloc api_allocator(int argc, char **argv)
{
    enum api_alloc a = API_MYMALLOC;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect=glibc") == 0)
            a = API_GLIBC;
        else if (strcmp(argv[i], "--expect=jemalloc") == 0)
            a = API_JEMALLOC;
        else if (strcmp(argv[i], "--expect=mymalloc") == 0)
            a = API_MYMALLOC;
    }
    struct api_my m = api_my_lookup();
    int jemalloc = dlsym(RTLD_DEFAULT, "mallctl") != NULL;
    switch (a) {
    case API_MYMALLOC: {
        CHECKF(m.myusable_size && m.mymalloc && m.myfree && m.allocator_verify,
               "mymalloc is not loaded (preload or link build/libmymalloc.so)");
        void *p = malloc(100);
        CHECK(p != NULL);
        CHECKF(m.myusable_size(p) >= 100,
               "malloc is not served by mymalloc: myusable_size(malloc(100)) = %zu",
               m.myusable_size(p));
        free(p);
        break;
    }
    case API_GLIBC:
        CHECKF(m.mymalloc == NULL && !jemalloc, "expected plain glibc");
        break;
    case API_JEMALLOC:
        CHECKF(jemalloc, "expected jemalloc (LD_PRELOAD it)");
        break;
    }
    return a;
}

/* ---- child processes ---------------------------------------------------- */

/* Reads a whole file into a NUL-terminated malloc'd string. */
static inline char *api_slurp_fd(int fd)
{
    size_t cap = 4096, len = 0;
    char *s = (char *)malloc(cap);
    CHECK(s != NULL);
    lseek(fd, 0, SEEK_SET);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            s = (char *)realloc(s, cap);
            CHECK(s != NULL);
        }
        ssize_t r = read(fd, s + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    s[len] = '\0';
    return s;
}

static inline int api_tmpfile(void)
{
    char name[] = "/tmp/mymalloc-api-XXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    unlink(name);
    return fd;
}

/* Runs fn(arg) in a forked child whose stderr goes to a buffer; the child
 * exits 0 when fn returns and is killed after `seconds`. Returns the wait
 * status; *err gets the child's stderr (free it). */
static inline int api_in_child(void (*fn)(void *), void *arg, int seconds, char **err)
{
    int fd = api_tmpfile();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fd, 2);
        alarm((unsigned)seconds);
        fn(arg);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        CHECK(errno == EINTR);
    *err = api_slurp_fd(fd);
    close(fd);
    return status;
}

/* Runs argv (looked up in PATH) with `env` (NULL-terminated "NAME=value"
 * strings) added to this environment, in directory `dir` (NULL: here).
 * Captures stdout and stderr (either pointer may be NULL); returns the wait
 * status. */
static inline int api_spawn(char *const argv[], char *const env[], const char *dir,
                            char **out, char **err)
{
    int fo = api_tmpfile(), fe = api_tmpfile();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fo, 1);
        dup2(fe, 2);
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        if (dir && chdir(dir) != 0)
            _exit(126);
        alarm(60);
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        CHECK(errno == EINTR);
    char *o = api_slurp_fd(fo), *e = api_slurp_fd(fe);
    close(fo);
    close(fe);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return status;
}

/* A readable description of a wait status. */
static inline const char *api_status_str(int status)
{
    static char buf[64];
    if (WIFEXITED(status))
        snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, sizeof buf, "signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, sizeof buf, "status 0x%x", status);
    return buf;
}

static inline int api_exited0(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Does some line of `text` start with `prefix` and contain `needle`
 * (either may be NULL)? Returns that line's start or NULL. */
static inline const char *api_find_line(const char *text, const char *prefix,
                                        const char *needle)
{
    for (const char *l = text; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        int ok = !prefix || strncmp(l, prefix, strlen(prefix)) == 0;
        if (ok && needle) {
            ok = 0;
            size_t nl = strlen(needle);
            for (size_t i = 0; i + nl <= len; i++)
                if (strncasecmp(l + i, needle, nl) == 0) {
                    ok = 1;
                    break;
                }
        }
        if (ok)
            return l;
        l = end ? end + 1 : NULL;
    }
    return NULL;
}

/* qsort order of pointers, by address. */
static inline int api_cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Fails unless the n pointers p[] (sorted here) are all different; `what`
 * names the call that returned them. */
static inline void api_check_unique(void **p, size_t n, const char *what)
{
    qsort(p, n, sizeof p[0], api_cmp_ptr);
    for (size_t i = 1; i < n; i++)
        CHECKF(p[i] != p[i - 1], "%s returned %p twice", what, p[i]);
}

#endif /* API_TEST_H */
