// evaluate_ranking: hand-computed averages, skipped users, threads (same bits for any count),
// a randomized cross-check against a full-sort reference, and every error path.
#include <catch2/catch.hpp>

#include <bloom/eval/evaluate.hpp>

#include "eval_test_util.hpp"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

using bloom::eval::evaluate_ranking;
using bloom::eval::ranking_options;
using bloom::eval::ranking_result;
using Catch::Matchers::Contains;
using eval_test::csr;

namespace {

// Scores from a table: scores[u] has n_items values.
struct table_scorer {
    const std::vector<std::vector<float>>* rows;
    void operator()(std::uint32_t u, float* out) const {
        const auto& r = (*rows)[u];
        std::copy(r.begin(), r.end(), out);
    }
};

ranking_options with(std::size_t k, unsigned threads, bool per_user = false) {
    ranking_options o;
    o.k = k;
    o.threads = threads;
    o.per_user = per_user;
    return o;
}

void check_same_bits(const ranking_result& a, const ranking_result& b) {
    CHECK(a.users == b.users);
    CHECK(a.test_items == b.test_items);
    CHECK(a.mrr == b.mrr);
    CHECK(a.precision == b.precision);
    CHECK(a.recall == b.recall);
    CHECK(a.ndcg == b.ndcg);
    CHECK(a.map == b.map);
    CHECK(a.map_at_k == b.map_at_k);
    CHECK(a.hit_rate == b.hit_rate);
    REQUIRE(a.per_user.size() == b.per_user.size());
    for (std::size_t i = 0; i < a.per_user.size(); ++i) {
        INFO("per-user entry " << i);
        CHECK(a.per_user[i].user == b.per_user[i].user);
        CHECK(a.per_user[i].rr == b.per_user[i].rr);
        CHECK(a.per_user[i].ndcg == b.per_user[i].ndcg);
        CHECK(a.per_user[i].ap == b.per_user[i].ap);
    }
}

// A random problem: scores with ties and infinities, train and test lists with overlaps and
// duplicates, some users without test items.
struct random_problem {
    std::size_t n_users, n_items;
    std::vector<std::vector<float>> scores;
    eval_test::lists train, test;

    random_problem(std::uint64_t seed, std::size_t users, std::size_t items)
        : n_users(users), n_items(items), scores(users), train(users), test(users) {
        std::mt19937_64 rng(seed);
        std::uniform_real_distribution<float> unif(-2, 2);
        for (std::size_t u = 0; u < users; ++u) {
            scores[u].resize(items);
            for (auto& v : scores[u]) {
                const auto c = rng() % 20;
                v = c == 0   ? -std::numeric_limits<float>::infinity()
                    : c == 1 ? std::numeric_limits<float>::infinity()
                    : c < 8  ? static_cast<float>(rng() % 3)
                             : unif(rng);
            }
            for (std::size_t i = 0, n = rng() % (items / 2 + 1); i < n; ++i)
                train[u].push_back(static_cast<std::uint32_t>(rng() % items));
            if (rng() % 5 != 0)
                for (std::size_t i = 0, n = 1 + rng() % 10; i < n; ++i)
                    test[u].push_back(static_cast<std::uint32_t>(rng() % items));
        }
    }
};

}  // namespace

