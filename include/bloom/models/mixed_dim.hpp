// Mixed-dimension embeddings (Ginart, Naumov, Mudigere, Yang, Zou: "Mixed Dimension Embeddings
// with Application to Memory-Efficient Recommendation Systems", 2019; ISIT 2021).
//
// The ids are sorted by frequency (most frequent first, ties: lower id first) and cut into B
// buckets of equal id counts (the last may be smaller). Bucket b stores its ids in a table E_b of
// n_b x d_b and maps them to the model's dimension d by a projection P_b of d_b x d:
//
//   e(id) = P_b^T E_b[row(id)]
//
// The dimension rule: d_b = max(1, round(d_0 / 2^b)), halving per bucket, with d_0 <= d the
// largest value whose parameters (tables + projections) fit the budget. A bucket with d_b = d has
// no projection (its rows are the embedding, and view() returns them). Both E_b and P_b are
// trainable_tables trained by the same optimizer; P_b is dense per bucket: every step whose batch
// touches the bucket updates all d_b rows of P_b.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <bloom/models/embeddings.hpp>

namespace bloom {
namespace models {

struct mixed_dim_options {
    std::uint64_t budget = 0;   // learned scalars allowed (tables + projections)
    std::uint32_t buckets = 4;  // B
};

template <class Scalar, class Opt>
class mixed_dim_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "mixed-dim";

    mixed_dim_embedding(std::uint32_t n, const std::vector<std::uint64_t>& counts,
                        const mixed_dim_options& m, const embedding_options& o,
                        const typename Opt::config& oc)
        : n_(n), dim_(o.dim) {
        detail::check_options("mixed_dim_embedding", n, o);
        if (counts.size() != n)
            ::bloom::detail::throw_invalid("mixed_dim_embedding: counts has " +
                                           std::to_string(counts.size()) + " entries for " +
                                           std::to_string(n) + " ids");
        if (m.buckets == 0 || m.buckets > 64)
            ::bloom::detail::throw_invalid("mixed_dim_embedding: buckets must be in 1..64, not " +
                                           std::to_string(m.buckets));
        const std::uint32_t nb = std::min<std::uint32_t>(m.buckets, n);
        // bucket sizes: equal id counts
        const std::uint32_t per = (n + nb - 1) / nb;
        std::vector<std::uint32_t> sizes;
        for (std::uint32_t s = 0; s < n; s += per) sizes.push_back(std::min(per, n - s));
        dims_ = choose_dims(sizes, dim_, m.budget);
        std::vector<std::uint32_t> order(n);
        std::iota(order.begin(), order.end(), 0U);
        std::stable_sort(order.begin(), order.end(),
                         [&](std::uint32_t a, std::uint32_t c) { return counts[a] > counts[c]; });
        bucket_.assign(n, 0);
        row_.assign(n, 0);
        for (std::uint32_t i = 0; i < n; ++i) {
            bucket_[order[i]] = i / per;
            row_[order[i]] = i % per;
        }
        engine rng(o.seed);
        const double s = detail::resolve_std(o);
        for (std::size_t b = 0; b < sizes.size(); ++b) {
            tables_.emplace_back(sizes[b], dims_[b], oc);
            detail::init_normal(tables_.back().weights(), s, rng);
            // a projection only where the bucket's dim is below d; its entries N(0, 1/d_b) keep the
            // embedding's scale that of a full table's
            const std::uint32_t pr = dims_[b] == dim_ ? 0 : dims_[b];
            proj_.emplace_back(pr, dim_, oc);
            detail::init_normal(proj_.back().weights(),
                                s < 0 ? s : 1.0 / std::sqrt(static_cast<double>(dims_[b])), rng);
        }
    }

