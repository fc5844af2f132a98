// bloom-soak: train, save, load and recommend in a loop for a bounded time, and say whether
// memory grows. Meant to run under AddressSanitizer (./run.sh soak [seconds] builds it so), where
// a use after free, an overrun or a leak in any of those paths is reported, and the live heap is
// read from the sanitizer's allocator. Without a sanitizer it reads glibc's mallinfo2(), which
// counts the chunks glibc keeps in its per-thread cache (tcache) as in use: run it with
// GLIBC_TUNABLES=glibc.malloc.tcache_count=0 for an exact figure (else up to ~40 KiB of cached
// chunks show as growth in the first hundred rounds, then stop).
//
//   bloom-soak [--seconds S] [--file PATH]
//
// Each round, on the same small synthetic data: a factorization (history-Bloom users,
// frequency-aware Bloom items, lazy Adam) trains one epoch, is saved with its optimizer state,
// loaded back, checked against the original (same scores) and asked for recommendations; then a
// Bloom-coded network does the same. Everything a round builds is destroyed before the next, so
// the live heap at the end of each round must be the same as after the first (the warm-up):
// growth beyond 64 KiB is a failure (exit 1). Resident memory is printed too; under ASan it also
// holds the allocator's quarantine and is not judged.
#include <bloom/bloom.hpp>
#include <bloom/models/network/bloom_mlp.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define BLOOM_SOAK_ASAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define BLOOM_SOAK_ASAN 1
#endif
#ifdef BLOOM_SOAK_ASAN
#  include <sanitizer/allocator_interface.h>
#else
#  include <malloc.h>
#endif

