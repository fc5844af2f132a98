// Output position tables: co-occurrence-aware positions put items that occur together on shared
// positions and keep the rest apart; frequency-aware positions give the head positions of its own
// and hash the tail into the rest; the diagnostics measure what a table achieves.
#include <catch2/catch.hpp>

#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/network/codes.hpp>
#include <bloom/models/network/positions.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using bloom::eval::user_items;
using bloom::models::code_report;
using bloom::models::cooccurrence_code;
using bloom::models::cooccurrence_diagnostics;
using bloom::models::cooccurrence_options;
using bloom::models::frequency_code;
using bloom::models::frequency_options;
using bloom::models::sparse_code;

user_items from_lists(const std::vector<std::vector<std::uint32_t>>& lists) {
    user_items x;
    x.offsets.push_back(0);
    for (const auto& l : lists) {
        x.items.insert(x.items.end(), l.begin(), l.end());
        x.offsets.push_back(x.items.size());
    }
    return x;
}

// `groups` groups of `size` items, item i in group i % groups (so ids do not sort by group);
// `users_per_group` users per group, each with `per_user` items drawn from their group, and with
// probability `noise` one more item from anywhere.
user_items grouped(std::uint32_t groups, std::uint32_t size, std::uint32_t users_per_group,
                   std::uint32_t per_user, double noise, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const std::uint32_t d = groups * size;
    std::vector<std::vector<std::uint32_t>> lists;
    for (std::uint32_t g = 0; g < groups; ++g)
        for (std::uint32_t u = 0; u < users_per_group; ++u) {
            std::vector<std::uint32_t> l;
            for (std::uint32_t j = 0; j < per_user; ++j)
                l.push_back(static_cast<std::uint32_t>(rng() % size) * groups + g);
            if (static_cast<double>(rng() % 1000) < noise * 1000.0)
                l.push_back(static_cast<std::uint32_t>(rng() % d));
            lists.push_back(l);
        }
    return from_lists(lists);
}

// Each position's set of groups (item i in group i % groups).
std::vector<std::set<std::uint32_t>> groups_at(const sparse_code& c, std::uint32_t groups) {
    std::vector<std::set<std::uint32_t>> at(static_cast<std::size_t>(c.m));
    for (std::uint32_t i = 0; i < c.items(); ++i)
        for (const std::uint32_t* p = c.begin(i); p != c.end(i); ++p) at[*p].insert(i % groups);
    return at;
}

void check_shape(const sparse_code& c, std::uint32_t d, std::uint64_t m, std::uint32_t k,
                 bool distinct) {
    REQUIRE(c.items() == d);
    REQUIRE(c.m == m);
    REQUIRE(c.fixed_k() == k);
    for (std::uint32_t i = 0; i < d; ++i) {
        std::set<std::uint32_t> s(c.begin(i), c.end(i));
        for (const std::uint32_t p : s) REQUIRE(p < m);
        if (distinct) REQUIRE(s.size() == k);
    }
}

}  // namespace

