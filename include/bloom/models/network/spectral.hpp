// Dense item codes from spectral factorizations: the PMI and CCA embeddings the paper compares
// Bloom embeddings with, and the randomized SVD both are built on.
//
//   randomized_svd(A, cfg)          rank-r SVD of a sparse, dense or operator matrix A
//                                   (Halko, Martinsson & Tropp: seeded Gaussian range finder,
//                                   power iterations, exact dense SVD when r is near
//                                   min(rows, cols))
//   ppmi_matrix(items, d, cfg)      the d x d positive PMI matrix of item co-occurrence in sets
//   pmi_embeddings(items, d, m)     d x m: item i's code is row i of U * sqrt(S) of the PPMI
//                                   matrix (one table for the network's input and output)
//   cca_embeddings(x, y, d, m)      d x m input and target tables: canonical directions between
//                                   the input sets and the target sets of the same users
//
// A dense code encodes an item set as the sum of its items' rows (network/codes.hpp); the network
// regresses the target set's code and ranks items by the similarity of their row to its output.
//
// Determinism. The Gaussian test matrix is drawn with bloom::detail::standard_normal from a
// std::mt19937_64 (raw engine output only) and long item lists are sampled with exact integer
// draws, so a seed gives the same draws on every platform. The floating-point results then depend
// only on Eigen's arithmetic (vectorisation and FMA may change the last bits between builds).
// Each singular pair is signed so that the entry of largest magnitude in its left vector is
// positive (the first such entry on ties), on the exact and the randomized path alike.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/Sparse>

#include <bloom/data/random.hpp>
#include <bloom/error.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/random.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace models {

// Column-major dense block: the type the randomized SVD hands to and takes from an operator.
template <class Scalar>
using column_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

// Row-major compressed sparse matrix: what ppmi_matrix returns and the embeddings factorize.
template <class Scalar>
using sparse_matrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int>;

struct svd_config {
    std::uint32_t rank = 0;              // r: singular triplets wanted, 1 .. min(rows, cols)
    std::uint32_t oversample = 10;       // p: extra columns in the range finder
    std::uint32_t power_iterations = 2;  // q: passes of A A^T (each re-orthonormalised)
    std::uint64_t seed = 42;             // of the Gaussian test matrix
};

template <class Scalar>
struct svd_result {
    matrix<Scalar> u;    // rows x r, orthonormal columns
    vector<Scalar> s;    // r singular values, non-increasing, >= 0
    matrix<Scalar> v;    // cols x r, orthonormal columns; A ~ u * diag(s) * v^T
    bool exact = false;  // true when the dense SVD ran instead of the range finder
};

namespace detail {

// Signs pair k so that u's entry of largest magnitude (the first one on ties) is positive.
template <class Scalar>
void normalize_signs(svd_result<Scalar>& r) {
    for (Eigen::Index k = 0; k < r.u.cols(); ++k) {
        Eigen::Index at = 0;
        Scalar best = Scalar(-1);
        for (Eigen::Index i = 0; i < r.u.rows(); ++i) {
            const Scalar a = std::abs(r.u(i, k));
            if (a > best) {
                best = a;
                at = i;
            }
        }
        if (r.u.rows() > 0 && r.u(at, k) < Scalar(0)) {
            r.u.col(k) *= Scalar(-1);
            r.v.col(k) *= Scalar(-1);
        }
    }
}

// Thin orthonormal basis of y's columns (Householder QR; Q is formed on an n x l identity, never
// as an n x n matrix).
template <class Scalar>
column_matrix<Scalar> orthonormal_basis(const column_matrix<Scalar>& y) {
    Eigen::HouseholderQR<column_matrix<Scalar>> qr(y);
    column_matrix<Scalar> q = column_matrix<Scalar>::Identity(y.rows(), y.cols());
    q.applyOnTheLeft(qr.householderQ());
    return q;
}

template <class Scalar>
void check_finite(const column_matrix<Scalar>& y, const char* which) {
    if (!y.allFinite())
        ::bloom::detail::throw_invalid(std::string("randomized_svd: ") + which +
                                       " returned NaN or infinity (does A hold a non-finite "
                                       "value?)");
}

}  // namespace detail

