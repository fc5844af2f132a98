// bloom: train a recommender on a ratings file, keep it in a model file, and use it.
//
//   bloom train     --data ratings.csv --model model.bin     train on the whole file
//   bloom eval      --model model.bin --data test.csv        ranking metrics, popularity floor
//   bloom recommend --model model.bin --user 196 -n 10       one item a line (known items left out)
//   bloom similar   --model model.bin --item 50 -n 10        nearest items by cosine
//   bloom info      --model model.bin                        kinds, sizes, specs, collisions
//
// Ids are the file's own (integers or text) in and out. The default model is the configuration
// docs/models.md recommends at 1/5 of the parameters: users as the Bloom filter of their items
// (bloom-history, k = 1), items in a frequency-aware Bloom table (k = 4), BPR, lazy Adam.
// --data takes MovieLens files (detected) or any delimited file (--sep, --header, --user-col...,
// --string-ids: examples/common.hpp); without it, train uses the built-in synthetic data.
// Exit codes: 0 success, 1 an error in the data, the model file or the run, 2 a bad command line.
// docs/tool.md documents every option and output.
#include <bloom/data/interactions.hpp>
#include <bloom/data/loaders.hpp>
#include <bloom/encoding/diagnostics.hpp>
#include <bloom/eval/evaluate.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/hash/all.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/network/bloom_mlp.hpp>
#include <bloom/models/network/codes.hpp>
#include <bloom/models/network/positions.hpp>
#include <bloom/optim/adam.hpp>

#include "common.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using scalar = float;
using opt = bloom::optim::adam<scalar>;
namespace bm = bloom::models;
namespace io = bloom::io;
namespace nn = bloom::nn;
using json = nlohmann::ordered_json;

// A bad command line (exit code 2), as opposed to bad data or a failed run (exit code 1).
struct usage_error : std::runtime_error {
    explicit usage_error(const std::string& what) : std::runtime_error(what) {}
};

// ---- the settings a model is trained with (kept in the model file) ----------------------------

struct train_settings {
    std::string model = "factorization";  // or "network": the paper's network
    std::string users = "bloom-history", items = "freq-bloom";
    std::string hash = "murmur3_32";
    double ratio = 0.2, head_share = 0.5, lr = 1e-2, l2 = 1e-6;
    std::uint32_t k = 4, history_k = 1, dim = 32, epochs = 10, batch = 256;
    std::string loss = "bpr";
    std::string interaction = "dot";  // or "gmf" (the factorization's score)
    std::uint32_t negatives = 5;      // sampled per positive by bce and adaptive-hinge
    std::uint64_t seed = 42;
    // the network's
    std::string coding = "bloom", hidden = "256", activation = "relu", output = "softmax";
    double dropout = 0.0;
    // How to train, not what: not kept in the model file.
    std::uint32_t threads = 1;

    template <class A>
    void archive(A& a) {
        a.value("model", model);
        a.value("coding", coding);
        a.value("hidden", hidden);
        a.value("activation", activation);
        a.value("output", output);
        a.value("dropout", dropout);
        a.value("users", users);
        a.value("items", items);
        a.value("hash", hash);
        a.value("ratio", ratio);
        a.value("head_share", head_share);
        a.value("lr", lr);
        a.value("l2", l2);
        a.value("k", k);
        a.value("history_k", history_k);
        a.value("dim", dim);
        a.value("epochs", epochs);
        a.value("batch", batch);
        a.value("loss", loss);
        // Files written before these two settings existed trained dot models with 5 negatives.
        if constexpr (A::loading) {
            interaction = "dot";
            negatives = 5;
            if (a.has("interaction")) a.value("interaction", interaction);
            if (a.has("negatives")) a.value("negatives", negatives);
        } else {
            a.value("interaction", interaction);
            a.value("negatives", negatives);
        }
        a.value("seed", seed);
    }
};

const std::vector<std::string> user_methods = {"full", "bloom", "hashing", "hash-emb", "qr",
                                               "freq-bloom", "bloom-history"};
const std::vector<std::string> item_methods = {"full", "bloom", "hashing", "hash-emb", "qr",
                                               "freq-bloom"};
const std::vector<std::string> losses = {"bpr", "bpr-log", "pointwise", "hinge", "adaptive-hinge", "bce"};
const std::vector<std::string> interactions = {"dot", "gmf"};
const std::vector<std::string> codings = {"bloom", "hashing", "identity", "freq", "cbe"};

// "256,128" -> {256, 128}; empty on a malformed list.
std::vector<std::uint32_t> parse_widths(const std::string& text) {
    std::vector<std::uint32_t> out;
    std::stringstream ss(text);
    std::string part;
    while (std::getline(ss, part, ',')) {
        if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos)
            return {};
        const unsigned long w = std::stoul(part);
        if (w == 0) return {};
        out.push_back(static_cast<std::uint32_t>(w));
    }
    return out;
}

