// Output position tables for the paper's network: which of the m outputs stand for each item.
//
// A plain Bloom output (spec_code in network/codes.hpp) hashes every item to k positions without
// looking at the data. The two builders here look at the training data first and return the same
// kind of code, a d x k table through table_code, so the network, the targets and the decoder do
// not know which one they have:
//
//   cooccurrence_code(train, d, m, k, seed, options)
//       items that often occur in the same training histories share positions; items that rarely
//       do are kept apart and positions stay balanced (the paper's co-occurrence-based idea; its
//       procedure is not published, this is our own: see docs/network-positions.md)
//   frequency_code(d, counts, m, k, seed, options)
//       the most frequent items get a position of their own, listed k times; the long tail shares
//       Bloom positions hashed into the rest (the output side of freq_bloom_embedding)
//   cooccurrence_diagnostics(code, train)
//       what any code achieves: how often, and how strongly, the items that share a position
//       co-occur, against all pairs of items, and how loaded the positions are
//
// Affinity. Both cooccurrence_code and the diagnostics measure how two items go together by the
// phi coefficient: the Pearson correlation, over the N users with a history, of "the user has a"
// and "the user has b",
//
//     phi(a, b) = (N c_ab - c_a c_b) / sqrt(c_a (N - c_a) c_b (N - c_b))
//
// with c_a the users that have a and c_ab the users that have both. It lies in [-1, 1], is 0 for
// items that meet as often as chance predicts and negative for items that meet less (two popular
// items that are rarely together), so it needs no separate term for "unrelated": and its sum over
// the items at a position splits into a sparse part over the co-occurring items and one running
// total per position (see the builder), which keeps the cost proportional to the co-occurrences.
// An item no user has, or every user has, has no variance: its phi with anything is taken as 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/hash/policy.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/network/codes.hpp>
#include <bloom/models/random.hpp>

namespace bloom {
namespace models {

// --- options ---------------------------------------------------------------------------------

struct cooccurrence_options {
    // A user with more distinct items than this contributes a seeded sample of this many (pairs
    // grow as the square of a history). 0: no cap.
    std::uint32_t max_items_per_user = 256;
    // C: hashed candidate positions per item, besides the positions of its co-occurring items
    // placed before it. 0, or 2C >= m: every position is a candidate (cost O(d m)).
    std::uint32_t candidates = 16;
    // mu: the score of a position falls by mu per mean load (d k / m items) already there.
    double load_penalty = 0.05;
    // No position holds more than ceil(max_load * d k / m) items while another one can take the
    // item (>= 1; 0: no cap).
    double max_load = 2.0;
    // No position covers more than max_coverage times the mean number of users, sum_a c_a k / m,
    // unless it was empty (>= 1; 0: no cap). A position's users (those with one of its items) are
    // estimated as it fills: a joining item a adds c_a minus its co-occurrences with the items
    // there. This keeps popular items apart (one too popular to share gets positions of its own)
    // and stops a cluster of correlated items from making one output fire for everyone.
    double max_coverage = 2.0;
    // k >= 2: an item does not take exactly the k positions of an earlier item when another
    // choice among its candidates avoids it (identical codes cannot be told apart by decoding).
    bool distinct_codes = true;
};

struct frequency_options {
    // Share of the m positions given to head items, one each (in [0, 1)); the rest are shared.
    double head_share = 0.5;
    // Nonzero: exactly this many head items (positions), overriding head_share.
    std::uint64_t head_items = 0;
    derivation derive = derivation::seeded;  // how the tail's k hashed positions are derived
};

// What a code achieves on training histories (cooccurrence_diagnostics).
struct code_report {
    std::uint64_t m = 0;
    std::uint32_t items = 0;
    // Load: distinct items listing a position (an item listing it twice counts once).
    std::uint64_t empty_positions = 0;
    std::uint64_t max_load = 0;
    double mean_load = 0.0;
    // Coverage: users with at least one of a position's items (the users for whom that output
    // is a target). A position that covers most users tells the decoder little.
    std::uint64_t max_coverage = 0;
    double mean_coverage = 0.0;
    // Sharing pairs: (position, two distinct items that both list it). Two items that share two
    // positions count twice: the figures weigh a pair by how much it collides.
    std::uint64_t shared_pairs = 0;
    double mean_cooccurrence = 0.0;  // mean c_ab over the sharing pairs
    double cooccurring_share = 0.0;  // share of the sharing pairs with c_ab > 0
    double mean_phi = 0.0;           // mean phi(a, b) over the sharing pairs
    // The same over all d (d - 1) / 2 pairs of distinct items: what a code blind to the data gets
    // in expectation.
    double all_pairs_cooccurrence = 0.0;
    double all_pairs_phi = 0.0;
    std::uint64_t users = 0;  // N: users with at least one (sampled) item
};

namespace detail {

// The shared checks of the builders: d items, k of m positions each.
inline void check_position_shape(const std::string& who, std::uint64_t d, std::uint64_t m,
                                 std::uint32_t k) {
    if (d == 0) ::bloom::detail::throw_invalid(who + ": d = 0 items");
    if (d > 0xffffffffULL)
        ::bloom::detail::throw_invalid(who + ": d = " + std::to_string(d) +
                                       " items exceeds 2^32 - 1");
    if (m == 0) ::bloom::detail::throw_invalid(who + ": m must be at least 1 (got m = 0)");
    if (m > max_positions)
        ::bloom::detail::throw_invalid(who + ": m = " + std::to_string(m) +
                                       " exceeds 2^32 (positions are 32-bit)");
    if (k == 0) ::bloom::detail::throw_invalid(who + ": k must be at least 1 (got k = 0)");
    if (k > m)
        ::bloom::detail::throw_invalid(who + ": k = " + std::to_string(k) + " exceeds m = " +
                                       std::to_string(m) + " positions");
}

// Training histories as the affinity sees them: each user's distinct items (sorted, and sampled
// down to `cap` when longer), and the transpose (each item's users).
struct cooccurrence_data {
    eval::user_items users;                 // distinct, sorted, capped items of each user
    std::vector<std::size_t> item_offsets;  // d + 1 values
    std::vector<std::uint32_t> item_users;  // users of item a: [item_offsets[a], item_offsets[a+1])
    std::vector<std::uint32_t> count;       // c_a: users of item a
    std::uint64_t baskets = 0;              // N: users with at least one item

