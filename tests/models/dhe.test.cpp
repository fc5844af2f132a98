// Deep hash embeddings: the dense hash encoding (deterministic, in range, ids apart), forward as a
// hand-computed MLP, every weight's gradient against finite differences, training that lowers a
// loss, the budget that picks the width, configuration errors, and the one-thread rule.
#include <catch2/catch.hpp>

#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/dhe.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/optim/adam.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
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

namespace m = bloom::models;
using sgd = test_sgd<double>;
using dhe_d = m::dhe_embedding<double, sgd>;
using m::dhe_activation;
using m::dhe_options;
using m::dhe_transform;
using m::embedding_options;

embedding_options emb(std::uint32_t dim, std::uint64_t seed = 1) {
    embedding_options o;
    o.dim = dim;
    o.seed = seed;
    return o;
}
dhe_options net(std::uint32_t k, std::uint32_t layers, std::uint32_t width) {
    dhe_options d;
    d.hashes = k;
    d.layers = layers;
    d.width = width;
    d.hash_seed = 5;
    return d;
}

// Mish written the textbook way (not the implementation's one-exp form).
double mish(double z) { return z * std::tanh(std::log1p(std::exp(z))); }

// The network by hand, in double, from the layers' weights (last row of each: the bias).
std::vector<double> hand_forward(const dhe_d& e, std::uint32_t id) {
    std::vector<double> x(e.hashes());
    e.encode(id, x.data());
    for (std::size_t l = 0; l <= e.hidden_layers(); ++l) {
        const bloom::matrix<double>& w = e.layer(l).weights();
        const Eigen::Index in = w.rows() - 1;
        REQUIRE(static_cast<Eigen::Index>(x.size()) == in);
        std::vector<double> z(static_cast<std::size_t>(w.cols()));
        for (Eigen::Index c = 0; c < w.cols(); ++c) {
            double s = w(in, c);
            for (Eigen::Index r = 0; r < in; ++r) s += x[static_cast<std::size_t>(r)] * w(r, c);
            const bool hidden = l < e.hidden_layers();
            const bool relu = e.options().activation == dhe_activation::relu;
            z[static_cast<std::size_t>(c)] = !hidden ? s : relu ? std::max(s, 0.0) : mish(s);
        }
        x = z;
    }
    return x;
}

std::vector<double> fwd(const dhe_d& e, std::uint32_t id) {
    std::vector<double> out(e.dim());
    e.forward(id, out.data());
    return out;
}

// A kind with its batch mode hidden (begin_batch and end_batch private): factorization::fit then
// computes each embedding with forward() and propagates the gradients in step(), the per-id path.
template <class Kind>
class per_id_only : public Kind {
public:
    explicit per_id_only(Kind k) : Kind(std::move(k)) {}

private:
    using Kind::begin_batch;
    using Kind::end_batch;
};
// What factorization detects (its has_batch_mode), from outside the kind.
template <class Kind, class = void>
struct batch_mode_visible : std::false_type {};
template <class Kind>
struct batch_mode_visible<Kind, std::void_t<decltype(std::declval<Kind&>().begin_batch(
                                                std::declval<const std::uint32_t*>(), std::size_t{})),
                                            decltype(std::declval<Kind&>().end_batch())>>
    : std::true_type {};

}  // namespace

TEST_CASE("dhe encoding: deterministic, in range, ids apart", "[models][dhe]") {
    for (const dhe_transform t : {dhe_transform::uniform, dhe_transform::gaussian}) {
        dhe_options d = net(33, 1, 4);
        d.transform = t;
        const dhe_d a(500, d, emb(8), sgd::config{}, bloom::xxh3{});
        const dhe_d b(500, d, emb(8, 99), sgd::config{}, bloom::xxh3{});  // other weights
        std::vector<double> x(33), y(33);
        double sum = 0, sq = 0;
        std::size_t count = 0;
        std::vector<std::vector<double>> seen;
        for (std::uint32_t id = 0; id < 500; ++id) {
            a.encode(id, x.data());
            b.encode(id, y.data());
            REQUIRE(x == y);  // the encoding depends on the id, k, seed and policy only
            for (const double v : x) {
                REQUIRE(std::isfinite(v));
                if (t == dhe_transform::uniform) {
                    REQUIRE(v >= -1.0);
                    REQUIRE(v < 1.0);
                }
                sum += v;
                sq += v * v;
                ++count;
            }
            seen.push_back(x);
        }
        for (std::size_t i = 1; i < seen.size(); ++i) REQUIRE(seen[i] != seen[i - 1]);
        const double mean = sum / static_cast<double>(count);
        const double var = sq / static_cast<double>(count) - mean * mean;
        // uniform on [-1, 1): mean 0, variance 1/3; Gaussian: mean 0, variance 1 (16500 values)
        CHECK(std::abs(mean) < 0.03);
        CHECK(var == Approx(t == dhe_transform::uniform ? 1.0 / 3.0 : 1.0).epsilon(0.05));
    }
}

