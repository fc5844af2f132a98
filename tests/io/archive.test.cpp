// Saving and loading models: every embedding kind and optimizer round-trips bit for bit;
// training 2 epochs, saving, loading and training 2 more is the 4-epoch model bit for bit; a
// file whose contents contradict themselves (wrong kind, a missing key, positions the policy
// does not give, an unknown policy, shapes that do not fit) is refused with what is wrong.
#include <catch2/catch.hpp>

#include "../model_files.hpp"

#include <bloom/data/interactions.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/models/factorization.hpp>
#include <bloom/models/network/bloom_mlp.hpp>
#include <bloom/models/cce.hpp>
#include <bloom/models/dhe.hpp>
#include <bloom/models/robe.hpp>
#include <bloom/models/tt.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/optim/adagrad.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

namespace io = bloom::io;
namespace m = bloom::models;
using adam = bloom::optim::adam<float>;

std::string temp_path(const std::string& name) {
    return "/tmp/bloom-archive-test-" + std::to_string(::getpid()) + "-" + name;
}

struct data {
    std::uint32_t n_users = 50, n_items = 70;
    std::vector<std::uint32_t> users, items;
    std::vector<std::size_t> offsets;   // per-user item histories (CSR)
    std::vector<std::uint32_t> history;
    std::vector<std::uint64_t> item_counts;
    data() {
        std::mt19937_64 rng(11);
        for (std::uint32_t u = 0; u < n_users; ++u)
            for (int t = 0; t < 9; ++t) {
                users.push_back(u);
                items.push_back(static_cast<std::uint32_t>((rng() % 35) * 2 + (u % 2)));
            }
        offsets.assign(n_users + 1, 0);
        for (std::uint32_t u : users) ++offsets[u + 1];
        for (std::uint32_t u = 0; u < n_users; ++u) offsets[u + 1] += offsets[u];
        history.resize(items.size());
        std::vector<std::size_t> at(offsets.begin(), offsets.end() - 1);
        for (std::size_t t = 0; t < users.size(); ++t) history[at[users[t]]++] = items[t];
        item_counts.assign(n_items, 0);
        for (std::uint32_t i : items) ++item_counts[i];
    }
};
const data& sample() {
    static const data d;
    return d;
}

using bloom_test::emb;
using bloom_test::opt;
using bloom_test::spec;
m::fit_options fit(std::uint32_t epochs, m::training_state* st = nullptr) {
    m::fit_options f;
    f.epochs = epochs;
    f.batch = 32;
    f.seed = 9;
    f.state = st;
    return f;
}

template <class Model>
bool same_predictions(const Model& a, const Model& b) {
    for (std::uint32_t u = 0; u < a.n_users(); ++u)
        for (std::uint32_t i = 0; i < a.n_items(); ++i)
            if (a.predict(u, i) != b.predict(u, i)) return false;
    return true;
}

using bloom_test::same_files;

// Writes a copy of `src` through `edit`, which may change the metadata text and any section.
template <class Edit>
void rewrite(const std::string& src, const std::string& dst, Edit edit) {
    io::model_reader r(src);
    io::model_writer w(dst);
    std::string meta(r.text("meta"));
    for (const io::section& s : r.sections()) {
        if (s.name == "meta") continue;
        std::vector<unsigned char> bytes(s.data, s.data + s.bytes);
        edit(s.name, bytes, meta);
        if (s.type == io::element::u32)
            w.add(s.name, reinterpret_cast<const std::uint32_t*>(bytes.data()), bytes.size() / 4);
        else if (s.type == io::element::f32)
            w.add(s.name, reinterpret_cast<const float*>(bytes.data()), bytes.size() / 4);
        else if (s.type == io::element::u64)
            w.add(s.name, reinterpret_cast<const std::uint64_t*>(bytes.data()), bytes.size() / 8);
        else if (s.type == io::element::i64)
            w.add(s.name, reinterpret_cast<const std::int64_t*>(bytes.data()), bytes.size() / 8);
        else if (s.type == io::element::f64)
            w.add(s.name, reinterpret_cast<const double*>(bytes.data()), bytes.size() / 8);
        else
            w.add_text(s.name, std::string(bytes.begin(), bytes.end()));
    }
    std::string dummy_name = "meta";
    std::vector<unsigned char> none;
    edit(dummy_name, none, meta);
    w.add_text("meta", meta);
    w.commit();
}

void replace(std::string& text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
}

