// TT-Rec embeddings: the factorization rules, forward against the explicit product and a known
// answer, every core scalar's gradient against finite differences, a step changes only the slices
// the batch used (values and Adam moments), the rank a budget buys, the initial variance, errors,
// the concurrent members, and batch mode (begin_batch / end_batch): the per-id rows and core
// gradients, and nothing touched by a batch without backward.
#include <catch2/catch.hpp>

#include <bloom/error.hpp>
#include <bloom/models/tt.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

namespace {

using namespace bloom::models;
using sgd = bloom::optim::sgd<double>;
using tt = tt_embedding<double, sgd>;
using factors = std::array<std::uint32_t, 3>;

tt_options rank_of(std::uint32_t r) {
    tt_options t;
    t.rank = r;
    return t;
}

embedding_options dim_of(std::uint32_t d, std::uint64_t seed = 0) {
    embedding_options o;
    o.dim = d;
    o.seed = seed;
    return o;
}

// e(id) as the product of matrices: row j1 of G1[i1] (1 x R) times the R x R slice j2 of
// G2[i2] times G3[i3] (R x d3, stored transposed), written with Eigen from the documented layouts.
std::vector<double> explicit_product(const tt& k, std::uint32_t id) {
    const factors nf = k.id_factors(), df = k.dim_factors();
    const std::uint32_t i3 = id % nf[2], i2 = (id / nf[2]) % nf[1], i1 = id / (nf[1] * nf[2]);
    const Eigen::Index R = k.rank();
    const auto& c1 = k.table(0).weights();
    const auto& c2 = k.table(1).weights();
    const auto& c3 = k.table(2).weights();
    Eigen::MatrixXd C(R, df[2]);
    for (Eigen::Index b = 0; b < R; ++b)
        for (std::uint32_t j3 = 0; j3 < df[2]; ++j3) C(b, j3) = c3(i3, j3 * R + b);
    std::vector<double> e;
    for (std::uint32_t j1 = 0; j1 < df[0]; ++j1)
        for (std::uint32_t j2 = 0; j2 < df[1]; ++j2) {
            Eigen::RowVectorXd a(R);
            for (Eigen::Index x = 0; x < R; ++x) a(x) = c1(i1, j1 * R + x);
            Eigen::MatrixXd B(R, R);
            for (Eigen::Index x = 0; x < R; ++x)
                for (Eigen::Index y = 0; y < R; ++y) B(x, y) = c2(i2, (x * df[1] + j2) * R + y);
            const Eigen::RowVectorXd row = a * B * C;
            for (std::uint32_t j3 = 0; j3 < df[2]; ++j3) e.push_back(row(j3));
        }
    return e;
}

double loss(const tt& k, std::uint32_t id, const std::vector<double>& w) {
    std::vector<double> e(k.dim());
    k.forward(id, e.data());
    double l = 0;
    for (std::uint32_t c = 0; c < k.dim(); ++c) l += w[c] * e[c];
    return l;
}

}  // namespace

TEST_CASE("tt factors the ids with little padding and the dim exactly", "[models][tt]") {
    CHECK(tt_id_factors(1) == factors{1, 1, 1});
    CHECK(tt_id_factors(2) == factors{2, 1, 1});
    CHECK(tt_id_factors(8) == factors{2, 2, 2});
    CHECK(tt_id_factors(9) == factors{3, 2, 2});
    CHECK(tt_id_factors(943) == factors{10, 10, 10});
    CHECK(tt_id_factors(1682) == factors{12, 12, 12});
    CHECK(tt_id_factors(100000) == factors{47, 47, 46});
    for (std::uint32_t n : {1u, 5u, 17u, 999u, 1000u, 1001u, 65537u, 4000000000u}) {
        const factors f = tt_id_factors(n);
        const std::uint64_t p = std::uint64_t{f[0]} * f[1] * f[2];
        CHECK(p >= n);
        CHECK(p - std::uint64_t{f[0]} * f[1] < n);  // n3 is the smallest that covers n
    }
    CHECK(tt_dim_factors(1) == factors{1, 1, 1});
    CHECK(tt_dim_factors(4) == factors{2, 1, 2});
    CHECK(tt_dim_factors(8) == factors{2, 2, 2});
    CHECK(tt_dim_factors(12) == factors{2, 2, 3});
    CHECK(tt_dim_factors(24) == factors{3, 2, 4});
    CHECK(tt_dim_factors(32) == factors{4, 2, 4});
    CHECK(tt_dim_factors(64) == factors{4, 4, 4});
    CHECK(tt_dim_factors(100) == factors{5, 4, 5});  // 4 x 5 x 5 beats 2 x 5 x 10
    CHECK_THROWS_WITH(tt_dim_factors(31), Catch::Contains("prime") && Catch::Contains("31"));
    CHECK_THROWS_WITH(tt_dim_factors(2), Catch::Contains("prime"));
}