TEST_CASE("dhe encoding: the uniform transform maps the hash's top 53 bits to -1 .. 1", "[models][dhe]") {
    const dhe_d e(10, net(5, 1, 3), emb(4), sgd::config{}, bloom::xxh3{});
    std::vector<double> x(5);
    e.encode(7, x.data());
    for (std::uint32_t j = 0; j < 5; ++j) {
        const std::uint64_t h = bloom::hash_u64(bloom::xxh3{}, (std::uint64_t{7} << 32) | j, 5);
        CHECK(x[j] == 2.0 * (static_cast<double>(h >> 11) * 0x1p-53) - 1.0);
    }
    // a 32-bit policy: its 32 bits
    const dhe_d f(10, net(5, 1, 3), emb(4), sgd::config{}, bloom::murmur3_32{});
    f.encode(7, x.data());
    for (std::uint32_t j = 0; j < 5; ++j) {
        const std::uint64_t h = bloom::hash_u64(bloom::murmur3_32{}, (std::uint64_t{7} << 32) | j, 5);
        CHECK(x[j] == 2.0 * (static_cast<double>(h & 0xFFFFFFFFu) * 0x1p-32) - 1.0);
    }
    std::vector<double> y(5);
    e.encode(7, y.data());
    CHECK(x != y);  // another policy, another encoding
}

TEST_CASE("dhe forward is the MLP on the encoding (known answer)", "[models][dhe]") {
    SECTION("weights set by hand, one hidden layer") {
        for (const dhe_activation act : {dhe_activation::relu, dhe_activation::mish}) {
            dhe_options d = net(3, 1, 2);
            d.activation = act;
            dhe_d e(4, d, emb(2), sgd::config{}, bloom::xxh3{});
            bloom::matrix<double>& w0 = e.layer(0).weights();  // 4 x 2
            bloom::matrix<double>& w1 = e.layer(1).weights();  // 3 x 2
            w0 << 0.5, -1.0,
                  2.0, 0.25,
                  -0.75, 1.5,
                  0.1, -0.2;
            w1 << 1.0, -2.0,
                  0.5, 3.0,
                  0.3, 0.0;
            for (std::uint32_t id = 0; id < 4; ++id) {
                double x[3];
                e.encode(id, x);
                double h[2];
                for (int c = 0; c < 2; ++c) {
                    const double z = 0.5 * (c == 0) * x[0] - 1.0 * (c == 1) * x[0] +
                                     2.0 * (c == 0) * x[1] + 0.25 * (c == 1) * x[1] -
                                     0.75 * (c == 0) * x[2] + 1.5 * (c == 1) * x[2] +
                                     (c == 0 ? 0.1 : -0.2);
                    h[c] = act == dhe_activation::relu ? std::max(z, 0.0) : mish(z);
                }
                const std::vector<double> want = {1.0 * h[0] + 0.5 * h[1] + 0.3,
                                                  -2.0 * h[0] + 3.0 * h[1]};
                const std::vector<double> got = fwd(e, id);
                CHECK(got[0] == Approx(want[0]).margin(1e-12));
                CHECK(got[1] == Approx(want[1]).margin(1e-12));
            }
        }
    }
    SECTION("initialised weights, three hidden layers, Gaussian encoding") {
        dhe_options d = net(17, 3, 9);
        d.transform = dhe_transform::gaussian;
        const dhe_d e(50, d, emb(6), sgd::config{}, bloom::murmur3_32{});
        for (std::uint32_t id = 0; id < 50; ++id) {
            const std::vector<double> want = hand_forward(e, id), got = fwd(e, id);
            for (std::size_t c = 0; c < want.size(); ++c) CHECK(got[c] == Approx(want[c]).margin(1e-12));
        }
    }
    SECTION("the output layer is scaled to a full table's initial spread") {
        const dhe_d e(300, net(32, 2, 16), emb(8), sgd::config{}, bloom::xxh3{});
        double sq = 0;
        for (std::uint32_t id = 0; id < 256; ++id)
            for (const double v : fwd(e, id)) sq += v * v;
        CHECK(std::sqrt(sq / (256.0 * 8)) == Approx(1.0 / 8));  // init_std 0: 1/dim
        embedding_options zero = emb(8);
        zero.init_std = -1;
        const dhe_d z(300, net(32, 2, 16), zero, sgd::config{}, bloom::xxh3{});
        for (const double v : fwd(z, 3)) CHECK(v == 0.0);
    }
}

