/*
 * probe: a plain program (not linked with mymalloc) that the tools test runs
 * under build/mymalloc-run and the installed mymalloc-run. Exits 0 when
 * malloc, calloc, realloc and free are served by a loaded mymalloc (its
 * myusable_size knows their blocks) and, with --lib-under=DIR, when the
 * mymalloc loaded is a file under DIR. Prints the library's path.
 */
#include "api_test.h"

int main(int argc, char **argv)
{
    const char *under = NULL;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--lib-under=", 12) == 0)
            under = argv[i] + 12;
    struct api_my my = api_my_lookup();
    CHECKF(my.mymalloc && my.myusable_size, "mymalloc is not loaded");
    void *p = malloc(100), *q = calloc(10, 10), *r = realloc(NULL, 5000);
    CHECK(p && q && r);
    CHECKF(my.myusable_size(p) >= 100 && my.myusable_size(q) >= 100 &&
               my.myusable_size(r) >= 5000,
           "malloc/calloc/realloc are not served by mymalloc");
    free(p);
    free(q);
    free(r);
    Dl_info info;
    CHECK(dladdr((void *)my.mymalloc, &info) != 0 && info.dli_fname != NULL);
    char real[4096];
    CHECK(realpath(info.dli_fname, real) != NULL);
    printf("mymalloc from %s\n", real);
    if (under) {
        char dir[4096];
        CHECK(realpath(under, dir) != NULL);
        size_t n = strlen(dir);
        CHECKF(strncmp(real, dir, n) == 0 && real[n] == '/', "mymalloc loaded from %s, not under %s",
               real, dir);
    }
    return 0;
}
