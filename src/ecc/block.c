/*
 * block.c: protected blocks, the public calls of mymalloc/ecc.h: alloc and
 * free, read and write, the scrub and its thread, statistics, the error
 * handler and the regions (docs/ECC.md).
 *
 * A block's storage is one mapping of its own (mm_prim_map): SECDED data
 * words then one check byte per word, or the three TMR copies back to back
 * (codec.h); its metadata is in the table (table.h). Built with
 * ECC_PROTECTION_OFF, every block is one plain copy: the baseline the
 * benchmark compares with.
 *
 * Invariants: a LIVE slot's base maps ecc_storage_bytes(words, code) bytes
 * (rounded up to pages) that hold the block's data, zero beyond its size
 * within the last word; blocks and bytes count the LIVE slots and their
 * sizes.
 *
 * Reads are lock-free under the slot's sequence counter and act only on a
 * stable read: a word that checks dirty is corrected under the slot's lock
 * after the counter confirmed it was not torn by a writer, so readers never
 * report a false error. Writes, repairs, alloc and free hold the lock.
 */
#include "ecc/table.h"

#include "platform/memops.h"

#define ECC_MAX_SIZE ((uint64_t)1 << 40)

/* Statistics and the handler: figures, never guards (relaxed). */
static _Atomic unsigned long long corrected_count, uncorrectable_count, live_blocks, live_bytes;
_Atomic unsigned long long ecc_scrubbed_bytes, ecc_live_storage_bytes;
static void (*_Atomic error_handler)(ecc_t block, size_t offset, int corrected);

void ecc_report(ecc_t block, size_t offset, bool corrected)
{
    atomic_fetch_add_explicit(corrected ? &corrected_count : &uncorrectable_count, 1,
                              memory_order_relaxed);
    void (*handler)(ecc_t, size_t, int) =
        atomic_load_explicit(&error_handler, memory_order_relaxed);
    if (handler != NULL)
        handler(block, offset, corrected);
}

MM_API void ecc_set_error_handler(void (*handler)(ecc_t block, size_t offset, int corrected))
{
    atomic_store_explicit(&error_handler, handler, memory_order_relaxed);
}

MM_API void ecc_get_stats(struct ecc_stats *stats)
{
    stats->corrected = atomic_load_explicit(&corrected_count, memory_order_relaxed);
    stats->uncorrectable = atomic_load_explicit(&uncorrectable_count, memory_order_relaxed);
    stats->scrubbed_bytes = atomic_load_explicit(&ecc_scrubbed_bytes, memory_order_relaxed);
    stats->blocks = atomic_load_explicit(&live_blocks, memory_order_relaxed);
    stats->bytes = atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

/* ---- a block's storage ------------------------------------------------------- */

/* Whether the metadata is that of the live block `generation` names and
 * [offset, offset + n) lies in it. */
static bool access_valid(const struct ecc_meta *meta, uint32_t generation, size_t offset, size_t n)
{
    return ecc_tag_state(meta->tag) == ECC_SLOT_LIVE &&
           ecc_tag_generation(meta->tag) == generation && offset <= meta->size &&
           n <= meta->size - offset;
}

/* The slot a handle names (its segment exists), and its generation. */
ECC_INLINE bool slot_of(ecc_t block, struct ecc_slot *slot, uint32_t *generation)
{
    uint32_t number;
    return ecc_handle_decode(block, &number, generation) && ecc_slot_find(number, slot);
}

__attribute__((cold)) static int fail(enum mm_error error)
{
    mm_prim_error(error);
    return -1;
}

/* Bytes [skip, skip + n) of a little-endian word to dst, and back. */
static void bytes_out(unsigned char *dst, uint64_t word, size_t skip, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (unsigned char)(word >> (8 * (skip + i)));
}

static uint64_t bytes_in(uint64_t word, size_t skip, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned shift = (unsigned)(8 * (skip + i));
        word = (word & ~((uint64_t)0xff << shift)) | (uint64_t)src[i] << shift;
    }
    return word;
}

typedef uint64_t ecc_u64_unaligned __attribute__((aligned(1), may_alias));

/* Copies [offset, offset + n) out without repairing (n > 0): nonzero if a
 * word did not check clean. */
static uint64_t copy_range(const struct ecc_view *view, size_t offset, unsigned char *dst, size_t n)
{
    size_t word = offset / 8, skip = offset % 8;
    uint64_t dirty = 0, value;
    if (skip != 0 || n < 8) {
        size_t take = n < 8 - skip ? n : 8 - skip;
        dirty |= !ecc_word_load(view, word, &value);
        bytes_out(dst, value, skip, take);
        dst += take;
        n -= take;
        word++;
    }
    size_t whole = n / 8;
    if (whole == 1) {
        dirty |= !ecc_word_load(view, word, &value);
        *(ecc_u64_unaligned *)dst = value;
    } else if (whole > 1) {
        dirty |= ecc_copy_out(view, word, dst, whole);
    }
    dst += 8 * whole;
    n -= 8 * whole;
    word += whole;
    if (n > 0) {
        dirty |= !ecc_word_load(view, word, &value);
        bytes_out(dst, value, 0, n);
    }
    return dirty;
}

