// Initialisers: moments within tolerance of the stated distributions, bounds, reproducibility.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include <bloom/error.hpp>
#include <bloom/nn/init.hpp>

namespace init = bloom::nn::init;
using fmat = bloom::matrix<float>;

namespace {
double mean_of(const fmat& w) { return w.cast<double>().mean(); }
double std_of(const fmat& w) {
    const double m = mean_of(w);
    return std::sqrt((w.cast<double>().array() - m).square().mean());
}
}  // namespace

TEST_CASE("normal-family initialisers have the stated standard deviation", "[nn][init]") {
    std::mt19937_64 rng(1);
    fmat w(200, 100);  // 20000 draws: the sample std is within ~1% of the true one
    init::scaled_normal(w, rng);
    CHECK(std::abs(mean_of(w)) < 0.05 / 100);
    CHECK(std_of(w) == Approx(1.0 / 100).epsilon(0.03));
    init::xavier_normal(w, rng);
    CHECK(std_of(w) == Approx(std::sqrt(2.0 / 300)).epsilon(0.03));
    init::he_normal(w, rng);
    CHECK(std_of(w) == Approx(std::sqrt(2.0 / 200)).epsilon(0.03));
    init::normal(w, 3.0, 0.5, rng);
    CHECK(mean_of(w) == Approx(3.0).epsilon(0.01));
    CHECK(std_of(w) == Approx(0.5).epsilon(0.03));
}

TEST_CASE("uniform-family initialisers stay within their bounds", "[nn][init]") {
    std::mt19937_64 rng(2);
    fmat w(300, 100);
    init::xavier_uniform(w, rng);
    const double a = std::sqrt(6.0 / 400);
    CHECK(w.cwiseAbs().maxCoeff() <= a);
    CHECK(w.cwiseAbs().maxCoeff() > 0.98 * a);
    CHECK(std_of(w) == Approx(a / std::sqrt(3.0)).epsilon(0.03));
    init::he_uniform(w, rng);
    CHECK(w.cwiseAbs().maxCoeff() <= std::sqrt(6.0 / 300));
    init::apply(init::scheme::zeros, w, rng);
    CHECK(w.isZero());
}

TEST_CASE("initialisers are reproducible from the seed, with 32- and 64-bit engines", "[nn][init]") {
    fmat a(5, 7), b(5, 7);
    std::mt19937_64 r1(9), r2(9);
    init::he_normal(a, r1);
    init::he_normal(b, r2);
    CHECK(a == b);
    std::mt19937 r3(9), r4(9);
    init::xavier_uniform(a, r3);
    init::xavier_uniform(b, r4);
    CHECK(a == b);
    std::mt19937_64 r5(10);
    init::he_normal(b, r5);
    CHECK(a != b);
}

TEST_CASE("initialiser errors", "[nn][init]") {
    std::mt19937_64 rng(3);
    fmat w(2, 2), empty(0, 3);
    CHECK_THROWS_AS(init::normal(w, 0.0, -1.0, rng), bloom::invalid_argument);
    CHECK_THROWS_AS(init::uniform(w, 1.0, 0.0, rng), bloom::invalid_argument);
    CHECK_THROWS_AS(init::xavier_uniform(empty, rng), bloom::invalid_argument);
    CHECK(std::string(init::to_string(init::scheme::he_normal)) == "he_normal");
}
