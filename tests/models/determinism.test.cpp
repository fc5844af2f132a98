// Determinism of the factorization: two trainings with the same seeds (one thread) give the same
// model bit for bit, every weight and every optimizer moment and step count, whatever the
// embedding kind and the loss. The models are compared as model files (io::save keeps the
// optimizer state), section by section; another seed gives another file, so the comparison can
// tell models apart.
#include <catch2/catch.hpp>

#include "../model_files.hpp"

#include <bloom/hash/murmur3.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/optim/adagrad.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace io = bloom::io;
namespace m = bloom::models;
using adam = bloom::optim::adam<float>;

std::string temp_path(const std::string& name) {
    return "/tmp/bloom-determinism-test-" + std::to_string(::getpid()) + "-" + name;
}

using bloom_test::same_files;

// 50 users with 10 interactions each, over 70 items; per-user histories and item counts for the
// history and frequency kinds; ratings for explicit feedback.
struct data {
    std::uint32_t n_users = 50, n_items = 70;
    std::vector<std::uint32_t> users, items;
    std::vector<float> ratings;
    std::vector<std::size_t> offsets;
    std::vector<std::uint32_t> history;
    std::vector<std::uint64_t> item_counts;
    data() {
        std::mt19937_64 rng(21);
        offsets.push_back(0);
        for (std::uint32_t u = 0; u < n_users; ++u) {
            for (int t = 0; t < 10; ++t) {
                const auto i = static_cast<std::uint32_t>((rng() % 35) * 2 + (u % 2));
                users.push_back(u);
                items.push_back(i);
                ratings.push_back(static_cast<float>(1 + rng() % 5));
                history.push_back(i);
            }
            offsets.push_back(history.size());
        }
        item_counts.assign(n_items, 0);
        for (std::uint32_t i : items) ++item_counts[i];
    }
};
const data& sample() {
    static const data d;
    return d;
}

using bloom_test::emb;
using bloom_test::opt;
using bloom_test::spec;
m::fit_options fit(m::loss l, std::uint64_t seed) {
    m::fit_options f;
    f.epochs = 3;
    f.batch = 32;
    f.objective = l;
    f.n_negatives = 3;
    f.seed = seed;
    return f;
}

// Trains make() twice with the same seed and once with another, saves the three and compares.
template <class Make>
void check_reproducible(const std::string& name, Make make, m::loss l = m::loss::bpr) {
    const data& d = sample();
    const std::string a = temp_path(name + "-a.bin"), b = temp_path(name + "-b.bin"),
                      c = temp_path(name + "-c.bin");
    auto train = [&](std::uint64_t seed, const std::string& path) {
        auto model = make();
        if (l == m::loss::regression)
            model.fit_explicit(d.users, d.items, d.ratings, fit(l, seed));
        else
            model.fit(d.users, d.items, fit(l, seed));
        io::save(path, model);  // weights, biases and every optimizer's moments and steps
    };
    train(5, a);
    train(5, b);
    train(6, c);
    INFO(name << ", loss " << m::to_string(l));
    CHECK(same_files(a, b));
    CHECK_FALSE(same_files(a, c));
    std::remove(a.c_str());
    std::remove(b.c_str());
    std::remove(c.c_str());
}

using full_t = m::full_embedding<float, adam>;
using bloom_t = m::bloom_embedding<float, adam>;
using hash_t = m::hash_embedding<float, adam>;
using qr_t = m::qr_embedding<float, adam>;
using freq_t = m::freq_bloom_embedding<float, adam>;
using hist_t = m::history_bloom_embedding<float, adam>;

}  // namespace

TEST_CASE("determinism: a seed gives the same factorization bit for bit, for every kind",
          "[models][mf][determinism]") {
    const data& d = sample();
    check_reproducible("full", [&] {
        return m::factorization<full_t, full_t, adam>(full_t(d.n_users, emb(1), opt()),
                                                      full_t(d.n_items, emb(2), opt()), opt());
    });
    check_reproducible("bloom", [&] {
        return m::factorization<bloom_t, bloom_t, adam>(
            bloom_t(d.n_users, spec(20, 3), emb(1), opt()),
            bloom_t(d.n_items, spec(24, 2), emb(2), opt(), bloom::murmur3_32{}), opt());
    });
    check_reproducible("hashing-trick", [&] {
        return m::factorization<bloom_t, bloom_t, adam>(
            bloom_t(d.n_users, spec(20, 1), emb(1), opt()),
            bloom_t(d.n_items, spec(24, 1), emb(2), opt()), opt());
    });
    check_reproducible("hash-emb", [&] {
        return m::factorization<hash_t, hash_t, adam>(hash_t(d.n_users, spec(20, 2), emb(1), opt()),
                                                      hash_t(d.n_items, spec(24, 3), emb(2), opt()),
                                                      opt());
    });
    check_reproducible("qr", [&] {
        return m::factorization<qr_t, qr_t, adam>(qr_t(d.n_users, 16, emb(1), opt()),
                                                  qr_t(d.n_items, 20, emb(2), opt()), opt());
    });
    m::freq_options fo;
    fo.head_share = 0.4;
    check_reproducible("freq-bloom", [&] {
        std::vector<std::uint64_t> user_counts(d.n_users, 10);
        user_counts[7] = 30;  // a head that is not the lowest ids
        return m::factorization<freq_t, freq_t, adam>(
            freq_t(d.n_users, user_counts, spec(20, 2), fo, emb(1), opt()),
            freq_t(d.n_items, d.item_counts, spec(24, 3), fo, emb(2), opt()), opt());
    });
    check_reproducible("history-bloom", [&] {
        return m::factorization<hist_t, full_t, adam>(
            hist_t(d.n_users, d.offsets, d.history, d.n_items, spec(32, 2), emb(1), opt()),
            full_t(d.n_items, emb(2), opt()), opt());
    });
}

TEST_CASE("determinism: a seed gives the same factorization bit for bit, for every loss",
          "[models][mf][determinism]") {
    const data& d = sample();
    for (const m::loss l : {m::loss::bpr, m::loss::bpr_log, m::loss::pointwise, m::loss::hinge,
                            m::loss::adaptive_hinge, m::loss::regression})
        check_reproducible("bloom-loss", [&] {
            return m::factorization<bloom_t, bloom_t, adam>(
                bloom_t(d.n_users, spec(20, 3), emb(1), opt()),
                bloom_t(d.n_items, spec(24, 2), emb(2), opt()), opt());
        }, l);
}

TEST_CASE("determinism: the same with SGD (momentum) and Adagrad state",
          "[models][mf][determinism]") {
    const data& d = sample();
    using sgd = bloom::optim::sgd<float>;
    sgd::config sc;
    sc.lr = 0.05;
    sc.momentum = 0.9;
    using sgd_bloom = m::bloom_embedding<float, sgd>;
    check_reproducible("sgd", [&] {
        return m::factorization<sgd_bloom, sgd_bloom, sgd>(
            sgd_bloom(d.n_users, spec(20, 3), emb(1), sc), sgd_bloom(d.n_items, spec(24, 2), emb(2), sc),
            sc);
    });
    using ada = bloom::optim::adagrad<float>;
    ada::config ac;
    ac.lr = 0.05;
    using ada_hash = m::hash_embedding<float, ada>;
    check_reproducible("adagrad", [&] {
        return m::factorization<ada_hash, ada_hash, ada>(
            ada_hash(d.n_users, spec(20, 2), emb(1), ac), ada_hash(d.n_items, spec(24, 3), emb(2), ac),
            ac);
    });
}
