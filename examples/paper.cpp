// bloom-paper: the experiment of Serrà & Karatzoglou (2017) on the paper's own network. Every
// user's items are split into an input half and a target half; an MLP reads the input half
// through an item code and predicts the target half's code; items are ranked by the score
// recovered from the prediction. One table: every coding at every m/d, with its speed and its
// accuracy as a share of the uncompressed network's, above a popularity floor.
//
//   bloom-paper                                the default grid on the built-in synthetic data
//   bloom-paper --data u.data                  MovieLens (100K/1M/10M/20M/25M) or a CSV
//   bloom-paper --methods bloom,cbe --ratios 0.2 --hashes all --hash-seeds 5 --out study
//
// Run `bloom-paper --help` for every option.
#include <bloom/data/loaders.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/eval/evaluate.hpp>
#include <bloom/hash/all.hpp>
#include <bloom/models/network/bloom_mlp.hpp>
#include <bloom/models/network/codes.hpp>
#include <bloom/models/network/positions.hpp>
#include <bloom/models/network/protocol.hpp>
#include <bloom/models/network/spectral.hpp>

#include "common.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using scalar = float;
namespace bm = bloom::models;
using net_type = bm::bloom_mlp<scalar>;
using code_type = bm::item_code<scalar>;

const std::vector<std::string> all_methods = {"bloom", "hashing", "cbe", "freq", "ecoc", "pmi", "cca"};

// The default data: 5,000 users, 10,000 items, 250,000 interactions.
examples::data_options default_data() {
    examples::data_options d;
    d.synthetic = {5000, 10000, 250000, 1.0};
    return d;
}

struct settings {
    examples::data_options data = default_data();
    std::vector<std::string> methods = {"bloom", "hashing", "cbe", "freq", "ecoc", "pmi", "cca"};
    std::vector<std::string> hashes = {"murmur3_32"};
    std::vector<double> ratios = {1.0, 0.5, 0.2, 0.1, 0.05};
    std::vector<std::uint32_t> ks = {4};
    std::uint32_t hash_seeds = 1;
    std::vector<std::uint32_t> hidden = {256};
    std::string activation = "relu";
    std::string loss = "softmax";
    double dropout = 0.0;
    std::uint32_t epochs = 30, batch = 128, eval_k = 10, threads = 1, max_rank = 1024;
    double lr = 1e-3, l2 = 0.0, head_share = 0.5;
    bool fixed_halves = false;
    bool reference = false;
    std::string split = "bloom";
    std::uint64_t seed = 42;
    std::string out;
    bool quiet = false;
};

struct dataset {
    std::string name;
    nlohmann::json read_as;  // how the file was read (examples::read_as_json)
    std::uint32_t n_users = 0, n_items = 0;
    std::size_t interactions = 0;
    bm::halves h;
    bloom::eval::user_items train_all;  // training users' whole sets (co-occurrence, PMI)
    std::vector<std::uint64_t> counts;  // training users holding each item
};

struct row {
    std::string method, hash = "-", coding, loss;
    double ratio = 1.0;
    std::uint32_t k = 1;
    std::uint64_t m_in = 0, m_out = 0;
    std::uint32_t hash_seed = 0;
    std::size_t params = 0;
    double sec_per_epoch = 0, fit_seconds = 0, eval_seconds = 0, code_seconds = 0;
    double input_bits = 0, target_bits = 0;  // mean share of code positions a test half sets
    double dense_gflops = 0;  // the dense layers' FLOPs per epoch (6 per multiply-add) / s
    bloom::eval::ranking_result m;
    bool trained = true;
};

examples::progress_mode progress_of(const settings& s) { return examples::progress_of(s.quiet); }

using examples::fmt;

dataset make_dataset(const settings& s) {
    dataset d;
    examples::loaded_data src = examples::load_data(s.data, s.seed, "bloom-paper");
    d.name = src.name;
    d.read_as = examples::read_as_json(src);
    const bloom::data::interactions all = std::move(src.data);
    bm::halves_options ho;
    ho.seed = s.seed;
    ho.order = s.split == "numpy" ? bm::half_order::numpy : bm::half_order::bloom;
    d.h = bm::split_halves(all, ho);
    d.n_users = all.n_users;
    d.n_items = all.n_items;
    d.interactions = all.size();
    d.train_all = bm::join_rows(d.h.train_in, d.h.train_target);
    d.counts = bm::item_counts(d.train_all, d.n_items);
    return d;
}

