// CCE embeddings: forward is the chunk-wise sum of the assigned rows, backward its gradient, a
// step changes only the rows (and optimizer state) the batch read, k-means and the reclustering
// give their known answers and are deterministic for a seed, fit() reclusters on schedule, and
// configuration errors are reported.
#include <catch2/catch.hpp>

#include <bloom/error.hpp>
#include <bloom/models/cce.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

namespace {

using namespace bloom::models;
using sgd = bloom::optim::sgd<double>;
using kind = cce_embedding<double, sgd>;

cce_options small(std::uint64_t rows, std::uint32_t tables, std::uint32_t chunks) {
    cce_options c;
    c.rows = rows;
    c.tables = tables;
    c.chunks = chunks;
    c.seed = 17;
    return c;
}

embedding_options dims(std::uint32_t d, std::uint64_t seed = 3) {
    embedding_options o;
    o.dim = d;
    o.seed = seed;
    return o;
}

// The embedding of id by the definition: chunk j is the sum over tables of the assigned rows.
template <class K>
std::vector<double> by_hand(const K& k, std::uint32_t id) {
    std::vector<double> e(k.dim(), 0.0);
    for (std::uint32_t j = 0; j < k.chunks(); ++j)
        for (std::uint32_t t = 0; t < k.tables(); ++t) {
            const auto& w = k.table(t, j).weights();
            for (std::uint32_t q = 0; q < k.width(j); ++q)
                e[k.chunk_begin(j) + q] += static_cast<double>(w(k.assignment(id, t, j), q));
        }
    return e;
}

std::vector<double> fwd(const kind& k, std::uint32_t id) {
    std::vector<double> e(k.dim());
    k.forward(id, e.data());
    return e;
}

}  // namespace

TEST_CASE("cce forward is the sum of the assigned rows, chunk by chunk", "[models][cce]") {
    kind k(30, small(5, 2, 3), dims(7), sgd::config{});
    REQUIRE(k.parameters() == 2 * 5 * 7);
    REQUIRE(k.rows() == 2 * 3 * 5);
    // chunks of 7 columns in 3: [0, 2), [2, 4), [4, 7)
    REQUIRE(k.chunk_begin(0) == 0);
    REQUIRE(k.chunk_begin(1) == 2);
    REQUIRE(k.chunk_begin(2) == 4);
    REQUIRE(k.width(2) == 3);
    REQUIRE(k.view(0) == nullptr);
    std::set<std::uint32_t> rows_seen;
    for (std::uint32_t id = 0; id < 30; ++id) {
        CHECK(fwd(k, id) == by_hand(k, id));
        for (std::uint32_t t = 0; t < 2; ++t)
            for (std::uint32_t j = 0; j < 3; ++j) {
                REQUIRE(k.assignment(id, t, j) < 5);
                rows_seen.insert(k.assignment(id, t, j));
            }
    }
    CHECK(rows_seen.size() == 5);  // the random assignments use every row
    // one table, one chunk: the embedding is a stored row
    kind one(10, small(4, 1, 1), dims(3), sgd::config{});
    CHECK(one.view(2) == one.table(0, 0).row(one.assignment(2, 0, 0)));
}

TEST_CASE("cce backward matches finite differences of forward", "[models][cce]") {
    kind k(12, small(3, 3, 2), dims(5), sgd::config{});  // 12 ids on 3 rows: rows shared
    std::vector<double> a(5);
    for (std::uint32_t c = 0; c < 5; ++c) a[c] = std::sin(1.0 + c);
    const auto loss = [&](std::uint32_t id) {
        const std::vector<double> e = fwd(k, id);
        double l = 0;
        for (std::uint32_t c = 0; c < 5; ++c) l += a[c] * e[c];
        return l;
    };
    for (std::uint32_t id : {0u, 5u, 11u}) {
        k.backward(id, a.data());
        for (std::uint32_t t = 0; t < 3; ++t)
            for (std::uint32_t j = 0; j < 2; ++j) {
                auto& tab = k.table(t, j);
                const auto g = tab.grads().to_row_sparse();
                REQUIRE(g.rows.size() == 1);
                REQUIRE(g.rows[0] == k.assignment(id, t, j));
                for (std::uint32_t q = 0; q < k.width(j); ++q) {
                    double& w = tab.weights()(g.rows[0], q);
                    const double w0 = w, h = 1e-6;
                    w = w0 + h;
                    const double lp = loss(id);
                    w = w0 - h;
                    const double lm = loss(id);
                    w = w0;
                    CHECK(g.values(0, q) == Approx((lp - lm) / (2 * h)).margin(1e-8));
                }
                tab.grads().clear();
            }
    }
}

