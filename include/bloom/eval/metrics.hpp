// Ranking metrics of one user: the ranks of their test items among all items, and every metric
// computed from those ranks in one pass.
//
// The ranking (the protocol of ../shared/peers/torch_mf.py's evaluate, and Spotlight's up to
// exact ties, see docs/evaluation.md):
// - the user's training items get the score -infinity (they sink to the bottom, they are not
//   recommended), then all n_items items are ordered by score, highest first, equal scores by
//   item id, lowest first (what a stable argsort of -score does);
// - the rank of an item is its 1-based position in that order.
// Because the order is total, the top-k list is exactly the items of rank <= k, so every @k
// metric follows from the test items' ranks; no item list is sorted.
//
// Definitions (T = the user's distinct test items, m = |T|, r_1 < ... < r_m their ranks,
// hits = |{j : r_j <= k}|):
//   reciprocal rank  rr    = (1/m) sum_j 1/r_j                  (averaged over users: MRR)
//   best rank        rr_best = 1/r_1: the reciprocal rank of the best-ranked test item (the MRR
//                    of most papers and of ../shared/peers/torch_bloom_mlp.py)
//   precision@k            = hits / k                           (k even when k > n_items)
//   recall@k               = hits / m
//   hit@k                  = 1 if hits > 0 else 0
//   NDCG@k                 = sum_{j <= hits} 1/log2(r_j + 1)  /  sum_{i=1}^{min(k,m)} 1/log2(i + 1)
//   AP (full ranking)      = (1/m) sum_j j / r_j
//   AP@k                   = (1/min(k,m)) sum_{j <= hits} j / r_j
//   AUC                    = (1/(m N)) sum_{t in T} (#{negatives x : s_x < s_t}
//                                                    + 1/2 #{negatives x : s_x = s_t})
//                    where the negatives are the N items that are neither test items nor (when
//                    they are excluded) training items, scores after masking; 1 when N = 0.
//                    Computed from the scores, not the ranks (ties count 1/2), by
//                    basic_ranker::auc(). Per user, then averaged over users: LightFM's auc_score.
// See docs/evaluation.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace eval {

// The metrics of one user. The field names of ranking_result (evaluate.hpp) average these.
struct user_metrics {
    std::uint32_t user = 0;
    std::size_t n_test = 0;  // distinct test items (m)
    std::size_t hits = 0;    // test items in the top k
    double rr = 0;           // mean reciprocal rank of the test items
    double rr_best = 0;      // reciprocal rank of the best-ranked test item
    double precision = 0;    // precision@k
    double recall = 0;       // recall@k
    double ndcg = 0;         // NDCG@k
    double ap = 0;           // average precision over the full ranking
    double ap_at_k = 0;      // average precision at k
    double hit = 0;          // 1 if a test item is in the top k
    double auc = 0;          // AUC against every negative item (basic_ranker::auc; not set by
                             // metrics_from_ranks, which sees only ranks)
};

