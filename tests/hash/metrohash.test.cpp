// metrohash64 against Debian's libmetrohash (MetroHash64::Hash). Built only with bloom::metrohash.
#include <catch2/catch.hpp>

#if defined(BLOOM_HAS_METROHASH) && BLOOM_HAS_METROHASH

#  include <bloom/hash/metrohash.hpp>

#  include <metrohash/metrohash64.h>

#  include <cstdint>
#  include <cstring>
#  include <string>

#  include "hash_test_util.hpp"

namespace {
std::uint64_t library_metrohash64(const void* data, std::size_t len, std::uint64_t seed) {
    std::uint8_t out[8];
    MetroHash64::Hash(static_cast<const std::uint8_t*>(data), len, out, seed);
    std::uint64_t v;
    std::memcpy(&v, out, 8);
    return v;
}
}  // namespace

TEST_CASE("libmetrohash passes its own test vectors", "[metrohash][reference]") {
    REQUIRE(MetroHash64::ImplementationVerified());
}

TEST_CASE("metrohash64 gives MetroHash64's own test vectors (seeds 0 and 1)", "[metrohash][kat]") {
    const bloom::metrohash64 h;
    const char* s = MetroHash64::test_string;
    const std::size_t len = std::strlen(s);
    std::uint64_t want0, want1;
    std::memcpy(&want0, MetroHash64::test_seed_0, 8);
    std::memcpy(&want1, MetroHash64::test_seed_1, 8);
    CHECK(h(s, len, 0) == want0);
    CHECK(h(s, len, 1) == want1);
    // Pinned from the library, so the test also holds if the vectors above were both wrong.
    CHECK(h("", 0, 0) == 0x705FB008071E967DULL);
    CHECK(h("abc", 3, 0) == 0xED4F5524E6FAFFBBULL);
    CHECK(h("Hello, world!", 13, 0x9747B28CULL) == 0x8F6188EE4269942FULL);
    CHECK(h("The quick brown fox jumps over the lazy dog", 43, 0xDEADBEEFCAFEF00DULL) ==
          0x415EB256620D95ABULL);
}

TEST_CASE("metrohash64 equals libmetrohash on lengths 0..300 and 40 seeds", "[metrohash]") {
    const bloom::metrohash64 h;
    std::size_t mismatches = 0;
    for (std::size_t len = 0; len <= 300; ++len) {
        for (const std::uint64_t seed : bloom_test::test_seeds()) {
            const auto buf = bloom_test::random_bytes(len + 1);
            const unsigned char* key = buf.data() + (len & 1);
            const std::uint64_t want = library_metrohash64(key, len, seed);
            if (h(key, len, seed) != want) {
                ++mismatches;
                INFO("len " << len << ", seed " << seed);
                CHECK(h(key, len, seed) == want);
            }
        }
    }
    REQUIRE(mismatches == 0);
}

TEST_CASE("metrohash64 on integer keys hashes the little-endian bytes",
          "[metrohash][fast-path]") {
    const bloom::metrohash64 h;
    for (const std::uint64_t key64 : bloom_test::test_keys64(200)) {
        const auto key32 = static_cast<std::uint32_t>(key64);
        unsigned char b4[4], b8[8];
        bloom_test::le_bytes(key32, b4);
        bloom_test::le_bytes(key64, b8);
        INFO("key " << key64);
        CHECK(bloom::hash_u32(h, key32, 3) == library_metrohash64(b4, 4, 3));
        CHECK(bloom::hash_u64(h, key64, 3) == library_metrohash64(b8, 8, 3));
    }
}

TEST_CASE("metrohash64 policy traits", "[metrohash][traits]") {
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::metrohash64>);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::metrohash64> == 64);
    CHECK(std::string(bloom::hash_name<bloom::metrohash64>()) == "metrohash64");
}

#endif  // BLOOM_HAS_METROHASH
