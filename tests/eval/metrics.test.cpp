// Per-user metrics: hand-computed values from ranks, and the ranker's ranks (train exclusion,
// ties, duplicates, NaN) against hand-made orders and a full-sort reference.
#include <catch2/catch.hpp>

#include <bloom/eval/metrics.hpp>

#include "eval_test_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

using bloom::eval::basic_ranker;
using bloom::eval::metrics_from_ranks;
using bloom::eval::ranker;
using Catch::Matchers::Contains;

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();
const double l3 = 1.0 / std::log2(3.0);  // discount of rank 2
const double l4 = 1.0 / std::log2(4.0);  // discount of rank 3 (= 0.5)

std::vector<std::size_t> rank_of(ranker& r, const std::vector<float>& scores,
                                 const std::vector<std::uint32_t>& train,
                                 const std::vector<std::uint32_t>& test, std::uint32_t user = 0) {
    std::copy(scores.begin(), scores.end(), r.scores());
    r.rank(user, train.data(), train.size(), test.data(), test.size());
    return r.ranks();
}
}  // namespace

TEST_CASE("metrics_from_ranks: hand-computed values", "[eval][metrics]") {
    SECTION("ranks 1, 3, 6 at k = 5") {
        const auto m = metrics_from_ranks({1, 3, 6}, 5, 7);
        CHECK(m.user == 7);
        CHECK(m.n_test == 3);
        CHECK(m.hits == 2);
        CHECK(m.rr == Approx((1.0 + 1.0 / 3 + 1.0 / 6) / 3));  // 0.5
        CHECK(m.rr == Approx(0.5));
        CHECK(m.precision == Approx(2.0 / 5));
        CHECK(m.recall == Approx(2.0 / 3));
        CHECK(m.ndcg == Approx((1.0 + l4) / (1.0 + l3 + l4)));
        CHECK(m.ap == Approx((1.0 / 1 + 2.0 / 3 + 3.0 / 6) / 3));  // 13/18
        CHECK(m.ap_at_k == Approx((1.0 / 1 + 2.0 / 3) / 3));       // min(k, m) = 3
        CHECK(m.hit == 1.0);
    }
    SECTION("no hit in the top k") {
        const auto m = metrics_from_ranks({2}, 1);
        CHECK(m.hits == 0);
        CHECK(m.rr == Approx(0.5));
        CHECK(m.precision == 0.0);
        CHECK(m.recall == 0.0);
        CHECK(m.ndcg == 0.0);
        CHECK(m.ap == Approx(0.5));
        CHECK(m.ap_at_k == 0.0);
        CHECK(m.hit == 0.0);
    }
    SECTION("a perfect ranking") {
        const auto m = metrics_from_ranks({1, 2}, 10);
        CHECK(m.rr == Approx(0.75));
        CHECK(m.precision == Approx(0.2));  // divided by k, not by the number of test items
        CHECK(m.recall == 1.0);
        CHECK(m.ndcg == Approx(1.0));
        CHECK(m.ap == 1.0);
        CHECK(m.ap_at_k == 1.0);
    }
    SECTION("ideal DCG over min(k, m): more test items than k") {
        const auto m = metrics_from_ranks({1, 2, 3, 4}, 2);
        CHECK(m.ndcg == Approx(1.0));
        CHECK(m.precision == 1.0);
        CHECK(m.recall == Approx(0.5));
        CHECK(m.ap_at_k == 1.0);  // (1/1 + 2/2) / min(2, 4)
    }
}

TEST_CASE("metrics_from_ranks: bad input", "[eval][metrics]") {
    CHECK_THROWS_AS(metrics_from_ranks({1}, 0), bloom::invalid_argument);
    CHECK_THROWS_WITH(metrics_from_ranks({1}, 0), Contains("k must be at least 1"));
    CHECK_THROWS_WITH(metrics_from_ranks(std::vector<std::size_t>{}, 3, 4),
                      Contains("user 4 has no test items"));
    CHECK_THROWS_AS(metrics_from_ranks({0, 2}, 3), bloom::invalid_argument);
    CHECK_THROWS_AS(metrics_from_ranks({3, 3}, 3), bloom::invalid_argument);
    CHECK_THROWS_WITH(metrics_from_ranks({4, 2}, 3), Contains("strictly increasing"));
}