// Every metric of one user from the 1-based ranks of their m distinct test items, given in
// increasing order (strictly: ranks of distinct items differ). `user` is copied into the result.
// Throws bloom::invalid_argument when k = 0, m = 0 or the ranks are not strictly increasing from 1.
inline user_metrics metrics_from_ranks(const std::size_t* ranks, std::size_t m, std::size_t k,
                                       std::uint32_t user = 0) {
    if (k == 0) bloom::detail::throw_invalid("metrics_from_ranks: k must be at least 1");
    if (m == 0)
        bloom::detail::throw_invalid("metrics_from_ranks: user " + std::to_string(user) +
                                     " has no test items");
    for (std::size_t j = 0; j < m; ++j)
        if (ranks[j] == 0 || (j > 0 && ranks[j] <= ranks[j - 1]))
            bloom::detail::throw_invalid(
                "metrics_from_ranks: ranks must be strictly increasing and 1-based; rank " +
                std::to_string(j) + " is " + std::to_string(ranks[j]));
    user_metrics r;
    r.user = user;
    r.n_test = m;
    double rr = 0, ap = 0, ap_k = 0, dcg = 0;
    for (std::size_t j = 0; j < m; ++j) {
        const double rank = static_cast<double>(ranks[j]);
        const double prec = static_cast<double>(j + 1) / rank;  // precision at this item's rank
        rr += 1.0 / rank;
        ap += prec;
        if (ranks[j] <= k) {
            ++r.hits;
            ap_k += prec;
            dcg += 1.0 / std::log2(rank + 1.0);
        }
    }
    const std::size_t ideal = std::min(k, m);
    double idcg = 0;
    for (std::size_t i = 1; i <= ideal; ++i) idcg += 1.0 / std::log2(static_cast<double>(i) + 1.0);
    const double dm = static_cast<double>(m);
    r.rr = rr / dm;
    r.rr_best = 1.0 / static_cast<double>(ranks[0]);
    r.precision = static_cast<double>(r.hits) / static_cast<double>(k);
    r.recall = static_cast<double>(r.hits) / dm;
    r.ndcg = dcg / idcg;
    r.ap = ap / dm;
    r.ap_at_k = ap_k / static_cast<double>(ideal);
    r.hit = r.hits > 0 ? 1.0 : 0.0;
    return r;
}

inline user_metrics metrics_from_ranks(const std::vector<std::size_t>& ranks, std::size_t k,
                                       std::uint32_t user = 0) {
    return metrics_from_ranks(ranks.data(), ranks.size(), k, user);
}

namespace detail {

// Branch-free counts over a score array, written in blocks of 16 so that compilers vectorize them
// at -O2 (a fixed inner trip count needs no cost model beyond the cheapest).
template <class Scalar>
std::size_t count_at_least(const Scalar* s, std::size_t n, Scalar threshold) noexcept {
    std::size_t c = 0, x = 0;
    for (; x + 16 <= n; x += 16) {
        unsigned block = 0;
        for (unsigned l = 0; l < 16; ++l) block += s[x + l] >= threshold;
        c += block;
    }
    for (; x < n; ++x) c += s[x] >= threshold;
    return c;
}

template <class Scalar>
std::size_t count_above(const Scalar* s, std::size_t n, Scalar threshold) noexcept {
    std::size_t c = 0, x = 0;
    for (; x + 16 <= n; x += 16) {
        unsigned block = 0;
        for (unsigned l = 0; l < 16; ++l) block += s[x + l] > threshold;
        c += block;
    }
    for (; x < n; ++x) c += s[x] > threshold;
    return c;
}

// Index of the first NaN in s[0..n), or n.
template <class Scalar>
std::size_t find_nan(const Scalar* s, std::size_t n) noexcept {
    std::size_t x = 0;
    for (; x + 16 <= n; x += 16) {
        unsigned block = 0;
        for (unsigned l = 0; l < 16; ++l) block |= s[x + l] != s[x + l];
        if (BLOOM_UNLIKELY(block)) break;
    }
    for (; x < n; ++x)
        if (s[x] != s[x]) return x;
    return n;
}

}  // namespace detail

// The workspace that ranks one user's test items: a score buffer of n_items values for the
// scorer to fill, and the small per-user arrays. One per thread; it allocates only when a user
// has more test items than any before.
//
// Two exact methods, chosen by m, the number of distinct test items (the ranks are the same):
// - m <= count_max: for each test item t, count the items before it (score above s_t, or equal
//   with a lower id) in one vectorized pass: O(n_items * m), and fastest for typical m;
// - otherwise: sort the test items into ranking order, then place every other item among them by
//   binary search and accumulate a histogram: O(n_items * log m).
template <class Scalar>
class basic_ranker {
    static_assert(std::is_floating_point_v<Scalar>,
                  "bloom::eval::basic_ranker: Scalar must be a floating-point type");

public:
    // The largest m ranked by per-item counting passes (a speed choice; the result is the same).
    static constexpr std::size_t count_max = 256;

    explicit basic_ranker(std::size_t n_items) : scores_(n_items) {}

    std::size_t n_items() const noexcept { return scores_.size(); }