TEST_CASE("a cce step changes only the rows the batch read, values and optimizer state",
          "[models][cce]") {
    using adam = bloom::optim::adam<float>;
    cce_embedding<float, adam> k(200, small(60, 2, 4), dims(8), adam::config{});
    // one step first, so that the moments are not all zero
    const float g[8] = {1, -2, 0.5f, 3, -1, 2, 0.25f, -0.5f};
    k.backward(7, g);
    k.step();
    std::vector<bloom::matrix<float>> w, m, v;
    for (std::uint32_t t = 0; t < 2; ++t)
        for (std::uint32_t j = 0; j < 4; ++j) {
            w.push_back(k.table(t, j).weights());
            m.push_back(k.table(t, j).optimizer().first_moment());
            v.push_back(k.table(t, j).optimizer().second_moment());
        }
    std::vector<std::set<std::uint32_t>> read(8);
    for (std::uint32_t id : {3u, 42u, 150u}) {
        k.backward(id, g);
        for (std::uint32_t t = 0; t < 2; ++t)
            for (std::uint32_t j = 0; j < 4; ++j) read[t * 4 + j].insert(k.assignment(id, t, j));
    }
    k.step();
    for (std::uint32_t p = 0; p < 8; ++p) {
        const auto& tab = k.table(p / 4, p % 4);
        for (Eigen::Index r = 0; r < 60; ++r) {
            const bool used = read[p].count(static_cast<std::uint32_t>(r)) == 1;
            const bool same = tab.weights().row(r) == w[p].row(r) &&
                              tab.optimizer().first_moment().row(r) == m[p].row(r) &&
                              tab.optimizer().second_moment().row(r) == v[p].row(r);
            CHECK(same == !used);
        }
    }
}

TEST_CASE("k-means finds well separated clusters, keeps identical points together, repeats for a seed",
          "[models][cce]") {
    // 4 groups of 25 points around far-apart centres, each point listed twice (identical pairs)
    const double centre[4][3] = {{10, 0, 0}, {0, 10, 0}, {0, 0, 10}, {-10, -10, -10}};
    std::mt19937_64 gen(5);
    std::normal_distribution<double> noise(0.0, 0.1);
    bloom::matrix<double> x(200, 3);
    for (Eigen::Index i = 0; i < 100; ++i)
        for (Eigen::Index c = 0; c < 3; ++c) {
            x(2 * i, c) = centre[i % 4][c] + noise(gen);
            x(2 * i + 1, c) = x(2 * i, c);
        }
    engine rng(1);
    bloom::matrix<double> cent;
    const std::uint32_t rounds = detail::kmeans(x, 4, 100, rng, cent);
    CHECK(rounds >= 2);  // at least one move and one pass that changes nothing
    CHECK(rounds < 100);
    std::vector<std::uint32_t> label(200, 0xFFFFFFFFu);
    bloom::matrix<double> dots;
    std::vector<double> norms;
    detail::nearest_centroids(x, cent, label, dots, norms);
    // one cluster per group; each centroid the mean of its group
    for (Eigen::Index i = 0; i < 200; ++i) {
        CHECK(label[i] == label[i % 8]);  // group of point i is (i / 2) % 4, the group of i % 8
        if (i % 2 == 1) CHECK(label[i] == label[i - 1]);
    }
    std::set<std::uint32_t> distinct(label.begin(), label.end());
    CHECK(distinct.size() == 4);
    for (int g = 0; g < 4; ++g) {
        Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(3);
        for (Eigen::Index i = 0; i < 200; ++i)
            if ((i / 2) % 4 == g) mean += x.row(i);
        mean /= 50.0;
        for (Eigen::Index c = 0; c < 3; ++c)
            CHECK(cent(label[2 * g], c) == Approx(mean(c)).margin(1e-12));
    }
    // the same seed, the same centroids bit for bit
    engine again(1);
    bloom::matrix<double> cent2;
    detail::kmeans(x, 4, 100, again, cent2);
    CHECK(cent2 == cent);
    // k above the points: every point is a centroid
    engine r3(2);
    bloom::matrix<double> few(2, 3), c3;
    few << 1, 2, 3, 4, 5, 6;
    CHECK(detail::kmeans(few, 3, 10, r3, c3) == 0);
    CHECK(c3.row(0) == few.row(0));
    CHECK(c3.row(1) == few.row(1));
}

