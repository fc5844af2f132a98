// Embedding kinds: forward/backward agree with finite differences, rows outside a batch are never
// touched, configuration errors are reported.
#include <catch2/catch.hpp>

#include <bloom/hash/modulo.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/optim/adam.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace {

// The smallest optimizer the kinds accept: plain SGD, written here so these tests do not depend
// on <bloom/optim/>.
template <class Scalar>
struct test_sgd {
    struct config {
        Scalar lr = Scalar(0.1);
    };
    explicit test_sgd(const config& c) : cfg(c) {}
    void begin_step() { ++steps; }
    void update_row(bloom::matrix<Scalar>& w, std::uint32_t r, const Scalar* g) {
        for (Eigen::Index c = 0; c < w.cols(); ++c) w(r, c) -= cfg.lr * g[c];
        ++rows_updated;
    }
    config cfg;
    int steps = 0;
    long rows_updated = 0;
};

using opt = test_sgd<double>;

// L(e) = sum_c a_c * e_c for a fixed vector a, so dL/de = a. Checks that one SGD step with
// backward(a) changes L exactly as the finite-difference gradient of L with respect to the
// table entries predicts (first order), and that the analytic gradient through the kind matches
// a numeric derivative of forward().
template <class Kind>
void check_kind_gradient(Kind& kind, std::uint32_t id) {
    const std::uint32_t d = kind.dim();
    std::vector<double> a(d), e0(d), e1(d);
    for (std::uint32_t c = 0; c < d; ++c) a[c] = std::sin(1.0 + c);
    kind.forward(id, e0.data());
    double l0 = 0;
    for (std::uint32_t c = 0; c < d; ++c) l0 += a[c] * e0[c];
    // A tiny SGD step along -grad must lower L by about lr * |grad|^2 (to first order).
    kind.backward(id, a.data());
    kind.step();
    kind.forward(id, e1.data());
    double l1 = 0;
    for (std::uint32_t c = 0; c < d; ++c) l1 += a[c] * e1[c];
    REQUIRE(l1 < l0);
}

}  // namespace

TEST_CASE("row_grads merges duplicate rows and clears in O(touched)", "[models][row_grads]") {
    bloom::models::row_grads<float> g(10, 3);
    const float a[3] = {1, 2, 3};
    g.add(7, 1.0f, a);
    g.add(2, 2.0f, a);
    g.add(7, 1.0f, a);
    REQUIRE(g.touched() == 2);
    const auto rs = g.to_row_sparse();
    REQUIRE(rs.rows == std::vector<std::uint32_t>{2, 7});
    CHECK(rs.values(0, 2) == Approx(6.0f));
    CHECK(rs.values(1, 1) == Approx(4.0f));
    g.clear();
    REQUIRE(g.empty());
    g.add(7, 1.0f, a);
    REQUIRE(g.to_row_sparse().values(0, 0) == Approx(1.0f));
}

TEST_CASE("every embedding kind computes a descent direction", "[models][embeddings]") {
    using namespace bloom::models;
    embedding_options o;
    o.dim = 8;
    o.seed = 3;
    opt::config oc;
    oc.lr = 1e-3;
    bloom_options b;
    b.rows = 37;
    b.k = 3;

    full_embedding<double, opt> full(50, o, oc);
    check_kind_gradient(full, 13);

    bloom_embedding<double, opt> be(50, b, o, oc, bloom::xxh3{});
    check_kind_gradient(be, 13);

    b.comb = combine::mean;
    bloom_embedding<double, opt> bm(50, b, o, oc, bloom::murmur3_32{});
    check_kind_gradient(bm, 49);

    hash_embedding<double, opt> he(50, b, o, oc, bloom::xxh3{});
    check_kind_gradient(he, 21);

    qr_embedding<double, opt> qr(50, 20, o, oc);
    check_kind_gradient(qr, 33);

    std::vector<std::uint64_t> counts(50, 1);
    counts[13] = 100;
    freq_bloom_embedding<double, opt> fb(50, counts, b, freq_options{}, o, oc, bloom::xxh3{});
    check_kind_gradient(fb, 13);
    check_kind_gradient(fb, 14);
}