    // 1 / sqrt(c_a (N - c_a)), 0 when item a has no variance.
    double inv_sd(std::uint32_t a) const noexcept {
        const std::uint64_t c = count[a];
        if (c == 0 || c >= baskets) return 0.0;
        return 1.0 / std::sqrt(static_cast<double>(c) * static_cast<double>(baskets - c));
    }
};

inline cooccurrence_data prepare_cooccurrence(const eval::user_items& train, std::uint32_t d,
                                              std::uint32_t cap, std::uint64_t seed,
                                              const std::string& who) {
    eval::validate(train, d, who + ": training items");
    cooccurrence_data out;
    const std::size_t n_users = train.n_users();
    out.users.offsets.assign(n_users + 1, 0);
    out.users.items.reserve(train.size());
    std::vector<std::uint32_t> buf;
    for (std::size_t u = 0; u < n_users; ++u) {
        buf.assign(train.begin(u), train.end(u));
        std::sort(buf.begin(), buf.end());
        buf.erase(std::unique(buf.begin(), buf.end()), buf.end());
        if (cap != 0 && buf.size() > cap) {
            // Partial Fisher-Yates with an engine of the user's own, so a user's sample does not
            // depend on the other users.
            engine rng(::bloom::detail::splitmix64(seed ^ (0x9E3779B97F4A7C15ULL * (u + 1))));
            const auto n = static_cast<std::uint32_t>(buf.size());
            for (std::uint32_t i = 0; i < cap; ++i)
                std::swap(buf[i], buf[i + uniform_below(rng, n - i)]);
            buf.resize(cap);
            std::sort(buf.begin(), buf.end());
        }
        if (!buf.empty()) ++out.baskets;
        out.users.items.insert(out.users.items.end(), buf.begin(), buf.end());
        out.users.offsets[u + 1] = out.users.items.size();
    }
    out.count.assign(d, 0);
    for (std::uint32_t a : out.users.items) ++out.count[a];
    out.item_offsets.assign(std::size_t{d} + 1, 0);
    for (std::uint32_t a = 0; a < d; ++a)
        out.item_offsets[a + 1] = out.item_offsets[a] + out.count[a];
    out.item_users.resize(out.users.items.size());
    std::vector<std::size_t> next(out.item_offsets.begin(), out.item_offsets.end() - 1);
    for (std::size_t u = 0; u < n_users; ++u)
        for (const std::uint32_t* it = out.users.begin(u); it != out.users.end(u); ++it)
            out.item_users[next[*it]++] = static_cast<std::uint32_t>(u);
    return out;
}

// Row a of the co-occurrence matrix: cnt[b] = c_ab for b != a, the b with c_ab > 0 appended to
// `touched` (cnt must be all zero for them before; the caller resets it). O(sum of the lengths of
// a's users' histories).
inline void cooccurrence_row(const cooccurrence_data& x, std::uint32_t a,
                             std::vector<std::uint32_t>& cnt,
                             std::vector<std::uint32_t>& touched) {
    touched.clear();
    for (std::size_t e = x.item_offsets[a]; e < x.item_offsets[a + 1]; ++e) {
        const std::uint32_t u = x.item_users[e];
        for (const std::uint32_t* it = x.users.begin(u); it != x.users.end(u); ++it) {
            const std::uint32_t b = *it;
            if (b == a) continue;
            if (cnt[b]++ == 0) touched.push_back(b);
        }
    }
}

inline std::uint64_t code_fingerprint(const std::uint32_t* p, std::uint32_t k) noexcept {
    std::uint64_t h = 0x243F6A8885A308D3ULL;
    for (std::uint32_t j = 0; j < k; ++j) h = ::bloom::detail::splitmix64(h ^ p[j]);
    return h;
}

}  // namespace detail

// --- co-occurrence-aware positions -------------------------------------------------------------

// k distinct positions in [0, m) for each of the d items, from the training histories `train`
// (items < d). Deterministic for (train, d, m, k, seed, options, Hash).
//
// Items are placed one at a time, the most frequent first (ties: lower id first): a tail item
// then finds its more frequent partners already placed, and the head, placed first while
// positions are empty, spreads out. For item a, every position p that is a candidate
// (C hashed ones, and every position of an already placed item b with c_ab > 0) gets the score
//
//     score(a, p) = mean phi(a, b) over the n_p items b at p  (0 when p is empty)
//                   - mu * n_p / (d k / m),
//
// and a takes the k best positions that are open: not full (n_p < ceil(max_load d k / m)) and
// not covering too many users (max_coverage); ties go to the less loaded, then the lower
// position. Too few open candidates: the next open positions after a's first hashed one. With
// distinct_codes, an exact repeat of an earlier item's k positions is avoided by swapping the
// k-th choice for the next best candidate. Positions within an item's row are sorted.
//
// The mean of phi over p needs no pass over p's items: with t_b = c_b / sqrt(c_b (N - c_b)),
//     sum over b at p of phi(a, b)
//         = (N * sum over co-occurring b at p of c_ab / sqrt(c_b (N - c_b)) - c_a * T_p)
//           / sqrt(c_a (N - c_a)),
// where T_p = sum of t_b over all b at p is kept up to date as items are placed. So an item costs
// one pass over its co-occurring items (its row of the co-occurrence matrix, built on the fly
// from its users' histories and discarded) plus its C candidates.
//
// Cost: time O(sum_u n_u^2 (1 + k) + d (C + k) log(C + k n_nb)), n_u = min(history, cap) and
// n_nb the candidates an item's neighbours propose; memory O(sum_u n_u + d k + m + d) (no
// co-occurrence matrix is stored). With every position a candidate (m small), O(d m) more time.
template <class Hash = xxh3>
sparse_code cooccurrence_code(const eval::user_items& train, std::uint32_t d, std::uint64_t m,
                              std::uint32_t k, std::uint64_t seed,
                              const cooccurrence_options& o = {}, Hash = Hash{}) {
    const std::string who = std::string("cooccurrence_code<") + hash_name<Hash>() + ">";
    detail::check_position_shape(who, d, m, k);
    if (!(std::isfinite(o.load_penalty) && o.load_penalty >= 0.0))
        ::bloom::detail::throw_invalid(who + ": load_penalty must be finite and >= 0 (got " +
                                       std::to_string(o.load_penalty) + ")");
    if (!(std::isfinite(o.max_load) && (o.max_load == 0.0 || o.max_load >= 1.0)))
        ::bloom::detail::throw_invalid(who + ": max_load must be 0 (no cap) or at least 1 (got " +
                                       std::to_string(o.max_load) + ")");
    if (!(std::isfinite(o.max_coverage) && (o.max_coverage == 0.0 || o.max_coverage >= 1.0)))
        ::bloom::detail::throw_invalid(who + ": max_coverage must be 0 (no cap) or at least 1 " +
                                       "(got " + std::to_string(o.max_coverage) + ")");
    const detail::cooccurrence_data x =
        detail::prepare_cooccurrence(train, d, o.max_items_per_user, seed, who);

    const double n_baskets = static_cast<double>(x.baskets);
    const double mean_load = static_cast<double>(d) * k / static_cast<double>(m);
    const double mu_per_item = o.load_penalty / mean_load;
    const std::uint64_t cap =
        o.max_load == 0.0 ? std::numeric_limits<std::uint64_t>::max()
                          : std::max<std::uint64_t>(
                                1, static_cast<std::uint64_t>(std::ceil(o.max_load * mean_load)));
    double total_count = 0.0;
    for (const std::uint32_t c : x.count) total_count += c;
    const double cover_cap = o.max_coverage == 0.0
                                 ? std::numeric_limits<double>::infinity()
                                 : o.max_coverage * total_count * k / static_cast<double>(m);
    const bool every_position = o.candidates == 0 || 2 * std::uint64_t{o.candidates} >= m;
    const std::size_t ms = static_cast<std::size_t>(m);

    std::vector<double> inv_sd(d), t(d);
    for (std::uint32_t a = 0; a < d; ++a) {
        inv_sd[a] = x.inv_sd(a);
        t[a] = static_cast<double>(x.count[a]) * inv_sd[a];
    }
    std::vector<std::uint32_t> order(d);
    std::iota(order.begin(), order.end(), 0U);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return x.count[a] > x.count[b];
    });