    // The buffer to fill with the user's scores, n_items() values. rank() overwrites the
    // training items' entries with -infinity.
    Scalar* scores() noexcept { return scores_.data(); }
    const Scalar* scores() const noexcept { return scores_.data(); }

    // Ranks the distinct items of test[0..n_test) after masking train[0..n_train) to -infinity.
    // Item ids must be < n_items() (checked by BLOOM_ASSERT only: validate the lists first).
    // A test item that is also a training item is ranked with the masked score, as in Spotlight.
    // Throws bloom::invalid_argument if there is no test item, or if a score is NaN (naming
    // `user` and the lowest such item; training items included).
    void rank(std::uint32_t user, const std::uint32_t* train, std::size_t n_train,
              const std::uint32_t* test, std::size_t n_test) {
        if (n_test == 0)
            bloom::detail::throw_invalid("evaluate: user " + std::to_string(user) +
                                         " has no test items");
        Scalar* s = scores_.data();
        const std::size_t n = scores_.size();
        const std::size_t nan_at = detail::find_nan(s, n);
        if (BLOOM_UNLIKELY(nan_at != n))
            bloom::detail::throw_invalid("evaluate: the score of item " + std::to_string(nan_at) +
                                         " for user " + std::to_string(user) + " is NaN");
        for (std::size_t p = 0; p < n_train; ++p) {
            BLOOM_ASSERT(train[p] < n);
            s[train[p]] = -std::numeric_limits<Scalar>::infinity();
        }
        items_.assign(test, test + n_test);
        std::sort(items_.begin(), items_.end());
        items_.erase(std::unique(items_.begin(), items_.end()), items_.end());
        BLOOM_ASSERT(items_.back() < n);
        const std::size_t m = items_.size();
        ranks_.resize(m);
        if (m <= count_max)
            rank_by_counting(s, n);
        else
            rank_by_search(s, n);
    }

    // After rank(): the distinct test items in ranking order, and their ranks (increasing).
    const std::vector<std::uint32_t>& ranked_items() const noexcept { return items_; }
    const std::vector<std::size_t>& ranks() const noexcept { return ranks_; }

    // After rank() with the same training items: the user's AUC, the probability that a random
    // test item (positive) scores above a random negative, ties counting 1/2. The negatives are
    // the items that are neither test items nor in train[0..n_train). The positives' scores are
    // the masked ones (a test item that is also a training item scores -infinity, as ranked).
    // 1 when there is no negative. O(n_items * log m); the sum is kept in integers (twice the
    // pair count), so the value does not depend on the order of the items.
    double auc(const std::uint32_t* train, std::size_t n_train) {
        const Scalar* s = scores_.data();
        const std::size_t n = scores_.size();
        const std::size_t m = items_.size();
        BLOOM_ASSERT(m > 0);
        if (mark_.size() != n) mark_.assign(n, 0);
        pos_scores_.resize(m);
        for (std::size_t j = 0; j < m; ++j) {
            pos_scores_[j] = s[items_[j]];
            mark_[items_[j]] = 1;
        }
        for (std::size_t p = 0; p < n_train; ++p) {
            BLOOM_ASSERT(train[p] < n);
            mark_[train[p]] = 1;
        }
        std::sort(pos_scores_.begin(), pos_scores_.end());
        const auto lo = pos_scores_.begin();
        const auto hi = pos_scores_.end();
        std::uint64_t twice = 0;  // 2 * #(positive above) + #(tied), over negative-positive pairs
        std::size_t negatives = 0;
        for (std::size_t x = 0; x < n; ++x) {
            if (mark_[x]) continue;
            ++negatives;
            const Scalar sx = s[x];
            const auto below_end = std::upper_bound(lo, hi, sx);  // positives <= sx end here
            const auto tie_begin = std::lower_bound(lo, below_end, sx);
            twice += 2 * static_cast<std::uint64_t>(hi - below_end) +
                     static_cast<std::uint64_t>(below_end - tie_begin);
        }
        for (std::size_t j = 0; j < m; ++j) mark_[items_[j]] = 0;
        for (std::size_t p = 0; p < n_train; ++p) mark_[train[p]] = 0;
        if (negatives == 0) return 1.0;
        return static_cast<double>(twice) /
               (2.0 * static_cast<double>(m) * static_cast<double>(negatives));
    }

private:
    // rank(t) = 1 + #{x < t : s_x >= s_t} + #{x > t : s_x > s_t}.
    void rank_by_counting(const Scalar* s, std::size_t n) {
        const std::size_t m = items_.size();
        pairs_.resize(m);
        for (std::size_t j = 0; j < m; ++j) {
            const std::uint32_t t = items_[j];
            const Scalar st = s[t];
            pairs_[j] = {1 + detail::count_at_least(s, t, st) +
                             detail::count_above(s + t + 1, n - t - 1, st),
                         t};
        }
        std::sort(pairs_.begin(), pairs_.end());  // ranks are distinct
        for (std::size_t j = 0; j < m; ++j) {
            ranks_[j] = pairs_[j].first;
            items_[j] = pairs_[j].second;
        }
    }

