// A seeded synthetic interaction generator: latent user and item factors, Zipf item popularity
// and Zipf user activity, so the examples and tests need no download.
//
// The model. Items fall into n_clusters clusters at random; cluster c has a latent vector
// q_c and item i of cluster c(i) a popularity weight w_i proportional to (rank_i + 1)^-s, with
// ranks a random permutation (popularity is unrelated to the id). User u has a latent vector p_u.
// Each of u's interactions picks, with probability `noise`, an item by popularity alone
// (P(i) proportional to w_i); otherwise an item with
//
//     P(i | u) proportional to w_i * 2^(affinity * <p_u, q_c(i)> / S)
//
// where S is the standard deviation of <p_u, q_c> (so `affinity` is the number of bits of
// preference per standard deviation of the score). This is a log-bilinear model with an item
// bias log w_i: a factorization model with item biases can represent it exactly, so a model that
// learns well recovers it. Sampling costs O(log n_clusters) per interaction: a user's cluster
// weights are computed once per user (n_clusters dot products), then a cluster is drawn, then an
// item within it by alias tables over popularity (one for the cluster's most popular items, which
// stays in cache, one for the rest). Users' interaction counts follow a Zipf law
// of exponent activity_exponent over a random ranking of users, with at least min_per_user each.
//
// Determinism. All draws use only std::mt19937_64's raw output (fixed by the standard) and
// integer arithmetic: factors are small integers, logarithms and powers of two are computed in
// fixed point by code of its own, weights are integers and alias tables are exact. No floating
// point decides a draw, so a seed gives the same data with any compiler, standard library,
// platform or -ffp-contract / -march setting.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <bloom/data/interactions.hpp>
#include <bloom/data/random.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace data {

struct synthetic_config {
    std::uint32_t n_users = 1000;
    std::uint32_t n_items = 2000;            // 1 .. 2^24
    std::uint64_t n_interactions = 50000;    // exact size of the result
    std::uint32_t dim = 16;                  // latent dimension of the true factors
    std::uint32_t n_clusters = 32;           // item clusters sharing a latent vector
    double popularity_exponent = 1.0;        // Zipf exponent s of item popularity (0: uniform)
    double activity_exponent = 0.5;          // Zipf exponent of user activity (0: all equal)
    std::uint32_t min_per_user = 5;          // interactions every user gets at least
    double affinity = 3.0;                   // bits of preference per standard deviation of score
    double noise = 0.05;                     // share of interactions drawn by popularity alone
    bool unique = true;                      // never the same (user, item) twice
    bool ratings = false;                    // fill weights with ratings 1..5 from the score
    bool half_stars = false;                 // with ratings: 0.5..5 in half steps (as ML-10M on)
    bool timestamps = true;                  // increasing timestamps per user
    std::uint64_t seed = 42;                 // used by make_synthetic(cfg)

    // The shape of MovieLens 100K: 943 users, 1682 items, 100000 ratings, at least 20 each.
    static synthetic_config movielens_100k_like() {
        synthetic_config c;
        c.n_users = 943;
        c.n_items = 1682;
        c.n_interactions = 100000;
        c.min_per_user = 20;
        c.ratings = true;
        return c;
    }

    // The shape of MovieLens 25M: 162,541 users, 59,047 rated items, 25,000,095 ratings from 0.5
    // to 5 in half steps, at least 20 per user, timestamps. Users' counts follow the default
    // activity law (87 to 27,043 per user) and items' the default Zipf popularity; ids are dense
    // (0-based), where ML-25M's movie ids have gaps.
    static synthetic_config movielens_25m_like() {
        synthetic_config c;
        c.n_users = 162541;
        c.n_items = 59047;
        c.n_interactions = 25000095;
        c.min_per_user = 20;
        c.ratings = true;
        c.half_stars = true;
        return c;
    }
};

