/*
 * tools/ecc-inject.c: the external fault injector for protected memory.
 * It starts the workload (tests/ecc/workload.c) as its child, reads the
 * areas of protected storage the workload publishes in a shared file
 * (tests/ecc/shared.h), and flips bits in them from outside the process
 * with process_vm_readv/process_vm_writev, at a set rate, in batches
 * while the workload is parked between operations (so that each flip is
 * atomic with respect to the program's stores, as a real upset is).
 *
 * Kinds of flips:
 *   single  one bit, anywhere in the storage of a live block (data, check
 *           bits, any TMR copy) or in the table's metadata (directory,
 *           slot metadata, including free slots);
 *   double  two bits of one byte (--doubles per mille of the flips);
 *   freed   one bit at an address a block occupied before it was freed,
 *           where nothing is mapped any more (--freed per mille): the
 *           write must fail (EFAULT) and nothing may change.
 * A codeword hit is not aimed at again until the workload completed a full
 * scrub pass that started after the hit (every single flip has then been
 * corrected), and never again after a SECDED double (it stays bad until the
 * program rewrites it); aims that met such a word are counted as re-aimed.
 *
 * At the end the workload verifies everything and scrubs; the injector
 * checks its figures against what it injected:
 *   - wrong reads: 0;
 *   - corrected == singles + TMR doubles + metadata doubles (each of these
 *     is exactly one repair);
 *   - the words the workload's error handler saw uncorrectable are exactly
 *     the SECDED doubles injected (matched by block and offset);
 *   - after one scrub pass, nothing left for a second (latent errors: 0).
 *
 *   ecc-inject --flips=N [--rate=FLIPS_PER_S] [--batch=N] [--doubles=PERMILLE]
 *              [--freed=PERMILLE] [--metadata=PERCENT] [--seed=N] [--log=FILE]
 *              -- WORKLOAD [ARGS...]
 * Exits 0 when every check holds. Prints FIGURES.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ecc/shared.h"

static struct ecc_shared *shared;
static pid_t child;
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
    return check_xorshift(&rng_state);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *message)
{
    fprintf(stderr, "ecc-inject: %s\n", message);
    if (child > 0)
        kill(child, SIGKILL);
    exit(2);
}

/* Waits until cond() holds; dies if the workload exited or 60 s passed. */
static void wait_for(bool (*cond)(void), const char *what)
{
    double deadline = now() + 60;
    for (unsigned spins = 0; !cond(); spins++) {
        if (spins % 1024 == 1023) {
            int status;
            if (waitpid(child, &status, WNOHANG) == child) {
                child = 0;
                die("the workload exited early");
            }
            if (now() > deadline)
                die(what);
            usleep(50);
        }
    }
}

static bool is_ready(void) { return atomic_load(&shared->ready) != 0; }
static bool all_parked(void) { return atomic_load(&shared->parked) == atomic_load(&shared->threads); }
static bool none_parked(void) { return atomic_load(&shared->parked) == 0; }

/* ---- codewords hit, not to be aimed at again too soon ---------------------------- */

enum { HIT_BITS = 21, HIT_SIZE = 1 << HIT_BITS };
#define FOREVER UINT64_MAX
static struct hit {
    uint64_t codeword; /* 0: empty */
    uint64_t until;    /* free again once scrub_passes >= until */
} *hits;
static size_t hit_count;

static struct hit *hit_slot(uint64_t codeword)
{
    size_t i = (size_t)((codeword * 0x9e3779b97f4a7c15ULL) >> (64 - HIT_BITS));
    while (hits[i].codeword != 0 && hits[i].codeword != codeword)
        i = (i + 1) & (HIT_SIZE - 1);
    return &hits[i];
}

static bool hit_busy(uint64_t codeword, uint64_t passes)
{
    struct hit *hit = hit_slot(codeword);
    return hit->codeword == codeword && passes < hit->until;
}

/* Keeps the table under half full: drop the expired hits. */
static void hit_trim(uint64_t passes)
{
    if (hit_count < HIT_SIZE / 2)
        return;
    static struct hit *old;
    if (old == NULL)
        old = malloc(sizeof(struct hit) * HIT_SIZE);
    memcpy(old, hits, sizeof(struct hit) * HIT_SIZE);
    memset(hits, 0, sizeof(struct hit) * HIT_SIZE);
    hit_count = 0;
    for (size_t i = 0; i < HIT_SIZE; i++)
        if (old[i].codeword != 0 && passes < old[i].until) {
            *hit_slot(old[i].codeword) = old[i];
            hit_count++;
        }
    if (hit_count >= HIT_SIZE / 2)
        die("too many codewords waiting for the scrub: lower --rate");
}