// Rank-r SVD of the rows x cols matrix given by two products: apply(X) = A * X for X of cols rows
// and apply_adjoint(X) = A^T * X for X of rows rows (X is a column_matrix<Scalar> of l columns;
// the results must convert to column_matrix<Scalar>). Scalar is float or double and is named
// explicitly: randomized_svd<double>(rows, cols, f, g, cfg).
//
// The algorithm, with l = r + p: draw a cols x l Gaussian test matrix G, Q = orth(A G); then q
// times Q = orth(A orth(A^T Q)); then Z = A^T Q = Qz Rz (QR) so that A ~ Q Q^T A = Q Rz^T Qz^T;
// the SVD of the small l x l matrix Rz^T = Ur S Vr^T (Eigen::BDCSVD) gives U = Q Ur, V = Qz Vr,
// truncated to r. Every orth() is a Householder QR, which keeps the columns independent between
// power iterations where repeated products would make them collapse onto the top direction.
// Cost: 2q + 2 products with l columns and 2q + 2 QRs, that is O(nnz(A) l q + (rows + cols) l^2 q)
// time and O((rows + cols) l) memory beside A. When l >= min(rows, cols) the range finder would
// not save anything: A is materialised (one product with the identity on its smaller side) and
// factorized by a dense BDCSVD, O(rows cols min(rows, cols)); the result is exact
// (svd_result::exact).
//
// Throws bloom::invalid_argument for an empty matrix, r = 0 or r > min(rows, cols), and when a
// product returns NaN or infinity.
template <class Scalar, class Apply, class ApplyAdjoint>
svd_result<Scalar> randomized_svd(Eigen::Index rows, Eigen::Index cols, Apply&& apply,
                                  ApplyAdjoint&& apply_adjoint, const svd_config& cfg) {
    static_assert(std::is_floating_point<Scalar>::value,
                  "bloom: randomized_svd needs a real Scalar (float or double)");
    using dense = column_matrix<Scalar>;
    if (rows <= 0 || cols <= 0)
        ::bloom::detail::throw_invalid("randomized_svd: the matrix is empty (" +
                                       std::to_string(rows) + " x " + std::to_string(cols) + ")");
    const Eigen::Index small = std::min(rows, cols);
    const auto r = static_cast<Eigen::Index>(cfg.rank);
    if (r == 0) ::bloom::detail::throw_invalid("randomized_svd: rank = 0");
    if (r > small)
        ::bloom::detail::throw_invalid("randomized_svd: rank " + std::to_string(r) +
                                       " exceeds min(rows, cols) = " + std::to_string(small) +
                                       " of the " + std::to_string(rows) + " x " +
                                       std::to_string(cols) + " matrix");
    const Eigen::Index l = r + static_cast<Eigen::Index>(cfg.oversample);

    svd_result<Scalar> out;
    if (l >= small) {
        // Exact: materialise A through its smaller side.
        dense a;
        if (cols <= rows) {
            a = apply(dense(dense::Identity(cols, cols)));
            detail::check_finite(a, "A * X");
        } else {
            dense at = apply_adjoint(dense(dense::Identity(rows, rows)));
            detail::check_finite(at, "A^T * X");
            a = at.transpose();
        }
        Eigen::BDCSVD<dense> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
        out.u = svd.matrixU().leftCols(r);
        out.s = svd.singularValues().head(r);
        out.v = svd.matrixV().leftCols(r);
        out.exact = true;
        detail::normalize_signs(out);
        return out;
    }

    std::mt19937_64 rng(cfg.seed);
    dense g(cols, l);
    for (Eigen::Index i = 0; i < cols; ++i)  // row by row: row i belongs to column i of A
        for (Eigen::Index j = 0; j < l; ++j)
            g(i, j) = static_cast<Scalar>(::bloom::detail::standard_normal(rng));

    dense y = apply(g);
    detail::check_finite(y, "A * X");
    g.resize(0, 0);
    dense q = detail::orthonormal_basis<Scalar>(y);
    for (std::uint32_t it = 0; it < cfg.power_iterations; ++it) {
        dense z = apply_adjoint(q);
        detail::check_finite(z, "A^T * X");
        const dense qz = detail::orthonormal_basis<Scalar>(z);
        y = apply(qz);
        detail::check_finite(y, "A * X");
        q = detail::orthonormal_basis<Scalar>(y);
    }
    y.resize(0, 0);
    dense z = apply_adjoint(q);  // = (Q^T A)^T
    detail::check_finite(z, "A^T * X");
    Eigen::HouseholderQR<dense> qr(z);
    dense rz = qr.matrixQR().topRows(l);
    rz.template triangularView<Eigen::StrictlyLower>().setZero();
    const dense rz_t = rz.transpose();
    dense qz = dense::Identity(cols, l);
    qz.applyOnTheLeft(qr.householderQ());
    z.resize(0, 0);
    Eigen::BDCSVD<dense> svd(rz_t, Eigen::ComputeThinU | Eigen::ComputeThinV);
    out.u = q * svd.matrixU().leftCols(r);
    out.s = svd.singularValues().head(r);
    out.v = qz * svd.matrixV().leftCols(r);
    detail::normalize_signs(out);
    return out;
}

