// Embedding kinds: the policies a model is templated on to say how an id becomes a vector.
//
//   full_embedding          one row per id (the baseline)
//   bloom_embedding         k hashed rows per id, summed or averaged (Serrà & Karatzoglou 2017);
//                           with k = 1 it is the hashing trick
//   hash_embedding          k hashed rows with learned per-id importance weights
//                           (Svenstrup et al. 2017)
//   qr_embedding            quotient-remainder (compositional) embeddings: two small tables,
//                           combined by elementwise multiplication (Shi et al. 2020)
//   freq_bloom_embedding    the most frequent ids get rows of their own; the long tail shares
//                           Bloom rows
//   history_bloom_embedding an id (a user) is the Bloom filter of the items it interacted with,
//                           the paper's input side: the mean of the rows of the filter's set bits
//
// Every kind offers the same interface, so a model does not know which one it has:
//
//   std::uint32_t dim() const;  std::uint32_t ids() const;
//   void forward(std::uint32_t id, Scalar* out) const;     // out[0..dim) = embedding of id
//   const Scalar* view(std::uint32_t id) const;  // the embedding in place if it is one stored
//                                                // row (no copy needed), else nullptr
//   void backward(std::uint32_t id, const Scalar* grad);   // accumulate d loss / d embedding
//   void step();                 // optimizer step on the rows this batch touched, then forget them
//   std::size_t parameters() const;                        // learned scalars
//   std::string describe() const;
//
// For training on several threads (fit_options::threads), a kind also offers
//   void backward(std::uint32_t id, const Scalar* grad, unsigned worker);  // worker's accumulator
//   void set_workers(unsigned n);                 // accumulators for n workers, before they start
//   void step_concurrent(unsigned worker, std::uint64_t index);  // the worker's step, lock-free
//   void end_concurrent(std::uint64_t steps);     // after the workers joined
// (every kind here does; see trainable_table), and for data-parallel training
// (fit_options::parallel, <bloom/dist/mpi.hpp>)
//   template <class F> void visit_grads(F&& f);  // f(row_grads<Scalar>&) on each table's batch
//                                                // gradient, always in the same order
// A kind may also offer
//   bool end_epoch(std::uint32_t epoch);          // between epochs (cce_embedding reclusters)
// which factorization::fit() calls after each epoch when the kind has it.
//
// The id-taking members are the hot path: an id must be below ids(), which only BLOOM_ASSERT
// checks (on in debug builds and with BLOOM_CHECKED, see config.hpp); the models check the ids
// they are given once per call.
//
// Training cost is proportional to the rows a batch touches: each table keeps a row_grads
// accumulator and its optimizer updates those rows only (lazy, row-sparse).
//
// The optimizer type `Opt` must offer `Opt(const typename Opt::config&)`, `begin_step()` and
// `update_row(bloom::matrix<Scalar>& table, std::uint32_t row, const Scalar* grad)`: see
// <bloom/optim/>. Where it also offers `update_rows(table, rows, grads, n)` (bloom's optimizers
// do), a table hands it the whole batch of touched rows in one call.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/error.hpp>
#include <bloom/models/kernels.hpp>
#include <bloom/models/random.hpp>
#include <bloom/models/row_grads.hpp>
#include <bloom/models/run_grads.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace models {

// How the k rows of an id are combined.
enum class combine : std::uint8_t {
    sum,   // Spotlight's BloomEmbedding and the paper: e = sum_j W[h_j(id)]
    mean,  // e = (1/k) sum_j W[h_j(id)]
};

inline const char* to_string(combine c) noexcept { return c == combine::sum ? "sum" : "mean"; }

// Options every kind shares.
struct embedding_options {
    std::uint32_t dim = 32;
    // Standard deviation of the normal initialisation; 0 means 1/dim (Spotlight's
    // ScaledEmbedding). Negative means zeros (used for bias tables).
    double init_std = 0.0;
    std::uint64_t seed = 0;  // initialisation seed (the spec seed is separate)
};

struct bloom_options {
    std::uint64_t rows = 0;  // m: rows of the shared table
    std::uint32_t k = 4;     // hashed rows per id
    combine comb = combine::sum;
    std::uint64_t hash_seed = 0;
    derivation derive = derivation::seeded;
    // Id i is hashed as the key i * key_stride (1: the id itself). Real logs often carry
    // structured keys (multiples of 1000, of a shard count...); a stride reproduces them on dense
    // ids, to see which hash policies keep their spread on such keys. The table size is unchanged.
    std::uint64_t key_stride = 1;
};

