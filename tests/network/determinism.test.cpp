// Determinism of the paper's network: two trainings with the same seeds (one thread) give the
// same network bit for bit: every parameter, and every Adam optimizer's moments and step count.
// A model file keeps the parameters only, so the optimizers (bloom_mlp::first_optimizer() and
// dense_optimizers()) are saved beside the model in the same file, and the files are compared
// section by section. Another fit seed gives another file, so the comparison can tell networks
// apart.
#include <catch2/catch.hpp>

#include "../model_files.hpp"

#include <bloom/encoding/spec.hpp>
#include <bloom/eval/user_items.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/models/network/bloom_mlp.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace io = bloom::io;
namespace m = bloom::models;
using net_t = m::bloom_mlp<float>;

std::string temp_path(const std::string& name) {
    return "/tmp/bloom-network-determinism-test-" + std::to_string(::getpid()) + "-" + name;
}

using bloom_test::same_files;

// 80 users over 40 items in 4 groups; row r's first half is the input, the rest the target.
struct sets {
    bloom::eval::user_items in, target;
    sets() {
        std::mt19937_64 rng(13);
        in.offsets = {0};
        target.offsets = {0};
        for (std::uint32_t u = 0; u < 80; ++u) {
            std::vector<std::uint32_t> items;
            for (int t = 0; t < 8; ++t) items.push_back((u % 4) * 10 + static_cast<std::uint32_t>(rng() % 10));
            std::sort(items.begin(), items.end());
            items.erase(std::unique(items.begin(), items.end()), items.end());
            const std::size_t h = items.size() / 2;
            in.items.insert(in.items.end(), items.begin(), items.begin() + static_cast<std::ptrdiff_t>(h));
            target.items.insert(target.items.end(), items.begin() + static_cast<std::ptrdiff_t>(h), items.end());
            in.offsets.push_back(in.items.size());
            target.offsets.push_back(target.items.size());
        }
    }
};
const sets& sample() {
    static const sets s;
    return s;
}

// The network's parameters, then each optimizer's settings, steps and moments.
void save_with_optimizers(const std::string& path, const net_t& net) {
    io::file_saver out(path);
    out.object("model", net);
    REQUIRE(net.first_optimizer() != nullptr);
    out.object("opt_first", *net.first_optimizer());
    for (std::size_t i = 0; i < net.dense_optimizers().size(); ++i)
        out.object("opt_dense" + std::to_string(i), net.dense_optimizers()[i]);
    out.commit();
}

template <class Make>
void check_reproducible(const std::string& name, Make make, m::network_fit_options f) {
    const sets& s = sample();
    const std::string a = temp_path(name + "-a.bin"), b = temp_path(name + "-b.bin"),
                      c = temp_path(name + "-c.bin");
    auto train = [&](std::uint64_t seed, const std::string& path) {
        net_t net = make();
        f.seed = seed;
        net.fit(s.in, s.target, f);
        save_with_optimizers(path, net);
    };
    train(3, a);
    train(3, b);
    train(4, c);
    INFO(name);
    CHECK(same_files(a, b));
    CHECK_FALSE(same_files(a, c));
    std::remove(a.c_str());
    std::remove(b.c_str());
    std::remove(c.c_str());
}

m::network_fit_options fit_options() {
    m::network_fit_options f;
    f.epochs = 3;
    f.batch = 16;
    f.lr = 0.01;
    f.weight_decay = 1e-4;
    return f;
}

}  // namespace

TEST_CASE("determinism: a seed gives the same network bit for bit, optimizer moments included",
          "[network][determinism]") {
    const std::uint32_t d = 40;
    bloom::spec_config sc;
    sc.items = d;
    sc.m = 24;
    sc.k = 3;
    sc.seed = 5;
    const auto bloom_code = net_t::code_type::from_sparse(m::spec_code(bloom::basic_spec<bloom::xxh3>(sc)));

    SECTION("Bloom input through the row-sparse table, softmax, dropout, resampled halves") {
        m::network_options o;
        o.hidden = {16, 8};
        o.dropout = 0.2;
        m::network_fit_options f = fit_options();
        f.resample = true;
        check_reproducible("bloom-softmax", [&] { return net_t(bloom_code, bloom_code, o); }, f);
    }
    SECTION("ECOC codes summed through a dense first weight, sigmoid, code-word ranking") {
        const auto ecoc = net_t::code_type::from_sparse(m::ecoc_code(d, 32, 7));
        m::network_options o;
        o.hidden = {12};
        o.sets = m::set_coding::sum;
        o.loss = m::output_loss::sigmoid;
        o.rank = m::recovery::code_word;
        o.dropout = 0.1;
        check_reproducible("ecoc-sigmoid", [&] { return net_t(ecoc, ecoc, o); }, fit_options());
    }
    SECTION("a dense code, regression") {
        std::mt19937_64 rng(2);
        bloom::matrix<float> e(d, 6);
        for (Eigen::Index i = 0; i < e.size(); ++i)
            e.data()[i] = static_cast<float>(static_cast<double>(rng() >> 11) / 9007199254740992.0);
        const auto dense = net_t::code_type::from_dense(e);
        m::network_options o;
        o.hidden = {8};
        o.loss = m::output_loss::regression;
        o.rank = m::recovery::similarity;
        check_reproducible("dense-regression", [&] { return net_t(dense, dense, o); }, fit_options());
    }
}
