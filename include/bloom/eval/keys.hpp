// Ranking evaluation when users and items are raw 64-bit keys (models/keyed.hpp): there is no
// item count to score "every item" against, so a test item is ranked among candidates.
//
//     auto score = [&](std::uint64_t u, const std::uint64_t* items, std::size_t n, float* out) {
//         model.score(u, items, n, out);
//     };
//     bloom::eval::key_ranking_options opt;   // 1,000 users, 1,000 candidates
//     auto r = bloom::eval::evaluate_keys(score, train_users, train_items, test_users,
//                                         test_items, opt);   // r.mrr, r.hit_rate, r.users
//
// - The candidates are the distinct item keys of the training data (the items the model has
//   seen), or a uniform sample of `candidates` of them (0: all), drawn once from the seed.
// - The users are the distinct users of the test data, or a uniform sample of `max_users` of them
//   (0: all).
// - For a user, each distinct test item not among its training items is ranked against the
//   candidates that are not its training items and not the test item itself: rank = 1 + the
//   number of those that score strictly higher. A test item need not be a candidate (it may
//   never occur in training).
// - mrr is the mean over users of the mean reciprocal rank of their test items; hit_rate is the
//   share of users with a test item at rank <= k. With a sample of candidates the ranks are
//   smaller than against every item, so compare models on the same candidates (same seed).
//
// Memory: the candidates, a sorted copy of the training pairs (16 bytes each) and the test
// pairs: the data's size, not the key space's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <bloom/error.hpp>
#include <bloom/hash/policy.hpp>

namespace bloom {
namespace eval {

struct key_ranking_options {
    std::size_t max_users = 1000;   // users evaluated (a uniform sample); 0: every test user
    std::size_t candidates = 1000;  // items each test item is ranked against; 0: every seen item
    std::size_t k = 10;             // hit_rate counts ranks <= k
    std::uint64_t seed = 1;         // the samples
};

struct key_ranking_result {
    double mrr = 0;
    double hit_rate = 0;
    std::size_t users = 0;       // users evaluated (those with a test item not in training)
    std::size_t candidates = 0;  // candidates each test item was ranked against (at most)
};

namespace detail {

// The first `want` entries of v become a uniform sample of it (partial Fisher-Yates).
template <class T>
void sample_prefix(std::vector<T>& v, std::size_t want, std::uint64_t seed) {
    if (want == 0 || want >= v.size()) return;
    std::uint64_t s = seed;
    for (std::size_t i = 0; i < want; ++i) {
        s += 0x9E3779B97F4A7C15ULL;
        const std::uint64_t r = ::bloom::detail::splitmix64(s);
        const std::size_t j = i + static_cast<std::size_t>(r % (v.size() - i));
        std::swap(v[i], v[j]);
    }
    v.resize(want);
}

using key_pair = std::pair<std::uint64_t, std::uint64_t>;

inline std::vector<key_pair> sorted_pairs(const std::vector<std::uint64_t>& users,
                                          const std::vector<std::uint64_t>& items,
                                          const char* what) {
    if (users.size() != items.size())
        ::bloom::detail::throw_invalid(std::string("evaluate_keys: ") + what + " has " +
                                       std::to_string(users.size()) + " users but " +
                                       std::to_string(items.size()) + " items");
    std::vector<key_pair> p(users.size());
    for (std::size_t t = 0; t < users.size(); ++t) p[t] = {users[t], items[t]};
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    return p;
}

}  // namespace detail

template <class Score>
key_ranking_result evaluate_keys(Score&& score, const std::vector<std::uint64_t>& train_users,
                                 const std::vector<std::uint64_t>& train_items,
                                 const std::vector<std::uint64_t>& test_users,
                                 const std::vector<std::uint64_t>& test_items,
                                 const key_ranking_options& opt) {
    using detail::key_pair;
    const std::vector<key_pair> train = detail::sorted_pairs(train_users, train_items, "train");
    const std::vector<key_pair> test = detail::sorted_pairs(test_users, test_items, "test");
    if (train.empty()) ::bloom::detail::throw_invalid("evaluate_keys: no training pairs");
    std::vector<std::uint64_t> cand(train_items);
    std::sort(cand.begin(), cand.end());
    cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
    detail::sample_prefix(cand, opt.candidates, opt.seed);
    std::sort(cand.begin(), cand.end());
    std::vector<std::uint64_t> users;
    for (const key_pair& p : test)
        if (users.empty() || users.back() != p.first) users.push_back(p.first);
    detail::sample_prefix(users, opt.max_users, opt.seed ^ 0x5bd1e995ULL);
    std::sort(users.begin(), users.end());

    key_ranking_result r;
    r.candidates = cand.size();
    std::vector<float> s(cand.size());
    std::vector<char> seen(cand.size());
    double mrr_sum = 0, hits = 0;
    for (const std::uint64_t u : users) {
        const auto tr = std::equal_range(train.begin(), train.end(), key_pair{u, 0},
                                         [](const key_pair& a, const key_pair& b) {
                                             return a.first < b.first;
                                         });
        const auto te = std::equal_range(test.begin(), test.end(), key_pair{u, 0},
                                         [](const key_pair& a, const key_pair& b) {
                                             return a.first < b.first;
                                         });
        const auto in_train = [&](std::uint64_t item) {
            return std::binary_search(tr.first, tr.second, key_pair{u, item});
        };
        std::vector<std::uint64_t> mine;
        for (auto it = te.first; it != te.second; ++it)
            if (!in_train(it->second)) mine.push_back(it->second);
        if (mine.empty()) continue;
        score(u, cand.data(), cand.size(), s.data());
        for (std::size_t c = 0; c < cand.size(); ++c) seen[c] = in_train(cand[c]) ? 1 : 0;
        std::vector<float> own(mine.size());
        score(u, mine.data(), mine.size(), own.data());
        double rr = 0;
        bool hit = false;
        for (std::size_t t = 0; t < mine.size(); ++t) {
            if (std::isnan(own[t]))
                ::bloom::detail::throw_invalid("evaluate_keys: the score of user " +
                                               std::to_string(u) + "'s test item " +
                                               std::to_string(mine[t]) + " is NaN");
            std::size_t above = 0;
            for (std::size_t c = 0; c < cand.size(); ++c)
                if (seen[c] == 0 && cand[c] != mine[t] && s[c] > own[t]) ++above;
            rr += 1.0 / static_cast<double>(above + 1);
            if (above + 1 <= opt.k) hit = true;
        }
        mrr_sum += rr / static_cast<double>(mine.size());
        hits += hit ? 1.0 : 0.0;
        ++r.users;
    }
    if (r.users > 0) {
        r.mrr = mrr_sum / static_cast<double>(r.users);
        r.hit_rate = hits / static_cast<double>(r.users);
    }
    return r;
}

}  // namespace eval
}  // namespace bloom
