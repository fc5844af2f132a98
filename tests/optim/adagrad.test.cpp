#include <catch2/catch.hpp>

#include <bloom/optim/adagrad.hpp>

#include "optim_test_util.hpp"

using namespace optim_test;
using bloom::optim::adagrad;
using bloom::optim::adagrad_config;
using Catch::Matchers::Contains;

namespace {
adagrad_config base() {
    adagrad_config c;
    c.lr = 0.1;
    return c;
}
adagrad_config decayed() {
    adagrad_config c = base();
    c.weight_decay = 0.05;
    c.initial_accumulator = 0.1;
    return c;
}
}  // namespace

TEMPLATE_TEST_CASE("adagrad: two steps, by hand", "[optim][adagrad]", float, double) {
    using S = TestType;
    // w0 = 1, lr = 0.1, eps = 1e-10, a0 = 0.1, gradients 0.5 then -1:
    //   a = 0.35,  w = 1 - 0.1 * 0.5 / sqrt(0.35)            = 0.9154845745414341
    //   a = 1.35,  w = 0.91548... + 0.1 / sqrt(1.35)          = 1.0015508711164136
    adagrad_config c = base();
    c.initial_accumulator = 0.1;
    adagrad<S> opt(c);
    bloom::matrix<S> w = bloom::matrix<S>::Ones(1, 1);
    opt.step(w, bloom::matrix<S>::Constant(1, 1, S(0.5)));
    CHECK(static_cast<double>(opt.accumulator()(0, 0)) == Approx(0.35));
    CHECK(static_cast<double>(w(0, 0)) == Approx(0.9154845745414341).epsilon(1e-6));
    opt.step(w, bloom::matrix<S>::Constant(1, 1, S(-1)));
    CHECK(static_cast<double>(opt.accumulator()(0, 0)) == Approx(1.35));
    CHECK(static_cast<double>(w(0, 0)) == Approx(1.0015508711164136).epsilon(1e-6));
}

TEMPLATE_TEST_CASE("adagrad: weight decay, by hand, and only on touched rows", "[optim][adagrad]",
                   float, double) {
    using S = TestType;
    // w0 = 2, g = 1, wd = 0.5: g' = 2, a = 4, w = 2 - 0.1 * 2 / 2 = 1.9
    adagrad_config c = base();
    c.weight_decay = 0.5;
    adagrad<S> opt(c);
    bloom::matrix<S> w = bloom::matrix<S>::Constant(1, 3, S(2));
    opt.step(w, bloom::matrix<S>::Ones(1, 3));
    CHECK(static_cast<double>(opt.accumulator()(0, 2)) == Approx(4.0));
    CHECK(static_cast<double>(w(0, 2)) == Approx(1.9));
    check_weight_decay_touched_only<adagrad<S>>(base());
}

TEMPLATE_TEST_CASE("adagrad: sparse steps equal dense steps with the scattered gradient",
                   "[optim][adagrad]", float, double) {
    using S = TestType;
    // Without weight decay a zero gradient changes neither a nor w, so lazy is exact.
    const Index rows = 30, cols = 5;
    bloom::matrix<S> sparse = random_matrix<S>(rows, cols, 30), dense = sparse;
    adagrad<S> a(base()), b(base());
    for (std::uint64_t s = 0; s < 6; ++s) {
        const auto g = random_row_sparse<S>(rows, cols, 6, 31 + s);
        a.step(sparse, g);
        b.step(dense, to_dense(g, rows));
    }
    CHECK(same_bits(sparse, dense));
    CHECK(same_state(a, b));
}

TEMPLATE_TEST_CASE("adagrad: untouched rows are bit-for-bit unchanged", "[optim][adagrad]", float,
                   double) {
    using S = TestType;
    check_untouched_rows_unchanged<adagrad<S>>(base());
    check_untouched_rows_unchanged<adagrad<S>>(decayed());
    check_untouched_rows_not_read<adagrad<S>>(decayed());
}

TEMPLATE_TEST_CASE("adagrad: full sparse steps equal dense steps, update_row equals step, update_rows equals update_row",
                   "[optim][adagrad]", float, double) {
    using S = TestType;
    for (const auto& c : {base(), decayed()}) {
        check_full_sparse_equals_dense<adagrad<S>>(c);
        check_update_row_equals_sparse_step<adagrad<S>>(c);
        check_update_rows_equals_update_row<adagrad<S>>(c);
        check_update_range_equals_update_rows<adagrad<S>>(c);
    }
}

TEMPLATE_TEST_CASE("adagrad: errors", "[optim][adagrad]", float, double) {
    using S = TestType;
    check_errors<adagrad<S>>(decayed());
}

TEST_CASE("adagrad: invalid configurations", "[optim][adagrad]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto bad = [](adagrad_config c) { return [c] { adagrad<float> o(c); }; };
    adagrad_config c;
    c.lr = -1;
    REQUIRE_THROWS_AS(bad(c)(), bloom::invalid_argument);
    REQUIRE_THROWS_WITH(bad(c)(), Contains("adagrad: lr must be finite and >= 0, got -1"));
    c = adagrad_config{};
    c.eps = -1e-10;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("eps") && Contains("-1e-10"));
    c.eps = nan;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("eps") && Contains("nan"));
    c = adagrad_config{};
    c.initial_accumulator = -0.1;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("initial_accumulator"));
    c = adagrad_config{};
    c.weight_decay = nan;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("weight_decay"));
    c = adagrad_config{};
    c.eps = 0;
    REQUIRE_THROWS_WITH(bad(c)(), Contains("eps and initial_accumulator are both 0"));
    c.initial_accumulator = 0.1;
    REQUIRE_NOTHROW(bad(c)());
}

TEMPLATE_TEST_CASE("adagrad: lifecycle", "[optim][adagrad]", float, double) {
    using S = TestType;
    check_lifecycle<adagrad<S>>(decayed());
    adagrad<S> opt(decayed(), 2, 3);
    CHECK(opt.accumulator().rows() == 2);
    CHECK(static_cast<double>(opt.accumulator()(1, 2)) == Approx(0.1));  // initial value
    bloom::matrix<S> w = bloom::matrix<S>::Ones(2, 3);
    opt.step(w, bloom::matrix<S>::Ones(2, 3));
    opt.reset();
    CHECK(static_cast<double>(opt.accumulator()(1, 2)) == Approx(0.1));
}

TEMPLATE_TEST_CASE("adagrad: converges on a small quadratic", "[optim][adagrad]", float, double) {
    using S = TestType;
    adagrad_config c = base();
    c.lr = 0.5;
    CHECK(quadratic_ratio<adagrad<S>>(c, 300, false) < 1e-6);
    CHECK(quadratic_ratio<adagrad<S>>(c, 600, true) < 1e-6);
}
