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

// NumPy's legacy RandomState(seed) as far as its shuffles go, bit for bit: MT19937 seeded with
// seed (NumPy's init_genrand, which std::mt19937 shares); interval(i) is a bounded draw j in
// [0, i] by mask rejection on 32-bit outputs (two outputs, high word first, once i needs more
// than 32 bits), and shuffle() is NumPy's legacy in-place shuffle of a 1-D array: for i = n-1
// down to 1, swap(a[i], a[interval(i)]). One object carries the state from call to call, as a
// RandomState does (a script that shuffles several arrays in turn is reproduced in order).
class numpy_legacy_rng {
public:
    explicit numpy_legacy_rng(std::uint32_t seed) : mt_(seed) {}

    std::uint64_t interval(std::uint64_t i) {
        if (i == 0) return 0;
        const std::uint64_t mask = all_ones_up_to(i);
        std::uint64_t j;
        if (i <= 0xffffffffULL) {
            do j = static_cast<std::uint64_t>(mt_()) & mask; while (j > i);
        } else {
            do {
                const std::uint64_t hi = mt_();
                j = ((hi << 32) | static_cast<std::uint64_t>(mt_())) & mask;
            } while (j > i);
        }
        return j;
    }

    template <class T>
    void shuffle(T* a, std::size_t n) {
        for (std::size_t i = n; i-- > 1;) std::swap(a[i], a[static_cast<std::size_t>(interval(i))]);
    }

    // RandomState.permutation(n): a shuffled 0..n-1.
    std::vector<std::size_t> permutation(std::size_t n) {
        std::vector<std::size_t> p(n);
        for (std::size_t i = 0; i < n; ++i) p[i] = i;
        shuffle(p.data(), n);
        return p;
    }

private:
    std::mt19937 mt_;
};

// NumPy's legacy RandomState(seed).permutation(n), bit for bit. Spotlight's
// random_train_test_split shuffles this way.
inline std::vector<std::size_t> numpy_legacy_permutation(std::size_t n, std::uint32_t seed) {
    numpy_legacy_rng rng(seed);
    return rng.permutation(n);
}

}  // namespace detail
}  // namespace data
}  // namespace bloom
