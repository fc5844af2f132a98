// Sparse ops: the table reads whose backward yields a row-sparse gradient.
//
// embedding(t, table, rows, ids, how)
//     For each id, the k rows that the row source gives (rows.h_0(id) .. h_{k-1}(id)), combined:
//       combine::sum    e(id) = sum_j W[h_j(id)]           (Spotlight's BloomEmbedding, the paper)
//       combine::mean   e(id) = (1/k) sum_j W[h_j(id)]
//     A row that two of an id's hashes hit counts twice in both modes (it is one of the k terms
//     each time). Output: ids.size() x table.cols().
//
// embedding(t, table, rows, ids, how, importance, importance_rows)
//     Hash embeddings (Svenstrup et al. 2017): learned importance weights p scale each term,
//       e(id) = s * sum_j p[r(id), j] W[h_j(id)]         (importance has k columns: per (id, j))
//       e(id) = s * p[r(id), 0] * sum_j W[h_j(id)]       (importance has 1 column: per id)
//     with s = 1 (sum) or 1/k (mean), and r = importance_rows (identity_rows for one weight row
//     per id, or a k = 1 spec_rows to hash ids into fewer weight rows). Both tables get
//     row-sparse gradients.
//
// bag(t, table, csr, how)
//     A CSR batch of sparse rows x (positions with optional values; a multi-hot Bloom encoding
//     when values are absent) times the table: out[i] = sum_e x_ie W[pos_e], a sum of table rows
//     that skips zero values, never a dense product over m. combine::mean divides row i by its
//     number of (non-zero) entries; an empty row gives zeros.
//
// Backward: each op pushes (row, coefficient, gradient row) entries to its table; the tape merges
// them into the table's row_sparse gradient (sorted unique rows, duplicates summed) when the
// reverse loop ends. Repeated ids within a batch, repeated positions in a bag row and rows shared
// by several ops on one table are all merged there, once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/ad/parameter.hpp>
#include <bloom/ad/row_source.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace ad {

// How the rows an id (or a bag row) reads are combined.
enum class combine : std::uint8_t {
    sum,   // Spotlight and the paper: the plain sum
    mean,  // the sum divided by the number of terms
};

inline const char* to_string(combine c) noexcept { return c == combine::sum ? "sum" : "mean"; }

// A non-owning view of a CSR batch: row i holds entries offsets[i] .. offsets[i+1] - 1 of
// `positions` (and of `values` when it is not null; otherwise every entry is 1).
template <class Scalar, class Offset = std::size_t>
struct csr_view {
    const Offset* offsets = nullptr;        // rows + 1 non-decreasing values
    std::size_t rows = 0;
    const std::uint32_t* positions = nullptr;
    const Scalar* values = nullptr;         // optional
};

// A view of vectors: offsets.size() - 1 rows; values empty or one per position.
template <class Scalar, class Offset>
csr_view<Scalar, Offset> make_csr(const std::vector<Offset>& offsets,
                                  const std::vector<std::uint32_t>& positions,
                                  const std::vector<Scalar>& values) {
    if (offsets.empty())
        ::bloom::detail::throw_invalid("make_csr: offsets is empty (a batch of n rows has n + 1)");
    if (!values.empty() && values.size() != positions.size())
        ::bloom::detail::throw_invalid("make_csr: " + std::to_string(values.size()) +
                                       " values for " + std::to_string(positions.size()) +
                                       " positions");
    csr_view<Scalar, Offset> v;
    v.offsets = offsets.data();
    v.rows = offsets.size() - 1;
    v.positions = positions.data();
    v.values = values.empty() ? nullptr : values.data();
    return v;
}
template <class Scalar, class Offset>
csr_view<Scalar, Offset> make_csr(const std::vector<Offset>& offsets,
                                  const std::vector<std::uint32_t>& positions) {
    return make_csr(offsets, positions, std::vector<Scalar>{});
}

