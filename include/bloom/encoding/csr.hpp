// Compressed sparse rows of Bloom positions: the batch form of an encoded id set.
//
// Row r (one example's item set) holds its sorted unique positions in
// positions[offsets[r] .. offsets[r + 1]). `cols` is m, the width of the 0/1 row it stands for.
// (bloom::data::csr, the user x item interaction matrix, is a different structure.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/tensor.hpp>

namespace bloom {

struct csr {
    std::uint64_t cols = 0;                  // m
    std::vector<std::size_t> offsets = {0};  // rows() + 1 entries, offsets[0] == 0
    std::vector<std::uint32_t> positions;    // every row's positions, row after row

    struct row_view {
        const std::uint32_t* first;
        const std::uint32_t* last;
        const std::uint32_t* begin() const noexcept { return first; }
        const std::uint32_t* end() const noexcept { return last; }
        const std::uint32_t* data() const noexcept { return first; }
        std::size_t size() const noexcept { return static_cast<std::size_t>(last - first); }
        bool empty() const noexcept { return first == last; }
        std::uint32_t operator[](std::size_t i) const noexcept { return first[i]; }
    };

    std::size_t rows() const noexcept { return offsets.empty() ? 0 : offsets.size() - 1; }
    std::size_t nnz() const noexcept { return positions.size(); }

    row_view row(std::size_t r) const noexcept {
        BLOOM_ASSERT(r + 1 < offsets.size());
        return {positions.data() + offsets[r], positions.data() + offsets[r + 1]};
    }
};

// The 0/1 matrix a csr stands for: rows() x cols, row-major.
template <class Scalar = float>
matrix<Scalar> to_dense(const csr& c) {
    matrix<Scalar> out = matrix<Scalar>::Zero(static_cast<Eigen::Index>(c.rows()),
                                              static_cast<Eigen::Index>(c.cols));
    for (std::size_t r = 0; r < c.rows(); ++r)
        for (const std::uint32_t p : c.row(r))
            out(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(p)) = Scalar(1);
    return out;
}

}  // namespace bloom
