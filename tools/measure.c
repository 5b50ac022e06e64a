/*
 * measure: run a command and report its wall time and peak resident set.
 *
 *   measure [-o FILE] COMMAND [ARGS...]
 *
 * Runs COMMAND, waits for it and writes one line
 *
 *   seconds=1.234 peak_rss_kib=5678 status=0
 *
 * to FILE (appended), or to stderr without -o. peak_rss_kib is the largest
 * resident set of the command or of any descendant it waited for (getrusage
 * RUSAGE_CHILDREN: the maximum, not the sum). status is the exit status, or
 * 128 + the signal that killed it; measure exits with the same status.
 * The command's own stdout and stderr pass through untouched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *out_path = NULL;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-o") == 0) {
        out_path = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: measure [-o FILE] COMMAND [ARGS...]\n");
        return 2;
    }
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[first], argv + first);
        fprintf(stderr, "measure: %s: %s\n", argv[first], strerror(errno));
        _exit(127);
    }
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR) {
            perror("measure: waitpid");
            return 2;
        }
    }
    double seconds = now() - start;
    struct rusage usage;
    getrusage(RUSAGE_CHILDREN, &usage);
    int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);

    FILE *out = stderr;
    if (out_path != NULL && (out = fopen(out_path, "a")) == NULL) {
        perror(out_path);
        return 2;
    }
    fprintf(out, "seconds=%.3f peak_rss_kib=%ld status=%d\n", seconds, usage.ru_maxrss, status);
    if (out != stderr)
        fclose(out);
    return status;
}
