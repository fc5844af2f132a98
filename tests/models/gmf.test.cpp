// The factorization's GMF interaction (He et al., NCF: score = h . (p_u * q_i) + biases) and the
// bce loss: a known-answer score, the gradients against finite differences of an independent
// loss, learning beyond popularity, model files, resuming, threads and the refusals.
#include <catch2/catch.hpp>

#include "../model_files.hpp"

#include <bloom/eval/evaluate.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace m = bloom::models;
namespace io = bloom::io;
using adam = bloom::optim::adam<float>;
using full_t = m::full_embedding<float, adam>;
using gmf_model = m::factorization<full_t, full_t, adam>;

std::string temp_path(const std::string& name) {
    return "/tmp/bloom-gmf-test-" + std::to_string(::getpid()) + "-" + name;
}

gmf_model make_model(std::uint32_t n_users, std::uint32_t n_items, m::interaction x,
                     std::uint64_t seed = 1) {
    return gmf_model(full_t(n_users, bloom_test::emb(seed), bloom_test::opt()),
                     full_t(n_items, bloom_test::emb(seed + 1), bloom_test::opt()),
                     bloom_test::opt(), x);
}

// Users in two groups; group g likes the items with id % 2 == g: 16 distinct ones drawn at
// random, 12 for training and 4 for testing. Popularity is no better than chance here; the best
// possible AUC is about 0.84 (a user's test items are 4 of the 18 liked-group items left, all
// above the 30 others, in no knowable order among the 18).
struct planted {
    std::uint32_t n_users = 80, n_items = 60;
    std::vector<std::uint32_t> users, items, test_users, test_items;
    planted() {
        std::mt19937_64 rng(11);
        for (std::uint32_t u = 0; u < n_users; ++u) {
            std::vector<std::uint32_t> liked;
            while (liked.size() < 16) {
                const auto i = static_cast<std::uint32_t>((rng() % 30) * 2 + (u % 2));
                if (std::find(liked.begin(), liked.end(), i) == liked.end()) liked.push_back(i);
            }
            for (std::size_t t = 0; t < liked.size(); ++t) {
                (t < 12 ? users : test_users).push_back(u);
                (t < 12 ? items : test_items).push_back(liked[t]);
            }
        }
    }
};
const planted& sample() {
    static const planted p;
    return p;
}

bloom::eval::ranking_result evaluate(const planted& p,
                                     const std::function<void(std::uint32_t, float*)>& score) {
    const auto train = bloom::eval::make_user_items(p.n_users, p.users, p.items);
    const auto test = bloom::eval::make_user_items(p.n_users, p.test_users, p.test_items);
    bloom::eval::ranking_options o;
    o.threads = 1;
    return bloom::eval::evaluate_ranking(score, p.n_items, train, test, o);
}

m::fit_options bce_fit() {
    m::fit_options f;
    f.epochs = 25;
    f.batch = 16;
    f.objective = m::loss::bce;
    f.n_negatives = 4;
    f.seed = 3;
    return f;
}

// --- gradients: double precision, plain SGD, one example per batch ---------------------------

using sgd_d = bloom::optim::sgd<double>;
using full_d = m::full_embedding<double, sgd_d>;
using model_d = m::factorization<full_d, full_d, sgd_d>;

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

// Everything the loss of one example reads: user 0's row, the items' rows, h (ones for dot).
struct params {
    std::vector<double> p, h;
    std::vector<std::vector<double>> q;
    std::vector<double> bi;  // item biases (the user's bias is 0 and shifts every score alike)
    double score(std::size_t i) const {
        double s = bi[i];
        for (std::size_t c = 0; c < p.size(); ++c) s += h[c] * p[c] * q[i][c];
        return s;
    }
};

