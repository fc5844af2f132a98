// The paper's network (Serrà & Karatzoglou 2017): a user's item set goes in through an input
// code, an MLP predicts the output code of the items the user will also have, and every item's
// score is recovered from that prediction.
//
//   input    the sorted union of the input items' positions (sparse code: Bloom, hashing trick,
//            identity, ECOC...) through the row-sparse `bag` op: h = sum of rows of an m_in x H
//            table, no dense m- or d-wide product; its gradient is row-sparse and lazy Adam
//            updates the touched rows only. A dense code (PMI, CCA) is summed into an m_in-vector
//            and multiplied by a dense m_in x H weight, and so is a summed sparse code (ECOC,
//            whose words set about half of the m positions each: a count vector).
//   hidden   act(h + b), optional dropout, then further dense layers (widths and activation are
//            options), then a linear layer to m_out logits z.
//   loss     softmax   cross-entropy of softmax(z) against the normalised target set code
//            sigmoid   binary cross-entropy of sigmoid(z) against the target set's bits
//            regression squared error of z against the mean of the target items' dense codes
//   ranking  likelihood  score(i) = sum_{p in code(i)} log q_p, q = softmax(z) or sigmoid(z)
//                        (the decoder's sum_j log p[h_j(i)]; a position listed twice counts twice)
//            code_word   ECOC: the log-likelihood of i's whole code word under independent
//                        sigmoids, sum_b c_ib log s_b + (1 - c_ib) log(1 - s_b), which is
//                        sum_b log(1 - s_b) (the same for every item) + sum_{b in code(i)} z_b
//            similarity  the cosine of z with the item's output code (PMI, CCA)
//            The user's input items are excluded from every ranking.
//
// The uncompressed baseline is the same code path with identity codes (m = d, k = 1).
// Training threads (network_fit_options::threads): one thread gives the same model bit for bit
// for a seed. More threads run synchronous sharded batches: each worker runs forward and
// backward on its slice of the batch with its own tape and views of the shared weights, the
// gradients are summed in worker order, and one optimizer step follows. That is deterministic
// for a seed and a thread count, but not equal to one thread bit for bit (docs/network.md).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <bloom/ad/losses.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/ad/parameter.hpp>
#include <bloom/ad/sparse_ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/config.hpp>
#include <bloom/data/random.hpp>
#include <bloom/encoding/decoder.hpp>
#include <bloom/error.hpp>
#include <bloom/eval/evaluate.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/network/codes.hpp>
#include <bloom/models/network/protocol.hpp>
#include <bloom/nn/activations.hpp>
#include <bloom/nn/init.hpp>
#include <bloom/nn/mlp.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace models {

// One side of the network: a sparse code (positions per item) or a dense code (a d x m matrix).
template <class Scalar = float>
struct item_code {
    sparse_code sparse;
    matrix<Scalar> dense;

    static item_code from_sparse(sparse_code c) {
        c.validate("item_code");
        item_code x;
        x.sparse = std::move(c);
        return x;
    }
    static item_code from_dense(matrix<Scalar> e) {
        if (e.rows() == 0 || e.cols() == 0)
            ::bloom::detail::throw_invalid("item_code: the dense code is empty (" +
                                           std::to_string(e.rows()) + "x" +
                                           std::to_string(e.cols()) + ")");
        if (!e.allFinite())
            ::bloom::detail::throw_invalid("item_code: the dense code holds NaN or infinity");
        item_code x;
        x.dense = std::move(e);
        return x;
    }
    bool is_dense() const noexcept { return dense.size() > 0; }

    // Model files: a sparse code, or a dense one as a matrix.
    template <class A>
    void archive(A& a) {
        bool dense_code = is_dense();
        a.value("dense", dense_code);
        if (dense_code) {
            a.matrix("matrix", dense);
            if constexpr (A::loading) {
                a.check(dense.size() > 0, "the dense code is empty");
                a.check(dense.allFinite(), "the dense code holds NaN or infinity");
            }
        } else {
            a.object("sparse", sparse);
        }
    }
    std::uint64_t m() const noexcept {
        return is_dense() ? static_cast<std::uint64_t>(dense.cols()) : sparse.m;
    }
    std::uint32_t items() const noexcept {
        return is_dense() ? static_cast<std::uint32_t>(dense.rows()) : sparse.items();
    }
};

enum class output_loss : std::uint8_t { softmax, sigmoid, regression };

// How a set of items becomes one code vector (sparse codes).
//   union_bits  the positions any item has, each once: a Bloom filter of the set (the paper)
//   sum         every item's positions, repeats counted: the sum of the code words (ECOC, whose
//               dense words would all but fill a union); as a target the sum is normalised into
//               each position's share of the set's words
enum class set_coding : std::uint8_t { union_bits, sum };
enum class recovery : std::uint8_t { likelihood, code_word, similarity };

inline const char* to_string(output_loss l) noexcept {
    return l == output_loss::softmax ? "softmax" : l == output_loss::sigmoid ? "sigmoid" : "regression";
}
inline const char* to_string(recovery r) noexcept {
    return r == recovery::likelihood ? "likelihood" : r == recovery::code_word ? "code-word" : "similarity";
}

struct network_options {
    std::vector<std::uint32_t> hidden = {256};  // widths of the hidden layers (at least one)
    nn::activation act = nn::activation::relu;
    double dropout = 0.0;                       // after every hidden layer, when training
    output_loss loss = output_loss::softmax;
    recovery rank = recovery::likelihood;
    set_coding sets = set_coding::union_bits;   // sparse codes, input and target alike
    std::uint64_t seed = 42;                    // initialisation