namespace detail {

inline double resolve_std(const embedding_options& o) {
    return o.init_std == 0.0 ? 1.0 / static_cast<double>(o.dim) : o.init_std;
}

template <class Scalar>
void init_normal(matrix<Scalar>& w, double std_dev, engine& rng) {
    if (std_dev < 0) {
        w.setZero();
        return;
    }
    Scalar* p = w.data();
    const std::size_t n = static_cast<std::size_t>(w.size());
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<Scalar>(std_dev * standard_normal(rng));
}

inline void check_options(const char* kind, std::uint32_t ids, const embedding_options& o);

// Whether Opt can allocate its state up front, allocate(rows, cols), as bloom::optim's can.
template <class Opt, class = void>
struct has_allocate : std::false_type {};
template <class Opt>
struct has_allocate<Opt, std::void_t<decltype(std::declval<Opt&>().allocate(Eigen::Index{},
                                                                           Eigen::Index{}))>>
    : std::true_type {};

// Whether Opt offers the batched update_rows(table, rows, grads, n) of bloom::optim's optimizers
// (else the tables call update_row once per row).
template <class Opt, class Scalar, class = void>
struct has_update_rows : std::false_type {};
template <class Opt, class Scalar>
struct has_update_rows<
    Opt, Scalar,
    std::void_t<decltype(std::declval<Opt&>().update_rows(
        std::declval<matrix<Scalar>&>(), std::declval<const std::uint32_t*>(),
        std::declval<const Scalar*>(), std::size_t{}))>> : std::true_type {};

// Whether Opt can update rows from several threads at once: update_rows_concurrent(t, table,
// rows, grads, n) and advance_steps(n), as bloom::optim's optimizers can.
template <class Opt, class Scalar, class = void>
struct has_concurrent_update : std::false_type {};
template <class Opt, class Scalar>
struct has_concurrent_update<
    Opt, Scalar,
    std::void_t<decltype(std::declval<Opt&>().update_rows_concurrent(
                    std::uint64_t{}, std::declval<matrix<Scalar>&>(),
                    std::declval<const std::uint32_t*>(), std::declval<const Scalar*>(),
                    std::size_t{})),
                decltype(std::declval<Opt&>().advance_steps(std::uint64_t{})),
                decltype(std::declval<Opt&>().allocate(Eigen::Index{}, Eigen::Index{}))>>
    : std::true_type {};

// Whether Opt updates a range of consecutive rows as one span, update_range(table, first, n,
// grads), as bloom::optim's optimizers do (for run_grads; else a table calls update_row per row).
template <class Opt, class Scalar, class = void>
struct has_update_range : std::false_type {};
template <class Opt, class Scalar>
struct has_update_range<
    Opt, Scalar,
    std::void_t<decltype(std::declval<Opt&>().update_range(
        std::declval<matrix<Scalar>&>(), std::uint32_t{}, std::size_t{},
        std::declval<const Scalar*>()))>> : std::true_type {};

template <class Opt, class Scalar, class = void>
struct has_update_range_concurrent : std::false_type {};
template <class Opt, class Scalar>
struct has_update_range_concurrent<
    Opt, Scalar,
    std::void_t<decltype(std::declval<Opt&>().update_range_concurrent(
        std::uint64_t{}, std::declval<matrix<Scalar>&>(), std::uint32_t{}, std::size_t{},
        std::declval<const Scalar*>()))>> : std::true_type {};

template <class Grads>
struct is_run_grads : std::false_type {};
template <class Scalar>
struct is_run_grads<run_grads<Scalar>> : std::true_type {};

}  // namespace detail

// How a hashed kind finds an id's rows: the spec these options describe (4-byte integer keys).
// The spec hashes keys: id i is the key i * b.key_stride, so its d is the largest key plus one.
template <class Hash>
basic_spec<Hash> make_spec(std::uint32_t n, const bloom_options& b) {
    if (b.key_stride == 0) ::bloom::detail::throw_invalid("bloom_options: key_stride must be at least 1");
    const std::uint64_t last = n == 0 ? 0 : static_cast<std::uint64_t>(n - 1);
    if (b.key_stride > 1 && last > 0xFFFFFFFFULL / b.key_stride)
        ::bloom::detail::throw_invalid("bloom_options: key_stride " + std::to_string(b.key_stride) +
                                       " takes the keys of " + std::to_string(n) +
                                       " ids beyond 32 bits");
    spec_config c;
    c.items = n == 0 ? 0 : last * b.key_stride + 1;
    c.m = b.rows;
    c.k = b.k;
    c.seed = b.hash_seed;
    c.derive = b.derive;
    c.key_bytes = 4;
    return basic_spec<Hash>(c);
}

namespace detail {

// The n x k position table of the spec: computed once, read on every lookup.
template <class Hash>
std::vector<std::uint32_t> position_table(std::uint32_t n, const bloom_options& b,
                                          const embedding_options& o, const char* kind) {
    check_options(kind, n, o);
    const basic_spec<Hash> spec = make_spec<Hash>(n, b);
    std::vector<std::uint32_t> pos(static_cast<std::size_t>(n) * b.k);
    for (std::uint32_t id = 0; id < n; ++id)
        spec.positions(static_cast<std::uint32_t>(id * b.key_stride),
                       pos.data() + static_cast<std::size_t>(id) * b.k);
    return pos;
}

// Model files: the spec of a hashed kind (its hash policy is archived by name beside it).
template <class A>
void archive_spec(A& a, bloom_options& b) {
    a.value("rows", b.rows);
    a.value("k", b.k);
    a.value("combine", b.comb);
    a.value("hash_seed", b.hash_seed);
    a.value("derive", b.derive);
    a.value("key_stride", b.key_stride);
    if constexpr (A::loading) {
        a.check(b.comb == combine::sum || b.comb == combine::mean, "unknown combine value");
        a.check(b.derive == derivation::seeded || b.derive == derivation::double_hashing,
                "unknown derivation value");
    }
}

// After loading: the basic shape of a kind, ids >= 1 and dim >= 1.
template <class A>
void check_loaded(A& a, std::uint32_t ids, std::uint32_t dim) {
    a.check(ids > 0, "no ids");
    a.check(dim > 0, "dimension 0");
}

inline void check_options(const char* kind, std::uint32_t ids, const embedding_options& o) {
    if (ids == 0) ::bloom::detail::throw_invalid(std::string(kind) + ": no ids (n = 0)");
    if (o.dim == 0) ::bloom::detail::throw_invalid(std::string(kind) + ": dim must be at least 1");
    if (!std::isfinite(o.init_std))
        ::bloom::detail::throw_invalid(std::string(kind) + ": init_std is not finite");
}

}  // namespace detail

// One learned table with its optimizer and its per-batch row gradients. Grads is the
// accumulator: row_grads (scattered rows, a slot per row), or run_grads for kinds that read
// contiguous runs of rows (ROBE's blocks), whose steps update each merged run as one span.
template <class Scalar, class Opt, class Grads = row_grads<Scalar>>
class trainable_table {
public:
    using opt_config = typename Opt::config;
    using grads_type = Grads;
    // Whether Opt can train this table on several threads (set_workers()).
    static constexpr bool concurrent =
        detail::has_concurrent_update<Opt, Scalar>::value &&
        (!detail::is_run_grads<Grads>::value ||
         detail::has_update_range_concurrent<Opt, Scalar>::value);

