// evaluate_keys: hand-computed ranks against the training items as candidates, exclusion of a
// user's training items, samples of users and candidates, and the error paths.
#include <catch2/catch.hpp>

#include <bloom/eval/keys.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using bloom::eval::evaluate_keys;
using bloom::eval::key_ranking_options;
using bloom::eval::key_ranking_result;
using Catch::Matchers::Contains;

namespace {

// Scores an item key by its value: the larger key ranks first, for every user.
void by_key(std::uint64_t, const std::uint64_t* items, std::size_t n, float* out) {
    for (std::size_t t = 0; t < n; ++t) out[t] = static_cast<float>(items[t]);
}

key_ranking_options all() {
    key_ranking_options o;
    o.max_users = 0;
    o.candidates = 0;
    return o;
}

}  // namespace

TEST_CASE("evaluate_keys: ranks among the seen items, excluding the user's own",
          "[eval][keys]") {
    // Seen items: 10, 20, 30, 40, 50 (keys far apart, above 32 bits for user 2^40).
    const std::uint64_t big = std::uint64_t{1} << 40;
    const std::vector<std::uint64_t> tu = {big, big, 7, 7, 7};
    const std::vector<std::uint64_t> ti = {50, 10, 20, 30, 40};
    // User 2^40 (trained on 50 and 10): test item 30 ranks below 40 only (50 is excluded): rank 2.
    // User 7 (trained on 20, 30, 40): test item 10 ranks below 50 only: rank 2; test item 60
    // (never seen) ranks first: rank 1. Its reciprocal ranks average 0.75.
    // User 9: its only test item is 50... which it has not trained on: 50 is the largest: rank 1.
    const std::vector<std::uint64_t> su = {big, 7, 7, 9};
    const std::vector<std::uint64_t> si = {30, 10, 60, 50};
    key_ranking_options o = all();
    o.k = 1;
    const key_ranking_result r = evaluate_keys(by_key, tu, ti, su, si, o);
    CHECK(r.users == 3);
    CHECK(r.candidates == 5);
    CHECK(r.mrr == Approx((0.5 + 0.75 + 1.0) / 3));
    CHECK(r.hit_rate == Approx(2.0 / 3));  // users 7 and 9 have an item at rank 1
}

TEST_CASE("evaluate_keys: a user whose test items are all training items is skipped",
          "[eval][keys]") {
    const std::vector<std::uint64_t> tu = {1, 1, 2}, ti = {5, 6, 5};
    const key_ranking_result r = evaluate_keys(by_key, tu, ti, {1, 2}, {6, 6}, all());
    CHECK(r.users == 1);  // user 1's test item 6 is one of its training items
    CHECK(r.mrr == Approx(1.0));  // user 2: 6 is the largest candidate
}

TEST_CASE("evaluate_keys: samples of users and candidates", "[eval][keys]") {
    std::vector<std::uint64_t> tu, ti, su, si;
    for (std::uint64_t u = 0; u < 50; ++u)
        for (std::uint64_t i = 0; i < 40; ++i) {
            tu.push_back(u * 1000003);
            ti.push_back(u * 40 + i);
        }
    for (std::uint64_t u = 0; u < 50; ++u) {
        su.push_back(u * 1000003);
        si.push_back(5000 + u);  // above every seen item: rank 1
    }
    key_ranking_options o;
    o.max_users = 10;
    o.candidates = 100;
    const key_ranking_result r = evaluate_keys(by_key, tu, ti, su, si, o);
    CHECK(r.users == 10);
    CHECK(r.candidates == 100);
    CHECK(r.mrr == 1.0);
    // The same seed draws the same samples; the scores are what decides here.
    CHECK(evaluate_keys(by_key, tu, ti, su, si, o).mrr == r.mrr);
}

TEST_CASE("evaluate_keys: bad input", "[eval][keys][errors]") {
    CHECK_THROWS_WITH(evaluate_keys(by_key, {1, 2}, {1}, {1}, {1}, all()),
                      Contains("train has 2 users but 1 items"));
    CHECK_THROWS_WITH(evaluate_keys(by_key, {}, {}, {1}, {1}, all()), Contains("no training pairs"));
    const auto nan = [](std::uint64_t, const std::uint64_t*, std::size_t n, float* out) {
        for (std::size_t t = 0; t < n; ++t) out[t] = std::numeric_limits<float>::quiet_NaN();
    };
    CHECK_THROWS_WITH(evaluate_keys(nan, {1}, {1}, {1}, {2}, all()), Contains("is NaN"));
}