static void hit_add(uint64_t codeword, uint64_t until)
{
    struct hit *hit = hit_slot(codeword);
    if (hit->codeword == 0)
        hit_count++;
    hit->codeword = codeword;
    hit->until = until;
}

/* ---- the flips ---------------------------------------------------------------------- */

/* XORs mask into one byte of the workload: 0, or the errno of the failure. */
static int flip_byte(uint64_t address, unsigned char mask)
{
    unsigned char byte;
    struct iovec local = {&byte, 1}, remote = {(void *)(uintptr_t)address, 1};
    if (process_vm_readv(child, &local, 1, &remote, 1, 0) != 1)
        return errno;
    byte ^= mask;
    if (process_vm_writev(child, &local, 1, &remote, 1, 0) != 1)
        return errno;
    return 0;
}

/* Whether an address lies in no mapping of the workload (/proc/PID/maps). */
static bool unmapped(uint64_t address)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)child);
    FILE *maps = fopen(path, "r");
    if (maps == NULL)
        return false;
    bool inside = false;
    while (!inside && fgets(line, sizeof line, maps) != NULL) {
        uint64_t start, end;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2)
            inside = address >= start && address < end;
    }
    fclose(maps);
    return !inside;
}

/* The codeword (its first data word or copy-0 word) that byte `offset` of
 * an area belongs to, and the offset of that word in the block. */
static uint64_t codeword_of(const struct ecc_shared_area *area, uint64_t offset, uint64_t *word)
{
    uint64_t data_bytes = 8 * area->words;
    if (area->code == SHARED_TMR)
        *word = offset % data_bytes / 8;
    else
        *word = offset < data_bytes ? offset / 8 : offset - data_bytes;
    return area->base + 8 * *word;
}

struct counts {
    uint64_t singles, doubles, secded_doubles, tmr_doubles, metadata_doubles, metadata_singles;
    uint64_t freed_attempts, freed_harmless, freed_skipped, reaimed, pauses;
};
static struct counts counts;

enum { PAST = 1024 };
static struct ecc_shared_area past[PAST]; /* blocks' areas seen, for flips into freed storage */
static size_t past_next;

static FILE *log_file;

/* Injected SECDED doubles, to match against the workload's detections. */
static struct {
    uint64_t block, offset;
} *secded_hits;
static size_t secded_hit_count, secded_hit_capacity;

/* One flip of `kind` into the areas now published (the workload parked). */
static void inject(int kind, const struct ecc_shared_area *areas, uint32_t count,
                   unsigned metadata_percent)
{
    uint64_t passes = atomic_load(&shared->scrub_passes);
    if (kind == 'f') {
        for (int tries = 0; tries < 16; tries++) {
            const struct ecc_shared_area *gone = &past[rnd() % PAST];
            if (gone->length == 0)
                continue;
            uint64_t address = gone->base + rnd() % gone->length;
            bool live = false;
            for (uint32_t i = 0; i < count && !live; i++)
                live = address >= areas[i].base && address < areas[i].base + areas[i].length;
            if (live || !unmapped(address)) {
                counts.freed_skipped++;
                continue;
            }
            int error = flip_byte(address, (unsigned char)(1u << (rnd() % 8)));
            counts.freed_attempts++;
            if (error == EFAULT)
                counts.freed_harmless++;
            if (log_file != NULL)
                fprintf(log_file, "freed %#" PRIx64 " error=%d\n", address, error);
            return;
        }
        return;
    }
    for (int tries = 0; tries < 1000; tries++) {
        /* metadata_percent of the flips into metadata areas, the rest into
         * blocks, each area by its length. */
        bool want_metadata = rnd() % 100 < metadata_percent;
        uint64_t total = 0;
        for (uint32_t i = 0; i < count; i++)
            if (areas[i].metadata == want_metadata)
                total += areas[i].length;
        if (total == 0)
            continue;
        uint64_t pick = rnd() % total;
        const struct ecc_shared_area *area = NULL;
        for (uint32_t i = 0; i < count && area == NULL; i++)
            if (areas[i].metadata == want_metadata) {
                if (pick < areas[i].length)
                    area = &areas[i];
                else
                    pick -= areas[i].length;
            }
        uint64_t word;
        uint64_t codeword = codeword_of(area, pick, &word);
        if (hit_busy(codeword, passes)) {
            counts.reaimed++;
            continue;
        }
        unsigned char mask;
        if (kind == 'd') {
            int a = (int)(rnd() % 8), b = (a + 1 + (int)(rnd() % 7)) % 8;
            mask = (unsigned char)(1u << a | 1u << b);
        } else {
            mask = (unsigned char)(1u << (rnd() % 8));
        }
        int error = flip_byte(area->base + pick, mask);
        if (error != 0) {
            fprintf(stderr, "ecc-inject: flip at %#" PRIx64 ": %s\n", area->base + pick,
                    strerror(error));
            die("a published area could not be written");
        }
        bool secded_double = kind == 'd' && area->code == SHARED_SECDED;
        hit_add(codeword, secded_double ? FOREVER : passes + 1);
        if (kind == 's') {
            counts.singles++;
            counts.metadata_singles += area->metadata;
        } else {
            counts.doubles++;
            counts.secded_doubles += secded_double;
            counts.tmr_doubles += area->code == SHARED_TMR && !area->metadata;
            counts.metadata_doubles += area->metadata;
        }
        if (secded_double) {
            if (secded_hit_count == secded_hit_capacity) {
                secded_hit_capacity = secded_hit_capacity ? 2 * secded_hit_capacity : 1024;
                secded_hits = realloc(secded_hits, secded_hit_capacity * sizeof *secded_hits);
            }
            secded_hits[secded_hit_count].block = area->block;
            secded_hits[secded_hit_count].offset = 8 * word;
            secded_hit_count++;
        }
        if (log_file != NULL)
            fprintf(log_file, "%s %#" PRIx64 " mask=%#x area=%s%s word=%" PRIu64 "\n",
                    kind == 's' ? "single" : "double", area->base + pick, mask,
                    area->metadata ? "metadata-" : "", area->code == SHARED_TMR ? "tmr" : "secded",
                    word);
        return;
    }
    counts.reaimed++;
}

