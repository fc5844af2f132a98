// Platform-independent random draws for the models: the same seed gives the same model with
// libstdc++, libc++ or MSVC (std::*_distribution output differs between standard libraries).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include <bloom/hash/policy.hpp>
#include <bloom/random.hpp>

namespace bloom {
namespace models {

using engine = std::mt19937_64;

// Uniform integer in [0, n) by Lemire's multiply-shift (bias below 2^-32 for n < 2^32).
inline std::uint32_t uniform_below(engine& rng, std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((rng() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
}

// Uniform double in [0, 1) and standard normal: the shared draws of <bloom/random.hpp>.
using ::bloom::detail::standard_normal;
using ::bloom::detail::uniform01;

// Fisher-Yates shuffle with uniform_below (std::shuffle's draws are library-specific).
template <class T>
void shuffle(T* data, std::size_t n, engine& rng) noexcept {
    for (std::size_t i = n; i > 1; --i) {
        const std::size_t j = uniform_below(rng, static_cast<std::uint32_t>(i));
        std::swap(data[i - 1], data[j]);
    }
}

}  // namespace models
}  // namespace bloom