    // The optimizer's state is allocated here, with the table, so that training time does not
    // include zeroing (and faulting in) moments of the table's size at the first step.
    trainable_table(std::size_t rows, std::size_t dim, const opt_config& oc)
        : w_(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(dim)),
          opt_(oc),
          grads_(rows, dim) {
        // The values are written by the kind's initialisation, after this advice.
        ::bloom::detail::advise_huge_pages(w_.data(), static_cast<std::size_t>(w_.size()) *
                                                          sizeof(Scalar));
        if constexpr (detail::has_allocate<Opt>::value)
            opt_.allocate(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(dim));
    }

    // Empty, for a model file to fill (archive()).
    explicit trainable_table(restore_tag) : opt_(opt_config{}) {}

    matrix<Scalar>& weights() noexcept { return w_; }
    const matrix<Scalar>& weights() const noexcept { return w_; }
    const Scalar* row(std::uint32_t r) const noexcept { return w_.data() + r * w_.cols(); }
    Grads& grads() noexcept { return grads_; }
    // Worker w's accumulator (0 is grads()); see set_workers().
    Grads& grads(unsigned w) noexcept {
        BLOOM_ASSERT(w <= extra_.size());
        return w == 0 ? grads_ : extra_[w - 1];
    }
    Opt& optimizer() noexcept { return opt_; }
    const Opt& optimizer() const noexcept { return opt_; }

    // Concurrent training (Hogwild): n workers, each with its own gradient accumulator, apply
    // their batches to the shared weights and optimizer state without locks. Allocates the
    // accumulators (row_grads: 4 bytes per row each, plus the touched rows; run_grads: the
    // table's size in gradient scalars each) and the optimizer state now,
    // before the threads start. n = 1 frees the extra accumulators.
    void set_workers(unsigned n) {
        if (n == 0) n = 1;
        if constexpr (!concurrent) {
            if (n > 1)
                ::bloom::detail::throw_invalid(
                    "trainable_table: the optimizer has no update_rows_concurrent() (or "
                    "update_range_concurrent() for run_grads), advance_steps() and allocate(), "
                    "which training on several threads needs");
        }
        extra_.resize(n - 1);
        for (Grads& g : extra_)
            if (g.rows() != static_cast<std::size_t>(w_.rows()) ||
                g.dim() != static_cast<std::size_t>(w_.cols()))
                g.reset_shape(static_cast<std::size_t>(w_.rows()), static_cast<std::size_t>(w_.cols()));
        if constexpr (concurrent) opt_.allocate(w_.rows(), w_.cols());
    }
    unsigned workers() const noexcept { return static_cast<unsigned>(extra_.size() + 1); }
    // Worker w's step: its touched rows take the update of step steps() + index + 1 (the
    // optimizer's step count advances only in end_concurrent()), then are forgotten. Safe to
    // call from several threads at once with different w: it writes only the rows' weights and
    // state, and races on a row shared by two workers are the Hogwild kind (an update may be
    // partly lost), never a crash.
    void step_concurrent(unsigned w, std::uint64_t index) {
        Grads& g = grads(w);
        if (g.empty()) return;
        if constexpr (concurrent) {
            const std::uint64_t t = opt_.steps() + index + 1;
            if constexpr (detail::is_run_grads<Grads>::value)
                g.for_each_run([&](std::uint32_t first, std::size_t n, const Scalar* v) {
                    opt_.update_range_concurrent(t, w_, first, n, v);
                });
            else
                opt_.update_rows_concurrent(t, w_, g.rows_data(), g.values_data(), g.touched());
        }
        g.clear();
    }
    // After a concurrent epoch (all workers joined): the optimizer counts the steps taken.
    void end_concurrent(std::uint64_t steps) {
        if constexpr (concurrent) opt_.advance_steps(steps);
    }

    void step() {
        if (grads_.empty()) return;
        opt_.begin_step();
        if constexpr (detail::is_run_grads<Grads>::value) {
            if constexpr (detail::has_update_range<Opt, Scalar>::value)
                grads_.for_each_run([&](std::uint32_t first, std::size_t n, const Scalar* g) {
                    opt_.update_range(w_, first, n, g);
                });
            else
                grads_.for_each([&](std::uint32_t r, const Scalar* g) { opt_.update_row(w_, r, g); });
        } else if constexpr (detail::has_update_rows<Opt, Scalar>::value)
            opt_.update_rows(w_, grads_.rows_data(), grads_.values_data(), grads_.touched());
        else
            grads_.for_each([&](std::uint32_t r, const Scalar* g) { opt_.update_row(w_, r, g); });
        grads_.clear();
    }

    std::size_t parameters() const noexcept { return static_cast<std::size_t>(w_.size()); }


    // Model files: the weights and the optimizer (its state when the archive keeps it). A
    // pending batch gradient is not saved: save between steps.
    template <class A>
    void archive(A& a) {
        a.matrix("weights", w_);
        a.object("opt", opt_);
        if constexpr (A::loading) {
            if (opt_.allocated())
                a.check(opt_.rows() == w_.rows() && opt_.cols() == w_.cols(),
                        "the optimizer is bound to another shape than the weights'");
            grads_ = Grads(static_cast<std::size_t>(w_.rows()), static_cast<std::size_t>(w_.cols()));
        }
    }
    // After loading: whether the table is rows x dim.
    bool has_shape(std::uint64_t rows, std::uint64_t dim) const noexcept {
        return static_cast<std::uint64_t>(w_.rows()) == rows &&
               static_cast<std::uint64_t>(w_.cols()) == dim;
    }

private:
    matrix<Scalar> w_;
    Opt opt_;
    Grads grads_;
    std::vector<Grads> extra_;  // workers 1.. of concurrent training
};

// --- full table ------------------------------------------------------------------------------

