// A fully connected layer: y = x W + b, with W in x out and b 1 x out.
#pragma once

#include <string>
#include <vector>

#include <bloom/ad/ops.hpp>
#include <bloom/ad/parameter.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/error.hpp>
#include <bloom/nn/init.hpp>

namespace bloom {
namespace nn {

template <class S = float>
class linear {
public:
    using scalar_type = S;

    // in -> out units; W initialised by `weights` (Xavier uniform by default), b to zeros.
    template <class Engine>
    linear(Eigen::Index in, Eigen::Index out, Engine& rng,
           init::scheme weights = init::scheme::xavier_uniform, bool bias = true)
        : w_(checked(in, out), out), b_(1, out), has_bias_(bias) {
        init::apply(weights, w_.value(), rng);
    }

    Eigen::Index in() const noexcept { return w_.rows(); }
    Eigen::Index out() const noexcept { return w_.cols(); }
    bool has_bias() const noexcept { return has_bias_; }

    ad::parameter<S>& weight() noexcept { return w_; }
    const ad::parameter<S>& weight() const noexcept { return w_; }
    ad::parameter<S>& bias() noexcept { return b_; }
    const ad::parameter<S>& bias() const noexcept { return b_; }

    // x: n x in -> n x out.
    ad::var operator()(ad::tape<S>& t, ad::var x) {
        const ad::var y = ad::matmul(t, x, t.param(w_));
        return has_bias_ ? ad::add_bias(t, y, t.param(b_)) : y;
    }

    // Appends this layer's parameters (weight, then bias when it has one).
    void collect(std::vector<ad::parameter<S>*>& out) {
        out.push_back(&w_);
        if (has_bias_) out.push_back(&b_);
    }

private:
    static Eigen::Index checked(Eigen::Index in, Eigen::Index out) {
        if (in <= 0 || out <= 0)
            ::bloom::detail::throw_invalid("linear: sizes must be >= 1, got " +
                                           std::to_string(in) + " -> " + std::to_string(out));
        return in;
    }

    ad::parameter<S> w_;
    ad::parameter<S> b_;
    bool has_bias_;
};

}  // namespace nn
}  // namespace bloom
