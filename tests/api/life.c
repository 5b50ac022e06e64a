/*
 * life: the allocator over the life of a process.
 *
 *   --case=ctor     allocation before main: a constructor (priority 101)
 *                   mallocs, callocs, reallocs, posix_memaligns; main finds
 *                   the blocks intact and served by mymalloc; an atexit
 *                   handler and a destructor allocate and free after main
 *   --case=dlopen LIB
 *                   dlopen(LIB) into a process that does not use mymalloc
 *                   for malloc, dlsym mymalloc/myfree, use them on the main
 *                   thread and on 4 threads, dlclose, then those threads
 *                   exit and new ones start and exit; twice
 *   --case=fork     200 forks (--forks=N) while 4 threads churn malloc/free
 *                   (cross-thread frees, large blocks); each child mallocs,
 *                   frees, starts threads and _exits 0 within 10 s
 *   --case=threads  10,000 short-lived threads, 8 at a time, each allocating
 *                   and freeing a few KiB (one block freed by main after the
 *                   thread exited): mallinfo2().arena after the 10,000 within
 *                   4 MiB of its value after the first 1,000
 *
 * A plain program: built three ways (not linked: LD_PRELOAD or dlopen;
 * linked with -lmymalloc; linked with libmymalloc.a and -rdynamic so that
 * dlsym finds mymalloc). --expect=glibc|jemalloc run the same checks on
 * another allocator (the ones that need mymalloc's entry points skipped).
 */
#include "api_test.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

static enum api_alloc alloc;

/* ---- ctor ------------------------------------------------------------------- */

enum { CTOR_BLOCKS = 64 };
static void *ctor_block[CTOR_BLOCKS];
static size_t ctor_size[CTOR_BLOCKS];
static int ctor_ran;

static size_t ctor_size_of(int i)
{
    return i % 16 == 15 ? 100000 + (size_t)i * 1000 : (size_t)i * 37 + 1;
}

__attribute__((constructor(101))) static void early(void)
{
    for (int i = 0; i < CTOR_BLOCKS; i++) {
        size_t s = ctor_size_of(i);
        void *p;
        switch (i % 4) {
        case 0:
            p = malloc(s);
            break;
        case 1:
            p = calloc(1, s);
            break;
        case 2:
            p = realloc(malloc(s / 2 + 1), s);
            break;
        default:
            if (posix_memalign(&p, 64, s) != 0)
                p = NULL;
        }
        if (!p)
            abort();
        api_tag(p, s, (uint64_t)i);
        ctor_block[i] = p;
        ctor_size[i] = s;
    }
    ctor_ran = 1;
}

static void at_exit_handler(void)
{
    void *p = malloc(5000), *q = calloc(10, 100);
    if (!p || !q)
        abort();
    memset(p, 1, 5000);
    free(p);
    free(q);
}

__attribute__((destructor)) static void late(void)
{
    /* After main (and after exit handlers): blocks from before main freed. */
    for (int i = 0; i < CTOR_BLOCKS; i++)
        if (ctor_block[i]) {
            if (!api_tag_ok(ctor_block[i], ctor_size[i], (uint64_t)i))
                abort();
            free(ctor_block[i]);
        }
    void *p = malloc(100);
    if (!p)
        abort();
    free(p);
}

static void case_ctor(void)
{
    CHECK(ctor_ran);
    struct api_my my = api_my_lookup();
    for (int i = 0; i < CTOR_BLOCKS; i++) {
        CHECKF(api_tag_ok(ctor_block[i], ctor_size[i], (uint64_t)i),
               "block %d from the constructor damaged", i);
        CHECK(api_aligned(ctor_block[i],
                          api_want_align(alloc == API_MYMALLOC, ctor_size[i], i % 4 == 3 ? 64 : 1)));
        if (alloc == API_MYMALLOC)
            CHECKF(my.myusable_size(ctor_block[i]) >= ctor_size[i],
                   "block %d from the constructor is not mymalloc's", i);
    }
    /* Free half now, the rest in the destructor. */
    for (int i = 0; i < CTOR_BLOCKS; i += 2) {
        free(ctor_block[i]);
        ctor_block[i] = NULL;
    }
    CHECK(atexit(at_exit_handler) == 0);
    if (alloc == API_MYMALLOC)
        CHECK(my.allocator_verify() == 0);
    printf("ok %d blocks allocated in a constructor; frees in a destructor\n", CTOR_BLOCKS);
}

/* ---- dlopen ------------------------------------------------------------------ */

static void *(*dl_malloc)(size_t);
static void (*dl_free)(void *);
static pthread_barrier_t dl_bar;