TEST_CASE("evaluate_ranking: hand-computed example", "[eval][evaluate]") {
    // 4 users, 6 items, k = 2. User 1 has no test items and is skipped.
    // User 0, train {0}: order 3 2 4 5 1 | 0, test items 2 and 4 rank 2 and 3.
    // User 2, train {3}: order 0 1 2 4 5 | 3, test items 1 and 4 rank 2 and 4.
    // User 3, no train: test item 5 ranks 1.
    const std::vector<std::vector<float>> s = {
        {0.9f, 0.1f, 0.5f, 0.7f, 0.3f, 0.2f},
        {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
        {0.4f, 0.4f, 0.4f, 0.8f, 0.4f, 0.0f},
        {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f},
    };
    const auto train = csr({{0}, {1, 2}, {3}, {}});
    const auto test = csr({{2, 4}, {}, {1, 4}, {5}});
    const double d2 = 1.0 / std::log2(3.0);  // discount at rank 2

    for (unsigned threads : {1u, 2u}) {
        const auto r = evaluate_ranking(table_scorer{&s}, 6, train, test, with(2, threads, true));
        INFO("threads " << threads);
        CHECK(r.k == 2);
        CHECK(r.users == 3);
        CHECK(r.test_items == 5);
        // Per user: rr 5/12, 3/8, 1; P@2 1/2 each; R@2 1/2, 1/2, 1; NDCG@2 d2/(1+d2), d2/(1+d2), 1;
        // AP 7/12, 1/2, 1; AP@2 1/4, 1/4, 1.
        CHECK(r.mrr == Approx((5.0 / 12 + 3.0 / 8 + 1.0) / 3));
        CHECK(r.precision == Approx(0.5));
        CHECK(r.recall == Approx(2.0 / 3));
        CHECK(r.ndcg == Approx((2 * d2 / (1 + d2) + 1.0) / 3));
        CHECK(r.map == Approx((7.0 / 12 + 0.5 + 1.0) / 3));
        CHECK(r.map_at_k == Approx(0.5));
        CHECK(r.hit_rate == 1.0);
        REQUIRE(r.per_user.size() == 3);
        CHECK(r.per_user[0].user == 0);
        CHECK(r.per_user[1].user == 2);
        CHECK(r.per_user[2].user == 3);
        CHECK(r.per_user[0].rr == Approx(5.0 / 12));
        CHECK(r.per_user[1].rr == Approx(3.0 / 8));
        CHECK(r.per_user[1].ap == Approx(0.5));
        CHECK(r.per_user[2].ndcg == Approx(1.0));
    }
    // Without the training items excluded, user 0's item 0 (0.9) ranks first.
    const auto plain = evaluate_ranking(table_scorer{&s}, 6, {}, test, with(2, 1, true));
    CHECK(plain.per_user[0].rr == Approx((1.0 / 3 + 1.0 / 4) / 2));  // order 0 3 2 4 5 1
    CHECK(plain.per_user[0].hits == 0);
    CHECK(plain.per_user[1].rr == Approx((1.0 / 3 + 1.0 / 5) / 2));  // order 3 0 1 2 4 5
}

TEST_CASE("evaluate_ranking: k larger than the catalogue", "[eval][evaluate]") {
    const std::vector<std::vector<float>> s = {{0.1f, 0.2f, 0.3f}};
    const auto r = evaluate_ranking(table_scorer{&s}, 3, {}, csr({{0}}), with(10, 1));
    CHECK(r.mrr == Approx(1.0 / 3));
    CHECK(r.precision == Approx(0.1));  // hits / k, as torch_mf.py and Spotlight compute it
    CHECK(r.recall == 1.0);
    CHECK(r.ndcg == Approx(0.5));  // 1/log2(4) over an ideal DCG of 1
    CHECK(r.map_at_k == Approx(1.0 / 3));
    CHECK(r.hit_rate == 1.0);
}

TEST_CASE("evaluate_ranking: double scores", "[eval][evaluate]") {
    const auto scorer = [](std::uint32_t u, double* out) {
        for (int i = 0; i < 4; ++i) out[i] = (i == static_cast<int>(u)) ? 1.0 : 0.0;
    };
    const auto r = evaluate_ranking<double>(scorer, 4, {}, csr({{0}, {0}}), with(1, 1));
    CHECK(r.mrr == Approx((1.0 + 0.5) / 2));  // user 1: order 1 0 2 3
    CHECK(r.precision == Approx(0.5));
}

TEST_CASE("evaluate_ranking: the scorer is called once per user with test items",
          "[eval][evaluate]") {
    const std::size_t n_users = 300;
    eval_test::lists test(n_users);
    for (std::size_t u = 0; u < n_users; ++u)
        if (u % 3 != 0) test[u] = {static_cast<std::uint32_t>(u % 7)};
    auto calls = std::make_unique<std::atomic<int>[]>(n_users);
    for (std::size_t u = 0; u < n_users; ++u) calls[u] = 0;
    const auto scorer = [&](std::uint32_t u, float* out) {
        ++calls[u];
        for (int i = 0; i < 7; ++i) out[i] = static_cast<float>(i);
    };
    const auto r = evaluate_ranking(scorer, 7, {}, csr(test), with(3, 4));
    CHECK(r.users == 200);
    CHECK(r.threads == 4);
    for (std::size_t u = 0; u < n_users; ++u) {
        INFO("user " << u);
        CHECK(calls[u].load() == (u % 3 != 0 ? 1 : 0));
    }
}

TEST_CASE("evaluate_ranking: identical results for any number of threads", "[eval][evaluate]") {
    const random_problem p(3, 1000, 50);
    const auto train = csr(p.train), test = csr(p.test);
    const auto one =
        evaluate_ranking(table_scorer{&p.scores}, p.n_items, train, test, with(5, 1, true));
    CHECK(one.threads == 1);
    CHECK(one.users > 700);
    for (unsigned t : {2u, 3u, 4u, 7u, 0u}) {
        INFO("threads " << t);
        const auto many =
            evaluate_ranking(table_scorer{&p.scores}, p.n_items, train, test, with(5, t, true));
        check_same_bits(one, many);
    }
    // Fewer blocks than threads: the thread count is capped.
    const auto small = evaluate_ranking(table_scorer{&p.scores}, p.n_items, csr({p.train[0]}),
                                        csr({{1}}), with(5, 4));
    CHECK(small.threads == 1);
}

TEST_CASE("evaluate_ranking: equals a full-sort reference on random problems", "[eval][evaluate]") {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        std::mt19937_64 rng(100 + seed);
        const std::size_t n_users = 1 + rng() % 150, n_items = 1 + rng() % 60;
        const std::size_t k = 1 + rng() % (n_items + 3);
        const random_problem p(seed, n_users, n_items);
        bool any_test = false;
        for (const auto& t : p.test) any_test = any_test || !t.empty();
        if (!any_test) continue;
        const auto r = evaluate_ranking(table_scorer{&p.scores}, n_items, csr(p.train), csr(p.test),
                                        with(k, 2, true));
        INFO("seed " << seed << ": " << n_users << " users, " << n_items << " items, k = " << k);
        double mrr = 0, prec = 0, rec = 0, ndcg = 0, map = 0, map_k = 0, hit = 0;
        std::size_t users = 0;
        for (std::uint32_t u = 0; u < n_users; ++u) {
            if (p.test[u].empty()) continue;
            const auto w = eval_test::brute_force(p.scores[u], p.train[u], p.test[u], k, u);
            REQUIRE(users < r.per_user.size());
            const auto& g = r.per_user[users++];
            CHECK(g.user == u);
            CHECK(g.n_test == w.n_test);
            CHECK(g.hits == w.hits);
            CHECK(g.rr == Approx(w.rr));
            CHECK(g.ndcg == Approx(w.ndcg));
            CHECK(g.ap == Approx(w.ap));
            CHECK(g.ap_at_k == Approx(w.ap_at_k));
            mrr += w.rr;
            prec += w.precision;
            rec += w.recall;
            ndcg += w.ndcg;
            map += w.ap;
            map_k += w.ap_at_k;
            hit += w.hit;
        }
        const double n = static_cast<double>(users);
        CHECK(r.users == users);
        CHECK(r.mrr == Approx(mrr / n));
        CHECK(r.precision == Approx(prec / n));
        CHECK(r.recall == Approx(rec / n));
        CHECK(r.ndcg == Approx(ndcg / n));
        CHECK(r.map == Approx(map / n));
        CHECK(r.map_at_k == Approx(map_k / n));
        CHECK(r.hit_rate == Approx(hit / n));
    }
}

