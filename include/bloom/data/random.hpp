// Exact, platform-independent random draws for the data area (splits, synthetic generator).
//
// std::uniform_int_distribution and std::shuffle give different sequences with libstdc++, libc++
// and MSVC. These helpers use only the raw 64-bit output of std::mt19937_64 (which the standard
// fixes bit for bit) and integer arithmetic, so a seed gives the same data everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace bloom {
namespace data {

// The engine every seeded data function takes (or builds from a seed).
using engine = std::mt19937_64;

namespace detail {

// The smallest 2^b - 1 that is >= x: the mask of a rejection draw in [0, x].
inline std::uint64_t all_ones_up_to(std::uint64_t x) noexcept {
    x |= x >> 1;
    x |= x >> 2;
    x |= x >> 4;
    x |= x >> 8;
    x |= x >> 16;
    x |= x >> 32;
    return x;
}

// Uniform integer in [0, bound), exactly uniform: mask rejection (fewer than 2 draws expected).
// bound == 0 or 1 returns 0 and draws nothing.
inline std::uint64_t uniform_below(engine& rng, std::uint64_t bound) {
    if (bound <= 1) return 0;
    const std::uint64_t mask = all_ones_up_to(bound - 1);
    for (;;) {
        const std::uint64_t x = rng() & mask;
        if (x < bound) return x;
    }
}

// Fisher-Yates shuffle driven by uniform_below (std::shuffle's draws are library-specific).
template <class T>
void shuffle(T* first, std::size_t n, engine& rng) {
    for (std::size_t i = n; i > 1; --i) {
        const auto j = static_cast<std::size_t>(uniform_below(rng, i));
        using std::swap;
        swap(first[i - 1], first[j]);
    }
}

// NumPy's legacy RandomState(seed).permutation(n), bit for bit: MT19937 seeded with seed (NumPy's
// init_genrand, which std::mt19937 shares), then for i = n-1 down to 1 a bounded draw j in
// [0, i] by mask rejection on 32-bit outputs (two outputs, high word first, once i needs more
// than 32 bits) and swap(p[i], p[j]). Spotlight's random_train_test_split shuffles this way.
inline std::vector<std::size_t> numpy_legacy_permutation(std::size_t n, std::uint32_t seed) {
    std::mt19937 mt(seed);
    std::vector<std::size_t> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = i;
    for (std::size_t i = n; i-- > 1;) {
        const std::uint64_t mask = all_ones_up_to(i);
        std::uint64_t j;
        if (i <= 0xffffffffULL) {
            do j = static_cast<std::uint64_t>(mt()) & mask; while (j > i);
        } else {
            do {
                const std::uint64_t hi = mt();
                j = ((hi << 32) | static_cast<std::uint64_t>(mt())) & mask;
            } while (j > i);
        }
        std::swap(p[i], p[static_cast<std::size_t>(j)]);
    }
    return p;
}

}  // namespace detail
}  // namespace data
}  // namespace bloom
