// TT-Rec: tensor-train embeddings (Yin, Acun, Wu & Liu, "TT-Rec: Tensor Train Compression for
// Deep Learning Recommendation Model Embeddings", MLSys 2021).
//
// The n x dim table is never stored: it is a tensor train of three cores. The id space is padded
// to n1 n2 n3 >= n and the dimension factored exactly, dim = d1 d2 d3. Core t holds, for each
// index i_t < n_t, a slice G_t[i_t] of R_{t-1} x d_t x R_t (R_0 = R_3 = 1, TT rank R_1 = R_2 = R).
// Id i is the mixed-radix triple i = (i1 n2 + i2) n3 + i3, and its vector, indexed by
// c = (j1 d2 + j2) d3 + j3, is the product
//
//   e(i)[j1, j2, j3] = sum_{a, b} G1[i1][j1, a] G2[i2][a, j2, b] G3[i3][b, j3].
//
// Core t is a trainable_table of n_t rows of R_{t-1} d_t R_t scalars, one slice per row: G1[i1]
// as d1 x R and G2[i2] as R x d2 x R, row-major ([j][b] and [a][j][b]), and G3[i3] transposed,
// as d3 x R ([j][b]), so that every inner product runs over contiguous scalars. A batch touches
// at most three rows per id and the row-sparse optimizers update only those slices.
//
// The factorizations (see tt_id_factors and tt_dim_factors): n1 is the smallest integer with
// n1^3 >= n, n2 the smallest with n1 n2^2 >= n, n3 = ceil(n / (n1 n2)), so the padding is small
// and the factors balanced. The dim factors are the triple with the smallest largest factor (ties:
// the largest smallest factor), ordered d2 <= d1 <= d3: the middle core, the only one with R^2
// scalars per slice, gets the smallest factor, and a large d3 lowers the forward's cost. A prime
// dim has only 1 x 1 x dim, which leaves two cores without a share of the dimension: an error
// unless tt_options::dims asks for it.
//
// The rank: tt_options::rank, or (rank 0) the largest R <= tt_rank_limit whose parameters,
// n1 d1 R + n2 d2 R^2 + n3 d3 R, fit tt_options::budget. tt_rank_limit is 512, and lower where
// d2 R would exceed the tt_scratch scalars a lookup keeps on the stack (d2 > 4).
//
// Initialisation (the paper's "sampled Gaussian" cores): every core scalar is drawn from
// N(0, s^2) with s = (sigma / R)^(1/3), so that an entry of the product, a sum of R^2 products
// of three independent draws, has variance R^2 s^6 = sigma^2: the variance of the full table the
// kind replaces (sigma = embedding_options::init_std, default 1/dim).
//
// Cost: a forward is d1 d2 (R^2 + R d3) multiply-adds, a backward d1 d2 (3 R^2 + 2 R d3), and
// neither allocates. When M = G1[i1] G2[i2], d1 d2 R scalars, fits tt_scratch, both are Eigen
// matrix products with M (and the backward's dM) on the stack. Else they work a row of core 1 at
// a time: m = G1[i1][j1, :] G2[i2] is d2 R scalars, kept on the stack with the backward's d2 R
// partial gradients (hence the rank limit), and the long products run over contiguous d2 R
// slices of core 2 (the SIMD kernels of kernels.hpp).
//
// Batch mode (begin_batch / end_batch, which factorization's one-worker training calls around a
// batch): the ids sharing a prefix (i1, i2) share M = G1[i1] G2[i2], so a batch computes M once
// per distinct prefix (d1 d2 R^2) and each distinct id's row as M G3[i3] (d1 d2 R d3), and
// backward only sums each id's gradient until end_batch, which runs the backward once per
// distinct id (2 d1 d2 R d3) and once per distinct prefix (2 d1 d2 R^2). The buffers are sized by
// the largest batch (distinct ids, their rows and gradients, one M per prefix), never by n.
//
// Same interface as the kinds of <bloom/models/embeddings.hpp>.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/kernels.hpp>