template <class Model>
std::string load_error(const std::string& path) {
    try {
        io::load<Model>(path);
    } catch (const io::format_error& e) {
        return e.what();
    }
    return "";
}

// The round trip and resume checks for one model type, built by make().
template <class Model, class Make>
void check_kind(const std::string& name, Make make) {
    const data& d = sample();
    const std::string a = temp_path(name + "-a.bin"), b = temp_path(name + "-b.bin");
    const std::string c = temp_path(name + "-c.bin");

    SECTION("round trip is bit-exact, and saving the loaded model writes the same file") {
        Model model = make();
        model.fit(d.users, d.items, fit(2));
        io::save(a, model);
        Model back = io::load<Model>(a);
        CHECK(back.parameters() == model.parameters());
        CHECK(same_predictions(model, back));
        io::save(b, back);
        CHECK(same_files(a, b));
    }
    SECTION("2 epochs, save, load, 2 more epochs is 4 epochs, bit for bit") {
        Model whole = make();
        m::training_state sw;
        whole.fit(d.users, d.items, fit(4, &sw));
        CHECK(sw.epochs_done == 4);

        Model first = make();
        m::training_state s1;
        first.fit(d.users, d.items, fit(2, &s1));
        {
            io::file_saver out(a);
            out.object("model", first);
            out.object("train", s1);
            out.commit();
        }
        io::file_loader in(a);
        Model resumed = in.make<Model>("model");
        m::training_state s2;
        in.object("train", s2);
        CHECK(s2.epochs_done == 2);
        resumed.fit(d.users, d.items, fit(2, &s2));
        CHECK(s2.epochs_done == 4);
        CHECK(same_predictions(whole, resumed));
        // what the state buys: the same 2 + 2 epochs without it are another model
        Model naive = io::load<Model>(a);
        naive.fit(d.users, d.items, fit(2));
        CHECK_FALSE(same_predictions(whole, naive));
        io::file_saver o1(b), o2(c);
        o1.object("model", whole);
        o1.object("train", sw);
        o1.commit();
        o2.object("model", resumed);
        o2.object("train", s2);
        o2.commit();
        CHECK(same_files(b, c));  // weights, optimizer moments, step counts and the engine

        // resuming on other data or with other settings is refused
        std::vector<std::uint32_t> other = d.items;
        std::swap(other[0], other[1]);
        m::training_state s3 = s1;
        Model again = make();
        CHECK_THROWS_WITH(again.fit(d.users, other, fit(1, &s3)),
                          Catch::Contains("interactions differ from those of the first run"));
        m::fit_options f = fit(1, &s3);
        f.batch = 16;
        CHECK_THROWS_WITH(again.fit(d.users, d.items, f), Catch::Contains("batch 32"));
    }
    SECTION("without optimizer state: same weights, a fresh optimizer") {
        Model model = make();
        model.fit(d.users, d.items, fit(2));
        io::save_options o;
        o.optimizer_state = false;
        io::save(a, model, o);
        io::save(b, model);
        CHECK(io::model_reader(a).file_bytes() < io::model_reader(b).file_bytes());
        Model back = io::load<Model>(a);
        CHECK(same_predictions(model, back));
        CHECK_NOTHROW(back.fit(d.users, d.items, fit(1)));
    }
    std::remove(a.c_str());
    std::remove(b.c_str());
    std::remove(c.c_str());
}

const char* const policy_name = "xxh3";

// Each user's items cut in two halves (first half in, second half to predict).
void bm_split(const bloom::eval::user_items& sets, bloom::eval::user_items& in,
              bloom::eval::user_items& target) {
    in.offsets = {0};
    target.offsets = {0};
    for (std::size_t u = 0; u < sets.n_users(); ++u) {
        const std::size_t n = sets.count(u), h = n / 2;
        in.items.insert(in.items.end(), sets.begin(u), sets.begin(u) + h);
        target.items.insert(target.items.end(), sets.begin(u) + h, sets.end(u));
        in.offsets.push_back(in.items.size());
        target.offsets.push_back(target.items.size());
    }
}

using full_t = m::full_embedding<float, adam>;
using bloom_t = m::bloom_embedding<float, adam>;
using hash_t = m::hash_embedding<float, adam>;
using qr_t = m::qr_embedding<float, adam>;
using freq_t = m::freq_bloom_embedding<float, adam>;
using hist_t = m::history_bloom_embedding<float, adam>;
using robe_t = m::robe_embedding<float, adam>;
using cce_t = m::cce_embedding<float, adam>;
using tt_t = m::tt_embedding<float, adam>;
using dhe_t = m::dhe_embedding<float, adam>;

}  // namespace