// The example's loss written out afresh: the positive is item 0, `draws[j]` is how often item j
// was drawn as a negative (bce), or the one negative's id (bpr-log), or the rating (regression).
double reference_loss(const params& w, m::loss l, const std::vector<double>& draws) {
    switch (l) {
        case m::loss::bce: {
            double v = softplus(-w.score(0));
            for (std::size_t j = 0; j < draws.size(); ++j) v += draws[j] * softplus(w.score(j));
            return v;
        }
        case m::loss::bpr_log:
            return softplus(-(w.score(0) - w.score(static_cast<std::size_t>(draws[0]))));
        default: {
            const double e = w.score(0) - draws[0];
            return e * e;
        }
    }
}

params read_params(model_d& f, bool gmf) {
    params w;
    const auto& pu = f.user_embedding().table().weights();
    const auto& qi = f.item_embedding().table().weights();
    w.p.assign(pu.row(0).data(), pu.row(0).data() + pu.cols());
    for (Eigen::Index i = 0; i < qi.rows(); ++i)
        w.q.emplace_back(qi.row(i).data(), qi.row(i).data() + qi.cols());
    if (gmf) {
        const auto& h = f.output_weights().table().weights();
        w.h.assign(h.data(), h.data() + h.size());
    } else {
        w.h.assign(w.p.size(), 1.0);
    }
    w.bi.assign(w.q.size(), 0.0);  // read before the step only, where they are still 0
    return w;
}

// Trains one step on (user 0, item 0) with SGD at lr, reads the gradient off the weights' change
// and compares it with central differences of reference_loss at the weights before the step.
void check_gradients(m::interaction x, m::loss l) {
    const std::uint32_t d = 5, n_items = 3;
    const double lr = 1e-3;
    m::embedding_options eo;
    eo.dim = d;
    eo.init_std = 0.5;
    eo.seed = 7;
    sgd_d::config sc;
    sc.lr = lr;
    model_d f(full_d(2, eo, sc), full_d(n_items, [&] { auto o = eo; o.seed = 8; return o; }(), sc),
              sc, x);
    const bool gmf = x == m::interaction::gmf;
    if (gmf) {  // h away from its ones, so that h * q and p * q differ from q and p
        auto& h = f.output_weights().table().weights();
        for (std::uint32_t c = 0; c < d; ++c) h(0, c) = 0.6 + 0.3 * c;
    }
    const params before = read_params(f, gmf);
    m::fit_options fo;
    fo.epochs = 1;
    fo.batch = 1;
    fo.objective = l;
    fo.n_negatives = 3;
    fo.seed = 12;
    std::vector<double> draws;
    if (l == m::loss::regression) {
        f.fit_explicit({0}, {0}, {2.5f}, fo);
        draws = {2.5};
    } else {
        f.fit(std::vector<std::uint32_t>{0}, std::vector<std::uint32_t>{0}, fo);
    }
    const params after = read_params(f, gmf);
    // Which items the draws hit, from the item biases' steps db_j = -lr * dL/db_j (the biases
    // start at 0): user 1 took no step, so predict(1, j) is h . (p_1 * q_j) + b_j.
    std::vector<double> db(n_items);
    const auto& pu = f.user_embedding().table().weights();
    for (std::uint32_t j = 0; j < n_items; ++j) {
        double s = 0;
        for (std::uint32_t c = 0; c < d; ++c) s += after.h[c] * pu(1, c) * after.q[j][c];
        db[j] = f.predict(1, j) - s;
    }
    if (l == m::loss::bce) {
        // -db_j / lr = m_j sigmoid(s_j) - [j == 0] (1 - sigmoid(s_0)): solve for the draw
        // counts m_j.
        draws.assign(n_items, 0.0);
        double total = 0;
        for (std::uint32_t j = 0; j < n_items; ++j) {
            const double sig = 1.0 / (1.0 + std::exp(-before.score(j)));
            const double mj = (-db[j] / lr + (j == 0 ? 1.0 - sig : 0.0)) / sig;
            INFO("item " << j << ": " << mj << " draws");
            REQUIRE(std::abs(mj - std::round(mj)) < 1e-6);
            draws[j] = std::round(mj);
            total += draws[j];
        }
        REQUIRE(total == 3.0);
    } else if (l == m::loss::bpr_log) {
        // dL/ds_neg > 0: the negative's bias fell
        std::uint32_t j = 0;
        for (std::uint32_t t = 1; t < n_items; ++t)
            if (db[t] < -1e-12) j = t;
        draws = {static_cast<double>(j)};
        if (j == 0) {  // drawn the positive itself: the margin is 0 whatever the weights
            CHECK(before.p == after.p);
            return;
        }
    }
    // Analytic gradient from the step, finite differences from the reference loss.
    const double eps = 1e-6;
    auto central = [&](auto&& at) {
        params plus = before, minus = before;
        at(plus) += eps;
        at(minus) -= eps;
        return (reference_loss(plus, l, draws) - reference_loss(minus, l, draws)) / (2 * eps);
    };
    for (std::uint32_t c = 0; c < d; ++c) {
        const double g_p = -(after.p[c] - before.p[c]) / lr;
        CHECK(g_p == Approx(central([&](params& w) -> double& { return w.p[c]; })).margin(1e-7));
        for (std::uint32_t j = 0; j < n_items; ++j) {
            const double g_q = -(after.q[j][c] - before.q[j][c]) / lr;
            CHECK(g_q ==
                  Approx(central([&](params& w) -> double& { return w.q[j][c]; })).margin(1e-7));
        }
        if (gmf) {
            const double g_h = -(after.h[c] - before.h[c]) / lr;
            CHECK(g_h == Approx(central([&](params& w) -> double& { return w.h[c]; })).margin(1e-7));
            CHECK(g_h != 0.0);
        }
    }
}

}  // namespace

