// Adam (Kingma & Ba 2015) with L2 weight decay, dense and lazy row-sparse.
//
// For one scalar w with gradient g at step t (t counts steps from 1), in this order
// (torch.optim.Adam, amsgrad off):
//   g <- g + weight_decay * w                       (L2 in the gradient, not AdamW's decoupling)
//   m <- beta1 * m + (1 - beta1) * g
//   v <- beta2 * v + (1 - beta2) * g * g
//   w <- w - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// m and v start at zero. The two bias corrections are computed once per step, in begin_step().
//
// Sparse (lazy) semantics, as TensorFlow's LazyAdam and PyTorch's SparseAdam: a row-sparse step
// updates m, v and w of the listed rows only. An untouched row keeps stale moments (they do not
// decay) and does not move, where dense Adam would decay its moments and keep moving it with the
// momentum it has. Bias correction uses the global step count t (every step counts, touched or
// not), not a per-row count. When every row is touched at every step, lazy Adam is dense Adam.
// docs/optimizers.md discusses the choice.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include <bloom/optim/common.hpp>

namespace bloom {
namespace optim {

struct adam_config {
    double lr = 0.001;          // >= 0
    double beta1 = 0.9;         // in [0, 1)
    double beta2 = 0.999;       // in [0, 1)
    double eps = 1e-8;          // > 0
    double weight_decay = 0.0;  // >= 0, L2 penalty added to the gradient of touched rows
};

template <class Scalar = float>
class adam : public detail::optimizer_base<adam<Scalar>, Scalar, adam_config> {
    using base = detail::optimizer_base<adam<Scalar>, Scalar, adam_config>;
    friend base;

public:
    using config = adam_config;
    static constexpr const char* name = "adam";

    explicit adam(const config& c = config{}) : base(c) { cache(); }
    // Binds to a rows x cols parameter and allocates both moments now.
    adam(const config& c, Eigen::Index rows, Eigen::Index cols) : adam(c) {
        this->allocate(rows, cols);
    }

    // First and second moments m and v, of the parameter's shape (empty before the first step).
    const matrix<Scalar>& first_moment() const noexcept { return m_; }
    const matrix<Scalar>& second_moment() const noexcept { return v_; }

private:
    using base::cfg_;

    static void validate(const config& c) {
        detail::require_unit(name, "beta1", c.beta1);
        detail::require_unit(name, "beta2", c.beta2);
        detail::require_positive(name, "eps", c.eps);
        if (!(static_cast<Scalar>(c.eps) > Scalar(0)))
            detail::bad_hyper(name, "eps", "representable as a positive Scalar", c.eps);
        detail::require_nonnegative(name, "weight_decay", c.weight_decay);
    }

    template <class A>
    static void archive_config(A& a, config& c) {
        a.value("lr", c.lr);
        a.value("beta1", c.beta1);
        a.value("beta2", c.beta2);
        a.value("eps", c.eps);
        a.value("weight_decay", c.weight_decay);
    }
    template <class A>
    void archive_state(A& a) {
        this->archive_state_matrix(a, "m", m_, true);
        this->archive_state_matrix(a, "v", v_, true);
    }

    void cache() noexcept {
        b1_ = static_cast<Scalar>(cfg_.beta1);
        b2_ = static_cast<Scalar>(cfg_.beta2);
        omb1_ = static_cast<Scalar>(1.0 - cfg_.beta1);
        omb2_ = static_cast<Scalar>(1.0 - cfg_.beta2);
        eps_ = static_cast<Scalar>(cfg_.eps);
        wd_ = static_cast<Scalar>(cfg_.weight_decay);
    }

    void allocate_state(Eigen::Index rows, Eigen::Index cols) {
        ::bloom::detail::assign_large(m_, rows, cols, Scalar(0));
        ::bloom::detail::assign_large(v_, rows, cols, Scalar(0));
    }
    void clear_state() noexcept {
        m_.setZero();
        v_.setZero();
    }
    // The bias corrections of step t, in double, once per step rather than once per row.
    struct coefficients {
        Scalar step_size, inv_sqrt_bc2;
    };
    coefficients coefficients_at(std::uint64_t t) const noexcept {
        const double td = static_cast<double>(t);
        const double bc1 = 1.0 - std::pow(cfg_.beta1, td);
        const double bc2 = 1.0 - std::pow(cfg_.beta2, td);
        return {static_cast<Scalar>(cfg_.lr / bc1), static_cast<Scalar>(1.0 / std::sqrt(bc2))};
    }
    void on_begin_step(std::uint64_t t) noexcept { c_ = coefficients_at(t); }
    void prefetch_state(Eigen::Index offset) const noexcept {
        this->prefetch_span(m_.data() + offset);
        this->prefetch_span(v_.data() + offset);
    }

    // Rows of the common embedding sizes take a fixed-size path (unrolled, no alignment peeling);
    // the arithmetic, and so the result, is the same as the dynamic path's.
    void apply(Scalar* wp, const Scalar* gp, Eigen::Index offset, Eigen::Index n) noexcept {
        switch (n) {
            case 1: apply_n<1>(wp, gp, offset, n); break;
            case 8: apply_n<8>(wp, gp, offset, n); break;
            case 16: apply_n<16>(wp, gp, offset, n); break;
            case 32: apply_n<32>(wp, gp, offset, n); break;
            case 64: apply_n<64>(wp, gp, offset, n); break;
            default:
                // Other lengths (update_range's runs, other row sizes) in fixed spans of 16, 8 and
                // 1: full SIMD width from the first scalar, where the dynamic form would peel
                // scalars until its data is aligned; the same arithmetic per scalar.
                {
                    Eigen::Index i = 0;
                    for (; i + 16 <= n; i += 16) apply_n<16>(wp + i, gp + i, offset + i, 16);
                    if (i + 8 <= n) {
                        apply_n<8>(wp + i, gp + i, offset + i, 8);
                        i += 8;
                    }
                    for (; i < n; ++i) apply_n<1>(wp + i, gp + i, offset + i, 1);
                }
                break;
        }
    }

