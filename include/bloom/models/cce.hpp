// CCE: Clustered Compositional Embeddings (Tsang & Ahle, "Clustering the Sketch: Dynamic
// Compression for Embedding Tables", NeurIPS 2023; reference code github.com/thomasahle/cce).
//
// The dim columns are cut into C chunks, chunk j being columns [j dim / C, (j + 1) dim / C) (widths
// differ by at most one when C does not divide dim). Chunk j of an id's vector is the sum of T
// small tables' rows, one per table, each table of r rows x the chunk's width and each indexed by
// its own assignment of the id:
//
//   e(id)[chunk j] = sum over t < T of  W_{t,j}[ a_{t,j}(id) ]
//
// and the chunks are concatenated. That is the reference's `cce` method: T = 2 summed tables,
// C = 4 concatenated chunks (its n_chunks), r = budget / (T x dim). At first every assignment is
// a uniform random row (drawn from an engine seeded by cce_options::seed; the reference draws
// them with torch.randint), so before any clustering CCE is a hashed compositional embedding.
//
// recluster() replaces the hashing of table 0 by a clustering, chunk by chunk:
//   1. the current vectors of every id in the chunk, v(id) (n x width);
//   2. k-means (Lloyd's algorithm, detail::kmeans) with k = r on those vectors, or on a sample of
//      sample_factor x r of them (the reference: 200, after the Faiss manual's advice);
//   3. a_{0,j}(id) = the centroid nearest v(id), for every id; W_{0,j} = the centroids;
//   4. tables t = 1..T-1 get fresh random assignments, and each row is set to the mean of what
//      is left to explain of its ids' vectors, the residual v(id) - centroid - (earlier tables'
//      rows): rows no id is assigned to are zero (for T = 2 this is the reference's
//      "initialise table 1 from the residuals").
// So ids whose vectors are alike share their table-0 row, and the hashed tables keep apart
// what the clustering merged. end_epoch(e) calls it after each epoch e < cluster_epochs (the
// reference's examples/movielens.py clusters after every epoch until 3/4 of the epochs).
//
// Cost of one recluster (per side): k-means++ seeding, k passes over the s fitted vectors (s the
// sample, n at most), then at most kmeans_iterations Lloyd passes (fewer once the centroids
// settle: kmeans_tolerance), each s x r x width multiply-adds per chunk, so about
// (iterations + 1) x s x r x dim in all, plus one pass over all n ids (n x r x dim) and O(n x dim)
// for the residual tables. r grows with n at a fixed ratio, so the cost is quadratic in n.
//
// The optimizer: every row of every table has a new meaning after a recluster, so by default
// each table's optimizer is reset (reset(): moments zeroed, step count 0, when Opt has reset(),
// as bloom::optim's optimizers do); reset_optimizer = false keeps the moments and step count as
// they were (what the reference's dense torch optimizer does).
//
// Same interface as the kinds of <bloom/models/embeddings.hpp>, plus end_epoch(), which
// factorization::fit() calls after each epoch on the kinds that have it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/kernels.hpp>
#include <bloom/models/random.hpp>

