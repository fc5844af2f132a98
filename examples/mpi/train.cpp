// bloom-mpi-train: data-parallel training of the factorization on MPI (<bloom/dist/mpi.hpp>),
// with its throughput and the bytes the ranks exchange per step.
//
//   mpirun -np 2 bloom-mpi-train --data ../shared/data/ml-100k/u.data
//   mpirun -np 2 bloom-mpi-train            # synthetic data of ML-100K's shape
//
// For each method (full tables, Bloom tables at --ratio), it trains twice in one run: first
// rank 0 alone with batch R * B (the others wait), then all R ranks with batch B each, the same
// global batch: the same model up to rounding (dist/mpi.hpp says what is promised). Every rank
// loads the whole file and the same 80/20 split. Printed by rank 0: seconds per epoch, training
// examples per second, the rows a rank's slice touches per step and the rows of the merged
// batch, the bytes a rank sends and receives per step, and the MRR of the sharded evaluation.
#include <bloom/data/loaders.hpp>
#include <bloom/data/split.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/dist/mpi.hpp>
#include <bloom/eval/evaluate.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/optim/adam.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

namespace m = bloom::models;
namespace dist = bloom::dist;
using adam = bloom::optim::adam<float>;

struct settings {
    std::string data;
    std::uint32_t dim = 32, batch = 256, epochs = 5, k = 4;
    double ratio = 0.2, lr = 0.01;
    std::string methods = "full,bloom";
};

struct phase_result {
    int ranks = 1;
    double seconds = 0;  // training, the slowest rank
    double examples_per_s = 0;
    double steps = 0, rows_sent = 0, rows_merged = 0, bytes_sent = 0, bytes_received = 0;
    double exchange_seconds = 0;
    double mrr = 0;
};

template <class Model>
phase_result run(Model model, const bloom::data::train_test& tt, const settings& s,
                 std::uint32_t batch, MPI_Comm comm) {
    dist::mpi_replicas<Model> replicas(model, comm);
    m::fit_options f;
    f.epochs = s.epochs;
    f.batch = batch;
    f.objective = m::loss::bpr;
    f.parallel = &replicas;
    const m::fit_report rep = model.fit(tt.train.users, tt.train.items, f);
    phase_result r;
    r.ranks = dist::detail::comm_size(comm);
    double secs = rep.total_seconds;
    MPI_Allreduce(&rep.total_seconds, &secs, 1, MPI_DOUBLE, MPI_MAX, comm);
    r.seconds = secs;
    r.examples_per_s = static_cast<double>(tt.train.size()) * s.epochs / secs;
    const dist::exchange_stats& st = replicas.stats();
    const double steps = std::max<double>(1, static_cast<double>(st.steps));
    r.steps = static_cast<double>(st.steps) / s.epochs;
    r.rows_sent = static_cast<double>(st.rows_sent) / steps;
    r.rows_merged = static_cast<double>(st.rows_merged) / steps;
    r.bytes_sent = static_cast<double>(st.bytes_sent) / steps;
    r.bytes_received = static_cast<double>(st.bytes_received) / steps;
    r.exchange_seconds = st.seconds / s.epochs;
    model.prepare_scoring();
    const auto train_items = bloom::eval::make_user_items(tt.train.n_users, tt.train.users, tt.train.items);
    const auto test_items = bloom::eval::make_user_items(tt.test.n_users, tt.test.users, tt.test.items);
    bloom::eval::ranking_options ro;
    ro.threads = 1;
    const auto ev = dist::evaluate_ranking(
        comm, [&](std::uint32_t u, float* sc) { model.score_user(u, sc); }, tt.train.n_items,
        train_items, test_items, ro);
    r.mrr = ev.mrr;
    return r;
}