TEST_CASE("model files: full tables") {
    using model = m::factorization<full_t, full_t, adam>;
    const data& d = sample();
    check_kind<model>("full", [&] {
        return model(full_t(d.n_users, emb(1), opt()), full_t(d.n_items, emb(2), opt()), opt());
    });
}

TEST_CASE("model files: bloom and the hashing trick") {
    using model = m::factorization<bloom_t, bloom_t, adam>;
    const data& d = sample();
    check_kind<model>("bloom", [&] {
        return model(bloom_t(d.n_users, spec(12, 3), emb(1), opt(), bloom::xxh3{}),
                     bloom_t(d.n_items, spec(16, 1), emb(2), opt(), bloom::murmur3_32{}), opt());
    });
}

TEST_CASE("model files: hash embeddings and quotient-remainder") {
    using model = m::factorization<hash_t, qr_t, adam>;
    const data& d = sample();
    check_kind<model>("hash-qr", [&] {
        return model(hash_t(d.n_users, spec(12, 2), emb(1), opt()), qr_t(d.n_items, 20, emb(2), opt()),
                     opt());
    });
}

TEST_CASE("model files: history bloom users and frequency-aware items") {
    using model = m::factorization<hist_t, freq_t, adam>;
    const data& d = sample();
    m::freq_options f;
    f.head_share = 0.4;
    check_kind<model>("hist-freq", [&] {
        return model(hist_t(d.n_users, d.offsets, d.history, d.n_items, spec(24, 1), emb(1), opt()),
                     freq_t(d.n_items, d.item_counts, spec(20, 3), f, emb(2), opt()), opt());
    });
}

TEST_CASE("model files: robe users and items") {
    using model = m::factorization<robe_t, robe_t, adam>;
    const data& d = sample();
    m::robe_options ru, ri;
    ru.size = 37;
    ru.block = 3;
    ri.size = 50;
    ri.hash_seed = 7;
    check_kind<model>("robe", [&] {
        return model(robe_t(d.n_users, ru, emb(1), opt(), bloom::xxh3{}),
                     robe_t(d.n_items, ri, emb(2), opt(), bloom::murmur3_32{}), opt());
    });
}

TEST_CASE("model files: cce users and items") {
    using model = m::factorization<cce_t, cce_t, adam>;
    const data& d = sample();
    m::cce_options cu, ci;
    cu.rows = 6;
    cu.cluster_epochs = 3;  // reclusters after epochs 0, 1, 2: across the save in the resume check
    cu.seed = 4;
    ci.rows = 9;
    ci.tables = 3;
    ci.chunks = 3;
    ci.cluster_epochs = 3;
    ci.sample_factor = 2;
    ci.reset_optimizer = false;
    ci.kmeans_tolerance = 0;  // (users keep the default: a file has the key only when it is not 0)
    check_kind<model>("cce", [&] {
        return model(cce_t(d.n_users, cu, emb(1), opt()), cce_t(d.n_items, ci, emb(2), opt()), opt());
    });
}

TEST_CASE("model files: a cce assignment beyond the rows is refused") {
    using model = m::factorization<cce_t, cce_t, adam>;
    const data& d = sample();
    m::cce_options c;
    c.rows = 5;
    c.cluster_epochs = 1;
    model mdl(cce_t(d.n_users, c, emb(1), opt()), cce_t(d.n_items, c, emb(2), opt()), opt());
    mdl.fit(d.users, d.items, fit(2));
    const std::string src = temp_path("cce-src.bin"), bad = temp_path("cce-bad.bin");
    io::save(src, mdl);
    REQUIRE(load_error<model>(src).empty());
    rewrite(src, bad, [](const std::string& name, std::vector<unsigned char>& bytes, std::string&) {
        if (name == "model.item.assignments") {
            const std::uint32_t five = 5;
            std::memcpy(bytes.data() + 4 * 3, &five, 4);
        }
    });
    CHECK_THAT(load_error<model>(bad), Catch::Contains("an assignment beyond the rows"));
    rewrite(src, bad, [](const std::string& name, std::vector<unsigned char>&, std::string& meta) {
        if (name == "meta") replace(meta, "model.user.chunks=4", "model.user.chunks=33");
    });
    CHECK_THAT(load_error<model>(bad), Catch::Contains("chunks outside 1..dim"));
    std::remove(src.c_str());
    std::remove(bad.c_str());
}

