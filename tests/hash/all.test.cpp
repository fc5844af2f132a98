// <bloom/hash/all.hpp>: the policy lists, for_each_policy, and quality checks run on every
// policy this build has.
#include <bloom/hash/all.hpp>

#include <bloom/encoding/spec.hpp>

#include <catch2/catch.hpp>

#include <bitset>
#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "hash_test_util.hpp"

namespace {

constexpr std::size_t optional_count() {
    std::size_t n = 0;
#if defined(BLOOM_HAS_FARMHASH) && BLOOM_HAS_FARMHASH
    n += 1;
#endif
#if defined(BLOOM_HAS_METROHASH) && BLOOM_HAS_METROHASH
    n += 1;
#endif
#if defined(BLOOM_HAS_CRYPTO) && BLOOM_HAS_CRYPTO
    n += 3;
#endif
    return n;
}

template <class H>
constexpr bool strong_mixing() {
    // multiply_shift and modulo are not meant to avalanche (see their headers).
    return !std::is_same_v<H, bloom::multiply_shift> && !std::is_same_v<H, bloom::modulo>;
}

}  // namespace

TEST_CASE("all_policies lists the core policies, then every optional one built",
          "[all]") {
    STATIC_REQUIRE(bloom::core_policies::size == 7);
    STATIC_REQUIRE(bloom::optional_policies::size == optional_count());
    STATIC_REQUIRE(bloom::all_policies::size == 7 + optional_count());
    STATIC_REQUIRE(bloom::contains_policy_v<bloom::murmur3_32>);
    STATIC_REQUIRE(bloom::contains_policy_v<bloom::modulo>);
    STATIC_REQUIRE(bloom::contains_policy_v<bloom::xxh3, bloom::core_policies>);
    STATIC_REQUIRE_FALSE(bloom::contains_policy_v<bloom::xxh3, bloom::optional_policies>);
#if defined(BLOOM_HAS_FARMHASH) && BLOOM_HAS_FARMHASH
    STATIC_REQUIRE(bloom::contains_policy_v<bloom::farmhash64>);
#endif
#if defined(BLOOM_HAS_METROHASH) && BLOOM_HAS_METROHASH
    STATIC_REQUIRE(bloom::contains_policy_v<bloom::metrohash64>);
#endif
#if defined(BLOOM_HAS_CRYPTO) && BLOOM_HAS_CRYPTO
    STATIC_REQUIRE(bloom::contains_policy_v<bloom::sha256, bloom::optional_policies>);
#endif
}

TEST_CASE("for_each_policy visits every policy once, in order, with distinct names", "[all]") {
    std::vector<std::string> names;
    bloom::for_each_policy([&](auto policy) {
        using H = decltype(policy);
        STATIC_REQUIRE(bloom::is_hash_policy_v<H>);
        names.emplace_back(bloom::hash_name<H>());
    });
    REQUIRE(names.size() == bloom::all_policies::size);
    CHECK(names[0] == "murmur3_32");
    CHECK(names[6] == "modulo");
    CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
    for (const auto& n : names) CHECK(n != "custom");

    std::size_t core = 0;
    bloom::for_each_policy<bloom::core_policies>([&](auto) { ++core; });
    CHECK(core == 7);
    std::size_t none = 0;
    bloom::for_each_policy<bloom::policy_list<>>([&](auto) { ++none; });
    CHECK(none == 0);
}

TEST_CASE("every policy: deterministic, seed-sensitive, 4/8-byte keys equal their LE bytes",
          "[all]") {
    bloom::for_each_policy([](auto h) {
        using H = decltype(h);
        INFO(bloom::hash_name<H>());
        for (const std::uint64_t key64 : bloom_test::test_keys64(50)) {
            const auto key32 = static_cast<std::uint32_t>(key64);
            unsigned char b4[4], b8[8];
            bloom_test::le_bytes(key32, b4);
            bloom_test::le_bytes(key64, b8);
            INFO("key " << key64);
            CHECK(bloom::hash_u32(h, key32, 17) == h(b4, 4, 17));
            CHECK(bloom::hash_u64(h, key64, 17) == h(b8, 8, 17));
            CHECK(bloom::hash_u64(h, key64, 17) == bloom::hash_u64(H{}, key64, 17));
            CHECK(bloom::hash_u64(h, key64, 17) != bloom::hash_u64(h, key64, 18));
            if constexpr (bloom::hash_bits_v<H> < 64) {
                CHECK(bloom::hash_u64(h, key64, 17) >> bloom::hash_bits_v<H> == 0);
            }
        }
    });
}

