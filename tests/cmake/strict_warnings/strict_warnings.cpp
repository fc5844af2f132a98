// A consumer's translation unit under strict warnings (-Wall -Wextra -Wpedantic -Wshadow
// -Wconversion -Wsign-conversion -Werror): it includes every public header (the generated
// bloom_public_headers.hpp lists them) and instantiates the main templates, since a warning in a
// template body only shows when the template is instantiated. It also runs them on a small
// problem and fails on a result that cannot be right, so a build that compiles but is broken
// does not pass either.
#include "bloom_public_headers.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

// The optional policies whose targets CMakeLists.txt linked: all_policies must hold them.
static_assert(bloom::optional_policies::size == BLOOM_STRICT_OPTIONAL_POLICIES,
              "the optional hash policies are not those of the linked targets");

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "strict_warnings: %s\n", what);
        ++failures;
    }
}

// Saves a model to a model file and loads it back (io/archive.hpp): the loaded model has the same
// parameters and, for a factorization, the same scores.
template <class Model>
Model round_trip(const Model& model, const char* what) {
    static int counter = 0;
    const std::string path = "strict_warnings_model_" + std::to_string(++counter) + ".bin";
    bloom::io::save(path, model);
    Model back = bloom::io::load<Model>(path);
    std::remove(path.c_str());
    if (back.parameters() != model.parameters()) {
        std::fprintf(stderr, "strict_warnings: %s: the loaded model has other parameters\n", what);
        ++failures;
    }
    return back;
}

// Encoder, decoder and diagnostics with one hash policy.
template <class Hash>
void encode_and_decode() {
    bloom::spec_config cfg;
    cfg.items = 500;
    cfg.m = 100;
    cfg.k = 3;
    const bloom::basic_encoder<Hash> enc(bloom::basic_spec<Hash>(cfg), bloom::lookup::table);
    const bloom::basic_decoder<Hash> dec(enc.shared_table());
    const std::vector<std::uint32_t> history = {3, 17, 256};
    const std::vector<std::uint32_t> positions = enc.encode(history);
    expect(!positions.empty() && positions.size() <= 9, "encode gave no or too many positions");
    bloom::vector<float> output =
        0.05f + 0.9f * enc.dense(std::vector<std::uint32_t>{42}).array();
    const std::vector<bloom::scored_item> best = dec.top_n(output, 1, history);
    expect(best.size() == 1 && best[0].id == 42, "decode did not recover the encoded item");
    const bloom::load_histogram loads = bloom::bucket_loads(enc);
    const bloom::signature_stats sig = bloom::signature_uniqueness(enc);
    std::uint64_t positions_counted = 0, hashes_counted = 0;
    for (std::size_t c = 0; c < loads.counts.size(); ++c) {
        positions_counted += loads.counts[c];
        hashes_counted += c * loads.counts[c];
    }
    expect(positions_counted == 100 && hashes_counted == 500 * 3,
           "the bucket loads do not cover m positions and d * k hashes");
    expect(sig.unique <= 500, "more unique signatures than ids");

    // The other entry points: on-the-fly lookup with double hashing, 64-bit ids and 4-byte keys,
    // byte-string keys, the span API with a scratch buffer, batches in and out.
    bloom::spec_config open_cfg = cfg;
    open_cfg.items = 0;
    open_cfg.derive = bloom::derivation::double_hashing;
    open_cfg.key_bytes = 4;
    const bloom::basic_encoder<Hash> open(open_cfg);
    const std::vector<std::uint64_t> wide = {7, 1u << 20};
    const std::vector<std::string> keys = {"user:7", "item:42"};
    expect(!open.encode(wide).empty() && !open.encode(keys).empty(),
           "on-the-fly encoding of ids or keys gave no positions");
    std::vector<std::uint32_t> out(enc.capacity(history.size())), scratch(out.size());
    const std::size_t n = enc.encode(history.data(), history.size(), out.data(), scratch.data());
    expect(std::vector<std::uint32_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)) ==
               positions,
           "the span API and the allocating encode disagree");
    const std::vector<std::vector<std::uint32_t>> sets = {{1, 2}, {42}, {}};
    const bloom::csr batch = enc.encode_batch(sets);
    bloom::matrix<double> outputs = bloom::matrix<double>::Constant(2, 100, 0.05);
    outputs.row(1) = 0.05 + 0.9 * enc.template dense<double>(std::vector<std::uint32_t>{7}).array();
    const auto best_rows = dec.top_n_batch(outputs, 2, std::vector<std::vector<std::uint32_t>>{{}, {}});
    expect(batch.rows() == 3 && best_rows.size() == 2 && best_rows[1][0].id == 7,
           "the batch encode or decode went wrong");
    const bloom::fpr_report fpr = bloom::false_positive_rate(enc, history);
    expect(fpr.members == 3 && fpr.measured_fpr() >= 0 && fpr.measured_fpr() <= 1,
           "the false positive rate of a 3-item set is not in [0, 1]");
}

