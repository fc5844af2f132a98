// Randomized SVD, PPMI and CCA embeddings against dense computations done here from scratch.
#include <bloom/models/network/spectral.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

using bloom::models::column_matrix;
using dmat = Eigen::MatrixXd;

// rows x cols with the given singular values and seeded random orthonormal singular vectors.
dmat with_spectrum(Eigen::Index rows, Eigen::Index cols, const std::vector<double>& s,
                   std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const auto k = static_cast<Eigen::Index>(s.size());
    dmat a(rows, k), b(cols, k);
    for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = bloom::detail::standard_normal(rng);
    for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = bloom::detail::standard_normal(rng);
    const dmat u = bloom::models::detail::orthonormal_basis<double>(a);
    const dmat v = bloom::models::detail::orthonormal_basis<double>(b);
    Eigen::VectorXd sv(k);
    for (Eigen::Index i = 0; i < k; ++i) sv(i) = s[static_cast<std::size_t>(i)];
    return u * sv.asDiagonal() * v.transpose();
}

// Largest |entry| of the difference between the projectors onto the column spaces of a and b.
double projector_gap(const dmat& a, const dmat& b) {
    return (a * a.transpose() - b * b.transpose()).cwiseAbs().maxCoeff();
}

// Max |a - b| after flipping each column of b to the sign that agrees with a.
double gap_up_to_sign(const dmat& a, const dmat& b) {
    REQUIRE(a.rows() == b.rows());
    REQUIRE(a.cols() == b.cols());
    double worst = 0.0;
    for (Eigen::Index k = 0; k < a.cols(); ++k) {
        const double sign = a.col(k).dot(b.col(k)) < 0.0 ? -1.0 : 1.0;
        worst = std::max(worst, (a.col(k) - sign * b.col(k)).cwiseAbs().maxCoeff());
    }
    return worst;
}

bloom::eval::user_items sets(const std::vector<std::vector<std::uint32_t>>& lists) {
    bloom::eval::user_items x;
    x.offsets.push_back(0);
    for (const auto& l : lists) {
        x.items.insert(x.items.end(), l.begin(), l.end());
        x.offsets.push_back(x.items.size());
    }
    return x;
}

dmat binary(const bloom::eval::user_items& x, Eigen::Index d) {
    dmat b = dmat::Zero(static_cast<Eigen::Index>(x.n_users()), d);
    for (std::size_t u = 0; u < x.n_users(); ++u)
        for (const std::uint32_t* p = x.begin(u); p != x.end(u); ++p)
            b(static_cast<Eigen::Index>(u), *p) = 1.0;
    return b;
}

// Users drawing from one of two item clusters (0..19 or 20..59): a PPMI / CCA matrix with a
// large leading part, so that a rank-2 randomized factorization is close to the exact one.
bloom::eval::user_items clustered_sets(std::size_t users, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<std::uint32_t>> lists(users);
    for (std::size_t u = 0; u < users; ++u) {
        const bool first = u % 3 == 0;
        for (int k = 0; k < 8; ++k)
            lists[u].push_back(first ? static_cast<std::uint32_t>(
                                           bloom::data::detail::uniform_below(rng, 20))
                                     : 20 + static_cast<std::uint32_t>(
                                                bloom::data::detail::uniform_below(rng, 40)));
    }
    return sets(lists);
}

}  // namespace