TEST_CASE("cooccurrence_code: two groups that always occur together share within, never across",
          "[network][positions]") {
    // Items 0, 2, 4, 6, 8 (group 0) always together, 1, 3, 5, 7, 9 (group 1) always together.
    std::vector<std::vector<std::uint32_t>> lists;
    for (int u = 0; u < 10; ++u) lists.push_back({0, 2, 4, 6, 8});
    for (int u = 0; u < 10; ++u) lists.push_back({9, 7, 5, 3, 1});
    const user_items train = from_lists(lists);

    SECTION("k = 1, m = 4: ten items must share four positions") {
        cooccurrence_options o;
        o.distinct_codes = false;
        const sparse_code c = cooccurrence_code(train, 10, 4, 1, 7, o);
        check_shape(c, 10, 4, 1, true);
        const auto at = groups_at(c, 2);
        for (const auto& g : at) CHECK(g.size() <= 1);
        // each group sits on one position: all its pairs share
        for (std::uint32_t i = 2; i < 10; ++i) CHECK(*c.begin(i) == *c.begin(i % 2));
        const code_report r = cooccurrence_diagnostics(c, train);
        CHECK(r.shared_pairs == 20);
        CHECK(r.cooccurring_share == 1.0);
        CHECK(r.mean_phi == Approx(1.0));
    }
    SECTION("k = 2, m = 12, distinct codes: no position mixes the groups") {
        const sparse_code c = cooccurrence_code(train, 10, 12, 2, 7);
        check_shape(c, 10, 12, 2, true);
        for (const auto& g : groups_at(c, 2)) CHECK(g.size() <= 1);
        std::set<std::vector<std::uint32_t>> codes;
        for (std::uint32_t i = 0; i < 10; ++i) codes.insert({c.begin(i), c.end(i)});
        CHECK(codes.size() == 10);
        const code_report r = cooccurrence_diagnostics(c, train);
        CHECK(r.shared_pairs > 0);
        CHECK(r.cooccurring_share == 1.0);
    }
    SECTION("without distinct codes the k = 2 items of a group take the same two positions") {
        cooccurrence_options o;
        o.distinct_codes = false;
        o.max_load = 0.0;
        const sparse_code c = cooccurrence_code(train, 10, 12, 2, 7, o);
        for (std::uint32_t i = 2; i < 10; ++i)
            CHECK(std::vector<std::uint32_t>(c.begin(i), c.end(i)) ==
                  std::vector<std::uint32_t>(c.begin(i % 2), c.end(i % 2)));
    }
}

TEST_CASE("cooccurrence_code: noisy groups share mostly within groups, far more than hashing",
          "[network][positions]") {
    const std::uint32_t groups = 8, size = 40, d = groups * size, m = 64, k = 3;
    const user_items train = grouped(groups, size, 60, 6, 0.3, 11);
    const sparse_code c = cooccurrence_code(train, d, m, k, 3);
    check_shape(c, d, m, k, true);

    bloom::spec_config sc;
    sc.items = d;
    sc.m = m;
    sc.k = k;
    sc.seed = 3;
    sc.key_bytes = 4;
    const sparse_code plain = bloom::models::spec_code(bloom::basic_spec<bloom::xxh3>(sc));

    const code_report rc = cooccurrence_diagnostics(c, train);
    const code_report rp = cooccurrence_diagnostics(plain, train);
    // the share of sharing pairs inside one group: 1/8 by chance
    const auto within = [&](const sparse_code& code) {
        double same = 0, all = 0;
        std::vector<std::vector<std::uint32_t>> at(m);
        for (std::uint32_t i = 0; i < d; ++i) {
            std::set<std::uint32_t> s(code.begin(i), code.end(i));
            for (const std::uint32_t p : s) at[p].push_back(i);
        }
        for (const auto& v : at)
            for (std::size_t a = 0; a < v.size(); ++a)
                for (std::size_t b = a + 1; b < v.size(); ++b) {
                    all += 1;
                    same += v[a] % groups == v[b] % groups ? 1 : 0;
                }
        return same / all;
    };
    CHECK(within(plain) < 0.25);
    CHECK(within(c) > 0.8);
    CHECK(rc.mean_phi > rp.mean_phi + 0.05);
    CHECK(rc.cooccurring_share > 2 * rp.cooccurring_share);
    CHECK(std::abs(rp.mean_phi - rp.all_pairs_phi) < 0.02);
    // balanced: the cap is ceil(2 d k / m) = 30
    CHECK(rc.max_load <= 30);
    CHECK(rc.mean_load == Approx(static_cast<double>(d) * k / m));
}

TEST_CASE("cooccurrence_code: deterministic for a seed, positions distinct and below m",
          "[network][positions]") {
    const std::uint32_t d = 2000;
    const user_items train = grouped(20, 100, 30, 8, 0.5, 5);
    cooccurrence_options o;
    o.candidates = 8;
    const sparse_code a = cooccurrence_code(train, d, 500, 4, 1, o);
    const sparse_code b = cooccurrence_code(train, d, 500, 4, 1, o);
    const sparse_code c = cooccurrence_code(train, d, 500, 4, 2, o);
    const sparse_code h = cooccurrence_code(train, d, 500, 4, 1, o, bloom::murmur3_32{});
    check_shape(a, d, 500, 4, true);
    check_shape(h, d, 500, 4, true);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(a != h);
    // the load cap: ceil(2 * 2000 * 4 / 500) = 32
    CHECK(cooccurrence_diagnostics(a, train).max_load <= 32);
}