    template <class A>
    void archive(A& a) {
        a.array("hidden", hidden);
        a.value("activation", act);
        a.value("dropout", dropout);
        a.value("loss", loss);
        a.value("rank", rank);
        a.value("sets", sets);
        a.value("seed", seed);
        if constexpr (A::loading) {
            a.check(act == nn::activation::relu || act == nn::activation::tanh ||
                        act == nn::activation::identity || act == nn::activation::sigmoid,
                    "unknown activation");
            a.check(loss <= output_loss::regression && rank <= recovery::similarity &&
                        sets <= set_coding::sum,
                    "unknown loss, recovery or set coding");
        }
    }
};

struct network_fit_options {
    std::uint32_t epochs = 10;
    std::uint32_t batch = 128;
    double lr = 1e-3;            // Adam, every parameter
    double weight_decay = 0.0;   // Adam's L2 (touched rows of the input table)
    bool resample = false;       // fresh input/target halves of each user's items every epoch
    std::uint64_t seed = 42;     // shuffling, dropout, resampling
    // Training threads: 1 (the default) is reproducible bit for bit for a seed. More threads
    // split each batch into contiguous slices, one per thread, and sum their gradients in a
    // fixed order before one optimizer step: reproducible for a seed and a thread count, not
    // equal to one thread bit for bit (the sums run in another order). 0 means every core.
    std::uint32_t threads = 1;
    // Called after each epoch with (epoch index, seconds, mean loss); may be empty.
    std::function<void(std::uint32_t, double, double)> on_epoch = {};
};

template <class Scalar = float>
class bloom_mlp {
private:
    // A tape and its buffers, kept across steps: the model's own, and one per extra worker.
    struct scratch {
        ad::tape<Scalar> tape;
        std::vector<std::size_t> offsets;
        std::vector<std::uint32_t> pos, mark;  // mark: a stamp per position (add_set)
        std::uint32_t stamp = 0;
        matrix<Scalar> X, Y;
    };

    // A worker's handles on the shared weights: it reads their values and keeps gradients of
    // its own (ad::parameter::view_of).
    struct worker_views {
        std::unique_ptr<ad::table_parameter<Scalar>> table;
        std::unique_ptr<ad::parameter<Scalar>> dense;
        ad::parameter<Scalar> b_in;
        std::vector<ad::parameter<Scalar>> rest;  // nn::mlp::parameters() order: W0, b0, W1, ...
    };

public:
    using scalar_type = Scalar;
    using code_type = item_code<Scalar>;
    using opt = optim::adam<Scalar>;

    bloom_mlp(code_type input, code_type output, network_options o = {})
        : in_(std::move(input)), out_(std::move(output)), o_(std::move(o)) {
        validate();
        main_.mark.assign(static_cast<std::size_t>(std::max(in_.m(), out_.m())), 0U);
        data::engine rng(o_.seed);
        const Eigen::Index m_in = static_cast<Eigen::Index>(in_.m());
        const Eigen::Index h0 = static_cast<Eigen::Index>(o_.hidden.front());
        // First layer: He/Xavier uniform over fan_in = m_in, as a dense layer's weight would be.
        matrix<Scalar> w(m_in, h0);
        nn::init::apply(o_.act == nn::activation::relu ? nn::init::scheme::he_uniform
                                                       : nn::init::scheme::xavier_uniform,
                        w, rng);
        // A dense code, or a summed sparse one (ECOC: each item sets about m/2 positions, so a
        // set's sum is a dense count vector), goes through a dense product; a union of Bloom
        // positions through the row-sparse bag.
        if (in_.is_dense() || o_.sets == set_coding::sum)
            w_dense_ = std::make_unique<ad::parameter<Scalar>>(std::move(w));
        else
            w_table_ = std::make_unique<ad::table_parameter<Scalar>>(std::move(w));
        b_in_ = ad::parameter<Scalar>(1, h0);
        typename nn::mlp<Scalar>::builder bld(h0);
        for (std::size_t l = 1; l < o_.hidden.size(); ++l) {
            bld.dense(static_cast<Eigen::Index>(o_.hidden[l]), o_.act);
            if (o_.dropout > 0) bld.dropout(o_.dropout);
        }
        bld.dense(static_cast<Eigen::Index>(out_.m()));
        rest_ = std::make_unique<nn::mlp<Scalar>>(bld.build(rng));
        if (out_.is_dense()) {
            // cosine similarity: unit rows (a zero row, an item never seen, scores lowest)
            out_norm_ = out_.dense;
            for (Eigen::Index i = 0; i < out_norm_.rows(); ++i) {
                const Scalar n = out_norm_.row(i).norm();
                if (n > Scalar(0)) out_norm_.row(i) /= n;
            }
            zero_row_.assign(static_cast<std::size_t>(out_norm_.rows()), 0);
            for (Eigen::Index i = 0; i < out_norm_.rows(); ++i)
                zero_row_[static_cast<std::size_t>(i)] = out_.dense.row(i).squaredNorm() == Scalar(0);
        }
    }

    bloom_mlp(bloom_mlp&&) = default;
    bloom_mlp& operator=(bloom_mlp&&) = default;

    // Empty, for a model file to fill (io::load).
    explicit bloom_mlp(restore_tag) {}

    // Model files: both codes, the options and every parameter. The architecture is rebuilt
    // from the codes and options, so loading checks each stored parameter against its layer's
    // shape. Adam's state is not kept: a loaded network predicts exactly as the saved one, and a
    // further fit() starts its optimizers afresh (as every fit() call does).
    template <class A>
    void archive(A& a) {
        a.expect("kind", "bloom_mlp");
        a.object("input_code", in_);
        a.object("output_code", out_);
        a.object("options", o_);
        if constexpr (A::loading) {
            code_type in = std::move(in_), out = std::move(out_);
            const network_options o = o_;
            *this = bloom_mlp(std::move(in), std::move(out), o);
        }
        std::vector<matrix<Scalar>*> values = {&first_weight(), &b_in_.value()};
        for (auto* p : rest_->parameters()) values.push_back(&p->value());
        std::uint64_t n = values.size();
        a.value("parameters", n);
        a.check(n == values.size(), "the file has " + std::to_string(n) +
                                        " parameter matrices, the architecture " +
                                        std::to_string(values.size()));
        for (std::size_t i = 0; i < values.size(); ++i) {
            const Eigen::Index rows = values[i]->rows(), cols = values[i]->cols();
            a.matrix("parameter" + std::to_string(i), *values[i]);
            a.check(values[i]->rows() == rows && values[i]->cols() == cols,
                    "parameter " + std::to_string(i) + " does not have its layer's shape");
        }
    }

