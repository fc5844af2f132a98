// The factorization model: it learns a planted preference structure with every embedding kind,
// reports bad input, and stops when training diverges. (That a seed reproduces a model bit for
// bit is determinism.test.cpp's.)
#include <catch2/catch.hpp>

#include <bloom/hash/xxhash.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/models/cce.hpp>
#include <bloom/models/dhe.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/keyed.hpp>
#include <bloom/models/mixed_dim.hpp>
#include <bloom/models/robe.hpp>
#include <bloom/models/tt.hpp>
#include <bloom/optim/adagrad.hpp>
#include <bloom/optim/adam.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

template <class Scalar>
struct test_adagrad {
    struct config {
        Scalar lr = Scalar(0.1);
    };
    explicit test_adagrad(const config& c) : cfg(c) {}
    void begin_step() {}
    void update_row(bloom::matrix<Scalar>& w, std::uint32_t r, const Scalar* g) {
        if (acc.rows() != w.rows()) acc = bloom::matrix<Scalar>::Zero(w.rows(), w.cols());
        for (Eigen::Index c = 0; c < w.cols(); ++c) {
            acc(r, c) += g[c] * g[c];
            w(r, c) -= cfg.lr * g[c] / (std::sqrt(acc(r, c)) + Scalar(1e-8));
        }
    }
    config cfg;
    bloom::matrix<Scalar> acc;
};
using opt = test_adagrad<float>;

// Users in two groups; group g likes items with id % 2 == g. Each user has 12 positives.
struct planted {
    std::vector<std::uint32_t> users, items;
    std::uint32_t n_users = 60, n_items = 80;
    planted() {
        std::mt19937_64 rng(5);
        for (std::uint32_t u = 0; u < n_users; ++u)
            for (int t = 0; t < 12; ++t) {
                users.push_back(u);
                items.push_back(static_cast<std::uint32_t>((rng() % 40) * 2 + (u % 2)));
            }
    }
};

// The settings every planted-structure test trains with.
bloom::models::embedding_options planted_embedding() {
    bloom::models::embedding_options o;
    o.dim = 8;
    return o;
}
opt::config planted_optimizer() {
    opt::config oc;
    oc.lr = 0.05f;
    return oc;
}
bloom::models::fit_options planted_fit() {
    bloom::models::fit_options f;
    f.epochs = 30;
    f.batch = 32;
    f.seed = 1;
    return f;
}

// Share of (user, liked item, disliked item) triples ranked correctly.
template <class Model>
double pairwise_accuracy(Model& m, const planted& p) {
    m.prepare_scoring();
    std::vector<float> s(p.n_items);
    long ok = 0, all = 0;
    for (std::uint32_t u = 0; u < p.n_users; ++u) {
        m.score_user(u, s.data());
        for (std::uint32_t i = 0; i < p.n_items; ++i)
            for (std::uint32_t j = 0; j < p.n_items; ++j)
                if (i % 2 == u % 2 && j % 2 != u % 2) {
                    ok += s[i] > s[j];
                    ++all;
                }
    }
    return static_cast<double>(ok) / static_cast<double>(all);
}

std::string temp_path(const std::string& name) {
    return "/tmp/bloom-factorization-test-" + std::to_string(::getpid()) + "-" + name;
}

// Whether every float section of a model file (weights and optimizer state) is finite.
bool file_is_finite(const std::string& path) {
    bloom::io::model_reader r(path);
    std::size_t floats = 0;
    for (const bloom::io::section& s : r.sections()) {
        if (s.type != bloom::io::element::f32) continue;
        const std::size_t n = static_cast<std::size_t>(s.bytes) / sizeof(float);
        for (std::size_t i = 0; i < n; ++i) {
            float v;
            std::memcpy(&v, s.data + i * sizeof(float), sizeof v);
            if (!std::isfinite(v)) return false;
        }
        floats += n;
    }
    return floats > 0;
}

// The same bytes in every section of two model files.
bool same_files(const std::string& a, const std::string& b) {
    bloom::io::model_reader ra(a), rb(b);
    if (ra.sections().size() != rb.sections().size()) return false;
    for (const bloom::io::section& s : ra.sections()) {
        if (!rb.has(s.name)) return false;
        const bloom::io::section& t = rb.get(s.name);
        if (s.type != t.type || s.bytes != t.bytes) return false;
        if (s.bytes != 0 && std::memcmp(s.data, t.data, static_cast<std::size_t>(s.bytes)) != 0)
            return false;
    }
    return true;
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const bloom::invalid_argument& e) {
        return e.what();
    }
    return "(no bloom::invalid_argument)";
}

}  // namespace

