/*
 * env: the MYMALLOC_ environment options, read at startup.
 *
 * Runs itself (linked with -lmymalloc) as a child with the variables set and
 * checks the child's stderr:
 *   nothing set          no "mymalloc: " output at all
 *   MYMALLOC_STATS=1     exactly one summary line
 *                        "mymalloc: stats: mallocs=N frees=N allocated_bytes=N
 *                        freed_bytes=N peak_bytes=N held_bytes=N
 *                        peak_held_bytes=N" whose numbers agree with what the
 *                        child did (on 5 threads), also when it exits with 3
 *   MYMALLOC_STATS=0     no summary line
 *   MYMALLOC_VERBOSE=1   lines beginning "mymalloc: ", one mentioning verbose
 *   MYMALLOC_BOGUS=1     a line beginning "mymalloc: " naming MYMALLOC_BOGUS
 * and that the child ran normally in every case (its stdout, its exit code).
 *
 * Linked with -lmymalloc.
 */
#include "api_test.h"

#include <inttypes.h>
#include <pthread.h>
#include <mymalloc.h>

/* ---- the child ------------------------------------------------------------ */

enum { CHILD_THREADS = 4, CHILD_BLOCKS = 100, CHILD_SIZE = 1000 };
#define CHILD_BIG API_MIB

static void *child_thread(void *arg)
{
    void *b[CHILD_BLOCKS];
    for (int i = 0; i < CHILD_BLOCKS; i++) {
        b[i] = mymalloc(CHILD_SIZE);
        CHECK(b[i]);
        memset(b[i], i, CHILD_SIZE);
    }
    for (int i = 0; i < CHILD_BLOCKS; i++)
        myfree(b[i]);
    return arg;
}

static int child(int code)
{
    /* One thread's worth here, with a 1 MiB block live on top of it. */
    void *big = mymalloc(CHILD_BIG);
    CHECK(big);
    memset(big, 1, CHILD_BIG);
    child_thread(NULL);
    myfree(big);
    pthread_t th[CHILD_THREADS];
    for (int t = 0; t < CHILD_THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, child_thread, NULL) == 0);
    for (int t = 0; t < CHILD_THREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    printf("child ok\n");
    return code;
}

/* ---- the parent ------------------------------------------------------------- */

static const char *self;

static int run(const char *var, const char *code, char **out, char **err)
{
    char *argv[] = {(char *)self, "--child", (char *)code, NULL};
    char *env[] = {(char *)var, NULL};
    /* Start from an environment without MYMALLOC_ variables. */
    char *const names[] = {"MYMALLOC_STATS", "MYMALLOC_VERBOSE", "MYMALLOC_HUGE_PAGES",
                           "MYMALLOC_BOGUS"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
    return api_spawn(argv, var ? env : NULL, NULL, out, err);
}

static void expect_normal(const char *what, int st, const char *out, int code, const char *err)
{
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == code, "%s: child ended with %s, want exit %d\n%s",
           what, api_status_str(st), code, err);
    CHECKF(strcmp(out, "child ok\n") == 0, "%s: child's stdout is \"%s\"", what, out);
}

struct summary {
    uintmax_t mallocs, frees, allocated, freed, peak, held, peak_held;
};

/* Finds and parses the summary line; returns how many there are. */
static int parse_summary(const char *err, struct summary *s)
{
    int count = 0;
    const char *prefix = "mymalloc: stats: mallocs=";
    for (const char *l = err; (l = strstr(l, prefix)) != NULL; l++) {
        CHECKF(l == err || l[-1] == '\n', "summary not at the start of a line");
        int end = -1;
        int n = sscanf(l,
                       "mymalloc: stats: mallocs=%" SCNuMAX " frees=%" SCNuMAX
                       " allocated_bytes=%" SCNuMAX " freed_bytes=%" SCNuMAX
                       " peak_bytes=%" SCNuMAX " held_bytes=%" SCNuMAX
                       " peak_held_bytes=%" SCNuMAX "%n",
                       &s->mallocs, &s->frees, &s->allocated, &s->freed, &s->peak, &s->held,
                       &s->peak_held, &end);
        CHECKF(n == 7 && end > 0, "malformed summary line: %.*s", (int)strcspn(l, "\n"), l);
        CHECKF(l[end] == '\n' || l[end] == '\0', "summary line has trailing text: %.*s",
               (int)strcspn(l, "\n"), l);
        /* Exactly that form: printed back, the same characters. */
        char again[512];
        snprintf(again, sizeof again,
                 "mymalloc: stats: mallocs=%ju frees=%ju allocated_bytes=%ju freed_bytes=%ju "
                 "peak_bytes=%ju held_bytes=%ju peak_held_bytes=%ju",
                 s->mallocs, s->frees, s->allocated, s->freed, s->peak, s->held, s->peak_held);
        CHECKF(strlen(again) == (size_t)end && strncmp(again, l, (size_t)end) == 0,
               "summary line not in the exact form: %.*s", (int)strcspn(l, "\n"), l);
        count++;
    }
    return count;
}

static void test_quiet(void)
{
    char *out, *err;
    int st = run(NULL, "0", &out, &err);
    expect_normal("no options", st, out, 0, err);
    CHECKF(api_find_line(err, "mymalloc:", NULL) == NULL,
           "output without any MYMALLOC_ option:\n%s", err);
    free(out);
    free(err);
    printf("ok no options: no output\n");
}

