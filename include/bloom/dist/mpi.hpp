// Data-parallel training and sharded evaluation on MPI. Not included by <bloom/bloom.hpp>:
// include it and link bloom::mpi (CMake: configure bloom with -DBLOOM_MPI=ON; Debian:
// apt-get install libopenmpi-dev openmpi-bin).
//
//   bloom::dist::mpi_environment env(argc, argv);        // MPI_Init ... MPI_Finalize
//   auto model = ...;                                     // the same seeds on every rank
//   bloom::dist::mpi_replicas<decltype(model)> replicas(model);
//   bloom::models::fit_options opt;                       // batch: examples per rank and step
//   opt.parallel = &replicas;
//   model.fit(users, items, opt);                         // every rank: all the interactions
//   model.prepare_scoring();
//   auto r = bloom::dist::evaluate_ranking(MPI_COMM_WORLD, scorer, n_items, train, test);
//
// Training. Every rank holds a replica of the model (its tables and optimizer state) and all
// the interactions (12 bytes each). Each epoch every rank shuffles them alike; a step takes
// batch * R examples and rank r runs the r-th contiguous slice of them (factorization's
// data_parallel). Then the ranks exchange their row-sparse gradients: every rank sends the rows
// its slice touched, table by table (row ids and values), with one MPI_Allgatherv, and every rank
// merges what it received in the same fixed order: rank 0's rows, then rank 1's..., each rank's
// slice gradient scaled by its share of the batch (local / total examples), a row's terms summed
// in rank order. Every replica then does the same float operations on the same values, and the
// optimizers step alike: the replicas stay bit-identical (tested under mpirun with 2 ranks).
// The model has no dense parameters today; allreduce_dense() sums one in rank order for a model
// that adds some.
//
// What R ranks with batch B promise against one process with batch R * B: the same examples in
// each step, the same negatives (every rank draws the whole step's negatives from the common
// engine and keeps its slice's), the same per-example gradient terms (every replica has the same
// weights before the step). What differs is how each row's terms are grouped: one process adds
// them in example order, R ranks add each rank's partial sum, then the partial sums in rank
// order; and with shares of unequal size the scale local / total is rounded. So:
//   - bit for bit equal when, in every step, the slices are of equal size, R is a power of two
//     (the scale is then exact) and no row gets more than one term from the slices after the
//     first (e.g. batch 1 with full tables and the regression loss); tested with R = 2;
//   - otherwise equal up to the rounding of the regrouped sums (relative ~1e-7 per step in
//     float), which training then carries on; tested with a tolerance.
// Wall time is not the same: the exchange costs O(rows touched * dim) bytes per rank and step
// (docs/scaling.md).
//
// Evaluation: evaluate_ranking() gives each rank the users of every R-th block of
// eval::block_users users, gathers the per-user metrics and sums them in evaluate_ranking's
// block order: the result is that of one process, bit for bit, on every rank.
//
// Errors: a replica whose batch is not finite makes every replica stop (fit throws on each);
// replicas of different shapes are named before any merge; a payload over 2 GiB per rank and
// step (MPI's int counts) is an error naming the bytes.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bloom/error.hpp>
#include <bloom/eval/evaluate.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/row_grads.hpp>