TEST_CASE("gmf: a known-answer score, and dot on the same weights", "[models][mf][gmf]") {
    for (const m::interaction x : {m::interaction::dot, m::interaction::gmf}) {
        gmf_model f = make_model(2, 3, x);
        auto& pu = f.user_embedding().table().weights();
        auto& qi = f.item_embedding().table().weights();
        pu.setZero();
        qi.setZero();
        pu.row(1) << 1, 2, 3, 0, 0, 0, 0, 0;
        qi.row(2) << 4, -1, 0.5f, 7, 0, 0, 0, 0;
        float expected = 1 * 4 + 2 * -1 + 3 * 0.5f;  // dot: 3.5
        if (x == m::interaction::gmf) {
            auto& h = f.output_weights().table().weights();
            REQUIRE(h.rows() == 1);
            REQUIRE(h.cols() == 8);
            CHECK((h.array() == 1.0f).all());  // starts as ones
            h.row(0) << 2, 3, -4, 9, 9, 9, 9, 9;
            expected = 2 * 1 * 4 + 3 * 2 * -1 + -4 * 3 * 0.5f;  // 8 - 6 - 6 = -4
        }
        INFO(m::to_string(x));
        CHECK(f.predict(1, 2) == Approx(expected));
        CHECK(f.predict(0, 2) == 0.0f);
        f.prepare_scoring();
        std::vector<float> s(3);
        f.score_user(1, s.data());
        CHECK(s[2] == Approx(expected));
        CHECK(s[0] == 0.0f);
        const auto top = f.recommend(1, 1);
        REQUIRE(top.size() == 1);
        CHECK(top[0].first == (x == m::interaction::gmf ? 0u : 2u));  // -4 < 0 for gmf
    }
}

TEST_CASE("gmf: the step's gradients are those of the score and loss, by finite differences",
          "[models][mf][gmf]") {
    SECTION("gmf, bce") { check_gradients(m::interaction::gmf, m::loss::bce); }
    SECTION("dot, bce") { check_gradients(m::interaction::dot, m::loss::bce); }
    SECTION("gmf, bpr-log") { check_gradients(m::interaction::gmf, m::loss::bpr_log); }
    SECTION("gmf, regression") { check_gradients(m::interaction::gmf, m::loss::regression); }
}