template <class Make>
void compare(const char* method, Make make, const bloom::data::train_test& tt, const settings& s) {
    const int rank = dist::detail::comm_rank(MPI_COMM_WORLD);
    const int size = dist::detail::comm_size(MPI_COMM_WORLD);
    std::vector<phase_result> rows;
    // Rank 0 alone with the global batch; the others wait.
    if (size > 1) {
        if (rank == 0) rows.push_back(run(make(), tt, s, s.batch * static_cast<std::uint32_t>(size), MPI_COMM_SELF));
        MPI_Barrier(MPI_COMM_WORLD);
    }
    rows.push_back(run(make(), tt, s, s.batch, MPI_COMM_WORLD));
    if (rank != 0) return;
    for (const phase_result& r : rows) {
        std::printf("%-6s %5d %6u %9.3f %12.0f %7.0f %9.0f %10.0f %10.1f %10.1f %8.3f %7.4f\n",
                    method, r.ranks, r.ranks == size ? s.batch : s.batch * static_cast<std::uint32_t>(size),
                    r.seconds / s.epochs, r.examples_per_s, r.steps, r.rows_sent, r.rows_merged,
                    r.bytes_sent / 1024.0, r.bytes_received / 1024.0, r.exchange_seconds, r.mrr);
    }
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    dist::mpi_environment env(argc, argv);
    settings s;
    CLI::App app{"Data-parallel factorization on MPI: throughput and bytes exchanged per step"};
    app.add_option("--data", s.data, "MovieLens ratings file (u.data...); default: synthetic data "
                                     "of ML-100K's shape");
    app.add_option("--dim", s.dim, "embedding dimension")->check(CLI::Range(1u, 4096u));
    app.add_option("--batch", s.batch, "examples per rank and step")->check(CLI::Range(1u, 1u << 20));
    app.add_option("--epochs", s.epochs, "epochs")->check(CLI::Range(1u, 1000u));
    app.add_option("--ratio", s.ratio, "Bloom rows per id (m / ids)")->check(CLI::Range(1e-6, 1.0));
    app.add_option("--k", s.k, "Bloom hashes per id")->check(CLI::Range(1u, 64u));
    app.add_option("--lr", s.lr, "Adam learning rate")->check(CLI::PositiveNumber);
    app.add_option("--methods", s.methods, "full, bloom, or both (comma-separated)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return env.rank() == 0 ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 2);
    }
    try {
        bloom::data::interactions data;
        if (s.data.empty()) {
            bloom::data::synthetic_config sc;
            sc.n_users = 943;
            sc.n_items = 1682;
            sc.n_interactions = 100000;
            data = bloom::data::make_synthetic(sc);
        } else {
            data = bloom::data::load_movielens(s.data).data;
        }
        const bloom::data::train_test tt = bloom::data::random_split(data, 0.2, 42);
        adam::config oc;
        oc.lr = s.lr;
        m::embedding_options eo;
        eo.dim = s.dim;
        if (env.rank() == 0) {
            std::printf("bloom-mpi-train: %s, %zu train / %zu test interactions, %u users, %u items, "
                        "dim %u, BPR, Adam lr %g, %u epochs, %d ranks\n",
                        s.data.empty() ? "synthetic (ML-100K shape)" : s.data.c_str(),
                        tt.train.size(), tt.test.size(), data.n_users, data.n_items, s.dim, s.lr,
                        s.epochs, env.size());
            std::printf("%-6s %5s %6s %9s %12s %7s %9s %10s %10s %10s %8s %7s\n", "method", "ranks",
                        "batch", "s/epoch", "examples/s", "steps", "rows/rank", "rows/step",
                        "KiB sent", "KiB recv", "xchg s", "MRR");
        }
        if (s.methods.find("full") != std::string::npos) {
            using full_t = m::full_embedding<float, adam>;
            compare("full", [&] {
                eo.seed = 1;
                full_t u(data.n_users, eo, oc);
                eo.seed = 2;
                full_t i(data.n_items, eo, oc);
                return m::factorization<full_t, full_t, adam>(std::move(u), std::move(i), oc);
            }, tt, s);
        }
        if (s.methods.find("bloom") != std::string::npos) {
            using bloom_t = m::bloom_embedding<float, adam>;
            compare("bloom", [&] {
                m::bloom_options bu, bi;
                bu.k = bi.k = s.k;
                bu.rows = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(s.ratio * data.n_users));
                bi.rows = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(s.ratio * data.n_items));
                eo.seed = 1;
                bloom_t u(data.n_users, bu, eo, oc);
                eo.seed = 2;
                bloom_t i(data.n_items, bi, eo, oc);
                return m::factorization<bloom_t, bloom_t, adam>(std::move(u), std::move(i), oc);
            }, tt, s);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bloom-mpi-train (rank %d): %s\n", env.rank(), e.what());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return 0;
}
