// Train/test splits of interactions. Both halves keep the whole id space: the same n_users,
// n_items and id maps, so a model trained on one half scores the other without remapping.
// Each half keeps the interactions in their original relative order.
//
// - random_split: shuffle the interactions, the last test_share of them are the test set
//   (Spotlight's random_train_test_split: train = the first floor((1 - share) * n)).
// - numpy_random_split: the same with NumPy's legacy shuffle, so that a seed holds out exactly
//   the interactions Spotlight's random_train_test_split holds out with RandomState(seed).
// - leave_last_n: per user, the n latest interactions (by timestamp) are the test set.
// - user_split: a test_share of the users, with all their interactions, are the test set.
//
// The seeded splits take an explicit engine (or a seed for a fresh std::mt19937_64) and draw with
// integer code of their own, so a seed gives the same split with every standard library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <bloom/data/interactions.hpp>
#include <bloom/data/random.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace data {

struct train_test {
    interactions train;
    interactions test;
};

namespace detail {

inline void check_share(double share, const char* who) {
    if (!(share >= 0.0 && share <= 1.0)) {  // also rejects NaN
        bloom::detail::throw_invalid(std::string(who) + ": test_share must be in [0, 1], got " +
                      std::to_string(share));
    }
}

// Splits by a per-interaction flag, keeping the original order within each half.
inline train_test split_by_flag(const interactions& data, const std::vector<char>& in_test) {
    std::vector<std::size_t> train_rows, test_rows;
    std::size_t n_test = 0;
    for (const char f : in_test) n_test += f ? 1 : 0;
    train_rows.reserve(data.size() - n_test);
    test_rows.reserve(n_test);
    for (std::size_t i = 0; i < data.size(); ++i) {
        (in_test[i] ? test_rows : train_rows).push_back(i);
    }
    return {data.subset(train_rows), data.subset(test_rows)};
}

// Spotlight's cut of a shuffled order: its first floor((1 - test_share) * n) positions go to train,
// the rest to test.
inline train_test split_by_order(const interactions& data, const std::vector<std::size_t>& order,
                                 double test_share) {
    const std::size_t n = data.size();
    const auto n_train = static_cast<std::size_t>(
        std::floor((1.0 - test_share) * static_cast<double>(n)));
    std::vector<char> in_test(n, 0);
    for (std::size_t k = n_train; k < n; ++k) in_test[order[k]] = 1;
    return split_by_flag(data, in_test);
}

}  // namespace detail

// Random split of the interactions: floor((1 - test_share) * n) to train, the rest to test.
inline train_test random_split(const interactions& data, double test_share, engine& rng) {
    detail::check_share(test_share, "random_split");
    const std::size_t n = data.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    detail::shuffle(order.data(), n, rng);
    return detail::split_by_order(data, order, test_share);
}

inline train_test random_split(const interactions& data, double test_share = 0.2,
                               std::uint64_t seed = 42) {
    engine rng(seed);
    return random_split(data, test_share, rng);
}

// Spotlight's random_train_test_split(interactions, test_percentage, np.random.RandomState(seed)),
// bit for bit: the interactions in input order are shuffled by NumPy's legacy
// RandomState(seed).permutation, the first floor((1 - test_share) * n) of that order go to train.
// Given a file in the same order, it holds out the very interactions Spotlight (or a script that
// splits with np.random.RandomState(seed).permutation) holds out, so results can be compared on
// one split. random_split draws differently (and is faster); both are uniform.
inline train_test numpy_random_split(const interactions& data, double test_share = 0.2,
                                     std::uint32_t seed = 42) {
    detail::check_share(test_share, "numpy_random_split");
    return detail::split_by_order(data, detail::numpy_legacy_permutation(data.size(), seed),
                                  test_share);
}

// Per user, the n latest interactions go to test (timestamps required; equal timestamps are
// ordered as in the input, a later line being later). A user keeps at least min_train
// interactions in train: a user with fewer than n + min_train gives only what is above
// min_train (none when they have min_train or fewer).
inline train_test leave_last_n(const interactions& data, std::size_t n = 1,
                               std::size_t min_train = 1) {
    if (!data.has_timestamps()) {
        bloom::detail::throw_invalid("leave_last_n: the interactions have no timestamps");
    }
    csr_options opt;
    opt.order = row_order::time;
    opt.with_source = true;
    const csr rows = data.by_user(opt);
    std::vector<char> in_test(data.size(), 0);
    for (std::uint32_t u = 0; u < rows.n_rows; ++u) {
        const std::size_t b = rows.offsets[u], e = rows.offsets[std::size_t{u} + 1];
        const std::size_t count = e - b;
        const std::size_t take = count > min_train ? std::min(n, count - min_train) : 0;
        for (std::size_t k = e - take; k < e; ++k) in_test[rows.source[k]] = 1;
    }
    return detail::split_by_flag(data, in_test);
}

// A share of the users (those with at least one interaction), with all their interactions, go to
// test: round(test_share * users) of them, chosen by a seeded shuffle.
inline train_test user_split(const interactions& data, double test_share, engine& rng) {
    detail::check_share(test_share, "user_split");
    const std::vector<std::uint32_t> counts = data.user_counts();
    std::vector<std::uint32_t> present;
    for (std::uint32_t u = 0; u < data.n_users; ++u) {
        if (counts[u] > 0) present.push_back(u);
    }
    detail::shuffle(present.data(), present.size(), rng);
    const auto n_test = static_cast<std::size_t>(
        std::llround(test_share * static_cast<double>(present.size())));
    std::vector<char> test_user(data.n_users, 0);
    for (std::size_t k = 0; k < n_test; ++k) test_user[present[k]] = 1;
    std::vector<char> in_test(data.size(), 0);
    for (std::size_t i = 0; i < data.size(); ++i) in_test[i] = test_user[data.users[i]];
    return detail::split_by_flag(data, in_test);
}

inline train_test user_split(const interactions& data, double test_share = 0.2,
                             std::uint64_t seed = 42) {
    engine rng(seed);
    return user_split(data, test_share, rng);
}

}  // namespace data
}  // namespace bloom
