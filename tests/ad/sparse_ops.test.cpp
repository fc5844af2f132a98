// Sparse ops: embedding (full and Bloom row sources, sum and mean, importance weights) and bag,
// checked by finite differences with repeated ids and positions; their row-sparse gradients list
// exactly the touched rows, sorted and unique.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <bloom/ad/gradient_check.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/ad/row_source.hpp>
#include <bloom/ad/sparse_ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include "ad_test_util.hpp"

namespace ad = bloom::ad;
using ad_test::dmat;
using ad_test::engine;

namespace {

using spec_rows = ad::spec_rows<bloom::murmur3_32>;

spec_rows make_rows(std::uint64_t m, std::uint32_t k, std::uint64_t seed) {
    bloom::spec_config cfg;
    cfg.m = m;
    cfg.k = k;
    cfg.seed = seed;
    return spec_rows(cfg);
}

// The rows a batch of ids reads through a row source, as a sorted set.
template <class Rows>
std::set<std::uint32_t> touched(const Rows& rows, const std::vector<std::uint32_t>& ids) {
    std::set<std::uint32_t> out;
    std::vector<std::uint32_t> buf(rows.k());
    for (auto id : ids) {
        rows(id, buf.data());
        out.insert(buf.begin(), buf.end());
    }
    return out;
}

std::set<std::uint32_t> listed(const bloom::row_sparse<double>& g) {
    return std::set<std::uint32_t>(g.rows.begin(), g.rows.end());
}

void require_sorted_unique(const bloom::row_sparse<double>& g) {
    REQUIRE(static_cast<std::size_t>(g.values.rows()) == g.rows.size());
    for (std::size_t i = 1; i < g.rows.size(); ++i) REQUIRE(g.rows[i - 1] < g.rows[i]);
}

}  // namespace

TEST_CASE("embedding through a Bloom spec: sum and mean, repeated ids", "[ad][sparse]") {
    for (auto how : {ad::combine::sum, ad::combine::mean}) {
        for (int trial = 0; trial < 4; ++trial) {
            engine rng(200 + static_cast<std::uint64_t>(trial));
            const std::uint32_t m = static_cast<std::uint32_t>(ad_test::uniform_int(rng, 5, 12));
            const std::uint32_t k = static_cast<std::uint32_t>(ad_test::uniform_int(rng, 1, 4));
            const int dim = ad_test::uniform_int(rng, 1, 5);
            const auto rows = make_rows(m, k, static_cast<std::uint64_t>(trial));
            ad::table_parameter<double> table(ad_test::random_matrix(rng, m, dim));
            // Repeated ids in the batch (7 twice, 3 three times).
            const std::vector<std::uint32_t> ids{7, 3, 12, 7, 3, 40, 3};
            const dmat c = ad_test::random_matrix(rng, static_cast<Eigen::Index>(ids.size()), dim);
            const auto res = ad::check_gradients(
                [&](ad::tape<double>& t) {
                    return ad_test::probe(t, ad::embedding(t, table, rows, ids, how), c);
                },
                {}, {&table});
            INFO(ad::to_string(how) << " trial " << trial << " m " << m << " k " << k << ": "
                                    << res.message);
            CHECK(res.ok);
            require_sorted_unique(table.grad());
            CHECK(listed(table.grad()) == touched(rows, ids));
        }
    }
}

TEST_CASE("embedding values: sum of the k hashed rows, mean divides by k", "[ad][sparse]") {
    engine rng(3);
    const auto rows = make_rows(9, 3, 42);
    const dmat w = ad_test::random_matrix(rng, 9, 4);
    ad::table_parameter<double> table(w);
    const std::vector<std::uint64_t> ids{5, 11};
    ad::tape<double> t;
    const dmat s = t.value(ad::embedding(t, table, rows, ids, ad::combine::sum));
    const dmat a = t.value(ad::embedding(t, table, rows, ids, ad::combine::mean));
    for (std::size_t i = 0; i < ids.size(); ++i) {
        std::uint32_t pos[3];
        rows.spec().positions(ids[i], pos);
        const Eigen::RowVectorXd want = w.row(pos[0]) + w.row(pos[1]) + w.row(pos[2]);
        CHECK(s.row(static_cast<Eigen::Index>(i)).isApprox(want));
        CHECK(a.row(static_cast<Eigen::Index>(i)).isApprox(want / 3.0));
    }
}

