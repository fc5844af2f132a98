// Activations as values: each maps to its tape op, identity adds no node.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <bloom/nn/activations.hpp>

namespace ad = bloom::ad;
namespace nn = bloom::nn;

TEST_CASE("activate applies the named function", "[nn][activations]") {
    ad::tape<double> t;
    bloom::matrix<double> x(1, 3);
    x << -2.0, 0.5, 3.0;
    const ad::var v = t.constant(x);
    CHECK(nn::activate(t, v, nn::activation::identity) == v);
    CHECK(t.size() == 1);
    CHECK(t.value(nn::activate(t, v, nn::activation::relu)) == x.cwiseMax(0.0));
    const auto s = t.value(nn::activate(t, v, nn::activation::sigmoid));
    const auto h = t.value(nn::activate(t, v, nn::activation::tanh));
    for (int j = 0; j < 3; ++j) {
        CHECK(s(0, j) == Approx(1.0 / (1.0 + std::exp(-x(0, j)))));
        CHECK(h(0, j) == Approx(std::tanh(x(0, j))));
    }
    CHECK(std::string(nn::to_string(nn::activation::tanh)) == "tanh");
}