TEST_CASE("ranker: ranks among all items, highest score first", "[eval][ranker]") {
    ranker r(6);
    // Order: 3 (0.7), 0 (0.6), 2 (0.5), 4 (0.3), 5 (0.2), 1 (0.1).
    const std::vector<float> s = {0.6f, 0.1f, 0.5f, 0.7f, 0.3f, 0.2f};
    CHECK(rank_of(r, s, {}, {2, 4}) == std::vector<std::size_t>{3, 4});
    CHECK(r.ranked_items() == std::vector<std::uint32_t>{2, 4});
    CHECK(rank_of(r, s, {}, {1, 3}) == std::vector<std::size_t>{1, 6});
    CHECK(r.ranked_items() == std::vector<std::uint32_t>{3, 1});
    CHECK(rank_of(r, s, {}, {0, 1, 2, 3, 4, 5}) == std::vector<std::size_t>{1, 2, 3, 4, 5, 6});
    CHECK(r.ranked_items() == std::vector<std::uint32_t>{3, 0, 2, 4, 5, 1});
}

TEST_CASE("ranker: training items are excluded (sink below every other item)", "[eval][ranker]") {
    ranker r(6);
    const std::vector<float> s = {0.6f, 0.1f, 0.5f, 0.7f, 0.3f, 0.2f};
    // Without exclusion item 2 is third; excluding 3 and 0 lifts it to first.
    CHECK(rank_of(r, s, {}, {2}) == std::vector<std::size_t>{3});
    CHECK(rank_of(r, s, {3, 0}, {2}) == std::vector<std::size_t>{1});
    CHECK(rank_of(r, s, {3, 0}, {1}) == std::vector<std::size_t>{4});
    CHECK(r.scores()[3] == -inf);
    CHECK(r.scores()[0] == -inf);
    // A test item that is also a training item is ranked with the masked score, among the
    // masked items by id (Spotlight and torch_mf.py do the same): order 2 4 5 1 | 0 3.
    CHECK(rank_of(r, s, {3, 0}, {3, 4}) == std::vector<std::size_t>{2, 6});
    CHECK(rank_of(r, s, {3, 0}, {0}) == std::vector<std::size_t>{5});
}

TEST_CASE("ranker: ties go to the lower item id", "[eval][ranker]") {
    ranker r(6);
    const std::vector<float> flat(6, 0.0f);
    CHECK(rank_of(r, flat, {}, {4}) == std::vector<std::size_t>{5});
    CHECK(rank_of(r, flat, {1}, {3}) == std::vector<std::size_t>{3});  // 0 2 3 4 5 | 1
    const std::vector<float> s = {0.4f, 0.4f, 0.4f, 0.8f, 0.4f, 0.0f};
    CHECK(rank_of(r, s, {3}, {1, 4}) == std::vector<std::size_t>{2, 4});  // 0 1 2 4 5 | 3
    // -0 and +0 are the same score.
    const std::vector<float> z = {0.0f, -0.0f, 0.0f, -0.0f};
    ranker r4(4);
    CHECK(rank_of(r4, z, {}, {3, 1}) == std::vector<std::size_t>{2, 4});
    // A test item scored -inf ties with the training items and is ordered with them by id.
    const std::vector<float> t = {-inf, 0.0f, 0.0f, 0.0f};
    CHECK(rank_of(r4, t, {2}, {0}) == std::vector<std::size_t>{3});  // 1 3 | 0 2
    // +inf is a score like any other.
    const std::vector<float> p = {1.0f, inf, inf, 2.0f};
    CHECK(rank_of(r4, p, {}, {2, 0}) == std::vector<std::size_t>{2, 4});
}