namespace bloom {
namespace models {

// The largest TT rank, and the scalars a lookup keeps on the stack (d2 R of them).
inline constexpr std::uint32_t tt_max_rank = 512;
inline constexpr std::uint32_t tt_scratch = 2048;

// The largest rank the dims allow: tt_max_rank, or tt_scratch / d2 when lower.
inline std::uint32_t tt_rank_limit(const std::array<std::uint32_t, 3>& df) noexcept {
    return std::min(tt_max_rank, tt_scratch / std::max<std::uint32_t>(df[1], 1));
}

struct tt_options {
    // The TT rank R; 0: the largest rank whose cores fit `budget`.
    std::uint32_t rank = 0;
    // Learned scalars allowed for the three cores; 0: no limit (then `rank` must be given).
    std::uint64_t budget = 0;
    // The dimension's factors d1, d2, d3 (their product must be dim); all 0: chosen (see above).
    std::array<std::uint32_t, 3> dims = {0, 0, 0};
};

// n1 n2 n3 >= n, balanced (see the top of the file).
inline std::array<std::uint32_t, 3> tt_id_factors(std::uint32_t n) {
    const std::uint64_t nn = n;
    std::uint64_t n1 = 1;
    while (n1 * n1 * n1 < nn) ++n1;
    const std::uint64_t rest = (nn + n1 - 1) / n1;
    std::uint64_t n2 = 1;
    while (n2 * n2 < rest) ++n2;
    const std::uint64_t n3 = (nn + n1 * n2 - 1) / (n1 * n2);
    return {static_cast<std::uint32_t>(n1), static_cast<std::uint32_t>(n2),
            static_cast<std::uint32_t>(std::max<std::uint64_t>(n3, 1))};
}

// dim = d1 d2 d3 with the smallest largest factor (ties: the largest smallest), as d2 <= d1 <= d3.
// A prime dim throws (its only triple is 1 x 1 x dim).
inline std::array<std::uint32_t, 3> tt_dim_factors(std::uint32_t dim) {
    if (dim == 0) ::bloom::detail::throw_invalid("tt_embedding: dim must be at least 1");
    std::array<std::uint32_t, 3> best = {1, 1, dim};  // sorted ascending while searching
    for (std::uint32_t a = 1; static_cast<std::uint64_t>(a) * a * a <= dim; ++a) {
        if (dim % a != 0) continue;
        const std::uint32_t r = dim / a;
        for (std::uint32_t b = a; static_cast<std::uint64_t>(b) * b <= r; ++b) {
            if (r % b != 0) continue;
            const std::uint32_t c = r / b;  // a <= b <= c
            if (c < best[2] || (c == best[2] && a > best[0])) best = {a, b, c};
        }
    }
    if (dim > 1 && best[1] == 1)
        ::bloom::detail::throw_invalid(
            "tt_embedding: dim " + std::to_string(dim) +
            " is prime: its only factorization is 1 x 1 x " + std::to_string(dim) +
            ", which leaves two cores no share of the dimension; choose a composite dim or set "
            "tt_options::dims to {1, 1, " + std::to_string(dim) + "} explicitly");
    return {best[1], best[0], best[2]};
}

// The cores' scalars at rank r.
inline std::uint64_t tt_parameters(const std::array<std::uint32_t, 3>& nf,
                                   const std::array<std::uint32_t, 3>& df, std::uint32_t r) {
    const std::uint64_t R = r;
    return std::uint64_t{nf[0]} * df[0] * R + std::uint64_t{nf[1]} * df[1] * R * R +
           std::uint64_t{nf[2]} * df[2] * R;
}

// The largest rank <= tt_rank_limit(df) whose cores fit `budget`; throws when rank 1 does not fit.
inline std::uint32_t tt_rank_for(const std::array<std::uint32_t, 3>& nf,
                                 const std::array<std::uint32_t, 3>& df, std::uint64_t budget) {
    if (tt_parameters(nf, df, 1) > budget)
        ::bloom::detail::throw_invalid(
            "tt_embedding: a budget of " + std::to_string(budget) + " scalars cannot hold rank 1 (" +
            std::to_string(tt_parameters(nf, df, 1)) + " scalars for ids " + std::to_string(nf[0]) +
            " x " + std::to_string(nf[1]) + " x " + std::to_string(nf[2]) + ", dims " +
            std::to_string(df[0]) + " x " + std::to_string(df[1]) + " x " + std::to_string(df[2]) +
            ")");
    std::uint32_t r = 1;
    const std::uint32_t top = tt_rank_limit(df);
    while (r < top && tt_parameters(nf, df, r + 1) <= budget) ++r;
    return r;
}

namespace detail {

inline std::array<std::uint32_t, 3> tt_dims(std::uint32_t dim, const tt_options& t) {
    const auto& d = t.dims;
    if (d[0] == 0 && d[1] == 0 && d[2] == 0) return tt_dim_factors(dim);
    if (d[0] == 0 || d[1] == 0 || d[2] == 0 ||
        std::uint64_t{d[0]} * d[1] * d[2] != dim)
        ::bloom::detail::throw_invalid("tt_embedding: dims " + std::to_string(d[0]) + " x " +
                                       std::to_string(d[1]) + " x " + std::to_string(d[2]) +
                                       " are not a factorization of dim " + std::to_string(dim));
    return d;
}

inline std::uint32_t tt_rank(const std::array<std::uint32_t, 3>& nf,
                             const std::array<std::uint32_t, 3>& df, const tt_options& t) {
    if (t.rank == 0 && t.budget == 0)
        ::bloom::detail::throw_invalid(
            "tt_embedding: rank 0 and no budget: give a rank (1.." +
            std::to_string(tt_rank_limit(df)) + ") or a parameter budget");
    if (t.rank > tt_rank_limit(df))
        ::bloom::detail::throw_invalid("tt_embedding: rank " + std::to_string(t.rank) +
                                       " is above the limit " + std::to_string(tt_rank_limit(df)) +
                                       " (tt_max_rank " + std::to_string(tt_max_rank) +
                                       ", and d2 x rank at most tt_scratch " +
                                       std::to_string(tt_scratch) + "; d2 = " +
                                       std::to_string(df[1]) + ")");
    if (t.rank == 0) return tt_rank_for(nf, df, t.budget);
    if (t.budget != 0 && tt_parameters(nf, df, t.rank) > t.budget)
        ::bloom::detail::throw_invalid("tt_embedding: rank " + std::to_string(t.rank) + " needs " +
                                       std::to_string(tt_parameters(nf, df, t.rank)) +
                                       " scalars, more than the budget of " +
                                       std::to_string(t.budget));
    return t.rank;
}

}  // namespace detail

template <class Scalar, class Opt>
class tt_embedding {
public:
    using scalar_type = Scalar;
    static constexpr const char* kind_name = "tt";
    using core_table = trainable_table<Scalar, Opt>;

