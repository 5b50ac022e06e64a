/*
 * table.h: the table of protected blocks: handles, slots, their metadata
 * and their locks.
 *
 * A handle is not a pointer: it encodes a slot number and the slot's
 * generation under the tag byte 0xec (a non-canonical address, so that a
 * handle dereferenced by mistake faults). A call finds the slot from the
 * number and accepts the handle only if the slot is live with that
 * generation; freeing a slot raises its generation, so stale handles are
 * refused until the 32-bit generation wraps.
 *
 * Slots live in segments of ECC_SEGMENT_SLOTS, mapped as needed. A slot's
 * metadata is four words (storage base, size, tag = generation, code and
 * state, and the next free slot), each stored three times: the three copies
 * are three planes of the segment, a TMR view (codec.h) of which every
 * metadata word is a word. The directory (the segment addresses, the head
 * of the free-slot list, the count of slots ever used) is a static TMR
 * view of its own. So every word that describes a block is TMR: a read
 * votes, a repair rewrites the odd copy out, the scrub walks all of it.
 *
 * Locks and ordering:
 *   - table_lock (MM_LOCK_ECC_TABLE) guards the directory, the free-slot
 *     list, slot allocation and release, and the scrub cursor; the scrub
 *     holds it while it touches a block's storage, so a block is never
 *     unmapped under it.
 *   - each slot has a sequence counter (seq, not in the published planes):
 *     odd while a writer holds it. Writers (ecc_write, repairs, alloc and
 *     free of the slot) take it with a compare-and-swap from even to odd
 *     (acquire, then a release fence so that no store of the write is seen
 *     before the counter is odd) and release it at +1 (release). Readers
 *     take no lock: they read the counter (acquire), the metadata and the
 *     data, an acquire fence, the counter again, and retry if it moved or
 *     was odd; only a stable read is acted on. Order: table_lock, then a
 *     slot's seq; never two slots' at once.
 *   - the directory's words change only under table_lock, before any handle
 *     that needs them is returned; readers read them with relaxed atomics
 *     and rely on the handle having reached them after its ecc_alloc. A
 *     dirty directory word is repaired under table_lock: lock-free callers
 *     take it (ecc_slot_find), callers that hold it repair in place
 *     (ecc_slot_find_locked).
 */
#ifndef MM_ECC_TABLE_H
#define MM_ECC_TABLE_H

#include "ecc/codec.h"
#include "mymalloc/ecc.h"
#include "platform/lock.h"

#define ECC_SEGMENT_SHIFT 10
#define ECC_SEGMENT_SLOTS ((size_t)1 << ECC_SEGMENT_SHIFT)
#define ECC_MAX_SEGMENTS 1024
#define ECC_MAX_SLOTS (ECC_SEGMENT_SLOTS * ECC_MAX_SEGMENTS)

/* Directory words: the free-list head, the slots used, the segments. */
enum { ECC_DIRECTORY_FREE_HEAD, ECC_DIRECTORY_SLOTS_USED, ECC_DIRECTORY_SEGMENT0,
       ECC_DIRECTORY_WORDS = ECC_DIRECTORY_SEGMENT0 + ECC_MAX_SEGMENTS };

enum ecc_meta_field { ECC_META_BASE, ECC_META_SIZE, ECC_META_TAG, ECC_META_NEXT, ECC_META_WORDS };
enum ecc_slot_state { ECC_SLOT_UNUSED = 0, ECC_SLOT_FREE = 1, ECC_SLOT_LIVE = 2 };

struct ecc_segment {
    uint64_t meta[3][ECC_SEGMENT_SLOTS * ECC_META_WORDS]; /* TMR planes, published */
    _Atomic uint64_t seq[ECC_SEGMENT_SLOTS];              /* not published */
};

struct ecc_slot {
    struct ecc_segment *segment;
    uint32_t number; /* in the whole table */
    uint32_t index;  /* in the segment */
};

/* A slot's metadata, decoded. */
struct ecc_meta {
    uint64_t base, size, tag, next;
};

