// Activation functions as a value (for the MLP builder), applied through the tape's ops.
#pragma once

#include <cstdint>

#include <bloom/ad/ops.hpp>
#include <bloom/ad/tape.hpp>

namespace bloom {
namespace nn {

enum class activation : std::uint8_t { identity, relu, sigmoid, tanh };

inline const char* to_string(activation a) noexcept {
    switch (a) {
        case activation::identity: return "identity";
        case activation::relu: return "relu";
        case activation::sigmoid: return "sigmoid";
        case activation::tanh: return "tanh";
    }
    return "?";
}

// f(x) on the tape; identity returns x itself (no node).
template <class S>
ad::var activate(ad::tape<S>& t, ad::var x, activation a) {
    switch (a) {
        case activation::relu: return ad::relu(t, x);
        case activation::sigmoid: return ad::sigmoid(t, x);
        case activation::tanh: return ad::tanh(t, x);
        case activation::identity: break;
    }
    return x;
}

}  // namespace nn
}  // namespace bloom