/* The slow read, slot locked: every word of the range checked, corrected
 * and written back; false if one could not be. */
static bool repair_range(ecc_t block, const struct ecc_view *view, size_t offset,
                         unsigned char *dst, size_t n)
{
    bool recovered = true;
    for (size_t word = offset / 8; n > 0; word++) {
        size_t skip = word == offset / 8 ? offset % 8 : 0;
        size_t take = n < 8 - skip ? n : 8 - skip;
        uint64_t value;
        enum ecc_word_status status = ecc_word_repair(view, word, &value);
        if (status != ECC_WORD_CLEAN)
            ecc_report(block, 8 * word, status == ECC_WORD_CORRECTED);
        recovered &= status != ECC_WORD_UNCORRECTABLE;
        if (dst != NULL) {
            bytes_out(dst, value, skip, take);
            dst += take;
        }
        n -= take;
    }
    return recovered;
}

/* ---- alloc and free ------------------------------------------------------------- */

MM_API ecc_t ecc_alloc(size_t size, enum ecc_code code)
{
    if (code != ECC_SECDED && code != ECC_TMR)
        return fail(MM_ERROR_INVALID), NULL;
    if (size > ECC_MAX_SIZE)
        return fail(MM_ERROR_NO_MEMORY), NULL;
#if defined(ECC_PROTECTION_OFF)
    unsigned storage_code = ECC_CODE_PLAIN;
#else
    unsigned storage_code = code == ECC_TMR ? ECC_CODE_TMR : ECC_CODE_SECDED;
#endif
    size_t storage = ecc_storage_bytes(ecc_words_of(size), storage_code);
    void *base = NULL;
    if (storage > 0) {
        base = mm_prim_map(ecc_mapped_bytes(storage));
        if (base == NULL)
            return fail(MM_ERROR_NO_MEMORY), NULL;
        /* All zero is a clean codeword in both codes. */
        if (!mm_prim_maps_zeroed())
            mm_zero(base, storage);
    }
    struct ecc_slot slot;
    struct ecc_meta meta;
    mm_lock_acquire(&ecc_table_lock);
    if (!ecc_table_take_slot(&slot, &meta)) {
        mm_lock_release(&ecc_table_lock);
        if (base != NULL)
            mm_prim_unmap(base, ecc_mapped_bytes(storage));
        return fail(MM_ERROR_NO_MEMORY), NULL;
    }
    uint32_t generation = ecc_tag_generation(meta.tag);
    meta = (struct ecc_meta){.base = (uint64_t)(uintptr_t)base,
                             .size = size,
                             .tag = ecc_tag(generation, storage_code, ECC_SLOT_LIVE),
                             .next = 0};
    ecc_slot_lock(&slot);
    ecc_meta_write(&slot, &meta);
    ecc_slot_unlock(&slot);
    atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_bytes, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&ecc_live_storage_bytes, storage, memory_order_relaxed);
    mm_lock_release(&ecc_table_lock);
    return ecc_handle(slot.number, generation);
}

MM_API void ecc_free(ecc_t block)
{
    if (block == NULL)
        return;
    struct ecc_slot slot;
    uint32_t generation;
    struct ecc_meta meta;
    uint32_t number;
    mm_lock_acquire(&ecc_table_lock);
    bool found = ecc_handle_decode(block, &number, &generation) &&
                 number < ecc_table_slots_used() && ecc_slot_find_locked(number, &slot);
    if (found) {
        ecc_slot_lock(&slot);
        ecc_meta_repair(&slot, &meta);
        ecc_slot_unlock(&slot);
    }
    if (!found || !access_valid(&meta, generation, 0, 0)) {
        mm_lock_release(&ecc_table_lock);
        bool freed = found && (ecc_tag_state(meta.tag) == ECC_SLOT_FREE ||
                               ecc_tag_generation(meta.tag) != generation);
        mm_prim_bad_pointer(block, freed ? "double free" : "invalid pointer");
        return;
    }
    ecc_table_give_slot(&slot, generation + 1);
    size_t storage = ecc_storage_bytes(ecc_words_of(meta.size), ecc_tag_code(meta.tag));
    atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_bytes, meta.size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&ecc_live_storage_bytes, storage, memory_order_relaxed);
    mm_lock_release(&ecc_table_lock);
    /* The scrub touches storage only with table_lock held and a LIVE slot. */
    if (storage > 0)
        mm_prim_unmap((void *)(uintptr_t)meta.base, ecc_mapped_bytes(storage));
}

/* ---- read, write, size ------------------------------------------------------------ */

/* The slow read: a stable read met an error; correct it with the slot
 * locked. */
