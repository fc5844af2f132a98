// modulo: the identity plus the seed, a deliberately weak baseline.
#include <bloom/hash/modulo.hpp>

#include <bloom/encoding/spec.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hash_test_util.hpp"

TEST_CASE("modulo known-answer vectors", "[modulo][kat]") {
    const bloom::modulo h;
    CHECK(h(std::uint64_t{0}, 0) == 0);
    CHECK(h(std::uint64_t{1}, 42) == 43);
    CHECK(h(std::uint32_t{0x01234567U}, 0xDEADBEEFCAFEF00DULL) == 0xDEADBEEFCC223574ULL);
    CHECK(h(std::uint64_t{0xFFFFFFFFFFFFFFFFULL}, 42) == 41);  // wraps modulo 2^64
    CHECK(h("", 0, 42) == 42);
    CHECK(h("abc", 3, 0) == 0x636261);
    CHECK(h("Hello, world!", 13, 0) == 0x77202C4E08001727ULL);  // the two words xor-ed
    CHECK(h("The quick brown fox jumps over the lazy dog", 43, 0xDEADBEEFCAFEF00DULL) ==
          0x45E13E603355FD33ULL);
}

TEST_CASE("modulo fast paths equal the byte path on little-endian bytes", "[modulo][fast-path]") {
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::modulo>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::modulo>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::modulo>);
    STATIC_REQUIRE(bloom::preferred_reduction_v<bloom::modulo> == bloom::reduction::modulo);
    CHECK(std::string(bloom::hash_name<bloom::modulo>()) == "modulo");
    const bloom::modulo h;
    for (const std::uint64_t seed : bloom_test::test_seeds()) {
        for (const std::uint64_t key64 : bloom_test::test_keys64(200)) {
            const auto key32 = static_cast<std::uint32_t>(key64);
            unsigned char b4[4], b8[8];
            bloom_test::le_bytes(key32, b4);
            bloom_test::le_bytes(key64, b8);
            INFO("key " << key64 << ", seed " << seed);
            CHECK(h(key32, seed) == h(b4, 4, seed));
            CHECK(h(key64, seed) == h(b8, 8, seed));
            CHECK(bloom::hash_u32(h, key32, seed) == std::uint64_t{key32} + seed);
            CHECK(bloom::hash_u64(h, key64, seed) == key64 + seed);
        }
    }
}

TEST_CASE("modulo through a spec: positions are (id + seed_j) mod m, consecutive ids adjacent",
          "[modulo]") {
    bloom::spec_config cfg;
    cfg.m = 1000;
    cfg.k = 3;
    cfg.seeds = {0, 10, 500};
    const bloom::basic_spec<bloom::modulo> spec(cfg);
    CHECK(spec.reduce() == bloom::reduction::modulo);  // automatic -> the policy's preference
    std::uint32_t p[3];
    spec.positions(std::uint64_t{7}, p);
    CHECK(p[0] == 7);
    CHECK(p[1] == 17);
    CHECK(p[2] == 507);
    spec.positions(std::uint64_t{995}, p);
    CHECK(p[0] == 995);
    CHECK(p[1] == 5);
    CHECK(p[2] == 495);
    // Why it is weak: ids 7 and 1007 collide in every position at once.
    std::uint32_t q[3];
    spec.positions(std::uint64_t{7}, p);
    spec.positions(std::uint64_t{1007}, q);
    CHECK(p[0] == q[0]);
    CHECK(p[1] == q[1]);
    CHECK(p[2] == q[2]);
}
