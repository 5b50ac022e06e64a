/*
 * kalloc.c: the entry points kalloc_init, kalloc and kfree, and the
 * out-of-memory path that gathers what the CPUs hold (kalloc.h is the
 * contract; layout.h the structures and their invariants; platform/lock.h
 * the lock order).
 *
 * Where a call goes:
 *   kalloc(1 .. 2048)        its CPU's lock: the CPU's slabs (slab.c)
 *   kalloc(2049 .. 4096)     its CPU's lock: the CPU's page cache
 *   kalloc(more)             the buddy lock (buddy.c)
 *   kfree(small block)       its CPU's lock if the CPU owns the block's slab,
 *                            else a push on the owner's inbox, no lock
 *   kfree(page)              its CPU's lock: the CPU's page cache
 *   kfree(larger block)      the buddy lock
 * A call that takes its CPU's lock first frees up to MMK_INBOX_BATCH blocks
 * that other CPUs left on the CPU's inbox.
 *
 * Out of memory: a kalloc that finds nothing on its CPU takes a block or a
 * page from another CPU, else has every CPU give its cached pages back to
 * the buddy allocator, where they merge, and tries again (the section "Out
 * of memory" below). KALLOC_BUDDY_ONLY builds the plain buddy allocator the
 * tests compare with.
 *
 * Static data: the one pointer below.
 */
#include "mymalloc/kalloc.h"
#include "kernel/buddy.h"
#include "kernel/locking.h"
#include "kernel/page_cache.h"
#include "kernel/slab.h"

/* KALLOC_BUDDY_ONLY builds a plain buddy allocator under its one lock, for
 * the tests to compare with: every request is rounded up to whole pages and
 * goes to the buddy lists; no CPU caches anything. */
#if defined(KALLOC_BUDDY_ONLY)
#define MMK_CPU_CACHES 0
#else
#define MMK_CPU_CACHES 1
#endif

/* Set by kalloc_init, which runs before any other call on any CPU: the
 * kernel's own start-up of the other CPUs orders it before their reads. */
static struct mmk_heap *the_heap;

/* Page indices are 32-bit, with MMK_NIL and the sentinel kept apart. */
#define MMK_MAX_PAGES ((size_t)1 << 31)

static uintptr_t align_up(uintptr_t n, uintptr_t alignment)
{
    return (n + alignment - 1) & ~(alignment - 1);
}

void kalloc_init(void *heap_start, void *heap_end)
{
    the_heap = NULL;
    uintptr_t start = align_up((uintptr_t)heap_start, MM_PAGE_SIZE);
    uintptr_t end = (uintptr_t)heap_end & ~(uintptr_t)(MM_PAGE_SIZE - 1);
    /* A start in the last page of the address space rounds up to 0. */
    if (end <= start || start < (uintptr_t)heap_start)
        return;
    size_t npages = (end - start) >> MM_PAGE_SHIFT;
    if (npages > MMK_MAX_PAGES)
        npages = MMK_MAX_PAGES;
    int count = mm_prim_cpu_count();
    uint32_t ncpu = count < 1 ? 1 : count > MMK_MAX_CPUS ? MMK_MAX_CPUS : (uint32_t)count;

    /* The control block, the CPUs, the descriptors (and the sentinel). */
    size_t cpus_at = align_up(sizeof(struct mmk_heap), 64);
    size_t pages_at = cpus_at + ncpu * sizeof(struct mmk_cpu);
    size_t meta_pages = align_up(pages_at + (npages + 1) * sizeof(struct mmk_page), MM_PAGE_SIZE) >>
                        MM_PAGE_SHIFT;
    if (meta_pages >= npages)
        return;

    struct mmk_heap *heap = (struct mmk_heap *)start;
    heap->base = (char *)start;
    heap->base_pfn = start >> MM_PAGE_SHIFT;
    heap->npages = (uint32_t)npages;
    heap->bytes = npages << MM_PAGE_SHIFT;
    heap->ncpu = ncpu;
    heap->cpus = (struct mmk_cpu *)(start + cpus_at);
    heap->pages = (struct mmk_page *)(start + pages_at);

    /* Atomic stores, one per descriptor: also keeps the compiler from
     * turning the loop into a call to memset. */
    for (size_t i = 0; i <= npages; i++)
        mmk_set_kind(&heap->pages[i], MMK_INSIDE);
    struct mmk_page *no_slab = mmk_page(heap, mmk_no_slab(heap));
    no_slab->free = NULL;
    no_slab->carved = MM_PAGE_SIZE;
    no_slab->used = 0;

    for (uint32_t i = 0; i < ncpu; i++) {
        struct mmk_cpu *cpu = &heap->cpus[i];
        mm_lock_init(&cpu->lock, MM_LOCK_KERNEL_CPU);
        cpu->cached = 0;
        mmk_list_init(&cpu->cache);
        for (unsigned c = 0; c < MMK_CLASSES; c++) {
            cpu->current[c] = mmk_no_slab(heap);
            mmk_list_init(&cpu->partial[c]);
        }
        cpu->taken = NULL;
        atomic_init(&cpu->inbox, NULL);
    }

    mm_lock_init(&heap->buddy_lock, MM_LOCK_KERNEL_BUDDY);
#if defined(KALLOC_SINGLE_LOCK)
    mm_lock_init(&heap->single_lock, MM_LOCK_KERNEL_CALL);
#endif
    heap->free_orders = 0;
    for (unsigned k = 0; k < MMK_ORDERS; k++)
        mmk_list_init(&heap->free[k]);
    heap->largest = (size_t)MM_PAGE_SIZE << mmk_buddy_init(heap, (uint32_t)meta_pages, heap->npages);
    the_heap = heap;
}

