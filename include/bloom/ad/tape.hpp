// The reverse-mode autodiff tape: a Wengert list of matrix-valued nodes.
//
// Every op appends one node to the tape and returns its handle, a `var` (the node's index). A node
// holds its value (a row-major bloom::matrix), its gradient, the handles of its inputs, and a plain
// function pointer that knows how to send the node's gradient to its inputs. Since nodes are
// appended in evaluation order, the list is already topologically sorted: backward(loss) is one
// loop from the loss down to node 0, calling each reached node's backward function. There is no
// heap object per scalar or per node and no graph sort.
//
// Memory: nodes live in an arena (a std::deque, so references to them stay valid while the tape
// grows). clear() only resets the node count; the nodes and their matrices keep their storage, so a
// training loop that builds the same graph each step allocates nothing after the first step.
//
// Gradients: a node receives gradient only when it needs one (it depends on a parameter or on a
// variable leaf); constants and everything computed only from constants get none, and their
// backward functions never run. Dense parameters take their gradient directly into
// parameter::grad() (no copy on the tape); tables take a row-sparse gradient (see parameter.hpp).
//
// Lifetimes: a parameter or table used on a tape must outlive the tape's next clear(), and its
// value must not change between the forward pass and backward().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/ad/parameter.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace ad {

// A handle to a node of a tape: its index in the Wengert list.
struct var {
    static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
    std::uint32_t index = none;

    bool valid() const noexcept { return index != none; }
    friend bool operator==(var a, var b) noexcept { return a.index == b.index; }
    friend bool operator!=(var a, var b) noexcept { return a.index != b.index; }
};

template <class Scalar>
class tape;

// Sends node `self`'s gradient (complete when called) to the node's inputs.
template <class Scalar>
using backward_fn = void (*)(tape<Scalar>& t, std::uint32_t self);

// One entry of the Wengert list. The fields after `grad` are scratch that an op may use to keep
// what its backward function needs; they keep their storage across clear().
template <class Scalar>
struct node {
    matrix<Scalar> value;                   // the op's output (a parameter leaf reads `ext`)
    matrix<Scalar> grad;                    // d loss / d value, valid when has_grad
    matrix<Scalar> aux;                     // op data: dropout mask, softmax probabilities...
    std::vector<std::uint32_t> index;       // op data: gathered rows, table positions, inputs...
    std::vector<Scalar> coef;               // op data: per-entry weights
    const matrix<Scalar>* ext = nullptr;    // value stored outside the tape (a parameter)
    parameter<Scalar>* param = nullptr;     // the dense parameter a leaf feeds its gradient to
    table_parameter<Scalar>* table[2] = {nullptr, nullptr};  // tables a sparse op reads
    backward_fn<Scalar> back = nullptr;
    std::uint32_t in[3] = {var::none, var::none, var::none};
    Scalar s = Scalar(0);                   // op scalar: a scale, a margin, a rate
    std::uint32_t u = 0;                    // op small integer: k, a mode
    bool needs_grad = false;
    bool has_grad = false;

    const matrix<Scalar>& val() const noexcept { return ext ? *ext : value; }
};

template <class Scalar = float>
class tape {
public:
    using scalar_type = Scalar;
    using node_type = node<Scalar>;

    tape() = default;
    // Not copyable: a copy would share the registered tables (sinks) with the original.
    tape(const tape&) = delete;
    tape& operator=(const tape&) = delete;
    tape(tape&&) = default;
    tape& operator=(tape&&) = default;

