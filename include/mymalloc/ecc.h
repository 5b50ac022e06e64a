/*
 * mymalloc/ecc.h: protected memory that survives bit flips (docs/ECC.md).
 *
 * A protected block is reached only through these calls: every 64-bit word
 * of it is stored with redundancy, a flipped bit is corrected on the next
 * access that meets it and written back, a scrub repairs what is not
 * accessed, and what cannot be corrected is reported (ecc_read returns -1
 * with errno EIO, the error handler hears of it), never returned wrong.
 *
 * Codes, chosen per block:
 *   ECC_SECDED  a (72,64) Hsiao code: 8 check bits per 64-bit word (12.5%);
 *               corrects any one flipped bit of the 72, detects any two.
 *   ECC_TMR     three copies of every word and a bitwise vote (200%);
 *               corrects any number of flipped bits confined to one copy.
 * The blocks' metadata (address, size, code, generation, links) and the
 * table that finds them are stored as three copies too, and repaired alike.
 *
 * Not protected: the handle variable in the caller's own memory (a flipped
 * handle is refused as invalid unless it happens to name another live block
 * of the same generation), the code and constant tables of the library, the
 * stack, the per-block sequence counters and the lock (synchronisation
 * state, rewritten on every write; see docs/ECC.md), statistics and the
 * handler pointer.
 *
 * Threads: calls on different blocks run in parallel; any number of threads
 * may read one block while another writes it and the scrubber checks it: a
 * read returns the data before or after a concurrent ecc_write, never a mix
 * of two writes within one call and never a false error. Writes to one
 * block are serialised by the library; like writes to plain memory, two
 * threads writing the same bytes need their own ordering to say which
 * wins. ecc_free must not run while another call uses the same block (as
 * free); the scrubber is safe against it.
 *
 * The handler (ecc_set_error_handler) runs inside the call that met the
 * error (a read, a write, a free, the scrub), with the block locked: it may
 * record the event but must not call ecc_* functions.
 */
#ifndef MYMALLOC_ECC_H
#define MYMALLOC_ECC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ecc_block *ecc_t; /* a handle; the data is reached only through the calls */

enum ecc_code { ECC_SECDED, ECC_TMR }; /* (72,64) Hamming, or three copies with a vote */

/* The program's default code: compile with -DECC_DEFAULT_CODE=ECC_TMR to
 * switch every ecc_alloc_default at once. */
#ifndef ECC_DEFAULT_CODE
#define ECC_DEFAULT_CODE ECC_SECDED
#endif
#define ecc_alloc_default(size) ecc_alloc((size), ECC_DEFAULT_CODE)

/* A zero-filled block of `size` bytes (0 is allowed: a block with no data).
 * NULL and errno ENOMEM when memory cannot be had or size exceeds 2^40,
 * EINVAL for an unknown code. */
ecc_t ecc_alloc(size_t size, enum ecc_code code);

/* Gives the block back; NULL does nothing. A handle that is not a live
 * block (never allocated, already freed, corrupted) is reported as a bad
 * pointer, as free() reports one (the hosted library prints and aborts);
 * nothing is changed. */
void ecc_free(ecc_t block);

/* Copy n bytes at offset out of / into the block: 0, or -1 and errno
 * EINVAL (not a live block, offset + n beyond the size, NULL buffer with
 * n > 0; nothing read or written) or EIO (ecc_read: a word could not be
 * corrected; dst is then partly written. ecc_write: a word it writes only
 * in part could not be corrected; nothing written). n == 0 succeeds. */
int ecc_read(ecc_t block, size_t offset, void *dst, size_t n);
int ecc_write(ecc_t block, size_t offset, const void *src, size_t n);

/* The size given to ecc_alloc; 0 and errno EINVAL for an invalid handle. */
size_t ecc_size(ecc_t block);

/* Checks and repairs up to max_bytes of protected storage (data, check
 * bits, copies, metadata), round-robin over all blocks from where the last
 * call stopped, and at most one full pass per call (ecc_scrub((size_t)-1)
 * is one pass). Returns the errors repaired. A bounded step: the
 * freestanding build calls it from its own loop. */
size_t ecc_scrub(size_t max_bytes);

/* Hosted: a thread that scrubs everything once each period_ms (0 and
 * running, or -1: EINVAL for period 0, a scrubber already running, or a
 * build without threads; ENOMEM if the thread cannot be started). */
int ecc_scrubber_start(unsigned period_ms);
void ecc_scrubber_stop(void); /* waits for the thread; nothing if none */

struct ecc_stats {
    unsigned long long corrected;      /* words repaired (data, check bits, copies, metadata) */
    unsigned long long uncorrectable;  /* uncorrectable words met (each time one is met) */
    unsigned long long scrubbed_bytes; /* storage bytes checked by the scrub */
    unsigned long long blocks;         /* live blocks */
    unsigned long long bytes;          /* their sizes, summed */
};
void ecc_get_stats(struct ecc_stats *stats);

/* handler(block, offset, corrected) for every error met: offset is the
 * byte offset of the word in the block, or (size_t)-1 for the block's
 * metadata; block is NULL for metadata of the table itself (free slots,
 * the directory). NULL removes the handler. */
void ecc_set_error_handler(void (*handler)(ecc_t block, size_t offset, int corrected));

/* Calls fn for every range of memory holding protected storage (data,
 * check bits, copies, metadata), with the table locked (fn must not call
 * ecc_* functions); returns 0, or the first non-zero value fn returned. */
int ecc_regions(int (*fn)(void *base, size_t length, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* MYMALLOC_ECC_H */
