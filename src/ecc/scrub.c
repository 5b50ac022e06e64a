/*
 * scrub.c: the scrub (a bounded, round-robin check and repair of all
 * protected storage), the hosted scrubber thread, and the walk of the
 * areas that hold protected storage (ecc_regions).
 *
 * The scrub cursor goes through the directory, then the metadata planes of
 * every segment, then the storage of every live block, and starts over.
 * Each step checks at most SCRUB_STEP_WORDS words with table_lock held, so
 * no block is freed (and unmapped) under it and alloc and free wait at most
 * one step. A step checks lock-free, inside the slot's sequence window, and
 * repairs word by word under the slot's lock only when a stable check
 * found an error (or a writer moved the counter).
 *
 * Invariant: the cursor (table_lock) names an area and a word in it; a
 * cursor past the end of its area moves to the next one.
 */
#include "ecc/table.h"

/* Words the scrub checks per step, with table_lock held (a few µs). */
#define SCRUB_STEP_WORDS 4096
/* The scrubber thread's sleep slice: how soon ecc_scrubber_stop returns. */
#define SCRUBBER_SLICE_MS 10
/* Storage bytes per word of metadata (three copies). */
#define TMR_WORD_BYTES 24

enum scrub_area { AREA_DIRECTORY, AREA_METADATA, AREA_BLOCKS };

static struct scrub_cursor {
    enum scrub_area area;
    size_t index; /* the segment (metadata) or slot (blocks) */
    size_t word;
} cursor; /* table_lock */

static size_t segments_in_use(void)
{
    return ((size_t)ecc_table_slots_used() + ECC_SEGMENT_SLOTS - 1) >> ECC_SEGMENT_SHIFT;
}

/* Bytes of one full pass (table_lock held). */
static size_t pass_bytes(void)
{
    return TMR_WORD_BYTES * (ECC_DIRECTORY_WORDS +
                             segments_in_use() * ECC_SEGMENT_SLOTS * ECC_META_WORDS) +
           (size_t)atomic_load_explicit(&ecc_live_storage_bytes, memory_order_relaxed);
}

/* The metadata of a slot, stable: table_lock keeps alloc and free away, a
 * torn or odd read is repaired under the slot's lock. */
static void stable_meta(const struct ecc_slot *slot, struct ecc_meta *meta, size_t *repaired)
{
    uint64_t begun = ecc_seq_begin(slot);
    bool clean = ecc_meta_read(slot, meta);
    if (!ecc_seq_retry(slot, begun) && clean)
        return;
    ecc_slot_lock(slot);
    *repaired += ecc_meta_repair(slot, meta);
    ecc_slot_unlock(slot);
}

/* Words [first, first + count) of a live block's storage. */
static size_t scrub_block_words(const struct ecc_slot *slot, const struct ecc_meta *meta,
                                size_t first, size_t count)
{
    struct ecc_view view = ecc_block_view(meta);
    uint64_t begun = ecc_seq_begin(slot);
    uint64_t dirty = ecc_verify(&view, first, count);
    if (dirty == 0 && !ecc_seq_retry(slot, begun))
        return 0;
    ecc_t block = ecc_handle(slot->number, ecc_tag_generation(meta->tag));
    size_t repaired = 0;
    ecc_slot_lock(slot);
    for (size_t word = first; word < first + count; word++) {
        uint64_t value;
        enum ecc_word_status status = ecc_word_repair(&view, word, &value);
        if (status != ECC_WORD_CLEAN)
            ecc_report(block, 8 * word, status == ECC_WORD_CORRECTED);
        repaired += status == ECC_WORD_CORRECTED;
    }
    ecc_slot_unlock(slot);
    return repaired;
}

static size_t step_words(size_t budget, size_t word_bytes, size_t left)
{
    size_t words = budget / word_bytes;
    if (words == 0)
        words = 1;
    if (words > SCRUB_STEP_WORDS)
        words = SCRUB_STEP_WORDS;
    return words < left ? words : left;
}

