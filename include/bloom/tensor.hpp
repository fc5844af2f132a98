// The matrix types every area shares, and the row-sparse gradient that links a table's backward
// pass to the sparse optimizers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#if defined(__linux__)
#  include <sys/mman.h>
#endif

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

namespace detail {

// Asks the kernel to back a large buffer with transparent huge pages (Linux's madvise mode), so
// that random row accesses into a table of gigabytes do not take a TLB miss each. Call it before
// the memory is first written. Only whole 2 MiB pages inside the buffer are advised; buffers below
// 8 MiB, other systems, and a kernel that refuses are left as they are (it is only a hint).
inline void advise_huge_pages(void* p, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
    if (p == nullptr || bytes < 4 * huge) return;
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t first = (at + huge - 1) & ~(huge - 1);
    const std::uintptr_t last = (at + bytes) & ~(huge - 1);
    if (last > first) (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

// m = rows x cols of `value`, with the storage advised as above before it is written.
template <class Scalar>
void assign_large(matrix<Scalar>& m, Eigen::Index rows, Eigen::Index cols, Scalar value) {
    m.resize(rows, cols);
    advise_huge_pages(m.data(), static_cast<std::size_t>(m.size()) * sizeof(Scalar));
    m.setConstant(value);
}

}  // namespace detail

}  // namespace bloom