static void dl_use(uint64_t seed)
{
    void *b[40];
    for (int i = 0; i < 40; i++) {
        size_t s = i == 39 ? API_MIB : (size_t)i * 97 + 1;
        b[i] = dl_malloc(s);
        CHECK(b[i] && api_aligned(b[i], api_min_align(s)));
        api_tag(b[i], s, seed + i);
    }
    for (int i = 0; i < 40; i++) {
        size_t s = i == 39 ? API_MIB : (size_t)i * 97 + 1;
        CHECK(api_tag_ok(b[i], s, seed + i));
        /* Every other block outlives this call: freed later or leaked. */
        if (i % 2 == 0)
            dl_free(b[i]);
    }
}

static void *dl_worker(void *arg)
{
    pthread_barrier_wait(&dl_bar); /* library loaded */
    dl_use((uint64_t)(uintptr_t)arg * 1000);
    pthread_barrier_wait(&dl_bar); /* used on every thread */
    pthread_barrier_wait(&dl_bar); /* library closed: now exit */
    return NULL;
}

static void *plain_worker(void *arg)
{
    void *p = malloc(1000);
    CHECK(p);
    free(p);
    return arg;
}

static void case_dlopen(const char *lib)
{
    CHECKF(dlsym(RTLD_DEFAULT, "mymalloc") == NULL,
           "--case=dlopen needs a process without mymalloc loaded");
    for (int round = 0; round < 2; round++) {
        enum { W = 4 };
        pthread_t th[W];
        pthread_barrier_init(&dl_bar, NULL, W + 1);
        for (int t = 0; t < W; t++)
            CHECK(pthread_create(&th[t], NULL, dl_worker, (void *)(intptr_t)(t + 1)) == 0);
        void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        CHECKF(h != NULL, "dlopen(%s): %s", lib, dlerror());
        *(void **)&dl_malloc = dlsym(h, "mymalloc");
        *(void **)&dl_free = dlsym(h, "myfree");
        int (*verify)(void);
        *(void **)&verify = dlsym(h, "allocator_verify");
        CHECKF(dl_malloc && dl_free, "dlsym mymalloc/myfree: %s", dlerror());
        pthread_barrier_wait(&dl_bar);
        dl_use(0);
        pthread_barrier_wait(&dl_bar);
        if (verify)
            CHECK(verify() == 0);
        CHECK(dlclose(h) == 0);
        dl_malloc = NULL;
        dl_free = NULL;
        /* The threads that used the library exit after it was closed. */
        pthread_barrier_wait(&dl_bar);
        for (int t = 0; t < W; t++)
            CHECK(pthread_join(th[t], NULL) == 0);
        pthread_barrier_destroy(&dl_bar);
        /* New threads start and exit; malloc still works. */
        for (int t = 0; t < W; t++)
            CHECK(pthread_create(&th[t], NULL, plain_worker, NULL) == 0);
        for (int t = 0; t < W; t++)
            CHECK(pthread_join(th[t], NULL) == 0);
    }
    printf("ok dlopen, use on 5 threads, dlclose, threads exit afterwards (twice)\n");
}

/* ---- fork under load ------------------------------------------------------------ */

enum { CHURN_THREADS = 4, EXCHANGE = 64 };
static int forks = 200; /* --forks=N */
static atomic_int churn_stop;
static _Atomic(void *) exchange[EXCHANGE];
static atomic_long churn_ops;

static void *churn_main(void *arg)
{
    uint64_t r = (uint64_t)(uintptr_t)arg * 7919 + 1;
    void *mine[64] = {0};
    long ops = 0;
    while (!atomic_load(&churn_stop)) {
        int i = (int)(api_rng(&r) % 64);
        if (mine[i]) {
            /* Swap with the exchange: frees of other threads' blocks. */
            void *p = atomic_exchange(&exchange[api_rng(&r) % EXCHANGE], mine[i]);
            free(p);
            mine[i] = NULL;
        } else {
            size_t s = api_rng(&r) % 100 == 0 ? 64 * API_KIB + api_rng(&r) % API_MIB
                                             : api_rng(&r) % 2000;
            mine[i] = malloc(s);
            CHECK(mine[i]);
            memset(mine[i], 0x3c, s < 64 ? s : 64);
        }
        ops++;
    }
    for (int i = 0; i < 64; i++)
        free(mine[i]);
    atomic_fetch_add(&churn_ops, ops);
    return NULL;
}

static void *child_thread(void *arg)
{
    for (int i = 0; i < 200; i++) {
        void *p = malloc((size_t)i * 13);
        CHECK(p);
        memset(p, 1, (size_t)i * 13);
        free(p);
    }
    return arg;
}

static void fork_child(void)
{
    alarm(10);
    void *b[100];
    for (int i = 0; i < 100; i++) {
        size_t s = i == 99 ? 2 * API_MIB : (size_t)i * 61;
        b[i] = malloc(s);
        CHECK(b[i] && api_aligned(b[i], api_want_align(alloc == API_MYMALLOC, s, 1)));
        api_tag(b[i], s, i);
    }
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&th[t], NULL, child_thread, NULL) == 0);
    for (int t = 0; t < 2; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    for (int i = 0; i < 100; i++) {
        CHECK(api_tag_ok(b[i], i == 99 ? 2 * API_MIB : (size_t)i * 61, i));
        free(b[i]);
    }
    _exit(0);
}