// Dense and row-sparse steps of an optimizer.
template <class Opt>
void optimizer_steps() {
    using S = typename Opt::scalar_type;
    typename Opt::config c;
    c.lr = 0.1;
    Opt opt(c);
    bloom::matrix<S> w = bloom::matrix<S>::Ones(4, 3);
    opt.step(w, bloom::matrix<S>::Constant(4, 3, S(0.5)));
    expect(w(0, 0) < S(1), "a dense step against a positive gradient did not lower the weight");
    Opt sparse(c);
    bloom::row_sparse<S> g;
    g.rows = {1, 3};
    g.values = bloom::matrix<S>::Constant(2, 3, S(-0.5));
    bloom::matrix<S> t = bloom::matrix<S>::Zero(4, 3);
    sparse.step(t, g);
    expect(t(1, 0) > S(0) && t(0, 0) == S(0), "a row-sparse step touched the wrong rows");
}

bloom::eval::user_items sets_of(const bloom::data::interactions& d) {
    return bloom::eval::make_user_items(d.n_users, d.users, d.items);
}

// A factorization with full user and Bloom item embeddings, trained by lazy Adam, then ranked.
void factorization_model(const bloom::data::train_test& split) {
    using opt = bloom::optim::adam<float>;
    using full = bloom::models::full_embedding<float, opt>;
    using bloomed = bloom::models::bloom_embedding<float, opt>;
    bloom::models::embedding_options o;
    o.dim = 8;
    bloom::models::bloom_options b;
    b.rows = split.train.n_items / 4;
    b.k = 2;
    opt::config oc;
    oc.lr = 1e-2;
    bloom::models::factorization<full, bloomed, opt> model(
        full(split.train.n_users, o, oc),
        bloomed(split.train.n_items, b, o, oc, bloom::murmur3_32{}), oc);
    bloom::models::fit_options f;
    f.epochs = 2;
    const bloom::models::fit_report rep = model.fit(split.train.users, split.train.items, f);
    expect(rep.epoch_loss.size() == 2 && std::isfinite(rep.epoch_loss.back()),
           "factorization::fit reported no finite loss per epoch");
    model.prepare_scoring();
    bloom::eval::ranking_options eo;
    eo.threads = 1;
    const bloom::eval::ranking_result r = bloom::eval::evaluate_ranking(
        [&](std::uint32_t u, float* s) { model.score_user(u, s); }, split.train.n_items,
        sets_of(split.train), sets_of(split.test), eo);
    expect(r.users > 0 && r.mrr > 0 && r.mrr <= 1, "factorization's MRR is not in (0, 1]");

    // A checkpoint: the model, its training state and an id map in one file, then resumed.
    bloom::models::training_state state;
    f.state = &state;
    model.fit(split.train.users, split.train.items, f);
    {
        bloom::io::file_saver out("strict_warnings_checkpoint.bin");
        out.object("model", model);
        out.object("train", state);
        out.object("users", bloom::data::id_map::iota(split.train.n_users));
        out.commit();
    }
    const bloom::io::file_loader in("strict_warnings_checkpoint.bin");
    auto resumed = in.make<decltype(model)>("model");
    bloom::models::training_state st;
    in.object("train", st);
    bloom::data::id_map ids;
    in.object("users", ids);
    std::remove("strict_warnings_checkpoint.bin");
    f.epochs = 3;
    f.state = &st;
    resumed.fit(split.train.users, split.train.items, f);
    expect(st.epochs_done == 5 && ids.size() == split.train.n_users, "the checkpoint did not resume");
}

