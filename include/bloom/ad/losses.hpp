// Losses: each returns a 1x1 node, computed in a numerically stable form, with its gradient
// worked out in the forward pass (kept on the node) so backward is one scaled add.
//
// Classification over the m outputs (the paper's network):
//   softmax_cross_entropy(logits, targets)      targets: dense n x m, or a CSR batch of positions
//       loss = (1/n) sum_i sum_j -q_ij log softmax(z_i)_j, with q_i = y_i / sum_j y_ij: the soft,
//       normalised multi-hot target (a row of zeros contributes 0). log softmax uses the
//       log-sum-exp with the row maximum subtracted, so no logit overflows.
//   sigmoid_bce_with_logits(logits, targets)    targets dense, same shape, values in [0, 1]
//       loss = mean over all entries of max(z, 0) - z y + log(1 + e^-|z|).
//
// Regression (the network's PMI and CCA codings, which predict a real m-vector):
//   squared_error(pred, targets)                targets dense, same shape
//       loss = (1/n) sum_i ||pred_i - y_i||^2: summed over a row's m columns, averaged over rows.
//
// Implicit-feedback ranking (Spotlight's losses), on scores of positive and sampled negative items;
// each is the mean over entries:
//   bpr(pos, neg)             1 - sigmoid(pos - neg)                  (Spotlight's bpr_loss)
//   bpr_log(pos, neg)         -log sigmoid(pos - neg) = softplus(neg - pos)   (Rendle et al.)
//   pointwise(pos, neg)       (1 - sigmoid(pos)) + sigmoid(neg)
//   hinge(pos, neg, margin)   max(neg - pos + margin, 0), margin 1 by default
//   adaptive_hinge(pos, neg)  pos n x 1, neg n x K: the hinge on the highest-scoring of the K
//                             negatives of each row (its gradient goes to that negative only)
// pos and neg have the same shape (any) except for adaptive_hinge.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/ad/sparse_ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace ad {

namespace detail {

template <class S>
S stable_sigmoid(S x) noexcept {
    if (x >= S(0)) return S(1) / (S(1) + std::exp(-x));
    const S e = std::exp(x);
    return e / (S(1) + e);
}

// log(1 + e^x) without overflow.
template <class S>
S softplus(S x) noexcept {
    return (x > S(0) ? x : S(0)) + std::log1p(std::exp(-std::abs(x)));
}

// One-input loss: aux holds d loss / d input.
template <class S>
void loss1_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    t.accumulate(n.in[0], n.grad(0, 0) * n.aux);
}

// Two-input loss: aux = [d loss / d a | d loss / d b], split at column u.
template <class S>
void loss2_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    const S g = n.grad(0, 0);
    const Eigen::Index ca = static_cast<Eigen::Index>(n.u);
    if (t.needs_grad_at(n.in[0])) t.accumulate(n.in[0], g * n.aux.leftCols(ca));
    if (t.needs_grad_at(n.in[1])) t.accumulate(n.in[1], g * n.aux.rightCols(n.aux.cols() - ca));
}

template <class S>
void set_loss(node<S>& n, S value) {
    n.value.resize(1, 1);
    n.value(0, 0) = value;
}

// Row-wise log-sum-exp and softmax: p = softmax(z) into `p`, returns the log-sum-exp per row.
template <class S>
vector<S> softmax_rows(const matrix<S>& z, matrix<S>& p) {
    const vector<S> mx = z.rowwise().maxCoeff();
    p = z;
    p.colwise() -= mx;
    p = p.array().exp().matrix();
    const vector<S> sum = p.rowwise().sum();
    p.array().colwise() /= sum.array();
    return (mx.array() + sum.array().log()).matrix();
}

template <class S>
void require_pair(const char* op, const matrix<S>& a, const matrix<S>& b) {
    if (a.rows() != b.rows() || a.cols() != b.cols())
        shape_error(op, "positive scores are " + shape(a) + " but negative scores are " +
                            shape(b) + " (same shape needed)");
    if (a.size() == 0) shape_error(op, "no scores (" + shape(a) + ")");
}

// Elementwise pair loss: f(pos, neg, &dpos, &dneg) -> loss entry.
template <class S, class F>
var pair_loss(tape<S>& t, const char* op, var pos, var neg, F&& f) {
    const matrix<S>& P = t.value(pos);
    const matrix<S>& N = t.value(neg);
    require_pair(op, P, N);
    const std::uint32_t self = t.push(&loss2_back<S>, {pos, neg});
    node<S>& n = t.at(self);
    const Eigen::Index r = P.rows(), c = P.cols();
    n.u = static_cast<std::uint32_t>(c);
    n.aux.resize(r, 2 * c);
    const S inv = S(1) / static_cast<S>(P.size());
    double total = 0;
    for (Eigen::Index i = 0; i < r; ++i)
        for (Eigen::Index j = 0; j < c; ++j) {
            S dp = 0, dn = 0;
            total += static_cast<double>(f(P(i, j), N(i, j), dp, dn));
            n.aux(i, j) = inv * dp;
            n.aux(i, c + j) = inv * dn;
        }
    set_loss(n, static_cast<S>(total) * inv);
    return var{self};
}

}  // namespace detail

