// Dense ops on a tape. Each op checks its shapes once (throwing bloom::invalid_argument that names
// the op and both shapes), computes its value with Eigen, and registers a backward function that
// sends its gradient to the inputs that need one.
//
//   matmul(a, b)          a (n x k) * b (k x m)
//   matmul_nt(a, b)       a (n x k) * b^T, b (m x k): scores of rows of a against rows of b
//   add(a, b), sub(a, b)  same shapes
//   add_bias(x, b)        x (n x m) + b (1 x m) added to every row
//   mul(a, b)             elementwise product, same shapes
//   scale(x, c)           c * x for a constant c
//   relu, sigmoid, tanh   elementwise
//   softmax, log_softmax  row-wise, numerically stable (the row maximum is subtracted)
//   dropout(x, p, rng, training)  inverted dropout: kept entries are scaled by 1/(1-p); the
//                         identity (the same var) when !training or p == 0
//   sum(x), mean(x)       all entries -> 1x1
//   row_sum(x)            n x m -> n x 1 (with mul: row-wise dot products)
//   gather_rows(x, idx)   rows idx[0..) of x (repeats allowed); backward scatter-adds
//   concat_cols({a, b..}) side by side, same row counts
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/ad/random.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace ad {

namespace detail {

[[noreturn]] inline void shape_error(const char* op, const std::string& what) {
    ::bloom::detail::throw_invalid(std::string(op) + ": " + what);
}

template <class S>
void require_same_shape(const char* op, const matrix<S>& a, const matrix<S>& b) {
    if (a.rows() != b.rows() || a.cols() != b.cols())
        shape_error(op, "shapes " + shape(a) + " and " + shape(b) + " differ");
}

// --- backward functions ----------------------------------------------------------------------
template <class S>
void matmul_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    const matrix<S>& a = t.value_at(n.in[0]);
    const matrix<S>& b = t.value_at(n.in[1]);
    if (t.needs_grad_at(n.in[0])) t.accumulate(n.in[0], n.grad * b.transpose());
    if (t.needs_grad_at(n.in[1])) t.accumulate(n.in[1], a.transpose() * n.grad);
}

template <class S>
void matmul_nt_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    const matrix<S>& a = t.value_at(n.in[0]);
    const matrix<S>& b = t.value_at(n.in[1]);
    if (t.needs_grad_at(n.in[0])) t.accumulate(n.in[0], n.grad * b);
    if (t.needs_grad_at(n.in[1])) t.accumulate(n.in[1], n.grad.transpose() * a);
}

template <class S>
void add_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    t.accumulate(n.in[0], n.grad);
    t.accumulate(n.in[1], n.grad);
}

template <class S>
void sub_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    t.accumulate(n.in[0], n.grad);
    t.accumulate(n.in[1], -n.grad);
}

template <class S>
void add_bias_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    t.accumulate(n.in[0], n.grad);
    if (t.needs_grad_at(n.in[1])) t.accumulate(n.in[1], n.grad.colwise().sum());
}

template <class S>
void mul_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    if (t.needs_grad_at(n.in[0]))
        t.accumulate(n.in[0], n.grad.cwiseProduct(t.value_at(n.in[1])));
    if (t.needs_grad_at(n.in[1]))
        t.accumulate(n.in[1], n.grad.cwiseProduct(t.value_at(n.in[0])));
}

template <class S>
void scale_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    t.accumulate(n.in[0], n.s * n.grad);
}

template <class S>
void relu_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    // A multiply by the 0/1 mask vectorises where a select does not.
    t.accumulate(n.in[0],
                 (n.grad.array() * (n.value.array() > S(0)).template cast<S>()).matrix());
}

template <class S>
void sigmoid_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    const auto y = n.value.array();
    t.accumulate(n.in[0], (n.grad.array() * y * (S(1) - y)).matrix());
}

template <class S>
void tanh_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    const auto y = n.value.array();
    t.accumulate(n.in[0], (n.grad.array() * (S(1) - y.square())).matrix());
}

