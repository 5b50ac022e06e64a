/*
 * Test provider of vmalloc/vmfree for mymalloc.
 *
 * Maps and unmaps with raw inline-asm mmap/munmap system calls (no errno,
 * no libc TLS), so it is safe from raw clone() threads. It counts bytes
 * held now and at peak, counts calls, and records every live region in a
 * fixed-size open-addressing table so that each vmfree is checked against a
 * live region (same address, same length). Every contract violation (a
 * vmfree of an unknown region or with the wrong length, a length that is
 * not a positive multiple of 4096, a non-NULL address hint) increments an
 * error counter; tests fail when it is non-zero.
 *
 * Fault injection: a byte cap (vmalloc fails when held would exceed it) and
 * failing every k-th vmalloc call.
 */
#ifndef PROVIDER_H
#define PROVIDER_H

#include <stddef.h>

typedef struct {
    size_t held;            /* bytes mapped now */
    size_t peak;            /* highest `held` since the last peak reset */
    size_t regions;         /* live regions */
    unsigned long vmallocs; /* successful vmalloc calls */
    unsigned long vmfrees;  /* vmfree calls that matched a region */
    unsigned long refused;  /* vmalloc calls answered NULL (cap, fault, OS) */
    unsigned long errors;   /* contract violations seen */
} provider_stats;

size_t provider_held(void);
size_t provider_peak(void);
void provider_reset_peak(void); /* peak = held */
unsigned long provider_errors(void);
/* Only for the provider's own self-test, which makes errors on purpose. */
void provider_clear_errors(void);
void provider_get_stats(provider_stats *s);

/* vmalloc fails once held + length would exceed `bytes`; 0 lifts the cap. */
void provider_set_cap(size_t bytes);
/* Every k-th vmalloc call fails; 0 turns it off. */
void provider_fail_every(unsigned long k);

/* Up to `max` live regions of exactly `length` bytes, into `out`; returns
 * how many there are in all. Scans the whole table: for tests that look at
 * one kind of region (a descriptor chunk, a page-map node), not hot paths. */
size_t provider_regions_of_length(size_t length, void **out, size_t max);

/* Prints the live regions grouped by length (raw write): what is held. */
void provider_print_regions(void);

/* Prints a one-line summary of the stats (raw write). */
void provider_print_stats(const char *label);

#endif /* PROVIDER_H */