    tt_embedding(std::uint32_t n, const tt_options& t, const embedding_options& o,
                 const typename Opt::config& oc)
        : n_((detail::check_options("tt_embedding", n, o), n)),
          dim_(o.dim),
          nf_(tt_id_factors(n)),
          df_(detail::tt_dims(o.dim, t)),
          rank_(detail::tt_rank(nf_, df_, t)),
          budget_(t.budget),
          cores_{core_table(nf_[0], std::size_t{df_[0]} * rank_, oc),
                 core_table(nf_[1], std::size_t{rank_} * df_[1] * rank_, oc),
                 core_table(nf_[2], std::size_t{rank_} * df_[2], oc)} {
        if (o.init_std < 0)
            ::bloom::detail::throw_invalid(
                "tt_embedding: init_std < 0 asks for zero cores, whose gradients are all zero "
                "(init_std = " + std::to_string(o.init_std) + ")");
        engine rng(o.seed);
        const double s = std::cbrt(detail::resolve_std(o) / static_cast<double>(rank_));
        for (auto& c : cores_) detail::init_normal(c.weights(), s, rng);
    }

    std::uint32_t dim() const noexcept { return dim_; }
    std::uint32_t ids() const noexcept { return n_; }
    std::size_t rows() const noexcept {
        return std::size_t{nf_[0]} + std::size_t{nf_[1]} + std::size_t{nf_[2]};
    }
    std::size_t parameters() const noexcept {
        return cores_[0].parameters() + cores_[1].parameters() + cores_[2].parameters();
    }
    std::uint32_t rank() const noexcept { return rank_; }
    const std::array<std::uint32_t, 3>& id_factors() const noexcept { return nf_; }
    const std::array<std::uint32_t, 3>& dim_factors() const noexcept { return df_; }
    // id's index in each core: (i1, i2, i3) with id = (i1 n2 + i2) n3 + i3.
    std::array<std::uint32_t, 3> indices(std::uint32_t id) const noexcept {
        const std::uint32_t i3 = id % nf_[2], q = id / nf_[2];
        return {q / nf_[1], q % nf_[1], i3};
    }
    std::string describe() const {
        return "tt, rank " + std::to_string(rank_) + ", ids " + std::to_string(nf_[0]) + "x" +
               std::to_string(nf_[1]) + "x" + std::to_string(nf_[2]) + ", dims " +
               std::to_string(df_[0]) + "x" + std::to_string(df_[1]) + "x" + std::to_string(df_[2]);
    }