TEST_CASE("dhe gradients of every weight match finite differences", "[models][dhe]") {
    for (const dhe_activation act : {dhe_activation::mish, dhe_activation::relu}) {
        dhe_options d = net(7, 2, 5);
        d.activation = act;
        dhe_d e(300, d, emb(3, 4), sgd::config{}, bloom::xxh3{});
        // Biases off zero: with ReLU, an id whose first layer is all off would otherwise put the
        // next layer exactly on the kink, where the central difference takes half the slope.
        for (std::size_t l = 0; l <= e.hidden_layers(); ++l) {
            bloom::matrix<double>& w = e.layer(l).weights();
            w.row(w.rows() - 1).setConstant(0.05);
        }
        // Loss: sum over a list of ids (with repeats, and more than one 128-id block) of
        // 0.5 |e(id) - t(id)|^2 with t(id) fixed targets.
        std::vector<std::uint32_t> ids;
        for (std::uint32_t t = 0; t < 140; ++t) ids.push_back((t * 37) % 60);
        auto target = [](std::uint32_t id, std::uint32_t c) { return std::sin(0.3 * id + c); };
        auto loss = [&] {
            double s = 0;
            for (const std::uint32_t id : ids) {
                const std::vector<double> v = fwd(e, id);
                for (std::uint32_t c = 0; c < 3; ++c) s += 0.5 * (v[c] - target(id, c)) * (v[c] - target(id, c));
            }
            return s;
        };
        for (const std::uint32_t id : ids) {
            std::vector<double> g = fwd(e, id);
            for (std::uint32_t c = 0; c < 3; ++c) g[c] -= target(id, c);
            e.backward(id, g.data());
        }
        REQUIRE(e.pending() == ids.size());
        e.accumulate();
        REQUIRE(e.pending() == 0);
        const double h = 1e-6;
        std::size_t checked = 0;
        for (std::size_t l = 0; l <= e.hidden_layers(); ++l) {
            bloom::matrix<double>& w = e.layer(l).weights();
            const bloom::matrix<double>& g = e.gradient(l);
            REQUIRE(g.rows() == w.rows());
            REQUIRE(g.cols() == w.cols());
            for (Eigen::Index r = 0; r < w.rows(); ++r)
                for (Eigen::Index c = 0; c < w.cols(); ++c) {
                    const double keep = w(r, c);
                    w(r, c) = keep + h;
                    const double up = loss();
                    w(r, c) = keep - h;
                    const double down = loss();
                    w(r, c) = keep;
                    const double numeric = (up - down) / (2 * h);
                    INFO("layer " << l << " (" << r << ", " << c << ") " << to_string(act));
                    CHECK(g(r, c) == Approx(numeric).margin(1e-6).epsilon(1e-5));
                    ++checked;
                }
        }
        CHECK(checked == e.parameters());
    }
}

