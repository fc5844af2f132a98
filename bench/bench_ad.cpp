// The autodiff tape against the GEMMs it is made of.
//
// BM_mlp_step/m       one training step of the MLP 256 -> 256 (relu) -> m on a batch of 256 through
//                     the tape: forward, softmax cross-entropy on Bloom-encoded targets (CSR), and
//                     backward into W1, b1, W2, b2 and the input (so backward does 4 GEMMs).
// BM_mlp_step_sum/m   the same with sum(logits) as the loss: the tape's overhead without the
//                     softmax pass.
// BM_plain_gemm/m     the six GEMMs of that step written directly with Eigen (forward 2, backward
//                     4), same shapes and scalar type, no tape.
//
// All report FLOP/s counting the six GEMMs only (2 n k m each), so the ratio of the tape's rate to
// BM_plain_gemm's is the share of time the tape spends in GEMMs.
//
// The sparse path, on tables of 10^4 .. 10^6 rows of dim 64:
// BM_embedding_step/rows  256 ids -> k = 4 Bloom rows each, summed, through the tape: forward,
//                         backward into a row-sparse gradient (push, sort, merge), then a plain
//                         SGD update of the touched rows.
// BM_random_axpy/rows     the memory floor: 1024 random-row axpy updates of the same table.
// Both report rows/s (rows updated: the id-row pairs for the embedding, the axpys for the floor).
#include "bench_common.hpp"

#include <cstdint>
#include <random>
#include <vector>

#include <bloom/ad/losses.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/ad/sparse_ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/nn/mlp.hpp>

namespace {

namespace ad = bloom::ad;
namespace nn = bloom::nn;
using fmat = bloom::matrix<float>;

constexpr Eigen::Index batch = 256, in_dim = 256, hidden = 256;

double gemm_flops(Eigen::Index m) {
    const double fwd = 2.0 * batch * (static_cast<double>(in_dim) * hidden +
                                      static_cast<double>(hidden) * static_cast<double>(m));
    return 3.0 * fwd;  // forward 2 GEMMs, backward 4 GEMMs of the same sizes
}

void set_counters(benchmark::State& state, Eigen::Index m) {
    state.counters["FLOP/s"] =
        benchmark::Counter(gemm_flops(m), benchmark::Counter::kIsIterationInvariantRate);
}

// Bloom-encoded output targets: 5 items x k = 4 positions per example.
void make_targets(Eigen::Index m, std::vector<std::uint32_t>& off,
                  std::vector<std::uint32_t>& pos) {
    std::mt19937_64 rng(7);
    off.assign(1, 0);
    pos.clear();
    for (Eigen::Index i = 0; i < batch; ++i) {
        for (int e = 0; e < 20; ++e)
            pos.push_back(static_cast<std::uint32_t>(rng() % static_cast<std::uint64_t>(m)));
        off.push_back(static_cast<std::uint32_t>(pos.size()));
    }
}

template <bool SoftmaxLoss>
void mlp_step(benchmark::State& state) {
    const Eigen::Index m = state.range(0);
    std::mt19937_64 rng(1);
    auto net = nn::mlp<float>::builder(in_dim)
                   .dense(hidden, nn::activation::relu)
                   .dense(m)
                   .build(rng);
    const fmat x = fmat::Random(batch, in_dim);
    std::vector<std::uint32_t> off, pos;
    make_targets(m, off, pos);
    const auto targets = ad::make_csr<float>(off, pos);
    ad::tape<float> t;
    for (auto _ : state) {
        t.clear();
        const ad::var in = t.variable(x);
        const ad::var logits = net(t, in);
        const ad::var loss = SoftmaxLoss ? ad::softmax_cross_entropy(t, logits, targets)
                                         : ad::sum(t, logits);
        t.backward(loss);
        benchmark::DoNotOptimize(net.layer(0).weight().grad().data());
        benchmark::DoNotOptimize(t.grad(in).data());
        net.zero_grad();
        benchmark::ClobberMemory();
    }
    set_counters(state, m);
}

void BM_mlp_step(benchmark::State& state) { mlp_step<true>(state); }
void BM_mlp_step_sum(benchmark::State& state) { mlp_step<false>(state); }

void BM_plain_gemm(benchmark::State& state) {
    const Eigen::Index m = state.range(0);
    const fmat x = fmat::Random(batch, in_dim);
    const fmat w1 = fmat::Random(in_dim, hidden);
    const fmat w2 = fmat::Random(hidden, m);
    const fmat dy = fmat::Random(batch, m);
    fmat h(batch, hidden), y(batch, m), dw2(hidden, m), dh(batch, hidden), dw1(in_dim, hidden),
        dx(batch, in_dim);
    for (auto _ : state) {
        h.noalias() = x * w1;
        y.noalias() = h * w2;
        dw2.noalias() = h.transpose() * dy;
        dh.noalias() = dy * w2.transpose();
        dw1.noalias() = x.transpose() * dh;
        dx.noalias() = dh * w1.transpose();
        benchmark::DoNotOptimize(y.data());
        benchmark::DoNotOptimize(dw2.data());
        benchmark::DoNotOptimize(dw1.data());
        benchmark::DoNotOptimize(dx.data());
        benchmark::ClobberMemory();
    }
    set_counters(state, m);
}

constexpr Eigen::Index emb_dim = 64;
constexpr std::size_t emb_batch = 256;
constexpr std::uint32_t emb_k = 4;

void BM_embedding_step(benchmark::State& state) {
    const auto rows = static_cast<std::uint64_t>(state.range(0));
    bloom::spec_config cfg;
    cfg.m = rows;
    cfg.k = emb_k;
    const ad::spec_rows<bloom::murmur3_32> source(cfg);
    ad::table_parameter<float> table(fmat::Random(static_cast<Eigen::Index>(rows), emb_dim));
    std::mt19937_64 rng(3);
    std::vector<std::uint32_t> ids(emb_batch);
    ad::tape<float> t;
    const float lr = 0.01f;
    for (auto _ : state) {
        for (auto& id : ids) id = static_cast<std::uint32_t>(rng() >> 40);  // fresh ids per step
        t.clear();
        const ad::var e = ad::embedding(t, table, source, ids);
        t.backward(ad::sum(t, e));
        const auto& g = table.grad();
        for (std::size_t i = 0; i < g.rows.size(); ++i)
            table.value().row(g.rows[i]) -= lr * g.values.row(static_cast<Eigen::Index>(i));
        table.zero_grad();
        benchmark::ClobberMemory();
    }
    state.counters["rows/s"] = benchmark::Counter(static_cast<double>(emb_batch * emb_k),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

void BM_random_axpy(benchmark::State& state) {
    const auto rows = static_cast<std::uint64_t>(state.range(0));
    fmat table = fmat::Random(static_cast<Eigen::Index>(rows), emb_dim);
    const fmat grad = fmat::Random(1, emb_dim);
    std::mt19937_64 rng(3);
    std::vector<std::uint32_t> pick(emb_batch * emb_k);
    for (auto _ : state) {
        for (auto& r : pick) r = static_cast<std::uint32_t>(rng() % rows);
        for (std::uint32_t r : pick) table.row(r) -= 0.01f * grad;
        benchmark::ClobberMemory();
    }
    state.counters["rows/s"] = benchmark::Counter(static_cast<double>(pick.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_embedding_step)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_random_axpy)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_plain_gemm)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mlp_step)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mlp_step_sum)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
