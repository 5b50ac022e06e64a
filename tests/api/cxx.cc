/*
 * cxx: C++ operator new/delete served by mymalloc when the program is linked
 * with -lmymalloc or runs with the library preloaded.
 *
 * myusable_size(p) > 0 (it is 0 for pointers that are not mymalloc's) for
 * scalar new, array new, aligned new of alignas(64) and alignas(4096) types
 * (and their alignment), nothrow new; a nothrow new of an absurd size is
 * nullptr and a throwing one throws std::bad_alloc. Then 4 std::threads
 * churn std::map<int, std::string> and std::vector, handing a quarter of
 * the maps to other threads to check and delete; allocator_verify() == 0.
 *
 * Built twice: linked with -lmymalloc, and plain (run preloaded).
 * --expect=glibc|jemalloc run the same churn on another allocator.
 */
#include "api_test.h"

#include <atomic>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

struct alignas(64) Line {
    char bytes[64];
};
struct alignas(4096) Page {
    char bytes[4096];
};

static api_alloc alloc;
static api_my my;

static void check_ours(const void *p, size_t size, const char *what)
{
    CHECKF(p != nullptr, "%s", what);
    if (alloc == API_MYMALLOC)
        CHECKF(my.myusable_size(const_cast<void *>(p)) >= size,
               "%s: myusable_size %zu < %zu (not served by mymalloc)", what,
               my.myusable_size(const_cast<void *>(p)), size);
}

static void test_operators()
{
    int *i = new int(42);
    check_ours(i, sizeof(int), "new int");
    CHECK(api_aligned(i, api_want_align(alloc == API_MYMALLOC, sizeof(int), 1)));
    delete i;

    std::string *s = new std::string(1000, 'x');
    check_ours(s, sizeof *s, "new std::string");
    check_ours(s->data(), 1000, "std::string's buffer");
    delete s;

    double *a = new double[1000];
    check_ours(a, 1000 * sizeof(double), "new double[1000]");
    for (int k = 0; k < 1000; k++)
        a[k] = k;
    delete[] a;

    Line *l = new Line;
    check_ours(l, sizeof *l, "new alignas(64)");
    CHECKF(api_aligned(l, 64), "new alignas(64) = %p", (void *)l);
    delete l;
    Line *la = new Line[33];
    check_ours(la, 33 * sizeof(Line), "new alignas(64)[33]");
    CHECK(api_aligned(la, 64));
    delete[] la;

    Page *p = new Page;
    check_ours(p, sizeof *p, "new alignas(4096)");
    CHECKF(api_aligned(p, 4096), "new alignas(4096) = %p", (void *)p);
    memset(p->bytes, 1, sizeof p->bytes);
    delete p;
    Page *pa = new Page[5];
    check_ours(pa, 5 * sizeof(Page), "new alignas(4096)[5]");
    CHECK(api_aligned(pa, 4096));
    delete[] pa;

    int *n = new (std::nothrow) int[10];
    check_ours(n, 10 * sizeof(int), "new (nothrow) int[10]");
    delete[] n;
    Page *np = new (std::nothrow) Page;
    check_ours(np, sizeof *np, "new (nothrow) alignas(4096)");
    CHECK(api_aligned(np, 4096));
    delete np;

    /* Absurd sizes: nullptr from nothrow new, bad_alloc from new. */
    /* (Through volatiles, so that the compiler cannot drop the calls.) */
    static char *volatile sink;
    volatile size_t huge = (size_t)1 << 50;
    sink = new (std::nothrow) char[huge];
    CHECK(sink == nullptr);
    bool thrown = false;
    try {
        sink = new char[huge];
    } catch (const std::bad_alloc &) {
        thrown = true;
    }
    CHECK(thrown);
    printf("ok operator new/delete (scalar, array, aligned 64/4096, nothrow) served\n");
}

/* ---- churn ------------------------------------------------------------------ */

typedef std::map<int, std::string> Map;
enum { THREADS = 4, ROUNDS = 3000 };

static std::mutex inbox_lock[THREADS];
static std::vector<Map *> inbox[THREADS];
static std::atomic<long> maps_checked{0};

static void check_map(const Map *m)
{
    for (const auto &kv : *m) {
        CHECK(kv.second.size() == (size_t)(kv.first % 300));
        for (char c : kv.second)
            CHECK(c == (char)('a' + kv.first % 26));
    }
    maps_checked++;
}

static void drain(int t)
{
    std::vector<Map *> got;
    {
        std::lock_guard<std::mutex> g(inbox_lock[t]);
        got.swap(inbox[t]);
    }
    for (Map *m : got) {
        check_map(m);
        delete m;
    }
}

static void churn(int t)
{
    uint64_t r = (uint64_t)t * 131 + 7;
    std::vector<Map *> mine;
    std::vector<std::vector<int>> vecs(50);
    for (int round = 0; round < ROUNDS; round++) {
        Map *m = new Map;
        int entries = (int)(api_rng(&r) % 20);
        for (int k = 0; k < entries; k++) {
            int key = (int)(api_rng(&r) % 100000);
            (*m)[key] = std::string((size_t)(key % 300), (char)('a' + key % 26));
        }
        if (round % 4 == 0) {
            int to = (t + 1 + (int)(api_rng(&r) % (THREADS - 1))) % THREADS;
            std::lock_guard<std::mutex> g(inbox_lock[to]);
            inbox[to].push_back(m);
        } else {
            mine.push_back(m);
        }
        if (mine.size() > 64) {
            size_t victim = api_rng(&r) % mine.size();
            check_map(mine[victim]);
            delete mine[victim];
            mine[victim] = mine.back();
            mine.pop_back();
        }
        std::vector<int> &v = vecs[api_rng(&r) % vecs.size()];
        if (api_rng(&r) % 8 == 0) {
            std::vector<int>().swap(v);
        } else {
            size_t old = v.size();
            v.resize(old + api_rng(&r) % 500);
            for (size_t k = old; k < v.size(); k++)
                v[k] = (int)k;
            for (size_t k = 0; k < v.size(); k += 97)
                CHECK(v[k] == (int)k);
        }
        if (round % 16 == 0)
            drain(t);
    }
    for (Map *m : mine) {
        check_map(m);
        delete m;
    }
    drain(t);
}

static void test_churn()
{
    std::vector<std::thread> th;
    for (int t = 0; t < THREADS; t++)
        th.emplace_back(churn, t);
    for (auto &x : th)
        x.join();
    for (int t = 0; t < THREADS; t++)
        drain(t);
    if (alloc == API_MYMALLOC)
        CHECK(my.allocator_verify() == 0);
    printf("FIGURES: maps=%ld\n", maps_checked.load());
    printf("ok 4 std::threads churn std::map/std::string/std::vector, cross-thread "
           "deletes\n");
}

int main(int argc, char **argv)
{
    alloc = api_allocator(argc, argv);
    my = api_my_lookup();
    test_operators();
    test_churn();
    printf("cxx: all checks passed\n");
    return 0;
}