bm::loss parse_loss(const std::string& l) {
    if (l == "bpr") return bm::loss::bpr;
    if (l == "bpr-log") return bm::loss::bpr_log;
    if (l == "pointwise") return bm::loss::pointwise;
    if (l == "hinge") return bm::loss::hinge;
    if (l == "bce") return bm::loss::bce;
    return bm::loss::adaptive_hinge;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

// ---- one model whatever its kinds: the factorization behind a virtual interface ----------------

using full_k = bm::full_embedding<scalar, opt>;
using bloom_k = bm::bloom_embedding<scalar, opt>;
using hash_k = bm::hash_embedding<scalar, opt>;
using qr_k = bm::qr_embedding<scalar, opt>;
using freq_k = bm::freq_bloom_embedding<scalar, opt>;
using hist_k = bm::history_bloom_embedding<scalar, opt>;

template <class T>
struct tag {
    using type = T;
};

template <class F>
void for_user_kinds(F&& f) {
    f(tag<full_k>{});
    f(tag<bloom_k>{});
    f(tag<hash_k>{});
    f(tag<qr_k>{});
    f(tag<freq_k>{});
    f(tag<hist_k>{});
}
template <class F>
void for_item_kinds(F&& f) {
    f(tag<full_k>{});
    f(tag<bloom_k>{});
    f(tag<hash_k>{});
    f(tag<qr_k>{});
    f(tag<freq_k>{});
}

// What `bloom info` says of one side: settings and collision figures, as ordered key/values.
using facts = std::vector<std::pair<std::string, json>>;

template <class Hash>
void add_spec_diagnostics(facts& f, std::uint32_t ids, const bm::bloom_options& b, const char* over) {
    const bloom::basic_spec<Hash> spec = bm::make_spec<Hash>(ids, b);
    const bloom::load_histogram h = bloom::bucket_loads(spec);
    const bloom::signature_stats sig = bloom::signature_uniqueness(spec);
    f.emplace_back("diagnostics over", over);
    f.emplace_back("mean ids per row", h.mean_load());
    f.emplace_back("max ids per row", h.max_load());
    f.emplace_back("empty rows", h.empty_positions());
    f.emplace_back("ids with a unique row set", sig.unique_share());
}

void add_spec(facts& f, const std::string& policy, std::uint32_t ids, const bm::bloom_options& b,
              const char* over) {
    f.emplace_back("hash", policy);
    f.emplace_back("rows (m)", b.rows);
    f.emplace_back("k", b.k);
    f.emplace_back("hash seed", b.hash_seed);
    f.emplace_back("derivation", b.derive == bloom::derivation::seeded ? "seeded" : "double hashing");
    f.emplace_back("combine", bm::to_string(b.comb));
    if (b.key_stride != 1) f.emplace_back("key stride", b.key_stride);
    examples::with_hash(policy, "bloom info", [&](auto h) {
        add_spec_diagnostics<decltype(h)>(f, ids, b, over);
    });
}

facts side_facts(const full_k& k) { return {{"rows", k.rows()}}; }
facts side_facts(const bloom_k& k) {
    facts f;
    add_spec(f, k.policy(), k.ids(), k.spec_options(), "all ids");
    return f;
}
facts side_facts(const hash_k& k) {
    facts f = side_facts(k.bloom_part());
    f.emplace_back("importance weights", static_cast<std::uint64_t>(k.ids()) * k.bloom_part().k());
    return f;
}
facts side_facts(const qr_k& k) { return {{"rows", k.rows()}}; }
facts side_facts(const freq_k& k) {
    facts f;
    f.emplace_back("own rows (head)", k.head_rows());
    add_spec(f, k.policy(), k.ids(), k.spec_options(), "the shared rows, as if every id used them");
    return f;
}
facts side_facts(const hist_k& k) {
    facts f;
    f.emplace_back("mean set bits per id", k.mean_set_bits());
    f.emplace_back("filter fill", k.mean_set_bits() / static_cast<double>(k.rows()));
    add_spec(f, k.policy(), k.n_items(), k.spec_options(), "the items that fill the filters");
    return f;
}

struct corpus;
struct train_settings;
using epoch_callback = std::function<void(std::uint32_t, double, double)>;

class model_base {
public:
    virtual ~model_base() = default;
    // Trains the settings' epochs (those left after state.epochs_done, when it can resume).
    virtual bm::fit_report train(const corpus& c, const train_settings& s, bm::training_state& state,
                                 const epoch_callback& on_epoch) = 0;
    virtual bool resumable() const = 0;
    virtual void save(io::file_saver& out) const = 0;
    // Ranking of the users with test items, their `seen` items excluded.
    virtual bloom::eval::ranking_result evaluate(const bloom::eval::user_items& seen,
                                                 const bloom::eval::user_items& test,
                                                 const bloom::eval::ranking_options& ro) = 0;
    // Every item's score for user u, whose known items are seen's row u.
    virtual void scores(std::uint32_t u, const bloom::eval::user_items& seen, scalar* out) = 0;
    virtual void item_vector(std::uint32_t i, scalar* out) const = 0;
    virtual std::uint32_t n_users() const = 0;
    virtual std::uint32_t n_items() const = 0;
    virtual std::uint32_t dim() const = 0;
    virtual std::size_t parameters() const = 0;
    virtual std::size_t embedding_parameters() const = 0;
    virtual std::string family() const = 0;
    virtual std::string user_kind() const = 0;
    virtual std::string item_kind() const = 0;
    virtual std::string describe_users() const = 0;
    virtual std::string describe_items() const = 0;
    virtual facts user_facts() const = 0;
    virtual facts item_facts() const = 0;
};

template <class U, class I>
class model_of final : public model_base {
public:
    using model = bm::factorization<U, I, opt>;
    explicit model_of(model m) : m_(std::move(m)) {}

    bm::fit_report train(const corpus& c, const train_settings& s, bm::training_state& state,
                         const epoch_callback& on_epoch) override;
    bool resumable() const override { return true; }
    void save(io::file_saver& out) const override { out.object("model", m_); }
    bloom::eval::ranking_result evaluate(const bloom::eval::user_items& seen,
                                         const bloom::eval::user_items& test,
                                         const bloom::eval::ranking_options& ro) override {
        m_.prepare_scoring();
        return bloom::eval::evaluate_ranking(
            [&](std::uint32_t u, scalar* sc) { m_.score_user(u, sc); }, m_.n_items(), seen, test, ro);
    }
    void scores(std::uint32_t u, const bloom::eval::user_items&, scalar* out) override {
        if (!prepared_) m_.prepare_scoring();
        prepared_ = true;
        m_.score_user(u, out);
    }
    std::string family() const override {
        return m_.interaction_kind() == bm::interaction::gmf
                   ? "GMF factorization (score: h . (user * item) + biases, h learned)"
                   : "factorization (score: user . item + biases)";
    }
    void item_vector(std::uint32_t i, scalar* out) const override {
        const_cast<model&>(m_).item_embedding().forward(i, out);
    }
    std::uint32_t n_users() const override { return m_.n_users(); }
    std::uint32_t n_items() const override { return m_.n_items(); }
    std::uint32_t dim() const override { return m_.dim(); }
    std::size_t parameters() const override { return m_.parameters(); }
    std::size_t embedding_parameters() const override { return m_.embedding_parameters(); }
    std::string user_kind() const override { return U::kind_name; }
    std::string item_kind() const override { return I::kind_name; }
    std::string describe_users() const override { return users().describe(); }
    std::string describe_items() const override { return items().describe(); }
    facts user_facts() const override { return side_facts(users()); }
    facts item_facts() const override { return side_facts(items()); }

private:
    const U& users() const { return const_cast<model&>(m_).user_embedding(); }
    const I& items() const { return const_cast<model&>(m_).item_embedding(); }
    model m_;
    bool prepared_ = false;
};

// The training data as the model sees it: dense ids, the id maps, each user's items, popularity.
struct corpus {
    std::string name;
    bloom::data::interactions data;
    bloom::eval::user_items seen;        // training items per user (excluded from recommendations)
    std::vector<std::uint64_t> counts;   // training interactions per item (popularity)
    std::vector<std::uint64_t> user_counts;
};

corpus make_corpus(bloom::data::interactions d, std::string name) {
    corpus c;
    c.name = std::move(name);
    if (d.empty()) throw bloom::invalid_argument("bloom: " + c.name + ": no interactions");
    c.seen = bloom::eval::make_user_items(d.n_users, d.users, d.items);
    c.counts.assign(d.n_items, 0);
    for (const std::uint32_t i : d.items) ++c.counts[i];
    c.user_counts.assign(d.n_users, 0);
    for (const std::uint32_t u : d.users) ++c.user_counts[u];
    c.data = std::move(d);
    return c;
}

template <class U, class I>
bm::fit_report model_of<U, I>::train(const corpus& c, const train_settings& s,
                                     bm::training_state& state, const epoch_callback& on_epoch) {
    bm::fit_options f;
    f.epochs = s.epochs - state.epochs_done;
    f.batch = s.batch;
    f.objective = parse_loss(s.loss);
    f.n_negatives = s.negatives;
    f.seed = s.seed;
    f.threads = s.threads;
    f.state = &state;
    f.on_epoch = on_epoch;
    return m_.fit(c.data.users, c.data.items, f);
}

// Facts of a sparse item code for `bloom info`: its width, positions per item, how many items
// share a position, and how many items have a position set of their own.
facts code_facts(const char* side, const bm::sparse_code& c) {
    facts f;
    const std::string p = side;
    f.emplace_back(p + " m", c.m);
    f.emplace_back(p + " k", c.fixed_k() != 0 ? json(c.fixed_k()) : json("varies"));
    std::vector<std::uint64_t> load(static_cast<std::size_t>(c.m), 0);
    for (const std::uint32_t q : c.positions) ++load[q];
    std::uint64_t mx = 0, empty = 0;
    for (const std::uint64_t l : load) {
        mx = std::max(mx, l);
        empty += l == 0;
    }
    std::vector<std::vector<std::uint32_t>> sets(c.items());
    for (std::uint32_t i = 0; i < c.items(); ++i) {
        sets[i].assign(c.begin(i), c.end(i));
        std::sort(sets[i].begin(), sets[i].end());
        sets[i].erase(std::unique(sets[i].begin(), sets[i].end()), sets[i].end());
    }
    std::vector<std::uint32_t> order(c.items());
    std::iota(order.begin(), order.end(), 0U);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return sets[a] < sets[b]; });
    std::uint64_t unique = 0;
    for (std::size_t j = 0; j < order.size(); ++j) {
        const bool prev = j > 0 && sets[order[j - 1]] == sets[order[j]];
        const bool next = j + 1 < order.size() && sets[order[j + 1]] == sets[order[j]];
        unique += !prev && !next;
    }
    f.emplace_back(p + " mean items per position",
                   static_cast<double>(c.positions.size()) / static_cast<double>(c.m));
    f.emplace_back(p + " max items per position", mx);
    f.emplace_back(p + " empty positions", empty);
    f.emplace_back(p + " items with a unique position set",
                   static_cast<double>(unique) / static_cast<double>(c.items()));
    return f;
}