namespace {

namespace bm = bloom::models;
using opt = bloom::optim::adam<float>;
using users_kind = bm::history_bloom_embedding<float, opt>;
using items_kind = bm::freq_bloom_embedding<float, opt>;
using model_t = bm::factorization<users_kind, items_kind, opt>;
using net_t = bm::bloom_mlp<float>;

// Bytes of heap in use by the program.
std::size_t live_heap() {
#ifdef BLOOM_SOAK_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return static_cast<std::size_t>(mallinfo2().uordblks);
#endif
}

// Resident set size in bytes, from /proc/self/statm (0 where it cannot be read).
std::size_t resident() {
    std::ifstream f("/proc/self/statm");
    std::size_t pages = 0, rss = 0;
    if (!(f >> pages >> rss)) return 0;
    return rss * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

struct data_t {
    bloom::data::interactions all;
    bloom::data::train_test split;
    bloom::eval::user_items train, test;
    std::vector<std::uint64_t> counts;
};

data_t make_data() {
    data_t d;
    bloom::data::synthetic_config sc;
    sc.n_users = 300;
    sc.n_items = 800;
    sc.n_interactions = 8000;
    d.all = bloom::data::make_synthetic(sc);
    d.split = bloom::data::random_split(d.all, 0.2, 7);
    d.train = bloom::eval::make_user_items(d.all.n_users, d.split.train.users, d.split.train.items);
    d.test = bloom::eval::make_user_items(d.all.n_users, d.split.test.users, d.split.test.items);
    d.counts.assign(d.all.n_items, 0);
    for (std::uint32_t i : d.split.train.items) ++d.counts[i];
    return d;
}

void fail(const std::string& what) {
    std::fprintf(stderr, "bloom-soak: %s\n", what.c_str());
    std::exit(1);
}

// One factorization round: returns a checksum of the recommendations, so nothing is optimised away.
std::uint64_t factorization_round(const data_t& d, const std::string& path, std::uint64_t seed) {
    bm::embedding_options o;
    o.dim = 16;
    o.seed = seed;
    opt::config oc;
    oc.lr = 1e-2;
    bm::bloom_options ub, ib;
    ub.rows = d.all.n_users / 5;
    ub.k = 1;
    ub.comb = bm::combine::mean;
    ib.rows = d.all.n_items / 5;
    ib.k = 4;
    model_t model(users_kind(d.all.n_users, d.train.offsets, d.train.items, d.all.n_items, ub, o, oc),
                  items_kind(d.all.n_items, d.counts, ib, bm::freq_options{}, o, oc), oc);
    bm::fit_options f;
    f.epochs = 1;
    f.seed = seed;
    model.fit(d.split.train.users, d.split.train.items, f);
    bloom::io::save(path, model);
    model_t back = bloom::io::load<model_t>(path);
    back.prepare_scoring();
    std::uint64_t sum = 0;
    for (std::uint32_t u = 0; u < d.all.n_users; u += 7) {
        if (back.predict(u, u % d.all.n_items) != model.predict(u, u % d.all.n_items))
            fail("a loaded factorization scores user " + std::to_string(u) + " differently");
        const std::vector<std::uint32_t> seen(
            d.train.items.begin() + static_cast<std::ptrdiff_t>(d.train.offsets[u]),
            d.train.items.begin() + static_cast<std::ptrdiff_t>(d.train.offsets[u + 1]));
        for (const auto& r : back.recommend(u, 10, seen)) sum = sum * 31 + r.first;
    }
    return sum;
}

// One network round: Bloom codes in and out, two hidden layers, one epoch, save, load, recommend.
std::uint64_t network_round(const data_t& d, const std::string& path, std::uint64_t seed) {
    bloom::spec_config sc;
    sc.items = d.all.n_items;
    sc.m = d.all.n_items / 5;
    sc.k = 3;
    sc.seed = seed;
    const auto code = net_t::code_type::from_sparse(bm::spec_code(bloom::basic_spec<bloom::xxh3>(sc)));
    bm::network_options o;
    o.hidden = {32, 16};
    o.dropout = 0.1;
    net_t net(code, code, o);
    bm::network_fit_options f;
    f.epochs = 1;
    f.batch = 32;
    f.seed = seed;
    // Each training user's items split into an input half and a target half.
    bloom::eval::user_items in, target;
    in.offsets = {0};
    target.offsets = {0};
    for (std::uint32_t u = 0; u < d.all.n_users; ++u) {
        const std::size_t b = d.train.offsets[u], e = d.train.offsets[u + 1], h = b + (e - b) / 2;
        in.items.insert(in.items.end(), d.train.items.begin() + static_cast<std::ptrdiff_t>(b),
                        d.train.items.begin() + static_cast<std::ptrdiff_t>(h));
        target.items.insert(target.items.end(), d.train.items.begin() + static_cast<std::ptrdiff_t>(h),
                            d.train.items.begin() + static_cast<std::ptrdiff_t>(e));
        in.offsets.push_back(in.items.size());
        target.offsets.push_back(target.items.size());
    }
    net.fit(in, target, f);
    bloom::io::save(path, net);
    net_t back = bloom::io::load<net_t>(path);
    std::uint64_t sum = 0;
    for (std::uint32_t u = 0; u < d.all.n_users; u += 11) {
        const std::vector<std::uint32_t> items(in.items.begin() + static_cast<std::ptrdiff_t>(in.offsets[u]),
                                               in.items.begin() + static_cast<std::ptrdiff_t>(in.offsets[u + 1]));
        const auto a = net.recommend(items, 10);
        const auto b = back.recommend(items, 10);
        if (a.size() != b.size()) fail("a loaded network recommends a different number of items");
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (a[i].id != b[i].id) fail("a loaded network recommends differently");
            sum = sum * 31 + a[i].id;
        }
    }
    return sum;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 60;
    std::string path = "/tmp/bloom-soak-" + std::to_string(::getpid()) + ".bin";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--seconds" && i + 1 < argc) {
            char* end = nullptr;
            seconds = std::strtod(argv[++i], &end);
            if (*end != '\0' || !(seconds > 0 && seconds < 1e7))
                fail(std::string("--seconds takes a positive number of seconds, got '") + argv[i] + "'");
        } else if (a == "--file" && i + 1 < argc) {
            path = argv[++i];
        } else {
            std::fprintf(stderr, "usage: bloom-soak [--seconds S] [--file PATH]\n");
            return 2;
        }
    }
    try {
        const data_t d = make_data();
        const auto t0 = std::chrono::steady_clock::now();
        auto elapsed = [&] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        std::uint64_t check = 0;
        check ^= factorization_round(d, path, 1) ^ network_round(d, path, 1);  // warm-up round
        const std::size_t heap0 = live_heap(), rss0 = resident();
        std::uint64_t rounds = 1;
        std::size_t heap_max = heap0;
        while (elapsed() < seconds) {
            ++rounds;
            check ^= factorization_round(d, path, rounds) ^ network_round(d, path, rounds);
            heap_max = std::max(heap_max, live_heap());
        }
        std::remove(path.c_str());
        const std::size_t heap1 = live_heap(), rss1 = resident();
        const double growth = static_cast<double>(heap1) - static_cast<double>(heap0);
#ifdef BLOOM_SOAK_ASAN
        const char* counter = " (AddressSanitizer)";
#else
        const char* counter = std::getenv("GLIBC_TUNABLES") ? " (glibc mallinfo2)"
                                                            : " (glibc mallinfo2, tcache included)";
#endif
        std::printf("bloom-soak: after the warm-up round: live heap %zu bytes, resident %.1f MiB%s\n",
                    heap0, static_cast<double>(rss0) / 1048576.0, counter);
        std::printf("bloom-soak: %llu rounds (train, save, load, recommend; factorization and "
                    "network) in %.1f s\n",
                    static_cast<unsigned long long>(rounds), elapsed());
        std::printf("bloom-soak: live heap at the end %zu bytes (%+.0f bytes since the warm-up, "
                    "highest between rounds %zu); resident %.1f MiB (%+.1f MiB) [check %llx]\n",
                    heap1, growth, heap_max, static_cast<double>(rss1) / 1048576.0,
                    (static_cast<double>(rss1) - static_cast<double>(rss0)) / 1048576.0,
                    static_cast<unsigned long long>(check));
        if (growth > 65536.0) {
            std::fprintf(stderr, "bloom-soak: the live heap grew by %.0f bytes over %llu rounds\n",
                         growth, static_cast<unsigned long long>(rounds));
            return 1;
        }
        std::printf("bloom-soak: no growth\n");
    } catch (const std::exception& e) {
        std::remove(path.c_str());
        fail(e.what());
    }
    return 0;
}