    template <int N>
    void apply_n(Scalar* wp, const Scalar* gp, Eigen::Index offset, Eigen::Index n) noexcept {
        kernel<N>(c_, wp, gp, m_.data() + offset, v_.data() + offset, n);
    }

    // The update of n scalars w[i] with gradient g[i] and moments m[i], v[i].
    template <int N>
    BLOOM_ALWAYS_INLINE void kernel(const coefficients& c, Scalar* wp, const Scalar* gp, Scalar* mp,
                                    Scalar* vp, Eigen::Index n) const noexcept {
        using arr = Eigen::Array<Scalar, N, 1>;
        Eigen::Map<arr> w(wp, n);
        const Eigen::Map<const arr> g(gp, n);
        Eigen::Map<arr> m(mp, n);
        Eigen::Map<arr> v(vp, n);
        if (wd_ != Scalar(0)) {
            m = b1_ * m + omb1_ * (g + wd_ * w);
            v = b2_ * v + omb2_ * (g + wd_ * w).square();
        } else {
            m = b1_ * m + omb1_ * g;
            v = b2_ * v + omb2_ * g.square();
        }
        const auto root_v = v.unaryExpr(detail::exact_sqrt_op<Scalar>());
        w -= c.step_size * (m / (root_v * c.inv_sqrt_bc2 + eps_));
    }

    // Many rows at once. A one-column table (a bias) is updated 64 rows at a time: the rows'
    // values and moments are gathered into SIMD-friendly buffers, updated by the same elementwise
    // kernel, and scattered back, instead of one scalar update per call.
    void apply_rows(Scalar* w, const std::uint32_t* rows, const Scalar* g, std::size_t n) noexcept {
        if (this->cols() != 1) {
            base::apply_rows(w, rows, g, n);
            return;
        }
        apply_bias_rows(c_, w, rows, g, n);
    }
    // The concurrent form (base::update_rows_concurrent): the coefficients of step t, computed
    // here and not cached, then the same kernels as apply_rows().
    void apply_rows_at(std::uint64_t t, Scalar* w, const std::uint32_t* rows, const Scalar* g,
                       std::size_t n) noexcept {
        const coefficients c = coefficients_at(t);
        const Eigen::Index cols = this->cols();
        if (cols == 1) {
            apply_bias_rows(c, w, rows, g, n);
            return;
        }
        constexpr std::size_t ahead = 8;
        for (std::size_t i = 0; i < n; ++i) {
            if (i + ahead < n) {
                const Eigen::Index po = static_cast<Eigen::Index>(rows[i + ahead]) * cols;
                this->prefetch_span(w + po);
                prefetch_state(po);
            }
            const Eigen::Index off = static_cast<Eigen::Index>(rows[i]) * cols;
            Scalar* wp = w + off;
            const Scalar* gp = g + static_cast<Eigen::Index>(i) * cols;
            switch (cols) {
                case 8: kernel<8>(c, wp, gp, m_.data() + off, v_.data() + off, cols); break;
                case 16: kernel<16>(c, wp, gp, m_.data() + off, v_.data() + off, cols); break;
                case 32: kernel<32>(c, wp, gp, m_.data() + off, v_.data() + off, cols); break;
                case 64: kernel<64>(c, wp, gp, m_.data() + off, v_.data() + off, cols); break;
                default:
                    kernel<Eigen::Dynamic>(c, wp, gp, m_.data() + off, v_.data() + off, cols);
                    break;
            }
        }
    }
    // apply() as step t (base::update_range_concurrent): the same kernel with the coefficients
    // of step t.
    void apply_at(std::uint64_t t, Scalar* wp, const Scalar* gp, Eigen::Index offset,
                  Eigen::Index n) noexcept {
        kernel<Eigen::Dynamic>(coefficients_at(t), wp, gp, m_.data() + offset, v_.data() + offset,
                               n);
    }
    void apply_bias_rows(const coefficients& c, Scalar* w, const std::uint32_t* rows,
                         const Scalar* g, std::size_t n) noexcept {
        constexpr std::size_t chunk = 64;
        alignas(64) Scalar wb[chunk], mb[chunk], vb[chunk];
        Scalar* m = m_.data();
        Scalar* v = v_.data();
        for (std::size_t b = 0; b < n; b += chunk) {
            const std::size_t len = n - b < chunk ? n - b : chunk;
            const std::uint32_t* r = rows + b;
            for (std::size_t i = 0; i < len; ++i) {
                wb[i] = w[r[i]];
                mb[i] = m[r[i]];
                vb[i] = v[r[i]];
            }
            if (len == chunk)
                kernel<static_cast<int>(chunk)>(c, wb, g + b, mb, vb, static_cast<Eigen::Index>(len));
            else
                kernel<Eigen::Dynamic>(c, wb, g + b, mb, vb, static_cast<Eigen::Index>(len));
            for (std::size_t i = 0; i < len; ++i) {
                w[r[i]] = wb[i];
                m[r[i]] = mb[i];
                v[r[i]] = vb[i];
            }
        }
    }

    Scalar b1_ = 0, b2_ = 0, omb1_ = 0, omb2_ = 0, eps_ = 0, wd_ = 0;
    coefficients c_{Scalar(0), Scalar(0)};  // of the current step (begin_step())
    matrix<Scalar> m_, v_;
};

}  // namespace optim
}  // namespace bloom