// What the generator drew, for tests and diagnostics.
struct synthetic_truth {
    std::uint32_t dim = 0;
    std::uint32_t n_clusters = 0;
    double affinity = 0.0;
    std::int64_t score_scale = 1;               // S above
    std::vector<std::int8_t> user_factors;      // n_users x dim, row-major, entries in [-7, 7]
    std::vector<std::int8_t> cluster_factors;   // n_clusters x dim, entries in [-7, 7]
    std::vector<std::uint32_t> item_cluster;    // cluster of each item
    std::vector<std::uint32_t> item_rank;       // popularity rank of each item (0: most popular)
    std::vector<std::uint64_t> item_weight;     // popularity weight, in [1, 2^32]
    std::vector<std::uint32_t> user_target;     // interactions generated for each user

    // <p_u, q_c(i)>, an integer.
    std::int64_t dot(std::uint32_t u, std::uint32_t i) const noexcept {
        const std::int8_t* p = user_factors.data() + std::size_t{u} * dim;
        const std::int8_t* q = cluster_factors.data() + std::size_t{item_cluster[i]} * dim;
        std::int64_t s = 0;
        for (std::uint32_t k = 0; k < dim; ++k) s += std::int64_t{p[k]} * q[k];
        return s;
    }

    // log2 of P(i | u) up to a per-user constant, for the non-noise part of the model: the
    // score a perfect model ranks items by.
    double score(std::uint32_t u, std::uint32_t i) const {
        return affinity * static_cast<double>(dot(u, i)) / static_cast<double>(score_scale) +
               std::log2(static_cast<double>(item_weight[i]));
    }
};

namespace detail {

// floor(log2(x)) for x >= 1.
inline int ilog2(std::uint64_t x) noexcept {
    int k = 0;
    for (int step = 32; step > 0; step /= 2) {
        if (x >> step) {
            x >>= step;
            k += step;
        }
    }
    return k;
}

// log2(x) in Q16 fixed point (x >= 1), integers only: the fraction bits by repeated squaring.
inline std::int64_t log2_q16(std::uint64_t x) noexcept {
    const int k = ilog2(x);
    std::uint64_t y = k >= 31 ? x >> (k - 31) : x << (31 - k);  // x / 2^k in Q31, in [1, 2)
    std::int64_t r = std::int64_t{k} * 65536;
    for (int bit = 15; bit >= 0; --bit) {  // branch-free: y in [2^31, 2^33) after squaring
        y = (y * y) >> 31;
        const std::uint64_t carry = y >> 32;  // 1 when y >= 2
        y >>= carry;
        r += static_cast<std::int64_t>(carry << bit);
    }
    return r;
}

// 2^(2^(b - 16)) in Q31 (rounded), for b = 0..15: the factor of bit b of a Q16 fraction.
inline constexpr std::uint64_t exp2_root_q31[16] = {
    2147506361u, 2147529075u, 2147574502u, 2147665360u, 2147847087u, 2148210589u,
    2148937775u, 2150392887u, 2153306067u, 2159144272u, 2170868212u, 2194507417u,
    2242560872u, 2341847524u, 2553802834u, 3037000500u};

// 2^(k / 65536) (lo) and 2^(k / 256) (hi) in Q31 for k = 0..255, built at compile time as
// products of the roots above, one per set bit.
struct exp2_tables {
    std::uint64_t lo[256];
    std::uint64_t hi[256];
};
constexpr exp2_tables make_exp2_tables() {
    exp2_tables t{};
    for (int k = 0; k < 256; ++k) {
        std::uint64_t lo = std::uint64_t{1} << 31, hi = std::uint64_t{1} << 31;
        for (int b = 0; b < 8; ++b) {
            if ((k >> b) & 1) {
                lo = (lo * exp2_root_q31[b] + (std::uint64_t{1} << 30)) >> 31;
                hi = (hi * exp2_root_q31[b + 8] + (std::uint64_t{1} << 30)) >> 31;
            }
        }
        t.lo[k] = lo;
        t.hi[k] = hi;
    }
    return t;
}
inline constexpr exp2_tables exp2_table = make_exp2_tables();

// round(2^(v / 65536) * 2^bits) for v in Q16, integers only (saturates at 2^64 - 1).
inline std::uint64_t exp2_q16(std::int64_t v, int bits) noexcept {
    std::int64_t n = v / 65536;
    std::int64_t f = v % 65536;
    if (f < 0) {
        f += 65536;
        --n;
    }
    // 2^(f / 65536) in Q31, in [2^31, 2^32).
    const std::uint64_t m =
        (exp2_table.hi[f >> 8] * exp2_table.lo[f & 255] + (std::uint64_t{1} << 30)) >> 31;
    const std::int64_t e = n + bits - 31;  // result = m * 2^e
    if (e >= 32) return std::numeric_limits<std::uint64_t>::max();
    if (e >= 0) return m << e;
    if (e <= -34) return 0;  // m < 2^32: below one half
    const auto s = static_cast<int>(-e);
    return (m + (std::uint64_t{1} << (s - 1))) >> s;
}

// Integer square root: the largest r with r * r <= x.
inline std::uint64_t isqrt(std::uint64_t x) noexcept {
    std::uint64_t r = 0;
    for (std::uint64_t bit = std::uint64_t{1} << 62; bit != 0; bit >>= 2) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
    }
    return r;
}

