#include <catch2/catch.hpp>

#include <bloom/data/split.hpp>
#include <bloom/data/synthetic.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <numeric>
#include <set>
#include <utility>
#include <vector>

using namespace bloom::data;

namespace {

// A 64-bit digest of every column, to pin generated data.
std::uint64_t digest(const interactions& d) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    auto eat = [&h](std::uint64_t v) {
        h ^= v;
        h *= 0x100000001b3ull;
    };
    for (std::size_t i = 0; i < d.size(); ++i) {
        eat(d.users[i]);
        eat(d.items[i]);
        if (d.has_weights()) eat(static_cast<std::uint64_t>(d.weights[i]));
        if (d.has_timestamps()) eat(static_cast<std::uint64_t>(d.timestamps[i]));
    }
    return h;
}

synthetic_config small_config() {
    synthetic_config c;
    c.n_users = 300;
    c.n_items = 500;
    c.n_interactions = 12000;
    c.dim = 8;
    c.n_clusters = 16;
    c.ratings = true;
    c.seed = 2024;
    return c;
}

}  // namespace

TEST_CASE("fixed-point log2 and exp2 agree with the floating-point functions") {
    using detail::exp2_q16;
    using detail::log2_q16;
    for (std::uint64_t x : {1ull, 2ull, 3ull, 10ull, 1000ull, 123456789ull, 1ull << 40,
                            (1ull << 63) + 12345, ~0ull}) {
        INFO("x = " << x);
        CHECK(std::abs(static_cast<double>(log2_q16(x)) - std::log2(static_cast<double>(x)) * 65536) <= 2.0);
    }
    CHECK(log2_q16(1) == 0);
    CHECK(log2_q16(1024) == 10 * 65536);
    CHECK(exp2_q16(0, 32) == (1ull << 32));
    CHECK(exp2_q16(-65536, 32) == (1ull << 31));
    CHECK(exp2_q16(-32768, 31) == 1518500250);  // round(2^30.5)
    CHECK(exp2_q16(-40 * 65536, 32) == 0);
    for (std::int64_t v = -20 * 65536; v <= 0; v += 7919) {
        const double want = std::exp2(static_cast<double>(v) / 65536.0 + 32.0);
        CHECK(std::abs(static_cast<double>(exp2_q16(v, 32)) - want) <= want * 1e-8 + 0.5);
    }
    CHECK(detail::isqrt(0) == 0);
    CHECK(detail::isqrt(15) == 3);
    CHECK(detail::isqrt(16) == 4);
    CHECK(detail::isqrt(~0ull) == 4294967295ull);
}

TEST_CASE("integer alias tables give exactly the weights' probabilities") {
    engine rng(5);
    for (int trial = 0; trial < 50; ++trial) {
        const auto m = static_cast<std::uint32_t>(1 + detail::uniform_below(rng, 40));
        std::vector<std::uint64_t> w(m);
        std::uint64_t total = 0;
        for (auto& x : w) {
            x = detail::uniform_below(rng, 3) == 0 ? 1 : 1 + detail::uniform_below(rng, 1ull << 32);
            total += x;
        }
        std::vector<std::uint64_t> prob(m);
        std::vector<std::uint32_t> alias(m);
        detail::alias_scratch scratch;
        detail::build_alias(w.data(), m, total, prob.data(), alias.data(), scratch);
        // Column j is taken with y < prob[j], its alias otherwise: mass of i, in units of 1/(mW).
        std::vector<std::uint64_t> mass(m, 0);
        for (std::uint32_t j = 0; j < m; ++j) {
            REQUIRE(prob[j] <= total);
            REQUIRE(alias[j] < m);
            mass[j] += prob[j];
            mass[alias[j]] += total - prob[j];
        }
        for (std::uint32_t i = 0; i < m; ++i) REQUIRE(mass[i] == w[i] * m);
    }
}