static void test_stats(void)
{
    const char *codes[] = {"0", "3"};
    for (int c = 0; c < 2; c++) {
        char *out, *err;
        int st = run("MYMALLOC_STATS=1", codes[c], &out, &err);
        expect_normal("MYMALLOC_STATS=1", st, out, atoi(codes[c]), err);
        struct summary s;
        int n = parse_summary(err, &s);
        CHECKF(n == 1, "MYMALLOC_STATS=1: %d summary lines, want 1; stderr:\n%s", n, err);
        const uintmax_t blocks = (uintmax_t)(CHILD_THREADS + 1) * CHILD_BLOCKS + 1;
        const uintmax_t bytes = (uintmax_t)(CHILD_THREADS + 1) * CHILD_BLOCKS * CHILD_SIZE +
                                CHILD_BIG;
        CHECKF(s.mallocs >= blocks, "mallocs=%ju < %ju", s.mallocs, blocks);
        CHECKF(s.frees >= blocks, "frees=%ju < %ju", s.frees, blocks);
        CHECKF(s.mallocs >= s.frees, "mallocs=%ju < frees=%ju", s.mallocs, s.frees);
        CHECKF(s.allocated >= bytes, "allocated_bytes=%ju < %ju", s.allocated, bytes);
        CHECKF(s.freed >= bytes, "freed_bytes=%ju < %ju", s.freed, bytes);
        CHECKF(s.allocated >= s.freed, "allocated_bytes=%ju < freed_bytes=%ju", s.allocated,
               s.freed);
        /* The 1 MiB block and 100 blocks of 1000 bytes were live together. */
        uintmax_t live_peak = CHILD_BIG + CHILD_BLOCKS * CHILD_SIZE;
        CHECKF(s.peak + 64 * API_KIB >= live_peak, "peak_bytes=%ju < %ju - 64 KiB", s.peak,
               live_peak);
        CHECKF(s.peak <= s.allocated, "peak_bytes=%ju > allocated_bytes=%ju", s.peak,
               s.allocated);
        CHECKF(s.peak_held >= s.held, "peak_held_bytes=%ju < held_bytes=%ju", s.peak_held,
               s.held);
        CHECKF(s.peak_held >= live_peak, "peak_held_bytes=%ju < %ju live at once", s.peak_held,
               live_peak);
        CHECKF(s.peak_held >= s.peak, "peak_held_bytes=%ju < peak_bytes=%ju", s.peak_held,
               s.peak);
        if (c == 0)
            printf("FIGURES: mallocs=%ju held_at_exit=%ju peak_held=%ju\n", s.mallocs, s.held,
                   s.peak_held);
        free(out);
        free(err);
    }
    char *out, *err;
    int st = run("MYMALLOC_STATS=0", "0", &out, &err);
    expect_normal("MYMALLOC_STATS=0", st, out, 0, err);
    struct summary s;
    CHECKF(parse_summary(err, &s) == 0, "MYMALLOC_STATS=0 printed statistics");
    free(out);
    free(err);
    printf("ok MYMALLOC_STATS: one summary line, numbers consistent (exit 0 and 3)\n");
}

static void test_verbose(void)
{
    char *out, *err;
    int st = run("MYMALLOC_VERBOSE=1", "0", &out, &err);
    expect_normal("MYMALLOC_VERBOSE=1", st, out, 0, err);
    CHECKF(api_find_line(err, "mymalloc: ", NULL) != NULL,
           "MYMALLOC_VERBOSE=1: no line beginning \"mymalloc: \"; stderr:\n%s", err);
    CHECKF(api_find_line(err, "mymalloc: ", "verbose") != NULL,
           "MYMALLOC_VERBOSE=1: no line mentions the option it read; stderr:\n%s", err);
    /* Every line of its own begins with the prefix. */
    for (const char *l = err; *l;) {
        size_t len = strcspn(l, "\n");
        if (len > 0 && strncasecmp(l, "mymalloc", 8) == 0)
            CHECKF(strncmp(l, "mymalloc: ", 10) == 0, "line without the prefix: %.*s",
                   (int)len, l);
        l += len + (l[len] == '\n');
    }
    free(out);
    free(err);
    printf("ok MYMALLOC_VERBOSE=1: reports the options read\n");
}

static void test_unknown(void)
{
    char *out, *err;
    int st = run("MYMALLOC_BOGUS=1", "0", &out, &err);
    expect_normal("MYMALLOC_BOGUS=1", st, out, 0, err);
    const char *l = api_find_line(err, "mymalloc: ", "MYMALLOC_BOGUS");
    CHECKF(l != NULL, "MYMALLOC_BOGUS=1: no \"mymalloc: \" line naming it; stderr:\n%s", err);
    printf("  %.*s\n", (int)strcspn(l, "\n"), l);
    free(out);
    free(err);
    printf("ok unknown option reported, program runs normally\n");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child(atoi(argv[2]));
    self = "/proc/self/exe";
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    CHECK(n > 0);
    path[n] = '\0';
    self = path;
    test_quiet();
    test_stats();
    test_verbose();
    test_unknown();
    printf("env: all checks passed\n");
    return 0;
}