namespace detail {

// Node layout shared by embedding and bag:
//   embedding: index = [k positions per id][importance row per id, with importance]
//   bag:       index = [compacted row offsets (rows + 1)][positions of the non-zero entries]
//   both:      coef  = the coefficient of every term
template <class S>
void embedding_back(tape<S>& t, std::uint32_t self) {
    node<S>& n = t.at(self);
    table_parameter<S>& tab = *n.table[0];
    const std::size_t rows = static_cast<std::size_t>(n.grad.rows());
    const std::size_t k = n.u;
    const std::uint32_t* pos = n.index.data();
    for (std::size_t i = 0; i < rows; ++i) {
        const S* g = n.grad.data() + i * static_cast<std::size_t>(n.grad.cols());
        for (std::size_t j = 0; j < k; ++j) tab.push(pos[i * k + j], n.coef[i * k + j], g);
    }
    if (table_parameter<S>* imp = n.table[1]) {
        // d e / d p[r, j] = s * <g, W[h_j]>  (per (id, j)), or summed over j (per id).
        const matrix<S>& W = tab.value();
        const Eigen::Index pc = imp->cols();
        n.aux.resize(static_cast<Eigen::Index>(rows), pc);
        const std::uint32_t* imp_rows = pos + rows * k;
        for (std::size_t i = 0; i < rows; ++i) {
            const auto g = n.grad.row(static_cast<Eigen::Index>(i));
            auto a = n.aux.row(static_cast<Eigen::Index>(i));
            a.setZero();
            for (std::size_t j = 0; j < k; ++j) {
                const S d = n.s * g.dot(W.row(static_cast<Eigen::Index>(pos[i * k + j])));
                a(pc == 1 ? 0 : static_cast<Eigen::Index>(j)) += d;
            }
            imp->push(imp_rows[i], S(1), n.aux.data() + i * static_cast<std::size_t>(pc));
        }
    }
}

template <class S>
void bag_back(tape<S>& t, std::uint32_t self) {
    node<S>& n = t.at(self);
    table_parameter<S>& tab = *n.table[0];
    const std::size_t rows = static_cast<std::size_t>(n.grad.rows());
    const std::uint32_t* off = n.index.data();
    const std::uint32_t* pos = off + rows + 1;
    for (std::size_t i = 0; i < rows; ++i) {
        const S* g = n.grad.data() + i * static_cast<std::size_t>(n.grad.cols());
        for (std::uint32_t e = off[i]; e < off[i + 1]; ++e) tab.push(pos[e], n.coef[e], g);
    }
}

// out[0..cols) += sum_e coef[e] * W row rows[e], for e < n: four rows per pass over `out`, so
// that a long bag reads and writes its output row a quarter as often (the loop vectorises).
template <class S>
void add_rows(S* out, const S* W, std::size_t cols, const std::uint32_t* rows, const S* coef,
              std::size_t n) noexcept {
    std::size_t e = 0;
    for (; e + 4 <= n; e += 4) {
        const S* a = W + rows[e] * cols;
        const S* b = W + rows[e + 1] * cols;
        const S* c = W + rows[e + 2] * cols;
        const S* d = W + rows[e + 3] * cols;
        const S ca = coef[e], cb = coef[e + 1], cc = coef[e + 2], cd = coef[e + 3];
        for (std::size_t j = 0; j < cols; ++j)
            out[j] += (ca * a[j] + cb * b[j]) + (cc * c[j] + cd * d[j]);
    }
    for (; e < n; ++e) {
        const S* a = W + rows[e] * cols;
        const S ca = coef[e];
        for (std::size_t j = 0; j < cols; ++j) out[j] += ca * a[j];
    }
}

template <class Id>
std::uint64_t id_value(Id id) {
    static_assert(std::is_integral_v<Id>, "bloom: ids must be integers");
    if constexpr (std::is_signed_v<Id>) {
        if (id < 0)
            ::bloom::detail::throw_range("embedding: id " + std::to_string(id) + " is negative");
    }
    return static_cast<std::uint64_t>(id);
}

template <class S, class Rows>
void check_source(const char* op, const char* what, const table_parameter<S>& table,
                  const Rows& rows) {
    static_assert(is_row_source_v<Rows>,
                  "bloom: the row source needs k(), rows(), check(id) and operator()(id, out); "
                  "see <bloom/ad/row_source.hpp>");
    if (rows.k() == 0) shape_error(op, std::string(what) + " row source has k = 0");
    if (rows.rows() > static_cast<std::uint64_t>(table.rows()))
        shape_error(op, std::string(what) + " row source addresses " +
                            std::to_string(rows.rows()) + " rows but the table is " +
                            shape(table.value()));
}

template <class S, class Rows, class Id, class ImpRows>
var embedding_impl(tape<S>& t, table_parameter<S>& table, const Rows& rows, const Id* ids,
                   std::size_t count, combine how, table_parameter<S>* imp,
                   const ImpRows* imp_rows) {
    check_source("embedding", "the", table, rows);
    const std::uint32_t k = rows.k();
    if (imp) {
        check_source("embedding", "the importance", *imp, *imp_rows);
        if (imp_rows->k() != 1)
            shape_error("embedding", "the importance row source must give one row per id, not " +
                                         std::to_string(imp_rows->k()));
        if (imp->cols() != 1 && imp->cols() != static_cast<Eigen::Index>(k))
            shape_error("embedding", "the importance table is " + shape(imp->value()) +
                                         "; it needs 1 column (per id) or k = " +
                                         std::to_string(k) + " columns (per id and hash)");
    }
    for (std::size_t i = 0; i < count; ++i) {
        rows.check(id_value(ids[i]));
        if (imp) imp_rows->check(id_value(ids[i]));
    }

    const std::uint32_t self = t.push(&embedding_back<S>, {}, true);
    node<S>& n = t.at(self);
    n.table[0] = &table;
    n.table[1] = imp;
    n.u = k;
    n.s = how == combine::mean ? S(1) / static_cast<S>(k) : S(1);
    const std::size_t terms = count * k;
    n.index.resize(terms + (imp ? count : 0));
    n.coef.resize(terms);
    std::uint32_t* pos = n.index.data();
    for (std::size_t i = 0; i < count; ++i) rows(id_value(ids[i]), pos + i * k);
    if (imp) {
        std::uint32_t* r = pos + terms;
        const Eigen::Index pc = imp->cols();
        for (std::size_t i = 0; i < count; ++i) {
            (*imp_rows)(id_value(ids[i]), r + i);
            for (std::uint32_t j = 0; j < k; ++j)
                n.coef[i * k + j] = n.s * imp->value()(static_cast<Eigen::Index>(r[i]),
                                                       pc == 1 ? 0 : static_cast<Eigen::Index>(j));
        }
    } else {
        for (std::size_t e = 0; e < terms; ++e) n.coef[e] = n.s;
    }

    const matrix<S>& W = table.value();
    const Eigen::Index dim = W.cols();
    n.value.resize(static_cast<Eigen::Index>(count), dim);
    for (std::size_t i = 0; i < count; ++i) {
        auto out = n.value.row(static_cast<Eigen::Index>(i));
        out = n.coef[i * k] * W.row(static_cast<Eigen::Index>(pos[i * k]));
        for (std::uint32_t j = 1; j < k; ++j)
            out += n.coef[i * k + j] * W.row(static_cast<Eigen::Index>(pos[i * k + j]));
    }
    t.add_sink(table);
    if (imp) t.add_sink(*imp);
    return var{self};
}

}  // namespace detail