    explicit tt_embedding(restore_tag)
        : n_(0), dim_(0), cores_{core_table(restore_tag{}), core_table(restore_tag{}), core_table(restore_tag{})} {}
    // Model files: the rank, both factorizations and the three cores.
    template <class A>
    void archive(A& a) {
        a.expect("kind", kind_name);
        a.value("ids", n_);
        a.value("dim", dim_);
        a.value("rank", rank_);
        a.value("budget", budget_);
        std::vector<std::uint32_t> nf(nf_.begin(), nf_.end()), df(df_.begin(), df_.end());
        a.array("id_factors", nf);
        a.array("dim_factors", df);
        for (std::size_t t = 0; t < 3; ++t) a.object("core" + std::to_string(t), cores_[t]);
        if constexpr (A::loading) {
            detail::check_loaded(a, n_, dim_);
            a.check(nf.size() == 3 && df.size() == 3, "factors are not three numbers");
            for (std::size_t t = 0; t < 3; ++t) {
                nf_[t] = nf[t];
                df_[t] = df[t];
            }
            a.check(rank_ >= 1 && rank_ <= tt_rank_limit(df_), "a rank outside 1..tt_rank_limit");
            a.check(nf_ == tt_id_factors(n_), "the id factors are not the ones the ids give");
            a.check(df_[0] > 0 && df_[1] > 0 && df_[2] > 0 &&
                        std::uint64_t{df_[0]} * df_[1] * df_[2] == dim_,
                    "the dim factors do not multiply to dim");
            a.check(cores_[0].has_shape(nf_[0], std::uint64_t{df_[0]} * rank_) &&
                        cores_[1].has_shape(nf_[1], std::uint64_t{rank_} * df_[1] * rank_) &&
                        cores_[2].has_shape(nf_[2], std::uint64_t{rank_} * df_[2]),
                    "a core is not n_t x R_{t-1} d_t R_t");
        }
    }

    // In batch mode (between begin_batch and end_batch) the row of a batch id, else nullptr.
    BLOOM_ALWAYS_INLINE const Scalar* view(std::uint32_t id) const noexcept {
        if (!in_batch_) return nullptr;
        const std::size_t k = batch_slot(id);
        return k == npos ? nullptr : b_rows_.data() + k * dim_;
    }

