// multiply_shift: h(x) = a*x + b mod 2^64 with a odd, a and b derived from the seed.
#include <bloom/hash/multiply_shift.hpp>

#include <bloom/encoding/spec.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hash_test_util.hpp"

TEST_CASE("multiply_shift known-answer vectors", "[multiply_shift][kat]") {
    // Computed independently (Python) from the definition: s = seed ^ 0xD1B54A32D192ED03,
    // a = ((s ^ (s >> 32)) * 0x9E3779B97F4A7C15 mod 2^64) | 1, b = rotl64(a, 32),
    // h = a*x + b mod 2^64.
    const bloom::multiply_shift h;
    CHECK(h(std::uint64_t{0}, 0) == 0xDB667305488C00FDULL);
    CHECK(h(std::uint64_t{1}, 0) == 0x23F2740323F27402ULL);
    CHECK(h(std::uint64_t{1}, 42) == 0x9AC754449AC75443ULL);
    CHECK(h(std::uint64_t{0x0123456789ABCDEFULL}, 0xDEADBEEFCAFEF00DULL) == 0xD2E3C951CC9ED512ULL);
    CHECK(h(std::uint64_t{0xFFFFFFFFFFFFFFFFULL}, 42) == 0x3B383E2AC4C7C1D5ULL);
    CHECK(h(std::uint32_t{0x01234567U}, 42) == 0x7C725782E772532DULL);
    // Byte strings: up to 8 bytes read as an integer, longer ones folded first.
    CHECK(h("", 0, 0) == 0xDB667305488C00FDULL);
    CHECK(h("abc", 3, 42) == 0xAED54BFD75FED6E3ULL);
    CHECK(h("Hello, world!", 13, 0) == 0xF309DF4C02E96372ULL);
    CHECK(h("The quick brown fox jumps over the lazy dog", 43, 0xDEADBEEFCAFEF00DULL) ==
          0x8E555FBCD2B8578CULL);
    CHECK(h("0123456789abcdef0", 17, 42) == 0x1F079E5839B5119FULL);
}

TEST_CASE("multiply_shift fast paths equal the byte path on little-endian bytes",
          "[multiply_shift][fast-path]") {
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::multiply_shift>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::multiply_shift>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::multiply_shift>);
    const bloom::multiply_shift h;
    for (const std::uint64_t seed : bloom_test::test_seeds()) {
        for (const std::uint64_t key64 : bloom_test::test_keys64(500)) {
            const auto key32 = static_cast<std::uint32_t>(key64);
            unsigned char b4[4], b8[8];
            bloom_test::le_bytes(key32, b4);
            bloom_test::le_bytes(key64, b8);
            if (h(key32, seed) != h(b4, 4, seed) || h(key64, seed) != h(b8, 8, seed) ||
                bloom::hash_u32(h, key32, seed) != h(b4, 4, seed) ||
                bloom::hash_u64(h, key64, seed) != h(b8, 8, seed)) {
                INFO("key " << key64 << ", seed " << seed);
                FAIL_CHECK("fast path and byte path disagree");
            }
        }
    }
}

TEST_CASE("multiply_shift: short keys are zero-padded integers, long keys depend on every byte",
          "[multiply_shift]") {
    const bloom::multiply_shift h;
    // A key of up to 8 bytes is its little-endian integer: same value, same hash, any length.
    const unsigned char k3[3] = {1, 2, 3};
    const unsigned char k5[5] = {1, 2, 3, 0, 0};
    CHECK(h(k3, 3, 9) == h(k5, 5, 9));
    CHECK(h(k3, 3, 9) == h(std::uint64_t{0x030201}, 9));
    // Longer keys mix the length in: trailing zero bytes change the hash.
    const auto a = bloom_test::random_bytes(24);
    std::vector<unsigned char> b = a;
    b.push_back(0);
    CHECK(h(a.data(), a.size(), 9) != h(b.data(), b.size(), 9));
    // And every byte counts.
    const std::uint64_t base = h(a.data(), a.size(), 9);
    for (std::size_t i = 0; i < a.size(); ++i) {
        std::vector<unsigned char> c = a;
        c[i] ^= 0x10;
        INFO("byte " << i);
        CHECK(h(c.data(), c.size(), 9) != base);
    }
}

TEST_CASE("multiply_shift: the multiplier is odd and the seed changes both a and b",
          "[multiply_shift]") {
    for (const std::uint64_t seed : bloom_test::test_seeds()) {
        CHECK((bloom::multiply_shift::multiplier(seed) & 1U) == 1U);
        CHECK(bloom::multiply_shift::multiplier(seed) !=
              bloom::multiply_shift::multiplier(seed ^ 0x100));
        CHECK(bloom::multiply_shift::increment(seed) !=
              bloom::multiply_shift::increment(seed ^ 0x100));
    }
    // An odd multiplier is a bijection on 64-bit keys: distinct keys never collide before the
    // range reduction.
    const bloom::multiply_shift h;
    CHECK(h(std::uint64_t{3}, 5) != h(std::uint64_t{3} + (std::uint64_t{1} << 63), 5));
}

TEST_CASE("multiply_shift spreads consecutive ids evenly through the spec reduction",
          "[multiply_shift][quality]") {
    // Its high bits are the good ones, and the default multiply-shift reduction reads them:
    // 65,536 consecutive ids over 256 positions must be close to uniform (chi-square, 255
    // degrees of freedom: mean 255, standard deviation about 22.6).
    bloom::spec_config cfg;
    cfg.m = 256;
    cfg.k = 1;
    cfg.seed = 12345;
    const bloom::basic_spec<bloom::multiply_shift> spec(cfg);
    std::vector<double> counts(256, 0.0);
    const std::uint32_t n = 65536;
    for (std::uint32_t id = 0; id < n; ++id) {
        std::uint32_t pos = 0;
        spec.positions(id, &pos);
        REQUIRE(pos < 256u);
        counts[pos] += 1.0;
    }
    const double expected = n / 256.0;
    double chi2 = 0;
    for (double c : counts) chi2 += (c - expected) * (c - expected) / expected;
    INFO("chi-square " << chi2);
    CHECK(chi2 < 400.0);
}

TEST_CASE("multiply_shift: nearby explicit seeds give unrelated hash functions",
          "[multiply_shift][quality]") {
    // Regression: with a = (seed ^ constant) | 1, seeds {1, 2} or Spotlight's {179424941,
    // 179425457} put both positions of almost every id on the same row. Two independent
    // functions agree on about 1/m of the ids.
    const std::vector<std::vector<std::uint64_t>> seed_pairs = {
        {0, 1}, {1, 2}, {179424941, 179425457}, {5, 5 + (std::uint64_t{1} << 63)}};
    for (const auto& seeds : seed_pairs) {
        bloom::spec_config cfg;
        cfg.m = 1024;
        cfg.k = 2;
        cfg.seeds = seeds;
        const bloom::basic_spec<bloom::multiply_shift> spec(cfg);
        std::size_t same = 0;
        const std::uint32_t n = 100000;
        for (std::uint32_t id = 0; id < n; ++id) {
            std::uint32_t p[2];
            spec.positions(id, p);
            same += p[0] == p[1];
        }
        INFO("seeds " << seeds[0] << ", " << seeds[1] << ": " << same << " of " << n
                      << " ids have equal positions (about " << n / 1024 << " expected)");
        CHECK(same > n / 1024 / 2);
        CHECK(same < n / 1024 * 2);
    }
}