namespace bloom {
namespace dist {

namespace detail {

inline void check_mpi(int rc, const char* what) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    ::bloom::detail::throw_invalid(std::string("bloom::dist: ") + what + " failed: " +
                                   std::string(text, static_cast<std::size_t>(len)));
}
inline int comm_rank(MPI_Comm c) {
    int r = 0;
    check_mpi(MPI_Comm_rank(c, &r), "MPI_Comm_rank");
    return r;
}
inline int comm_size(MPI_Comm c) {
    int s = 0;
    check_mpi(MPI_Comm_size(c, &s), "MPI_Comm_size");
    return s;
}
// MPI's counts and displacements are ints.
inline int to_count(std::size_t bytes, const char* what) {
    if (bytes > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        ::bloom::detail::throw_invalid(std::string("bloom::dist: ") + what + " of " +
                                       std::to_string(bytes) +
                                       " bytes is over MPI's 2 GiB count limit");
    return static_cast<int>(bytes);
}
// Gathers `bytes` bytes from every rank into out (all ranks' blocks, rank order); counts and
// displs receive each rank's byte count and offset. Buffer: resize(bytes) and data().
template <class Buffer>
void allgather_bytes(MPI_Comm comm, const void* mine, std::size_t bytes, Buffer& out,
                     std::vector<int>& counts,
                            std::vector<int>& displs) {
    const int n = comm_size(comm);
    counts.assign(static_cast<std::size_t>(n), 0);
    displs.assign(static_cast<std::size_t>(n), 0);
    int c = to_count(bytes, "a rank's payload");
    check_mpi(MPI_Allgather(&c, 1, MPI_INT, counts.data(), 1, MPI_INT, comm), "MPI_Allgather");
    std::size_t total = 0;
    for (int q = 0; q < n; ++q) {
        displs[static_cast<std::size_t>(q)] = to_count(total, "the gathered payload");
        total += static_cast<std::size_t>(counts[static_cast<std::size_t>(q)]);
    }
    to_count(total, "the gathered payload");
    out.resize(std::max<std::size_t>(total, 1));
    check_mpi(MPI_Allgatherv(mine, c, MPI_BYTE, out.data(), counts.data(), displs.data(), MPI_BYTE,
                             comm),
              "MPI_Allgatherv");
}

}  // namespace detail

// MPI_Init in the constructor (unless MPI is already initialised), MPI_Finalize in the
// destructor (when this object initialised it).
class mpi_environment {
public:
    mpi_environment(int& argc, char**& argv) {
        int done = 0;
        MPI_Initialized(&done);
        if (done == 0) {
            detail::check_mpi(MPI_Init(&argc, &argv), "MPI_Init");
            owner_ = true;
        }
    }
    mpi_environment(const mpi_environment&) = delete;
    mpi_environment& operator=(const mpi_environment&) = delete;
    ~mpi_environment() {
        if (owner_) MPI_Finalize();
    }
    int rank() const { return detail::comm_rank(MPI_COMM_WORLD); }
    int size() const { return detail::comm_size(MPI_COMM_WORLD); }

private:
    bool owner_ = false;
};

// What the exchanges of a replica cost, summed over the steps since the last reset_stats().
struct exchange_stats {
    std::uint64_t steps = 0;
    std::uint64_t bytes_sent = 0;      // this rank's payloads (header + rows + values), each sent
                                       // once to the collective (the other R - 1 ranks get it)
    std::uint64_t bytes_received = 0;  // the other ranks' payloads
    std::uint64_t rows_sent = 0;       // gradient rows in this rank's payloads
    std::uint64_t rows_received = 0;   // gradient rows in the other ranks' payloads
    std::uint64_t rows_merged = 0;     // distinct rows after the merges (the steps' touched rows)
    double seconds = 0;                // in exchange(): communication and merge
};

// The data_parallel exchanger of a factorization (or any model with scalar_type and
// visit_grads(f)) over an MPI communicator. The model must outlive it.
template <class Model>
class mpi_replicas final : public models::data_parallel {
public:
    using Scalar = typename Model::scalar_type;
    static_assert(std::is_trivially_copyable_v<Scalar>, "bloom::dist: a trivially copyable scalar");

    explicit mpi_replicas(Model& model, MPI_Comm comm = MPI_COMM_WORLD)
        : model_(model), comm_(comm), rank_(detail::comm_rank(comm)), size_(detail::comm_size(comm)) {}

    std::uint32_t rank() const override { return static_cast<std::uint32_t>(rank_); }
    std::uint32_t ranks() const override { return static_cast<std::uint32_t>(size_); }
    MPI_Comm comm() const noexcept { return comm_; }
    const exchange_stats& stats() const noexcept { return stats_; }
    void reset_stats() noexcept { stats_ = exchange_stats{}; }

