#include <bloom/ad/gradient_check.hpp>
#include <bloom/ad/losses.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/network/bloom_mlp.hpp>
#include <bloom/models/network/positions.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>
#include <sstream>
#include <vector>

using namespace bloom;
using namespace bloom::models;

namespace {

eval::user_items rows_of(const std::vector<std::vector<std::uint32_t>>& rows) {
    eval::user_items x;
    x.offsets.push_back(0);
    for (const auto& r : rows) {
        x.items.insert(x.items.end(), r.begin(), r.end());
        x.offsets.push_back(x.items.size());
    }
    return x;
}

std::vector<std::uint32_t> row(const eval::user_items& x, std::size_t r) {
    return std::vector<std::uint32_t>(x.begin(r), x.end(r));
}

// A small data set: 60 users in 3 groups, each user holds 6 of its group's 8 items.
eval::user_items grouped_sets(std::uint32_t users, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<std::uint32_t>> rows;
    for (std::uint32_t u = 0; u < users; ++u) {
        const std::uint32_t g = u % 3;
        std::vector<std::uint32_t> items;
        for (std::uint32_t j = 0; j < 8; ++j) items.push_back(g * 8 + j);
        for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng() % i]);
        items.resize(6);
        std::sort(items.begin(), items.end());
        rows.push_back(items);
    }
    return rows_of(rows);
}

}  // namespace

TEST_CASE("split_halves reproduces the reference script's NumPy split bit for bit") {
    // Known answer from NumPy 1.24 (the procedure of ../shared/peers/torch_bloom_mlp.py, seed 7).
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs = {
        {3, 5}, {1, 2}, {1, 7}, {2, 0}, {3, 1}, {1, 4}, {2, 9}, {4, 3}, {5, 8}, {3, 2},
        {2, 2}, {1, 9}, {4, 6}, {5, 1}, {5, 0}, {6, 4}, {6, 5}, {6, 6}, {7, 7}, {7, 0},
        {8, 3}, {8, 8}, {8, 9}, {9, 1}, {9, 2}, {9, 3}, {9, 4}, {10, 6}, {10, 7}};
    data::interactions d;
    for (auto [u, i] : pairs) {
        d.users.push_back(u);
        d.items.push_back(i);
    }
    d.n_users = 11;
    d.n_items = 10;
    halves_options o;
    o.order = half_order::numpy;
    o.seed = 7;
    const halves h = split_halves(d, o);
    CHECK(h.test_users == std::vector<std::uint32_t>{2});
    CHECK(row(h.test_in, 0) == std::vector<std::uint32_t>{0});
    CHECK(row(h.test_target, 0) == std::vector<std::uint32_t>{2, 9});
    CHECK(h.train_users == std::vector<std::uint32_t>{10, 1, 6, 3, 9, 5, 4, 7, 8});
    const std::vector<std::vector<std::uint32_t>> in = {{6}, {4, 9}, {5}, {5}, {2, 3},
                                                        {8}, {6},    {7}, {8}};
    const std::vector<std::vector<std::uint32_t>> tg = {{7}, {2, 7}, {4, 6}, {1, 2}, {1, 4},
                                                        {0, 1}, {3}, {0}, {3, 9}};
    for (std::size_t r = 0; r < in.size(); ++r) {
        CHECK(row(h.train_in, r) == in[r]);
        CHECK(row(h.train_target, r) == tg[r]);
    }
    o.test_share = 0.2;
    CHECK_THROWS_WITH(split_halves(d, o), Catch::Contains("test_share must be 0.1"));
}

TEST_CASE("split_halves (bloom order) gives disjoint halves of every user's distinct items") {
    data::synthetic_config c;
    c.n_users = 200;
    c.n_items = 300;
    c.n_interactions = 4000;
    const data::interactions d = data::make_synthetic(c);
    halves_options o;
    o.seed = 3;
    const halves h = split_halves(d, o);
    CHECK(h.test_users.size() == 20);
    CHECK(h.train_users.size() == 180);
    const eval::user_items sets = user_sets(d);
    for (std::size_t r = 0; r < h.train_users.size(); ++r) {
        std::vector<std::uint32_t> a = row(h.train_in, r), b = row(h.train_target, r);
        std::vector<std::uint32_t> all = a;
        all.insert(all.end(), b.begin(), b.end());
        std::sort(all.begin(), all.end());
        const std::uint32_t u = h.train_users[r];
        CHECK(all == std::vector<std::uint32_t>(sets.begin(u), sets.end(u)));
        CHECK(a.size() == std::max<std::size_t>(1, all.size() / 2));
    }
    // another seed, other halves; the same seed, the same halves
    const halves again = split_halves(d, o);
    CHECK(again.train_in.items == h.train_in.items);
    o.seed = 4;
    CHECK(split_halves(d, o).train_in.items != h.train_in.items);
}