template <class Scalar, class Opt>
class full_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "full";

    full_embedding(std::uint32_t n, const embedding_options& o, const typename Opt::config& oc)
        : n_(n), dim_(o.dim), t_((detail::check_options("full_embedding", n, o), n), o.dim, oc) {
        engine rng(o.seed);
        detail::init_normal(t_.weights(), detail::resolve_std(o), rng);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    std::size_t rows() const noexcept { return n_; }
    std::size_t parameters() const noexcept { return t_.parameters(); }
    std::string describe() const { return "full table, " + std::to_string(n_) + " rows"; }

    explicit full_embedding(restore_tag) : n_(0), dim_(0), t_(restore_tag{}) {}
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.object("table", t_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            a.check(t_.has_shape(n_, dim_), "the table is not ids x dim");
        }
    }

    BLOOM_ALWAYS_INLINE void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        kernels::copy(out, t_.row(id), dim_);
    }
    // The embedding in place when it is a single stored row (no copy), else nullptr.
    BLOOM_ALWAYS_INLINE const Scalar* view(std::uint32_t id) const noexcept {
        BLOOM_ASSERT(id < n_);
        return t_.row(id);
    }
    BLOOM_ALWAYS_INLINE void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        t_.grads(worker).add(id, Scalar(1), g);
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

private:
    std::uint32_t n_;
    std::uint32_t dim_;
    trainable_table<Scalar, Opt> t_;
};

// --- Bloom embedding (and the hashing trick with k = 1) ----------------------------------------

// The hash policy is chosen at construction (the `Hash` tag argument) and only decides the
// position table, so the kind's type does not depend on it: a model compiled once serves every
// policy.
template <class Scalar, class Opt>
class bloom_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "bloom";

    template <class Hash = xxh3>
    bloom_embedding(std::uint32_t n, const bloom_options& b, const embedding_options& o,
                    const typename Opt::config& oc, Hash = Hash{})
        : n_(n),
          dim_(o.dim),
          k_(b.k),
          comb_(b.comb),
          b_(b),
          hash_name_(hash_name<Hash>()),
          pos_(detail::position_table<Hash>(n, b, o, "bloom_embedding")),
          t_(b.rows, o.dim, oc) {
        engine rng(o.seed);
        detail::init_normal(t_.weights(), detail::resolve_std(o), rng);
        scale_ = comb_ == combine::mean ? Scalar(1) / static_cast<Scalar>(k_) : Scalar(1);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    std::uint32_t k() const noexcept { return k_; }
    std::size_t rows() const noexcept { return static_cast<std::size_t>(t_.weights().rows()); }
    std::size_t parameters() const noexcept { return t_.parameters(); }
    const std::uint32_t* positions(std::uint32_t id) const noexcept {
        return pos_.data() + static_cast<std::size_t>(id) * k_;
    }
    std::string describe() const {
        return std::string(k_ == 1 ? "hashing trick" : "bloom") + ", " + std::to_string(rows()) +
               " rows, k=" + std::to_string(k_) + ", " + hash_name_ + ", " + to_string(comb_);
    }
    const bloom_options& spec_options() const noexcept { return b_; }
    const std::string& policy() const noexcept { return hash_name_; }

    explicit bloom_embedding(restore_tag) : n_(0), dim_(0), k_(0), comb_(combine::sum), t_(restore_tag{}) {}
    // Model files: the spec (policy name, seeds, m, k, derivation, combination), the position
    // table and the table. Loading recomputes the positions with the named policy and fails when
    // they differ or the policy is not in the build.
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.value("hash", hash_name_);
        detail::archive_spec(a, b_);
        a.array("positions", pos_);
        a.object("table", t_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            k_ = b_.k;
            comb_ = b_.comb;
            a.check(t_.has_shape(b_.rows, dim_), "the table is not rows x dim");
            a.check(pos_.size() == static_cast<std::size_t>(n_) * k_, "the position table is not ids x k");
            embedding_options o;
            o.dim = dim_;
            a.verify_positions(hash_name_, [&](auto h) {
                return detail::position_table<decltype(h)>(n_, b_, o, "bloom_embedding");
            }, pos_);
            scale_ = comb_ == combine::mean ? Scalar(1) / static_cast<Scalar>(k_) : Scalar(1);
        }
    }

    BLOOM_ALWAYS_INLINE const Scalar* view(std::uint32_t id) const noexcept {
        BLOOM_ASSERT(id < n_);
        return k_ == 1 && comb_ == combine::sum ? t_.row(positions(id)[0]) : nullptr;
    }
    BLOOM_ALWAYS_INLINE void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        kernels::sum_rows(out, t_.weights().data(), positions(id), k_, scale_, dim_);
    }
    BLOOM_ALWAYS_INLINE void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        const std::uint32_t* p = positions(id);
        row_grads<Scalar>& acc = t_.grads(worker);
        for (std::uint32_t j = 0; j < k_; ++j) acc.add(p[j], scale_, g);
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
    std::uint32_t n_;
    std::uint32_t dim_;
    std::uint32_t k_;
    combine comb_;
    Scalar scale_ = 1;
    bloom_options b_;
    std::string hash_name_;
    std::vector<std::uint32_t> pos_;  // n x k: a cache of the spec
    trainable_table<Scalar, Opt> t_;
};

// --- hash embeddings: Bloom rows with learned per-id importance weights -----------------------

