// Bloom embeddings of raw 64-bit keys, hashed on the fly: no state per id.
//
// bloom_embedding (embeddings.hpp) takes dense ids 0..n-1 and keeps their n x k position table, a
// cache of its spec: 4k bytes per id, so its memory grows with the id space. keyed_bloom_embedding
// keeps no such table. Its ids are 64-bit keys as real logs carry them (sparse, any value the spec
// accepts), and every lookup asks the spec for the key's k positions (k hashes, the paper's
// "on-the-fly, constant-time" hashing). What it owns is the m x dim table with its optimizer and
// row gradients, whatever the number of possible keys: 10^6 or 10^18.
//
//     bloom::models::bloom_options b;
//     b.rows = 100000; b.k = 4;
//     bloom::models::keyed_bloom_embedding<float, bloom::optim::adam<float>> items(
//         bloom::models::key_spec<bloom::xxh3>(b), bloom::models::combine::sum, o, {});
//     items.forward(0x1F00000000ULL, out);   // any 64-bit key
//
// The math is bloom_embedding's: e(key) = s * sum_j W[h_j(key)], s = 1 or 1/k. Built from the same
// spec (make_spec(n, b), 4-byte keys) it gives bloom_embedding's positions, forward and backward
// bit for bit on dense ids (tests/models/keyed.test.cpp).
//
// In a factorization (factorization.hpp) the kind brings its own biases (bias_kind): a rows x 1
// table read through the same k positions, b(key) = s * sum_j B[h_j(key)], so the biases have no
// per-id entry either. The factorization then draws its negatives from the item keys it was
// trained on (see factorization::fit).
//
// The cost of a lookup is k hashes plus the k row reads; table mode's is one read of k positions
// (in cache or not) plus the k row reads. bench/bench_keyed.cpp measures both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <bloom/config.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/kernels.hpp>
#include <bloom/models/random.hpp>
#include <bloom/models/row_grads.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace models {

// The spec of a keyed kind: m = b.rows, k = b.k, b's seed and derivation, 8-byte keys. Keys must be
// below key_space when it is given (0: every 64-bit key). b.key_stride does not apply (keys are
// used as given) and must be 1.
template <class Hash = xxh3>
basic_spec<Hash> key_spec(const bloom_options& b, std::uint64_t key_space = 0) {
    if (b.key_stride != 1)
        ::bloom::detail::throw_invalid("key_spec: key_stride is " + std::to_string(b.key_stride) +
                                       "; keyed kinds hash the keys as given (key_stride = 1)");
    spec_config c;
    c.items = key_space;
    c.m = b.rows;
    c.k = b.k;
    c.seed = b.hash_seed;
    c.derive = b.derive;
    c.key_bytes = 8;
    return basic_spec<Hash>(c);
}

template <class Scalar, class Opt, class Hash = xxh3>
class keyed_bloom_embedding {
public:
    using scalar_type = Scalar;
    using id_type = std::uint64_t;  // a key; factorization reads this to take keys, not dense ids
    using hash_type = Hash;
    using spec_type = basic_spec<Hash>;
    static constexpr const char* kind_name = "bloom-keyed";
    // Positions are computed into a stack buffer of this many values.
    static constexpr std::uint32_t max_k = spec_type::max_inline_k;

    // The factorization's biases for this kind: dim 1, zeros, the same spec and combination.
    template <class BiasOpt>
    using bias_kind = keyed_bloom_embedding<Scalar, BiasOpt, Hash>;

    keyed_bloom_embedding(spec_type spec, combine comb, const embedding_options& o,
                          const typename Opt::config& oc)
        : spec_(check(std::move(spec), comb, o)),
          dim_(o.dim),
          k_(spec_.k()),
          comb_(comb),
          t_(static_cast<std::size_t>(spec_.m()), o.dim, oc) {
        engine rng(o.seed);
        detail::init_normal(t_.weights(), detail::resolve_std(o), rng);
        scale_ = comb_ == combine::mean ? Scalar(1) / static_cast<Scalar>(k_) : Scalar(1);
    }