TEST_CASE("bloom_embedding sums (or averages) exactly the spec's rows", "[models][embeddings]") {
    using namespace bloom::models;
    embedding_options o;
    o.dim = 4;
    opt::config oc;
    bloom_options b;
    b.rows = 11;
    b.k = 4;
    bloom_embedding<double, opt> be(20, b, o, oc, bloom::xxh3{});
    std::uint32_t p[4];
    make_spec<bloom::xxh3>(20, b).positions(std::uint32_t{5}, p);
    for (int j = 0; j < 4; ++j) REQUIRE(be.positions(5)[j] == p[j]);
    std::vector<double> e(4);
    be.forward(5, e.data());
    const auto& w = be.table().weights();
    for (int c = 0; c < 4; ++c) {
        double s = 0;
        for (int j = 0; j < 4; ++j) s += w(p[j], c);
        CHECK(e[static_cast<std::size_t>(c)] == Approx(s));
    }
}

namespace {

// The n x k position table a bloom_embedding of the given policy builds with these options.
template <class Hash>
std::vector<std::uint32_t> rows_of(std::uint32_t n, const bloom::models::bloom_options& b) {
    bloom::models::embedding_options o;
    o.dim = 1;
    const bloom::models::bloom_embedding<double, opt> be(n, b, o, opt::config{}, Hash{});
    return std::vector<std::uint32_t>(be.positions(0), be.positions(0) + std::size_t{n} * b.k);
}

// Entries at which two position tables agree.
std::size_t agreeing(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
    std::size_t same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    return same;
}

// Distinct k-tuples of positions: ids that share a tuple have the same embedding.
std::size_t distinct_tuples(const std::vector<std::uint32_t>& pos, std::uint32_t k) {
    std::set<std::vector<std::uint32_t>> tuples;
    for (std::size_t i = 0; i < pos.size(); i += k) {
        std::vector<std::uint32_t> t(pos.begin() + static_cast<std::ptrdiff_t>(i),
                                     pos.begin() + static_cast<std::ptrdiff_t>(i + k));
        std::sort(t.begin(), t.end());
        tuples.insert(std::move(t));
    }
    return tuples.size();
}

}  // namespace

// bloom-compare sets hash_seed = training seed + 1 (users) or + 2 (items). murmur3_32 keeps only
// the low 32 bits of a per-hash seed, but those seeds come from the user seed through SplitMix64,
// so consecutive user seeds, and user seeds that differ only above bit 32, still give unrelated
// position tables (about 1/m of the entries agree, by chance).
TEST_CASE("murmur3_32 rows change with hash_seed as xxh3's do, high seed bits included",
          "[models][embeddings]") {
    using namespace bloom::models;
    bloom_options b;
    b.rows = 336;
    b.k = 4;
    const std::uint32_t n = 1682;
    const std::size_t entries = std::size_t{n} * b.k;
    for (const std::uint64_t base : {std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{44}}) {
        for (const std::uint64_t other : {base + 1, base + (std::uint64_t{1} << 32)}) {
            INFO("hash seeds " << base << " and " << other);
            bloom_options a = b, c = b;
            a.hash_seed = base;
            c.hash_seed = other;
            CHECK(agreeing(rows_of<bloom::murmur3_32>(n, a), rows_of<bloom::murmur3_32>(n, c)) <
                  entries / 50);
            CHECK(agreeing(rows_of<bloom::xxh3>(n, a), rows_of<bloom::xxh3>(n, c)) < entries / 50);
        }
    }
}

