/*
 * table.c: the slots of protected blocks and the directory that finds them
 * (table.h has the layout, the locks and the ordering).
 *
 * Invariants (table_lock held to change them):
 *   - slots [0, slots used) are FREE or LIVE; the rest are UNUSED (zero);
 *   - the free list, through each FREE slot's next word (number + 1, 0 at
 *     the end), holds exactly the FREE slots;
 *   - the segment of every slot below slots used is mapped and in the
 *     directory, which never loses a segment (they are not unmapped).
 */
#include "ecc/table.h"

#include "platform/memops.h"

uint64_t ecc_directory[3][ECC_DIRECTORY_WORDS];

mm_lock ecc_table_lock = MM_LOCK_INITIALIZER(MM_LOCK_ECC_TABLE);

struct ecc_view ecc_directory_view(void)
{
    return (struct ecc_view){
        .data = ecc_directory[0], .check = NULL, .words = ECC_DIRECTORY_WORDS, .code = ECC_CODE_TMR};
}

/* A directory word voted and repaired (table_lock held). */
static uint64_t directory_read(size_t word)
{
    struct ecc_view view = ecc_directory_view();
    uint64_t value;
    if (ecc_word_repair(&view, word, &value) == ECC_WORD_CORRECTED)
        ecc_report(NULL, (size_t)-1, true);
    return value;
}

static void directory_write(size_t word, uint64_t value)
{
    struct ecc_view view = ecc_directory_view();
    ecc_word_store(&view, word, value);
}

size_t ecc_directory_scrub(size_t first, size_t count)
{
    struct ecc_view view = ecc_directory_view();
    if (ecc_verify(&view, first, count) == 0)
        return 0;
    size_t repaired = 0;
    for (size_t word = first; word < first + count; word++) {
        uint64_t value;
        if (!ecc_word_load(&view, word, &value)) {
            directory_read(word);
            repaired++;
        }
    }
    return repaired;
}

struct ecc_segment *ecc_table_segment(size_t k)
{
    return (struct ecc_segment *)(uintptr_t)directory_read(ECC_DIRECTORY_SEGMENT0 + k);
}

uint32_t ecc_table_slots_used(void)
{
    return (uint32_t)directory_read(ECC_DIRECTORY_SLOTS_USED);
}

bool ecc_slot_find_locked(uint32_t number, struct ecc_slot *slot)
{
    slot->segment = ecc_table_segment(number >> ECC_SEGMENT_SHIFT);
    slot->number = number;
    slot->index = number & (ECC_SEGMENT_SLOTS - 1);
    return slot->segment != NULL;
}

uint64_t ecc_directory_repair(size_t word)
{
    mm_lock_acquire(&ecc_table_lock);
    uint64_t value = directory_read(word);
    mm_lock_release(&ecc_table_lock);
    return value;
}

/* ---- slot locks ------------------------------------------------------------ */

void ecc_slot_lock(const struct ecc_slot *slot)
{
    _Atomic uint64_t *seq = &slot->segment->seq[slot->index];
    unsigned spins = 0;
    for (;;) {
        uint64_t value = atomic_load_explicit(seq, memory_order_relaxed);
        if ((value & 1) == 0 &&
            atomic_compare_exchange_weak_explicit(seq, &value, value + 1, memory_order_acquire,
                                                  memory_order_relaxed))
            break;
        if (++spins < MM_SPINS_BEFORE_YIELD) {
            mm_prim_relax();
        } else {
            spins = 0;
            mm_prim_yield();
        }
    }
    /* No store of the writer may be seen before the counter is odd (the
     * compare-and-swap orders it where ThreadSanitizer cannot see fences). */
#if !defined(__SANITIZE_THREAD__)
    atomic_thread_fence(memory_order_release);
#endif
}

void ecc_slot_unlock(const struct ecc_slot *slot)
{
    _Atomic uint64_t *seq = &slot->segment->seq[slot->index];
    MM_ASSERT((atomic_load_explicit(seq, memory_order_relaxed) & 1) == 1);
    atomic_fetch_add_explicit(seq, 1, memory_order_release);
}

/* ---- metadata ---------------------------------------------------------------- */