namespace detail {

// A * X and A^T * X for the sparse overload, each as a row-major sparse matrix times a row-major
// dense block: every nonzero reads one contiguous row of l values. (Eigen's product with a
// transposed row-major view scatters instead, about four times slower, hence the explicit
// transposed copy.)
template <class Scalar, class StorageIndex>
struct row_major_product {
    const Eigen::SparseMatrix<Scalar, Eigen::RowMajor, StorageIndex>* a;
    column_matrix<Scalar> operator()(const column_matrix<Scalar>& x) const {
        const matrix<Scalar> xr = x;
        const matrix<Scalar> yr = (*a) * xr;
        return column_matrix<Scalar>(yr);
    }
};

template <class Sparse>
void check_finite_sparse(const Sparse& a) {
    for (Eigen::Index k = 0; k < a.outerSize(); ++k)
        for (typename Sparse::InnerIterator it(a, k); it; ++it)
            if (!std::isfinite(it.value()))
                ::bloom::detail::throw_invalid(
                    "randomized_svd: the sparse matrix holds NaN or infinity at (" +
                    std::to_string(it.row()) + ", " + std::to_string(it.col()) + ")");
}

}  // namespace detail

// The same for a sparse matrix (either storage order). A row-major copy of A^T (or of A, for a
// column-major input) is made once, so the memory is twice A's; the products then cost
// O(nnz l) each, by rows.
template <class Scalar, int Options, class StorageIndex>
svd_result<Scalar> randomized_svd(const Eigen::SparseMatrix<Scalar, Options, StorageIndex>& a,
                                  const svd_config& cfg) {
    using rows_type = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, StorageIndex>;
    detail::check_finite_sparse(a);
    if constexpr ((Options & Eigen::RowMajor) != 0) {
        const rows_type at = a.transpose();
        return randomized_svd<Scalar>(a.rows(), a.cols(),
                                      detail::row_major_product<Scalar, StorageIndex>{&a},
                                      detail::row_major_product<Scalar, StorageIndex>{&at}, cfg);
    } else {
        const rows_type ar = a;
        const rows_type at = a.transpose();
        return randomized_svd<Scalar>(a.rows(), a.cols(),
                                      detail::row_major_product<Scalar, StorageIndex>{&ar},
                                      detail::row_major_product<Scalar, StorageIndex>{&at}, cfg);
    }
}

// The same for a dense matrix.
template <class Derived>
svd_result<typename Derived::Scalar> randomized_svd(const Eigen::MatrixBase<Derived>& a,
                                                    const svd_config& cfg) {
    using Scalar = typename Derived::Scalar;
    const column_matrix<Scalar> ad = a;
    if (!ad.allFinite())
        ::bloom::detail::throw_invalid("randomized_svd: the dense matrix holds NaN or infinity");
    auto apply = [&ad](const column_matrix<Scalar>& x) { return column_matrix<Scalar>(ad * x); };
    auto apply_adjoint = [&ad](const column_matrix<Scalar>& x) {
        return column_matrix<Scalar>(ad.transpose() * x);
    };
    return randomized_svd<Scalar>(ad.rows(), ad.cols(), apply, apply_adjoint, cfg);
}

