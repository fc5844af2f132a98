// farmhash64 against Debian's libfarmhash (util::Hash64WithSeed). Built only with bloom::farmhash.
#include <catch2/catch.hpp>

#if defined(BLOOM_HAS_FARMHASH) && BLOOM_HAS_FARMHASH

#  include <bloom/hash/farmhash.hpp>

#  include <farmhash.h>

#  include <cstdint>
#  include <cstring>
#  include <string>

#  include "hash_test_util.hpp"

TEST_CASE("farmhash64 equals libfarmhash's Hash64WithSeed on lengths 0..300 and 40 seeds",
          "[farmhash]") {
    const bloom::farmhash64 h;
    std::size_t mismatches = 0;
    for (std::size_t len = 0; len <= 300; ++len) {
        for (const std::uint64_t seed : bloom_test::test_seeds()) {
            const auto buf = bloom_test::random_bytes(len + 1);
            const char* key = reinterpret_cast<const char*>(buf.data()) + (len & 1);
            const std::uint64_t want = util::Hash64WithSeed(key, len, seed);
            if (h(key, len, seed) != want) {
                ++mismatches;
                INFO("len " << len << ", seed " << seed);
                CHECK(h(key, len, seed) == want);
            }
        }
    }
    REQUIRE(mismatches == 0);
}

TEST_CASE("farmhash64 on integer keys hashes the little-endian bytes", "[farmhash][fast-path]") {
    const bloom::farmhash64 h;
    for (const std::uint64_t key64 : bloom_test::test_keys64(200)) {
        const auto key32 = static_cast<std::uint32_t>(key64);
        unsigned char b4[4], b8[8];
        bloom_test::le_bytes(key32, b4);
        bloom_test::le_bytes(key64, b8);
        INFO("key " << key64);
        CHECK(bloom::hash_u32(h, key32, 3) ==
              util::Hash64WithSeed(reinterpret_cast<const char*>(b4), 4, 3));
        CHECK(bloom::hash_u64(h, key64, 3) ==
              util::Hash64WithSeed(reinterpret_cast<const char*>(b8), 8, 3));
    }
}

TEST_CASE("farmhash64 known-answer vectors (pinned from Debian's libfarmhash)",
          "[farmhash][kat]") {
    // FarmHash warns that its output may change between versions; these values pin the packaged
    // one, so a change shows up here instead of as silently moved positions in saved models.
    const bloom::farmhash64 h;
    CHECK(h("", 0, 0) == 0xFFFFFFFFFFFFFFFFULL);
    CHECK(h("", 0, 42) == 0x9487D95C571B5FE2ULL);
    CHECK(h("abc", 3, 0) == 0x7C97ED35AF379FB2ULL);
    CHECK(h("test", 4, 1) == 0x952815AD2F998397ULL);
    CHECK(h("Hello, world!", 13, 0x9747B28CULL) == 0x471EF802186A7C0AULL);
    CHECK(h("The quick brown fox jumps over the lazy dog", 43, 0) == 0xE97AEFBE75EE2EB5ULL);
    CHECK(h("0123456789abcdef0123456789abcdef0", 33, 0xDEADBEEFCAFEF00DULL) ==
          0x405D99DF95F72FB4ULL);
    CHECK(bloom::hash_u32(h, 0x01234567U, 0) == 0xC35F4310F9990C76ULL);
    CHECK(bloom::hash_u64(h, 0x0123456789ABCDEFULL, 42) == 0x618ABC844C566816ULL);
}

TEST_CASE("farmhash64 policy traits", "[farmhash][traits]") {
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::farmhash64>);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::farmhash64> == 64);
    STATIC_REQUIRE_FALSE(bloom::has_u32_fast_path_v<bloom::farmhash64>);
    CHECK(std::string(bloom::hash_name<bloom::farmhash64>()) == "farmhash64");
}

#endif  // BLOOM_HAS_FARMHASH