    // Batch mode (factorization's single-worker training): the embeddings of ids[0..n) (repeats
    // allowed) at once, the prefix product M = G1[i1] G2[i2] computed once for all the ids that
    // share (i1, i2). view(id) returns them until end_batch(); backward(id, g) of a batch id
    // sums g into the id's slot, and end_batch() takes the sums to the cores' gradients.
    void begin_batch(const std::uint32_t* ids, std::size_t n) {
        const std::uint32_t d1 = df_[0], d2 = df_[1], d3 = df_[2], R = rank_, n3 = nf_[2];
        const std::uint32_t rows = d1 * d2;
        const std::size_t mw = std::size_t{rows} * R;  // one prefix product's scalars
        if (b_ids_.capacity() < n) {  // sized by the largest batch, once
            const std::size_t most = std::min<std::size_t>(n, n_);
            const std::size_t prefixes = std::min<std::size_t>(most, std::size_t{nf_[0]} * nf_[1]);
            const std::size_t run = std::min<std::size_t>(most, n3);
            b_ids_.reserve(n);
            b_start_.reserve(prefixes + 1);
            b_touched_.reserve(most);
            b_rows_.reserve(most * dim_);
            b_grads_.reserve(most * dim_);
            b_m_.reserve(prefixes * mw);
            b_c_.reserve(run * d3 * R);
            b_e_.reserve(run * dim_);
        }
        b_ids_.assign(ids, ids + n);
        std::sort(b_ids_.begin(), b_ids_.end());
        b_ids_.erase(std::unique(b_ids_.begin(), b_ids_.end()), b_ids_.end());
        const std::size_t nd = b_ids_.size();
        BLOOM_ASSERT(nd == 0 || b_ids_.back() < n_);
        // Sorted, the ids that share a prefix id / n3 = i1 n2 + i2 are adjacent: prefix p's run
        // is b_ids_[b_start_[p] .. b_start_[p + 1]).
        b_start_.clear();
        for (std::size_t k = 0; k < nd; ++k)
            if (k == 0 || b_ids_[k] / n3 != b_ids_[k - 1] / n3)
                b_start_.push_back(static_cast<std::uint32_t>(k));
        b_start_.push_back(static_cast<std::uint32_t>(nd));
        const std::size_t np = b_start_.size() - 1;
        std::uint32_t run = 0;  // the most ids of one prefix
        for (std::size_t p = 0; p < np; ++p) run = std::max(run, b_start_[p + 1] - b_start_[p]);
        b_rows_.resize(nd * dim_);
        b_grads_.assign(nd * dim_, Scalar(0));
        b_touched_.assign(nd, 0);
        b_m_.resize(np * mw);
        b_dm_.resize(mw);
        b_c_.resize(std::size_t{run} * d3 * R);
        b_e_.resize(std::size_t{run} * dim_);
        for (std::size_t p = 0; p < np; ++p) {
            const std::uint32_t k0 = b_start_[p], cnt = b_start_[p + 1] - k0;
            const auto ix = indices(b_ids_[k0]);
            // M = G1[i1] G2[i2]: d1 x (d2 R), the same scalars as (d1 d2) x R
            Scalar* M = b_m_.data() + p * mw;
            prefix_product(cores_[0].row(ix[0]), cores_[1].row(ix[1]), M);
            // e = M G3[i3]: (d1 d2) x d3 (core 3's slice C = G3[i3]^T is d3 x R)
            if (cnt == 1) {
                rmap(b_rows_.data() + std::size_t{k0} * dim_, rows, d3).noalias() =
                    crmap(M, rows, R) * crmap(cores_[2].row(b_ids_[k0] % n3), d3, R).transpose();
                continue;
            }
            // Several ids: one product M [C_1; ...; C_cnt]^T, then each id's d3 columns.
            const std::uint32_t cw = cnt * d3;
            gather_core3(k0, cnt);
            rmap(b_e_.data(), rows, cw).noalias() = crmap(M, rows, R) * crmap(b_c_.data(), cw, R).transpose();
            for (std::uint32_t kk = 0; kk < cnt; ++kk) {
                Scalar* out = b_rows_.data() + std::size_t{k0 + kk} * dim_;
                const Scalar* in = b_e_.data() + std::size_t{kk} * d3;
                for (std::uint32_t r = 0; r < rows; ++r)
                    for (std::uint32_t j3 = 0; j3 < d3; ++j3) *out++ = in[std::size_t{r} * cw + j3];
            }
        }
        in_batch_ = true;
    }