/* The caller's CPU. Numbers out of range share a CPU's structures, which
 * their locks keep safe. */
static struct mmk_cpu *this_cpu(struct mmk_heap *heap)
{
    unsigned id = (unsigned)mm_prim_cpu_current();
    if (MM_UNLIKELY(id >= heap->ncpu))
        id %= heap->ncpu;
    return &heap->cpus[id];
}

/* Locks the caller's CPU and frees a few blocks from its inbox. */
static void cpu_enter(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    mmk_cpu_lock(cpu);
    if (MM_UNLIKELY(mmk_inbox_waiting(cpu)))
        mmk_inbox_collect(heap, cpu, MMK_INBOX_BATCH);
}

/* A block of 2^order pages: a single page from the CPU's page cache, more
 * from the buddy allocator. */
static uint32_t pages_take(struct mmk_heap *heap, unsigned order)
{
    uint32_t index;
    if (MMK_CPU_CACHES && order == 0) {
        struct mmk_cpu *cpu = this_cpu(heap);
        cpu_enter(heap, cpu);
        index = mmk_cache_take(heap, cpu);
        mmk_cpu_unlock(cpu);
    } else {
        mmk_buddy_lock(heap);
        index = mmk_buddy_take(heap, order);
        mmk_buddy_unlock(heap);
    }
    return index;
}

/* ---- Out of memory ------------------------------------------------------
 * A request its CPU cannot serve looks further, one CPU lock at a time,
 * each step only if the one before found nothing:
 *   1. a block of a page or less: each CPU in turn, from the caller's on,
 *      frees its inbox and gives its empty current slabs to its page cache,
 *      then hands over one free block of the class from its slabs or one
 *      cached page: any page will do, so the other cached pages stay
 *      where they are, for their CPUs' next requests;
 *   2. every CPU gives all its cached pages back to the buddy allocator,
 *      where they merge, and the request is tried again (twice for a block
 *      larger than a page, which only merging can make);
 *   3. a block of a page or less: as 1 once more, as other CPUs may have
 *      cached again the pages step 2 freed.
 * Only then is the answer NULL. */

/* "A page", for the functions below that also take a small class. */
#define MMK_PAGE_REQUEST MMK_CLASSES

/* Step 2: each CPU in turn gives back what it holds idle. O(CPUs * (blocks
 * on its inbox + MMK_CLASSES + cached pages * MMK_ORDERS)). */
static void reclaim(struct mmk_heap *heap)
{
    for (uint32_t i = 0; i < heap->ncpu; i++) {
        struct mmk_cpu *cpu = &heap->cpus[i];
        mmk_cpu_lock(cpu);
        mmk_inbox_collect(heap, cpu, SIZE_MAX);
        mmk_slab_release_empty(heap, cpu);
        mmk_cache_flush(heap, cpu);
        mmk_cpu_unlock(cpu);
    }
}

/* Steps 1 and 3, for class c or MMK_PAGE_REQUEST: a block, or NULL. A page
 * taken for a small class becomes a slab of `cpu`. O(CPUs * (blocks on its
 * inbox + MMK_CLASSES)). */
static void *from_any_cpu(struct mmk_heap *heap, struct mmk_cpu *cpu, unsigned c)
{
    uint32_t first = (uint32_t)(cpu - heap->cpus);
    for (uint32_t n = 0; n < heap->ncpu; n++) {
        struct mmk_cpu *victim = &heap->cpus[(first + n) % heap->ncpu];
        mmk_cpu_lock(victim);
        mmk_inbox_collect(heap, victim, SIZE_MAX);
        mmk_slab_release_empty(heap, victim);
        void *block = c < MMK_CLASSES ? mmk_slab_steal(heap, victim, c) : NULL;
        uint32_t page = block == NULL ? mmk_cache_steal(heap, victim) : MMK_NIL;
        mmk_cpu_unlock(victim);
        if (block != NULL)
            return block;
        if (page == MMK_NIL)
            continue;
        if (c == MMK_PAGE_REQUEST)
            return mmk_page_address(heap, page);
        /* Where the slab refill looks. Only a thread sharing this CPU's
         * structures (a folded CPU number) can take it first. */
        mmk_cpu_lock(cpu);
        mmk_cache_put(heap, cpu, page);
        block = mmk_slab_alloc(heap, cpu, c);
        mmk_cpu_unlock(cpu);
        if (block != NULL)
            return block;
    }
    return NULL;
}