template <class Scalar, class Opt>
class hash_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "hash-emb";

    template <class Hash = xxh3>
    hash_embedding(std::uint32_t n, const bloom_options& b, const embedding_options& o,
                   const typename Opt::config& oc, Hash h = Hash{})
        : base_(n, with_sum(b), o, oc, h), p_(n, b.k, oc), g_(b.k), hash_name_(hash_name<Hash>()) {
        // Importance weights start at 1/k (mean) or 1 (sum) plus a little noise, so training
        // starts from the plain Bloom embedding and learns which rows matter per id.
        engine rng(o.seed ^ 0xA5A5A5A5ULL);
        const double w0 = b.comb == combine::mean ? 1.0 / b.k : 1.0;
        Scalar* w = p_.weights().data();
        for (Eigen::Index i = 0; i < p_.weights().size(); ++i)
            w[i] = static_cast<Scalar>(w0 + 0.01 * standard_normal(rng));
    }

    std::uint32_t dim() const noexcept { return base_.dim(); }
    std::uint32_t ids() const noexcept { return base_.ids(); }
    std::size_t rows() const noexcept { return base_.rows(); }
    std::size_t parameters() const noexcept { return base_.parameters() + p_.parameters(); }
    std::string describe() const {
        return "hash embeddings, " + std::to_string(rows()) + " rows, k=" +
               std::to_string(base_.k()) + ", " + hash_name_ + ", learned weights";
    }

    // The Bloom part: its spec, positions and shared rows.
    const bloom_embedding<Scalar, Opt>& bloom_part() const noexcept { return base_; }

    explicit hash_embedding(restore_tag) : base_(restore_tag{}), p_(restore_tag{}) {}
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.object("bloom", base_);
        a.object("importance", p_);
        if constexpr (A::loading) {
            a.check(p_.has_shape(base_.ids(), base_.k()), "the importance weights are not ids x k");
            g_.assign(base_.k(), Scalar(0));
            hash_name_ = base_.policy();
        }
    }

    const Scalar* view(std::uint32_t) const noexcept { return nullptr; }
    void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < ids());
        const std::uint32_t* pos = base_.positions(id);
        const Scalar* w = p_.row(id);
        const std::uint32_t d = dim();
        kernels::set_zero(out, d);
        for (std::uint32_t j = 0; j < base_.k(); ++j)
            kernels::axpy(out, w[j], base_table().row(pos[j]), d);
    }
    void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < ids());
        const std::uint32_t* pos = base_.positions(id);
        const Scalar* w = p_.row(id);
        const std::uint32_t d = dim();
        const std::uint32_t k = base_.k();
        Scalar* gw = g_.data() + static_cast<std::size_t>(worker) * k;  // the worker's scratch
        row_grads<Scalar>& acc = base_.table().grads(worker);
        for (std::uint32_t j = 0; j < k; ++j) {
            gw[j] = kernels::dot(base_table().row(pos[j]), g, d);
            acc.add(pos[j], w[j], g);
        }
        p_.grads(worker).add(id, Scalar(1), gw);
    }
    void step() {
        base_.step();
        p_.step();
    }
    template <class F>
    void visit_grads(F&& f) {
        base_.visit_grads(f);
        f(p_.grads());
    }
    void set_workers(unsigned n) {
        base_.set_workers(n);
        p_.set_workers(n);
        g_.assign(static_cast<std::size_t>(n == 0 ? 1 : n) * base_.k(), Scalar(0));
    }
    void step_concurrent(unsigned w, std::uint64_t index) {
        base_.step_concurrent(w, index);
        p_.step_concurrent(w, index);
    }
    void end_concurrent(std::uint64_t steps) {
        base_.end_concurrent(steps);
        p_.end_concurrent(steps);
    }

private:
    static bloom_options with_sum(bloom_options b) {
        b.comb = combine::sum;  // the weights do the combining
        return b;
    }
    const trainable_table<Scalar, Opt>& base_table() const noexcept { return base_.table(); }

    bloom_embedding<Scalar, Opt> base_;
    trainable_table<Scalar, Opt> p_;  // n x k importance weights
    std::vector<Scalar> g_;
    std::string hash_name_;
};

// --- quotient-remainder embeddings -----------------------------------------------------------

template <class Scalar, class Opt>
class qr_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "qr";

    // `budget_rows` is the total number of rows the two tables may have together. The remainder
    // table gets R rows and the quotient table ceil(n / R), with R chosen so the sum fits the
    // budget (the smallest total, about 2 sqrt(n), when the budget is below it).
    qr_embedding(std::uint32_t n, std::uint64_t budget_rows, const embedding_options& o,
                 const typename Opt::config& oc)
        : n_(n),
          dim_(o.dim),
          r_(choose_r((detail::check_options("qr_embedding", n, o), n), budget_rows)),
          q_((n + r_ - 1) / r_, o.dim, oc),
          rem_(r_, o.dim, oc) {
        // The product of two N(0, s) entries has standard deviation s^2: s = sqrt(std) keeps the
        // embedding's scale equal to a full table's.
        engine rng(o.seed);
        const double s = std::sqrt(detail::resolve_std(o));
        detail::init_normal(q_.weights(), s, rng);
        detail::init_normal(rem_.weights(), s, rng);
    }

    static std::uint32_t choose_r(std::uint32_t n, std::uint64_t budget) {
        std::uint64_t best_r = 1, best_total = std::uint64_t(n) + 1;
        for (std::uint64_t r = 1; r <= n; ++r) {
            const std::uint64_t total = (n + r - 1) / r + r;
            if (total <= budget) {
                // largest quotient table within budget keeps the most capacity
                return static_cast<std::uint32_t>(r);
            }
            if (total < best_total) {
                best_total = total;
                best_r = r;
            }
            if (r * r > 4ULL * n) break;
        }
        return static_cast<std::uint32_t>(best_r);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    std::size_t rows() const noexcept {
        return static_cast<std::size_t>(q_.weights().rows() + rem_.weights().rows());
    }
    std::size_t parameters() const noexcept { return q_.parameters() + rem_.parameters(); }
    std::string describe() const {
        return "quotient-remainder, " + std::to_string(q_.weights().rows()) + " + " +
               std::to_string(r_) + " rows";
    }

    explicit qr_embedding(restore_tag) : n_(0), dim_(0), r_(0), q_(restore_tag{}), rem_(restore_tag{}) {}
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.value("remainders", r_);
        a.object("quotient", q_);
        a.object("remainder", rem_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            a.check(r_ > 0, "0 remainders");
            a.check(q_.has_shape((std::uint64_t{n_} + r_ - 1) / r_, dim_) && rem_.has_shape(r_, dim_),
                    "the two tables do not fit ids, remainders and dim");
        }
    }

    const Scalar* view(std::uint32_t) const noexcept { return nullptr; }
    void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        const Scalar* a = q_.row(id / r_);
        const Scalar* b = rem_.row(id % r_);
        kernels::mul(out, a, b, dim_);
    }
    void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        const Scalar* a = q_.row(id / r_);
        const Scalar* b = rem_.row(id % r_);
        kernels::mul_add(q_.grads(worker).row(id / r_), g, b, dim_);
        kernels::mul_add(rem_.grads(worker).row(id % r_), g, a, dim_);
    }
    void step() {
        q_.step();
        rem_.step();
    }
    template <class F>
    void visit_grads(F&& f) {
        f(q_.grads());
        f(rem_.grads());
    }
    void set_workers(unsigned n) {
        q_.set_workers(n);
        rem_.set_workers(n);
    }
    void step_concurrent(unsigned w, std::uint64_t index) {
        q_.step_concurrent(w, index);
        rem_.step_concurrent(w, index);
    }
    void end_concurrent(std::uint64_t steps) {
        q_.end_concurrent(steps);
        rem_.end_concurrent(steps);
    }