bool uses_hash(const std::string& m) { return m == "bloom" || m == "hashing" || m == "cbe" || m == "freq"; }
bool uses_k(const std::string& m) { return m == "bloom" || m == "cbe" || m == "freq"; }
bool uses_seed(const std::string& m) { return uses_hash(m) || m == "ecoc"; }

std::uint64_t width(std::uint32_t d, double ratio) {
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(ratio * static_cast<double>(d)));
}

// Hash seeds: one stream per study seed, the same for every policy.
std::uint64_t hash_seed_of(const settings& s, std::uint32_t i) {
    return s.seed * 0x9E3779B97F4A7C15ULL + 1000003ULL * (i + 1);
}

bloom::nn::activation activation_of(const std::string& a) {
    return a == "tanh" ? bloom::nn::activation::tanh : bloom::nn::activation::relu;
}

// Mean share of the m positions that a set of the given rows sets (union of the item codes).
double bit_share(const bloom::models::sparse_code& c, const bloom::eval::user_items& sets) {
    if (sets.n_users() == 0) return 0;
    std::vector<std::uint32_t> u;
    double total = 0;
    for (std::size_t r = 0; r < sets.n_users(); ++r) {
        c.encode_set(sets.begin(r), sets.count(r), u);
        total += static_cast<double>(u.size()) / static_cast<double>(c.m);
    }
    return total / static_cast<double>(sets.n_users());
}

row train_and_evaluate(code_type in, code_type out, bm::network_options no, const dataset& d,
                       const settings& s, row r) {
    r.m_in = in.m();
    r.m_out = out.m();
    if (!in.is_dense()) {
        r.input_bits = bit_share(in.sparse, d.h.test_in);
    }
    if (!out.is_dense()) r.target_bits = bit_share(out.sparse, d.h.test_target);
    no.hidden = s.hidden;
    no.act = activation_of(s.activation);
    no.dropout = s.dropout;
    no.seed = s.seed;
    net_type net(std::move(in), std::move(out), no);
    bm::network_fit_options f;
    f.epochs = s.epochs;
    f.batch = s.batch;
    f.lr = s.lr;
    f.weight_decay = s.l2;
    f.resample = !s.fixed_halves;
    f.seed = s.seed + 7;
    f.threads = s.threads;
    const examples::progress_mode show = progress_of(s);
    // In columns on a terminal, single-spaced in a log.
    const bool cols = show == examples::progress_mode::terminal;
    char what[128];
    std::snprintf(what, sizeof what,
                  cols ? "%-8s %-14s m/d %.2f k %u seed %u" : "%s %s m/d %.2f k %u seed %u",
                  r.method.c_str(), r.hash.c_str(), r.ratio, r.k, r.hash_seed);
    f.on_epoch = [&](std::uint32_t e, double secs, double loss) {
        examples::report_epoch(show, what, e + 1, s.epochs, secs, loss);
    };
    const bm::fit_report rep = net.fit(d.h.train_in, d.h.train_target, f);
    examples::end_progress(show);
    const auto t0 = std::chrono::steady_clock::now();
    bloom::eval::ranking_options eo;
    eo.k = s.eval_k;
    eo.threads = s.threads;
    r.m = net.evaluate(d.h.test_in, d.h.test_target, eo);
    r.eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.params = net.parameters();
    r.sec_per_epoch = rep.seconds_per_epoch();
    std::size_t examples = 0;
    for (std::size_t u = 0; u < d.h.train_target.n_users(); ++u) examples += d.h.train_target.count(u) > 0;
    if (r.sec_per_epoch > 0)
        r.dense_gflops = 6.0 * net.dense_macs() * static_cast<double>(examples) / r.sec_per_epoch / 1e9;
    r.fit_seconds = rep.total_seconds;
    r.loss = bm::to_string(no.loss);
    return r;
}

bm::output_loss sparse_loss(const settings& s) {
    return s.loss == "sigmoid" ? bm::output_loss::sigmoid : bm::output_loss::softmax;
}

row run_identity(const dataset& d, const settings& s) {
    row r;
    r.method = "identity";
    r.coding = "identity";
    const code_type c = code_type::from_sparse(bm::identity_code(d.n_items));
    bm::network_options no;
    no.loss = sparse_loss(s);
    return train_and_evaluate(c, c, no, d, s, r);
}

