// Optimizer benchmarks (issue 3). Two questions:
//
// 1. Does a sparse step cost in proportion to the rows a batch touches, not to the table?
//    One step for a batch of 256 ids x k = 4 random rows (about 1024 row updates once duplicates
//    are merged), dim 64, float, on tables of 1e4 .. 1e7 rows, for SGD and Adam; next to it the
//    dense step of the same optimizer over the whole table.
//      sparse_step/<optimizer>/<rows>    dense_step/<optimizer>/<rows>
//
// 2. Does backward + sparse update of a row stay near the memory limit? Per row, compared with a
//    plain random-row axpy over the same table and the same rows:
//      axpy/<rows>                 table.row(r) += a * g for the batch's 1024 (row, gradient) pairs
//      merge_step/<rows>           build the row_sparse as an embedding backward does (gather the
//                                  1024 (row, gradient) pairs, sort by row (radix), sum
//                                  duplicates), then the sparse SGD step
//      ad_backward_step/<rows>     the autodiff embedding op (bloom/ad): forward, backward (its
//                                  row-sparse merge), sparse SGD step
//      ad_forward/<rows>           its forward alone, to subtract from the line above
//                                  (the ad lines are left out when <bloom/ad/sparse_ops.hpp> is
//                                  missing or BLOOM_BENCH_NO_AD is defined)
//    Every timing is per batch; the counter `row_ns` is nanoseconds per (id, hash) row term.
//
// Each benchmark cycles through 512 random batches (about 512K distinct rows, 128 MB of a large
// table), so successive steps touch different rows as training does; a handful of batches would
// stay in the last-level cache and flatter the large tables. The gradient values, unlike the rows,
// are shared by all batches: in training they were just written by the backward pass and are hot.
// So every batch of one size has the same number of rows: each is 256 ids x k = 4 uniform rows,
// duplicates merged, then cut to the smallest such count among the batches (a few rows fewer at
// 1e4, where duplicates are common). Tables are built once per size (the 1e7 x 64 float table is
// 2.5 GB; Adam's state doubles that) and shared by the benchmarks of that size, so run them in
// registration order.
//
// Counters: items_per_second are row updates (or row terms) per second; row_ns is nanoseconds
// per row (Google Benchmark prints it with an "s" suffix because it is an inverted rate).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>
#include <bloom/tensor.hpp>

#if __has_include(<bloom/ad/sparse_ops.hpp>) && !defined(BLOOM_BENCH_NO_AD)
#  include <bloom/ad/sparse_ops.hpp>
#  include <bloom/ad/tape.hpp>
#  define BLOOM_BENCH_HAVE_AD 1
#else
#  define BLOOM_BENCH_HAVE_AD 0
#endif

#include "bench_common.hpp"