TEST_CASE("tt forward is the product of the cores' slices", "[models][tt]") {
    SECTION("a known answer at rank 1: an outer product") {
        tt k(8, rank_of(1), dim_of(8), sgd::config{});  // ids 2 x 2 x 2, dims 2 x 2 x 2
        REQUIRE(k.id_factors() == factors{2, 2, 2});
        REQUIRE(k.dim_factors() == factors{2, 2, 2});
        // id 6 = (1, 1, 0)
        k.table(0).weights().row(1) << 1, 2;
        k.table(1).weights().row(1) << 3, 5;
        k.table(2).weights().row(0) << 7, 11;
        std::vector<double> e(8);
        k.forward(6, e.data());
        CHECK(e == std::vector<double>{21, 33, 35, 55, 42, 66, 70, 110});
        REQUIRE(k.view(6) == nullptr);
    }
    SECTION("rank 3, padded ids, uneven dims") {
        tt k(23, rank_of(3), dim_of(12, 4), sgd::config{});  // ids 3 x 3 x 3, dims 2 x 2 x 3
        REQUIRE(k.id_factors() == factors{3, 3, 3});
        REQUIRE(k.parameters() == 3 * 2 * 3 + 3 * 3 * 2 * 3 + 3 * 3 * 3);
        REQUIRE(k.rows() == 9);
        for (std::uint32_t id = 0; id < 23; ++id) {
            std::vector<double> e(12);
            k.forward(id, e.data());
            const std::vector<double> want = explicit_product(k, id);
            for (std::uint32_t c = 0; c < 12; ++c) CHECK(e[c] == Approx(want[c]).margin(1e-15));
            const auto ix = k.indices(id);
            CHECK((ix[0] * 3 + ix[1]) * 3 + ix[2] == id);
        }
    }
}

TEST_CASE("tt backward matches finite differences for every core scalar", "[models][tt]") {
    tt_options t;
    t.rank = 3;
    t.dims = {2, 3, 2};  // explicit, and d2 > 1 so core 2's slices have several j2
    tt k(20, t, dim_of(12, 7), sgd::config{});
    REQUIRE(k.dim_factors() == factors{2, 3, 2});
    std::vector<double> w(12);
    for (std::uint32_t c = 0; c < 12; ++c) w[c] = std::sin(1.0 + c);
    for (std::uint32_t id : {0u, 7u, 19u}) {
        k.backward(id, w.data());
        for (std::size_t core = 0; core < 3; ++core) {
            auto& tab = k.table(core);
            const auto g = tab.grads().to_row_sparse();
            REQUIRE(g.rows.size() == 1);  // one slice per core
            REQUIRE(g.rows[0] == k.indices(id)[core]);
            auto& wt = tab.weights();
            for (Eigen::Index r = 0; r < wt.rows(); ++r)
                for (Eigen::Index c = 0; c < wt.cols(); ++c) {
                    const double h = 1e-6, x = wt(r, c);
                    wt(r, c) = x + h;
                    const double lp = loss(k, id, w);
                    wt(r, c) = x - h;
                    const double lm = loss(k, id, w);
                    wt(r, c) = x;
                    const double fd = (lp - lm) / (2 * h);
                    const double got = r == g.rows[0] ? g.values(0, c) : 0.0;
                    CHECK(got == Approx(fd).margin(1e-8));
                }
            tab.grads().clear();
        }
    }
    // Two ids sharing slices of cores 1 and 2 add their gradients there.
    tt k2(20, t, dim_of(12, 7), sgd::config{});
    k2.backward(0, w.data());
    k2.backward(1, w.data());  // (0, 0, 1): the same i1 and i2
    CHECK(k2.table(0).grads().touched() == 1);
    CHECK(k2.table(1).grads().touched() == 1);
    CHECK(k2.table(2).grads().touched() == 2);
    // visit_grads: the three cores' batch gradients, in core order
    std::vector<std::size_t> touched;
    k2.visit_grads([&](row_grads<double>& rg) { touched.push_back(rg.touched()); });
    CHECK(touched == std::vector<std::size_t>{1, 1, 2});
}

