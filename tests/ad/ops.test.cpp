// Dense ops: a finite-difference gradient check of every op on random shapes, their values against
// direct formulas, and the shape errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <bloom/ad/gradient_check.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/error.hpp>

#include "ad_test_util.hpp"

namespace ad = bloom::ad;
using ad_test::dmat;
using ad_test::engine;

namespace {

constexpr int trials = 6;

// Checks the gradient of probe(op(inputs...)) with respect to every input, for random shapes.
template <class Build>
void check_op(const char* name, Build&& build) {
    for (int trial = 0; trial < trials; ++trial) {
        engine rng(1000 + static_cast<std::uint64_t>(trial));
        const auto r = ad_test::uniform_int(rng, 1, 5);
        const auto c = ad_test::uniform_int(rng, 1, 6);
        const auto k = ad_test::uniform_int(rng, 1, 4);
        std::vector<ad::parameter<double>> ps;
        build(rng, r, c, k, ps);  // fills ps with the inputs, returns nothing
        std::vector<ad::parameter<double>*> ptrs;
        for (auto& p : ps) ptrs.push_back(&p);
        dmat probe_c;
        auto loss = [&](ad::tape<double>& t) {
            std::vector<ad::var> in;
            for (auto& p : ps) in.push_back(t.param(p));
            const ad::var out = build.apply(t, in);
            if (probe_c.size() == 0) {
                engine prng(7 + static_cast<std::uint64_t>(trial));
                probe_c = ad_test::random_matrix(prng, t.value(out).rows(), t.value(out).cols());
            }
            return ad_test::probe(t, out, probe_c);
        };
        const auto res = ad::check_gradients(loss, ptrs, {});
        INFO(name << " trial " << trial << " (" << r << "x" << c << ", k " << k
                  << "): " << res.message);
        CHECK(res.ok);
        CHECK(res.checked > 0);
    }
}

// An op under test: make(rng, r, c, k) gives the input values, apply(t, vars) the output.
template <class Make, class Apply>
struct op_case {
    Make make;
    Apply apply;
    void operator()(engine& rng, int r, int c, int k, std::vector<ad::parameter<double>>& ps) {
        for (dmat& m : make(rng, r, c, k)) ps.emplace_back(m);
    }
};
template <class Make, class Apply>
op_case<Make, Apply> make_case(Make m, Apply a) {
    return {m, a};
}

std::vector<dmat> two_same(engine& rng, int r, int c, int) {
    return {ad_test::random_matrix(rng, r, c), ad_test::random_matrix(rng, r, c)};
}
std::vector<dmat> one(engine& rng, int r, int c, int) { return {ad_test::random_matrix(rng, r, c)}; }
std::vector<dmat> one_wide(engine& rng, int r, int c, int) {
    return {ad_test::random_matrix(rng, r, c, -4.0, 4.0)};
}

}  // namespace

TEST_CASE("matmul and matmul_nt gradients", "[ad][ops]") {
    check_op("matmul", make_case(
                           [](engine& rng, int r, int c, int k) {
                               return std::vector<dmat>{ad_test::random_matrix(rng, r, k),
                                                        ad_test::random_matrix(rng, k, c)};
                           },
                           [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                               return ad::matmul(t, v[0], v[1]);
                           }));
    check_op("matmul_nt", make_case(
                              [](engine& rng, int r, int c, int k) {
                                  return std::vector<dmat>{ad_test::random_matrix(rng, r, k),
                                                           ad_test::random_matrix(rng, c, k)};
                              },
                              [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                                  return ad::matmul_nt(t, v[0], v[1]);
                              }));
}