namespace detail {

// Each user's distinct items, sorted; a user with more than `cap` distinct items (cap > 0) keeps
// a uniform sample of cap of them (partial Fisher-Yates with exact integer draws from rng, users
// in order). Validates the CSR and the ids against d (`what` names the argument).
inline eval::user_items item_sets(const eval::user_items& x, std::uint32_t d, std::uint32_t cap,
                                  data::engine& rng, const std::string& what) {
    eval::validate(x, d, what);
    eval::user_items out;
    const std::size_t n_users = x.n_users();
    out.offsets.assign(n_users + 1, 0);
    out.items.reserve(x.items.size());
    std::vector<std::uint32_t> row;
    for (std::size_t u = 0; u < n_users; ++u) {
        row.assign(x.begin(u), x.end(u));
        std::sort(row.begin(), row.end());
        row.erase(std::unique(row.begin(), row.end()), row.end());
        if (cap > 0 && row.size() > cap) {
            for (std::size_t k = 0; k < cap; ++k) {
                const auto j = k + static_cast<std::size_t>(
                                       data::detail::uniform_below(rng, row.size() - k));
                std::swap(row[k], row[j]);
            }
            row.resize(cap);
            std::sort(row.begin(), row.end());
        }
        out.items.insert(out.items.end(), row.begin(), row.end());
        out.offsets[u + 1] = out.items.size();
    }
    return out;
}

// The users holding each item: CSR with d rows over the users of `sets` (ascending users).
inline eval::user_items item_users(const eval::user_items& sets, std::uint32_t d) {
    eval::user_items t;
    t.offsets.assign(std::size_t{d} + 1, 0);
    for (const std::uint32_t i : sets.items) ++t.offsets[std::size_t{i} + 1];
    for (std::size_t i = 0; i < d; ++i) t.offsets[i + 1] += t.offsets[i];
    t.items.resize(sets.items.size());
    std::vector<std::size_t> next(t.offsets.begin(), t.offsets.end() - 1);
    for (std::size_t u = 0; u < sets.n_users(); ++u)
        for (const std::uint32_t* p = sets.begin(u); p != sets.end(u); ++p)
            t.items[next[*p]++] = static_cast<std::uint32_t>(u);
    return t;
}

// Row by row over i: counts c(i, j) = #users holding i in `left` and j in `right` (skipping
// j == i when skip_diagonal), then value(i, j, c) for each j in ascending order; entries whose
// value is not > 0 are dropped. Cost: sum over users of |left_u| |right_u|, O(d) scratch.
template <class Scalar, class Value>
sparse_matrix<Scalar> count_pairs(const eval::user_items& left, const eval::user_items& right,
                                  std::uint32_t d, bool skip_diagonal, Value&& value,
                                  const char* who) {
    const eval::user_items by_item = item_users(left, d);
    sparse_matrix<Scalar> out(d, d);
    std::vector<std::uint32_t> count(d, 0);
    std::vector<std::uint32_t> touched;
    std::size_t nnz = 0;
    const auto limit = static_cast<std::size_t>(std::numeric_limits<int>::max());
    for (std::uint32_t i = 0; i < d; ++i) {
        out.startVec(i);
        touched.clear();
        for (const std::uint32_t* u = by_item.begin(i); u != by_item.end(i); ++u)
            for (const std::uint32_t* j = right.begin(*u); j != right.end(*u); ++j) {
                if (skip_diagonal && *j == i) continue;
                if (count[*j]++ == 0) touched.push_back(*j);
            }
        std::sort(touched.begin(), touched.end());
        for (const std::uint32_t j : touched) {
            const double x = value(i, j, static_cast<double>(count[j]));
            count[j] = 0;
            if (!(x > 0.0)) continue;
            if (++nnz > limit)
                ::bloom::detail::throw_invalid(std::string(who) +
                                               ": more than 2^31 - 1 nonzeros; lower "
                                               "max_items_per_user");
            out.insertBack(i, j) = static_cast<Scalar>(x);
        }
    }
    out.finalize();
    return out;
}

inline void check_rank(std::uint32_t d, std::uint32_t m, const char* who) {
    if (d == 0) ::bloom::detail::throw_invalid(std::string(who) + ": d = 0 items");
    if (m == 0) ::bloom::detail::throw_invalid(std::string(who) + ": m = 0 dimensions");
    if (m > d)
        ::bloom::detail::throw_invalid(std::string(who) + ": m = " + std::to_string(m) +
                                       " dimensions exceed d = " + std::to_string(d) + " items");
}

// Zeroes the table rows of items with no entry in their row of `a` (by_rows) or their column:
// an exact SVD may give such items a nonzero entry in directions of singular value 0.
template <class Scalar>
void zero_empty(matrix<Scalar>& t, const sparse_matrix<Scalar>& a, bool by_rows) {
    std::vector<char> used(static_cast<std::size_t>(t.rows()), 0);
    for (Eigen::Index i = 0; i < a.outerSize(); ++i)
        for (typename sparse_matrix<Scalar>::InnerIterator it(a, i); it; ++it)
            used[static_cast<std::size_t>(by_rows ? it.row() : it.col())] = 1;
    for (Eigen::Index i = 0; i < t.rows(); ++i)
        if (!used[static_cast<std::size_t>(i)]) t.row(i).setZero();
}

}  // namespace detail