    // d_b for each bucket (see the top of the file); throws when d_b = 1 everywhere does not fit.
    static std::vector<std::uint32_t> choose_dims(const std::vector<std::uint32_t>& sizes,
                                                  std::uint32_t d, std::uint64_t budget) {
        for (std::uint32_t d0 = d; d0 >= 1; --d0) {
            std::vector<std::uint32_t> dims(sizes.size());
            for (std::size_t b = 0; b < sizes.size(); ++b) {
                const double v = std::round(static_cast<double>(d0) / std::ldexp(1.0, static_cast<int>(b)));
                dims[b] = static_cast<std::uint32_t>(std::max(1.0, v));
            }
            if (cost(sizes, dims, d) <= budget) return dims;
        }
        const std::vector<std::uint32_t> ones(sizes.size(), 1);
        ::bloom::detail::throw_invalid(
            "mixed_dim_embedding: a budget of " + std::to_string(budget) +
            " scalars cannot hold dimension 1 in each of the " + std::to_string(sizes.size()) +
            " buckets plus their projections (" + std::to_string(cost(sizes, ones, d)) +
            " scalars)");
        return {};
    }
    static std::uint64_t cost(const std::vector<std::uint32_t>& sizes,
                              const std::vector<std::uint32_t>& dims, std::uint32_t d) {
        std::uint64_t c = 0;
        for (std::size_t b = 0; b < sizes.size(); ++b)
            c += std::uint64_t{sizes[b]} * dims[b] + (dims[b] == d ? 0 : std::uint64_t{dims[b]} * d);
        return c;
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    std::size_t rows() const noexcept {
        std::size_t r = 0;
        for (const auto& t : tables_) r += static_cast<std::size_t>(t.weights().rows());
        return r;
    }
    std::size_t parameters() const noexcept {
        std::size_t p = 0;
        for (std::size_t b = 0; b < tables_.size(); ++b)
            p += tables_[b].parameters() + proj_[b].parameters();
        return p;
    }
    std::size_t buckets() const noexcept { return tables_.size(); }
    // The dimension of id's bucket, and its bucket (0: the most frequent ids).
    std::uint32_t bucket_dim(std::uint32_t id) const noexcept { return dims_[bucket_[id]]; }
    std::uint32_t bucket_of(std::uint32_t id) const noexcept { return bucket_[id]; }
    std::uint32_t row_of(std::uint32_t id) const noexcept { return row_[id]; }
    trainable_table<Scalar, Opt>& table(std::size_t b) noexcept { return tables_[b]; }
    trainable_table<Scalar, Opt>& projection(std::size_t b) noexcept { return proj_[b]; }
    std::string describe() const {
        std::string s = "mixed-dim, " + std::to_string(tables_.size()) + " buckets, dims";
        for (std::size_t b = 0; b < dims_.size(); ++b)
            s += (b ? "/" : " ") + std::to_string(dims_[b]);
        return s;
    }

    explicit mixed_dim_embedding(restore_tag) : n_(0), dim_(0) {}
    // Model files: the bucket dims, each id's bucket and row, and the tables and projections.
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.array("dims", dims_);
        a.array("bucket", bucket_);
        a.array("row", row_);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            a.check(!dims_.empty() && dims_.size() <= 64, "no buckets, or more than 64");
            tables_.clear();
            proj_.clear();
            for (std::size_t b = 0; b < dims_.size(); ++b) {
                tables_.emplace_back(restore_tag{});
                proj_.emplace_back(restore_tag{});
            }
        }
        for (std::size_t b = 0; b < dims_.size(); ++b) {
            a.object("table" + std::to_string(b), tables_[b]);
            a.object("projection" + std::to_string(b), proj_[b]);
        }
        if constexpr (A::loading) {
            a.check(bucket_.size() == n_ && row_.size() == n_, "bucket or row has not an entry per id");
            std::vector<std::uint64_t> sizes(dims_.size(), 0);
            for (std::uint32_t i = 0; i < n_; ++i) {
                a.check(bucket_[i] < dims_.size(), "a bucket beyond the buckets");
                a.check(row_[i] < tables_[bucket_[i]].weights().rows(), "a row beyond its table");
                ++sizes[bucket_[i]];
            }
            for (std::size_t b = 0; b < dims_.size(); ++b) {
                a.check(dims_[b] >= 1 && dims_[b] <= dim_, "a bucket dim outside 1..dim");
                a.check(tables_[b].has_shape(sizes[b], dims_[b]), "a table is not its ids x its dim");
                a.check(proj_[b].has_shape(dims_[b] == dim_ ? 0 : dims_[b], dim_),
                        "a projection is not its dim x dim");
            }
        }
    }

    const Scalar* view(std::uint32_t id) const noexcept {
        BLOOM_ASSERT(id < n_);
        const std::uint32_t b = bucket_[id];
        return dims_[b] == dim_ ? tables_[b].row(row_[id]) : nullptr;
    }
    void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        const std::uint32_t b = bucket_[id];
        const Scalar* e = tables_[b].row(row_[id]);
        if (dims_[b] == dim_) {
            kernels::copy(out, e, dim_);
            return;
        }
        kernels::set_zero(out, dim_);
        for (std::uint32_t j = 0; j < dims_[b]; ++j) kernels::axpy(out, e[j], proj_[b].row(j), dim_);
    }
    void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        const std::uint32_t b = bucket_[id];
        const std::uint32_t r = row_[id];
        if (dims_[b] == dim_) {
            tables_[b].grads(worker).add(r, Scalar(1), g);
            return;
        }
        const Scalar* e = tables_[b].row(r);
        Scalar* ge = tables_[b].grads(worker).row(r);
        row_grads<Scalar>& gp = proj_[b].grads(worker);
        for (std::uint32_t j = 0; j < dims_[b]; ++j) {
            const Scalar* p = proj_[b].row(j);
            Scalar dot = 0;
            for (std::uint32_t c = 0; c < dim_; ++c) dot += p[c] * g[c];
            ge[j] += dot;
            gp.add(j, e[j], g);
        }
    }
    void step() {
        for (std::size_t b = 0; b < tables_.size(); ++b) {
            tables_[b].step();
            proj_[b].step();
        }
    }
    // Data-parallel training: f(row_grads&) on each table's and projection's batch gradient.
    template <class F>
    void visit_grads(F&& f) {
        for (std::size_t b = 0; b < tables_.size(); ++b) {
            f(tables_[b].grads());
            f(proj_[b].grads());
        }
    }
    void set_workers(unsigned n) {
        for (std::size_t b = 0; b < tables_.size(); ++b) {
            tables_[b].set_workers(n);
            proj_[b].set_workers(n);
        }
    }
    void step_concurrent(unsigned w, std::uint64_t index) {
        for (std::size_t b = 0; b < tables_.size(); ++b) {
            tables_[b].step_concurrent(w, index);
            proj_[b].step_concurrent(w, index);
        }
    }
    void end_concurrent(std::uint64_t steps) {
        for (std::size_t b = 0; b < tables_.size(); ++b) {
            tables_[b].end_concurrent(steps);
            proj_[b].end_concurrent(steps);
        }
    }

private:
    std::uint32_t n_;
    std::uint32_t dim_;
    std::vector<std::uint32_t> dims_;
    std::vector<std::uint32_t> bucket_;
    std::vector<std::uint32_t> row_;
    std::vector<trainable_table<Scalar, Opt>> tables_;
    std::vector<trainable_table<Scalar, Opt>> proj_;
};

}  // namespace models
}  // namespace bloom