// Fits a factorization for one epoch with every objective and checks each loss is finite.
template <class UserKind, class ItemKind, class Opt>
void fit_every_loss(bloom::models::factorization<UserKind, ItemKind, Opt>& model,
                    const bloom::data::interactions& train, const char* what) {
    using bloom::models::loss;
    for (loss l : {loss::bpr, loss::bpr_log, loss::pointwise, loss::hinge, loss::adaptive_hinge}) {
        bloom::models::fit_options f;
        f.epochs = 1;
        f.objective = l;
        const bloom::models::fit_report rep = model.fit(train.users, train.items, f);
        if (rep.epoch_loss.size() != 1 || !std::isfinite(rep.epoch_loss.front())) {
            std::fprintf(stderr, "strict_warnings: %s, loss %s: no finite epoch loss\n", what,
                         bloom::models::to_string(l));
            ++failures;
        }
    }
    const auto back = round_trip(model, what);
    expect(back.predict(0, 1) == model.predict(0, 1), "a loaded factorization scores differently");
}

// The other embedding kinds, in double and with the other optimizers.
void other_embedding_kinds(const bloom::data::interactions& train) {
    namespace bm = bloom::models;
    bm::embedding_options o;
    o.dim = 4;
    bm::bloom_options b;
    b.rows = train.n_items / 4;
    b.k = 2;
    {
        using opt = bloom::optim::sgd<double>;
        using hashed = bm::hash_embedding<double, opt>;
        using qr = bm::qr_embedding<double, opt>;
        opt::config oc;
        oc.lr = 0.05;
        bm::factorization<hashed, qr, opt> model(hashed(train.n_users, b, o, oc, bloom::xxh64{}),
                                                 qr(train.n_items, b.rows, o, oc), oc);
        fit_every_loss(model, train, "hash embedding and QR, SGD, double");
    }
    {
        using opt = bloom::optim::adagrad<float>;
        using history = bm::history_bloom_embedding<float, opt>;
        using freq = bm::freq_bloom_embedding<float, opt>;
        opt::config oc;
        oc.lr = 0.05;
        // Users as Bloom filters of their training items: interactions grouped by user.
        std::vector<std::size_t> offsets(train.n_users + std::size_t{1}, 0);
        for (std::uint32_t u : train.users) ++offsets[u + std::size_t{1}];
        for (std::size_t u = 0; u < train.n_users; ++u) offsets[u + 1] += offsets[u];
        std::vector<std::uint32_t> items(train.size());
        std::vector<std::size_t> fill(offsets.begin(), offsets.end() - 1);
        for (std::size_t e = 0; e < train.size(); ++e) items[fill[train.users[e]]++] = train.items[e];
        std::vector<std::uint64_t> counts(train.n_items, 0);
        for (std::uint32_t i : train.items) ++counts[i];
        bm::factorization<history, freq, opt> model(
            history(train.n_users, offsets, items, train.n_items, b, o, oc, bloom::multiply_shift{}),
            freq(train.n_items, counts, b, bm::freq_options{}, o, oc, bloom::murmur3_128{}), oc);
        fit_every_loss(model, train, "history Bloom and frequency-aware Bloom, Adagrad, float");
    }
}

// Reverse-mode autodiff in double, checked against finite differences.
void autodiff_gradients() {
    namespace ad = bloom::ad;
    bloom::data::engine rng(7);
    bloom::matrix<double> w0(3, 4), b0(1, 4), t0(6, 3);
    bloom::nn::init::apply(bloom::nn::init::scheme::xavier_uniform, w0, rng);
    bloom::nn::init::apply(bloom::nn::init::scheme::he_uniform, b0, rng);
    bloom::nn::init::apply(bloom::nn::init::scheme::he_uniform, t0, rng);
    ad::parameter<double> w(w0), b(b0);
    ad::table_parameter<double> table(t0);
    const ad::identity_rows rows(6);
    const std::vector<std::uint32_t> ids = {1, 4, 4};
    bloom::matrix<double> target = bloom::matrix<double>::Zero(3, 4);  // a class per id
    target(0, 2) = target(1, 0) = target(2, 0) = 1.0;
    const ad::gradient_check_result r = ad::check_gradients(
        [&](ad::tape<double>& t) {
            const ad::var e = ad::embedding(t, table, rows, ids);
            const ad::var h = ad::add_bias(t, ad::matmul(t, e, t.param(w)), t.param(b));
            const ad::var z = ad::add(t, ad::tanh(t, h), ad::sigmoid(t, h));
            return ad::softmax_cross_entropy(t, z, target);
        },
        {&w, &b}, {&table});
    expect(r.ok && r.checked > 0, "an autodiff gradient disagrees with finite differences");
}

