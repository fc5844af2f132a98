// The tape: handles, leaves, one reverse loop, gradient accumulation, storage reuse across clear().
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include <bloom/ad/ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/error.hpp>

#include "ad_test_util.hpp"

namespace ad = bloom::ad;
using ad_test::dmat;
using ad_test::engine;

TEST_CASE("handles are indices in evaluation order", "[ad][tape]") {
    ad::tape<double> t;
    CHECK(t.empty());
    const ad::var a = t.constant(dmat::Ones(2, 2));
    const ad::var b = t.scalar(3.0);
    const ad::var c = ad::relu(t, a);
    CHECK(a.index == 0);
    CHECK(b.index == 1);
    CHECK(c.index == 2);
    CHECK(t.size() == 3);
    CHECK(t.item(b) == 3.0);
    CHECK_THROWS_AS(t.item(a), bloom::invalid_argument);
    CHECK_THROWS_AS(t.value(ad::var{}), bloom::invalid_argument);
    CHECK_THROWS_AS(t.value(ad::var{3}), bloom::invalid_argument);
    CHECK_THROWS_AS(t.push(nullptr, {a, a, a, a}), bloom::invalid_argument);  // 3 inputs at most
    CHECK(t.size() == 3);
    t.clear();
    CHECK(t.empty());
    CHECK_THROWS_AS(t.value(a), bloom::invalid_argument);
}

TEST_CASE("backward: gradients of leaves, constants and parameters", "[ad][tape]") {
    engine rng(1);
    const dmat xv = ad_test::random_matrix(rng, 3, 4);
    const dmat wv = ad_test::random_matrix(rng, 4, 2);
    ad::parameter<double> w(wv);
    ad::tape<double> t;
    const ad::var x = t.variable(xv);
    const ad::var k = t.constant(xv);
    const ad::var pw = t.param(w);
    CHECK(t.needs_grad(x));
    CHECK_FALSE(t.needs_grad(k));
    CHECK(t.needs_grad(pw));
    const ad::var y = ad::matmul(t, x, pw);
    const ad::var z = ad::matmul(t, k, pw);
    CHECK_FALSE(t.needs_grad(ad::relu(t, k)));  // computed from constants only
    const ad::var loss = ad::sum(t, ad::add(t, y, z));
    CHECK(t.value(pw).data() == w.value().data());  // the parameter is read in place
    t.backward(loss);
    // d/dx sum(x w) = 1 w^T; d/dw = x^T 1 + k^T 1.
    CHECK(t.grad(x).isApprox(dmat::Ones(3, 2) * wv.transpose()));
    CHECK(w.grad().isApprox(2.0 * xv.transpose() * dmat::Ones(3, 2)));
    CHECK(t.grad(pw).isApprox(w.grad()));
    CHECK(t.grad(k).isZero());

    // Parameters accumulate over backward passes until zero_grad().
    t.backward(loss);
    CHECK(w.grad().isApprox(4.0 * xv.transpose() * dmat::Ones(3, 2)));
    w.zero_grad();
    CHECK_FALSE(w.has_grad());
    CHECK(w.grad().isZero());
    CHECK(w.grad().rows() == 4);

    CHECK_THROWS_AS(t.backward(y), bloom::invalid_argument);  // not 1x1
    t.backward(y, dmat::Ones(3, 2));                           // with an explicit seed
    CHECK(w.grad().isApprox(xv.transpose() * dmat::Ones(3, 2)));
    CHECK_THROWS_AS(t.backward(y, dmat::Ones(2, 2)), bloom::invalid_argument);
}

TEST_CASE("clear() keeps storage: the same graph reallocates nothing", "[ad][tape]") {
    engine rng(2);
    ad::parameter<float> w(bloom::matrix<float>::Random(8, 5));
    ad::parameter<float> b(bloom::matrix<float>::Random(1, 5));
    const bloom::matrix<float> x = bloom::matrix<float>::Random(6, 8);
    ad::tape<float> t;
    auto step = [&] {
        t.clear();
        const ad::var h = ad::relu(t, ad::add_bias(t, ad::matmul(t, t.constant(x), t.param(w)),
                                                  t.param(b)));
        const ad::var l = ad::mean(t, ad::softmax(t, h));
        t.backward(l);
        return h;
    };
    const ad::var h1 = step();
    const float* value_before = t.value(h1).data();
    const float* grad_before = t.grad(h1).data();
    const float first = t.item(ad::var{h1.index + 2});
    const ad::var h2 = step();
    CHECK(h2 == h1);
    CHECK(t.value(h2).data() == value_before);
    CHECK(t.grad(h2).data() == grad_before);
    CHECK(t.item(ad::var{h2.index + 2}) == first);
}

TEST_CASE("float and double tapes agree", "[ad][tape]") {
    engine rng(3);
    const dmat xd = ad_test::random_matrix(rng, 4, 3);
    const dmat wd = ad_test::random_matrix(rng, 3, 3);
    ad::parameter<double> pd(wd);
    ad::parameter<float> pf(wd.cast<float>());
    ad::tape<double> td;
    ad::tape<float> tf;
    td.backward(ad::mean(td, ad::tanh(td, ad::matmul(td, td.constant(xd), td.param(pd)))));
    tf.backward(ad::mean(tf, ad::tanh(tf, ad::matmul(tf, tf.constant(xd.cast<float>()),
                                                     tf.param(pf)))));
    CHECK(pf.grad().cast<double>().isApprox(pd.grad(), 1e-5));
}
