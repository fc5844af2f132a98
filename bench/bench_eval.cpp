// Ranking evaluation: the per-user ranker (one scan, no sort) against a full stable sort, and the
// whole evaluation at ML-100K's shape (943 users, 1682 items, ~21 test items per user) by threads.
#include "bench_common.hpp"

#include <bloom/eval/evaluate.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace {

std::vector<float> random_scores(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0, 1);
    std::vector<float> s(n);
    for (auto& v : s) v = d(rng);
    return s;
}

std::vector<std::uint32_t> random_items(std::size_t count, std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint32_t> v(count);
    for (auto& i : v) i = static_cast<std::uint32_t>(rng() % n);
    return v;
}

// One user: copy the scores in, mask the train items, rank the test items. The scores cycle
// through 16 random vectors, so that branch predictors cannot learn one.
void BM_ranker(benchmark::State& st) {
    const auto n = static_cast<std::size_t>(st.range(0));
    const auto m = static_cast<std::size_t>(st.range(1));
    std::vector<std::vector<float>> scores;
    for (std::uint64_t v = 0; v < 16; ++v) scores.push_back(random_scores(n, 1 + v));
    const auto train = random_items(4 * m, n, 2), test = random_items(m, n, 3);
    bloom::eval::ranker r(n);
    std::size_t v = 0;
    for (auto _ : st) {
        const auto& s = scores[v++ % scores.size()];
        std::copy(s.begin(), s.end(), r.scores());
        r.rank(0, train.data(), train.size(), test.data(), test.size());
        benchmark::DoNotOptimize(r.ranks().data());
    }
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}
BENCHMARK(BM_ranker)
    ->Args({1682, 20})
    ->Args({10000, 20})
    ->Args({100000, 20})
    ->Args({10000, 200})
    ->Args({10000, 300})  // above ranker::count_max distinct items: the binary-search method
    ->Args({10000, 2000});

// The same user by a full stable sort of all items (what torch_mf.py's evaluate does).
void BM_full_sort(benchmark::State& st) {
    const auto n = static_cast<std::size_t>(st.range(0));
    const auto m = static_cast<std::size_t>(st.range(1));
    const auto scores = random_scores(n, 1);
    const auto train = random_items(4 * m, n, 2), test = random_items(m, n, 3);
    std::vector<float> s(n);
    std::vector<std::uint32_t> order(n);
    // (one score vector: a sort is not helped by branch prediction the way a scan is)
    std::vector<std::size_t> rank(n);
    for (auto _ : st) {
        std::copy(scores.begin(), scores.end(), s.begin());
        for (auto i : train) s[i] = -std::numeric_limits<float>::infinity();
        std::iota(order.begin(), order.end(), 0u);
        std::stable_sort(order.begin(), order.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return s[a] > s[b]; });
        for (std::size_t p = 0; p < n; ++p) rank[order[p]] = p + 1;
        std::size_t sum = 0;
        for (auto i : test) sum += rank[i];
        benchmark::DoNotOptimize(sum);
    }
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n));
}
BENCHMARK(BM_full_sort)->Args({1682, 20})->Args({10000, 20})->Args({100000, 20});

// Whole evaluation at ML-100K's shape; the scorer copies a precomputed row (so this measures
// the evaluation, not a model). Argument: threads.
void BM_evaluate_ml100k_shape(benchmark::State& st) {
    const std::size_t n_users = 943, n_items = 1682;
    const auto scores = random_scores(n_users * n_items, 4);
    std::mt19937_64 rng(5);
    std::vector<std::uint32_t> tu, ti, ru, ri;
    for (std::uint32_t u = 0; u < n_users; ++u) {
        for (int j = 0; j < 85; ++j) {
            ru.push_back(u);
            ri.push_back(static_cast<std::uint32_t>(rng() % n_items));
        }
        for (int j = 0; j < 21; ++j) {
            tu.push_back(u);
            ti.push_back(static_cast<std::uint32_t>(rng() % n_items));
        }
    }
    const auto train = bloom::eval::make_user_items(n_users, ru, ri);
    const auto test = bloom::eval::make_user_items(n_users, tu, ti);
    const auto scorer = [&](std::uint32_t u, float* out) {
        std::copy_n(scores.begin() + static_cast<std::ptrdiff_t>(u * n_items), n_items, out);
    };
    bloom::eval::ranking_options opt;
    opt.threads = static_cast<unsigned>(st.range(0));
    for (auto _ : st) {
        const auto r = bloom::eval::evaluate_ranking(scorer, n_items, train, test, opt);
        benchmark::DoNotOptimize(r.mrr);
    }
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * n_users));
}
BENCHMARK(BM_evaluate_ml100k_shape)->Arg(1)->Arg(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