    // Hashed candidates: the first C positions of a spec with k = C (the first k of them are the
    // plain Bloom positions of the same seed).
    spec_config sc;
    sc.items = d;
    sc.m = m;
    sc.k = every_position ? 1 : o.candidates;
    sc.seed = seed;
    sc.key_bytes = 4;
    const basic_spec<Hash> spec(sc);
    std::vector<std::uint32_t> hashed(sc.k);

    std::vector<std::uint32_t> table(std::size_t{d} * k);
    std::vector<std::uint32_t> load(ms, 0), mark(ms, 0), cnt(d, 0), touched, cand;
    std::vector<double> tsum(ms, 0.0), s1(ms, 0.0), s0(ms, 0.0), cover(ms, 0.0);
    std::vector<std::uint8_t> placed(d, 0);
    std::unordered_map<std::uint64_t, std::uint32_t> seen;  // code fingerprint -> first item
    if (o.distinct_codes && k >= 2) seen.reserve(d);

    struct choice {
        double score;
        std::uint32_t load;
        std::uint32_t p;
    };
    const auto better = [](const choice& a, const choice& b) {
        if (a.score != b.score) return a.score > b.score;
        if (a.load != b.load) return a.load < b.load;
        return a.p < b.p;
    };
    std::vector<choice> ranked;
    std::vector<std::uint32_t> pick(k), sorted_pick(k);

