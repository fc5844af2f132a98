// Data-parallel training on MPI (<bloom/dist/mpi.hpp>), run by ctest under
// `mpirun -np 2` (tests/mpi/CMakeLists.txt); every rank runs every test case, and every check
// that compares ranks is collective, so that all ranks reach the same checks.
//
// What is checked: the replicas are bit-identical after training (each replica's model file,
// weights and optimizer state, hashed and compared across the ranks), for several kinds,
// losses and optimizers; 2 ranks with batch B give the model of one process with batch 2B bit
// for bit where dist/mpi.hpp promises it (equal slices, at most one term per row from rank 1's
// slice: batch 1 with full tables), and up to rounding otherwise (closer to it than to one
// process with batch B); one rank through the exchanger is the single process; the sharded
// evaluation is one process's bit for bit; a diverging batch stops every replica.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "../model_files.hpp"

#include <bloom/dist/mpi.hpp>
#include <bloom/eval/evaluate.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/io/model_file.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/optim/adagrad.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace io = bloom::io;
namespace m = bloom::models;
namespace dist = bloom::dist;
using adam = bloom::optim::adam<float>;
using bloom_test::emb;
using bloom_test::opt;
using bloom_test::same_files;
using bloom_test::spec;

int world_rank() { return dist::detail::comm_rank(MPI_COMM_WORLD); }
int world_size() { return dist::detail::comm_size(MPI_COMM_WORLD); }

std::string temp_path(const std::string& name) {
    return "/tmp/bloom-mpi-test-" + std::to_string(::getpid()) + "-" + name;
}

// 300 users with 8 interactions each over 400 items, with ratings; 2400 interactions, a
// multiple of 2 * every batch below, so that the two slices of a step are of equal size.
struct data {
    std::uint32_t n_users = 300, n_items = 400;
    std::vector<std::uint32_t> users, items;
    std::vector<float> ratings;
    data() {
        std::mt19937_64 rng(33);
        for (std::uint32_t u = 0; u < n_users; ++u)
            for (int t = 0; t < 8; ++t) {
                users.push_back(u);
                items.push_back(static_cast<std::uint32_t>((rng() % 200) * 2 + (u % 2)));
                ratings.push_back(static_cast<float>(1 + rng() % 5));
            }
    }
};
const data& sample() {
    static const data d;
    return d;
}

m::fit_options fit_opts(m::loss l, std::uint32_t batch, std::uint32_t epochs = 2) {
    m::fit_options f;
    f.epochs = epochs;
    f.batch = batch;
    f.objective = l;
    f.n_negatives = 3;
    f.seed = 9;
    return f;
}

template <class Model>
void train(Model& model, const m::fit_options& f) {
    const data& d = sample();
    if (f.objective == m::loss::regression)
        model.fit_explicit(d.users, d.items, d.ratings, f);
    else
        model.fit(d.users, d.items, f);
}

// A hash of every section of a model file: weights, biases, optimizer moments and steps.
std::uint64_t file_hash(const std::string& path) {
    io::model_reader r(path);
    std::uint64_t h = 0;
    for (const io::section& s : r.sections()) {
        h = XXH64(s.name.data(), s.name.size(), h);
        if (s.bytes != 0) h = XXH64(s.data, static_cast<std::size_t>(s.bytes), h);
    }
    return h;
}

// Trains a replica on every rank (batch B per rank), checks that the replicas are the same
// bit for bit, and returns this rank's model file (the caller removes it).
template <class Make>
std::string train_replicas(const std::string& name, Make make, m::loss l, std::uint32_t batch,
                           std::uint32_t epochs = 2, dist::exchange_stats* stats = nullptr,
                           MPI_Comm comm = MPI_COMM_WORLD) {
    auto model = make();
    dist::mpi_replicas<decltype(model)> replicas(model, comm);
    m::fit_options f = fit_opts(l, batch, epochs);
    f.parallel = &replicas;
    train(model, f);
    const std::string path = temp_path(name + "-rank" + std::to_string(world_rank()) + ".bin");
    io::save(path, model);
    INFO(name << ", loss " << m::to_string(l));
    CHECK(dist::same_on_all(comm, file_hash(path)));
    if (stats != nullptr) *stats = replicas.stats();
    return path;
}