TEST_CASE("dhe step: sgd on the whole gradient, and a step with nothing recorded changes nothing", "[models][dhe]") {
    dhe_d e(40, net(6, 1, 4), emb(3), sgd::config{}, bloom::xxh3{});
    const bloom::matrix<double> w0 = e.layer(0).weights(), w1 = e.layer(1).weights();
    e.step();  // nothing recorded
    CHECK(e.layer(0).weights() == w0);
    CHECK(e.layer(1).weights() == w1);
    const double g[3] = {0.5, -1.0, 2.0};
    e.backward(11, g);
    e.backward(11, g);
    e.accumulate();
    const bloom::matrix<double> g0 = e.gradient(0), g1 = e.gradient(1);
    e.step();
    CHECK(e.layer(0).weights().isApprox(w0 - 0.1 * g0, 1e-14));
    CHECK(e.layer(1).weights().isApprox(w1 - 0.1 * g1, 1e-14));
    CHECK(e.gradient(0).isZero(0.0));  // forgotten after the step
    CHECK(e.gradient(1).isZero(0.0));
    // the output bias takes the recorded gradients' sum
    CHECK(g1(4, 0) == Approx(1.0));
    CHECK(g1(4, 2) == Approx(4.0));
}

TEST_CASE("dhe batch mode: forward()'s embeddings and per-id backward's gradients, repeats merged", "[models][dhe]") {
    for (const dhe_activation act : {dhe_activation::mish, dhe_activation::relu}) {
        dhe_options d = net(7, 2, 5);
        d.activation = act;
        const dhe_d fresh(300, d, emb(3, 4), sgd::config{}, bloom::xxh3{});
        dhe_d batch = fresh, per_id = fresh;
        // 260 ids with repeats (more than one of accumulate()'s 128-id blocks), 70 distinct;
        // ids 280 and 290 are in the batch but receive no gradient.
        std::vector<std::uint32_t> ids;
        for (std::uint32_t t = 0; t < 260; ++t) ids.push_back((t * 37) % 70 * 4);
        std::vector<std::uint32_t> in_batch = ids;
        in_batch.push_back(290);
        in_batch.push_back(280);
        in_batch.push_back(290);
        CHECK(batch.view(8) == nullptr);
        batch.begin_batch(in_batch.data(), in_batch.size());
        CHECK(batch.batch_rows() == 72);
        for (const std::uint32_t id : in_batch) {
            const double* v = batch.view(id);
            REQUIRE(v != nullptr);
            const std::vector<double> want = fwd(fresh, id);
            for (std::uint32_t c = 0; c < 3; ++c) CHECK(v[c] == Approx(want[c]).epsilon(1e-12).margin(1e-14));
        }
        CHECK(batch.view(1) == nullptr);  // not one of the batch's ids
        CHECK(batch.view(299) == nullptr);
        auto target = [](std::uint32_t id, std::uint32_t c) { return std::sin(0.3 * id + c); };
        for (const std::uint32_t id : ids) {
            std::vector<double> g = fwd(fresh, id);
            for (std::uint32_t c = 0; c < 3; ++c) g[c] -= target(id, c);
            batch.backward(id, g.data());
            per_id.backward(id, g.data());
        }
        CHECK(batch.pending() == 0);  // summed in the batch, not recorded
        CHECK(per_id.pending() == ids.size());
        for (std::size_t l = 0; l <= batch.hidden_layers(); ++l) CHECK(batch.gradient(l).isZero(0.0));
        batch.end_batch();
        per_id.accumulate();
        CHECK(batch.view(8) == nullptr);  // the batch is over
        CHECK(batch.batch_rows() == 0);
        for (std::size_t l = 0; l <= batch.hidden_layers(); ++l) {
            INFO("layer " << l << " " << to_string(act));
            const bloom::matrix<double>& gb = batch.gradient(l);
            const bloom::matrix<double>& gp = per_id.gradient(l);
            REQUIRE(gp.rows() == gb.rows());
            REQUIRE(gp.cols() == gb.cols());
            CHECK(gp.norm() > 0);
            for (Eigen::Index r = 0; r < gp.rows(); ++r)
                for (Eigen::Index c = 0; c < gp.cols(); ++c)
                    CHECK(gb(r, c) == Approx(gp(r, c)).epsilon(1e-10).margin(1e-12));
            CHECK(batch.layer(l).weights() == fresh.layer(l).weights());  // no step yet
        }
        // the same step follows
        batch.step();
        per_id.step();
        for (std::size_t l = 0; l <= batch.hidden_layers(); ++l) {
            CHECK(batch.layer(l).weights().isApprox(per_id.layer(l).weights(), 1e-12));
            CHECK(batch.layer(l).weights() != fresh.layer(l).weights());
            CHECK(batch.gradient(l).isZero(0.0));
        }
        // outside a batch, forward() computes as before
        const std::vector<double> a = fwd(batch, 8), b = fwd(per_id, 8);
        for (std::uint32_t c = 0; c < 3; ++c) CHECK(a[c] == Approx(b[c]).epsilon(1e-10));
    }
}

