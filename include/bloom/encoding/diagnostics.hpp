// Diagnostics of a spec over its d items: how evenly the hashes spread over the m positions,
// how many items keep a signature of their own, and how an encoded set compares with the
// Bloom-filter model.
//
//   bucket_loads(enc)                   how many positions receive 0, 1, 2, ... of the d * k hashes,
//                                       next to the Poisson(d k / m) counts a uniform hash gives
//   signature_uniqueness(enc)           share of items whose position set no other item has
//   false_positive_rate(enc, set)       share of non-members whose k positions are all set by
//                                       the set, next to the estimate (1 - e^(-k n / m))^k, and
//                                       the share of set positions next to 1 - e^(-k n / m)
//
// Each takes an encoder (either lookup) or a spec, and needs the item count d. They allocate and
// are meant for setting up and checking a configuration, not for the training loop.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/encoding/encoder.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>

namespace bloom {

// Share of the m positions a uniform hash sets for n items: 1 - e^(-k n / m).
inline double expected_set_bit_share(std::uint64_t n, std::uint64_t m, std::uint32_t k) noexcept {
    if (m == 0) return 0.0;
    return -std::expm1(-static_cast<double>(k) * static_cast<double>(n) / static_cast<double>(m));
}

// The Bloom-filter false-positive estimate for n members: (1 - e^(-k n / m))^k.
inline double estimated_fpr(std::uint64_t n, std::uint64_t m, std::uint32_t k) noexcept {
    return std::pow(expected_set_bit_share(n, m, k), static_cast<double>(k));
}

// counts[c] = number of positions that receive exactly c of the d * k hashes (an item that hits
// a position twice counts twice there). Sums to m.
struct load_histogram {
    std::vector<std::uint64_t> counts;
    std::uint64_t m = 0;
    std::uint64_t hashes = 0;  // d * k

    double mean_load() const noexcept {
        return m == 0 ? 0.0 : static_cast<double>(hashes) / static_cast<double>(m);
    }
    std::size_t max_load() const noexcept { return counts.empty() ? 0 : counts.size() - 1; }
    // Positions a uniform hash would give load c on average: m * Poisson(mean_load)(c).
    double expected(std::size_t c) const noexcept {
        const double lambda = mean_load();
        if (lambda == 0.0) return c == 0 ? static_cast<double>(m) : 0.0;
        const double cd = static_cast<double>(c);
        return static_cast<double>(m) * std::exp(-lambda + cd * std::log(lambda) -
                                                 std::lgamma(cd + 1.0));
    }
    std::uint64_t empty_positions() const noexcept { return counts.empty() ? 0 : counts[0]; }
};

struct signature_stats {
    std::uint64_t items = 0;       // d
    std::uint64_t unique = 0;      // items whose position set (as a set) no other item has
    std::uint64_t distinct = 0;    // distinct position sets among the d items
    double unique_share() const noexcept {
        return items == 0 ? 0.0 : static_cast<double>(unique) / static_cast<double>(items);
    }
};

struct fpr_report {
    std::uint64_t m = 0;
    std::uint32_t k = 0;
    std::uint64_t members = 0;          // n: distinct ids in the set
    std::uint64_t non_members = 0;      // d - n
    std::uint64_t bits_set = 0;         // positions the members set
    std::uint64_t false_positives = 0;  // non-members whose k positions are all set