private:
    std::uint32_t n_;
    std::uint32_t dim_;
    std::uint32_t r_;
    trainable_table<Scalar, Opt> q_;
    trainable_table<Scalar, Opt> rem_;
};

// --- frequency-aware Bloom -------------------------------------------------------------------

struct freq_options {
    // Share of the row budget given to frequent ids' own rows (0..1). The rest is the Bloom part.
    double head_share = 0.5;
};

template <class Scalar, class Opt>
class freq_bloom_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "freq-bloom";

    // `counts[id]` is how often id occurs in the training data (the head is chosen from it).
    // b.rows is the total row budget: head rows + shared Bloom rows.
    template <class Hash = xxh3>
    freq_bloom_embedding(std::uint32_t n, const std::vector<std::uint64_t>& counts,
                         const bloom_options& b, const freq_options& f,
                         const embedding_options& o, const typename Opt::config& oc,
                         Hash = Hash{})
        : n_(n),
          dim_(o.dim),
          k_(b.k),
          comb_(b.comb),
          hash_name_(hash_name<Hash>()),
          t_(check(n, counts, b, f, o), o.dim, oc) {
        const std::uint64_t head = head_rows_;
        const std::uint64_t shared = b.rows - head;
        // the head: the `head` most frequent ids (ties: lower id first)
        std::vector<std::uint32_t> order(n);
        std::iota(order.begin(), order.end(), 0U);
        std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t c) {
            return counts[a] > counts[c];
        });
        own_.assign(n, -1);
        for (std::uint64_t i = 0; i < head; ++i)
            own_[order[i]] = static_cast<std::int64_t>(shared + i);
        bloom_options shared_part = b;
        shared_part.rows = shared;
        shared_b_ = shared_part;
        pos_ = detail::position_table<Hash>(n, shared_part, o, "freq_bloom_embedding");
        engine rng(o.seed);
        detail::init_normal(t_.weights(), detail::resolve_std(o), rng);
        scale_ = comb_ == combine::mean ? Scalar(1) / static_cast<Scalar>(k_) : Scalar(1);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    std::size_t rows() const noexcept { return static_cast<std::size_t>(t_.weights().rows()); }
    std::size_t head_rows() const noexcept { return head_rows_; }
    std::size_t parameters() const noexcept { return t_.parameters(); }
    std::string describe() const {
        return "frequency-aware bloom, " + std::to_string(head_rows_) + " own + " +
               std::to_string(rows() - head_rows_) + " shared rows, k=" + std::to_string(k_) +
               ", " + hash_name_;
    }
    // The spec of the shared part (its rows are the shared rows only).
    const bloom_options& spec_options() const noexcept { return shared_b_; }
    const std::string& policy() const noexcept { return hash_name_; }

    explicit freq_bloom_embedding(restore_tag)
        : n_(0), dim_(0), k_(0), comb_(combine::sum), t_(restore_tag{}) {}
    // Model files: the shared part's spec and positions, each id's own row (-1: none) and the
    // table (own rows after the shared ones).
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.value("hash", hash_name_);
        a.value("head_rows", head_rows_);
        detail::archive_spec(a, shared_b_);
        a.array("own_rows", own_);
        a.array("positions", pos_);
        a.object("table", t_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            k_ = shared_b_.k;
            comb_ = shared_b_.comb;
            const std::uint64_t shared = shared_b_.rows;
            a.check(head_rows_ <= n_, "more head rows than ids");
            a.check(t_.has_shape(shared + head_rows_, dim_), "the table is not (shared + head) x dim");
            a.check(own_.size() == n_, "own_rows does not have an entry per id");
            std::vector<char> used(head_rows_, 0);
            std::size_t owned = 0;
            for (const std::int64_t r : own_) {
                if (r < 0) {
                    a.check(r == -1, "an own row below -1");
                    continue;
                }
                const std::uint64_t h = static_cast<std::uint64_t>(r);
                a.check(h >= shared && h < shared + head_rows_ && used[h - shared] == 0,
                        "an own row outside the head rows, or given to two ids");
                used[h - shared] = 1;
                ++owned;
            }
            a.check(owned == head_rows_, "not every head row belongs to an id");
            a.check(pos_.size() == static_cast<std::size_t>(n_) * k_, "the position table is not ids x k");
            embedding_options o;
            o.dim = dim_;
            a.verify_positions(hash_name_, [&](auto h) {
                return detail::position_table<decltype(h)>(n_, shared_b_, o, "freq_bloom_embedding");
            }, pos_);
            scale_ = comb_ == combine::mean ? Scalar(1) / static_cast<Scalar>(k_) : Scalar(1);
        }
    }

    const Scalar* view(std::uint32_t id) const noexcept {
        BLOOM_ASSERT(id < n_);
        return own_[id] >= 0 ? t_.row(static_cast<std::uint32_t>(own_[id])) : nullptr;
    }
    void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        if (own_[id] >= 0) {
            kernels::copy(out, t_.row(static_cast<std::uint32_t>(own_[id])), dim_);
            return;
        }
        kernels::sum_rows(out, t_.weights().data(), pos_.data() + static_cast<std::size_t>(id) * k_,
                          k_, scale_, dim_);
    }
    void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        row_grads<Scalar>& acc = t_.grads(worker);
        if (own_[id] >= 0) {
            acc.add(static_cast<std::uint32_t>(own_[id]), Scalar(1), g);
            return;
        }
        const std::uint32_t* p = pos_.data() + static_cast<std::size_t>(id) * k_;
        for (std::uint32_t j = 0; j < k_; ++j) acc.add(p[j], scale_, g);
    }
    void step() { t_.step(); }
    // Data-parallel training: f(row_grads&) on the batch gradient (factorization::visit_grads).
    template <class F>
    void visit_grads(F&& f) { f(t_.grads()); }
    // Concurrent training: see trainable_table::set_workers().
    void set_workers(unsigned n) { t_.set_workers(n); }
    void step_concurrent(unsigned w, std::uint64_t index) { t_.step_concurrent(w, index); }
    void end_concurrent(std::uint64_t steps) { t_.end_concurrent(steps); }