    // The bias table of a factorization (bias_kind): one column of zeros over the same rows.
    template <class BiasOpt>
    bias_kind<BiasOpt> make_bias(const typename BiasOpt::config& oc) const {
        embedding_options o;
        o.dim = 1;
        o.init_std = -1.0;  // zeros
        return bias_kind<BiasOpt>(spec_, comb_, o, oc);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t k() const noexcept { return k_; }
    combine comb() const noexcept { return comb_; }
    const spec_type& spec() const noexcept { return spec_; }
    std::size_t rows() const noexcept { return static_cast<std::size_t>(t_.weights().rows()); }
    std::size_t parameters() const noexcept { return t_.parameters(); }
    // Bytes this kind holds beside its optimizer's state: the weights and the row-gradient
    // accumulator's 4-byte slot per row. Neither depends on the key space.
    std::size_t memory_bytes() const noexcept {
        return t_.parameters() * sizeof(Scalar) + rows() * sizeof(std::int32_t);
    }
    std::string describe() const {
        return std::string(k_ == 1 ? "hashing trick" : "bloom") + " on the fly, " +
               std::to_string(rows()) + " rows, k=" + std::to_string(k_) + ", " +
               spec_type::hash_name() + ", " + to_string(comb_) + ", 64-bit keys";
    }

    // Throws bloom::out_of_range unless the spec takes `key` (below its key space, if any).
    void check_id(std::uint64_t key) const { spec_.check_id(key); }

    // The k positions of key, in hash order (the spec's, computed now). `out` holds k values.
    BLOOM_ALWAYS_INLINE void positions(std::uint64_t key, std::uint32_t* out) const noexcept {
        spec_.positions(key, out);
    }

    BLOOM_ALWAYS_INLINE const Scalar* view(std::uint64_t key) const noexcept {
        if (k_ != 1 || comb_ != combine::sum) return nullptr;
        std::uint32_t p;
        spec_.positions(key, &p);
        return t_.row(p);
    }
    BLOOM_ALWAYS_INLINE void forward(std::uint64_t key, Scalar* out) const noexcept {
        std::uint32_t p[max_k];
        spec_.positions(key, p);
        kernels::sum_rows(out, t_.weights().data(), p, k_, scale_, dim_);
    }
    BLOOM_ALWAYS_INLINE void backward(std::uint64_t key, const Scalar* g, unsigned worker = 0) {
        std::uint32_t p[max_k];
        spec_.positions(key, p);
        row_grads<Scalar>& acc = t_.grads(worker);
        for (std::uint32_t j = 0; j < k_; ++j) acc.add(p[j], scale_, g);
    }
    // A one-column table (the biases): the value at key, s * sum_j B[h_j(key)], and its
    // gradient g, added to each of the k rows times s. The same sums as forward() and backward()
    // with dim 1, without their vector kernels.
    BLOOM_ALWAYS_INLINE Scalar scalar(std::uint64_t key) const noexcept {
        BLOOM_ASSERT(dim_ == 1);
        std::uint32_t p[max_k];
        spec_.positions(key, p);
        const Scalar* w = t_.weights().data();
        Scalar acc = w[p[0]];
        for (std::uint32_t j = 1; j < k_; ++j) acc += w[p[j]];
        if (scale_ != Scalar(1)) acc *= scale_;
        return acc;
    }
    BLOOM_ALWAYS_INLINE void backward_scalar(std::uint64_t key, Scalar g, unsigned worker = 0) {
        BLOOM_ASSERT(dim_ == 1);
        std::uint32_t p[max_k];
        spec_.positions(key, p);
        row_grads<Scalar>& acc = t_.grads(worker);
        for (std::uint32_t j = 0; j < k_; ++j) acc.add_scalar(p[j], scale_ * g);
    }
    void step() { t_.step(); }
    // Data-parallel training: f(row_grads&) on the batch gradient (factorization::visit_grads).
    template <class F>
    void visit_grads(F&& f) { f(t_.grads()); }
    // Concurrent training: see trainable_table::set_workers().
    void set_workers(unsigned n) { t_.set_workers(n); }
    void step_concurrent(unsigned w, std::uint64_t index) { t_.step_concurrent(w, index); }
    void end_concurrent(std::uint64_t steps) { t_.end_concurrent(steps); }

    trainable_table<Scalar, Opt>& table() noexcept { return t_; }
    const trainable_table<Scalar, Opt>& table() const noexcept { return t_; }

private:
    static spec_type check(spec_type spec, combine comb, const embedding_options& o) {
        // check_options wants an id count; a keyed kind has none, so 1 stands in for it.
        detail::check_options("keyed_bloom_embedding", 1, o);
        if (spec.k() > max_k)
            ::bloom::detail::throw_invalid("keyed_bloom_embedding: k = " + std::to_string(spec.k()) +
                                           " exceeds " + std::to_string(max_k) +
                                           " (positions are computed on the stack)");
        if (comb != combine::sum && comb != combine::mean)
            ::bloom::detail::throw_invalid("keyed_bloom_embedding: unknown combine value");
        return spec;
    }

    spec_type spec_;
    std::uint32_t dim_;
    std::uint32_t k_;
    combine comb_;
    Scalar scale_ = 1;
    trainable_table<Scalar, Opt> t_;
};

}  // namespace models
}  // namespace bloom