struct pmi_config {
    double smoothing = 0.75;                  // alpha in (0, 1]: marginals are raised to alpha
    std::uint32_t max_items_per_user = 1000;  // larger sets are sampled down to this; 0: no cap
    std::uint32_t min_cooccurrence = 1;       // pairs seen in fewer users are not stored
    std::uint64_t seed = 42;                  // sampling of long sets, and the SVD's test matrix
    std::uint32_t oversample = 10;            // randomized_svd's p
    std::uint32_t power_iterations = 2;       // randomized_svd's q
};

// The d x d positive PMI matrix of item co-occurrence in the users' item sets.
//
// Each user's list becomes a set (duplicates count once; a set of more than max_items_per_user
// items is replaced by a seeded uniform sample of that many, which bounds the cost below). Every
// ordered pair of distinct items in a set is one co-occurrence:
//   c_ij = #users whose set holds both i and j (i != j; c_ii = 0),
//   c_i  = sum_j c_ij = sum over users holding i of (|set| - 1),
//   N    = sum_i c_i  = sum over users of |set| (|set| - 1),
//   S    = sum_i c_i^alpha.
// With P(i, j) = c_ij / N and the smoothed marginal P_alpha(i) = c_i^alpha / S on both sides
// (Levy, Goldberg & Dagan's context-distribution smoothing, applied to both so the matrix stays
// symmetric):
//   PPMI(i, j) = max(0, log(P(i, j) / (P_alpha(i) P_alpha(j))))
//              = max(0, log(c_ij S^2 / (N c_i^alpha c_j^alpha)))
// which for alpha = 1 (S = N) is max(0, log(c_ij N / (c_i c_j))). Only positive entries are
// stored; the rows of items in no pair are empty. With min_cooccurrence = k > 1, pairs with
// c_ij < k are dropped as well (they still count in c_i and N): most pairs of a large catalogue
// co-occur once, so k = 2 shrinks the matrix, and the SVD's cost, several times. Logarithms are
// natural and computed in double, in an order that makes PPMI(i, j) and PPMI(j, i) the same bits.
//
// Cost: sum over users of min(|set|, cap)^2 counter increments, O(d) scratch, and the nonzeros.
// Throws bloom::invalid_argument for d = 0, a malformed `train`, alpha outside (0, 1] or NaN, or
// when no user has two distinct items; bloom::out_of_range for an item id >= d.
template <class Scalar = float>
sparse_matrix<Scalar> ppmi_matrix(const eval::user_items& train, std::uint32_t d,
                                  const pmi_config& cfg = {}) {
    if (d == 0) ::bloom::detail::throw_invalid("ppmi_matrix: d = 0 items");
    const double alpha = cfg.smoothing;
    if (!(alpha > 0.0 && alpha <= 1.0))
        ::bloom::detail::throw_invalid("ppmi_matrix: smoothing = " + std::to_string(alpha) +
                                       ", expected a value in (0, 1]");
    data::engine rng(cfg.seed);
    const eval::user_items sets =
        detail::item_sets(train, d, cfg.max_items_per_user, rng, "ppmi_matrix: training items");
    std::vector<double> c(d, 0.0);
    double n_pairs = 0.0;
    for (std::size_t u = 0; u < sets.n_users(); ++u) {
        const auto n = static_cast<double>(sets.count(u));
        n_pairs += n * (n - 1.0);
        for (const std::uint32_t* p = sets.begin(u); p != sets.end(u); ++p) c[*p] += n - 1.0;
    }
    if (!(n_pairs > 0.0))
        ::bloom::detail::throw_invalid("ppmi_matrix: no user of the " +
                                       std::to_string(train.n_users()) +
                                       " has two distinct items, so no item co-occurs with "
                                       "another");
    double s = 0.0;
    std::vector<double> log_c(d, 0.0);
    for (std::uint32_t i = 0; i < d; ++i)
        if (c[i] > 0.0) {
            log_c[i] = alpha * std::log(c[i]);
            s += std::exp(log_c[i]);
        }
    const double shift = 2.0 * std::log(s) - std::log(n_pairs);
    const auto min_count = static_cast<double>(cfg.min_cooccurrence);
    auto value = [&](std::uint32_t i, std::uint32_t j, double cij) {
        if (cij < min_count) return 0.0;
        return std::log(cij) + shift - (log_c[i] + log_c[j]);  // symmetric in i, j exactly
    };
    return detail::count_pairs<Scalar>(sets, sets, d, true, value, "ppmi_matrix");
}