/* Remembers the blocks' areas seen, for flips into freed storage later. */
static void remember(const struct ecc_shared_area *areas, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (!areas[i].metadata) {
            bool known = false;
            for (size_t k = 0; k < PAST && !known; k++)
                known = past[k].base == areas[i].base;
            if (!known)
                past[past_next++ % PAST] = areas[i];
        }
}

int main(int argc, char **argv)
{
    long flips = 10000, batch = 16, doubles = 10, freed = 10, metadata = 20;
    double rate = 5000;
    const char *log_path = NULL;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strncmp(argv[i], "--flips=", 8) == 0)
            flips = atol(argv[i] + 8);
        else if (strncmp(argv[i], "--rate=", 7) == 0)
            rate = atof(argv[i] + 7);
        else if (strncmp(argv[i], "--batch=", 8) == 0)
            batch = atol(argv[i] + 8);
        else if (strncmp(argv[i], "--doubles=", 10) == 0)
            doubles = atol(argv[i] + 10);
        else if (strncmp(argv[i], "--freed=", 8) == 0)
            freed = atol(argv[i] + 8);
        else if (strncmp(argv[i], "--metadata=", 11) == 0)
            metadata = atol(argv[i] + 11);
        else if (strncmp(argv[i], "--seed=", 7) == 0)
            rng_state ^= strtoull(argv[i] + 7, NULL, 0) * 0x9e3779b97f4a7c15ULL;
        else if (strncmp(argv[i], "--log=", 6) == 0)
            log_path = argv[i] + 6;
        else
            break;
    }
    if (i + 1 >= argc || strcmp(argv[i], "--") != 0 || flips < 0 || batch < 1 || rate <= 0) {
        fprintf(stderr, "usage: ecc-inject --flips=N [--rate=R] [--batch=N] [--doubles=PERMILLE]"
                        " [--freed=PERMILLE] [--metadata=PERCENT] [--seed=N] [--log=FILE] --"
                        " WORKLOAD [ARGS...]\n");
        return 2;
    }
    char path[] = "/tmp/ecc-inject-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, sizeof *shared) != 0)
        die("cannot create the shared file");
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED)
        die("cannot map the shared file");
    hits = calloc(HIT_SIZE, sizeof *hits);
    if (log_path != NULL && (log_file = fopen(log_path, "w")) == NULL)
        die("cannot open the log");

    char shared_arg[64];
    snprintf(shared_arg, sizeof shared_arg, "--shared=%s", path);
    char **args = calloc((size_t)(argc - i + 1), sizeof *args);
    int n = 0;
    for (int k = i + 1; k < argc; k++)
        args[n++] = argv[k];
    args[n++] = shared_arg;
    child = fork();
    if (child == 0) {
        execv(args[0], args);
        perror("ecc-inject: exec");
        _exit(127);
    }
    wait_for(is_ready, "the workload did not get ready");

    /* The areas copied while the workload is parked. */
    static struct ecc_shared_area areas[ECC_SHARED_MAX_AREAS];
    double start = now();
    long injected = 0;
    uint64_t epoch = 0;
    while (injected < flips) {
        double due = start + (double)injected / rate;
        if (due > now())
            usleep((useconds_t)((due - now()) * 1e6));
        atomic_store(&shared->pause_request, ++epoch);
        wait_for(all_parked, "the workload did not park");
        counts.pauses++;
        uint32_t count = shared->area_count;
        memcpy(areas, shared->areas, count * sizeof areas[0]);
        remember(areas, count);
        hit_trim(atomic_load(&shared->scrub_passes));
        for (long k = 0; k < batch && injected < flips; k++, injected++) {
            long r = (long)(rnd() % 1000);
            inject(r < doubles ? 'd' : r < doubles + freed ? 'f' : 's', areas, count,
                   (unsigned)metadata);
        }
        atomic_store(&shared->resume, epoch);
        wait_for(none_parked, "the workload did not resume");
    }
    double seconds = now() - start;
    atomic_store(&shared->stop, 1);
    int status;
    waitpid(child, &status, 0);
    child = 0;
    unlink(path);
    if (log_file != NULL)
        fclose(log_file);
    if (!atomic_load(&shared->finished) || !WIFEXITED(status)) {
        fprintf(stderr, "ecc-inject: the workload did not finish (status %#x)\n", status);
        return 1;
    }

    /* Match the detections against the SECDED doubles. */
    uint32_t detections = atomic_load(&shared->detection_count);
    if (detections > ECC_SHARED_MAX_DETECTIONS)
        detections = ECC_SHARED_MAX_DETECTIONS;
    uint64_t matched = 0;
    for (size_t h = 0; h < secded_hit_count; h++)
        for (uint32_t d = 0; d < detections; d++)
            if (shared->detections[d].block == secded_hits[h].block &&
                shared->detections[d].offset == secded_hits[h].offset) {
                matched++;
                break;
            }
    uint64_t expected_corrected = counts.singles + counts.tmr_doubles + counts.metadata_doubles;
    int failures = 0;