namespace bloom {
namespace models {

struct cce_options {
    std::uint64_t rows = 0;        // r: rows of each small table (see cce_rows_for_budget)
    std::uint32_t tables = 2;      // T: summed tables; table 0 is the clustered one
    std::uint32_t chunks = 4;      // C: concatenated column chunks, 1..dim
    std::uint32_t cluster_epochs = 7;       // end_epoch(e) reclusters when e < cluster_epochs
    std::uint32_t kmeans_iterations = 25;   // Lloyd passes at most (stops when nothing moves)
    // Lloyd stops once the centroids' total squared move is at most this x the vectors' mean
    // variance (scikit-learn's tol); 0: only when no label changes or after kmeans_iterations.
    double kmeans_tolerance = 1e-4;
    std::uint32_t sample_factor = 200;      // k-means fits at most this x rows ids; 0: all ids
    bool reset_optimizer = true;   // reset the tables' optimizers after a recluster
    std::uint64_t seed = 0;        // the first assignments and every recluster's draws
};

// The rows r of each small table for a budget of learned scalars (T tables of r x dim); throws
// when the budget cannot hold one row per table.
inline std::uint64_t cce_rows_for_budget(std::uint64_t budget, std::uint32_t dim,
                                         std::uint32_t tables) {
    if (dim == 0 || tables == 0)
        ::bloom::detail::throw_invalid("cce_rows_for_budget: dim and tables must be at least 1 (dim = " +
                                       std::to_string(dim) + ", tables = " + std::to_string(tables) + ")");
    const std::uint64_t per_row = std::uint64_t{tables} * dim;
    if (budget < per_row)
        ::bloom::detail::throw_invalid("cce_embedding: a budget of " + std::to_string(budget) +
                                       " scalars cannot hold one row in each of the " +
                                       std::to_string(tables) + " tables of dim " +
                                       std::to_string(dim) + " (" + std::to_string(per_row) +
                                       " scalars)");
    return budget / per_row;
}

namespace detail {

inline void check_cce(std::uint32_t n, const cce_options& c, const embedding_options& o) {
    check_options("cce_embedding", n, o);
    if (c.rows == 0) ::bloom::detail::throw_invalid("cce_embedding: rows must be at least 1 (rows = 0)");
    if (c.rows > 0xFFFFFFFFULL)
        ::bloom::detail::throw_invalid("cce_embedding: rows " + std::to_string(c.rows) +
                                       " does not fit 32-bit assignments");
    if (c.tables == 0 || c.tables > 64)
        ::bloom::detail::throw_invalid("cce_embedding: tables must be in 1..64 (tables = " +
                                       std::to_string(c.tables) + ")");
    if (c.chunks == 0 || c.chunks > o.dim)
        ::bloom::detail::throw_invalid("cce_embedding: chunks must be in 1..dim (chunks = " +
                                       std::to_string(c.chunks) + ", dim = " + std::to_string(o.dim) + ")");
    if (!(c.kmeans_tolerance >= 0) || !std::isfinite(c.kmeans_tolerance))
        ::bloom::detail::throw_invalid("cce_embedding: kmeans_tolerance must be finite and at least 0 "
                                       "(kmeans_tolerance = " + std::to_string(c.kmeans_tolerance) + ")");
}

// Whether Opt has reset() (bloom::optim's optimizers do).
template <class Opt, class = void>
struct has_reset : std::false_type {};
template <class Opt>
struct has_reset<Opt, std::void_t<decltype(std::declval<Opt&>().reset())>> : std::true_type {};

// label[i] = the row of `cent` nearest row i of x (squared Euclidean; ties: the lower row), for
// the rows of x in [0, n). The distances, less the constant ||x||^2, are ||c||^2 - 2 x.c: by
// blocks of x, one matrix product per block into `dots` (centroids x rows), then the running
// least over the centroids in order, in SIMD lanes across the rows (a centroid replaces the best
// so far only when strictly nearer, so ties keep the lower row). Returns how many labels changed.
template <class Scalar>
std::size_t nearest_centroids(const matrix<Scalar>& x, const matrix<Scalar>& cent,
                              std::vector<std::uint32_t>& label, matrix<Scalar>& dots,
                              std::vector<Scalar>& norms) {
    using arr = Eigen::Array<Scalar, 1, Eigen::Dynamic>;
    const Eigen::Index n = x.rows(), k = cent.rows();
    BLOOM_ASSERT(k < (Eigen::Index{1} << 24));  // labels are carried exactly as Scalar
    norms.resize(static_cast<std::size_t>(k));
    for (Eigen::Index c = 0; c < k; ++c) norms[static_cast<std::size_t>(c)] = cent.row(c).squaredNorm();
    const Eigen::Index block = std::max<Eigen::Index>(1, std::min<Eigen::Index>(1024, (1 << 20) / std::max<Eigen::Index>(k, 1)));
    arr best, cur, at;
    std::size_t changed = 0;
    for (Eigen::Index i0 = 0; i0 < n; i0 += block) {
        const Eigen::Index b = std::min(block, n - i0);
        dots.resize(k, b);
        dots.noalias() = cent * x.middleRows(i0, b).transpose();
        best = norms[0] - Scalar(2) * dots.row(0).array();
        at.setZero(b);
        for (Eigen::Index c = 1; c < k; ++c) {
            cur = norms[static_cast<std::size_t>(c)] - Scalar(2) * dots.row(c).array();
            const auto nearer = cur < best;
            at = nearer.select(arr::Constant(b, static_cast<Scalar>(c)), at);
            best = nearer.select(cur, best);
        }
        for (Eigen::Index i = 0; i < b; ++i) {
            const auto l = static_cast<std::uint32_t>(at[i]);
            std::uint32_t& old = label[static_cast<std::size_t>(i0 + i)];
            changed += old != l;
            old = l;
        }
    }
    return changed;
}

// Lloyd's k-means on the rows of x: k centroids into `cent` (k x x.cols()). Initialisation:
// k-means++ (Arthur & Vassilvitskii 2007: each next centroid a row drawn with probability
// proportional to its squared distance to the nearest centroid so far; a uniform row once every
// row is on a centroid). With k >= the rows of x, every row is a centroid and the rest repeat
// them (empty clusters). Then at most `iterations` rounds of assign-to-nearest and
// move-to-mean, stopping early when no label changes or when the centroids moved, in squared
// Euclidean distance summed over all of them, by at most tolerance x the mean variance of x's
// columns (scikit-learn's KMeans criterion and default, tol = 1e-4; 0 turns it off). An empty
// cluster keeps its centroid. Deterministic for the engine's state. Returns the rounds run.
template <class Scalar>
std::uint32_t kmeans(const matrix<Scalar>& x, std::uint32_t k, std::uint32_t iterations, engine& rng,
                     matrix<Scalar>& cent, double tolerance = 0) {
    const std::size_t n = static_cast<std::size_t>(x.rows());
    const Eigen::Index w = x.cols();
    BLOOM_ASSERT(k >= 1 && n >= 1);
    cent.resize(k, w);
    if (n <= k) {
        for (std::uint32_t c = 0; c < k; ++c) cent.row(c) = x.row(static_cast<Eigen::Index>(c % n));
        return 0;
    }
    {
        // d2[i]: the squared distance of row i to its nearest centroid so far, in Scalar (one
        // SIMD pass over x per centroid); the draw sums them in double.
        using col = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
        col d2 = col::Constant(static_cast<Eigen::Index>(n), std::numeric_limits<Scalar>::infinity());
        col dc(static_cast<Eigen::Index>(n));
        Eigen::ArrayXd bsum;
        const matrix<Scalar> xt = x.transpose();
        std::size_t pick = uniform_below(rng, static_cast<std::uint32_t>(n));
        for (std::uint32_t c = 0;; ++c) {
            cent.row(c) = x.row(static_cast<Eigen::Index>(pick));
            if (c + 1 == k) break;
            // (over xt, x transposed: each column of x one contiguous row, so that the pass
            // runs across rows in SIMD lanes, in the same order of columns as row by row)
            dc = (xt.row(0).transpose().array() - cent(c, 0)).square();
            for (Eigen::Index q = 1; q < w; ++q) dc += (xt.row(q).transpose().array() - cent(c, q)).square();
            d2 = d2.min(dc);
            // The draw: blocks of 64 rows summed (SIMD, in double), the block the target falls
            // in found from their running sum, then the row within it.
            constexpr Eigen::Index span = 64;
            const Eigen::Index nn = static_cast<Eigen::Index>(n), nblocks = (nn + span - 1) / span;
            bsum.resize(nblocks);
            for (Eigen::Index q = 0; q < nblocks; ++q)
                bsum[q] = d2.segment(q * span, std::min(span, nn - q * span)).template cast<double>().sum();
            const double total = bsum.sum();
            if (!(total > 0)) {
                pick = uniform_below(rng, static_cast<std::uint32_t>(n));
                continue;
            }
            const double target = uniform01(rng) * total;
            double run = 0;
            pick = n - 1;
            Eigen::Index q = 0;
            while (q + 1 < nblocks && run + bsum[q] <= target) run += bsum[q++];
            for (Eigen::Index i = q * span; i < nn; ++i) {
                const double di = static_cast<double>(d2[i]);
                run += di;
                if (run > target && di > 0) {
                    pick = static_cast<std::size_t>(i);
                    break;
                }
            }
        }
    }
    // The stopping threshold on the centroids' total squared move.
    double threshold = 0;
    if (tolerance > 0) {
        double var = 0;
        for (Eigen::Index q = 0; q < w; ++q) {
            double s = 0, s2 = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double v = static_cast<double>(x(static_cast<Eigen::Index>(i), q));
                s += v;
                s2 += v * v;
            }
            const double mean = s / static_cast<double>(n);
            var += std::max(0.0, s2 / static_cast<double>(n) - mean * mean);
        }
        threshold = tolerance * var / static_cast<double>(w);
    }
    std::vector<std::uint32_t> label(n, 0xFFFFFFFFu);
    matrix<Scalar> dots;
    std::vector<Scalar> norms;
    std::vector<double> sums(static_cast<std::size_t>(k) * static_cast<std::size_t>(w));
    std::vector<std::uint64_t> counts(k);
    std::uint32_t it = 0;
    while (it < iterations) {
        const std::size_t changed = nearest_centroids(x, cent, label, dots, norms);
        ++it;
        if (changed == 0) break;
        std::fill(sums.begin(), sums.end(), 0.0);
        std::fill(counts.begin(), counts.end(), 0);
        for (std::size_t i = 0; i < n; ++i) {
            double* s = sums.data() + static_cast<std::size_t>(label[i]) * static_cast<std::size_t>(w);
            const Scalar* p = x.data() + static_cast<Eigen::Index>(i) * w;
            for (Eigen::Index c = 0; c < w; ++c) s[c] += static_cast<double>(p[c]);
            ++counts[label[i]];
        }
        double moved = 0;
        for (std::uint32_t c = 0; c < k; ++c) {
            if (counts[c] == 0) continue;
            const double inv = 1.0 / static_cast<double>(counts[c]);
            const double* s = sums.data() + static_cast<std::size_t>(c) * static_cast<std::size_t>(w);
            for (Eigen::Index q = 0; q < w; ++q) {
                const Scalar v = static_cast<Scalar>(s[q] * inv);
                const double dv = static_cast<double>(v) - static_cast<double>(cent(c, q));
                moved += dv * dv;
                cent(c, q) = v;
            }
        }
        if (moved <= threshold) break;
    }
    return it;
}

}  // namespace detail

template <class Scalar, class Opt>
class cce_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "cce";

