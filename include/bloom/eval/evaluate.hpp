// Ranking evaluation over all users, on all cores.
//
//   auto scorer = [&](std::uint32_t user, float* scores) { model.score_user(user, scores); };
//   bloom::eval::ranking_options opt;   // k = 10, threads = 0 (every core)
//   auto r = bloom::eval::evaluate_ranking(scorer, n_items, train, test, opt);
//   // r.mrr, r.precision, r.recall, r.ndcg, r.map, r.map_at_k, r.hit_rate, r.auc, r.users
//
// Every user with at least one test item is scored once (the scorer fills all n_items scores),
// ranked by basic_ranker (metrics.hpp) and measured; users without test items are skipped and
// their scorer is never called. The result averages the per-user metrics over the users
// evaluated.
//
// Threads: the users are cut into fixed blocks of block_users; worker threads take blocks in
// turn, each with its own score buffer. Each block's sums are added in user order, and the block
// sums in block order, so the result is bit-for-bit the same for any number of threads. The
// scorer is called concurrently from several threads (never for the same user twice): it must be
// safe to call that way (e.g. factorization::score_user() after prepare_scoring()).
//
// Errors: if a scorer call throws, or a score is NaN, the evaluation stops and rethrows the error
// of the lowest user id that failed (the same error as a single-threaded run).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/eval/metrics.hpp>
#include <bloom/eval/user_items.hpp>

namespace bloom {
namespace eval {

struct ranking_options {
    std::size_t k = 10;     // cutoff of precision, recall, NDCG, AP@k and hit rate; k >= 1
    unsigned threads = 0;   // 0: std::thread::hardware_concurrency()
    bool per_user = false;  // also return each evaluated user's metrics
};

struct ranking_result {
    std::size_t k = 0;
    std::size_t users = 0;       // users evaluated: those with at least one test item
    std::size_t test_items = 0;  // their distinct test items, in total
    unsigned threads = 0;        // threads used
    // Means over the users evaluated of the user_metrics fields (metrics.hpp).
    double mrr = 0;        // of rr
    double mrr_best = 0;   // of rr_best: 1 / rank of each user's best-ranked test item
    double precision = 0;  // @k
    double recall = 0;     // @k
    double ndcg = 0;       // @k
    double map = 0;        // of ap, over the full ranking
    double map_at_k = 0;   // of ap_at_k
    double hit_rate = 0;   // @k
    double auc = 0;        // of auc: per-user AUC over all negatives, as LightFM's auc_score
    // With ranking_options::per_user: each evaluated user's metrics, in user order.
    std::vector<user_metrics> per_user;
};

// Users per block of work. Fixed (independent of the thread count) so that the summation order,
// and hence every bit of the result, does not depend on the threads.
inline constexpr std::size_t block_users = 64;

namespace detail {

struct metric_sums {
    std::size_t users = 0, test_items = 0;
    double rr = 0, rr_best = 0, precision = 0, recall = 0, ndcg = 0, ap = 0, ap_at_k = 0, hit = 0, auc = 0;