    bool exchange(std::size_t local, std::size_t total, double& loss, bool finite) override {
        if (size_ == 1) return finite;  // one process: its gradient is the batch's
        const auto t0 = std::chrono::steady_clock::now();
        grads_.clear();
        model_.visit_grads([&](models::row_grads<Scalar>& g) { grads_.push_back(&g); });
        const std::size_t n_tables = grads_.size();

        // The payload: a header, then every table's values (so that they stay aligned), then
        // every table's rows, padded to 8 bytes.
        const std::size_t head = header_words(n_tables) * sizeof(std::uint64_t);
        std::size_t value_bytes = 0, row_count = 0;
        for (const models::row_grads<Scalar>* g : grads_) {
            value_bytes += g->touched() * g->dim() * sizeof(Scalar);
            row_count += g->touched();
        }
        const std::size_t bytes =
            pad8(head + value_bytes + row_count * sizeof(std::uint32_t));
        send_.assign(bytes / sizeof(std::uint64_t), 0);
        auto* base = reinterpret_cast<unsigned char*>(send_.data());
        {
            std::uint64_t* h = send_.data();
            double l = loss;
            std::memcpy(&h[0], &l, sizeof l);
            h[1] = local;
            h[2] = finite ? 1 : 0;
            h[3] = n_tables;
            for (std::size_t t = 0; t < n_tables; ++t) {
                h[4 + 2 * t] = grads_[t]->touched();
                h[5 + 2 * t] = grads_[t]->dim();
            }
        }
        unsigned char* vp = base + head;
        unsigned char* rp = base + head + value_bytes;
        for (const models::row_grads<Scalar>* g : grads_) {
            const std::size_t vb = g->touched() * g->dim() * sizeof(Scalar);
            if (vb != 0) std::memcpy(vp, g->values_data(), vb);
            vp += vb;
            const std::size_t rb = g->touched() * sizeof(std::uint32_t);
            if (rb != 0) std::memcpy(rp, g->rows_data(), rb);
            rp += rb;
        }
        detail::allgather_bytes(comm_, base, bytes, recv_bytes_, counts_, displs_);

        // Every rank reads the same headers: the same checks, the same decisions.
        double sum = 0;
        bool all_finite = true;
        for (int q = 0; q < size_; ++q) {
            const auto got = static_cast<std::size_t>(counts_[static_cast<std::size_t>(q)]);
            if (got < header_words(0) * sizeof(std::uint64_t))
                ::bloom::detail::throw_invalid("bloom::dist::mpi_replicas: rank " +
                                               std::to_string(q) + " sent " + std::to_string(got) +
                                               " bytes, less than a header");
            const std::uint64_t* h = header_of(q);
            if (h[3] != n_tables || got < head)
                ::bloom::detail::throw_invalid(
                    "bloom::dist::mpi_replicas: rank " + std::to_string(q) + " has " +
                    std::to_string(h[3]) + " tables, rank " + std::to_string(rank_) + " has " +
                    std::to_string(n_tables) + ": the replicas are not the same model");
            for (std::size_t t = 0; t < n_tables; ++t)
                if (h[5 + 2 * t] != grads_[t]->dim())
                    ::bloom::detail::throw_invalid(
                        "bloom::dist::mpi_replicas: table " + std::to_string(t) + " has dim " +
                        std::to_string(h[5 + 2 * t]) + " on rank " + std::to_string(q) +
                        " and " + std::to_string(grads_[t]->dim()) + " on rank " +
                        std::to_string(rank_) + ": the replicas are not the same model");
            double l = 0;
            std::memcpy(&l, &h[0], sizeof l);
            sum += l;
            all_finite = all_finite && h[2] == 1;
        }
        loss = sum;
        if (!all_finite) {
            for (models::row_grads<Scalar>* g : grads_) g->clear();
            return false;
        }

        // The merge: table by table, rank by rank, each rank's rows in its first-touch order.
        std::vector<std::size_t>& voff = voff_;
        std::vector<std::size_t>& roff = roff_;
        voff.assign(static_cast<std::size_t>(size_), 0);
        roff.assign(static_cast<std::size_t>(size_), 0);
        for (int q = 0; q < size_; ++q) {
            const std::uint64_t* h = header_of(q);
            std::size_t vb = 0, rows = 0;
            for (std::size_t t = 0; t < n_tables; ++t) {
                vb += h[4 + 2 * t] * h[5 + 2 * t] * sizeof(Scalar);
                rows += h[4 + 2 * t];
            }
            const std::size_t expect = pad8(head + vb + rows * sizeof(std::uint32_t));
            const auto got = static_cast<std::size_t>(counts_[static_cast<std::size_t>(q)]);
            if (got != expect)
                ::bloom::detail::throw_invalid(
                    "bloom::dist::mpi_replicas: rank " + std::to_string(q) + " sent " +
                    std::to_string(got) + " bytes, its header says " + std::to_string(expect) +
                    ": the replicas are not the same model or scalar type");
            voff[static_cast<std::size_t>(q)] = head;
            roff[static_cast<std::size_t>(q)] = head + vb;
        }
        std::uint64_t merged = 0;
        for (std::size_t t = 0; t < n_tables; ++t) {
            models::row_grads<Scalar>& g = *grads_[t];
            const std::size_t d = g.dim();
            g.clear();
            for (int q = 0; q < size_; ++q) {
                const auto qi = static_cast<std::size_t>(q);
                const std::uint64_t* h = header_of(q);
                const std::size_t touched = h[4 + 2 * t];
                const unsigned char* block = recv_bytes_.data() + displs_[qi];
                const auto* vals = reinterpret_cast<const Scalar*>(block + voff[qi]);
                const unsigned char* rows = block + roff[qi];
                const Scalar scale = static_cast<Scalar>(h[1]) / static_cast<Scalar>(total);
                for (std::size_t i = 0; i < touched; ++i) {
                    std::uint32_t r = 0;
                    std::memcpy(&r, rows + i * sizeof r, sizeof r);
                    if (r >= g.rows())
                        ::bloom::detail::throw_range(
                            "bloom::dist::mpi_replicas: rank " + std::to_string(q) + " sent row " +
                            std::to_string(r) + " of table " + std::to_string(t) + " (" +
                            std::to_string(g.rows()) + " rows)");
                    g.add(r, scale, vals + i * d);
                }
                voff[qi] += touched * d * sizeof(Scalar);
                roff[qi] += touched * sizeof(std::uint32_t);
                if (q != rank_) stats_.rows_received += touched;
            }
            merged += g.touched();
        }
        ++stats_.steps;
        stats_.bytes_sent += bytes;
        for (int q = 0; q < size_; ++q)
            if (q != rank_) stats_.bytes_received += static_cast<std::uint64_t>(counts_[static_cast<std::size_t>(q)]);
        stats_.rows_sent += row_count;
        stats_.rows_merged += merged;
        stats_.seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return true;
    }