    cce_embedding(std::uint32_t n, const cce_options& c, const embedding_options& o,
                  const typename Opt::config& oc)
        : n_(n), dim_(o.dim), c_(c) {
        detail::check_cce(n, c, o);
        set_shape();
        const std::uint32_t r = rows_per_table();
        for (std::uint32_t t = 0; t < c_.tables; ++t)
            for (std::uint32_t j = 0; j < c_.chunks; ++j) parts_.emplace_back(r, width(j), oc);
        // The summed embedding has the scale of a full table's: each table std / sqrt(T).
        engine rng(o.seed);
        const double s = detail::resolve_std(o);
        const double st = s < 0 ? s : s / std::sqrt(static_cast<double>(c_.tables));
        for (auto& p : parts_) detail::init_normal(p.weights(), st, rng);
        engine h(c_.seed);
        assign_.resize(static_cast<std::size_t>(n_) * per_id());
        for (std::uint32_t& a : assign_) a = uniform_below(h, r);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    // Rows of all the small tables together (T x C x r).
    std::size_t rows() const noexcept { return parts_.size() * rows_per_table(); }
    std::size_t parameters() const noexcept {
        std::size_t p = 0;
        for (const auto& t : parts_) p += t.parameters();
        return p;
    }
    std::uint32_t rows_per_table() const noexcept { return static_cast<std::uint32_t>(c_.rows); }
    std::uint32_t tables() const noexcept { return c_.tables; }
    std::uint32_t chunks() const noexcept { return c_.chunks; }
    // Chunk j's columns: [chunk_begin(j), chunk_begin(j + 1)).
    std::uint32_t chunk_begin(std::uint32_t j) const noexcept { return begin_[j]; }
    std::uint32_t width(std::uint32_t j) const noexcept { return begin_[j + 1] - begin_[j]; }
    // The row of table t, chunk j that id reads.
    std::uint32_t assignment(std::uint32_t id, std::uint32_t t, std::uint32_t j) const noexcept {
        return assign_[static_cast<std::size_t>(id) * per_id() + t * c_.chunks + j];
    }
    trainable_table<Scalar, Opt>& table(std::uint32_t t, std::uint32_t j) noexcept {
        return parts_[t * c_.chunks + j];
    }
    const trainable_table<Scalar, Opt>& table(std::uint32_t t, std::uint32_t j) const noexcept {
        return parts_[t * c_.chunks + j];
    }
    const cce_options& options() const noexcept { return c_; }
    // Data-parallel training: f(row_grads&) on each table's batch gradient, tables in order
    // (factorization::visit_grads). The reclustering between epochs is seeded by the options'
    // seed and the epoch, so identical replicas recluster identically.
    template <class F>
    void visit_grads(F&& f) {
        for (auto& t : parts_) f(t.grads());
    }
    // Reclusterings done so far.
    std::uint32_t reclusters() const noexcept { return reclusters_; }
    std::string describe() const {
        return "cce, " + std::to_string(c_.tables) + " tables x " + std::to_string(c_.chunks) +
               " chunks of " + std::to_string(c_.rows) + " rows, clustered after epochs < " +
               std::to_string(c_.cluster_epochs);
    }

    explicit cce_embedding(restore_tag) : n_(0), dim_(0) {}
    // Model files: the options, the assignments (learned state: stored, not recomputed) and the
    // tables. Loading checks every assignment against the rows.
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.value("rows", c_.rows);
        a.value("tables", c_.tables);
        a.value("chunks", c_.chunks);
        a.value("cluster_epochs", c_.cluster_epochs);
        a.value("kmeans_iterations", c_.kmeans_iterations);
        // Written when not 0, so that a file from before the tolerance existed loads with 0, the
        // behaviour it was trained with.
        if constexpr (A::loading) {
            c_.kmeans_tolerance = 0;
            if (a.has("kmeans_tolerance")) a.value("kmeans_tolerance", c_.kmeans_tolerance);
        } else if (c_.kmeans_tolerance != 0) {
            a.value("kmeans_tolerance", c_.kmeans_tolerance);
        }
        a.value("sample_factor", c_.sample_factor);
        a.value("reset_optimizer", c_.reset_optimizer);
        a.value("seed", c_.seed);
        a.value("reclusters", reclusters_);
        a.array("assignments", assign_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            a.check(c_.rows >= 1 && c_.rows <= 0xFFFFFFFFULL, "rows 0 or beyond 32 bits");
            a.check(c_.tables >= 1 && c_.tables <= 64, "tables outside 1..64");
            a.check(c_.chunks >= 1 && c_.chunks <= dim_, "chunks outside 1..dim");
            a.check(c_.kmeans_tolerance >= 0 && std::isfinite(c_.kmeans_tolerance),
                    "kmeans_tolerance negative or not finite");
            set_shape();
            parts_.clear();
            for (std::size_t p = 0; p < std::size_t{c_.tables} * c_.chunks; ++p) parts_.emplace_back(restore_tag{});
        }
        for (std::uint32_t t = 0; t < c_.tables; ++t)
            for (std::uint32_t j = 0; j < c_.chunks; ++j)
                a.object("table" + std::to_string(t) + "_" + std::to_string(j), table(t, j));
        if constexpr (A::loading) {
            for (std::uint32_t t = 0; t < c_.tables; ++t)
                for (std::uint32_t j = 0; j < c_.chunks; ++j)
                    a.check(table(t, j).has_shape(c_.rows, width(j)),
                            "table " + std::to_string(t) + " of chunk " + std::to_string(j) +
                                " is not rows x its width");
            a.check(assign_.size() == static_cast<std::size_t>(n_) * per_id(),
                    "the assignments are not ids x tables x chunks");
            for (const std::uint32_t r : assign_) a.check(r < c_.rows, "an assignment beyond the rows");
        }
    }