TEST_CASE("the generator makes exactly what the config asks") {
    const synthetic_config c = small_config();
    synthetic_truth truth;
    const interactions d = make_synthetic(c, &truth);
    REQUIRE(d.size() == c.n_interactions);
    CHECK(d.n_users == c.n_users);
    CHECK(d.n_items == c.n_items);
    CHECK_NOTHROW(d.validate());
    CHECK_FALSE(d.user_ids);
    CHECK(d.raw_item(17) == "17");

    const std::vector<std::uint32_t> counts = d.user_counts();
    for (std::uint32_t u = 0; u < c.n_users; ++u) {
        CHECK(counts[u] >= c.min_per_user);
        CHECK(counts[u] == truth.user_target[u]);
    }
    // Grouped by user, in id order; timestamps increase within a user.
    CHECK(std::is_sorted(d.users.begin(), d.users.end()));
    for (std::size_t i = 1; i < d.size(); ++i) {
        if (d.users[i] == d.users[i - 1]) CHECK(d.timestamps[i] > d.timestamps[i - 1]);
    }
    // No (user, item) pair twice.
    std::set<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (std::size_t i = 0; i < d.size(); ++i) pairs.insert({d.users[i], d.items[i]});
    CHECK(pairs.size() == d.size());
    // Ratings 1..5, and higher where the true score is higher.
    double hi = 0, lo = 0;
    std::size_t n_hi = 0, n_lo = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        REQUIRE(d.weights[i] >= 1.0f);
        REQUIRE(d.weights[i] <= 5.0f);
        REQUIRE(d.weights[i] == std::round(d.weights[i]));
        const std::int64_t dot = truth.dot(d.users[i], d.items[i]);
        if (dot > truth.score_scale / 2) hi += d.weights[i], ++n_hi;
        if (dot < -truth.score_scale / 2) lo += d.weights[i], ++n_lo;
    }
    REQUIRE(n_hi > 0);
    REQUIRE(n_lo > 0);
    CHECK(hi / static_cast<double>(n_hi) > lo / static_cast<double>(n_lo) + 1.0);
    // Truth is complete.
    CHECK(truth.user_factors.size() == std::size_t{c.n_users} * c.dim);
    CHECK(truth.cluster_factors.size() == std::size_t{c.n_clusters} * c.dim);
    CHECK(truth.item_cluster.size() == c.n_items);
    for (auto x : truth.user_factors) REQUIRE(std::abs(x) <= 7);
}

TEST_CASE("the generator is deterministic for a seed, on every platform") {
    const synthetic_config c = small_config();
    const interactions a = make_synthetic(c);
    const interactions b = make_synthetic(c);
    CHECK(a.users == b.users);
    CHECK(a.items == b.items);
    CHECK(a.weights == b.weights);
    CHECK(a.timestamps == b.timestamps);
    synthetic_config other = c;
    other.seed = 2025;
    CHECK(make_synthetic(other).items != a.items);
    // An engine passed in is used as is (the config's seed is ignored).
    engine rng(2024);
    CHECK(make_synthetic(c, rng).items == a.items);

    // Known answers. Only mt19937_64's raw output and integer arithmetic decide a draw, so these
    // digests must hold with any compiler, standard library and floating-point setting.
    CHECK(digest(a) == 2571691595464189803ull);
    synthetic_config plain;
    CHECK(digest(make_synthetic(plain)) == 17774455534712677607ull);
}