    const code_type& input_code() const noexcept { return in_; }
    const code_type& output_code() const noexcept { return out_; }
    const network_options& options() const noexcept { return o_; }
    std::uint32_t items() const noexcept { return in_.items(); }

    // Learned scalars: input weight, its bias, and every layer after it.
    std::size_t parameters() const {
        std::size_t n = static_cast<std::size_t>(first_weight().size() + b_in_.value().size());
        for (const auto* p : const_cast<nn::mlp<Scalar>&>(*rest_).parameters())
            n += static_cast<std::size_t>(p->value().size());
        return n;
    }
    // Multiply-adds of one example's forward pass through the dense layers (input rows aside).
    double dense_macs() const {
        double n = w_dense_ ? static_cast<double>(first_weight().size()) : 0.0;
        for (const auto* p : const_cast<nn::mlp<Scalar>&>(*rest_).parameters())
            if (p->rows() > 1) n += static_cast<double>(p->value().size());
        return n;
    }

    const matrix<Scalar>& first_weight() const noexcept {
        return w_table_ ? w_table_->value() : w_dense_->value();
    }
    matrix<Scalar>& first_weight() noexcept { return w_table_ ? w_table_->value() : w_dense_->value(); }
    ad::parameter<Scalar>& first_bias() noexcept { return b_in_; }
    nn::mlp<Scalar>& layers() noexcept { return *rest_; }

    // --- training -----------------------------------------------------------------------------
    // Row r of `inputs` is a user's input set and row r of `targets` the items to predict. Rows
    // with an empty target are skipped. With fit_options::resample, every epoch draws fresh
    // halves of each row's inputs ∪ targets instead.
    fit_report fit(const eval::user_items& inputs, const eval::user_items& targets,
                   const network_fit_options& f) {
        check_rows("fit", inputs, targets);
        if (f.batch == 0) ::bloom::detail::throw_invalid("bloom_mlp::fit: batch must be >= 1");
        if (f.threads > max_threads)
            ::bloom::detail::throw_invalid("bloom_mlp::fit: threads = " + std::to_string(f.threads) +
                                           " is more than " + std::to_string(max_threads));
        const unsigned threads = f.threads != 0 ? f.threads
                                                : std::max(1U, std::thread::hardware_concurrency());
        optim::adam_config oc;
        oc.lr = f.lr;
        oc.weight_decay = f.weight_decay;
        make_optimizers(oc);
        data::engine rng(f.seed);
        std::mt19937_64 drop_rng(f.seed ^ 0x5DEECE66DULL);
        eval::user_items pool, res_in, res_target;
        if (f.resample) pool = join_rows(inputs, targets);
        fit_report rep;
        std::vector<std::size_t> order;
        // Several threads: one worker per thread (worker 0 is this thread), built once per fit().
        std::unique_ptr<parallel_state> par;
        if (threads > 1) par = std::make_unique<parallel_state>(*this, threads, f.seed);
        for (std::uint32_t e = 0; e < f.epochs; ++e) {
            const auto t0 = std::chrono::steady_clock::now();
            const eval::user_items* xin = &inputs;
            const eval::user_items* xtg = &targets;
            if (f.resample) {
                resample_halves(pool, rng, res_in, res_target);
                xin = &res_in;
                xtg = &res_target;
            }
            order.clear();
            for (std::size_t r = 0; r < xin->n_users(); ++r)
                if (xtg->count(r) > 0) order.push_back(r);
            if (order.empty())
                ::bloom::detail::throw_invalid("bloom_mlp::fit: no row has target items");
            data::detail::shuffle(order.data(), order.size(), rng);
            double loss_sum = 0;
            std::size_t steps = 0;
            const std::size_t batches = (order.size() - 1) / f.batch + 1;
            for (std::size_t b = 0; b < order.size(); b += f.batch) {
                const std::size_t n = std::min<std::size_t>(f.batch, order.size() - b);
                Scalar l;
                const bool ok = par ? train_step_parallel(*par, *xin, *xtg, order.data() + b, n, l)
                                    : train_step(*xin, *xtg, order.data() + b, n, drop_rng, l);
                if (!ok)
                    ::bloom::detail::throw_invalid(
                        "bloom_mlp::fit: the loss is not finite at epoch " + std::to_string(e + 1) +
                        ", batch " + std::to_string(steps + 1) + " (of " +
                        std::to_string(batches) + "): training diverged; lower the learning rate");
                loss_sum += static_cast<double>(l);
                ++steps;
            }
            const double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            rep.epoch_seconds.push_back(secs);
            rep.epoch_loss.push_back(loss_sum / static_cast<double>(steps));
            rep.total_seconds += secs;
            if (f.on_epoch) f.on_epoch(e, secs, rep.epoch_loss.back());
        }
        return rep;
    }

