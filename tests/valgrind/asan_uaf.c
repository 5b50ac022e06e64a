/*
 * asan_uaf: the core's free blocks are poisoned in the AddressSanitizer build
 * of the test kit (platform/track.h, MM_TRACK_CORE_BLOCKS). Linked with the
 * core compiled with -fsanitize=address; tests/valgrind/check_asan.sh runs it.
 *
 *   asan_uaf clean    blocks of every size class written whole, freed (on
 *                     their thread and on another), trimmed, and blocks of
 *                     other classes carved from the same memory written
 *                     whole again: ASan must report nothing (a poisoned
 *                     byte handed out again would be reported)
 *   asan_uaf local    reads byte 16 of a block its own thread freed: ASan
 *                     reports a use after poison (and the program exits 67)
 *   asan_uaf remote   the same for a block freed by another thread
 *   asan_uaf header   reads byte 0 of a freed block: not reported, the
 *                     link and free mark stay addressable (exits 0); the
 *                     documented limit
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mymalloc.h"
#include "hosted/hosted.h"

static volatile unsigned char sink;

/* Two blocks of 200 bytes: the second keeps their slab mapped after the
 * first is freed. */
static unsigned char *kept;

static void *alloc_on_thread(void *unused)
{
    unsigned char *p = mymalloc(200);
    memset(p, 1, 200);
    kept = mymalloc(200);
    return p;
}

static void *free_on_thread(void *p)
{
    myfree(p);
    return NULL;
}

static void *on_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    void *result;
    pthread_create(&t, NULL, fn, arg);
    pthread_join(t, &result);
    return result;
}

#define ROUNDS 3
#define BLOCKS 600

static void clean(void)
{
    static unsigned char *blocks[BLOCKS];
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < BLOCKS; i++) {
            size_t n = (size_t)(i * (round * 2 + 7) * 53 % 33000) + 1;
            blocks[i] = mymalloc(n);
            memset(blocks[i], round, n);
        }
        for (int i = 0; i < BLOCKS; i += 2)
            myfree(blocks[i]);
        for (int i = 1; i < BLOCKS; i += 2)
            on_thread(free_on_thread, blocks[i]);
        mm_hosted_trim("asan_uaf"); /* slabs back: memory carved anew */
    }
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "clean";
    if (strcmp(c, "clean") == 0) {
        clean();
    } else if (strcmp(c, "local") == 0) {
        unsigned char *p = mymalloc(64);
        memset(p, 1, 64);
        myfree(p);
        sink = p[16];
    } else if (strcmp(c, "remote") == 0) {
        unsigned char *p = on_thread(alloc_on_thread, NULL);
        myfree(p); /* another thread's block */
        sink = p[100];
        myfree(kept);
    } else if (strcmp(c, "header") == 0) {
        unsigned char *p = mymalloc(64);
        myfree(p);
        sink = p[0];
    } else {
        fprintf(stderr, "usage: asan_uaf clean|local|remote|header\n");
        return 2;
    }
    return 0;
}