static inline uint64_t ecc_tag(uint32_t generation, unsigned code, enum ecc_slot_state state)
{
    return (uint64_t)generation << 32 | (uint64_t)code << 8 | (uint64_t)state;
}
static inline uint32_t ecc_tag_generation(uint64_t tag) { return (uint32_t)(tag >> 32); }
static inline unsigned ecc_tag_code(uint64_t tag) { return (unsigned)(tag >> 8 & 0xff); }
static inline unsigned ecc_tag_state(uint64_t tag) { return (unsigned)(tag & 0xff); }

#define ECC_HANDLE_TAG 0xecULL

static inline ecc_t ecc_handle(uint32_t number, uint32_t generation)
{
    return (ecc_t)(uintptr_t)(ECC_HANDLE_TAG << 56 | (uint64_t)generation << 24 | number);
}

/* The slot number and generation a handle names, if it is one. */
static inline bool ecc_handle_decode(ecc_t block, uint32_t *number, uint32_t *generation)
{
    uint64_t bits = (uint64_t)(uintptr_t)block;
    *number = (uint32_t)(bits & 0xffffff);
    *generation = (uint32_t)(bits >> 24);
    return bits >> 56 == ECC_HANDLE_TAG && *number < ECC_MAX_SLOTS;
}

/* The TMR view of a segment's metadata planes, and a slot's first word. */
static inline struct ecc_view ecc_meta_view(struct ecc_segment *segment)
{
    return (struct ecc_view){.data = segment->meta[0],
                             .check = NULL,
                             .words = ECC_SEGMENT_SLOTS * ECC_META_WORDS,
                             .code = ECC_CODE_TMR};
}

/* ---- slot locks (the sequence counter) ----------------------------------- */

ECC_INLINE uint64_t ecc_seq_begin(const struct ecc_slot *slot)
{
    _Atomic uint64_t *seq = &slot->segment->seq[slot->index];
    unsigned spins = 0;
    for (;;) {
        uint64_t value = atomic_load_explicit(seq, memory_order_acquire);
        if ((value & 1) == 0)
            return value;
        if (++spins < MM_SPINS_BEFORE_YIELD) {
            mm_prim_relax();
        } else {
            spins = 0;
            mm_prim_yield();
        }
    }
}

/* Whether what was read since ecc_seq_begin may be torn. ThreadSanitizer
 * does not model fences: its builds read the counter with an RMW instead,
 * which orders the same way (and costs a write). */
ECC_INLINE bool ecc_seq_retry(const struct ecc_slot *slot, uint64_t begun)
{
#if defined(__SANITIZE_THREAD__)
    return atomic_fetch_add_explicit(&slot->segment->seq[slot->index], 0, memory_order_acq_rel) !=
           begun;
#else
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&slot->segment->seq[slot->index], memory_order_relaxed) != begun;
#endif
}

void ecc_slot_lock(const struct ecc_slot *slot);
void ecc_slot_unlock(const struct ecc_slot *slot);

/* ---- slots ---------------------------------------------------------------- */

/* The directory's three copies (table.c): published, scrubbed, voted. */
extern uint64_t ecc_directory[3][ECC_DIRECTORY_WORDS];

/* A TMR word, lock-free: its copies `stride` words apart agree. */
ECC_INLINE bool ecc_tmr_load(const uint64_t *copy0, size_t stride, uint64_t *value)
{
    uint64_t a = ecc_load(copy0);
    *value = a;
    return a == ecc_load(copy0 + stride) && a == ecc_load(copy0 + 2 * stride);
}

/* The segment's address voted under table_lock (the copies disagreed). */
uint64_t ecc_directory_repair(size_t word);

/* The slot of a slot number, if its segment exists, with table_lock held
 * (a dirty directory word is repaired in place). */
bool ecc_slot_find_locked(uint32_t number, struct ecc_slot *slot);

/* The slot of a slot number, if its segment exists (lock-free; never with
 * table_lock held: a dirty directory word is repaired under it). */
ECC_INLINE bool ecc_slot_find(uint32_t number, struct ecc_slot *slot)
{
    size_t word = ECC_DIRECTORY_SEGMENT0 + (number >> ECC_SEGMENT_SHIFT);
    uint64_t address;
    if (MM_UNLIKELY(!ecc_tmr_load(&ecc_directory[0][word], ECC_DIRECTORY_WORDS, &address)))
        address = ecc_directory_repair(word);
    slot->segment = (struct ecc_segment *)(uintptr_t)address;
    slot->number = number;
    slot->index = number & (ECC_SEGMENT_SLOTS - 1);
    return slot->segment != NULL;
}