namespace {

using scalar = float;
using mat = bloom::matrix<scalar>;

constexpr int ids_per_batch = 256;
constexpr int k = 4;
constexpr Eigen::Index dim = 64;
constexpr int batches = 512;
constexpr int terms = ids_per_batch * k;

std::uint32_t below(std::mt19937_64& rng, std::uint64_t n) {
    return static_cast<std::uint32_t>(((rng() >> 32) * n) >> 32);
}

// One batch: for id i its k rows positions[i*k .. i*k+k), and the sorted unique rows of those
// positions (the rows of the merged gradient).
struct batch {
    std::vector<std::uint32_t> positions;  // ids_per_batch * k
    std::vector<std::uint32_t> rows;       // sorted, unique
};

// Sorts keys (row << 32 | term) by row with an LSD radix sort on 11-bit digits of the row (stable,
// so equal rows keep term order and the sums below are deterministic). Passes above the largest
// row's digits are skipped: one to three passes over ~1024 keys, against ~10 compare levels for
// std::sort.
void radix_sort_rows(std::vector<std::uint64_t>& keys, std::vector<std::uint64_t>& tmp,
                     std::uint32_t max_row) {
    constexpr int bits = 11;
    constexpr std::size_t buckets = std::size_t{1} << bits;
    tmp.resize(keys.size());
    std::size_t count[buckets];
    for (int shift = 32; shift < 64 && (static_cast<std::uint64_t>(max_row) >> (shift - 32)) != 0;
         shift += bits) {
        std::fill(count, count + buckets, std::size_t{0});
        for (std::uint64_t key : keys) ++count[(key >> shift) & (buckets - 1)];
        std::size_t sum = 0;
        for (std::size_t& c : count) {
            const std::size_t n = c;
            c = sum;
            sum += n;
        }
        for (std::uint64_t key : keys) tmp[count[(key >> shift) & (buckets - 1)]++] = key;
        keys.swap(tmp);
    }
}

// The merge an embedding backward performs: gather the (row, id) pairs of the batch, sort them by
// row, and sum the gradient rows of equal rows into a row_sparse. `keys`, `tmp` and `out` keep
// their storage across calls.
void merge_rows(const std::uint32_t* positions, const mat& upstream, std::uint32_t max_row,
                std::vector<std::uint64_t>& keys, std::vector<std::uint64_t>& tmp,
                bloom::row_sparse<scalar>& out) {
    keys.resize(terms);
    for (int e = 0; e < terms; ++e)
        keys[static_cast<std::size_t>(e)] =
            (static_cast<std::uint64_t>(positions[e]) << 32) | static_cast<std::uint64_t>(e / k);
    radix_sort_rows(keys, tmp, max_row);
    std::size_t unique = 0;
    for (std::size_t e = 0; e < keys.size(); ++e)
        if (e == 0 || (keys[e] >> 32) != (keys[e - 1] >> 32)) ++unique;
    out.rows.resize(unique);
    out.values.resize(static_cast<Eigen::Index>(unique), dim);
    std::size_t o = 0;
    for (std::size_t e = 0; e < keys.size();) {
        const std::uint32_t r = static_cast<std::uint32_t>(keys[e] >> 32);
        auto dst = out.values.row(static_cast<Eigen::Index>(o));
        dst = upstream.row(static_cast<Eigen::Index>(keys[e] & 0xFFFFFFFFu));
        for (++e; e < keys.size() && (keys[e] >> 32) == r; ++e)
            dst += upstream.row(static_cast<Eigen::Index>(keys[e] & 0xFFFFFFFFu));
        out.rows[o++] = r;
    }
}

#if BLOOM_BENCH_HAVE_AD
// Row source for the ad embedding op: id i of the current batch reads positions[i*k .. +k).
struct batch_rows {
    const std::uint32_t* positions = nullptr;
    std::uint64_t table_rows = 0;
    std::uint32_t k() const noexcept { return ::k; }
    std::uint64_t rows() const noexcept { return table_rows; }
    void check(std::uint64_t) const {}
    void operator()(std::uint64_t id, std::uint32_t* out) const noexcept {
        std::copy(positions + id * ::k, positions + (id + 1) * ::k, out);
    }
};
using table_holder = bloom::ad::table_parameter<scalar>;
#else
struct table_holder {
    table_holder(Eigen::Index r, Eigen::Index c) : v(mat::Zero(r, c)) {}
    mat& value() { return v; }
    mat v;
};
#endif

// Everything for one table size, built once and shared by that size's benchmarks.
struct world {
    std::int64_t rows = 0;
    std::unique_ptr<table_holder> table;
    std::vector<batch> data;
    mat upstream;                     // ids_per_batch x dim: d loss / d embedding of each id
    bloom::row_sparse<scalar> grad;   // values shared by every batch; rows swapped in per step
    std::unique_ptr<mat> dense_grad;  // built on first use by a dense step
    std::unique_ptr<bloom::optim::sgd<scalar>> sgd;
    std::unique_ptr<bloom::optim::adam<scalar>> adam;

