// bloom-compare: train recommenders with full, Bloom-compressed and alternative embedding tables
// on the same data and print one table: parameters, training speed and ranking accuracy, each
// accuracy also as a share of the full table's.
//
//   bloom-compare                           the default grid on the built-in synthetic data
//   bloom-compare --data u.data             MovieLens (100K/1M/10M/20M/25M, detected) or CSV
//   bloom-compare --data events.tsv --sep tab --header --user-col 2 --item-col 3
//   bloom-compare --methods full,bloom --ratios 0.2 --k 4 --hashes murmur3_32 --out results
//   bloom-compare --methods full,bloom --hashes all --hash-seeds 5 --out study   hash study:
//                                           mean and spread over 5 hash seeds per row
//
// Run `bloom-compare --help` for every option; docs/compare.md explains them and every output
// column.
#include <bloom/data/loaders.hpp>
#include <bloom/data/split.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/eval/evaluate.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/hash/all.hpp>
#include <bloom/models/cce.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/dhe.hpp>
#include <bloom/models/mixed_dim.hpp>
#include <bloom/models/network/bloom_mlp.hpp>
#include <bloom/models/robe.hpp>
#include <bloom/models/tt.hpp>
#include <bloom/optim/adam.hpp>

#include "common.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace {

using scalar = float;
using opt = bloom::optim::adam<scalar>;
namespace bm = bloom::models;

// The default data: 20,000 users, 100,000 items, 1,000,000 interactions (docs/results.md's grid).
examples::data_options default_data() {
    examples::data_options d;
    d.synthetic = {20000, 100000, 1000000, 1.0};
    return d;
}

struct settings {
    examples::data_options data = default_data();
    std::uint32_t dim = 32, epochs = 10, batch = 256, k_eval = 10;
    // --threads: training and evaluation threads (0: every core). Not given: training on one
    // thread (reproducible bit for bit) and evaluation on every core (the same numbers either way).
    std::uint32_t threads = 1, eval_threads = 0;
    double lr = 1e-2, l2 = 1e-6, test_share = 0.2, head_share = 0.5;
    std::uint32_t history_k = 1;
    std::uint32_t kmeans_iterations = bloom::models::cce_options{}.kmeans_iterations;  // cce
    double kmeans_tolerance = bloom::models::cce_options{}.kmeans_tolerance;            // cce
    // dhe: hash functions, hidden layers, and the cap on the width the budget picks
    std::uint32_t dhe_k = 64, dhe_layers = 2, dhe_max_width = 2048;
    double dhe_lr = 1e-3;  // dhe: its network's Adam learning rate (every weight moves every step)
    // tt: its cores' learning rate (a core scalar moves every id that reads its slice)
    double tt_lr = 1e-3;
    std::string loss = "bpr";
    std::string interaction = "dot";  // or "gmf": He et al.'s GMF, h . (p_u * q_i)
    std::uint32_t negatives = 5;      // sampled negatives per positive (bce, adaptive-hinge)
    std::vector<std::string> methods = {"full",       "bloom",     "hashing",      "hash-emb", "qr",
                                        "freq-bloom", "small-dim", "bloom-history"};
    std::vector<std::string> hashes = {"murmur3_32"};
    std::vector<double> ratios = {0.2};
    // --rows: each compressed table gets the parameter budget of this many rows of its full
    // table (of all of it when it has fewer ids); replaces --ratios when given
    std::vector<std::uint64_t> rows_budget;
    std::vector<std::uint32_t> ks = {4};
    std::string compress = "users,items";
    std::string combine = "sum";
    std::string split = "random";
    std::uint64_t seed = 42;
    std::optional<std::uint64_t> train_seed;  // initialisation, hashing, sampling; default: seed
    std::uint32_t hash_seeds = 1;  // runs per hashed row, hash seeds s = 0..hash_seeds-1
    std::uint64_t id_stride = 1;   // hashed kinds hash id i as the key i * id_stride
    std::string out;
    bool quiet = false;
    bool skip_eval = false;
};

struct dataset {
    std::string name;
    nlohmann::json read_as;  // how the file was read (examples::read_as_json)
    std::uint32_t n_users = 0, n_items = 0;
    std::vector<std::uint32_t> train_users, train_items, test_users, test_items;
    bloom::eval::user_items train_lists, test_lists;
};

struct row {
    std::string method, hash, combine;
    // false for the popularity row: nothing trained, so ratio, k, dim, params, MB and the times
    // do not apply (the table shows "-", the CSV leaves them empty, the JSON has null)
    bool trained = true;
    double ratio = 1.0;
    std::uint64_t rows_budget = 0;  // --rows: the budget in full-table rows (0: --ratios)
    std::uint32_t k = 1, dim = 0;
    std::uint32_t history_k = 0;  // bloom-history: hash functions of the users' filters (else 0)
    std::size_t params = 0;
    double mb = 0, sec_per_epoch = 0, fit_seconds = 0;
    bloom::eval::ranking_result m;  // with several runs: the means over the runs
    // One run per hash seed (a single one for kinds without a hash); filled by average_runs.
    struct run {
        std::uint32_t hash_seed = 0;
        double sec_per_epoch = 0, fit_seconds = 0;
        bloom::eval::ranking_result m;
    };
    std::vector<run> runs;
};

// Mean, sample standard deviation (0 for one value), min and max of some values.
struct spread {
    double mean = 0, std = 0, min = 0, max = 0;
};
template <class Get>
spread spread_of(const std::vector<row::run>& runs, Get&& get) {
    spread sp;
    if (runs.empty()) return sp;
    sp.min = sp.max = get(runs.front());
    for (const row::run& r : runs) {
        const double v = get(r);
        sp.mean += v;
        sp.min = std::min(sp.min, v);
        sp.max = std::max(sp.max, v);
    }
    const double n = static_cast<double>(runs.size());
    sp.mean /= n;
    if (runs.size() > 1) {
        double ss = 0;
        for (const row::run& r : runs) ss += (get(r) - sp.mean) * (get(r) - sp.mean);
        sp.std = std::sqrt(ss / (n - 1));
    }
    return sp;
}
spread mrr_spread(const row& r) {
    return spread_of(r.runs, [](const row::run& x) { return x.m.mrr; });
}
spread p10_spread(const row& r) {
    return spread_of(r.runs, [](const row::run& x) { return x.m.precision; });
}

// One row from the runs of the same (method, hash, ratio, k), one per hash seed: the
// configuration of the first, the means of the times and metrics, and the runs themselves.
row average_runs(const std::vector<row>& runs, const std::vector<std::uint32_t>& seeds) {
    row out = runs.front();
    out.runs.clear();
    for (std::size_t i = 0; i < runs.size(); ++i)
        out.runs.push_back({seeds[i], runs[i].sec_per_epoch, runs[i].fit_seconds, runs[i].m});
    auto mean = [&](auto get) {
        return spread_of(out.runs, get).mean;
    };
    out.sec_per_epoch = mean([](const row::run& x) { return x.sec_per_epoch; });
    out.fit_seconds = mean([](const row::run& x) { return x.fit_seconds; });
    out.m.mrr = mean([](const row::run& x) { return x.m.mrr; });
    out.m.auc = mean([](const row::run& x) { return x.m.auc; });
    out.m.precision = mean([](const row::run& x) { return x.m.precision; });
    out.m.recall = mean([](const row::run& x) { return x.m.recall; });
    out.m.ndcg = mean([](const row::run& x) { return x.m.ndcg; });
    out.m.map = mean([](const row::run& x) { return x.m.map; });
    out.m.map_at_k = mean([](const row::run& x) { return x.m.map_at_k; });
    out.m.hit_rate = mean([](const row::run& x) { return x.m.hit_rate; });
    return out;
}

std::uint64_t training_seed(const settings& s) { return s.train_seed.value_or(s.seed); }

