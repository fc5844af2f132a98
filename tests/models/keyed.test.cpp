// Keyed Bloom embeddings (models/keyed.hpp): positions hashed on the fly from the spec equal the
// position tables' bit for bit; a factorization of keyed kinds trained on dense ids equals the
// table-mode one where the math is the same; its memory does not depend on the key space; keys
// above 32 bits work; bad input is refused. The large-space case is the small one here (10^9
// possible keys, a few thousand interactions); bench/bench_keyed.cpp and bloom-keyed-memory run
// it at scale.
#include <catch2/catch.hpp>

#include "../model_files.hpp"

#include <bloom/data/sparse_keys.hpp>
#include <bloom/encoding/position_table.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/keyed.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <vector>

namespace {

namespace m = bloom::models;
using adam = bloom::optim::adam<float>;
using sgd = bloom::optim::sgd<float>;
using bloom_test::emb;
using bloom_test::opt;
using bloom_test::spec;

template <class Hash>
using keyed_t = m::keyed_bloom_embedding<float, adam, Hash>;
using bloom_t = m::bloom_embedding<float, adam>;

bool same(const bloom::matrix<float>& a, const bloom::matrix<float>& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

// Every id's positions: the keyed kind (on the fly) against bloom_embedding's table and the
// encoding's basic_position_table, both caches of the same spec.
template <class Hash>
void check_positions(std::uint32_t n, const m::bloom_options& b) {
    INFO(bloom::hash_name<Hash>() << ", k = " << b.k);
    const bloom::basic_spec<Hash> s = m::make_spec<Hash>(n, b);
    const keyed_t<Hash> keyed(s, b.comb, emb(1), opt());
    const bloom_t table(n, b, emb(1), opt(), Hash{});
    const bloom::basic_position_table<Hash> cache(s);
    std::vector<std::uint32_t> p(b.k);
    std::size_t bad = 0;
    for (std::uint32_t id = 0; id < n; ++id) {
        keyed.positions(id, p.data());
        if (std::memcmp(p.data(), table.positions(id), 4 * b.k) != 0) ++bad;
        if (std::memcmp(p.data(), cache.row(id), 4 * b.k) != 0) ++bad;
    }
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("keyed: on-the-fly positions equal the position tables' bit for bit",
          "[models][keyed]") {
    for (const std::uint32_t k : {1U, 2U, 4U, 7U}) {
        check_positions<bloom::xxh3>(3000, spec(500, k));
        check_positions<bloom::murmur3_32>(3000, spec(500, k));
        check_positions<bloom::multiply_shift>(3000, spec(500, k));
    }
    m::bloom_options dh = spec(333, 5);
    dh.derive = bloom::derivation::double_hashing;
    check_positions<bloom::xxh3>(2000, dh);

    // 8-byte keys (key_spec): a table over the first ids of the same spec agrees too.
    m::bloom_options b = spec(1000, 4);
    bloom::basic_spec<bloom::xxh3> s = m::key_spec<bloom::xxh3>(b, 5000);
    const keyed_t<bloom::xxh3> keyed(s, m::combine::sum, emb(1), opt());
    const bloom::basic_position_table<bloom::xxh3> cache(s);
    std::vector<std::uint32_t> p(4);
    std::size_t bad = 0;
    for (std::uint64_t id = 0; id < 5000; ++id) {
        keyed.positions(id, p.data());
        if (std::memcmp(p.data(), cache.row(id), 16) != 0) ++bad;
    }
    CHECK(bad == 0);
}

TEST_CASE("keyed: forward and backward equal bloom_embedding's on dense ids", "[models][keyed]") {
    for (const m::combine comb : {m::combine::sum, m::combine::mean}) {
        m::bloom_options b = spec(40, 3);
        b.comb = comb;
        const std::uint32_t n = 200;
        keyed_t<bloom::murmur3_32> keyed(m::make_spec<bloom::murmur3_32>(n, b), comb, emb(4), opt());
        bloom_t table(n, b, emb(4), opt(), bloom::murmur3_32{});
        REQUIRE(same(keyed.table().weights(), table.table().weights()));
        std::vector<float> a(8), c(8), g(8);
        std::mt19937_64 rng(3);
        for (int step = 0; step < 5; ++step) {
            for (int t = 0; t < 30; ++t) {
                const auto id = static_cast<std::uint32_t>(rng() % n);
                keyed.forward(id, a.data());
                table.forward(id, c.data());
                REQUIRE(std::memcmp(a.data(), c.data(), sizeof(float) * 8) == 0);
                for (float& x : g) x = static_cast<float>(static_cast<double>(rng() % 1000) / 1000.0 - 0.5);
                keyed.backward(id, g.data());
                table.backward(id, g.data());
            }
            keyed.step();
            table.step();
        }
        CHECK(same(keyed.table().weights(), table.table().weights()));
        CHECK(same(keyed.table().optimizer().second_moment(), table.table().optimizer().second_moment()));
    }
}

TEST_CASE("keyed: a factorization trained on the fly equals the table-mode one on dense ids",
          "[models][keyed][mf]") {
    // Every item occurs in training, so the keyed model's negatives (the distinct items it was
    // trained on) are the table model's (every id below n_items), drawn in the same order. The
    // biases are where the two differ (hashed against one entry per id): frozen at zero by a
    // bias learning rate of 0, the math is the same, and so is every bit of the models.
    const std::uint32_t n_users = 60, n_items = 80;
    std::vector<std::uint32_t> users, items;
    std::vector<std::uint64_t> ukeys, ikeys;
    std::mt19937_64 rng(8);
    for (std::uint32_t t = 0; t < 900; ++t) {
        const std::uint32_t u = t % n_users;
        const std::uint32_t i = t < n_items ? t : static_cast<std::uint32_t>((rng() % 40) * 2 + u % 2);
        users.push_back(u);
        items.push_back(i);
        ukeys.push_back(u);
        ikeys.push_back(i);
    }
    sgd::config frozen;
    frozen.lr = 0.0;
    using keyed_user = m::keyed_bloom_embedding<float, adam, bloom::xxh3>;
    using keyed_item = m::keyed_bloom_embedding<float, adam, bloom::murmur3_32>;
    for (const m::loss l : {m::loss::bpr, m::loss::adaptive_hinge, m::loss::pointwise}) {
        INFO("loss " << m::to_string(l));
        const m::bloom_options bu = spec(20, 3), bi = spec(24, 2);
        m::factorization<bloom_t, bloom_t, sgd> table(
            bloom_t(n_users, bu, emb(1), opt()),
            bloom_t(n_items, bi, emb(2), opt(), bloom::murmur3_32{}), frozen);
        m::factorization<keyed_user, keyed_item, sgd> keyed(
            keyed_user(m::make_spec<bloom::xxh3>(n_users, bu), bu.comb, emb(1), opt()),
            keyed_item(m::make_spec<bloom::murmur3_32>(n_items, bi), bi.comb, emb(2), opt()),
            frozen);
        m::fit_options f;
        f.epochs = 3;
        f.batch = 32;
        f.objective = l;
        f.n_negatives = 3;
        const m::fit_report rt = table.fit(users, items, f);
        const m::fit_report rk = keyed.fit(ukeys, ikeys, f);
        CHECK(rt.epoch_loss == rk.epoch_loss);
        CHECK(keyed.negative_keys().size() == n_items);
        CHECK(same(table.user_embedding().table().weights(), keyed.user_embedding().table().weights()));
        CHECK(same(table.item_embedding().table().weights(), keyed.item_embedding().table().weights()));
        CHECK(same(table.item_embedding().table().optimizer().first_moment(),
                   keyed.item_embedding().table().optimizer().first_moment()));
        CHECK(table.predict(3, 7) == keyed.predict(3, 7));
        // A run with another seed differs, so the comparison can tell models apart.
        f.seed = 43;
        keyed.fit(ukeys, ikeys, f);
        CHECK_FALSE(same(table.item_embedding().table().weights(),
                         keyed.item_embedding().table().weights()));
    }
}

TEST_CASE("keyed: the model's memory does not depend on the key space", "[models][keyed][memory]") {
    // The same rows at 10^6, 10^8 and 10^9 possible keys (and with no bound at all): the same
    // learned scalars and the same bytes, before and after training on keys drawn from each space.
    using kt = m::keyed_bloom_embedding<float, adam, bloom::xxh3>;
    const m::bloom_options b = spec(2000, 4);
    std::vector<std::size_t> params, bytes, negatives;
    for (const std::uint64_t space : {std::uint64_t{1000000}, std::uint64_t{100000000},
                                      std::uint64_t{1000000000}, std::uint64_t{0}}) {
        INFO("key space " << space);
        const std::uint64_t draw_space = space == 0 ? (std::uint64_t{1} << 62) : space;
        bloom::data::sparse_key_config c;
        c.interactions = 5000;
        c.user_space = draw_space;
        c.item_space = draw_space;
        const bloom::data::key_interactions d = bloom::data::generate_sparse_keys(c);
        m::factorization<kt, kt, adam> model(kt(m::key_spec(b, space), b.comb, emb(1), opt()),
                                             kt(m::key_spec(b, space), b.comb, emb(2), opt()), opt());
        const std::size_t before = model.parameters();
        m::fit_options f;
        f.epochs = 1;
        model.fit(d.users, d.items, f);
        CHECK(model.parameters() == before);
        // Two dim-8 tables of 2000 rows and two bias columns of 2000 rows: nothing per key.
        CHECK(model.parameters() == 2 * 2000 * 8 + 2 * 2000);
        params.push_back(model.parameters());
        bytes.push_back(model.user_embedding().memory_bytes() + model.item_embedding().memory_bytes());
        negatives.push_back(model.negative_keys().size());
        CHECK(model.negative_keys().size() <= c.interactions);
        // The keys really are spread over the space.
        std::uint64_t top = 0;
        for (const std::uint64_t k : d.items) top = std::max(top, k);
        CHECK(static_cast<double>(top) > 0.5 * static_cast<double>(draw_space));
    }
    CHECK(params == std::vector<std::size_t>(4, params[0]));
    CHECK(bytes == std::vector<std::size_t>(4, bytes[0]));
    CHECK(bytes[0] == 2 * (2000 * 8 * sizeof(float) + 2000 * 4));
}

TEST_CASE("keyed: keys above 32 bits hash as 64-bit keys and train", "[models][keyed]") {
    using kt = m::keyed_bloom_embedding<float, adam, bloom::xxh3>;
    const m::bloom_options b = spec(500, 4);
    const kt kind(m::key_spec(b), b.comb, emb(1), opt());
    // Key 2^40 + x is not key x: the positions differ for (nearly) every x.
    std::vector<std::uint32_t> lo(4), hi(4);
    int same_pos = 0;
    for (std::uint64_t x = 0; x < 200; ++x) {
        kind.positions(x, lo.data());
        kind.positions((std::uint64_t{1} << 40) + x, hi.data());
        bloom::spec_config sc = kind.spec().config();
        const bloom::basic_spec<bloom::xxh3> s(sc);
        std::vector<std::uint32_t> want(4);
        s.positions((std::uint64_t{1} << 40) + x, want.data());
        REQUIRE(hi == want);
        if (lo == hi) ++same_pos;
    }
    CHECK(same_pos == 0);

    bloom::data::sparse_key_config c;
    c.interactions = 4000;
    c.user_space = 1000000000;
    c.item_space = 1000000000;
    c.key_offset = std::uint64_t{1} << 40;
    const bloom::data::key_interactions d = bloom::data::generate_sparse_keys(c);
    for (std::size_t t = 0; t < d.size(); ++t) {
        REQUIRE(d.users[t] >= c.key_offset);
        REQUIRE(d.items[t] >= c.key_offset);
    }
    m::factorization<kt, kt, adam> model(kt(m::key_spec(b), b.comb, emb(1), opt()),
                                         kt(m::key_spec(b), b.comb, emb(2), opt()), opt());
    m::fit_options f;
    f.epochs = 3;
    const m::fit_report r = model.fit(d.users, d.items, f);
    CHECK(r.epoch_loss.back() < r.epoch_loss.front());
    // Seen pairs score above pairs with random unseen keys, on average.
    double seen = 0, unseen = 0;
    std::mt19937_64 rng(5);
    for (std::size_t t = 0; t < 500; ++t) {
        seen += static_cast<double>(model.predict(d.users[t], d.items[t]));
        unseen += static_cast<double>(model.predict(d.users[t], c.key_offset + rng() % c.item_space));
    }
    CHECK(seen > unseen);
    // score() ranks a candidate list as predict() does, pair by pair.
    std::vector<float> s(3);
    const std::uint64_t cand[3] = {d.items[0], d.items[1], d.items[2]};
    model.score(d.users[0], cand, 3, s.data());
    for (int t = 0; t < 3; ++t) CHECK(s[static_cast<std::size_t>(t)] == model.predict(d.users[0], cand[t]));
}

TEST_CASE("keyed: the hashed biases are the bias rows of the key's positions",
          "[models][keyed][mf]") {
    using kt = m::keyed_bloom_embedding<float, adam, bloom::xxh3>;
    const m::bloom_options b = spec(50, 3);
    m::factorization<kt, kt, adam> model(kt(m::key_spec(b), b.comb, emb(1), opt()),
                                         kt(m::key_spec(b), b.comb, emb(2), opt()), opt());
    std::vector<std::uint64_t> users, items;
    for (std::uint64_t t = 0; t < 400; ++t) {
        users.push_back(1000003 * (t % 20));
        items.push_back(7777777777ULL + 13 * (t % 10));
    }
    m::fit_options f;
    f.epochs = 2;
    model.fit(users, items, f);
    // predict(u, i) - user(u) . item(i) is b(u) + b(i): the difference between two users is
    // the same for every item, and the biases have moved from zero.
    const kt& ue = model.user_embedding();
    const kt& ie = model.item_embedding();
    const auto bias_sum = [&](std::uint64_t u, std::uint64_t i) {
        std::vector<float> eu(8), ei(8);
        ue.forward(u, eu.data());
        ie.forward(i, ei.data());
        double dot = 0;
        for (std::size_t j = 0; j < 8; ++j) dot += static_cast<double>(eu[j]) * static_cast<double>(ei[j]);
        return static_cast<double>(model.predict(u, i)) - dot;
    };
    const double d1 = bias_sum(users[1], items[2]) - bias_sum(users[4], items[2]);
    const double d2 = bias_sum(users[1], items[7]) - bias_sum(users[4], items[7]);
    CHECK(d1 == Approx(d2).margin(1e-5));
    CHECK(std::abs(bias_sum(users[1], items[2])) > 1e-4);
}

TEST_CASE("keyed: bad input is refused with a message", "[models][keyed][errors]") {
    using kt = m::keyed_bloom_embedding<float, adam, bloom::xxh3>;
    m::bloom_options b = spec(100, 4);
    bloom::basic_spec<bloom::xxh3> s = m::key_spec(b, 1000);
    m::embedding_options o = emb(1);
    o.dim = 0;
    CHECK_THROWS_WITH(kt(s, b.comb, o, opt()), Catch::Contains("dim must be at least 1"));
    m::bloom_options big = spec(100, 65);
    CHECK_THROWS_WITH(kt(m::key_spec(big), b.comb, emb(1), opt()), Catch::Contains("k = 65 exceeds 64"));
    m::bloom_options strided = b;
    strided.key_stride = 3;
    CHECK_THROWS_WITH(m::key_spec(strided), Catch::Contains("key_stride is 3"));
    b.rows = 0;
    CHECK_THROWS_AS(m::key_spec(b), bloom::invalid_argument);

    m::factorization<kt, kt, adam> model(kt(s, m::combine::sum, emb(1), opt()),
                                         kt(s, m::combine::sum, emb(2), opt()), opt());
    m::fit_options f;
    CHECK_THROWS_WITH(model.fit(std::vector<std::uint64_t>{1, 1000}, std::vector<std::uint64_t>{2, 3}, f),
                      Catch::Contains("interaction 1: user key 1000 is outside the key space (1000 keys)"));
    CHECK_THROWS_WITH(model.fit(std::vector<std::uint64_t>{1}, std::vector<std::uint64_t>{5000}, f),
                      Catch::Contains("item key 5000 is outside the key space"));
    CHECK_THROWS_AS(model.predict(1, 1000), bloom::out_of_range);
    CHECK_THROWS_AS(model.fit(std::vector<std::uint64_t>{}, std::vector<std::uint64_t>{}, f),
                    bloom::invalid_argument);
    // 4-byte keys (make_spec) take no key above 32 bits.
    m::factorization<kt, kt, adam> four(kt(m::make_spec<bloom::xxh3>(10, spec(20, 2)), m::combine::sum, emb(1), opt()),
                                        kt(m::make_spec<bloom::xxh3>(10, spec(20, 2)), m::combine::sum, emb(2), opt()), opt());
    CHECK_THROWS_AS(four.predict(std::uint64_t{1} << 33, 1), bloom::out_of_range);

}

TEST_CASE("keyed: a keyed factorization trains on two threads", "[models][keyed][threads]") {
    using kt = m::keyed_bloom_embedding<float, adam, bloom::xxh3>;
    const m::bloom_options b = spec(300, 4);
    bloom::data::sparse_key_config c;
    c.interactions = 6000;
    c.user_space = 100000;
    c.item_space = 1000000000;
    const bloom::data::key_interactions d = bloom::data::generate_sparse_keys(c);
    m::factorization<kt, kt, adam> model(kt(m::key_spec(b), b.comb, emb(1), opt()),
                                         kt(m::key_spec(b), b.comb, emb(2), opt()), opt());
    m::fit_options f;
    f.epochs = 3;
    f.threads = 2;
    const m::fit_report r = model.fit(d.users, d.items, f);
    CHECK(r.epoch_loss.back() < r.epoch_loss.front());
    CHECK(std::isfinite(model.predict(d.users[0], d.items[0])));
}
