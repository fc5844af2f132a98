// Helpers shared by the eval tests: per-user lists as CSR, and a brute-force reference that
// ranks by a full stable sort, the way ../shared/peers/torch_mf.py does.
#pragma once

#include <bloom/eval/metrics.hpp>
#include <bloom/eval/user_items.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

namespace eval_test {

using lists = std::vector<std::vector<std::uint32_t>>;

inline bloom::eval::user_items csr(const lists& per_user) {
    bloom::eval::user_items x;
    x.offsets.push_back(0);
    for (const auto& l : per_user) {
        x.items.insert(x.items.end(), l.begin(), l.end());
        x.offsets.push_back(x.items.size());
    }
    return x;
}

// The metrics of one user by definition: mask the training items to -inf, stable-sort all items
// by score (highest first), then walk the full order.
template <class Scalar>
bloom::eval::user_metrics brute_force(std::vector<Scalar> s,
                                      const std::vector<std::uint32_t>& train,
                                      const std::vector<std::uint32_t>& test, std::size_t k,
                                      std::uint32_t user) {
    for (auto i : train) s[i] = -std::numeric_limits<Scalar>::infinity();
    std::vector<std::uint32_t> order(s.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return s[a] > s[b]; });
    const std::set<std::uint32_t> relevant(test.begin(), test.end());
    const double m = static_cast<double>(relevant.size());
    bloom::eval::user_metrics r;
    r.user = user;
    r.n_test = relevant.size();
    double seen = 0, dcg = 0, ap = 0, ap_k = 0;
    for (std::size_t pos = 0; pos < order.size(); ++pos) {
        if (!relevant.count(order[pos])) continue;
        const double rank = static_cast<double>(pos + 1);
        seen += 1;
        r.rr += 1.0 / rank;
        ap += seen / rank;
        if (pos < k) {
            ++r.hits;
            dcg += 1.0 / std::log2(rank + 1.0);
            ap_k += seen / rank;
        }
    }
    double idcg = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(k, relevant.size()); ++i)
        idcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
    r.rr /= m;
    r.precision = static_cast<double>(r.hits) / static_cast<double>(k);
    r.recall = static_cast<double>(r.hits) / m;
    r.ndcg = dcg / idcg;
    r.ap = ap / m;
    r.ap_at_k = ap_k / static_cast<double>(std::min<std::size_t>(k, relevant.size()));
    r.hit = r.hits > 0 ? 1 : 0;
    return r;
}

}  // namespace eval_test