private:
    std::size_t check(std::uint32_t n, const std::vector<std::uint64_t>& counts,
                      const bloom_options& b, const freq_options& f, const embedding_options& o) {
        detail::check_options("freq_bloom_embedding", n, o);
        if (counts.size() != n)
            ::bloom::detail::throw_invalid("freq_bloom_embedding: counts has " +
                                           std::to_string(counts.size()) + " entries for " +
                                           std::to_string(n) + " ids");
        if (!(f.head_share >= 0.0 && f.head_share < 1.0))
            ::bloom::detail::throw_invalid("freq_bloom_embedding: head_share must be in [0, 1)");
        head_rows_ = static_cast<std::size_t>(std::floor(f.head_share * static_cast<double>(b.rows)));
        head_rows_ = std::min<std::size_t>(head_rows_, n);
        if (b.rows < head_rows_ + b.k)
            ::bloom::detail::throw_invalid(
                "freq_bloom_embedding: " + std::to_string(b.rows) + " rows less " +
                std::to_string(head_rows_) + " head rows (head_share " + std::to_string(f.head_share) +
                ") leave " + std::to_string(b.rows - std::min<std::size_t>(b.rows, head_rows_)) +
                " shared rows, fewer than k = " + std::to_string(b.k));
        return b.rows;
    }

    std::uint32_t n_;
    std::uint32_t dim_;
    std::uint32_t k_;
    combine comb_;
    Scalar scale_ = 1;
    std::string hash_name_;
    std::size_t head_rows_ = 0;
    bloom_options shared_b_;
    std::vector<std::int64_t> own_;
    std::vector<std::uint32_t> pos_;
    trainable_table<Scalar, Opt> t_;
};

// --- history Bloom: an id as the Bloom filter of its history -----------------------------------