TEST_CASE("k-means stops once the centroids settle (tolerance), as the same rounds without it",
          "[models][cce]") {
    // 400 uniform points in the unit square, 12 clusters: Lloyd takes many small moves
    std::mt19937_64 gen(11);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    bloom::matrix<double> x(400, 2);
    for (Eigen::Index i = 0; i < x.rows(); ++i) x(i, 0) = u(gen), x(i, 1) = u(gen);
    auto run = [&](std::uint32_t iterations, double tol, bloom::matrix<double>& cent) {
        engine rng(3);
        return detail::kmeans(x, 12, iterations, rng, cent, tol);
    };
    bloom::matrix<double> exact, loose, cut, once;
    const std::uint32_t r0 = run(500, 0.0, exact);
    const std::uint32_t r1 = run(500, 1e-2, loose);
    CHECK(r0 > 3);
    CHECK(r1 >= 1);
    CHECK(r1 < r0);
    // the tolerance only ends the rounds early: the same centroids as r1 rounds without it
    CHECK(run(r1, 0.0, cut) == r1);
    CHECK(cut == loose);
    // the last round moved the centroids by at most 1e-2 x the mean column variance; the exact
    // run's did not stop there, so r1 - 1 rounds (before the last) differ from r1 rounds
    bloom::matrix<double> before;
    run(r1 - 1, 0.0, before);
    const double var = ((x.rowwise() - x.colwise().mean()).array().square().colwise().sum() /
                        static_cast<double>(x.rows())).mean();
    CHECK((loose - before).squaredNorm() <= 1e-2 * var * (1 + 1e-9));
    CHECK((loose - before).squaredNorm() > 0);
    // a tolerance nothing is below: one round
    CHECK(run(500, 1e9, once) == 1);
}

TEST_CASE("cce recluster: nearest centroids, centroids and residual means, known vectors after",
          "[models][cce]") {
    cce_options c = small(5, 2, 2);
    c.sample_factor = 0;  // k-means on every id
    c.kmeans_iterations = 200;
    kind k(60, c, dims(4), sgd::config{});
    std::vector<std::vector<double>> pre(60);
    for (std::uint32_t id = 0; id < 60; ++id) pre[id] = fwd(k, id);
    engine rng(99);
    k.recluster(rng);
    CHECK(k.reclusters() == 1);
    for (std::uint32_t j = 0; j < 2; ++j) {
        const std::uint32_t b = k.chunk_begin(j), w = k.width(j);
        const auto& cent = k.table(0, j).weights();
        const auto& res = k.table(1, j).weights();
        auto dist = [&](std::uint32_t id, Eigen::Index r) {
            double s = 0;
            for (std::uint32_t q = 0; q < w; ++q) s += (pre[id][b + q] - cent(r, q)) * (pre[id][b + q] - cent(r, q));
            return s;
        };
        // every id on its nearest centroid
        for (std::uint32_t id = 0; id < 60; ++id)
            for (Eigen::Index r = 0; r < 5; ++r)
                CHECK(dist(id, k.assignment(id, 0, j)) <= dist(id, r) + 1e-12);
        // Lloyd converged: a centroid with ids is their mean; the hashed row is the mean residual
        std::vector<std::vector<double>> mean(5, std::vector<double>(w, 0.0)), rmean = mean;
        std::vector<int> cnt(5, 0), rcnt(5, 0);
        for (std::uint32_t id = 0; id < 60; ++id) {
            const std::uint32_t a0 = k.assignment(id, 0, j), a1 = k.assignment(id, 1, j);
            ++cnt[a0];
            ++rcnt[a1];
            for (std::uint32_t q = 0; q < w; ++q) {
                mean[a0][q] += pre[id][b + q];
                rmean[a1][q] += pre[id][b + q] - cent(a0, q);
            }
        }
        for (Eigen::Index r = 0; r < 5; ++r)
            for (std::uint32_t q = 0; q < w; ++q) {
                if (cnt[r] > 0) CHECK(cent(r, q) == Approx(mean[r][q] / cnt[r]).margin(1e-12));
                CHECK(res(r, q) == Approx(rcnt[r] > 0 ? rmean[r][q] / rcnt[r] : 0.0).margin(1e-12));
            }
        // forward after: the id's cluster mean plus its hashed bucket's mean residual
        for (std::uint32_t id = 0; id < 60; ++id) {
            const std::uint32_t a0 = k.assignment(id, 0, j), a1 = k.assignment(id, 1, j);
            const std::vector<double> e = fwd(k, id);
            for (std::uint32_t q = 0; q < w; ++q)
                CHECK(e[b + q] == Approx(mean[a0][q] / cnt[a0] + rmean[a1][q] / rcnt[a1]).margin(1e-12));
        }
    }
}