    // A dense gradient g[0..n): every rank's, summed in rank order, in place (the same result
    // on every rank), for a model with dense parameters. Collective: every rank calls it.
    void allreduce_dense(Scalar* g, std::size_t n) {
        if (size_ == 1 || n == 0) return;
        const std::size_t bytes = n * sizeof(Scalar);
        detail::allgather_bytes(comm_, g, bytes, recv_bytes_, counts_, displs_);
        for (int q = 0; q < size_; ++q)
            if (static_cast<std::size_t>(counts_[static_cast<std::size_t>(q)]) != bytes)
                ::bloom::detail::throw_invalid("bloom::dist::mpi_replicas::allreduce_dense: rank " +
                                               std::to_string(q) + " sent " +
                                               std::to_string(counts_[static_cast<std::size_t>(q)]) +
                                               " bytes, this rank " + std::to_string(bytes));
        std::vector<Scalar> part(n);
        for (int q = 0; q < size_; ++q) {
            std::memcpy(part.data(), recv_bytes_.data() + displs_[static_cast<std::size_t>(q)], bytes);
            for (std::size_t i = 0; i < n; ++i) g[i] = q == 0 ? part[i] : g[i] + part[i];
        }
    }

private:
    static std::size_t header_words(std::size_t tables) noexcept { return 4 + 2 * tables; }
    static std::size_t pad8(std::size_t b) noexcept { return (b + 7) / 8 * 8; }
    const std::uint64_t* header_of(int q) const noexcept {
        return reinterpret_cast<const std::uint64_t*>(recv_bytes_.data() +
                                                      displs_[static_cast<std::size_t>(q)]);
    }