// The layers and the remaining autodiff ops in double: a Bloom-hashed embedding and an MLP with
// dropout under every loss, one backward pass, an Adam step on each dense parameter.
void layers_and_losses() {
    namespace ad = bloom::ad;
    namespace nn = bloom::nn;
    bloom::data::engine rng(3);
    bloom::spec_config sc;
    sc.items = 50;
    sc.m = 20;
    sc.k = 2;
    nn::embedding_layer<double, ad::spec_rows<bloom::xxh3>> emb(
        ad::spec_rows<bloom::xxh3>(sc), 6, rng, ad::combine::mean);
    nn::mlp<double> net = nn::mlp<double>::builder(6)
                              .dense(8, nn::activation::relu)
                              .dropout(0.25)
                              .dense(8, nn::activation::tanh)
                              .dense(4)
                              .build(rng);
    ad::tape<double> t;
    const std::vector<std::uint32_t> ids = {1, 7, 7, 30};
    const ad::var z = net(t, emb(t, ids), rng, true);  // 4 x 4
    bloom::matrix<double> target = bloom::matrix<double>::Zero(4, 4);
    for (Eigen::Index r = 0; r < 4; ++r) target(r, r) = 1.0;
    const ad::var pos = ad::row_sum(t, ad::mul(t, z, t.constant(target)));
    const ad::var neg = ad::gather_rows(t, pos, std::vector<std::uint32_t>{3, 2, 1, 0});
    const std::vector<ad::var> terms = {
        ad::softmax_cross_entropy(t, z, target),
        ad::sigmoid_bce_with_logits(t, z, target),
        ad::squared_error(t, ad::sigmoid(t, z), target),
        ad::mean(t, ad::log_softmax(t, z)),
        ad::sum(t, ad::matmul_nt(t, z, ad::scale(t, z, 0.5))),
        ad::bpr(t, pos, neg),
        ad::bpr_log(t, pos, neg),
        ad::pointwise(t, pos, neg),
        ad::hinge(t, pos, neg),
        ad::adaptive_hinge(t, pos, ad::concat_cols(t, {neg, ad::sub(t, neg, pos)})),
    };
    ad::var total = terms.front();
    for (std::size_t i = 1; i < terms.size(); ++i) total = ad::add(t, total, terms[i]);
    t.backward(total);
    expect(std::isfinite(t.item(total)), "the sum of the losses is not finite");
    for (ad::parameter<double>* p : net.parameters()) {
        bloom::optim::adam<double> opt;
        opt.step(p->value(), p->grad());
        expect(p->value().allFinite(), "an Adam step made a weight NaN");
    }
}

// Explicit feedback: regression on ratings, scored by RMSE.
void ratings_model(const bloom::data::interactions& train) {
    using opt = bloom::optim::adam<float>;
    using full = bloom::models::full_embedding<float, opt>;
    bloom::models::embedding_options o;
    o.dim = 4;
    opt::config oc;
    bloom::models::factorization<full, full, opt> model(full(train.n_users, o, oc),
                                                        full(train.n_items, o, oc), oc);
    model.fit_explicit(train.users, train.items, train.weights, bloom::models::fit_options{});
    const double e = bloom::eval::rmse(
        [&](std::uint32_t u, std::uint32_t i) { return model.predict(u, i); }, train.users,
        train.items, train.weights);
    expect(std::isfinite(e) && e < 5, "the RMSE on ratings 1..5 is not below 5");
}