TEST_CASE("evaluate_ranking: NaN scores name the user and the item", "[eval][evaluate]") {
    const std::size_t n_users = 400, n_items = 20;
    eval_test::lists test(n_users, {3});
    // Users 150 and 333 produce a NaN (at items 7 and 2); the error is always user 150's.
    const auto scorer = [&](std::uint32_t u, float* out) {
        for (std::size_t i = 0; i < n_items; ++i) out[i] = static_cast<float>(i);
        if (u == 150) out[7] = std::numeric_limits<float>::quiet_NaN();
        if (u == 333) out[2] = std::numeric_limits<float>::quiet_NaN();
    };
    for (unsigned t : {1u, 4u}) {
        INFO("threads " << t);
        CHECK_THROWS_AS(evaluate_ranking(scorer, n_items, {}, csr(test), with(5, t)),
                        bloom::invalid_argument);
        CHECK_THROWS_WITH(evaluate_ranking(scorer, n_items, {}, csr(test), with(5, t)),
                          Contains("user 150") && Contains("item 7") && Contains("NaN"));
    }
}

TEST_CASE("evaluate_ranking: a scorer's exception reaches the caller", "[eval][evaluate]") {
    eval_test::lists test(300, {0});
    const auto scorer = [](std::uint32_t u, float* out) {
        if (u >= 77 && u % 2 == 1) throw std::runtime_error("model failed at " + std::to_string(u));
        out[0] = out[1] = 0;
    };
    for (unsigned t : {1u, 4u}) {
        INFO("threads " << t);
        CHECK_THROWS_AS(evaluate_ranking(scorer, 2, {}, csr(test), with(1, t)), std::runtime_error);
        CHECK_THROWS_WITH(evaluate_ranking(scorer, 2, {}, csr(test), with(1, t)),
                          "model failed at 77");
    }
}