TEST_CASE("model files: tt users and items") {
    using model = m::factorization<tt_t, tt_t, adam>;
    const data& d = sample();
    m::tt_options tu, ti;
    tu.rank = 3;
    ti.budget = 300;  // the rank the budget buys
    ti.dims = {2, 1, 4};
    check_kind<model>("tt", [&] {
        return model(tt_t(d.n_users, tu, emb(1), opt()), tt_t(d.n_items, ti, emb(2), opt()), opt());
    });
}

TEST_CASE("model files: a tt file whose rank or factors contradict its cores is refused") {
    using model = m::factorization<tt_t, full_t, adam>;
    const data& d = sample();
    m::tt_options tu;
    tu.rank = 3;
    model mdl(tt_t(d.n_users, tu, emb(1), opt()), full_t(d.n_items, emb(2), opt()), opt());
    mdl.fit(d.users, d.items, fit(1));
    const std::string src = temp_path("tt-refuse.bin"), bad = temp_path("tt-refuse-bad.bin");
    io::save(src, mdl);
    REQUIRE(load_error<model>(src).empty());
    rewrite(src, bad, [&](const std::string& name, std::vector<unsigned char>&, std::string& meta) {
        if (name == "meta") replace(meta, "model.user.rank=3", "model.user.rank=4");
    });
    CHECK_THAT(load_error<model>(bad), Catch::Contains("a core is not"));
    // the first factor of each, one more: dims no longer multiply to dim, ids not the rule's
    for (const std::string section : {"model.user.dim_factors", "model.user.id_factors"}) {
        rewrite(src, bad, [&](const std::string& name, std::vector<unsigned char>& bytes, std::string&) {
            if (name == section) bytes[0] = static_cast<unsigned char>(bytes[0] + 1);
        });
        CHECK_THAT(load_error<model>(bad), Catch::Contains(section == "model.user.dim_factors"
                                                               ? "the dim factors do not multiply"
                                                               : "the id factors are not"));
    }
    std::remove(src.c_str());
    std::remove(bad.c_str());
}

TEST_CASE("model files: dhe users and items") {
    using model = m::factorization<dhe_t, dhe_t, adam>;
    const data& d = sample();
    m::dhe_options du, di;
    du.hashes = 12;
    du.layers = 2;
    du.width = 6;
    di.hashes = 9;
    di.layers = 1;
    di.budget = 200;
    di.transform = m::dhe_transform::gaussian;
    di.activation = m::dhe_activation::relu;
    di.hash_seed = 7;
    auto make = [&] {
        return model(dhe_t(d.n_users, du, emb(1), opt(), bloom::xxh3{}),
                     dhe_t(d.n_items, di, emb(2), opt(), bloom::murmur3_32{}), opt());
    };
    check_kind<model>("dhe", make);

    SECTION("a file whose policy hashes otherwise, or whose layer has another shape, is refused") {
        const std::string src = temp_path("dhe-src.bin"), bad = temp_path("dhe-bad.bin");
        model mdl = make();
        mdl.fit(d.users, d.items, fit(1));
        io::save(src, mdl);
        model back = io::load<model>(src);
        CHECK(same_predictions(mdl, back));
        rewrite(src, bad, [&](const std::string& name, std::vector<unsigned char>&, std::string& meta) {
            if (name == "meta") replace(meta, "model.user.hash=xxh3", "model.user.hash=murmur3_32");
        });
        CHECK_THAT(load_error<model>(bad), Catch::Contains("stored positions are not what 'murmur3_32' gives"));
        rewrite(src, bad, [&](const std::string& name, std::vector<unsigned char>&, std::string& meta) {
            if (name == "meta") replace(meta, "model.user.hashes=12", "model.user.hashes=11");
        });
        CHECK_THAT(load_error<model>(bad), Catch::Contains("layer 0 is not (11 + 1) x 6"));
        std::remove(src.c_str());
        std::remove(bad.c_str());
    }
}

TEST_CASE("model files: sgd with momentum and adagrad keep their state") {
    const data& d = sample();
    {
        using sgd = bloom::optim::sgd<float>;
        using kind = m::full_embedding<float, sgd>;
        using model = m::factorization<kind, kind, sgd>;
        sgd::config c;
        c.lr = 0.05;
        c.momentum = 0.9;
        check_kind<model>("sgd", [&] {
            return model(kind(d.n_users, emb(1), c), kind(d.n_items, emb(2), c), c);
        });
    }
    {
        using ada = bloom::optim::adagrad<float>;
        using kind = m::bloom_embedding<float, ada>;
        using model = m::factorization<kind, kind, ada>;
        ada::config c;
        c.lr = 0.05;
        check_kind<model>("adagrad", [&] {
            return model(kind(d.n_users, spec(10, 2), emb(1), c), kind(d.n_items, spec(14, 2), emb(2), c), c);
        });
    }
}

