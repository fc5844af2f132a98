// bloom-keyed-memory: trains a factorization on interactions whose users and items are keys from
// a space of --space possible ids, and reports what the model holds, the time per epoch, the
// ranking quality on held-out pairs and the peak resident memory. Run it at several spaces with
// the same rows and interactions (under /usr/bin/time -v) to see that memory does not follow the
// id space (docs/scaling.md has the runs).
//
//   bloom-keyed-memory --space 1000000000 --interactions 4000000 --rows 200000
//   bloom-keyed-memory --space 1000000 --mode table     # dense ids 0..space-1, position table
//
// --mode fly (the default): keyed_bloom_embedding users and items, hashed biases, no per-id state.
// --mode table: bloom_embedding over all `space` ids (a position table of space x k x 4 bytes)
// with full bias tables (one entry per id), the keys used as dense ids: what the id space costs
// without on-the-fly hashing. Needs space <= 2^32.
// The last --test-share of the generated interactions is held out; evaluate_keys ranks each test
// item against --candidates sampled training items for --eval-users sampled users; popularity
// (training counts) is ranked the same way as a floor.
#include <bloom/data/sparse_keys.hpp>
#include <bloom/eval/keys.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/keyed.hpp>
#include <bloom/optim/adam.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <string>
#include <vector>

namespace {

namespace bm = bloom::models;
using adam = bloom::optim::adam<float>;

struct args {
    std::uint64_t space = 1000000000;
    std::uint64_t interactions = 4000000;
    std::uint64_t rows = 200000;
    std::uint32_t k = 4;
    std::uint32_t dim = 32;
    std::uint32_t epochs = 1;
    std::uint32_t threads = 1;
    double test_share = 0.1;
    std::size_t eval_users = 1000;
    std::size_t candidates = 1000;
    std::string mode = "fly";
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "bloom-keyed-memory: %s\nusage: bloom-keyed-memory [--space N] [--interactions N] "
                 "[--rows N] [--k N] [--dim N] [--epochs N] [--threads N] [--test-share X] "
                 "[--eval-users N] [--candidates N] [--mode fly|table]\n",
                 why);
    std::exit(2);
}

args parse(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        if (i + 1 >= argc) usage(("missing value after " + f).c_str());
        const char* v = argv[++i];
        char* end = nullptr;
        const auto num = [&]() {
            const unsigned long long x = std::strtoull(v, &end, 10);
            if (end == v || *end != '\0') usage((f + ": not a number: " + v).c_str());
            return static_cast<std::uint64_t>(x);
        };
        if (f == "--space") a.space = num();
        else if (f == "--interactions") a.interactions = num();
        else if (f == "--rows") a.rows = num();
        else if (f == "--k") a.k = static_cast<std::uint32_t>(num());
        else if (f == "--dim") a.dim = static_cast<std::uint32_t>(num());
        else if (f == "--epochs") a.epochs = static_cast<std::uint32_t>(num());
        else if (f == "--threads") a.threads = static_cast<std::uint32_t>(num());
        else if (f == "--eval-users") a.eval_users = num();
        else if (f == "--candidates") a.candidates = num();
        else if (f == "--test-share") a.test_share = std::strtod(v, &end);
        else if (f == "--mode") a.mode = v;
        else usage(("unknown option " + f).c_str());
    }
    if (a.mode != "fly" && a.mode != "table") usage("--mode must be fly or table");
    if (!(a.test_share > 0 && a.test_share < 1)) usage("--test-share must be in (0, 1)");
    return a;
}

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KB on Linux
}