/* The metadata read lock-free (inside an ecc_seq_begin/retry window):
 * false if the copies of some word disagree. Only base, size and tag. */
ECC_INLINE bool ecc_meta_read(const struct ecc_slot *slot, struct ecc_meta *meta)
{
    const uint64_t *first = &slot->segment->meta[0][(size_t)slot->index * ECC_META_WORDS];
    const size_t stride = ECC_SEGMENT_SLOTS * ECC_META_WORDS;
    bool clean = ecc_tmr_load(first + ECC_META_BASE, stride, &meta->base);
    clean &= ecc_tmr_load(first + ECC_META_SIZE, stride, &meta->size);
    clean &= ecc_tmr_load(first + ECC_META_TAG, stride, &meta->tag);
    return clean;
}

/* The metadata voted and repaired (slot locked): the words repaired, each
 * reported. */
unsigned ecc_meta_repair(const struct ecc_slot *slot, struct ecc_meta *meta);
/* New metadata (slot locked). */
void ecc_meta_write(const struct ecc_slot *slot, const struct ecc_meta *meta);

/* With table_lock held: a slot for a new block (its metadata repaired in
 * *meta: the generation to use), or false when the table is full or a
 * segment cannot be mapped. */
bool ecc_table_take_slot(struct ecc_slot *slot, struct ecc_meta *meta);
/* With table_lock held: the slot goes on the free list (metadata written). */
void ecc_table_give_slot(const struct ecc_slot *slot, uint32_t generation);
/* With table_lock held: slots ever used (the bound of every walk). */
uint32_t ecc_table_slots_used(void);

extern mm_lock ecc_table_lock;

/* ---- the directory, and walks ---------------------------------------------- */

struct ecc_view ecc_directory_view(void);
/* Scrubs directory words [first, first + count) (table_lock held). */
size_t ecc_directory_scrub(size_t first, size_t count);
/* Scrubs metadata words [first, first + count) of a segment (table_lock
 * held): lock-free check, then each odd word repaired under its slot's lock. */
size_t ecc_meta_scrub(size_t k, size_t first, size_t count);
/* Segment k, or NULL (table_lock held, or for a slot known to exist). */
struct ecc_segment *ecc_table_segment(size_t k);

/* ---- a block's storage -------------------------------------------------------- */

static inline size_t ecc_words_of(uint64_t size)
{
    return (size_t)((size + 7) / 8);
}

static inline size_t ecc_mapped_bytes(size_t storage)
{
    return (storage + MM_PAGE_SIZE - 1) & ~(MM_PAGE_SIZE - 1);
}

/* The storage of a LIVE slot's block. */
static inline struct ecc_view ecc_block_view(const struct ecc_meta *meta)
{
    size_t words = ecc_words_of(meta->size);
    uint64_t *data = (uint64_t *)(uintptr_t)meta->base;
    return (struct ecc_view){.data = data,
                             .check = (uint8_t *)(data + words),
                             .words = words,
                             .code = (unsigned char)ecc_tag_code(meta->tag)};
}

/* ---- errors and figures (block.c) ------------------------------------------------ */

/* Counts an error and tells the handler. */
void ecc_report(ecc_t block, size_t offset, bool corrected);

/* Storage bytes the scrub checked; storage bytes of live blocks (relaxed
 * counters). */
extern _Atomic unsigned long long ecc_scrubbed_bytes, ecc_live_storage_bytes;

/* ---- walks (scrub.c) ----------------------------------------------------------- */

/* One area of protected storage: its range, its words (view) and whose it
 * is (block: the handle, NULL for the table's metadata). */
struct ecc_area {
    void *base;
    size_t length;
    struct ecc_view view;
    bool metadata;
    ecc_t block;
};

/* Calls fn for every area (table_lock taken inside; fn must not call ecc_*
 * functions); 0 or the first non-zero value fn returned. */
int ecc_walk_areas(int (*fn)(const struct ecc_area *area, void *arg), void *arg);

#endif /* MM_ECC_TABLE_H */