TEST_CASE("gmf: trained with bce it ranks far above popularity and a random ranking",
          "[models][mf][gmf]") {
    const planted& p = sample();
    std::vector<float> pop(p.n_items, 0.0f);
    for (std::uint32_t i : p.items) pop[i] += 1.0f;
    const auto popularity =
        evaluate(p, [&](std::uint32_t, float* s) { std::copy(pop.begin(), pop.end(), s); });
    for (const m::interaction x : {m::interaction::gmf, m::interaction::dot}) {
        gmf_model f = make_model(p.n_users, p.n_items, x);
        const m::fit_report rep = f.fit(p.users, p.items, bce_fit());
        f.prepare_scoring();
        const auto r = evaluate(p, [&](std::uint32_t u, float* s) { f.score_user(u, s); });
        INFO(m::to_string(x) << " + bce: AUC " << r.auc << ", MRR " << r.mrr
                             << "; popularity AUC " << popularity.auc << ", MRR " << popularity.mrr);
        CHECK(rep.epoch_loss.back() < rep.epoch_loss.front());
        // popularity is chance here (AUC about 0.5); the best possible is about 0.84
        CHECK(popularity.auc < 0.55);
        CHECK(r.auc > 0.75);
        CHECK(r.auc > popularity.auc + 0.2);
        CHECK(r.mrr > 1.5 * popularity.mrr);
    }
}

TEST_CASE("gmf: h is learned and round-trips through a model file, scores and all",
          "[models][mf][gmf][io]") {
    const planted& p = sample();
    gmf_model f = make_model(p.n_users, p.n_items, m::interaction::gmf);
    f.fit(p.users, p.items, bce_fit());
    const auto h = f.output_weights().table().weights();
    CHECK_FALSE((h.array() == 1.0f).all());  // trained away from its ones
    CHECK(f.parameters() == (p.n_users + p.n_items) * 9u + 8u);
    const std::string path = temp_path("gmf.bin");
    io::save(path, f);
    {
        io::file_loader in(path);
        CHECK(in.root().get<std::string>("model.kind") == "factorization-gmf");
        CHECK(in.reader().has("model.output.table.weights"));
    }
    gmf_model g = io::load<gmf_model>(path);
    CHECK(g.interaction_kind() == m::interaction::gmf);
    CHECK(g.output_weights().table().weights() == h);
    f.prepare_scoring();
    g.prepare_scoring();
    std::vector<float> a(p.n_items), b(p.n_items);
    for (std::uint32_t u = 0; u < p.n_users; u += 7) {
        f.score_user(u, a.data());
        g.score_user(u, b.data());
        CHECK(a == b);
        CHECK(f.predict(u, 3) == g.predict(u, 3));
    }
    // Training on continues the same (optimizer state of h included).
    m::fit_options more = bce_fit();
    more.epochs = 2;
    f.fit(p.users, p.items, more);
    g.fit(p.users, p.items, more);
    const std::string pf = temp_path("gmf-f.bin"), pg = temp_path("gmf-g.bin");
    io::save(pf, f);
    io::save(pg, g);
    CHECK(bloom_test::same_files(pf, pg));

    // A dot model writes the kind and the sections it always did, and loads as dot.
    gmf_model dot = make_model(p.n_users, p.n_items, m::interaction::dot);
    io::save(path, dot);
    {
        io::file_loader in(path);
        CHECK(in.root().get<std::string>("model.kind") == "factorization");
        CHECK_FALSE(in.reader().has("model.output.table.weights"));
        CHECK_FALSE(in.has("model.output.kind"));
    }
    CHECK(io::load<gmf_model>(path).interaction_kind() == m::interaction::dot);
    for (const std::string& x : {path, pf, pg}) std::remove(x.c_str());
}

