#include <catch2/catch.hpp>

#include <bloom/optim/sgd.hpp>

#include "optim_test_util.hpp"

using namespace optim_test;
using bloom::optim::sgd;
using bloom::optim::sgd_config;
using Catch::Matchers::Contains;

namespace {
sgd_config plain() {
    sgd_config c;
    c.lr = 0.1;
    return c;
}
sgd_config heavy_ball() {
    sgd_config c;
    c.lr = 0.05;
    c.momentum = 0.9;
    return c;
}
sgd_config nesterov() {
    sgd_config c = heavy_ball();
    c.nesterov = true;
    return c;
}
}  // namespace

TEMPLATE_TEST_CASE("sgd: a dense step is w - lr * g", "[optim][sgd]", float, double) {
    using S = TestType;
    bloom::matrix<S> w = random_matrix<S>(3, 5, 20);
    const bloom::matrix<S> w0 = w;
    const bloom::matrix<S> g = random_matrix<S>(3, 5, 21);
    sgd<S> opt(plain());
    opt.step(w, g);
    const bloom::matrix<S> expected = w0 - S(0.1) * g;
    CHECK(same_bits(w, expected));
    CHECK(opt.velocity().size() == 0);  // no momentum, no state
}

TEMPLATE_TEST_CASE("sgd: sparse steps equal dense steps with the scattered gradient",
                   "[optim][sgd]", float, double) {
    using S = TestType;
    const Index rows = 50, cols = 9;
    const bloom::matrix<S> start = random_matrix<S>(rows, cols, 22);
    bloom::matrix<S> sparse = start, dense = start;
    sgd<S> a(plain()), b(plain());
    std::vector<bool> touched(rows, false);
    for (std::uint64_t s = 0; s < 8; ++s) {
        const auto g = random_row_sparse<S>(rows, cols, 7, 23 + s);
        for (auto r : g.rows) touched[r] = true;
        a.step(sparse, g);
        b.step(dense, to_dense(g, rows));
    }
    CHECK(same_bits(sparse, dense));  // touched rows equal, bit for bit
    for (Index r = 0; r < rows; ++r) {
        INFO("row " << r);
        if (!touched[static_cast<std::size_t>(r)]) CHECK(row_same_bits(sparse, start, r));
        else CHECK_FALSE(row_same_bits(sparse, start, r));
    }
}

TEMPLATE_TEST_CASE("sgd: momentum, by hand", "[optim][sgd]", float, double) {
    using S = TestType;
    // w0 = 1, lr = 0.1, momentum 0.5, gradients 1, 2, 3:
    //   heavy ball: b = 1, 2.5, 4.25;  w = 0.9, 0.65, 0.225
    //   nesterov:   b = 1, 2.5, 4.25;  step g + 0.5 b = 1.5, 3.25, 5.125;  w = 0.85, 0.525, 0.0125
    sgd_config c;
    c.lr = 0.1;
    c.momentum = 0.5;
    const double heavy_w[] = {0.9, 0.65, 0.225};
    const double nest_w[] = {0.85, 0.525, 0.0125};
    const double vel[] = {1.0, 2.5, 4.25};
    for (bool nest : {false, true}) {
        c.nesterov = nest;
        sgd<S> opt(c);
        bloom::matrix<S> w = bloom::matrix<S>::Constant(1, 1, S(1));
        for (int s = 0; s < 3; ++s) {
            opt.step(w, bloom::matrix<S>::Constant(1, 1, static_cast<S>(s + 1)));
            INFO("nesterov " << nest << ", step " << s + 1);
            CHECK(static_cast<double>(opt.velocity()(0, 0)) == Approx(vel[s]));
            const double want = nest ? nest_w[s] : heavy_w[s];
            CHECK(static_cast<double>(w(0, 0)) == Approx(want).margin(1e-6));
        }
    }
}

TEMPLATE_TEST_CASE("sgd: momentum is lazy in sparse steps", "[optim][sgd]", float, double) {
    using S = TestType;
    // Row 0 is touched at step 1 and 3 only: its velocity does not decay at step 2 and the row
    // does not move then.
    sgd_config c;
    c.lr = 0.1;
    c.momentum = 0.5;
    sgd<S> opt(c);
    bloom::matrix<S> w = bloom::matrix<S>::Ones(2, 1);
    bloom::row_sparse<S> g0, g1;
    g0.rows = {0};
    g0.values = bloom::matrix<S>::Constant(1, 1, S(1));
    g1.rows = {1};
    g1.values = bloom::matrix<S>::Constant(1, 1, S(1));
    opt.step(w, g0);  // b0 = 1, w0 = 0.9
    opt.step(w, g1);  // row 0 untouched
    CHECK(static_cast<double>(w(0, 0)) == Approx(0.9));
    CHECK(static_cast<double>(opt.velocity()(0, 0)) == Approx(1.0));
    opt.step(w, g0);  // b0 = 0.5 * 1 + 1 = 1.5, w0 = 0.9 - 0.15
    CHECK(static_cast<double>(opt.velocity()(0, 0)) == Approx(1.5));
    CHECK(static_cast<double>(w(0, 0)) == Approx(0.75));
}

