// ROBE: Random Offset Block Embedding (Desai, Chou & Shrivastava, MLSys 2022).
//
// One shared array of `size` learned scalars (the budget). An id's dim-vector is cut into blocks
// of `block` scalars (the last one may be partial); block j of id i is read contiguously from the
// array starting at offset h(i, j) mod size, wrapping around the array's end. The array is kept
// as a size x 1 trainable_table, so the row-sparse optimizers update exactly the scalars a batch
// read (per-element Adam is the same math as per-row Adam on a one-column table). Its gradient is
// a run_grads: a block is a contiguous run of scalars, added as one span, and a step merges the
// batch's runs and updates each merged run as one span (update_range), so training costs per
// block and per merged run rather than per scalar.
//
// Same interface as the kinds of <bloom/models/embeddings.hpp>.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/policy.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/run_grads.hpp>

namespace bloom {
namespace models {

struct robe_options {
    std::uint64_t size = 0;   // scalars in the shared array (the parameter budget)
    // Scalars per block; the default (and anything >= dim) is one block of dim per id.
    std::uint32_t block = 0xFFFFFFFFu;
    std::uint64_t hash_seed = 0;
};

namespace detail {

inline void check_robe(std::uint32_t n, const robe_options& r, const embedding_options& o) {
    check_options("robe_embedding", n, o);
    if (r.size == 0) ::bloom::detail::throw_invalid("robe_embedding: size must be at least 1 (size = 0)");
    if (r.block == 0) ::bloom::detail::throw_invalid("robe_embedding: block must be at least 1 (block = 0)");
    if (r.size > 0xFFFFFFFFULL)
        ::bloom::detail::throw_invalid("robe_embedding: size " + std::to_string(r.size) +
                                       " does not fit 32-bit offsets");
}

inline std::uint32_t robe_block(const robe_options& r, std::uint32_t dim) {
    return std::min(r.block, dim);
}

// The n x n_blocks start offsets: block j of id i starts at h((i << 32) | j, seed) mod size.
template <class Hash>
std::vector<std::uint32_t> robe_offsets(std::uint32_t n, const robe_options& r,
                                        const embedding_options& o) {
    check_robe(n, r, o);
    const std::uint32_t b = robe_block(r, o.dim);
    const std::uint32_t nb = (o.dim + b - 1) / b;
    std::vector<std::uint32_t> pos(static_cast<std::size_t>(n) * nb);
    const Hash h{};
    for (std::uint32_t id = 0; id < n; ++id)
        for (std::uint32_t j = 0; j < nb; ++j) {
            const std::uint64_t key = (static_cast<std::uint64_t>(id) << 32) | j;
            pos[static_cast<std::size_t>(id) * nb + j] =
                static_cast<std::uint32_t>(hash_u64(h, key, r.hash_seed) % r.size);
        }
    return pos;
}

}  // namespace detail

template <class Scalar, class Opt>
class robe_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "robe";

    template <class Hash = xxh3>
    robe_embedding(std::uint32_t n, const robe_options& r, const embedding_options& o,
                   const typename Opt::config& oc, Hash = Hash{})
        : n_(n),
          dim_(o.dim),
          r_(r),
          hash_name_(hash_name<Hash>()),
          pos_(detail::robe_offsets<Hash>(n, r, o)),
          t_(r.size, 1, oc) {
        set_shape();
        engine rng(o.seed);
        detail::init_normal(t_.weights(), detail::resolve_std(o), rng);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    std::size_t rows() const noexcept { return static_cast<std::size_t>(t_.weights().rows()); }
    std::size_t parameters() const noexcept { return t_.parameters(); }
    std::uint64_t size() const noexcept { return r_.size; }
    std::uint32_t block() const noexcept { return block_; }
    std::uint32_t blocks() const noexcept { return nb_; }
    // The start offsets of id's blocks (blocks() of them).
    const std::uint32_t* offsets(std::uint32_t id) const noexcept {
        return pos_.data() + static_cast<std::size_t>(id) * nb_;
    }
    std::string describe() const {
        return "robe, " + std::to_string(r_.size) + " scalars, block=" + std::to_string(block_) +
               ", " + hash_name_;
    }
    const robe_options& options() const noexcept { return r_; }
    const std::string& policy() const noexcept { return hash_name_; }

    explicit robe_embedding(restore_tag) : n_(0), dim_(0), t_(restore_tag{}) {}
    // Model files: the options, the policy's name, the offset table and the array. Loading
    // recomputes the offsets with the named policy and fails when they differ.
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.value("hash", hash_name_);
        a.value("size", r_.size);
        a.value("block", r_.block);
        a.value("hash_seed", r_.hash_seed);
        a.array("offsets", pos_);
        a.object("table", t_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            a.check(r_.size > 0 && r_.size <= 0xFFFFFFFFULL, "the array size is 0 or beyond 32 bits");
            a.check(r_.block > 0, "block 0");
            a.check(t_.has_shape(r_.size, 1), "the table is not size x 1");
            set_shape();
            a.check(pos_.size() == static_cast<std::size_t>(n_) * nb_,
                    "the offset table is not ids x blocks");
            embedding_options o;
            o.dim = dim_;
            a.verify_positions(hash_name_, [&](auto h) {
                return detail::robe_offsets<decltype(h)>(n_, r_, o);
            }, pos_);
        }
    }

