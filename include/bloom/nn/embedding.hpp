// Embedding and bag layers: a table_parameter plus the sparse op that reads it. Their gradients
// are row-sparse (see ad/sparse_ops.hpp), ready for the sparse optimizers.
//
//   embedding_layer<S, Rows>            ids -> the combined rows of each id (sum by default, as
//                                       Spotlight), Rows = ad::identity_rows (a full table) or
//                                       ad::spec_rows<Hash> (a Bloom table of m rows)
//   hash_embedding_layer<S, Rows, Imp>  the same with learned importance weights, one per id or one
//                                       per (id, hash); they start at 1, so the layer starts as the
//                                       plain Bloom embedding
//   bag_layer<S>                        a CSR batch of positions (a Bloom-encoded multi-hot input)
//                                       -> sum (or mean) of the rows it lists
//
// Tables are initialised with init::scaled_normal (N(0, 1/dim^2), Spotlight's ScaledEmbedding)
// unless another scheme is given.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <bloom/ad/parameter.hpp>
#include <bloom/ad/row_source.hpp>
#include <bloom/ad/sparse_ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/error.hpp>
#include <bloom/nn/init.hpp>

namespace bloom {
namespace nn {

namespace detail {
inline Eigen::Index checked_dim(const char* who, Eigen::Index dim) {
    if (dim <= 0)
        ::bloom::detail::throw_invalid(std::string(who) + ": dim must be >= 1, got " +
                                       std::to_string(dim));
    return dim;
}
}  // namespace detail

template <class S = float, class Rows = ad::identity_rows>
class embedding_layer {
public:
    using scalar_type = S;

    template <class Engine>
    embedding_layer(Rows rows, Eigen::Index dim, Engine& rng,
                    ad::combine how = ad::combine::sum,
                    init::scheme weights = init::scheme::scaled_normal)
        : rows_(std::move(rows)),
          table_(static_cast<Eigen::Index>(rows_.rows()), detail::checked_dim("embedding_layer", dim)),
          how_(how) {
        init::apply(weights, table_.value(), rng);
    }

    const Rows& rows() const noexcept { return rows_; }
    ad::combine combine_mode() const noexcept { return how_; }
    Eigen::Index dim() const noexcept { return table_.cols(); }
    ad::table_parameter<S>& table() noexcept { return table_; }
    const ad::table_parameter<S>& table() const noexcept { return table_; }

    // ids -> ids.size() x dim.
    template <class Id>
    ad::var operator()(ad::tape<S>& t, const std::vector<Id>& ids) {
        return ad::embedding(t, table_, rows_, ids, how_);
    }
    template <class Id>
    ad::var operator()(ad::tape<S>& t, const Id* ids, std::size_t count) {
        return ad::embedding(t, table_, rows_, ids, count, how_);
    }

private:
    Rows rows_;
    ad::table_parameter<S> table_;
    ad::combine how_;
};

template <class S = float, class Rows = ad::identity_rows, class ImpRows = ad::identity_rows>
class hash_embedding_layer {
public:
    using scalar_type = S;

    // per_hash: one importance weight per (id, hash) (k columns) instead of one per id.
    template <class Engine>
    hash_embedding_layer(Rows rows, ImpRows importance_rows, Eigen::Index dim, Engine& rng,
                         bool per_hash = true, ad::combine how = ad::combine::sum,
                         init::scheme weights = init::scheme::scaled_normal)
        : rows_(std::move(rows)),
          imp_rows_(std::move(importance_rows)),
          table_(static_cast<Eigen::Index>(rows_.rows()),
                 detail::checked_dim("hash_embedding_layer", dim)),
          imp_(matrix<S>::Ones(static_cast<Eigen::Index>(imp_rows_.rows()),
                               per_hash ? static_cast<Eigen::Index>(rows_.k()) : 1)),
          how_(how) {
        if (imp_rows_.k() != 1)
            ::bloom::detail::throw_invalid("hash_embedding_layer: the importance row source must "
                                           "give one row per id, not " +
                                           std::to_string(imp_rows_.k()));
        init::apply(weights, table_.value(), rng);
    }

    Eigen::Index dim() const noexcept { return table_.cols(); }
    ad::table_parameter<S>& table() noexcept { return table_; }
    ad::table_parameter<S>& importance() noexcept { return imp_; }

    template <class Id>
    ad::var operator()(ad::tape<S>& t, const std::vector<Id>& ids) {
        return ad::embedding(t, table_, rows_, ids, how_, imp_, imp_rows_);
    }

private:
    Rows rows_;
    ImpRows imp_rows_;
    ad::table_parameter<S> table_;
    ad::table_parameter<S> imp_;
    ad::combine how_;
};

template <class S = float>
class bag_layer {
public:
    using scalar_type = S;

    // A table of m rows (the Bloom width) and dim columns.
    template <class Engine>
    bag_layer(Eigen::Index m, Eigen::Index dim, Engine& rng, ad::combine how = ad::combine::sum,
              init::scheme weights = init::scheme::xavier_uniform)
        : table_(checked_m(m), detail::checked_dim("bag_layer", dim)), how_(how) {
        init::apply(weights, table_.value(), rng);
    }

    Eigen::Index m() const noexcept { return table_.rows(); }
    Eigen::Index dim() const noexcept { return table_.cols(); }
    ad::table_parameter<S>& table() noexcept { return table_; }

    template <class Offset>
    ad::var operator()(ad::tape<S>& t, const ad::csr_view<S, Offset>& x) {
        return ad::bag(t, table_, x, how_);
    }

private:
    static Eigen::Index checked_m(Eigen::Index m) {
        if (m <= 0)
            ::bloom::detail::throw_invalid("bag_layer: m must be >= 1, got " + std::to_string(m));
        return m;
    }

    ad::table_parameter<S> table_;
    ad::combine how_;
};

}  // namespace nn
}  // namespace bloom
