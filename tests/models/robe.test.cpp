// ROBE embeddings: forward reads the array at the hashed block offsets (wrapping around its end),
// backward is the gradient of that read, a step changes only the scalars the batch read,
// configuration errors are reported, the concurrent members work with bloom::optim's Adam.
#include <catch2/catch.hpp>

#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/robe.hpp>
#include <bloom/optim/adam.hpp>

#include <cmath>
#include <cstring>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace {

template <class Scalar>
struct test_sgd {
    struct config {
        Scalar lr = Scalar(0.1);
    };
    explicit test_sgd(const config& c) : cfg(c) {}
    void begin_step() {}
    void update_row(bloom::matrix<Scalar>& w, std::uint32_t r, const Scalar* g) {
        for (Eigen::Index c = 0; c < w.cols(); ++c) w(r, c) -= cfg.lr * g[c];
    }
    config cfg;
};

using opt = test_sgd<double>;
using bloom::models::embedding_options;
using bloom::models::robe_embedding;
using bloom::models::robe_options;

// The embedding of id as the spec says: block j starts at offsets(id)[j], wraps at size.
std::vector<double> hand_read(const robe_embedding<double, opt>& r, std::uint32_t id) {
    const auto& w = r.table().weights();
    std::vector<double> e(r.dim());
    for (std::uint32_t c = 0; c < r.dim(); ++c) {
        const std::uint32_t j = c / r.block();
        const std::uint64_t s = (r.offsets(id)[j] + (c - j * r.block())) % r.size();
        e[c] = w(static_cast<Eigen::Index>(s), 0);
    }
    return e;
}

}  // namespace

TEST_CASE("robe forward reads the hashed blocks and wraps around the array", "[models][robe]") {
    embedding_options o;
    o.dim = 7;
    o.seed = 5;
    robe_options ro;
    ro.size = 11;
    ro.block = 3;  // blocks of 3 3 1
    ro.hash_seed = 9;
    robe_embedding<double, opt> r(40, ro, o, opt::config{}, bloom::xxh3{});
    REQUIRE(r.blocks() == 3);
    REQUIRE(r.parameters() == 11);
    REQUIRE(r.view(0) == nullptr);
    // The offsets are the policy's hash of (id << 32 | block) mod size.
    for (std::uint32_t id = 0; id < 40; ++id)
        for (std::uint32_t j = 0; j < 3; ++j)
            REQUIRE(r.offsets(id)[j] ==
                    bloom::xxh3{}((static_cast<std::uint64_t>(id) << 32) | j, 9) % 11);
    bool wrapped = false;
    for (std::uint32_t id = 0; id < 40; ++id) {
        std::vector<double> e(7);
        r.forward(id, e.data());
        REQUIRE(e == hand_read(r, id));
        for (std::uint32_t j = 0; j < 2; ++j) wrapped = wrapped || r.offsets(id)[j] + 3 > 11;
    }
    REQUIRE(wrapped);  // some full block crossed the array's end
    // An explicit wrap: a block starting at size - 1 reads the last scalar, then 0 and 1.
    for (std::uint32_t id = 0; id < 40; ++id)
        if (r.offsets(id)[0] == 10) {
            std::vector<double> e(7);
            r.forward(id, e.data());
            const auto& w = r.table().weights();
            CHECK(e[0] == w(10, 0));
            CHECK(e[1] == w(0, 0));
            CHECK(e[2] == w(1, 0));
        }
}

TEST_CASE("robe backward matches finite differences of forward", "[models][robe]") {
    embedding_options o;
    o.dim = 6;
    o.seed = 1;
    robe_options ro;
    ro.size = 5;  // smaller than dim: blocks overlap themselves
    ro.block = 4;
    robe_embedding<double, opt> r(20, ro, o, opt::config{}, bloom::murmur3_32{});
    std::vector<double> a(6);
    for (std::uint32_t c = 0; c < 6; ++c) a[c] = std::sin(1.0 + c);
    const auto loss = [&](std::uint32_t id) {
        std::vector<double> e(6);
        r.forward(id, e.data());
        double l = 0;
        for (std::uint32_t c = 0; c < 6; ++c) l += a[c] * e[c];
        return l;
    };
    for (std::uint32_t id : {0u, 7u, 19u}) {
        r.backward(id, a.data());
        std::vector<double> g(5, 0.0);
        r.table().grads().for_each([&](std::uint32_t row, const double* v) { g[row] = v[0]; });
        r.table().grads().clear();
        auto& w = r.table().weights();
        for (Eigen::Index s = 0; s < 5; ++s) {
            const double h = 1e-6, x = w(s, 0);
            w(s, 0) = x + h;
            const double lp = loss(id);
            w(s, 0) = x - h;
            const double lm = loss(id);
            w(s, 0) = x;
            CHECK(g[static_cast<std::size_t>(s)] == Approx((lp - lm) / (2 * h)).margin(1e-7));
        }
    }
}

