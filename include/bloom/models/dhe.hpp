// DHE: Deep Hash Embeddings (Kang, Cheng, Yao, Yi, Chen, Hong & Chi, "Learning to Embed
// Categorical Features without Embedding Tables for Recommendation", KDD 2021).
//
// No embedding table. An id is hashed by k hash functions, each hash value becomes a real number
// (the dense hash encoding, computed on the fly: no memory per id), and a small MLP turns that
// k-vector into the id's dim-vector:
//
//   x_j(id) = T(h((id << 32) | j, hash_seed))        j = 0 .. k-1
//   a_0 = x,  a_l = f(a_{l-1} W_l + b_l)             l = 1 .. L (hidden layers of width h_l)
//   e(id) = a_L W_out + b_out                        (linear output, dim units)
//
// T is the paper's "uniform" transform (the hash's significant bits as a number in [-1, 1), the
// default) or its "Gaussian" one (Box-Muller on the uniforms of two consecutive hashes). f is Mish
// (x tanh(softplus(x)), the paper's choice) or ReLU. The paper also puts batch normalisation
// between the layers; this kind has none: a kind computes one id at a time (forward(id) is what
// the model scores with, and evaluation calls it on many threads), and batch statistics would
// make an id's embedding depend on the other ids of its batch. The output layer's scale is set
// at construction instead, so that initial embeddings have a full table's spread.
//
// The learned scalars are the MLP's weights and biases only: layer l is one trainable_table of
// (in_l + 1) x out_l, its last row the bias, updated by the optimizer Opt on all rows at every
// step (the dense update; bloom::optim's lazy forms equal their dense forms when every row is
// touched). With dhe_options::width = 0 the hidden width is the largest whose parameters fit
// dhe_options::budget, so a parameter budget picks the network.
//
// Training, batch mode (what factorization::fit uses; see its has_batch_mode): begin_batch(ids,
// n) merges a batch's repeated ids, encodes each distinct id once and runs the network on all of
// them as matrix-matrix products, keeping every layer's pre-activations and activations;
// view(id) returns the output rows until end_batch(). backward(id, g) adds g into the id's
// gradient row; end_batch() runs the backward pass as matrix products from the kept activations
// (of the ids that received a gradient) into the layers' gradients, and step() applies the
// optimizer. One forward per distinct id instead of a matrix-vector forward per lookup plus a
// recomputed one per gradient. The batch's memory is (distinct ids) x (k + 2 (h_1 + .. + h_L)
// + 2 dim + 2 max(h_l, dim)) scalars and an index of 2 to 4 slots per id of the batch, nothing
// per id of the kind; the buffers grow to the largest batch and are then reused.
//
// Training outside a batch (tests, or a caller without the batch mode): backward(id, g) records
// the id and its gradient; step() (accumulate()) runs the recorded ids through the network again
// as matrices (blocks of up to 128 ids: a forward and a backward pass with matrix-matrix
// products), sums the weight gradients and applies the optimizer. forward(), which scoring and
// evaluation use, computes one id at a time (matrix-vector products), const and thread-safe.
//
// Concurrent training is not offered (no set_workers / step_concurrent): every step writes every
// weight, so Hogwild workers would all race on all of them. factorization::fit refuses
// threads > 1 with a DHE side.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/policy.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace models {

// The largest k and hidden width (forward() keeps its activations on the stack).
inline constexpr std::uint32_t dhe_max_width = 2048;
// The most hidden layers.
inline constexpr std::uint32_t dhe_max_layers = 16;

enum class dhe_transform : std::uint8_t {
    uniform,   // x = 2u - 1 in [-1, 1), u the hash's bits as a fraction
    gaussian,  // Box-Muller: pairs (x_2t, x_2t+1) = r (cos, sin)(2 pi u_2t+1), r = sqrt(-2 ln(1 - u_2t))
};
enum class dhe_activation : std::uint8_t { mish, relu };

inline const char* to_string(dhe_transform t) noexcept {
    return t == dhe_transform::uniform ? "uniform" : "gaussian";
}
inline const char* to_string(dhe_activation a) noexcept {
    return a == dhe_activation::mish ? "mish" : "relu";
}

struct dhe_options {
    std::uint32_t hashes = 64;  // k: hash functions, the encoding's length (1 .. 2048)
    std::uint32_t layers = 2;   // hidden layers (1 .. 16)
    // Hidden width; 0: the largest (up to max_width) whose parameters fit `budget`.
    std::uint32_t width = 0;
    std::uint64_t budget = 0;   // learned scalars allowed (needed when width = 0)
    std::uint32_t max_width = dhe_max_width;
    dhe_transform transform = dhe_transform::uniform;
    dhe_activation activation = dhe_activation::mish;
    std::uint64_t hash_seed = 0;
};

