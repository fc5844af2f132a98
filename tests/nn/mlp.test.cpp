// The MLP builder, and a small MLP learning a non-linear task (XOR of the signs) with a plain SGD
// written here (the optimizers live elsewhere).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <bloom/ad/losses.hpp>
#include <bloom/error.hpp>
#include <bloom/nn/mlp.hpp>

namespace ad = bloom::ad;
namespace nn = bloom::nn;
using fmat = bloom::matrix<float>;

namespace {

// n points uniform in [-1, 1]^2, label 1 when both coordinates have the same sign.
void xor_data(std::uint64_t seed, int n, fmat& x, fmat& y) {
    std::mt19937_64 rng(seed);
    x.resize(n, 2);
    y.resize(n, 1);
    for (int i = 0; i < n; ++i) {
        x(i, 0) = static_cast<float>(2.0 * ad::detail::uniform01(rng) - 1.0);
        x(i, 1) = static_cast<float>(2.0 * ad::detail::uniform01(rng) - 1.0);
        y(i, 0) = (x(i, 0) > 0) == (x(i, 1) > 0) ? 1.0f : 0.0f;
    }
}

struct fit_result {
    float first_loss, final_loss, accuracy;
};

fit_result fit(nn::mlp<float>& net, const fmat& x, const fmat& y, int steps, float lr) {
    ad::tape<float> t;
    fit_result r{0, 0, 0};
    for (int s = 0; s < steps; ++s) {
        t.clear();
        const ad::var logits = net(t, t.constant(x));
        const ad::var loss = ad::sigmoid_bce_with_logits(t, logits, y);
        t.backward(loss);
        if (s == 0) r.first_loss = t.item(loss);
        for (ad::parameter<float>* p : net.parameters()) p->value() -= lr * p->grad();  // SGD
        net.zero_grad();
    }
    t.clear();
    const fmat z = t.value(net(t, t.constant(x)));
    r.final_loss = t.item(ad::sigmoid_bce_with_logits(t, t.constant(z), y));
    int right = 0;
    for (Eigen::Index i = 0; i < z.rows(); ++i) right += (z(i, 0) > 0) == (y(i, 0) > 0.5f);
    r.accuracy = static_cast<float>(right) / static_cast<float>(z.rows());
    return r;
}

}  // namespace

TEST_CASE("mlp builder: layer shapes, initialisers, parameters", "[nn][mlp]") {
    std::mt19937_64 rng(1);
    auto net = nn::mlp<float>::builder(6)
                   .dense(5, nn::activation::relu)
                   .dropout(0.5)
                   .dense(4, nn::activation::tanh, nn::init::scheme::xavier_normal)
                   .dense(3)
                   .build(rng);
    CHECK(net.depth() == 3);
    CHECK(net.inputs() == 6);
    CHECK(net.outputs() == 3);
    CHECK(net.layer(1).weight().rows() == 5);
    CHECK(net.layer(1).weight().cols() == 4);
    CHECK(net.spec(0).dropout == 0.5);
    // He uniform bound for the relu layer: sqrt(6 / 6) = 1.
    CHECK(net.layer(0).weight().value().cwiseAbs().maxCoeff() <= 1.0f);
    CHECK(net.parameters().size() == 6);

    ad::tape<float> t;
    const fmat x = fmat::Random(8, 6);
    const ad::var in = t.constant(x);
    const fmat eval1 = t.value(net(t, in));
    std::mt19937_64 drop(5);
    const fmat eval2 = t.value(net(t, in, drop, false));
    const fmat train = t.value(net(t, in, drop, true));
    CHECK(eval1 == eval2);  // no dropout at evaluation
    CHECK(eval1 != train);

    CHECK_THROWS_AS(nn::mlp<float>::builder(0), bloom::invalid_argument);
    CHECK_THROWS_AS(nn::mlp<float>::builder(3).build(rng), bloom::invalid_argument);
    CHECK_THROWS_AS(nn::mlp<float>::builder(3).dropout(0.1), bloom::invalid_argument);
    CHECK_THROWS_AS(nn::mlp<float>::builder(3).dense(2).dropout(1.0), bloom::invalid_argument);
}

TEST_CASE("a small MLP learns XOR of signs, and a linear model cannot", "[nn][mlp]") {
    fmat x, y;
    xor_data(11, 256, x, y);
    std::mt19937_64 rng(2);
    auto net = nn::mlp<float>::builder(2).dense(32, nn::activation::relu).dense(1).build(rng);
    const fit_result r = fit(net, x, y, 1500, 0.5f);
    INFO("mlp: first loss " << r.first_loss << ", final " << r.final_loss << ", accuracy "
                            << r.accuracy);
    CHECK(r.first_loss > 0.6f);
    CHECK(r.final_loss < 0.1f);  // the stated target
    CHECK(r.accuracy > 0.97f);

    auto lin = nn::mlp<float>::builder(2).dense(1).build(rng);
    const fit_result l = fit(lin, x, y, 1500, 0.5f);
    INFO("linear: final " << l.final_loss << ", accuracy " << l.accuracy);
    CHECK(l.final_loss > 0.6f);  // ~log 2: no linear separation
}
