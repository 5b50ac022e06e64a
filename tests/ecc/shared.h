/*
 * tests/ecc/shared.h: what the fault injector (tools/ecc-inject.c) and the
 * workload it attacks (tests/ecc/workload.c) share: one file both map.
 *
 * The workload publishes its areas of protected storage (from the library's
 * walk: base, length, code, words) and its figures; the injector flips bits
 * in those areas from outside the process (process_vm_writev).
 *
 * Pauses: a flip must be atomic with respect to the program's own stores,
 * as a real upset is (an external read-modify-write racing a store would
 * write back a stale byte: a many-bit error no code promises to survive).
 * So the injector asks for a pause (pause_request = epoch), waits until
 * every workload thread is parked between two operations (parked ==
 * threads), flips a batch, and lets them go (resume = epoch). Parked
 * threads are outside every ecc_* call, and the published areas are then
 * exactly the live ones.
 */
#ifndef ECC_TEST_SHARED_H
#define ECC_TEST_SHARED_H

#include <stdatomic.h>
#include <stdint.h>

#define ECC_SHARED_MAX_AREAS 8192
#define ECC_SHARED_MAX_DETECTIONS 65536

enum ecc_shared_code { SHARED_SECDED = 0, SHARED_TMR = 1 };

struct ecc_shared_area {
    uint64_t base, length, words;
    uint64_t block; /* the handle (0 for metadata) */
    uint32_t code;     /* enum ecc_shared_code */
    uint32_t metadata; /* the table's own (directory, slot metadata) */
};

struct ecc_shared {
    /* Control. */
    _Atomic uint64_t pause_request, resume;
    _Atomic uint32_t parked, threads;
    _Atomic uint32_t ready, stop, finished;
    _Atomic uint64_t scrub_passes; /* full scrub passes the workload completed */

    /* The areas, valid while the workload is parked. */
    uint32_t area_count;
    struct ecc_shared_area areas[ECC_SHARED_MAX_AREAS];

    /* Words found uncorrectable (the handler's reports), each once. */
    _Atomic uint32_t detection_count;
    struct {
        uint64_t block, offset;
    } detections[ECC_SHARED_MAX_DETECTIONS];

    /* The workload's figures (valid once finished). */
    uint64_t reads, writes, allocs, frees, wrong_reads, io_errors, detected_words;
    uint64_t corrected, uncorrectable, latent_after_pass, final_wrong, passes;
    int64_t exit_status;
};

#endif /* ECC_TEST_SHARED_H */