TEST_CASE("ranker: duplicate test items count once", "[eval][ranker]") {
    ranker r(6);
    const std::vector<float> s = {0.6f, 0.1f, 0.5f, 0.7f, 0.3f, 0.2f};
    CHECK(rank_of(r, s, {}, {4, 2, 4, 2, 2}) == std::vector<std::size_t>{3, 4});
    CHECK(r.ranked_items() == std::vector<std::uint32_t>{2, 4});
}

TEST_CASE("ranker: a NaN score is an error naming the user and the item", "[eval][ranker]") {
    ranker r(5);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> s = {0.5f, 0.1f, nan, 0.3f, 0.2f};
    // NaN on an ordinary item, whether it would rank above or below the test items.
    CHECK_THROWS_AS(rank_of(r, s, {}, {0}, 9), bloom::invalid_argument);
    CHECK_THROWS_WITH(rank_of(r, s, {}, {0}, 9),
                      Contains("item 2") && Contains("user 9") && Contains("NaN"));
    CHECK_THROWS_WITH(rank_of(r, s, {}, {4}, 9), Contains("item 2") && Contains("user 9"));
    // On a test item, and on a training item (before it is masked).
    CHECK_THROWS_WITH(rank_of(r, s, {}, {2}, 3), Contains("item 2") && Contains("user 3"));
    CHECK_THROWS_WITH(rank_of(r, s, {2}, {0}, 3), Contains("item 2") && Contains("user 3"));
    // Several NaNs: the lowest item is named.
    std::vector<float> two = {0.5f, nan, 0.1f, nan, 0.2f};
    CHECK_THROWS_WITH(rank_of(r, two, {}, {0}, 1), Contains("item 1 ") && Contains("user 1"));
    // No test item at all.
    CHECK_THROWS_WITH(rank_of(r, {0, 0, 0, 0, 0}, {}, {}, 6), Contains("user 6 has no test items"));
}

TEMPLATE_TEST_CASE("ranker: ranks equal a full stable sort on random scores with ties",
                   "[eval][ranker]", float, double) {
    using S = TestType;
    std::mt19937_64 rng(11);
    for (int trial = 0; trial < 300; ++trial) {
        const std::size_t n = 1 + rng() % 80;
        std::vector<S> s(n);
        for (auto& v : s) {
            const auto c = rng() % 10;
            v = c == 0   ? -std::numeric_limits<S>::infinity()
                : c == 1 ? std::numeric_limits<S>::infinity()
                : c < 5  ? S(static_cast<int>(rng() % 4)) / 4  // few distinct values: many ties
                         : std::uniform_real_distribution<S>(-1, 1)(rng);
        }
        std::vector<std::uint32_t> train, test;
        for (std::size_t i = 0, nt = rng() % (n + 1); i < nt; ++i)
            train.push_back(static_cast<std::uint32_t>(rng() % n));
        for (std::size_t i = 0, nt = 1 + rng() % 12; i < nt; ++i)
            test.push_back(static_cast<std::uint32_t>(rng() % n));
        const std::size_t k = 1 + rng() % (n + 4);

        basic_ranker<S> r(n);
        std::copy(s.begin(), s.end(), r.scores());
        r.rank(5, train.data(), train.size(), test.data(), test.size());
        const auto got = metrics_from_ranks(r.ranks(), k, 5);
        const auto want = eval_test::brute_force(s, train, test, k, 5);
        INFO("trial " << trial << ", n = " << n << ", k = " << k);
        CHECK(got.n_test == want.n_test);
        CHECK(got.hits == want.hits);
        CHECK(got.rr == Approx(want.rr));
        CHECK(got.precision == Approx(want.precision));
        CHECK(got.recall == Approx(want.recall));
        CHECK(got.ndcg == Approx(want.ndcg));
        CHECK(got.ap == Approx(want.ap));
        CHECK(got.ap_at_k == Approx(want.ap_at_k));
        CHECK(got.hit == want.hit);
    }
}