// The paper's network: a Bloom input code, identity output positions, one epoch.
void network_model(const bloom::data::interactions& all) {
    namespace bm = bloom::models;
    const bm::halves h = bm::split_halves(all, bm::halves_options{});
    bloom::spec_config sc;
    sc.items = all.n_items;
    sc.m = all.n_items / 4;
    sc.k = 2;
    using code = bm::item_code<float>;
    bm::network_options no;
    no.hidden = {16};
    bm::bloom_mlp<float> net(code::from_sparse(bm::spec_code(bloom::basic_spec<bloom::xxh3>(sc))),
                             code::from_sparse(bm::identity_code(all.n_items)), no);
    bm::network_fit_options f;
    f.epochs = 1;
    f.batch = 32;
    const bloom::models::fit_report rep = net.fit(h.train_in, h.train_target, f);
    expect(rep.epoch_loss.size() == 1 && std::isfinite(rep.epoch_loss.front()),
           "bloom_mlp::fit reported no finite loss");
    bloom::eval::ranking_options eo;
    eo.threads = 1;
    const bloom::eval::ranking_result r = net.evaluate(h.test_in, h.test_target, eo);
    expect(r.users > 0 && r.precision >= 0 && r.precision <= 1, "bloom_mlp's P@k is not in [0, 1]");

    // The other codings: dense PMI codes (cosine recovery), co-occurrence-aware and
    // frequency-aware output positions, ECOC (summed sets, code-word recovery), in double.
    const bloom::eval::user_items train_sets = bm::join_rows(h.train_in, h.train_target);
    const std::uint32_t m = all.n_items / 4;
    const std::vector<std::uint64_t> counts = bm::item_counts(train_sets, all.n_items);
    bm::network_options dense_no = no;
    dense_no.loss = bm::output_loss::regression;
    dense_no.rank = bm::recovery::similarity;
    bm::bloom_mlp<float> pmi(code::from_dense(bm::pmi_embeddings<float>(train_sets, all.n_items, m)),
                             code::from_dense(bm::pmi_embeddings<float>(train_sets, all.n_items, m)),
                             dense_no);
    pmi.fit(h.train_in, h.train_target, f);
    bm::network_options sigmoid_no = no;
    sigmoid_no.loss = bm::output_loss::sigmoid;
    bm::bloom_mlp<float> positions(
        code::from_sparse(bm::frequency_code<bloom::xxh32>(all.n_items, counts, m, 2, 1,
                                                           bm::frequency_options{})),
        code::from_sparse(bm::cooccurrence_code<bloom::murmur3_32>(train_sets, all.n_items, m, 2, 1,
                                                                   bm::cooccurrence_options{})),
        sigmoid_no);
    positions.fit(h.train_in, h.train_target, f);
    bm::network_options ecoc_no = sigmoid_no;
    ecoc_no.sets = bm::set_coding::sum;
    ecoc_no.rank = bm::recovery::code_word;
    bm::bloom_mlp<double> ecoc(bm::item_code<double>::from_sparse(bm::ecoc_code(all.n_items, m, 3)),
                               bm::item_code<double>::from_sparse(bm::ecoc_code(all.n_items, m, 4)),
                               ecoc_no);
    ecoc.fit(h.train_in, h.train_target, f);
    round_trip(net, "bloom_mlp, Bloom in, identity out");
    round_trip(pmi, "bloom_mlp, PMI codes");
    round_trip(positions, "bloom_mlp, frequency- and co-occurrence-aware codes");
    round_trip(ecoc, "bloom_mlp, ECOC, double");
    const std::vector<bloom::scored_item> top = ecoc.recommend(std::vector<std::uint32_t>{1, 2}, 5);
    expect(top.size() == 5, "bloom_mlp::recommend did not return the 5 items asked for");
    for (auto* other : {&pmi, &positions}) {
        const bloom::eval::ranking_result rr = other->evaluate(h.test_in, h.test_target, eo);
        expect(rr.users == r.users, "two networks evaluated different test users");
    }
    const bm::cca_result<float> cca = bm::cca_embeddings<float>(h.train_in, h.train_target,
                                                                all.n_items, m / 4);
    expect(cca.in.rows() == all.n_items && cca.out.cols() == m / 4,
           "the CCA codes are not d x m");
    const bloom::eval::ranking_result pop =
        bm::evaluate_popularity(counts, h.test_in, h.test_target, eo);
    expect(pop.users == r.users, "the popularity floor evaluated different test users");
}

}  // namespace

int main() {
    bloom::for_each_policy([](auto policy) { encode_and_decode<decltype(policy)>(); });
    const std::vector<std::uint32_t> spotlight_rows(1, 5);
    expect(!bloom::basic_encoder<bloom::murmur3_32>(bloom::spotlight_spec(100, 4, 500))
                .encode(spotlight_rows)
                .empty(),
           "Spotlight's spec gave no positions");

    optimizer_steps<bloom::optim::sgd<float>>();
    optimizer_steps<bloom::optim::adagrad<double>>();
    optimizer_steps<bloom::optim::adam<float>>();
    optimizer_steps<bloom::optim::adam<double>>();

    bloom::data::synthetic_config sc;
    sc.n_users = 120;
    sc.n_items = 200;
    sc.n_interactions = 3000;
    sc.ratings = true;
    const bloom::data::interactions all = bloom::data::make_synthetic(sc);
    const bloom::data::train_test split = bloom::data::random_split(all);
    factorization_model(split);
    other_embedding_kinds(split.train);
    autodiff_gradients();
    layers_and_losses();
    ratings_model(split.train);
    network_model(all);

    if (failures == 0) std::printf("strict_warnings: every check passed\n");
    return failures == 0 ? 0 : 1;
}