// --- embedding ---------------------------------------------------------------------------------

template <class S, class Rows, class Id>
var embedding(tape<S>& t, table_parameter<S>& table, const Rows& rows, const Id* ids,
              std::size_t count, combine how = combine::sum) {
    return detail::embedding_impl(t, table, rows, ids, count, how,
                                  static_cast<table_parameter<S>*>(nullptr),
                                  static_cast<const identity_rows*>(nullptr));
}

template <class S, class Rows, class Id>
var embedding(tape<S>& t, table_parameter<S>& table, const Rows& rows,
              const std::vector<Id>& ids, combine how = combine::sum) {
    return embedding(t, table, rows, ids.data(), ids.size(), how);
}

// Hash embeddings: importance weights from `importance` (1 or k columns), row r(id) given by
// `importance_rows` (one row per id).
template <class S, class Rows, class Id, class ImpRows>
var embedding(tape<S>& t, table_parameter<S>& table, const Rows& rows, const Id* ids,
              std::size_t count, combine how, table_parameter<S>& importance,
              const ImpRows& importance_rows) {
    return detail::embedding_impl(t, table, rows, ids, count, how, &importance, &importance_rows);
}

template <class S, class Rows, class Id, class ImpRows>
var embedding(tape<S>& t, table_parameter<S>& table, const Rows& rows,
              const std::vector<Id>& ids, combine how, table_parameter<S>& importance,
              const ImpRows& importance_rows) {
    return embedding(t, table, rows, ids.data(), ids.size(), how, importance, importance_rows);
}

