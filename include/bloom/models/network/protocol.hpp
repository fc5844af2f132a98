// The paper's protocol for the network: every user's item set is split at random into an input
// half (what the network sees) and a target half (what it must predict); a share of the users is
// held out for testing.
//
//   halves h = split_halves(data, {.test_share = 0.1, .seed = 42});
//   h.train_in / h.train_target     per training user: input and target items (sorted)
//   h.test_in / h.test_target       per test user
//
// Two generators, the same procedure:
//   half_order::bloom   users in dense-id order; each user's sorted distinct items are shuffled
//                       with bloom's platform-independent Fisher-Yates (std::mt19937_64), the
//                       first max(1, n/2) are the input; then a shuffle of the users, the first
//                       floor(test_share * users) are the test users.
//   half_order::numpy   ../shared/peers/torch_bloom_mlp.py's split bit for bit: users in the order
//                       of their first interaction, NumPy's legacy RandomState(seed) shuffles each
//                       user's items in turn and then permutes the users; the test users are the
//                       first users / 10 (test_share must be 0.1).
// A user with a single item has an empty target half: it trains nothing and is not evaluated.
//
// resample_halves() draws fresh halves of the training users' items (for training with a new
// split every epoch), and popularity_scores() is the floor every table reports: items ranked by
// how many training users have them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <bloom/data/interactions.hpp>
#include <bloom/data/random.hpp>
#include <bloom/error.hpp>
#include <bloom/eval/user_items.hpp>