// The paper's network behind the same interface: a user is the set of its training items.
class network_model final : public model_base {
public:
    using net_type = bm::bloom_mlp<scalar>;
    network_model(net_type net, std::string coding) : net_(std::move(net)), coding_(std::move(coding)) {}

    bm::fit_report train(const corpus& c, const train_settings& s, bm::training_state&,
                         const epoch_callback& on_epoch) override;
    bool resumable() const override { return false; }
    void save(io::file_saver& out) const override {
        out.object("model", net_);
        out.root().value("network_coding", coding_);
    }
    bloom::eval::ranking_result evaluate(const bloom::eval::user_items& seen,
                                         const bloom::eval::user_items& test,
                                         const bloom::eval::ranking_options& ro) override {
        return net_.evaluate(seen, test, ro);
    }
    void scores(std::uint32_t u, const bloom::eval::user_items& seen, scalar* out) override {
        const std::size_t row = u;
        net_.output_values(seen, &row, 1, v_);
        net_.scores_from_values(v_.data(), out);
    }
    std::uint32_t dim() const override { return net_.options().hidden.front(); }
    // An item's vector: the first layer's rows at its input positions, summed (its hidden-layer
    // input when it is the user's only item).
    void item_vector(std::uint32_t i, scalar* out) const override {
        const auto& w = net_.first_weight();
        Eigen::Map<bloom::vector<scalar>> v(out, w.cols());
        if (net_.input_code().is_dense()) {
            v.noalias() = (net_.input_code().dense.row(i) * w).transpose();
            return;
        }
        v.setZero();
        const bm::sparse_code& c = net_.input_code().sparse;
        for (const std::uint32_t* p = c.begin(i); p != c.end(i); ++p) v += w.row(*p).transpose();
    }
    std::uint32_t n_users() const override { return n_users_; }
    std::uint32_t n_items() const override { return net_.items(); }
    std::size_t parameters() const override { return net_.parameters(); }
    std::size_t embedding_parameters() const override {
        return static_cast<std::size_t>(net_.first_weight().size());
    }
    std::string family() const override {
        return "the paper's network (item set in, " + std::string(bm::to_string(net_.options().loss)) +
               " output over m positions, " + bm::to_string(net_.options().rank) + " recovery)";
    }
    std::string user_kind() const override { return "item set, " + coding_ + " input code"; }
    std::string item_kind() const override { return coding_ + " output code"; }
    std::string describe_users() const override {
        std::string h;
        for (const std::uint32_t w : net_.options().hidden) h += (h.empty() ? "" : ",") + std::to_string(w);
        return "input m " + std::to_string(net_.input_code().m()) + ", hidden " + h + ", " +
               nn::to_string(net_.options().act) + ", dropout " + number(net_.options().dropout, 2);
    }
    std::string describe_items() const override {
        return "output m " + std::to_string(net_.output_code().m());
    }
    facts user_facts() const override {
        if (net_.input_code().is_dense()) return {{"input m", net_.input_code().m()}};
        return code_facts("input", net_.input_code().sparse);
    }
    facts item_facts() const override {
        if (net_.output_code().is_dense()) return {{"output m", net_.output_code().m()}};
        return code_facts("output", net_.output_code().sparse);
    }
    void set_users(std::uint32_t n) { n_users_ = n; }

private:
    static std::string number(double v, int prec) { return examples::fmt(v, prec); }
    net_type net_;
    std::string coding_;
    std::uint32_t n_users_ = 0;
    bloom::matrix<scalar> v_;
};

bm::fit_report network_model::train(const corpus& c, const train_settings& s, bm::training_state&,
                                    const epoch_callback& on_epoch) {
    // The paper's protocol on the whole file: every epoch each user's items are cut afresh into
    // an input half and a target half.
    bloom::eval::user_items none;
    none.offsets.assign(c.seen.offsets.size(), 0);
    bm::network_fit_options f;
    f.epochs = s.epochs;
    f.batch = s.batch;
    f.lr = s.lr;
    f.weight_decay = s.l2;
    f.resample = true;
    f.seed = s.seed + 7;
    f.threads = s.threads;
    f.on_epoch = on_epoch;
    n_users_ = c.data.n_users;
    return net_.fit(c.seen, none, f);
}

std::uint64_t rows_for(std::uint32_t n, double ratio, std::uint32_t k) {
    const auto r = static_cast<std::uint64_t>(static_cast<double>(n) * ratio);
    return std::max<std::uint64_t>(r, k);
}

std::unique_ptr<model_base> build_network(const train_settings& s, const corpus& c) {
    const std::uint32_t d = c.data.n_items;
    using code = network_model::net_type::code_type;
    bm::network_options no;
    no.hidden = parse_widths(s.hidden);
    no.act = s.activation == "tanh" ? nn::activation::tanh : nn::activation::relu;
    no.dropout = s.dropout;
    no.loss = s.output == "sigmoid" ? bm::output_loss::sigmoid : bm::output_loss::softmax;
    no.seed = s.seed;
    if (s.coding == "identity") {
        const code id = code::from_sparse(bm::identity_code(d));
        return std::make_unique<network_model>(network_model::net_type(id, id, no), s.coding);
    }
    const std::uint32_t k = s.coding == "hashing" ? 1 : s.k;
    const std::uint64_t m = rows_for(d, s.ratio, k);
    std::unique_ptr<model_base> out;
    examples::with_hash(s.hash, "bloom train", [&](auto policy) {
        using H = decltype(policy);
        bloom::spec_config sc;
        sc.items = d;
        sc.m = m;
        sc.k = k;
        sc.seed = s.seed;
        sc.key_bytes = 4;
        const code in = code::from_sparse(bm::spec_code(bloom::basic_spec<H>(sc)));
        code o = in;
        if (s.coding == "freq") {
            bm::frequency_options fo;
            fo.head_share = s.head_share;
            o = code::from_sparse(bm::frequency_code<H>(d, c.counts, m, k, s.seed, fo));
        } else if (s.coding == "cbe") {
            o = code::from_sparse(bm::cooccurrence_code<H>(c.seen, d, m, k, s.seed, bm::cooccurrence_options{}));
        }
        out = std::make_unique<network_model>(network_model::net_type(in, std::move(o), no), s.coding);
    });
    return out;
}

