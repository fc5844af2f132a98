#include <cmath>

#include <catch2/catch.hpp>

#include <bloom/optim/adam.hpp>

#include "optim_test_util.hpp"

using namespace optim_test;
using bloom::optim::adam;
using bloom::optim::adam_config;
using Catch::Matchers::Contains;

namespace {
adam_config base() {
    adam_config c;
    c.lr = 0.1;
    return c;
}
adam_config decayed() {
    adam_config c = base();
    c.weight_decay = 0.05;
    return c;
}
// The Adam update of one scalar in double, written from the paper's formulas with m-hat and
// v-hat (the optimizer folds the corrections differently; the results agree to rounding).
struct scalar_adam {
    double lr, b1, b2, eps, wd;
    double w, m = 0, v = 0;
    void step(double g, int t) {
        g += wd * w;
        m = b1 * m + (1 - b1) * g;
        v = b2 * v + (1 - b2) * g * g;
        const double mh = m / (1 - std::pow(b1, t));
        const double vh = v / (1 - std::pow(b2, t));
        w -= lr * mh / (std::sqrt(vh) + eps);
    }
};
}  // namespace

TEMPLATE_TEST_CASE("adam: two steps, by hand", "[optim][adam]", float, double) {
    using S = TestType;
    // lr 0.1, betas 0.9 / 0.999, eps 1e-8, w0 = 1, gradients 0.5 then -1.
    // Step 1: m = 0.05, v = 0.00025, m-hat = 0.5, v-hat = 0.25,
    //         w = 1 - 0.1 * 0.5 / (0.5 + 1e-8)                       = 0.900000002
    // Step 2: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975,
    //         m-hat = -0.055 / 0.19, v-hat = 0.00124975 / 0.001999,
    //         w = 0.900000002 + 0.1 * 0.289473684 / 0.790688038       = 0.936610354
    adam<S> opt(base());
    bloom::matrix<S> w = bloom::matrix<S>::Ones(1, 1);
    opt.step(w, bloom::matrix<S>::Constant(1, 1, S(0.5)));
    CHECK(static_cast<double>(opt.first_moment()(0, 0)) == Approx(0.05));
    CHECK(static_cast<double>(opt.second_moment()(0, 0)) == Approx(0.00025));
    CHECK(static_cast<double>(w(0, 0)) == Approx(0.900000002).epsilon(1e-7));
    opt.step(w, bloom::matrix<S>::Constant(1, 1, S(-1)));
    CHECK(static_cast<double>(opt.first_moment()(0, 0)) == Approx(-0.055));
    CHECK(static_cast<double>(opt.second_moment()(0, 0)) == Approx(0.00124975));
    CHECK(static_cast<double>(w(0, 0)) == Approx(0.9366103542405654).epsilon(1e-6));
    if (std::is_same<S, double>::value)
        CHECK(static_cast<double>(w(0, 0)) == Approx(0.9366103542405654).epsilon(1e-13));
}

TEMPLATE_TEST_CASE("adam: weight decay, by hand", "[optim][adam]", float, double) {
    using S = TestType;
    // wd 0.1, w0 = 2, gradients 0.5 then -1: g' = 0.7, then -1 + 0.1 * 1.9000000014 = -0.81.
    adam_config c = base();
    c.weight_decay = 0.1;
    adam<S> opt(c);
    bloom::matrix<S> w = bloom::matrix<S>::Constant(1, 1, S(2));
    opt.step(w, bloom::matrix<S>::Constant(1, 1, S(0.5)));
    CHECK(static_cast<double>(opt.first_moment()(0, 0)) == Approx(0.07));
    CHECK(static_cast<double>(w(0, 0)) == Approx(1.9000000014285714).epsilon(1e-7));
    opt.step(w, bloom::matrix<S>::Constant(1, 1, S(-1)));
    CHECK(static_cast<double>(opt.second_moment()(0, 0)) == Approx(0.0011456099997685723));
    CHECK(static_cast<double>(w(0, 0)) == Approx(1.91251431108991).epsilon(1e-6));
    check_weight_decay_touched_only<adam<S>>(base());
}

