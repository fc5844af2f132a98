// The integer fast paths of xxh32, xxh64, xxh3 and murmur3_128 (4- and 8-byte keys), bit for bit
// against the policy's own byte path on the key's little-endian bytes and against the reference
// libraries: the compiled libxxhash (XXH32 / XXH64 / XXH3_64bits_withSeed, reached through
// xxhash_library.test.cpp) and Debian's libmurmurhash (lmmh_x64_128, the MurmurHash3_x64_128 of
// its old interface). Then, for every policy this build has, hash_u32/hash_u64 against the byte
// path, which also covers the little-endian buffer that policy.hpp builds for policies without a
// fast path.
#include <bloom/hash/all.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include <catch2/catch.hpp>
#include <murmurhash.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hash_test_util.hpp"
#include "xxhash_library.hpp"

namespace {

std::string hex(std::uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

// test_seeds() (0, 1, 2^31 - 1, 2^32 - 1, 2^32, 2^63, 2^64 - 1 and random 64-bit ones), seeds
// that differ only above bit 31 (the 32-bit-seed policies must ignore those bits), and more random
// 64-bit seeds: almost all of them above 2^32.
std::vector<std::uint64_t> seeds() {
    std::vector<std::uint64_t> s = bloom_test::test_seeds();
    for (const std::uint64_t v : {0x100000001ULL, 0x1FFFFFFFFULL, 0xFFFFFFFF00000000ULL,
                                  0xFFFFFFFF00000001ULL, 0x123456789ULL, 0xABCDEF0000000042ULL,
                                  0x0000000100000042ULL, 0x8000000080000000ULL})
        s.push_back(v);
    std::mt19937_64 engine(0xFA57'5EED);
    while (s.size() < 120) s.push_back(engine());
    return s;
}

// test_keys64() (0, 1, 2^32 - 1, 2^32, 2^63, 2^64 - 1, ...) and random 64-bit keys; a few more
// whose halves are equal or all-ones, since the 8-byte paths split the key into 32-bit words.
std::vector<std::uint64_t> keys() {
    std::vector<std::uint64_t> k = bloom_test::test_keys64(1500);
    for (const std::uint64_t v : {0xFFFFFFFF00000000ULL, 0x00000001FFFFFFFFULL,
                                  0x1234567812345678ULL, 0x7FFFFFFFFFFFFFFFULL,
                                  0xFFFFFFFFFFFFFFFEULL, 0x80000000FFFFFFFFULL})
        k.push_back(v);
    return k;
}

std::uint64_t ref_murmur3_128(const void* data, std::size_t len, std::uint64_t seed) {
    std::uint64_t out[2] = {0, 0};
    lmmh_x64_128(data, static_cast<unsigned int>(len), static_cast<std::uint32_t>(seed), out);
    return out[0];
}
std::uint64_t ref_xxh32(const void* data, std::size_t len, std::uint64_t seed) {
    return bloom_test::libxxhash_xxh32(data, len, static_cast<std::uint32_t>(seed));
}
std::uint64_t ref_xxh64(const void* data, std::size_t len, std::uint64_t seed) {
    return bloom_test::libxxhash_xxh64(data, len, seed);
}
std::uint64_t ref_xxh3(const void* data, std::size_t len, std::uint64_t seed) {
    return bloom_test::libxxhash_xxh3(data, len, seed);
}

using ref_fn = std::uint64_t (*)(const void*, std::size_t, std::uint64_t);

// For every (key, seed): the 4-byte key (the low word of key64) and the 8-byte key through the
// fast path, through hash_u32/hash_u64, through the byte path and through the reference. Returns
// the number of (key, seed) pairs with any disagreement; reports the first few in full.
template <class H>
std::size_t mismatches(ref_fn ref, std::size_t& compared) {
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<H>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<H>);
    const H h;
    std::size_t bad = 0;
    const auto all_keys = keys();
    for (const std::uint64_t seed : seeds()) {
        for (const std::uint64_t key64 : all_keys) {
            const auto key32 = static_cast<std::uint32_t>(key64);
            unsigned char b4[4], b8[8];
            bloom_test::le_bytes(key32, b4);
            bloom_test::le_bytes(key64, b8);
            const std::uint64_t fast4 = h(key32, seed), fast8 = h(key64, seed);
            const std::uint64_t via4 = bloom::hash_u32(h, key32, seed);
            const std::uint64_t via8 = bloom::hash_u64(h, key64, seed);
            const std::uint64_t bytes4 = h(b4, 4, seed), bytes8 = h(b8, 8, seed);
            const std::uint64_t ref4 = ref(b4, 4, seed), ref8 = ref(b8, 8, seed);
            ++compared;
            if (fast4 == ref4 && via4 == ref4 && bytes4 == ref4 && fast8 == ref8 &&
                via8 == ref8 && bytes8 == ref8)
                continue;
            if (++bad > 5) continue;
            INFO(bloom::hash_name<H>() << ": key " << hex(key64) << ", seed " << hex(seed));
            CHECK(hex(fast4) == hex(ref4));
            CHECK(hex(via4) == hex(ref4));
            CHECK(hex(bytes4) == hex(ref4));
            CHECK(hex(fast8) == hex(ref8));
            CHECK(hex(via8) == hex(ref8));
            CHECK(hex(bytes8) == hex(ref8));
        }
    }
    return bad;
}

constexpr std::size_t expected_pairs = 120u * (12u + 1500u + 6u);

}  // namespace

TEST_CASE("xxh3 fast paths equal its byte path and libxxhash XXH3_64bits_withSeed",
          "[fast-path][xxhash]") {
    REQUIRE(bloom_test::libxxhash_linked());
    std::size_t compared = 0;
    REQUIRE(mismatches<bloom::xxh3>(ref_xxh3, compared) == 0);
    CHECK(compared == expected_pairs);
}

TEST_CASE("xxh64 fast paths equal its byte path and libxxhash XXH64", "[fast-path][xxhash]") {
    REQUIRE(bloom_test::libxxhash_linked());
    std::size_t compared = 0;
    REQUIRE(mismatches<bloom::xxh64>(ref_xxh64, compared) == 0);
    CHECK(compared == expected_pairs);
}

TEST_CASE("xxh32 fast paths equal its byte path and libxxhash XXH32 (low 32 seed bits)",
          "[fast-path][xxhash]") {
    REQUIRE(bloom_test::libxxhash_linked());
    std::size_t compared = 0;
    REQUIRE(mismatches<bloom::xxh32>(ref_xxh32, compared) == 0);
    CHECK(compared == expected_pairs);
}

TEST_CASE("murmur3_128 fast paths equal its byte path and lmmh_x64_128 (low word)",
          "[fast-path][murmur3]") {
    std::size_t compared = 0;
    REQUIRE(mismatches<bloom::murmur3_128>(ref_murmur3_128, compared) == 0);
    CHECK(compared == expected_pairs);
}

TEST_CASE("integer fast paths: pinned values from the reference libraries", "[fast-path][kat]") {
    // Printed by libxxhash 0.8.1 and libmurmurhash 1.5 for the little-endian bytes of the keys: a
    // regression check that needs neither library.
    const std::uint32_t k4 = 0x01234567U;
    const std::uint64_t k8 = 0x0123456789ABCDEFULL;
    const std::uint64_t seed = 0xDEADBEEFCAFEF00DULL;
    CHECK(hex(bloom::xxh32{}(k4, 0)) == "0xf6bb7309");
    CHECK(hex(bloom::xxh32{}(k8, seed)) == "0x86c5b448");
    CHECK(hex(bloom::xxh64{}(k4, 0)) == "0xedd05c645563e680");
    CHECK(hex(bloom::xxh64{}(k8, seed)) == "0xb8764fefd908983f");
    CHECK(hex(bloom::xxh3{}(k4, 0)) == "0xd6f50e07e55d6ad9");
    CHECK(hex(bloom::xxh3{}(k8, 42)) == "0xad2ad1ac61c2919a");
    CHECK(hex(bloom::xxh3{}(k8, seed)) == "0xc9533981aef2e3d0");
    CHECK(hex(bloom::murmur3_128{}(k4, 0)) == "0x42ebe9d38d3b0c44");
    CHECK(hex(bloom::murmur3_128{}(k8, 42)) == "0xccbfe31ee09a27db");
    CHECK(hex(bloom::murmur3_128{}(k8, seed)) == "0xb92ed894f41fac89");
}

TEST_CASE("every policy: hash_u32/hash_u64 equal the byte path on the little-endian bytes",
          "[fast-path][all]") {
    bloom::for_each_policy([](auto policy) {
        using H = decltype(policy);
        std::size_t bad = 0;
        for (const std::uint64_t seed : {0ULL, 7ULL, 0xFFFFFFFFULL, 0x100000000ULL,
                                         0xFFFFFFFFFFFFFFFFULL, 0x9E3779B97F4A7C15ULL}) {
            for (const std::uint64_t key64 : bloom_test::test_keys64(100)) {
                const auto key32 = static_cast<std::uint32_t>(key64);
                unsigned char b4[4], b8[8];
                bloom_test::le_bytes(key32, b4);
                bloom_test::le_bytes(key64, b8);
                const bool ok = bloom::hash_u32(policy, key32, seed) == policy(b4, 4, seed) &&
                                bloom::hash_u64(policy, key64, seed) == policy(b8, 8, seed);
                if (!ok && ++bad <= 3) {
                    INFO(bloom::hash_name<H>() << ": key " << hex(key64) << ", seed "
                                               << hex(seed));
                    CHECK(bloom::hash_u32(policy, key32, seed) == policy(b4, 4, seed));
                    CHECK(bloom::hash_u64(policy, key64, seed) == policy(b8, 8, seed));
                }
            }
        }
        INFO(bloom::hash_name<H>());
        CHECK(bad == 0);
    });
}