TEST_CASE("movielens_25m_like has ML-25M's shape and keeps it scaled down 100x") {
    const synthetic_config full = synthetic_config::movielens_25m_like();
    CHECK(full.n_users == 162541);
    CHECK(full.n_items == 59047);
    CHECK(full.n_interactions == 25000095);
    CHECK(full.min_per_user == 20);
    CHECK(full.ratings);
    CHECK(full.half_stars);
    CHECK(full.timestamps);
    CHECK(full.unique);

    // The full size is generated by bench/bench_loaders.cpp, never here: 1/100 of it.
    synthetic_config c = full;
    c.n_users /= 100;
    c.n_items /= 100;
    c.n_interactions /= 100;
    const interactions d = make_synthetic(c);
    REQUIRE(d.size() == 250000);
    CHECK(d.n_users == 1625);
    CHECK(d.n_items == 590);
    CHECK_NOTHROW(d.validate());
    REQUIRE(d.has_weights());
    REQUIRE(d.has_timestamps());

    const std::vector<std::uint32_t> counts = d.user_counts();
    CHECK(*std::min_element(counts.begin(), counts.end()) >= 20);
    CHECK(*std::max_element(counts.begin(), counts.end()) <= 590);  // unique pairs
    std::set<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (std::size_t i = 0; i < d.size(); ++i) pairs.insert({d.users[i], d.items[i]});
    CHECK(pairs.size() == d.size());
    CHECK(std::is_sorted(d.users.begin(), d.users.end()));
    for (std::size_t i = 1; i < d.size(); ++i) {
        if (d.users[i] == d.users[i - 1]) REQUIRE(d.timestamps[i] > d.timestamps[i - 1]);
    }

    // Ratings 0.5 .. 5 in half steps, every step used, the mean near MovieLens' 3.5.
    std::vector<std::size_t> by_half(11, 0);
    double sum = 0;
    for (const float w : d.weights) {
        REQUIRE(w * 2.0f == std::round(w * 2.0f));
        REQUIRE(w >= 0.5f);
        REQUIRE(w <= 5.0f);
        ++by_half[static_cast<std::size_t>(w * 2.0f)];
        sum += w;
    }
    for (std::size_t h = 1; h <= 10; ++h) {
        INFO("rating " << h / 2.0);
        CHECK(by_half[h] > 0);
    }
    const double mean = sum / static_cast<double>(d.size());
    INFO("mean rating " << mean);
    CHECK(mean > 3.0);
    CHECK(mean < 4.0);

    // Pinned, like the digests above (the weights enter in half stars).
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::size_t i = 0; i < d.size(); ++i) {
        for (const std::uint64_t v :
             {std::uint64_t{d.users[i]}, std::uint64_t{d.items[i]},
              static_cast<std::uint64_t>(d.weights[i] * 2.0f),
              static_cast<std::uint64_t>(d.timestamps[i])}) {
            h ^= v;
            h *= 0x100000001b3ull;
        }
    }
    CHECK(h == 12882064384259052224ull);
}

TEST_CASE("item popularity follows the Zipf exponent") {
    synthetic_config c;
    c.n_users = 200;
    c.n_items = 1000;
    c.n_interactions = 400000;
    c.min_per_user = 1;
    c.noise = 1.0;  // popularity alone
    c.unique = false;
    c.popularity_exponent = 1.0;
    synthetic_truth truth;
    const interactions d = make_synthetic(c, &truth);
    std::vector<double> by_rank(c.n_items, 0);
    const std::vector<std::uint32_t> counts = d.item_counts();
    for (std::uint32_t i = 0; i < c.n_items; ++i) by_rank[truth.item_rank[i]] = counts[i];
    // Expected share of rank r: (1 / (r + 1)) / H(1000), H(1000) ~ 7.485.
    for (std::uint32_t r : {0u, 1u, 9u, 99u}) {
        const double want = 400000.0 / (r + 1) / 7.4855;
        INFO("rank " << r);
        CHECK(std::abs(by_rank[r] - want) < 5 * std::sqrt(want) + 1);
    }
    // Ranks are a permutation unrelated to ids.
    CHECK(truth.item_rank[0] != 0);
}

TEST_CASE("user activity is skewed, and every user gets the minimum") {
    synthetic_config c;
    c.n_users = 1000;
    c.n_items = 3000;
    c.n_interactions = 100000;
    c.min_per_user = 20;
    const interactions d = make_synthetic(c);
    std::vector<std::uint32_t> counts = d.user_counts();
    std::sort(counts.begin(), counts.end());
    CHECK(counts.front() >= 20);
    CHECK(counts.back() > 5 * counts[500]);
}