namespace detail {

// Learned scalars of a network: k inputs, `layers` hidden layers of `width`, dim outputs, each
// layer with a bias.
inline std::uint64_t dhe_parameters(std::uint32_t k, std::uint32_t layers, std::uint32_t width,
                                    std::uint32_t dim) noexcept {
    const std::uint64_t h = width;
    return (std::uint64_t{k} + 1) * h + std::uint64_t{layers - 1} * (h + 1) * h + (h + 1) * dim;
}

// Checks the options and returns the hidden width they give.
inline std::uint32_t dhe_width(std::uint32_t n, const dhe_options& d, const embedding_options& o) {
    check_options("dhe_embedding", n, o);
    auto bad = [](const std::string& s) { ::bloom::detail::throw_invalid("dhe_embedding: " + s); };
    const std::string cap = std::to_string(dhe_max_width);
    if (d.hashes == 0 || d.hashes > dhe_max_width)
        bad("hashes (k) must be in 1.." + cap + " (hashes = " + std::to_string(d.hashes) + ")");
    if (d.layers == 0 || d.layers > dhe_max_layers)
        bad("layers must be in 1.." + std::to_string(dhe_max_layers) + " (layers = " +
            std::to_string(d.layers) + ")");
    if (d.max_width == 0 || d.max_width > dhe_max_width)
        bad("max_width must be in 1.." + cap + " (max_width = " + std::to_string(d.max_width) + ")");
    if (d.transform != dhe_transform::uniform && d.transform != dhe_transform::gaussian)
        bad("unknown transform");
    if (d.activation != dhe_activation::mish && d.activation != dhe_activation::relu)
        bad("unknown activation");
    if (d.width > d.max_width)
        bad("width " + std::to_string(d.width) + " is above max_width " + std::to_string(d.max_width));
    if (d.width > 0) {
        const std::uint64_t p = dhe_parameters(d.hashes, d.layers, d.width, o.dim);
        if (d.budget > 0 && p > d.budget)
            bad("width " + std::to_string(d.width) + " needs " + std::to_string(p) +
                " parameters, more than the budget of " + std::to_string(d.budget));
        return d.width;
    }
    if (d.budget == 0) bad("give a width or a parameter budget (width = 0, budget = 0)");
    const std::uint64_t least = dhe_parameters(d.hashes, d.layers, 1, o.dim);
    if (least > d.budget)
        bad("a budget of " + std::to_string(d.budget) + " scalars cannot hold width 1 (k = " +
            std::to_string(d.hashes) + ", " + std::to_string(d.layers) + " hidden layers, dim " +
            std::to_string(o.dim) + ": " + std::to_string(least) + " parameters)");
    std::uint32_t w = 1;
    while (w < d.max_width && dhe_parameters(d.hashes, d.layers, w + 1, o.dim) <= d.budget) ++w;
    return w;
}

// A hash value's significant bits as a fraction in [0, 1) (at most 53 bits are kept).
template <class Hash>
BLOOM_ALWAYS_INLINE double dhe_fraction(std::uint64_t v) noexcept {
    constexpr unsigned bits = hash_bits_v<Hash>;
    if constexpr (bits < 64) v &= (std::uint64_t{1} << bits) - 1;
    if constexpr (bits > 53) {
        return static_cast<double>(v >> (bits - 53)) * 0x1p-53;
    } else {
        // 2^-bits, exact; a multiplication rather than std::ldexp, which is a library call
        constexpr double scale = 1.0 / static_cast<double>(std::uint64_t{1} << bits);
        return static_cast<double>(v) * scale;
    }
}

// The dense hash encoding of id: out[0 .. k).
template <class Hash, class Scalar>
void dhe_encode(std::uint32_t id, std::uint32_t k, std::uint64_t seed, dhe_transform t,
                Scalar* out) noexcept {
    const Hash h{};
    const std::uint64_t base = static_cast<std::uint64_t>(id) << 32;
    auto u = [&](std::uint32_t j) { return dhe_fraction<Hash>(hash_u64(h, base | j, seed)); };
    if (t == dhe_transform::uniform) {
        for (std::uint32_t j = 0; j < k; ++j) out[j] = static_cast<Scalar>(2.0 * u(j) - 1.0);
        return;
    }
    constexpr double two_pi = 6.283185307179586476925;
    for (std::uint32_t j = 0; j < k; j += 2) {
        const double r = std::sqrt(-2.0 * std::log(1.0 - u(j)));
        const double a = two_pi * u(j + 1);
        out[j] = static_cast<Scalar>(r * std::cos(a));
        if (j + 1 < k) out[j + 1] = static_cast<Scalar>(r * std::sin(a));
    }
}

// What a model file keeps to recognise the hash function: the low 32 bits of the hashes of the
// keys of ids 0..3, j = 0..15 (those that exist).
template <class Hash>
std::vector<std::uint32_t> dhe_fingerprint(std::uint32_t n, std::uint32_t k, std::uint64_t seed) {
    const Hash h{};
    std::vector<std::uint32_t> f;
    for (std::uint32_t id = 0; id < std::min<std::uint32_t>(n, 4); ++id)
        for (std::uint32_t j = 0; j < std::min<std::uint32_t>(k, 16); ++j)
            f.push_back(static_cast<std::uint32_t>(
                hash_u64(h, (static_cast<std::uint64_t>(id) << 32) | j, seed)));
    return f;
}

// Mish, f(z) = z tanh(softplus(z)), and its gradient, as Eigen functors with a SIMD form. With
// n = e^z, tanh(softplus(z)) = n (n + 2) / (n (n + 2) + 2): one exp per element; z is clamped at
// 20 inside the exp, where the ratio is 1 in any precision. f'(z) = t + z s (1 - t^2), with
// t = tanh(softplus(z)) and s = sigmoid(z) = n / (n + 1).
template <class S>
struct dhe_mish_op {
    S operator()(const S& z) const {
        const S n = std::exp(std::min(z, S(20)));
        const S q = n * (n + S(2));
        return z * q / (q + S(2));
    }
    template <class P>
    P packetOp(const P& z) const {
        namespace in = Eigen::internal;
        const P n = in::pexp(in::pmin(z, in::pset1<P>(S(20))));
        const P q = in::pmul(n, in::padd(n, in::pset1<P>(S(2))));
        return in::pmul(z, in::pdiv(q, in::padd(q, in::pset1<P>(S(2)))));
    }
};
// (z, g) -> g f'(z)
template <class S>
struct dhe_mish_grad_op {
    S operator()(const S& z, const S& g) const {
        const S n = std::exp(std::min(z, S(20)));
        const S q = n * (n + S(2));
        const S t = q / (q + S(2));
        const S s = n / (n + S(1));
        return g * (t + z * s * (S(1) - t * t));
    }
    template <class P>
    P packetOp(const P& z, const P& g) const {
        namespace in = Eigen::internal;
        const P one = in::pset1<P>(S(1)), two = in::pset1<P>(S(2));
        const P n = in::pexp(in::pmin(z, in::pset1<P>(S(20))));
        const P q = in::pmul(n, in::padd(n, two));
        const P t = in::pdiv(q, in::padd(q, two));
        const P s = in::pdiv(n, in::padd(n, one));
        const P d = in::padd(t, in::pmul(in::pmul(z, s), in::psub(one, in::pmul(t, t))));
        return in::pmul(g, d);
    }
};

// a = f(a) in place (a holds z on entry).
template <class Arr>
BLOOM_ALWAYS_INLINE void dhe_activate(dhe_activation f, Arr&& a) noexcept {
    using S = typename std::decay_t<Arr>::Scalar;
    if (f == dhe_activation::relu)
        a = a.max(S(0));
    else
        a = a.unaryExpr(dhe_mish_op<S>());
}
// d = d f'(z) in place (d holds d loss / d a on entry, d loss / d z on return).
template <class ZArr, class DArr>
BLOOM_ALWAYS_INLINE void dhe_backprop(dhe_activation f, const ZArr& z, DArr&& d) noexcept {
    using S = typename ZArr::Scalar;
    if (f == dhe_activation::relu)
        d = (z > S(0)).select(d, S(0));
    else
        d = z.binaryExpr(d, dhe_mish_grad_op<S>());
}

}  // namespace detail