TEST_CASE("a tt step changes only the slices the batch used, values and adam state",
          "[models][tt]") {
    using adam = bloom::optim::adam<float>;
    tt_options t;
    t.rank = 4;
    tt_embedding<float, adam> k(1000, t, dim_of(8), adam::config{});  // ids 10 x 10 x 10
    std::array<bloom::matrix<float>, 3> before, m0, v0;
    // a first step so that every moment is allocated and some are non-zero
    const std::vector<float> g(8, 0.5f);
    k.backward(999, g.data());
    k.step();
    for (std::size_t c = 0; c < 3; ++c) {
        before[c] = k.table(c).weights();
        m0[c] = k.table(c).optimizer().first_moment();
        v0[c] = k.table(c).optimizer().second_moment();
        REQUIRE(m0[c].rows() == before[c].rows());
    }
    std::array<std::set<std::uint32_t>, 3> used;
    for (std::uint32_t id : {3u, 42u, 517u}) {
        k.backward(id, g.data());
        for (std::size_t c = 0; c < 3; ++c) used[c].insert(k.indices(id)[c]);
    }
    k.step();
    for (std::size_t c = 0; c < 3; ++c) {
        const auto& w = k.table(c).weights();
        const auto& m = k.table(c).optimizer().first_moment();
        const auto& v = k.table(c).optimizer().second_moment();
        for (Eigen::Index r = 0; r < w.rows(); ++r) {
            const bool same = w.row(r) == before[c].row(r) && m.row(r) == m0[c].row(r) &&
                              v.row(r) == v0[c].row(r);
            CHECK(same == (used[c].count(static_cast<std::uint32_t>(r)) == 0));
        }
    }
}

TEST_CASE("tt takes the largest rank the budget holds", "[models][tt]") {
    // ML-100K's users at 1/5: 943 ids (10 x 10 x 10), dim 32 (4 x 2 x 4):
    // 40 R + 20 R^2 + 40 R scalars; 6035 holds R = 15 (5700), not 16 (6400).
    tt_options t;
    t.budget = 6035;
    tt k(943, t, dim_of(32), sgd::config{});
    CHECK(k.rank() == 15);
    CHECK(k.parameters() == 5700);
    CHECK(tt_parameters(k.id_factors(), k.dim_factors(), 16) == 6400);
    t.budget = 6400;
    CHECK(tt(943, t, dim_of(32), sgd::config{}).rank() == 16);
    t.budget = 100;  // exactly rank 1
    CHECK(tt(943, t, dim_of(32), sgd::config{}).parameters() == 100);
    // a rank within the budget is taken as given
    t.budget = 6035;
    t.rank = 7;
    CHECK(tt(943, t, dim_of(32), sgd::config{}).rank() == 7);
    // a huge budget stops at tt_max_rank, or where d2 R would pass tt_scratch
    const factors nf{2, 2, 2}, df{1, 1, 1};
    CHECK(tt_rank_for(nf, df, std::uint64_t{1} << 40) == tt_max_rank);
    CHECK(tt_rank_for(nf, {8, 8, 8}, std::uint64_t{1} << 40) == tt_scratch / 8);
    CHECK(tt_rank_limit({8, 8, 8}) == 256);
    CHECK(tt_rank_limit({4, 4, 4}) == tt_max_rank);
    // every budget's rank fits, and the next does not
    for (std::uint64_t b = 100; b < 20000; b += 37) {
        const std::uint32_t r = tt_rank_for({10, 10, 10}, {4, 2, 4}, b);
        CHECK(tt_parameters({10, 10, 10}, {4, 2, 4}, r) <= b);
        CHECK(tt_parameters({10, 10, 10}, {4, 2, 4}, r + 1) > b);
    }
}

