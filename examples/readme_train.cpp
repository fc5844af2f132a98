// The training example of README.md, compiled and run by the tests so that it cannot rot.
#include <bloom/bloom.hpp>

#include <cstdio>

int main() {
    namespace bm = bloom::models;
    using opt = bloom::optim::adam<float>;

    // Data: the built-in generator here; bloom::data::load_movielens("u.data").data for a file.
    bloom::data::synthetic_config sc;
    sc.n_users = 2000;
    sc.n_items = 5000;
    sc.n_interactions = 60000;
    const bloom::data::interactions all = bloom::data::make_synthetic(sc);
    const bloom::data::train_test split = bloom::data::random_split(all, 0.2, 42);
    const auto& tr = split.train;
    const auto train = bloom::eval::make_user_items(all.n_users, tr.users, tr.items);
    const auto test = bloom::eval::make_user_items(all.n_users, split.test.users, split.test.items);
    std::vector<std::uint64_t> counts(all.n_items, 0);
    for (const std::uint32_t i : tr.items) ++counts[i];

    // What docs/models.md recommends at 1/5 of the parameters: each user is the Bloom filter of
    // its training items (k = 1), items share a frequency-aware Bloom table (k = 4).
    using users_kind = bm::history_bloom_embedding<float, opt>;
    using items_kind = bm::freq_bloom_embedding<float, opt>;
    bm::embedding_options o;
    o.dim = 32;
    opt::config oc;
    oc.lr = 1e-2;
    oc.weight_decay = 1e-6;
    bm::bloom_options ub, ib;
    ub.rows = all.n_users / 5;
    ub.k = 1;
    ub.comb = bm::combine::mean;
    ib.rows = all.n_items / 5;
    ib.k = 4;
    bm::factorization<users_kind, items_kind, opt> model(
        users_kind(all.n_users, train.offsets, train.items, all.n_items, ub, o, oc),
        items_kind(all.n_items, counts, ib, bm::freq_options{}, o, oc), oc);
    model.fit(tr.users, tr.items, bm::fit_options{});  // 10 epochs of BPR, lazy row-sparse Adam

    model.prepare_scoring();
    const bloom::eval::ranking_result r = bloom::eval::evaluate_ranking(
        [&](std::uint32_t u, float* s) { model.score_user(u, s); }, all.n_items, train, test);
    std::printf("MRR %.4f  P@10 %.4f  %zu parameters\n", r.mrr, r.precision, model.parameters());

    bloom::io::save("model.bin", model);  // a model file; loads back bit for bit
    const auto again = bloom::io::load<decltype(model)>("model.bin");
    return again.predict(0, 0) == model.predict(0, 0) ? 0 : 1;
}