examples::progress_mode progress_of(const settings& s) { return examples::progress_of(s.quiet); }

bm::loss parse_loss(const std::string& l) {
    if (l == "bpr") return bm::loss::bpr;
    if (l == "bpr-log") return bm::loss::bpr_log;
    if (l == "pointwise") return bm::loss::pointwise;
    if (l == "hinge") return bm::loss::hinge;
    if (l == "adaptive-hinge") return bm::loss::adaptive_hinge;
    if (l == "bce") return bm::loss::bce;
    throw bloom::invalid_argument("bloom-compare: unknown --loss '" + l +
                                  "' (bpr, bpr-log, pointwise, hinge, adaptive-hinge, bce)");
}

bm::interaction interaction_of(const settings& s) {
    return s.interaction == "gmf" ? bm::interaction::gmf : bm::interaction::dot;
}

std::string number(double v);

dataset make_dataset(const settings& s) {
    dataset d;
    examples::loaded_data src = examples::load_data(s.data, s.seed, "bloom-compare");
    d.name = src.name;
    d.read_as = examples::read_as_json(src);
    bloom::data::interactions all = std::move(src.data);
    // Only the pairs are used: the ratings and timestamps are freed before the split copies them
    // (at the ML-25M scale the timestamps alone are 200 MB).
    std::vector<float>().swap(all.weights);
    std::vector<std::int64_t>().swap(all.timestamps);
    bloom::data::train_test split =
        s.split == "numpy"
            ? bloom::data::numpy_random_split(all, s.test_share, static_cast<std::uint32_t>(s.seed))
            : bloom::data::random_split(all, s.test_share, s.seed);
    // A tiny file can leave one side of the split empty: say which file and which option.
    if (split.train.users.empty())
        throw bloom::invalid_argument(
            "bloom-compare: " + d.name + ": " + std::to_string(all.size()) +
            " interaction(s), and --test-share " + number(s.test_share) +
            " puts every one in the test split: nothing is left to train on (give more data or "
            "lower --test-share)");
    if (split.test.users.empty() && !s.skip_eval)
        throw bloom::invalid_argument(
            "bloom-compare: " + d.name + ": " + std::to_string(all.size()) +
            " interaction(s), and --test-share " + number(s.test_share) +
            " puts none in the test split: nothing to evaluate (give more data, raise "
            "--test-share or pass --skip-eval)");
    d.n_users = all.n_users;
    d.n_items = all.n_items;
    all = bloom::data::interactions{};
    d.train_users = std::move(split.train.users);
    d.train_items = std::move(split.train.items);
    d.test_users = std::move(split.test.users);
    d.test_items = std::move(split.test.items);
    d.train_lists = bloom::eval::make_user_items(d.n_users, d.train_users, d.train_items);
    d.test_lists = bloom::eval::make_user_items(d.n_users, d.test_users, d.test_items);
    return d;
}

// Rows for `ratio` of a table of n ids (at least k, so that k positions fit).
std::uint64_t rows_for(std::uint32_t n, double ratio, std::uint32_t k) {
    const auto r = static_cast<std::uint64_t>(static_cast<double>(n) * ratio);
    return std::max<std::uint64_t>(r, k);
}

template <class Model>
row train_and_evaluate(Model& model, const dataset& d, const settings& s, row r) {
    bm::fit_options f;
    f.epochs = s.epochs;
    f.batch = s.batch;
    f.objective = parse_loss(s.loss);
    f.n_negatives = s.negatives;
    f.seed = training_seed(s);
    f.threads = s.threads;
    const examples::progress_mode show = progress_of(s);
    // In columns on a terminal, single-spaced in a log.
    const bool cols = show == examples::progress_mode::terminal;
    char what[128];
    std::snprintf(what, sizeof what, cols ? "%-13s %-14s ratio %.2f k %u" : "%s %s ratio %.2f k %u",
                  r.method.c_str(), r.hash.c_str(), r.ratio, r.k);
    f.on_epoch = [&](std::uint32_t e, double secs, double loss) {
        examples::report_epoch(show, what, e + 1, s.epochs, secs, loss);
    };
    const bm::fit_report rep = model.fit(d.train_users, d.train_items, f);
    examples::end_progress(show);
    if (!s.skip_eval) {
        model.prepare_scoring();
        bloom::eval::ranking_options eo;
        eo.k = s.k_eval;
        eo.threads = s.eval_threads;
        r.m = bloom::eval::evaluate_ranking(
            [&](std::uint32_t u, float* scores) { model.score_user(u, scores); }, d.n_items,
            d.train_lists, d.test_lists, eo);
    }
    r.params = model.embedding_parameters();
    r.mb = static_cast<double>(model.parameters() * sizeof(scalar)) / (1024.0 * 1024.0);
    r.sec_per_epoch = rep.seconds_per_epoch();
    r.fit_seconds = rep.total_seconds;
    return r;
}

bm::embedding_options emb_options(const settings& s, std::uint64_t salt) {
    bm::embedding_options o;
    o.dim = s.dim;
    o.seed = training_seed(s) * 1000003ULL + salt;
    return o;
}

opt::config opt_config(const settings& s) {
    opt::config c;
    c.lr = s.lr;
    c.weight_decay = s.l2;
    return c;
}

// Both sides get the same kind; a side left out of --compress keeps a full table, which the
// caller expresses by passing ratio 1 with the "full" method for that side.
template <class UserKind, class ItemKind>
row run_model(UserKind users, ItemKind items, const dataset& d, const settings& s, row r) {
    bm::factorization<UserKind, ItemKind, opt> model(std::move(users), std::move(items),
                                                     opt_config(s), interaction_of(s));
    return train_and_evaluate(model, d, s, r);
}

bool compress_users(const settings& s) { return s.compress.find("users") != std::string::npos; }
bool compress_items(const settings& s) { return s.compress.find("items") != std::string::npos; }

template <class F>
void with_hash(const std::string& hash, F&& f) {
    examples::with_hash(hash, "bloom-compare", std::forward<F>(f));
}

bool uses_hash(const std::string& method) {
    return method == "bloom" || method == "hashing" || method == "hash-emb" ||
           method == "freq-bloom" || method == "bloom-history" || method == "robe" ||
           method == "dhe";
}
bool uses_k(const std::string& method) {
    return method == "bloom" || method == "hash-emb" || method == "freq-bloom" ||
           method == "bloom-history";
}

// dhe's parameter budget: ratio x the full table's n x dim scalars.
std::uint64_t dhe_budget(std::uint32_t n, double ratio, std::uint32_t dim) {
    return static_cast<std::uint64_t>(ratio * static_cast<double>(n) * static_cast<double>(dim));
}

// One compression budget: a ratio (--ratios) or a number of full-table rows (--rows), which is
// a ratio per table: rows / ids, at most 1.
struct budget {
    double ratio = 1.0;
    std::uint64_t rows = 0;  // 0: `ratio` applies to every table
    double ratio_for(std::uint32_t n) const {
        return rows == 0 ? ratio : std::min(1.0, static_cast<double>(rows) / static_cast<double>(n));
    }
    std::string label() const {
        return rows == 0 ? "--ratios " + number(ratio) : "--rows " + std::to_string(rows);
    }
};
std::vector<budget> budgets(const settings& s) {
    std::vector<budget> out;
    if (!s.rows_budget.empty())
        for (std::uint64_t r : s.rows_budget) out.push_back({1.0, r});
    else
        for (double r : s.ratios) out.push_back({r, 0});
    return out;
}

std::uint32_t small_dim(const settings& s, double ratio) {
    return std::max<std::uint32_t>(1, static_cast<std::uint32_t>(s.dim * ratio + 0.5));
}

