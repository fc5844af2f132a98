// The matrix types every area shares, and the row-sparse gradient that links a table's backward
// pass to the sparse optimizers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace bloom {

// Row-major dense matrix: a table row is one contiguous span, so a row update is one axpy.
template <class Scalar>
using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class Scalar>
using vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

// The gradient of a table whose backward touched only some rows.
// Invariant: `rows` is sorted and unique, and values.rows() == rows.size(); values.row(i) is the
// gradient of table row rows[i]. Every row not listed has gradient zero and, for the sparse
// optimizers, is never read or written (values and optimizer state alike).
template <class Scalar>
struct row_sparse {
    std::vector<std::uint32_t> rows;
    matrix<Scalar> values;

    std::size_t nnz_rows() const noexcept { return rows.size(); }
    Eigen::Index cols() const noexcept { return values.cols(); }
};

}  // namespace bloom
