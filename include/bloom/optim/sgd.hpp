// Stochastic gradient descent, with optional (heavy-ball or Nesterov) momentum and L2 weight decay.
//
// For one scalar w with gradient g, in this order (torch.optim.SGD with dampening 0):
//   g <- g + weight_decay * w
//   with momentum:  b <- momentum * b + g;   g <- nesterov ? g + momentum * b : b
//   w <- w - lr * g
// The velocity b starts at zero, so the first step sets b = g exactly, as PyTorch does.
// Without momentum the optimizer keeps no state at all.
//
// Sparse (lazy) semantics: a row-sparse step updates the listed rows only. An untouched row keeps
// its velocity unchanged and does not move, where dense momentum SGD would keep moving it by
// lr * momentum^s * b. Without momentum and without weight decay, a sparse step is exactly a
// dense step whose gradient is zero outside the listed rows.
#pragma once

#include <cstdint>

#include <bloom/optim/common.hpp>

namespace bloom {
namespace optim {

struct sgd_config {
    double lr = 0.01;            // >= 0
    double momentum = 0.0;       // in [0, 1); 0 disables momentum and its state
    bool nesterov = false;       // Nesterov momentum; needs momentum > 0
    double weight_decay = 0.0;   // >= 0, L2 penalty added to the gradient of touched rows
};

template <class Scalar = float>
class sgd : public detail::optimizer_base<sgd<Scalar>, Scalar, sgd_config> {
    using base = detail::optimizer_base<sgd<Scalar>, Scalar, sgd_config>;
    friend base;

public:
    using config = sgd_config;
    static constexpr const char* name = "sgd";

    explicit sgd(const config& c = config{}) : base(c) { cache(); }
    // Binds to a rows x cols parameter and allocates the velocity now.
    sgd(const config& c, Eigen::Index rows, Eigen::Index cols) : sgd(c) {
        this->allocate(rows, cols);
    }

    // The momentum buffer, of the parameter's shape (empty without momentum or before the first
    // step).
    const matrix<Scalar>& velocity() const noexcept { return vel_; }

private:
    using base::cfg_;

    static void validate(const config& c) {
        detail::require_unit(name, "momentum", c.momentum);
        detail::require_nonnegative(name, "weight_decay", c.weight_decay);
        if (c.nesterov && !(c.momentum > 0.0))
            ::bloom::detail::throw_invalid("sgd: nesterov needs momentum > 0, got momentum " +
                                           detail::number_string(c.momentum));
    }

    template <class A>
    static void archive_config(A& a, config& c) {
        a.value("lr", c.lr);
        a.value("momentum", c.momentum);
        a.value("nesterov", c.nesterov);
        a.value("weight_decay", c.weight_decay);
    }
    template <class A>
    void archive_state(A& a) {
        this->archive_state_matrix(a, "velocity", vel_, has_momentum_);
    }

    void cache() noexcept {
        lr_ = static_cast<Scalar>(cfg_.lr);
        mu_ = static_cast<Scalar>(cfg_.momentum);
        wd_ = static_cast<Scalar>(cfg_.weight_decay);
        has_momentum_ = cfg_.momentum > 0.0;
    }

    void allocate_state(Eigen::Index rows, Eigen::Index cols) {
        if (has_momentum_) ::bloom::detail::assign_large(vel_, rows, cols, Scalar(0));
    }
    void clear_state() noexcept { vel_.setZero(); }
    void on_begin_step(std::uint64_t) noexcept {}
    void prefetch_state(Eigen::Index offset) const noexcept {
        if (has_momentum_) this->prefetch_span(vel_.data() + offset);
    }

    void apply(Scalar* wp, const Scalar* gp, Eigen::Index offset, Eigen::Index n) noexcept {
        detail::span<Scalar> w(wp, n);
        const detail::const_span<Scalar> g(gp, n);
        if (!has_momentum_) {
            if (wd_ != Scalar(0))
                w -= lr_ * (g + wd_ * w);
            else
                w -= lr_ * g;
            return;
        }
        detail::span<Scalar> b(vel_.data() + offset, n);
        if (wd_ != Scalar(0))
            b = mu_ * b + (g + wd_ * w);
        else
            b = mu_ * b + g;
        if (cfg_.nesterov) {
            if (wd_ != Scalar(0))
                w -= lr_ * ((g + wd_ * w) + mu_ * b);
            else
                w -= lr_ * (g + mu_ * b);
        } else {
            w -= lr_ * b;
        }
    }

    Scalar lr_ = 0, mu_ = 0, wd_ = 0;
    bool has_momentum_ = false;
    matrix<Scalar> vel_;
};

}  // namespace optim
}  // namespace bloom
