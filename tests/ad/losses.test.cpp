// Losses: finite-difference gradient checks on random shapes, known values, and stability at
// extreme logits.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <bloom/ad/gradient_check.hpp>
#include <bloom/ad/losses.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/error.hpp>

#include "ad_test_util.hpp"

namespace ad = bloom::ad;
using ad_test::dmat;
using ad_test::engine;

namespace {

// Multi-hot targets with at least one positive per row except row `empty_row` (-1: none).
dmat multi_hot(engine& rng, int r, int c, int empty_row = -1) {
    dmat y = dmat::Zero(r, c);
    for (int i = 0; i < r; ++i) {
        if (i == empty_row) continue;
        y(i, static_cast<int>(rng() % static_cast<std::uint64_t>(c))) = 1.0;
        for (int j = 0; j < c; ++j)
            if (rng() % 3 == 0) y(i, j) = 1.0;
    }
    return y;
}

template <class Loss>
void check_pair_loss(const char* name, Loss&& loss, bool avoid_kink) {
    for (int trial = 0; trial < 5; ++trial) {
        engine rng(500 + static_cast<std::uint64_t>(trial));
        const int r = ad_test::uniform_int(rng, 1, 6), c = ad_test::uniform_int(rng, 1, 3);
        dmat pos = ad_test::random_matrix(rng, r, c, -3, 3);
        dmat neg = ad_test::random_matrix(rng, r, c, -3, 3);
        if (avoid_kink)  // keep neg - pos + 1 away from 0 for the hinge
            for (Eigen::Index i = 0; i < pos.size(); ++i)
                if (std::abs(neg.data()[i] - pos.data()[i] + 1.0) < 0.05) neg.data()[i] += 0.2;
        ad::parameter<double> p(pos), n(neg);
        const auto res = ad::check_gradients(
            [&](ad::tape<double>& t) { return loss(t, t.param(p), t.param(n)); }, {&p, &n}, {});
        INFO(name << " trial " << trial << ": " << res.message);
        CHECK(res.ok);
    }
}

}  // namespace

TEST_CASE("softmax cross-entropy with soft multi-hot targets: gradient", "[ad][losses]") {
    for (int trial = 0; trial < 6; ++trial) {
        engine rng(600 + static_cast<std::uint64_t>(trial));
        const int r = ad_test::uniform_int(rng, 1, 5), c = ad_test::uniform_int(rng, 2, 8);
        ad::parameter<double> z(ad_test::random_matrix(rng, r, c, -4, 4));
        // Unnormalised targets (weights 1..3) and, from the second trial on, an empty row.
        dmat y = multi_hot(rng, r, c, trial > 0 ? r - 1 : -1);
        for (Eigen::Index i = 0; i < y.size(); ++i)
            if (y.data()[i] != 0.0) y.data()[i] = static_cast<double>(1 + rng() % 3);
        const auto res = ad::check_gradients(
            [&](ad::tape<double>& t) { return ad::softmax_cross_entropy(t, t.param(z), y); },
            {&z}, {});
        INFO("trial " << trial << ": " << res.message);
        CHECK(res.ok);
    }
}

TEST_CASE("softmax cross-entropy: CSR targets equal dense targets", "[ad][losses]") {
    engine rng(61);
    const int r = 4, c = 7;
    const dmat z = ad_test::random_matrix(rng, r, c, -3, 3);
    // Row 0: {1, 5}; row 1: {2, 2} (a repeat counts twice) with values; row 2 empty; row 3: {6}.
    const std::vector<std::uint32_t> off{0, 2, 4, 4, 5};
    const std::vector<std::uint32_t> pos{1, 5, 2, 2, 6};
    const std::vector<double> val{1.0, 1.0, 0.5, 1.5, 2.0};
    dmat y = dmat::Zero(r, c);
    y(0, 1) = 1;
    y(0, 5) = 1;
    y(1, 2) = 2.0;
    y(3, 6) = 2.0;
    ad::parameter<double> pz(z);
    ad::tape<double> t;
    const double dense = t.item(ad::softmax_cross_entropy(t, t.param(pz), y));
    const double sparse =
        t.item(ad::softmax_cross_entropy(t, t.param(pz), ad::make_csr(off, pos, val)));
    CHECK(sparse == Approx(dense));
    const auto res = ad::check_gradients(
        [&](ad::tape<double>& tt) {
            return ad::softmax_cross_entropy(tt, tt.param(pz), ad::make_csr(off, pos, val));
        },
        {&pz}, {});
    INFO(res.message);
    CHECK(res.ok);
    CHECK_THROWS_AS(ad::softmax_cross_entropy(t, t.param(pz), ad::make_csr<double>(off, {1, 5, 2, 2, 7})),
                    bloom::out_of_range);
    CHECK_THROWS_AS(ad::softmax_cross_entropy(t, t.param(pz), dmat(dmat::Zero(3, 7))),
                    bloom::invalid_argument);
}

TEST_CASE("softmax cross-entropy: known values and stability", "[ad][losses]") {
    ad::tape<double> t;
    // Uniform logits: -log(1/m) whatever the target.
    const dmat z = dmat::Zero(2, 8);
    dmat y = dmat::Zero(2, 8);
    y(0, 3) = 1;
    y(1, 0) = y(1, 7) = 1;
    CHECK(t.item(ad::softmax_cross_entropy(t, t.constant(z), y)) == Approx(std::log(8.0)));
    // Huge logits: finite, and the confident correct answer costs ~0.
    dmat big(1, 3);
    big << 1e4, -1e4, 0;
    dmat hot = dmat::Zero(1, 3);
    hot(0, 0) = 1;
    const double l = t.item(ad::softmax_cross_entropy(t, t.constant(big), hot));
    CHECK(std::isfinite(l));
    CHECK(l == Approx(0.0).margin(1e-12));
    hot(0, 0) = 0;
    hot(0, 1) = 1;
    CHECK(t.item(ad::softmax_cross_entropy(t, t.constant(big), hot)) == Approx(2e4));
    // Float too.
    ad::tape<float> tf;
    bloom::matrix<float> bf(1, 2);
    bf << 1e5f, -1e5f;
    bloom::matrix<float> yf(1, 2);
    yf << 0.5f, 0.5f;
    CHECK(std::isfinite(tf.item(ad::softmax_cross_entropy(tf, tf.constant(bf), yf))));
}