// Each compressed table's rows, floor(ids x --ratio), must hold what its kind needs (k rows for
// the Bloom kinds, plus the head rows for freq-bloom; 2 for qr; --history-k for bloom-history),
// so that a model is never silently larger than --ratio says. Throws usage_error naming the data,
// the side and the options.
void check_sizes(const train_settings& s, const corpus& c) {
    auto check = [&](const std::string& method, const char* side, std::uint32_t ids) {
        if (method == "full" || method == "identity") return;
        const auto rows = static_cast<std::uint64_t>(static_cast<double>(ids) * s.ratio);
        std::uint64_t need = 1;
        std::string option;  // the option that sets `need`, if one does
        if (method == "qr") need = 2;
        else if (method == "bloom-history") need = s.history_k, option = "--history-k";
        else if (method != "hashing") need = s.k, option = "--k";
        std::uint64_t head = 0;
        if (method == "freq-bloom")
            head = std::min<std::uint64_t>(
                static_cast<std::uint64_t>(std::floor(s.head_share * static_cast<double>(rows))), ids);
        if (rows >= need + head) return;
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, "%g", s.ratio);
        std::string msg = "bloom train: " + c.name + ": --ratio " + ratio +
                          " gives the " + side + " table " + std::to_string(rows) + " rows (" +
                          std::to_string(ids) + " ids), and " + method;
        if (!option.empty()) msg += " with " + option + " " + std::to_string(need);
        msg += " needs at least " + std::to_string(need);
        if (head) msg += " shared rows besides its " + std::to_string(head) + " head rows (--head-share)";
        msg += "; give more data, raise --ratio";
        if (!option.empty()) msg += " or lower " + option;
        throw usage_error(msg);
    };
    if (s.model == "network") {
        check(s.coding, "items' code", c.data.n_items);
        return;
    }
    check(s.users, "users", c.data.n_users);
    check(s.items, "items", c.data.n_items);
}

// Builds the untrained model the settings describe.
std::unique_ptr<model_base> build_model(const train_settings& s, const corpus& c) {
    if (s.model == "network") return build_network(s, c);
    const std::uint32_t n_users = c.data.n_users, n_items = c.data.n_items;
    opt::config oc;
    oc.lr = s.lr;
    oc.weight_decay = s.l2;
    auto emb = [&](std::uint64_t salt) {
        bm::embedding_options o;
        o.dim = s.dim;
        o.seed = s.seed * 1000003ULL + salt;
        return o;
    };
    auto spec = [&](std::uint32_t n, std::uint32_t k, std::uint64_t salt) {
        bm::bloom_options b;
        b.rows = rows_for(n, s.ratio, k);
        b.k = k;
        b.hash_seed = s.seed + salt;
        return b;
    };
    std::unique_ptr<model_base> out;
    examples::with_hash(s.hash, "bloom train", [&](auto policy) {
        using H = decltype(policy);
        // one side's kind, built by method, handed to `next`
        auto side = [&](const std::string& method, std::uint32_t n, std::uint64_t salt,
                        const std::vector<std::uint64_t>& counts, auto&& next) {
            if (method == "full") return next(full_k(n, emb(salt), oc));
            if (method == "bloom") return next(bloom_k(n, spec(n, s.k, salt), emb(salt), oc, H{}));
            if (method == "hashing") return next(bloom_k(n, spec(n, 1, salt), emb(salt), oc, H{}));
            if (method == "hash-emb") return next(hash_k(n, spec(n, s.k, salt), emb(salt), oc, H{}));
            if (method == "qr") return next(qr_k(n, rows_for(n, s.ratio, 2), emb(salt), oc));
            bm::freq_options fo;
            fo.head_share = s.head_share;
            return next(freq_k(n, counts, spec(n, s.k, salt), fo, emb(salt), oc, H{}));
        };
        auto with_items = [&](auto users) {
            side(s.items, n_items, 2, c.counts, [&](auto items) {
                using U = decltype(users);
                using I = decltype(items);
                out = std::make_unique<model_of<U, I>>(bm::factorization<U, I, opt>(
                    std::move(users), std::move(items), oc,
                    s.interaction == "gmf" ? bm::interaction::gmf : bm::interaction::dot));
            });
        };
        if (s.users == "bloom-history") {
            bm::bloom_options ub = spec(n_users, s.history_k, 1);
            ub.comb = bm::combine::mean;
            with_items(hist_k(n_users, c.seen.offsets, c.seen.items, n_items, ub, emb(1), oc, H{}));
        } else {
            side(s.users, n_users, 1, c.user_counts, with_items);
        }
    });
    return out;
}

// A model file's model, whatever its kinds.
std::unique_ptr<model_base> load_model(const io::file_loader& in) {
    if (in.root().get<std::string>("model.kind") == "bloom_mlp") {
        auto net = in.make<network_model::net_type>("model");
        return std::make_unique<network_model>(std::move(net), in.root().get<std::string>("network_coding"));
    }
    const std::string uk = in.root().get<std::string>("model.user.kind");
    const std::string ik = in.root().get<std::string>("model.item.kind");
    std::unique_ptr<model_base> out;
    for_user_kinds([&](auto ut) {
        using U = typename decltype(ut)::type;
        if (out || uk != U::kind_name) return;
        for_item_kinds([&](auto it) {
            using I = typename decltype(it)::type;
            if (out || ik != I::kind_name) return;
            out = std::make_unique<model_of<U, I>>(in.make<bm::factorization<U, I, opt>>("model"));
        });
    });
    if (!out)
        throw io::format_error(in.reader().path(), "a factorization with user kind '" + uk +
                                                       "' and item kind '" + ik +
                                                       "', which this tool does not build");
    return out;
}

// Everything a model file holds besides the model.
struct model_file {
    std::unique_ptr<model_base> model;
    train_settings settings;
    bm::training_state state;
    bloom::data::id_map users, items;
    bloom::eval::user_items seen;
    std::vector<std::uint64_t> counts;
    std::string data_name;
    std::uint32_t epochs_trained = 0;
    bool has_state = false;
};

void save_file(const std::string& path, const model_base& m, const train_settings& s,
               const bm::training_state& st, const bloom::data::id_map& users,
               const bloom::data::id_map& items, const corpus& c, bool optimizer_state,
               std::uint32_t epochs_trained) {
    io::save_options o;
    o.optimizer_state = optimizer_state;
    io::file_saver out(path, o);
    m.save(out);
    out.object("settings", s);
    out.object("train", st);
    out.object("users", users);
    out.object("items", items);
    io::saver& root = out.root();
    root.array("seen.offsets", c.seen.offsets);
    root.array("seen.items", c.seen.items);
    root.array("popularity", c.counts);
    root.value("data", c.name);
    root.value("epochs_trained", epochs_trained);
    out.commit();
}

model_file open_file(const std::string& path) {
    io::file_loader in(path);
    model_file f;
    f.model = load_model(in);
    in.object("settings", f.settings);
    in.object("train", f.state);
    in.object("users", f.users);
    in.object("items", f.items);
    const auto& root = in.root();
    root.array("seen.offsets", f.seen.offsets);
    root.array("seen.items", f.seen.items);
    root.array("popularity", f.counts);
    f.data_name = root.get<std::string>("data");
    f.epochs_trained = root.get<std::uint32_t>("epochs_trained");
    f.has_state = root.optimizer_state();
    const std::string where = path;
    if (auto* net = dynamic_cast<network_model*>(f.model.get())) net->set_users(f.users.size());
    if (f.users.size() != f.model->n_users() || f.items.size() != f.model->n_items())
        throw io::format_error(where, "the id maps (" + std::to_string(f.users.size()) + " users, " +
                                          std::to_string(f.items.size()) +
                                          " items) do not fit the model (" +
                                          std::to_string(f.model->n_users()) + " x " +
                                          std::to_string(f.model->n_items()) + ")");
    if (f.counts.size() != f.model->n_items())
        throw io::format_error(where, "the popularity counts do not have one entry per item");
    try {
        bloom::eval::validate(f.seen, f.model->n_items(), "the training items");
    } catch (const bloom::error& e) {
        throw io::format_error(where, e.what());
    }
    if (f.seen.n_users() != f.model->n_users())
        throw io::format_error(where, "the training items do not have a list per user");
    return f;
}