TEST_CASE("ecoc_code: distinct non-empty code words of about m/2 bits, fixed by the seed") {
    const sparse_code c = ecoc_code(500, 64, 9);
    CHECK(c.items() == 500);
    CHECK(c.fixed_k() == 0);
    std::set<std::vector<std::uint32_t>> words;
    std::size_t bits = 0;
    for (std::uint32_t i = 0; i < 500; ++i) {
        words.insert(std::vector<std::uint32_t>(c.begin(i), c.end(i)));
        bits += c.count(i);
        CHECK(std::is_sorted(c.begin(i), c.end(i)));
    }
    CHECK(words.size() == 500);
    CHECK(static_cast<double>(bits) / 500.0 == Approx(32.0).margin(1.5));
    CHECK(ecoc_code(500, 64, 9) == c);
    CHECK(ecoc_code(500, 64, 10) != c);
    CHECK_THROWS_WITH(ecoc_code(20, 4, 1), Catch::Contains("cannot give 20 distinct"));
}

TEST_CASE("codes: identity, spec and table codes, and their errors") {
    const sparse_code id = identity_code(5);
    CHECK(id.m == 5);
    CHECK(id.fixed_k() == 1);
    std::vector<std::uint32_t> set;
    const std::vector<std::uint32_t> items = {4, 1, 4};
    id.encode_set(items.data(), items.size(), set);
    CHECK(set == std::vector<std::uint32_t>{1, 4});

    spec_config sc;
    sc.items = 100;
    sc.m = 20;
    sc.k = 3;
    const basic_spec<murmur3_32> spec(sc);
    const sparse_code b = spec_code(spec);
    CHECK(b.fixed_k() == 3);
    std::uint32_t p[3];
    spec.positions(std::uint32_t{42}, p);
    CHECK(std::vector<std::uint32_t>(b.begin(42), b.end(42)) == std::vector<std::uint32_t>(p, p + 3));

    CHECK_THROWS_WITH(table_code(4, 2, {0, 1, 2, 4}), Catch::Contains("is not below m = 4"));
    CHECK_THROWS_WITH(table_code(4, 0, {0}), Catch::Contains("k = 0"));
    CHECK_THROWS_WITH(table_code(4, 2, {0, 1, 2}), Catch::Contains("not d rows of k = 2"));
    CHECK_THROWS_WITH(identity_code(0), Catch::Contains("d = 0"));
}

TEST_CASE("likelihood recovery sums the log-probabilities of an item's positions") {
    // 3 items, m = 4, k = 2; item 1 hits position 3 twice (it counts twice).
    const sparse_code c = table_code(4, 2, {0, 1, 3, 3, 1, 2});
    network_options o;
    o.hidden = {3};
    bloom_mlp<double> net(item_code<double>::from_sparse(c), item_code<double>::from_sparse(c), o);
    const double v[4] = {-1.0, -2.0, -0.5, -3.0};
    double s[3];
    net.scores_from_values(v, s);
    CHECK(s[0] == -3.0);
    CHECK(s[1] == -6.0);
    CHECK(s[2] == -2.5);
    // a variable-length code (ECOC-like) sums its listed positions
    sparse_code e;
    e.m = 4;
    e.offsets = {0, 1, 4, 6};
    e.positions = {2, 0, 1, 3, 1, 2};
    e.refresh();
    network_options oe = o;
    oe.loss = output_loss::sigmoid;
    oe.rank = recovery::code_word;
    bloom_mlp<double> ecoc(item_code<double>::from_sparse(e), item_code<double>::from_sparse(e), oe);
    ecoc.scores_from_values(v, s);
    CHECK(s[0] == -0.5);
    CHECK(s[1] == -6.0);
    CHECK(s[2] == -2.5);
}