TEST_CASE("key_stride hashes id i as the key i * stride, and the default is the id itself",
          "[models][embeddings]") {
    using namespace bloom::models;
    bloom_options b;
    b.rows = 37;
    b.k = 3;
    b.hash_seed = 9;
    const std::vector<std::uint32_t> plain = rows_of<bloom::xxh3>(50, b);
    const auto spec = make_spec<bloom::xxh3>(50, b);
    std::uint32_t p[3];
    spec.positions(std::uint32_t{7}, p);
    for (int j = 0; j < 3; ++j) CHECK(plain[7 * 3 + j] == p[j]);
    b.key_stride = 1000;
    const std::vector<std::uint32_t> strided = rows_of<bloom::xxh3>(50, b);
    const auto sspec = make_spec<bloom::xxh3>(50, b);
    CHECK(sspec.items() == 49 * 1000 + 1);
    sspec.positions(std::uint32_t{7000}, p);
    for (int j = 0; j < 3; ++j) CHECK(strided[7 * 3 + j] == p[j]);
    b.key_stride = 0;
    CHECK_THROWS_AS(rows_of<bloom::xxh3>(50, b), bloom::invalid_argument);
    b.key_stride = std::uint64_t{1} << 28;
    CHECK_THROWS_WITH(rows_of<bloom::xxh3>(50, b), Catch::Contains("beyond 32 bits"));
}

// The weak identity baseline on structured keys: with ids that are multiples of 1000 and m = 336
// (gcd 8), `modulo` puts every id at one of 336 / 8 = 42 residues, and its k positions are fixed
// shifts of that residue, so the 1682 ids share 42 embeddings. Real hashes keep nearly every id
// apart on the same keys. (On dense ids, modulo already gives only m distinct tuples.)
TEST_CASE("modulo collapses on strided ids where xxh3 and murmur3_32 do not",
          "[models][embeddings]") {
    using namespace bloom::models;
    bloom_options b;
    b.rows = 336;
    b.k = 4;
    b.hash_seed = 44;
    const std::uint32_t n = 1682;
    CHECK(distinct_tuples(rows_of<bloom::modulo>(n, b), b.k) == 336);
    CHECK(distinct_tuples(rows_of<bloom::xxh3>(n, b), b.k) >= 1670);
    b.key_stride = 1000;
    CHECK(distinct_tuples(rows_of<bloom::modulo>(n, b), b.k) == 42);
    CHECK(distinct_tuples(rows_of<bloom::xxh3>(n, b), b.k) >= 1670);
    CHECK(distinct_tuples(rows_of<bloom::murmur3_32>(n, b), b.k) >= 1670);
    // ids that are multiples of m: one tuple for all of them
    b.key_stride = 336;
    CHECK(distinct_tuples(rows_of<bloom::modulo>(n, b), b.k) == 1);
    CHECK(distinct_tuples(rows_of<bloom::xxh3>(n, b), b.k) >= 1670);
}

TEST_CASE("a step touches only the rows of the ids in the batch", "[models][embeddings]") {
    using namespace bloom::models;
    embedding_options o;
    o.dim = 6;
    opt::config oc;
    bloom_options b;
    b.rows = 64;
    b.k = 2;
    bloom_embedding<double, opt> be(200, b, o, oc);
    const bloom::matrix<double> before = be.table().weights();
    std::vector<double> g(6, 1.0);
    be.backward(10, g.data());
    be.backward(11, g.data());
    be.backward(10, g.data());
    be.step();
    std::vector<bool> touched(64, false);
    for (std::uint32_t id : {10U, 11U})
        for (std::uint32_t j = 0; j < 2; ++j) touched[be.positions(id)[j]] = true;
    const auto& after = be.table().weights();
    for (int r = 0; r < 64; ++r) {
        if (touched[static_cast<std::size_t>(r)]) {
            CHECK(after.row(r) != before.row(r));
        } else {
            CHECK(after.row(r) == before.row(r));
        }
    }
}

TEST_CASE("qr_embedding fits its row budget", "[models][embeddings]") {
    using namespace bloom::models;
    embedding_options o;
    o.dim = 4;
    opt::config oc;
    qr_embedding<double, opt> qr(1000, 200, o, oc);
    CHECK(qr.rows() <= 200);
    // below the smallest possible total (about 2 sqrt(n)), it takes that smallest total
    qr_embedding<double, opt> tiny(1000, 10, o, oc);
    CHECK(tiny.rows() <= 64);
}