// ---- ids ---------------------------------------------------------------------------------------

// The dense id of a raw id written as text, if the map has it.
std::optional<std::uint32_t> find_id(const bloom::data::id_map& m, const std::string& raw) {
    if (m.kind() == bloom::data::id_kind::string) return m.find(std::string_view(raw));
    if (raw.empty() || raw.size() > 20 || raw.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    errno = 0;
    const unsigned long long v = std::strtoull(raw.c_str(), nullptr, 10);
    if (errno == ERANGE) return std::nullopt;
    return m.find(static_cast<std::uint64_t>(v));
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// ---- output --------------------------------------------------------------------------------------

std::string number(double v, int prec = 4) { return examples::fmt(v, prec); }

void print_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                 const std::string& format) {
    if (format == "csv") {
        for (std::size_t c = 0; c < head.size(); ++c) std::cout << (c ? "," : "") << head[c];
        std::cout << "\n";
        for (const auto& r : rows) {
            for (std::size_t c = 0; c < r.size(); ++c) std::cout << (c ? "," : "") << r[c];
            std::cout << "\n";
        }
        return;
    }
    examples::print_columns(head, rows, 1, false, std::cout);
}

// ---- train ---------------------------------------------------------------------------------------

struct train_cli {
    examples::data_options data;
    std::string model, resume;
    std::uint32_t checkpoint_every = 0;
    bool no_optimizer_state = false, quiet = false;
    train_settings s;
};

// The progress display: on a terminal one line rewritten each epoch (epochs, examples/s, loss,
// ETA); otherwise a plain line per epoch; nothing with --quiet.
struct progress {
    bool quiet = false, tty = false;
    std::uint32_t total = 0;
    double secs_sum = 0;
    std::uint32_t seen = 0;
    std::string unit = "interactions";
    void epoch(std::uint32_t e, double secs, double loss, std::size_t examples) {
        if (quiet) return;
        secs_sum += secs;
        ++seen;
        const double rate = secs > 0 ? static_cast<double>(examples) / secs : 0.0;
        const double eta = seen > 0 ? secs_sum / seen * (total - e - 1) : 0.0;
        char r[32];
        if (rate >= 1e6) std::snprintf(r, sizeof r, "%.2f M", rate / 1e6);
        else if (rate >= 1e3) std::snprintf(r, sizeof r, "%.1f k", rate / 1e3);
        else std::snprintf(r, sizeof r, "%.0f", rate);
        if (tty) {
            std::fprintf(stderr, "\r  epoch %u/%u  %s %s/s  loss %.4f  ETA %.0f s   ", e + 1, total, r,
                         unit.c_str(), loss, eta);
            if (e + 1 == total) std::fprintf(stderr, "\n");
        } else {
            std::fprintf(stderr, "epoch %u/%u: %.3f s, %s %s/s, loss %.6f\n", e + 1, total, secs, r,
                         unit.c_str(), loss);
        }
        std::fflush(stderr);
    }
};

void check_train(const train_cli& t, const CLI::App& app) {
    try {
        examples::check_data_options(t.data, "bloom train");
    } catch (const bloom::invalid_argument& x) {
        throw usage_error(x.what());
    }
    const train_settings& s = t.s;
    auto given = [&](const char* opt) { return app.count(opt) > 0; };
    if (!t.resume.empty())
        for (const char* o : {"--network", "--coding", "--hidden", "--activation", "--dropout", "--output"})
            if (given(o))
                throw usage_error(std::string("bloom train: --resume continues the checkpoint with "
                                              "its own settings; drop ") + o);
    if (s.model == "network") {
        for (const char* o : {"--users", "--items", "--loss", "--history-k", "--interaction", "--negatives"})
            if (given(o))
                throw usage_error(std::string("bloom train: ") + o +
                                  " is the factorization's; the network takes --coding, --hidden, "
                                  "--activation, --dropout and --output");
        if (t.checkpoint_every > 0)
            throw usage_error("bloom train: --checkpoint-every: the network is not resumed exactly "
                              "yet, so it has no checkpoints");
        if (parse_widths(s.hidden).empty())
            throw usage_error("bloom train: --hidden takes positive widths separated by commas, got '" +
                              s.hidden + "'");
        if (!(s.dropout >= 0.0 && s.dropout < 1.0)) throw usage_error("bloom train: --dropout must be in [0, 1)");
    } else {
        for (const char* o : {"--coding", "--hidden", "--activation", "--dropout", "--output"})
            if (given(o))
                throw usage_error(std::string("bloom train: ") + o + " is the network's; add --network");
    }
    if (!t.resume.empty()) {
        for (const char* o : {"--users", "--items", "--hash", "--ratio", "--k", "--history-k",
                              "--head-share", "--dim", "--batch", "--lr", "--l2", "--loss", "--seed",
                              "--interaction", "--negatives"})
            if (given(o))
                throw usage_error(std::string("bloom train: --resume continues the checkpoint with "
                                              "its own settings; drop ") + o);
        return;
    }
    if (s.users == "bloom-history" && s.history_k == 0) throw usage_error("bloom train: --history-k must be at least 1");
    if (!(s.ratio > 0.0 && s.ratio <= 1.0))
        throw usage_error("bloom train: --ratio takes a share of the full table in (0, 1], got " +
                          number(s.ratio));
    if (s.k == 0) throw usage_error("bloom train: --k must be at least 1");
    if (!(s.head_share >= 0.0 && s.head_share < 1.0))
        throw usage_error("bloom train: --head-share must be in [0, 1)");
    if (!(s.lr > 0.0) || !std::isfinite(s.lr)) throw usage_error("bloom train: --lr must be a positive number");
    if (!(s.l2 >= 0.0) || !std::isfinite(s.l2)) throw usage_error("bloom train: --l2 must be >= 0");
    if (s.dim == 0) throw usage_error("bloom train: --dim must be at least 1");
    if (s.batch == 0) throw usage_error("bloom train: --batch must be at least 1");
    bool found = false;
    for (const std::string& h : examples::built_hashes()) found = found || h == s.hash;
    if (!found)
        throw usage_error("bloom train: --hash '" + s.hash + "' is not built in (" +
                          join(examples::built_hashes()) + ")");
}

int run_train(const train_cli& t, const CLI::App& app) {
    check_train(t, app);
    std::optional<model_file> ck;
    if (!t.resume.empty()) ck = open_file(t.resume);
    train_settings s = ck ? ck->settings : t.s;
    if (ck && app.count("--epochs") > 0) s.epochs = t.s.epochs;
    if (ck && !ck->model->resumable())
        throw bloom::invalid_argument("bloom: " + t.resume +
                                      ": the network is not resumed exactly yet (its optimizer state "
                                      "is not kept); train it again");
    if (ck && !ck->has_state)
        throw bloom::invalid_argument("bloom: " + t.resume +
                                      ": saved without optimizer state (--no-optimizer-state); "
                                      "it cannot be resumed exactly");
    if (ck && ck->state.epochs_done >= s.epochs)
        throw usage_error("bloom train: " + t.resume + " has trained " +
                          std::to_string(ck->state.epochs_done) + " epochs already; ask for more with --epochs");
    if (s.epochs == 0) throw usage_error("bloom train: --epochs must be at least 1");

    examples::loaded_data src = examples::load_data(t.data, s.seed, "bloom train");
    corpus c = make_corpus(std::move(src.data), src.name);
    const bloom::data::id_map users = c.data.user_ids ? *c.data.user_ids : bloom::data::id_map::iota(c.data.n_users);
    const bloom::data::id_map items = c.data.item_ids ? *c.data.item_ids : bloom::data::id_map::iota(c.data.n_items);

    std::unique_ptr<model_base> model;
    bm::training_state state;
    if (ck) {
        auto same_ids = [](const bloom::data::id_map& a, const bloom::data::id_map& b) {
            if (a.size() != b.size()) return false;
            for (std::uint32_t d = 0; d < a.size(); ++d)
                if (a.to_string(d) != b.to_string(d)) return false;
            return true;
        };
        if (!same_ids(users, ck->users) || !same_ids(items, ck->items))
            throw bloom::invalid_argument("bloom: " + c.name + ": its users and items are not those of " +
                                          t.resume + " (resume on the file the checkpoint was trained on)");
        model = std::move(ck->model);
        state = ck->state;
    } else {
        check_sizes(s, c);
        model = build_model(s, c);
    }
    if (!t.quiet)
        std::fprintf(stderr, "bloom train: %s: %zu interactions, %u users, %u items\n  users: %s\n  items: %s\n",
                     c.name.c_str(), c.data.size(), c.data.n_users, c.data.n_items,
                     model->describe_users().c_str(), model->describe_items().c_str());
    progress pr;
    pr.quiet = t.quiet;
    pr.tty = isatty(STDERR_FILENO) != 0;
    pr.total = s.epochs;
    // examples an epoch: interactions (factorization) or users with items (network)
    std::size_t examples = c.data.size();
    if (s.model == "network") {
        examples = 0;
        for (std::size_t u = 0; u < c.seen.n_users(); ++u) examples += c.seen.count(u) > 0;
        pr.unit = "users";
    }
    std::uint32_t done = state.epochs_done;
    const epoch_callback on_epoch = [&](std::uint32_t e, double secs, double loss) {
        if (!std::isfinite(loss))
            throw bloom::invalid_argument("bloom train: the loss of epoch " + std::to_string(e + 1) +
                                          " is not finite (lower --lr)");
        done = e + 1;
        pr.epoch(e, secs, loss, examples);
        if (t.checkpoint_every > 0 && (e + 1) % t.checkpoint_every == 0 && e + 1 < s.epochs)
            save_file(t.model, *model, s, state, users, items, c, true, done);
    };
    const bm::fit_report rep = model->train(c, s, state, on_epoch);
    save_file(t.model, *model, s, state, users, items, c, !t.no_optimizer_state, done);
    if (!t.quiet)
        std::fprintf(stderr, "bloom train: %u epochs in %.2f s; wrote %s\n", done, rep.total_seconds,
                     t.model.c_str());
    return 0;
}

// ---- eval ----------------------------------------------------------------------------------------

struct eval_cli {
    examples::data_options data;
    std::string model, format = "table";
    std::uint32_t k = 10, threads = 0;
};

int run_eval(const eval_cli& e) {
    model_file f = open_file(e.model);
    if (e.data.path.empty()) throw usage_error("bloom eval: --data names the test file");
    examples::loaded_data src = examples::load_data(e.data, 0, "bloom eval");
    const bloom::data::interactions& test = src.data;
    // the test interactions in the model's ids; unknown users and items are counted and left out
    std::vector<std::uint32_t> tu, ti;
    std::size_t unknown_users = 0, unknown_items = 0;
    std::vector<std::optional<std::uint32_t>> umap(test.n_users), imap(test.n_items);
    for (std::uint32_t u = 0; u < test.n_users; ++u) umap[u] = find_id(f.users, test.raw_user(u));
    for (std::uint32_t i = 0; i < test.n_items; ++i) imap[i] = find_id(f.items, test.raw_item(i));
    for (std::size_t t = 0; t < test.size(); ++t) {
        const auto u = umap[test.users[t]];
        const auto i = imap[test.items[t]];
        if (!u) ++unknown_users;
        else if (!i) ++unknown_items;
        else {
            tu.push_back(*u);
            ti.push_back(*i);
        }
    }
    if (tu.empty())
        throw bloom::invalid_argument("bloom: " + e.data.path + ": none of its " + std::to_string(test.size()) +
                                      " interactions has a user and an item the model knows");
    const bloom::eval::user_items tl = bloom::eval::make_user_items(f.model->n_users(), tu, ti);
    bloom::eval::ranking_options ro;
    ro.k = e.k;
    ro.threads = e.threads;
    const auto rm = f.model->evaluate(f.seen, tl, ro);
    const auto rp = bloom::eval::evaluate_ranking(
        [&](std::uint32_t, scalar* s) {
            for (std::size_t i = 0; i < f.counts.size(); ++i) s[i] = static_cast<scalar>(f.counts[i]);
        },
        f.model->n_items(), f.seen, tl, ro);
    const std::string ks = std::to_string(e.k);
    if (e.format == "json") {
        json j;
        j["model"] = e.model;
        j["data"] = e.data.path;
        j["k"] = e.k;
        j["test_interactions"] = test.size();
        j["skipped_unknown_user"] = unknown_users;
        j["skipped_unknown_item"] = unknown_items;
        auto res = [](const bloom::eval::ranking_result& r) {
            return json{{"users", r.users}, {"mrr", r.mrr}, {"precision", r.precision},
                        {"recall", r.recall}, {"ndcg", r.ndcg}, {"hit_rate", r.hit_rate}};
        };
        j["model_metrics"] = res(rm);
        j["popularity"] = res(rp);
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    const int prec = e.format == "csv" ? 17 : 4;
    auto row = [&](const char* name, const bloom::eval::ranking_result& r) {
        return std::vector<std::string>{name, std::to_string(r.users), number(r.mrr, prec),
                                        number(r.precision, prec), number(r.recall, prec),
                                        number(r.ndcg, prec), number(r.hit_rate, prec)};
    };
    print_table({"ranking", "users", "MRR", "P@" + ks, "R@" + ks, "NDCG@" + ks, "HR@" + ks},
                {row("model", rm), row("popularity", rp)}, e.format);
    if (e.format == "table")
        std::cout << "test interactions: " << test.size() << " (" << unknown_users
                  << " with a user and " << unknown_items
                  << " with an item the model does not know, left out); training items excluded\n";
    return 0;
}

// ---- recommend and similar -----------------------------------------------------------------------

struct rec_cli {
    std::string model, user, users_file, item, format = "lines";
    std::uint32_t n = 10;
    bool include_seen = false, skip_unknown = false;
};

// The n best (id, score) of scores, excluding `exclude` (sorted or not).
std::vector<std::pair<std::uint32_t, scalar>> top_n(std::vector<scalar>& scores, std::size_t n,
                                                    const std::uint32_t* ex_begin, const std::uint32_t* ex_end) {
    for (const std::uint32_t* p = ex_begin; p != ex_end; ++p)
        scores[*p] = -std::numeric_limits<scalar>::infinity();
    std::vector<std::uint32_t> idx;
    idx.reserve(scores.size());
    for (std::uint32_t i = 0; i < scores.size(); ++i)
        if (scores[i] != -std::numeric_limits<scalar>::infinity()) idx.push_back(i);
    n = std::min(n, idx.size());
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n), idx.end(),
                      [&](std::uint32_t a, std::uint32_t b) {
                          return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
                      });
    std::vector<std::pair<std::uint32_t, scalar>> out;
    for (std::size_t t = 0; t < n; ++t) out.emplace_back(idx[t], scores[idx[t]]);
    return out;
}