    // One optimisation step on rows[0..n) of (inputs, targets); returns the batch loss. The
    // rows are checked (each below the row count, its items below d); a loss that is not finite
    // throws bloom::invalid_argument before the step changes anything.
    template <class Engine>
    Scalar step(const eval::user_items& inputs, const eval::user_items& targets,
                const std::size_t* rows, std::size_t n, Engine& drop_rng) {
        check_selected("step", "inputs", inputs, rows, n);
        check_selected("step", "targets", targets, rows, n);
        if (o_.loss == output_loss::regression)
            for (std::size_t j = 0; j < n; ++j)
                if (targets.count(rows[j]) == 0)
                    ::bloom::detail::throw_invalid(
                        "bloom_mlp::step: targets row " + std::to_string(rows[j]) +
                        " is empty (a regression target is the mean of the items' codes)");
        Scalar l;
        if (!train_step(inputs, targets, rows, n, drop_rng, l))
            ::bloom::detail::throw_invalid("bloom_mlp::step: the loss is not finite: training "
                                           "diverged; lower the learning rate");
        return l;
    }

    // The optimizers of the first weight and of every dense parameter after it (the bias of
    // the first layer, then each layer's weight and bias), null / empty before the first fit()
    // or step(). Model files do not keep them.
    const opt* first_optimizer() const noexcept { return opt_first_.get(); }
    const std::vector<opt>& dense_optimizers() const noexcept { return opt_dense_; }

    // --- prediction ---------------------------------------------------------------------------
    // The recovery values of rows[0..n) of `inputs` into V (n x m_out): log q (likelihood),
    // logits (code_word) or the prediction itself (similarity). scores_from_values() turns a row
    // into the d item scores. The rows are checked: each below inputs' row count, its items
    // below d (O(their items), not O(inputs)).
    void output_values(const eval::user_items& inputs, const std::size_t* rows, std::size_t n,
                       matrix<Scalar>& V) {
        check_selected("output_values", "inputs", inputs, rows, n);
        values_of(inputs, rows, n, V);
    }

private:
    // The step on rows already checked. Returns false, having changed nothing (the dropout
    // stream aside), when the batch loss is not finite.
    template <class Engine>
    bool train_step(const eval::user_items& inputs, const eval::user_items& targets,
                      const std::size_t* rows, std::size_t n, Engine& drop_rng, Scalar& l) {
        if (!opt_first_) make_optimizers(optim::adam_config{});
        ad::tape<Scalar>& tape_ = main_.tape;
        tape_.clear();
        const ad::var z = forward(main_, nullptr, inputs, rows, n, &drop_rng);
        const ad::var loss = loss_node(main_, z, targets, rows, n);
        l = tape_.item(loss);
        if (BLOOM_UNLIKELY(!std::isfinite(l))) {
            tape_.clear();
            return false;
        }
        tape_.backward(loss);
        apply_step();
        return true;
    }

    // One Adam step on every parameter from the gradients they hold, then zero_grad().
    void apply_step() {
        if (w_table_) {
            opt_first_->step(w_table_->value(), w_table_->grad());
            w_table_->zero_grad();
        } else {
            opt_first_->step(w_dense_->value(), w_dense_->grad());
            w_dense_->zero_grad();
        }
        dense_params_.clear();
        dense_params_.push_back(&b_in_);
        for (auto* p : rest_->parameters()) dense_params_.push_back(p);
        for (std::size_t i = 0; i < dense_params_.size(); ++i) {
            ad::parameter<Scalar>& p = *dense_params_[i];
            if (p.has_grad()) opt_dense_[i].step(p.value(), p.grad());
            p.zero_grad();
        }
    }

    // output_values() on rows already checked.
    void values_of(const eval::user_items& inputs, const std::size_t* rows, std::size_t n,
                   matrix<Scalar>& V) {
        ad::tape<Scalar>& tape_ = main_.tape;
        tape_.clear();
        const ad::var z = forward(main_, nullptr, inputs, rows, n, static_cast<std::mt19937_64*>(nullptr));
        const matrix<Scalar>& Z = tape_.value(z);
        if (o_.rank == recovery::likelihood && o_.loss == output_loss::softmax) {
            V = Z;
            for (Eigen::Index r = 0; r < V.rows(); ++r) {
                const Scalar mx = V.row(r).maxCoeff();
                V.row(r).array() -= mx;
                const Scalar lse = std::log(V.row(r).array().exp().sum());
                V.row(r).array() -= lse;
            }
        } else if (o_.rank == recovery::likelihood) {  // log sigmoid(z) = -softplus(-z)
            V = Z.unaryExpr([](Scalar x) {
                return -((-x > Scalar(0) ? -x : Scalar(0)) + std::log1p(std::exp(-std::abs(x))));
            });
        } else {
            V = Z;
        }
        tape_.clear();
    }

public:
    // The d item scores from one row of recovery values (m_out of them).
    void scores_from_values(const Scalar* v, Scalar* scores) const {
        const std::uint32_t d = items();
        if (out_.is_dense()) {
            Eigen::Map<vector<Scalar>> s(scores, d);
            s.noalias() = out_norm_ * Eigen::Map<const vector<Scalar>>(v, out_norm_.cols());
            for (std::uint32_t i = 0; i < d; ++i)
                if (zero_row_[i]) scores[i] = std::numeric_limits<Scalar>::lowest();
            return;
        }
        const sparse_code& c = out_.sparse;
        const std::uint32_t k = c.fixed_k();
        const std::uint32_t* p = c.positions.data();
        if (k == 1) {
            for (std::uint32_t i = 0; i < d; ++i) scores[i] = v[p[i]];
        } else if (k == 4) {
            for (std::uint32_t i = 0; i < d; ++i, p += 4)
                scores[i] = (v[p[0]] + v[p[1]]) + (v[p[2]] + v[p[3]]);
        } else if (k > 0) {
            for (std::uint32_t i = 0; i < d; ++i, p += k) {
                Scalar s = 0;
                for (std::uint32_t j = 0; j < k; ++j) s += v[p[j]];
                scores[i] = s;
            }
        } else {
            for (std::uint32_t i = 0; i < d; ++i) {
                Scalar s = 0;
                for (const std::uint32_t* q = c.begin(i); q != c.end(i); ++q) s += v[*q];
                scores[i] = s;
            }
        }
    }