TEST_CASE("tt's initial product has the full table's variance", "[models][tt]") {
    for (std::uint32_t r : {4u, 16u}) {
        tt k(4096, rank_of(r), dim_of(32, 3), sgd::config{});  // ids 16 x 16 x 16
        double s2 = 0;
        std::size_t n = 0;
        std::vector<double> e(32);
        for (std::uint32_t id = 0; id < 4096; ++id) {
            k.forward(id, e.data());
            for (double x : e) s2 += x * x, ++n;
        }
        const double sd = std::sqrt(s2 / static_cast<double>(n));
        // sigma = 1/dim; off by R^(1/3) or more if the rank were left out of the scale
        CHECK(sd == Approx(1.0 / 32).epsilon(0.1));
    }
}

TEST_CASE("tt reports bad configuration", "[models][tt]") {
    sgd::config oc;
    CHECK_NOTHROW(tt(10, rank_of(2), dim_of(8), oc));
    CHECK_THROWS_WITH(tt(10, tt_options{}, dim_of(8), oc),
                      Catch::Contains("rank 0") && Catch::Contains("budget"));
    CHECK_THROWS_WITH(tt(10, rank_of(tt_max_rank + 1), dim_of(8), oc), Catch::Contains("513"));
    CHECK_NOTHROW(tt(10, rank_of(256), dim_of(512), oc));  // d2 = 8: 8 x 256 = tt_scratch
    CHECK_THROWS_WITH(tt(10, rank_of(257), dim_of(512), oc),
                      Catch::Contains("rank 257") && Catch::Contains("limit 256"));
    tt_options small;
    small.budget = 5;  // 1000 ids at dim 8 need 10*2 + 10*2 + 10*2 = 60 at rank 1
    CHECK_THROWS_WITH(tt(1000, small, dim_of(8), oc),
                      Catch::Contains("budget of 5") && Catch::Contains("60"));
    tt_options over = rank_of(4);
    over.budget = 100;
    CHECK_THROWS_WITH(tt(1000, over, dim_of(8), oc), Catch::Contains("rank 4"));
    CHECK_THROWS_WITH(tt(10, rank_of(2), dim_of(31), oc), Catch::Contains("prime"));
    tt_options d = rank_of(2);
    d.dims = {1, 1, 31};
    CHECK(tt(10, d, dim_of(31), oc).dim_factors() == factors{1, 1, 31});
    d.dims = {2, 2, 2};
    CHECK_THROWS_WITH(tt(10, d, dim_of(12), oc), Catch::Contains("dim 12"));
    d.dims = {0, 3, 4};
    CHECK_THROWS_AS(tt(10, d, dim_of(12), oc), bloom::invalid_argument);
    CHECK_THROWS_AS(tt(0, rank_of(2), dim_of(8), oc), bloom::invalid_argument);
    CHECK_THROWS_WITH(tt(10, rank_of(2), dim_of(0), oc), Catch::Contains("dim"));
    embedding_options nan = dim_of(8);
    nan.init_std = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(tt(10, rank_of(2), nan, oc), Catch::Contains("init_std"));
    embedding_options zeros = dim_of(8);
    zeros.init_std = -1;
    CHECK_THROWS_WITH(tt(10, rank_of(2), zeros, oc), Catch::Contains("init_std"));
}