    // The end of batch mode: the cores' gradients of the summed id gradients, added to the
    // cores' row gradients as backward() adds them (ids without a backward() touch no row),
    // for step() and visit_grads(). Afterwards view() is nullptr again.
    void end_batch() {
        if (!in_batch_) return;
        in_batch_ = false;
        const std::uint32_t R = rank_, d1 = df_[0], d2 = df_[1], d3 = df_[2], n3 = nf_[2];
        const std::uint32_t rows = d1 * d2;
        const std::size_t mw = std::size_t{rows} * R;
        const std::size_t np = b_start_.size() - 1;
        Scalar* dM = b_dm_.data();
        for (std::size_t p = 0; p < np; ++p) {
            const Scalar* M = b_m_.data() + p * mw;
            const std::uint32_t k0 = b_start_[p], cnt = b_start_[p + 1] - k0;
            bool any = false;
            for (std::uint32_t k = k0; k < k0 + cnt; ++k) any = any || b_touched_[k] != 0;
            if (!any) continue;
            // The prefix's slots, g^T of each id (zero without a backward), are one matrix
            // Gt = [g_1^T; ...; g_cnt^T] of cnt d3 x (d1 d2). With C = [C_1; ...; C_cnt], the ids'
            // core-3 slices, dM = sum_k g_k C_k = Gt^T C, and id k's dG3 slice, g_k^T M, is
            // rows k d3 .. (k + 1) d3 of Gt M.
            const Scalar* Gt = b_grads_.data() + std::size_t{k0} * dim_;
            if (cnt == 1) {
                const std::uint32_t i3 = b_ids_[k0] % n3;
                rmap(dM, rows, R).noalias() = crmap(Gt, d3, rows).transpose() * crmap(cores_[2].row(i3), d3, R);
                rmap(cores_[2].grads().row(i3), d3, R).noalias() += crmap(Gt, d3, rows) * crmap(M, rows, R);
            } else {
                const std::uint32_t cw = cnt * d3;
                gather_core3(k0, cnt);
                rmap(dM, rows, R).noalias() = crmap(Gt, cw, rows).transpose() * crmap(b_c_.data(), cw, R);
                rmap(b_c_.data(), cw, R).noalias() = crmap(Gt, cw, rows) * crmap(M, rows, R);
                for (std::uint32_t kk = 0; kk < cnt; ++kk)
                    if (b_touched_[k0 + kk])
                        kernels::add(cores_[2].grads().row(b_ids_[k0 + kk] % n3),
                                     b_c_.data() + std::size_t{kk} * d3 * R, d3 * R);
            }
            // dG1[i1] += dM G2[i2]^T;  dG2[i2] += G1[i1]^T dM  (dM as d1 x (d2 R))
            const auto ix = indices(b_ids_[b_start_[p]]);
            prefix_backward(cores_[0].row(ix[0]), cores_[1].row(ix[1]), dM, cores_[0].grads().row(ix[0]),
                            cores_[1].grads().row(ix[1]));
        }
        b_ids_.clear();
        b_start_.clear();
    }

    void forward(std::uint32_t id, Scalar* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        const auto ix = indices(id);
        if (whole_m()) {  // two matrix products, M on the stack
            const std::uint32_t R = rank_, d1 = df_[0], d2 = df_[1], d3 = df_[2];
            Scalar M[tt_scratch];
            prefix_product(cores_[0].row(ix[0]), cores_[1].row(ix[1]), M);
            rmap(out, d1 * d2, d3).noalias() =
                crmap(M, d1 * d2, R) * crmap(cores_[2].row(ix[2]), d3, R).transpose();
            return;
        }
        const Scalar* A = cores_[0].row(ix[0]);  // d1 x R
        const Scalar* B = cores_[1].row(ix[1]);  // R x (d2 R)
        const Scalar* C = cores_[2].row(ix[2]);  // d3 x R (G3[i3] transposed)
        const std::uint32_t R = rank_, d1 = df_[0], d2 = df_[1], d3 = df_[2];
        Scalar m[tt_scratch];
        for (std::uint32_t j1 = 0; j1 < d1; ++j1) {
            left(A + std::size_t{j1} * R, B, m);
            // out[j1, j2, j3] = m[j2, :] . G3[i3][:, j3]
            Scalar* y = out + std::size_t{j1} * d2 * d3;
            for (std::uint32_t j2 = 0; j2 < d2; ++j2)
                for (std::uint32_t j3 = 0; j3 < d3; ++j3)
                    *y++ = kernels::dot(m + std::size_t{j2} * R, C + std::size_t{j3} * R, R);
        }
    }