void print_lists(const std::vector<std::pair<std::string, std::vector<std::pair<std::string, scalar>>>>& lists,
                 const std::string& key, const std::string& format, bool single) {
    if (format == "json") {
        json j = json::array();
        for (const auto& [who, items] : lists) {
            json list = json::array();
            for (const auto& [id, score] : items) list.push_back({{"item", id}, {"score", score}});
            j.push_back({{key, who}, {"items", list}});
        }
        std::cout << j.dump(2) << "\n";
    } else if (format == "csv") {
        std::cout << key << ",rank,item,score\n";
        for (const auto& [who, items] : lists)
            for (std::size_t r = 0; r < items.size(); ++r) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(items[r].second));
                std::cout << who << ',' << r + 1 << ',' << items[r].first << ',' << buf << "\n";
            }
    } else if (single) {
        for (const auto& it : lists.front().second) std::cout << it.first << "\n";
    } else {
        for (const auto& [who, items] : lists) {
            std::cout << who << '\t';
            for (std::size_t r = 0; r < items.size(); ++r) std::cout << (r ? " " : "") << items[r].first;
            std::cout << "\n";
        }
    }
}

int run_recommend(const rec_cli& r) {
    if (r.user.empty() == r.users_file.empty())
        throw usage_error("bloom recommend: give one of --user ID or --users FILE ('-' for stdin)");
    model_file f = open_file(r.model);
    // the raw user ids asked for, with where each came from
    std::vector<std::pair<std::string, std::string>> asked;
    if (!r.user.empty()) {
        asked.emplace_back(r.user, "--user");
    } else {
        std::ifstream file;
        std::istream* in = &std::cin;
        const std::string name = r.users_file == "-" ? "<stdin>" : r.users_file;
        if (r.users_file != "-") {
            file.open(r.users_file);
            if (!file) throw bloom::invalid_argument("bloom: " + r.users_file + ": cannot open");
            in = &file;
        }
        std::string line;
        std::size_t no = 0;
        while (std::getline(*in, line)) {
            ++no;
            const std::string id = trim(line);
            if (!id.empty() && id[0] != '#') asked.emplace_back(id, name + ":" + std::to_string(no));
        }
    }
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, scalar>>>> lists;
    std::vector<scalar> scores(f.model->n_items());
    std::size_t skipped = 0;
    for (const auto& [raw, where] : asked) {
        const auto u = find_id(f.users, raw);
        if (!u) {
            if (r.skip_unknown) {
                ++skipped;
                continue;
            }
            throw bloom::invalid_argument("bloom: " + where + ": user '" + raw + "' is not in the model (" +
                                          std::to_string(f.users.size()) +
                                          " users; --skip-unknown leaves such users out)");
        }
        f.model->scores(*u, f.seen, scores.data());
        const std::uint32_t* b = r.include_seen ? nullptr : f.seen.begin(*u);
        const std::uint32_t* e = r.include_seen ? nullptr : f.seen.end(*u);
        std::vector<std::pair<std::string, scalar>> items;
        for (const auto& [i, s] : top_n(scores, r.n, b, e)) items.emplace_back(f.items.to_string(i), s);
        lists.emplace_back(raw, std::move(items));
    }
    print_lists(lists, "user", r.format, !r.user.empty());
    if (skipped > 0) std::fprintf(stderr, "bloom recommend: %zu unknown users left out\n", skipped);
    return 0;
}

