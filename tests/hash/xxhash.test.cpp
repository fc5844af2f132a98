// xxHash policies (inlined through XXH_INLINE_ALL) against the compiled libxxhash's exported
// XXH32 / XXH64 / XXH3_64bits_withSeed, reached through xxhash_library.test.cpp.
#include <bloom/hash/xxhash.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hash_test_util.hpp"
#include "xxhash_library.hpp"

namespace {

// Lengths that reach every code path of the three functions: XXH32/XXH64 switch at 16 and 32
// bytes; XXH3 at 3, 8, 16, 128 and 240 bytes, and streams 64-byte stripes into 1 KiB blocks.
std::vector<std::size_t> test_lengths() {
    std::vector<std::size_t> lens;
    for (std::size_t n = 0; n <= 260; ++n) lens.push_back(n);
    for (std::size_t n : {511u, 512u, 1023u, 1024u, 1025u, 2048u, 4099u}) lens.push_back(n);
    return lens;
}

template <class H, class Ref>
std::size_t count_mismatches(Ref&& ref) {
    const H h;
    std::size_t mismatches = 0;
    const auto seeds = bloom_test::test_seeds();
    for (const std::size_t len : test_lengths()) {
        for (std::size_t s = 0; s < seeds.size(); s += (len <= 64 ? 1 : 8)) {
            const std::uint64_t seed = seeds[s];
            const auto buf = bloom_test::random_bytes(len + 1);
            const unsigned char* key = buf.data() + (len & 1);  // odd addresses too
            const std::uint64_t ours = h(key, len, seed);
            const std::uint64_t want = ref(key, len, seed);
            if (ours != want) {
                ++mismatches;
                INFO(bloom::hash_name<H>() << ": len " << len << ", seed " << seed << ": ours "
                                           << ours << ", libxxhash " << want);
                CHECK(ours == want);
            }
        }
    }
    return mismatches;
}

}  // namespace

TEST_CASE("xxh32 equals libxxhash XXH32 on lengths 0..260 and beyond", "[xxhash]") {
    REQUIRE(bloom_test::libxxhash_linked());
    const auto mismatches = count_mismatches<bloom::xxh32>(
        [](const void* p, std::size_t n, std::uint64_t seed) -> std::uint64_t {
            return bloom_test::libxxhash_xxh32(p, n, static_cast<std::uint32_t>(seed));
        });
    REQUIRE(mismatches == 0);
}

TEST_CASE("xxh64 equals libxxhash XXH64 on lengths 0..260 and beyond", "[xxhash]") {
    REQUIRE(bloom_test::libxxhash_linked());
    const auto mismatches = count_mismatches<bloom::xxh64>(
        [](const void* p, std::size_t n, std::uint64_t seed) {
            return bloom_test::libxxhash_xxh64(p, n, seed);
        });
    REQUIRE(mismatches == 0);
}

TEST_CASE("xxh3 equals libxxhash XXH3_64bits_withSeed on lengths 0..260 and beyond",
          "[xxhash]") {
    REQUIRE(bloom_test::libxxhash_linked());
    const auto mismatches = count_mismatches<bloom::xxh3>(
        [](const void* p, std::size_t n, std::uint64_t seed) {
            return bloom_test::libxxhash_xxh3(p, n, seed);
        });
    REQUIRE(mismatches == 0);
}