TEST_CASE("factorization learns a planted structure with each embedding kind", "[models][mf]") {
    using namespace bloom::models;
    const planted p;
    const embedding_options o = planted_embedding();
    const opt::config oc = planted_optimizer();
    fit_options f = planted_fit();
    for (loss l : {loss::bpr, loss::bpr_log, loss::pointwise, loss::hinge, loss::adaptive_hinge}) {
        f.objective = l;
        factorization<full_embedding<float, opt>, full_embedding<float, opt>, opt> full(
            full_embedding<float, opt>(p.n_users, o, oc), full_embedding<float, opt>(p.n_items, o, oc),
            oc);
        full.fit(p.users, p.items, f);
        INFO("loss " << to_string(l));
        CHECK(pairwise_accuracy(full, p) > 0.9);
    }

    f.objective = loss::bpr;
    bloom_options b;
    // Few collisions here: this checks the Bloom gradients, not compression (80 random 3-row
    // signatures in a small table cannot separate this planted parity: see docs/results.md).
    b.rows = 1000;
    b.k = 3;
    using be = bloom_embedding<float, opt>;
    factorization<be, be, opt> bl(be(p.n_users, b, o, oc), be(p.n_items, b, o, oc), oc);
    const fit_report rep = bl.fit(p.users, p.items, f);
    CHECK(pairwise_accuracy(bl, p) > 0.9);
    REQUIRE(rep.epoch_loss.size() == 30);
    CHECK(rep.epoch_loss.back() < rep.epoch_loss.front());
    CHECK(bl.embedding_parameters() == (1000 + 1000) * 8);
}

TEST_CASE("factorization learns a planted structure with users as Bloom filters of their items",
          "[models][mf][history]") {
    using namespace bloom::models;
    const planted p;  // user u's 12 items are interactions u*12 .. u*12+11
    std::vector<std::size_t> offsets(p.n_users + 1);
    for (std::uint32_t u = 0; u <= p.n_users; ++u) offsets[u] = std::size_t{u} * 12;
    const embedding_options o = planted_embedding();
    const opt::config oc = planted_optimizer();
    const fit_options f = planted_fit();
    bloom_options b;
    // 60 users in 30 rows: an id table this small could not tell the users apart, but their
    // histories' filters can (the rows are hashed items, and items carry the parity).
    b.rows = 30;
    b.k = 1;
    using he = history_bloom_embedding<float, opt>;
    using fe = full_embedding<float, opt>;
    factorization<he, fe, opt> m(he(p.n_users, offsets, p.items, p.n_items, b, o, oc, bloom::xxh3{}),
                                 fe(p.n_items, o, oc), oc);
    m.fit(p.users, p.items, f);
    CHECK(pairwise_accuracy(m, p) > 0.9);
    CHECK(m.embedding_parameters() == (30 + 80) * 8);
}

TEST_CASE("explicit factorization fits ratings", "[models][mf]") {
    using namespace bloom::models;
    // rating = 1 + 2 * [same parity]
    std::vector<std::uint32_t> users, items;
    std::vector<float> ratings;
    for (std::uint32_t u = 0; u < 30; ++u)
        for (std::uint32_t i = 0; i < 30; i += 1 + (u % 3)) {
            users.push_back(u);
            items.push_back(i);
            ratings.push_back((u % 2 == i % 2) ? 3.0f : 1.0f);
        }
    embedding_options o;
    o.dim = 4;
    opt::config oc;
    oc.lr = 0.05f;
    fit_options f;
    f.epochs = 60;
    f.batch = 16;
    using fe = full_embedding<float, opt>;
    factorization<fe, fe, opt> m(fe(30, o, oc), fe(30, o, oc), oc);
    const fit_report rep = m.fit_explicit(users, items, ratings, f);
    CHECK(rep.epoch_loss.back() < 0.05);  // mean squared error on the training ratings
    CHECK(m.predict(0, 2) == Approx(3.0f).margin(0.3));
    CHECK(m.predict(0, 1) == Approx(1.0f).margin(0.3));
}

