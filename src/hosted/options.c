/*
 * options.c: the MYMALLOC_ environment options, read once when the library
 * is loaded (or by allocator_init, whichever comes first), in the manner of
 * jemalloc's MALLOC_CONF and mimalloc's MIMALLOC_ variables:
 *
 *   MYMALLOC_STATS=1     print statistics to stderr at exit
 *   MYMALLOC_VERBOSE=1   report what the allocator decides: the options it
 *                        read, memory it returns (trim, cleanup), forks
 *   MYMALLOC_HUGE_PAGES=0
 *                        do not ask for transparent huge pages for blocks of
 *                        2 MiB and more (src/platform/hosted.c); on by default
 *   MYMALLOC_RT_ARENA_MB=256
 *                        (libmymalloc-rt.so only, MM_REALTIME) the real-time
 *                        arena's size in MiB, mapped and locked at start-up:
 *                        all the memory the malloc family will ever have
 *
 * Values: 1/yes/on/true enable, 0/no/off/false (or empty) disable. Any other
 * variable whose name starts with MYMALLOC_, and any value not understood,
 * is reported on stderr rather than ignored.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hosted/hosted.h"

extern char **environ;

bool mm_option_verbose;
bool mm_option_huge_pages = true;
static bool option_stats;
#if defined(MM_REALTIME)
size_t mm_option_rt_arena_mb = 256;
#define RT_ARENA_MB_MAX ((size_t)1 << 22) /* 4 TiB: runs of pages are counted in 31 bits */
#endif

typedef struct option {
    const char *name;
    bool *value;
} option;

static const option options[] = {
    {"MYMALLOC_STATS", &option_stats},
    {"MYMALLOC_VERBOSE", &mm_option_verbose},
    {"MYMALLOC_HUGE_PAGES", &mm_option_huge_pages},
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

/* 1 for an enabling value, 0 for a disabling one, -1 if not understood. */
static int parse_flag(const char *value)
{
    static const char *const on[] = {"1", "yes", "on", "true"};
    static const char *const off[] = {"", "0", "no", "off", "false"};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++)
        if (strcasecmp(value, on[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        if (strcasecmp(value, off[i]) == 0)
            return 0;
    return -1;
}

static void print_stats_at_exit(void)
{
    mm_report_stats();
}

/* `entry` is NAME=VALUE with NAME starting MYMALLOC_. */
static void read_entry(const char *entry)
{
    const char *equals = strchr(entry, '=');
    size_t name_length = equals != NULL ? (size_t)(equals - entry) : strlen(entry);
    const char *value = equals != NULL ? equals + 1 : "";
#if defined(MM_REALTIME)
    static const char arena_name[] = "MYMALLOC_RT_ARENA_MB";
    if (name_length == sizeof arena_name - 1 && strncmp(entry, arena_name, name_length) == 0) {
        char *end;
        unsigned long long mb = strtoull(value, &end, 10);
        if (end == value || *end != '\0' || mb == 0 || mb > RT_ARENA_MB_MAX)
            mm_say("mymalloc: option %s=%s: not a size in MiB (1 to %zu); kept %zu", arena_name,
                   value, RT_ARENA_MB_MAX, mm_option_rt_arena_mb);
        else
            mm_option_rt_arena_mb = (size_t)mb;
        return;
    }
#endif
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (strlen(options[i].name) != name_length ||
            strncmp(options[i].name, entry, name_length) != 0)
            continue;
        int flag = parse_flag(value);
        if (flag < 0)
            mm_say("mymalloc: option %.*s=%s: value not understood (use 1 or 0); ignored",
                   (int)name_length, entry, value);
        else
            *options[i].value = flag != 0;
        return;
    }
    char known[128] = "";
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        strncat(known, i > 0 ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, options[i].name, sizeof known - strlen(known) - 1);
    }
    mm_say("mymalloc: unknown option %.*s (known: %s); ignored", (int)name_length, entry, known);
}

static pthread_once_t parse_once = PTHREAD_ONCE_INIT;
static pthread_once_t read_once = PTHREAD_ONCE_INIT;

/* Allocates nothing: the first vmalloc may call it from inside a malloc. */
static void parse_options(void)
{
    for (char **entry = environ; entry != NULL && *entry != NULL; entry++)
        if (strncmp(*entry, "MYMALLOC_", 9) == 0)
            read_entry(*entry);
    for (size_t i = 0; i < OPTION_COUNT; i++)
        mm_verbose("mymalloc: option %s=%d", options[i].name, *options[i].value ? 1 : 0);
#if defined(MM_REALTIME)
    mm_verbose("mymalloc: option MYMALLOC_RT_ARENA_MB=%zu", mm_option_rt_arena_mb);
#endif
}

void mm_options_parse(void)
{
    pthread_once(&parse_once, parse_options);
}

static void read_options(void)
{
    mm_options_parse();
    if (option_stats)
        (void)atexit(print_stats_at_exit); /* if it fails, no report at exit */
}

__attribute__((constructor)) void mm_options_read(void)
{
    pthread_once(&read_once, read_options);
}
