// Diagnostics: the load histogram accounts for every hash and follows the Poisson model for a good
// policy; signature uniqueness agrees with a brute-force count; the measured false-positive rate
// and set-bit share agree with the Bloom-filter estimates.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include <bloom/encoding/diagnostics.hpp>
#include <bloom/encoding/encoder.hpp>
#include <bloom/hash/modulo.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include "encoding_test_util.hpp"

using Catch::Matchers::Contains;
using enc_test::config;
using enc_test::random_ids;

TEST_CASE("estimates: set-bit share and false-positive rate formulas", "[diagnostics]") {
    // DESIGN.md's dense regime: an ML-100K user half (n = 53) at m = 336, k = 4 sets 47% of bits.
    CHECK(bloom::expected_set_bit_share(53, 336, 4) == Approx(1 - std::exp(-4.0 * 53 / 336)));
    CHECK(bloom::expected_set_bit_share(53, 336, 4) == Approx(0.468).margin(5e-4));
    CHECK(bloom::estimated_fpr(53, 336, 4) == Approx(std::pow(0.46780, 4)).epsilon(1e-3));
    CHECK(bloom::estimated_fpr(0, 336, 4) == 0.0);
    CHECK(bloom::expected_set_bit_share(1000000, 10, 2) == Approx(1.0));
}

TEST_CASE("bucket_loads: accounts for all d * k hashes and matches Poisson for xxh3",
          "[diagnostics][loads]") {
    const bloom::encoder enc(config(200000, 40000, 4), bloom::lookup::table);
    const bloom::load_histogram h = bloom::bucket_loads(enc);
    REQUIRE(h.m == 40000);
    REQUIRE(h.hashes == 800000);
    CHECK(h.mean_load() == 20.0);
    std::uint64_t positions = 0, hashes = 0;
    for (std::size_t c = 0; c < h.counts.size(); ++c) {
        positions += h.counts[c];
        hashes += c * h.counts[c];
    }
    CHECK(positions == 40000);
    CHECK(hashes == 800000);
    CHECK(h.counts.back() > 0);
    CHECK(h.max_load() == h.counts.size() - 1);
    // Each load near the mean holds ~1,000-3,600 positions; allow 5 standard deviations.
    for (std::size_t c = 12; c <= 28; ++c) {
        const double e = h.expected(c);
        INFO("load " << c << ": observed " << h.counts[c] << ", expected " << e);
        CHECK(std::abs(static_cast<double>(h.counts[c]) - e) < 5.0 * std::sqrt(e));
    }
    // The same histogram from the spec alone (on the fly).
    CHECK(bloom::bucket_loads(enc.spec()).counts == h.counts);
}

TEST_CASE("bucket_loads: the modulo policy loads consecutive ids perfectly evenly",
          "[diagnostics][loads]") {
    // ids 0..d-1 with d a multiple of m: every position gets exactly d k / m hashes, far from
    // Poisson, and the histogram shows it.
    const bloom::basic_encoder<bloom::modulo> enc(config(5000, 500, 2));
    const bloom::load_histogram h = bloom::bucket_loads(enc);
    REQUIRE(h.counts.size() == 21);
    CHECK(h.counts[20] == 500);
    CHECK(h.empty_positions() == 0);
}

TEST_CASE("signature_uniqueness agrees with a brute-force count", "[diagnostics][signatures]") {
    for (const std::uint64_t m : {6ULL, 12ULL, 40ULL, 5000ULL}) {
        const bloom::basic_encoder<bloom::murmur3_32> enc(config(400, m, 3));
        std::map<std::vector<std::uint32_t>, int> groups;
        std::uint32_t p[3];
        for (std::uint32_t id = 0; id < 400; ++id) {
            enc.positions(id, p);
            std::vector<std::uint32_t> sig(p, p + 3);
            std::sort(sig.begin(), sig.end());
            sig.erase(std::unique(sig.begin(), sig.end()), sig.end());
            ++groups[sig];
        }
        std::uint64_t unique = 0;
        for (const auto& g : groups) unique += g.second == 1 ? 1 : 0;
        const bloom::signature_stats st = bloom::signature_uniqueness(enc);
        INFO("m = " << m);
        CHECK(st.items == 400);
        CHECK(st.distinct == groups.size());
        CHECK(st.unique == unique);
        CHECK(st.unique_share() == Approx(static_cast<double>(unique) / 400));
    }
    // Tiny m: at most C(6,1) + C(6,2) + C(6,3) = 41 distinct sets for 400 items.
    CHECK(bloom::signature_uniqueness(bloom::spec(config(400, 6, 3))).distinct <= 41);
    // Large m: collisions of all k positions are rare.
    CHECK(bloom::signature_uniqueness(bloom::spec(config(100000, 20000, 4))).unique_share() >
          0.999);
}