__attribute__((noinline, cold)) static int read_repairing(ecc_t block, const struct ecc_slot *slot,
                                                          uint32_t generation, size_t offset,
                                                          void *dst, size_t n)
{
    ecc_slot_lock(slot);
    struct ecc_meta meta;
    ecc_meta_repair(slot, &meta);
    bool valid = access_valid(&meta, generation, offset, n);
    bool recovered = true;
    if (valid && n > 0) {
        struct ecc_view view = ecc_block_view(&meta);
        recovered = repair_range(block, &view, offset, dst, n);
    }
    ecc_slot_unlock(slot);
    if (!valid)
        return fail(MM_ERROR_INVALID);
    return recovered ? 0 : fail(MM_ERROR_IO);
}

MM_API int ecc_read(ecc_t block, size_t offset, void *dst, size_t n)
{
    struct ecc_slot slot;
    uint32_t generation;
    if (MM_UNLIKELY(!slot_of(block, &slot, &generation) || (dst == NULL && n > 0)))
        return fail(MM_ERROR_INVALID);
    for (;;) {
        uint64_t begun = ecc_seq_begin(&slot);
        struct ecc_meta meta;
        bool meta_clean = ecc_meta_read(&slot, &meta);
        bool valid = meta_clean && access_valid(&meta, generation, offset, n);
        uint64_t dirty = 0;
        if (MM_LIKELY(valid && n > 0)) {
            struct ecc_view view = ecc_block_view(&meta);
            dirty = copy_range(&view, offset, dst, n);
        }
        if (MM_UNLIKELY(ecc_seq_retry(&slot, begun)))
            continue;
        if (MM_LIKELY(meta_clean && dirty == 0))
            return MM_LIKELY(valid) ? 0 : fail(MM_ERROR_INVALID);
        return read_repairing(block, &slot, generation, offset, dst, n);
    }
}

/* Whether a write of [offset, end) covers all bytes of word `word` that
 * lie in a block of `size` bytes. */
static bool covers_word(size_t offset, size_t end, size_t word, uint64_t size)
{
    uint64_t word_end = 8 * (uint64_t)word + 8;
    return offset <= 8 * word && end >= (word_end < size ? word_end : size);
}

MM_API int ecc_write(ecc_t block, size_t offset, const void *src, size_t n)
{
    struct ecc_slot slot;
    uint32_t generation;
    if (!slot_of(block, &slot, &generation) || (src == NULL && n > 0))
        return fail(MM_ERROR_INVALID);
    ecc_slot_lock(&slot);
    struct ecc_meta meta;
    ecc_meta_repair(&slot, &meta);
    if (!access_valid(&meta, generation, offset, n)) {
        ecc_slot_unlock(&slot);
        return fail(MM_ERROR_INVALID);
    }
    if (n == 0) {
        ecc_slot_unlock(&slot);
        return 0;
    }
    struct ecc_view view = ecc_block_view(&meta);
    size_t end = offset + n, first = offset / 8, last = (end - 1) / 8;
    /* The words written in part keep their other bytes: correct them
     * first, and write nothing if one cannot be. */
    uint64_t head = 0, tail = 0;
    bool recovered = true;
    if (!covers_word(offset, end, first, meta.size))
        recovered &= repair_range(block, &view, 8 * first, (unsigned char *)&head, 8);
    if (last != first && !covers_word(offset, end, last, meta.size))
        recovered &= repair_range(block, &view, 8 * last, (unsigned char *)&tail, 8);
    if (!recovered) {
        ecc_slot_unlock(&slot);
        return fail(MM_ERROR_IO);
    }
    const unsigned char *from = src;
    size_t word = first, skip = offset % 8;
    if (skip != 0 || n < 8) {
        size_t take = n < 8 - skip ? n : 8 - skip;
        ecc_word_store(&view, word, bytes_in(head, skip, from, take));
        from += take;
        n -= take;
        word++;
    }
    size_t whole = n / 8;
    if (whole == 1)
        ecc_word_store(&view, word, *(const ecc_u64_unaligned *)from);
    else if (whole > 1)
        ecc_store_words(&view, word, from, whole);
    from += 8 * whole;
    n -= 8 * whole;
    word += whole;
    if (n > 0)
        ecc_word_store(&view, word, bytes_in(tail, 0, from, n));
    ecc_slot_unlock(&slot);
    return 0;
}

MM_API size_t ecc_size(ecc_t block)
{
    struct ecc_slot slot;
    uint32_t generation;
    if (!slot_of(block, &slot, &generation)) {
        mm_prim_error(MM_ERROR_INVALID);
        return 0;
    }
    struct ecc_meta meta;
    for (;;) {
        uint64_t begun = ecc_seq_begin(&slot);
        bool meta_clean = ecc_meta_read(&slot, &meta);
        if (ecc_seq_retry(&slot, begun))
            continue;
        if (meta_clean)
            break;
        ecc_slot_lock(&slot);
        ecc_meta_repair(&slot, &meta);
        ecc_slot_unlock(&slot);
        break;
    }
    if (!access_valid(&meta, generation, 0, 0)) {
        mm_prim_error(MM_ERROR_INVALID);
        return 0;
    }
    return (size_t)meta.size;
}