    const Scalar* view(std::uint32_t id) const noexcept {
        BLOOM_ASSERT(id < n_);
        return c_.tables == 1 && c_.chunks == 1 ? parts_[0].row(assign_[id]) : nullptr;
    }
    void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        const std::uint32_t* a = assign_.data() + static_cast<std::size_t>(id) * per_id();
        for (std::uint32_t j = 0; j < c_.chunks; ++j) {
            Scalar* o = out + begin_[j];
            const std::uint32_t w = width(j);
            kernels::copy(o, parts_[j].row(a[j]), w);
            for (std::uint32_t t = 1; t < c_.tables; ++t)
                kernels::add(o, parts_[t * c_.chunks + j].row(a[t * c_.chunks + j]), w);
        }
    }
    void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        const std::uint32_t* a = assign_.data() + static_cast<std::size_t>(id) * per_id();
        for (std::uint32_t t = 0; t < c_.tables; ++t)
            for (std::uint32_t j = 0; j < c_.chunks; ++j) {
                const std::uint32_t p = t * c_.chunks + j;
                parts_[p].grads(worker).add(a[p], Scalar(1), g + begin_[j]);
            }
    }
    void step() {
        for (auto& p : parts_) p.step();
    }
    // Concurrent training: see trainable_table::set_workers().
    void set_workers(unsigned n) {
        for (auto& p : parts_) p.set_workers(n);
    }
    void step_concurrent(unsigned w, std::uint64_t index) {
        for (auto& p : parts_) p.step_concurrent(w, index);
    }
    void end_concurrent(std::uint64_t steps) {
        for (auto& p : parts_) p.end_concurrent(steps);
    }

    // Called by factorization::fit() after epoch `epoch` (counted from 0 over resumed runs too):
    // reclusters when epoch < cluster_epochs, with an engine seeded from the seed and the epoch
    // (so a resumed run reclusters as the uninterrupted one). Returns whether it did.
    bool end_epoch(std::uint32_t epoch) {
        if (epoch >= c_.cluster_epochs) return false;
        engine rng(c_.seed ^ (0x9E3779B97F4A7C15ULL * (std::uint64_t{epoch} + 1)));
        recluster(rng);
        return true;
    }

    // The clustering step (see the top of the file), with its random draws (the k-means sample and
    // initial centroids, the fresh assignments of tables 1..T-1) from rng. Call between steps:
    // a pending batch gradient is dropped. Throws when a vector is not finite (training diverged).
    void recluster(engine& rng) {
        const std::uint32_t r = rows_per_table();
        const std::size_t P = per_id();
        std::vector<std::uint32_t> sample;  // the ids k-means fits on, when not all
        const std::uint64_t cap = std::uint64_t{c_.sample_factor} * r;
        const bool all = c_.sample_factor == 0 || n_ <= cap;
        matrix<Scalar> v, x, cent, dots;
        std::vector<Scalar> norms;
        std::vector<std::uint32_t> label(n_);
        std::vector<double> sums;
        std::vector<std::uint64_t> counts(r);
        for (std::uint32_t j = 0; j < c_.chunks; ++j) {
            const std::uint32_t w = width(j);
            // 1. the ids' current vectors in this chunk
            v.resize(n_, w);
            for (std::uint32_t id = 0; id < n_; ++id) {
                Scalar* o = v.data() + static_cast<std::size_t>(id) * w;
                const std::uint32_t* a = assign_.data() + static_cast<std::size_t>(id) * P;
                kernels::copy(o, parts_[j].row(a[j]), w);
                for (std::uint32_t t = 1; t < c_.tables; ++t)
                    kernels::add(o, parts_[t * c_.chunks + j].row(a[t * c_.chunks + j]), w);
                for (std::uint32_t q = 0; q < w; ++q)
                    if (!std::isfinite(static_cast<double>(o[q])))
                        ::bloom::detail::throw_invalid(
                            "cce_embedding::recluster: the vector of id " + std::to_string(id) +
                            " is not finite in chunk " + std::to_string(j) +
                            " (training diverged; lower the learning rate)");
            }
            // 2. k-means on all of them or on a sample
            if (all) {
                detail::kmeans(v, r, c_.kmeans_iterations, rng, cent, c_.kmeans_tolerance);
            } else {
                sample.resize(n_);
                for (std::uint32_t i = 0; i < n_; ++i) sample[i] = i;
                x.resize(static_cast<Eigen::Index>(cap), w);
                for (std::uint64_t s = 0; s < cap; ++s) {
                    const std::size_t pick = s + uniform_below(rng, static_cast<std::uint32_t>(n_ - s));
                    std::swap(sample[s], sample[pick]);
                    x.row(static_cast<Eigen::Index>(s)) = v.row(sample[s]);
                }
                detail::kmeans(x, r, c_.kmeans_iterations, rng, cent, c_.kmeans_tolerance);
            }
            // 3. every id to its nearest centroid; table 0 = the centroids
            std::fill(label.begin(), label.end(), 0xFFFFFFFFu);
            detail::nearest_centroids(v, cent, label, dots, norms);
            trainable_table<Scalar, Opt>& t0 = parts_[j];
            t0.weights() = cent;
            for (std::uint32_t id = 0; id < n_; ++id) {
                assign_[static_cast<std::size_t>(id) * P + j] = label[id];
                Scalar* o = v.data() + static_cast<std::size_t>(id) * w;  // v becomes the residual
                const Scalar* c0 = t0.row(label[id]);
                for (std::uint32_t q = 0; q < w; ++q) o[q] -= c0[q];
            }
            // 4. fresh assignments for the other tables, rows = their ids' mean residual
            for (std::uint32_t t = 1; t < c_.tables; ++t) {
                const std::size_t p = t * c_.chunks + j;
                sums.assign(static_cast<std::size_t>(r) * w, 0.0);
                std::fill(counts.begin(), counts.end(), 0);
                for (std::uint32_t id = 0; id < n_; ++id) {
                    const std::uint32_t row = uniform_below(rng, r);
                    assign_[static_cast<std::size_t>(id) * P + p] = row;
                    const Scalar* o = v.data() + static_cast<std::size_t>(id) * w;
                    double* s = sums.data() + static_cast<std::size_t>(row) * w;
                    for (std::uint32_t q = 0; q < w; ++q) s[q] += static_cast<double>(o[q]);
                    ++counts[row];
                }
                matrix<Scalar>& wt = parts_[p].weights();
                for (std::uint32_t row = 0; row < r; ++row)
                    for (std::uint32_t q = 0; q < w; ++q)
                        wt(row, q) = counts[row] == 0
                                         ? Scalar(0)
                                         : static_cast<Scalar>(sums[static_cast<std::size_t>(row) * w + q] /
                                                               static_cast<double>(counts[row]));
                for (std::uint32_t id = 0; id < n_; ++id) {
                    Scalar* o = v.data() + static_cast<std::size_t>(id) * w;
                    const Scalar* rw = parts_[p].row(assign_[static_cast<std::size_t>(id) * P + p]);
                    for (std::uint32_t q = 0; q < w; ++q) o[q] -= rw[q];
                }
            }
        }
        for (auto& p : parts_) {
            for (unsigned w = 0; w < p.workers(); ++w) p.grads(w).clear();
            if constexpr (detail::has_reset<Opt>::value)
                if (c_.reset_optimizer) p.optimizer().reset();
        }
        ++reclusters_;
    }

private:
    std::size_t per_id() const noexcept { return std::size_t{c_.tables} * c_.chunks; }
    void set_shape() {
        begin_.resize(c_.chunks + 1);
        for (std::uint32_t j = 0; j <= c_.chunks; ++j)
            begin_[j] = static_cast<std::uint32_t>(std::uint64_t{j} * dim_ / c_.chunks);
    }

    std::uint32_t n_;
    std::uint32_t dim_;
    cce_options c_;
    std::uint32_t reclusters_ = 0;
    std::vector<std::uint32_t> begin_;   // C + 1 column offsets
    std::vector<std::uint32_t> assign_;  // n x T x C: id's row in table t, chunk j at [t * C + j]
    std::vector<trainable_table<Scalar, Opt>> parts_;  // T x C tables, [t * C + j]
};

}  // namespace models
}  // namespace bloom