TEST_CASE("tt trains on two workers with adam", "[models][tt]") {
    using adam = bloom::optim::adam<double>;
    tt_options t = rank_of(3);
    tt_embedding<double, adam> k(60, t, dim_of(8), adam::config{});
    k.set_workers(2);
    std::vector<double> a(8);
    for (std::uint32_t c = 0; c < 8; ++c) a[c] = std::cos(2.0 + c);
    std::vector<double> e(8);
    const std::uint32_t ids[2] = {1, 44};
    auto total = [&] {
        double l = 0;
        for (std::uint32_t id : ids) {
            k.forward(id, e.data());
            for (std::uint32_t c = 0; c < 8; ++c) l += a[c] * e[c];
        }
        return l;
    };
    const double l0 = total();
    k.backward(ids[0], a.data(), 0);
    k.backward(ids[1], a.data(), 1);
    CHECK_FALSE(k.table(0).grads(1).empty());
    k.step_concurrent(0, 0);
    k.step_concurrent(1, 1);
    k.end_concurrent(2);
    CHECK(total() < l0);
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(k.table(c).grads(0).empty());
        CHECK(k.table(c).grads(1).empty());
        CHECK(k.table(c).optimizer().steps() == 2);
    }
    k.set_workers(1);
}

namespace {

// Every core's pending gradient, as sorted rows and values.
std::array<bloom::row_sparse<double>, 3> core_grads(tt& k) {
    return {k.table(0).grads().to_row_sparse(), k.table(1).grads().to_row_sparse(),
            k.table(2).grads().to_row_sparse()};
}

}  // namespace

