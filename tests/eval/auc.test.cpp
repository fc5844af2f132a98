// AUC (LightFM's auc_score definition): hand-computed values with ties, the extremes, random
// scores, excluded training items, skipped users, and a brute-force pair count in evaluate_ranking.
#include <catch2/catch.hpp>

#include <bloom/eval/evaluate.hpp>

#include "eval_test_util.hpp"

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using bloom::eval::auc_score;
using bloom::eval::evaluate_ranking;
using bloom::eval::ranking_options;
using eval_test::csr;

namespace {

// Pairs counted one by one: positives = distinct test items (masked score), negatives = the rest
// minus the training items.
double brute_auc(std::vector<float> s, const std::vector<std::uint32_t>& test,
                 const std::vector<std::uint32_t>& train) {
    std::vector<int> kind(s.size(), 0);  // 0 negative, 1 positive, 2 train
    for (auto t : train) {
        kind[t] = 2;
        s[t] = -std::numeric_limits<float>::infinity();
    }
    for (auto t : test) kind[t] = 1;
    double sum = 0, pairs = 0;
    for (std::size_t p = 0; p < s.size(); ++p) {
        if (kind[p] != 1) continue;
        for (std::size_t x = 0; x < s.size(); ++x) {
            if (kind[x] != 0) continue;
            pairs += 1;
            sum += s[p] > s[x] ? 1.0 : s[p] == s[x] ? 0.5 : 0.0;
        }
    }
    return pairs > 0 ? sum / pairs : 1.0;
}

}  // namespace

TEST_CASE("auc: hand-computed values with ties") {
    // Positives 1 (score 3) and 3 (score 1); negatives 0 (2), 2 (1), 4 (0).
    // Item 1 beats all 3; item 3 ties item 2 and beats item 4: 1.5. (3 + 1.5) / 6 = 0.75.
    CHECK(auc_score<float>({2, 3, 1, 1, 0}, {1, 3}) == Approx(0.75));
    // All scores equal: every pair ties.
    CHECK(auc_score<float>({1, 1, 1, 1}, {0, 2}) == Approx(0.5));
    // Duplicated test items count once: positive 2 (5) over 0 (4), tied with 1 (5): 1.5 / 2.
    CHECK(auc_score<float>({4, 5, 5}, {2, 2}) == Approx(0.75));
}

TEST_CASE("auc: positives on top give 1 and reversed give 0") {
    std::vector<float> s(50);
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<float>(i);
    CHECK(auc_score<float>(s, {49, 48, 47}) == 1.0);
    CHECK(auc_score<float>(s, {0, 1, 2}) == 0.0);
}

TEST_CASE("auc: random scores give about one half") {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> unif(0, 1);
    std::vector<float> s(20000);
    for (auto& v : s) v = unif(rng);
    std::vector<std::uint32_t> test;
    for (std::uint32_t i = 0; i < 20000; i += 10) test.push_back(i);
    const double a = auc_score<float>(s, test);
    CHECK(a == Approx(0.5).margin(0.03));
    CHECK(a == Approx(brute_auc(s, test, {})));
}

TEST_CASE("auc: excluded training items are not negatives") {
    // Item 0 scores highest; as a training item it is not a negative, so the positive is on top.
    CHECK(auc_score<float>({9, 1, 5, 0}, {2}, {0}) == 1.0);
    CHECK(auc_score<float>({9, 1, 5, 0}, {2}) == Approx(2.0 / 3.0));
    // A test item that is also a training item ranks with the masked score (-infinity).
    CHECK(auc_score<float>({9, 1, 5, 0}, {2, 0}, {0}) == Approx(brute_auc({9, 1, 5, 0}, {2, 0}, {0})));
    // No negatives left: 1.
    CHECK(auc_score<float>({1, 2, 3}, {0}, {1, 2}) == 1.0);
}

TEST_CASE("auc: evaluate_ranking averages over users with test items") {
    const std::vector<std::vector<float>> scores = {
        {2, 3, 1, 1, 0},  // user 0: test {1, 3}: 0.75
        {0, 0, 0, 0, 0},  // user 1: no test items, skipped
        {9, 1, 5, 0, 4},  // user 2: test {2}, train {0}: 1 (5 over 1, 0, 4)
        {1, 2, 3, 4, 5},  // user 3: test {0}: 0
    };
    const auto test = csr({{1, 3}, {}, {2}, {0}});
    const auto train = csr({{}, {4}, {0}, {}});
    ranking_options o;
    o.k = 2;
    o.threads = 1;
    o.per_user = true;
    const auto r = evaluate_ranking(
        [&](std::uint32_t u, float* out) { std::copy(scores[u].begin(), scores[u].end(), out); },
        5, train, test, o);
    REQUIRE(r.users == 3);
    CHECK(r.per_user[0].auc == Approx(0.75));
    CHECK(r.per_user[1].auc == 1.0);
    CHECK(r.per_user[2].auc == 0.0);
    CHECK(r.auc == Approx((0.75 + 1.0 + 0.0) / 3));
}

TEST_CASE("auc: evaluate_ranking matches a brute-force pair count") {
    std::mt19937_64 rng(11);
    const std::size_t users = 150, items = 300;
    std::vector<std::vector<float>> scores(users);
    eval_test::lists tr(users), te(users);
    for (std::size_t u = 0; u < users; ++u) {
        scores[u].resize(items);
        for (auto& v : scores[u]) v = static_cast<float>(rng() % 7);  // many ties
        const std::size_t nt = rng() % 5, ntr = rng() % 20;
        for (std::size_t j = 0; j < nt; ++j) te[u].push_back(static_cast<std::uint32_t>(rng() % items));
        for (std::size_t j = 0; j < ntr; ++j) tr[u].push_back(static_cast<std::uint32_t>(rng() % items));
    }
    // One user with more test items than the counting method ranks (the search path).
    for (std::uint32_t i = 0; i < 280; ++i) te[3].push_back(i);
    ranking_options o;
    o.threads = 2;
    o.per_user = true;
    const auto r = evaluate_ranking(
        [&](std::uint32_t u, float* out) { std::copy(scores[u].begin(), scores[u].end(), out); },
        items, csr(tr), csr(te), o);
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t u = 0; u < users; ++u) {
        if (te[u].empty()) continue;
        const double b = brute_auc(scores[u], te[u], tr[u]);
        INFO("user " << u);
        REQUIRE(n < r.per_user.size());
        CHECK(r.per_user[n].user == u);
        CHECK(r.per_user[n].auc == Approx(b).epsilon(1e-12));
        sum += b;
        ++n;
    }
    REQUIRE(r.users == n);
    CHECK(r.auc == Approx(sum / static_cast<double>(n)).epsilon(1e-12));
}
