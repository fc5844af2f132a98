// The linear layer: y = x W + b, its parameters and gradients.
#include <catch2/catch.hpp>

#include <random>

#include <bloom/ad/gradient_check.hpp>
#include <bloom/error.hpp>
#include <bloom/nn/linear.hpp>

namespace ad = bloom::ad;
namespace nn = bloom::nn;
using dmat = bloom::matrix<double>;

TEST_CASE("linear computes x W + b and checks its gradient", "[nn][linear]") {
    std::mt19937_64 rng(1);
    nn::linear<double> layer(4, 3, rng);
    CHECK(layer.in() == 4);
    CHECK(layer.out() == 3);
    CHECK(layer.bias().value().isZero());
    CHECK_FALSE(layer.weight().value().isZero());
    layer.bias().value() << 0.5, -1.0, 2.0;
    const dmat x = dmat::Random(5, 4);
    ad::tape<double> t;
    const dmat y = t.value(layer(t, t.constant(x)));
    CHECK(y.isApprox((x * layer.weight().value()).rowwise() +
                     layer.bias().value().row(0)));

    const dmat c = dmat::Random(5, 3);
    const auto res = ad::check_gradients(
        [&](ad::tape<double>& tt) {
            return ad::sum(tt, ad::mul(tt, layer(tt, tt.constant(x)), tt.constant(c)));
        },
        {&layer.weight(), &layer.bias()}, {});
    INFO(res.message);
    CHECK(res.ok);

    nn::linear<double> no_bias(4, 2, rng, nn::init::scheme::he_normal, false);
    std::vector<ad::parameter<double>*> ps;
    no_bias.collect(ps);
    CHECK(ps.size() == 1);
    CHECK(t.value(no_bias(t, t.constant(x))).isApprox(x * no_bias.weight().value()));
    CHECK_THROWS_AS(nn::linear<double>(0, 3, rng), bloom::invalid_argument);
}
