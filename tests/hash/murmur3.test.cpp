// MurmurHash3 policies, bit for bit against Debian's libmurmurhash (lmmh_x86_32, lmmh_x64_128).
#include <bloom/hash/murmur3.hpp>

#include <catch2/catch.hpp>
#include <murmurhash.h>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "hash_test_util.hpp"

namespace {

std::uint32_t ref_x86_32(const void* data, std::size_t len, std::uint32_t seed) {
    std::uint32_t out[1] = {0};
    lmmh_x86_32(data, static_cast<unsigned int>(len), seed, out);
    return out[0];
}

struct ref128 {
    std::uint64_t low, high;
};
ref128 ref_x64_128(const void* data, std::size_t len, std::uint32_t seed) {
    std::uint64_t out[2] = {0, 0};
    lmmh_x64_128(data, static_cast<unsigned int>(len), seed, out);
    return {out[0], out[1]};
}

std::string hex(std::uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

}  // namespace

TEST_CASE("murmur3_32 equals lmmh_x86_32 on random keys of every length 0..64 and 40 seeds",
          "[murmur3]") {
    const bloom::murmur3_32 h;
    std::size_t compared = 0, mismatches = 0;
    for (std::size_t len = 0; len <= 64; ++len) {
        for (const std::uint64_t seed : bloom_test::test_seeds()) {
            for (int rep = 0; rep < 8; ++rep) {
                // One spare byte in front, so half of the keys start at an odd address.
                const auto buf = bloom_test::random_bytes(len + 1);
                const unsigned char* key = buf.data() + (rep & 1);
                const std::uint64_t ours = h(key, len, seed);
                const std::uint32_t ref = ref_x86_32(key, len, static_cast<std::uint32_t>(seed));
                ++compared;
                if (ours != ref) {
                    ++mismatches;
                    INFO("len " << len << ", seed " << hex(seed) << ": ours " << hex(ours)
                                << ", libmurmurhash " << hex(ref));
                    CHECK(ours == ref);
                }
            }
        }
    }
    CHECK(compared == 65u * 40u * 8u);
    REQUIRE(mismatches == 0);
}

TEST_CASE("murmur3_128 equals lmmh_x64_128 (both words) on every length 0..64 and 40 seeds",
          "[murmur3]") {
    const bloom::murmur3_128 h;
    std::size_t mismatches = 0;
    for (std::size_t len = 0; len <= 64; ++len) {
        for (const std::uint64_t seed : bloom_test::test_seeds()) {
            for (int rep = 0; rep < 8; ++rep) {
                const auto buf = bloom_test::random_bytes(len + 1);
                const unsigned char* key = buf.data() + (rep & 1);
                const auto s32 = static_cast<std::uint32_t>(seed);
                const ref128 ref = ref_x64_128(key, len, s32);
                const auto full = bloom::detail::murmur3_x64_128(key, len, s32);
                const std::uint64_t ours = h(key, len, seed);
                if (ours != ref.low || full.low != ref.low || full.high != ref.high) {
                    ++mismatches;
                    INFO("len " << len << ", seed " << hex(seed) << ": ours " << hex(full.low)
                                << ":" << hex(full.high) << ", libmurmurhash " << hex(ref.low)
                                << ":" << hex(ref.high));
                    CHECK(ours == ref.low);
                    CHECK(full.high == ref.high);
                }
            }
        }
    }
    REQUIRE(mismatches == 0);
}

TEST_CASE("murmur3 policies equal libmurmurhash on long keys", "[murmur3]") {
    const bloom::murmur3_32 h32;
    const bloom::murmur3_128 h128;
    for (const std::size_t len : {65u, 100u, 127u, 128u, 255u, 256u, 1000u, 4097u}) {
        const auto key = bloom_test::random_bytes(len);
        for (const std::uint64_t seed : {0ULL, 7ULL, 0xFFFFFFFFULL}) {
            INFO("len " << len << ", seed " << seed);
            const auto s32 = static_cast<std::uint32_t>(seed);
            CHECK(h32(key.data(), len, seed) == ref_x86_32(key.data(), len, s32));
            CHECK(h128(key.data(), len, seed) == ref_x64_128(key.data(), len, s32).low);
        }
    }
}

TEST_CASE("murmur3 uses only the low 32 bits of the seed", "[murmur3]") {
    const bloom::murmur3_32 h32;
    const bloom::murmur3_128 h128;
    const char key[] = "seed truncation";
    const std::size_t len = sizeof key - 1;
    for (const std::uint64_t seed : bloom_test::test_seeds()) {
        const std::uint64_t high = seed | 0xABCD000000000000ULL;
        CHECK(h32(key, len, high) == ref_x86_32(key, len, static_cast<std::uint32_t>(seed)));
        CHECK(h128(key, len, high) == ref_x64_128(key, len, static_cast<std::uint32_t>(seed)).low);
        CHECK(h32(std::uint32_t{99}, high) == h32(std::uint32_t{99}, seed & 0xFFFFFFFFULL));
    }
}

TEST_CASE("murmur3_32 integer fast paths equal the byte path and the library on LE bytes",
          "[murmur3][fast-path]") {
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::murmur3_32>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::murmur3_32>);
    const bloom::murmur3_32 h;
    std::size_t mismatches = 0;
    const auto keys = bloom_test::test_keys64(2000);
    for (const std::uint64_t seed : bloom_test::test_seeds()) {
        for (const std::uint64_t key64 : keys) {
            const auto key32 = static_cast<std::uint32_t>(key64);
            unsigned char b4[4], b8[8];
            bloom_test::le_bytes(key32, b4);
            bloom_test::le_bytes(key64, b8);
            const auto s32 = static_cast<std::uint32_t>(seed);
            const bool ok = h(key32, seed) == ref_x86_32(b4, 4, s32) &&
                            h(key32, seed) == h(b4, 4, seed) &&
                            bloom::hash_u32(h, key32, seed) == ref_x86_32(b4, 4, s32) &&
                            h(key64, seed) == ref_x86_32(b8, 8, s32) &&
                            h(key64, seed) == h(b8, 8, seed) &&
                            bloom::hash_u64(h, key64, seed) == ref_x86_32(b8, 8, s32);
            if (!ok) {
                ++mismatches;
                INFO("key " << hex(key64) << ", seed " << hex(seed));
                CHECK(h(key32, seed) == ref_x86_32(b4, 4, s32));
                CHECK(h(key64, seed) == ref_x86_32(b8, 8, s32));
            }
        }
    }
    REQUIRE(mismatches == 0);
}