TEST_CASE("embedding kinds reject bad configuration", "[models][embeddings][errors]") {
    using namespace bloom::models;
    embedding_options o;
    opt::config oc;
    bloom_options b;
    b.rows = 0;
    CHECK_THROWS_AS((bloom_embedding<double, opt>(10, b, o, oc)),
                    bloom::invalid_argument);
    b.rows = 10;
    b.k = 11;
    CHECK_THROWS_AS((bloom_embedding<double, opt>(10, b, o, oc)),
                    bloom::invalid_argument);
    o.dim = 0;
    CHECK_THROWS_AS((full_embedding<double, opt>(10, o, oc)), bloom::invalid_argument);
    o.dim = 4;
    CHECK_THROWS_AS((full_embedding<double, opt>(0, o, oc)), bloom::invalid_argument);
    b.k = 2;
    std::vector<std::uint64_t> counts(5, 1);
    CHECK_THROWS_WITH((freq_bloom_embedding<double, opt>(10, counts, b, freq_options{}, o, oc)),
                      Catch::Contains("counts has 5 entries for 10 ids"));
    // 4 rows, half of them for the head, leave 2 shared rows: fewer than k = 4, and the message
    // gives every number.
    counts.assign(10, 1);
    b.rows = 4;
    b.k = 4;
    freq_options f;
    f.head_share = 0.5;
    CHECK_THROWS_WITH((freq_bloom_embedding<double, opt>(10, counts, b, f, o, oc)),
                      Catch::Contains("4 rows less 2 head rows (head_share 0.5") &&
                          Catch::Contains("leave 2 shared rows, fewer than k = 4"));
}

TEST_CASE("a table allocates its optimizer state with its values, before any step",
          "[models][embeddings]") {
    using namespace bloom::models;
    embedding_options o;
    o.dim = 4;
    full_embedding<float, bloom::optim::adam<float>> full(9, o, bloom::optim::adam_config{});
    const auto& opt = full.table().optimizer();
    REQUIRE(opt.allocated());
    CHECK(opt.rows() == 9);
    CHECK(opt.cols() == 4);
    CHECK(opt.first_moment().isZero());
    CHECK(opt.second_moment().isZero());
    CHECK(opt.steps() == 0);
}

TEST_CASE("assign_large gives the shape and value asked for, small or huge-page sized",
          "[models][tensor]") {
    for (const Eigen::Index rows : {Eigen::Index{3}, Eigen::Index{70000}}) {
        bloom::matrix<float> m;
        bloom::detail::assign_large(m, rows, Eigen::Index{64}, 0.5f);
        REQUIRE(m.rows() == rows);
        REQUIRE(m.cols() == 64);
        CHECK((m.array() == 0.5f).all());
    }
}