TEST_CASE("factorization reports bad input", "[models][mf][errors]") {
    using namespace bloom::models;
    embedding_options o;
    o.dim = 4;
    opt::config oc;
    using fe = full_embedding<float, opt>;
    factorization<fe, fe, opt> m(fe(5, o, oc), fe(6, o, oc), oc);
    fit_options f;
    CHECK_THROWS_WITH(m.fit(std::vector<std::uint32_t>{0, 5}, std::vector<std::uint32_t>{1, 1}, f),
                      Catch::Contains("interaction 1: user 5 out of range (5 users)"));
    CHECK_THROWS_WITH(m.fit(std::vector<std::uint32_t>{0}, std::vector<std::uint32_t>{6}, f),
                      Catch::Contains("item 6 out of range"));
    CHECK_THROWS_AS(m.fit(std::vector<std::uint32_t>{}, std::vector<std::uint32_t>{}, f),
                    bloom::invalid_argument);
    CHECK_THROWS_AS(m.fit_explicit({0}, {0}, {std::nanf("")}, f), bloom::invalid_argument);
    std::vector<float> s(6);
    CHECK_THROWS_WITH(m.score_user(0, s.data()), Catch::Contains("prepare_scoring"));
    o.dim = 5;
    CHECK_THROWS_AS((factorization<fe, fe, opt>(fe(5, o, oc), fe(6, embedding_options{}, oc), oc)),
                    bloom::invalid_argument);
}

TEST_CASE("recommend excludes seen items and ranks best first", "[models][mf]") {
    using namespace bloom::models;
    const planted p;
    embedding_options o;
    o.dim = 8;
    opt::config oc;
    oc.lr = 0.05f;
    fit_options f;
    f.epochs = 20;
    f.batch = 32;
    using fe = full_embedding<float, opt>;
    factorization<fe, fe, opt> m(fe(p.n_users, o, oc), fe(p.n_items, o, oc), oc);
    m.fit(p.users, p.items, f);
    m.prepare_scoring();
    const std::vector<std::uint32_t> seen = {0, 2, 4};
    const auto rec = m.recommend(0, 10, seen);
    REQUIRE(rec.size() == 10);
    for (std::size_t t = 0; t < rec.size(); ++t) {
        CHECK(rec[t].first != 0);
        CHECK(rec[t].first != 2);
        CHECK(rec[t].first != 4);
        if (t > 0) CHECK(rec[t - 1].second >= rec[t].second);
    }
    int even = 0;
    for (const auto& r : rec) even += r.first % 2 == 0;
    CHECK(even >= 8);  // user 0 likes even items
}

TEST_CASE("recommend counts an item excluded twice once", "[models][mf][errors]") {
    using namespace bloom::models;
    embedding_options o;
    o.dim = 4;
    opt::config oc;
    using fe = full_embedding<float, opt>;
    factorization<fe, fe, opt> m(fe(3, o, oc), fe(6, o, oc), oc);
    m.prepare_scoring();
    const auto all = m.recommend(1, 10);
    REQUIRE(all.size() == 6);
    // 6 items, item 0 excluded seven times: the other 5 remain, in the unexcluded order
    const auto rec = m.recommend(1, 10, {0, 0, 0, 0, 0, 0, 0});
    REQUIRE(rec.size() == 5);
    std::vector<std::pair<std::uint32_t, float>> want;
    for (const auto& r : all)
        if (r.first != 0) want.push_back(r);
    CHECK(rec == want);
    CHECK(m.recommend(1, 3, {5, 5, 0}).size() == 3);
    CHECK(m.recommend(1, 10, {5, 5, 0}).size() == 4);
    CHECK(m.recommend(1, 10, {0, 1, 2, 3, 4, 5, 5, 4}).empty());
    CHECK_THROWS_AS(m.recommend(1, 10, {0, 6}), bloom::out_of_range);
    CHECK_THROWS_WITH(m.recommend(1, 10, {0, 6}),
                      "bloom: factorization: item 6 out of range (6 items)");
    CHECK_THROWS_WITH(m.recommend(3, 10), "bloom: factorization: user 3 out of range (3 users)");
}