template <class Make>
std::string train_alone(const std::string& name, Make make, m::loss l, std::uint32_t batch,
                        std::uint32_t epochs = 2) {
    auto model = make();
    train(model, fit_opts(l, batch, epochs));
    const std::string path = temp_path(name + "-alone" + std::to_string(world_rank()) + ".bin");
    io::save(path, model);
    return path;
}

using full_t = m::full_embedding<float, adam>;
using bloom_t = m::bloom_embedding<float, adam>;
using hash_t = m::hash_embedding<float, adam>;
using qr_t = m::qr_embedding<float, adam>;
using full_mf = m::factorization<full_t, full_t, adam>;
using bloom_mf = m::factorization<bloom_t, bloom_t, adam>;

full_mf make_full() {
    const data& d = sample();
    return full_mf(full_t(d.n_users, emb(1), opt()), full_t(d.n_items, emb(2), opt()), opt());
}
bloom_mf make_bloom() {
    const data& d = sample();
    return bloom_mf(bloom_t(d.n_users, spec(60, 3), emb(1), opt()),
                    bloom_t(d.n_items, spec(80, 2), emb(2), opt()), opt());
}

// The largest |a - b| over the user and item tables of two Bloom models.
float max_diff(bloom_mf& a, bloom_mf& b) {
    float d = 0;
    const auto& ua = a.user_embedding().table().weights();
    const auto& ub = b.user_embedding().table().weights();
    const auto& ia = a.item_embedding().table().weights();
    const auto& ib = b.item_embedding().table().weights();
    d = std::max(d, (ua - ub).cwiseAbs().maxCoeff());
    d = std::max(d, (ia - ib).cwiseAbs().maxCoeff());
    return d;
}

}  // namespace

TEST_CASE("mpi: the replicas are bit-identical after training, every kind, loss and optimizer",
          "[mpi]") {
    REQUIRE(world_size() >= 2);  // ctest runs this binary under mpirun -np 2
    const data& d = sample();
    std::vector<std::string> files;
    dist::exchange_stats st;
    files.push_back(train_replicas("full", make_full, m::loss::bpr, 30, 2, &st));
    // The exchange ran: every step, rows came from the other rank.
    const std::size_t per_step = 30 * static_cast<std::size_t>(world_size());
    CHECK(st.steps == 2 * ((d.users.size() + per_step - 1) / per_step));
    CHECK(st.rows_received > 0);
    CHECK(st.rows_merged <= st.rows_sent + st.rows_received);
    CHECK(st.bytes_received > 0);
    for (const m::loss l : {m::loss::bpr_log, m::loss::pointwise, m::loss::hinge,
                            m::loss::adaptive_hinge, m::loss::regression})
        files.push_back(train_replicas("bloom", make_bloom, l, 16));
    files.push_back(train_replicas("hash-qr", [&] {
        return m::factorization<hash_t, qr_t, adam>(hash_t(d.n_users, spec(50, 2), emb(1), opt()),
                                                    qr_t(d.n_items, 40, emb(2), opt()), opt());
    }, m::loss::bpr, 24));
    using sgd = bloom::optim::sgd<float>;
    sgd::config sc;
    sc.lr = 0.05;
    sc.momentum = 0.9;
    using sgd_bloom = m::bloom_embedding<float, sgd>;
    files.push_back(train_replicas("sgd", [&] {
        return m::factorization<sgd_bloom, sgd_bloom, sgd>(
            sgd_bloom(d.n_users, spec(60, 3), emb(1), sc), sgd_bloom(d.n_items, spec(80, 2), emb(2), sc),
            sc);
    }, m::loss::bpr, 20));
    using ada = bloom::optim::adagrad<float>;
    ada::config ac;
    ac.lr = 0.05;
    using ada_full = m::full_embedding<float, ada>;
    files.push_back(train_replicas("adagrad", [&] {
        return m::factorization<ada_full, ada_full, ada>(
            ada_full(d.n_users, emb(1), ac), ada_full(d.n_items, emb(2), ac), ac);
    }, m::loss::regression, 40));
    for (const std::string& f : files) std::remove(f.c_str());
}

