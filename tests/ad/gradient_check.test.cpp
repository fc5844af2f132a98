// The gradient checker itself must be able to fail: ops with deliberately wrong backward passes
// are caught, dense and sparse.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <bloom/ad/gradient_check.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/ad/tape.hpp>

#include "ad_test_util.hpp"

namespace ad = bloom::ad;
using ad_test::dmat;
using ad_test::engine;

namespace {

// y = x^2 elementwise, with a backward that forgets the factor 2.
void bad_square_back(ad::tape<double>& t, std::uint32_t self) {
    const auto& n = t.at(self);
    t.accumulate(n.in[0], n.grad.cwiseProduct(t.value_at(n.in[0])));
}
ad::var bad_square(ad::tape<double>& t, ad::var x) {
    const std::uint32_t i = t.push(&bad_square_back, {x});
    t.at(i).value = t.value_at(x.index).cwiseAbs2();
    return ad::var{i};
}

// Reads row r of a table but sends its gradient to row r + 1.
void bad_lookup_back(ad::tape<double>& t, std::uint32_t self) {
    auto& n = t.at(self);
    n.table[0]->push(n.index[0] + 1, 1.0, n.grad.data());
}
ad::var bad_lookup(ad::tape<double>& t, ad::table_parameter<double>& tab, std::uint32_t r) {
    const std::uint32_t i = t.push(&bad_lookup_back, {}, true);
    auto& n = t.at(i);
    n.table[0] = &tab;
    n.index.assign(1, r);
    n.value = tab.value().row(r);
    t.add_sink(tab);
    return ad::var{i};
}

}  // namespace

TEST_CASE("gradient check passes a correct op and fails a wrong one", "[ad][gradcheck]") {
    engine rng(1);
    ad::parameter<double> x(ad_test::random_matrix(rng, 3, 2, 0.5, 1.5));
    const auto good = ad::check_gradients(
        [&](ad::tape<double>& t) { return ad::sum(t, ad::mul(t, t.param(x), t.param(x))); },
        {&x}, {});
    CHECK(good.ok);
    CHECK(good.checked == 6);
    CHECK(good.max_abs_error < 1e-6);

    const auto bad = ad::check_gradients(
        [&](ad::tape<double>& t) { return ad::sum(t, bad_square(t, t.param(x))); }, {&x}, {});
    CHECK_FALSE(bad.ok);
    CHECK(bad.message.find("parameter 0") != std::string::npos);
}

TEST_CASE("gradient check catches a table gradient sent to the wrong row", "[ad][gradcheck]") {
    engine rng(2);
    ad::table_parameter<double> tab(ad_test::random_matrix(rng, 5, 2));
    const dmat c = ad_test::random_matrix(rng, 1, 2);
    const auto bad = ad::check_gradients(
        [&](ad::tape<double>& t) { return ad_test::probe(t, bad_lookup(t, tab, 2), c); }, {},
        {&tab});
    CHECK_FALSE(bad.ok);
    CHECK(bad.message.find("table 0") != std::string::npos);
    CHECK(bad.message.find("(2, ") != std::string::npos);  // row 2 is where it goes wrong first
}
