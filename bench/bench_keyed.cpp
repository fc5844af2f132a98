// What hashing on the fly costs per lookup against reading a position table: the same spec (k = 4,
// 4-byte keys of dense ids) through bloom_embedding (table mode: the n x k positions computed
// once) and keyed_bloom_embedding (on the fly: k hashes per lookup), for xxh3, murmur3_32 and
// multiply_shift, in cache (1,682 ids: a 27 KB position table and 336 rows) and out of it
// (4,000,000 ids: a 64 MB position table and 800,000 rows of dim 32, 102 MB).
//
// BM_positions_*: the k positions of a random id (summed into a sink), nothing else.
// BM_lookup_*: the embedding of a random id, positions plus the sum of its k rows (forward).
// Items per second = ids looked up per second. Compare a pair run side by side in one run.
#include "bench_common.hpp"

#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/keyed.hpp>
#include <bloom/optim/sgd.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace {

namespace bm = bloom::models;
using opt = bloom::optim::sgd<float>;  // no optimizer state: only the lookups are measured
constexpr std::uint32_t dim = 32;
constexpr std::uint32_t k = 4;
constexpr std::size_t n_ids = std::size_t{1} << 16;

bm::embedding_options emb() {
    bm::embedding_options o;
    o.dim = dim;
    return o;
}
bm::bloom_options rows_for(std::uint32_t ids) {
    bm::bloom_options b;
    b.rows = ids / 5;
    b.k = k;
    return b;
}
std::vector<std::uint32_t> random_ids(std::uint32_t n) {
    std::mt19937_64 rng(7);
    std::vector<std::uint32_t> ids(n_ids);
    for (auto& id : ids) id = static_cast<std::uint32_t>(rng() % n);
    return ids;
}

template <class Hash>
void BM_positions_table(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    const bm::bloom_embedding<float, opt> kind(n, rows_for(n), emb(), {}, Hash{});
    const std::vector<std::uint32_t> ids = random_ids(n);
    std::uint32_t sink = 0;
    std::size_t at = 0;
    for (auto _ : state) {
        const std::uint32_t* p = kind.positions(ids[at]);
        sink += p[0] + p[1] + p[2] + p[3];
        at = (at + 1) & (n_ids - 1);
    }
    benchmark::DoNotOptimize(sink);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <class Hash>
void BM_positions_fly(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    const bm::bloom_options b = rows_for(n);
    const bm::keyed_bloom_embedding<float, opt, Hash> kind(bm::make_spec<Hash>(n, b), b.comb,
                                                           emb(), {});
    const std::vector<std::uint32_t> ids = random_ids(n);
    std::uint32_t sink = 0;
    std::uint32_t p[k];
    std::size_t at = 0;
    for (auto _ : state) {
        kind.positions(ids[at], p);
        sink += p[0] + p[1] + p[2] + p[3];
        at = (at + 1) & (n_ids - 1);
    }
    benchmark::DoNotOptimize(sink);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <class Hash>
void BM_lookup_table(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    const bm::bloom_embedding<float, opt> kind(n, rows_for(n), emb(), {}, Hash{});
    const std::vector<std::uint32_t> ids = random_ids(n);
    std::vector<float> e(dim);
    std::size_t at = 0;
    for (auto _ : state) {
        kind.forward(ids[at], e.data());
        benchmark::DoNotOptimize(e.data());
        at = (at + 1) & (n_ids - 1);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

template <class Hash>
void BM_lookup_fly(benchmark::State& state) {
    const auto n = static_cast<std::uint32_t>(state.range(0));
    const bm::bloom_options b = rows_for(n);
    const bm::keyed_bloom_embedding<float, opt, Hash> kind(bm::make_spec<Hash>(n, b), b.comb,
                                                           emb(), {});
    const std::vector<std::uint32_t> ids = random_ids(n);
    std::vector<float> e(dim);
    std::size_t at = 0;
    for (auto _ : state) {
        kind.forward(ids[at], e.data());
        benchmark::DoNotOptimize(e.data());
        at = (at + 1) & (n_ids - 1);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

#define BLOOM_KEYED_BENCH(name, hash) \
    BENCHMARK_TEMPLATE(name, hash)->Arg(1682)->Arg(4000000)

BLOOM_KEYED_BENCH(BM_positions_table, bloom::xxh3);
BLOOM_KEYED_BENCH(BM_positions_fly, bloom::xxh3);
BLOOM_KEYED_BENCH(BM_positions_table, bloom::murmur3_32);
BLOOM_KEYED_BENCH(BM_positions_fly, bloom::murmur3_32);
BLOOM_KEYED_BENCH(BM_positions_table, bloom::multiply_shift);
BLOOM_KEYED_BENCH(BM_positions_fly, bloom::multiply_shift);
BLOOM_KEYED_BENCH(BM_lookup_table, bloom::xxh3);
BLOOM_KEYED_BENCH(BM_lookup_fly, bloom::xxh3);
BLOOM_KEYED_BENCH(BM_lookup_table, bloom::murmur3_32);
BLOOM_KEYED_BENCH(BM_lookup_fly, bloom::murmur3_32);
BLOOM_KEYED_BENCH(BM_lookup_table, bloom::multiply_shift);
BLOOM_KEYED_BENCH(BM_lookup_fly, bloom::multiply_shift);

BENCHMARK_MAIN();