TEST_CASE("adam: lazy moments and the global step count", "[optim][adam]") {
    // Row 0 is touched at steps 1, 3 and 6 only, row 1 at every step. Row 0's moments skip the
    // steps it misses (no decay), and each update uses the global t for bias correction.
    adam_config c = base();
    c.weight_decay = 0.01;
    adam<double> opt(c);
    bloom::matrix<double> w(2, 1);
    w << 1.0, -1.0;
    scalar_adam r0{c.lr, c.beta1, c.beta2, c.eps, c.weight_decay, 1.0};
    scalar_adam r1{c.lr, c.beta1, c.beta2, c.eps, c.weight_decay, -1.0};
    const double g0[] = {0.3, 0, -0.7, 0, 0, 0.2};
    for (int t = 1; t <= 6; ++t) {
        const bool touch0 = t == 1 || t == 3 || t == 6;
        bloom::row_sparse<double> g;
        if (touch0) g.rows.push_back(0);
        g.rows.push_back(1);
        g.values.resize(static_cast<Index>(g.rows.size()), 1);
        if (touch0) g.values(0, 0) = g0[t - 1];
        g.values(g.values.rows() - 1, 0) = 0.1 * t;
        opt.step(w, g);
        if (touch0) r0.step(g0[t - 1], t);
        r1.step(0.1 * t, t);
        INFO("step " << t);
        CHECK(w(0, 0) == Approx(r0.w).epsilon(1e-12));
        CHECK(opt.first_moment()(0, 0) == Approx(r0.m).epsilon(1e-12));
        CHECK(opt.second_moment()(0, 0) == Approx(r0.v).epsilon(1e-12));
        CHECK(w(1, 0) == Approx(r1.w).epsilon(1e-12));
    }
    CHECK(opt.steps() == 6);
}

TEMPLATE_TEST_CASE("adam: lazy differs from dense on rows with stale momentum", "[optim][adam]",
                   float, double) {
    using S = TestType;
    // Dense Adam keeps moving a row whose gradient is zero now but had momentum; lazy Adam does
    // not. On a row never touched the two agree (m = v = 0 moves nothing).
    bloom::matrix<S> lazy = bloom::matrix<S>::Ones(3, 2), dense = lazy;
    adam<S> a(base()), b(base());
    bloom::row_sparse<S> first, second;
    first.rows = {0};
    first.values = bloom::matrix<S>::Ones(1, 2);
    second.rows = {1};
    second.values = bloom::matrix<S>::Ones(1, 2);
    a.step(lazy, first);
    b.step(dense, to_dense(first, 3));
    CHECK(same_bits(lazy, dense));
    const bloom::matrix<S> after_first = lazy;
    a.step(lazy, second);
    b.step(dense, to_dense(second, 3));
    CHECK(row_same_bits(lazy, after_first, 0));              // lazy: row 0 stays
    CHECK((dense.row(0).array() < lazy.row(0).array()).all());  // dense: row 0 keeps moving
    CHECK(row_same_bits(lazy, dense, 1));                    // row 1 first touched now: equal
    CHECK(row_same_bits(lazy, dense, 2));                    // row 2 never touched: equal
}

TEMPLATE_TEST_CASE("adam: untouched rows are bit-for-bit unchanged", "[optim][adam]", float,
                   double) {
    using S = TestType;
    check_untouched_rows_unchanged<adam<S>>(base());
    check_untouched_rows_unchanged<adam<S>>(decayed());
    check_untouched_rows_not_read<adam<S>>(decayed());
}

TEMPLATE_TEST_CASE("adam: full sparse steps equal dense steps, update_row equals step, update_rows equals update_row",
                   "[optim][adam]", float, double) {
    using S = TestType;
    for (const auto& c : {base(), decayed()}) {
        check_full_sparse_equals_dense<adam<S>>(c);
        check_update_row_equals_sparse_step<adam<S>>(c);
        check_update_rows_equals_update_row<adam<S>>(c);
        check_update_range_equals_update_rows<adam<S>>(c);
    }
}

TEMPLATE_TEST_CASE("adam: dense blocks of a large parameter", "[optim][adam]", float, double) {
    using S = TestType;
    // 3 x 1500 = 4500 scalars: the dense form walks it in blocks; every scalar must take exactly
    // one update, as the per-row form gives.
    const bloom::matrix<S> start = random_matrix<S>(3, 1500, 40);
    bloom::matrix<S> dense = start, rows = start;
    adam<S> a(decayed()), b(decayed());
    const bloom::matrix<S> g = random_matrix<S>(3, 1500, 41);
    a.step(dense, g);
    b.begin_step();
    for (std::uint32_t r = 0; r < 3; ++r) b.update_row(rows, r, g.data() + r * 1500);
    CHECK(same_bits(dense, rows));
    CHECK(same_state(a, b));
}

TEMPLATE_TEST_CASE("adam: errors", "[optim][adam]", float, double) {
    using S = TestType;
    check_errors<adam<S>>(decayed());
}