// PMI embeddings: the d x m table whose row i is row i of U * sqrt(S), where U S V^T is the
// rank-m randomized SVD of ppmi_matrix(train, d, cfg) (the symmetric split of the factorization,
// so that <row i, row j> approximates PPMI(i, j) where U and V agree). The same table codes the
// network's input sets and its targets. Items that occur in no pair get a zero row.
//
// Cost: ppmi_matrix's, then O(nnz (m + p) q + d (m + p)^2 q) for the SVD (randomized_svd).
// Throws bloom::invalid_argument for m = 0 or m > d and everything ppmi_matrix throws.
template <class Scalar = float>
matrix<Scalar> pmi_embeddings(const eval::user_items& train, std::uint32_t d, std::uint32_t m,
                              const pmi_config& cfg = {}) {
    detail::check_rank(d, m, "pmi_embeddings");
    const sparse_matrix<Scalar> p = ppmi_matrix<Scalar>(train, d, cfg);
    svd_config sc;
    sc.rank = m;
    sc.oversample = cfg.oversample;
    sc.power_iterations = cfg.power_iterations;
    sc.seed = cfg.seed + 0x9e3779b97f4a7c15ULL;  // a stream apart from the sampling's
    detail::check_finite_sparse(p);
    // PPMI is symmetric bit for bit (see ppmi_matrix), so A^T * X is A * X: no transposed copy.
    const detail::row_major_product<Scalar, int> product{&p};
    svd_result<Scalar> f = randomized_svd<Scalar>(p.rows(), p.cols(), product, product, sc);
    matrix<Scalar> t = f.u * f.s.cwiseMax(Scalar(0)).cwiseSqrt().asDiagonal();
    detail::zero_empty(t, p, true);
    return t;
}

struct cca_config {
    double regularization = 1.0;              // ridge added to each item's count (>= 0)
    bool scale = true;                        // multiply both tables by sqrt(S)
    std::uint32_t max_items_per_user = 1000;  // larger sets (either side) are sampled; 0: no cap
    std::uint64_t seed = 42;                  // sampling of long sets, and the SVD's test matrix
    std::uint32_t oversample = 10;            // randomized_svd's p
    std::uint32_t power_iterations = 2;       // randomized_svd's q
};

template <class Scalar>
struct cca_result {
    matrix<Scalar> in;             // d x m: codes of the input items
    matrix<Scalar> out;            // d x m: codes of the target items
    vector<Scalar> singular_values;  // the m singular values of M, non-increasing
};

