/*
 * tools: build/mymalloc-run and `make install`.
 *
 *   --case=run      MYMALLOC_STATS=1 mymalloc-run /bin/true prints the stats
 *                   summary line once; mymalloc-run sh -c 'exit 7' exits 7;
 *                   the program runs with mymalloc serving malloc (the probe,
 *                   started from another directory by absolute path),
 *                   arguments pass unchanged (spaces, empty, glob chars),
 *                   stdin passes through; a missing program fails
 *   --case=install  make install PREFIX=P DESTDIR=D stages lib/libmymalloc.so,
 *                   lib/libmymalloc.a, include/mymalloc.h,
 *                   lib/pkgconfig/mymalloc.pc and bin/mymalloc-run under D/P,
 *                   touches nothing at P, and the .pc names P, not D;
 *                   make install PREFIX=Q (a temporary directory): a program
 *                   compiles with `pkg-config --cflags --libs mymalloc` and
 *                   runs on the installed library, one links the installed
 *                   libmymalloc.a, and Q/bin/mymalloc-run runs the probe on
 *                   Q's library
 *
 * Run from the repository root: tools --case=... --build=BUILD --probe=PATH.
 */
#include "api_test.h"

#include <sys/stat.h>

static char root[4096], build[4096], probe[4096];

/* Runs a shell command line; captures stdout and stderr. */
static int sh(const char *cmd, char *const env[], const char *dir, char **out, char **err)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    return api_spawn(argv, env, dir, out, err);
}

static int count_summaries(const char *err)
{
    int n = 0;
    for (const char *l = err; (l = strstr(l, "mymalloc: stats: mallocs=")) != NULL; l++)
        n += (l == err || l[-1] == '\n');
    return n;
}

static void case_run(void)
{
    char runner[4200];
    snprintf(runner, sizeof runner, "%s/mymalloc-run", build);
    CHECKF(access(runner, X_OK) == 0, "%s is missing or not executable", runner);
    char *out, *err;

    char *stats[] = {"MYMALLOC_STATS=1", NULL};
    char *argv1[] = {runner, "/bin/true", NULL};
    int st = api_spawn(argv1, stats, NULL, &out, &err);
    CHECKF(api_exited0(st), "MYMALLOC_STATS=1 mymalloc-run /bin/true: %s\n%s",
           api_status_str(st), err);
    CHECKF(count_summaries(err) == 1, "want one stats summary line; stderr:\n%s", err);
    unsigned long long mallocs;
    const char *l = strstr(err, "mymalloc: stats: mallocs=");
    CHECK(sscanf(l, "mymalloc: stats: mallocs=%llu frees=", &mallocs) == 1);
    printf("  /bin/true: %.*s\n", (int)strcspn(l, "\n"), l);
    free(out);
    free(err);

    char *argv2[] = {runner, "sh", "-c", "exit 7", NULL};
    st = api_spawn(argv2, NULL, NULL, NULL, &err);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 7, "mymalloc-run sh -c 'exit 7': %s\n%s",
           api_status_str(st), err);
    free(err);

    /* From another directory, by absolute path: the library is found. */
    char under[4200];
    snprintf(under, sizeof under, "--lib-under=%s", build);
    char *argv3[] = {runner, probe, under, NULL};
    st = api_spawn(argv3, NULL, "/", &out, &err);
    CHECKF(api_exited0(st), "mymalloc-run probe (from /): %s\n%s%s", api_status_str(st), out,
           err);
    printf("  probe: %s", out);
    free(out);
    free(err);

    char *argv4[] = {runner, "printf", "%s|", "a b", "", "c*", " ", NULL};
    st = api_spawn(argv4, NULL, NULL, &out, &err);
    CHECKF(api_exited0(st) && strcmp(out, "a b||c*| |") == 0,
           "arguments changed on the way: \"%s\" (%s)\n%s", out, api_status_str(st), err);
    free(out);
    free(err);

    char cmd[8500];
    snprintf(cmd, sizeof cmd, "echo through-stdin | '%s' cat", runner);
    st = sh(cmd, NULL, NULL, &out, &err);
    CHECKF(api_exited0(st) && strcmp(out, "through-stdin\n") == 0, "stdin: \"%s\" %s\n%s",
           out, api_status_str(st), err);
    free(out);
    free(err);

    char *argv5[] = {runner, "/nonexistent/program", NULL};
    st = api_spawn(argv5, NULL, NULL, NULL, &err);
    CHECKF(!api_exited0(st), "mymalloc-run of a missing program succeeded");
    free(err);
    printf("ok mymalloc-run: stats line, exit code, preload, arguments, stdin\n");
}