TEMPLATE_TEST_CASE("ranker: many test items (the binary-search method) equal a full sort",
                   "[eval][ranker]", float, double) {
    using S = TestType;
    std::mt19937_64 rng(12);
    for (int trial = 0; trial < 12; ++trial) {
        const std::size_t n = 600 + rng() % 1500;
        std::vector<S> s(n);
        for (auto& v : s) {
            const auto c = rng() % 10;
            v = c == 0  ? -std::numeric_limits<S>::infinity()
                : c < 5 ? S(static_cast<int>(rng() % 8))
                        : std::uniform_real_distribution<S>(-4, 4)(rng);
        }
        std::vector<std::uint32_t> train, test;
        for (std::size_t i = 0, nt = rng() % n; i < nt; ++i)
            train.push_back(static_cast<std::uint32_t>(rng() % n));
        std::vector<std::uint32_t> all(n);  // 300..599 distinct items, then some repeated
        std::iota(all.begin(), all.end(), 0u);
        std::shuffle(all.begin(), all.end(), rng);
        test.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(300 + rng() % 300));
        for (int i = 0; i < 20; ++i) test.push_back(test[rng() % test.size()]);
        const std::size_t k = 1 + rng() % 400;

        basic_ranker<S> r(n);
        std::copy(s.begin(), s.end(), r.scores());
        r.rank(2, train.data(), train.size(), test.data(), test.size());
        INFO("trial " << trial << ", n = " << n << ", m = " << r.ranks().size() << ", k = " << k);
        REQUIRE(r.ranks().size() > basic_ranker<S>::count_max);
        const auto got = metrics_from_ranks(r.ranks(), k, 2);
        const auto want = eval_test::brute_force(s, train, test, k, 2);
        CHECK(got.n_test == want.n_test);
        CHECK(got.hits == want.hits);
        CHECK(got.rr == Approx(want.rr));
        CHECK(got.ndcg == Approx(want.ndcg));
        CHECK(got.ap == Approx(want.ap));
        CHECK(got.ap_at_k == Approx(want.ap_at_k));
    }
}

TEST_CASE("ranker: both methods give the same ranks and order", "[eval][ranker]") {
    // The same scores ranked with m = count_max (counting) and m = count_max + 1 (search): the
    // shared test items keep their relative ranks, and ranked_items() is in ranking order.
    const std::size_t n = 2000;
    std::mt19937_64 rng(13);
    std::vector<float> s(n);
    for (auto& v : s) v = static_cast<float>(rng() % 50);  // heavy ties
    std::vector<std::uint32_t> test(n);
    std::iota(test.begin(), test.end(), 0u);
    std::shuffle(test.begin(), test.end(), rng);
    const std::vector<std::uint32_t> train = {test[0], test[5], test[700]};
    ranker a(n), b(n);
    const std::size_t m = ranker::count_max;
    std::copy(s.begin(), s.end(), a.scores());
    std::copy(s.begin(), s.end(), b.scores());
    a.rank(0, train.data(), train.size(), test.data(), m);
    b.rank(0, train.data(), train.size(), test.data(), m + 1);
    std::vector<float> masked = s;
    for (auto i : train) masked[i] = -inf;
    for (const ranker* r : {&a, &b}) {
        const auto& items = r->ranked_items();
        for (std::size_t j = 1; j < items.size(); ++j) {
            const auto p = items[j - 1], q = items[j];
            CHECK((masked[p] > masked[q] || (masked[p] == masked[q] && p < q)));
        }
    }
    // A rank is a position among all items, so b's ranks without its extra item are a's ranks.
    const std::uint32_t extra = test[m];
    std::vector<std::size_t> b_without;
    std::size_t extra_rank = 0;
    for (std::size_t j = 0; j < b.ranks().size(); ++j) {
        if (b.ranked_items()[j] == extra)
            extra_rank = b.ranks()[j];
        else
            b_without.push_back(b.ranks()[j]);
    }
    REQUIRE(extra_rank > 0);
    std::vector<std::size_t> a_ranks = a.ranks();
    CHECK(a_ranks == b_without);
}