TEST_CASE("dhe batch mode: a batch with nothing recorded leaves the gradients, a stray id is recorded", "[models][dhe]") {
    using adam = bloom::optim::adam<float>;
    using kind = m::dhe_embedding<float, adam>;
    adam::config c;
    c.lr = 0.01f;
    kind e(50, net(8, 1, 6), emb(4), c, bloom::xxh3{});
    const bloom::matrix<float> w0 = e.layer(0).weights(), w1 = e.layer(1).weights();
    const std::uint32_t ids[] = {3, 9, 3, 41};
    // a diverged batch: begin and end, no backward
    e.begin_batch(ids, 4);
    CHECK(e.batch_rows() == 3);
    e.end_batch();
    CHECK(e.view(3) == nullptr);
    CHECK(e.gradient(0).isZero(0.0));
    CHECK(e.gradient(1).isZero(0.0));
    e.step();  // nothing to apply: no optimizer step at all
    CHECK(e.layer(0).optimizer().steps() == 0);
    CHECK(e.layer(0).weights() == w0);
    CHECK(e.layer(1).weights() == w1);
    // gradients already there stay as they are through an empty batch
    const float g[4] = {0.5f, -1.0f, 0.25f, 2.0f};
    e.backward(7, g);
    e.accumulate();
    const bloom::matrix<float> g0 = e.gradient(0), g1 = e.gradient(1);
    e.begin_batch(ids, 4);
    e.end_batch();
    CHECK(e.gradient(0) == g0);
    CHECK(e.gradient(1) == g1);
    // an empty batch: nothing in view
    e.begin_batch(ids, 0);
    CHECK(e.batch_rows() == 0);
    CHECK(e.view(3) == nullptr);
    e.end_batch();
    // an id outside the batch is recorded for accumulate(), as outside a batch
    e.begin_batch(ids, 4);
    e.backward(8, g);
    CHECK(e.pending() == 1);
    e.end_batch();
    CHECK(e.gradient(0) == g0);  // the batch itself recorded nothing
    e.step();
    CHECK(e.layer(0).optimizer().steps() == 1);
    CHECK(e.pending() == 0);
}

TEST_CASE("dhe training with adam lowers a regression loss", "[models][dhe]") {
    using adam = bloom::optim::adam<float>;
    using kind = m::dhe_embedding<float, adam>;
    adam::config c;
    c.lr = 0.01;
    kind e(30, net(32, 2, 32), emb(4), c, bloom::xxh3{});
    auto target = [](std::uint32_t id, std::uint32_t k) { return std::cos(1.7f * id + k) * 0.5f; };
    auto loss = [&] {
        double s = 0;
        float v[4];
        for (std::uint32_t id = 0; id < 30; ++id) {
            e.forward(id, v);
            for (std::uint32_t k = 0; k < 4; ++k) s += 0.5 * (v[k] - target(id, k)) * (v[k] - target(id, k));
        }
        return s;
    };
    const double before = loss();
    for (int step = 0; step < 300; ++step) {
        float v[4];
        for (std::uint32_t id = 0; id < 30; ++id) {
            e.forward(id, v);
            for (std::uint32_t k = 0; k < 4; ++k) v[k] -= target(id, k);
            e.backward(id, v);
        }
        e.step();
    }
    const double after = loss();
    INFO("loss " << before << " -> " << after);
    CHECK(after < 0.05 * before);
    CHECK(e.layer(0).optimizer().steps() == 300);
}