TEST_CASE("model files: what a loader refuses, and why") {
    using model = m::factorization<bloom_t, freq_t, adam>;
    const data& d = sample();
    m::freq_options f;
    model mdl(bloom_t(d.n_users, spec(12, 3), emb(1), opt()),
              freq_t(d.n_items, d.item_counts, spec(20, 2), f, emb(2), opt()), opt());
    mdl.fit(d.users, d.items, fit(1));
    const std::string src = temp_path("refuse.bin"), bad = temp_path("refuse-bad.bin");
    io::save(src, mdl);
    REQUIRE(load_error<model>(src).empty());

    auto meta_edit = [&](const std::string& from, const std::string& to) {
        rewrite(src, bad, [&](const std::string& name, std::vector<unsigned char>&, std::string& meta) {
            if (name == "meta") replace(meta, from, to);
        });
        return load_error<model>(bad);
    };
    // another kind than the type it is loaded into
    using full_model = m::factorization<full_t, full_t, adam>;
    CHECK_THAT(load_error<full_model>(src),
               Catch::Contains("'model.user.kind' is 'bloom'") && Catch::Contains("expects 'full'") &&
                   Catch::Contains(src));
    // as double instead of float
    using dadam = bloom::optim::adam<double>;
    using dmodel = m::factorization<m::bloom_embedding<double, dadam>,
                                    m::freq_bloom_embedding<double, dadam>, dadam>;
    CHECK_THAT(load_error<dmodel>(src), Catch::Contains("holds float32, expected float64"));
    CHECK_THAT(meta_edit("model.user.hash=" + std::string(policy_name), "model.user.hash=nosuch"),
               Catch::Contains("uses the hash policy 'nosuch', which this build does not have"));
    CHECK_THAT(meta_edit("model.user.hash=xxh3", "model.user.hash=murmur3_32"),
               Catch::Contains("stored positions are not what 'murmur3_32' gives"));
    CHECK_THAT(meta_edit("model.user.hash_seed=3", "model.user.hash_seed=4"),
               Catch::Contains("stored positions are not what"));
    CHECK_THAT(meta_edit("model.user.k=3", "model.user.k=x3"),
               Catch::Contains("value 'model.user.k' is 'x3', not a unsigned integer"));
    CHECK_THAT(meta_edit("model.user.k=3", "model.user.k=4"),
               Catch::Contains("the position table is not ids x k"));
    CHECK_THAT(meta_edit("model.dim=8", "model.dimension=8"), Catch::Contains("no value 'model.dim'"));
    CHECK_THAT(meta_edit("model.user.table.weights.rows=12", "model.user.table.weights.rows=13"),
               Catch::Contains("matrix 'model.user.table.weights' is said to be 13 x 8 but holds 96"));
    CHECK_THAT(meta_edit("model.user.table.opt.beta1=0.90000000000000002",
                         "model.user.table.opt.beta1=1.5"),
               Catch::Contains("adam: beta1 must be in [0, 1)"));
    CHECK_THAT(meta_edit("model.item.head_rows=10", "model.item.head_rows=9"),
               Catch::Contains("the table is not (shared + head) x dim"));
    CHECK_THAT(meta_edit("format=bloom model", "format=other"), Catch::Contains("format=bloom model"));
    // a position moved to another row, with valid checksums
    rewrite(src, bad, [&](const std::string& name, std::vector<unsigned char>& bytes, std::string&) {
        if (name == "model.user.positions") bytes[0] = static_cast<unsigned char>(bytes[0] ^ 1);
    });
    CHECK_THAT(load_error<model>(bad), Catch::Contains("stored positions are not what 'xxh3' gives"));
    // an own row given to two items
    rewrite(src, bad, [&](const std::string& name, std::vector<unsigned char>& bytes, std::string&) {
        if (name != "model.item.own_rows") return;
        std::vector<std::int64_t> own(bytes.size() / 8);
        std::memcpy(own.data(), bytes.data(), bytes.size());
        std::int64_t first = -1;
        for (std::int64_t& r : own)
            if (r >= 0) {
                if (first < 0) first = r;
                else { r = first; break; }
            }
        std::memcpy(bytes.data(), own.data(), bytes.size());
    });
    CHECK_THAT(load_error<model>(bad), Catch::Contains("given to two ids"));
    std::remove(src.c_str());
    std::remove(bad.c_str());
}