// The row of one coding at one (hash, ratio, k, seed); trained = false with a note when the
// coding cannot be built at this size (PMI/CCA above --max-rank).
row run_one(const std::string& method, const std::string& hash, double ratio, std::uint32_t k,
            std::uint32_t seed_index, const dataset& d, const settings& s) {
    row r;
    r.method = method;
    r.ratio = ratio;
    r.k = uses_k(method) ? k : 1;
    r.hash = uses_hash(method) ? hash : "-";
    r.hash_seed = seed_index;
    const std::uint32_t n = d.n_items;
    const std::uint64_t m = width(n, ratio);
    const std::uint64_t hs = hash_seed_of(s, seed_index);
    const auto t0 = std::chrono::steady_clock::now();
    auto code_time = [&] {
        r.code_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    bm::network_options no;
    if (method == "ecoc") {
        r.coding = "ecoc";
        const code_type c = code_type::from_sparse(bm::ecoc_code(n, m, hs));
        code_time();
        no.loss = bm::output_loss::sigmoid;
        no.rank = bm::recovery::code_word;
        no.sets = bm::set_coding::sum;
        return train_and_evaluate(c, c, no, d, s, r);
    }
    if (method == "pmi" || method == "cca") {
        r.coding = method;
        r.m_in = r.m_out = m;
        if (m > s.max_rank) {
            r.trained = false;
            return r;
        }
        no.loss = bm::output_loss::regression;
        no.rank = bm::recovery::similarity;
        if (method == "pmi") {
            bm::pmi_config pc;
            pc.seed = s.seed;
            code_type c = code_type::from_dense(bm::pmi_embeddings<scalar>(d.train_all, n, static_cast<std::uint32_t>(m), pc));
            code_time();
            return train_and_evaluate(c, c, no, d, s, r);
        }
        bm::cca_config cc;
        cc.seed = s.seed;
        bm::cca_result<scalar> e =
            bm::cca_embeddings<scalar>(d.h.train_in, d.h.train_target, n, static_cast<std::uint32_t>(m), cc);
        code_time();
        return train_and_evaluate(code_type::from_dense(std::move(e.in)),
                                  code_type::from_dense(std::move(e.out)), no, d, s, r);
    }
    row out;
    examples::with_hash(hash, "bloom-paper", [&](auto policy) {
        using H = decltype(policy);
        bloom::spec_config sc;
        sc.items = n;
        sc.m = m;
        sc.k = r.k;
        sc.seed = hs;
        sc.key_bytes = 4;
        const bloom::models::sparse_code bloom_code = bm::spec_code(bloom::basic_spec<H>(sc));
        no.loss = sparse_loss(s);
        if (method == "bloom" || method == "hashing") {
            r.coding = method;
            const code_type c = code_type::from_sparse(bloom_code);
            code_time();
            out = train_and_evaluate(c, c, no, d, s, r);
        } else if (method == "cbe") {
            r.coding = "bloom|cbe";
            code_type o = code_type::from_sparse(
                bm::cooccurrence_code<H>(d.train_all, n, m, r.k, hs, bm::cooccurrence_options{}));
            code_time();
            out = train_and_evaluate(code_type::from_sparse(bloom_code), std::move(o), no, d, s, r);
        } else {  // freq
            r.coding = "bloom|freq";
            bm::frequency_options fo;
            fo.head_share = s.head_share;
            code_type o = code_type::from_sparse(bm::frequency_code<H>(n, d.counts, m, r.k, hs, fo));
            code_time();
            out = train_and_evaluate(code_type::from_sparse(bloom_code), std::move(o), no, d, s, r);
        }
    });
    return out;
}

struct shares {
    double p10 = 0, mrr = 0, speedup = 0;
};

shares share_of(const row& r, const row& base) {
    shares x;
    if (base.m.precision > 0) x.p10 = r.m.precision / base.m.precision;
    if (base.m.mrr_best > 0) x.mrr = r.m.mrr_best / base.m.mrr_best;
    if (r.sec_per_epoch > 0) x.speedup = base.sec_per_epoch / r.sec_per_epoch;
    return x;
}

// Rows that differ only in the hash seed, averaged (the printed table; CSV/JSON keep every run).
struct group {
    std::vector<const row*> runs;
};

std::string key_of(const row& r) {
    return r.method + "|" + r.hash + "|" + fmt(r.ratio, 6) + "|" + std::to_string(r.k);
}

void print_table(const std::vector<row>& rows, const row& base, std::ostream& os) {
    const std::vector<std::string> head = {"method", "hash", "coding", "m/d", "k", "m", "params",
                                           "s/epoch", "speed-up", "P@10", "R@10", "NDCG@10",
                                           "MAP", "MRR", "P@10%", "MRR%", "bits in|out", "seeds"};
    std::vector<std::vector<std::string>> cells;
    std::vector<std::string> order;
    std::map<std::string, group> groups;
    for (const row& r : rows) {
        const std::string key = key_of(r);
        if (!groups.count(key)) order.push_back(key);
        groups[key].runs.push_back(&r);
    }
    for (const std::string& key : order) {
        const group& g = groups[key];
        const row& r0 = *g.runs.front();
        if (!r0.trained) {
            cells.push_back({r0.method, r0.hash, r0.coding, fmt(r0.ratio, 2), std::to_string(r0.k),
                             std::to_string(r0.m_out), "-", "-", "-", "-", "-", "-", "-", "-", "-",
                             "-", "-",
                             "skipped: rank " + std::to_string(r0.m_out) + " > --max-rank"});
            continue;
        }
        const double n = static_cast<double>(g.runs.size());
        auto mean = [&](auto f) {
            double t = 0;
            for (const row* x : g.runs) t += f(*x);
            return t / n;
        };
        auto spread = [&](auto f) {
            if (g.runs.size() < 2) return std::string();
            const double mu = mean(f);
            double v = 0;
            for (const row* x : g.runs) v += (f(*x) - mu) * (f(*x) - mu);
            return "±" + fmt(std::sqrt(v / (n - 1)), 4);
        };
        const double spe = mean([](const row& x) { return x.sec_per_epoch; });
        const double p10 = mean([](const row& x) { return x.m.precision; });
        const double mrr = mean([](const row& x) { return x.m.mrr_best; });
        const bool is_pop = r0.method == "popularity";
        cells.push_back(
            {r0.method, r0.hash, r0.coding, is_pop ? "-" : fmt(r0.ratio, 2),
             is_pop ? "-" : std::to_string(r0.k), is_pop ? "-" : std::to_string(r0.m_out),
             is_pop ? "-" : std::to_string(r0.params), is_pop ? "-" : fmt(spe, 4),
             is_pop || spe <= 0 ? "-" : fmt(base.sec_per_epoch / spe, 2) + "x",
             fmt(p10, 4) + spread([](const row& x) { return x.m.precision; }),
             fmt(mean([](const row& x) { return x.m.recall; }), 4),
             fmt(mean([](const row& x) { return x.m.ndcg; }), 4),
             fmt(mean([](const row& x) { return x.m.map; }), 4),
             fmt(mrr, 4) + spread([](const row& x) { return x.m.mrr_best; }),
             base.m.precision > 0 ? fmt(100.0 * p10 / base.m.precision, 0) + "%" : "-",
             base.m.mrr_best > 0 ? fmt(100.0 * mrr / base.m.mrr_best, 0) + "%" : "-",
             r0.input_bits > 0 ? fmt(r0.input_bits, 2) + "|" + fmt(r0.target_bits, 2) : "-",
             std::to_string(g.runs.size())});
    }
    examples::print_columns(head, cells, 3, true, os);
}

void write_outputs(const std::string& prefix, const std::vector<row>& rows, const row& base,
                   const dataset& d, const settings& s) {
    std::ofstream csv(prefix + ".csv");
    if (!csv) throw bloom::error("bloom-paper: cannot write " + prefix + ".csv");
    csv << "method,hash,coding,ratio,k,m_in,m_out,hash_seed,loss,params,sec_per_epoch,speedup,"
           "fit_seconds,eval_seconds,code_seconds,p10,r10,ndcg10,map,mrr,mrr_mean,hit10,"
           "p10_share,mrr_share,input_bits,target_bits,dense_gflops,trained\n";
    nlohmann::json j;
    j["data"] = d.name;
    j["users"] = d.n_users;
    j["items"] = d.n_items;
    j["interactions"] = d.interactions;
    j["train_users"] = d.h.train_users.size();
    j["test_users"] = d.h.test_users.size();
    j["settings"] = {{"hidden", s.hidden},     {"activation", s.activation},
                     {"dropout", s.dropout},   {"loss", s.loss},
                     {"epochs", s.epochs},     {"batch", s.batch},
                     {"lr", s.lr},             {"l2", s.l2},
                     {"resample", !s.fixed_halves}, {"split", s.split},
                     {"seed", s.seed},         {"optimizer", "adam (lazy on the input table)"},
                     {"threads", s.threads}, {"eval_k", s.eval_k}};
    j["settings"].update(examples::data_settings(s.data));
    j["read_as"] = d.read_as;
    j["metrics"] = "mrr: mean over test users of 1/rank of the best-ranked target item (the "
                   "reference script's); mrr_mean: mean 1/rank over all target items";
    j["results"] = nlohmann::json::array();
    for (const row& r : rows) {
        const shares x = share_of(r, base);
        csv << r.method << ',' << r.hash << ',' << r.coding << ',' << r.ratio << ',' << r.k << ','
            << r.m_in << ',' << r.m_out << ',' << r.hash_seed << ',' << r.loss << ',' << r.params
            << ',' << r.sec_per_epoch << ',' << x.speedup << ',' << r.fit_seconds << ','
            << r.eval_seconds << ',' << r.code_seconds << ',' << r.m.precision << ','
            << r.m.recall << ',' << r.m.ndcg << ',' << r.m.map << ',' << r.m.mrr_best << ','
            << r.m.mrr << ',' << r.m.hit_rate << ',' << x.p10 << ',' << x.mrr << ','
            << r.input_bits << ',' << r.target_bits << ',' << r.dense_gflops << ','
            << (r.trained ? 1 : 0) << '\n';
        j["results"].push_back({{"method", r.method},
                                {"hash", r.hash},
                                {"coding", r.coding},
                                {"ratio", r.ratio},
                                {"k", r.k},
                                {"m_in", r.m_in},
                                {"m_out", r.m_out},
                                {"hash_seed", r.hash_seed},
                                {"loss", r.loss},
                                {"params", r.params},
                                {"sec_per_epoch", r.sec_per_epoch},
                                {"speedup", x.speedup},
                                {"fit_seconds", r.fit_seconds},
                                {"eval_seconds", r.eval_seconds},
                                {"code_seconds", r.code_seconds},
                                {"p10", r.m.precision},
                                {"r10", r.m.recall},
                                {"ndcg10", r.m.ndcg},
                                {"map", r.m.map},
                                {"mrr", r.m.mrr_best},
                                {"mrr_mean", r.m.mrr},
                                {"hit10", r.m.hit_rate},
                                {"p10_share", x.p10},
                                {"mrr_share", x.mrr},
                                {"input_bits", r.input_bits},
                                {"target_bits", r.target_bits},
                                {"dense_gflops", r.dense_gflops},
                                {"trained", r.trained}});
    }
    std::ofstream js(prefix + ".json");
    if (!js) throw bloom::error("bloom-paper: cannot write " + prefix + ".json");
    js << j.dump(2) << '\n';
}

// Every option checked before any work: nothing trains for minutes and then fails on a typo.
void validate(settings& s) {
    auto bad = [](const std::string& what) { throw examples::option_error("bloom-paper: " + what); };
    examples::check_data_options(s.data, "bloom-paper");
    if (std::find(s.methods.begin(), s.methods.end(), "all") != s.methods.end()) s.methods = all_methods;
    for (const std::string& m : s.methods)
        if (std::find(all_methods.begin(), all_methods.end(), m) == all_methods.end())
            bad("unknown method '" + m + "' in --methods (bloom, hashing, cbe, freq, ecoc, pmi, cca, or all)");
    const std::vector<std::string> built = examples::built_hashes();
    if (std::find(s.hashes.begin(), s.hashes.end(), "all") != s.hashes.end()) s.hashes = built;
    for (const std::string& h : s.hashes)
        if (std::find(built.begin(), built.end(), h) == built.end())
            bad("hash '" + h + "' in --hashes is not built in (see --list-hashes)");
    for (double r : s.ratios)
        if (!(r > 0.0 && r <= 1.0)) bad("--ratios takes m/d values in (0, 1], got " + fmt(r, 6));
    for (std::uint32_t k : s.ks)
        if (k == 0) bad("--k takes hash counts >= 1, got 0");
    for (std::uint32_t h : s.hidden)
        if (h == 0) bad("--hidden takes layer widths >= 1, got 0");
    if (s.hidden.empty()) bad("--hidden needs at least one layer width");
    if (s.hash_seeds == 0) bad("--hash-seeds must be >= 1");
    if (!(s.lr > 0.0) || !std::isfinite(s.lr)) bad("--lr must be finite and > 0, got " + fmt(s.lr, 6));
    if (s.split == "numpy" && s.seed > 0xffffffffULL)
        bad("--split numpy takes a seed below 2^32 (NumPy's legacy seeding)");
    if (s.reference) {
        // ../shared/peers/torch_bloom_mlp.py's settings: the speed comparison runs at these
        s.hidden = {256};
        s.activation = "relu";
        s.dropout = 0.0;
        s.loss = "softmax";
        s.epochs = 10;
        s.batch = 128;
        s.lr = 1e-3;
        s.l2 = 0.0;
        s.fixed_halves = true;
    }
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    CLI::App app{
        "bloom-paper: the paper's network (Serra & Karatzoglou 2017) with Bloom and alternative "
        "item codings on the same data: every user's items split into an input half and a "
        "target half, 10% of users held out; one table of speed and ranking accuracy, each also "
        "as a share of the uncompressed network (m/d = 1), above a popularity floor."};
    examples::add_data_options(app, s.data);
    app.add_option("--methods", s.methods,
                   "codings (or all): bloom (k hashes, both sides), hashing (k = 1), cbe (Bloom in, "
                   "co-occurrence-aware positions out), freq (Bloom in, frequency-aware positions "
                   "out), ecoc (random code words, sigmoid outputs), pmi (PPMI embeddings), cca "
                   "(CCA embeddings); the identity network (m/d = 1) and popularity always run")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--hashes", s.hashes, "hash policies for bloom, hashing, cbe, freq (see --list-hashes), or all")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--ratios", s.ratios, "m/d values in (0, 1]; 1 is the identity baseline whatever the method")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--k", s.ks, "hash functions per item (bloom, cbe, freq)")->delimiter(',')->capture_default_str();
    app.add_option("--hash-seeds", s.hash_seeds,
                   "train each coding with this many hash (or code) seeds: the table shows mean "
                   "and spread, the CSV/JSON every run")
        ->capture_default_str();
    app.add_option("--hidden", s.hidden, "hidden layer widths")->delimiter(',')->capture_default_str();
    app.add_option("--activation", s.activation, "relu or tanh")->check(CLI::IsMember({"relu", "tanh"}))->capture_default_str();
    app.add_option("--dropout", s.dropout, "dropout after each hidden layer")->check(CLI::Range(0.0, 0.95))->capture_default_str();
    app.add_option("--loss", s.loss, "Bloom-family output: softmax (cross-entropy against the normalised target code) or sigmoid (BCE)")
        ->check(CLI::IsMember({"softmax", "sigmoid"}))
        ->capture_default_str();
    app.add_option("--epochs", s.epochs, "training epochs")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--batch", s.batch, "minibatch size (users)")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--lr", s.lr, "Adam learning rate")->capture_default_str();
    app.add_option("--l2", s.l2, "Adam L2 penalty")->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_flag("--fixed-halves", s.fixed_halves,
                 "train on the split's input/target halves every epoch (default: fresh halves of "
                 "each training user's items every epoch)");
    app.add_flag("--reference", s.reference,
                 "the reference script's settings (1 hidden layer of 256, ReLU, softmax, Adam "
                 "1e-3, batch 128, 10 epochs, fixed halves), for the speed comparison");
    app.add_option("--head-share", s.head_share, "freq: share of output positions for the most frequent items")
        ->check(CLI::Range(0.0, 0.95))
        ->capture_default_str();
    app.add_option("--max-rank", s.max_rank,
                   "pmi, cca: largest m built (their SVD costs O(d m^2)); larger m is skipped and said so")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--split", s.split,
                   "bloom: bloom's seeded halves; numpy: ../shared/peers/torch_bloom_mlp.py's "
                   "NumPy split bit for bit")
        ->check(CLI::IsMember({"bloom", "numpy"}))
        ->capture_default_str();
    app.add_option("--eval-k", s.eval_k, "cut-off of P@k, R@k, NDCG@k")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--threads", s.threads,
                   "training and evaluation threads (0: all cores); 1 trains reproducibly bit for "
                   "bit, more split each batch (reproducible per thread count, docs/network.md)")->capture_default_str();
    app.add_option("--seed", s.seed, "seed of data, split, initialisation, hashing")->capture_default_str();
    app.add_option("--out", s.out, "also write PREFIX.csv and PREFIX.json (one row per run)");
    app.add_flag("--quiet", s.quiet,
                 "no progress on stderr (else: one line rewritten on a terminal, a line per epoch "
                 "otherwise)");
    bool list_hashes = false;
    app.add_flag("--list-hashes", list_hashes, "print the hash policies built in and exit");
    // A wrong command line exits 2 (CLI11's own codes, such as 105 for a failed check, are not
    // what scripts expect); --help exits 0.
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& x) {
        return app.exit(x) == 0 ? 0 : 2;
    }

    if (list_hashes) {
        bloom::for_each_policy([](auto tag) { std::cout << bloom::hash_name<decltype(tag)>() << '\n'; });
        return 0;
    }
    try {
        validate(s);
        if (s.eval_k != 10)
            std::cout << "note: --eval-k " << s.eval_k << ": the @10 columns are @" << s.eval_k << "\n";
        const dataset d = make_dataset(s);
        std::cout << "data: " << d.name << "\n      " << d.n_users << " users, " << d.n_items
                  << " items, " << d.interactions << " interactions; " << d.h.train_users.size()
                  << " training users, " << d.h.test_users.size() << " test users ("
                  << s.split << " halves)\n"
                  << "network: hidden";
        for (std::uint32_t h : s.hidden) std::cout << ' ' << h;
        std::cout << " " << s.activation << ", dropout " << s.dropout << ", " << s.loss
                  << " output (Bloom family), Adam lr " << s.lr << " (lazy on the input table), batch "
                  << s.batch << ", " << s.epochs << " epochs, "
                  << (s.fixed_halves ? "fixed halves" : "fresh halves every epoch")
                  << ", "
                  << (s.threads == 1   ? std::string("one training thread")
                      : s.threads == 0 ? std::string("a training thread per core")
                                       : std::to_string(s.threads) + " training threads")
                  << "\n\n";

        std::vector<row> rows;
        row pop;
        pop.method = "popularity";
        pop.coding = "-";
        pop.trained = true;
        bloom::eval::ranking_options eo;
        eo.k = s.eval_k;
        eo.threads = s.threads;
        pop.m = bm::evaluate_popularity(d.counts, d.h.test_in, d.h.test_target, eo);
        rows.push_back(pop);
        rows.push_back(run_identity(d, s));
        const row base = rows.back();
        for (const std::string& method : s.methods) {
            const std::vector<std::string> hashes =
                uses_hash(method) ? s.hashes : std::vector<std::string>{"-"};
            const std::vector<std::uint32_t> ks = uses_k(method) ? s.ks : std::vector<std::uint32_t>{1};
            const std::uint32_t seeds = uses_seed(method) ? s.hash_seeds : 1;
            for (const std::string& h : hashes)
                for (double ratio : s.ratios) {
                    if (ratio >= 1.0) continue;  // the identity row is every method's m/d = 1
                    for (std::uint32_t k : ks)
                        for (std::uint32_t i = 0; i < seeds; ++i)
                            rows.push_back(run_one(method, h, ratio, k, i, d, s));
                }
        }
        print_table(rows, base, std::cout);
        std::cout << "\nMRR: mean over test users of 1/rank of the best-ranked target item; P@10, "
                     "R@10, NDCG@10, MAP over all items, input items excluded. Shares and "
                     "speed-ups are of the identity network (m/d = 1). bits in|out: mean share "
                     "of the m positions a test user's input|target half sets (above ~0.3 the "
                     "codes saturate and collisions dominate).\n";
        if (!s.out.empty()) {
            write_outputs(s.out, rows, base, d, s);
            std::cout << "wrote " << s.out << ".csv and " << s.out << ".json\n";
        }
    } catch (const examples::option_error& e) {
        std::cerr << e.what() << '\n';
        return 2;
    } catch (const bloom::error& e) {
        std::cerr << e.what() << '\n';
        return 1;
    } catch (const std::bad_alloc&) {
        std::cerr << "bloom-paper: out of memory (lower --synthetic-items, --ratios or --max-rank)\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "bloom-paper: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
