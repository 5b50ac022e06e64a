/*
 * page_slab.h: a small M5-style allocator for the checker's own tests, in
 * the shape of a student's mymalloc.c: freestanding, one global spin lock,
 * nothing from the system but vmalloc/vmfree. Each allocator in this
 * directory is a .c file that defines at most one CHECKER_BUG_* macro and
 * includes this file; with none (correct_slow.c) it is correct but slow:
 * every thread takes the one lock, every slab costs a vmalloc.
 *
 * Small requests (up to 2016 bytes) come from one-page slabs of one size
 * class: the page starts with a struct slab, blocks follow, and a block's
 * slab is its address rounded down to the page. Larger requests get a region
 * of their own whose first HEADER bytes are a struct slab recording the
 * region's length. A slab whose blocks are all free goes back to vmfree.
 * Invariants, under `lock`: slab->free_count counts the blocks on
 * slab->free; a slab with both free and used blocks is on its class's
 * partial list, a full or large one on no list.
 *
 * The planted bugs (one per file):
 *   CHECKER_BUG_NO_LOCK     the lock is never taken: a race on the lists
 *   CHECKER_BUG_PLAIN_LOCK  the lock is a plain load then a plain store
 *   CHECKER_BUG_OFF_BY_8    the class is chosen for size - 8, as if an 8-byte
 *                           header were already counted: a block's last
 *                           bytes overlap the next block
 *   CHECKER_BUG_LOST_BLOCK  every 8th small free is dropped: its memory and
 *                           its slab are never reused or given back
 *   CHECKER_BUG_WASTE_64K   every request gets a region of at least 64 KiB
 * CHECKER_CUSTOM_API leaves mymalloc/myfree to the including file, which
 * wraps slab_malloc/slab_free (list_walk.c).
 */
#include "mymalloc.h"

#include <stddef.h>
#include <stdint.h>

#define PAGE 4096
#define HEADER 64 /* sizeof(struct slab) rounded up; keeps blocks 16-aligned */
#define LARGE 0xff

struct block {
    struct block *next;
};

struct slab {
    unsigned cls; /* size class, or LARGE */
    unsigned free_count;
    size_t length;             /* region length of a LARGE slab */
    struct block *free;        /* this slab's free blocks */
    struct slab *prev, *next;  /* the class's partial list */
};
_Static_assert(sizeof(struct slab) <= HEADER, "slab header too big");

static const unsigned class_size[] = {16,  32,  48,  64,  80,  96,  112, 128,
                                      192, 256, 384, 512, 672, 1008, 2016};
#define NCLASS (sizeof class_size / sizeof class_size[0])
#define SMALL_MAX 2016

static struct slab *partial[NCLASS];

#if defined(CHECKER_BUG_PLAIN_LOCK)
/* The bug: test and set as two plain accesses; two threads can both see 0. */
static volatile int lock;
static void lock_all(void)
{
    while (lock != 0)
        ;
    lock = 1;
}
static void unlock_all(void)
{
    lock = 0;
}
#elif defined(CHECKER_BUG_NO_LOCK)
static void lock_all(void) {}
static void unlock_all(void) {}
#else
static spinlock_t lock; /* zero: UNLOCKED */
static void lock_all(void)
{
    spin_lock(&lock);
}
static void unlock_all(void)
{
    spin_unlock(&lock);
}
#endif

static unsigned class_of(size_t size)
{
#if defined(CHECKER_BUG_OFF_BY_8)
    if (size > 8)
        size -= 8;
#endif
    unsigned c = 0;
    while (class_size[c] < size)
        c++;
    return c;
}

static void list_remove(struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        partial[s->cls] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void list_push(struct slab *s)
{
    s->prev = NULL;
    s->next = partial[s->cls];
    if (s->next)
        s->next->prev = s;
    partial[s->cls] = s;
}

static unsigned capacity(unsigned cls)
{
    return (PAGE - HEADER) / class_size[cls];
}

/* A fresh slab of class `cls` with every block free, on the partial list. */
static struct slab *slab_new(unsigned cls)
{
    struct slab *s = vmalloc(NULL, PAGE);
    if (s == NULL)
        return NULL;
    s->cls = cls;
    s->free = NULL;
    s->free_count = capacity(cls);
    for (unsigned i = s->free_count; i-- > 0;) {
        struct block *b = (struct block *)((char *)s + HEADER + (size_t)i * class_size[cls]);
        b->next = s->free;
        s->free = b;
    }
    list_push(s);
    return s;
}

static void *large_malloc(size_t size)
{
    size_t min = PAGE;
#if defined(CHECKER_BUG_WASTE_64K)
    min = 65536;
#endif
    if (size > ((size_t)1 << 46))
        return NULL;
    size_t length = (size + HEADER + PAGE - 1) & ~(size_t)(PAGE - 1);
    if (length < min)
        length = min;
    struct slab *s = vmalloc(NULL, length);
    if (s == NULL)
        return NULL;
    s->cls = LARGE;
    s->length = length;
    return (char *)s + HEADER;
}

static void *slab_malloc(size_t size)
{
#if !defined(CHECKER_BUG_WASTE_64K)
    if (size > SMALL_MAX)
#endif
        return large_malloc(size);
    unsigned cls = class_of(size);
    lock_all();
    struct slab *s = partial[cls] ? partial[cls] : slab_new(cls);
    struct block *b = NULL;
    if (s != NULL) {
        b = s->free;
        s->free = b->next;
        if (--s->free_count == 0)
            list_remove(s);
    }
    unlock_all();
    return b;
}

static void slab_free(void *p)
{
    if (p == NULL)
        return;
    struct slab *s = (struct slab *)((uintptr_t)p & ~(uintptr_t)(PAGE - 1));
    if (s->cls == LARGE) {
        vmfree(s, s->length);
        return;
    }
    lock_all();
#if defined(CHECKER_BUG_LOST_BLOCK)
    static unsigned frees;
    if (++frees % 8 == 0) {
        unlock_all();
        return;
    }
#endif
    struct block *b = p;
    b->next = s->free;
    s->free = b;
    if (++s->free_count == 1)
        list_push(s);
    if (s->free_count == capacity(s->cls)) {
        list_remove(s);
        vmfree(s, PAGE);
    }
    unlock_all();
}

#if !defined(CHECKER_CUSTOM_API)
void *mymalloc(size_t size)
{
    return slab_malloc(size);
}

void myfree(void *ptr)
{
    slab_free(ptr);
}
#endif