TEST_CASE("a diverging fit stops at the batch whose loss is not finite, before its update",
          "[models][mf][errors][diverge]") {
    using namespace bloom::models;
    using ada = bloom::optim::adagrad<float>;
    using fe = full_embedding<float, ada>;
    using model = factorization<fe, fe, ada>;
    const planted p;  // 720 interactions
    embedding_options o;
    o.dim = 8;
    ada::config huge;
    huge.lr = 1e30;  // the first step moves every touched weight by about 1e30
    const std::string a = temp_path("diverged.bin"), b = temp_path("one-epoch.bin");

    SECTION("the error names the epoch and the batch; the weights stay finite") {
        model m(fe(p.n_users, o, huge), fe(p.n_items, o, huge), huge);
        fit_options f;
        f.epochs = 3;
        f.batch = 32;  // 23 batches, the last one of 16
        std::uint32_t epochs_seen = 0;
        f.on_epoch = [&](std::uint32_t, double, double) { ++epochs_seen; };
        const std::string what = error_of([&] { m.fit(p.users, p.items, f); });
        // The first batch starts from small weights (a finite loss); the second meets the 1e30
        // rows the first step made, and its scores overflow.
        CHECK(what == "bloom: factorization::fit: the loss is not finite at epoch 1, batch 2 (of "
                      "23): training diverged; lower the learning rate");
        CHECK(epochs_seen == 0);
        bloom::io::save(a, m);
        CHECK(file_is_finite(a));
    }
    SECTION("the failed batch changes nothing: the model is the one of the epochs before") {
        // One batch per epoch: epoch 1 moves the weights to about 1e30, epoch 2's scores
        // overflow. The diverged model is then exactly the model trained for 1 epoch: weights
        // and optimizer state.
        fit_options f;
        f.epochs = 5;
        f.batch = static_cast<std::uint32_t>(p.users.size());
        f.seed = 7;
        model m(fe(p.n_users, o, huge), fe(p.n_items, o, huge), huge);
        CHECK_THROWS_WITH(m.fit(p.users, p.items, f),
                          "bloom: factorization::fit: the loss is not finite at epoch 2, batch 1 "
                          "(of 1): training diverged; lower the learning rate");
        model one(fe(p.n_users, o, huge), fe(p.n_items, o, huge), huge);
        f.epochs = 1;
        one.fit(p.users, p.items, f);
        bloom::io::save(a, m);
        bloom::io::save(b, one);
        CHECK(same_files(a, b));
        CHECK(file_is_finite(a));
    }
    SECTION("an infinite score is caught where the loss it gives is finite") {
        // User 0 and item 0 scaled so that their dot product overflows: the BPR loss of an
        // infinite positive score is 0, but the model is broken all the same.
        ada::config small;
        small.lr = 0.05;
        model m(fe(p.n_users, o, small), fe(p.n_items, o, small), small);
        m.user_embedding().table().weights().row(0).setConstant(1e20f);
        m.item_embedding().table().weights().row(0).setConstant(1e20f);
        const std::vector<std::uint32_t> users = {0}, items = {0};
        fit_options f;
        f.epochs = 1;
        CHECK_THROWS_WITH(m.fit(users, items, f),
                          "bloom: factorization::fit: a score is not finite at epoch 1, batch 1 "
                          "(of 1): training diverged; lower the learning rate");
        f.objective = loss::hinge;
        CHECK_THROWS_WITH(m.fit(users, items, f), Catch::Contains("a score is not finite"));
    }
    SECTION("explicit feedback: the squared error overflows") {
        std::vector<float> ratings(p.users.size(), 4.0f);
        model m(fe(p.n_users, o, huge), fe(p.n_items, o, huge), huge);
        fit_options f;
        f.epochs = 2;
        f.batch = 100;  // 8 batches
        const std::string what = error_of([&] { m.fit_explicit(p.users, p.items, ratings, f); });
        CHECK(what == "bloom: factorization::fit: the loss is not finite at epoch 1, batch 2 (of "
                      "8): training diverged; lower the learning rate");
        bloom::io::save(a, m);
        CHECK(file_is_finite(a));
    }
    SECTION("the training state stays at the last complete epoch, and resumes from it") {
        ada::config small;
        small.lr = 0.05;
        fit_options f;
        f.epochs = 1;
        f.batch = 32;
        training_state st;
        f.state = &st;
        model m(fe(p.n_users, o, small), fe(p.n_items, o, small), small);
        m.fit(p.users, p.items, f);
        REQUIRE(st.epochs_done == 1);
        bloom::io::save(a, m);  // the checkpoint after epoch 1
        const training_state before = st;
        m.user_embedding().table().optimizer().set_lr(1e30);
        m.item_embedding().table().optimizer().set_lr(1e30);
        f.epochs = 3;
        CHECK_THAT(error_of([&] { m.fit(p.users, p.items, f); }),
                   Catch::Contains("is not finite at epoch 2, batch "));
        CHECK(st.epochs_done == before.epochs_done);
        CHECK(st.epoch_rng == before.epoch_rng);
        CHECK(st.rng == before.rng);
        CHECK(st.data_checksum == before.data_checksum);
        // The state is whole: the checkpoint resumed with it is the 2-epoch model, bit for bit.
        model resumed = bloom::io::load<model>(a);
        f.epochs = 1;
        resumed.fit(p.users, p.items, f);
        CHECK(st.epochs_done == 2);
        model whole(fe(p.n_users, o, small), fe(p.n_items, o, small), small);
        f.epochs = 2;
        f.state = nullptr;
        whole.fit(p.users, p.items, f);
        bloom::io::save(a, resumed);
        bloom::io::save(b, whole);
        CHECK(same_files(a, b));
    }
    std::remove(a.c_str());
    std::remove(b.c_str());
}