TEST_CASE("cooccurrence_code: items nobody has, long histories, every position a candidate",
          "[network][positions]") {
    SECTION("unseen items still get k distinct positions, spread by load") {
        const user_items train = from_lists({{0, 1}, {0, 1}, {2}});
        const sparse_code c = cooccurrence_code(train, 50, 40, 2, 9);
        check_shape(c, 50, 40, 2, true);
        // mean load 2.5, cap 5
        CHECK(cooccurrence_diagnostics(c, train).max_load <= 5);
    }
    SECTION("a history over the cap is sampled, deterministically") {
        std::vector<std::uint32_t> big(1000);
        for (std::uint32_t i = 0; i < 1000; ++i) big[i] = i;
        const user_items train = from_lists({big, {1, 2, 3}, {4, 5}});
        cooccurrence_options o;
        o.max_items_per_user = 50;
        const sparse_code a = cooccurrence_code(train, 1000, 200, 3, 4, o);
        check_shape(a, 1000, 200, 3, true);
        CHECK(a == cooccurrence_code(train, 1000, 200, 3, 4, o));
        // with the same cap the diagnostics count C(50, 2) + 3 + 1 co-occurring pairs, without
        // it C(1000, 2) + 3 + 1, over C(1000, 2) pairs of items
        const code_report capped = cooccurrence_diagnostics(a, train, 50, 4);
        const code_report exact = cooccurrence_diagnostics(a, train);
        CHECK(capped.all_pairs_cooccurrence == Approx((1225.0 + 4) / 499500));
        CHECK(exact.all_pairs_cooccurrence == Approx((499500.0 + 4) / 499500));
        CHECK(capped.users == 3);
    }
    SECTION("duplicates in a history count once") {
        const user_items once = from_lists({{0, 1, 2}, {3, 4}, {0, 1}});
        const user_items twice = from_lists({{0, 1, 1, 2, 0}, {3, 4, 4}, {1, 0}});
        CHECK(cooccurrence_code(once, 5, 4, 2, 1) == cooccurrence_code(twice, 5, 4, 2, 1));
    }
}

TEST_CASE("cooccurrence_code: bad input is reported", "[network][positions]") {
    const user_items train = from_lists({{0, 1}, {2}});
    using bloom::invalid_argument;
    CHECK_THROWS_AS(cooccurrence_code(train, 0, 4, 1, 0), invalid_argument);
    CHECK_THROWS_AS(cooccurrence_code(train, 3, 0, 1, 0), invalid_argument);
    CHECK_THROWS_AS(cooccurrence_code(train, 3, 4, 0, 0), invalid_argument);
    CHECK_THROWS_WITH(cooccurrence_code(train, 3, 4, 5, 0), Catch::Contains("k = 5 exceeds m = 4"));
    CHECK_THROWS_AS(cooccurrence_code(train, 2, 4, 1, 0), bloom::out_of_range);  // item 2 >= d
    cooccurrence_options o;
    o.load_penalty = -1.0;
    CHECK_THROWS_WITH(cooccurrence_code(train, 3, 4, 1, 0, o), Catch::Contains("load_penalty"));
    o = {};
    o.max_load = 0.5;
    CHECK_THROWS_WITH(cooccurrence_code(train, 3, 4, 1, 0, o), Catch::Contains("max_load"));
    o.max_load = std::nan("");
    CHECK_THROWS_AS(cooccurrence_code(train, 3, 4, 1, 0, o), invalid_argument);
    o = {};
    o.max_coverage = 0.9;
    CHECK_THROWS_WITH(cooccurrence_code(train, 3, 4, 1, 0, o), Catch::Contains("max_coverage"));
}