static int is_file(const char *dir, const char *rel, int exec)
{
    char p[8500];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && (!exec || (sb.st_mode & 0111));
}

static const char *const installed[] = {"lib/libmymalloc.so", "lib/libmymalloc.a",
                                        "include/mymalloc.h", "lib/pkgconfig/mymalloc.pc",
                                        "bin/mymalloc-run"};

static void check_installed(const char *dir)
{
    for (size_t i = 0; i < sizeof installed / sizeof installed[0]; i++)
        CHECKF(is_file(dir, installed[i], i == 4), "%s/%s missing%s", dir, installed[i],
               i == 4 ? " or not executable" : "");
}

static const char app_src[] =
    "#define _GNU_SOURCE\n"
    "#include <dlfcn.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <mymalloc.h>\n"
    "int main(void) {\n"
    "    void *p = malloc(100), *q = mymalloc(5000);\n"
    "    if (!p || !q || myusable_size(p) < 100 || myusable_size(q) < 5000) return 2;\n"
    "    free(p); myfree(q);\n"
    "    if (allocator_verify() != 0) return 3;\n"
    "    Dl_info d;\n"
    "    if (dladdr((void *)mymalloc, &d) && d.dli_fname) printf(\"%s\\n\", d.dli_fname);\n"
    "    return 0;\n"
    "}\n";

