// Parameter initialisers, each drawing from an explicit engine passed in (std::mt19937_64 or any
// full-range 32/64-bit standard engine), with the same result on every platform for a seed.
//
// Shapes: a linear layer's weight is in x out (the layer computes x W), so fan_in = rows and
// fan_out = cols. An embedding table is rows x dim.
//
//   zeros
//   normal(mean, std), uniform(lo, hi)
//   scaled_normal      N(0, (1/dim)^2) with dim = cols: Spotlight's ScaledEmbedding
//   xavier_uniform     U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))      (Glorot & Bengio 2010)
//   xavier_normal      N(0, gain^2 2 / (fan_in + fan_out))
//   he_uniform         U(-a, a), a = sqrt(6 / fan_in)                        (He et al. 2015)
//   he_normal          N(0, 2 / fan_in)
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <bloom/ad/random.hpp>
#include <bloom/error.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace nn {
namespace init {

enum class scheme : std::uint8_t {
    zeros,
    scaled_normal,
    xavier_uniform,
    xavier_normal,
    he_uniform,
    he_normal,
};

inline const char* to_string(scheme s) noexcept {
    switch (s) {
        case scheme::zeros: return "zeros";
        case scheme::scaled_normal: return "scaled_normal";
        case scheme::xavier_uniform: return "xavier_uniform";
        case scheme::xavier_normal: return "xavier_normal";
        case scheme::he_uniform: return "he_uniform";
        case scheme::he_normal: return "he_normal";
    }
    return "?";
}

template <class S>
void zeros(matrix<S>& w) {
    w.setZero();
}

template <class S, class Engine>
void normal(matrix<S>& w, double mean, double std_dev, Engine& rng) {
    if (!(std_dev >= 0.0) || !std::isfinite(std_dev) || !std::isfinite(mean))
        ::bloom::detail::throw_invalid("init::normal: std must be finite and >= 0, got " +
                                       std::to_string(std_dev));
    S* p = w.data();
    for (Eigen::Index i = 0; i < w.size(); ++i)
        p[i] = static_cast<S>(mean + std_dev * ad::detail::standard_normal(rng));
}

template <class S, class Engine>
void uniform(matrix<S>& w, double lo, double hi, Engine& rng) {
    if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi))
        ::bloom::detail::throw_invalid("init::uniform: need finite lo <= hi, got [" +
                                       std::to_string(lo) + ", " + std::to_string(hi) + "]");
    S* p = w.data();
    for (Eigen::Index i = 0; i < w.size(); ++i)
        p[i] = static_cast<S>(lo + (hi - lo) * ad::detail::uniform01(rng));
}

namespace detail {
template <class S>
void require_nonempty(const char* who, const matrix<S>& w) {
    if (w.rows() == 0 || w.cols() == 0)
        ::bloom::detail::throw_invalid(std::string("init::") + who + ": the matrix is " +
                                       std::to_string(w.rows()) + "x" +
                                       std::to_string(w.cols()) + "; fans must be >= 1");
}
}  // namespace detail

template <class S, class Engine>
void scaled_normal(matrix<S>& w, Engine& rng) {
    detail::require_nonempty("scaled_normal", w);
    normal(w, 0.0, 1.0 / static_cast<double>(w.cols()), rng);
}

template <class S, class Engine>
void xavier_uniform(matrix<S>& w, Engine& rng, double gain = 1.0) {
    detail::require_nonempty("xavier_uniform", w);
    const double a = gain * std::sqrt(6.0 / static_cast<double>(w.rows() + w.cols()));
    uniform(w, -a, a, rng);
}

template <class S, class Engine>
void xavier_normal(matrix<S>& w, Engine& rng, double gain = 1.0) {
    detail::require_nonempty("xavier_normal", w);
    normal(w, 0.0, gain * std::sqrt(2.0 / static_cast<double>(w.rows() + w.cols())), rng);
}

template <class S, class Engine>
void he_uniform(matrix<S>& w, Engine& rng) {
    detail::require_nonempty("he_uniform", w);
    const double a = std::sqrt(6.0 / static_cast<double>(w.rows()));
    uniform(w, -a, a, rng);
}

template <class S, class Engine>
void he_normal(matrix<S>& w, Engine& rng) {
    detail::require_nonempty("he_normal", w);
    normal(w, 0.0, std::sqrt(2.0 / static_cast<double>(w.rows())), rng);
}

template <class S, class Engine>
void apply(scheme s, matrix<S>& w, Engine& rng) {
    switch (s) {
        case scheme::zeros: zeros(w); return;
        case scheme::scaled_normal: scaled_normal(w, rng); return;
        case scheme::xavier_uniform: xavier_uniform(w, rng); return;
        case scheme::xavier_normal: xavier_normal(w, rng); return;
        case scheme::he_uniform: he_uniform(w, rng); return;
        case scheme::he_normal: he_normal(w, rng); return;
    }
}

}  // namespace init
}  // namespace nn
}  // namespace bloom
