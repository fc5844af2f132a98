// Learned parameters: they live outside the tape and persist across training steps.
//
//   parameter<S>        a dense matrix (weights, biases). The tape adds d loss / d value into
//                       grad(), a matrix of the value's shape.
//   table_parameter<S>  an embedding table. The tape's sparse ops (embedding, bag) add into a
//                       bloom::row_sparse<S> gradient: sorted unique rows and one gradient row per
//                       touched row. No table-sized gradient ever exists.
//
// Gradients accumulate across backward passes until zero_grad(), as in PyTorch. A training step
// is: tape.clear(); forward; tape.backward(loss); optimizer.step(p.value(), p.grad());
// p.zero_grad().
//
// How a table's gradient is merged (the one place where duplicate rows are combined): during
// backward every sparse op pushes entries (row, coefficient, pointer to a gradient row on the
// tape). When the reverse loop ends, the tape calls flush(): the entries are sorted by row (a
// stable radix sort: ties stay in push order, so the sums are deterministic), each distinct row's
// entries are summed, and the result is merged with the gradient already held. Cost
// O(e + touched rows x cols) for e entries; nothing proportional to the table.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace ad {

namespace detail {
inline std::string shape(Eigen::Index rows, Eigen::Index cols) {
    return std::to_string(rows) + "x" + std::to_string(cols);
}
template <class M>
std::string shape(const M& m) {
    return shape(m.rows(), m.cols());
}
}  // namespace detail

// A dense learned matrix and its gradient.
template <class Scalar = float>
class parameter {
public:
    using scalar_type = Scalar;

    parameter() = default;
    // A rows x cols parameter of zeros (use nn/init.hpp to initialise it).
    parameter(Eigen::Index rows, Eigen::Index cols) : value_(matrix<Scalar>::Zero(rows, cols)) {}
    explicit parameter(matrix<Scalar> value) : value_(std::move(value)) {}

    // A view: reads `shared`'s value (which must outlive it and not change while a tape uses
    // it) and keeps a gradient of its own. A training thread's handle on a weight that several
    // threads read at once (models/network/bloom_mlp.hpp). Nothing may write the value through
    // a view.
    static parameter view_of(const parameter& shared) {
        parameter p;
        p.view_ = &shared.value();
        return p;
    }

    matrix<Scalar>& value() noexcept { return view_ ? const_cast<matrix<Scalar>&>(*view_) : value_; }
    const matrix<Scalar>& value() const noexcept { return view_ ? *view_ : value_; }
    Eigen::Index rows() const noexcept { return value().rows(); }
    Eigen::Index cols() const noexcept { return value().cols(); }

    // d loss / d value summed over the backward passes since zero_grad(): a matrix of the value's
    // shape (zeros when no pass reached this parameter).
    const matrix<Scalar>& grad() const {
        if (fresh_) materialize();
        return grad_;
    }
    // True when a backward pass has reached this parameter since zero_grad().
    bool has_grad() const noexcept { return !fresh_; }

    // Forgets the gradient. O(1): the next backward pass writes the gradient instead of adding.
    void zero_grad() noexcept { fresh_ = true; }

    // --- for op authors (ad/ops.hpp) -----------------------------------------------------------
    // grad += e, where e is an Eigen expression of the value's shape (products are evaluated
    // straight into the gradient, with no temporary).
    template <class Expr>
    void accumulate(const Expr& e) {
        BLOOM_ASSERT(e.rows() == rows() && e.cols() == cols());
        if (fresh_) {
            grad_.noalias() = e;
            fresh_ = false;
        } else {
            grad_.noalias() += e;
        }
    }
    // The gradient as a writable matrix, zeroed first if no pass has reached it yet.
    matrix<Scalar>& grad_buffer() {
        if (fresh_) materialize();
        fresh_ = false;
        return grad_;
    }

private:
    void materialize() const { grad_.setZero(rows(), cols()); }

    matrix<Scalar> value_;
    const matrix<Scalar>* view_ = nullptr;  // view_of(): the shared value
    mutable matrix<Scalar> grad_;
    mutable bool fresh_ = true;
};