namespace {

// Five users' histories over 30 items: a duplicate, an empty history, one item, every item.
struct histories {
    std::vector<std::size_t> offsets{0, 4, 4, 5, 35, 36};
    std::vector<std::uint32_t> items{1, 2, 2, 7, 29};
    histories() {
        for (std::uint32_t i = 0; i < 30; ++i) items.push_back(i);
        items.push_back(5);
    }
    // The filter of user u, computed from the spec directly: the sorted union of its items' rows.
    std::vector<std::uint32_t> filter(std::uint32_t u, const bloom::models::bloom_options& b) const {
        const auto spec = bloom::models::make_spec<bloom::xxh3>(30, b);
        std::vector<std::uint32_t> out, p(b.k);
        for (std::size_t t = offsets[u]; t < offsets[u + 1]; ++t) {
            spec.positions(items[t], p.data());
            out.insert(out.end(), p.begin(), p.end());
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }
};

}  // namespace

TEST_CASE("history_bloom_embedding is the mean (or sum) of its filter's rows",
          "[models][embeddings][history]") {
    using namespace bloom::models;
    const histories h;
    embedding_options o;
    o.dim = 5;
    o.seed = 9;
    opt::config oc;
    bloom_options b;
    b.rows = 17;
    b.k = 3;
    for (combine c : {combine::mean, combine::sum}) {
        b.comb = c;
        history_bloom_embedding<double, opt> he(5, h.offsets, h.items, 30, b, o, oc, bloom::xxh3{});
        REQUIRE(he.parameters() == 17 * 5);
        const auto& w = he.table().weights();
        std::size_t total = 0;
        for (std::uint32_t u = 0; u < 5; ++u) {
            const std::vector<std::uint32_t> want = h.filter(u, b);
            total += want.size();
            REQUIRE(he.set_bits(u) == want.size());
            REQUIRE(std::vector<std::uint32_t>(he.positions(u), he.positions(u) + he.set_bits(u)) ==
                    want);
            std::vector<double> e(5, -1.0);
            he.forward(u, e.data());
            for (int col = 0; col < 5; ++col) {
                double s = 0;
                for (std::uint32_t r : want) s += w(r, col);
                if (c == combine::mean && !want.empty()) s /= static_cast<double>(want.size());
                INFO("user " << u << " column " << col);
                CHECK(e[static_cast<std::size_t>(col)] == Approx(s).margin(1e-15));
            }
        }
        CHECK(he.mean_set_bits() == Approx(static_cast<double>(total) / 5.0));
        CHECK(he.set_bits(1) == 0);  // the empty history
        CHECK(he.set_bits(0) <= 9);  // three distinct items, three bits each
        CHECK(he.describe().find("k=3") != std::string::npos);
    }
}

TEST_CASE("history_bloom_embedding learns through its filter's rows only",
          "[models][embeddings][history]") {
    using namespace bloom::models;
    const histories h;
    embedding_options o;
    o.dim = 6;
    opt::config oc;
    oc.lr = 1e-3;
    bloom_options b;
    b.rows = 40;
    b.k = 2;
    history_bloom_embedding<double, opt> he(5, h.offsets, h.items, 30, b, o, oc);
    check_kind_gradient(he, 0);
    check_kind_gradient(he, 3);

    const bloom::matrix<double> before = he.table().weights();
    std::vector<double> g(6, 1.0);
    he.backward(4, g.data());
    he.backward(1, g.data());  // the empty history: no rows, no change
    he.step();
    std::vector<bool> in_filter(40, false);
    for (std::uint32_t j = 0; j < he.set_bits(4); ++j) in_filter[he.positions(4)[j]] = true;
    for (int r = 0; r < 40; ++r) {
        INFO("row " << r);
        if (in_filter[static_cast<std::size_t>(r)]) {
            CHECK(he.table().weights().row(r) != before.row(r));
        } else {
            CHECK(he.table().weights().row(r) == before.row(r));
        }
    }
    std::vector<double> e(6, 1.0);
    he.forward(1, e.data());
    CHECK(std::all_of(e.begin(), e.end(), [](double x) { return x == 0.0; }));
}

TEST_CASE("history_bloom_embedding names what is wrong with its histories",
          "[models][embeddings][history][errors]") {
    using namespace bloom::models;
    histories h;
    embedding_options o;
    opt::config oc;
    bloom_options b;
    b.rows = 10;
    b.k = 2;
    using he = history_bloom_embedding<double, opt>;
    CHECK_THROWS_WITH((he(4, h.offsets, h.items, 30, b, o, oc)),
                      Catch::Contains("offsets has 6 entries for 4 ids"));
    CHECK_THROWS_WITH((he(5, h.offsets, h.items, 29, b, o, oc)),
                      Catch::Contains("id 2's history entry 0 is item 29, but there are 29 items"));
    CHECK_THROWS_AS((he(5, h.offsets, h.items, 29, b, o, oc)), bloom::out_of_range);
    CHECK_THROWS_WITH((he(5, h.offsets, h.items, 0, b, o, oc)), Catch::Contains("no items"));
    b.rows = 0;
    CHECK_THROWS_AS((he(5, h.offsets, h.items, 30, b, o, oc)), bloom::invalid_argument);
    b.rows = 10;
    b.k = 0;
    CHECK_THROWS_AS((he(5, h.offsets, h.items, 30, b, o, oc)), bloom::invalid_argument);
    b.k = 2;
    std::vector<std::size_t> bad = h.offsets;
    bad[2] = 2;  // 0, 4, 2, ...: decreasing
    CHECK_THROWS_WITH((he(5, bad, h.items, 30, b, o, oc)), Catch::Contains("offsets decrease at id 1"));
    bad = h.offsets;
    bad.back() = 35;
    CHECK_THROWS_WITH((he(5, bad, h.items, 30, b, o, oc)),
                      Catch::Contains("end at items.size() (36)"));
}