TEST_CASE("dhe budget picks the widest network that fits", "[models][dhe]") {
    dhe_options d;
    d.hashes = 64;
    d.layers = 2;
    d.budget = 6035;  // ML-100K's users at ratio 0.2, dim 32
    const dhe_d e(943, d, emb(32), sgd::config{}, bloom::xxh3{});
    const std::uint32_t w = e.widths().front();
    CHECK(e.widths() == std::vector<std::uint32_t>{w, w});
    CHECK(e.parameters() <= 6035);
    CHECK(m::detail::dhe_parameters(64, 2, w + 1, 32) > 6035);
    CHECK(e.parameters() == m::detail::dhe_parameters(64, 2, w, 32));
    CHECK(w == 42);  // 65 w + (w + 1) w + 33 w + 32 = w^2 + 98 w + 32 <= 6035
    CHECK(e.rows() == 0);
    CHECK(e.view(3) == nullptr);
    CHECK(e.describe() == "dhe, k=64 uniform, 2x42 mish, xxh3");
    d.max_width = 20;  // a cap below what the budget allows
    CHECK(dhe_d(943, d, emb(32), sgd::config{}).widths().front() == 20);
}

TEST_CASE("dhe rejects bad options with what and the numbers", "[models][dhe]") {
    auto make = [](std::uint32_t n, dhe_options d, embedding_options o) {
        return dhe_d(n, d, o, sgd::config{}, bloom::xxh3{});
    };
    const dhe_options ok = net(8, 2, 4);
    CHECK_NOTHROW(make(10, ok, emb(4)));
    dhe_options d = ok;
    d.hashes = 0;
    CHECK_THROWS_WITH(make(10, d, emb(4)), Catch::Contains("hashes (k) must be in 1..2048 (hashes = 0)"));
    d.hashes = 5000;
    CHECK_THROWS_WITH(make(10, d, emb(4)), Catch::Contains("hashes = 5000"));
    d = ok;
    d.layers = 0;
    CHECK_THROWS_WITH(make(10, d, emb(4)), Catch::Contains("layers must be in 1..16 (layers = 0)"));
    d = ok;
    d.width = 3000;
    CHECK_THROWS_WITH(make(10, d, emb(4)), Catch::Contains("width 3000 is above max_width 2048"));
    d = ok;
    d.max_width = 0;
    CHECK_THROWS_WITH(make(10, d, emb(4)), Catch::Contains("max_width must be in 1..2048"));
    d = ok;
    d.width = 0;
    CHECK_THROWS_WITH(make(10, d, emb(4)), Catch::Contains("give a width or a parameter budget"));
    d.budget = 50;  // width 1: (8 + 1) + (1 + 1) + (1 + 1) 4 = 19; fits
    CHECK_NOTHROW(make(10, d, emb(4)));
    d.budget = 18;
    CHECK_THROWS_WITH(make(10, d, emb(4)),
                      Catch::Contains("a budget of 18 scalars cannot hold width 1") &&
                          Catch::Contains("19 parameters"));
    d = ok;
    d.budget = 10;  // width 4 needs 36 + 20 + 20 = 76
    CHECK_THROWS_WITH(make(10, d, emb(4)),
                      Catch::Contains("width 4 needs 76 parameters, more than the budget of 10"));
    d = ok;
    d.transform = static_cast<dhe_transform>(7);
    CHECK_THROWS_WITH(make(10, d, emb(4)), Catch::Contains("unknown transform"));
    d = ok;
    d.activation = static_cast<dhe_activation>(7);
    CHECK_THROWS_WITH(make(10, d, emb(4)), Catch::Contains("unknown activation"));
    CHECK_THROWS_WITH(make(0, ok, emb(4)), Catch::Contains("no ids"));
    CHECK_THROWS_WITH(make(10, ok, emb(0)), Catch::Contains("dim must be at least 1"));
    embedding_options nan = emb(4);
    nan.init_std = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(make(10, ok, nan), Catch::Contains("init_std is not finite"));
}