    BLOOM_ALWAYS_INLINE const Scalar* view(std::uint32_t) const noexcept { return nullptr; }
    void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        const Scalar* w = t_.weights().data();
        const std::uint32_t* p = offsets(id);
        for (std::uint32_t j = 0, c = 0; j < nb_; ++j) {
            const std::uint32_t len = std::min(block_, dim_ - c);
            if (BLOOM_LIKELY(len <= r_.size - p[j]))
                copy_run(out + c, w + p[j], len);
            else
                for_each_piece(p[j], len, [&](std::uint32_t s, std::uint32_t n, std::uint32_t at) {
                    copy_run(out + c + at, w + s, n);
                });
            c += len;
        }
    }
    void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        run_grads<Scalar>& acc = t_.grads(worker);
        const std::uint32_t* p = offsets(id);
        for (std::uint32_t j = 0, c = 0; j < nb_; ++j) {
            const std::uint32_t len = std::min(block_, dim_ - c);
            if (BLOOM_LIKELY(len <= r_.size - p[j]))
                acc.add_run(p[j], len, g + c);
            else
                for_each_piece(p[j], len, [&](std::uint32_t s, std::uint32_t n, std::uint32_t at) {
                    acc.add_run(s, n, g + c + at);
                });
            c += len;
        }
    }
    void step() { t_.step(); }
    // No visit_grads: the array's gradient is a run_grads (contiguous runs), which the
    // data-parallel exchanger (<bloom/dist/mpi.hpp>) does not read yet.
    // Concurrent training: see trainable_table::set_workers().
    void set_workers(unsigned n) { t_.set_workers(n); }
    void step_concurrent(unsigned w, std::uint64_t index) { t_.step_concurrent(w, index); }
    void end_concurrent(std::uint64_t steps) { t_.end_concurrent(steps); }

    using table_type = trainable_table<Scalar, Opt, run_grads<Scalar>>;
    table_type& table() noexcept { return t_; }
    const table_type& table() const noexcept { return t_; }

private:
    // out[0 .. n) = w[0 .. n): short blocks without SIMD set-up.
    static BLOOM_ALWAYS_INLINE void copy_run(Scalar* out, const Scalar* w, std::uint32_t n) noexcept {
        if (n < 8)
            for (std::uint32_t i = 0; i < n; ++i) out[i] = w[i];
        else
            kernels::copy(out, w, n);
    }
    // A block of len scalars from s that crosses the array's end: calls f(start, n, at) for its
    // contiguous pieces in order, array scalars start .. start + n being the block's at .. at + n
    // (more than two pieces when the block is longer than the array).
    template <class F>
    void for_each_piece(std::uint32_t s, std::uint32_t len, F&& f) const {
        const std::uint64_t size = r_.size;
        std::uint32_t done = static_cast<std::uint32_t>(std::min<std::uint64_t>(size - s, len));
        f(s, done, 0u);
        while (done < len) {
            const std::uint32_t piece =
                static_cast<std::uint32_t>(std::min<std::uint64_t>(len - done, size));
            f(0u, piece, done);
            done += piece;
        }
    }

    void set_shape() {
        block_ = detail::robe_block(r_, dim_);
        nb_ = (dim_ + block_ - 1) / block_;
    }

    std::uint32_t n_;
    std::uint32_t dim_;
    std::uint32_t block_ = 1;
    std::uint32_t nb_ = 1;
    robe_options r_;
    std::string hash_name_;
    std::vector<std::uint32_t> pos_;  // n x blocks: the start offsets
    table_type t_;
};

}  // namespace models
}  // namespace bloom