    std::uint32_t stamp = 0;
    for (const std::uint32_t a : order) {
        ++stamp;
        cand.clear();
        const auto propose = [&](std::uint32_t p) {
            if (mark[p] != stamp) {
                mark[p] = stamp;
                s1[p] = 0.0;
                s0[p] = 0.0;
                cand.push_back(p);
            }
        };
        // Positions of the placed items a co-occurs with, and the sparse part of the sum.
        if (inv_sd[a] > 0.0) {
            detail::cooccurrence_row(x, a, cnt, touched);
            for (const std::uint32_t b : touched) {
                if (placed[b] && inv_sd[b] > 0.0) {
                    const double w = static_cast<double>(cnt[b]) * inv_sd[b];
                    const std::uint32_t* row = table.data() + std::size_t{b} * k;
                    for (std::uint32_t j = 0; j < k; ++j) {
                        propose(row[j]);
                        s1[row[j]] += w;
                        s0[row[j]] += cnt[b];
                    }
                }
                cnt[b] = 0;
            }
        }
        if (every_position) {
            for (std::size_t p = 0; p < ms; ++p) propose(static_cast<std::uint32_t>(p));
        } else {
            spec.positions(a, hashed.data());
            for (const std::uint32_t p : hashed) propose(p);
        }

        ranked.clear();
        const double ca = static_cast<double>(x.count[a]);
        // The users a adds to p (a lower bound: a's users minus its co-occurrences there).
        const auto added = [&](std::uint32_t p) {
            return mark[p] == stamp ? ca - std::min(ca, s0[p]) : ca;
        };
        const auto open = [&](std::uint32_t p) {
            return load[p] < cap && (cover[p] == 0.0 || cover[p] + added(p) <= cover_cap);
        };
        for (const std::uint32_t p : cand) {
            if (!open(p)) continue;
            const double n = static_cast<double>(load[p]);
            double s = 0.0;
            if (load[p] > 0) s = inv_sd[a] * (n_baskets * s1[p] - ca * tsum[p]) / n;
            ranked.push_back({s - mu_per_item * n, load[p], p});
        }
        const std::size_t top = std::min<std::size_t>(k, ranked.size());
        std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(top),
                          ranked.end(), better);
        std::uint32_t got = 0;
        for (; got < top; ++got) pick[got] = ranked[got].p;
        if (got < k) {
            // Fewer than k open candidates: the next open positions after the first candidate,
            // then those under the load cap, then any position a does not have yet.
            const auto has = [&](std::uint32_t p) {
                return std::find(pick.begin(), pick.begin() + got, p) != pick.begin() + got;
            };
            const std::uint64_t start = every_position ? 0 : hashed[0];
            for (int pass = 0; pass < 3 && got < k; ++pass)
                for (std::uint64_t s = 0; s < m && got < k; ++s) {
                    const auto p = static_cast<std::uint32_t>((start + s) % m);
                    const bool ok = pass == 0 ? open(p) : pass == 1 ? load[p] < cap : true;
                    if (ok && !has(p)) pick[got++] = p;
                }
        }