TEST_CASE("xxHash policies on integer keys hash the little-endian bytes", "[xxhash][fast-path]") {
    REQUIRE(bloom_test::libxxhash_linked());
    for (const std::uint64_t seed : {0ULL, 42ULL, 0xDEADBEEFCAFEF00DULL}) {
        for (const std::uint64_t key64 : bloom_test::test_keys64(300)) {
            const auto key32 = static_cast<std::uint32_t>(key64);
            unsigned char b4[4], b8[8];
            bloom_test::le_bytes(key32, b4);
            bloom_test::le_bytes(key64, b8);
            INFO("key " << key64 << ", seed " << seed);
            const auto s32 = static_cast<std::uint32_t>(seed);
            CHECK(bloom::hash_u32(bloom::xxh32{}, key32, seed) ==
                  bloom_test::libxxhash_xxh32(b4, 4, s32));
            CHECK(bloom::hash_u64(bloom::xxh32{}, key64, seed) ==
                  bloom_test::libxxhash_xxh32(b8, 8, s32));
            CHECK(bloom::hash_u32(bloom::xxh64{}, key32, seed) ==
                  bloom_test::libxxhash_xxh64(b4, 4, seed));
            CHECK(bloom::hash_u64(bloom::xxh64{}, key64, seed) ==
                  bloom_test::libxxhash_xxh64(b8, 8, seed));
            CHECK(bloom::hash_u32(bloom::xxh3{}, key32, seed) ==
                  bloom_test::libxxhash_xxh3(b4, 4, seed));
            CHECK(bloom::hash_u64(bloom::xxh3{}, key64, seed) ==
                  bloom_test::libxxhash_xxh3(b8, 8, seed));
        }
    }
}

TEST_CASE("xxh32 uses only the low 32 bits of the seed", "[xxhash]") {
    const char key[] = "seed truncation";
    for (const std::uint64_t seed : bloom_test::test_seeds())
        CHECK(bloom::xxh32{}(key, sizeof key - 1, seed | 0x1234000000000000ULL) ==
              bloom::xxh32{}(key, sizeof key - 1, seed & 0xFFFFFFFFULL));
}

TEST_CASE("xxHash known-answer vectors", "[xxhash][kat]") {
    // xxHash's published values for "" and "abc" with seed 0; the others pinned from libxxhash.
    struct kat {
        const char* input;
        std::uint64_t seed;
        std::uint32_t x32;
        std::uint64_t x64, x3;
    };
    const kat kats[] = {
        {"", 0, 0x02CC5D05U, 0xEF46DB3751D8E999ULL, 0x2D06800538D394C2ULL},
        {"abc", 0, 0x32D153FFU, 0x44BC2CF5AD770999ULL, 0x78AF5F94892F3950ULL},
        {"", 42, 0xD5BE6EB8U, 0x98B1582B0977E704ULL, 0xB029411FF43D84D2ULL},
        {"test", 1, 0xF782311EU, 0x99EBBF9BA48F4C5DULL, 0x5B00338B1C0982B5ULL},
        {"Hello, world!", 0x9747B28CULL, 0xCFB1A2E3U, 0x036B52BB82642168ULL,
         0xB34B8F65CB2EC509ULL},
        {"The quick brown fox jumps over the lazy dog", 0, 0xE85EA4DEU, 0x0B242D361FDA71BCULL,
         0xCE7D19A5418FB365ULL},
        {"0123456789abcdef0123456789abcdef0", 0xDEADBEEFCAFEF00DULL, 0xEE489142U,
         0xD52D22F094D5D675ULL, 0x135C5E432E8EC403ULL},
    };
    for (const kat& k : kats) {
        INFO('"' << k.input << "\", seed " << k.seed);
        const std::size_t len = std::strlen(k.input);
        CHECK(bloom::xxh32{}(k.input, len, k.seed) == k.x32);
        CHECK(bloom::xxh64{}(k.input, len, k.seed) == k.x64);
        CHECK(bloom::xxh3{}(k.input, len, k.seed) == k.x3);
    }
    CHECK(bloom::hash_u32(bloom::xxh3{}, 0x01234567U, 0) == 0xD6F50E07E55D6AD9ULL);
    CHECK(bloom::hash_u64(bloom::xxh3{}, 0x0123456789ABCDEFULL, 42) == 0xAD2AD1AC61C2919AULL);
}

TEST_CASE("xxHash policy traits", "[xxhash][traits]") {
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::xxh32>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::xxh64>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::xxh3>);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::xxh32> == 32);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::xxh64> == 64);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::xxh3> == 64);
    CHECK(std::string(bloom::hash_name<bloom::xxh32>()) == "xxh32");
    CHECK(std::string(bloom::hash_name<bloom::xxh64>()) == "xxh64");
    CHECK(std::string(bloom::hash_name<bloom::xxh3>()) == "xxh3");
}