TEST_CASE("every policy spreads consecutive ids evenly through a spec", "[all][quality]") {
    // 65,536 consecutive ids, k = 2 seeded positions each, over m = 256: chi-square with 255
    // degrees of freedom (mean 255, sd ~22.6) per hash function. A broken hash (constant, few
    // bits used, wrong reduction for its width) lands in the thousands.
    bloom::for_each_policy([](auto h) {
        using H = decltype(h);
        INFO(bloom::hash_name<H>());
        bloom::spec_config cfg;
        cfg.m = 256;
        cfg.k = 2;
        cfg.seed = 2024;
        const bloom::basic_spec<H> spec(cfg);
        std::vector<std::vector<double>> counts(2, std::vector<double>(256, 0.0));
        const std::uint32_t n = 65536;
        for (std::uint32_t id = 0; id < n; ++id) {
            std::uint32_t pos[2];
            spec.positions(id, pos);
            counts[0][pos[0]] += 1.0;
            counts[1][pos[1]] += 1.0;
        }
        for (const auto& c : counts) {
            double chi2 = 0;
            for (double x : c) chi2 += (x - n / 256.0) * (x - n / 256.0) / (n / 256.0);
            INFO("chi-square " << chi2);
            CHECK(chi2 < 400.0);
        }
    });
}

TEST_CASE("strong policies avalanche: one flipped key bit flips about half the result bits",
          "[all][quality]") {
    bloom::for_each_policy([](auto h) {
        using H = decltype(h);
        if constexpr (strong_mixing<H>()) {
            INFO(bloom::hash_name<H>());
            constexpr unsigned bits = bloom::hash_bits_v<H>;
            double flipped = 0;
            std::size_t trials = 0;
            for (const std::uint64_t key : bloom_test::test_keys64(64)) {
                const std::uint64_t base = bloom::hash_u64(h, key, 99);
                for (int b = 0; b < 64; ++b) {
                    const std::uint64_t other = bloom::hash_u64(h, key ^ (1ULL << b), 99);
                    flipped += static_cast<double>(std::bitset<64>(base ^ other).count());
                    ++trials;
                }
            }
            const double share = flipped / static_cast<double>(trials) / bits;
            INFO("average share of flipped bits " << share);
            CHECK(share > 0.48);
            CHECK(share < 0.52);
        }
    });
}

TEST_CASE("every policy but modulo: nearby explicit seeds give unrelated positions",
          "[all][quality]") {
    // Two seeds one apart must behave like two independent hash functions: the two positions of
    // an id agree for about 1/m of the ids. (modulo's positions are fixed shifts: never equal.)
    bloom::for_each_policy([](auto h) {
        using H = decltype(h);
        if constexpr (!std::is_same_v<H, bloom::modulo>) {
            INFO(bloom::hash_name<H>());
            for (const std::uint64_t base : {0ULL, 1ULL, 179424941ULL}) {
                bloom::spec_config cfg;
                cfg.m = 256;
                cfg.k = 2;
                cfg.seeds = {base, base + 1};
                const bloom::basic_spec<H> spec(cfg);
                std::size_t same = 0;
                const std::uint32_t n = 25600;  // about 100 agreements expected
                for (std::uint32_t id = 1; id <= n; ++id) {
                    std::uint32_t p[2];
                    spec.positions(id, p);
                    same += p[0] == p[1];
                }
                INFO("seeds " << base << ", " << base + 1 << ": " << same << " agreements");
                CHECK(same > 50);
                CHECK(same < 200);
            }
        }
    });
}