TEST_CASE("evaluate_ranking: bad arguments", "[eval][evaluate]") {
    const std::vector<std::vector<float>> s(3, std::vector<float>(5, 0.0f));
    const table_scorer sc{&s};
    const auto test = csr({{1}, {2}, {}});
    const auto train = csr({{0}, {}, {4}});

    CHECK_THROWS_WITH(evaluate_ranking(sc, 5, train, test, with(0, 1)),
                      Contains("k must be at least 1"));
    CHECK_THROWS_AS(evaluate_ranking(sc, 0, train, test, with(3, 1)), bloom::invalid_argument);
    // Item ids out of range name the list, the user and the item.
    CHECK_THROWS_AS(evaluate_ranking(sc, 5, train, csr({{1}, {5}, {}}), with(3, 1)),
                    bloom::out_of_range);
    CHECK_THROWS_WITH(
        evaluate_ranking(sc, 5, train, csr({{1}, {5}, {}}), with(3, 1)),
        Contains("test items") && Contains("item 5 of user 1") && Contains("n_items = 5"));
    CHECK_THROWS_WITH(evaluate_ranking(sc, 5, csr({{0}, {}, {9}}), test, with(3, 1)),
                      Contains("train items") && Contains("item 9 of user 2"));
    // Train and test must cover the same users.
    CHECK_THROWS_WITH(evaluate_ranking(sc, 5, csr({{0}, {}}), test, with(3, 1)),
                      Contains("train items cover 2 users but test items cover 3"));
    // Malformed CSR.
    auto bad = test;
    bad.offsets[0] = 1;
    CHECK_THROWS_WITH(evaluate_ranking(sc, 5, train, bad, with(3, 1)), Contains("offsets[0]"));
    bad = test;
    bad.offsets.back() = 7;
    CHECK_THROWS_WITH(evaluate_ranking(sc, 5, train, bad, with(3, 1)), Contains("last offset"));
    bad = test;
    bad.offsets = {0, 2, 1, 2};
    CHECK_THROWS_WITH(evaluate_ranking(sc, 5, train, bad, with(3, 1)),
                      Contains("offsets decrease at user 1"));
    // Nobody to evaluate.
    CHECK_THROWS_WITH(evaluate_ranking(sc, 5, train, csr({{}, {}, {}}), with(3, 1)),
                      Contains("no user has test items"));
    CHECK_THROWS_AS(evaluate_ranking(sc, 5, {}, {}, with(3, 1)), bloom::invalid_argument);
}

TEST_CASE("evaluate_ranking: the example of docs/evaluation.md", "[eval][evaluate][docs]") {
    // Three users, four items; the scorer prefers higher item ids.
    const std::vector<std::uint32_t> train_users = {0, 0, 1}, train_items = {3, 1, 2};
    const std::vector<std::uint32_t> test_users = {0, 1, 1}, test_items = {2, 3, 0};
    const std::size_t n_users = 3, n_items = 4;
    const auto train = bloom::eval::make_user_items(n_users, train_users, train_items);
    const auto test = bloom::eval::make_user_items(n_users, test_users, test_items);
    const auto scorer = [](std::uint32_t /*user*/, float* scores) {
        for (std::uint32_t i = 0; i < 4; ++i) scores[i] = static_cast<float>(i);
    };
    bloom::eval::ranking_options opt;
    opt.k = 1;
    opt.threads = 0;  // every core
    const bloom::eval::ranking_result r =
        bloom::eval::evaluate_ranking(scorer, n_items, train, test, opt);
    // User 0: order 2 0 | 1 3, item 2 ranks 1. User 1: order 3 1 0 | 2, items 3 and 0 rank 1, 3.
    CHECK(r.users == 2);
    CHECK(r.mrr == Approx((1.0 + (1.0 + 1.0 / 3) / 2) / 2));
    CHECK(r.precision == Approx(1.0));
    CHECK(r.recall == Approx((1.0 + 0.5) / 2));
}
