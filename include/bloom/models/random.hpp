// Platform-independent random draws for the models: the same seed gives the same model with
// libstdc++, libc++ or MSVC (std::*_distribution output differs between standard libraries).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include <bloom/hash/policy.hpp>

namespace bloom {
namespace models {

using engine = std::mt19937_64;

// Uniform integer in [0, n) by Lemire's multiply-shift (bias below 2^-32 for n < 2^32).
inline std::uint32_t uniform_below(engine& rng, std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((rng() >> 32) * static_cast<std::uint64_t>(n)) >> 32);
}

// Uniform double in [0, 1).
inline double uniform01(engine& rng) noexcept {
    return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// Standard normal by the Box-Muller transform (one value per call; simple and reproducible).
inline double standard_normal(engine& rng) noexcept {
    double u1 = uniform01(rng);
    const double u2 = uniform01(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

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