TEST_CASE("signature_uniqueness: the padding id's signature {0} is a set of its own",
          "[diagnostics][signatures]") {
    auto c = config(50, 1000, 4);
    c.padding_zero = true;
    const bloom::signature_stats st = bloom::signature_uniqueness(bloom::spec(c));
    CHECK(st.unique == 50);
}

TEMPLATE_TEST_CASE("false_positive_rate: measured within tolerance of the Bloom estimate",
                   "[diagnostics][fpr]", bloom::xxh3, bloom::murmur3_32) {
    // d = 1,000,000 non-member checks and about 11,700 expected false positives: the counting
    // noise is ~1% and the set-bit share's own noise adds ~1%; 5% is about four standard
    // deviations. (Measured: within 1.2% for all four combinations.)
    for (const auto derive : {bloom::derivation::seeded, bloom::derivation::double_hashing}) {
        const bloom::basic_encoder<TestType> enc(config(1000000, 100000, 4, derive, 21),
                                                 bloom::lookup::on_the_fly);
        const auto members = random_ids(10000, 1000000, 77);
        const bloom::fpr_report r = bloom::false_positive_rate(enc, members);
        INFO("derive " << static_cast<int>(derive) << ": measured " << r.measured_fpr()
                       << ", estimated " << r.estimated_fpr() << ", set-bit share "
                       << r.set_bit_share());
        CHECK(r.members == 10000);
        CHECK(r.non_members == 990000);
        CHECK(r.m == 100000);
        CHECK(r.k == 4);
        CHECK(r.bits_set == enc.encode(members).size());
        CHECK(r.expected_set_bit_share() == Approx(1 - std::exp(-0.4)));
        CHECK(r.set_bit_share() == Approx(r.expected_set_bit_share()).epsilon(0.01));
        CHECK(r.measured_fpr() == Approx(r.estimated_fpr()).epsilon(0.05));
        // Given the share actually set, share^k predicts the rate without the share's noise.
        CHECK(r.measured_fpr() == Approx(std::pow(r.set_bit_share(), 4)).epsilon(0.04));
    }
}

TEST_CASE("false_positive_rate: the weak modulo policy is far above the estimate",
          "[diagnostics][fpr]") {
    // With modulo, ids congruent mod m share all k positions: each member drags along the
    // d/m - 1 = 9 other ids of its class, so the rate is near 9 * n / d = 9%, not 1.2%.
    const bloom::basic_encoder<bloom::modulo> enc(config(1000000, 100000, 4));
    const bloom::fpr_report r = bloom::false_positive_rate(enc, random_ids(10000, 1000000, 77));
    CHECK(r.set_bit_share() == Approx(r.expected_set_bit_share()).epsilon(0.05));
    CHECK(r.measured_fpr() > 5 * r.estimated_fpr());
}

TEST_CASE("false_positive_rate: the dense regime saturates", "[diagnostics][fpr]") {
    // An ML-100K-like catalogue (d = 1682, m = 336) and a dense user (n = 53): nearly half the
    // bits are set, and a few percent of all other items look like members.
    const bloom::encoder enc(config(1682, 336, 4), bloom::lookup::table);
    const auto user = random_ids(53, 1682, 5);
    const bloom::fpr_report r = bloom::false_positive_rate(enc, user);
    CHECK(r.set_bit_share() > 0.4);
    CHECK(r.set_bit_share() < 0.55);
    CHECK(r.false_positives > 40);  // estimate: 0.048 * 1629 = 78
}

TEST_CASE("false_positive_rate: duplicates in the set, and errors", "[diagnostics][errors]") {
    const bloom::encoder enc(config(1000, 200, 3));
    const bloom::fpr_report r = bloom::false_positive_rate(enc, {5u, 5u, 9u});
    CHECK(r.members == 2);
    CHECK(r.non_members == 998);
    CHECK_THROWS_AS(bloom::false_positive_rate(enc, std::vector<std::uint32_t>{1, 1000}),
                    bloom::out_of_range);
    CHECK_THROWS_WITH(bloom::false_positive_rate(enc, std::vector<std::uint32_t>{1, 1000}),
                      Contains("ids[1] = 1000"));
    const bloom::encoder open(config(0, 200, 3));
    CHECK_THROWS_WITH(bloom::false_positive_rate(open, {1u}), Contains("items = 0"));
    CHECK_THROWS_AS(bloom::bucket_loads(open), bloom::invalid_argument);
    CHECK_THROWS_AS(bloom::signature_uniqueness(open), bloom::invalid_argument);
}