TEST_CASE("code-word recovery ranks items as the full code-word log-likelihood does") {
    const std::uint32_t d = 40;
    const sparse_code c = ecoc_code(d, 16, 5);
    network_options o;
    o.hidden = {8};
    o.loss = output_loss::sigmoid;
    o.rank = recovery::code_word;
    bloom_mlp<double> net(item_code<double>::from_sparse(c), item_code<double>::from_sparse(c), o);
    std::mt19937_64 rng(1);
    std::vector<double> z(16);
    for (double& x : z) x = static_cast<double>(rng() % 2001) / 250.0 - 4.0;
    std::vector<double> s(d);
    net.scores_from_values(z.data(), s.data());
    // brute force: sum_b c_b log s(z_b) + (1 - c_b) log(1 - s(z_b))
    std::vector<double> ll(d);
    for (std::uint32_t i = 0; i < d; ++i) {
        std::vector<int> bit(16, 0);
        for (const std::uint32_t* p = c.begin(i); p != c.end(i); ++p) bit[*p] = 1;
        for (std::size_t b = 0; b < 16; ++b) {
            const double sg = 1.0 / (1.0 + std::exp(-z[b]));
            ll[i] += bit[b] ? std::log(sg) : std::log(1.0 - sg);
        }
    }
    double offset = ll[0] - s[0];
    for (std::uint32_t i = 0; i < d; ++i) CHECK(ll[i] - s[i] == Approx(offset).epsilon(1e-9));
}

TEST_CASE("similarity recovery is the cosine with each item's output code") {
    matrix<double> e(3, 2);
    e << 1, 0, 0, 2, 0, 0;  // item 2 never occurred: a zero row
    network_options o;
    o.hidden = {4};
    o.loss = output_loss::regression;
    o.rank = recovery::similarity;
    bloom_mlp<double> net(item_code<double>::from_dense(e), item_code<double>::from_dense(e), o);
    const double v[2] = {3.0, 4.0};
    double s[3];
    net.scores_from_values(v, s);
    CHECK(s[0] == Approx(3.0));
    CHECK(s[1] == Approx(4.0));
    CHECK(s[2] == std::numeric_limits<double>::lowest());
}