// The paper's input side. Serrà & Karatzoglou encode a user by the items the user interacted
// with, not by the user's id: the multi-hot history is hashed by k functions into m bits (a Bloom
// filter), and the network's first layer reads those m bits. Here that layer is the table: the
// embedding of id u is the combination of the rows of the bits u's filter sets,
//
//   e(u) = s(u) * sum over set bits b of W[b],   s(u) = 1 / (set bits) for mean, 1 for sum.
//
// The histories are given once, at construction, as compressed rows (CSR: id u owns
// items[offsets[u] .. offsets[u+1]) ); they must be training interactions only, or the model
// sees the test set. An item that occurs twice sets its bits once (a filter is a set). An id with
// an empty history has the zero vector (a model with biases then ranks by its biases alone).
// The cost of a lookup is the number of set bits (about min(m, k x history length)), not k.
template <class Scalar, class Opt>
class history_bloom_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "bloom-history";

    // n ids; `offsets` has n + 1 entries; every entry of `items` is an item id below `n_items`;
    // b.rows is m (the filter's bits and the table's rows), b.k the hash functions per item.
    template <class Hash = xxh3>
    history_bloom_embedding(std::uint32_t n, const std::vector<std::size_t>& offsets,
                            const std::vector<std::uint32_t>& items, std::uint32_t n_items,
                            const bloom_options& b, const embedding_options& o,
                            const typename Opt::config& oc, Hash = Hash{})
        : n_(n),
          dim_(o.dim),
          k_(b.k),
          comb_(b.comb),
          b_(b),
          n_items_(n_items),
          hash_name_(hash_name<Hash>()),
          t_(check(n, offsets, items, n_items, b, o), o.dim, oc) {
        // The items' k x n_items position table, then each id's filter: the sorted, distinct
        // positions of its items.
        const std::vector<std::uint32_t> item_pos =
            detail::position_table<Hash>(n_items, b, o, "history_bloom_embedding");
        std::vector<std::uint32_t> mark(b.rows, 0);  // mark[p] == u + 1: p is set for id u
        off_.assign(static_cast<std::size_t>(n) + 1, 0);
        for (std::uint32_t u = 0; u < n; ++u) {
            const std::size_t start = pos_.size();
            for (std::size_t t = offsets[u]; t < offsets[u + 1]; ++t) {
                const std::uint32_t* p = item_pos.data() + static_cast<std::size_t>(items[t]) * k_;
                for (std::uint32_t j = 0; j < k_; ++j)
                    if (mark[p[j]] != u + 1) {
                        mark[p[j]] = u + 1;
                        pos_.push_back(p[j]);
                    }
            }
            std::sort(pos_.begin() + static_cast<std::ptrdiff_t>(start), pos_.end());
            off_[u + 1] = pos_.size();
        }
        pos_.shrink_to_fit();
        engine rng(o.seed);
        detail::init_normal(t_.weights(), detail::resolve_std(o), rng);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    std::uint32_t k() const noexcept { return k_; }
    std::size_t rows() const noexcept { return static_cast<std::size_t>(t_.weights().rows()); }
    std::size_t parameters() const noexcept { return t_.parameters(); }
    // The set bits of id's filter, sorted: positions(id)[0 .. set_bits(id)).
    const std::uint32_t* positions(std::uint32_t id) const noexcept { return pos_.data() + off_[id]; }
    std::uint32_t set_bits(std::uint32_t id) const noexcept {
        return static_cast<std::uint32_t>(off_[id + 1] - off_[id]);
    }
    // Mean set bits per id: the rows a lookup reads.
    double mean_set_bits() const noexcept {
        return static_cast<double>(pos_.size()) / static_cast<double>(n_);
    }
    std::string describe() const {
        char fill[32];
        std::snprintf(fill, sizeof fill, "%.1f", mean_set_bits());
        return "bloom history filter, " + std::to_string(rows()) + " rows, k=" +
               std::to_string(k_) + ", " + hash_name_ + ", " + to_string(comb_) + ", " + fill +
               " set bits per id";
    }

    const Scalar* view(std::uint32_t) const noexcept { return nullptr; }
    BLOOM_ALWAYS_INLINE void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        const std::uint32_t c = set_bits(id);
        if (c == 0) {
            kernels::set_zero(out, dim_);
            return;
        }
        kernels::sum_rows(out, t_.weights().data(), positions(id), c, scale(c), dim_);
    }
    BLOOM_ALWAYS_INLINE void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        const std::uint32_t c = set_bits(id);
        const std::uint32_t* p = positions(id);
        const Scalar s = scale(c);
        row_grads<Scalar>& acc = t_.grads(worker);
        for (std::uint32_t j = 0; j < c; ++j) acc.add(p[j], s, g);
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
    const bloom_options& spec_options() const noexcept { return b_; }
    const std::string& policy() const noexcept { return hash_name_; }
    std::uint32_t n_items() const noexcept { return n_items_; }

    explicit history_bloom_embedding(restore_tag)
        : n_(0), dim_(0), k_(0), comb_(combine::sum), t_(restore_tag{}) {}
    // Model files: the items' spec, each id's filter (its set bits) and the table. Loading
    // checks the filters against the table and that the build has the items' hash policy.
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.value("items", n_items_);
        a.value("hash", hash_name_);
        detail::archive_spec(a, b_);
        a.array("filter_offsets", off_);
        a.array("filter_bits", pos_);
        a.object("table", t_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            a.check(n_items_ > 0, "no items");
            k_ = b_.k;
            comb_ = b_.comb;
            a.check(t_.has_shape(b_.rows, dim_), "the table is not rows x dim");
            a.check(off_.size() == static_cast<std::size_t>(n_) + 1 && off_.front() == 0 &&
                        off_.back() == pos_.size(),
                    "the filter offsets do not cover the filter bits");
            for (std::uint32_t u = 0; u < n_; ++u)
                a.check(off_[u] <= off_[u + 1] && off_[u + 1] - off_[u] <= b_.rows,
                        "the filter offsets of id " + std::to_string(u) + " are not a range");
            for (const std::uint32_t p : pos_) a.check(p < b_.rows, "a filter bit beyond the rows");
            // The items' positions are not stored (the filters are), but a model must be able to
            // encode a new history: the policy has to be in the build.
            a.require_policy(hash_name_);
        }
    }

private:
    Scalar scale(std::uint32_t set) const noexcept {
        return comb_ == combine::mean && set > 0 ? Scalar(1) / static_cast<Scalar>(set) : Scalar(1);
    }

    static std::size_t check(std::uint32_t n, const std::vector<std::size_t>& offsets,
                             const std::vector<std::uint32_t>& items, std::uint32_t n_items,
                             const bloom_options& b, const embedding_options& o) {
        const std::string who = "history_bloom_embedding: ";
        detail::check_options("history_bloom_embedding", n, o);
        if (offsets.size() != static_cast<std::size_t>(n) + 1)
            ::bloom::detail::throw_invalid(who + "offsets has " + std::to_string(offsets.size()) +
                                           " entries for " + std::to_string(n) +
                                           " ids (needs ids + 1)");
        if (offsets.front() != 0 || offsets.back() != items.size())
            ::bloom::detail::throw_invalid(who + "offsets must start at 0 and end at items.size() (" +
                                           std::to_string(items.size()) + "), not run from " +
                                           std::to_string(offsets.front()) + " to " +
                                           std::to_string(offsets.back()));
        for (std::uint32_t u = 0; u < n; ++u)
            if (offsets[u + 1] < offsets[u])
                ::bloom::detail::throw_invalid(who + "offsets decrease at id " + std::to_string(u));
        if (n_items == 0) ::bloom::detail::throw_invalid(who + "no items (n_items = 0)");
        for (std::uint32_t u = 0; u < n; ++u)
            for (std::size_t t = offsets[u]; t < offsets[u + 1]; ++t)
                if (items[t] >= n_items)
                    ::bloom::detail::throw_range(who + "id " + std::to_string(u) + "'s history entry " +
                                                 std::to_string(t - offsets[u]) + " is item " +
                                                 std::to_string(items[t]) + ", but there are " +
                                                 std::to_string(n_items) + " items");
        return b.rows;  // m and k are checked by the spec
    }

    std::uint32_t n_;
    std::uint32_t dim_;
    std::uint32_t k_;
    combine comb_;
    bloom_options b_;
    std::uint32_t n_items_ = 0;
    std::string hash_name_;
    std::vector<std::size_t> off_;     // n + 1: id u's set bits are pos_[off_[u] .. off_[u+1])
    std::vector<std::uint32_t> pos_;
    trainable_table<Scalar, Opt> t_;
};

}  // namespace models
}  // namespace bloom