static void case_install(const char *tmp)
{
    char cmd[16384], *out, *err;
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    /* Under make debug-test the tree installed is build-debug's, made (if
     * anything is out of date) with its flags, not the release ones. */
    const char *slash = strrchr(build, '/');
    const char *goals = strcmp(slash ? slash + 1 : build, "build-debug") == 0 ? "debug install"
                                                                             : "install";

    /* 1. Staged: DESTDIR + PREFIX. */
    char stage_prefix[] = "/opt/mymalloc-api-test-prefix";
    snprintf(cmd, sizeof cmd, "make -s -C '%s' %s BUILD='%s' PREFIX=%s DESTDIR='%s/stage'",
             root, goals, build, stage_prefix, tmp);
    int st = sh(cmd, NULL, NULL, &out, &err);
    CHECKF(api_exited0(st), "%s: %s\n%s%s", cmd, api_status_str(st), out, err);
    free(out);
    free(err);
    char staged[8500];
    snprintf(staged, sizeof staged, "%s/stage%s", tmp, stage_prefix);
    check_installed(staged);
    CHECKF(access(stage_prefix, F_OK) != 0, "install with DESTDIR wrote to %s", stage_prefix);
    snprintf(cmd, sizeof cmd, "cmp -s include/mymalloc.h '%s/include/mymalloc.h'", staged);
    CHECKF(api_exited0(sh(cmd, NULL, root, NULL, NULL)), "installed header differs");
    snprintf(cmd, sizeof cmd, "%s/lib/pkgconfig/mymalloc.pc", staged);
    int fd = open(cmd, O_RDONLY);
    CHECK(fd >= 0);
    char *pc = api_slurp_fd(fd);
    close(fd);
    CHECKF(strstr(pc, stage_prefix) != NULL, "mymalloc.pc does not name the prefix:\n%s", pc);
    CHECKF(strstr(pc, tmp) == NULL, "mymalloc.pc names the DESTDIR:\n%s", pc);
    free(pc);

    /* 2. A real prefix: build against it with pkg-config. */
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/prefix", tmp);
    snprintf(cmd, sizeof cmd, "make -s -C '%s' %s BUILD='%s' PREFIX='%s'", root, goals, build,
             prefix);
    st = sh(cmd, NULL, NULL, &out, &err);
    CHECKF(api_exited0(st), "%s: %s\n%s%s", cmd, api_status_str(st), out, err);
    free(out);
    free(err);
    check_installed(prefix);
    snprintf(cmd, sizeof cmd, "cat > app.c <<'EOF'\n%sEOF\n", app_src);
    CHECK(api_exited0(sh(cmd, NULL, tmp, NULL, NULL)));
    CHECKF(api_exited0(sh("command -v pkg-config", NULL, NULL, NULL, NULL)),
           "pkg-config is not installed (tests/api/packages.txt lists it)");
    snprintf(cmd, sizeof cmd,
             "PKG_CONFIG_PATH='%s/lib/pkgconfig' && export PKG_CONFIG_PATH && "
             "%s app.c $(pkg-config --cflags --libs mymalloc) -o app && "
             "LD_LIBRARY_PATH='%s/lib' ./app",
             prefix, cc, prefix);
    st = sh(cmd, NULL, tmp, &out, &err);
    CHECKF(api_exited0(st), "pkg-config build and run: %s\n%s%s", api_status_str(st), out, err);
    char real[4096];
    out[strcspn(out, "\n")] = '\0';
    CHECKF(realpath(out, real) && strncmp(real, tmp, strlen(tmp)) == 0,
           "the app ran on %s, not on the installed library", out);
    printf("  pkg-config build runs on %s\n", real);
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd,
             "%s app.c -I'%s/include' '%s/lib/libmymalloc.a' -lpthread -o app-static && "
             "./app-static",
             cc, prefix, prefix);
    st = sh(cmd, NULL, tmp, &out, &err);
    CHECKF(api_exited0(st), "static build and run: %s\n%s%s", api_status_str(st), out, err);
    free(out);
    free(err);

    /* 3. The installed mymalloc-run preloads the installed library. */
    char runner[8500], under[8500];
    snprintf(runner, sizeof runner, "%s/bin/mymalloc-run", prefix);
    snprintf(under, sizeof under, "--lib-under=%s/lib", prefix);
    char *argv[] = {runner, probe, under, NULL};
    st = api_spawn(argv, NULL, "/", &out, &err);
    CHECKF(api_exited0(st), "installed mymalloc-run probe: %s\n%s%s", api_status_str(st), out,
           err);
    printf("  installed mymalloc-run: %s", out);
    free(out);
    free(err);
    char *argv2[] = {runner, "sh", "-c", "exit 7", NULL};
    st = api_spawn(argv2, NULL, NULL, NULL, NULL);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 7, "installed mymalloc-run exit code: %s",
           api_status_str(st));
    printf("ok make install: DESTDIR staging, pkg-config build, static link, mymalloc-run\n");
}

int main(int argc, char **argv)
{
    const char *which = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--case=", 7) == 0)
            which = argv[i] + 7;
        else if (strncmp(argv[i], "--build=", 8) == 0)
            CHECK(realpath(argv[i] + 8, build) != NULL);
        else if (strncmp(argv[i], "--probe=", 8) == 0)
            CHECK(realpath(argv[i] + 8, probe) != NULL);
    }
    CHECKF(which && build[0] && probe[0],
           "usage: tools --case=run|install --build=BUILD --probe=PROBE");
    CHECK(getcwd(root, sizeof root) != NULL);
    CHECKF(access("Makefile", F_OK) == 0 && access("include/mymalloc.h", F_OK) == 0,
           "run from the repository root");
    if (strcmp(which, "run") == 0)
        case_run();
    else if (strcmp(which, "install") == 0) {
        /* In a child, so that the temporary tree goes away on failure too. */
        char tmp[] = "/tmp/mymalloc-install-XXXXXX";
        CHECK(mkdtemp(tmp) != NULL);
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            case_install(tmp);
            fflush(stdout);
            _exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0)
            CHECK(errno == EINTR);
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        CHECK(api_exited0(sh(cmd, NULL, NULL, NULL, NULL)));
        return api_exited0(st) ? 0 : 1;
    }
    else
        CHECKF(0, "unknown case %s", which);
    return 0;
}