template <class Scalar, class Opt>
class dhe_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "dhe";
    using encode_fn = void (*)(std::uint32_t, std::uint32_t, std::uint64_t, dhe_transform,
                               Scalar*) noexcept;

    template <class Hash = xxh3>
    dhe_embedding(std::uint32_t n, const dhe_options& d, const embedding_options& o,
                  const typename Opt::config& oc, Hash = Hash{})
        : n_(n),
          dim_(o.dim),
          d_(d),
          hash_name_(hash_name<Hash>()),
          encode_(&detail::dhe_encode<Hash, Scalar>) {
        const std::uint32_t w = detail::dhe_width(n, d, o);
        d_.width = w;
        widths_.assign(d.layers, w);
        fingerprint_ = detail::dhe_fingerprint<Hash>(n, d.hashes, d.hash_seed);
        std::uint32_t in = d.hashes;
        for (std::uint32_t l = 0; l <= d.layers; ++l) {
            const std::uint32_t out = l < d.layers ? widths_[l] : dim_;
            layers_.emplace_back(std::size_t{in} + 1, out, oc);
            in = out;
        }
        init(o);
        set_shape();
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    // No table: 0 rows.
    std::size_t rows() const noexcept { return 0; }
    std::size_t parameters() const noexcept {
        std::size_t p = 0;
        for (const auto& t : layers_) p += t.parameters();
        return p;
    }
    std::uint32_t hashes() const noexcept { return d_.hashes; }
    std::uint32_t hidden_layers() const noexcept { return static_cast<std::uint32_t>(widths_.size()); }
    const std::vector<std::uint32_t>& widths() const noexcept { return widths_; }
    const dhe_options& options() const noexcept { return d_; }
    const std::string& policy() const noexcept { return hash_name_; }
    // Layer l (0 .. hidden_layers(); the last is the output layer): (in + 1) x out, the last row
    // the bias.
    trainable_table<Scalar, Opt>& layer(std::size_t l) noexcept { return layers_[l]; }
    const trainable_table<Scalar, Opt>& layer(std::size_t l) const noexcept { return layers_[l]; }
    std::string describe() const {
        return "dhe, k=" + std::to_string(d_.hashes) + " " + to_string(d_.transform) + ", " +
               std::to_string(widths_.size()) + "x" + std::to_string(widths_.front()) + " " +
               to_string(d_.activation) + ", " + hash_name_;
    }

    // The dense hash encoding of id, out[0 .. hashes()).
    void encode(std::uint32_t id, Scalar* out) const noexcept {
        encode_(id, d_.hashes, d_.hash_seed, d_.transform, out);
    }

    explicit dhe_embedding(restore_tag) : n_(0), dim_(0), encode_(nullptr) {}
    // Model files: the options, the policy's name and a fingerprint of its hashes (loading
    // recomputes it with the named policy and fails when it differs), the hidden widths and
    // every layer with its optimizer.
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.value("hash", hash_name_);
        a.value("hashes", d_.hashes);
        a.value("transform", d_.transform);
        a.value("activation", d_.activation);
        a.value("hash_seed", d_.hash_seed);
        a.array("widths", widths_);
        a.array("fingerprint", fingerprint_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            a.check(d_.hashes >= 1 && d_.hashes <= dhe_max_width, "hashes outside 1.." +
                                                                      std::to_string(dhe_max_width));
            a.check(d_.transform == dhe_transform::uniform || d_.transform == dhe_transform::gaussian,
                    "unknown transform");
            a.check(d_.activation == dhe_activation::mish || d_.activation == dhe_activation::relu,
                    "unknown activation");
            a.check(!widths_.empty() && widths_.size() <= dhe_max_layers,
                    "no hidden layers, or more than " + std::to_string(dhe_max_layers));
            for (const std::uint32_t w : widths_)
                a.check(w >= 1 && w <= dhe_max_width, "a hidden width outside 1.." +
                                                          std::to_string(dhe_max_width));
            d_.layers = static_cast<std::uint32_t>(widths_.size());
            d_.width = widths_.front();
            d_.budget = 0;
            d_.max_width = dhe_max_width;
            layers_.clear();
            for (std::size_t l = 0; l <= widths_.size(); ++l) layers_.emplace_back(restore_tag{});
        }
        for (std::size_t l = 0; l < layers_.size(); ++l)
            a.object("layer" + std::to_string(l), layers_[l]);
        if constexpr (A::loading) {
            std::uint32_t in = d_.hashes;
            for (std::size_t l = 0; l < layers_.size(); ++l) {
                const std::uint32_t out = l < widths_.size() ? widths_[l] : dim_;
                a.check(layers_[l].has_shape(std::uint64_t{in} + 1, out),
                        "layer " + std::to_string(l) + " is not (" + std::to_string(in) +
                            " + 1) x " + std::to_string(out));
                in = out;
            }
            // The encoding is computed on the fly: the build must have the policy, and the
            // policy must hash as the one that trained the model.
            a.verify_positions(hash_name_, [&](auto h) {
                encode_ = &detail::dhe_encode<decltype(h), Scalar>;
                return detail::dhe_fingerprint<decltype(h)>(n_, d_.hashes, d_.hash_seed);
            }, fingerprint_);
            set_shape();
        }
    }

    // Inside a batch (begin_batch .. end_batch), the embedding begin_batch computed for id (one
    // of the batch's ids); nullptr outside a batch, where forward() computes it.
    BLOOM_ALWAYS_INLINE const Scalar* view(std::uint32_t id) const noexcept {
        if (batch_ids_.empty()) return nullptr;
        const std::size_t r = batch_row(id);
        return r < batch_ids_.size() ? by_.data() + r * std::size_t{dim_} : nullptr;
    }

    // The network on one id; its activations stay on the stack (so that any number of threads
    // may call it at once).
    void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        alignas(64) Scalar buf[3 * dhe_max_width];  // the encoding, then two alternating layers
        Scalar* x = buf;
        encode(id, x);
        std::uint32_t in = d_.hashes;
        for (std::size_t l = 0; l < layers_.size(); ++l) {
            const matrix<Scalar>& w = layers_[l].weights();
            const bool last = l + 1 == layers_.size();
            const std::uint32_t o = last ? dim_ : widths_[l];
            Scalar* z = last ? out : (x == buf + dhe_max_width ? buf + 2 * dhe_max_width : buf + dhe_max_width);
            Eigen::Map<const row_vec> xv(x, in);
            Eigen::Map<row_vec> zv(z, o);
            zv.noalias() = xv * w.topRows(in);
            zv += w.row(in);
            if (!last) detail::dhe_activate(d_.activation, zv.array());
            x = z;
            in = o;
        }
    }

    // d loss / d e(id) = g. Inside a batch, for one of its ids: added to that id's gradient row,
    // which end_batch() propagates. Otherwise the id and g are recorded, and accumulate() (in
    // step()) runs the recorded ids through the network again to propagate them.
    void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        BLOOM_ASSERT(worker == 0);
        (void)worker;
        if (!batch_ids_.empty()) {
            const std::size_t r = batch_row(id);
            if (r < batch_ids_.size()) {
                Eigen::Map<row_vec>(bg_.data() + r * std::size_t{dim_}, dim_) +=
                    Eigen::Map<const row_vec>(g, dim_);
                batch_touched_[r] = 1;
                ++batch_recorded_;
                return;
            }
        }
        pending_ids_.push_back(id);
        pending_g_.insert(pending_g_.end(), g, g + dim_);
    }
    // Ids recorded outside a batch and not yet accumulated.
    std::size_t pending() const noexcept { return pending_ids_.size(); }

    // --- batch mode (factorization::fit on one thread; see factorization's has_batch_mode) ---
    //
    // begin_batch(ids, n): the batch's distinct ids (repeats merged), their encodings and
    // the network's activations on all of them at once, as matrix-matrix products; the
    // activations are kept, and view(id) returns the output rows until end_batch(). backward()
    // sums each distinct id's gradients. end_batch(): the backward pass of the ids that received a
    // gradient, as matrix products from the kept activations (no recomputation), added to the
    // layers' gradients (gradient(l), as accumulate() does); then the batch is forgotten. A batch
    // whose ids received no gradient (a diverged one) leaves the gradients as they were. The
    // memory is O(distinct ids of a batch x the layers' widths), never per id of the kind; the
    // buffers grow to the largest batch seen and are then reused.
    void begin_batch(const std::uint32_t* ids, std::size_t n) {
        batch_ids_.clear();
        batch_recorded_ = 0;
        if (n == 0) return;
        index_batch(ids, n);
        const std::size_t m = batch_ids_.size();
        const auto rows = static_cast<Eigen::Index>(m);
        ensure_batch(rows);
        for (std::size_t r = 0; r < m; ++r)
            encode(batch_ids_[r], bx_.data() + r * std::size_t{d_.hashes});
        forward_hidden(bx_, bz_, ba_, rows);
        const matrix<Scalar>& w = layers_.back().weights();
        const Eigen::Index in = w.rows() - 1;
        auto y = by_.topRows(rows);
        y.noalias() = ba_.back().topRows(rows) * w.topRows(in);
        y.rowwise() += w.row(in);
        bg_.topRows(rows).setZero();
        batch_touched_.assign(m, 0);
    }
    void end_batch() {
        const std::size_t m = batch_ids_.size();
        if (batch_recorded_ > 0) {
            // Only the ids that received a gradient go through the backward pass: their rows are
            // moved up (the others, e.g. adaptive hinge's negatives that lost, would add zeros).
            Eigen::Index t = 0;
            for (std::size_t r = 0; r < m; ++r) {
                if (!batch_touched_[r]) continue;
                const auto i = static_cast<Eigen::Index>(r);
                if (t != i) {
                    bx_.row(t) = bx_.row(i);
                    for (std::size_t l = 0; l < bz_.size(); ++l) {
                        bz_[l].row(t) = bz_[l].row(i);
                        ba_[l].row(t) = ba_[l].row(i);
                    }
                    bg_.row(t) = bg_.row(i);
                }
                ++t;
            }
            backward_rows(bx_, bz_, ba_, bg_.topRows(t), t);
            has_grad_ = true;
        }
        batch_ids_.clear();
        batch_recorded_ = 0;
    }
    // The distinct ids of the current batch (0 outside a batch).
    std::size_t batch_rows() const noexcept { return batch_ids_.size(); }

    // The recorded ids' gradients, added to the layers' weight gradients (gradient(l)), and
    // forgotten. step() calls it; tests call it to read the gradients.
    void accumulate() {
        const std::size_t p = pending_ids_.size();
        if (p == 0) return;
        ensure_work();
        for (std::size_t b0 = 0; b0 < p; b0 += block) {
            const Eigen::Index nb = static_cast<Eigen::Index>(std::min<std::size_t>(block, p - b0));
            accumulate_block(b0, nb);
        }
        pending_ids_.clear();
        pending_g_.clear();
        has_grad_ = true;
    }
    // Layer l's gradient since the last step (the shape of layer(l)'s weights).
    const matrix<Scalar>& gradient(std::size_t l) const noexcept { return grad_[l]; }

    // One optimizer step of every layer on its whole gradient (nothing when no id was recorded).
    void step() {
        accumulate();
        if (!has_grad_) return;
        for (std::size_t l = 0; l < layers_.size(); ++l) {
            trainable_table<Scalar, Opt>& t = layers_[l];
            Opt& opt = t.optimizer();
            matrix<Scalar>& w = t.weights();
            const std::size_t r = static_cast<std::size_t>(w.rows());
            opt.begin_step();
            if constexpr (detail::has_update_rows<Opt, Scalar>::value) {
                opt.update_rows(w, all_rows_.data(), grad_[l].data(), r);
            } else {
                for (std::size_t i = 0; i < r; ++i)
                    opt.update_row(w, static_cast<std::uint32_t>(i), grad_[l].row(static_cast<Eigen::Index>(i)).data());
            }
            grad_[l].setZero();
        }
        has_grad_ = false;
    }

