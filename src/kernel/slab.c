/*
 * slab.c: a CPU's slabs of the small classes and its inbox (see slab.h).
 *
 * A slab is one SLAB page of blocks of 16 << c bytes (c its size_class),
 * owned by the CPU at descriptor `cpu`, for as long as the page is a slab.
 * Locks: everything here but mmk_inbox_push runs under the owner's lock (a
 * page going to or coming from the page cache may take the buddy lock
 * inside it); mmk_inbox_push takes none.
 * Invariants (under the owner's lock):
 *   - used counts the slab's blocks handed out and not yet freed: blocks on
 *     an inbox count as out; the others are on `free` or at or past
 *     `carved`;
 *   - of each class, the CPU's current slab (current[c], else the sentinel,
 *     whose free list is empty and whose page is all cut) is on no list;
 *   - every other slab of the CPU has 0 < used < capacity and is on
 *     partial[c], or used == capacity (full) and is on no list; a slab
 *     whose used falls to 0 stops being a slab and goes to the page cache.
 *
 * Remote frees. A block freed on a CPU that is not its slab's owner goes on
 * the owner's inbox, a list of blocks linked through their first word whose
 * head is one atomic pointer: any CPU pushes with a compare-and-swap
 * (release, so that the link it wrote into the block is seen by the taker);
 * the owner, under its lock, takes the whole list with an exchange
 * (acquire) onto `taken` and frees from there a few blocks per call (all of
 * them on the out-of-memory path). A push links only to the head it saw and
 * an exchange takes everything, so there is no ABA hazard.
 *
 * kfree reads a slab's `cpu` and `size_class` without a lock. Plain reads
 * suffice: the owner wrote them when it made the slab, before it handed out
 * the block being freed (the caller's own hand-over of the block orders that
 * write before the read), and writes them again only when the page is made
 * a slab anew, after every block of the slab has come back through its
 * lock or its inbox (which orders the read before that write).
 */
#include "kernel/slab.h"
#include "kernel/page_cache.h"

static inline uint32_t class_capacity(unsigned c)
{
    return (uint32_t)(MM_PAGE_SIZE >> (c + MMK_CLASS_SHIFT));
}

/* A block from slab `index` (the sentinel has none), or NULL. */
static void *slab_pop(struct mmk_heap *heap, uint32_t index, unsigned c)
{
    struct mmk_page *slab = mmk_page(heap, index);
    mmk_block *block = slab->free;
    if (block != NULL) {
        slab->free = block->next;
    } else if (slab->carved < MM_PAGE_SIZE) {
        block = (mmk_block *)(mmk_page_address(heap, index) + slab->carved);
        slab->carved = (uint16_t)(slab->carved + mmk_class_bytes(c));
    } else {
        return NULL;
    }
    slab->used++;
    return block;
}

/* The current slab of class c is exhausted: the first partial slab becomes
 * current, else a new one from the page cache. The old one is full and
 * stays on no list. */
static void *slab_alloc_next(struct mmk_heap *heap, struct mmk_cpu *cpu, unsigned c)
{
    uint32_t index = cpu->partial[c].head;
    if (index != MMK_NIL) {
        mmk_list_unlink(heap, &cpu->partial[c], index);
    } else {
        index = mmk_cache_take(heap, cpu);
        if (index == MMK_NIL)
            return NULL;
        struct mmk_page *slab = mmk_page(heap, index);
        slab->size_class = (uint8_t)c;
        slab->cpu = (uint8_t)(cpu - heap->cpus);
        slab->used = 0;
        slab->carved = 0;
        slab->free = NULL;
        mmk_set_kind(slab, MMK_SLAB);
    }
    cpu->current[c] = index;
    return slab_pop(heap, index, c);
}

void *mmk_slab_alloc(struct mmk_heap *heap, struct mmk_cpu *cpu, unsigned c)
{
    void *block = slab_pop(heap, cpu->current[c], c);
    if (MM_LIKELY(block != NULL))
        return block;
    return slab_alloc_next(heap, cpu, c);
}

void mmk_slab_free(struct mmk_heap *heap, struct mmk_cpu *cpu, uint32_t index, mmk_block *block)
{
    struct mmk_page *slab = mmk_page(heap, index);
    unsigned c = slab->size_class;
    bool was_full = slab->used == class_capacity(c);
    block->next = slab->free;
    slab->free = block;
    slab->used--;
    if (index == cpu->current[c])
        return;
    if (slab->used == 0) {
        /* A capacity is at least 2, so a slab emptied by one free was not
         * full: it is on the partial list. */
        mmk_list_unlink(heap, &cpu->partial[c], index);
        mmk_cache_put(heap, cpu, index);
    } else if (was_full) {
        mmk_list_push(heap, &cpu->partial[c], index);
    }
}

void mmk_inbox_push(struct mmk_cpu *owner, mmk_block *block)
{
    /* Relaxed load: the compare-and-swap checks the head; release on
     * success publishes block->next to the exchange that takes the list. */
    mmk_block *head = atomic_load_explicit(&owner->inbox, memory_order_relaxed);
    do {
        block->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&owner->inbox, &head, block,
                                                    memory_order_release, memory_order_relaxed));
}

void mmk_inbox_collect(struct mmk_heap *heap, struct mmk_cpu *cpu, size_t limit)
{
    for (; limit > 0; limit--) {
        mmk_block *block = cpu->taken;
        if (block == NULL) {
            /* Acquire: pairs with the pushes' release, so the links read
             * below are the ones they wrote. */
            block = atomic_exchange_explicit(&cpu->inbox, NULL, memory_order_acquire);
            if (block == NULL)
                return;
        }
        cpu->taken = block->next;
        mmk_slab_free(heap, cpu, mmk_page_index(heap, block), block);
    }
}

void mmk_slab_release_empty(struct mmk_heap *heap, struct mmk_cpu *cpu)
{
    for (unsigned c = 0; c < MMK_CLASSES; c++) {
        uint32_t index = cpu->current[c];
        if (index != mmk_no_slab(heap) && mmk_page(heap, index)->used == 0) {
            cpu->current[c] = mmk_no_slab(heap);
            mmk_cache_put(heap, cpu, index);
        }
    }
}

void *mmk_slab_steal(struct mmk_heap *heap, struct mmk_cpu *victim, unsigned c)
{
    void *block = slab_pop(heap, victim->current[c], c);
    uint32_t index = victim->partial[c].head;
    if (block != NULL || index == MMK_NIL)
        return block;
    block = slab_pop(heap, index, c);
    if (mmk_page(heap, index)->used == class_capacity(c))
        mmk_list_unlink(heap, &victim->partial[c], index);
    return block;
}