/* One step from the cursor, table_lock held: the storage bytes checked
 * (0 when the step only moved the cursor to the next area). */
static size_t scrub_step(size_t budget, size_t *repaired)
{
    switch (cursor.area) {
    case AREA_DIRECTORY: {
        size_t count = step_words(budget, TMR_WORD_BYTES, ECC_DIRECTORY_WORDS - cursor.word);
        *repaired += ecc_directory_scrub(cursor.word, count);
        cursor.word += count;
        if (cursor.word == ECC_DIRECTORY_WORDS)
            cursor = (struct scrub_cursor){.area = AREA_METADATA};
        return count * TMR_WORD_BYTES;
    }
    case AREA_METADATA: {
        const size_t words = ECC_SEGMENT_SLOTS * ECC_META_WORDS;
        if (cursor.index >= segments_in_use()) {
            cursor = (struct scrub_cursor){.area = AREA_BLOCKS};
            return 0;
        }
        size_t count = step_words(budget, TMR_WORD_BYTES, words - cursor.word);
        *repaired += ecc_meta_scrub(cursor.index, cursor.word, count);
        cursor.word += count;
        if (cursor.word == words)
            cursor = (struct scrub_cursor){.area = AREA_METADATA, .index = cursor.index + 1};
        return count * TMR_WORD_BYTES;
    }
    default: {
        size_t used = ecc_table_slots_used();
        for (; cursor.index < used; cursor.index++, cursor.word = 0) {
            struct ecc_slot slot;
            struct ecc_meta meta;
            ecc_slot_find_locked((uint32_t)cursor.index, &slot);
            stable_meta(&slot, &meta, repaired);
            size_t words = ecc_words_of(meta.size);
            if (ecc_tag_state(meta.tag) != ECC_SLOT_LIVE || cursor.word >= words)
                continue;
            size_t word_bytes = ecc_storage_bytes(1, ecc_tag_code(meta.tag));
            size_t count = step_words(budget, word_bytes, words - cursor.word);
            *repaired += scrub_block_words(&slot, &meta, cursor.word, count);
            cursor.word += count;
            return count * word_bytes;
        }
        cursor = (struct scrub_cursor){.area = AREA_DIRECTORY};
        return 0;
    }
    }
}

MM_API size_t ecc_scrub(size_t max_bytes)
{
    size_t repaired = 0, done = 0;
    mm_lock_acquire(&ecc_table_lock);
    size_t budget = pass_bytes();
    if (max_bytes < budget)
        budget = max_bytes;
    while (done < budget) {
        done += scrub_step(budget - done, &repaired);
        /* Let alloc and free in between steps. */
        mm_lock_release(&ecc_table_lock);
        mm_lock_acquire(&ecc_table_lock);
    }
    mm_lock_release(&ecc_table_lock);
    atomic_fetch_add_explicit(&ecc_scrubbed_bytes, done, memory_order_relaxed);
    return repaired;
}

/* ---- the scrubber thread ---------------------------------------------------------- */

enum scrubber_state { SCRUBBER_IDLE, SCRUBBER_RUNNING, SCRUBBER_CHANGING };

/* state: CHANGING while start or stop runs, so that they never overlap;
 * stop_requested and period: written before the thread starts (or under
 * CHANGING), read by the thread (relaxed: the start publishes them). */
static _Atomic int scrubber_state;
static _Atomic bool stop_requested;
static unsigned scrubber_period_ms;
static void *scrubber_thread;

static void scrubber_main(void *unused)
{
    (void)unused;
    while (!atomic_load_explicit(&stop_requested, memory_order_acquire)) {
        uint64_t start = mm_prim_clock_ms();
        ecc_scrub((size_t)-1);
        while (!atomic_load_explicit(&stop_requested, memory_order_acquire)) {
            uint64_t elapsed = mm_prim_clock_ms() - start;
            if (elapsed >= scrubber_period_ms)
                break;
            uint64_t left = scrubber_period_ms - elapsed;
            mm_prim_sleep_ms(left < SCRUBBER_SLICE_MS ? (unsigned)left : SCRUBBER_SLICE_MS);
        }
    }
}