TEST_CASE("tt batch mode gives the per-id embeddings and core gradients", "[models][tt][batch]") {
    tt_options t = rank_of(3);
    t.dims = {2, 3, 2};
    // ids 4 x 4 x 4: (i1, i2) = id / 4, so 4..7 share a prefix, as do 20..23
    tt a(60, t, dim_of(12, 9), sgd::config{}), b(60, t, dim_of(12, 9), sgd::config{});
    REQUIRE(a.id_factors() == factors{4, 4, 4});
    // repeats, runs of a shared prefix, a lone id per prefix; 40 is in the batch without a
    // backward (a sampled id whose example skipped its backward)
    const std::vector<std::uint32_t> batch = {5, 6, 7, 5, 21, 22, 59, 6, 40, 0, 1, 23, 5, 4};
    std::vector<std::uint32_t> back;
    for (std::uint32_t id : batch)
        if (id != 40) back.push_back(id);
    CHECK(a.view(5) == nullptr);
    a.begin_batch(batch.data(), batch.size());
    std::vector<double> e(12);
    for (std::uint32_t id : batch) {
        const double* v = a.view(id);
        REQUIRE(v != nullptr);
        a.forward(id, e.data());
        for (std::uint32_t c = 0; c < 12; ++c) CHECK(v[c] == Approx(e[c]).epsilon(1e-12).margin(1e-15));
    }
    CHECK(a.view(2) == nullptr);  // not in the batch (its prefix is)
    CHECK(a.view(33) == nullptr);
    // a different gradient for each occurrence, the same to both kinds
    std::vector<double> g(12);
    for (std::size_t s = 0; s < back.size(); ++s) {
        for (std::uint32_t c = 0; c < 12; ++c) g[c] = std::sin(0.7 * static_cast<double>(s) + c);
        a.backward(back[s], g.data());
        b.backward(back[s], g.data());
    }
    // nothing reaches the cores before end_batch
    for (std::size_t c = 0; c < 3; ++c) CHECK(a.table(c).grads().empty());
    a.end_batch();
    CHECK(a.view(5) == nullptr);
    const auto ga = core_grads(a), gb = core_grads(b);
    for (std::size_t c = 0; c < 3; ++c) {
        INFO("core " << c);
        CHECK(ga[c].rows == gb[c].rows);  // the same touched rows (40's i1 = 2 is nobody else's)
        REQUIRE(ga[c].values.rows() == gb[c].values.rows());
        for (Eigen::Index r = 0; r < ga[c].values.rows(); ++r)
            for (Eigen::Index x = 0; x < ga[c].values.cols(); ++x)
                CHECK(ga[c].values(r, x) == Approx(gb[c].values(r, x)).epsilon(1e-12).margin(1e-14));
    }
    CHECK(std::find(ga[0].rows.begin(), ga[0].rows.end(), 2u) == ga[0].rows.end());
    // visit_grads sees them, cores in order
    std::vector<std::size_t> touched;
    a.visit_grads([&](row_grads<double>& rg) { touched.push_back(rg.touched()); });
    CHECK(touched == std::vector<std::size_t>{ga[0].rows.size(), ga[1].rows.size(), ga[2].rows.size()});
    // a step: the rows no backward reached stay bit-identical, the others move as b's do
    std::array<bloom::matrix<double>, 3> before;
    for (std::size_t c = 0; c < 3; ++c) before[c] = a.table(c).weights();
    a.step();
    b.step();
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(a.table(c).grads().empty());
        const auto& w = a.table(c).weights();
        for (Eigen::Index r = 0; r < w.rows(); ++r) {
            const bool used = std::find(ga[c].rows.begin(), ga[c].rows.end(),
                                        static_cast<std::uint32_t>(r)) != ga[c].rows.end();
            CHECK((w.row(r) == before[c].row(r)) == !used);
            for (Eigen::Index x = 0; x < w.cols(); ++x)
                CHECK(w(r, x) == Approx(b.table(c).weights()(r, x)).epsilon(1e-12).margin(1e-14));
        }
    }
    // the next batch reads the stepped cores
    const std::uint32_t again[] = {5, 58};
    a.begin_batch(again, 2);
    for (std::uint32_t id : again) {
        a.forward(id, e.data());
        for (std::uint32_t c = 0; c < 12; ++c) CHECK(a.view(id)[c] == Approx(e[c]).epsilon(1e-12).margin(1e-15));
    }
    CHECK(a.view(6) == nullptr);
    a.end_batch();
}

TEST_CASE("a tt batch without backward touches nothing", "[models][tt][batch]") {
    using adam = bloom::optim::adam<double>;
    tt_options t = rank_of(4);
    tt_embedding<double, adam> k(1000, t, dim_of(8, 2), adam::config{});
    const std::vector<double> g(8, 0.25);
    k.backward(17, g.data());  // a first step, so that the moments are not all zero
    k.step();
    std::array<bloom::matrix<double>, 3> w0, m0, v0;
    for (std::size_t c = 0; c < 3; ++c) {
        w0[c] = k.table(c).weights();
        m0[c] = k.table(c).optimizer().first_moment();
        v0[c] = k.table(c).optimizer().second_moment();
    }
    // a diverged batch: begin_batch, the forward, no backward, end_batch
    const std::uint32_t ids[] = {3, 999, 3, 410, 411};
    k.begin_batch(ids, 5);
    CHECK(k.view(999) != nullptr);
    k.end_batch();
    CHECK(k.view(999) == nullptr);
    // an empty batch; end_batch outside a batch does nothing
    k.begin_batch(ids, 0);
    CHECK(k.view(3) == nullptr);
    k.end_batch();
    k.end_batch();
    for (std::size_t c = 0; c < 3; ++c) CHECK(k.table(c).grads().empty());
    k.step();
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(k.table(c).weights() == w0[c]);
        CHECK(k.table(c).optimizer().first_moment() == m0[c]);
        CHECK(k.table(c).optimizer().second_moment() == v0[c]);
    }
    // outside a batch, backward is the per-id one again
    k.backward(3, g.data());
    CHECK(k.table(0).grads().touched() == 1);
}

