// Synthetic interactions whose users and items are raw 64-bit keys drawn from a large space
// (10^6 to 10^18 possible keys), as logs carry them, with no table of the space anywhere: the
// input of keyed models (models/keyed.hpp) at any scale.
//
//     bloom::data::sparse_key_config c;
//     c.interactions = 1000000;
//     c.item_space = 1000000000;        // 10^9 possible item keys
//     const bloom::data::key_interactions d = bloom::data::generate_sparse_keys(c);
//     // d.users[t], d.items[t]: keys in [key_offset, key_offset + space)
//
// How a draw is made, in O(1) time and memory:
// - A user is a Zipf rank r in [0, user_space) (exponent user_exponent), drawn by inverting the
//   continuous power law's distribution function, so no table of the space is built. Its key is
//   key_offset + perm(r), where perm is an affine bijection of [0, space): x -> (a x + c) mod
//   space with gcd(a, space) = 1, so distinct ranks have distinct keys, spread over the space.
// - Each user belongs to one of `clusters` taste groups (a hash of its rank). Group g ranks the
//   items in its own order: item rank r (Zipf, item_exponent) is item index (r + g * space /
//   clusters) mod space. So each group has its own popular items, which a model can learn and a
//   popularity ranking cannot.
// - The item key is key_offset + perm(index), with its own bijection.
//
// The keys are a deterministic function of the seed. Duplicate (user, item) pairs are kept (they
// are repeated interactions).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <bloom/error.hpp>
#include <bloom/hash/policy.hpp>
#include <bloom/random.hpp>

namespace bloom {
namespace data {

struct sparse_key_config {
    std::uint64_t interactions = 100000;
    std::uint64_t user_space = 1000000000;  // possible user keys
    std::uint64_t item_space = 1000000000;  // possible item keys
    double user_exponent = 1.0;             // Zipf exponent of user activity (0: uniform)
    double item_exponent = 1.0;             // Zipf exponent of item popularity within a group
    std::uint32_t clusters = 16;            // taste groups of users (1: one shared popularity)
    // Added to every key, e.g. 2^40 to put every key above 32 bits; key_offset + space - 1 must
    // fit 64 bits.
    std::uint64_t key_offset = 0;
    std::uint64_t seed = 1;
};

struct key_interactions {
    std::vector<std::uint64_t> users, items;
    std::size_t size() const noexcept { return users.size(); }
};

namespace detail {

// An affine bijection of [0, n): x -> (a x + c) mod n, with a coprime to n.
class affine_permutation {
public:
    affine_permutation(std::uint64_t n, std::uint64_t seed) : n_(n) {
        // Start near n times the golden ratio's fraction (any coprime a would do), then step to
        // the next one coprime to n.
        a_ = static_cast<std::uint64_t>(0.6180339887498949 * static_cast<double>(n)) | 1U;
        if (a_ >= n_) a_ = 1;
        while (std::gcd(a_, n_) != 1) a_ = (a_ + 2) % n_;
        c_ = ::bloom::detail::splitmix64(seed) % n_;
    }
    std::uint64_t operator()(std::uint64_t x) const noexcept {
#if defined(__SIZEOF_INT128__)
        __extension__ typedef unsigned __int128 u128;
        return static_cast<std::uint64_t>((static_cast<u128>(a_) * x + c_) % n_);
#else
        // Without 128-bit products: double-and-add, exact for any n < 2^63.
        std::uint64_t r = 0, b = a_ % n_, y = x;
        while (y != 0) {
            if (y & 1U) r = (r + b) % n_;
            b = (b * 2) % n_;
            y >>= 1;
        }
        return (r + c_) % n_;
#endif
    }

private:
    std::uint64_t n_, a_ = 1, c_ = 0;
};

// A Zipf rank in [0, n) with exponent s >= 0: the continuous power law x^-s on [1, n + 1),
// inverted at u in [0, 1), rounded down. O(1), no table.
inline std::uint64_t zipf_rank(double u, std::uint64_t n, double s) noexcept {
    const double top = static_cast<double>(n) + 1.0;
    double x;
    if (std::abs(s - 1.0) < 1e-12) {
        x = std::exp(u * std::log(top));
    } else {
        const double e = 1.0 - s;
        x = std::pow(1.0 + u * (std::pow(top, e) - 1.0), 1.0 / e);
    }
    const double r = std::floor(x) - 1.0;
    if (!(r > 0)) return 0;
    if (r >= static_cast<double>(n - 1)) return n - 1;
    return static_cast<std::uint64_t>(r);
}

}  // namespace detail

inline key_interactions generate_sparse_keys(const sparse_key_config& c) {
    const std::string who = "generate_sparse_keys: ";
    if (c.interactions == 0) ::bloom::detail::throw_invalid(who + "interactions must be at least 1");
    if (c.user_space == 0 || c.item_space == 0)
        ::bloom::detail::throw_invalid(who + "user_space and item_space must be at least 1 (got " +
                                       std::to_string(c.user_space) + " and " +
                                       std::to_string(c.item_space) + ")");
    constexpr std::uint64_t max_space = std::uint64_t{1} << 63;
    if (c.user_space > max_space || c.item_space > max_space)
        ::bloom::detail::throw_invalid(who + "a key space above 2^63 (user_space " +
                                       std::to_string(c.user_space) + ", item_space " +
                                       std::to_string(c.item_space) + ")");
    const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
    if (c.key_offset > top - (c.user_space - 1) || c.key_offset > top - (c.item_space - 1))
        ::bloom::detail::throw_invalid(who + "key_offset " + std::to_string(c.key_offset) +
                                       " plus the key space overflows 64 bits");
    if (!(c.user_exponent >= 0.0) || !(c.item_exponent >= 0.0) || !std::isfinite(c.user_exponent) ||
        !std::isfinite(c.item_exponent))
        ::bloom::detail::throw_invalid(who + "the Zipf exponents must be finite and >= 0");
    if (c.clusters == 0) ::bloom::detail::throw_invalid(who + "clusters must be at least 1");

    const detail::affine_permutation user_perm(c.user_space, c.seed ^ 0x55AA55AAULL);
    const detail::affine_permutation item_perm(c.item_space, c.seed ^ 0xAA55AA55ULL);
    const std::uint64_t group_stride = c.item_space / c.clusters;
    std::uint64_t state = ::bloom::detail::splitmix64(c.seed);
    const auto next_unit = [&state]() {
        state += 0x9E3779B97F4A7C15ULL;
        return static_cast<double>(::bloom::detail::splitmix64(state) >> 11) * 0x1.0p-53;
    };
    key_interactions out;
    out.users.resize(c.interactions);
    out.items.resize(c.interactions);
    for (std::uint64_t t = 0; t < c.interactions; ++t) {
        const std::uint64_t ur = detail::zipf_rank(next_unit(), c.user_space, c.user_exponent);
        const std::uint64_t group = ::bloom::detail::splitmix64(ur ^ c.seed) % c.clusters;
        const std::uint64_t ir = detail::zipf_rank(next_unit(), c.item_space, c.item_exponent);
        // (ir + group * stride) mod space, without overflow: both terms are below space.
        const std::uint64_t shift = group * group_stride;
        const std::uint64_t index = ir >= c.item_space - shift ? ir - (c.item_space - shift)
                                                               : ir + shift;
        out.users[t] = c.key_offset + user_perm(ur);
        out.items[t] = c.key_offset + item_perm(index);
    }
    return out;
}

}  // namespace data
}  // namespace bloom