        if (o.distinct_codes && k >= 2) {
            const auto repeats = [&](const std::vector<std::uint32_t>& code) {
                sorted_pick = code;
                std::sort(sorted_pick.begin(), sorted_pick.end());
                const auto it = seen.find(detail::code_fingerprint(sorted_pick.data(), k));
                return it != seen.end() &&
                       std::equal(sorted_pick.begin(), sorted_pick.end(),
                                  table.begin() + static_cast<std::ptrdiff_t>(
                                                      std::size_t{it->second} * k));
            };
            if (top == k && repeats(pick)) {
                std::sort(ranked.begin() + static_cast<std::ptrdiff_t>(k), ranked.end(), better);
                const std::uint32_t first = pick[k - 1];
                bool found = false;
                for (std::size_t r = k; r < ranked.size() && !found; ++r) {
                    pick[k - 1] = ranked[r].p;
                    found = !repeats(pick);
                }
                if (!found) pick[k - 1] = first;  // every alternative repeats: keep the best
            }
        }

        std::sort(pick.begin(), pick.end());
        std::uint32_t* row = table.data() + std::size_t{a} * k;
        for (std::uint32_t j = 0; j < k; ++j) {
            row[j] = pick[j];
            cover[pick[j]] += added(pick[j]);
            ++load[pick[j]];
            tsum[pick[j]] += t[a];
        }
        placed[a] = 1;
        if (o.distinct_codes && k >= 2) seen.emplace(detail::code_fingerprint(row, k), a);
    }
    return table_code(m, k, std::move(table));
}

// --- frequency-aware positions -----------------------------------------------------------------