const std::vector<std::string>& known_methods() {
    static const std::vector<std::string> m = {"full",       "bloom",     "hashing",      "hash-emb",
                                               "qr",         "freq-bloom", "small-dim",
                                               "bloom-history", "robe",        "mixed-dim",
                                               "cce",           "tt",
                                               "dhe"};
    return m;
}

// tt's parameter budget: ratio x the full table's n x dim scalars.
std::uint64_t tt_budget(std::uint32_t n, double ratio, std::uint32_t dim) {
    return static_cast<std::uint64_t>(ratio * static_cast<double>(n) * static_cast<double>(dim));
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& x : v) out += (out.empty() ? "" : ", ") + x;
    return out;
}

std::string number(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// Every option on its own and every contradiction between options that needs no data: checked
// after parsing, before the data is loaded or anything trains. Throws naming the option(s).
void validate_options(const settings& s) {
    auto bad = [](const std::string& what) {
        throw examples::option_error("bloom-compare: " + what);
    };
    examples::check_data_options(s.data, "bloom-compare");
    if (s.methods.empty()) bad("--methods needs at least one method");
    for (const std::string& m : s.methods)
        if (std::find(known_methods().begin(), known_methods().end(), m) == known_methods().end())
            bad("--methods: unknown method '" + m + "' (" + join(known_methods()) + ")");
    if (s.hashes.empty()) bad("--hashes needs at least one hash policy");
    const std::vector<std::string> built = examples::built_hashes();
    for (const std::string& h : s.hashes)
        if (std::find(built.begin(), built.end(), h) == built.end())
            bad("--hashes: hash '" + h + "' is not built in (see --list-hashes)");
    if (s.ratios.empty()) bad("--ratios needs at least one ratio");
    for (std::uint64_t r : s.rows_budget)
        if (r == 0) bad("--rows takes a number of rows of at least 1 per table, got 0");
    if (!s.rows_budget.empty() &&
        std::find(s.methods.begin(), s.methods.end(), "small-dim") != s.methods.end())
        bad("--rows gives each table its own budget, and small-dim spends its budget on columns "
            "both tables share; use --ratios for small-dim");
    for (double r : s.ratios)
        if (!(std::isfinite(r) && r > 0.0 && r <= 1.0))
            bad("--ratios takes rows / ids in (0, 1], got " + number(r));
    if (!std::isfinite(s.lr)) bad("--lr takes a finite learning rate >= 0, got " + number(s.lr));
    if (!std::isfinite(s.dhe_lr)) bad("--dhe-lr takes a finite learning rate >= 0, got " + number(s.dhe_lr));
    if (!std::isfinite(s.tt_lr)) bad("--tt-lr takes a finite learning rate >= 0, got " + number(s.tt_lr));
    if (!std::isfinite(s.l2)) bad("--l2 takes a finite penalty >= 0, got " + number(s.l2));
    if (s.ks.empty()) bad("--k needs at least one value");
    for (std::uint32_t k : s.ks)
        if (k == 0) bad("--k takes hash functions per id >= 1, got 0");
    const bool users = compress_users(s), items = compress_items(s);
    auto has = [&](const char* m) {
        return std::find(s.methods.begin(), s.methods.end(), m) != s.methods.end();
    };
    if (has("small-dim") && !(users && items))
        bad("small-dim compresses both sides (--compress users,items)");
    if (has("tt")) {
        try {
            (void)bm::tt_dim_factors(s.dim);
        } catch (const bloom::invalid_argument&) {
            bad("tt factors the dimension into three, and --dim " + std::to_string(s.dim) +
                " is prime (only 1 x 1 x " + std::to_string(s.dim) + "); choose a composite --dim");
        }
    }
    if (has("dhe") && s.threads != 1)
        bad("dhe trains on one thread (its network's weights are dense, so Hogwild workers would "
            "all write all of them); leave --threads out or give --threads 1");
    if (s.dhe_k == 0 || s.dhe_k > bm::dhe_max_width)
        bad("--dhe-k takes 1.." + std::to_string(bm::dhe_max_width) + " hash functions, got " +
            std::to_string(s.dhe_k));
    if (s.dhe_layers == 0 || s.dhe_layers > bm::dhe_max_layers)
        bad("--dhe-layers takes 1.." + std::to_string(bm::dhe_max_layers) + " hidden layers, got " +
            std::to_string(s.dhe_layers));
    if (s.dhe_max_width == 0 || s.dhe_max_width > bm::dhe_max_width)
        bad("--dhe-max-width takes 1.." + std::to_string(bm::dhe_max_width) + ", got " +
            std::to_string(s.dhe_max_width));
    if (has("bloom-history") && !users)
        bad("bloom-history encodes users by their training items; it needs --compress users or "
            "users,items");
    if (s.split == "numpy" && s.seed > 0xffffffffULL)
        bad("--split numpy takes a seed below 2^32 (NumPy's legacy seeding), not " +
            std::to_string(s.seed));
    if (!s.out.empty() && !s.data.path.empty())
        for (const std::string& f : {s.out + ".csv", s.out + "-runs.csv", s.out + ".json", s.out + ".json.tmp"}) {
            std::error_code ec;
            if (std::filesystem::equivalent(f, s.data.path, ec))
                bad("--out " + s.out + " would overwrite --data " + s.data.path + " (" + f +
                    " is that file)");
        }
}

// What needs the data's size: each compressed table's rows, floor(ids x ratio), must hold the
// positions its kind needs (k for the Bloom kinds, --history-k for bloom-history's users, 2 for
// qr, 1 for hashing), so that a row's ratio is the real one (never silently raised).
void validate_sizes(const settings& s, std::uint32_t n_users, std::uint32_t n_items) {
    for (const std::string& method : s.methods) {
        if (method == "full" || method == "small-dim") continue;
        for (const budget& b : budgets(s)) {
            for (const bool is_users : {true, false}) {
                if (!(is_users ? compress_users(s) : compress_items(s))) continue;
                const std::uint32_t n = is_users ? n_users : n_items;
                const double ratio = b.ratio_for(n);
                const std::string given = b.label();
                const auto rows = static_cast<std::uint64_t>(static_cast<double>(n) * ratio);
                // Throws unless `need` rows fit; `option` sets `need` (empty: the method does).
                auto check = [&](std::uint64_t need, const std::string& option) {
                    if (rows >= need) return;
                    std::string msg = "bloom-compare: ";
                    if (!option.empty()) msg += option + " " + std::to_string(need) + " is more than the ";
                    else msg += method + " needs " + std::to_string(need) + " rows, more than the ";
                    msg += std::to_string(rows) + " rows that " + given +
                           " gives the " + (is_users ? "users" : "items") + " table (" +
                           std::to_string(n) + " ids)" + (option.empty() ? "" : " for " + method) +
                           "; ";
                    msg += option.empty() ? "raise --ratios" : "lower " + option + " or raise --ratios";
                    throw examples::option_error(msg);
                };
                if (method == "robe") continue;  // its array holds at least dim scalars
                if (method == "tt") {
                    // the budget, ratio x ids x dim scalars, must hold the cores at rank 1
                    const std::uint64_t budget = tt_budget(n, ratio, s.dim);
                    const std::uint64_t need = bm::tt_parameters(
                        bm::tt_id_factors(n), bm::tt_dim_factors(s.dim), 1);
                    if (budget < need)
                        throw examples::option_error(
                            "bloom-compare: tt needs " + std::to_string(need) +
                            " scalars for its cores at rank 1, more than the " +
                            std::to_string(budget) + " that " + given + " gives the " +
                            (is_users ? "users" : "items") + " table (" + std::to_string(n) +
                            " ids x dim " + std::to_string(s.dim) + "); raise --ratios");
                    continue;
                }
                if (method == "dhe") {
                    // the budget, ratio x ids x dim scalars, must hold a network of width 1
                    const auto budget = dhe_budget(n, ratio, s.dim);
                    const std::uint64_t least = bm::detail::dhe_parameters(s.dhe_k, s.dhe_layers, 1, s.dim);
                    if (budget < least)
                        throw examples::option_error(
                            "bloom-compare: dhe at " + given + " has a budget of " +
                            std::to_string(budget) + " scalars for the " + (is_users ? "users" : "items") +
                            " (" + std::to_string(n) + " ids x dim " + std::to_string(s.dim) +
                            "), less than the " + std::to_string(least) + " of a width-1 network (--dhe-k " +
                            std::to_string(s.dhe_k) + ", --dhe-layers " + std::to_string(s.dhe_layers) +
                            "); lower --dhe-k or --dhe-layers, or raise --ratios");
                    continue;
                }
                if (method == "qr" || method == "cce") check(2, "");  // cce: a row in each of 2 tables
                else if (method == "hashing") check(1, "");
                else if (method == "bloom-history" && is_users) check(s.history_k, "--history-k");
                else
                    for (std::uint32_t k : s.ks) {
                        check(k, "--k");
                        // freq-bloom keeps floor(head share x rows) rows for the frequent ids
                        // apart: k shared rows must remain.
                        const auto head = std::min<std::uint64_t>(
                            static_cast<std::uint64_t>(std::floor(s.head_share * static_cast<double>(rows))), n);
                        if (method == "freq-bloom" && rows < head + k)
                            throw examples::option_error(
                                "bloom-compare: freq-bloom keeps " + std::to_string(head) +
                                " of the " + std::to_string(rows) + " rows that " + given +
                                " gives the " + (is_users ? "users" : "items") + " table for its head (--head-share " +
                                number(s.head_share) + "), which leaves fewer than --k " + std::to_string(k) +
                                " shared rows; lower --head-share or --k, or raise --ratios");
                    }
            }
        }
    }
}

// One side's table: the method's kind when the side is compressed, else a full table. Kinds
// do not depend on the hash policy (it only fills their position table), so a method costs
// two model instantiations, not one per policy.
struct side {
    std::uint32_t n;
    bool compressed;
    const std::vector<std::uint64_t>* counts;
    std::uint64_t salt;
    double ratio;  // the compression budget of this side's table: --ratios, or --rows / n
};

// Users built by build_users and items by build_items where compressed, full tables elsewhere.
template <class BuildUsers, class BuildItems>
row run_sides(const side& us, const side& is, BuildUsers&& build_users, BuildItems&& build_items,
              const dataset& d, const settings& s, const row& r) {
    using full = bm::full_embedding<scalar, opt>;
    auto full_of = [&](const side& x) { return full(x.n, emb_options(s, x.salt), opt_config(s)); };
    if (us.compressed && is.compressed) return run_model(build_users(us), build_items(is), d, s, r);
    if (us.compressed) return run_model(build_users(us), full_of(is), d, s, r);
    if (is.compressed) return run_model(full_of(us), build_items(is), d, s, r);
    return run_model(full_of(us), full_of(is), d, s, r);
}

// The same kind on both sides.
template <class Build>
row run_sides(const side& us, const side& is, Build&& build, const dataset& d, const settings& s,
              const row& r) {
    return run_sides(us, is, build, build, d, s, r);
}

// hash_run: which of the --hash-seeds runs this is (0 .. hash_seeds-1); run 0 keeps the hash
// seeds bloom-compare has always used, training seed + salt.
row run_one(const std::string& method, const std::string& hash, const budget& bud, std::uint32_t k,
            std::uint32_t hash_run, const dataset& d, const settings& s,
            const std::vector<std::uint64_t>& user_counts,
            const std::vector<std::uint64_t>& item_counts) {
    row r;
    const double ratio = bud.ratio;  // --ratios' value (with --rows, each side has its own)
    r.method = method;
    r.hash = uses_hash(method) ? hash : "-";
    r.ratio = method == "full" ? 1.0 : bud.rows ? bud.ratio_for(d.n_items) : ratio;
    r.rows_budget = method == "full" ? 0 : bud.rows;
    r.k = uses_k(method) ? k : method == "dhe" ? s.dhe_k : 1;
    r.combine = uses_k(method) && method != "hash-emb" ? s.combine : "-";
    // bloom-history: a user is the mean of its filter's rows; --combine is the items' side
    if (method == "bloom-history") {
        r.combine = "mean|" + s.combine;
        r.history_k = s.history_k;
    }
    r.dim = method == "small-dim" ? small_dim(s, ratio) : s.dim;
    const side us{d.n_users, compress_users(s) && method != "full", &user_counts, 1, bud.ratio_for(d.n_users)};
    const side is{d.n_items, compress_items(s) && method != "full", &item_counts, 2, bud.ratio_for(d.n_items)};
    const auto oc = opt_config(s);
    auto bloom_opts = [&](const side& x, std::uint32_t kk) {
        bm::bloom_options b;
        b.rows = rows_for(x.n, x.ratio, kk);
        b.k = kk;
        b.comb = s.combine == "mean" ? bm::combine::mean : bm::combine::sum;
        b.hash_seed = training_seed(s) + x.salt + hash_run * 0x9E3779B97F4A7C15ULL;
        b.key_stride = s.id_stride;
        return b;
    };
    if (method == "full") {
        return run_sides(
            us, is, [&](const side& x) { return bm::full_embedding<scalar, opt>(x.n, emb_options(s, x.salt), oc); },
            d, s, r);
    }
    if (method == "small-dim") {
        // The honest baseline: full tables with ratio x dim columns (the same parameter budget).
        if (!(us.compressed && is.compressed))
            throw bloom::invalid_argument("bloom-compare: small-dim compresses both sides "
                                          "(--compress users,items)");
        auto so = [&](const side& x) {
            auto o = emb_options(s, x.salt);
            o.dim = small_dim(s, ratio);
            return bm::full_embedding<scalar, opt>(x.n, o, oc);
        };
        return run_model(so(us), so(is), d, s, r);
    }
    if (method == "mixed-dim") {
        // the parameter budget: ratio x the full table's n x dim scalars
        return run_sides(
            us, is,
            [&](const side& x) {
                bm::mixed_dim_options mo;
                mo.budget = static_cast<std::uint64_t>(x.ratio * static_cast<double>(x.n) * s.dim);
                return bm::mixed_dim_embedding<scalar, opt>(x.n, *x.counts, mo, emb_options(s, x.salt), oc);
            },
            d, s, r);
    }
    if (method == "cce") {
        // CCE as the reference's `cce` method: 2 summed tables, 4 column chunks (fewer when dim
        // is below 4), the parameter budget ratio x the full table's n x dim scalars, reclustered
        // after each of the first 3/4 of the epochs (the reference's examples/movielens.py).
        return run_sides(
            us, is,
            [&](const side& x) {
                bm::cce_options co;
                co.tables = 2;
                co.chunks = std::min<std::uint32_t>(4, s.dim);
                co.rows = bm::cce_rows_for_budget(
                    static_cast<std::uint64_t>(x.ratio * static_cast<double>(x.n) * s.dim), s.dim, co.tables);
                co.cluster_epochs = static_cast<std::uint32_t>(0.75 * s.epochs);
                co.seed = training_seed(s) + x.salt;
                co.kmeans_iterations = s.kmeans_iterations;
                co.kmeans_tolerance = s.kmeans_tolerance;
                return bm::cce_embedding<scalar, opt>(x.n, co, emb_options(s, x.salt), oc);
            },
            d, s, r);
    }
    if (method == "tt") {
        // TT-Rec: the largest rank whose three cores fit ratio x the full table's scalars
        return run_sides(
            us, is,
            [&](const side& x) {
                bm::tt_options to;
                to.budget = tt_budget(x.n, x.ratio, s.dim);
                opt::config tc = oc;
                tc.lr = s.tt_lr;
                return bm::tt_embedding<scalar, opt>(x.n, to, emb_options(s, x.salt), tc);
            },
            d, s, r);
    }
    if (method == "qr") {
        return run_sides(
            us, is,
            [&](const side& x) {
                return bm::qr_embedding<scalar, opt>(x.n, rows_for(x.n, x.ratio, 2), emb_options(s, x.salt), oc);
            },
            d, s, r);
    }
    row out;
    with_hash(hash, [&](auto policy) {
        using H = decltype(policy);
        auto freq_bloom_of = [&](const side& x) {
            bm::freq_options fo;
            fo.head_share = s.head_share;
            return bm::freq_bloom_embedding<scalar, opt>(x.n, *x.counts, bloom_opts(x, k), fo,
                                                         emb_options(s, x.salt), oc, H{});
        };
        if (method == "bloom" || method == "hashing") {
            const std::uint32_t kk = method == "hashing" ? 1 : k;
            out = run_sides(
                us, is,
                [&](const side& x) {
                    return bm::bloom_embedding<scalar, opt>(x.n, bloom_opts(x, kk), emb_options(s, x.salt), oc, H{});
                },
                d, s, r);
        } else if (method == "hash-emb") {
            out = run_sides(
                us, is,
                [&](const side& x) {
                    return bm::hash_embedding<scalar, opt>(x.n, bloom_opts(x, k), emb_options(s, x.salt), oc, H{});
                },
                d, s, r);
        } else if (method == "freq-bloom") {
            out = run_sides(us, is, freq_bloom_of, d, s, r);
        } else if (method == "robe") {
            // ROBE: one array of ratio x ids x dim scalars (at least dim), blocks of dim.
            out = run_sides(
                us, is,
                [&](const side& x) {
                    bm::robe_options ro;
                    ro.size = std::max<std::uint64_t>(
                        s.dim, static_cast<std::uint64_t>(static_cast<double>(x.n) * x.ratio *
                                                          static_cast<double>(s.dim)));
                    ro.hash_seed = bloom_opts(x, 1).hash_seed;
                    return bm::robe_embedding<scalar, opt>(x.n, ro, emb_options(s, x.salt), oc, H{});
                },
                d, s, r);
        } else if (method == "dhe") {
            // DHE: no table; --dhe-k hashes of the id through an MLP of --dhe-layers hidden
            // layers, as wide as ratio x ids x dim parameters allow (up to --dhe-max-width).
            out = run_sides(
                us, is,
                [&](const side& x) {
                    bm::dhe_options dh;
                    dh.hashes = s.dhe_k;
                    dh.layers = s.dhe_layers;
                    dh.max_width = s.dhe_max_width;
                    dh.budget = dhe_budget(x.n, x.ratio, s.dim);
                    dh.hash_seed = bloom_opts(x, 1).hash_seed;
                    opt::config dc = oc;
                    dc.lr = s.dhe_lr;
                    return bm::dhe_embedding<scalar, opt>(x.n, dh, emb_options(s, x.salt), dc, H{});
                },
                d, s, r);
        } else if (method == "bloom-history") {
            // The paper's input side: a user is the Bloom filter of its training items, hashed by
            // --history-k functions into the user side's row budget. Items: frequency-aware
            // Bloom (k = --k), so that popular items do not share rows.
            if (!us.compressed)
                throw bloom::invalid_argument("bloom-compare: bloom-history encodes users by their "
                                              "training items; it needs --compress users or "
                                              "users,items");
            auto history_of = [&](const side& x) {
                bm::bloom_options ub = bloom_opts(x, s.history_k);
                ub.comb = bm::combine::mean;
                return bm::history_bloom_embedding<scalar, opt>(x.n, d.train_lists.offsets,
                                                                d.train_lists.items, d.n_items, ub,
                                                                emb_options(s, x.salt), oc, H{});
            };
            out = run_sides(us, is, history_of, freq_bloom_of, d, s, r);
        } else {
            throw bloom::invalid_argument("bloom-compare: unknown method '" + method +
                                          "' (full, bloom, hashing, hash-emb, qr, freq-bloom, "
                                          "bloom-history, small-dim, robe, mixed-dim, cce, tt, dhe)");
        }
    });
    return out;
}

// The floor every other row must beat: items ranked by their training interactions, the same
// for every user (the library's evaluate_popularity), evaluated like the trained rows: the
// same test interactions, the user's training items excluded, the same --eval-k and threads.
row popularity_row(const dataset& d, const settings& s, const std::vector<std::uint64_t>& item_counts) {
    row r;
    r.method = "popularity";
    r.hash = "-";
    r.combine = "-";
    r.trained = false;
    r.ratio = 0;
    r.k = 0;
    bloom::eval::ranking_options eo;
    eo.k = s.k_eval;
    eo.threads = s.eval_threads;
    r.m = bm::evaluate_popularity(item_counts, d.train_lists, d.test_lists, eo);
    return r;
}

using examples::fmt;

std::string pct(double v, double ref) {
    if (!(ref > 0)) return "-";
    return fmt(100.0 * v / ref, 0) + "%";
}

void print_table(const std::vector<row>& rows, const row* full, const settings& s,
                 std::ostream& os) {
    // The cut-off columns carry the real --eval-k.
    const std::string at = "@" + std::to_string(s.k_eval);
    std::vector<std::string> head = {"method", "hash",    s.rows_budget.empty() ? "ratio" : "rows", "k", "dim",
                                     "params", "MB",      "s/epoch", "MRR",      "AUC",      "P" + at,
                                     "R" + at, "NDCG" + at, "MRR%",  "P" + at + "%", "R" + at + "%",
                                     "NDCG%"};
    const bool seeds = s.hash_seeds > 1;
    if (seeds) head.insert(head.end(), {"runs", "MRR sd", "MRR min..max", "P" + at + " sd"});
    std::vector<std::vector<std::string>> cells;
    for (const row& r : rows) {
        const std::string kcell = r.history_k ? std::to_string(r.history_k) + "|" + std::to_string(r.k)
                                              : std::to_string(r.k);
        const bool t = r.trained;
        const std::string budget_cell = !t ? "-"
                                        : s.rows_budget.empty() ? fmt(r.ratio, 2)
                                        : r.rows_budget ? std::to_string(r.rows_budget)
                                                        : "all";  // the full table
        cells.push_back({r.method, r.hash, budget_cell, t ? kcell : "-",
                         t ? std::to_string(r.dim) : "-", t ? std::to_string(r.params) : "-",
                         t ? fmt(r.mb, 2) : "-", t ? fmt(r.sec_per_epoch, 4) : "-",
                         fmt(r.m.mrr, 4), fmt(r.m.auc, 4), fmt(r.m.precision, 4), fmt(r.m.recall, 4),
                         fmt(r.m.ndcg, 4),
                         full ? pct(r.m.mrr, full->m.mrr) : "-",
                         full ? pct(r.m.precision, full->m.precision) : "-",
                         full ? pct(r.m.recall, full->m.recall) : "-",
                         full ? pct(r.m.ndcg, full->m.ndcg) : "-"});
        if (seeds) {
            const spread ms = mrr_spread(r), ps = p10_spread(r);
            cells.back().insert(cells.back().end(),
                                {std::to_string(r.runs.size()), fmt(ms.std, 4),
                                 fmt(ms.min, 4) + ".." + fmt(ms.max, 4), fmt(ps.std, 4)});
        }
    }
    examples::print_columns(head, cells, 2, false, os);
}

// A number for the CSV: the shortest text that reads back as the same double (every digit a
// double holds, none it does not: 0.2, not 0.20000000000000001).
std::string num(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}
template <class Int, class = std::enable_if_t<std::is_integral_v<Int>>>
std::string num(Int v) {
    return std::to_string(v);
}

// The settings as the JSON records them: every option, keyed by its long name without the
// dashes ("--hash-seeds": "hash_seeds"), with the value used (defaults included), and the
// optimizer, which no option sets.
nlohmann::json settings_json(const settings& s) {
    nlohmann::json j = examples::data_settings(s.data);
    const nlohmann::json rest = {{"methods", s.methods},
                                 {"hashes", s.hashes},
                                 {"ratios", s.ratios},
                                 {"rows", s.rows_budget},
                                 {"k", s.ks},
                                 {"history_k", s.history_k},
                                 {"dhe_k", s.dhe_k},
                                 {"dhe_layers", s.dhe_layers},
                                 {"dhe_max_width", s.dhe_max_width},
                                 {"kmeans_iterations", s.kmeans_iterations},
                                 {"kmeans_tolerance", s.kmeans_tolerance},
                                 {"dhe_lr", s.dhe_lr},
                                 {"tt_lr", s.tt_lr},
                                 {"compress", s.compress},
                                 {"combine", s.combine},
                                 {"head_share", s.head_share},
                                 {"dim", s.dim},
                                 {"epochs", s.epochs},
                                 {"batch", s.batch},
                                 {"lr", s.lr},
                                 {"l2", s.l2},
                                 {"loss", s.loss},
                                 {"interaction", s.interaction},
                                 {"negatives", s.negatives},
                                 {"split", s.split},
                                 {"test_share", s.test_share},
                                 {"eval_k", s.k_eval},
                                 {"threads", s.threads},
                                 {"eval_threads", s.eval_threads},
                                 {"seed", s.seed},
                                 {"train_seed", training_seed(s)},
                                 {"hash_seeds", s.hash_seeds},
                                 {"id_stride", s.id_stride},
                                 {"out", s.out},
                                 {"quiet", s.quiet},
                                 {"skip_eval", s.skip_eval},
                                 {"optimizer", "lazy adam"}};
    j.update(rest);
    return j;
}

// PREFIX.csv, PREFIX-runs.csv and PREFIX.json, written as the run goes: each row is appended to
// the CSVs (and flushed) as soon as it is measured, and the JSON rewritten with every row so far
// (to PREFIX.json.tmp, then renamed over PREFIX.json, so that it is never half written), with
// "complete": false until finish(). An interrupted run keeps every row it measured.
class results_writer {
public:
    results_writer(std::string prefix, const dataset& d, const settings& s,
                   std::vector<std::string> argv)
        : prefix_(std::move(prefix)),
          csv_(open(prefix_ + ".csv")),
          runs_csv_(open(prefix_ + "-runs.csv")) {
        // The cut-off metrics' keys carry the real --eval-k: p10, r10, ndcg10, hit10 at the
        // default 10, p5, r5, ndcg5, hit5 with --eval-k 5.
        const std::string kk = std::to_string(s.k_eval);
        p_ = "p" + kk;
        r_ = "r" + kk;
        ndcg_ = "ndcg" + kk;
        hit_ = "hit" + kk;
        const std::string columns = "method,hash,ratio,k,dim,combine,params,mb,sec_per_epoch,mrr,auc," +
                                    p_ + "," + r_ + "," + ndcg_ + ",map," + hit_ + ",mrr_share," +
                                    p_ + "_share," + r_ + "_share," + ndcg_ + "_share,history_k,rows";
        // PREFIX.csv: one row per configuration (means over its runs) and the runs' spread;
        // PREFIX-runs.csv: one row per run, with its hash seed (the run's index s).
        // interaction: dot or gmf (--interaction), empty for the popularity row.
        csv_ << columns << ",runs,mrr_std,mrr_min,mrr_max," << p_ << "_std," << p_ << "_min,"
             << p_ << "_max,id_stride,interaction\n";
        runs_csv_ << columns << ",hash_seed,id_stride,interaction\n";
        flush();
        id_stride_ = s.id_stride;
        interaction_ = s.interaction;
        j_["program"] = "bloom-compare";
        j_["argv"] = std::move(argv);
        j_["data"] = d.name;
        j_["read_as"] = d.read_as;
        j_["users"] = d.n_users;
        j_["items"] = d.n_items;
        j_["train"] = d.train_users.size();
        j_["test"] = d.test_users.size();
        j_["settings"] = settings_json(s);
        j_["complete"] = false;
        j_["results"] = nlohmann::json::array();
        write_json();
    }

    // Appends one configuration's row (and its runs), its shares of `full` (none without one).
    void add(const row& r, const row* full) {
        const spread msp = mrr_spread(r), psp = p10_spread(r);
        metrics(csv_, r, r.m, r.sec_per_epoch, full);
        csv_ << ',' << r.runs.size() << ',' << num(msp.std) << ',' << num(msp.min) << ','
             << num(msp.max) << ',' << num(psp.std) << ',' << num(psp.min) << ','
             << num(psp.max) << ',' << id_stride_ << ',' << (r.trained ? interaction_ : "") << '\n';
        nlohmann::json runs = nlohmann::json::array();
        for (const row::run& x : r.runs) {
            metrics(runs_csv_, r, x.m, x.sec_per_epoch, full);
            runs_csv_ << ',' << x.hash_seed << ',' << id_stride_ << ','
                      << (r.trained ? interaction_ : "") << '\n';
            runs.push_back({{"hash_seed", x.hash_seed},
                            {"sec_per_epoch", trained(r, x.sec_per_epoch)},
                            {"fit_seconds", trained(r, x.fit_seconds)},
                            {"mrr", x.m.mrr},
                            {"auc", x.m.auc},
                            {p_, x.m.precision},
                            {r_, x.m.recall},
                            {ndcg_, x.m.ndcg},
                            {"map", x.m.map},
                            {hit_, x.m.hit_rate}});
        }
        flush();
        auto share = [&](double v, double ref) {
            return full && ref > 0 ? nlohmann::json(v / ref) : nlohmann::json(nullptr);
        };
        j_["results"].push_back({{"method", r.method},
                                 {"interaction", trained(r, interaction_)},
                                 {"hash", r.hash},
                                 {"ratio", trained(r, r.ratio)},
                                 {"rows", r.trained && r.rows_budget ? nlohmann::json(r.rows_budget) : nlohmann::json()},
                                 {"k", trained(r, r.k)},
                                 {"history_k", r.history_k},
                                 {"dim", trained(r, r.dim)},
                                 {"combine", r.combine},
                                 {"params", trained(r, r.params)},
                                 {"mb", trained(r, r.mb)},
                                 {"sec_per_epoch", trained(r, r.sec_per_epoch)},
                                 {"fit_seconds", trained(r, r.fit_seconds)},
                                 {"mrr", r.m.mrr},
                                 {"auc", r.m.auc},
                                 {p_, r.m.precision},
                                 {r_, r.m.recall},
                                 {ndcg_, r.m.ndcg},
                                 {"map", r.m.map},
                                 {hit_, r.m.hit_rate},
                                 {"mrr_share", share(r.m.mrr, full ? full->m.mrr : 0)},
                                 {p_ + "_share", share(r.m.precision, full ? full->m.precision : 0)},
                                 {r_ + "_share", share(r.m.recall, full ? full->m.recall : 0)},
                                 {ndcg_ + "_share", share(r.m.ndcg, full ? full->m.ndcg : 0)},
                                 {"mrr_std", msp.std},
                                 {"mrr_min", msp.min},
                                 {"mrr_max", msp.max},
                                 {p_ + "_std", psp.std},
                                 {p_ + "_min", psp.min},
                                 {p_ + "_max", psp.max},
                                 {"runs", std::move(runs)}});
        write_json();
    }

    // Marks the JSON complete: every configuration was measured.
    void finish() {
        j_["complete"] = true;
        write_json();
    }

private:
    static std::ofstream open(const std::string& path) {
        std::ofstream f(path);
        if (!f) throw bloom::error("bloom-compare: cannot write " + path);
        return f;
    }

    // A value that only a trained row has: the number, or null for the popularity row.
    template <class T>
    static nlohmann::json trained(const row& r, T v) {
        return r.trained ? nlohmann::json(v) : nlohmann::json(nullptr);
    }

    // The columns both CSVs share; a share is empty without a full row, and what only a trained
    // row has is empty for the popularity row.
    void metrics(std::ostream& os, const row& r, const bloom::eval::ranking_result& m,
                 double sec_per_epoch, const row* full) const {
        auto share = [&](double v, double ref) {
            return full && ref > 0 ? num(v / ref) : std::string();
        };
        auto t = [&](const std::string& v) { return r.trained ? v : std::string(); };
        os << r.method << ',' << r.hash << ',' << t(num(r.ratio)) << ',' << t(num(r.k)) << ','
           << t(num(r.dim)) << ',' << r.combine << ',' << t(num(r.params)) << ',' << t(num(r.mb))
           << ',' << t(num(sec_per_epoch)) << ',' << num(m.mrr) << ',' << num(m.auc) << ','
           << num(m.precision) << ','
           << num(m.recall) << ',' << num(m.ndcg) << ',' << num(m.map) << ',' << num(m.hit_rate)
           << ',' << share(m.mrr, full ? full->m.mrr : 0) << ','
           << share(m.precision, full ? full->m.precision : 0) << ','
           << share(m.recall, full ? full->m.recall : 0) << ','
           << share(m.ndcg, full ? full->m.ndcg : 0) << ',' << r.history_k << ','
           << t(r.rows_budget ? num(static_cast<double>(r.rows_budget)) : std::string());
    }

    void flush() {
        csv_.flush();
        runs_csv_.flush();
        if (!csv_ || !runs_csv_)
            throw bloom::error("bloom-compare: cannot write " + prefix_ + ".csv or " + prefix_ +
                               "-runs.csv");
    }

    void write_json() {
        const std::string tmp = prefix_ + ".json.tmp", path = prefix_ + ".json";
        {
            std::ofstream js(tmp);
            js << j_.dump(2) << '\n';
            js.flush();
            if (!js) throw bloom::error("bloom-compare: cannot write " + tmp);
        }
        if (std::rename(tmp.c_str(), path.c_str()) != 0)
            throw bloom::error("bloom-compare: cannot rename " + tmp + " to " + path + " (" +
                               std::strerror(errno) + ")");
    }

    std::string prefix_;
    std::ofstream csv_, runs_csv_;
    std::string p_, r_, ndcg_, hit_;
    std::uint64_t id_stride_ = 1;
    std::string interaction_ = "dot";
    nlohmann::json j_;
};

}  // namespace