    // The n best items for an input set (its items excluded), best first; ties: lower id first.
    std::vector<scored_item> recommend(const std::vector<std::uint32_t>& items_in, std::size_t n) {
        eval::user_items one;
        one.offsets = {0, items_in.size()};
        one.items = items_in;
        check_items("recommend", one);
        const std::size_t row = 0;
        matrix<Scalar> V;
        values_of(one, &row, 1, V);
        std::vector<Scalar> s(items());
        scores_from_values(V.data(), s.data());
        for (std::uint32_t i : items_in) s[i] = -std::numeric_limits<Scalar>::infinity();
        std::vector<std::uint32_t> ids(items());
        for (std::uint32_t i = 0; i < items(); ++i) ids[i] = i;
        std::vector<char> excluded(items(), 0);
        for (std::uint32_t i : items_in) excluded[i] = 1;
        const std::size_t avail = items() - static_cast<std::size_t>(
                                                std::count(excluded.begin(), excluded.end(), 1));
        n = std::min(n, avail);
        auto before = [&](std::uint32_t a, std::uint32_t b) {
            return s[a] > s[b] || (s[a] == s[b] && a < b);
        };
        std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(),
                          before);
        std::vector<scored_item> out(n);
        for (std::size_t j = 0; j < n; ++j) out[j] = {ids[j], static_cast<double>(s[ids[j]])};
        return out;
    }

    // Ranking metrics over rows with target items: inputs excluded, targets to find.
    eval::ranking_result evaluate(const eval::user_items& inputs, const eval::user_items& targets,
                                  const eval::ranking_options& eo = {}, std::size_t block = 256) {
        check_rows("evaluate", inputs, targets);
        const std::size_t rows = inputs.n_users();
        // The recovery values of every row, computed in blocks on this thread; the scoring and
        // ranking then run on eo.threads threads (they only read V).
        matrix<Scalar> V(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(out_.m()));
        std::vector<std::size_t> idx;
        matrix<Scalar> part;
        for (std::size_t b = 0; b < rows; b += block) {
            const std::size_t n = std::min(block, rows - b);
            idx.resize(n);
            for (std::size_t j = 0; j < n; ++j) idx[j] = b + j;
            values_of(inputs, idx.data(), n, part);
            V.middleRows(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(n)) = part;
        }
        return eval::evaluate_ranking(
            [&](std::uint32_t u, Scalar* s) { scores_from_values(V.row(u).data(), s); }, items(),
            inputs, targets, eo);
    }