// An embedding table with a row-sparse gradient.
template <class Scalar = float>
class table_parameter {
public:
    using scalar_type = Scalar;

    table_parameter() = default;
    // A rows x cols table of zeros (use nn/init.hpp to initialise it).
    table_parameter(Eigen::Index rows, Eigen::Index cols)
        : value_(matrix<Scalar>::Zero(rows, cols)) {
        grad_.values.resize(0, cols);
    }
    explicit table_parameter(matrix<Scalar> value) : value_(std::move(value)) {
        grad_.values.resize(0, value_.cols());
    }
    // A view, as parameter::view_of: `shared`'s rows, a row-sparse gradient of its own.
    static table_parameter view_of(const table_parameter& shared) {
        table_parameter p;
        p.view_ = &shared.value();
        p.grad_.values.resize(0, shared.cols());
        return p;
    }

    matrix<Scalar>& value() noexcept { return view_ ? const_cast<matrix<Scalar>&>(*view_) : value_; }
    const matrix<Scalar>& value() const noexcept { return view_ ? *view_ : value_; }
    Eigen::Index rows() const noexcept { return value().rows(); }
    Eigen::Index cols() const noexcept { return value().cols(); }

    // d loss / d table over the backward passes since zero_grad(): rows sorted and unique, every
    // row not listed has gradient zero.
    const row_sparse<Scalar>& grad() const noexcept {
        BLOOM_ASSERT(pending_rows_.empty() && "table gradient read in the middle of backward()");
        return grad_;
    }
    bool has_grad() const noexcept { return !grad_.rows.empty(); }

    // Forgets the gradient: O(1), storage kept for the next step.
    void zero_grad() noexcept {
        grad_.rows.clear();
        grad_.values.resize(0, cols());
    }

    // --- for op authors (ad/sparse_ops.hpp) ----------------------------------------------------
    // Records grad.row(row) += coef * src[0..cols). `src` must stay valid and unchanged until
    // flush() (the tape calls it at the end of backward()).
    void push(std::uint32_t row, Scalar coef, const Scalar* src) {
        BLOOM_ASSERT(static_cast<Eigen::Index>(row) < rows());
        pending_rows_.push_back(row);
        pending_coef_.push_back(coef);
        pending_src_.push_back(src);
    }
    std::size_t pending() const noexcept { return pending_rows_.size(); }

    // Merges the pushed entries into grad(): the single place where duplicate rows are summed.
    void flush() {
        const std::size_t n = pending_rows_.size();
        if (n == 0) return;
        BLOOM_ASSERT(n < (std::size_t{1} << 32));
        const Eigen::Index c = cols();
        sort_pending();
        const std::uint32_t* order = order_.data();
        const std::uint32_t* prow = pending_rows_.data();
        auto row_at = [&](std::size_t b) { return static_cast<std::uint64_t>(prow[order[b]]); };

        // Count the merged rows: the union of the rows held and the distinct pushed rows.
        const std::vector<std::uint32_t>& old = grad_.rows;
        std::size_t total = 0;
        {
            std::size_t a = 0, b = 0;
            while (a < old.size() || b < n) {
                const std::uint64_t rb = b < n ? row_at(b) : ~std::uint64_t{0};
                const std::uint64_t ra = a < old.size() ? old[a] : ~std::uint64_t{0};
                const std::uint64_t r = std::min(ra, rb);
                if (ra == r) ++a;
                while (b < n && row_at(b) == r) ++b;
                ++total;
            }
        }
        tmp_.rows.resize(total);
        tmp_.values.resize(static_cast<Eigen::Index>(total), c);

        std::size_t a = 0, b = 0, out = 0;
        while (a < old.size() || b < n) {
            const std::uint64_t rb = b < n ? row_at(b) : ~std::uint64_t{0};
            const std::uint64_t ra = a < old.size() ? old[a] : ~std::uint64_t{0};
            const std::uint64_t r = std::min(ra, rb);
            auto dst = tmp_.values.row(static_cast<Eigen::Index>(out));
            if (ra == r) {
                dst = grad_.values.row(static_cast<Eigen::Index>(a));
                ++a;
            } else {
                dst.setZero();
            }
            // The entries of row r, four per pass over dst (the loop vectorises).
            Scalar* o = dst.data();
            const std::size_t cols = static_cast<std::size_t>(c);
            for (; b + 4 <= n && row_at(b + 3) == r; b += 4) {
                const std::size_t e0 = order[b], e1 = order[b + 1], e2 = order[b + 2],
                                  e3 = order[b + 3];
                const Scalar* s0 = pending_src_[e0];
                const Scalar* s1 = pending_src_[e1];
                const Scalar* s2 = pending_src_[e2];
                const Scalar* s3 = pending_src_[e3];
                const Scalar c0 = pending_coef_[e0], c1 = pending_coef_[e1],
                             c2 = pending_coef_[e2], c3 = pending_coef_[e3];
                for (std::size_t j = 0; j < cols; ++j)
                    o[j] += (c0 * s0[j] + c1 * s1[j]) + (c2 * s2[j] + c3 * s3[j]);
            }
            for (; b < n && row_at(b) == r; ++b) {
                const std::size_t e = order[b];
                const Scalar* s0 = pending_src_[e];
                const Scalar c0 = pending_coef_[e];
                for (std::size_t j = 0; j < cols; ++j) o[j] += c0 * s0[j];
            }
            tmp_.rows[out++] = static_cast<std::uint32_t>(r);
        }
        std::swap(grad_, tmp_);
        pending_rows_.clear();
        pending_coef_.clear();
        pending_src_.clear();
    }