// A double parameter in Q16, checked to lie in [lo, hi].
inline std::int64_t to_q16(double x, double lo, double hi, const char* name) {
    if (!(x >= lo && x <= hi)) {
        bloom::detail::throw_invalid(std::string("synthetic_config: ") + name + " must be in [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                      std::to_string(x));
    }
    return std::llround(x * 65536.0);  // exact scaling by a power of two, then rounding
}

// Walker's alias method in exact integer arithmetic. Over weights w[0, m) with sum W
// (w_i * m must fit in 64 bits): draw j uniform in [0, m) and y uniform in [0, W); the item is
// j when y < prob[j], else alias[j]. Then P(i) = w_i / W exactly.
struct alias_entry {
    std::uint64_t threshold;  // keep `item` when y < threshold
    std::uint32_t item;
    std::uint32_t other;      // else this one (the alias)
};

// Where one alias table lies in a shared array of entries, and the mass it covers.
struct alias_part {
    std::size_t begin;
    std::uint32_t size;
    std::uint64_t mass;
};

struct alias_scratch {
    std::vector<std::uint64_t> scaled;
    std::vector<std::uint32_t> small, large;
};

inline void build_alias(const std::uint64_t* w, std::uint32_t m, std::uint64_t total,
                        std::uint64_t* prob, std::uint32_t* alias, alias_scratch& s) {
    s.scaled.resize(m);
    s.small.clear();
    s.large.clear();
    for (std::uint32_t i = 0; i < m; ++i) {
        s.scaled[i] = w[i] * m;
        (s.scaled[i] < total ? s.small : s.large).push_back(i);
    }
    while (!s.small.empty() && !s.large.empty()) {
        const std::uint32_t l = s.small.back();
        s.small.pop_back();
        const std::uint32_t g = s.large.back();
        prob[l] = s.scaled[l];
        alias[l] = g;
        s.scaled[g] -= total - s.scaled[l];
        if (s.scaled[g] < total) {
            s.large.pop_back();
            s.small.push_back(g);
        }
    }
    // Exact arithmetic leaves only full columns here.
    for (const std::uint32_t i : s.large) {
        prob[i] = total;
        alias[i] = i;
    }
    for (const std::uint32_t i : s.small) {
        prob[i] = total;
        alias[i] = i;
    }
}

}  // namespace detail