/* Steps 1 to 3 for class c or MMK_PAGE_REQUEST. */
static void *short_of_small(struct mmk_heap *heap, struct mmk_cpu *cpu, unsigned c)
{
    void *block = from_any_cpu(heap, cpu, c);
    if (block != NULL)
        return block;
    reclaim(heap);
    if (c == MMK_PAGE_REQUEST) {
        uint32_t index = pages_take(heap, 0);
        block = index == MMK_NIL ? NULL : mmk_page_address(heap, index);
    } else {
        mmk_cpu_lock(cpu);
        block = mmk_slab_alloc(heap, cpu, c);
        mmk_cpu_unlock(cpu);
    }
    return block != NULL ? block : from_any_cpu(heap, cpu, c);
}

/* Step 2 for a block of 2^order pages, order >= 1. */
static uint32_t short_of_block(struct mmk_heap *heap, unsigned order)
{
    uint32_t index = MMK_NIL;
    /* A CPU that refills at that very moment can still make both fail. */
    for (unsigned round = 0; index == MMK_NIL && round < 2; round++) {
        reclaim(heap);
        index = pages_take(heap, order);
    }
    return index;
}

static void *small_alloc(struct mmk_heap *heap, unsigned c)
{
    struct mmk_cpu *cpu = this_cpu(heap);
    cpu_enter(heap, cpu);
    void *block = mmk_slab_alloc(heap, cpu, c);
    mmk_cpu_unlock(cpu);
    if (MM_LIKELY(block != NULL))
        return block;
    return short_of_small(heap, cpu, c);
}

static void *pages_alloc(struct mmk_heap *heap, unsigned order)
{
    uint32_t index = pages_take(heap, order);
    if (MM_LIKELY(index != MMK_NIL))
        return mmk_page_address(heap, index);
    if (!MMK_CPU_CACHES)
        return NULL;
    if (order == 0)
        return short_of_small(heap, this_cpu(heap), MMK_PAGE_REQUEST);
    index = short_of_block(heap, order);
    return index == MMK_NIL ? NULL : mmk_page_address(heap, index);
}

void *kalloc(size_t size)
{
    struct mmk_heap *heap = the_heap;
    /* Size 0 wraps around to the largest size_t. */
    if (heap == NULL || size - 1 >= heap->largest)
        return NULL;
    unsigned long irq = mmk_call_begin(heap);
    void *block;
    if (MMK_CPU_CACHES && size <= MMK_SMALL_MAX) {
        block = small_alloc(heap, mmk_size_class(size));
    } else {
        size_t pages = (size + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
        unsigned order = pages == 1 ? 0 : 64u - (unsigned)__builtin_clzll((unsigned long long)pages - 1);
        block = pages_alloc(heap, order);
    }
    mmk_call_end(heap, irq);
    return block;
}

static void small_free(struct mmk_heap *heap, uint32_t index, struct mmk_page *slab, void *ptr)
{
    /* The slab cannot change while one of its blocks is out (slab.c). */
    if (((uintptr_t)ptr & (mmk_class_bytes(slab->size_class) - 1)) != 0)
        return;
    struct mmk_cpu *owner = &heap->cpus[slab->cpu];
    struct mmk_cpu *cpu = this_cpu(heap);
    if (owner != cpu) {
        mmk_inbox_push(owner, ptr);
        return;
    }
    cpu_enter(heap, cpu);
    mmk_slab_free(heap, cpu, index, ptr);
    mmk_cpu_unlock(cpu);
}

static void pages_free(struct mmk_heap *heap, uint32_t index, unsigned order)
{
    if (MMK_CPU_CACHES && order == 0) {
        struct mmk_cpu *cpu = this_cpu(heap);
        cpu_enter(heap, cpu);
        mmk_cache_put(heap, cpu, index);
        mmk_cpu_unlock(cpu);
    } else {
        mmk_buddy_lock(heap);
        mmk_buddy_give(heap, index, order);
        mmk_buddy_unlock(heap);
    }
}

void kfree(void *ptr)
{
    struct mmk_heap *heap = the_heap;
    if (ptr == NULL || heap == NULL)
        return;
    /* Below the region, the difference wraps to a huge offset. */
    uintptr_t offset = (uintptr_t)ptr - (uintptr_t)heap->base;
    if (offset >= heap->bytes)
        return;
    uint32_t index = (uint32_t)(offset >> MM_PAGE_SHIFT);
    struct mmk_page *page = mmk_page(heap, index);
    unsigned long irq = mmk_call_begin(heap);
    switch (mmk_kind(page)) {
    case MMK_SLAB:
        small_free(heap, index, page, ptr);
        break;
    case MMK_BLOCK:
        /* The block's order, like its kind, is fixed while it is out. */
        if ((offset & (MM_PAGE_SIZE - 1)) == 0)
            pages_free(heap, index, page->order);
        break;
    default: /* no live block starts here: ignored */
        break;
    }
    mmk_call_end(heap, irq);
}