TEST_CASE("cooccurrence_diagnostics: a hand-counted case", "[network][positions]") {
    // users {0,1}, {0,1}, {2}: c0 = c1 = 2, c2 = 1, c01 = 2, N = 3
    const user_items train = from_lists({{0, 1}, {0, 1}, {2}});
    const sparse_code c = bloom::models::table_code(3, 1, {0, 0, 1});
    const code_report r = cooccurrence_diagnostics(c, train);
    CHECK(r.users == 3);
    CHECK(r.empty_positions == 1);
    CHECK(r.max_load == 2);
    CHECK(r.mean_load == Approx(1.0));
    CHECK(r.max_coverage == 2);
    CHECK(r.mean_coverage == Approx(1.0));
    CHECK(r.shared_pairs == 1);
    CHECK(r.mean_cooccurrence == Approx(2.0));
    CHECK(r.cooccurring_share == 1.0);
    // phi(0,1) = (3*2 - 2*2) / sqrt(2*1*2*1) = 1; phi(0,2) = phi(1,2) = (0 - 2) / 2 = -1
    CHECK(r.mean_phi == Approx(1.0));
    CHECK(r.all_pairs_cooccurrence == Approx(2.0 / 3));
    CHECK(r.all_pairs_phi == Approx(-1.0 / 3));

    // Item 0 listing position 2 twice: it shares nothing, and counts once in the load.
    const sparse_code d2 = bloom::models::table_code(3, 2, {2, 2, 0, 0, 1, 1});
    const code_report r2 = cooccurrence_diagnostics(d2, train);
    CHECK(r2.shared_pairs == 0);
    CHECK(r2.max_load == 1);
    CHECK(r2.mean_phi == 0.0);
    CHECK_THROWS_AS(cooccurrence_diagnostics(c, from_lists({{3}})), bloom::out_of_range);
}

TEST_CASE("frequency_code: the head gets positions of its own, the tail hashes below them",
          "[network][positions]") {
    const std::uint32_t d = 300, k = 4;
    const std::uint64_t m = 100;
    std::vector<std::uint64_t> counts(d);
    for (std::uint32_t i = 0; i < d; ++i) counts[i] = (i * 7919U) % 1000U + 1;  // distinct-ish
    const sparse_code c = frequency_code(d, counts, m, k, 5);  // head_share 0.5: 50 head items
    REQUIRE(c.items() == d);
    REQUIRE(c.m == m);
    REQUIRE(c.fixed_k() == k);

    std::vector<std::uint32_t> order(d);
    for (std::uint32_t i = 0; i < d; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return counts[a] > counts[b]; });
    std::set<std::uint32_t> head_positions;
    for (std::uint32_t r = 0; r < 50; ++r) {
        const std::uint32_t i = order[r];
        for (const std::uint32_t* p = c.begin(i); p != c.end(i); ++p) CHECK(*p == 50 + r);
        head_positions.insert(*c.begin(i));
    }
    CHECK(head_positions.size() == 50);

    // the tail: exactly the positions of a spec over the 50 shared positions
    bloom::spec_config sc;
    sc.items = d;
    sc.m = 50;
    sc.k = k;
    sc.seed = 5;
    sc.key_bytes = 4;
    const bloom::basic_spec<bloom::xxh3> spec(sc);
    std::uint32_t expect[k];
    for (std::uint32_t r = 50; r < d; ++r) {
        const std::uint32_t i = order[r];
        spec.positions(i, expect);
        for (std::uint32_t j = 0; j < k; ++j) {
            CHECK(c.begin(i)[j] < 50);
            CHECK(c.begin(i)[j] == expect[j]);
        }
    }
    CHECK(c == frequency_code(counts, m, k, 0.5, 5));
    CHECK(c != frequency_code(counts, m, k, 0.5, 6));
    CHECK(c != frequency_code(d, counts, m, k, 5, {}, bloom::murmur3_32{}));
}