    Model& model_;
    MPI_Comm comm_;
    int rank_, size_;
    exchange_stats stats_;
    std::vector<models::row_grads<Scalar>*> grads_;
    std::vector<std::uint64_t> send_;
    // Received payloads; every block starts at a multiple of 8 bytes of an 8-aligned buffer.
    struct aligned_bytes {
        std::vector<std::uint64_t> words;
        std::size_t n = 0;
        void resize(std::size_t b) {
            words.resize((b + 7) / 8);
            n = b;
        }
        unsigned char* data() noexcept { return reinterpret_cast<unsigned char*>(words.data()); }
        const unsigned char* data() const noexcept {
            return reinterpret_cast<const unsigned char*>(words.data());
        }
    };
    aligned_bytes recv_bytes_;
    std::vector<int> counts_, displs_;
    std::vector<std::size_t> voff_, roff_;
};

// Whether `value` (e.g. a checksum of a replica's model) is the same on every rank of comm.
// Collective.
inline bool same_on_all(MPI_Comm comm, std::uint64_t value) {
    const int n = detail::comm_size(comm);
    std::vector<std::uint64_t> all(static_cast<std::size_t>(n));
    detail::check_mpi(MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm),
                      "MPI_Allgather");
    return std::all_of(all.begin(), all.end(), [&](std::uint64_t v) { return v == value; });
}

// eval::evaluate_ranking over the ranks of comm: rank r scores the users of blocks b with
// b % R == r (blocks of eval::block_users users), the per-user metrics are gathered and summed
// in block order, so every rank returns what one process's evaluate_ranking returns, bit for
// bit (threads: this rank's). Collective. The errors are evaluate_ranking's; a scorer failure
// is rethrown on the rank that had the lowest failing user, and named on the others.
template <class Scalar = float, class Scorer>
eval::ranking_result evaluate_ranking(MPI_Comm comm, Scorer&& scorer, std::size_t n_items,
                                      const eval::user_items& train, const eval::user_items& test,
                                      const eval::ranking_options& opt = {}) {
    const int size = detail::comm_size(comm), rank = detail::comm_rank(comm);
    // The argument errors are the same on every rank: thrown before any collective.
    if (opt.k == 0 || n_items == 0 || size == 1)
        return eval::evaluate_ranking<Scalar>(scorer, n_items, train, test, opt);
    eval::validate(test, n_items, "evaluate_ranking: test items");
    eval::validate(train, n_items, "evaluate_ranking: train items");
    const std::size_t n_users = test.n_users();
    if (!train.offsets.empty() && train.n_users() != n_users)
        return eval::evaluate_ranking<Scalar>(scorer, n_items, train, test, opt);  // throws

    // This rank's users: the others' test lists emptied.
    eval::user_items mine;
    mine.offsets.assign(n_users + 1, 0);
    std::size_t my_users = 0;
    for (std::size_t u = 0; u < n_users; ++u) {
        const bool keep = (u / eval::block_users) % static_cast<std::size_t>(size) ==
                          static_cast<std::size_t>(rank);
        if (keep && test.count(u) > 0) {
            mine.items.insert(mine.items.end(), test.begin(u), test.end(u));
            ++my_users;
        }
        mine.offsets[u + 1] = mine.items.size();
    }
    eval::ranking_options local = opt;
    local.per_user = true;
    eval::ranking_result res;
    std::exception_ptr error;
    if (my_users > 0) {
        try {
            res = eval::evaluate_ranking<Scalar>(scorer, n_items, train, mine, local);
        } catch (...) {
            error = std::current_exception();
        }
    }
    // A failure on any rank stops every rank: each failed rank rethrows its own error, the
    // others name the lowest failed rank.
    int failed = error ? rank : size, lowest = size;
    detail::check_mpi(MPI_Allreduce(&failed, &lowest, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
    if (error) std::rethrow_exception(error);
    if (lowest != size)
        ::bloom::detail::throw_invalid("evaluate_ranking: the evaluation failed on rank " +
                                       std::to_string(lowest) + " (see its error)");

    static_assert(std::is_trivially_copyable_v<eval::user_metrics>,
                  "bloom::dist: user_metrics travel as bytes");
    std::vector<int> counts, displs;
    std::vector<unsigned char> raw;
    detail::allgather_bytes(comm, res.per_user.data(),
                            res.per_user.size() * sizeof(eval::user_metrics), raw, counts, displs);
    std::size_t n_eval = 0;
    for (int c : counts) n_eval += static_cast<std::size_t>(c) / sizeof(eval::user_metrics);
    std::vector<eval::user_metrics> per_user(n_eval);
    if (n_eval != 0) std::memcpy(per_user.data(), raw.data(), n_eval * sizeof(eval::user_metrics));
    if (n_eval == 0)
        ::bloom::detail::throw_invalid("evaluate_ranking: no user has test items (" +
                                       std::to_string(n_users) + " users)");
    std::sort(per_user.begin(), per_user.end(),
              [](const eval::user_metrics& a, const eval::user_metrics& b) { return a.user < b.user; });

    // evaluate_ranking's sums: users in order within a block, blocks in order.
    eval::detail::metric_sums total, block;
    std::size_t cur = per_user.front().user / eval::block_users;
    for (const eval::user_metrics& m : per_user) {
        const std::size_t b = m.user / eval::block_users;
        if (b != cur) {
            total.add(block);
            block = eval::detail::metric_sums{};
            cur = b;
        }
        block.add(m);
    }
    total.add(block);
    eval::ranking_result out;
    out.k = opt.k;
    out.threads = my_users > 0 ? res.threads : 0;
    total.finish(out);
    if (opt.per_user) out.per_user = std::move(per_user);
    return out;
}

}  // namespace dist
}  // namespace bloom
