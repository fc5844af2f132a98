// Platform-independent real draws from a standard engine, shared by every area that draws
// (autodiff dropout masks, network and embedding initialisers). std::uniform_real_distribution
// and std::normal_distribution give different sequences with libstdc++, libc++ and MSVC; these
// use only the engine's raw output, which the standard fixes, so a seed gives the same masks and
// weights everywhere. Integer draws stay with their areas: data/random.hpp (exact rejection, for
// splits and the generator) and models/random.hpp (multiply-shift, for the training hot loop).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace bloom {
namespace detail {

// Uniform double in [0, 1) with 53 random bits, from a full-range 32- or 64-bit engine
// (std::mt19937, std::mt19937_64, ...).
template <class Engine>
double uniform01(Engine& rng) {
    static_assert(Engine::min() == 0, "bloom: the engine must produce values from 0");
    if constexpr (Engine::max() == std::numeric_limits<std::uint64_t>::max()) {
        return static_cast<double>(static_cast<std::uint64_t>(rng()) >> 11) *
               (1.0 / 9007199254740992.0);
    } else {
        static_assert(Engine::max() == std::numeric_limits<std::uint32_t>::max(),
                      "bloom: the engine must produce full 32- or 64-bit values "
                      "(std::mt19937, std::mt19937_64...)");
        const auto hi = static_cast<std::uint64_t>(rng());
        const auto lo = static_cast<std::uint64_t>(rng());
        return static_cast<double>(((hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
    }
}

// Standard normal by the Box-Muller transform (one value per call: simple and reproducible).
template <class Engine>
double standard_normal(Engine& rng) {
    double u1 = uniform01(rng);
    const double u2 = uniform01(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace detail
}  // namespace bloom