TEST_CASE("frequency_code: head size options, unseen items, ties", "[network][positions]") {
    SECTION("head_items overrides head_share; ties go to the lower id") {
        const std::vector<std::uint64_t> counts = {5, 9, 5, 1, 9, 0};
        frequency_options o;
        o.head_items = 3;
        o.head_share = 0.9;  // ignored
        const sparse_code c = frequency_code(6, counts, 8, 2, 0, o);
        // head in decreasing count, ties by id: 1, 4, 0 at 5, 6, 7; the tail below 5
        CHECK(std::vector<std::uint32_t>(c.begin(1), c.end(1)) == std::vector<std::uint32_t>{5, 5});
        CHECK(std::vector<std::uint32_t>(c.begin(4), c.end(4)) == std::vector<std::uint32_t>{6, 6});
        CHECK(std::vector<std::uint32_t>(c.begin(0), c.end(0)) == std::vector<std::uint32_t>{7, 7});
        for (const std::uint32_t i : {2U, 3U, 5U})
            for (const std::uint32_t* p = c.begin(i); p != c.end(i); ++p) CHECK(*p < 5);
    }
    SECTION("items never seen get no own position; their positions stay shared") {
        const std::vector<std::uint64_t> counts = {0, 3, 0, 2, 0, 0};
        frequency_options o;
        o.head_items = 4;  // only two items were seen
        const sparse_code c = frequency_code(6, counts, 10, 2, 0, o);
        CHECK(*c.begin(1) == 8);
        CHECK(*c.begin(3) == 9);
        for (const std::uint32_t i : {0U, 2U, 4U, 5U})
            for (const std::uint32_t* p = c.begin(i); p != c.end(i); ++p) CHECK(*p < 8);
    }
    SECTION("head_share 0 is a plain Bloom code") {
        const std::vector<std::uint64_t> counts = {4, 3, 2, 1};
        bloom::spec_config sc;
        sc.items = 4;
        sc.m = 6;
        sc.k = 3;
        sc.seed = 2;
        sc.key_bytes = 4;
        CHECK(frequency_code(counts, 6, 3, 0.0, 2) ==
              bloom::models::spec_code(bloom::basic_spec<bloom::xxh3>(sc)));
    }
}

TEST_CASE("frequency_code: bad input is reported", "[network][positions]") {
    const std::vector<std::uint64_t> counts = {3, 2, 1, 1};
    using bloom::invalid_argument;
    CHECK_THROWS_WITH(frequency_code(4, counts, 0, 1, 0), Catch::Contains("m must be at least 1"));
    CHECK_THROWS_WITH(frequency_code(4, counts, 8, 0, 0), Catch::Contains("k must be at least 1"));
    CHECK_THROWS_WITH(frequency_code(4, counts, 3, 4, 0), Catch::Contains("k = 4 exceeds m = 3"));
    CHECK_THROWS_WITH(frequency_code(5, counts, 8, 2, 0), Catch::Contains("counts has 4 entries"));
    CHECK_THROWS_AS(frequency_code(0, {}, 8, 2, 0), invalid_argument);
    CHECK_THROWS_AS(frequency_code({}, 8, 2, 0.5, 0), invalid_argument);
    CHECK_THROWS_WITH(frequency_code(counts, 8, 2, 1.0, 0), Catch::Contains("head_share"));
    CHECK_THROWS_WITH(frequency_code(counts, 8, 2, -0.1, 0), Catch::Contains("head_share"));
    CHECK_THROWS_AS(frequency_code(counts, 8, 2, std::nan(""), 0), invalid_argument);
    // floor(0.8 * 8) = 6 head positions leave 2 < k = 3
    CHECK_THROWS_WITH(frequency_code(counts, 8, 3, 0.8, 0),
                      Catch::Contains("leaves fewer than k = 3 shared positions"));
    frequency_options o;
    o.head_items = 8;
    CHECK_THROWS_AS(frequency_code(4, counts, 8, 1, 0, o), invalid_argument);
    o.head_items = 7;
    CHECK_NOTHROW(frequency_code(4, counts, 8, 1, 0, o));
}