    void backward(std::uint32_t id, const Scalar* g, unsigned worker = 0) {
        BLOOM_ASSERT(id < n_);
        if (in_batch_ && worker == 0) {
            const std::size_t k = batch_slot(id);
            if (k != npos) {  // summed now, taken to the cores by end_batch()
                // the slot holds g^T, d3 x (d1 d2): see end_batch
                const std::uint32_t rows = df_[0] * df_[1], d3 = df_[2];
                rmap(b_grads_.data() + k * dim_, d3, rows) += crmap(g, rows, d3).transpose();
                b_touched_[k] = 1;
                return;
            }
        }
        const auto ix = indices(id);
        const Scalar* A = cores_[0].row(ix[0]);
        const Scalar* B = cores_[1].row(ix[1]);
        const Scalar* C = cores_[2].row(ix[2]);
        Scalar* gA = cores_[0].grads(worker).row(ix[0]);
        Scalar* gB = cores_[1].grads(worker).row(ix[1]);
        Scalar* gC = cores_[2].grads(worker).row(ix[2]);
        const std::uint32_t R = rank_, d1 = df_[0], d2 = df_[1], d3 = df_[2], w = d2 * R;
        if (whole_m()) {  // five matrix products, as end_batch's for one id
            const std::uint32_t rows = d1 * d2;
            Scalar M[tt_scratch], dM[tt_scratch];
            prefix_product(A, B, M);
            rmap(dM, rows, R).noalias() = crmap(g, rows, d3) * crmap(C, d3, R);
            rmap(gC, d3, R).noalias() += crmap(g, rows, d3).transpose() * crmap(M, rows, R);
            prefix_backward(A, B, dM, gA, gB);
            return;
        }
        Scalar m[tt_scratch], h[tt_scratch];
        for (std::uint32_t j1 = 0; j1 < d1; ++j1) {
            const Scalar* a1 = A + std::size_t{j1} * R;
            left(a1, B, m);
            // h[j2, :] = sum_j3 g[j1, j2, j3] G3[i3][:, j3];  dG3[i3][:, j3] += g[j1, j2, j3] m[j2, :]
            for (std::uint32_t j2 = 0; j2 < d2; ++j2) {
                const Scalar* gj = g + (std::size_t{j1} * d2 + j2) * d3;
                Scalar* hj = h + std::size_t{j2} * R;
                const Scalar* mj = m + std::size_t{j2} * R;
                kernels::scaled_copy(hj, gj[0], C, R);
                kernels::axpy(gC, gj[0], mj, R);
                for (std::uint32_t j3 = 1; j3 < d3; ++j3) {
                    kernels::axpy(hj, gj[j3], C + std::size_t{j3} * R, R);
                    kernels::axpy(gC + std::size_t{j3} * R, gj[j3], mj, R);
                }
            }
            // dG2[i2][a, :] += G1[i1][j1, a] h;  dG1[i1][j1, a] += G2[i2][a, :] . h
            Scalar* ga1 = gA + std::size_t{j1} * R;
            for (std::uint32_t a = 0; a < R; ++a) {
                kernels::axpy(gB + std::size_t{a} * w, a1[a], h, w);
                ga1[a] += kernels::dot(B + std::size_t{a} * w, h, w);
            }
        }
    }

    void step() {
        for (auto& c : cores_) c.step();
    }
    // Data-parallel training: f(row_grads&) on each core's batch gradient, cores 1, 2, 3 in order.
    template <class F>
    void visit_grads(F&& f) {
        for (auto& c : cores_) f(c.grads());
    }
    // Concurrent training: see trainable_table::set_workers().
    void set_workers(unsigned n) {
        for (auto& c : cores_) c.set_workers(n);
    }
    void step_concurrent(unsigned w, std::uint64_t index) {
        for (auto& c : cores_) c.step_concurrent(w, index);
    }
    void end_concurrent(std::uint64_t steps) {
        for (auto& c : cores_) c.end_concurrent(steps);
    }

    // Core t (0, 1, 2): n_t rows of R_{t-1} d_t R_t scalars.
    trainable_table<Scalar, Opt>& table(std::size_t t) noexcept { return cores_[t]; }
    const trainable_table<Scalar, Opt>& table(std::size_t t) const noexcept { return cores_[t]; }

private:
    // m[j2, b] = sum_a a1[a] B[a, j2, b]: row j1 of core 1 times core 2's slice, d2 x R.
    BLOOM_ALWAYS_INLINE void left(const Scalar* a1, const Scalar* B, Scalar* m) const noexcept {
        const std::uint32_t R = rank_, w = df_[1] * R;
        kernels::scaled_copy(m, a1[0], B, w);
        for (std::uint32_t a = 1; a < R; ++a) kernels::axpy(m, a1[a], B + std::size_t{a} * w, w);
    }