template <class S>
void softmax_back(tape<S>& t, std::uint32_t self) {
    node<S>& n = t.at(self);
    // dx = y * (g - rowsum(g * y))
    const vector<S> dot = n.grad.cwiseProduct(n.value).rowwise().sum();
    n.aux = n.grad;
    n.aux.colwise() -= dot;
    t.accumulate(n.in[0], n.aux.cwiseProduct(n.value));
}

template <class S>
void log_softmax_back(tape<S>& t, std::uint32_t self) {
    node<S>& n = t.at(self);
    // dx = g - softmax(x) * rowsum(g)
    const vector<S> gs = n.grad.rowwise().sum();
    n.aux = n.value.array().exp().matrix();
    n.aux.array().colwise() *= gs.array();
    t.accumulate(n.in[0], n.grad - n.aux);
}

template <class S>
void dropout_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    t.accumulate(n.in[0], n.grad.cwiseProduct(n.aux));
}

template <class S>
void sum_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    const matrix<S>& x = t.value_at(n.in[0]);
    t.accumulate(n.in[0], matrix<S>::Constant(x.rows(), x.cols(), n.s * n.grad(0, 0)));
}

template <class S>
void row_sum_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    const matrix<S>& x = t.value_at(n.in[0]);
    t.accumulate(n.in[0], n.grad.replicate(1, x.cols()));
}

template <class S>
void gather_rows_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    matrix<S>& g = t.grad_buffer(n.in[0]);
    for (std::size_t i = 0; i < n.index.size(); ++i)
        g.row(static_cast<Eigen::Index>(n.index[i])) += n.grad.row(static_cast<Eigen::Index>(i));
}

template <class S>
void concat_cols_back(tape<S>& t, std::uint32_t self) {
    const node<S>& n = t.at(self);
    Eigen::Index off = 0;
    for (std::uint32_t in : n.index) {
        const Eigen::Index c = t.value_at(in).cols();
        if (t.needs_grad_at(in)) t.accumulate(in, n.grad.middleCols(off, c));
        off += c;
    }
}

}  // namespace detail

// --- linear algebra ----------------------------------------------------------------------------

template <class S>
var matmul(tape<S>& t, var a, var b) {
    const matrix<S>& A = t.value(a);
    const matrix<S>& B = t.value(b);
    if (A.cols() != B.rows())
        detail::shape_error("matmul", "shapes " + detail::shape(A) + " and " + detail::shape(B) +
                                          " do not agree (" + std::to_string(A.cols()) +
                                          " columns vs " + std::to_string(B.rows()) + " rows)");
    const std::uint32_t i = t.push(&detail::matmul_back<S>, {a, b});
    node<S>& n = t.at(i);
    n.value.noalias() = A * B;
    return var{i};
}

template <class S>
var matmul_nt(tape<S>& t, var a, var b) {
    const matrix<S>& A = t.value(a);
    const matrix<S>& B = t.value(b);
    if (A.cols() != B.cols())
        detail::shape_error("matmul_nt", "shapes " + detail::shape(A) + " and " +
                                             detail::shape(B) + " need the same column count");
    const std::uint32_t i = t.push(&detail::matmul_nt_back<S>, {a, b});
    node<S>& n = t.at(i);
    n.value.noalias() = A * B.transpose();
    return var{i};
}

// --- elementwise -------------------------------------------------------------------------------

template <class S>
var add(tape<S>& t, var a, var b) {
    detail::require_same_shape("add", t.value(a), t.value(b));
    const std::uint32_t i = t.push(&detail::add_back<S>, {a, b});
    t.at(i).value = t.value_at(a.index) + t.value_at(b.index);
    return var{i};
}

template <class S>
var sub(tape<S>& t, var a, var b) {
    detail::require_same_shape("sub", t.value(a), t.value(b));
    const std::uint32_t i = t.push(&detail::sub_back<S>, {a, b});
    t.at(i).value = t.value_at(a.index) - t.value_at(b.index);
    return var{i};
}