TEST_CASE("gmf: one thread is reproducible bit for bit, and a saved state resumes exactly",
          "[models][mf][gmf][determinism]") {
    const planted& p = sample();
    m::fit_options f4 = bce_fit();
    f4.epochs = 4;
    // all at once
    gmf_model a = make_model(p.n_users, p.n_items, m::interaction::gmf);
    a.fit(p.users, p.items, f4);
    gmf_model b = make_model(p.n_users, p.n_items, m::interaction::gmf);
    b.fit(p.users, p.items, f4);
    // 2 epochs, saved with the state, loaded, 2 more
    m::training_state st;
    m::fit_options f2 = f4;
    f2.epochs = 2;
    f2.state = &st;
    gmf_model c = make_model(p.n_users, p.n_items, m::interaction::gmf);
    c.fit(p.users, p.items, f2);
    const std::string ck = temp_path("ckpt.bin");
    {
        io::file_saver out(ck);
        out.object("model", c);
        out.object("train", st);
        out.commit();
    }
    io::file_loader in(ck);
    gmf_model d = in.make<gmf_model>("model");
    m::training_state st2;
    in.object("train", st2);
    CHECK(st2.interaction_kind == m::interaction::gmf);
    f2.state = &st2;
    d.fit(p.users, p.items, f2);
    const std::string pa = temp_path("a.bin"), pb = temp_path("b.bin"), pd = temp_path("d.bin");
    io::save(pa, a);
    io::save(pb, b);
    io::save(pd, d);
    CHECK(bloom_test::same_files(pa, pb));
    CHECK(bloom_test::same_files(pa, pd));

    // The gmf run's state does not resume a dot model.
    m::training_state st3;
    in.object("train", st3);
    gmf_model e = make_model(p.n_users, p.n_items, m::interaction::dot);
    m::fit_options f3 = f2;
    f3.state = &st3;
    CHECK_THROWS_WITH(e.fit(p.users, p.items, f3),
                      Catch::Contains("the state is a gmf model's, this model is dot"));
    for (const std::string& x : {ck, pa, pb, pd}) std::remove(x.c_str());
}

TEST_CASE("gmf: trains on 2 threads (Hogwild, h shared) to one thread's accuracy",
          "[models][mf][gmf][threads]") {
    const planted& p = sample();
    double auc[2] = {0, 0};
    for (const std::uint32_t threads : {1u, 2u}) {
        gmf_model f = make_model(p.n_users, p.n_items, m::interaction::gmf);
        m::fit_options fo = bce_fit();
        fo.threads = threads;
        f.fit(p.users, p.items, fo);
        const auto h = f.output_weights().table().weights();
        CHECK(h.allFinite());
        CHECK_FALSE((h.array() == 1.0f).all());
        f.prepare_scoring();
        auc[threads - 1] =
            evaluate(p, [&](std::uint32_t u, float* s) { f.score_user(u, s); }).auc;
    }
    INFO("AUC: one thread " << auc[0] << ", two " << auc[1]);
    CHECK(auc[1] > 0.75);
    CHECK(auc[1] > auc[0] - 0.05);
}

TEST_CASE("gmf: bad settings are refused with what and the numbers", "[models][mf][gmf][errors]") {
    const planted& p = sample();
    CHECK_THROWS_WITH(make_model(4, 4, static_cast<m::interaction>(7)),
                      Catch::Contains("unknown interaction (7; dot or gmf)"));
    gmf_model dot = make_model(4, 4, m::interaction::dot);
    CHECK_THROWS_WITH(dot.output_weights(), Catch::Contains("a dot model has no output weights"));
    gmf_model f = make_model(p.n_users, p.n_items, m::interaction::gmf);
    m::fit_options fo = bce_fit();
    fo.n_negatives = 0;
    CHECK_THROWS_WITH(f.fit(p.users, p.items, fo),
                      Catch::Contains("the bce loss needs n_negatives >= 1"));
    fo.n_negatives = 4;
    fo.objective = static_cast<m::loss>(42);
    CHECK_THROWS_WITH(f.fit(p.users, p.items, fo), Catch::Contains("unknown loss (42)"));
    CHECK(std::string(m::to_string(m::loss::bce)) == "bce");
    CHECK(std::string(m::to_string(m::interaction::gmf)) == "gmf");
    // The loss numbers that model files and states store stay where they were.
    CHECK(static_cast<int>(m::loss::regression) == 5);
    CHECK(static_cast<int>(m::loss::bce) == 6);
}
