// Parameters: lazy zero_grad of dense gradients and the row-sparse merge of table gradients.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include <bloom/ad/parameter.hpp>

#include "ad_test_util.hpp"

namespace ad = bloom::ad;
using ad_test::dmat;
using ad_test::engine;

TEST_CASE("dense parameter: accumulate, grad_buffer, zero_grad", "[ad][parameter]") {
    ad::parameter<double> p(2, 3);
    CHECK(p.value().isZero());
    CHECK_FALSE(p.has_grad());
    CHECK(p.grad().rows() == 2);
    CHECK(p.grad().isZero());
    p.accumulate(dmat::Ones(2, 3));
    p.accumulate(2.0 * dmat::Ones(2, 3));
    CHECK(p.grad().isApprox(3.0 * dmat::Ones(2, 3)));
    p.zero_grad();
    p.grad_buffer()(1, 2) += 5.0;  // zeroed first
    CHECK(p.grad().sum() == 5.0);
}

TEST_CASE("table parameter: pushes merge into sorted unique rows", "[ad][parameter]") {
    engine rng(1);
    const int rows = 40, cols = 3;
    ad::table_parameter<double> tp(rows, cols);
    CHECK(tp.grad().nnz_rows() == 0);
    CHECK(tp.grad().cols() == cols);

    std::map<std::uint32_t, Eigen::RowVector3d> want;
    std::vector<dmat> sources;
    for (int round = 0; round < 2; ++round) {  // the second round merges with held rows
        sources.clear();
        for (int e = 0; e < 60; ++e) sources.push_back(ad_test::random_matrix(rng, 1, cols));
        for (int e = 0; e < 60; ++e) {
            const auto r = static_cast<std::uint32_t>(rng() % 25);  // many repeats
            const double c = ad_test::uniform(rng, -2, 2);
            tp.push(r, c, sources[static_cast<std::size_t>(e)].data());
            auto it = want.find(r);
            const Eigen::RowVector3d add = c * sources[static_cast<std::size_t>(e)].row(0);
            if (it == want.end())
                want.emplace(r, add);
            else
                it->second += add;
        }
        CHECK(tp.pending() == 60);
        tp.flush();
        CHECK(tp.pending() == 0);
        const auto& g = tp.grad();
        REQUIRE(g.rows.size() == want.size());
        REQUIRE(static_cast<std::size_t>(g.values.rows()) == want.size());
        std::size_t i = 0;
        for (const auto& kv : want) {
            CHECK(g.rows[i] == kv.first);
            CHECK(g.values.row(static_cast<Eigen::Index>(i)).isApprox(kv.second));
            ++i;
        }
    }
    tp.zero_grad();
    CHECK_FALSE(tp.has_grad());
    CHECK(tp.grad().values.rows() == 0);
    tp.push(3, 1.0, sources[0].data());
    tp.discard_pending();
    tp.flush();
    CHECK_FALSE(tp.has_grad());
}