TEST_CASE("cce recluster puts identical vectors in one cluster and is deterministic for a seed",
          "[models][cce]") {
    // one table: ids that share a row have identical vectors
    cce_options c = small(4, 1, 1);
    kind a(40, c, dims(3), sgd::config{}), b(40, c, dims(3), sgd::config{});
    std::vector<std::uint32_t> before(40);
    for (std::uint32_t id = 0; id < 40; ++id) before[id] = a.assignment(id, 0, 0);
    engine r1(5), r2(5);
    a.recluster(r1);
    b.recluster(r2);
    for (std::uint32_t i = 0; i < 40; ++i)
        for (std::uint32_t j = 0; j < 40; ++j)
            if (before[i] == before[j]) CHECK(a.assignment(i, 0, 0) == a.assignment(j, 0, 0));
    for (std::uint32_t id = 0; id < 40; ++id) CHECK(a.assignment(id, 0, 0) == b.assignment(id, 0, 0));
    CHECK(a.table(0, 0).weights() == b.table(0, 0).weights());

    // two tables and a sample: the same seed gives the same model, another seed another
    cce_options s = small(6, 2, 2);
    s.sample_factor = 2;  // k-means on 12 of the 50 ids
    kind x(50, s, dims(6), sgd::config{}), y(50, s, dims(6), sgd::config{}), z(50, s, dims(6), sgd::config{});
    engine e1(8), e2(8), e3(9);
    x.recluster(e1);
    y.recluster(e2);
    z.recluster(e3);
    bool same_xy = true, same_xz = true;
    for (std::uint32_t id = 0; id < 50; ++id) {
        same_xy = same_xy && fwd(x, id) == fwd(y, id);
        same_xz = same_xz && fwd(x, id) == fwd(z, id);
        for (std::uint32_t t = 0; t < 2; ++t)
            for (std::uint32_t j = 0; j < 2; ++j) REQUIRE(x.assignment(id, t, j) < 6);
    }
    CHECK(same_xy);
    CHECK_FALSE(same_xz);
}

TEST_CASE("cce end_epoch reclusters after the first cluster_epochs epochs only", "[models][cce]") {
    cce_options c = small(5, 2, 2);
    c.cluster_epochs = 2;
    kind k(30, c, dims(4), sgd::config{});
    CHECK(k.end_epoch(0));
    CHECK(k.end_epoch(1));
    std::vector<std::vector<double>> e(30);
    for (std::uint32_t id = 0; id < 30; ++id) e[id] = fwd(k, id);
    CHECK_FALSE(k.end_epoch(2));
    CHECK(k.reclusters() == 2);
    for (std::uint32_t id = 0; id < 30; ++id) CHECK(fwd(k, id) == e[id]);
}

TEST_CASE("cce recluster resets the optimizer unless told not to", "[models][cce]") {
    using adam = bloom::optim::adam<double>;
    for (const bool reset : {true, false}) {
        cce_options c = small(5, 2, 1);
        c.reset_optimizer = reset;
        cce_embedding<double, adam> k(20, c, dims(2), adam::config{});
        const double g[2] = {1, -1};
        k.backward(3, g);
        k.step();
        const auto m = k.table(0, 0).optimizer().first_moment();
        REQUIRE(m.cwiseAbs().sum() > 0);
        engine rng(1);
        k.recluster(rng);
        CHECK(k.table(0, 0).optimizer().steps() == (reset ? 0u : 1u));
        CHECK((k.table(0, 0).optimizer().first_moment().cwiseAbs().sum() == 0) == reset);
        CHECK((k.table(1, 0).optimizer().second_moment().cwiseAbs().sum() == 0) == reset);
    }
}

