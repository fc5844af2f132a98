// Multiply-shift hashing (Dietzfelbinger et al.): h(x) = a*x + b mod 2^64 with a odd, where the
// high bits are the hash. The cheapest policy with a universality guarantee for integer keys;
// the spec's default multiply-shift reduction reads exactly those high bits.
#pragma once

#include <cstddef>
#include <cstdint>

#include <bloom/hash/policy.hpp>

namespace bloom {

struct multiply_shift {
    static constexpr std::uint64_t rotl(std::uint64_t x, int r) noexcept {
        return (x << r) | (x >> (64 - r));
    }
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "multiply_shift";

    // a (odd) and b come from the seed through one xorshift-multiply, a bijection on 64 bits: a
    // uniformly random seed gives a uniformly random odd a, which is what the universality
    // argument needs, and nearby seeds (0, 1, 2... or Spotlight's list) give unrelated functions.
    // Without the multiply, seeds 1 and 2 would give multipliers a few units apart, which agree on
    // the top bits (the position) for every small id. b = rotl(a, 32) keeps h(0) away from 0.
    // When the seed is loop-invariant the compiler hoists this; otherwise it costs one multiply.
    static constexpr std::uint64_t multiplier(std::uint64_t seed) noexcept {
        const std::uint64_t s = seed ^ 0xD1B54A32D192ED03ULL;
        return ((s ^ (s >> 32)) * 0x9E3779B97F4A7C15ULL) | 1U;
    }
    static constexpr std::uint64_t increment(std::uint64_t seed) noexcept {
        return rotl(multiplier(seed), 32);
    }

    std::uint64_t operator()(std::uint64_t key, std::uint64_t seed) const noexcept {
        return multiplier(seed) * key + increment(seed);
    }
    std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept {
        return (*this)(static_cast<std::uint64_t>(key), seed);
    }

    // Keys of up to 8 bytes are read as a little-endian integer (zero-padded), so a 4-byte and an
    // 8-byte key of the same value hash alike. Longer keys are folded word by word with a
    // multiply-rotate first: fine for ids, but not universal: use xxh3 for strings.
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        if (len <= 8) {
            unsigned char buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (std::size_t i = 0; i < len; ++i) buf[i] = p[i];
            return (*this)(detail::load_le64(buf), seed);
        }
        const std::uint64_t a = multiplier(seed);
        std::uint64_t x = static_cast<std::uint64_t>(len);
        std::size_t i = 0;
        for (; i + 8 <= len; i += 8) x = rotl((x ^ detail::load_le64(p + i)) * a, 29);
        if (i < len) {
            unsigned char buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (std::size_t j = 0; i + j < len; ++j) buf[j] = p[i + j];
            x = rotl((x ^ detail::load_le64(buf)) * a, 29);
        }
        return (*this)(x, seed);
    }
};

}  // namespace bloom