TEST_CASE("a robe step changes only the scalars the batch read", "[models][robe]") {
    embedding_options o;
    o.dim = 4;
    robe_options ro;
    ro.size = 500;
    ro.block = 2;
    using adam = bloom::optim::adam<float>;
    robe_embedding<float, adam> r(100, ro, o, adam::config{});
    const bloom::matrix<float> before = r.table().weights();
    std::set<std::uint64_t> read;
    const float g[4] = {1, -2, 0.5f, 3};
    for (std::uint32_t id : {3u, 42u}) {
        r.backward(id, g);
        for (std::uint32_t j = 0; j < r.blocks(); ++j)
            for (std::uint32_t i = 0; i < 2; ++i) read.insert((r.offsets(id)[j] + i) % 500);
    }
    r.step();
    const bloom::matrix<float>& after = r.table().weights();
    std::size_t changed = 0;
    for (Eigen::Index s = 0; s < 500; ++s) {
        const bool moved = after(s, 0) != before(s, 0);
        changed += moved;
        CHECK(moved == (read.count(static_cast<std::uint64_t>(s)) == 1));
    }
    CHECK(changed == read.size());
}

TEST_CASE("robe reports bad configuration", "[models][robe]") {
    embedding_options o;
    o.dim = 4;
    robe_options ro;
    ro.size = 10;
    opt::config oc;
    CHECK_NOTHROW(robe_embedding<double, opt>(3, ro, o, oc));
    robe_options z = ro;
    z.size = 0;
    CHECK_THROWS_WITH((robe_embedding<double, opt>(3, z, o, oc)), Catch::Contains("size"));
    z = ro;
    z.block = 0;
    CHECK_THROWS_WITH((robe_embedding<double, opt>(3, z, o, oc)), Catch::Contains("block"));
    CHECK_THROWS_AS((robe_embedding<double, opt>(0, ro, o, oc)), bloom::invalid_argument);
    embedding_options d0 = o;
    d0.dim = 0;
    CHECK_THROWS_WITH((robe_embedding<double, opt>(3, ro, d0, oc)), Catch::Contains("dim"));
}

TEST_CASE("robe trains on two workers with adam", "[models][robe]") {
    embedding_options o;
    o.dim = 8;
    robe_options ro;
    ro.size = 64;
    ro.block = 4;
    using adam = bloom::optim::adam<float>;
    robe_embedding<float, adam> r(30, ro, o, adam::config{});
    r.set_workers(2);
    const bloom::matrix<float> before = r.table().weights();
    std::vector<float> g(8, 1.0f), e0(8), e1(8);
    r.forward(5, e0.data());
    r.backward(5, g.data(), 1);
    r.step_concurrent(0, 0);  // worker 0 has nothing
    r.step_concurrent(1, 0);
    r.end_concurrent(1);
    r.forward(5, e1.data());
    double s0 = 0, s1 = 0;
    for (int c = 0; c < 8; ++c) s0 += e0[c], s1 += e1[c];
    CHECK(s1 < s0);  // a step along -g lowers the sum
    CHECK(r.table().grads(1).empty());
    CHECK(r.table().optimizer().steps() == 1);
    r.set_workers(1);
}

TEST_CASE("a robe concurrent step is the serial step, bit for bit", "[models][robe]") {
    embedding_options o;
    o.dim = 12;
    robe_options ro;
    ro.size = 70;
    ro.block = 5;  // blocks of 5 5 2; some cross the array's end
    using adam = bloom::optim::adam<float>;
    robe_embedding<float, adam> a(40, ro, o, adam::config{}), b(40, ro, o, adam::config{});
    b.set_workers(2);
    std::vector<float> g(12);
    for (int s = 0; s < 3; ++s) {
        for (std::uint32_t id = 0; id < 40; id += 3) {
            for (std::uint32_t c = 0; c < 12; ++c)
                g[c] = std::sin(0.3f * static_cast<float>(id + c) + static_cast<float>(s));
            a.backward(id, g.data());
            b.backward(id, g.data(), 1);
        }
        a.step();
        b.step_concurrent(1, 0);
        b.end_concurrent(1);
    }
    const auto& wa = a.table().weights();
    const auto& wb = b.table().weights();
    CHECK(std::memcmp(wa.data(), wb.data(), sizeof(float) * 70) == 0);
    CHECK(a.table().optimizer().steps() == b.table().optimizer().steps());
}
