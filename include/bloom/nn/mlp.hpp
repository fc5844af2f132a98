// A small multilayer perceptron built from linear layers and activations:
//
//   std::mt19937_64 rng(42);
//   auto net = bloom::nn::mlp<float>::builder(256)           // input width
//                  .dense(256, bloom::nn::activation::relu)
//                  .dropout(0.2)                              // after the layer just added
//                  .dense(m)                                  // linear output (logits)
//                  .build(rng);
//   bloom::ad::var logits = net(tape, x);                     // evaluation (no dropout)
//   bloom::ad::var train = net(tape, x, rng, true);           // training (dropout drawn)
//
// Weights default to He initialisation before a relu and Xavier otherwise; biases start at 0.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <bloom/ad/ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/error.hpp>
#include <bloom/nn/activations.hpp>
#include <bloom/nn/init.hpp>
#include <bloom/nn/linear.hpp>

namespace bloom {
namespace nn {

template <class S = float>
class mlp {
public:
    struct layer_spec {
        Eigen::Index units = 0;
        activation act = activation::identity;
        double dropout = 0.0;  // applied to this layer's output when training
        bool auto_init = true;
        init::scheme weights = init::scheme::xavier_uniform;
    };

    class builder {
    public:
        explicit builder(Eigen::Index inputs) : inputs_(inputs) {
            if (inputs <= 0)
                ::bloom::detail::throw_invalid("mlp::builder: inputs must be >= 1, got " +
                                               std::to_string(inputs));
        }
        // Adds a linear layer of `units` outputs followed by `act`.
        builder& dense(Eigen::Index units, activation act = activation::identity) {
            layer_spec l;
            l.units = units;
            l.act = act;
            specs_.push_back(l);
            return *this;
        }
        // As dense(), with an explicit weight initialiser.
        builder& dense(Eigen::Index units, activation act, init::scheme weights) {
            dense(units, act);
            specs_.back().auto_init = false;
            specs_.back().weights = weights;
            return *this;
        }
        // Dropout with rate p on the output of the layer added last.
        builder& dropout(double p) {
            if (specs_.empty())
                ::bloom::detail::throw_invalid("mlp::builder: dropout() needs a layer before it");
            if (!(p >= 0.0 && p < 1.0))
                ::bloom::detail::throw_invalid("mlp::builder: dropout rate must be in [0, 1), got " +
                                               std::to_string(p));
            specs_.back().dropout = p;
            return *this;
        }
        template <class Engine>
        mlp build(Engine& rng) const {
            if (specs_.empty())
                ::bloom::detail::throw_invalid("mlp::builder: no layers (call dense() first)");
            return mlp(inputs_, specs_, rng);
        }

    private:
        Eigen::Index inputs_;
        std::vector<layer_spec> specs_;
    };

    Eigen::Index inputs() const noexcept { return layers_.front().in(); }
    Eigen::Index outputs() const noexcept { return layers_.back().out(); }
    std::size_t depth() const noexcept { return layers_.size(); }
    linear<S>& layer(std::size_t i) { return layers_.at(i); }
    const layer_spec& spec(std::size_t i) const { return specs_.at(i); }

    // Evaluation: x (n x inputs) -> n x outputs, no dropout.
    ad::var operator()(ad::tape<S>& t, ad::var x) {
        for (std::size_t i = 0; i < layers_.size(); ++i)
            x = activate(t, layers_[i](t, x), specs_[i].act);
        return x;
    }
    // Training when `training` is true: dropout masks are drawn from rng.
    template <class Engine>
    ad::var operator()(ad::tape<S>& t, ad::var x, Engine& rng, bool training) {
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            x = activate(t, layers_[i](t, x), specs_[i].act);
            if (specs_[i].dropout > 0.0) x = ad::dropout(t, x, specs_[i].dropout, rng, training);
        }
        return x;
    }

    // Every weight and bias, layer by layer.
    std::vector<ad::parameter<S>*> parameters() {
        std::vector<ad::parameter<S>*> out;
        for (auto& l : layers_) l.collect(out);
        return out;
    }
    void zero_grad() {
        for (auto* p : parameters()) p->zero_grad();
    }

private:
    template <class Engine>
    mlp(Eigen::Index inputs, const std::vector<layer_spec>& specs, Engine& rng) : specs_(specs) {
        layers_.reserve(specs.size());
        Eigen::Index in = inputs;
        for (const layer_spec& s : specs) {
            const init::scheme w = s.auto_init ? (s.act == activation::relu
                                                      ? init::scheme::he_uniform
                                                      : init::scheme::xavier_uniform)
                                               : s.weights;
            layers_.emplace_back(in, s.units, rng, w);
            in = s.units;
        }
    }

    std::vector<layer_spec> specs_;
    std::vector<linear<S>> layers_;
};

}  // namespace nn
}  // namespace bloom