TEST_CASE("sigmoid binary cross-entropy with logits", "[ad][losses]") {
    for (int trial = 0; trial < 5; ++trial) {
        engine rng(700 + static_cast<std::uint64_t>(trial));
        const int r = ad_test::uniform_int(rng, 1, 5), c = ad_test::uniform_int(rng, 1, 6);
        ad::parameter<double> z(ad_test::random_matrix(rng, r, c, -6, 6));
        const dmat y = ad_test::random_matrix(rng, r, c, 0, 1);  // soft targets in [0, 1]
        const auto res = ad::check_gradients(
            [&](ad::tape<double>& t) { return ad::sigmoid_bce_with_logits(t, t.param(z), y); },
            {&z}, {});
        INFO("trial " << trial << ": " << res.message);
        CHECK(res.ok);
    }
    ad::tape<double> t;
    dmat z(1, 4), y(1, 4);
    z << 0, 800, -800, 2;
    y << 1, 1, 1, 0;
    // log 2; ~0; 800 (not inf); log(1 + e^2).
    const double want = (std::log(2.0) + 0.0 + 800.0 + std::log1p(std::exp(2.0))) / 4.0;
    CHECK(t.item(ad::sigmoid_bce_with_logits(t, t.constant(z), y)) == Approx(want));
    CHECK_THROWS_AS(ad::sigmoid_bce_with_logits(t, t.constant(z), dmat(dmat::Zero(4, 1))),
                    bloom::invalid_argument);
}

TEST_CASE("ranking losses: gradients", "[ad][losses]") {
    check_pair_loss("bpr", [](ad::tape<double>& t, ad::var p, ad::var n) { return ad::bpr(t, p, n); },
                    false);
    check_pair_loss("bpr_log",
                    [](ad::tape<double>& t, ad::var p, ad::var n) { return ad::bpr_log(t, p, n); },
                    false);
    check_pair_loss(
        "pointwise", [](ad::tape<double>& t, ad::var p, ad::var n) { return ad::pointwise(t, p, n); },
        false);
    check_pair_loss("hinge",
                    [](ad::tape<double>& t, ad::var p, ad::var n) { return ad::hinge(t, p, n); },
                    true);
    for (int trial = 0; trial < 5; ++trial) {
        engine rng(800 + static_cast<std::uint64_t>(trial));
        const int r = ad_test::uniform_int(rng, 1, 6), kneg = ad_test::uniform_int(rng, 1, 5);
        dmat pos = ad_test::random_matrix(rng, r, 1, -2, 2);
        dmat neg = ad_test::random_matrix(rng, r, kneg, -2, 2);
        for (int i = 0; i < r; ++i)  // keep the active hinge away from its kink
            if (std::abs(neg.row(i).maxCoeff() - pos(i, 0) + 1.0) < 0.05) pos(i, 0) += 0.2;
        ad::parameter<double> p(pos), n(neg);
        const auto res = ad::check_gradients(
            [&](ad::tape<double>& t) { return ad::adaptive_hinge(t, t.param(p), t.param(n)); },
            {&p, &n}, {});
        INFO("adaptive_hinge trial " << trial << ": " << res.message);
        CHECK(res.ok);
    }
}

TEST_CASE("ranking losses: values", "[ad][losses]") {
    ad::tape<double> t;
    dmat p(2, 1), n(2, 1);
    p << 2.0, -1.0;
    n << 0.5, 3.0;
    const ad::var vp = t.constant(p), vn = t.constant(n);
    auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    CHECK(t.item(ad::bpr(t, vp, vn)) == Approx(((1 - sig(1.5)) + (1 - sig(-4.0))) / 2));
    CHECK(t.item(ad::bpr_log(t, vp, vn)) ==
          Approx((-std::log(sig(1.5)) - std::log(sig(-4.0))) / 2));
    CHECK(t.item(ad::pointwise(t, vp, vn)) ==
          Approx(((1 - sig(2.0)) + sig(0.5) + (1 - sig(-1.0)) + sig(3.0)) / 2));
    CHECK(t.item(ad::hinge(t, vp, vn)) == Approx((0.0 + 5.0) / 2));
    CHECK(t.item(ad::hinge(t, vp, vn, 2.0)) == Approx((0.5 + 6.0) / 2));
    dmat many(2, 3);
    many << 0.5, 2.5, -1.0, -3.0, -2.0, -4.0;
    CHECK(t.item(ad::adaptive_hinge(t, vp, t.constant(many))) == Approx((1.5 + 0.0) / 2));
    // The log form stays finite where 1 - sigmoid saturates.
    dmat far(1, 1), zero(1, 1);
    far << -1000.0;
    zero << 0.0;
    CHECK(t.item(ad::bpr_log(t, t.constant(far), t.constant(zero))) == Approx(1000.0));
    CHECK_THROWS_AS(ad::bpr(t, vp, t.constant(many)), bloom::invalid_argument);
    CHECK_THROWS_AS(ad::adaptive_hinge(t, t.constant(many), vp), bloom::invalid_argument);
}