// The h most frequent items (counts[i]: how often item i occurs in training; ties: lower id first)
// get a position of their own, at [m - h, m) in decreasing frequency, listed k times; every other
// item gets the k positions a spec of Hash (seed, o.derive, 4-byte keys) gives it in the m - h
// shared positions [0, m - h). h is o.head_items when nonzero, else floor(o.head_share m), and at
// most the number of items with a nonzero count (a never-seen item gets no own position; the
// positions it would have had stay shared).
//
// Why k copies: the decoder scores an item by the sum of log p over its listed positions, so a
// head item scores k log p[own], as a tail item would whose k hashes coincided. Scores of head and
// tail items stay on one scale, and every item has exactly k entries (fixed_k() == k). An item
// set's target is the set of distinct positions, so the head item sets one bit.
//
// Cost: O(d log d + d k) time (one sort by count, k hashes per tail item), O(d k) memory.
template <class Hash = xxh3>
sparse_code frequency_code(std::uint32_t d, const std::vector<std::uint64_t>& counts,
                           std::uint64_t m, std::uint32_t k, std::uint64_t seed,
                           const frequency_options& o = {}, Hash = Hash{}) {
    const std::string who = std::string("frequency_code<") + hash_name<Hash>() + ">";
    detail::check_position_shape(who, d, m, k);
    if (counts.size() != d)
        ::bloom::detail::throw_invalid(who + ": counts has " + std::to_string(counts.size()) +
                                       " entries for d = " + std::to_string(d) + " items");
    std::uint64_t head = o.head_items;
    if (head == 0) {
        if (!(o.head_share >= 0.0 && o.head_share < 1.0))
            ::bloom::detail::throw_invalid(who + ": head_share must be in [0, 1) (got " +
                                           std::to_string(o.head_share) + ")");
        head = static_cast<std::uint64_t>(std::floor(o.head_share * static_cast<double>(m)));
    }
    if (head >= m || m - head < k)
        ::bloom::detail::throw_invalid(who + ": a head of " + std::to_string(head) + " of m = " +
                                       std::to_string(m) + " positions leaves fewer than k = " +
                                       std::to_string(k) + " shared positions");
    const auto seen_items = static_cast<std::uint64_t>(
        std::count_if(counts.begin(), counts.end(), [](std::uint64_t c) { return c > 0; }));
    head = std::min(head, seen_items);
    const std::uint64_t shared = m - head;

    std::vector<std::uint32_t> order(d);
    std::iota(order.begin(), order.end(), 0U);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return counts[a] > counts[b]; });
    std::vector<std::uint8_t> is_head(d, 0);
    std::vector<std::uint32_t> table(std::size_t{d} * k);
    for (std::uint64_t r = 0; r < head; ++r) {
        const std::uint32_t a = order[r];
        is_head[a] = 1;
        std::fill_n(table.begin() + static_cast<std::ptrdiff_t>(std::size_t{a} * k), k,
                    static_cast<std::uint32_t>(shared + r));
    }
    spec_config sc;
    sc.items = d;
    sc.m = shared;
    sc.k = k;
    sc.seed = seed;
    sc.derive = o.derive;
    sc.key_bytes = 4;
    const basic_spec<Hash> spec(sc);
    for (std::uint32_t a = 0; a < d; ++a)
        if (!is_head[a]) spec.positions(a, table.data() + std::size_t{a} * k);
    return table_code(m, k, std::move(table));
}

// The same with d = counts.size() and a head of floor(head_share m) positions.
template <class Hash = xxh3>
sparse_code frequency_code(const std::vector<std::uint64_t>& counts, std::uint64_t m,
                           std::uint32_t k, double head_share, std::uint64_t seed,
                           Hash h = Hash{}) {
    if (counts.empty() || counts.size() > 0xffffffffULL)
        ::bloom::detail::throw_invalid(std::string("frequency_code<") + hash_name<Hash>() +
                                       ">: counts has " + std::to_string(counts.size()) +
                                       " entries (d must be 1 .. 2^32 - 1)");
    frequency_options o;
    o.head_share = head_share;
    return frequency_code<Hash>(static_cast<std::uint32_t>(counts.size()), counts, m, k, seed, o,
                                h);
}

// --- diagnostics -------------------------------------------------------------------------------

