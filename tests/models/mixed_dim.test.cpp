// Mixed-dimension embeddings: forward, gradients, budget, errors, concurrent members.
#include <catch2/catch.hpp>

#include <bloom/error.hpp>
#include <bloom/models/mixed_dim.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

using namespace bloom::models;
using sgd = bloom::optim::sgd<double>;
using md = mixed_dim_embedding<double, sgd>;

std::vector<std::uint64_t> skewed(std::uint32_t n) {
    std::vector<std::uint64_t> c(n);
    for (std::uint32_t i = 0; i < n; ++i) c[i] = (i * 7919u) % 101u;  // an order unlike the ids'
    return c;
}

double loss(const mixed_dim_embedding<double, sgd>& k, std::uint32_t id, const std::vector<double>& a) {
    std::vector<double> e(k.dim());
    k.forward(id, e.data());
    double l = 0;
    for (std::uint32_t c = 0; c < k.dim(); ++c) l += a[c] * e[c];
    return l;
}

}  // namespace

TEST_CASE("mixed_dim forward is the projected row and its gradients match finite differences",
          "[models][mixed_dim]") {
    embedding_options o;
    o.dim = 8;
    o.seed = 5;
    mixed_dim_options m;
    m.budget = 40 * 8 / 2;
    m.buckets = 4;
    sgd::config oc;
    mixed_dim_embedding<double, sgd> k(40, skewed(40), m, o, oc);
    REQUIRE(k.parameters() <= m.budget);
    // an id of the last bucket has a projection
    std::uint32_t id = 0;
    while (k.bucket_of(id) != 3) ++id;
    const std::uint32_t b = 3, db = k.bucket_dim(id);
    REQUIRE(db < 8);
    REQUIRE(k.view(id) == nullptr);
    const auto& E = k.table(b).weights();
    const auto& P = k.projection(b).weights();
    std::vector<double> e(8);
    k.forward(id, e.data());
    for (std::uint32_t c = 0; c < 8; ++c) {
        double want = 0;
        for (std::uint32_t j = 0; j < db; ++j) want += P(j, c) * E(k.row_of(id), j);
        CHECK(e[c] == Approx(want).margin(1e-12));
    }
    std::vector<double> a(8);
    for (std::uint32_t c = 0; c < 8; ++c) a[c] = std::sin(1.0 + c);
    k.backward(id, a.data());
    const auto ge = k.table(b).grads().to_row_sparse();
    const auto gp = k.projection(b).grads().to_row_sparse();
    REQUIRE(ge.rows.size() == 1);
    REQUIRE(gp.rows.size() == db);
    const double h = 1e-6;
    for (std::uint32_t j = 0; j < db; ++j) {
        double& w = k.table(b).weights()(k.row_of(id), j);
        const double w0 = w;
        w = w0 + h;
        const double lp = loss(k, id, a);
        w = w0 - h;
        const double lm = loss(k, id, a);
        w = w0;
        CHECK(ge.values(0, j) == Approx((lp - lm) / (2 * h)).margin(1e-7));
    }
    for (std::size_t r = 0; r < gp.rows.size(); ++r)
        for (std::uint32_t c = 0; c < 8; ++c) {
            double& w = k.projection(b).weights()(gp.rows[r], c);
            const double w0 = w;
            w = w0 + h;
            const double lp = loss(k, id, a);
            w = w0 - h;
            const double lm = loss(k, id, a);
            w = w0;
            CHECK(gp.values(static_cast<Eigen::Index>(r), c) == Approx((lp - lm) / (2 * h)).margin(1e-7));
        }
}

TEST_CASE("mixed_dim step leaves the rows of other ids unchanged", "[models][mixed_dim]") {
    embedding_options o;
    o.dim = 6;
    mixed_dim_options m;
    m.budget = 30 * 6;
    sgd::config oc;
    oc.lr = 0.1;
    mixed_dim_embedding<double, sgd> k(30, skewed(30), m, o, oc);
    std::vector<std::vector<double>> before;
    for (std::size_t b = 0; b < k.buckets(); ++b) {
        const auto& w = k.table(b).weights();
        before.emplace_back(w.data(), w.data() + w.size());
    }
    const std::vector<double> g(6, 1.0);
    k.backward(3, g.data());
    k.backward(17, g.data());
    k.step();
    for (std::size_t b = 0; b < k.buckets(); ++b) {
        const auto& w = k.table(b).weights();
        for (Eigen::Index r = 0; r < w.rows(); ++r) {
            bool touched = false;
            for (std::uint32_t id : {3u, 17u})
                touched |= k.bucket_of(id) == b && k.row_of(id) == r;
            bool same = true;
            for (Eigen::Index c = 0; c < w.cols(); ++c)
                same &= w(r, c) == before[b][static_cast<std::size_t>(r * w.cols() + c)];
            CHECK(same == !touched);
        }
    }
}