private:
    using row_vec = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;
    static constexpr std::size_t block = 128;  // ids per matrix pass in accumulate()

    // Hidden layers: N(0, 2 / fan_in) (He), biases 0. The output layer is drawn N(0, 1 / fan_in)
    // and then scaled so that the embeddings of the first min(ids, 256) ids have the spread of a
    // full table's initialisation (init_std, 1/dim by default; zeros when it is negative).
    void init(const embedding_options& o) {
        engine rng(o.seed);
        std::uint32_t in = d_.hashes;
        for (std::size_t l = 0; l < layers_.size(); ++l) {
            matrix<Scalar>& w = layers_[l].weights();
            const double sd = std::sqrt((l + 1 < layers_.size() ? 2.0 : 1.0) / in);
            for (Eigen::Index r = 0; r < in; ++r)
                for (Eigen::Index c = 0; c < w.cols(); ++c)
                    w(r, c) = static_cast<Scalar>(sd * standard_normal(rng));
            w.row(in).setZero();
            in = static_cast<std::uint32_t>(w.cols());
        }
        matrix<Scalar>& out = layers_.back().weights();
        const double target = detail::resolve_std(o);
        if (target < 0) {
            out.setZero();
            return;
        }
        const std::uint32_t m = std::min<std::uint32_t>(n_, 256);
        std::vector<Scalar> e(dim_);
        double sq = 0;
        for (std::uint32_t id = 0; id < m; ++id) {
            forward(id, e.data());
            for (Scalar v : e) sq += static_cast<double>(v) * static_cast<double>(v);
        }
        const double rms = std::sqrt(sq / (static_cast<double>(m) * dim_));
        if (rms > 0) out *= static_cast<Scalar>(target / rms);
    }

    void set_shape() {
        grad_.clear();
        std::size_t most = 0;
        for (const auto& t : layers_) {
            grad_.emplace_back(matrix<Scalar>::Zero(t.weights().rows(), t.weights().cols()));
            most = std::max(most, static_cast<std::size_t>(t.weights().rows()));
        }
        all_rows_.resize(most);
        std::iota(all_rows_.begin(), all_rows_.end(), 0U);
        has_grad_ = false;
        // the working buffers follow the shape (a loaded model may have other widths)
        z_.clear();
        a_.clear();
        bz_.clear();
        ba_.clear();
        batch_ids_.clear();
        batch_recorded_ = 0;
        pending_ids_.reserve(1024);
        pending_g_.reserve(1024 * std::size_t{dim_});
    }

    // mtx has at least `rows` rows of `cols` (grown, never shrunk: its contents are scratch).
    static void grow(matrix<Scalar>& mtx, Eigen::Index rows, Eigen::Index cols) {
        if (mtx.rows() < rows || mtx.cols() != cols) mtx.resize(std::max(rows, mtx.rows()), cols);
    }
    // Scratch for the backward pass's gradients of rows ids' activations (two buffers of rows x
    // the widest layer; each holds one rows x width matrix, contiguous).
    void ensure_scratch(Eigen::Index rows) {
        std::uint32_t widest = dim_;
        for (const std::uint32_t w : widths_) widest = std::max(widest, w);
        const std::size_t need = static_cast<std::size_t>(rows) * widest;
        if (static_cast<std::size_t>(g0_.size()) < need) {
            g0_.resize(static_cast<Eigen::Index>(need));
            g1_.resize(static_cast<Eigen::Index>(need));
        }
    }
    // The per-block buffers, allocated at the first step.
    void ensure_work() {
        if (!z_.empty()) return;
        const auto b = static_cast<Eigen::Index>(block);
        x_.resize(b, d_.hashes);
        for (const std::uint32_t w : widths_) {
            z_.emplace_back(b, w);
            a_.emplace_back(b, w);
        }
        ensure_scratch(b);
    }
    // The batch buffers, for `rows` distinct ids.
    void ensure_batch(Eigen::Index rows) {
        if (bz_.size() != widths_.size()) {
            bz_.assign(widths_.size(), matrix<Scalar>());
            ba_.assign(widths_.size(), matrix<Scalar>());
        }
        grow(bx_, rows, d_.hashes);
        for (std::size_t l = 0; l < widths_.size(); ++l) {
            grow(bz_[l], rows, widths_[l]);
            grow(ba_[l], rows, widths_[l]);
        }
        grow(by_, rows, dim_);
        grow(bg_, rows, dim_);
        ensure_scratch(rows);
    }
    // The batch's distinct ids, in the order of their first occurrence, into batch_ids_, and
    // the index that finds an id's row: open addressing with linear probing over a power of two
    // of slots, at least twice the batch's ids (so at most half full), each slot (id << 32) | row
    // or empty. A hash table rather than a sorted list: no sort per batch, and a lookup (two per
    // example and side: view() and backward()) is one or two probes rather than a binary search.
    static constexpr std::uint64_t empty_slot = ~std::uint64_t{0};
    std::size_t slot_of(std::uint32_t id) const noexcept {
        return static_cast<std::size_t>((id * std::uint64_t{0x9E3779B97F4A7C15}) >> batch_shift_);
    }
    void index_batch(const std::uint32_t* ids, std::size_t n) {
        unsigned bits = 4;
        while ((std::size_t{1} << bits) < 2 * n) ++bits;
        const std::size_t cap = std::size_t{1} << bits;
        if (batch_slots_.size() < cap) batch_slots_.resize(cap);
        std::fill_n(batch_slots_.begin(), cap, empty_slot);
        batch_shift_ = 64 - bits;
        batch_mask_ = cap - 1;
        for (std::size_t t = 0; t < n; ++t) {
            const std::uint32_t id = ids[t];
            BLOOM_ASSERT(id < n_);
            for (std::size_t s = slot_of(id);; s = (s + 1) & batch_mask_) {
                const std::uint64_t v = batch_slots_[s];
                if (v == empty_slot) {
                    batch_slots_[s] = (std::uint64_t{id} << 32) | batch_ids_.size();
                    batch_ids_.push_back(id);
                    break;
                }
                if ((v >> 32) == id) break;
            }
        }
    }
    // The row of id among the batch's distinct ids, or batch_ids_.size() when it is not one.
    std::size_t batch_row(std::uint32_t id) const noexcept {
        for (std::size_t s = slot_of(id);; s = (s + 1) & batch_mask_) {
            const std::uint64_t v = batch_slots_[s];
            if (v == empty_slot) return batch_ids_.size();
            if ((v >> 32) == id) return static_cast<std::size_t>(v & 0xFFFFFFFFu);
        }
    }

    // rows 0 .. nb of a buffer whose rows are all its columns (contiguous), as one array: the
    // activations are then applied in one vectorized sweep rather than row by row
    static Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> flat(matrix<Scalar>& m, Eigen::Index nb) {
        return {m.data(), nb * m.cols()};
    }
    static Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>> flat(const matrix<Scalar>& m,
                                                                         Eigen::Index nb) {
        return {m.data(), nb * m.cols()};
    }

    // The hidden layers on rows 0 .. nb of the encodings x: z[l] = a[l - 1] W_l + b_l (a[-1] = x)
    // and a[l] = f(z[l]).
    void forward_hidden(const matrix<Scalar>& x, std::vector<matrix<Scalar>>& z,
                        std::vector<matrix<Scalar>>& a, Eigen::Index nb) const {
        for (std::size_t l = 0; l < widths_.size(); ++l) {
            const matrix<Scalar>& w = layers_[l].weights();
            const Eigen::Index in = w.rows() - 1;
            auto zl = z[l].topRows(nb);
            if (l == 0)
                zl.noalias() = x.topRows(nb) * w.topRows(in);
            else
                zl.noalias() = a[l - 1].topRows(nb) * w.topRows(in);
            zl.rowwise() += w.row(in);
            auto al = flat(a[l], nb);
            al = flat(z[l], nb);
            detail::dhe_activate(d_.activation, al);
        }
    }

    // The backward pass of rows 0 .. nb, from their kept activations (x, z, a as forward_hidden
    // left them) and gy, d loss / d output (nb x dim): the layers' weight gradients are added to
    // grad_. d loss / d x is not needed and not computed.
    template <class GY>
    void backward_rows(const matrix<Scalar>& x, const std::vector<matrix<Scalar>>& z,
                       const std::vector<matrix<Scalar>>& a, const GY& gy, Eigen::Index nb) {
        using map = Eigen::Map<matrix<Scalar>>;
        using flat_map = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
        const std::size_t nl = widths_.size();
        auto input = [&](std::size_t l) { return l == 0 ? x.topRows(nb) : a[l - 1].topRows(nb); };
        Scalar* g0 = g0_.data();  // d loss / d a_l (nb x width_l), then d loss / d z_l
        Scalar* g1 = g1_.data();
        // The output layer.
        {
            const matrix<Scalar>& w = layers_[nl].weights();
            const Eigen::Index in = w.rows() - 1;
            grad_[nl].topRows(in).noalias() += input(nl).transpose() * gy;
            grad_[nl].row(in) += gy.colwise().sum();
            map(g0, nb, in).noalias() = gy * w.topRows(in).transpose();
        }
        // Hidden layers, last to first.
        for (std::size_t l = nl; l-- > 0;) {
            const matrix<Scalar>& w = layers_[l].weights();
            const Eigen::Index in = w.rows() - 1;
            const Eigen::Index out = w.cols();
            flat_map gzf(g0, nb * out);
            detail::dhe_backprop(d_.activation, flat(z[l], nb), gzf);
            const map gz(g0, nb, out);
            grad_[l].topRows(in).noalias() += input(l).transpose() * gz;
            grad_[l].row(in) += gz.colwise().sum();
            if (l > 0) {
                map(g1, nb, in).noalias() = gz * w.topRows(in).transpose();
                std::swap(g0, g1);
            }
        }
    }

    // Forward and backward of the recorded ids b0 .. b0 + nb through the layers, as matrices.
    void accumulate_block(std::size_t b0, Eigen::Index nb) {
        for (Eigen::Index r = 0; r < nb; ++r)
            encode(pending_ids_[b0 + static_cast<std::size_t>(r)], x_.row(r).data());
        forward_hidden(x_, z_, a_, nb);
        const Eigen::Map<const matrix<Scalar>> gy(pending_g_.data() + b0 * dim_, nb, dim_);
        backward_rows(x_, z_, a_, gy, nb);
    }

    std::uint32_t n_;
    std::uint32_t dim_;
    dhe_options d_;
    std::string hash_name_;
    encode_fn encode_;
    std::vector<std::uint32_t> widths_;       // the hidden layers' widths
    std::vector<std::uint32_t> fingerprint_;  // see detail::dhe_fingerprint
    std::vector<trainable_table<Scalar, Opt>> layers_;
    // training
    std::vector<matrix<Scalar>> grad_;
    std::vector<std::uint32_t> all_rows_;  // 0, 1, 2, ...: every row of a layer
    bool has_grad_ = false;
    std::vector<std::uint32_t> pending_ids_;
    std::vector<Scalar> pending_g_;
    matrix<Scalar> x_;  // accumulate()'s blocks
    // The backward pass's scratch (accumulate() and batch mode). Eigen's aligned storage, as
    // every buffer the activations sweep: where a sweep starts vectorizing depends on the
    // alignment, and the scalar and vector forms of exp may round differently, so training
    // reproduces bit for bit only when the buffers' alignment does not depend on the heap.
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> g0_, g1_;
    std::vector<matrix<Scalar>> z_, a_;
    // batch mode: the batch's distinct ids (in order of first occurrence; empty outside a
    // batch), their encodings, hidden pre-activations and activations, outputs (view()) and
    // summed output gradients
    std::vector<std::uint32_t> batch_ids_;
    std::vector<std::uint64_t> batch_slots_;  // their index (see index_batch)
    unsigned batch_shift_ = 60;
    std::size_t batch_mask_ = 15;
    std::vector<unsigned char> batch_touched_;  // 1: the id's row received a gradient
    std::size_t batch_recorded_ = 0;            // backward() calls in the batch
    matrix<Scalar> bx_, by_, bg_;
    std::vector<matrix<Scalar>> bz_, ba_;
};

}  // namespace models
}  // namespace bloom

namespace Eigen {
namespace internal {
template <class S>
struct functor_traits<::bloom::models::detail::dhe_mish_op<S>> {
    enum { Cost = 10 * NumTraits<S>::MulCost, PacketAccess = packet_traits<S>::HasExp && packet_traits<S>::HasDiv };
};
template <class S>
struct functor_traits<::bloom::models::detail::dhe_mish_grad_op<S>> {
    enum { Cost = 16 * NumTraits<S>::MulCost, PacketAccess = packet_traits<S>::HasExp && packet_traits<S>::HasDiv };
};
}  // namespace internal
}  // namespace Eigen