static void case_fork(void)
{
    pthread_t th[CHURN_THREADS];
    for (int t = 0; t < CHURN_THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, churn_main, (void *)(intptr_t)(t + 1)) == 0);
    /* The parent's own blocks must survive the forks too. */
    void *keep = malloc(10000);
    CHECK(keep);
    api_tag(keep, 10000, 5);
    for (int f = 0; f < forks; f++) {
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            fork_child();
        int st;
        while (waitpid(pid, &st, 0) < 0)
            CHECK(errno == EINTR);
        CHECKF(api_exited0(st), "fork %d: child %s%s", f, api_status_str(st),
               WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? " (deadlocked)" : "");
        if (f % 10 == 0)
            usleep(1000); /* let the churn move on */
    }
    atomic_store(&churn_stop, 1);
    for (int t = 0; t < CHURN_THREADS; t++)
        CHECK(pthread_join(th[t], NULL) == 0);
    for (int i = 0; i < EXCHANGE; i++)
        free(atomic_load(&exchange[i]));
    CHECK(api_tag_ok(keep, 10000, 5));
    free(keep);
    struct api_my my = api_my_lookup();
    if (alloc == API_MYMALLOC)
        CHECK(my.allocator_verify() == 0);
    printf("FIGURES: forks=%d churn_ops=%ld\n", forks, atomic_load(&churn_ops));
    printf("ok %d forks under 4 churning threads\n", forks);
}

/* ---- many short-lived threads ------------------------------------------------------- */

enum { TOTAL_THREADS = 10000, BATCH = 8 };

static void *short_main(void *arg)
{
    uint64_t r = (uint64_t)(uintptr_t)arg + 1;
    void *b[12];
    for (int i = 0; i < 12; i++) {
        size_t s = i == 11 ? 4096 : 16 + api_rng(&r) % 512;
        b[i] = malloc(s);
        CHECK(b[i] && api_aligned(b[i], api_want_align(alloc == API_MYMALLOC, s, 1)));
        memset(b[i], i, s);
    }
    for (int i = 1; i < 12; i++)
        free(b[i]);
    return b[0]; /* freed by main after the thread exited */
}

static void case_threads(void)
{
    size_t arena_1000 = 0;
    double t0 = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = ts.tv_sec + ts.tv_nsec * 1e-9;
    for (int done = 0; done < TOTAL_THREADS; done += BATCH) {
        pthread_t th[BATCH];
        for (int t = 0; t < BATCH; t++)
            CHECK(pthread_create(&th[t], NULL, short_main, (void *)(intptr_t)(done + t)) == 0);
        for (int t = 0; t < BATCH; t++) {
            void *left;
            CHECK(pthread_join(th[t], &left) == 0);
            free(left);
        }
        if (done + BATCH == 1000)
            arena_1000 = mallinfo2().arena;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double secs = ts.tv_sec + ts.tv_nsec * 1e-9 - t0;
    size_t arena_end = mallinfo2().arena;
    printf("FIGURES: held_after_1000=%zuK held_after_10000=%zuK threads/s=%.0f\n",
           arena_1000 / 1024, arena_end / 1024, TOTAL_THREADS / secs);
    if (alloc == API_JEMALLOC) {
        printf("skip the mallinfo2 bound (glibc's mallinfo2, jemalloc's heap)\n");
    } else {
        CHECKF(arena_end <= arena_1000 + 4 * API_MIB,
               "held grew from %zu after 1,000 threads to %zu after 10,000", arena_1000,
               arena_end);
    }
    struct api_my my = api_my_lookup();
    if (alloc == API_MYMALLOC)
        CHECK(my.allocator_verify() == 0);
    printf("ok %d short-lived threads: memory held stays flat\n", TOTAL_THREADS);
}

int main(int argc, char **argv)
{
    const char *which = NULL, *lib = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--case=", 7) == 0)
            which = argv[i] + 7;
        else if (strncmp(argv[i], "--forks=", 8) == 0)
            forks = atoi(argv[i] + 8);
        else if (argv[i][0] != '-')
            lib = argv[i];
    }
    CHECKF(which, "usage: life --case=ctor|dlopen|fork|threads [LIB] [--expect=...]");
    if (strcmp(which, "dlopen") == 0) {
        CHECKF(lib, "--case=dlopen LIB");
        case_dlopen(lib);
        return 0;
    }
    alloc = api_allocator(argc, argv);
    if (strcmp(which, "ctor") == 0)
        case_ctor();
    else if (strcmp(which, "fork") == 0)
        case_fork();
    else if (strcmp(which, "threads") == 0)
        case_threads();
    else
        CHECKF(0, "unknown case %s", which);
    return 0;
}
