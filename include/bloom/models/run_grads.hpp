// Per-batch accumulation of gradients over contiguous runs of rows, for kinds whose examples
// read runs of a table rather than scattered rows (ROBE reads blocks of its array).
//
// The gradient is kept dense, a buffer of the table's shape, with a bitmap of the rows the batch
// added to and the list of the bitmap's words it set bits in. At the end of the batch the words
// are sorted and their bits read as disjoint runs of rows in increasing order, and the optimizer
// updates each run as one contiguous span: the same rows, and the same arithmetic per row, as
// row_grads would hand it, without a slot lookup per row on the way in nor a gather and scatter
// per row on the way out. Rows outside the runs are never handed to the optimizer. The work per
// batch is proportional to the rows it touched plus a sort of the touched words (at most one per
// 64 rows of the table, and two per run), or, when they are at least 1/16 of the bitmap's words,
// a pass over the bitmap instead. The bookkeeping costs the table's size in gradient
// scalars (row_grads costs 4 bytes per row) plus a bit per row.
//
// The buffer holds -0.0 where the batch has added nothing: x + (-0.0) is x for every x (also
// +0.0 and -0.0), so a row's first addition stores exactly its gradient, as row_grads' first
// touch does, and sums in the same order give the same bits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/models/kernels.hpp>

namespace bloom {
namespace models {

template <class Scalar>
class run_grads {
public:
    run_grads() = default;
    run_grads(std::size_t rows, std::size_t dim) { reset_shape(rows, dim); }

    void reset_shape(std::size_t rows, std::size_t dim) {
        BLOOM_ASSERT(rows <= 0xFFFFFFFFULL);
        rows_ = rows;
        dim_ = dim;
        values_.assign(rows * dim, empty_value());
        bits_.assign((rows + 63) / 64, 0);
        words_.clear();
        runs_.clear();
        merged_ = true;
    }

    std::size_t dim() const noexcept { return dim_; }
    std::size_t rows() const noexcept { return rows_; }  // the table's rows
    bool empty() const noexcept { return words_.empty(); }

    // Rows first .. first + n take g[0 .. n * dim) added (row first + i the slice i * dim ..).
    // The run must lie inside the table: a kind whose runs wrap around the table's end adds the
    // two pieces.
    BLOOM_ALWAYS_INLINE void add_run(std::uint32_t first, std::uint32_t n, const Scalar* g) {
        BLOOM_ASSERT(n > 0 && static_cast<std::size_t>(first) + n <= rows_);
        BLOOM_ASSERT(static_cast<std::size_t>(n) * dim_ <= 0xFFFFFFFFULL);
        Scalar* p = values_.data() + static_cast<std::size_t>(first) * dim_;
        const std::uint32_t len = static_cast<std::uint32_t>(static_cast<std::size_t>(n) * dim_);
        if (len < 8) {  // short runs (small blocks, a wrapped block's piece): no SIMD set-up
            for (std::uint32_t i = 0; i < len; ++i) p[i] += g[i];
        } else {
            kernels::add(p, g, len);
        }
        std::uint64_t b = first;
        const std::uint64_t e = b + n;
        while (b < e) {
            const std::uint64_t w = b >> 6, lo = b & 63;
            const std::uint64_t hi = std::min<std::uint64_t>(e - (w << 6), 64);
            const std::uint64_t mask =
                (hi == 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << hi) - 1) &
                ~((std::uint64_t(1) << lo) - 1);
            if (bits_[w] == 0) words_.push_back(static_cast<std::uint32_t>(w));
            bits_[w] |= mask;
            b = (w << 6) + hi;
        }
        merged_ = false;
    }