// Found by tests/fuzz/fuzz_model_file: only the last text offset of a string id map was checked
// against the text, so offsets {0, 100, 8} read 100 bytes of an 8-byte text before failing.
TEST_CASE("model files: an id map whose text offsets run past the text is refused") {
    bloom::data::id_map ids(bloom::data::id_kind::string);
    ids.intern(std::string_view("alice"));
    ids.intern(std::string_view("bob"));
    const std::string src = temp_path("ids.bin"), bad = temp_path("ids-bad.bin");
    {
        io::file_saver out(src);
        out.object("model", ids);
        out.commit();
    }
    {
        io::file_loader in(src);
        bloom::data::id_map back;
        in.object("model", back);
        CHECK(back.size() == 2);
        CHECK(back.text(1) == "bob");
    }
    rewrite(src, bad, [&](const std::string& name, std::vector<unsigned char>& bytes, std::string&) {
        if (name != "model.raw_offsets") return;
        std::vector<std::uint64_t> off(bytes.size() / 8);
        std::memcpy(off.data(), bytes.data(), bytes.size());
        REQUIRE(off == std::vector<std::uint64_t>{0, 5, 8});
        off[1] = 100;
        std::memcpy(bytes.data(), off.data(), bytes.size());
    });
    io::file_loader in(bad);
    bloom::data::id_map back;
    CHECK_THROWS_WITH(in.object("model", back),
                      Catch::Contains("text offset 1 (100) is past the end of the 8 bytes of text"));
    std::remove(src.c_str());
    std::remove(bad.c_str());
}

TEST_CASE("model files: the paper's network predicts the same after a round trip") {
    const data& d = sample();
    const bloom::eval::user_items sets = bloom::eval::make_user_items(d.n_users, d.users, d.items);
    bloom::eval::user_items in, target;
    bm_split(sets, in, target);
    bloom::spec_config sc;
    sc.items = d.n_items;
    sc.m = 24;
    sc.k = 3;
    sc.seed = 5;
    sc.key_bytes = 4;
    using net_t = m::bloom_mlp<float>;
    const auto code = net_t::code_type::from_sparse(m::spec_code(bloom::basic_spec<bloom::murmur3_32>(sc)));
    m::network_options no;
    no.hidden = {16, 8};
    no.dropout = 0.2;
    no.loss = m::output_loss::sigmoid;
    net_t net(code, code, no);
    m::network_fit_options f;
    f.epochs = 2;
    f.batch = 16;
    f.lr = 0.01;
    net.fit(in, target, f);
    const std::string a = temp_path("net-a.bin"), b = temp_path("net-b.bin");
    io::save(a, net);
    net_t back = io::load<net_t>(a);
    bloom::matrix<float> v1, v2;
    std::vector<std::size_t> rows(in.n_users());
    for (std::size_t r = 0; r < rows.size(); ++r) rows[r] = r;
    net.output_values(in, rows.data(), rows.size(), v1);
    back.output_values(in, rows.data(), rows.size(), v2);
    CHECK(v1 == v2);
    CHECK(back.parameters() == net.parameters());
    io::save(b, back);
    CHECK(same_files(a, b));
    // a dense code (similarity ranking) round-trips too
    bloom::matrix<float> e = bloom::matrix<float>::Random(d.n_items, 6);
    m::network_options nd;
    nd.hidden = {8};
    nd.loss = m::output_loss::regression;
    nd.rank = m::recovery::similarity;
    net_t dense(net_t::code_type::from_dense(e), net_t::code_type::from_dense(e), nd);
    io::save(a, dense);
    net_t dback = io::load<net_t>(a);
    dense.output_values(in, rows.data(), rows.size(), v1);
    dback.output_values(in, rows.data(), rows.size(), v2);
    CHECK(v1 == v2);
    // a stored code that does not validate is refused
    rewrite(a, b, [&](const std::string& name, std::vector<unsigned char>&, std::string& meta) {
        if (name == "meta") replace(meta, "model.options.activation=1", "model.options.activation=9");
    });
    CHECK_THAT(load_error<net_t>(b), Catch::Contains("unknown activation"));
    std::remove(a.c_str());
    std::remove(b.c_str());
}