// --- classification ----------------------------------------------------------------------------

template <class S>
var softmax_cross_entropy(tape<S>& t, var logits, const matrix<S>& targets) {
    const matrix<S>& Z = t.value(logits);
    if (Z.rows() != targets.rows() || Z.cols() != targets.cols())
        detail::shape_error("softmax_cross_entropy", "logits are " + detail::shape(Z) +
                                                         " but targets are " +
                                                         detail::shape(targets));
    if (Z.rows() == 0) detail::shape_error("softmax_cross_entropy", "empty batch");
    if ((targets.array() < S(0)).any())
        ::bloom::detail::throw_invalid("softmax_cross_entropy: targets must be >= 0");
    const std::uint32_t self = t.push(&detail::loss1_back<S>, {logits});
    node<S>& n = t.at(self);
    const vector<S> lse = detail::softmax_rows(Z, n.aux);  // aux = p
    const vector<S> ysum = targets.rowwise().sum();
    const S inv_n = S(1) / static_cast<S>(Z.rows());
    double total = 0;
    for (Eigen::Index i = 0; i < Z.rows(); ++i) {
        if (ysum(i) == S(0)) {
            n.aux.row(i).setZero();
            continue;
        }
        const S inv = S(1) / ysum(i);
        // -sum_j q_j (z_j - lse) = lse - sum_j q_j z_j
        total += static_cast<double>(lse(i) - inv * targets.row(i).dot(Z.row(i)));
        // d/dz = (p - q) / n
        n.aux.row(i) = inv_n * (n.aux.row(i) - inv * targets.row(i));
    }
    detail::set_loss(n, static_cast<S>(total) * inv_n);
    return var{self};
}

// Targets as a CSR batch of positions (the Bloom encoding of each row's items), with optional
// values; a repeated position counts as many times as it is listed.
template <class S, class Offset>
var softmax_cross_entropy(tape<S>& t, var logits, const csr_view<S, Offset>& targets) {
    const matrix<S>& Z = t.value(logits);
    if (static_cast<std::size_t>(Z.rows()) != targets.rows || targets.offsets == nullptr)
        detail::shape_error("softmax_cross_entropy", "logits are " + detail::shape(Z) +
                                                         " but the target batch has " +
                                                         std::to_string(targets.rows) + " rows");
    if (Z.rows() == 0) detail::shape_error("softmax_cross_entropy", "empty batch");
    for (std::size_t i = 0; i < targets.rows; ++i)
        for (Offset e = targets.offsets[i]; e < targets.offsets[i + 1]; ++e) {
            if (static_cast<Eigen::Index>(targets.positions[e]) >= Z.cols())
                ::bloom::detail::throw_range("softmax_cross_entropy: target row " +
                                             std::to_string(i) + " has position " +
                                             std::to_string(targets.positions[e]) +
                                             " but the logits are " + detail::shape(Z));
            if (targets.values && targets.values[e] < S(0))
                ::bloom::detail::throw_invalid("softmax_cross_entropy: target values must be >= 0");
        }
    const std::uint32_t self = t.push(&detail::loss1_back<S>, {logits});
    node<S>& n = t.at(self);
    const vector<S> lse = detail::softmax_rows(Z, n.aux);
    const S inv_n = S(1) / static_cast<S>(Z.rows());
    double total = 0;
    for (std::size_t i = 0; i < targets.rows; ++i) {
        const auto r = static_cast<Eigen::Index>(i);
        S ysum = 0;
        for (Offset e = targets.offsets[i]; e < targets.offsets[i + 1]; ++e)
            ysum += targets.values ? targets.values[e] : S(1);
        if (ysum == S(0)) {
            n.aux.row(r).setZero();
            continue;
        }
        const S inv = S(1) / ysum;
        S qz = 0;
        n.aux.row(r) *= inv_n;
        for (Offset e = targets.offsets[i]; e < targets.offsets[i + 1]; ++e) {
            const S q = inv * (targets.values ? targets.values[e] : S(1));
            const auto c = static_cast<Eigen::Index>(targets.positions[e]);
            qz += q * Z(r, c);
            n.aux(r, c) -= inv_n * q;
        }
        total += static_cast<double>(lse(r) - qz);
    }
    detail::set_loss(n, static_cast<S>(total) * inv_n);
    return var{self};
}