TEST_CASE("data-parallel training: the kinds that hand their batch gradients to the exchanger") {
    namespace bm = bloom::models;
    using adam = bloom::optim::adam<float>;
    using bm::detail::has_visit_grads_v;
    CHECK(has_visit_grads_v<bm::full_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::bloom_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::hash_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::qr_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::freq_bloom_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::history_bloom_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::mixed_dim_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::cce_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::tt_embedding<float, adam>, float>);
    CHECK(has_visit_grads_v<bm::keyed_bloom_embedding<float, adam>, float>);
    // not exchanged yet: robe's contiguous-run gradient and dhe's dense network weights
    CHECK_FALSE(has_visit_grads_v<bm::robe_embedding<float, adam>, float>);
    CHECK_FALSE(has_visit_grads_v<bm::dhe_embedding<float, adam>, float>);
}

TEST_CASE("factorization trains tt kinds in batch mode", "[models][mf][tt]") {
    using namespace bloom::models;
    using adam = bloom::optim::adam<float>;
    using kind = tt_embedding<float, adam>;
    using model = factorization<kind, kind, adam>;
    const planted p;
    embedding_options o = planted_embedding();
    tt_options t;
    t.rank = 4;
    adam::config oc;
    oc.lr = 0.02f;
    fit_options f = planted_fit();
    f.epochs = 20;
    const auto make = [&] {
        o.seed = 3;
        return model(kind(p.n_users, t, o, oc), kind(p.n_items, t, o, oc), oc);
    };
    model m = make();
    const fit_report rep = m.fit(p.users, p.items, f);
    REQUIRE(rep.epoch_loss.size() == 20);
    CHECK(rep.epoch_loss.back() < 0.7 * rep.epoch_loss.front());
    CHECK(pairwise_accuracy(m, p) > 0.9);
    // Outside fit the kinds are back to one id at a time.
    CHECK(m.user_embedding().view(0) == nullptr);
    CHECK(m.item_embedding().view(0) == nullptr);

    // Data-parallel training with one replica: the exchanger finds the batch's core gradients
    // (end_batch has put them in the cores before the exchange) and the model is the one of the
    // single process, bit for bit.
    struct one_replica : data_parallel {
        model* m = nullptr;
        std::size_t exchanges = 0, empty = 0;
        std::uint32_t rank() const override { return 0; }
        std::uint32_t ranks() const override { return 1; }
        bool exchange(std::size_t, std::size_t, double&, bool finite) override {
            ++exchanges;
            std::size_t touched = 0, tables = 0;
            m->visit_grads([&](row_grads<float>& g) {
                if (tables++ < 6) touched += g.touched();  // the six cores
            });
            if (touched == 0) ++empty;
            return finite;
        }
    } ex;
    model dp = make();
    ex.m = &dp;
    f.parallel = &ex;
    dp.fit(p.users, p.items, f);
    CHECK(ex.exchanges == 20 * ((p.users.size() + f.batch - 1) / f.batch));
    CHECK(ex.empty == 0);
    const std::string a = temp_path("tt-one.bin"), b = temp_path("tt-dp.bin");
    bloom::io::save(a, m);
    bloom::io::save(b, dp);
    CHECK(same_files(a, b));
    std::remove(a.c_str());
    std::remove(b.c_str());
}