TEST_CASE("murmur3_128 integer fast paths equal the byte path and the library on LE bytes",
          "[murmur3][fast-path]") {
    // tests/hash/fast_paths.test.cpp tries many more keys and seeds; this is the quick check.
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::murmur3_128>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::murmur3_128>);
    const bloom::murmur3_128 h;
    for (const std::uint64_t key64 : bloom_test::test_keys64(200)) {
        const auto key32 = static_cast<std::uint32_t>(key64);
        unsigned char b4[4], b8[8];
        bloom_test::le_bytes(key32, b4);
        bloom_test::le_bytes(key64, b8);
        INFO("key " << hex(key64));
        CHECK(h(key32, 5) == ref_x64_128(b4, 4, 5).low);
        CHECK(h(key64, 5) == ref_x64_128(b8, 8, 5).low);
        CHECK(bloom::hash_u32(h, key32, 5) == h(b4, 4, 5));
        CHECK(bloom::hash_u64(h, key64, 5) == h(b8, 8, 5));
    }
}

TEST_CASE("murmur3 known-answer vectors", "[murmur3][kat]") {
    // Published MurmurHash3_x86_32 values, confirmed against libmurmurhash, and pinned values of
    // x64_128 (low word) taken from libmurmurhash.
    struct kat {
        const char* input;
        std::uint64_t seed;
        std::uint32_t x86_32;
        std::uint64_t x64_128_low;
    };
    const kat kats[] = {
        {"", 0, 0x00000000U, 0x0000000000000000ULL},
        {"", 1, 0x514E28B7U, 0x4610ABE56EFF5CB5ULL},
        {"a", 0, 0x3C2569B2U, 0x85555565F6597889ULL},
        {"abc", 42, 0x4E4F1E68U, 0x0D85089FB3CFF7D6ULL},
        {"test", 0, 0xBA6BD213U, 0xAC7D28CC74BDE19DULL},
        {"test", 0x9747B28CULL, 0x704B81DCU, 0xA066A6B76C553018ULL},
        {"Hello, world!", 0, 0xC0363E43U, 0xF1512DD1D2D665DFULL},
        {"Hello, world!", 0x9747B28CULL, 0x24884CBAU, 0xEDC485D662A8392EULL},
        {"The quick brown fox jumps over the lazy dog", 0, 0x2E4FF723U, 0xE34BBC7BBC071B6CULL},
        {"0123456789abcdef0123456789abcdef0", 0xDEADBEEFCAFEF00DULL, 0x23BABBB4U,
         0x6DAF2F7A389399A1ULL},
    };
    for (const kat& k : kats) {
        INFO('"' << k.input << "\", seed " << hex(k.seed));
        const std::size_t len = std::strlen(k.input);
        CHECK(bloom::murmur3_32{}(k.input, len, k.seed) == k.x86_32);
        CHECK(bloom::murmur3_128{}(k.input, len, k.seed) == k.x64_128_low);
    }
    // The integer fast paths: 0x01234567 (4 bytes) and 0x0123456789ABCDEF (8 bytes).
    CHECK(bloom::murmur3_32{}(std::uint32_t{0x01234567U}, 0) == 0x76980380U);
    CHECK(bloom::murmur3_32{}(std::uint64_t{0x0123456789ABCDEFULL}, 42) == 0x272BCE7DU);
    CHECK(bloom::hash_u32(bloom::murmur3_128{}, 0x01234567U, 0) == 0x42EBE9D38D3B0C44ULL);
    CHECK(bloom::hash_u64(bloom::murmur3_128{}, 0x0123456789ABCDEFULL, 42) ==
          0xCCBFE31EE09A27DBULL);
}

TEST_CASE("murmur3 policy traits", "[murmur3][traits]") {
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::murmur3_32>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::murmur3_128>);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::murmur3_32> == 32);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::murmur3_128> == 64);
    CHECK(std::string(bloom::hash_name<bloom::murmur3_32>()) == "murmur3_32");
    CHECK(std::string(bloom::hash_name<bloom::murmur3_128>()) == "murmur3_128");
    // A 32-bit result never sets the high bits.
    for (const std::uint64_t key : bloom_test::test_keys64(100))
        CHECK(bloom::murmur3_32{}(key, 0xFFFFFFFFFFFFFFFFULL) <= 0xFFFFFFFFULL);
}