TEST_CASE("the identity baseline is a plain softmax network: same logits, loss and first step") {
    const std::uint32_t d = 12;
    network_options o;
    o.hidden = {5};
    o.seed = 3;
    bloom_mlp<double> net(item_code<double>::from_sparse(identity_code(d)),
                          item_code<double>::from_sparse(identity_code(d)), o);
    const eval::user_items in = rows_of({{0, 3, 7}, {2}, {5, 6, 11, 1}});
    const eval::user_items tg = rows_of({{1, 2}, {4, 9, 10}, {8}});

    // The plain network, on dense multi-hot inputs and normalised dense targets, with copies of
    // the model's weights.
    matrix<double> X = matrix<double>::Zero(3, d), Y = matrix<double>::Zero(3, d);
    for (std::size_t r = 0; r < 3; ++r) {
        for (auto i : row(in, r)) X(static_cast<Eigen::Index>(r), i) = 1;
        for (auto i : row(tg, r)) Y(static_cast<Eigen::Index>(r), i) = 1;
    }
    ad::parameter<double> W1(net.first_weight()), b1(net.first_bias().value()),
        W2(net.layers().layer(0).weight().value()), b2(net.layers().layer(0).bias().value());
    ad::tape<double> t;
    const ad::var h = ad::relu(t, ad::add_bias(t, ad::matmul(t, t.constant(X), t.param(W1)), t.param(b1)));
    const ad::var z = ad::add_bias(t, ad::matmul(t, h, t.param(W2)), t.param(b2));
    const ad::var loss = ad::softmax_cross_entropy(t, z, Y);
    const double plain_loss = t.item(loss);
    t.backward(loss);

    matrix<double> V;
    const std::size_t all[3] = {0, 1, 2};
    net.output_values(in, all, 3, V);
    const matrix<double>& Z = t.value(z);
    for (Eigen::Index r = 0; r < 3; ++r) {
        const double lse = std::log((Z.row(r).array() - Z.row(r).maxCoeff()).exp().sum()) +
                           Z.row(r).maxCoeff();
        for (Eigen::Index c = 0; c < d; ++c) CHECK(V(r, c) == Approx(Z(r, c) - lse).epsilon(1e-12));
    }

    // One Adam step on each: the lazy update of the model's table equals the dense update at
    // step 1 (rows with zero gradient do not move either way).
    optim::adam_config oc;
    oc.lr = 0.01;
    optim::adam<double> a1(oc), a2(oc), a3(oc), a4(oc);
    a1.step(W1.value(), W1.grad());
    a2.step(b1.value(), b1.grad());
    a3.step(W2.value(), W2.grad());
    a4.step(b2.value(), b2.grad());
    std::mt19937_64 drop(0);
    network_fit_options f;
    f.lr = 0.01;
    f.epochs = 1;
    f.batch = 3;
    // fit() shuffles the rows of a batch; the loss of a full batch does not depend on the order
    const fit_report rep = net.fit(in, tg, f);
    CHECK(rep.epoch_loss.front() == Approx(plain_loss).epsilon(1e-12));
    CHECK((net.first_weight() - W1.value()).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((net.first_bias().value() - b1.value()).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((net.layers().layer(0).weight().value() - W2.value()).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((net.layers().layer(0).bias().value() - b2.value()).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("the network learns grouped item sets well above popularity, Bloom-coded too") {
    const eval::user_items all = grouped_sets(300, 1);
    data::engine rng(2);
    eval::user_items in, tg;
    resample_halves(all, rng, in, tg);
    const std::uint32_t d = 24;
    // train on the first 240 rows, test on the last 60
    auto slice = [](const eval::user_items& x, std::size_t b, std::size_t e) {
        std::vector<std::vector<std::uint32_t>> r;
        for (std::size_t i = b; i < e; ++i) r.push_back(row(x, i));
        return rows_of(r);
    };
    const eval::user_items tr_in = slice(in, 0, 240), tr_tg = slice(tg, 0, 240);
    const eval::user_items te_in = slice(in, 240, 300), te_tg = slice(tg, 240, 300);
    eval::ranking_options eo;
    eo.k = 5;
    eo.threads = 1;
    const eval::ranking_result pop =
        evaluate_popularity(item_counts(join_rows(tr_in, tr_tg), d), te_in, te_tg, eo);

    spec_config sc;
    sc.items = d;
    sc.m = 16;
    sc.k = 2;
    sc.seed = 4;
    for (const sparse_code& code : {identity_code(d), spec_code(basic_spec<xxh3>(sc))}) {
        network_options o;
        o.hidden = {16};
        bloom_mlp<float> net(item_code<float>::from_sparse(code), item_code<float>::from_sparse(code), o);
        network_fit_options f;
        f.epochs = 40;
        f.batch = 16;
        f.lr = 1e-2;
        f.resample = true;
        const fit_report rep = net.fit(tr_in, tr_tg, f);
        CHECK(rep.epoch_loss.back() < rep.epoch_loss.front());
        const eval::ranking_result r = net.evaluate(te_in, te_tg, eo);
        // a user's 3 target items are among the 5 items of its group that it does not show: a
        // model that knows the groups finds them all in its top 5 (recall@5 = 1), popularity
        // does not know the groups
        INFO("m = " << code.m << ": recall@5 " << r.recall << ", popularity " << pop.recall);
        if (code.m == d)
            CHECK(r.recall > 0.95);
        else  // 24 items in 16 positions, k = 2: collisions cost, but the groups still show
            CHECK(r.recall > pop.recall + 0.15);
    }
}

TEST_CASE("recommend excludes the input items, returns distinct items best first") {
    network_options o;
    o.hidden = {4};
    bloom_mlp<float> net(item_code<float>::from_sparse(identity_code(6)),
                         item_code<float>::from_sparse(identity_code(6)), o);
    const auto rec = net.recommend({0, 0, 3}, 10);
    REQUIRE(rec.size() == 4);
    std::set<std::uint64_t> ids;
    for (std::size_t j = 0; j < rec.size(); ++j) {
        ids.insert(rec[j].id);
        CHECK(rec[j].id != 0);
        CHECK(rec[j].id != 3);
        if (j > 0) CHECK(rec[j - 1].score >= rec[j].score);
    }
    CHECK(ids.size() == 4);
    CHECK_THROWS_WITH(net.recommend({6}, 3), Catch::Contains("item 6 (entry 0) is not below d = 6"));
}

TEST_CASE("bloom_mlp rejects bad configurations and data with messages that name them") {
    const auto c = item_code<float>::from_sparse(identity_code(5));
    network_options o;
    o.hidden = {};
    CHECK_THROWS_WITH(bloom_mlp<float>(c, c, o), Catch::Contains("at least one hidden layer"));
    o.hidden = {4, 0};
    CHECK_THROWS_WITH(bloom_mlp<float>(c, c, o), Catch::Contains("width 0"));
    o.hidden = {4};
    o.dropout = 1.0;
    CHECK_THROWS_WITH(bloom_mlp<float>(c, c, o), Catch::Contains("dropout must be in [0, 1)"));
    o.dropout = 0;
    o.loss = output_loss::regression;
    CHECK_THROWS_WITH(bloom_mlp<float>(c, c, o), Catch::Contains("sparse output code needs"));
    o.loss = output_loss::softmax;
    o.rank = recovery::code_word;
    CHECK_THROWS_WITH(bloom_mlp<float>(c, c, o), Catch::Contains("needs the sigmoid loss"));
    o.rank = recovery::likelihood;
    const auto c6 = item_code<float>::from_sparse(identity_code(6));
    CHECK_THROWS_WITH(bloom_mlp<float>(c, c6, o), Catch::Contains("5 items but the output code 6"));
    matrix<float> bad(5, 2);
    bad.setZero();
    bad(1, 1) = std::nanf("");
    CHECK_THROWS_WITH(item_code<float>::from_dense(bad), Catch::Contains("NaN"));

    bloom_mlp<float> net(c, c, o);
    const eval::user_items in = rows_of({{0}, {1}}), tg = rows_of({{2}, {7}});
    network_fit_options f;
    CHECK_THROWS_WITH(net.fit(in, tg, f), Catch::Contains("targets"));
    CHECK_THROWS_WITH(net.fit(in, rows_of({{2}}), f), Catch::Contains("2 input rows but 1 target rows"));
    f.batch = 0;
    CHECK_THROWS_WITH(net.fit(in, rows_of({{2}, {3}}), f), Catch::Contains("batch must be >= 1"));
    f.batch = 2;
    f.lr = 1e30;
    f.epochs = 5;
    CHECK_THROWS_WITH(net.fit(in, rows_of({{2}, {3}}), f), Catch::Contains("not finite"));
}

TEST_CASE("sparse codes round-trip through a stream, and a model built on the copy scores alike") {
    const sparse_code c = table_code(7, 2, {0, 1, 2, 3, 4, 5, 6, 0, 1, 1});
    std::stringstream ss;
    write_code(ss, c);
    const sparse_code back = read_code(ss, "codes.bin");
    CHECK(back == c);
    CHECK(back.fixed_k() == 2);
    network_options o;
    o.hidden = {3};
    bloom_mlp<float> a(item_code<float>::from_sparse(c), item_code<float>::from_sparse(c), o);
    bloom_mlp<float> b(item_code<float>::from_sparse(back), item_code<float>::from_sparse(back), o);
    CHECK(a.output_code().sparse == b.output_code().sparse);
    const auto ra = a.recommend({1}, 4), rb = b.recommend({1}, 4);
    CHECK(ra == rb);

    std::string bytes = ss.str();
    std::stringstream again;
    write_code(again, c);
    bytes = again.str();
    std::stringstream cut(bytes.substr(0, bytes.size() - 3));
    CHECK_THROWS_WITH(read_code(cut, "codes.bin"), Catch::Contains("codes.bin") && Catch::Contains("truncated"));
    std::stringstream junk("not a code at all, just text");
    CHECK_THROWS_WITH(read_code(junk, "junk.txt"), Catch::Contains("junk.txt") && Catch::Contains("not a bloom code"));
}

TEST_CASE("squared_error: value and finite-difference gradient") {
    ad::parameter<double> p(2, 3);
    p.value() << 0.5, -1.0, 2.0, 0.0, 0.25, -0.75;
    matrix<double> y(2, 3);
    y << 1.0, -1.0, 0.0, 0.5, 0.5, 0.5;
    ad::tape<double> t;
    const ad::var l = ad::squared_error(t, t.param(p), y);
    CHECK(t.item(l) == Approx(((0.25 + 0 + 4) + (0.25 + 0.0625 + 1.5625)) / 2));
    const auto r = ad::check_gradients(
        [&](ad::tape<double>& tt) { return ad::squared_error(tt, tt.param(p), y); }, {&p}, {});
    CHECK(r.ok);
    INFO(r.message);
    CHECK(r.checked == 6);
    matrix<double> wrong(3, 2);
    CHECK_THROWS_WITH(ad::squared_error(t, t.param(p), wrong), Catch::Contains("2x3") && Catch::Contains("3x2"));
}

TEST_CASE("co-occurrence- and frequency-aware tables round-trip through a stream into the model") {
    const eval::user_items sets = grouped_sets(90, 5);
    const std::uint32_t d = 24;
    const std::vector<sparse_code> codes = {
        cooccurrence_code<xxh3>(sets, d, 12, 2, 7),
        frequency_code<murmur3_32>(d, item_counts(sets, d), 12, 2, 7, frequency_options{})};
    for (const sparse_code& c : codes) {
        std::stringstream ss;
        write_code(ss, c);
        const sparse_code back = read_code(ss, "positions.bin");
        REQUIRE(back == c);
        network_options o;
        o.hidden = {6};
        const auto in = item_code<float>::from_sparse(identity_code(d));
        bloom_mlp<float> a(in, item_code<float>::from_sparse(c), o);
        bloom_mlp<float> b(in, item_code<float>::from_sparse(back), o);
        // the model keeps the table it was given and decodes through it
        CHECK(a.output_code().sparse == c);
        CHECK(b.output_code().sparse == c);
        const std::vector<std::uint32_t> items = {0, 9, 17};
        CHECK(a.recommend(items, 5) == b.recommend(items, 5));
        // one item's own positions, and only those, at probability ~1: it ranks first
        matrix<float> logs = matrix<float>::Constant(1, 12, std::log(1e-6f));
        for (const std::uint32_t* p = c.begin(13); p != c.end(13); ++p) logs(0, *p) = 0.0f;
        std::vector<float> s(d);
        a.scores_from_values(logs.data(), s.data());
        const std::set<std::uint32_t> own(c.begin(13), c.end(13));
        std::size_t below = 0;
        for (std::uint32_t i = 0; i < d; ++i) {
            bool inside = true;  // an item whose positions all lie in 13's scores as high
            for (const std::uint32_t* p = c.begin(i); p != c.end(i); ++p) inside = inside && own.count(*p);
            if (!inside) {
                CHECK(s[i] < s[13]);
                ++below;
            }
        }
        CHECK(below >= d / 2);
    }
}

namespace {

// Every parameter of the network is finite.
bool all_finite(bloom_mlp<float>& net) {
    if (!net.first_weight().allFinite() || !net.first_bias().value().allFinite()) return false;
    for (const auto* p : net.layers().parameters())
        if (!p->value().allFinite()) return false;
    return true;
}

// Every parameter of the network, copied.
std::vector<matrix<float>> parameters_of(bloom_mlp<float>& net) {
    std::vector<matrix<float>> v = {net.first_weight(), net.first_bias().value()};
    for (const auto* p : net.layers().parameters()) v.push_back(p->value());
    return v;
}

}  // namespace

TEST_CASE("a diverging network fit stops at the batch whose loss is not finite, before its update",
          "[network][errors][diverge]") {
    const eval::user_items all = grouped_sets(60, 3);
    data::engine rng(4);
    eval::user_items in, tg;
    resample_halves(all, rng, in, tg);
    network_options o;
    o.hidden = {8};
    const auto c = item_code<float>::from_sparse(identity_code(24));
    network_fit_options f;
    f.epochs = 3;
    f.batch = 8;  // 60 rows: 8 batches, the last one of 4
    f.lr = 1e30;  // Adam's first step moves every weight with a gradient by about 1e30

    SECTION("fit: the error names the epoch and the batch; the weights stay finite") {
        bloom_mlp<float> net(c, c, o);
        std::uint32_t epochs_seen = 0;
        f.on_epoch = [&](std::uint32_t, double, double) { ++epochs_seen; };
        CHECK_THROWS_WITH(net.fit(in, tg, f),
                          "bloom: bloom_mlp::fit: the loss is not finite at epoch 1, batch 2 (of "
                          "8): training diverged; lower the learning rate");
        CHECK(epochs_seen == 0);
        CHECK(all_finite(net));
    }
    SECTION("fit: the failed batch changes nothing: the network is the one of the epoch before") {
        // One batch per epoch: epoch 1 moves the weights to about 1e30, epoch 2 overflows.
        f.batch = 60;
        f.epochs = 4;
        bloom_mlp<float> net(c, c, o);
        CHECK_THROWS_WITH(net.fit(in, tg, f),
                          "bloom: bloom_mlp::fit: the loss is not finite at epoch 2, batch 1 (of "
                          "1): training diverged; lower the learning rate");
        bloom_mlp<float> one(c, c, o);
        f.epochs = 1;
        one.fit(in, tg, f);
        CHECK(parameters_of(net) == parameters_of(one));
        CHECK(all_finite(net));
    }
    SECTION("step: the same check, and nothing changes") {
        bloom_mlp<float> net(c, c, o);
        f.epochs = 1;
        f.batch = 60;
        net.fit(in, tg, f);  // the weights are now about 1e30
        const std::vector<matrix<float>> before = parameters_of(net);
        std::vector<std::size_t> rows = {0, 1, 2, 3};
        std::mt19937_64 drop(1);
        CHECK_THROWS_WITH(net.step(in, tg, rows.data(), rows.size(), drop),
                          "bloom: bloom_mlp::step: the loss is not finite: training diverged; "
                          "lower the learning rate");
        CHECK(parameters_of(net) == before);
    }
}

TEST_CASE("output_values and step check the rows they read", "[network][errors]") {
    network_options o;
    o.hidden = {4};
    const auto c = item_code<float>::from_sparse(identity_code(6));
    bloom_mlp<float> net(c, c, o);
    const eval::user_items in = rows_of({{0, 1}, {2}, {5}}), tg = rows_of({{3}, {4}, {0}});
    matrix<float> V;
    std::mt19937_64 drop(1);
    std::vector<std::size_t> rows = {0, 2};
    CHECK_NOTHROW(net.output_values(in, rows.data(), rows.size(), V));
    CHECK(V.rows() == 2);
    CHECK_NOTHROW(net.step(in, tg, rows.data(), rows.size(), drop));

    rows = {1, 3};
    CHECK_THROWS_AS(net.output_values(in, rows.data(), rows.size(), V), bloom::out_of_range);
    CHECK_THROWS_WITH(net.output_values(in, rows.data(), rows.size(), V),
                      "bloom: bloom_mlp::output_values: inputs: rows[1] = 3 is out of range (3 "
                      "rows)");
    CHECK_THROWS_WITH(net.step(in, tg, rows.data(), rows.size(), drop),
                      "bloom: bloom_mlp::step: inputs: rows[1] = 3 is out of range (3 rows)");

    rows = {1};
    const eval::user_items bad = rows_of({{0}, {2, 6}, {1}});
    CHECK_THROWS_AS(net.output_values(bad, rows.data(), rows.size(), V), bloom::out_of_range);
    CHECK_THROWS_WITH(net.output_values(bad, rows.data(), rows.size(), V),
                      "bloom: bloom_mlp::output_values: inputs: item 6 of row 1 is not below d = 6");
    CHECK_THROWS_WITH(net.step(in, bad, rows.data(), rows.size(), drop),
                      "bloom: bloom_mlp::step: targets: item 6 of row 1 is not below d = 6");
    // only the rows asked for are read: row 0 of `bad` is fine
    rows = {0};
    CHECK_NOTHROW(net.output_values(bad, rows.data(), rows.size(), V));

    eval::user_items cut = in;
    cut.items.pop_back();  // row 2 now ends past the items
    rows = {2};
    CHECK_THROWS_AS(net.output_values(cut, rows.data(), rows.size(), V), bloom::invalid_argument);
    CHECK_THROWS_WITH(net.output_values(cut, rows.data(), rows.size(), V),
                      "bloom: bloom_mlp::output_values: inputs: row 2 spans items [3, 4), not a "
                      "range of the 3 items");
}

TEST_CASE("step refuses an empty regression target", "[network][errors]") {
    matrix<float> e = matrix<float>::Random(6, 3);
    network_options o;
    o.hidden = {4};
    o.loss = output_loss::regression;
    o.rank = recovery::similarity;
    bloom_mlp<float> net(item_code<float>::from_dense(e), item_code<float>::from_dense(e), o);
    const eval::user_items in = rows_of({{0}, {1}}), tg = rows_of({{2}, {}});
    std::vector<std::size_t> rows = {0, 1};
    std::mt19937_64 drop(1);
    CHECK_THROWS_WITH(net.step(in, tg, rows.data(), rows.size(), drop),
                      "bloom: bloom_mlp::step: targets row 1 is empty (a regression target is the "
                      "mean of the items' codes)");
    rows = {0};
    CHECK_NOTHROW(net.step(in, tg, rows.data(), rows.size(), drop));
}
