// The paper's network on MovieLens 100K (skipped when ../shared/data/ml-100k/u.data is absent),
// with the reference script's split: popularity is the floor any model must clear.
#include <bloom/data/loaders.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/models/network/bloom_mlp.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

using namespace bloom;
using namespace bloom::models;

TEST_CASE("ML-100K: the uncompressed network clears popularity, the reference split reproduces") {
    const std::string path = std::string(BLOOM_SHARED_DIR) + "/data/ml-100k/u.data";
    if (!std::ifstream(path)) {
        WARN("skipped: " << path << " is absent");
        return;
    }
    const data::load_result r = data::load_movielens(path);
    halves_options ho;
    ho.order = half_order::numpy;
    ho.seed = 42;
    const halves h = split_halves(r.data, ho);
    REQUIRE(h.train_users.size() == 849);
    REQUIRE(h.test_users.size() == 94);
    eval::ranking_options eo;
    eo.k = 10;
    eo.threads = 1;
    const auto counts = item_counts(join_rows(h.train_in, h.train_target), h.n_items);
    const eval::ranking_result pop = evaluate_popularity(counts, h.test_in, h.test_target, eo);
    // the reference script measures popularity at P@10 0.351 and MRR 0.633 on this split
    CHECK(pop.precision == Approx(0.3511).margin(5e-5));
    CHECK(pop.mrr_best == Approx(0.6327).margin(5e-5));

    const auto id = item_code<float>::from_sparse(identity_code(h.n_items));
    bloom_mlp<float> net(id, id, network_options{});
    network_fit_options f;
    f.epochs = 30;
    f.resample = true;
    net.fit(h.train_in, h.train_target, f);
    const eval::ranking_result res = net.evaluate(h.test_in, h.test_target, eo);
    INFO("network P@10 " << res.precision << ", popularity " << pop.precision);
    CHECK(res.precision > pop.precision + 0.1);
    CHECK(res.mrr_best > pop.mrr_best);
}
