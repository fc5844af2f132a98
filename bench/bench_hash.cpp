// Hash policies: nanoseconds per (key, hash function) on 4- and 8-byte integer keys, for every
// policy this build has, and the spec's positions() for k = 4 per id.
//
// Each benchmark iteration hashes a fixed array of 4096 random keys (so keys vary and nothing
// folds to a constant) and reports items_per_second: ns per key = 1e9 / items_per_second, also
// shown directly as the ns_per_key counter. Results go to docs/hashing.md.
//
// What the hash_u32/hash_u64 loops measure is throughput (reciprocal throughput per key), not
// latency. benchmark::DoNotOptimize(x) on each result is an empty asm that takes x as an input
// only, with a "memory" clobber: it stops the compiler from dropping, vectorising or reordering
// the hashes, but it writes nothing the next hash reads, so consecutive keys are independent and
// the CPU overlaps them as it would in a loop over ids. (Checked on 2026-12-02 with a variant
// that xor-accumulates the hashes and calls DoNotOptimize once per batch: the same ns per key
// within noise. A chain in which each key depends on the previous hash is 2.4-4 times slower;
// figures in docs/hashing.md.)
// The seed is a run-time value (DoNotOptimize before the loop) but loop-invariant, so per-seed
// work (XXH3's keyed secret, multiply_shift's a and b) is hoisted, as in a spec's loop over ids.
// The 64-bit keys come from mt19937_64: full 64-bit values, the high word random too.
#include "bench_common.hpp"

#include <bloom/encoding/spec.hpp>
#include <bloom/encoding/spotlight.hpp>
#include <bloom/hash/all.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t batch = 4096;

const std::vector<std::uint64_t>& keys64() {
    static const std::vector<std::uint64_t> keys = [] {
        std::mt19937_64 rng(20170827);
        std::vector<std::uint64_t> k(batch);
        for (auto& x : k) x = rng();
        return k;
    }();
    return keys;
}

const std::vector<std::uint32_t>& keys32() {
    static const std::vector<std::uint32_t> keys = [] {
        std::vector<std::uint32_t> k(batch);
        for (std::size_t i = 0; i < batch; ++i) k[i] = static_cast<std::uint32_t>(keys64()[i]);
        return k;
    }();
    return keys;
}

void set_rate(benchmark::State& state) {
    const auto n = static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(batch);
    state.SetItemsProcessed(n);
    // Seconds per key (shown with an SI prefix: "1.5n" is 1.5 ns).
    state.counters["ns_per_key"] = benchmark::Counter(
        static_cast<double>(batch),
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// One hash of a 4-byte key through bloom::hash_u32 (the policy's fast path when it has one).
template <class H>
void bm_hash_u32(benchmark::State& state) {
    const H h;
    const std::uint32_t* keys = keys32().data();
    std::uint64_t seed = 0x9E3779B97F4A7C15ULL;
    benchmark::DoNotOptimize(seed);  // a run-time seed, as a spec passes
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i)
            benchmark::DoNotOptimize(bloom::hash_u32(h, keys[i], seed));
    }
    set_rate(state);
}

// One hash of an 8-byte key through bloom::hash_u64.
template <class H>
void bm_hash_u64(benchmark::State& state) {
    const H h;
    const std::uint64_t* keys = keys64().data();
    std::uint64_t seed = 0x9E3779B97F4A7C15ULL;
    benchmark::DoNotOptimize(seed);
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i)
            benchmark::DoNotOptimize(bloom::hash_u64(h, keys[i], seed));
    }
    set_rate(state);
}

// spec.positions(id, out) for k = 4: 4 hashes (seeded) or 2 (double hashing) plus 4 reductions
// to [0, m) per id. 4-byte ids, m = 1,000,003 (not a power of two).
template <class H>
void bm_positions(benchmark::State& state, bloom::derivation derive) {
    bloom::spec_config cfg;
    cfg.m = 1000003;
    cfg.k = 4;
    cfg.seed = 7;
    cfg.key_bytes = 4;
    cfg.derive = derive;
    const bloom::basic_spec<H> spec(cfg);
    const std::uint32_t* keys = keys32().data();
    std::uint32_t out[4];
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i) {
            spec.positions(keys[i], out);
            benchmark::DoNotOptimize(out);
        }
    }
    set_rate(state);
}

void bm_positions_spotlight(benchmark::State& state) {
    const auto spec = bloom::spotlight_spec(bloom::spotlight_rows(1682, 0.2), 4);
    const std::uint32_t* keys = keys32().data();
    std::uint32_t out[4];
    for (auto _ : state) {
        for (std::size_t i = 0; i < batch; ++i) {
            spec.positions(keys[i] & 0x7FFFFFFFU, out);
            benchmark::DoNotOptimize(out);
        }
    }
    set_rate(state);
}

void register_all() {
    bloom::for_each_policy([](auto policy) {
        using H = decltype(policy);
        const std::string name = bloom::hash_name<H>();
        benchmark::RegisterBenchmark(("hash_u32/" + name).c_str(), bm_hash_u32<H>);
        benchmark::RegisterBenchmark(("hash_u64/" + name).c_str(), bm_hash_u64<H>);
    });
    bloom::for_each_policy([](auto policy) {
        using H = decltype(policy);
        const std::string name = bloom::hash_name<H>();
        benchmark::RegisterBenchmark(("positions_k4_seeded/" + name).c_str(), bm_positions<H>,
                                     bloom::derivation::seeded);
        benchmark::RegisterBenchmark(("positions_k4_double/" + name).c_str(), bm_positions<H>,
                                     bloom::derivation::double_hashing);
    });
    benchmark::RegisterBenchmark("positions_k4_spotlight/murmur3_32", bm_positions_spotlight);
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