// How the items that share positions in `code` go together in `train` (items < code.items()),
// against all pairs of items, and how loaded the positions are. Histories are reduced as
// cooccurrence_code reduces them (distinct items, a seeded sample of max_items_per_user for longer
// ones; 0: no cap), so pass the builder's cap and seed to see the affinity it saw, or 0 for exact
// counts.
//
// Cost: O(sum_u n_u^2 + sum_p n_p^2 + k sum_u n_u) time, O(sum_u n_u + d k + m + d + users)
// memory.
inline code_report cooccurrence_diagnostics(const sparse_code& code, const eval::user_items& train,
                                            std::uint32_t max_items_per_user = 0,
                                            std::uint64_t seed = 0) {
    const std::string who = "cooccurrence_diagnostics";
    code.validate(who);
    const std::uint32_t d = code.items();
    const std::size_t ms = static_cast<std::size_t>(code.m);
    const detail::cooccurrence_data x =
        detail::prepare_cooccurrence(train, d, max_items_per_user, seed, who);
    const double n_baskets = static_cast<double>(x.baskets);

    // Each position's distinct items (CSR), from each item's distinct positions.
    std::vector<std::size_t> pos_offsets(ms + 1, 0);
    std::vector<std::uint32_t> distinct;
    const auto distinct_of = [&](std::uint32_t a) {
        distinct.assign(code.begin(a), code.end(a));
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    };
    for (std::uint32_t a = 0; a < d; ++a) {
        distinct_of(a);
        for (const std::uint32_t p : distinct) ++pos_offsets[p + 1];
    }
    for (std::size_t p = 0; p < ms; ++p) pos_offsets[p + 1] += pos_offsets[p];
    std::vector<std::uint32_t> pos_items(pos_offsets[ms]);
    {
        std::vector<std::size_t> next(pos_offsets.begin(), pos_offsets.end() - 1);
        for (std::uint32_t a = 0; a < d; ++a) {
            distinct_of(a);
            for (const std::uint32_t p : distinct) pos_items[next[p]++] = a;
        }
    }

    code_report r;
    r.m = code.m;
    r.items = d;
    r.users = x.baskets;
    std::uint64_t total_load = 0, total_cover = 0;
    std::vector<std::size_t> user_mark(x.users.n_users(), 0);  // position + 1 that last saw u
    for (std::size_t p = 0; p < ms; ++p) {
        const std::uint64_t n = pos_offsets[p + 1] - pos_offsets[p];
        std::uint64_t cover = 0;
        for (std::size_t e = pos_offsets[p]; e < pos_offsets[p + 1]; ++e) {
            const std::uint32_t b = pos_items[e];
            for (std::size_t f = x.item_offsets[b]; f < x.item_offsets[b + 1]; ++f) {
                const std::uint32_t u = x.item_users[f];
                if (user_mark[u] != p + 1) {
                    user_mark[u] = p + 1;
                    ++cover;
                }
            }
        }
        if (n == 0) ++r.empty_positions;
        r.max_load = std::max(r.max_load, n);
        r.max_coverage = std::max(r.max_coverage, cover);
        total_load += n;
        total_cover += cover;
    }
    r.mean_load = static_cast<double>(total_load) / static_cast<double>(ms);
    r.mean_coverage = static_cast<double>(total_cover) / static_cast<double>(ms);

    std::vector<double> inv_sd(d);
    double t_sum = 0.0, t_sq = 0.0;
    for (std::uint32_t a = 0; a < d; ++a) {
        inv_sd[a] = x.inv_sd(a);
        const double t = static_cast<double>(x.count[a]) * inv_sd[a];
        t_sum += t;
        t_sq += t * t;
    }
    std::vector<std::uint32_t> cnt(d, 0), touched;
    double sum_c = 0.0, sum_phi = 0.0, all_c = 0.0, all_sparse = 0.0;
    std::uint64_t nonzero = 0;
    for (std::uint32_t a = 0; a < d; ++a) {
        if (x.count[a] > 0) {
            detail::cooccurrence_row(x, a, cnt, touched);
            for (const std::uint32_t b : touched)
                if (b > a) {
                    all_c += cnt[b];
                    all_sparse += cnt[b] * inv_sd[a] * inv_sd[b];
                }
        } else {
            touched.clear();
        }
        const double ca = static_cast<double>(x.count[a]);
        distinct_of(a);
        for (const std::uint32_t p : distinct)
            for (std::size_t e = pos_offsets[p]; e < pos_offsets[p + 1]; ++e) {
                const std::uint32_t b = pos_items[e];
                if (b <= a) continue;
                const double c = cnt[b];
                ++r.shared_pairs;
                sum_c += c;
                if (cnt[b] > 0) ++nonzero;
                sum_phi += (n_baskets * c - ca * static_cast<double>(x.count[b])) * inv_sd[a] *
                           inv_sd[b];
            }
        for (const std::uint32_t b : touched) cnt[b] = 0;
    }
    if (r.shared_pairs > 0) {
        const double n = static_cast<double>(r.shared_pairs);
        r.mean_cooccurrence = sum_c / n;
        r.cooccurring_share = static_cast<double>(nonzero) / n;
        r.mean_phi = sum_phi / n;
    }
    if (d >= 2) {
        const double pairs = static_cast<double>(d) * static_cast<double>(d - 1) / 2.0;
        r.all_pairs_cooccurrence = all_c / pairs;
        r.all_pairs_phi = (n_baskets * all_sparse - (t_sum * t_sum - t_sq) / 2.0) / pairs;
    }
    return r;
}

}  // namespace models
}  // namespace bloom
