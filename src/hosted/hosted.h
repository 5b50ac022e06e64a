/*
 * hosted.h: what the hosted layer (threads.c, vm_mmap.c) shares.
 */
#ifndef MM_HOSTED_H
#define MM_HOSTED_H

/* Install the thread-exit and error hooks; idempotent and thread-safe. */
void mm_hosted_install(void);

#endif /* MM_HOSTED_H */