    mat& w() { return table->value(); }
    std::uint32_t max_row() const { return static_cast<std::uint32_t>(rows - 1); }
};

// Checks the merge once: rows sorted and unique, and every term kept (the value sums are k times
// the upstream's).
void check_merge(const bloom::row_sparse<scalar>& g, const mat& upstream) {
    const double want = static_cast<double>(k) * upstream.cast<double>().sum();
    const double got = g.values.cast<double>().sum();
    if (std::abs(got - want) > 1e-6 * std::abs(want) ||
        std::adjacent_find(g.rows.begin(), g.rows.end(), std::greater_equal<std::uint32_t>()) !=
            g.rows.end()) {
        std::fprintf(stderr, "bench_optim: the row merge is wrong\n");
        std::abort();
    }
}

world& get_world(std::int64_t rows) {
    static world wd;
    if (wd.rows == rows) return wd;
    wd = world{};  // free the previous size first
    wd.rows = rows;
    wd.table = std::make_unique<table_holder>(rows, dim);
    std::mt19937_64 rng(0xB100Du + static_cast<std::uint64_t>(rows));
    // Small non-zero values, written once (so every page is mapped before timing).
    scalar* p = wd.w().data();
    const Eigen::Index n = wd.w().size();
    for (Eigen::Index i = 0; i < n; ++i) p[i] = scalar(0.01) * static_cast<scalar>((i * 7) % 13);
    wd.upstream.resize(ids_per_batch, dim);
    for (Eigen::Index i = 0; i < wd.upstream.size(); ++i)
        wd.upstream.data()[i] = static_cast<scalar>(static_cast<double>(rng() >> 40) * 1e-9);

    std::vector<std::uint64_t> keys, tmp;
    bloom::row_sparse<scalar> merged;
    std::size_t nnz = terms;
    wd.data.resize(batches);
    for (batch& b : wd.data) {
        b.positions.resize(terms);
        for (auto& r : b.positions) r = below(rng, static_cast<std::uint64_t>(rows));
        merge_rows(b.positions.data(), wd.upstream, wd.max_row(), keys, tmp, merged);
        check_merge(merged, wd.upstream);
        b.rows = merged.rows;
        nnz = std::min(nnz, b.rows.size());
    }
    // Same row count in every batch, so one block of gradient values serves them all.
    for (batch& b : wd.data) b.rows.resize(nnz);
    wd.grad.values = merged.values.topRows(static_cast<Eigen::Index>(nnz));

    bloom::optim::sgd_config sc;
    sc.lr = 0.01;
    wd.sgd = std::make_unique<bloom::optim::sgd<scalar>>(sc, rows, dim);
    return wd;
}

bloom::optim::adam<scalar>& get_adam(world& wd) {
    if (!wd.adam) {
        bloom::optim::adam_config ac;
        ac.lr = 0.001;
        wd.adam = std::make_unique<bloom::optim::adam<scalar>>(ac, wd.rows, dim);  // 2x the table
    }
    return *wd.adam;
}

const mat& get_dense_grad(world& wd) {
    if (!wd.dense_grad) wd.dense_grad = std::make_unique<mat>(mat::Constant(wd.rows, dim, 1e-4f));
    return *wd.dense_grad;
}

double nnz(const world& wd) { return static_cast<double>(wd.grad.values.rows()); }

void per_row_counters(benchmark::State& state, double rows_per_iter) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows_per_iter));
    // kIsRate | kInvert reports seconds / value: counting rows in units of 1e9 gives ns per row.
    state.counters["row_ns"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * rows_per_iter * 1e-9,
        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// --- 1. sparse step vs dense step ------------------------------------------------------------

template <class Opt>
Opt& optimizer(world& wd);
template <>
bloom::optim::sgd<scalar>& optimizer(world& wd) { return *wd.sgd; }
template <>
bloom::optim::adam<scalar>& optimizer(world& wd) { return get_adam(wd); }

template <class Opt>
void sparse_step(benchmark::State& state) {
    world& wd = get_world(state.range(0));
    Opt& opt = optimizer<Opt>(wd);
    std::size_t b = 0;
    for (auto _ : state) {
        wd.grad.rows.swap(wd.data[b].rows);  // O(1): this batch's rows, the shared values
        opt.step(wd.w(), wd.grad);
        wd.grad.rows.swap(wd.data[b].rows);
        benchmark::ClobberMemory();
        b = (b + 1) % batches;
    }
    state.counters["nnz_rows"] = nnz(wd);
    state.counters["table_rows"] = static_cast<double>(wd.rows);
    per_row_counters(state, nnz(wd));
}

template <class Opt>
void dense_step(benchmark::State& state) {
    world& wd = get_world(state.range(0));
    Opt& opt = optimizer<Opt>(wd);
    const mat& g = get_dense_grad(wd);
    for (auto _ : state) {
        opt.step(wd.w(), g);
        benchmark::ClobberMemory();
    }
    state.counters["table_rows"] = static_cast<double>(wd.rows);
    per_row_counters(state, static_cast<double>(wd.rows));
}

// --- 2. backward + sparse update vs a plain axpy --------------------------------------------

void axpy(benchmark::State& state) {
    world& wd = get_world(state.range(0));
    mat& w = wd.w();
    const scalar a = scalar(-0.01);
    std::size_t b = 0;
    for (auto _ : state) {
        const batch& bt = wd.data[b];
        for (int e = 0; e < terms; ++e)
            w.row(bt.positions[static_cast<std::size_t>(e)]).noalias() +=
                a * wd.upstream.row(e / k);
        benchmark::ClobberMemory();
        b = (b + 1) % batches;
    }
    per_row_counters(state, terms);
}

void merge_step(benchmark::State& state) {
    world& wd = get_world(state.range(0));
    std::vector<std::uint64_t> keys, tmp;
    bloom::row_sparse<scalar> g;
    std::size_t b = 0;
    for (auto _ : state) {
        merge_rows(wd.data[b].positions.data(), wd.upstream, wd.max_row(), keys, tmp, g);
        wd.sgd->step(wd.w(), g);
        benchmark::ClobberMemory();
        b = (b + 1) % batches;
    }
    per_row_counters(state, terms);
}

#if BLOOM_BENCH_HAVE_AD
void ad_backward_step(benchmark::State& state) {
    world& wd = get_world(state.range(0));
    bloom::ad::tape<scalar> t;
    batch_rows src;
    src.table_rows = static_cast<std::uint64_t>(wd.rows);
    std::vector<std::uint32_t> ids(ids_per_batch);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::uint32_t>(i);
    std::size_t b = 0;
    for (auto _ : state) {
        src.positions = wd.data[b].positions.data();
        t.clear();
        const auto e = bloom::ad::embedding(t, *wd.table, src, ids);
        t.backward(e, wd.upstream);
        wd.sgd->step(wd.w(), wd.table->grad());
        wd.table->zero_grad();
        benchmark::ClobberMemory();
        b = (b + 1) % batches;
    }
    per_row_counters(state, terms);
}

void ad_forward(benchmark::State& state) {
    world& wd = get_world(state.range(0));
    bloom::ad::tape<scalar> t;
    batch_rows src;
    src.table_rows = static_cast<std::uint64_t>(wd.rows);
    std::vector<std::uint32_t> ids(ids_per_batch);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::uint32_t>(i);
    std::size_t b = 0;
    for (auto _ : state) {
        src.positions = wd.data[b].positions.data();
        t.clear();
        const auto e = bloom::ad::embedding(t, *wd.table, src, ids);
        benchmark::DoNotOptimize(t.value(e).data());
        benchmark::ClobberMemory();
        b = (b + 1) % batches;
    }
    per_row_counters(state, terms);
}
#endif

// Registration, grouped by table size so each table is built once.
const bool registered = [] {
    for (std::int64_t rows : {10000LL, 100000LL, 1000000LL, 10000000LL}) {
        using sgd_t = bloom::optim::sgd<scalar>;
        using adam_t = bloom::optim::adam<scalar>;
        benchmark::RegisterBenchmark("sparse_step/sgd", sparse_step<sgd_t>)
            ->Arg(rows)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark("dense_step/sgd", dense_step<sgd_t>)
            ->Arg(rows)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark("axpy", axpy)->Arg(rows)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark("merge_step", merge_step)
            ->Arg(rows)->Unit(benchmark::kMicrosecond);
#if BLOOM_BENCH_HAVE_AD
        benchmark::RegisterBenchmark("ad_backward_step", ad_backward_step)
            ->Arg(rows)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark("ad_forward", ad_forward)
            ->Arg(rows)->Unit(benchmark::kMicrosecond);
#endif
        benchmark::RegisterBenchmark("sparse_step/adam", sparse_step<adam_t>)
            ->Arg(rows)->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark("dense_step/adam", dense_step<adam_t>)
            ->Arg(rows)->Unit(benchmark::kMicrosecond);
    }
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