TEST_CASE("embedding over a full table (identity rows)", "[ad][sparse]") {
    engine rng(4);
    ad::table_parameter<double> table(ad_test::random_matrix(rng, 10, 3));
    const ad::identity_rows rows(10);
    const std::vector<int> ids{2, 9, 2, 0};
    const dmat c = ad_test::random_matrix(rng, 4, 3);
    const auto res = ad::check_gradients(
        [&](ad::tape<double>& t) {
            return ad_test::probe(t, ad::embedding(t, table, rows, ids), c);
        },
        {}, {&table});
    INFO(res.message);
    CHECK(res.ok);
    CHECK(table.grad().rows == std::vector<std::uint32_t>{0, 2, 9});
    // Row 2 is read twice: its gradient is the sum of both output rows' gradients.
    CHECK(table.grad().values.row(1).isApprox(c.row(0) + c.row(2)));

    ad::tape<double> t;
    CHECK_THROWS_AS(ad::embedding(t, table, rows, std::vector<int>{10}), bloom::out_of_range);
    CHECK_THROWS_AS(ad::embedding(t, table, rows, std::vector<int>{-1}), bloom::out_of_range);
    CHECK_THROWS_AS(ad::embedding(t, table, ad::identity_rows(11), ids), bloom::invalid_argument);
}

TEST_CASE("embedding with importance weights (hash embeddings)", "[ad][sparse]") {
    for (int per_hash = 0; per_hash < 2; ++per_hash) {
        for (auto how : {ad::combine::sum, ad::combine::mean}) {
            engine rng(300 + static_cast<std::uint64_t>(per_hash));
            const std::uint32_t k = 3;
            const auto rows = make_rows(8, k, 9);
            ad::table_parameter<double> table(ad_test::random_matrix(rng, 8, 4));
            // One importance row per id (ids < 6), with k columns or one.
            ad::table_parameter<double> imp(
                ad_test::random_matrix(rng, 6, per_hash ? k : 1, 0.2, 1.5));
            const ad::identity_rows imp_rows(6);
            const std::vector<std::uint32_t> ids{4, 1, 4, 5, 1};
            const dmat c = ad_test::random_matrix(rng, 5, 4);
            const auto res = ad::check_gradients(
                [&](ad::tape<double>& t) {
                    return ad_test::probe(
                        t, ad::embedding(t, table, rows, ids, how, imp, imp_rows), c);
                },
                {}, {&table, &imp});
            INFO((per_hash ? "per (id, j)" : "per id") << " " << ad::to_string(how) << ": "
                                                       << res.message);
            CHECK(res.ok);
            require_sorted_unique(imp.grad());
            CHECK(imp.grad().rows == std::vector<std::uint32_t>{1, 4, 5});
            CHECK(listed(table.grad()) == touched(rows, ids));
        }
    }
    // A hashed importance table (k = 1 spec rows), and the shape errors.
    engine rng(5);
    const auto rows = make_rows(8, 2, 1);
    ad::table_parameter<double> table(ad_test::random_matrix(rng, 8, 2));
    ad::table_parameter<double> imp(ad_test::random_matrix(rng, 4, 2));
    const auto imp_rows = make_rows(4, 1, 77);
    const std::vector<std::uint32_t> ids{100, 200, 100};
    const dmat c = ad_test::random_matrix(rng, 3, 2);
    const auto res = ad::check_gradients(
        [&](ad::tape<double>& t) {
            return ad_test::probe(
                t, ad::embedding(t, table, rows, ids, ad::combine::sum, imp, imp_rows), c);
        },
        {}, {&table, &imp});
    INFO(res.message);
    CHECK(res.ok);
    ad::tape<double> t;
    ad::table_parameter<double> bad(dmat::Zero(4, 3));  // neither 1 nor k = 2 columns
    CHECK_THROWS_AS(ad::embedding(t, table, rows, ids, ad::combine::sum, bad, imp_rows),
                    bloom::invalid_argument);
    CHECK_THROWS_AS(ad::embedding(t, table, rows, ids, ad::combine::sum, imp, rows),
                    bloom::invalid_argument);  // importance source with k = 2
}

TEST_CASE("bag: CSR positions times the table, with and without values", "[ad][sparse]") {
    for (int with_values = 0; with_values < 2; ++with_values) {
        for (auto how : {ad::combine::sum, ad::combine::mean}) {
            engine rng(400 + static_cast<std::uint64_t>(with_values));
            const int m = 9, dim = 3;
            ad::table_parameter<double> table(ad_test::random_matrix(rng, m, dim));
            // Row 1 repeats position 4; row 2 is empty; row 3 has a zero value (skipped).
            const std::vector<std::size_t> offsets{0, 3, 6, 6, 9};
            const std::vector<std::uint32_t> positions{1, 8, 2, 4, 4, 0, 2, 5, 7};
            std::vector<double> values;
            if (with_values) values = {0.5, -1.0, 2.0, 1.5, 0.25, 1.0, 3.0, 0.0, -0.5};
            const auto x = ad::make_csr(offsets, positions, values);
            const dmat c = ad_test::random_matrix(rng, 4, dim);
            const auto res = ad::check_gradients(
                [&](ad::tape<double>& t) {
                    return ad_test::probe(t, ad::bag(t, table, x, how), c);
                },
                {}, {&table});
            INFO((with_values ? "values " : "multi-hot ") << ad::to_string(how) << ": "
                                                          << res.message);
            CHECK(res.ok);
            require_sorted_unique(table.grad());
            const std::vector<std::uint32_t> want =
                with_values ? std::vector<std::uint32_t>{0, 1, 2, 4, 7, 8}
                            : std::vector<std::uint32_t>{0, 1, 2, 4, 5, 7, 8};
            CHECK(table.grad().rows == want);  // position 5 has value 0 when values are given

            ad::tape<double> t;
            const dmat y = t.value(ad::bag(t, table, x, how));
            const dmat& w = table.value();
            const double v3 = with_values ? 3.0 : 1.0, v4 = with_values ? -0.5 : 1.0;
            const Eigen::RowVectorXd row3 = v3 * w.row(2) + (with_values ? 0.0 : 1.0) * w.row(5) +
                                            v4 * w.row(7);
            const double count3 = with_values ? 2.0 : 3.0;
            CHECK(y.row(2).isZero());
            CHECK(y.row(3).isApprox(how == ad::combine::mean ? Eigen::RowVectorXd(row3 / count3)
                                                             : row3));
        }
    }
}