TEST_CASE("elementwise binary op gradients", "[ad][ops]") {
    check_op("add", make_case(two_same, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::add(t, v[0], v[1]);
             }));
    check_op("sub", make_case(two_same, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::sub(t, v[0], v[1]);
             }));
    check_op("mul", make_case(two_same, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::mul(t, v[0], v[1]);
             }));
    // The same input twice: gradients from both uses add up.
    check_op("mul(x, x)", make_case(one, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::mul(t, v[0], v[0]);
             }));
    check_op("add_bias", make_case(
                             [](engine& rng, int r, int c, int) {
                                 return std::vector<dmat>{ad_test::random_matrix(rng, r, c),
                                                          ad_test::random_matrix(rng, 1, c)};
                             },
                             [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                                 return ad::add_bias(t, v[0], v[1]);
                             }));
    check_op("scale", make_case(one, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::scale(t, v[0], -2.5);
             }));
}

TEST_CASE("activation gradients", "[ad][ops]") {
    check_op("relu", make_case(
                         [](engine& rng, int r, int c, int) {
                             return std::vector<dmat>{ad_test::away_from_zero(rng, r, c)};
                         },
                         [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                             return ad::relu(t, v[0]);
                         }));
    check_op("sigmoid", make_case(one_wide, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::sigmoid(t, v[0]);
             }));
    check_op("tanh", make_case(one_wide, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::tanh(t, v[0]);
             }));
    check_op("softmax", make_case(one_wide, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::softmax(t, v[0]);
             }));
    check_op("log_softmax",
             make_case(one_wide, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::log_softmax(t, v[0]);
             }));
}

TEST_CASE("reduction, gather and concat gradients", "[ad][ops]") {
    check_op("sum", make_case(one, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::sum(t, v[0]);
             }));
    check_op("mean", make_case(one, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::mean(t, v[0]);
             }));
    check_op("row_sum", make_case(one, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 return ad::row_sum(t, v[0]);
             }));
    // Repeated and skipped rows: the scatter-add must sum the repeats and leave the others at 0.
    check_op("gather_rows", make_case(one, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 const auto rows = t.value(v[0]).rows();
                 std::vector<int> idx{static_cast<int>(rows - 1), 0, static_cast<int>(rows - 1),
                                      static_cast<int>(rows / 2)};
                 return ad::gather_rows(t, v[0], idx);
             }));
    check_op("concat_cols",
             make_case(
                 [](engine& rng, int r, int c, int k) {
                     return std::vector<dmat>{ad_test::random_matrix(rng, r, c),
                                              ad_test::random_matrix(rng, r, k),
                                              ad_test::random_matrix(rng, r, 1)};
                 },
                 [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                     return ad::concat_cols(t, {v[0], v[1], v[2], v[0]});
                 }));
}

TEST_CASE("dropout: seeded mask, gradient, identity at evaluation", "[ad][ops]") {
    check_op("dropout", make_case(one, [](ad::tape<double>& t, const std::vector<ad::var>& v) {
                 engine rng(99);  // reseeded on every evaluation: the same mask each time
                 return ad::dropout(t, v[0], 0.4, rng);
             }));

    ad::tape<double> t;
    engine data(5);
    const dmat x = ad_test::random_matrix(data, 40, 50, 0.5, 1.0);
    const ad::var in = t.constant(x);
    engine rng_a(3), rng_b(3);
    const ad::var a = ad::dropout(t, in, 0.25, rng_a);
    const ad::var b = ad::dropout(t, in, 0.25, rng_b);
    CHECK(t.value(a) == t.value(b));  // same seed, same mask
    const dmat& y = t.value(a);
    int zeros = 0;
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        if (y.data()[i] == 0.0) {
            ++zeros;
        } else {
            CHECK(y.data()[i] == Approx(x.data()[i] / 0.75));
        }
    }
    // 2000 draws with p = 0.25: 500 expected, sd ~19.
    CHECK(zeros > 400);
    CHECK(zeros < 600);

    engine rng_c(3);
    CHECK(ad::dropout(t, in, 0.25, rng_c, /*training=*/false) == in);
    CHECK(ad::dropout(t, in, 0.0, rng_c) == in);
    CHECK_THROWS_AS(ad::dropout(t, in, 1.0, rng_c), bloom::invalid_argument);
    CHECK_THROWS_AS(ad::dropout(t, in, -0.1, rng_c), bloom::invalid_argument);
}

