#include <catch2/catch.hpp>

#include <bloom/data/split.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <vector>

using namespace bloom::data;

namespace {

// 50 users; user u has u % 7 + 1 interactions with items (u * 3 + k) % 40 at times 1000 - k
// (so a user's later lines are earlier in time), ratings k.
interactions sample() {
    interactions d;
    d.n_users = 50;
    d.n_items = 40;
    for (std::uint32_t u = 0; u < 50; ++u) {
        for (std::uint32_t k = 0; k <= u % 7; ++k) {
            d.users.push_back(u);
            d.items.push_back((u * 3 + k) % 40);
            d.weights.push_back(static_cast<float>(k));
            d.timestamps.push_back(1000 - k);
        }
    }
    return d;
}

using row = std::tuple<std::uint32_t, std::uint32_t, float, std::int64_t>;

std::multiset<row> rows_of(const interactions& d) {
    std::multiset<row> s;
    for (std::size_t i = 0; i < d.size(); ++i) {
        s.insert({d.users[i], d.items[i], d.weights[i], d.timestamps[i]});
    }
    return s;
}

// The two halves are exactly the whole, in the same id space.
void check_partition(const interactions& all, const train_test& s) {
    CHECK(s.train.n_users == all.n_users);
    CHECK(s.test.n_users == all.n_users);
    CHECK(s.train.n_items == all.n_items);
    CHECK(s.test.n_items == all.n_items);
    CHECK(s.train.size() + s.test.size() == all.size());
    CHECK_NOTHROW(s.train.validate());
    CHECK_NOTHROW(s.test.validate());
    std::multiset<row> both = rows_of(s.train);
    const std::multiset<row> t = rows_of(s.test);
    both.insert(t.begin(), t.end());
    CHECK(both == rows_of(all));
}

}  // namespace

TEST_CASE("random_split: Spotlight's cut, seeded, a partition of the interactions") {
    const interactions d = sample();
    REQUIRE(d.size() == 197);
    const train_test s = random_split(d, 0.2, 7);
    CHECK(s.train.size() == 157);  // floor(0.8 * 197)
    CHECK(s.test.size() == 40);
    check_partition(d, s);

    SECTION("the same seed gives the same split, another seed another") {
        const train_test again = random_split(d, 0.2, 7);
        CHECK(again.test.users == s.test.users);
        CHECK(again.test.items == s.test.items);
        const train_test other = random_split(d, 0.2, 8);
        CHECK(rows_of(other.test) != rows_of(s.test));
    }
    SECTION("an engine continues its stream") {
        engine rng(7);
        const train_test a = random_split(d, 0.2, rng);
        const train_test b = random_split(d, 0.2, rng);
        CHECK(rows_of(a.test) == rows_of(s.test));
        CHECK(rows_of(b.test) != rows_of(a.test));
    }
    SECTION("a known answer: the split does not depend on the standard library") {
        // The 40 test rows for seed 7, pinned: std::shuffle would differ between libraries.
        std::uint64_t h = 0;
        for (std::size_t i = 0; i < s.test.size(); ++i) {
            h = h * 1000003 + s.test.users[i] * 64 + s.test.items[i];
        }
        CHECK(h == 4584142174237453522ull);
    }
    SECTION("halves keep the original order") {
        for (std::size_t i = 1; i < s.test.size(); ++i) {
            CHECK(std::make_tuple(s.test.users[i - 1], 1000 - s.test.timestamps[i - 1]) <
                  std::make_tuple(s.test.users[i], 1000 - s.test.timestamps[i]));
        }
    }
    SECTION("shares 0 and 1, and invalid shares") {
        CHECK(random_split(d, 0.0, 1).test.empty());
        CHECK(random_split(d, 1.0, 1).train.empty());
        CHECK_THROWS_AS(random_split(d, 1.5, 1), bloom::invalid_argument);
        CHECK_THROWS_AS(random_split(d, -0.1, 1), bloom::invalid_argument);
        CHECK_THROWS_AS(random_split(d, std::numeric_limits<double>::quiet_NaN(), 1),
                        bloom::invalid_argument);
    }
}

TEST_CASE("the uniform draws behind the splits are exactly uniform") {
    engine rng(123);
    std::vector<int> counts(6, 0);
    for (int k = 0; k < 60000; ++k) ++counts[detail::uniform_below(rng, 6)];
    for (int c : counts) CHECK(std::abs(c - 10000) < 500);
    CHECK(detail::uniform_below(rng, 1) == 0);
    CHECK(detail::uniform_below(rng, 0) == 0);
    // mt19937_64's 10000th output is fixed by the standard: the engine is the standard one.
    engine fresh;
    fresh.discard(9999);
    CHECK(fresh() == 9981545732273789042ull);
}