// Generates interactions with the engine given (cfg.seed is not used).
// The result is grouped by user (users in id order; each user's interactions in the order drawn,
// with increasing timestamps); dense ids are the raw ids (null id maps).
inline interactions make_synthetic(const synthetic_config& cfg, engine& rng,
                                   synthetic_truth* truth = nullptr) {
    // --- validate -----------------------------------------------------------------------------
    if (cfg.n_users == 0 || cfg.n_users > id_map::max_size) {
        bloom::detail::throw_invalid("synthetic_config: n_users must be in [1, " +
                      std::to_string(id_map::max_size) + "], got " + std::to_string(cfg.n_users));
    }
    constexpr std::uint32_t max_items = std::uint32_t{1} << 24;
    if (cfg.n_items == 0 || cfg.n_items > max_items) {
        bloom::detail::throw_invalid("synthetic_config: n_items must be in [1, 2^24], got " +
                      std::to_string(cfg.n_items));
    }
    if (cfg.dim == 0 || cfg.dim > 1024) {
        bloom::detail::throw_invalid("synthetic_config: dim must be in [1, 1024], got " +
                      std::to_string(cfg.dim));
    }
    if (cfg.n_clusters == 0 || cfg.n_clusters > std::min<std::uint32_t>(cfg.n_items, 65536)) {
        bloom::detail::throw_invalid("synthetic_config: n_clusters must be in [1, min(n_items, 65536)], got " +
                      std::to_string(cfg.n_clusters));
    }
    const std::int64_t pop_q = detail::to_q16(cfg.popularity_exponent, 0.0, 8.0,
                                              "popularity_exponent");
    const std::int64_t act_q = detail::to_q16(cfg.activity_exponent, 0.0, 8.0,
                                              "activity_exponent");
    const std::int64_t aff_q = detail::to_q16(cfg.affinity, 0.0, 64.0, "affinity");
    if (!(cfg.noise >= 0.0 && cfg.noise <= 1.0)) {
        bloom::detail::throw_invalid("synthetic_config: noise must be in [0, 1], got " +
                      std::to_string(cfg.noise));
    }
    const std::uint64_t noise_q = static_cast<std::uint64_t>(std::llround(cfg.noise * 4294967296.0));
    const std::uint64_t n_users = cfg.n_users, n_items = cfg.n_items;
    const std::uint64_t N = cfg.n_interactions;
    if (N > (std::uint64_t{1} << 39)) {
        bloom::detail::throw_invalid("synthetic_config: n_interactions must be at most 2^39, got " +
                      std::to_string(N));
    }
    if (cfg.min_per_user > N / n_users) {
        bloom::detail::throw_invalid("synthetic_config: n_interactions (" + std::to_string(N) +
                      ") is below n_users * min_per_user (" +
                      std::to_string(n_users * cfg.min_per_user) + ")");
    }
    if (cfg.unique && (cfg.min_per_user > n_items || N > n_users * n_items)) {
        bloom::detail::throw_invalid("synthetic_config: with unique pairs, each user can have at most n_items (" +
                      std::to_string(n_items) + ") interactions: n_interactions " +
                      std::to_string(N) + " and min_per_user " +
                      std::to_string(cfg.min_per_user) + " do not fit");
    }
    const std::uint32_t C = cfg.n_clusters, d = cfg.dim;

    // --- latent factors -----------------------------------------------------------------------
    auto factor = [&rng]() { return static_cast<std::int8_t>(detail::uniform_below(rng, 15)) - 7; };
    std::vector<std::int8_t> q(std::size_t{C} * d), p(n_users * d);
    for (auto& x : q) x = static_cast<std::int8_t>(factor());
    for (auto& x : p) x = static_cast<std::int8_t>(factor());
    // Var of a factor is 224/12; of a product (224/12)^2 ~ 348.4: S = sqrt(d * 348).
    const auto S = static_cast<std::int64_t>(std::max<std::uint64_t>(1, detail::isqrt(d * 348u)));

    // --- items: popularity ranks, clusters, weights ----------------------------------------------
    std::vector<std::uint32_t> rank(n_items), cluster(n_items);
    for (std::uint32_t i = 0; i < n_items; ++i) rank[i] = i;
    detail::shuffle(rank.data(), rank.size(), rng);
    for (auto& c : cluster) c = static_cast<std::uint32_t>(detail::uniform_below(rng, C));
    std::vector<std::uint64_t> weight(n_items);
    for (std::uint32_t i = 0; i < n_items; ++i) {
        const std::int64_t lg = (pop_q * detail::log2_q16(std::uint64_t{rank[i]} + 1) + 32768) /
                                65536;
        weight[i] = std::max<std::uint64_t>(1, detail::exp2_q16(-lg, 32));
    }

    // Each cluster's items, most popular first, split in a head (its `head_size` most popular
    // items) and a tail, each with an alias table. A draw picks head or tail by their masses, then
    // an item by one 16-byte entry (threshold and both candidate items). All heads are stored
    // together and stay in cache; with a skewed popularity most draws end there.
    std::vector<std::uint64_t> mass(C, 0);
    std::vector<std::size_t> csize(C, 0);
    for (std::uint32_t i = 0; i < n_items; ++i) {
        ++csize[cluster[i]];
        mass[cluster[i]] += weight[i];
    }
    const std::size_t head_size = std::max<std::size_t>(16, (std::size_t{1} << 16) / C);
    std::vector<detail::alias_part> head(C), tail(C);
    {
        std::size_t heads = 0;
        for (std::uint32_t c = 0; c < C; ++c) heads += std::min(csize[c], head_size);
        std::size_t h = 0, t = heads;
        for (std::uint32_t c = 0; c < C; ++c) {
            const std::size_t hn = std::min(csize[c], head_size);
            head[c] = {h, static_cast<std::uint32_t>(hn), 0};
            tail[c] = {t, static_cast<std::uint32_t>(csize[c] - hn), 0};
            h += hn;
            t += csize[c] - hn;
        }
    }
    std::vector<detail::alias_entry> table(n_items);
    {
        // Members by cluster in increasing rank: walk the ranks.
        std::vector<std::uint32_t> item_of_rank(n_items);
        for (std::uint32_t i = 0; i < n_items; ++i) item_of_rank[rank[i]] = i;
        std::vector<std::uint32_t> member(n_items);
        std::vector<std::size_t> at(C);
        for (std::uint32_t c = 0, off = 0; c < C; ++c) {
            at[c] = off;
            off += static_cast<std::uint32_t>(csize[c]);
        }
        std::vector<std::size_t> cbegin(at);
        for (std::uint32_t r = 0; r < n_items; ++r) {
            const std::uint32_t i = item_of_rank[r];
            member[at[cluster[i]]++] = i;
        }
        detail::alias_scratch scratch;
        std::vector<std::uint64_t> w, prob;
        std::vector<std::uint32_t> alias;
        auto build = [&](detail::alias_part& part, const std::uint32_t* items) {
            const std::uint32_t m = part.size;
            w.resize(m);
            prob.resize(m);
            alias.resize(m);
            part.mass = 0;
            for (std::uint32_t k = 0; k < m; ++k) part.mass += w[k] = weight[items[k]];
            if (m == 0) return;
            detail::build_alias(w.data(), m, part.mass, prob.data(), alias.data(), scratch);
            for (std::uint32_t k = 0; k < m; ++k) {
                table[part.begin + k] = {prob[k], items[k], items[alias[k]]};
            }
        };
        for (std::uint32_t c = 0; c < C; ++c) {
            build(head[c], member.data() + cbegin[c]);
            build(tail[c], member.data() + cbegin[c] + head[c].size);
        }
    }
    std::vector<std::int64_t> log_mass(C);
    std::vector<std::uint64_t> mass_cum(C);
    for (std::uint32_t c = 0; c < C; ++c) {
        log_mass[c] = mass[c] ? detail::log2_q16(mass[c]) : 0;
        mass_cum[c] = mass[c] + (c ? mass_cum[c - 1] : 0);
    }

    // --- users' activity ----------------------------------------------------------------------
    std::vector<std::uint32_t> user_rank(n_users);
    for (std::uint32_t u = 0; u < n_users; ++u) user_rank[u] = u;
    detail::shuffle(user_rank.data(), user_rank.size(), rng);
    std::vector<std::uint32_t> by_rank(n_users);  // the user of each activity rank
    for (std::uint32_t u = 0; u < n_users; ++u) by_rank[user_rank[u]] = u;
    std::vector<std::uint64_t> activity(n_users);
    std::uint64_t activity_sum = 0;
    for (std::uint32_t u = 0; u < n_users; ++u) {
        const std::int64_t lg =
            (act_q * detail::log2_q16(std::uint64_t{user_rank[u]} + 1) + 32768) / 65536;
        activity[u] = std::max<std::uint64_t>(1, detail::exp2_q16(-lg, 24));  // <= 2^24
        activity_sum += activity[u];
    }
    const std::uint64_t cap = cfg.unique ? n_items : N;
    const std::uint64_t extra = N - n_users * cfg.min_per_user;  // <= 2^39
    std::vector<std::uint64_t> target(n_users);
    std::uint64_t assigned = 0;
    for (std::uint32_t u = 0; u < n_users; ++u) {
        target[u] = cfg.min_per_user + extra * activity[u] / activity_sum;  // < 2^63
        assigned += target[u];
    }
    // The rounding remainder to the most active users, then what a cap cut off, to the most
    // active users with room (N <= n_users * cap guarantees room).
    std::uint64_t left = N - assigned;
    for (std::uint64_t k = 0; left > 0 && k < n_users; ++k, --left) ++target[by_rank[k]];
    for (std::uint32_t u = 0; u < n_users; ++u) {
        if (target[u] > cap) {
            left += target[u] - cap;
            target[u] = cap;
        }
    }
    for (std::uint64_t k = 0; left > 0 && k < n_users; ++k) {
        const std::uint32_t u = by_rank[k];
        const std::uint64_t add = std::min(left, cap - target[u]);
        target[u] += add;
        left -= add;
    }

    // --- draw ---------------------------------------------------------------------------------
    interactions out;
    out.n_users = cfg.n_users;
    out.n_items = cfg.n_items;
    out.users.reserve(N);
    out.items.reserve(N);
    if (cfg.ratings) out.weights.reserve(N);
    if (cfg.timestamps) out.timestamps.reserve(N);

    std::vector<std::int64_t> dots(C), logw(C);
    std::vector<std::uint64_t> cum(C);
    std::vector<std::uint64_t> seen(cfg.unique ? (n_items + 63) / 64 : 0, 0);
    constexpr std::int64_t t_base = 1000000000;        // 2001-09-09 in Unix seconds
    constexpr std::uint64_t t_span = 2 * 31536000;     // users start within two years
    constexpr std::uint64_t t_gap = 86400;             // up to a day between interactions

    auto pick_in_cluster = [&](std::uint32_t c) {
        const detail::alias_part& part =
            tail[c].mass == 0 || detail::uniform_below(rng, mass[c]) < head[c].mass ? head[c]
                                                                                   : tail[c];
        const detail::alias_entry& e = table[part.begin + detail::uniform_below(rng, part.size)];
        return detail::uniform_below(rng, part.mass) < e.threshold ? e.item : e.other;
    };
    auto pick_cluster = [&rng](const std::vector<std::uint64_t>& cumulative) {
        const std::uint64_t r = detail::uniform_below(rng, cumulative.back());
        return static_cast<std::uint32_t>(
            std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin());
    };

    for (std::uint32_t u = 0; u < n_users; ++u) {
        const std::int8_t* pu = p.data() + std::size_t{u} * d;
        std::int64_t best = std::numeric_limits<std::int64_t>::min();
        for (std::uint32_t c = 0; c < C; ++c) {
            const std::int8_t* qc = q.data() + std::size_t{c} * d;
            std::int32_t s = 0;  // |s| <= 1024 * 49
            for (std::uint32_t k = 0; k < d; ++k) s += std::int32_t{pu[k]} * qc[k];
            dots[c] = s;
            logw[c] = log_mass[c] + aff_q * s / S;
            if (mass[c]) best = std::max(best, logw[c]);
        }
        std::uint64_t acc = 0;
        for (std::uint32_t c = 0; c < C; ++c) {
            if (mass[c]) acc += detail::exp2_q16(logw[c] - best, 32);  // the best weighs 2^32
            cum[c] = acc;
        }

        // Has u drawn this item already? One bit per item (n_items / 8 bytes: it stays in
        // cache), cleared again after the user from the user's own items.
        const std::size_t first = out.items.size();
        auto drawn = [&](std::uint32_t item) {
            return cfg.unique && ((seen[item >> 6] >> (item & 63)) & 1) != 0;
        };
        std::int64_t t = t_base + static_cast<std::int64_t>(detail::uniform_below(rng, t_span));
        for (std::uint64_t k = 0; k < target[u]; ++k) {
            std::uint32_t item = 0;
            for (int attempt = 0;; ++attempt) {
                if (attempt == 64) {  // a user near saturation: the next item not drawn yet
                    item = static_cast<std::uint32_t>(detail::uniform_below(rng, n_items));
                    while (drawn(item)) item = item + 1 == n_items ? 0 : item + 1;
                    break;
                }
                const bool by_popularity = (rng() >> 32) < noise_q;
                item = pick_in_cluster(pick_cluster(by_popularity ? mass_cum : cum));
                if (!drawn(item)) break;
            }
            if (cfg.unique) seen[item >> 6] |= std::uint64_t{1} << (item & 63);
            out.users.push_back(u);
            out.items.push_back(item);
            if (cfg.ratings && cfg.half_stars) {
                // In half stars, 1..10: 5 + round(2 <p_u, q_c> / S) + {-1, 0, 1}. Drawn items
                // score about one standard deviation above zero (affinity 3), so the mean is
                // 3.5 to 4 stars (3.79 for movielens_25m_like()).
                const std::int64_t num = 4 * dots[cluster[item]] + S, den = 2 * S;
                const std::int64_t rounded = num >= 0 ? num / den : -((den - 1 - num) / den);
                const std::int64_t r = 5 + rounded +
                                       static_cast<std::int64_t>(detail::uniform_below(rng, 3)) - 1;
                out.weights.push_back(static_cast<float>(std::clamp<std::int64_t>(r, 1, 10)) /
                                      2.0f);
            } else if (cfg.ratings) {
                const std::int64_t r = 3 + 2 * dots[cluster[item]] / S +
                                       static_cast<std::int64_t>(detail::uniform_below(rng, 3)) - 1;
                out.weights.push_back(static_cast<float>(std::clamp<std::int64_t>(r, 1, 5)));
            }
            if (cfg.timestamps) {
                t += 1 + static_cast<std::int64_t>(detail::uniform_below(rng, t_gap));
                out.timestamps.push_back(t);
            }
        }
        if (cfg.unique) {
            for (std::size_t k = first; k < out.items.size(); ++k) seen[out.items[k] >> 6] = 0;
        }
    }

    if (truth) {
        truth->dim = d;
        truth->n_clusters = C;
        truth->affinity = static_cast<double>(aff_q) / 65536.0;
        truth->score_scale = S;
        truth->user_factors = std::move(p);
        truth->cluster_factors = std::move(q);
        truth->item_cluster = std::move(cluster);
        truth->item_rank = std::move(rank);
        truth->item_weight = std::move(weight);
        truth->user_target.assign(target.begin(), target.end());
    }
    return out;
}

// Generates interactions with a fresh std::mt19937_64 seeded with cfg.seed.
inline interactions make_synthetic(const synthetic_config& cfg, synthetic_truth* truth = nullptr) {
    engine rng(cfg.seed);
    return make_synthetic(cfg, rng, truth);
}

}  // namespace data
}  // namespace bloom