template <class S>
var add_bias(tape<S>& t, var x, var bias) {
    const matrix<S>& X = t.value(x);
    const matrix<S>& B = t.value(bias);
    if (B.rows() != 1 || B.cols() != X.cols())
        detail::shape_error("add_bias", "input is " + detail::shape(X) + " but the bias is " +
                                            detail::shape(B) + " (1x" +
                                            std::to_string(X.cols()) + " needed)");
    const std::uint32_t i = t.push(&detail::add_bias_back<S>, {x, bias});
    node<S>& n = t.at(i);
    n.value.resize(X.rows(), X.cols());
    n.value = X.rowwise() + B.row(0);
    return var{i};
}

template <class S>
var mul(tape<S>& t, var a, var b) {
    detail::require_same_shape("mul", t.value(a), t.value(b));
    const std::uint32_t i = t.push(&detail::mul_back<S>, {a, b});
    t.at(i).value = t.value_at(a.index).cwiseProduct(t.value_at(b.index));
    return var{i};
}

template <class S>
var scale(tape<S>& t, var x, S c) {
    const matrix<S>& X = t.value(x);
    const std::uint32_t i = t.push(&detail::scale_back<S>, {x});
    node<S>& n = t.at(i);
    n.s = c;
    n.value = c * X;
    return var{i};
}

template <class S>
var relu(tape<S>& t, var x) {
    const matrix<S>& X = t.value(x);
    const std::uint32_t i = t.push(&detail::relu_back<S>, {x});
    t.at(i).value = X.cwiseMax(S(0));
    return var{i};
}

template <class S>
var sigmoid(tape<S>& t, var x) {
    const matrix<S>& X = t.value(x);
    const std::uint32_t i = t.push(&detail::sigmoid_back<S>, {x});
    // 1 / (1 + e^-x): for very negative x, e^-x overflows to inf and the result is exactly 0.
    t.at(i).value = (S(1) / (S(1) + (-X.array()).exp())).matrix();
    return var{i};
}

template <class S>
var tanh(tape<S>& t, var x) {
    const matrix<S>& X = t.value(x);
    const std::uint32_t i = t.push(&detail::tanh_back<S>, {x});
    t.at(i).value = X.array().tanh().matrix();
    return var{i};
}

// --- row-wise normalisations -------------------------------------------------------------------

template <class S>
var softmax(tape<S>& t, var x) {
    const matrix<S>& X = t.value(x);
    const std::uint32_t i = t.push(&detail::softmax_back<S>, {x});
    node<S>& n = t.at(i);
    const vector<S> mx = X.rowwise().maxCoeff();
    n.value = X;
    n.value.colwise() -= mx;
    n.value = n.value.array().exp().matrix();
    const vector<S> z = n.value.rowwise().sum();
    n.value.array().colwise() /= z.array();
    return var{i};
}

template <class S>
var log_softmax(tape<S>& t, var x) {
    const matrix<S>& X = t.value(x);
    const std::uint32_t i = t.push(&detail::log_softmax_back<S>, {x});
    node<S>& n = t.at(i);
    const vector<S> mx = X.rowwise().maxCoeff();
    n.value = X;
    n.value.colwise() -= mx;
    const vector<S> lse = n.value.array().exp().rowwise().sum().log().matrix();
    n.value.colwise() -= lse;
    return var{i};
}

// --- dropout -----------------------------------------------------------------------------------

// Inverted dropout with rate p in [0, 1): each entry is zeroed with probability p and the others
// are scaled by 1/(1-p), so evaluation needs no rescaling. The mask is drawn from `rng` (any
// standard 32- or 64-bit engine), the same on every platform for a given seed. When `training`
// is false or p == 0 the op is the identity and returns x itself.
template <class S, class Engine>
var dropout(tape<S>& t, var x, double p, Engine& rng, bool training = true) {
    if (!(p >= 0.0 && p < 1.0))
        detail::shape_error("dropout", "rate p must be in [0, 1), got " + std::to_string(p));
    const matrix<S>& X = t.value(x);
    if (!training || p == 0.0) return x;
    const std::uint32_t i = t.push(&detail::dropout_back<S>, {x});
    node<S>& n = t.at(i);
    n.aux.resize(X.rows(), X.cols());
    const S keep = static_cast<S>(1.0 / (1.0 - p));
    S* m = n.aux.data();
    for (Eigen::Index j = 0; j < n.aux.size(); ++j)
        m[j] = detail::uniform01(rng) < p ? S(0) : keep;
    n.value = X.cwiseProduct(n.aux);
    return var{i};
}

