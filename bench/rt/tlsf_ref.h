/* tlsf_ref.h: the TLSF-style good-fit reference heap of bench/rt (see
 * tlsf_ref.c). */
#ifndef BENCH_RT_TLSF_REF_H
#define BENCH_RT_TLSF_REF_H
#include <stddef.h>
struct tlsf_ref;
struct tlsf_ref *tlsf_ref_init(void *memory, size_t bytes);
void *tlsf_ref_malloc(struct tlsf_ref *t, size_t size);
void tlsf_ref_free(struct tlsf_ref *t, void *ptr);
size_t tlsf_ref_usable_size(void *ptr);
#endif