    // M = G1[i1] G2[i2], the product a prefix's ids share: d1 x (d2 R), the same scalars as
    // (d1 d2) x R. A and B are the slices G1[i1] (d1 x R) and G2[i2] (R x d2 R).
    void prefix_product(const Scalar* A, const Scalar* B, Scalar* M) const noexcept {
        const std::uint32_t R = rank_, d1 = df_[0], w = df_[1] * R;
        rmap(M, d1, w).noalias() = crmap(A, d1, R) * crmap(B, R, w);
    }
    // The prefix's share of a backward pass, from dM = d loss / d M (d1 x d2 R):
    // dG1[i1] += dM G2[i2]^T into gA, dG2[i2] += G1[i1]^T dM into gB.
    void prefix_backward(const Scalar* A, const Scalar* B, const Scalar* dM, Scalar* gA,
                         Scalar* gB) const noexcept {
        const std::uint32_t R = rank_, d1 = df_[0], w = df_[1] * R;
        rmap(gA, d1, R).noalias() += crmap(dM, d1, w) * crmap(B, R, w).transpose();
        rmap(gB, R, w).noalias() += crmap(A, d1, R).transpose() * crmap(dM, d1, w);
    }
    // Whether M = G1[i1] G2[i2], d1 d2 R scalars, fits the stack's tt_scratch: then the per-id
    // forward and backward are matrix products (Eigen's, faster than the row loops), else they
    // go a row of core 1 at a time.
    bool whole_m() const noexcept { return std::size_t{df_[0]} * df_[1] * rank_ <= tt_scratch; }
    // Core 3's slices of the batch ids k0 .. k0 + cnt, one under the other (cnt d3 x R).
    void gather_core3(std::uint32_t k0, std::uint32_t cnt) noexcept {
        const std::uint32_t s = df_[2] * rank_;
        for (std::uint32_t kk = 0; kk < cnt; ++kk)
            kernels::copy(b_c_.data() + std::size_t{kk} * s, cores_[2].row(b_ids_[k0 + kk] % nf_[2]), s);
    }
    // Batch mode's products: r x c row-major matrices in place.
    using rmat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    static Eigen::Map<rmat> rmap(Scalar* p, std::uint32_t r, std::uint32_t c) noexcept {
        return Eigen::Map<rmat>(p, r, c);
    }
    static Eigen::Map<const rmat> crmap(const Scalar* p, std::uint32_t r, std::uint32_t c) noexcept {
        return Eigen::Map<const rmat>(p, r, c);
    }
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    // The index of id among the batch's distinct ids, or npos.
    BLOOM_ALWAYS_INLINE std::size_t batch_slot(std::uint32_t id) const noexcept {
        const auto it = std::lower_bound(b_ids_.begin(), b_ids_.end(), id);
        return it != b_ids_.end() && *it == id ? static_cast<std::size_t>(it - b_ids_.begin()) : npos;
    }

    std::uint32_t n_;
    std::uint32_t dim_;
    std::array<std::uint32_t, 3> nf_{};
    std::array<std::uint32_t, 3> df_{};
    std::uint32_t rank_ = 0;
    std::uint64_t budget_ = 0;
    std::array<trainable_table<Scalar, Opt>, 3> cores_;
    // Batch mode: the distinct ids (sorted), where each prefix's run of them starts (and their
    // count last), their rows, their summed gradients (transposed) and whether they have one,
    // each prefix's M (d1 d2 R), the backward's dM of one prefix, and one prefix's core-3 slices
    // and rows. Sized by the largest batch, not by n.
    bool in_batch_ = false;
    std::vector<std::uint32_t> b_ids_, b_start_;
    std::vector<std::uint8_t> b_touched_;
    std::vector<Scalar> b_rows_, b_grads_, b_m_, b_dm_, b_c_, b_e_;
};

}  // namespace models
}  // namespace bloom