// --- reductions --------------------------------------------------------------------------------

template <class S>
var sum(tape<S>& t, var x) {
    const matrix<S>& X = t.value(x);
    const std::uint32_t i = t.push(&detail::sum_back<S>, {x});
    node<S>& n = t.at(i);
    n.s = S(1);
    n.value.resize(1, 1);
    n.value(0, 0) = X.sum();
    return var{i};
}

template <class S>
var mean(tape<S>& t, var x) {
    const matrix<S>& X = t.value(x);
    if (X.size() == 0) detail::shape_error("mean", "the input is empty (" + detail::shape(X) + ")");
    const std::uint32_t i = t.push(&detail::sum_back<S>, {x});
    node<S>& n = t.at(i);
    n.s = S(1) / static_cast<S>(X.size());
    n.value.resize(1, 1);
    n.value(0, 0) = X.sum() * n.s;
    return var{i};
}

template <class S>
var row_sum(tape<S>& t, var x) {
    const matrix<S>& X = t.value(x);
    const std::uint32_t i = t.push(&detail::row_sum_back<S>, {x});
    t.at(i).value = X.rowwise().sum();
    return var{i};
}

// --- indexing ----------------------------------------------------------------------------------

// Rows idx[0], idx[1], ... of x (repeats allowed: their gradients add up). Throws
// bloom::out_of_range for an index past x's rows.
template <class S, class Index>
var gather_rows(tape<S>& t, var x, const std::vector<Index>& idx) {
    static_assert(std::is_integral_v<Index>, "bloom: gather_rows needs integer row indices");
    const matrix<S>& X = t.value(x);
    for (std::size_t r = 0; r < idx.size(); ++r) {
        bool bad = false;
        if constexpr (std::is_signed_v<Index>) bad = idx[r] < 0;
        if (bad || static_cast<std::uint64_t>(idx[r]) >= static_cast<std::uint64_t>(X.rows()))
            ::bloom::detail::throw_range("gather_rows: index " + std::to_string(r) + " is row " +
                                         std::to_string(idx[r]) + " but the input is " +
                                         detail::shape(X));
    }
    const std::uint32_t i = t.push(&detail::gather_rows_back<S>, {x});
    node<S>& n = t.at(i);
    n.index.assign(idx.begin(), idx.end());
    n.value.resize(static_cast<Eigen::Index>(idx.size()), X.cols());
    for (std::size_t r = 0; r < idx.size(); ++r)
        n.value.row(static_cast<Eigen::Index>(r)) = X.row(static_cast<Eigen::Index>(idx[r]));
    return var{i};
}

// The inputs side by side: [a | b | ...]; all must have the same number of rows.
template <class S>
var concat_cols(tape<S>& t, const std::vector<var>& parts) {
    if (parts.empty()) detail::shape_error("concat_cols", "no inputs");
    const Eigen::Index rows = t.value(parts[0]).rows();
    Eigen::Index cols = 0;
    bool ng = false;
    for (std::size_t j = 0; j < parts.size(); ++j) {
        const matrix<S>& P = t.value(parts[j]);
        if (P.rows() != rows)
            detail::shape_error("concat_cols", "input 0 is " + detail::shape(t.value(parts[0])) +
                                                   " but input " + std::to_string(j) + " is " +
                                                   detail::shape(P) + " (row counts differ)");
        cols += P.cols();
        ng = ng || t.needs_grad(parts[j]);
    }
    const std::uint32_t i = t.push(&detail::concat_cols_back<S>, {}, ng);
    node<S>& n = t.at(i);
    n.index.clear();
    n.value.resize(rows, cols);
    Eigen::Index off = 0;
    for (var p : parts) {
        n.index.push_back(p.index);
        const matrix<S>& P = t.value_at(p.index);
        n.value.middleCols(off, P.cols()) = P;
        off += P.cols();
    }
    return var{i};
}

template <class S>
var concat_cols(tape<S>& t, std::initializer_list<var> parts) {
    return concat_cols(t, std::vector<var>(parts));
}

}  // namespace ad
}  // namespace bloom