TEST_CASE("adam: invalid configurations", "[optim][adam]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto bad = [](adam_config c) { return [c] { adam<float> o(c); }; };
    adam_config c;
    c.lr = -0.001;
    REQUIRE_THROWS_AS(bad(c)(), bloom::invalid_argument);
    REQUIRE_THROWS_WITH(bad(c)(), Contains("adam: lr must be finite and >= 0, got -0.001"));
    c = adam_config{};
    c.beta1 = 1.0;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("adam: beta1 must be in [0, 1), got 1"));
    c.beta1 = nan;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("beta1") && Contains("nan"));
    c = adam_config{};
    c.beta2 = -0.5;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("beta2") && Contains("-0.5"));
    c = adam_config{};
    c.eps = 0;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("adam: eps must be finite and > 0, got 0"));
    c.eps = 1e-60;  // positive in double, 0 in float
    REQUIRE_THROWS_WITH(bad(c)(), Contains("eps") && Contains("positive Scalar"));
    REQUIRE_NOTHROW(adam<double>(c));
    c = adam_config{};
    c.weight_decay = -0.01;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("weight_decay"));
    c.weight_decay = std::numeric_limits<double>::infinity();
    REQUIRE_THROWS_WITH(bad(c)(), Contains("weight_decay") && Contains("inf"));
}

TEMPLATE_TEST_CASE("adam: lifecycle", "[optim][adam]", float, double) {
    using S = TestType;
    check_lifecycle<adam<S>>(decayed());
    adam<S> opt(base(), 5, 2);
    CHECK(opt.first_moment().rows() == 5);
    CHECK(opt.second_moment().cols() == 2);
    // after reset the next step is step 1 again: bias correction restarts
    bloom::matrix<S> w = bloom::matrix<S>::Ones(5, 2), w2 = w;
    const bloom::matrix<S> g = random_matrix<S>(5, 2, 42);
    opt.step(w, g);
    opt.step(w, g);
    opt.reset();
    w = w2;
    opt.step(w, g);
    adam<S> fresh(base());
    fresh.step(w2, g);
    CHECK(same_bits(w, w2));
    CHECK(same_state(opt, fresh));
}

TEMPLATE_TEST_CASE("adam: set_lr applies from the current step", "[optim][adam]", float, double) {
    using S = TestType;
    // Changing lr after begin_step() must refresh that step's coefficients: both orders agree.
    bloom::matrix<S> w1 = bloom::matrix<S>::Ones(2, 2), w2 = w1;
    adam<S> a(base()), b(base());
    const bloom::matrix<S> g = random_matrix<S>(2, 2, 43);
    a.step(w1, g);
    b.step(w2, g);
    a.begin_step();
    a.set_lr(0.05);
    b.set_lr(0.05);
    b.begin_step();
    const bloom::matrix<S> before = w1;
    a.update_row(w1, 0, g.data());
    b.update_row(w2, 0, g.data());
    CHECK_FALSE(row_same_bits(w1, before, 0));
    CHECK(same_bits(w1, w2));
    CHECK(a.settings().lr == 0.05);
}

TEMPLATE_TEST_CASE("adam: converges on a small quadratic", "[optim][adam]", float, double) {
    using S = TestType;
    adam_config c = base();
    c.lr = 0.05;
    CHECK(quadratic_ratio<adam<S>>(c, 1000, false) < 1e-6);
    CHECK(quadratic_ratio<adam<S>>(c, 2000, true) < 1e-6);
}

// The snippet of docs/optimizers.md, kept compiling and running here.
TEST_CASE("adam: the docs example", "[optim][adam][docs]") {
    bloom::matrix<float> table = bloom::matrix<float>::Zero(1000, 64);
    bloom::optim::adam_config cfg;
    cfg.lr = 0.01;
    bloom::optim::adam<float> opt(cfg);             // state allocated at the first step

    bloom::row_sparse<float> grad;                  // what an embedding's backward yields
    grad.rows = {3, 17, 512};                       // sorted, unique
    grad.values = bloom::matrix<float>::Ones(3, 64);
    opt.step(table, grad);                          // rows 3, 17 and 512 move; no other row

    // The same step, for a model that walks its touched rows itself:
    opt.begin_step();
    for (std::size_t i = 0; i < grad.rows.size(); ++i)
        opt.update_row(table, grad.rows[i], grad.values.row(static_cast<Eigen::Index>(i)).data());

    CHECK(opt.steps() == 2);
    CHECK(table(17, 0) < 0.0f);
    CHECK(table(18, 0) == 0.0f);
}