template <class Model, class Ids>
void train_and_report(Model& model, const Ids& tr_u, const Ids& tr_i, const args& a,
                      const bloom::data::key_interactions& d, std::size_t n_train) {
    bm::fit_options f;
    f.epochs = a.epochs;
    f.threads = a.threads;
    f.objective = bm::loss::bpr;
    // CPU time beside the wall time: on a shared machine the wall time says more about the
    // other processes than about this one.
    const std::clock_t c0 = std::clock();
    const bm::fit_report rep = model.fit(tr_u, tr_i, f);
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    std::printf("train: %.2f s per epoch (wall), %.2f s CPU per epoch, loss %.4f after %u epochs\n",
                rep.seconds_per_epoch(), cpu / a.epochs, rep.epoch_loss.back(), a.epochs);
    std::printf("model: %zu learned scalars (%.1f MB of weights; Adam keeps 2 more of each)\n",
                model.parameters(),
                static_cast<double>(model.parameters() * sizeof(float)) / 1e6);

    const std::vector<std::uint64_t> train_u(d.users.begin(), d.users.begin() + static_cast<std::ptrdiff_t>(n_train));
    const std::vector<std::uint64_t> train_i(d.items.begin(), d.items.begin() + static_cast<std::ptrdiff_t>(n_train));
    const std::vector<std::uint64_t> test_u(d.users.begin() + static_cast<std::ptrdiff_t>(n_train), d.users.end());
    const std::vector<std::uint64_t> test_i(d.items.begin() + static_cast<std::ptrdiff_t>(n_train), d.items.end());
    bloom::eval::key_ranking_options eo;
    eo.max_users = a.eval_users;
    eo.candidates = a.candidates;
    using item_id = typename Model::item_id;
    using user_id = typename Model::user_id;
    std::vector<item_id> buf;
    const auto score = [&](std::uint64_t u, const std::uint64_t* items, std::size_t n, float* out) {
        buf.assign(items, items + n);
        model.score(static_cast<user_id>(u), buf.data(), n, out);
    };
    const bloom::eval::key_ranking_result r =
        bloom::eval::evaluate_keys(score, train_u, train_i, test_u, test_i, eo);
    // Popularity: training counts of the items.
    std::vector<std::uint64_t> sorted(train_i);
    std::sort(sorted.begin(), sorted.end());
    const auto pop = [&](std::uint64_t, const std::uint64_t* items, std::size_t n, float* out) {
        for (std::size_t t = 0; t < n; ++t) {
            const auto range = std::equal_range(sorted.begin(), sorted.end(), items[t]);
            out[t] = static_cast<float>(range.second - range.first);
        }
    };
    const bloom::eval::key_ranking_result p =
        bloom::eval::evaluate_keys(pop, train_u, train_i, test_u, test_i, eo);
    std::printf("eval: %zu users, %zu candidates: MRR %.4f, hit@10 %.4f (popularity MRR %.4f, "
                "hit@10 %.4f)\n",
                r.users, r.candidates, r.mrr, r.hit_rate, p.mrr, p.hit_rate);
}

}  // namespace

int main(int argc, char** argv) try {
    const args a = parse(argc, argv);
    bloom::data::sparse_key_config c;
    c.interactions = a.interactions;
    c.user_space = a.space;
    c.item_space = a.space;
    const bloom::data::key_interactions d = bloom::data::generate_sparse_keys(c);
    const auto n_train = static_cast<std::size_t>(static_cast<double>(d.size()) * (1.0 - a.test_share));
    {
        std::vector<std::uint64_t> u(d.users), i(d.items);
        std::sort(u.begin(), u.end());
        std::sort(i.begin(), i.end());
        std::printf("data: %zu interactions over %llu possible keys per side: %zu distinct users, "
                    "%zu distinct items; %zu for training\n",
                    d.size(), static_cast<unsigned long long>(a.space),
                    static_cast<std::size_t>(std::unique(u.begin(), u.end()) - u.begin()),
                    static_cast<std::size_t>(std::unique(i.begin(), i.end()) - i.begin()), n_train);
    }
    bm::embedding_options eu, ei;
    eu.dim = ei.dim = a.dim;
    eu.seed = 1;
    ei.seed = 2;
    bm::bloom_options b;
    b.rows = a.rows;
    b.k = a.k;
    adam::config oc;
    oc.lr = 0.01;
    if (a.mode == "fly") {
        using kt = bm::keyed_bloom_embedding<float, adam, bloom::xxh3>;
        bm::factorization<kt, kt, adam> model(kt(bm::key_spec(b, a.space), b.comb, eu, oc),
                                              kt(bm::key_spec(b, a.space), b.comb, ei, oc), oc);
        const std::vector<std::uint64_t> tr_u(d.users.begin(), d.users.begin() + static_cast<std::ptrdiff_t>(n_train));
        const std::vector<std::uint64_t> tr_i(d.items.begin(), d.items.begin() + static_cast<std::ptrdiff_t>(n_train));
        std::printf("mode: on the fly, %s and %s\n", model.user_embedding().describe().c_str(),
                    model.item_embedding().describe().c_str());
        train_and_report(model, tr_u, tr_i, a, d, n_train);
        std::printf("negatives: drawn from %zu distinct training item keys\n",
                    model.negative_keys().size());
    } else {
        if (a.space > 0xFFFFFFFFULL) usage("--mode table needs --space <= 2^32 - 1");
        using be = bm::bloom_embedding<float, adam>;
        const auto n = static_cast<std::uint32_t>(a.space);
        bm::factorization<be, be, adam> model(be(n, b, eu, oc), be(n, b, ei, oc), oc);
        std::vector<std::uint32_t> tr_u(n_train), tr_i(n_train);
        for (std::size_t t = 0; t < n_train; ++t) {
            tr_u[t] = static_cast<std::uint32_t>(d.users[t]);
            tr_i[t] = static_cast<std::uint32_t>(d.items[t]);
        }
        std::printf("mode: table, %s; position tables %.1f MB, bias tables %u entries per side\n",
                    model.item_embedding().describe().c_str(),
                    2.0 * static_cast<double>(a.space) * a.k * 4 / 1e6, n);
        train_and_report(model, tr_u, tr_i, a, d, n_train);
    }
    std::printf("peak resident memory (getrusage): %.1f MB\n", peak_rss_mb());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bloom-keyed-memory: %s\n", e.what());
    return 1;
}