    // Reads the batch's touched rows as disjoint runs in increasing order, in place in storage
    // kept from batch to batch (no allocation once it has grown). Called by the members below.
    void merge() {
        if (merged_) return;
        // The touched words in increasing order: sorted, or, when they are many of the table's
        // (a sort would cost more than a pass), read off the bitmap in one pass.
        if (words_.size() * 16 >= bits_.size()) {
            words_.clear();
            for (std::size_t w = 0; w < bits_.size(); ++w)
                if (bits_[w] != 0) words_.push_back(static_cast<std::uint32_t>(w));
        } else {
            std::sort(words_.begin(), words_.end());
        }
        runs_.clear();
        std::uint64_t a = 0, e = 0;  // the open run [a, e), empty at first
        for (std::uint32_t w : words_) {
            std::uint64_t x = bits_[w];
            const std::uint64_t base = static_cast<std::uint64_t>(w) << 6;
            while (x != 0) {
                const unsigned lo = ctz(x);
                const std::uint64_t ones = ~(x >> lo);  // its trailing zeros: the run's length
                const unsigned len = ones == 0 ? 64 - lo : ctz(ones);
                const std::uint64_t b = base + lo;
                if (b == e && e != a) {
                    e += len;
                } else {
                    if (e != a) runs_.push_back(pack(a, e - a));
                    a = b;
                    e = b + len;
                }
                x = lo + len >= 64 ? 0 : x & ~((std::uint64_t(1) << (lo + len)) - 1);
            }
        }
        if (e != a) runs_.push_back(pack(a, e - a));
        merged_ = true;
    }

    // Calls f(first, n, const Scalar* grad) for every run of touched rows, in increasing row
    // order, grad holding the n x dim gradient of rows first .. first + n. The runs are disjoint
    // and not adjacent (two touching runs are one).
    template <class F>
    void for_each_run(F&& f) {
        merge();
        for (std::uint64_t r : runs_) {
            const std::uint32_t first = static_cast<std::uint32_t>(first_of(r));
            f(first, static_cast<std::size_t>(count_of(r)),
              static_cast<const Scalar*>(values_.data() + static_cast<std::size_t>(first) * dim_));
        }
    }

    // Calls f(row, const Scalar* grad) once for every touched row, in increasing row order.
    template <class F>
    void for_each(F&& f) {
        for_each_run([&](std::uint32_t first, std::size_t n, const Scalar* g) {
            for (std::size_t i = 0; i < n; ++i)
                f(static_cast<std::uint32_t>(first + i), g + i * dim_);
        });
    }

    // The number of touched rows.
    std::size_t touched() {
        std::size_t n = 0;
        for_each_run([&](std::uint32_t, std::size_t c, const Scalar*) { n += c; });
        return n;
    }

    // Forget the batch: O(rows it touched), not O(table).
    void clear() {
        merge();
        for (std::uint64_t r : runs_) {
            Scalar* p = values_.data() + static_cast<std::size_t>(first_of(r)) * dim_;
            std::fill(p, p + static_cast<std::size_t>(count_of(r)) * dim_, empty_value());
        }
        for (std::uint32_t w : words_) bits_[w] = 0;
        words_.clear();
        runs_.clear();
        merged_ = true;
    }

private:
    static constexpr Scalar empty_value() noexcept { return -Scalar(0); }
    static unsigned ctz(std::uint64_t x) noexcept {  // x != 0
        BLOOM_ASSERT(x != 0);
#if defined(__GNUC__) || defined(__clang__)
        return static_cast<unsigned>(__builtin_ctzll(x));
#else
        unsigned n = 0;
        while (!(x & 1)) x >>= 1, ++n;
        return n;
#endif
    }
    static std::uint64_t first_of(std::uint64_t r) noexcept { return r >> 32; }
    static std::uint64_t count_of(std::uint64_t r) noexcept { return r & 0xFFFFFFFFULL; }
    static std::uint64_t pack(std::uint64_t first, std::uint64_t n) noexcept {
        BLOOM_ASSERT(first <= 0xFFFFFFFFULL && n <= 0xFFFFFFFFULL);
        return (first << 32) | n;
    }

    std::vector<Scalar> values_;        // rows x dim, -0.0 outside the touched rows
    std::vector<std::uint64_t> bits_;   // a bit per row: touched by the batch
    std::vector<std::uint32_t> words_;  // the words of bits_ the batch made nonzero
    std::vector<std::uint64_t> runs_;   // (first << 32) | count, after merge()
    std::size_t rows_ = 0;
    std::size_t dim_ = 0;
    bool merged_ = true;
};

}  // namespace models
}  // namespace bloom