#define EXPECT(cond, ...)                                                                      \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            fprintf(stderr, "ecc-inject: FAIL: " __VA_ARGS__);                                 \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)
    EXPECT(shared->wrong_reads == 0, "%" PRIu64 " wrong reads", shared->wrong_reads);
    EXPECT(shared->corrected == expected_corrected,
           "%" PRIu64 " corrected, expected %" PRIu64 " (singles + TMR and metadata doubles)",
           shared->corrected, expected_corrected);
    EXPECT(shared->detected_words == counts.secded_doubles && matched == counts.secded_doubles,
           "%" PRIu64 " words detected, %" PRIu64 " SECDED doubles injected, %" PRIu64 " matched",
           shared->detected_words, counts.secded_doubles, matched);
    EXPECT(shared->latent_after_pass == 0, "%" PRIu64 " latent errors after one scrub pass",
           shared->latent_after_pass);
    EXPECT(counts.freed_harmless == counts.freed_attempts,
           "%" PRIu64 " of %" PRIu64 " flips into freed storage did not fail with EFAULT",
           counts.freed_attempts - counts.freed_harmless, counts.freed_attempts);
    EXPECT(shared->exit_status == 0 && WEXITSTATUS(status) == 0, "the workload exited %d",
           WEXITSTATUS(status));
    printf("ecc-inject: %.1f s, %" PRIu64 " pauses; workload: %" PRIu64 " reads, %" PRIu64
           " writes, %" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64 " scrub passes\n",
           seconds, counts.pauses, shared->reads, shared->writes, shared->allocs, shared->frees,
           shared->passes);
    printf("FIGURES: singles=%" PRIu64 " (metadata %" PRIu64 ") corrected=%" PRIu64
           " doubles=%" PRIu64 " (secded %" PRIu64 " detected %" PRIu64 ", tmr %" PRIu64
           ", metadata %" PRIu64 ") freed=%" PRIu64 "/%" PRIu64 " wrong=%" PRIu64
           " latent=%" PRIu64 " reaimed=%" PRIu64 "\n",
           counts.singles, counts.metadata_singles, shared->corrected, counts.doubles,
           counts.secded_doubles, matched, counts.tmr_doubles, counts.metadata_doubles,
           counts.freed_harmless, counts.freed_attempts, shared->wrong_reads,
           shared->latent_after_pass, counts.reaimed);
    return failures == 0 ? 0 : 1;
}