    // --- leaves --------------------------------------------------------------------------------
    // A constant (input data): copied onto the tape, receives no gradient.
    var constant(const matrix<Scalar>& m) { return leaf(m, false); }
    // A leaf that receives a gradient, readable with grad() after backward().
    var variable(const matrix<Scalar>& m) { return leaf(m, true); }
    // A 1x1 constant.
    var scalar(Scalar x) {
        const std::uint32_t i = push(nullptr, {}, false);
        nodes_[i].value.resize(1, 1);
        nodes_[i].value(0, 0) = x;
        return var{i};
    }
    // A dense parameter: its value is read in place (no copy), its gradient goes to p.grad().
    var param(parameter<Scalar>& p) {
        const std::uint32_t i = push(nullptr, {}, true);
        nodes_[i].ext = &p.value();
        nodes_[i].param = &p;
        return var{i};
    }

    // --- reading -------------------------------------------------------------------------------
    const matrix<Scalar>& value(var v) const { return nodes_[checked(v, "value")].val(); }
    // The value of a 1x1 node (a loss).
    Scalar item(var v) const {
        const matrix<Scalar>& m = value(v);
        if (m.rows() != 1 || m.cols() != 1)
            ::bloom::detail::throw_invalid("tape::item: node " + std::to_string(v.index) +
                                           " is " + detail::shape(m) + ", not 1x1");
        return m(0, 0);
    }
    // d loss / d node after backward(); a zero matrix of the node's shape if the loss does not
    // depend on it. For a parameter leaf this is the parameter's accumulated p.grad().
    const matrix<Scalar>& grad(var v) {
        node_type& n = nodes_[checked(v, "grad")];
        if (n.param) return n.param->grad();
        if (!n.has_grad) {
            n.grad.setZero(n.val().rows(), n.val().cols());
            n.has_grad = true;
        }
        return n.grad;
    }
    bool needs_grad(var v) const { return nodes_[checked(v, "needs_grad")].needs_grad; }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    // --- running backward ----------------------------------------------------------------------
    // Reverse pass from a 1x1 loss (seed 1).
    void backward(var loss) {
        const matrix<Scalar>& l = value(loss);
        if (l.rows() != 1 || l.cols() != 1)
            ::bloom::detail::throw_invalid(
                "tape::backward: the loss must be 1x1, but node " + std::to_string(loss.index) +
                " is " + detail::shape(l) + " (reduce it with sum() or mean(), or pass a seed)");
        seed_.setOnes(1, 1);
        run_backward(loss.index, seed_);
    }
    // Reverse pass from any node with an explicit seed gradient of the node's shape.
    void backward(var out, const matrix<Scalar>& seed) {
        const matrix<Scalar>& o = value(out);
        if (seed.rows() != o.rows() || seed.cols() != o.cols())
            ::bloom::detail::throw_invalid("tape::backward: seed is " + detail::shape(seed) +
                                           " but node " + std::to_string(out.index) + " is " +
                                           detail::shape(o));
        run_backward(out.index, seed);
    }

    // Forgets every node. Storage is kept: the next graph of the same shapes allocates nothing.
    void clear() noexcept {
        for (table_parameter<Scalar>* tp : sinks_) tp->discard_pending();
        sinks_.clear();
        size_ = 0;
    }

    // --- extension API, for op authors (see ops.hpp for examples) ------------------------------
    // Appends a node whose inputs are `inputs` (at most 3; an op with more keeps their indices in
    // node::index, as concat_cols does); it needs a gradient when any input does (or when
    // `force_grad`). Returns its index. Its value must be written by the caller before the node
    // is used.
    std::uint32_t push(backward_fn<Scalar> back, std::initializer_list<var> inputs,
                       bool force_grad = false) {
        if (inputs.size() > 3)
            ::bloom::detail::throw_invalid("tape::push: " + std::to_string(inputs.size()) +
                                           " inputs; a node holds at most 3 in node::in (keep "
                                           "more in node::index)");
        if (size_ == nodes_.size()) nodes_.emplace_back();
        node_type& n = nodes_[size_];
        n.ext = nullptr;
        n.param = nullptr;
        n.table[0] = n.table[1] = nullptr;
        n.back = back;
        n.in[0] = n.in[1] = n.in[2] = var::none;
        n.s = Scalar(0);
        n.u = 0;
        n.has_grad = false;
        bool ng = force_grad;
        std::size_t j = 0;
        for (var v : inputs) {
            BLOOM_ASSERT(v.index < size_ && "input var from another tape or after clear()");
            n.in[j++] = v.index;
            ng = ng || nodes_[v.index].needs_grad;
        }
        n.needs_grad = ng;
        return static_cast<std::uint32_t>(size_++);
    }