    void add(const user_metrics& m) noexcept {
        ++users;
        test_items += m.n_test;
        rr += m.rr;
        rr_best += m.rr_best;
        precision += m.precision;
        recall += m.recall;
        ndcg += m.ndcg;
        ap += m.ap;
        ap_at_k += m.ap_at_k;
        hit += m.hit;
        auc += m.auc;
    }
    void add(const metric_sums& o) noexcept {
        users += o.users;
        test_items += o.test_items;
        rr += o.rr;
        rr_best += o.rr_best;
        precision += o.precision;
        recall += o.recall;
        ndcg += o.ndcg;
        ap += o.ap;
        ap_at_k += o.ap_at_k;
        hit += o.hit;
        auc += o.auc;
    }
    // The means over the users summed, into r (users, test items and every metric).
    void finish(ranking_result& r) const noexcept {
        const double n = static_cast<double>(users);
        r.users = users;
        r.test_items = test_items;
        r.mrr = rr / n;
        r.mrr_best = rr_best / n;
        r.precision = precision / n;
        r.recall = recall / n;
        r.ndcg = ndcg / n;
        r.map = ap / n;
        r.map_at_k = ap_at_k / n;
        r.hit_rate = hit / n;
        r.auc = auc / n;
    }
};

inline unsigned resolve_threads(unsigned requested, std::size_t blocks) noexcept {
    unsigned t = requested;
    if (t == 0) t = std::max(1u, std::thread::hardware_concurrency());
    if (blocks < t) t = static_cast<unsigned>(std::max<std::size_t>(1, blocks));
    return t;
}

}  // namespace detail

// Evaluates the ranking of every user with test items. `scorer(user, scores)` fills
// scores[0..n_items) for one user (Scalar: float by default, evaluate_ranking<double> for
// double). `train` holds the items to exclude (score -infinity) per user; it may be empty
// (no offsets: nothing excluded) or must have as many users as `test`.
// Throws bloom::invalid_argument for k = 0, n_items = 0, mismatched or malformed lists, no user
// with test items, or a NaN score (naming the user and the item); bloom::out_of_range for an
// item id >= n_items (naming the list, the user and the item).
template <class Scalar = float, class Scorer>
ranking_result evaluate_ranking(Scorer&& scorer, std::size_t n_items, const user_items& train,
                                const user_items& test, const ranking_options& opt = {}) {
    static_assert(std::is_floating_point_v<Scalar>,
                  "bloom::eval::evaluate_ranking<Scalar>: Scalar must be a floating-point type");
    static_assert(std::is_invocable_v<Scorer&, std::uint32_t, Scalar*>,
                  "bloom::eval::evaluate_ranking: the scorer must be callable as "
                  "scorer(std::uint32_t user, Scalar* scores); for double scores call "
                  "evaluate_ranking<double>(...)");
    if (opt.k == 0) bloom::detail::throw_invalid("evaluate_ranking: k must be at least 1");
    if (n_items == 0) bloom::detail::throw_invalid("evaluate_ranking: n_items is 0");
    validate(test, n_items, "evaluate_ranking: test items");
    validate(train, n_items, "evaluate_ranking: train items");
    const std::size_t n_users = test.n_users();
    const bool has_train = !train.offsets.empty();
    if (has_train && train.n_users() != n_users)
        bloom::detail::throw_invalid("evaluate_ranking: train items cover " +
                                     std::to_string(train.n_users()) +
                                     " users but test items cover " + std::to_string(n_users) +
                                     "; pass the same number of users (or empty train items)");
    if (n_users > std::size_t{std::numeric_limits<std::uint32_t>::max()} + 1)
        bloom::detail::throw_invalid("evaluate_ranking: more than 2^32 users");

    // Blocks and, for per-user output, where each block's users go.
    const std::size_t n_blocks = (n_users + block_users - 1) / block_users;
    std::vector<std::size_t> first_slot(n_blocks + 1, 0);
    for (std::size_t b = 0; b < n_blocks; ++b) {
        std::size_t c = 0;
        const std::size_t end = std::min(n_users, (b + 1) * block_users);
        for (std::size_t u = b * block_users; u < end; ++u) c += test.count(u) > 0;
        first_slot[b + 1] = first_slot[b] + c;
    }
    const std::size_t n_eval = first_slot[n_blocks];
    if (n_eval == 0)
        bloom::detail::throw_invalid("evaluate_ranking: no user has test items (" +
                                     std::to_string(n_users) + " users)");

    ranking_result result;
    result.k = opt.k;
    result.threads = detail::resolve_threads(opt.threads, n_blocks);
    if (opt.per_user) result.per_user.resize(n_eval);
    std::vector<detail::metric_sums> sums(n_blocks);

    struct failure {
        std::size_t user = std::numeric_limits<std::size_t>::max();
        std::exception_ptr error;
    };
    std::atomic<std::size_t> next_block{0};
    std::atomic<bool> stop{false};

    const auto work = [&](failure& fail) {
        basic_ranker<Scalar> rk(n_items);
        for (;;) {
            // Check before taking a block: a block once taken is always finished (or fails), so
            // the lowest failing user is always reached.
            if (stop.load(std::memory_order_relaxed)) return;
            const std::size_t b = next_block.fetch_add(1, std::memory_order_relaxed);
            if (b >= n_blocks) return;
            detail::metric_sums block;
            std::size_t slot = first_slot[b];
            const std::size_t end = std::min(n_users, (b + 1) * block_users);
            for (std::size_t u = b * block_users; u < end; ++u) {
                const std::size_t n_test = test.count(u);
                if (n_test == 0) continue;
                const auto user = static_cast<std::uint32_t>(u);
                try {
                    scorer(user, rk.scores());
                    if (has_train)
                        rk.rank(user, train.begin(u), train.count(u), test.begin(u), n_test);
                    else
                        rk.rank(user, nullptr, 0, test.begin(u), n_test);
                    user_metrics m = metrics_from_ranks(rk.ranks(), opt.k, user);
                    m.auc = has_train ? rk.auc(train.begin(u), train.count(u))
                                      : rk.auc(nullptr, 0);
                    block.add(m);
                    if (opt.per_user) result.per_user[slot++] = m;
                } catch (...) {
                    if (u < fail.user) {
                        fail.user = u;
                        fail.error = std::current_exception();
                    }
                    stop.store(true, std::memory_order_relaxed);
                    return;
                }
            }
            sums[b] = block;
        }
    };

    std::vector<failure> failures(result.threads);
    if (result.threads == 1) {
        work(failures[0]);
    } else {
        std::vector<std::thread> pool;
        pool.reserve(result.threads - 1);
        try {
            for (unsigned t = 1; t < result.threads; ++t)
                pool.emplace_back(work, std::ref(failures[t]));
        } catch (...) {
            stop.store(true);
            for (auto& th : pool) th.join();
            throw;
        }
        work(failures[0]);
        for (auto& th : pool) th.join();
    }
    const failure* first = nullptr;
    for (const auto& f : failures)
        if (f.error && (!first || f.user < first->user)) first = &f;
    if (first) std::rethrow_exception(first->error);

    detail::metric_sums total;
    for (const auto& s : sums) total.add(s);
    BLOOM_ASSERT(total.users == n_eval);
    total.finish(result);
    return result;
}

}  // namespace eval
}  // namespace bloom