unsigned ecc_meta_repair(const struct ecc_slot *slot, struct ecc_meta *meta)
{
    struct ecc_view view = ecc_meta_view(slot->segment);
    size_t first = (size_t)slot->index * ECC_META_WORDS;
    uint64_t *fields[ECC_META_WORDS] = {&meta->base, &meta->size, &meta->tag, &meta->next};
    unsigned repaired = 0;
    for (unsigned field = 0; field < ECC_META_WORDS; field++)
        repaired += ecc_word_repair(&view, first + field, fields[field]) == ECC_WORD_CORRECTED;
    ecc_t owner = ecc_tag_state(meta->tag) == ECC_SLOT_LIVE
                      ? ecc_handle(slot->number, ecc_tag_generation(meta->tag))
                      : NULL;
    for (unsigned i = 0; i < repaired; i++)
        ecc_report(owner, (size_t)-1, true);
    return repaired;
}

void ecc_meta_write(const struct ecc_slot *slot, const struct ecc_meta *meta)
{
    struct ecc_view view = ecc_meta_view(slot->segment);
    size_t first = (size_t)slot->index * ECC_META_WORDS;
    ecc_word_store(&view, first + ECC_META_BASE, meta->base);
    ecc_word_store(&view, first + ECC_META_SIZE, meta->size);
    ecc_word_store(&view, first + ECC_META_TAG, meta->tag);
    ecc_word_store(&view, first + ECC_META_NEXT, meta->next);
}

size_t ecc_meta_scrub(size_t k, size_t first, size_t count)
{
    struct ecc_segment *segment = ecc_table_segment(k);
    struct ecc_view view = ecc_meta_view(segment);
    if (ecc_verify(&view, first, count) == 0)
        return 0;
    size_t repaired = 0;
    for (size_t word = first; word < first + count; word++) {
        uint64_t value;
        if (ecc_word_load(&view, word, &value))
            continue;
        struct ecc_slot slot;
        ecc_slot_find_locked((uint32_t)((k << ECC_SEGMENT_SHIFT) + word / ECC_META_WORDS), &slot);
        struct ecc_meta meta;
        ecc_slot_lock(&slot);
        repaired += ecc_meta_repair(&slot, &meta);
        ecc_slot_unlock(&slot);
    }
    return repaired;
}

/* ---- slot allocation ----------------------------------------------------------- */

/* A fresh segment (zero: every slot UNUSED), or NULL. */
static struct ecc_segment *map_segment(void)
{
    size_t bytes = (sizeof(struct ecc_segment) + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
    struct ecc_segment *segment = mm_prim_map(bytes);
    if (segment != NULL && !mm_prim_maps_zeroed())
        mm_zero(segment, bytes);
    return segment;
}

bool ecc_table_take_slot(struct ecc_slot *slot, struct ecc_meta *meta)
{
    uint64_t head = directory_read(ECC_DIRECTORY_FREE_HEAD);
    if (head != 0) {
        ecc_slot_find_locked((uint32_t)(head - 1), slot);
        ecc_slot_lock(slot);
        ecc_meta_repair(slot, meta);
        ecc_slot_unlock(slot);
        MM_ASSERT(ecc_tag_state(meta->tag) == ECC_SLOT_FREE);
        directory_write(ECC_DIRECTORY_FREE_HEAD, meta->next);
        return true;
    }
    uint64_t used = directory_read(ECC_DIRECTORY_SLOTS_USED);
    if (used >= ECC_MAX_SLOTS)
        return false;
    size_t k = (size_t)(used >> ECC_SEGMENT_SHIFT);
    if (ecc_table_segment(k) == NULL) {
        struct ecc_segment *segment = map_segment();
        if (segment == NULL)
            return false;
        directory_write(ECC_DIRECTORY_SEGMENT0 + k, (uint64_t)(uintptr_t)segment);
    }
    directory_write(ECC_DIRECTORY_SLOTS_USED, used + 1);
    ecc_slot_find_locked((uint32_t)used, slot);
    /* A slot never used is still protected storage (its segment is): a flip
     * in it is corrected and counted before the slot's first metadata goes
     * over it, as it would be by the scrub. */
    ecc_slot_lock(slot);
    ecc_meta_repair(slot, meta);
    ecc_slot_unlock(slot);
    *meta = (struct ecc_meta){.tag = ecc_tag(1, 0, ECC_SLOT_UNUSED)};
    return true;
}

void ecc_table_give_slot(const struct ecc_slot *slot, uint32_t generation)
{
    struct ecc_meta meta = {.base = 0,
                            .size = 0,
                            .tag = ecc_tag(generation, 0, ECC_SLOT_FREE),
                            .next = directory_read(ECC_DIRECTORY_FREE_HEAD)};
    ecc_slot_lock(slot);
    ecc_meta_write(slot, &meta);
    ecc_slot_unlock(slot);
    directory_write(ECC_DIRECTORY_FREE_HEAD, (uint64_t)slot->number + 1);
}