// CCA embeddings: canonical correlation analysis between the users' input sets X and target sets
// Y (users x d binary matrices; duplicates count once; sets longer than max_items_per_user are
// sampled as in ppmi_matrix).
//
//   Cxy = X^T Y                      (d x d sparse: users holding i in X and j in Y)
//   Dx  = diag(X^T X) + reg I        (users holding i in X, plus the ridge); Dy likewise
//   M   = Dx^-1/2 Cxy Dy^-1/2  ~  U S V^T   (rank-m randomized SVD)
//   in  = Dx^-1/2 U S^1/2,   out = Dy^-1/2 V S^1/2   (without S^1/2 when scale = false)
//
// Whitening by the diagonal of Cxx and Cyy replaces their inverse square roots: for one-hot views
// the off-diagonal of Cxx is small beside its diagonal, the full inverse is dense and out of
// reach at large d, and the ridge keeps rare items from dominating (it shrinks items seen in few
// users). The views are not centred (centring would make Cxy dense): the leading pair then
// mostly carries item popularity, the trivial correlation of correspondence analysis, which is
// kept because popularity ranks well. With scale = true, <in_i, out_j> approximates the rank-m
// part of Dx^-1 Cxy Dy^-1, so an input set's code scores the targets by the (normalized)
// co-occurrence it was built from; with scale = false the columns are the classical canonical
// directions (unit variance under the diagonal approximation). Items absent from a side get a
// zero row in that side's table.
//
// Cost: sum over users of |X_u| |Y_u| (each capped) for Cxy, then randomized_svd's
// O(nnz (m + p) q + d (m + p)^2 q). Throws bloom::invalid_argument for m = 0 or m > d, NaN or
// negative reg, malformed or empty sets, different user counts, or no user with items on both
// sides; bloom::out_of_range for an item id >= d.
template <class Scalar = float>
cca_result<Scalar> cca_embeddings(const eval::user_items& inputs, const eval::user_items& targets,
                                  std::uint32_t d, std::uint32_t m, const cca_config& cfg = {}) {
    detail::check_rank(d, m, "cca_embeddings");
    const double reg = cfg.regularization;
    if (!(reg >= 0.0) || !std::isfinite(reg))
        ::bloom::detail::throw_invalid("cca_embeddings: regularization = " + std::to_string(reg) +
                                       ", expected a finite value >= 0");
    if (inputs.n_users() != targets.n_users())
        ::bloom::detail::throw_invalid("cca_embeddings: " + std::to_string(inputs.n_users()) +
                                       " users in the inputs but " +
                                       std::to_string(targets.n_users()) +
                                       " in the targets; they must be the same users");
    if (inputs.empty() || targets.empty())
        ::bloom::detail::throw_invalid(std::string("cca_embeddings: the ") +
                                       (inputs.empty() ? "inputs" : "targets") + " hold no items");
    data::engine rng(cfg.seed);
    const eval::user_items xs = detail::item_sets(inputs, d, cfg.max_items_per_user, rng,
                                                  "cca_embeddings: inputs");
    const eval::user_items ys = detail::item_sets(targets, d, cfg.max_items_per_user, rng,
                                                  "cca_embeddings: targets");
    std::vector<double> dx(d, reg), dy(d, reg);
    for (const std::uint32_t i : xs.items) dx[i] += 1.0;
    for (const std::uint32_t j : ys.items) dy[j] += 1.0;
    std::vector<double> wx(d, 0.0), wy(d, 0.0);  // D^-1/2, 0 where D = 0 (row empty anyway)
    for (std::uint32_t i = 0; i < d; ++i) {
        if (dx[i] > 0.0) wx[i] = 1.0 / std::sqrt(dx[i]);
        if (dy[i] > 0.0) wy[i] = 1.0 / std::sqrt(dy[i]);
    }
    auto value = [&](std::uint32_t i, std::uint32_t j, double cij) { return cij * wx[i] * wy[j]; };
    const sparse_matrix<Scalar> mm =
        detail::count_pairs<Scalar>(xs, ys, d, false, value, "cca_embeddings");
    if (mm.nonZeros() == 0)
        ::bloom::detail::throw_invalid("cca_embeddings: no user has items in both the inputs and "
                                       "the targets, so X^T Y is zero");
    svd_config sc;
    sc.rank = m;
    sc.oversample = cfg.oversample;
    sc.power_iterations = cfg.power_iterations;
    sc.seed = cfg.seed + 0x9e3779b97f4a7c15ULL;
    svd_result<Scalar> f = randomized_svd(mm, sc);

    cca_result<Scalar> out;
    vector<Scalar> w = vector<Scalar>::Ones(m);
    if (cfg.scale) w = f.s.cwiseMax(Scalar(0)).cwiseSqrt();
    out.in.resize(d, m);
    out.out.resize(d, m);
    for (std::uint32_t i = 0; i < d; ++i) {
        out.in.row(i) = f.u.row(i).cwiseProduct(w.transpose()) * static_cast<Scalar>(wx[i]);
        out.out.row(i) = f.v.row(i).cwiseProduct(w.transpose()) * static_cast<Scalar>(wy[i]);
    }
    detail::zero_empty(out.in, mm, true);
    detail::zero_empty(out.out, mm, false);
    out.singular_values = f.s;
    return out;
}

}  // namespace models
}  // namespace bloom
