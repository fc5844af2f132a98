// What an embedding kind costs per lookup: forward + backward of a 256-id batch, then the lazy
// Adam step on the rows it touched, with dim 32. One benchmark per kind, on a MovieLens-100K-sized
// id space (1,682 ids in 336 rows, 1/5) and on a large one (10^6 ids in 200,000 rows), so the
// cost of reading k rows (or a history filter's set bits) instead of one shows, in and out of
// cache. Items per second = ids looked up, trained and stepped per second. The budget kinds (robe,
// mixed-dim, cce, tt, dhe) get 1/5 of the full table's scalars, as bloom-compare --ratios 0.2
// gives them; dhe's hidden width is capped at 256 (at 10^6 ids the budget would buy 2,048, a
// network of 4 M weights that every lookup runs through).
#include "bench_common.hpp"

#include <bloom/hash/murmur3.hpp>
#include <bloom/models/cce.hpp>
#include <bloom/models/dhe.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/mixed_dim.hpp>
#include <bloom/models/robe.hpp>
#include <bloom/models/tt.hpp>
#include <bloom/optim/adam.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace {

namespace bm = bloom::models;
using opt = bloom::optim::adam<float>;
constexpr std::uint32_t dim = 32;
constexpr std::size_t batch = 256;

bm::embedding_options emb() {
    bm::embedding_options o;
    o.dim = dim;
    return o;
}

bm::bloom_options bloom_rows(std::uint32_t ids, std::uint32_t k) {
    bm::bloom_options b;
    b.rows = ids / 5;
    b.k = k;
    return b;
}

// Runs batches of random ids through forward, backward and step.
template <class Kind>
void run(benchmark::State& state, Kind& kind) {
    std::mt19937_64 rng(7);
    std::vector<std::uint32_t> ids(batch * 64);
    for (auto& id : ids) id = static_cast<std::uint32_t>(rng() % kind.ids());
    std::vector<float> e(dim), g(dim, 0.01f);
    std::size_t at = 0;
    for (auto _ : state) {
        for (std::size_t t = 0; t < batch; ++t, at = (at + 1) % ids.size()) {
            kind.forward(ids[at], e.data());
            benchmark::DoNotOptimize(e.data());
            kind.backward(ids[at], g.data());
        }
        kind.step();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void BM_full(benchmark::State& state) {
    bm::full_embedding<float, opt> kind(static_cast<std::uint32_t>(state.range(0)), emb(), {});
    run(state, kind);
}

void BM_bloom_k4(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    bm::bloom_embedding<float, opt> kind(n, bloom_rows(n, 4), emb(), {}, bloom::murmur3_32{});
    run(state, kind);
}

void BM_freq_bloom_k4(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    std::vector<std::uint64_t> counts(n);
    for (std::uint32_t i = 0; i < n; ++i) counts[i] = n - i;  // id 0 the most frequent
    bm::freq_bloom_embedding<float, opt> kind(n, counts, bloom_rows(n, 4), bm::freq_options{},
                                              emb(), {}, bloom::murmur3_32{});
    run(state, kind);
}

// Users with `history` random items each out of 1,682, in a filter of 188 rows (MovieLens 100K's
// 943 users at 1/5), one hash per item: about 68 set bits at 85 items.
void BM_history_bloom(benchmark::State& state) {
    const std::uint32_t users = 943, items = 1682;
    const auto history = static_cast<std::size_t>(state.range(0));
    std::mt19937_64 rng(11);
    std::vector<std::size_t> offsets(users + 1);
    std::vector<std::uint32_t> hist;
    for (std::uint32_t u = 0; u < users; ++u) {
        for (std::size_t t = 0; t < history; ++t)
            hist.push_back(static_cast<std::uint32_t>(rng() % items));
        offsets[u + 1] = hist.size();
    }
    bm::bloom_options b;
    b.rows = users / 5;
    b.k = 1;
    b.comb = bm::combine::mean;
    bm::history_bloom_embedding<float, opt> kind(users, offsets, hist, items, b, emb(), {},
                                                 bloom::murmur3_32{});
    state.counters["set_bits"] = kind.mean_set_bits();
    run(state, kind);
}

// The budget kinds: 1/5 of the full table's n x dim scalars.
std::uint64_t fifth(std::uint32_t n) { return std::uint64_t{n} * dim / 5; }

void BM_robe(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    bm::robe_options r;
    r.size = fifth(n);
    bm::robe_embedding<float, opt> kind(n, r, emb(), {}, bloom::murmur3_32{});
    run(state, kind);
}

void BM_mixed_dim(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    std::vector<std::uint64_t> counts(n);
    for (std::uint32_t i = 0; i < n; ++i) counts[i] = n - i;
    bm::mixed_dim_options m;
    m.budget = fifth(n);
    bm::mixed_dim_embedding<float, opt> kind(n, counts, m, emb(), {});
    run(state, kind);
}

void BM_cce(benchmark::State& state) {  // lookups and steps only: no reclustering
    const auto n = static_cast<std::uint32_t>(state.range(0));
    bm::cce_options c;
    c.rows = bm::cce_rows_for_budget(fifth(n), dim, c.tables);
    bm::cce_embedding<float, opt> kind(n, c, emb(), {});
    run(state, kind);
}

void BM_tt(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    bm::tt_options t;
    t.budget = fifth(n);
    bm::tt_embedding<float, opt> kind(n, t, emb(), {});
    state.counters["rank"] = kind.rank();
    run(state, kind);
}

void BM_dhe(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    bm::dhe_options d;
    d.budget = fifth(n);
    d.max_width = 256;
    bm::dhe_embedding<float, opt> kind(n, d, emb(), {}, bloom::murmur3_32{});
    run(state, kind);
}

BENCHMARK(BM_full)->Arg(1682)->Arg(1000000);
BENCHMARK(BM_bloom_k4)->Arg(1682)->Arg(1000000);
BENCHMARK(BM_freq_bloom_k4)->Arg(1682)->Arg(1000000);
BENCHMARK(BM_history_bloom)->Arg(10)->Arg(85);
BENCHMARK(BM_robe)->Arg(1682)->Arg(1000000);
BENCHMARK(BM_mixed_dim)->Arg(1682)->Arg(1000000);
BENCHMARK(BM_cce)->Arg(1682)->Arg(1000000);
BENCHMARK(BM_tt)->Arg(1682)->Arg(1000000);
BENCHMARK(BM_dhe)->Arg(1682)->Arg(1000000);

}  // namespace

BENCHMARK_MAIN();