    node_type& at(std::uint32_t i) noexcept {
        BLOOM_ASSERT(i < size_);
        return nodes_[i];
    }
    const node_type& at(std::uint32_t i) const noexcept {
        BLOOM_ASSERT(i < size_);
        return nodes_[i];
    }
    const matrix<Scalar>& value_at(std::uint32_t i) const noexcept { return at(i).val(); }
    bool needs_grad_at(std::uint32_t i) const noexcept {
        return i != var::none && at(i).needs_grad;
    }

    // Node i's gradient += e (an Eigen expression of node i's shape). Does nothing when node i
    // needs no gradient. A parameter leaf takes it straight into its parameter.
    template <class Expr>
    void accumulate(std::uint32_t i, const Expr& e) {
        node_type& n = at(i);
        if (!n.needs_grad) return;
        BLOOM_ASSERT(e.rows() == n.val().rows() && e.cols() == n.val().cols());
        if (n.param) {
            n.param->accumulate(e);
            return;
        }
        if (!n.has_grad) {
            n.grad.noalias() = e;
            n.has_grad = true;
        } else {
            n.grad.noalias() += e;
        }
    }
    // Node i's gradient as a writable matrix (zeroed first if nothing reached it yet), for ops
    // that scatter into it. Only for nodes that need a gradient.
    matrix<Scalar>& grad_buffer(std::uint32_t i) {
        node_type& n = at(i);
        BLOOM_ASSERT(n.needs_grad);
        if (n.param) return n.param->grad_buffer();
        if (!n.has_grad) {
            n.grad.setZero(n.val().rows(), n.val().cols());
            n.has_grad = true;
        }
        return n.grad;
    }

    // A table that a node will push row-sparse gradient entries to during backward: the tape
    // merges them (table_parameter::flush) when the reverse loop ends.
    void add_sink(table_parameter<Scalar>& tp) {
        for (table_parameter<Scalar>* s : sinks_)
            if (s == &tp) return;
        sinks_.push_back(&tp);
    }

private:
    var leaf(const matrix<Scalar>& m, bool grad) {
        const std::uint32_t i = push(nullptr, {}, grad);
        nodes_[i].value = m;
        return var{i};
    }

    std::uint32_t checked(var v, const char* what) const {
        if (v.index >= size_)
            ::bloom::detail::throw_invalid(std::string("tape::") + what + ": var " +
                                           (v.valid() ? std::to_string(v.index) : "(none)") +
                                           " is not on this tape (" + std::to_string(size_) +
                                           " nodes)");
        return v.index;
    }

    void run_backward(std::uint32_t top, const matrix<Scalar>& seed) {
        for (std::uint32_t i = 0; i <= top; ++i) nodes_[i].has_grad = false;
        node_type& t = nodes_[top];
        if (t.needs_grad) {
            if (t.param) {
                t.param->accumulate(seed);
            } else {
                t.grad = seed;
                t.has_grad = true;
            }
        }
        for (std::uint32_t i = top + 1; i-- > 0;) {
            node_type& n = nodes_[i];
            if (n.has_grad && n.back) n.back(*this, i);
        }
        for (table_parameter<Scalar>* tp : sinks_) tp->flush();
    }

    std::deque<node_type> nodes_;
    std::size_t size_ = 0;
    std::vector<table_parameter<Scalar>*> sinks_;
    matrix<Scalar> seed_;
};

}  // namespace ad
}  // namespace bloom
