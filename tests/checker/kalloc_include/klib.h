/*
 * klib.h (kalloc-check): the declarations of AbstractMachine's klib that a
 * pmm.c may call. kalloc-check links the host C library's functions of the
 * same names, which behave as klib's must (the lab links a reference klib).
 */
#ifndef KALLOC_CHECK_KLIB_H
#define KALLOC_CHECK_KLIB_H

#include <am.h>
#include <stdarg.h>
#include <stddef.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *s1, const void *s2, size_t n);
size_t strlen(const char *s);
char *strcat(char *dst, const char *src);
char *strcpy(char *dst, const char *src);
char *strncpy(char *dst, const char *src, size_t n);
int strcmp(const char *s1, const char *s2);
int strncmp(const char *s1, const char *s2, size_t n);

int rand(void);
void srand(unsigned int seed);
int abs(int x);
int atoi(const char *nptr);

int printf(const char *format, ...);
int sprintf(char *out, const char *format, ...);
int snprintf(char *out, size_t n, const char *format, ...);
int vsprintf(char *out, const char *format, va_list ap);
int vsnprintf(char *out, size_t n, const char *format, va_list ap);

#ifdef NDEBUG
#define assert(ignore) ((void)0)
#else
#define assert(cond)                                                       \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("Assertion fail at %s:%d\n", __FILE__, __LINE__);      \
            halt(1);                                                       \
        }                                                                  \
    } while (0)
#endif

#endif