TEST_CASE("leave_last_n puts each user's latest interactions in test") {
    const interactions d = sample();
    const train_test s = leave_last_n(d, 2);
    check_partition(d, s);
    const std::vector<std::uint32_t> all = d.user_counts(), test = s.test.user_counts();
    for (std::uint32_t u = 0; u < d.n_users; ++u) {
        // Users with 1 interaction keep it; with 2 give 1; with 3 or more give 2.
        CHECK(test[u] == std::min<std::uint32_t>(2, all[u] - 1));
    }
    // The latest are the smallest k here (time 1000 - k): the test holds k = 0 and 1.
    for (std::size_t i = 0; i < s.test.size(); ++i) CHECK(s.test.timestamps[i] >= 999);
    for (std::size_t i = 0; i < s.train.size(); ++i) {
        const std::uint32_t u = s.train.users[i];
        if (all[u] > 2) CHECK(s.train.timestamps[i] < 999);
    }

    SECTION("min_train 0 lets a user give everything") {
        const train_test z = leave_last_n(d, 3, 0);
        const std::vector<std::uint32_t> t = z.test.user_counts();
        for (std::uint32_t u = 0; u < d.n_users; ++u) {
            CHECK(t[u] == std::min<std::uint32_t>(3, all[u]));
        }
    }
    SECTION("equal timestamps: the later line is the later one") {
        interactions e;
        e.n_users = 1;
        e.n_items = 3;
        e.users = {0, 0, 0};
        e.items = {0, 1, 2};
        e.timestamps = {5, 5, 5};
        const train_test t = leave_last_n(e, 1);
        CHECK(t.test.items == std::vector<std::uint32_t>{2});
    }
    SECTION("timestamps are required") {
        interactions e = d;
        e.timestamps.clear();
        CHECK_THROWS_AS(leave_last_n(e, 1), bloom::invalid_argument);
    }
}

TEST_CASE("user_split moves whole users") {
    interactions d = sample();
    d.n_users = 60;  // users 50..59 have no interactions: they belong to neither half
    const train_test s = user_split(d, 0.2, 3);
    check_partition(d, s);
    std::set<std::uint32_t> train_users(s.train.users.begin(), s.train.users.end());
    std::set<std::uint32_t> test_users(s.test.users.begin(), s.test.users.end());
    CHECK(test_users.size() == 10);  // round(0.2 * 50 users with interactions)
    CHECK(train_users.size() == 40);
    for (std::uint32_t u : test_users) CHECK(train_users.count(u) == 0);
    CHECK(s.test.n_users == 60);

    const train_test again = user_split(d, 0.2, 3);
    CHECK(again.test.users == s.test.users);
    const train_test other = user_split(d, 0.2, 4);
    CHECK(other.test.users != s.test.users);
    CHECK_THROWS_AS(user_split(d, 2.0, 3), bloom::invalid_argument);
}

TEST_CASE("numpy_legacy_permutation is NumPy's RandomState(seed).permutation(n)") {
    // Known answers printed by NumPy 1.24 (np.random.RandomState(seed).permutation(n)).
    using detail::numpy_legacy_permutation;
    CHECK(numpy_legacy_permutation(10, 42) ==
          std::vector<std::size_t>{8, 1, 5, 0, 7, 2, 9, 4, 3, 6});
    CHECK(numpy_legacy_permutation(37, 4294967295u) ==
          std::vector<std::size_t>{15, 2,  23, 20, 17, 31, 21, 24, 3,  30, 16, 1, 6,
                                   8,  33, 28, 4,  36, 19, 9,  5,  14, 13, 10, 29, 11,
                                   18, 27, 32, 25, 26, 22, 0,  7,  12, 34, 35});
    const std::vector<std::size_t> p = numpy_legacy_permutation(1000, 7);
    CHECK(std::vector<std::size_t>(p.begin(), p.begin() + 20) ==
          std::vector<std::size_t>{778, 334, 271, 802, 216, 408, 812, 94,  487, 170,
                                   24,  242, 542, 930, 886, 426, 125, 453, 650, 913});
    CHECK(std::vector<std::size_t>(p.end() - 5, p.end()) ==
          std::vector<std::size_t>{579, 502, 537, 196, 175});
    // MovieLens 100K's size with torch_mf.py's seed: the first train and test positions, and
    // the sum of the 20,000 test positions.
    const std::vector<std::size_t> q = numpy_legacy_permutation(100000, 42);
    CHECK(std::vector<std::size_t>(q.begin(), q.begin() + 8) ==
          std::vector<std::size_t>{75721, 80184, 19864, 76699, 92991, 76434, 84004, 80917});
    CHECK(std::vector<std::size_t>(q.begin() + 80000, q.begin() + 80008) ==
          std::vector<std::size_t>{98877, 24044, 48435, 72179, 80645, 21601, 95368, 67951});
    std::uint64_t sum = 0;
    for (std::size_t k = 80000; k < q.size(); ++k) sum += q[k];
    CHECK(sum == 995171107u);
    CHECK(numpy_legacy_permutation(0, 1).empty());
    CHECK(numpy_legacy_permutation(1, 1) == std::vector<std::size_t>{0});
}

TEST_CASE("numpy_random_split holds out what Spotlight's random_train_test_split holds out") {
    const interactions d = sample();
    const train_test s = numpy_random_split(d, 0.2, 42);
    CHECK(s.train.size() == 157);  // Spotlight's cutoff: int((1 - 0.2) * 197)
    check_partition(d, s);
    const std::vector<std::size_t> p = detail::numpy_legacy_permutation(d.size(), 42);
    std::vector<std::size_t> held(p.begin() + 157, p.end());
    std::sort(held.begin(), held.end());  // each half keeps the input order
    REQUIRE(held.size() == s.test.size());
    for (std::size_t t = 0; t < held.size(); ++t) {
        CHECK(s.test.users[t] == d.users[held[t]]);
        CHECK(s.test.items[t] == d.items[held[t]]);
    }
    CHECK_THROWS_AS(numpy_random_split(d, 1.5, 1), bloom::invalid_argument);
}