// --- bag ---------------------------------------------------------------------------------------

template <class S, class Offset>
var bag(tape<S>& t, table_parameter<S>& table, const csr_view<S, Offset>& x,
        combine how = combine::sum) {
    static_assert(std::is_integral_v<Offset>, "bloom: CSR offsets must be integers");
    if (x.offsets == nullptr)
        detail::shape_error("bag", "the CSR batch has no offsets (a batch of n rows has n + 1)");
    const std::uint64_t table_rows = static_cast<std::uint64_t>(table.rows());
    for (std::size_t i = 0; i < x.rows; ++i) {
        if (x.offsets[i + 1] < x.offsets[i])
            detail::shape_error("bag", "CSR offsets decrease at row " + std::to_string(i) + " (" +
                                           std::to_string(x.offsets[i]) + " then " +
                                           std::to_string(x.offsets[i + 1]) + ")");
        for (Offset e = x.offsets[i]; e < x.offsets[i + 1]; ++e)
            if (static_cast<std::uint64_t>(x.positions[e]) >= table_rows)
                ::bloom::detail::throw_range("bag: row " + std::to_string(i) + " has position " +
                                             std::to_string(x.positions[e]) +
                                             " but the table is " +
                                             detail::shape(table.value()));
    }

    const std::uint32_t self = t.push(&detail::bag_back<S>, {}, true);
    node<S>& n = t.at(self);
    n.table[0] = &table;
    n.table[1] = nullptr;
    // Keep the non-zero entries: index = [compacted offsets (rows + 1)][positions], coef = values.
    const std::size_t nnz_bound = static_cast<std::size_t>(x.offsets[x.rows] - x.offsets[0]);
    n.index.resize(x.rows + 1);
    n.index.reserve(x.rows + 1 + nnz_bound);
    n.coef.clear();
    n.coef.reserve(nnz_bound);
    for (std::size_t i = 0; i < x.rows; ++i) {
        const std::size_t begin = n.coef.size();
        n.index[i] = static_cast<std::uint32_t>(begin);
        for (Offset e = x.offsets[i]; e < x.offsets[i + 1]; ++e) {
            const S v = x.values ? x.values[e] : S(1);
            if (v == S(0)) continue;
            n.index.push_back(x.positions[e]);
            n.coef.push_back(v);
        }
        if (how == combine::mean && n.coef.size() > begin) {
            const S inv = S(1) / static_cast<S>(n.coef.size() - begin);
            for (std::size_t e = begin; e < n.coef.size(); ++e) n.coef[e] *= inv;
        }
    }
    BLOOM_ASSERT(n.coef.size() < (std::size_t{1} << 32));
    n.index[x.rows] = static_cast<std::uint32_t>(n.coef.size());

    const matrix<S>& W = table.value();
    n.value.resize(static_cast<Eigen::Index>(x.rows), W.cols());
    n.value.setZero();
    const std::uint32_t* st = n.index.data();
    const std::uint32_t* pos = st + x.rows + 1;
    const std::size_t cols = static_cast<std::size_t>(W.cols());
    for (std::size_t i = 0; i < x.rows; ++i)
        detail::add_rows(n.value.data() + i * cols, W.data(), cols, pos + st[i], n.coef.data() + st[i],
                         st[i + 1] - st[i]);
    t.add_sink(table);
    return var{self};
}

}  // namespace ad
}  // namespace bloom