TEST_CASE("a factorization of cce users and items reclusters on schedule, on one or two threads",
          "[models][cce]") {
    using adam = bloom::optim::adam<float>;
    using ck = cce_embedding<float, adam>;
    std::vector<std::uint32_t> users, items;
    std::mt19937_64 gen(3);
    for (std::uint32_t u = 0; u < 40; ++u)
        for (int t = 0; t < 10; ++t) {
            users.push_back(u);
            items.push_back(static_cast<std::uint32_t>(gen() % 60));
        }
    for (const std::uint32_t threads : {1u, 2u}) {
        cce_options c = small(6, 2, 2);
        c.cluster_epochs = 2;
        factorization<ck, ck, adam> f(ck(40, c, dims(8, 1), adam::config{}),
                                      ck(60, c, dims(8, 2), adam::config{}), adam::config{});
        fit_options fo;
        fo.epochs = 3;
        fo.batch = 16;
        fo.threads = threads;
        const fit_report rep = f.fit(users, items, fo);
        CHECK(f.user_embedding().reclusters() == 2);
        CHECK(f.item_embedding().reclusters() == 2);
        for (double l : rep.epoch_loss) CHECK(std::isfinite(l));
        CHECK(std::isfinite(f.predict(0, 0)));
    }
}

TEST_CASE("cce reports bad configuration and diverged vectors", "[models][cce]") {
    const sgd::config oc;
    CHECK_NOTHROW(kind(3, small(2, 2, 2), dims(4), oc));
    CHECK_THROWS_WITH(kind(3, small(0, 2, 2), dims(4), oc), Catch::Contains("rows must be at least 1"));
    CHECK_THROWS_WITH(kind(3, small(2, 0, 2), dims(4), oc), Catch::Contains("tables = 0"));
    CHECK_THROWS_WITH(kind(3, small(2, 2, 0), dims(4), oc), Catch::Contains("chunks = 0"));
    CHECK_THROWS_WITH(kind(3, small(2, 2, 5), dims(4), oc), Catch::Contains("chunks = 5, dim = 4"));
    CHECK_THROWS_WITH(kind(3, small(1ULL << 33, 2, 2), dims(4), oc), Catch::Contains("32-bit"));
    CHECK_THROWS_WITH(kind(0, small(2, 2, 2), dims(4), oc), Catch::Contains("n = 0"));
    CHECK_THROWS_WITH(kind(3, small(2, 2, 2), dims(0), oc), Catch::Contains("dim"));
    cce_options tol = small(2, 2, 2);
    tol.kmeans_tolerance = -1;
    CHECK_THROWS_WITH(kind(3, tol, dims(4), oc), Catch::Contains("kmeans_tolerance must be finite and at least 0"));
    tol.kmeans_tolerance = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(kind(3, tol, dims(4), oc), Catch::Contains("kmeans_tolerance"));
    embedding_options nan = dims(4);
    nan.init_std = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(kind(3, small(2, 2, 2), nan, oc), Catch::Contains("init_std is not finite"));
    // the budget: T x dim scalars per row
    CHECK(cce_rows_for_budget(1000, 32, 2) == 15);
    CHECK(cce_rows_for_budget(64, 32, 2) == 1);
    CHECK_THROWS_WITH(cce_rows_for_budget(63, 32, 2),
                      Catch::Contains("budget of 63 scalars cannot hold one row in each of the 2 tables of dim 32"));
    CHECK_THROWS_WITH(cce_rows_for_budget(63, 32, 0), Catch::Contains("tables = 0"));
    // a NaN weight stops the clustering with the id and the chunk
    kind k(10, small(3, 2, 2), dims(4), oc);
    k.table(1, 1).weights()(k.assignment(6, 1, 1), 0) = std::numeric_limits<double>::quiet_NaN();
    engine rng(1);
    CHECK_THROWS_WITH(k.recluster(rng), Catch::Contains("is not finite in chunk 1"));
}