    double set_bit_share() const noexcept {
        return m == 0 ? 0.0 : static_cast<double>(bits_set) / static_cast<double>(m);
    }
    double expected_set_bit_share() const noexcept {
        return ::bloom::expected_set_bit_share(members, m, k);
    }
    double measured_fpr() const noexcept {
        return non_members == 0
                   ? 0.0
                   : static_cast<double>(false_positives) / static_cast<double>(non_members);
    }
    double estimated_fpr() const noexcept { return ::bloom::estimated_fpr(members, m, k); }
};

namespace detail {

template <class Hash>
void require_items(const basic_spec<Hash>& s, const char* what) {
    if (s.items() == 0)
        throw_invalid(std::string(what) +
                      ": the spec has no item count (spec_config::items = 0); diagnostics "
                      "run over all d items");
}

// 64-bit fingerprint of a sorted position set.
inline std::uint64_t fingerprint(const std::uint32_t* p, std::size_t n) noexcept {
    std::uint64_t h = 0x8BADF00D5EEDULL ^ n;
    for (std::size_t i = 0; i < n; ++i) h = splitmix64(h ^ (std::uint64_t{p[i]} << 1));
    return h;
}

}  // namespace detail

// ---- bucket loads ---------------------------------------------------------------------------

template <class Hash>
load_histogram bucket_loads(const basic_encoder<Hash>& enc) {
    const auto& s = enc.spec();
    detail::require_items(s, "bucket_loads");
    const std::uint32_t k = s.k();
    std::vector<std::uint32_t> load(static_cast<std::size_t>(s.m()), 0);
    std::vector<std::uint32_t> buf(k);
    for (std::uint64_t id = 0; id < s.items(); ++id) {
        enc.positions(id, buf.data());
        for (const std::uint32_t p : buf) ++load[p];
    }
    load_histogram h;
    h.m = s.m();
    h.hashes = s.items() * k;
    for (const std::uint32_t c : load) {
        if (c >= h.counts.size()) h.counts.resize(std::size_t{c} + 1, 0);
        ++h.counts[c];
    }
    return h;
}

template <class Hash>
load_histogram bucket_loads(const basic_spec<Hash>& s) {
    return bucket_loads(basic_encoder<Hash>(s));
}

// ---- signature uniqueness -------------------------------------------------------------------

template <class Hash>
signature_stats signature_uniqueness(const basic_encoder<Hash>& enc) {
    const auto& s = enc.spec();
    detail::require_items(s, "signature_uniqueness");
    const std::uint64_t d = s.items();
    const std::uint32_t k = s.k();
    const std::size_t w = std::size_t{k} + 1;  // a signature: its size, then its positions
    std::vector<std::uint32_t> buf(w);
    // An item's signature: the number n of its distinct positions, then those positions sorted,
    // then zeros up to k.
    auto signature = [&](std::uint64_t id, std::uint32_t* out) {
        std::uint32_t* p = out + 1;
        enc.positions(id, p);
        std::sort(p, p + k);
        const std::size_t n = static_cast<std::size_t>(std::unique(p, p + k) - p);
        for (std::size_t j = n; j < k; ++j) p[j] = 0;
        out[0] = static_cast<std::uint32_t>(n);
        return n;
    };
    std::vector<std::pair<std::uint64_t, std::uint64_t>> fp(static_cast<std::size_t>(d));
    for (std::uint64_t id = 0; id < d; ++id) {
        const std::size_t n = signature(id, buf.data());
        fp[static_cast<std::size_t>(id)] = {detail::fingerprint(buf.data() + 1, n), id};
    }
    std::sort(fp.begin(), fp.end());

    signature_stats st;
    st.items = d;
    std::vector<std::uint32_t> sigs;
    std::vector<std::size_t> order;
    for (std::size_t a = 0; a < fp.size();) {
        std::size_t b = a + 1;
        while (b < fp.size() && fp[b].first == fp[a].first) ++b;
        if (b - a == 1) {
            ++st.unique;
            ++st.distinct;
            a = b;
            continue;
        }
        // Equal fingerprints: group the run by its exact signatures.
        const std::size_t r = b - a;
        sigs.resize(r * w);
        for (std::size_t i = 0; i < r; ++i) signature(fp[a + i].second, sigs.data() + i * w);
        order.resize(r);
        for (std::size_t i = 0; i < r; ++i) order[i] = i;
        auto less = [&](std::size_t x, std::size_t y) {
            return std::lexicographical_compare(sigs.data() + x * w, sigs.data() + x * w + w,
                                                sigs.data() + y * w, sigs.data() + y * w + w);
        };
        std::sort(order.begin(), order.end(), less);
        for (std::size_t i = 0; i < r;) {
            std::size_t j = i + 1;
            while (j < r && !less(order[i], order[j])) ++j;
            ++st.distinct;
            if (j - i == 1) ++st.unique;
            i = j;
        }
        a = b;
    }
    return st;
}

template <class Hash>
signature_stats signature_uniqueness(const basic_spec<Hash>& s) {
    return signature_uniqueness(basic_encoder<Hash>(s));
}

// ---- false positives ------------------------------------------------------------------------

// Encodes `set` (unsigned ids < d; duplicates are fine) and counts the non-members that the
// encoded set would also contain. Throws bloom::out_of_range for an id >= d.
template <class Hash, class Range>
fpr_report false_positive_rate(const basic_encoder<Hash>& enc, const Range& set) {
    const auto& s = enc.spec();
    detail::require_items(s, "false_positive_rate");
    const std::uint64_t d = s.items();
    const std::uint32_t k = s.k();
    const std::vector<std::uint32_t> pos = enc.encode(set);  // checks every id < d
    std::vector<std::uint64_t> bits(static_cast<std::size_t>((s.m() + 63) / 64), 0);
    for (const std::uint32_t p : pos) bits[p >> 6] |= std::uint64_t{1} << (p & 63U);

    std::vector<std::uint64_t> members;
    for (const auto id : set) members.push_back(static_cast<std::uint64_t>(id));
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());

    fpr_report r;
    r.m = s.m();
    r.k = k;
    r.members = members.size();
    r.non_members = d - members.size();
    r.bits_set = pos.size();
    std::vector<std::uint32_t> buf(k);
    std::size_t next = 0;
    for (std::uint64_t id = 0; id < d; ++id) {
        if (next < members.size() && members[next] == id) {
            ++next;
            continue;
        }
        enc.positions(id, buf.data());
        bool all = true;
        for (const std::uint32_t p : buf) all = all && ((bits[p >> 6] >> (p & 63U)) & 1U) != 0;
        r.false_positives += all ? 1 : 0;
    }
    return r;
}

template <class Hash, class Id>
fpr_report false_positive_rate(const basic_encoder<Hash>& enc, std::initializer_list<Id> set) {
    return false_positive_rate<Hash, std::initializer_list<Id>>(enc, set);
}

template <class Hash, class Range>
fpr_report false_positive_rate(const basic_spec<Hash>& s, const Range& set) {
    return false_positive_rate(basic_encoder<Hash>(s), set);
}

}  // namespace bloom
