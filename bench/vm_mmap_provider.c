/*
 * vm_mmap_provider.c: a vmalloc/vmfree over mmap for programs that link the
 * M5 drop-in, which brings no provider of its own.
 */
#include <stddef.h>
#include <sys/mman.h>

void *vmalloc(void *addr, size_t length);
void vmfree(void *addr, size_t length);

void *vmalloc(void *addr, size_t length)
{
    void *p = mmap(addr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void vmfree(void *addr, size_t length)
{
    munmap(addr, length);
}
