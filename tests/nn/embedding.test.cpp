// Embedding, hash-embedding and bag layers: shapes, values, and training with a row-sparse SGD
// written here, which leaves every untouched row bit-for-bit unchanged.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include <bloom/ad/losses.hpp>
#include <bloom/ad/ops.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/nn/embedding.hpp>

namespace ad = bloom::ad;
namespace nn = bloom::nn;
using fmat = bloom::matrix<float>;
using rows_t = ad::spec_rows<bloom::murmur3_32>;

namespace {

rows_t bloom_rows(std::uint64_t m, std::uint32_t k) {
    bloom::spec_config cfg;
    cfg.m = m;
    cfg.k = k;
    cfg.seed = 3;
    return rows_t(cfg);
}

void sparse_sgd(ad::table_parameter<float>& tp, float lr) {
    const auto& g = tp.grad();
    for (std::size_t i = 0; i < g.rows.size(); ++i)
        tp.value().row(g.rows[i]) -= lr * g.values.row(static_cast<Eigen::Index>(i));
    tp.zero_grad();
}

}  // namespace

TEST_CASE("embedding layer: Bloom rows, scaled-normal init, learns targets sparsely",
          "[nn][embedding]") {
    std::mt19937_64 rng(1);
    nn::embedding_layer<float, rows_t> emb(bloom_rows(64, 3), 8, rng);
    CHECK(emb.table().rows() == 64);
    CHECK(emb.dim() == 8);
    CHECK(emb.combine_mode() == ad::combine::sum);
    CHECK(emb.table().value().cwiseAbs().maxCoeff() < 1.0f);  // N(0, 1/8^2)

    // Regress 10 ids (of many the table could hold) onto random targets.
    const std::vector<std::uint32_t> ids{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const fmat target = fmat::Random(10, 8);
    const fmat before = emb.table().value();
    ad::tape<float> t;
    float first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
        t.clear();
        const ad::var d = ad::sub(t, emb(t, ids), t.constant(target));
        const ad::var loss = ad::mean(t, ad::mul(t, d, d));
        t.backward(loss);
        (step == 0 ? first : last) = t.item(loss);
        sparse_sgd(emb.table(), 2.0f);
    }
    INFO("first " << first << " last " << last);
    CHECK(last < 0.1f * first);
    // Rows no id reads are bit-for-bit unchanged.
    std::set<std::uint32_t> read;
    std::uint32_t pos[3];
    for (auto id : ids) {
        emb.rows()(id, pos);
        read.insert(pos, pos + 3);
    }
    int untouched = 0;
    for (Eigen::Index r = 0; r < 64; ++r)
        if (!read.count(static_cast<std::uint32_t>(r))) {
            ++untouched;
            CHECK(emb.table().value().row(r) == before.row(r));
        }
    CHECK(untouched > 20);
}

TEST_CASE("full-table embedding layer and mean mode", "[nn][embedding]") {
    std::mt19937_64 rng(2);
    nn::embedding_layer<float> emb(ad::identity_rows(5), 3, rng, ad::combine::mean);
    ad::tape<float> t;
    const fmat y = t.value(emb(t, std::vector<int>{4, 0}));
    CHECK(y.row(0) == emb.table().value().row(4));
    CHECK(y.row(1) == emb.table().value().row(0));
    CHECK_THROWS_AS(emb(t, std::vector<int>{5}), bloom::out_of_range);
    CHECK_THROWS_AS(nn::embedding_layer<float>(ad::identity_rows(5), 0, rng),
                    bloom::invalid_argument);
}

TEST_CASE("hash embedding layer starts as the plain Bloom embedding", "[nn][embedding]") {
    std::mt19937_64 rng(3), rng2(3);
    nn::hash_embedding_layer<float, rows_t> hemb(bloom_rows(32, 2), ad::identity_rows(100), 4, rng);
    nn::embedding_layer<float, rows_t> plain(bloom_rows(32, 2), 4, rng2);
    CHECK(hemb.importance().rows() == 100);
    CHECK(hemb.importance().cols() == 2);
    const std::vector<std::uint32_t> ids{7, 99, 7};
    ad::tape<float> t;
    CHECK(t.value(hemb(t, ids)).isApprox(t.value(plain(t, ids))));
    t.backward(ad::sum(t, hemb(t, ids)));
    CHECK(hemb.importance().grad().rows == std::vector<std::uint32_t>{7, 99});
    CHECK(hemb.table().grad().nnz_rows() <= 4);

    nn::hash_embedding_layer<float, rows_t> per_id(bloom_rows(32, 2), ad::identity_rows(100), 4,
                                                   rng, false);
    CHECK(per_id.importance().cols() == 1);
}

TEST_CASE("bag layer sums the listed rows", "[nn][embedding]") {
    std::mt19937_64 rng(4);
    nn::bag_layer<float> bag(20, 5, rng);
    CHECK(bag.m() == 20);
    CHECK(bag.dim() == 5);
    const std::vector<std::uint32_t> off{0, 2, 5};
    const std::vector<std::uint32_t> pos{3, 17, 0, 3, 19};
    ad::tape<float> t;
    const ad::var out = bag(t, ad::make_csr<float>(off, pos));
    const fmat& w = bag.table().value();
    CHECK(t.value(out).row(0).isApprox(w.row(3) + w.row(17)));
    CHECK(t.value(out).row(1).isApprox(w.row(0) + w.row(3) + w.row(19)));
    t.backward(ad::sum(t, out));
    CHECK(bag.table().grad().rows == std::vector<std::uint32_t>{0, 3, 17, 19});
    CHECK(bag.table().grad().values.row(1).isApprox(fmat::Constant(1, 5, 2.0f)));
}