TEST_CASE("a factorization with the true factors ranks held-out items far better than popularity") {
    synthetic_config c = small_config();
    c.n_interactions = 15000;
    synthetic_truth truth;
    const interactions d = make_synthetic(c, &truth);
    const train_test s = leave_last_n(d, 1);
    const csr seen = s.train.by_user();
    double mrr_true = 0, mrr_pop = 0;
    for (std::size_t t = 0; t < s.test.size(); ++t) {
        const std::uint32_t u = s.test.users[t], target = s.test.items[t];
        const double st = truth.score(u, target);
        const double sp = static_cast<double>(truth.item_weight[target]);
        std::size_t rank_true = 1, rank_pop = 1;
        for (std::uint32_t i = 0; i < c.n_items; ++i) {
            if (i == target || std::binary_search(seen.row(u).begin(), seen.row(u).end(), i)) {
                continue;
            }
            rank_true += truth.score(u, i) > st;
            rank_pop += static_cast<double>(truth.item_weight[i]) > sp;
        }
        mrr_true += 1.0 / static_cast<double>(rank_true);
        mrr_pop += 1.0 / static_cast<double>(rank_pop);
    }
    mrr_true /= static_cast<double>(s.test.size());
    mrr_pop /= static_cast<double>(s.test.size());
    INFO("MRR true " << mrr_true << ", popularity " << mrr_pop);
    CHECK(mrr_true > 1.5 * mrr_pop);
    CHECK(mrr_true > 0.05);
}

TEST_CASE("users who need almost every item still get unique pairs") {
    synthetic_config c;
    c.n_users = 3;
    c.n_items = 50;
    c.n_interactions = 148;
    c.min_per_user = 45;
    c.n_clusters = 5;
    c.affinity = 20;  // strong preferences exhaust a cluster early
    const interactions d = make_synthetic(c);
    CHECK(d.size() == 148);
    std::set<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (std::size_t i = 0; i < d.size(); ++i) pairs.insert({d.users[i], d.items[i]});
    CHECK(pairs.size() == 148);
    const std::vector<std::uint32_t> counts = d.user_counts();
    CHECK(*std::max_element(counts.begin(), counts.end()) <= 50);
}

TEST_CASE("invalid configs are rejected with a message") {
    auto bad = [](auto change) {
        synthetic_config c;
        change(c);
        return c;
    };
    CHECK_THROWS_AS(make_synthetic(bad([](auto& c) { c.n_users = 0; })), bloom::invalid_argument);
    CHECK_THROWS_AS(make_synthetic(bad([](auto& c) { c.n_items = (1u << 24) + 1; })),
                    bloom::invalid_argument);
    CHECK_THROWS_AS(make_synthetic(bad([](auto& c) { c.dim = 0; })), bloom::invalid_argument);
    CHECK_THROWS_AS(make_synthetic(bad([](auto& c) { c.n_clusters = 3000; })),
                    bloom::invalid_argument);
    CHECK_THROWS_WITH(make_synthetic(bad([](auto& c) { c.popularity_exponent = -1; })),
                      Catch::Contains("popularity_exponent must be in [0"));
    CHECK_THROWS_AS(make_synthetic(bad([](auto& c) { c.noise = 2; })), bloom::invalid_argument);
    CHECK_THROWS_AS(make_synthetic(bad([](auto& c) { c.affinity = std::nan(""); })),
                    bloom::invalid_argument);
    CHECK_THROWS_WITH(make_synthetic(bad([](auto& c) { c.n_interactions = 100; })),
                      Catch::Contains("below n_users * min_per_user"));
    CHECK_THROWS_WITH(make_synthetic(bad([](auto& c) {
                          c.n_users = 2;
                          c.n_items = 3;
                          c.n_clusters = 1;
                          c.n_interactions = 7;
                          c.min_per_user = 1;
                      })),
                      Catch::Contains("with unique pairs"));
}

TEST_CASE("a large catalogue generates quickly (time printed, not asserted)") {
    synthetic_config c;
    c.n_users = 100000;
    c.n_items = 1000000;
    c.n_interactions = 2000000;
    c.dim = 32;
    c.n_clusters = 64;
    const auto start = std::chrono::steady_clock::now();
    const interactions d = make_synthetic(c);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "[data] synthetic: " << d.size() << " interactions, " << c.n_users << " users, "
              << c.n_items << " items in " << seconds << " s\n";
    CHECK(d.size() == 2000000);
    const std::vector<std::uint32_t> items = d.item_counts();
    const auto reached = std::count_if(items.begin(), items.end(), [](auto n) { return n > 0; });
    CHECK(reached > 100000);  // the long tail is reached, not only the head
}
