// Small dense-vector kernels for the models' per-example hot loops. They go through Eigen maps so
// that they are SIMD-vectorised at any optimisation level (GCC's -O2 vectoriser skips most
// runtime-length loops), and stay scalar for the dimension-1 bias tables.
#pragma once

#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

#include <bloom/config.hpp>

namespace bloom {
namespace models {
namespace kernels {

// Each kernel runs on a fixed-size Eigen map for the common embedding sizes (fully unrolled, no
// alignment peeling) and on a dynamic-size map otherwise; the switch is perfectly predicted.
template <class S, int N>
using cvec = Eigen::Map<const Eigen::Matrix<S, N, 1>>;
template <class S, int N>
using mvec = Eigen::Map<Eigen::Matrix<S, N, 1>>;

#define BLOOM_KERNEL_DISPATCH(n, BODY)                  \
    switch (n) {                                        \
        case 8: { constexpr int N = 8; BODY; break; }   \
        case 16: { constexpr int N = 16; BODY; break; } \
        case 32: { constexpr int N = 32; BODY; break; } \
        case 64: { constexpr int N = 64; BODY; break; } \
        default: { constexpr int N = Eigen::Dynamic; BODY; break; } \
    }

template <class S>
BLOOM_ALWAYS_INLINE void copy(S* out, const S* a, std::uint32_t n) noexcept {
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n) = cvec<S, N>(a, n)))
}
template <class S>
BLOOM_ALWAYS_INLINE void add(S* out, const S* a, std::uint32_t n) noexcept {  // out += a
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n) += cvec<S, N>(a, n)))
}
template <class S>
BLOOM_ALWAYS_INLINE void axpy(S* out, S alpha, const S* a, std::uint32_t n) noexcept {  // out += alpha a
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n) += alpha * cvec<S, N>(a, n)))
}
template <class S>
BLOOM_ALWAYS_INLINE void scale(S* out, S alpha, std::uint32_t n) noexcept {
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n) *= alpha))
}
template <class S>
BLOOM_ALWAYS_INLINE void set_zero(S* out, std::uint32_t n) noexcept {
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n).setZero()))
}
template <class S>
BLOOM_ALWAYS_INLINE S dot(const S* a, const S* b, std::uint32_t n) noexcept {
    S r = S(0);
    BLOOM_KERNEL_DISPATCH(n, (r = cvec<S, N>(a, n).dot(cvec<S, N>(b, n))))
    return r;
}
template <class S>
BLOOM_ALWAYS_INLINE void mul(S* out, const S* a, const S* b, std::uint32_t n) noexcept {  // out = a * b
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n) = cvec<S, N>(a, n).cwiseProduct(cvec<S, N>(b, n))))
}
template <class S>
BLOOM_ALWAYS_INLINE void mul_add(S* out, const S* a, const S* b, std::uint32_t n) noexcept {  // out += a * b
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n) += cvec<S, N>(a, n).cwiseProduct(cvec<S, N>(b, n))))
}
// out = alpha a + beta b
template <class S>
BLOOM_ALWAYS_INLINE void lincomb(S* out, S alpha, const S* a, S beta, const S* b, std::uint32_t n) noexcept {
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n) = alpha * cvec<S, N>(a, n) + beta * cvec<S, N>(b, n)))
}
// out = alpha a
template <class S>
BLOOM_ALWAYS_INLINE void scaled_copy(S* out, S alpha, const S* a, std::uint32_t n) noexcept {
    BLOOM_KERNEL_DISPATCH(n, (mvec<S, N>(out, n) = alpha * cvec<S, N>(a, n)))
}

template <class S, int N>
BLOOM_ALWAYS_INLINE void sum_rows_n(S* out, const S* base, const std::uint32_t* pos, std::uint32_t k, S alpha,
                       std::uint32_t n) noexcept {
    Eigen::Matrix<S, N, 1> acc = cvec<S, N>(base + std::size_t(pos[0]) * n, n);
    for (std::uint32_t j = 1; j < k; ++j) acc += cvec<S, N>(base + std::size_t(pos[j]) * n, n);
    if (alpha != S(1)) acc *= alpha;
    mvec<S, N>(out, n) = acc;
}

// out = alpha * sum_j rows[pos[j]] for j < k, where row r starts at base + r * n. The sum stays in
// registers for the fixed sizes.
template <class S>
BLOOM_ALWAYS_INLINE void sum_rows(S* out, const S* base, const std::uint32_t* pos, std::uint32_t k, S alpha,
                     std::uint32_t n) noexcept {
    BLOOM_KERNEL_DISPATCH(n, (sum_rows_n<S, N>(out, base, pos, k, alpha, n)))
}

#undef BLOOM_KERNEL_DISPATCH

}  // namespace kernels
}  // namespace models
}  // namespace bloom