namespace bloom {
namespace models {

enum class half_order : std::uint8_t { bloom, numpy };

struct halves_options {
    double test_share = 0.1;  // share of users held out, in (0, 1)
    std::uint64_t seed = 42;
    half_order order = half_order::bloom;
};

struct halves {
    std::uint32_t n_items = 0;
    std::vector<std::uint32_t> train_users, test_users;  // dense user ids, in split order
    eval::user_items train_in, train_target;             // row r: train_users[r]
    eval::user_items test_in, test_target;               // row r: test_users[r]
};

namespace detail {

inline void append_row(eval::user_items& x, const std::uint32_t* b, const std::uint32_t* e) {
    if (x.offsets.empty()) x.offsets.push_back(0);
    x.items.insert(x.items.end(), b, e);
    x.offsets.push_back(x.items.size());
}

inline void start_rows(eval::user_items& x) {
    x.offsets.assign(1, 0);
    x.items.clear();
}

// Splits a shuffled item list at max(1, n/2) into sorted halves appended to in / target.
inline void add_halves(std::vector<std::uint32_t>& items, eval::user_items& in,
                       eval::user_items& target) {
    const std::size_t h = std::max<std::size_t>(1, items.size() / 2);
    std::sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(h));
    std::sort(items.begin() + static_cast<std::ptrdiff_t>(h), items.end());
    append_row(in, items.data(), items.data() + h);
    append_row(target, items.data() + h, items.data() + items.size());
}

}  // namespace detail

// Each user's distinct items, sorted, in dense user order (users without items have none).
inline eval::user_items user_sets(const data::interactions& data) {
    data.validate();
    eval::user_items u = eval::make_user_items(data.n_users, data.users, data.items);
    eval::user_items out;
    detail::start_rows(out);
    std::vector<std::uint32_t> row;
    for (std::size_t r = 0; r < u.n_users(); ++r) {
        row.assign(u.begin(r), u.end(r));
        std::sort(row.begin(), row.end());
        row.erase(std::unique(row.begin(), row.end()), row.end());
        detail::append_row(out, row.data(), row.data() + row.size());
    }
    return out;
}

inline halves split_halves(const data::interactions& data, const halves_options& o = {}) {
    if (!(o.test_share > 0.0 && o.test_share < 1.0))
        ::bloom::detail::throw_invalid("split_halves: test_share must be in (0, 1), got " +
                                       std::to_string(o.test_share));
    if (data.empty()) ::bloom::detail::throw_invalid("split_halves: no interactions");
    const eval::user_items sets = user_sets(data);
    halves h;
    h.n_items = data.n_items;

    // The users with items, in the generator's order.
    std::vector<std::uint32_t> users;
    if (o.order == half_order::numpy) {
        if (o.test_share != 0.1)
            ::bloom::detail::throw_invalid("split_halves: half_order::numpy reproduces the "
                                           "reference's fixed 10% of test users; test_share must "
                                           "be 0.1");
        if (o.seed > 0xffffffffULL)
            ::bloom::detail::throw_invalid("split_halves: half_order::numpy takes a seed below "
                                           "2^32 (NumPy's legacy seeding), not " +
                                           std::to_string(o.seed));
        std::vector<char> seen(data.n_users, 0);
        for (std::uint32_t u : data.users)
            if (!seen[u]) {
                seen[u] = 1;
                users.push_back(u);
            }
    } else {
        for (std::uint32_t u = 0; u < data.n_users; ++u)
            if (sets.count(u) > 0) users.push_back(u);
    }

    eval::user_items in, target;
    detail::start_rows(in);
    detail::start_rows(target);
    std::vector<std::size_t> order;
    std::size_t n_test = 0;
    std::vector<std::uint32_t> row;
    if (o.order == half_order::numpy) {
        data::detail::numpy_legacy_rng rng(static_cast<std::uint32_t>(o.seed));
        for (std::uint32_t u : users) {
            row.assign(sets.begin(u), sets.end(u));
            rng.shuffle(row.data(), row.size());
            detail::add_halves(row, in, target);
        }
        order = rng.permutation(users.size());
        n_test = users.size() / 10;
    } else {
        data::engine rng(o.seed);
        for (std::uint32_t u : users) {
            row.assign(sets.begin(u), sets.end(u));
            data::detail::shuffle(row.data(), row.size(), rng);
            detail::add_halves(row, in, target);
        }
        order.resize(users.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        data::detail::shuffle(order.data(), order.size(), rng);
        n_test = static_cast<std::size_t>(o.test_share * static_cast<double>(users.size()));
    }
    if (n_test == 0 || n_test >= users.size())
        ::bloom::detail::throw_invalid("split_halves: " + std::to_string(users.size()) +
                                       " users with items leave " + std::to_string(n_test) +
                                       " test users; need at least one test and one training "
                                       "user");
    for (auto* x : {&h.train_in, &h.train_target, &h.test_in, &h.test_target})
        detail::start_rows(*x);
    for (std::size_t r = 0; r < order.size(); ++r) {
        const std::size_t i = order[r];
        const bool test = r < n_test;
        (test ? h.test_users : h.train_users).push_back(users[i]);
        detail::append_row(test ? h.test_in : h.train_in, in.begin(i), in.end(i));
        detail::append_row(test ? h.test_target : h.train_target, target.begin(i), target.end(i));
    }
    return h;
}

// Each row's items: a ∪ b (rows of a and b are disjoint halves of one set), sorted.
inline eval::user_items join_rows(const eval::user_items& a, const eval::user_items& b) {
    if (a.n_users() != b.n_users())
        ::bloom::detail::throw_invalid("join_rows: " + std::to_string(a.n_users()) + " and " +
                                       std::to_string(b.n_users()) + " rows");
    eval::user_items out;
    detail::start_rows(out);
    std::vector<std::uint32_t> row;
    for (std::size_t r = 0; r < a.n_users(); ++r) {
        row.assign(a.begin(r), a.end(r));
        row.insert(row.end(), b.begin(r), b.end(r));
        std::sort(row.begin(), row.end());
        detail::append_row(out, row.data(), row.data() + row.size());
    }
    return out;
}

// Fresh halves of every row of `sets` (rows with one item keep it as input, target empty).
inline void resample_halves(const eval::user_items& sets, data::engine& rng, eval::user_items& in,
                            eval::user_items& target) {
    detail::start_rows(in);
    detail::start_rows(target);
    std::vector<std::uint32_t> row;
    for (std::size_t r = 0; r < sets.n_users(); ++r) {
        row.assign(sets.begin(r), sets.end(r));
        data::detail::shuffle(row.data(), row.size(), rng);
        detail::add_halves(row, in, target);
    }
}

// How many rows of `sets` hold each item (d values).
inline std::vector<std::uint64_t> item_counts(const eval::user_items& sets, std::uint32_t d) {
    std::vector<std::uint64_t> c(d, 0);
    for (std::uint32_t i : sets.items) {
        if (i >= d)
            ::bloom::detail::throw_range("item_counts: item " + std::to_string(i) +
                                         " is not below d = " + std::to_string(d));
        ++c[i];
    }
    return c;
}

}  // namespace models
}  // namespace bloom