TEST_CASE("mpi: 2 ranks with batch B are 1 process with batch 2B bit for bit where promised",
          "[mpi]") {
    REQUIRE(world_size() == 2);
    // Batch 1 per rank with full tables: rank 1's slice is one example, so each row gets at
    // most one term from it, and the scale 1/2 is exact. The regression loss (no negatives)
    // and BPR (negatives drawn by every rank from the common stream).
    for (const m::loss l : {m::loss::regression, m::loss::bpr}) {
        const std::string a = train_replicas("exact", make_full, l, 1, 1);
        const std::string b = train_alone("exact", make_full, l, 2, 1);
        const std::string c = train_alone("exact-b", make_full, l, 1, 1);
        INFO("loss " << m::to_string(l));
        CHECK(same_files(a, b));
        CHECK_FALSE(same_files(a, c));  // the comparison can tell models apart
        std::remove(a.c_str());
        std::remove(b.c_str());
        std::remove(c.c_str());
    }
}

TEST_CASE("mpi: a last step with fewer examples than ranks leaves a slice empty", "[mpi]") {
    REQUIRE(world_size() == 2);
    // 2399 interactions, batch 1 per rank: the last step has one example, rank 1's; rank 0's
    // slice is empty. Still 1 process with batch 2, bit for bit (the last step's scale is 1).
    const data& d = sample();
    const std::vector<std::uint32_t> users(d.users.begin(), d.users.end() - 1),
        items(d.items.begin(), d.items.end() - 1);
    const std::vector<float> ratings(d.ratings.begin(), d.ratings.end() - 1);
    auto par = make_full();
    dist::mpi_replicas<full_mf> replicas(par);
    m::fit_options f = fit_opts(m::loss::regression, 1, 1);
    f.parallel = &replicas;
    par.fit_explicit(users, items, ratings, f);
    auto alone = make_full();
    alone.fit_explicit(users, items, ratings, fit_opts(m::loss::regression, 2, 1));
    CHECK(replicas.stats().steps == 1200);
    const std::string a = temp_path("odd-rank" + std::to_string(world_rank()) + ".bin");
    const std::string b = temp_path("odd-alone" + std::to_string(world_rank()) + ".bin");
    io::save(a, par);
    io::save(b, alone);
    CHECK(dist::same_on_all(MPI_COMM_WORLD, file_hash(a)));
    CHECK(same_files(a, b));
    std::remove(a.c_str());
    std::remove(b.c_str());
}

TEST_CASE("mpi: with larger batches, 2 ranks x B are 1 process x 2B up to rounding", "[mpi]") {
    REQUIRE(world_size() == 2);
    // Bloom tables, batch 16 per rank: rows get several terms per slice, and the regrouped
    // sums round differently. Two epochs later the weights are still within 1e-5 of one process
    // with batch 32 (3e-7 measured), while one process with batch 16 is a different model.
    auto par = make_bloom();
    dist::mpi_replicas<bloom_mf> replicas(par);
    m::fit_options f = fit_opts(m::loss::bpr, 16);
    f.parallel = &replicas;
    train(par, f);
    auto two_b = make_bloom();
    train(two_b, fit_opts(m::loss::bpr, 32));
    auto one_b = make_bloom();
    train(one_b, fit_opts(m::loss::bpr, 16));
    const float near = max_diff(par, two_b), far = max_diff(par, one_b);
    INFO("max |2 ranks x 16 - 1 x 32| = " << near << ", max |2 ranks x 16 - 1 x 16| = " << far);
    CHECK(near < 1e-5f);
    CHECK(far > 1e-2f);
}

TEST_CASE("mpi: one rank through the exchanger is the single process bit for bit", "[mpi]") {
    // Each rank alone in its own communicator: the exchanger has nothing to exchange.
    MPI_Comm self;
    REQUIRE(MPI_Comm_split(MPI_COMM_WORLD, world_rank(), 0, &self) == MPI_SUCCESS);
    const std::string a = train_replicas("self", make_bloom, m::loss::adaptive_hinge, 16, 2,
                                         nullptr, self);
    const std::string b = train_alone("self", make_bloom, m::loss::adaptive_hinge, 16);
    CHECK(same_files(a, b));
    std::remove(a.c_str());
    std::remove(b.c_str());
    MPI_Comm_free(&self);
}