TEST_CASE("op values match direct formulas", "[ad][ops]") {
    engine rng(11);
    const dmat a = ad_test::random_matrix(rng, 3, 4, -3, 3);
    const dmat b = ad_test::random_matrix(rng, 4, 2);
    ad::tape<double> t;
    const ad::var va = t.constant(a), vb = t.constant(b);
    CHECK(t.value(ad::matmul(t, va, vb)).isApprox(a * b));
    CHECK(t.value(ad::matmul_nt(t, va, va)).isApprox(a * a.transpose()));
    CHECK(t.value(ad::relu(t, va)) == a.cwiseMax(0.0));
    CHECK(t.item(ad::sum(t, va)) == Approx(a.sum()));
    CHECK(t.item(ad::mean(t, va)) == Approx(a.mean()));
    const dmat sm = t.value(ad::softmax(t, va));
    const dmat lsm = t.value(ad::log_softmax(t, va));
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
        double z = 0;
        for (Eigen::Index j = 0; j < a.cols(); ++j) z += std::exp(a(i, j));
        CHECK(sm.row(i).sum() == Approx(1.0));
        for (Eigen::Index j = 0; j < a.cols(); ++j) {
            CHECK(sm(i, j) == Approx(std::exp(a(i, j)) / z));
            CHECK(lsm(i, j) == Approx(a(i, j) - std::log(z)));
        }
    }
    const dmat sg = t.value(ad::sigmoid(t, va));
    for (Eigen::Index i = 0; i < a.size(); ++i)
        CHECK(sg.data()[i] == Approx(1.0 / (1.0 + std::exp(-a.data()[i]))));

    // Stability: huge logits give finite softmax / log_softmax / sigmoid.
    dmat big(1, 3);
    big << 1e4, -1e4, 0.0;
    const ad::var vbig = t.constant(big);
    CHECK(t.value(ad::softmax(t, vbig)).allFinite());
    CHECK(t.value(ad::log_softmax(t, vbig)).allFinite());
    const dmat s = t.value(ad::sigmoid(t, vbig));
    CHECK(s(0, 0) == 1.0);
    CHECK(s(0, 1) == 0.0);
}

TEST_CASE("shape errors name the op and both shapes", "[ad][ops]") {
    ad::tape<double> t;
    const ad::var a = t.constant(dmat::Zero(2, 3));
    const ad::var b = t.constant(dmat::Zero(4, 5));
    auto message = [](auto&& f) {
        try {
            f();
        } catch (const bloom::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no exception");
    };
    const std::string mm = message([&] { ad::matmul(t, a, b); });
    CHECK(mm.find("matmul") != std::string::npos);
    CHECK(mm.find("2x3") != std::string::npos);
    CHECK(mm.find("4x5") != std::string::npos);
    const std::string ad_ = message([&] { ad::add(t, a, b); });
    CHECK(ad_.find("add") != std::string::npos);
    CHECK(ad_.find("2x3") != std::string::npos);
    CHECK(ad_.find("4x5") != std::string::npos);
    CHECK_THROWS_AS(ad::mul(t, a, b), bloom::invalid_argument);
    CHECK_THROWS_AS(ad::sub(t, a, b), bloom::invalid_argument);
    CHECK_THROWS_AS(ad::add_bias(t, a, t.constant(dmat::Zero(1, 2))), bloom::invalid_argument);
    CHECK_THROWS_AS(ad::concat_cols(t, {a, b}), bloom::invalid_argument);
    CHECK_THROWS_AS(ad::matmul_nt(t, a, b), bloom::invalid_argument);
    CHECK_THROWS_AS(ad::gather_rows(t, a, std::vector<int>{0, 2}), bloom::out_of_range);
    CHECK_THROWS_AS(ad::gather_rows(t, a, std::vector<int>{-1}), bloom::out_of_range);
}