TEMPLATE_TEST_CASE("sgd: weight decay, by hand", "[optim][sgd]", float, double) {
    using S = TestType;
    sgd_config c;
    c.lr = 0.1;
    c.weight_decay = 0.5;
    sgd<S> opt(c);
    bloom::matrix<S> w = bloom::matrix<S>::Constant(1, 2, S(2));
    opt.step(w, bloom::matrix<S>::Constant(1, 2, S(1)));  // 2 - 0.1 * (1 + 0.5 * 2) = 1.8
    CHECK(static_cast<double>(w(0, 1)) == Approx(1.8));
    check_weight_decay_touched_only<sgd<S>>(plain());
    check_weight_decay_touched_only<sgd<S>>(heavy_ball());
}

TEMPLATE_TEST_CASE("sgd: untouched rows are bit-for-bit unchanged", "[optim][sgd]", float,
                   double) {
    using S = TestType;
    check_untouched_rows_unchanged<sgd<S>>(plain());
    check_untouched_rows_unchanged<sgd<S>>(heavy_ball());
    check_untouched_rows_unchanged<sgd<S>>(nesterov());
    sgd_config wd = heavy_ball();
    wd.weight_decay = 0.01;
    check_untouched_rows_unchanged<sgd<S>>(wd);
    check_untouched_rows_not_read<sgd<S>>(heavy_ball());
}

TEMPLATE_TEST_CASE("sgd: full sparse steps equal dense steps, update_row equals step, update_rows equals update_row",
                   "[optim][sgd]", float, double) {
    using S = TestType;
    sgd_config wd = nesterov();
    wd.weight_decay = 0.1;
    for (const auto& c : {plain(), heavy_ball(), nesterov(), wd}) {
        check_full_sparse_equals_dense<sgd<S>>(c);
        check_update_row_equals_sparse_step<sgd<S>>(c);
        check_update_rows_equals_update_row<sgd<S>>(c);
        check_update_range_equals_update_rows<sgd<S>>(c);
    }
}

TEMPLATE_TEST_CASE("sgd: errors", "[optim][sgd]", float, double) {
    using S = TestType;
    check_errors<sgd<S>>(heavy_ball());
}

TEST_CASE("sgd: invalid configurations", "[optim][sgd]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    auto bad = [](sgd_config c) { return [c] { sgd<float> o(c); }; };
    sgd_config c;
    c.lr = -0.1;
    REQUIRE_THROWS_AS(bad(c)(), bloom::invalid_argument);
    REQUIRE_THROWS_WITH(bad(c)(), Contains("sgd: lr must be finite and >= 0, got -0.1"));
    c.lr = nan;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("lr") && Contains("nan"));
    c.lr = inf;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("lr") && Contains("inf"));
    c = sgd_config{};
    c.momentum = 1.0;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("momentum must be in [0, 1), got 1"));
    c.momentum = -0.1;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("momentum"));
    c.momentum = nan;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("momentum") && Contains("nan"));
    c = sgd_config{};
    c.weight_decay = -1;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("weight_decay"));
    c.weight_decay = nan;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("weight_decay"));
    c = sgd_config{};
    c.nesterov = true;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("nesterov needs momentum > 0"));
    c.momentum = 0.9;
    REQUIRE_NOTHROW(bad(c)());
    c = sgd_config{};
    c.lr = 0.0;  // a zero learning rate is allowed (it freezes the parameter)
    REQUIRE_NOTHROW(bad(c)());
}

TEMPLATE_TEST_CASE("sgd: lifecycle", "[optim][sgd]", float, double) {
    using S = TestType;
    check_lifecycle<sgd<S>>(plain());
    check_lifecycle<sgd<S>>(heavy_ball());
    sgd<S> opt(heavy_ball(), 4, 3);
    CHECK(opt.velocity().rows() == 4);
    CHECK(opt.velocity().cols() == 3);
    opt.set_lr(0.5);
    CHECK(opt.settings().lr == 0.5);
}

TEMPLATE_TEST_CASE("sgd: converges on a small quadratic", "[optim][sgd]", float, double) {
    using S = TestType;
    CHECK(quadratic_ratio<sgd<S>>(plain(), 200, false) < 1e-8);
    CHECK(quadratic_ratio<sgd<S>>(plain(), 400, true) < 1e-8);
    CHECK(quadratic_ratio<sgd<S>>(heavy_ball(), 300, false) < 1e-8);
    CHECK(quadratic_ratio<sgd<S>>(heavy_ball(), 600, true) < 1e-8);
    CHECK(quadratic_ratio<sgd<S>>(nesterov(), 300, false) < 1e-8);
}