private:
    void validate() const {
        if (o_.hidden.empty())
            ::bloom::detail::throw_invalid("bloom_mlp: at least one hidden layer is needed");
        for (std::uint32_t h : o_.hidden)
            if (h == 0) ::bloom::detail::throw_invalid("bloom_mlp: a hidden layer has width 0");
        if (!(o_.dropout >= 0.0 && o_.dropout < 1.0))
            ::bloom::detail::throw_invalid("bloom_mlp: dropout must be in [0, 1), got " +
                                           std::to_string(o_.dropout));
        if (in_.items() == 0 || out_.items() == 0)
            ::bloom::detail::throw_invalid("bloom_mlp: a code has no items");
        if (in_.items() != out_.items())
            ::bloom::detail::throw_invalid("bloom_mlp: the input code has " +
                                           std::to_string(in_.items()) +
                                           " items but the output code " +
                                           std::to_string(out_.items()));
        if (!in_.is_dense()) in_.sparse.validate("bloom_mlp: input code");
        if (!out_.is_dense()) out_.sparse.validate("bloom_mlp: output code");
        const bool dense_out = out_.is_dense();
        if (dense_out != (o_.loss == output_loss::regression))
            ::bloom::detail::throw_invalid(
                std::string("bloom_mlp: a ") + (dense_out ? "dense" : "sparse") +
                " output code needs the " + (dense_out ? "regression" : "softmax or sigmoid") +
                " loss, not " + to_string(o_.loss));
        if (dense_out != (o_.rank == recovery::similarity))
            ::bloom::detail::throw_invalid(
                std::string("bloom_mlp: a ") + (dense_out ? "dense" : "sparse") +
                " output code is ranked by " +
                (dense_out ? "similarity" : "likelihood or code_word") + ", not " +
                to_string(o_.rank));
        if (o_.rank == recovery::code_word && o_.loss != output_loss::sigmoid)
            ::bloom::detail::throw_invalid(
                "bloom_mlp: code-word recovery reads independent sigmoid outputs; it needs the "
                "sigmoid loss");
    }

    void check_items(const char* who, const eval::user_items& x) const {
        const std::uint32_t d = items();
        for (std::size_t e = 0; e < x.items.size(); ++e)
            if (x.items[e] >= d)
                ::bloom::detail::throw_range(std::string("bloom_mlp::") + who + ": item " +
                                             std::to_string(x.items[e]) + " (entry " +
                                             std::to_string(e) + ") is not below d = " +
                                             std::to_string(d));
    }

    // Rows rows[0..n) of x exist, their offsets are a range of x's items, and those items are
    // below d: what a call on some rows reads, checked in O(their items).
    void check_selected(const char* who, const char* what, const eval::user_items& x,
                        const std::size_t* rows, std::size_t n) const {
        const std::string where = std::string("bloom_mlp::") + who + ": " + what;
        const std::size_t n_rows = x.offsets.empty() ? 0 : x.offsets.size() - 1;
        const std::uint32_t d = items();
        for (std::size_t j = 0; j < n; ++j) {
            const std::size_t r = rows[j];
            if (r >= n_rows)
                ::bloom::detail::throw_range(where + ": rows[" + std::to_string(j) + "] = " +
                                             std::to_string(r) + " is out of range (" +
                                             std::to_string(n_rows) + " rows)");
            const std::size_t b = x.offsets[r], e = x.offsets[r + 1];
            if (b > e || e > x.items.size())
                ::bloom::detail::throw_invalid(where + ": row " + std::to_string(r) +
                                               " spans items [" + std::to_string(b) + ", " +
                                               std::to_string(e) + "), not a range of the " +
                                               std::to_string(x.items.size()) + " items");
            for (std::size_t t = b; t < e; ++t)
                if (x.items[t] >= d)
                    ::bloom::detail::throw_range(where + ": item " + std::to_string(x.items[t]) +
                                                 " of row " + std::to_string(r) +
                                                 " is not below d = " + std::to_string(d));
        }
    }

    void check_rows(const char* who, const eval::user_items& a, const eval::user_items& b) const {
        if (a.n_users() != b.n_users())
            ::bloom::detail::throw_invalid(std::string("bloom_mlp::") + who + ": " +
                                           std::to_string(a.n_users()) + " input rows but " +
                                           std::to_string(b.n_users()) + " target rows");
        eval::validate(a, items(), std::string("bloom_mlp::") + who + ": inputs");
        eval::validate(b, items(), std::string("bloom_mlp::") + who + ": targets");
    }

    void make_optimizers(const optim::adam_config& oc) {
        const matrix<Scalar>& w = first_weight();
        opt_first_ = std::make_unique<opt>(oc, w.rows(), w.cols());
        opt_dense_.clear();
        opt_dense_.emplace_back(oc, b_in_.rows(), b_in_.cols());
        for (auto* p : rest_->parameters()) opt_dense_.emplace_back(oc, p->rows(), p->cols());
    }

    // Input rows -> logits node on s's tape. drop_rng null: evaluation (no dropout). v null:
    // the model's own parameters; else a worker's views of them (several threads).
    template <class Engine>
    ad::var forward(scratch& s, worker_views* v, const eval::user_items& inputs,
                    const std::size_t* rows, std::size_t n, Engine* drop_rng) {
        ad::tape<Scalar>& tape_ = s.tape;
        matrix<Scalar>& X_ = s.X;
        ad::var h;
        if (w_table_) {
            s.offsets.assign(1, 0);
            s.pos.clear();
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t r = rows[j];
                add_set(s, in_.sparse, inputs.begin(r), inputs.count(r));
            }
            h = ad::bag(tape_, v ? *v->table : *w_table_, ad::make_csr<Scalar>(s.offsets, s.pos));
        } else {
            X_.setZero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(in_.m()));
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t r = rows[j];
                const auto jr = static_cast<Eigen::Index>(j);
                if (in_.is_dense()) {
                    for (const std::uint32_t* q = inputs.begin(r); q != inputs.end(r); ++q)
                        X_.row(jr) += in_.dense.row(*q);
                } else {  // the sum of the items' code words: position counts
                    Scalar* x = X_.row(jr).data();
                    for (const std::uint32_t* q = inputs.begin(r); q != inputs.end(r); ++q)
                        for (const std::uint32_t* p = in_.sparse.begin(*q); p != in_.sparse.end(*q); ++p)
                            x[*p] += Scalar(1);
                }
            }
            h = ad::matmul(tape_, tape_.constant(X_), tape_.param(v ? *v->dense : *w_dense_));
        }
        h = nn::activate(tape_, ad::add_bias(tape_, h, tape_.param(v ? v->b_in : b_in_)), o_.act);
        if (drop_rng && o_.dropout > 0) h = ad::dropout(tape_, h, o_.dropout, *drop_rng, true);
        if (!v) return drop_rng ? (*rest_)(tape_, h, *drop_rng, true) : (*rest_)(tape_, h);
        // The layers of nn::mlp::operator(), on the views: matmul, bias, activation, dropout.
        for (std::size_t i = 0; i < rest_->depth(); ++i) {
            const auto& sp = rest_->spec(i);
            h = ad::matmul(tape_, h, tape_.param(v->rest[2 * i]));
            h = nn::activate(tape_, ad::add_bias(tape_, h, tape_.param(v->rest[2 * i + 1])), sp.act);
            if (drop_rng && sp.dropout > 0.0) h = ad::dropout(tape_, h, sp.dropout, *drop_rng, true);
        }
        return h;
    }

    // Appends one CSR row: the set's positions (union or sum, by the options). The union is
    // taken with a stamp per position (O(positions), no sort): the bag and the losses do not need
    // the positions in order, and the order is fixed by the items', so results stay reproducible.
    void add_set(scratch& s, const sparse_code& c, const std::uint32_t* items_, std::size_t n) const {
        std::vector<std::uint32_t>& pos_ = s.pos;
        std::uint32_t& stamp_ = s.stamp;
        std::vector<std::uint32_t>& mark_ = s.mark;
        if (o_.sets == set_coding::union_bits) {
            if (++stamp_ == 0) {  // wrapped: forget every old stamp
                std::fill(mark_.begin(), mark_.end(), 0U);
                stamp_ = 1;
            }
            std::size_t total = 0;
            for (std::size_t j = 0; j < n; ++j) total += c.count(items_[j]);
            std::size_t w = pos_.size();
            pos_.resize(w + total);
            std::uint32_t* out = pos_.data();
            std::uint32_t* mark = mark_.data();
            const std::uint32_t st = stamp_;
            for (std::size_t j = 0; j < n; ++j)
                for (const std::uint32_t* p = c.begin(items_[j]); p != c.end(items_[j]); ++p) {
                    // branch-free: half the positions of a dense set are repeats
                    const std::uint32_t q = *p;
                    const std::size_t fresh = mark[q] != st;
                    mark[q] = st;
                    out[w] = q;
                    w += fresh;
                }
            pos_.resize(w);
        } else {
            for (std::size_t j = 0; j < n; ++j) pos_.insert(pos_.end(), c.begin(items_[j]), c.end(items_[j]));
        }
        s.offsets.push_back(pos_.size());
    }

    ad::var loss_node(scratch& s, ad::var z, const eval::user_items& targets,
                      const std::size_t* rows, std::size_t n) {
        ad::tape<Scalar>& tape_ = s.tape;
        matrix<Scalar>& Y_ = s.Y;
        if (o_.loss == output_loss::softmax) {
            s.offsets.assign(1, 0);
            s.pos.clear();
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t r = rows[j];
                add_set(s, out_.sparse, targets.begin(r), targets.count(r));
            }
            return ad::softmax_cross_entropy(tape_, z, ad::make_csr<Scalar>(s.offsets, s.pos));
        }
        Y_.setZero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(out_.m()));
        for (std::size_t j = 0; j < n; ++j) {
            const std::size_t r = rows[j];
            const auto jr = static_cast<Eigen::Index>(j);
            if (o_.loss == output_loss::sigmoid) {
                // union: the set's bits; sum: each bit's share of the set's code words
                const Scalar w = o_.sets == set_coding::sum
                                     ? Scalar(1) / static_cast<Scalar>(targets.count(r))
                                     : Scalar(0);
                for (const std::uint32_t* q = targets.begin(r); q != targets.end(r); ++q)
                    for (const std::uint32_t* p = out_.sparse.begin(*q); p != out_.sparse.end(*q); ++p) {
                        Scalar& y = Y_(jr, static_cast<Eigen::Index>(*p));
                        y = o_.sets == set_coding::sum ? y + w : Scalar(1);
                    }
            } else {
                for (const std::uint32_t* q = targets.begin(r); q != targets.end(r); ++q)
                    Y_.row(jr) += out_.dense.row(*q);
                Y_.row(jr) /= static_cast<Scalar>(targets.count(r));
            }
        }
        if (o_.loss == output_loss::sigmoid) return ad::sigmoid_bce_with_logits(tape_, z, Y_);
        return ad::squared_error(tape_, z, Y_);
    }

    // Several training threads: workers 1..T-1 each own a scratch, views and a dropout engine,
    // and run on a thread of their own that lives as long as fit(); worker 0 is the calling
    // thread on the model's own parameters and scratch. Each batch is one round: the calling
    // thread hands out a job, runs worker 0's share, and waits until every worker is done.
    struct worker {
        scratch s;
        worker_views v;
        std::mt19937_64 drop;
        matrix<Scalar> seed;  // 1x1: the worker's share of the batch
        Scalar loss = Scalar(0);
        bool ran = false;
    };
    struct parallel_state {
        bloom_mlp& net;
        std::vector<worker> workers;  // [0] holds only worker 0's loss and dropout engine
        std::vector<std::thread> threads;
        std::mutex mu;
        std::condition_variable go, done;
        std::uint64_t round = 0;
        unsigned pending = 0;
        bool stop = false;
        const void* job = nullptr;  // the round's callable, run through call
        void (*call)(const void*, unsigned) = nullptr;
        std::exception_ptr error;
        std::vector<ad::parameter<Scalar>*> own;  // b_in, then nn::mlp::parameters()

        parallel_state(bloom_mlp& n, unsigned t, std::uint64_t seed) : net(n), workers(t) {
            const std::size_t marks = n.main_.mark.size();
            own.push_back(&n.b_in_);
            for (auto* p : n.rest_->parameters()) own.push_back(p);
            for (unsigned w = 0; w < t; ++w) {
                worker& k = workers[w];
                k.seed.resize(1, 1);
                // worker 0 keeps fit()'s own dropout stream; the others get streams of their own
                k.drop.seed(seed ^ 0x5DEECE66DULL ^ (0x9E3779B97F4A7C15ULL * w));
                if (w == 0) continue;
                k.s.mark.assign(marks, 0U);
                if (n.w_table_)
                    k.v.table = std::make_unique<ad::table_parameter<Scalar>>(
                        ad::table_parameter<Scalar>::view_of(*n.w_table_));
                else
                    k.v.dense = std::make_unique<ad::parameter<Scalar>>(
                        ad::parameter<Scalar>::view_of(*n.w_dense_));
                k.v.b_in = ad::parameter<Scalar>::view_of(n.b_in_);
                for (auto* p : n.rest_->parameters())
                    k.v.rest.push_back(ad::parameter<Scalar>::view_of(*p));
            }
            threads.reserve(t - 1);
            try {
                for (unsigned w = 1; w < t; ++w) threads.emplace_back([this, w] { loop(w); });
            } catch (...) {
                shutdown();
                throw;
            }
        }
        parallel_state(const parallel_state&) = delete;
        parallel_state& operator=(const parallel_state&) = delete;
        ~parallel_state() { shutdown(); }

        void shutdown() noexcept {
            {
                std::lock_guard<std::mutex> lk(mu);
                stop = true;
            }
            go.notify_all();
            for (std::thread& t : threads)
                if (t.joinable()) t.join();
        }

        // Runs fn(w) for every worker w, worker 0 on this thread; returns when all are done and
        // rethrows the first exception a worker raised.
        template <class F>
        void run(const F& fn) {
            {
                std::lock_guard<std::mutex> lk(mu);
                job = &fn;
                call = [](const void* f, unsigned w) { (*static_cast<const F*>(f))(w); };
                pending = static_cast<unsigned>(threads.size());
                error = nullptr;
                ++round;
            }
            go.notify_all();
            std::exception_ptr mine;
            try {
                fn(0);
            } catch (...) {
                mine = std::current_exception();
            }
            std::unique_lock<std::mutex> lk(mu);
            done.wait(lk, [&] { return pending == 0; });
            if (mine) std::rethrow_exception(mine);
            if (error) std::rethrow_exception(error);
        }

        void loop(unsigned w) {
            std::uint64_t seen = 0;
            for (;;) {
                {
                    std::unique_lock<std::mutex> lk(mu);
                    go.wait(lk, [&] { return stop || round != seen; });
                    if (stop) return;
                    seen = round;
                }
                std::exception_ptr e;
                try {
                    call(job, w);
                } catch (...) {
                    e = std::current_exception();
                }
                {
                    std::lock_guard<std::mutex> lk(mu);
                    if (e && !error) error = e;
                    if (--pending == 0) done.notify_one();
                }
            }
        }
    };

    static constexpr std::uint32_t max_threads = 1024;

    // One step of several threads on rows[0..n) (already checked). Worker w takes the
    // contiguous slice [n w / T, n (w + 1) / T) and runs forward and backward on it, with its
    // loss seeded by its share of the batch (slice / n), so that the workers' gradients add up
    // to the gradient of the batch's mean loss. Worker 0's gradients land in the model's
    // parameters; the others' are added to them in worker order (the dense ones with +=, the
    // table's row-sparse ones through table_parameter::flush, which sums a row's entries in the
    // order they were pushed). Then one Adam step. A slice may be empty (n < T): that worker
    // does nothing. Returns false, having changed nothing (the dropout streams aside), when a
    // worker's loss is not finite.
    bool train_step_parallel(parallel_state& ps, const eval::user_items& inputs,
                             const eval::user_items& targets, const std::size_t* rows,
                             std::size_t n, Scalar& l) {
        if (!opt_first_) make_optimizers(optim::adam_config{});
        const std::size_t T = ps.workers.size();
        ps.run([&](unsigned w) {
            worker& k = ps.workers[w];
            scratch& s = w == 0 ? main_ : k.s;
            s.tape.clear();
            const std::size_t lo = n * w / T, hi = n * (w + 1) / T;
            k.ran = hi > lo;
            if (!k.ran) return;
            const ad::var z = forward(s, w == 0 ? nullptr : &k.v, inputs, rows + lo, hi - lo, &k.drop);
            const ad::var loss = loss_node(s, z, targets, rows + lo, hi - lo);
            k.loss = s.tape.item(loss);
            if (BLOOM_UNLIKELY(!std::isfinite(k.loss))) return;
            k.seed(0, 0) = static_cast<Scalar>(hi - lo) / static_cast<Scalar>(n);
            s.tape.backward(loss, k.seed);
        });
        bool finite = true;
        l = Scalar(0);
        for (std::size_t w = 0; w < T; ++w) {
            const worker& k = ps.workers[w];
            if (!k.ran) continue;
            if (!std::isfinite(k.loss)) finite = false;
            const std::size_t lo = n * w / T, hi = n * (w + 1) / T;
            l += k.loss * (static_cast<Scalar>(hi - lo) / static_cast<Scalar>(n));
        }
        const std::vector<ad::parameter<Scalar>*>& own = ps.own;
        if (!finite) {
            if (w_table_) w_table_->zero_grad(); else w_dense_->zero_grad();
            for (auto* p : own) p->zero_grad();
            for (std::size_t w = 1; w < T; ++w) zero_views(ps.workers[w].v);
            return false;
        }
        for (std::size_t w = 1; w < T; ++w) {
            worker_views& v = ps.workers[w].v;
            if (!ps.workers[w].ran) continue;
            if (w_table_) {
                const row_sparse<Scalar>& g = v.table->grad();
                for (std::size_t i = 0; i < g.rows.size(); ++i)
                    w_table_->push(g.rows[i], Scalar(1), g.values.row(static_cast<Eigen::Index>(i)).data());
            } else if (v.dense->has_grad()) {
                w_dense_->accumulate(v.dense->grad());
            }
            if (v.b_in.has_grad()) b_in_.accumulate(v.b_in.grad());
            for (std::size_t i = 0; i < v.rest.size(); ++i)
                if (v.rest[i].has_grad()) own[i + 1]->accumulate(v.rest[i].grad());
        }
        if (w_table_) w_table_->flush();
        for (std::size_t w = 1; w < T; ++w) zero_views(ps.workers[w].v);
        apply_step();
        return true;
    }

    static void zero_views(worker_views& v) noexcept {
        if (v.table) v.table->zero_grad();
        if (v.dense) v.dense->zero_grad();
        v.b_in.zero_grad();
        for (auto& p : v.rest) p.zero_grad();
    }

    code_type in_, out_;
    network_options o_;
    std::unique_ptr<ad::table_parameter<Scalar>> w_table_;  // sparse input
    std::unique_ptr<ad::parameter<Scalar>> w_dense_;        // dense input
    ad::parameter<Scalar> b_in_;
    std::unique_ptr<nn::mlp<Scalar>> rest_;
    std::unique_ptr<opt> opt_first_;
    std::vector<opt> opt_dense_;
    std::vector<ad::parameter<Scalar>*> dense_params_;
    matrix<Scalar> out_norm_;
    std::vector<char> zero_row_;
    scratch main_;  // the tape and buffers of one-thread training and of prediction
};

// The popularity floor: every item scored by how many training rows hold it.
inline eval::ranking_result evaluate_popularity(const std::vector<std::uint64_t>& counts,
                                                const eval::user_items& inputs,
                                                const eval::user_items& targets,
                                                const eval::ranking_options& eo = {}) {
    const std::size_t d = counts.size();
    std::vector<float> s(d);
    for (std::size_t i = 0; i < d; ++i) s[i] = static_cast<float>(counts[i]);
    return eval::evaluate_ranking([&](std::uint32_t, float* out) { std::copy(s.begin(), s.end(), out); },
                                  d, inputs, targets, eo);
}

}  // namespace models
}  // namespace bloom