int main(int argc, char** argv) {
    settings s;
    CLI::App app{
        "bloom-compare: train Spotlight-style factorization models with full, Bloom-compressed "
        "and alternative embedding tables on the same data, and print parameters, seconds per "
        "epoch and ranking accuracy side by side."};
    examples::add_data_options(app, s.data);
    app.add_option("--methods", s.methods,
                   "embedding kinds: full, bloom, hashing, hash-emb, qr, freq-bloom, small-dim, "
                   "mixed-dim (frequency buckets of halving dims, --ratios as parameter budget), "
                   "bloom-history (users as the Bloom filter of their training items, the "
                   "paper's input side, items frequency-aware Bloom), robe (one shared array of "
                   "ratio x ids x dim scalars read in hashed blocks, Desai et al. 2022), cce "
                   "(clustered compositional embeddings, Tsang & Ahle 2023, --ratios as parameter "
                   "budget), tt (TT-Rec: the table as a rank-R tensor train of three cores, --ratios "
                   "as parameter budget, Yin et al. 2021), dhe (no table: an MLP on k hashes "
                   "of the id, ratio x ids x dim parameters, Kang et al. 2021); all: every kind")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--hashes", s.hashes, "hash policies for the hashed kinds (see --list-hashes), or all")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--ratios", s.ratios, "compression ratios: rows / ids")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--rows", s.rows_budget,
                   "instead of --ratios: each compressed table gets the parameter budget of N rows "
                   "of its full table (rows x dim scalars; the whole table when it has fewer ids), "
                   "as in rows-per-table studies (the CSV and JSON ratio is the items table's rows / ids)")
        ->delimiter(',');
    app.add_option("--k", s.ks, "hash functions per id (Bloom kinds)")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--history-k", s.history_k,
                   "bloom-history: hash functions per item in a user's filter (a filter of m bits "
                   "holding n items has the fewest false positives at k = (m/n) ln 2)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--dhe-k", s.dhe_k, "dhe: hash functions per id (the encoding's length)")
        ->capture_default_str();
    app.add_option("--dhe-layers", s.dhe_layers, "dhe: hidden layers of the network")
        ->capture_default_str();
    app.add_option("--dhe-max-width", s.dhe_max_width,
                   "dhe: the widest hidden layer the budget may pick (a lookup costs about as many "
                   "multiply-adds as the network has parameters)")
        ->capture_default_str();
    app.add_option("--tt-lr", s.tt_lr,
                   "tt: Adam learning rate of the cores (the biases keep --lr); a core slice is read "
                   "by many ids and its steps multiply through the product, so at --lr's 1e-2 the "
                   "loss rises (ML-100K: MRR 0.0087 against 0.0388 at 1e-3)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--dhe-lr", s.dhe_lr,
                   "dhe: Adam learning rate of the network (the biases keep --lr); the network's "
                   "weights all move at every step, so --lr's 1e-2 drives its outputs to saturation")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--compress", s.compress, "which tables to compress: users,items | users | items")
        // IsMember's own message would print the choices comma-joined ({users,items,users,...}).
        ->check(CLI::Validator(
            [](std::string& v) {
                return v == "users,items" || v == "users" || v == "items"
                           ? std::string()
                           : "'" + v + "' is not one of: users,items | users | items";
            },
            "users,items|users|items"))
        ->capture_default_str();
    app.add_option("--combine", s.combine, "how k rows combine: sum (Spotlight) or mean")
        ->check(CLI::IsMember({"sum", "mean"}))
        ->capture_default_str();
    app.add_option("--kmeans-iterations", s.kmeans_iterations,
                   "cce: Lloyd rounds at most per clustering (each costs ids x rows x dim "
                   "multiply-adds per side)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--kmeans-tolerance", s.kmeans_tolerance,
                   "cce: a clustering's Lloyd rounds stop once its centroids move, in total squared "
                   "distance, by at most this x the vectors' mean variance (scikit-learn's tol); 0: "
                   "only when no label changes")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--head-share", s.head_share, "freq-bloom: share of rows for frequent ids")
        ->check(CLI::Range(0.0, 0.99))
        ->capture_default_str();
    app.add_option("--dim", s.dim, "embedding dimension")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--epochs", s.epochs, "training epochs")->capture_default_str();
    app.add_option("--batch", s.batch, "minibatch size")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--lr", s.lr, "Adam learning rate")->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--l2", s.l2, "L2 penalty (Adam weight decay, touched rows)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--loss", s.loss,
                   "bpr, bpr-log, pointwise, hinge, adaptive-hinge, bce (log loss on each "
                   "positive and --negatives sampled negatives, NCF's)")
        ->check(CLI::IsMember({"bpr", "bpr-log", "pointwise", "hinge", "adaptive-hinge", "bce"}))
        ->capture_default_str();
    app.add_option("--interaction", s.interaction,
                   "how embeddings make a score: dot (p_u . q_i) or gmf (h . (p_u * q_i), h "
                   "learned: He et al.'s Generalized Matrix Factorization); biases either way")
        ->check(CLI::IsMember({"dot", "gmf"}))
        ->capture_default_str();
    app.add_option("--negatives", s.negatives,
                   "negatives sampled per positive by bce and adaptive-hinge (NCF: 4)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--split", s.split,
                   "random: bloom's seeded shuffle; numpy: NumPy's RandomState(seed).permutation, "
                   "the split Spotlight's random_train_test_split and torch_mf.py make")
        ->check(CLI::IsMember({"random", "numpy"}))
        ->capture_default_str();
    app.add_option("--test-share", s.test_share, "share of interactions in the random test split")
        ->check(CLI::Range(0.01, 0.99))
        ->capture_default_str();
    app.add_option("--eval-k", s.k_eval,
                   "cut-off of P@k, R@k, NDCG@k, hit rate@k (the columns and keys say the k: "
                   "P@5, p5 with --eval-k 5)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    auto* threads_opt = app.add_option(
        "--threads", s.threads,
        "training and evaluation threads (0: every core); not given: training on 1 thread (bit "
        "for bit reproducible; more run Hogwild workers, docs/scaling.md), evaluation on every core");
    app.add_option("--seed", s.seed, "seed of data, split, initialisation and sampling")
        ->capture_default_str();
    app.add_option("--train-seed", s.train_seed,
                   "seed of initialisation, hashing and sampling alone (default: --seed), to "
                   "measure training noise on one split");
    app.add_option("--hash-seeds", s.hash_seeds,
                   "hash study: train every hashed row (method, hash, ratio, k) N times, with hash "
                   "seeds s = 0..N-1 mixed into the tables' hash seeds (training seed fixed; s = 0 "
                   "is the single run's seed). The table shows the means and the runs' spread; "
                   "--out writes the means with mrr_std/min/max and p10_std/min/max (pK_* with "
                   "--eval-k K) to PREFIX.csv "
                   "and one row per run, with its hash_seed s, to PREFIX-runs.csv. Kinds without "
                   "a hash (full, qr, small-dim) run once")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--id-stride", s.id_stride,
                   "hashed kinds hash id i as the key i * S (structured keys, such as ids that "
                   "are multiples of 1000, on the same data; table sizes unchanged)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--out", s.out, "also write PREFIX.csv, PREFIX-runs.csv and PREFIX.json");
    app.add_flag("--quiet", s.quiet,
                 "no progress on stderr (else: one line rewritten on a terminal, a line per epoch "
                 "otherwise)");
    app.add_flag("--skip-eval", s.skip_eval, "train and time only (accuracy columns stay 0)");
    bool list_hashes = false;
    app.add_flag("--list-hashes", list_hashes, "print the hash policies built in and exit");
    // A wrong command line exits 2 (CLI11's own codes, such as 105 for a failed check, are not
    // what scripts expect); --help exits 0.
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& x) {
        return app.exit(x) == 0 ? 0 : 2;
    }
    if (threads_opt->count() > 0) s.eval_threads = s.threads;

    if (list_hashes) {
        bloom::for_each_policy([](auto tag) {
            using H = decltype(tag);
            std::cout << bloom::hash_name<H>() << '\n';
        });
        return 0;
    }

    // "--methods all": every kind (the default list leaves out robe, mixed-dim, cce, tt and dhe).
    if (std::find(s.methods.begin(), s.methods.end(), "all") != s.methods.end()) s.methods = known_methods();
    // "--hashes all": every policy this build has (the core ones and the optional packages found).
    if (std::find(s.hashes.begin(), s.hashes.end(), "all") != s.hashes.end()) {
        s.hashes = examples::built_hashes();
    }

    try {
        // Every option before any work; what needs the data's size once it is loaded, before
        // anything trains.
        validate_options(s);
        const dataset d = make_dataset(s);
        validate_sizes(s, d.n_users, d.n_items);
        std::vector<std::uint64_t> uc(d.n_users), ic(d.n_items);
        for (std::uint32_t u : d.train_users) ++uc[u];
        for (std::uint32_t i : d.train_items) ++ic[i];
        std::cout << "data: " << d.name << "\n      " << d.n_users << " users, " << d.n_items
                  << " items, " << d.train_users.size() << " train / " << d.test_users.size()
                  << " test interactions\n"
                  << "model: " << (s.interaction == "gmf" ? "GMF factorization" : "factorization")
                  << ", dim " << s.dim << ", " << s.loss << " loss"
                  << (s.loss == "bce" || s.loss == "adaptive-hinge"
                          ? " (" + std::to_string(s.negatives) + " negatives)"
                          : std::string())
                  << ", lazy Adam lr "
                  << s.lr << ", L2 " << s.l2 << ", batch " << s.batch << ", " << s.epochs
                  << " epochs, compress " << s.compress << ", "
                  << (s.threads == 1 ? std::string("one training thread")
                                     : s.threads == 0 ? std::string("training on every core (Hogwild)")
                                                      : std::to_string(s.threads) + " training threads (Hogwild)")
                  << "\n\n";

        std::optional<results_writer> out;
        if (!s.out.empty()) out.emplace(s.out, d, s, std::vector<std::string>(argv, argv + argc));
        std::vector<row> rows;
        std::optional<row> full;  // the reference of the shares, measured first
        auto measured = [&](row r) {
            if (r.method == "full" && !full) full = r;
            if (out) out->add(r, full ? &*full : nullptr);
            rows.push_back(std::move(r));
        };
        std::vector<std::string> methods = s.methods;
        // The full table is the reference for the shares; run it first. The popularity floor
        // comes next (first without a full row); with --skip-eval there is nothing to show of it.
        auto it = std::find(methods.begin(), methods.end(), "full");
        if (it != methods.end()) std::rotate(methods.begin(), it, it + 1);
        if (!s.skip_eval) methods.insert(methods.begin() + (it != methods.end() ? 1 : 0), "popularity");
        for (const std::string& method : methods) {
            if (method == "popularity") {
                measured(average_runs({popularity_row(d, s, ic)}, {0}));
                continue;
            }
            const std::vector<std::string> hashes =
                uses_hash(method) ? s.hashes : std::vector<std::string>{s.hashes.front()};
            const std::vector<budget> buds =
                method == "full" ? std::vector<budget>{budget{}} : budgets(s);
            const std::vector<std::uint32_t> ks =
                uses_k(method) ? s.ks : std::vector<std::uint32_t>{1};
            const std::uint32_t n_runs = uses_hash(method) ? s.hash_seeds : 1;
            for (const std::string& h : hashes)
                for (const budget& bud : buds)
                    for (std::uint32_t k : ks) {
                        std::vector<row> runs;
                        std::vector<std::uint32_t> seeds;
                        for (std::uint32_t hs = 0; hs < n_runs; ++hs) {
                            runs.push_back(run_one(method, h, bud, k, hs, d, s, uc, ic));
                            seeds.push_back(hs);
                        }
                        measured(average_runs(runs, seeds));
                    }
        }
        print_table(rows, full ? &*full : nullptr, s, std::cout);
        std::cout << "\nMRR: mean over test users of the mean 1/rank of their test items among "
                     "all items, train items excluded. Shares are of the full table's. popularity: "
                     "every user gets the items ranked by their training interactions (the floor).\n";
        if (s.hash_seeds > 1)
            std::cout << "Hashed rows: means over " << s.hash_seeds
                      << " hash seeds (training seed fixed); sd: sample standard deviation.\n";
        if (s.id_stride > 1)
            std::cout << "Hashed kinds hash id i as the key i * " << s.id_stride << ".\n";
        if (out) {
            out->finish();
            std::cout << "wrote " << s.out << ".csv, " << s.out << "-runs.csv and " << s.out
                      << ".json\n";
        }
    } catch (const examples::option_error& e) {
        std::cerr << e.what() << '\n';
        return 2;
    } catch (const bloom::error& e) {
        std::cerr << e.what() << '\n';
        return 1;
    } catch (const std::bad_alloc&) {
        std::cerr << "bloom-compare: out of memory (lower --dim, the data's ids or "
                     "--synthetic-users/--synthetic-items)\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "bloom-compare: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