TEST_CASE("dhe in a factorization: fit in batch mode follows the per-id path", "[models][dhe]") {
    // SGD on the networks (Adam would magnify the rounding differences of gradients near 0)
    using adam = bloom::optim::adam<float>;
    using kind = m::dhe_embedding<float, test_sgd<float>>;
    using slow = per_id_only<kind>;
    static_assert(batch_mode_visible<kind>::value, "dhe_embedding has a batch mode");
    static_assert(!batch_mode_visible<slow>::value, "per_id_only hides it");
    adam::config c;
    c.lr = 0.01;
    const test_sgd<float>::config s{1.0f};
    const embedding_options o = emb(8);
    const kind users(40, net(16, 2, 8), o, s, bloom::xxh3{});
    const kind items(60, net(16, 2, 8), o, s, bloom::murmur3_32{});
    std::vector<std::uint32_t> us, is;
    std::mt19937_64 rng(5);
    for (std::uint32_t u = 0; u < 40; ++u)
        for (int t = 0; t < 6; ++t) {
            us.push_back(u);
            is.push_back(static_cast<std::uint32_t>((u % 2) * 30 + rng() % 30));
        }
    for (const m::loss obj : {m::loss::bpr, m::loss::bce, m::loss::adaptive_hinge}) {
        m::fit_options f;
        f.epochs = 5;
        f.batch = 32;
        f.objective = obj;
        f.n_negatives = 3;
        m::factorization<kind, kind, adam> fast(kind(users), kind(items), c);
        m::factorization<slow, slow, adam> ref(slow(users), slow(items), c);
        const m::fit_report a = fast.fit(us, is, f);
        const m::fit_report b = ref.fit(us, is, f);
        INFO("objective " << static_cast<int>(obj));
        REQUIRE(a.epoch_loss.size() == b.epoch_loss.size());
        // the same sums in another order: equal up to float rounding
        for (std::size_t t = 0; t < a.epoch_loss.size(); ++t)
            CHECK(a.epoch_loss[t] == Approx(b.epoch_loss[t]).epsilon(1e-5));
        for (std::size_t l = 0; l <= 2; ++l) {
            const bloom::matrix<float>& wa = fast.item_embedding().layer(l).weights();
            const bloom::matrix<float>& wb = ref.item_embedding().layer(l).weights();
            INFO("layer " << l << " relative difference " << (wa - wb).norm() / wb.norm());
            CHECK(wa.isApprox(wb, 1e-5f));
            CHECK(fast.user_embedding().layer(l).weights().isApprox(ref.user_embedding().layer(l).weights(), 1e-5f));
            // and they have moved
            INFO("moved " << (wa - items.layer(l).weights()).norm() / wb.norm());
            CHECK(!wa.isApprox(items.layer(l).weights(), 1e-2f));
        }
    }
}

TEST_CASE("dhe in a factorization: trains on one thread, refuses several", "[models][dhe]") {
    using adam = bloom::optim::adam<float>;
    using kind = m::dhe_embedding<float, adam>;
    using model = m::factorization<kind, kind, adam>;
    adam::config c;
    c.lr = 0.01;
    auto make = [&] {
        embedding_options o = emb(8);
        return model(kind(40, net(16, 1, 8), o, c, bloom::xxh3{}),
                     kind(60, net(16, 1, 8), o, c, bloom::murmur3_32{}), c);
    };
    std::vector<std::uint32_t> users, items;
    std::mt19937_64 rng(3);
    for (std::uint32_t u = 0; u < 40; ++u)
        for (int t = 0; t < 6; ++t) {
            users.push_back(u);
            items.push_back(static_cast<std::uint32_t>((u % 2) * 30 + rng() % 30));
        }
    m::fit_options f;
    f.epochs = 8;
    f.batch = 32;
    model one = make();
    const m::fit_report rep = one.fit(users, items, f);
    CHECK(rep.epoch_loss.back() < rep.epoch_loss.front());
    model two = make();
    f.threads = 2;
    CHECK_THROWS_WITH(two.fit(users, items, f), Catch::Contains("threads > 1"));
    // fit uses the batch mode: every objective, including those with several negatives (bce)
    // and those whose losing negatives get no gradient (adaptive hinge), lowers its loss, and
    // no batch is left open
    for (const m::loss obj : {m::loss::bpr, m::loss::bce, m::loss::adaptive_hinge}) {
        m::fit_options g;
        g.epochs = 8;
        g.batch = 32;
        g.objective = obj;
        g.n_negatives = 3;
        model three = make();
        const m::fit_report r = three.fit(users, items, g);
        INFO("objective " << static_cast<int>(obj));
        CHECK(r.epoch_loss.back() < r.epoch_loss.front());
        CHECK(three.user_embedding().view(0) == nullptr);
        CHECK(three.item_embedding().view(0) == nullptr);
        CHECK(three.user_embedding().pending() == 0);
        CHECK(three.item_embedding().batch_rows() == 0);
        CHECK(three.item_embedding().layer(0).optimizer().steps() == 8 * (240 / 32 + 1));
    }
}