TEST_CASE("mpi: the evaluation sharded by user is one process's bit for bit", "[mpi]") {
    const data& d = sample();
    auto model = make_bloom();
    train(model, fit_opts(m::loss::bpr, 32, 1));
    model.prepare_scoring();
    // Train: the first 6 interactions of each user; test: the last 2 (a user of every 7 has
    // none, so some blocks have fewer users).
    std::vector<std::uint32_t> tu, ti, su, si;
    for (std::size_t t = 0; t < d.users.size(); ++t) {
        if (t % 8 < 6) {
            tu.push_back(d.users[t]);
            ti.push_back(d.items[t]);
        } else if (d.users[t] % 7 != 3) {
            su.push_back(d.users[t]);
            si.push_back(d.items[t]);
        }
    }
    const auto train_items = bloom::eval::make_user_items(d.n_users, tu, ti);
    const auto test_items = bloom::eval::make_user_items(d.n_users, su, si);
    auto scorer = [&](std::uint32_t u, float* s) { model.score_user(u, s); };
    bloom::eval::ranking_options ro;
    ro.k = 5;
    ro.threads = 1;
    ro.per_user = true;
    const auto one = bloom::eval::evaluate_ranking(scorer, d.n_items, train_items, test_items, ro);
    const auto all = dist::evaluate_ranking(MPI_COMM_WORLD, scorer, d.n_items, train_items,
                                            test_items, ro);
    CHECK(all.users == one.users);
    CHECK(all.test_items == one.test_items);
    CHECK(all.mrr == one.mrr);
    CHECK(all.mrr_best == one.mrr_best);
    CHECK(all.precision == one.precision);
    CHECK(all.recall == one.recall);
    CHECK(all.ndcg == one.ndcg);
    CHECK(all.map == one.map);
    CHECK(all.map_at_k == one.map_at_k);
    CHECK(all.hit_rate == one.hit_rate);
    CHECK(all.auc == one.auc);
    REQUIRE(all.per_user.size() == one.per_user.size());
    for (std::size_t i = 0; i < one.per_user.size(); ++i) {
        CHECK(all.per_user[i].user == one.per_user[i].user);
        CHECK(all.per_user[i].rr == one.per_user[i].rr);
    }
    // Every rank evaluated users of its own (the shards are not empty).
    CHECK(all.threads == 1);
}

TEST_CASE("mpi: a diverging batch stops every replica with the same error", "[mpi]") {
    const data& d = sample();
    using sgd = bloom::optim::sgd<float>;
    sgd::config sc;
    sc.lr = 1e4;
    using sgd_full = m::full_embedding<float, sgd>;
    auto model = m::factorization<sgd_full, sgd_full, sgd>(sgd_full(d.n_users, emb(1), sc),
                                                          sgd_full(d.n_items, emb(2), sc), sc);
    dist::mpi_replicas<decltype(model)> replicas(model);
    m::fit_options f = fit_opts(m::loss::regression, 16, 3);
    f.parallel = &replicas;
    REQUIRE_THROWS_WITH(train(model, f), Catch::Contains("training diverged"));
    // Every replica stopped at the same batch, with the same weights.
    const std::string path = temp_path("diverged-rank" + std::to_string(world_rank()) + ".bin");
    io::save(path, model);
    CHECK(dist::same_on_all(MPI_COMM_WORLD, file_hash(path)));
    std::remove(path.c_str());
}

TEST_CASE("mpi: allreduce_dense sums in rank order, the same on every rank", "[mpi]") {
    auto model = make_full();
    dist::mpi_replicas<full_mf> replicas(model);
    const int r = world_rank(), n = world_size();
    std::vector<float> g = {static_cast<float>(r + 1), 0.1f * static_cast<float>(r), 1.0f};
    replicas.allreduce_dense(g.data(), g.size());
    float s0 = 0, s1 = 0;
    for (int q = 0; q < n; ++q) {
        s0 = q == 0 ? 1.0f : s0 + static_cast<float>(q + 1);
        s1 = q == 0 ? 0.0f : s1 + 0.1f * static_cast<float>(q);
    }
    CHECK(g[0] == s0);
    CHECK(g[1] == s1);
    CHECK(g[2] == static_cast<float>(n));
    std::uint64_t h = XXH64(g.data(), g.size() * sizeof(float), 0);
    CHECK(dist::same_on_all(MPI_COMM_WORLD, h));
}

int main(int argc, char** argv) {
    dist::mpi_environment env(argc, argv);
    // Every rank runs every case and writes its own report; mpirun fails when one rank does.
    return Catch::Session().run(argc, argv);
}
