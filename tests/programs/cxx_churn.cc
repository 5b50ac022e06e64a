// cxx_churn: multithreaded C++ allocation churn for the real-program tests
// and measurements (tests/programs, bench/programs.sh).
//
//   cxx_churn THREADS ROUNDS
//
// Every thread, every round, builds a batch of items (a std::map<int,
// std::string>, a std::vector<std::string>, a std::string blob that is now
// and then hundreds of KiB) and hands the batch to the next thread's
// mailbox; it then takes whatever is in its own mailbox, hashes each item,
// edits it (map erases and inserts, string appends, vector growth), hashes it
// again and deletes it: most blocks are freed by a thread other than the one
// that allocated them. Each thread also churns a private
// std::map<int, std::string> cache. Items are built from seeds that depend
// only on (thread, round, index), and the hashes are summed, so the output
//
//   items=N checksum=X
//
// is the same for given arguments however the threads interleave.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kBatch = 48;         // items per batch
constexpr size_t kMailboxMax = 16; // batches waiting before the sender helps

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next()
    {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

struct Item {
    uint64_t seed;
    std::map<int, std::string> fields;
    std::vector<std::string> words;
    std::string blob;
};

using Batch = std::vector<std::unique_ptr<Item>>;

struct Mailbox {
    std::mutex lock;
    std::deque<Batch> batches;
};

uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

uint64_t fnv(uint64_t h, const std::string &s) { return fnv(h, s.data(), s.size()); }

std::string text(Rng &rng, size_t len)
{
    std::string s;
    for (size_t i = 0; i < len; i++)
        s.push_back(static_cast<char>('a' + rng.below(26)));
    return s;
}

std::unique_ptr<Item> make_item(uint64_t seed)
{
    Rng rng(seed);
    auto item = std::make_unique<Item>();
    item->seed = seed;
    size_t nfields = 1 + rng.below(40);
    for (size_t i = 0; i < nfields; i++)
        item->fields[static_cast<int>(rng.below(1000))] = text(rng, 16 + rng.below(100));
    size_t nwords = rng.below(30);
    for (size_t i = 0; i < nwords; i++)
        item->words.push_back(text(rng, 1 + rng.below(60)));
    // Mostly small blobs; one item in 200 gets 64 KiB to 1 MiB.
    size_t blob = rng.below(200) == 0 ? (64 << 10) + rng.below(960 << 10) : rng.below(300);
    item->blob.assign(blob, static_cast<char>('A' + seed % 26));
    return item;
}

uint64_t hash_item(const Item &item)
{
    uint64_t h = fnv(0xCBF29CE484222325ull, &item.seed, sizeof item.seed);
    for (const auto &kv : item.fields) {
        h = fnv(h, &kv.first, sizeof kv.first);
        h = fnv(h, kv.second);
    }
    for (const auto &w : item.words)
        h = fnv(h, w);
    return fnv(h, item.blob);
}

// Deterministic edits: the result depends only on the item.
void edit_item(Item &item)
{
    Rng rng(item.seed ^ 0xABCDEF);
    for (int i = 0; i < 10; i++) {
        int key = static_cast<int>(rng.below(1000));
        auto it = item.fields.find(key);
        if (it != item.fields.end())
            item.fields.erase(it);
        else
            item.fields.emplace(key, text(rng, 20 + rng.below(40)));
    }
    for (auto &w : item.words)
        w += w;
    item.words.resize(item.words.size() * 2 + 1, std::string(40, 'w'));
    item.blob.append(rng.below(500), 'z');
}

struct Worker {
    int id;
    int threads;
    int rounds;
    std::vector<Mailbox> *mailboxes;
    std::atomic<int> *finished;
    uint64_t sum = 0;
    uint64_t items = 0;

    // Takes the batches waiting in this thread's mailbox and consumes them.
    void drain()
    {
        std::deque<Batch> got;
        {
            std::lock_guard<std::mutex> g((*mailboxes)[id].lock);
            got.swap((*mailboxes)[id].batches);
        }
        for (auto &batch : got) {
            for (auto &item : batch) {
                sum += hash_item(*item);
                edit_item(*item);
                sum += hash_item(*item);
                items++;
            }
        } // items deleted here, mostly made by another thread
    }

    void run()
    {
        Mailbox &next = (*mailboxes)[(id + 1) % threads];
        std::map<int, std::string> cache;
        Rng rng(1000 + id);
        for (int r = 0; r < rounds; r++) {
            Batch batch;
            batch.reserve(kBatch);
            for (int k = 0; k < kBatch; k++) {
                uint64_t seed = (static_cast<uint64_t>(id) << 40) ^ (static_cast<uint64_t>(r) << 12) ^ k;
                batch.push_back(make_item(seed));
            }
            for (;;) {
                {
                    std::lock_guard<std::mutex> g(next.lock);
                    if (next.batches.size() < kMailboxMax) {
                        next.batches.push_back(std::move(batch));
                        break;
                    }
                }
                drain(); // the receiver is behind: work meanwhile
                std::this_thread::yield();
            }
            drain();
            for (int i = 0; i < 50; i++) {
                int key = static_cast<int>(rng.below(5000));
                if (rng.below(3) == 0)
                    cache.erase(key);
                else
                    cache[key] = text(rng, 20 + rng.below(80));
            }
        }
        finished->fetch_add(1);
        while (finished->load() < threads) {
            drain();
            std::this_thread::yield();
        }
        drain();
        uint64_t h = 0xCBF29CE484222325ull;
        for (const auto &kv : cache) {
            h = fnv(h, &kv.first, sizeof kv.first);
            h = fnv(h, kv.second);
        }
        sum += h;
    }
};

} // namespace

int main(int argc, char **argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: cxx_churn THREADS ROUNDS\n");
        return 2;
    }
    int threads = std::atoi(argv[1]);
    int rounds = std::atoi(argv[2]);
    if (threads < 1 || rounds < 1) {
        std::fprintf(stderr, "cxx_churn: THREADS and ROUNDS must be positive\n");
        return 2;
    }
    std::vector<Mailbox> mailboxes(threads);
    std::atomic<int> finished{0};
    std::vector<Worker> workers(threads);
    for (int i = 0; i < threads; i++)
        workers[i] = Worker{i, threads, rounds, &mailboxes, &finished};
    std::vector<std::thread> pool;
    for (auto &w : workers)
        pool.emplace_back([&w] { w.run(); });
    for (auto &t : pool)
        t.join();
    uint64_t sum = 0, items = 0;
    for (const auto &w : workers) {
        sum += w.sum;
        items += w.items;
    }
    std::printf("items=%llu checksum=%016llx\n", static_cast<unsigned long long>(items),
                static_cast<unsigned long long>(sum));
    return items == static_cast<uint64_t>(threads) * rounds * kBatch ? 0 : 1;
}