TEST_CASE("bag equals the dense product of the multi-hot matrix", "[ad][sparse]") {
    engine rng(8);
    const int m = 50, dim = 6, n = 7;
    ad::table_parameter<double> table(ad_test::random_matrix(rng, m, dim));
    dmat dense = dmat::Zero(n, m);
    std::vector<std::size_t> offsets{0};
    std::vector<std::uint32_t> positions;
    for (int i = 0; i < n; ++i) {
        const int count = ad_test::uniform_int(rng, 0, 6);
        for (int e = 0; e < count; ++e) {
            const auto p = static_cast<std::uint32_t>(rng() % m);
            positions.push_back(p);
            dense(i, p) += 1.0;
        }
        offsets.push_back(positions.size());
    }
    ad::tape<double> t;
    const dmat y = t.value(ad::bag(t, table, ad::make_csr<double>(offsets, positions)));
    CHECK(y.isApprox(dense * table.value()));
}

TEST_CASE("bag input errors", "[ad][sparse]") {
    ad::table_parameter<double> table(dmat::Zero(5, 2));
    ad::tape<double> t;
    const std::vector<std::size_t> off{0, 2};
    CHECK_THROWS_AS(ad::bag(t, table, ad::make_csr<double>(off, {1, 5})), bloom::out_of_range);
    const std::vector<std::size_t> down{0, 2, 1};
    CHECK_THROWS_AS(ad::bag(t, table, ad::make_csr<double>(down, {1, 2})),
                    bloom::invalid_argument);
    CHECK_THROWS_AS(ad::make_csr(off, {1, 2}, std::vector<double>{1.0}), bloom::invalid_argument);
}

TEST_CASE("several sparse ops on one table merge into one row-sparse gradient", "[ad][sparse]") {
    engine rng(9);
    const auto rows = make_rows(16, 2, 5);
    ad::table_parameter<double> table(ad_test::random_matrix(rng, 16, 3));
    const std::vector<std::uint32_t> users{1, 2, 3}, items{2, 9, 9};
    const std::vector<std::size_t> off{0, 2, 3, 3};
    const std::vector<std::uint32_t> pos{15, 0, 15};
    const dmat c1 = ad_test::random_matrix(rng, 3, 3), c2 = ad_test::random_matrix(rng, 3, 3);
    auto loss = [&](ad::tape<double>& t) {
        const ad::var u = ad::embedding(t, table, rows, users);
        const ad::var i = ad::embedding(t, table, rows, items, ad::combine::mean);
        const ad::var b = ad::bag(t, table, ad::make_csr<double>(off, pos));
        // Scores: a dot product of two embeddings from the same table, plus the bag.
        return ad::add(t, ad::sum(t, ad::mul(t, u, i)),
                       ad::add(t, ad_test::probe(t, b, c1), ad_test::probe(t, u, c2)));
    };
    const auto res = ad::check_gradients(loss, {}, {&table});
    INFO(res.message);
    CHECK(res.ok);
    require_sorted_unique(table.grad());
    auto want = touched(rows, users);
    for (auto r : touched(rows, items)) want.insert(r);
    want.insert(0);
    want.insert(15);
    CHECK(listed(table.grad()) == want);
}

TEST_CASE("spec_rows is the spec: xxh3 and double hashing", "[ad][sparse]") {
    bloom::spec_config cfg;
    cfg.m = 1000;
    cfg.k = 5;
    cfg.derive = bloom::derivation::double_hashing;
    const ad::spec_rows<bloom::xxh3> rows(cfg);
    CHECK(rows.k() == 5);
    CHECK(rows.rows() == 1000);
    std::uint32_t a[5], b[5];
    for (std::uint64_t id = 0; id < 50; ++id) {
        rows(id, a);
        rows.spec().positions(id, b);
        CHECK(std::equal(a, a + 5, b));
    }
    static_assert(ad::is_row_source_v<ad::identity_rows>);
    static_assert(ad::is_row_source_v<ad::spec_rows<bloom::xxh3>>);
    static_assert(!ad::is_row_source_v<int>);
}
