// Quick start: encode item sets into Bloom positions, decode a (fake) network output back into a
// ranking of items, and look at the diagnostics of the configuration.
//
// The catalogue has MovieLens-100K's size (d = 1682 items) and the Bloom output is 5 times
// smaller (m = 336, k = 4). A "network" that learned a user's taste would put high probability on
// the positions of the items it recommends; we build such an output by hand and check that the
// decoder recovers those items. Run: bloom-quickstart
#include <cstdint>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <bloom/encoding/decoder.hpp>
#include <bloom/encoding/diagnostics.hpp>
#include <bloom/encoding/encoder.hpp>

namespace {

std::string join(const std::vector<std::uint32_t>& v, std::size_t max_shown) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < max_shown; ++i)
        s += (i ? " " : "") + std::to_string(v[i]);
    if (v.size() > max_shown) s += " ...";
    return s;
}

std::vector<std::uint32_t> draw(std::size_t n, std::uint32_t d, std::mt19937_64& rng,
                                const std::set<std::uint32_t>& avoid = {}) {
    std::set<std::uint32_t> seen(avoid);
    std::vector<std::uint32_t> out;
    while (out.size() < n) {
        const auto id = static_cast<std::uint32_t>(rng() % d);
        if (seen.insert(id).second) out.push_back(id);
    }
    return out;
}

}  // namespace

int main() {
    constexpr std::uint32_t d = 1682;
    bloom::spec_config cfg;
    cfg.items = d;
    cfg.m = 336;
    cfg.k = 4;
    cfg.seed = 2017;
    const bloom::spec spec(cfg);
    // One position table (d x k, 27 KB), shared by the encoder and the decoder.
    const bloom::encoder enc(spec, bloom::lookup::table);
    const bloom::decoder dec(enc.shared_table());
    std::printf("bloom quickstart: d = %u items -> m = %llu positions, k = %u, hash %s\n\n", d,
                static_cast<unsigned long long>(spec.m()), spec.k(), spec.hash_name());

    // 1. Encode: each user's item set becomes the sorted unique positions of its ones.
    std::mt19937_64 rng(7);
    const std::vector<std::pair<const char*, std::vector<std::uint32_t>>> users = {
        {"ann", {3, 17, 256}},
        {"bob", draw(10, d, rng)},
        {"cy", draw(53, d, rng)},  // a dense user: half of an ML-100K user's history
    };
    std::printf("Encoding (item ids -> positions)\n");
    std::printf("  %-5s %5s  %-28s %9s  %s\n", "user", "items", "ids", "positions", "first positions");
    for (const auto& [name, items] : users) {
        const std::vector<std::uint32_t> pos = enc.encode(items);
        std::printf("  %-5s %5zu  %-28s %9zu  %s\n", name, items.size(), join(items, 5).c_str(),
                    pos.size(), join(pos, 6).c_str());
    }

    // 2. Decode: a fake output for bob that favours 5 items he has not seen. Their positions
    //    (and his history's) get probability 0.9, every other position 0.05 plus a little noise.
    const auto& bob = users[1].second;
    const std::set<std::uint32_t> bob_seen(bob.begin(), bob.end());
    const std::vector<std::uint32_t> liked = draw(5, d, rng, bob_seen);
    std::vector<std::uint32_t> favoured = bob;
    favoured.insert(favoured.end(), liked.begin(), liked.end());
    const bloom::vector<float> target = enc.dense(favoured);
    std::uniform_real_distribution<float> noise(0.0f, 0.02f);
    bloom::vector<float> output(static_cast<Eigen::Index>(spec.m()));
    for (Eigen::Index i = 0; i < output.size(); ++i)
        output(i) = target(i) > 0 ? 0.9f - noise(rng) : 0.05f + noise(rng);

    const std::vector<bloom::scored_item> top = dec.top_n(output, 8, bob);  // skip his history
    std::printf("\nDecoding a fake output for bob: top 8, his %zu seen items excluded\n",
                bob.size());
    std::printf("  planted items: %s\n", join(liked, 5).c_str());
    std::printf("  %4s  %5s  %9s  %s\n", "rank", "item", "score", "");
    const std::set<std::uint32_t> planted(liked.begin(), liked.end());
    for (std::size_t r = 0; r < top.size(); ++r) {
        const auto id = static_cast<std::uint32_t>(top[r].id);
        std::uint32_t pos[4];
        enc.positions(id, pos);
        bool all_set = true;
        for (const std::uint32_t p : pos) all_set = all_set && target(p) > 0;
        const char* note = planted.count(id) ? "planted"
                           : all_set ? "false positive: all its positions are favoured"
                                     : "";
        std::printf("  %4zu  %5u  %9.3f  %s\n", r + 1, id, top[r].score, note);
    }

    // 3. Diagnostics of the configuration, and of each user's encoded set.
    const bloom::load_histogram loads = bloom::bucket_loads(enc);
    const bloom::signature_stats sig = bloom::signature_uniqueness(enc);
    std::printf("\nDiagnostics\n");
    std::printf("  bucket loads: %.1f hashes per position on average (d k / m), max %zu, "
                "%llu positions empty (Poisson: %.1f)\n",
                loads.mean_load(), loads.max_load(),
                static_cast<unsigned long long>(loads.empty_positions()), loads.expected(0));
    std::printf("  unique signatures: %.2f%% of the items (%llu distinct position sets)\n",
                100.0 * sig.unique_share(), static_cast<unsigned long long>(sig.distinct));
    std::printf("  %-5s %5s  %17s  %17s  %s\n", "user", "n", "set bits (exp.)",
                "false pos. (est.)", "regime");
    for (const auto& [name, items] : users) {
        const bloom::fpr_report r = bloom::false_positive_rate(enc, items);
        std::printf("  %-5s %5llu  %7.1f%% (%5.1f%%)  %7.2f%% (%5.2f%%)  %s\n", name,
                    static_cast<unsigned long long>(r.members), 100.0 * r.set_bit_share(),
                    100.0 * r.expected_set_bit_share(), 100.0 * r.measured_fpr(),
                    100.0 * r.estimated_fpr(),
                    r.set_bit_share() > 0.3 ? "saturating: decoding blurs" : "sparse");
    }
    return 0;
}
