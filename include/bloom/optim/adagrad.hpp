// Adagrad (Duchi, Hazan & Singer 2011) with L2 weight decay.
//
// For one scalar w with gradient g, in this order (torch.optim.Adagrad with lr_decay 0):
//   g <- g + weight_decay * w
//   a <- a + g * g
//   w <- w - lr * g / (sqrt(a) + eps)
// The accumulator a starts at initial_accumulator.
//
// Sparse (lazy) semantics: a row-sparse step updates the listed rows only. Adagrad has no decay
// and no step count, so without weight decay a lazy step is exactly a dense step whose gradient is
// zero outside the listed rows (a zero gradient adds nothing to a and moves nothing). With weight
// decay the two differ: dense Adagrad would also shrink the untouched rows.
#pragma once

#include <cstdint>

#include <bloom/optim/common.hpp>

namespace bloom {
namespace optim {

struct adagrad_config {
    double lr = 0.01;                 // >= 0
    double eps = 1e-10;               // >= 0, added to sqrt(a)
    double initial_accumulator = 0.0; // >= 0; eps and initial_accumulator may not both be 0
    double weight_decay = 0.0;        // >= 0, L2 penalty added to the gradient of touched rows
};

template <class Scalar = float>
class adagrad : public detail::optimizer_base<adagrad<Scalar>, Scalar, adagrad_config> {
    using base = detail::optimizer_base<adagrad<Scalar>, Scalar, adagrad_config>;
    friend base;

public:
    using config = adagrad_config;
    static constexpr const char* name = "adagrad";

    explicit adagrad(const config& c = config{}) : base(c) { cache(); }
    // Binds to a rows x cols parameter and allocates the accumulator now.
    adagrad(const config& c, Eigen::Index rows, Eigen::Index cols) : adagrad(c) {
        this->allocate(rows, cols);
    }

    // The sum of squared gradients, of the parameter's shape (empty before the first step).
    const matrix<Scalar>& accumulator() const noexcept { return acc_; }

private:
    using base::cfg_;

    static void validate(const config& c) {
        detail::require_nonnegative(name, "eps", c.eps);
        detail::require_nonnegative(name, "initial_accumulator", c.initial_accumulator);
        detail::require_nonnegative(name, "weight_decay", c.weight_decay);
        // Otherwise a zero gradient on a fresh scalar computes 0 / 0 (checked in Scalar, where
        // a tiny double may round to 0).
        if (static_cast<Scalar>(c.eps) == Scalar(0) &&
            static_cast<Scalar>(c.initial_accumulator) == Scalar(0))
            ::bloom::detail::throw_invalid(
                "adagrad: eps and initial_accumulator are both 0 (a zero gradient would divide "
                "0 by 0); make one of them positive");
    }

    template <class A>
    static void archive_config(A& a, config& c) {
        a.value("lr", c.lr);
        a.value("eps", c.eps);
        a.value("initial_accumulator", c.initial_accumulator);
        a.value("weight_decay", c.weight_decay);
    }
    template <class A>
    void archive_state(A& a) {
        this->archive_state_matrix(a, "accumulator", acc_, true);
    }

    void cache() noexcept {
        lr_ = static_cast<Scalar>(cfg_.lr);
        eps_ = static_cast<Scalar>(cfg_.eps);
        wd_ = static_cast<Scalar>(cfg_.weight_decay);
    }

    void allocate_state(Eigen::Index rows, Eigen::Index cols) {
        ::bloom::detail::assign_large(acc_, rows, cols,
                                      static_cast<Scalar>(cfg_.initial_accumulator));
    }
    void clear_state() noexcept { acc_.setConstant(static_cast<Scalar>(cfg_.initial_accumulator)); }
    void on_begin_step(std::uint64_t) noexcept {}
    void prefetch_state(Eigen::Index offset) const noexcept {
        this->prefetch_span(acc_.data() + offset);
    }

    void apply(Scalar* wp, const Scalar* gp, Eigen::Index offset, Eigen::Index n) noexcept {
        detail::span<Scalar> w(wp, n);
        const detail::const_span<Scalar> g(gp, n);
        detail::span<Scalar> a(acc_.data() + offset, n);
        const auto root_a = a.unaryExpr(detail::exact_sqrt_op<Scalar>());  // lazy: reads a
        if (wd_ != Scalar(0)) {
            a += (g + wd_ * w).square();
            w -= lr_ * ((g + wd_ * w) / (root_a + eps_));
        } else {
            a += g.square();
            w -= lr_ * (g / (root_a + eps_));
        }
    }

    Scalar lr_ = 0, eps_ = 0, wd_ = 0;
    matrix<Scalar> acc_;
};

}  // namespace optim
}  // namespace bloom
