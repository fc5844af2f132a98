// bloom::csr: row views over offsets and positions, and the dense 0/1 matrix it stands for.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <bloom/encoding/csr.hpp>

TEST_CASE("csr: an empty csr has no rows", "[csr]") {
    const bloom::csr c;
    CHECK(c.rows() == 0);
    CHECK(c.nnz() == 0);
    CHECK(bloom::to_dense(c).rows() == 0);
}

TEST_CASE("csr: rows, row views and the dense matrix", "[csr]") {
    bloom::csr c;
    c.cols = 6;
    c.offsets = {0, 2, 2, 5};
    c.positions = {1, 4, 0, 2, 5};
    REQUIRE(c.rows() == 3);
    CHECK(c.nnz() == 5);
    const auto r0 = c.row(0);
    CHECK(r0.size() == 2);
    CHECK(r0[0] == 1);
    CHECK(r0[1] == 4);
    CHECK(c.row(1).empty());
    CHECK(std::vector<std::uint32_t>(c.row(2).begin(), c.row(2).end()) ==
          std::vector<std::uint32_t>{0, 2, 5});
    CHECK(c.row(2).data() == c.positions.data() + 2);

    const bloom::matrix<double> d = bloom::to_dense<double>(c);
    bloom::matrix<double> want = bloom::matrix<double>::Zero(3, 6);
    want(0, 1) = want(0, 4) = 1;
    want(2, 0) = want(2, 2) = want(2, 5) = 1;
    CHECK(d == want);
    CHECK(bloom::to_dense(c) == want.cast<float>());
}