    void rank_by_search(const Scalar* s, std::size_t n) {
        // "a before b": a higher score, or the same score and a lower id.
        const auto before = [s](std::size_t a, std::size_t b) noexcept {
            return s[a] > s[b] || (s[a] == s[b] && a < b);
        };
        std::sort(items_.begin(), items_.end(), before);
        const std::size_t m = items_.size();
        // above_[q] counts the items x that exactly q test items are at or before, for x before
        // the last test item. Then rank(test j, 0-based) = 1 + sum_{q <= j} above_[q].
        above_.assign(m, 0);
        const std::uint32_t last = items_.back();
        const Scalar s_last = s[last];
        for (std::size_t x = 0; x < n; ++x) {
            const Scalar sx = s[x];
            if (sx < s_last || (sx == s_last && x >= last)) continue;  // at or after the last
            // The test items at or before x are a prefix of items_ (which is in ranking order).
            const auto q = std::partition_point(items_.begin(), items_.end(),
                                                [&](std::uint32_t t) { return !before(x, t); }) -
                           items_.begin();
            ++above_[static_cast<std::size_t>(q)];
        }
        std::size_t ahead = 0;
        for (std::size_t j = 0; j < m; ++j) {
            ahead += above_[j];
            ranks_[j] = 1 + ahead;
        }
    }

    std::vector<Scalar> scores_;
    std::vector<std::uint32_t> items_;
    std::vector<std::size_t> ranks_;
    std::vector<std::pair<std::size_t, std::uint32_t>> pairs_;
    std::vector<std::size_t> above_;
    std::vector<unsigned char> mark_;  // auc(): positives and training items; zero between calls
    std::vector<Scalar> pos_scores_;
};

using ranker = basic_ranker<float>;

// One user's AUC from their scores over all items (evaluate_ranking's definition; see
// basic_ranker::auc): `test` the positives (duplicates allowed), `train` the items excluded from
// the negatives (and masked to -infinity). Throws like basic_ranker::rank (no test item, NaN).
template <class Scalar>
double auc_score(const std::vector<Scalar>& scores, const std::vector<std::uint32_t>& test,
                 const std::vector<std::uint32_t>& train = {}) {
    basic_ranker<Scalar> rk(scores.size());
    std::copy(scores.begin(), scores.end(), rk.scores());
    for (const std::uint32_t t : test)
        if (t >= scores.size())
            bloom::detail::throw_invalid("auc_score: test item " + std::to_string(t) +
                                         " >= the " + std::to_string(scores.size()) + " scores");
    for (const std::uint32_t t : train)
        if (t >= scores.size())
            bloom::detail::throw_invalid("auc_score: train item " + std::to_string(t) +
                                         " >= the " + std::to_string(scores.size()) + " scores");
    rk.rank(0, train.data(), train.size(), test.data(), test.size());
    return rk.auc(train.data(), train.size());
}

}  // namespace eval
}  // namespace bloom