TEST_CASE("tt batch mode on float at the sizes bloom-compare trains", "[models][tt][batch]") {
    // ML-100K's items at ratio 0.2: 1682 ids (12 x 12 x 12), dim 32 (4 x 2 x 4), rank 19
    using adam = bloom::optim::adam<float>;
    tt_options t;
    t.budget = 10764;
    tt_embedding<float, adam> a(1682, t, dim_of(32, 5), adam::config{}),
        b(1682, t, dim_of(32, 5), adam::config{});
    REQUIRE(a.rank() == 19);
    std::vector<std::uint32_t> batch;
    std::uint64_t x = 12345;
    for (int s = 0; s < 512; ++s) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        batch.push_back(static_cast<std::uint32_t>((x >> 33) % 300) * 5 % 1682);  // repeats
    }
    a.begin_batch(batch.data(), batch.size());
    std::vector<float> e(32), g(32);
    double scale = 0;
    for (std::uint32_t id : batch) {
        a.forward(id, e.data());
        for (std::uint32_t c = 0; c < 32; ++c) {
            CHECK(a.view(id)[c] == Approx(e[c]).epsilon(1e-4).margin(1e-6));
            scale = std::max(scale, std::abs(static_cast<double>(e[c])));
        }
    }
    CHECK(scale > 1e-3);  // the rows are not all zeros
    for (std::size_t s = 0; s < batch.size(); ++s) {
        for (std::uint32_t c = 0; c < 32; ++c) g[c] = std::cos(0.3f * static_cast<float>(s + c));
        a.backward(batch[s], g.data());
        b.backward(batch[s], g.data());
    }
    a.end_batch();
    for (std::size_t c = 0; c < 3; ++c) {
        const auto ra = a.table(c).grads().to_row_sparse(), rb = b.table(c).grads().to_row_sparse();
        CHECK(ra.rows == rb.rows);
        REQUIRE(ra.values.rows() == rb.values.rows());
        const float big = rb.values.cwiseAbs().maxCoeff();
        CHECK((ra.values - rb.values).cwiseAbs().maxCoeff() <= 1e-4f * big);
    }
}

TEST_CASE("tt above tt_scratch (a row of core 1 at a time) is the same product and gradient",
          "[models][tt]") {
    // d1 d2 R = 8 x 8 x 33 = 2112 scalars, more than tt_scratch: the row loops, not the products
    tt_options t = rank_of(33);
    t.dims = {8, 8, 1};
    tt k(8, t, dim_of(64, 11), sgd::config{});  // ids 2 x 2 x 2
    REQUIRE(std::size_t{8} * 8 * k.rank() > tt_scratch);
    std::vector<double> e(64), w(64);
    for (std::uint32_t c = 0; c < 64; ++c) w[c] = std::cos(0.5 + c);
    for (std::uint32_t id : {0u, 5u, 7u}) {
        k.forward(id, e.data());
        const std::vector<double> want = explicit_product(k, id);
        for (std::uint32_t c = 0; c < 64; ++c) CHECK(e[c] == Approx(want[c]).epsilon(1e-12).margin(1e-16));
    }
    // the gradient against finite differences, on a sample of every core's scalars of id 6
    const std::uint32_t id = 6;
    k.backward(id, w.data());
    for (std::size_t core = 0; core < 3; ++core) {
        const auto g = k.table(core).grads().to_row_sparse();
        REQUIRE(g.rows.size() == 1);
        auto& wt = k.table(core).weights();
        const Eigen::Index r = g.rows[0];
        for (Eigen::Index c = 0; c < wt.cols(); c += 37) {
            const double h = 1e-6, x = wt(r, c);
            wt(r, c) = x + h;
            const double lp = loss(k, id, w);
            wt(r, c) = x - h;
            const double lm = loss(k, id, w);
            wt(r, c) = x;
            CHECK(g.values(0, c) == Approx((lp - lm) / (2 * h)).margin(1e-8));
        }
    }
}