int run_similar(const rec_cli& r) {
    model_file f = open_file(r.model);
    const auto item = find_id(f.items, r.item);
    if (!item)
        throw bloom::invalid_argument("bloom: --item: item '" + r.item + "' is not in the model (" +
                                      std::to_string(f.items.size()) + " items)");
    const std::uint32_t n = f.model->n_items(), d = f.model->dim();
    std::vector<scalar> vecs(static_cast<std::size_t>(n) * d);
    std::vector<double> norm(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        scalar* v = vecs.data() + static_cast<std::size_t>(i) * d;
        f.model->item_vector(i, v);
        double s = 0;
        for (std::uint32_t c = 0; c < d; ++c) s += static_cast<double>(v[c]) * v[c];
        norm[i] = std::sqrt(s);
    }
    std::vector<scalar> scores(n);
    const scalar* q = vecs.data() + static_cast<std::size_t>(*item) * d;
    for (std::uint32_t i = 0; i < n; ++i) {
        const scalar* v = vecs.data() + static_cast<std::size_t>(i) * d;
        double s = 0;
        for (std::uint32_t c = 0; c < d; ++c) s += static_cast<double>(q[c]) * v[c];
        const double den = norm[i] * norm[*item];
        scores[i] = den > 0 ? static_cast<scalar>(s / den) : scalar(0);
    }
    const std::uint32_t self = *item;
    std::vector<std::pair<std::string, scalar>> items;
    for (const auto& [i, s] : top_n(scores, r.n, &self, &self + 1)) items.emplace_back(f.items.to_string(i), s);
    print_lists({{r.item, std::move(items)}}, "query", r.format, true);
    return 0;
}

// ---- info ----------------------------------------------------------------------------------------