MM_API int ecc_scrubber_start(unsigned period_ms)
{
    int idle = SCRUBBER_IDLE;
    if (period_ms == 0 || mm_prim_table.thread_start == NULL || !mm_prim_has_clock() ||
        !atomic_compare_exchange_strong_explicit(&scrubber_state, &idle, SCRUBBER_CHANGING,
                                                 memory_order_acquire, memory_order_relaxed)) {
        mm_prim_error(MM_ERROR_INVALID);
        return -1;
    }
    scrubber_period_ms = period_ms;
    atomic_store_explicit(&stop_requested, false, memory_order_relaxed);
    scrubber_thread = mm_prim_thread_start(scrubber_main, NULL);
    bool started = scrubber_thread != NULL;
    atomic_store_explicit(&scrubber_state, started ? SCRUBBER_RUNNING : SCRUBBER_IDLE,
                          memory_order_release);
    if (!started) {
        mm_prim_error(MM_ERROR_NO_MEMORY);
        return -1;
    }
    return 0;
}

MM_API void ecc_scrubber_stop(void)
{
    int running = SCRUBBER_RUNNING;
    if (!atomic_compare_exchange_strong_explicit(&scrubber_state, &running, SCRUBBER_CHANGING,
                                                 memory_order_acquire, memory_order_relaxed))
        return;
    atomic_store_explicit(&stop_requested, true, memory_order_release);
    mm_prim_thread_join(scrubber_thread);
    scrubber_thread = NULL;
    atomic_store_explicit(&scrubber_state, SCRUBBER_IDLE, memory_order_release);
}

/* ---- the areas of protected storage -------------------------------------------------- */

int ecc_walk_areas(int (*fn)(const struct ecc_area *area, void *arg), void *arg)
{
    size_t repaired = 0;
    int result = 0;
    mm_lock_acquire(&ecc_table_lock);
    struct ecc_view directory = ecc_directory_view();
    struct ecc_area area = {.base = directory.data,
                            .length = TMR_WORD_BYTES * directory.words,
                            .view = directory,
                            .metadata = true};
    result = fn(&area, arg);
    size_t used = ecc_table_slots_used();
    for (size_t k = 0; result == 0 && k < segments_in_use(); k++) {
        struct ecc_segment *segment = ecc_table_segment(k);
        area = (struct ecc_area){.base = segment->meta,
                                 .length = sizeof segment->meta,
                                 .view = ecc_meta_view(segment),
                                 .metadata = true};
        result = fn(&area, arg);
    }
    for (size_t number = 0; result == 0 && number < used; number++) {
        struct ecc_slot slot;
        struct ecc_meta meta;
        ecc_slot_find_locked((uint32_t)number, &slot);
        stable_meta(&slot, &meta, &repaired);
        if (ecc_tag_state(meta.tag) != ECC_SLOT_LIVE || meta.size == 0)
            continue;
        struct ecc_view view = ecc_block_view(&meta);
        area = (struct ecc_area){
            .base = view.data,
            .length = ecc_storage_bytes(view.words, view.code),
            .view = view,
            .metadata = false,
            .block = ecc_handle(slot.number, ecc_tag_generation(meta.tag)),
        };
        result = fn(&area, arg);
    }
    mm_lock_release(&ecc_table_lock);
    return result;
}

struct regions_call {
    int (*fn)(void *base, size_t length, void *arg);
    void *arg;
};

static int region_of_area(const struct ecc_area *area, void *call)
{
    struct regions_call *regions = call;
    return regions->fn(area->base, area->length, regions->arg);
}

MM_API int ecc_regions(int (*fn)(void *base, size_t length, void *arg), void *arg)
{
    struct regions_call call = {fn, arg};
    return ecc_walk_areas(region_of_area, &call);
}