TEST_CASE("randomized_svd recovers an exactly low-rank dense matrix", "[network][spectral]") {
    const dmat a = with_spectrum(60, 40, {9.0, 5.0, 3.0, 2.0, 0.5}, 7);
    bloom::models::svd_config cfg;
    cfg.rank = 5;
    cfg.oversample = 3;
    cfg.power_iterations = 0;
    const auto r = bloom::models::randomized_svd(a, cfg);
    CHECK_FALSE(r.exact);
    REQUIRE(r.u.rows() == 60);
    REQUIRE(r.u.cols() == 5);
    REQUIRE(r.v.rows() == 40);
    REQUIRE(r.s.size() == 5);

    Eigen::JacobiSVD<dmat> exact(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    for (Eigen::Index k = 0; k < 5; ++k)
        CHECK(r.s(k) == Approx(exact.singularValues()(k)).epsilon(1e-10));
    CHECK(gap_up_to_sign(dmat(r.u), exact.matrixU().leftCols(5)) < 1e-9);
    CHECK(gap_up_to_sign(dmat(r.v), exact.matrixV().leftCols(5)) < 1e-9);
    CHECK((dmat(r.u) * r.s.asDiagonal() * dmat(r.v).transpose() - a).cwiseAbs().maxCoeff() < 1e-10);
    CHECK((dmat(r.u).transpose() * dmat(r.u) - dmat::Identity(5, 5)).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((dmat(r.v).transpose() * dmat(r.v) - dmat::Identity(5, 5)).cwiseAbs().maxCoeff() < 1e-12);

    // A lower rank than the matrix's: the leading 3 triplets.
    cfg.rank = 3;
    const auto r3 = bloom::models::randomized_svd(a, cfg);
    for (Eigen::Index k = 0; k < 3; ++k)
        CHECK(r3.s(k) == Approx(exact.singularValues()(k)).epsilon(1e-10));
    CHECK(projector_gap(dmat(r3.u), exact.matrixU().leftCols(3)) < 1e-9);
}

TEST_CASE("randomized_svd of a sparse low-rank matrix matches the dense SVD",
          "[network][spectral]") {
    // 300 x 200, rank 3: three sparse rank-one blocks of different weights.
    std::vector<Eigen::Triplet<double>> t;
    const double w[3] = {6.0, 3.0, 1.0};
    for (int b = 0; b < 3; ++b)
        for (int i = b * 100; i < b * 100 + 40; ++i)
            for (int j = b * 60; j < b * 60 + 30; ++j)
                t.emplace_back(i, j, w[b] * (1.0 + 0.01 * (i % 7)) * (1.0 + 0.02 * (j % 5)));
    Eigen::SparseMatrix<double, Eigen::RowMajor> a(300, 200);
    a.setFromTriplets(t.begin(), t.end());
    bloom::models::svd_config cfg;
    cfg.rank = 3;
    cfg.oversample = 5;
    cfg.power_iterations = 1;
    const auto r = bloom::models::randomized_svd(a, cfg);
    CHECK_FALSE(r.exact);
    const dmat ad = dmat(a);
    Eigen::JacobiSVD<dmat> exact(ad, Eigen::ComputeThinU | Eigen::ComputeThinV);
    for (Eigen::Index k = 0; k < 3; ++k)
        CHECK(r.s(k) == Approx(exact.singularValues()(k)).epsilon(1e-10));
    CHECK(gap_up_to_sign(dmat(r.u), exact.matrixU().leftCols(3)) < 1e-9);
    CHECK(gap_up_to_sign(dmat(r.v), exact.matrixV().leftCols(3)) < 1e-9);

    // The column-major storage order and float give the same triplets (float to its precision).
    const Eigen::SparseMatrix<double> ac = a;
    const auto rc = bloom::models::randomized_svd(ac, cfg);
    CHECK((rc.s - r.s).cwiseAbs().maxCoeff() < 1e-10);
    const Eigen::SparseMatrix<float, Eigen::RowMajor> af = a.cast<float>();
    const auto rf = bloom::models::randomized_svd(af, cfg);
    for (Eigen::Index k = 0; k < 3; ++k)
        CHECK(double(rf.s(k)) == Approx(exact.singularValues()(k)).epsilon(1e-4));
    CHECK(gap_up_to_sign(rf.u.cast<double>(), exact.matrixU().leftCols(3)) < 1e-4);
}

TEST_CASE("randomized_svd with power iterations approximates a decaying spectrum",
          "[network][spectral]") {
    std::vector<double> s;
    for (int k = 1; k <= 40; ++k) s.push_back(1.0 / (k * k));
    const dmat a = with_spectrum(120, 80, s, 11);
    bloom::models::svd_config cfg;
    cfg.rank = 4;
    cfg.oversample = 6;
    cfg.power_iterations = 3;
    const auto r = bloom::models::randomized_svd(a, cfg);
    CHECK_FALSE(r.exact);
    for (Eigen::Index k = 0; k < 4; ++k)
        CHECK(r.s(k) == Approx(s[static_cast<std::size_t>(k)]).epsilon(1e-3));
    Eigen::JacobiSVD<dmat> exact(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    CHECK(gap_up_to_sign(dmat(r.u.leftCols(2)), exact.matrixU().leftCols(2)) < 1e-3);
}

TEST_CASE("randomized_svd falls back to the exact SVD near full rank", "[network][spectral]") {
    const dmat a = with_spectrum(12, 30, {4, 3, 2, 1, 0.5, 0.25}, 5);
    bloom::models::svd_config cfg;
    cfg.rank = 4;
    cfg.oversample = 8;  // 12 >= min(12, 30)
    const auto r = bloom::models::randomized_svd(a, cfg);
    CHECK(r.exact);
    Eigen::JacobiSVD<dmat> exact(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    for (Eigen::Index k = 0; k < 4; ++k)
        CHECK(r.s(k) == Approx(exact.singularValues()(k)).epsilon(1e-12));
    CHECK(gap_up_to_sign(dmat(r.u), exact.matrixU().leftCols(4)) < 1e-10);
    CHECK(gap_up_to_sign(dmat(r.v), exact.matrixV().leftCols(4)) < 1e-10);
    // The same through the tall side (rows > cols).
    const auto rt = bloom::models::randomized_svd(dmat(a.transpose()), cfg);
    CHECK(rt.exact);
    CHECK(gap_up_to_sign(dmat(rt.u), exact.matrixV().leftCols(4)) < 1e-10);
    // Full rank: r = min(rows, cols).
    cfg.rank = 12;
    cfg.oversample = 0;
    const auto full = bloom::models::randomized_svd(a, cfg);
    CHECK(full.exact);
    CHECK(full.s.size() == 12);
}

TEST_CASE("randomized_svd is deterministic per seed and signs each pair", "[network][spectral]") {
    std::vector<double> s;
    for (int k = 1; k <= 30; ++k) s.push_back(1.0 / k);
    const dmat a = with_spectrum(70, 50, s, 13);
    bloom::models::svd_config cfg;
    cfg.rank = 5;
    cfg.oversample = 4;
    cfg.power_iterations = 1;
    const auto r1 = bloom::models::randomized_svd(a, cfg);
    const auto r2 = bloom::models::randomized_svd(a, cfg);
    CHECK(r1.u == r2.u);
    CHECK(r1.s == r2.s);
    CHECK(r1.v == r2.v);
    cfg.seed = 43;
    const auto r3 = bloom::models::randomized_svd(a, cfg);
    CHECK(r3.s != r1.s);  // a flat spectrum: another test matrix gives other estimates

    for (const auto* r : {&r1, &r3})
        for (Eigen::Index k = 0; k < r->u.cols(); ++k) {
            Eigen::Index at = 0;
            r->u.col(k).cwiseAbs().maxCoeff(&at);
            CHECK(r->u(at, k) > 0.0);
        }

    // The operator form gives the dense form's bits.
    cfg.seed = 42;
    auto apply = [&a](const column_matrix<double>& x) { return column_matrix<double>(a * x); };
    auto adjoint = [&a](const column_matrix<double>& x) {
        return column_matrix<double>(a.transpose() * x);
    };
    const auto ro = bloom::models::randomized_svd<double>(70, 50, apply, adjoint, cfg);
    CHECK(ro.u == r1.u);
    CHECK(ro.s == r1.s);
    CHECK(ro.v == r1.v);
}

TEST_CASE("randomized_svd rejects bad input", "[network][spectral]") {
    dmat a = with_spectrum(10, 8, {3, 2, 1}, 1);
    bloom::models::svd_config cfg;
    cfg.rank = 0;
    REQUIRE_THROWS_AS(bloom::models::randomized_svd(a, cfg), bloom::invalid_argument);
    REQUIRE_THROWS_WITH(bloom::models::randomized_svd(a, cfg), Catch::Contains("rank = 0"));
    cfg.rank = 9;
    REQUIRE_THROWS_WITH(bloom::models::randomized_svd(a, cfg),
                        Catch::Contains("rank 9 exceeds min(rows, cols) = 8"));
    cfg.rank = 2;
    cfg.oversample = 1;
    a(3, 4) = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_AS(bloom::models::randomized_svd(a, cfg), bloom::invalid_argument);
    Eigen::SparseMatrix<double, Eigen::RowMajor> sp(10, 8);
    sp.insert(2, 5) = std::numeric_limits<double>::infinity();
    sp.makeCompressed();
    REQUIRE_THROWS_WITH(bloom::models::randomized_svd(sp, cfg), Catch::Contains("at (2, 5)"));
    const dmat empty(0, 0);
    REQUIRE_THROWS_WITH(bloom::models::randomized_svd(empty, cfg), Catch::Contains("empty"));
    auto nan_apply = [](const column_matrix<double>& x) {
        return column_matrix<double>::Constant(10, x.cols(),
                                               std::numeric_limits<double>::quiet_NaN());
    };
    auto zero_adjoint = [](const column_matrix<double>& x) {
        return column_matrix<double>::Zero(8, x.cols());
    };
    REQUIRE_THROWS_WITH(bloom::models::randomized_svd<double>(10, 8, nan_apply, zero_adjoint, cfg),
                        Catch::Contains("NaN"));
}

TEST_CASE("ppmi_matrix: a hand-computed case", "[network][spectral]") {
    // Sets {0,1,2}, {0,1} (listed with a duplicate), {0,1}, {0,1}, {2,3}; item 4 never occurs.
    // c01 = 4, c02 = c12 = c23 = 1; c0 = c1 = 5, c2 = 3, c3 = 1; N = 6 + 2 + 2 + 2 + 2 = 14.
    const auto x = sets({{2, 0, 1}, {0, 1, 1}, {1, 0}, {0, 1}, {3, 2}});
    bloom::models::pmi_config cfg;
    cfg.smoothing = 1.0;
    const auto p = bloom::models::ppmi_matrix<double>(x, 5, cfg);
    const dmat pd = dmat(p);
    dmat want = dmat::Zero(5, 5);
    want(0, 1) = want(1, 0) = std::log(4.0 * 14.0 / 25.0);
    want(2, 3) = want(3, 2) = std::log(14.0 / 3.0);
    // PMI(0, 2) = PMI(1, 2) = log(14 / 15) < 0: clipped, not stored.
    CHECK((pd - want).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(p.nonZeros() == 4);

    // Smoothing 0.75 on both marginals: log(c_ij S^2 / (N c_i^a c_j^a)), S = sum_i c_i^a.
    cfg.smoothing = 0.75;
    const auto ps = bloom::models::ppmi_matrix<double>(x, 5, cfg);
    const double a = 0.75;
    const double s = 2.0 * std::pow(5.0, a) + std::pow(3.0, a) + 1.0;
    auto pmi = [&](double cij, double ci, double cj) {
        return std::log(cij * s * s / (14.0 * std::pow(ci, a) * std::pow(cj, a)));
    };
    REQUIRE(pmi(1, 5, 3) < 0.0);
    CHECK(ps.coeff(0, 1) == Approx(pmi(4, 5, 5)).epsilon(1e-12));
    CHECK(ps.coeff(1, 0) == Approx(pmi(4, 5, 5)).epsilon(1e-12));
    CHECK(ps.coeff(3, 2) == Approx(pmi(1, 1, 3)).epsilon(1e-12));
    // Smoothing raises the rare item 3's marginal, so its PMI falls below the unsmoothed one.
    CHECK(ps.coeff(3, 2) < std::log(14.0 / 3.0));
    CHECK(ps.coeff(0, 2) == 0.0);
    CHECK(ps.coeff(2, 1) == 0.0);
    CHECK(ps.nonZeros() == 4);
    CHECK(ps.coeff(0, 3) == 0.0);
    CHECK(ps.coeff(0, 0) == 0.0);
    const dmat psd = dmat(ps);
    CHECK((psd - psd.transpose()).cwiseAbs().maxCoeff() == 0.0);

    // min_cooccurrence = 2 keeps the pair seen by 4 users, with the same value.
    cfg.smoothing = 1.0;
    cfg.min_cooccurrence = 2;
    const auto pm = bloom::models::ppmi_matrix<double>(x, 5, cfg);
    CHECK(pm.nonZeros() == 2);
    CHECK(pm.coeff(1, 0) == Approx(std::log(4.0 * 14.0 / 25.0)).epsilon(1e-12));
}

TEST_CASE("ppmi_matrix samples long sets to max_items_per_user per seed", "[network][spectral]") {
    const auto x = sets({{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}});
    bloom::models::pmi_config cfg;
    cfg.smoothing = 1.0;
    cfg.max_items_per_user = 3;
    const auto p = bloom::models::ppmi_matrix<double>(x, 10, cfg);
    // Three items kept: 6 ordered pairs, c_i = 2, N = 6, PMI = log(6 / 4).
    REQUIRE(p.nonZeros() == 6);
    std::vector<int> kept;
    for (int i = 0; i < 10; ++i)
        if (dmat(p).row(i).sum() > 0.0) kept.push_back(i);
    REQUIRE(kept.size() == 3);
    for (int i : kept)
        for (int j : kept)
            if (i != j) CHECK(p.coeff(i, j) == Approx(std::log(1.5)).epsilon(1e-12));
    // The same seed keeps the same items; some other seed keeps others.
    const auto again = bloom::models::ppmi_matrix<double>(x, 10, cfg);
    CHECK(dmat(again) == dmat(p));
    bool differs = false;
    for (std::uint64_t seed = 1; seed < 20 && !differs; ++seed) {
        cfg.seed = seed;
        differs = dmat(bloom::models::ppmi_matrix<double>(x, 10, cfg)) != dmat(p);
    }
    CHECK(differs);
    cfg.max_items_per_user = 0;  // no cap: all 10 items
    CHECK(bloom::models::ppmi_matrix<double>(x, 10, cfg).nonZeros() == 90);
}

TEST_CASE("pmi_embeddings is U sqrt(S) of the PPMI matrix", "[network][spectral]") {
    const auto x = sets({{2, 0, 1}, {0, 1, 1}, {1, 0}, {0, 1}, {3, 2}, {1, 3}});
    bloom::models::pmi_config cfg;
    const auto e = bloom::models::pmi_embeddings<double>(x, 6, 2, cfg);
    REQUIRE(e.rows() == 6);
    REQUIRE(e.cols() == 2);
    const dmat p = dmat(bloom::models::ppmi_matrix<double>(x, 6, cfg));
    Eigen::JacobiSVD<dmat> svd(p, Eigen::ComputeThinU | Eigen::ComputeThinV);
    REQUIRE(svd.singularValues()(1) - svd.singularValues()(2) > 1e-3);
    const dmat want = svd.matrixU().leftCols(2) *
                      svd.singularValues().head(2).cwiseSqrt().asDiagonal();
    CHECK(gap_up_to_sign(dmat(e), want) < 1e-10);
    CHECK(e.row(4).isZero(0.0));  // items 4 and 5 never occur
    CHECK(e.row(5).isZero(0.0));

    // The randomized path (d = 60, m = 2, l = 12) against the exact factorization; the product
    // E E^T does not depend on signs.
    const auto y = clustered_sets(90, 17);
    cfg.power_iterations = 4;
    const auto er = bloom::models::pmi_embeddings<double>(y, 60, 2, cfg);
    const dmat py = dmat(bloom::models::ppmi_matrix<double>(y, 60, cfg));
    Eigen::JacobiSVD<dmat> sy(py, Eigen::ComputeThinU | Eigen::ComputeThinV);
    REQUIRE(sy.singularValues()(1) > 1.5 * sy.singularValues()(2));
    const dmat wy = sy.matrixU().leftCols(2) * sy.singularValues().head(2).cwiseSqrt().asDiagonal();
    const dmat got = dmat(er);
    CHECK((got * got.transpose() - wy * wy.transpose()).cwiseAbs().maxCoeff() <
          1e-3 * sy.singularValues()(0));

    // Float tables, deterministic per seed.
    const auto f1 = bloom::models::pmi_embeddings(y, 60, 2, cfg);
    const auto f2 = bloom::models::pmi_embeddings(y, 60, 2, cfg);
    CHECK(f1 == f2);
    CHECK((f1.cast<double>() - got).cwiseAbs().maxCoeff() < 1e-3);
}

TEST_CASE("cca_embeddings matches a dense computation", "[network][spectral]") {
    const std::uint32_t d = 6;
    // Item 5 is in no input set and in no target set; item 4 only in targets.
    const auto in = sets({{0, 1}, {0, 2}, {1, 2, 3}, {3}, {0, 3, 0}, {2}, {1}});
    const auto out = sets({{1, 4}, {2}, {3, 1}, {4}, {0}, {2, 3}, {1}});
    for (const bool scale : {true, false}) {
        bloom::models::cca_config cfg;
        cfg.regularization = 0.5;
        cfg.scale = scale;
        const auto r = bloom::models::cca_embeddings<double>(in, out, d, 2, cfg);
        REQUIRE(r.in.rows() == d);
        REQUIRE(r.in.cols() == 2);
        REQUIRE(r.out.rows() == d);

        const dmat x = binary(in, d), y = binary(out, d);
        const dmat cxy = x.transpose() * y;
        const Eigen::VectorXd dx = x.colwise().sum().transpose().array() + 0.5;
        const Eigen::VectorXd dy = y.colwise().sum().transpose().array() + 0.5;
        const Eigen::VectorXd wx = dx.cwiseSqrt().cwiseInverse();
        const Eigen::VectorXd wy = dy.cwiseSqrt().cwiseInverse();
        const dmat m = wx.asDiagonal() * cxy * wy.asDiagonal();
        Eigen::JacobiSVD<dmat> svd(m, Eigen::ComputeThinU | Eigen::ComputeThinV);
        REQUIRE(svd.singularValues()(0) - svd.singularValues()(1) > 1e-3);
        REQUIRE(svd.singularValues()(1) - svd.singularValues()(2) > 1e-3);
        Eigen::VectorXd w = Eigen::VectorXd::Ones(2);
        if (scale) w = svd.singularValues().head(2).cwiseSqrt();
        dmat a = wx.asDiagonal() * svd.matrixU().leftCols(2) * w.asDiagonal();
        dmat b = wy.asDiagonal() * svd.matrixV().leftCols(2) * w.asDiagonal();
        a.row(4).setZero();  // not an input item: row 4 of M is zero
        a.row(5).setZero();
        b.row(5).setZero();
        // The same sign for a pair on both sides: flip by the input side's agreement.
        for (Eigen::Index k = 0; k < 2; ++k)
            if (a.col(k).dot(r.in.col(k)) < 0.0) {
                a.col(k) *= -1.0;
                b.col(k) *= -1.0;
            }
        CHECK((dmat(r.in) - a).cwiseAbs().maxCoeff() < 1e-10);
        CHECK((dmat(r.out) - b).cwiseAbs().maxCoeff() < 1e-10);
        CHECK((r.singular_values - svd.singularValues().head(2)).cwiseAbs().maxCoeff() < 1e-12);
    }
}

TEST_CASE("cca_embeddings on the randomized path", "[network][spectral]") {
    const auto in = clustered_sets(120, 5);
    const auto out = clustered_sets(120, 6);  // the same users: u % 3 picks the cluster
    bloom::models::cca_config cfg;
    cfg.power_iterations = 4;
    const auto r = bloom::models::cca_embeddings<double>(in, out, 60, 2, cfg);
    const dmat x = binary(in, 60), y = binary(out, 60);
    const Eigen::VectorXd wx =
        (x.colwise().sum().transpose().array() + 1.0).sqrt().inverse().matrix();
    const Eigen::VectorXd wy =
        (y.colwise().sum().transpose().array() + 1.0).sqrt().inverse().matrix();
    const dmat m = wx.asDiagonal() * (x.transpose() * y) * wy.asDiagonal();
    Eigen::JacobiSVD<dmat> svd(m, Eigen::ComputeThinU | Eigen::ComputeThinV);
    REQUIRE(svd.singularValues()(1) > 1.5 * svd.singularValues()(2));
    const Eigen::VectorXd w = svd.singularValues().head(2).cwiseSqrt();
    const dmat a = wx.asDiagonal() * svd.matrixU().leftCols(2) * w.asDiagonal();
    const dmat b = wy.asDiagonal() * svd.matrixV().leftCols(2) * w.asDiagonal();
    // <in_i, out_j>: the scores the tables give, free of signs.
    CHECK((dmat(r.in) * dmat(r.out).transpose() - a * b.transpose()).cwiseAbs().maxCoeff() < 1e-4);
    const auto again = bloom::models::cca_embeddings<double>(in, out, 60, 2, cfg);
    CHECK(again.in == r.in);
    CHECK(again.out == r.out);
}

TEST_CASE("pmi_embeddings and cca_embeddings reject bad input", "[network][spectral]") {
    using bloom::models::cca_embeddings;
    using bloom::models::pmi_embeddings;
    const auto x = sets({{0, 1}, {1, 2}, {2, 3}});
    REQUIRE_THROWS_WITH(pmi_embeddings(x, 4, 0), Catch::Contains("m = 0"));
    REQUIRE_THROWS_AS(pmi_embeddings(x, 4, 0), bloom::invalid_argument);
    REQUIRE_THROWS_WITH(pmi_embeddings(x, 4, 5), Catch::Contains("m = 5 dimensions exceed d = 4"));
    REQUIRE_THROWS_WITH(pmi_embeddings(x, 0, 1), Catch::Contains("d = 0"));
    REQUIRE_THROWS_AS(pmi_embeddings(x, 3, 2), bloom::out_of_range);  // item 3 >= d
    REQUIRE_THROWS_WITH(pmi_embeddings(x, 3, 2), Catch::Contains("item 3 of user 2"));
    bloom::models::pmi_config pc;
    pc.smoothing = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_WITH(pmi_embeddings(x, 4, 2, pc), Catch::Contains("smoothing"));
    pc.smoothing = 0.0;
    REQUIRE_THROWS_AS(pmi_embeddings(x, 4, 2, pc), bloom::invalid_argument);
    REQUIRE_THROWS_WITH(pmi_embeddings(sets({{0}, {1, 1}, {}}), 4, 2),
                        Catch::Contains("no user of the 3 has two distinct items"));
    REQUIRE_THROWS_WITH(pmi_embeddings(bloom::eval::user_items{}, 4, 2),
                        Catch::Contains("two distinct items"));
    bloom::eval::user_items bad = x;
    bad.offsets.back() = 5;
    REQUIRE_THROWS_AS(pmi_embeddings(bad, 4, 2), bloom::invalid_argument);

    const auto y = sets({{1}, {2}, {3}});
    REQUIRE_THROWS_WITH(cca_embeddings(x, y, 4, 0), Catch::Contains("m = 0"));
    REQUIRE_THROWS_WITH(cca_embeddings(x, y, 4, 7), Catch::Contains("exceed d = 4"));
    REQUIRE_THROWS_WITH(cca_embeddings(x, sets({{1}, {2}}), 4, 2),
                        Catch::Contains("3 users in the inputs but 2 in the targets"));
    REQUIRE_THROWS_WITH(cca_embeddings(x, sets({{}, {}, {}}), 4, 2),
                        Catch::Contains("the targets hold no items"));
    REQUIRE_THROWS_AS(cca_embeddings(x, sets({{1}, {4}, {3}}), 4, 2), bloom::out_of_range);
    REQUIRE_THROWS_WITH(cca_embeddings(x, sets({{1}, {4}, {3}}), 4, 2),
                        Catch::Contains("targets: item 4 of user 1"));
    bloom::models::cca_config cc;
    cc.regularization = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_WITH(cca_embeddings(x, y, 4, 2, cc), Catch::Contains("regularization"));
    cc.regularization = -1.0;
    REQUIRE_THROWS_AS(cca_embeddings(x, y, 4, 2, cc), bloom::invalid_argument);
    REQUIRE_THROWS_WITH(cca_embeddings(sets({{0}, {}}), sets({{}, {1}}), 4, 2),
                        Catch::Contains("no user has items in both"));
}