int run_info(const std::string& path, const std::string& format) {
    model_file f = open_file(path);
    const io::model_reader reader(path);
    const model_base& m = *f.model;
    facts general = {
        {"file", path},
        {"file bytes", reader.file_bytes()},
        {"format version", bloom::io::format_version},
        {"sections", reader.sections().size()},
        {"scalar", "float32"},
        {"model", m.family()},
        {"trained on", f.data_name},
        {"users", m.n_users()},
        {"items", m.n_items()},
        {"dim", m.dim()},
        {m.resumable() ? "embedding parameters" : "input table parameters", m.embedding_parameters()},
        {m.resumable() ? "parameters with biases" : "parameters", m.parameters()},
        {"epochs trained", f.epochs_trained},
        {"loss", f.settings.model == "network" ? f.settings.output : f.settings.loss},
        {"optimizer", "adam (lazy on the input table), lr " + number(f.settings.lr, 6) + ", l2 " +
                          number(f.settings.l2, 8)},
        {"optimizer state saved", f.has_state && m.resumable()},
    };
    const facts uf = m.user_facts(), itf = m.item_facts();
    if (format == "json") {
        json j;
        for (const auto& [k, v] : general) j[k] = v;
        json us, is;
        us["kind"] = m.user_kind();
        us["describe"] = m.describe_users();
        for (const auto& [k, v] : uf) us[k] = v;
        is["kind"] = m.item_kind();
        is["describe"] = m.describe_items();
        for (const auto& [k, v] : itf) is[k] = v;
        j["user side"] = us;
        j["item side"] = is;
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    auto show = [](const json& v) {
        if (v.is_string()) return v.get<std::string>();
        if (v.is_number_float()) return number(v.get<double>(), 4);
        return v.dump();
    };
    for (const auto& [k, v] : general) std::cout << k << ": " << show(v) << "\n";
    std::cout << "user side: " << m.user_kind() << " (" << m.describe_users() << ")\n";
    for (const auto& [k, v] : uf) std::cout << "  " << k << ": " << show(v) << "\n";
    std::cout << "item side: " << m.item_kind() << " (" << m.describe_items() << ")\n";
    for (const auto& [k, v] : itf) std::cout << "  " << k << ": " << show(v) << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"bloom: train, evaluate and use Bloom-embedding recommenders (docs/tool.md)"};
    app.require_subcommand(1, 1);
    const std::vector<std::string> formats = {"table", "csv", "json"};

    train_cli t;
    t.data.synthetic = {2000, 5000, 60000, 1.0};  // without --data: a small built-in data set
    std::optional<std::uint32_t> batch, epochs;
    std::optional<double> lr, l2;
    CLI::App* train = app.add_subcommand("train", "train a model on the whole of a ratings file");
    examples::add_data_options(*train, t.data);
    train->add_option("--model", t.model, "model file to write (replaced atomically)")->required();
    train->add_option("--users", t.s.users, "user side: " + join(user_methods))
        ->capture_default_str()->check(CLI::IsMember(user_methods));
    train->add_option("--items", t.s.items, "item side: " + join(item_methods))
        ->capture_default_str()->check(CLI::IsMember(item_methods));
    train->add_option("--ratio", t.s.ratio, "rows of a compressed side as a share of its ids")->capture_default_str();
    train->add_option("--k", t.s.k, "hashed rows per id (bloom, hash-emb, freq-bloom)")->capture_default_str();
    train->add_option("--history-k", t.s.history_k, "bloom-history: hash functions per item in a user's filter")
        ->capture_default_str();
    train->add_option("--head-share", t.s.head_share, "freq-bloom: share of the rows owned by the most frequent ids")
        ->capture_default_str();
    train->add_option("--hash", t.s.hash, "hash policy (see bloom-compare --list-hashes)")->capture_default_str();
    train->add_option("--dim", t.s.dim, "embedding dimension")->capture_default_str();
    train->add_option("--epochs", epochs, "epochs to train (default: 10; the network: 30; with --resume: the total to reach)");
    train->add_option("--batch", batch, "minibatch size (default: 256 interactions; the network: 128 users)");
    train->add_option("--lr", lr, "Adam learning rate (default: 0.01; the network: 0.001)");
    bool network = false;
    train->add_flag("--network", network, "train the paper's network instead of the factorization");
    train->add_option("--coding", t.s.coding, "the network's item codes: " + join(codings))
        ->capture_default_str()->check(CLI::IsMember(codings));
    train->add_option("--hidden", t.s.hidden, "the network's hidden widths, e.g. 256 or 512,256")->capture_default_str();
    train->add_option("--activation", t.s.activation, "the network's activation: relu or tanh")
        ->capture_default_str()->check(CLI::IsMember({"relu", "tanh"}));
    train->add_option("--dropout", t.s.dropout, "the network's dropout after each hidden layer")->capture_default_str();
    train->add_option("--output", t.s.output, "the network's output: softmax or sigmoid")
        ->capture_default_str()->check(CLI::IsMember({"softmax", "sigmoid"}));
    train->add_option("--l2", l2, "L2 weight decay (default: 1e-6; the network: 0)");
    train->add_option("--loss", t.s.loss,
                      "loss: " + join(losses) + " (bce: log loss on each positive and --negatives sampled negatives)")
        ->capture_default_str()->check(CLI::IsMember(losses));
    train->add_option("--interaction", t.s.interaction,
                      "the factorization's score: dot (user . item) or gmf (h . (user * item), h "
                      "learned: He et al.'s GMF); biases either way")
        ->capture_default_str()->check(CLI::IsMember(interactions));
    train->add_option("--negatives", t.s.negatives, "negatives sampled per positive by bce and adaptive-hinge")
        ->capture_default_str()->check(CLI::PositiveNumber);
    train->add_option("--seed", t.s.seed, "initialisation, hashing, shuffling and negatives")->capture_default_str();
    train->add_option("--threads", t.s.threads,
                      "training threads (0: every core); 1 is reproducible bit for bit; more run "
                      "Hogwild workers (factorization) or split each batch (network, reproducible "
                      "per thread count; docs/scaling.md)")
        ->capture_default_str();
    train->add_option("--checkpoint-every", t.checkpoint_every, "write --model every N epochs (0: only at the end)");
    train->add_option("--resume", t.resume, "continue the training saved in this model file")->check(CLI::ExistingFile);
    train->add_flag("--no-optimizer-state", t.no_optimizer_state,
                    "leave Adam's moments out of the final file (a third of the size; no exact resume)");
    train->add_flag("--quiet", t.quiet, "no progress output");

    eval_cli e;
    CLI::App* ev = app.add_subcommand("eval", "ranking metrics of a model on a test file, beside popularity");
    ev->add_option("--model", e.model, "model file")->required()->check(CLI::ExistingFile);
    examples::add_data_options(*ev, e.data);
    ev->add_option("-k,--eval-k", e.k, "cut-off of P, R, NDCG and HR")->capture_default_str()->check(CLI::Range(1u, 1000000u));
    ev->add_option("--threads", e.threads, "evaluation threads (0: every core)")->capture_default_str();
    ev->add_option("--format", e.format, "table, csv or json")->capture_default_str()->check(CLI::IsMember(formats));

    rec_cli r;
    CLI::App* rec = app.add_subcommand("recommend", "the best items for users, their known items left out");
    rec->add_option("--model", r.model, "model file")->required()->check(CLI::ExistingFile);
    rec->add_option("--user", r.user, "one user id, as in the training file");
    rec->add_option("--users", r.users_file, "a file of user ids, one a line ('-': stdin)");
    rec->add_option("-n", r.n, "items per user")->capture_default_str()->check(CLI::Range(1u, 100000000u));
    rec->add_flag("--include-seen", r.include_seen, "keep the user's training items");
    rec->add_flag("--skip-unknown", r.skip_unknown, "leave out users the model does not know (else an error)");
    rec->add_option("--format", r.format, "lines, csv or json")->capture_default_str()
        ->check(CLI::IsMember({"lines", "csv", "json"}));

    rec_cli si;
    CLI::App* sim = app.add_subcommand("similar", "the items nearest an item (cosine of the item embeddings)");
    sim->add_option("--model", si.model, "model file")->required()->check(CLI::ExistingFile);
    sim->add_option("--item", si.item, "item id, as in the training file")->required();
    sim->add_option("-n", si.n, "items")->capture_default_str()->check(CLI::Range(1u, 100000000u));
    sim->add_option("--format", si.format, "lines, csv or json")->capture_default_str()
        ->check(CLI::IsMember({"lines", "csv", "json"}));

    std::string info_model, info_format = "table";
    CLI::App* info = app.add_subcommand("info", "what a model file holds: kinds, sizes, specs, collisions");
    info->add_option("--model", info_model, "model file")->required()->check(CLI::ExistingFile);
    info->add_option("--format", info_format, "table or json")->capture_default_str()
        ->check(CLI::IsMember({"table", "json"}));

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& x) {
        return app.exit(x);
    } catch (const CLI::CallForAllHelp& x) {
        return app.exit(x);
    } catch (const CLI::ParseError& x) {
        app.exit(x);
        return 2;
    }
    try {
        if (train->parsed()) {
            if (network) t.s.model = "network";
            t.s.batch = batch ? *batch : (network ? 128 : 256);
            t.s.lr = lr ? *lr : (network ? 1e-3 : 1e-2);
            t.s.l2 = l2 ? *l2 : (network ? 0.0 : 1e-6);
            t.s.epochs = epochs ? *epochs : (network ? 30 : 10);
            return run_train(t, *train);
        }
        if (ev->parsed()) return run_eval(e);
        if (rec->parsed()) return run_recommend(r);
        if (sim->parsed()) return run_similar(si);
        if (info->parsed()) return run_info(info_model, info_format);
    } catch (const usage_error& x) {
        std::fprintf(stderr, "%s\n", x.what());
        return 2;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "bloom: out of memory\n");
        return 1;
    } catch (const std::exception& x) {
        std::fprintf(stderr, "%s\n", x.what());
        return 1;
    }
    return 2;
}