    // Drops pushed entries without merging them (used when a tape is cleared mid-backward).
    void discard_pending() noexcept {
        pending_rows_.clear();
        pending_coef_.clear();
        pending_src_.clear();
    }

private:
    matrix<Scalar> value_;
    const matrix<Scalar>* view_ = nullptr;  // view_of(): the shared rows
    row_sparse<Scalar> grad_;
    row_sparse<Scalar> tmp_;
    std::vector<std::uint32_t> pending_rows_;
    std::vector<Scalar> pending_coef_;
    std::vector<const Scalar*> pending_src_;
    std::vector<std::uint32_t> order_;
    std::vector<std::uint32_t> order_tmp_;
    std::vector<std::uint32_t> count_;

    // order_ = the pending entries' indices sorted by row, ties in push order: a stable LSD radix
    // sort on the row's bytes (as many passes as the largest row needs), O(entries) per pass.
    void sort_pending() {
        const std::size_t n = pending_rows_.size();
        order_.resize(n);
        order_tmp_.resize(n);
        std::uint32_t max_row = 0;
        for (std::size_t i = 0; i < n; ++i) {
            order_[i] = static_cast<std::uint32_t>(i);
            max_row = std::max(max_row, pending_rows_[i]);
        }
        // Few distinct rows for the entries (a small table, or a large batch): one stable
        // counting pass over the rows themselves instead of a pass per byte.
        if (max_row >= 256 && static_cast<std::size_t>(max_row) < std::min<std::size_t>(n, 1U << 16)) {
            count_.assign(static_cast<std::size_t>(max_row) + 2, 0);
            for (std::size_t i = 0; i < n; ++i) ++count_[pending_rows_[i] + 1];
            for (std::size_t r = 1; r < count_.size(); ++r) count_[r] += count_[r - 1];
            for (std::size_t i = 0; i < n; ++i) order_tmp_[count_[pending_rows_[i]]++] = static_cast<std::uint32_t>(i);
            order_.swap(order_tmp_);
            return;
        }
        for (unsigned shift = 0; shift < 32 && (max_row >> shift) != 0; shift += 8) {
            std::size_t count[257] = {};
            for (std::size_t i = 0; i < n; ++i) ++count[((pending_rows_[i] >> shift) & 0xFFU) + 1];
            for (std::size_t d = 1; d < 257; ++d) count[d] += count[d - 1];
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint32_t e = order_[i];
                order_tmp_[count[(pending_rows_[e] >> shift) & 0xFFU]++] = e;
            }
            order_.swap(order_tmp_);
        }
    }
};

}  // namespace ad
}  // namespace bloom