TEST_CASE("mixed_dim fits the budget and gives frequent ids the larger dim", "[models][mixed_dim]") {
    embedding_options o;
    o.dim = 16;
    sgd::config oc;
    const auto counts = skewed(200);
    for (double ratio : {1.0, 0.5, 0.2, 0.1}) {
        mixed_dim_options m;
        m.budget = static_cast<std::uint64_t>(ratio * 200 * 16);
        mixed_dim_embedding<double, sgd> k(200, counts, m, o, oc);
        CHECK(k.parameters() <= m.budget);
        for (std::uint32_t i = 0; i < 200; ++i)
            for (std::uint32_t j = 0; j < 200; ++j)
                if (counts[i] > counts[j]) REQUIRE(k.bucket_dim(i) >= k.bucket_dim(j));
    }
    mixed_dim_options full;
    full.budget = 200 * 16;
    mixed_dim_embedding<double, sgd> k(200, counts, full, o, oc);
    std::uint32_t top = 0;
    for (std::uint32_t i = 0; i < 200; ++i)
        if (counts[i] > counts[top]) top = i;
    CHECK(k.bucket_of(top) == 0);
    CHECK(k.bucket_dim(top) == 16);
    CHECK(k.view(top) != nullptr);
}

TEST_CASE("mixed_dim rejects bad configuration", "[models][mixed_dim]") {
    embedding_options o;
    o.dim = 8;
    sgd::config oc;
    mixed_dim_options m;
    m.budget = 1000;
    CHECK_THROWS_AS(md(0, {}, m, o, oc), bloom::invalid_argument);
    CHECK_THROWS_AS(md(10, skewed(9), m, o, oc), bloom::invalid_argument);
    mixed_dim_options none = m;
    none.buckets = 0;
    CHECK_THROWS_AS(md(10, skewed(10), none, o, oc), bloom::invalid_argument);
    mixed_dim_options tiny = m;
    tiny.budget = 40;  // 100 ids need 100 + 4 * 8 scalars at dim 1
    CHECK_THROWS_WITH(md(100, skewed(100), tiny, o, oc),
                      Catch::Contains("mixed_dim_embedding") && Catch::Contains("40"));
    embedding_options zero = o;
    zero.dim = 0;
    CHECK_THROWS_AS(md(10, skewed(10), m, zero, oc), bloom::invalid_argument);
}

TEST_CASE("mixed_dim concurrent members train with adam", "[models][mixed_dim]") {
    using adam = bloom::optim::adam<double>;
    embedding_options o;
    o.dim = 8;
    mixed_dim_options m;
    m.budget = 50 * 8 / 3;
    adam::config oc;
    mixed_dim_embedding<double, adam> k(50, skewed(50), m, o, oc);
    k.set_workers(2);
    std::vector<double> a(8);
    for (std::uint32_t c = 0; c < 8; ++c) a[c] = std::cos(2.0 + c);
    std::vector<double> e0(8), e1(8);
    const std::uint32_t ids[2] = {1, 44};
    double l0 = 0, l1 = 0;
    for (std::uint32_t id : ids) {
        k.forward(id, e0.data());
        for (std::uint32_t c = 0; c < 8; ++c) l0 += a[c] * e0[c];
    }
    k.backward(ids[0], a.data(), 0);
    k.backward(ids[1], a.data(), 1);
    k.step_concurrent(0, 0);
    k.step_concurrent(1, 1);
    k.end_concurrent(2);
    for (std::uint32_t id : ids) {
        k.forward(id, e1.data());
        for (std::uint32_t c = 0; c < 8; ++c) l1 += a[c] * e1[c];
    }
    CHECK(l1 < l0);
}