template <class S>
var sigmoid_bce_with_logits(tape<S>& t, var logits, const matrix<S>& targets) {
    const matrix<S>& Z = t.value(logits);
    if (Z.rows() != targets.rows() || Z.cols() != targets.cols())
        detail::shape_error("sigmoid_bce_with_logits", "logits are " + detail::shape(Z) +
                                                           " but targets are " +
                                                           detail::shape(targets));
    if (Z.size() == 0) detail::shape_error("sigmoid_bce_with_logits", "empty input");
    const std::uint32_t self = t.push(&detail::loss1_back<S>, {logits});
    node<S>& n = t.at(self);
    const auto z = Z.array();
    const auto y = targets.array();
    const S inv = S(1) / static_cast<S>(Z.size());
    const S total = (z.max(S(0)) - z * y + (-z.abs()).exp().log1p()).sum();
    // d/dz = (sigmoid(z) - y) / N
    n.aux = (inv * (S(1) / (S(1) + (-z).exp()) - y)).matrix();
    detail::set_loss(n, total * inv);
    return var{self};
}

// --- ranking (Spotlight) -----------------------------------------------------------------------

template <class S>
var bpr(tape<S>& t, var pos, var neg) {
    return detail::pair_loss(t, "bpr", pos, neg, [](S p, S q, S& dp, S& dn) {
        const S s = detail::stable_sigmoid(p - q);
        dp = -s * (S(1) - s);
        dn = -dp;
        return S(1) - s;
    });
}

template <class S>
var bpr_log(tape<S>& t, var pos, var neg) {
    return detail::pair_loss(t, "bpr_log", pos, neg, [](S p, S q, S& dp, S& dn) {
        const S d = p - q;
        dp = -detail::stable_sigmoid(-d);
        dn = -dp;
        return detail::softplus(-d);
    });
}

template <class S>
var pointwise(tape<S>& t, var pos, var neg) {
    return detail::pair_loss(t, "pointwise", pos, neg, [](S p, S q, S& dp, S& dn) {
        const S sp = detail::stable_sigmoid(p);
        const S sn = detail::stable_sigmoid(q);
        dp = -sp * (S(1) - sp);
        dn = sn * (S(1) - sn);
        return (S(1) - sp) + sn;
    });
}

template <class S>
var hinge(tape<S>& t, var pos, var neg, S margin = S(1)) {
    return detail::pair_loss(t, "hinge", pos, neg, [margin](S p, S q, S& dp, S& dn) {
        const S h = q - p + margin;
        if (h <= S(0)) return S(0);
        dp = S(-1);
        dn = S(1);
        return h;
    });
}

// pos: n x 1; neg: n x K (K sampled negatives per row).
template <class S>
var adaptive_hinge(tape<S>& t, var pos, var neg, S margin = S(1)) {
    const matrix<S>& P = t.value(pos);
    const matrix<S>& N = t.value(neg);
    if (P.cols() != 1 || N.rows() != P.rows() || N.cols() == 0 || P.rows() == 0)
        detail::shape_error("adaptive_hinge", "positive scores are " + detail::shape(P) +
                                                  " and negative scores " + detail::shape(N) +
                                                  " (n x 1 and n x K, n, K >= 1, needed)");
    const std::uint32_t self = t.push(&detail::loss2_back<S>, {pos, neg});
    node<S>& n = t.at(self);
    n.u = 1;
    n.aux.setZero(P.rows(), 1 + N.cols());
    const S inv = S(1) / static_cast<S>(P.rows());
    double total = 0;
    for (Eigen::Index i = 0; i < P.rows(); ++i) {
        Eigen::Index j = 0;
        const S top = N.row(i).maxCoeff(&j);
        const S h = top - P(i, 0) + margin;
        if (h <= S(0)) continue;
        total += static_cast<double>(h);
        n.aux(i, 0) = -inv;
        n.aux(i, 1 + j) = inv;
    }
    detail::set_loss(n, static_cast<S>(total) * inv);
    return var{self};
}

// --- regression --------------------------------------------------------------------------------

template <class S>
var squared_error(tape<S>& t, var pred, const matrix<S>& targets) {
    const matrix<S>& Z = t.value(pred);
    if (Z.rows() != targets.rows() || Z.cols() != targets.cols())
        detail::shape_error("squared_error", "predictions are " + detail::shape(Z) +
                                                 " but targets are " + detail::shape(targets));
    if (Z.rows() == 0) detail::shape_error("squared_error", "empty batch");
    if (!targets.allFinite())
        ::bloom::detail::throw_invalid("squared_error: a target is NaN or infinite");
    const std::uint32_t self = t.push(&detail::loss1_back<S>, {pred});
    node<S>& n = t.at(self);
    const S inv_n = S(1) / static_cast<S>(Z.rows());
    n.aux = Z - targets;  // the difference, then d loss / d pred = 2 (pred - y) / n
    const S total = n.aux.squaredNorm() * inv_n;
    n.aux *= S(2) * inv_n;
    detail::set_loss(n, total);
    return var{self};
}

}  // namespace ad
}  // namespace bloom
