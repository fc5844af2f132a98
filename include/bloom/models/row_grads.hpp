// Per-batch accumulation of row gradients for one table, for hand-written models.
//
// A model adds gradient rows as it walks a minibatch; the same row touched twice is merged into
// one slot. At the end of the batch the touched rows (and only those) go to the optimizer. The
// bookkeeping costs 4 bytes per table row (a slot index) plus the touched rows' gradients.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/models/kernels.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace models {

template <class Scalar>
class row_grads {
public:
    row_grads() = default;
    row_grads(std::size_t rows, std::size_t dim) { reset_shape(rows, dim); }

    void reset_shape(std::size_t rows, std::size_t dim) {
        slot_.assign(rows, -1);
        dim_ = dim;
        rows_.clear();
        values_.clear();
    }

    std::size_t dim() const noexcept { return dim_; }
    std::size_t rows() const noexcept { return slot_.size(); }  // the table's rows
    std::size_t touched() const noexcept { return rows_.size(); }
    bool empty() const noexcept { return rows_.empty(); }

    // The gradient row of table row `row`, zeroed the first time the batch touches it.
    BLOOM_ALWAYS_INLINE Scalar* row(std::uint32_t r) {
        bool fresh = false;
        Scalar* p = slot_row(r, fresh);
        if (fresh) kernels::set_zero(p, static_cast<std::uint32_t>(dim_));
        return p;
    }

    // g_row += a * g. A row the batch has not touched yet is written, not zeroed then added to.
    BLOOM_ALWAYS_INLINE void add(std::uint32_t r, Scalar a, const Scalar* g) {
        bool fresh = false;
        Scalar* p = slot_row(r, fresh);
        if (fresh)
            kernels::scaled_copy(p, a, g, static_cast<std::uint32_t>(dim_));
        else
            kernels::axpy(p, a, g, static_cast<std::uint32_t>(dim_));
    }

    // g_row[0] += a, for one-column tables (biases).
    BLOOM_ALWAYS_INLINE void add_scalar(std::uint32_t r, Scalar a) {
        BLOOM_ASSERT(dim_ == 1);
        bool fresh = false;
        Scalar* p = slot_row(r, fresh);
        *p = fresh ? a : *p + a;
    }

    // The touched rows in first-touch order, and their gradients (touched() x dim, same order).
    const std::uint32_t* rows_data() const noexcept { return rows_.data(); }
    const Scalar* values_data() const noexcept { return values_.data(); }

    // Calls f(row, const Scalar* grad) for every touched row, in first-touch order.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < rows_.size(); ++i) f(rows_[i], values_.data() + i * dim_);
    }

    // As a bloom::row_sparse (rows sorted, duplicates already merged).
    row_sparse<Scalar> to_row_sparse() const {
        std::vector<std::uint32_t> order(rows_.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
        std::sort(order.begin(), order.end(),
                  [&](std::uint32_t a, std::uint32_t b) { return rows_[a] < rows_[b]; });
        row_sparse<Scalar> out;
        out.rows.resize(order.size());
        out.values.resize(static_cast<Eigen::Index>(order.size()), static_cast<Eigen::Index>(dim_));
        for (std::size_t i = 0; i < order.size(); ++i) {
            out.rows[i] = rows_[order[i]];
            for (std::size_t c = 0; c < dim_; ++c)
                out.values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c)) =
                    values_[order[i] * dim_ + c];
        }
        return out;
    }

    // Forget the batch: O(touched rows), not O(table).
    void clear() noexcept {
        for (std::uint32_t r : rows_) slot_[r] = -1;
        rows_.clear();  // values_ keeps its storage: a row is zeroed when first touched
    }

private:
    // The storage of row r's gradient; `fresh` says it was just assigned (contents undefined).
    BLOOM_ALWAYS_INLINE Scalar* slot_row(std::uint32_t r, bool& fresh) {
        BLOOM_ASSERT(r < slot_.size());
        std::int32_t s = slot_[r];
        if (s < 0) {
            s = static_cast<std::int32_t>(rows_.size());
            slot_[r] = s;
            rows_.push_back(r);
            const std::size_t need = rows_.size() * dim_;
            if (values_.size() < need) values_.resize(std::max(need, 2 * values_.size()));
            fresh = true;
        }
        return values_.data() + static_cast<std::size_t>(s) * dim_;
    }

    std::vector<std::int32_t> slot_;
    std::vector<std::uint32_t> rows_;
    std::vector<Scalar> values_;
    std::size_t dim_ = 0;
};

}  // namespace models
}  // namespace bloom
