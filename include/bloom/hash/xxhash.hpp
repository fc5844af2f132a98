// xxHash policies (xxh32, xxh64, xxh3), inlined from Debian's libxxhash headers.
// This is the only bloom header that defines XXH_INLINE_ALL: every xxHash symbol it pulls in is
// static and renamed, so a program may also link libxxhash without clashes.
//
// The byte paths call xxHash. The integer fast paths (4- and 8-byte keys) are the algorithms'
// fixed-length branches written out here from the xxHash specification (XXH32 and XXH64: seed,
// length, one or two 4/8-byte lanes of the finalisation, avalanche; XXH3: its 4..8-byte branch,
// which keys the input with two words of the default secret and the seed, then the rrmxmx mix).
// Nothing in them depends on the key's address or on a run-time length, so they compile to a few
// multiplies even at -O2, where the byte path on a stack buffer does not fold (docs/hashing.md).
// tests/hash/fast_paths.test.cpp checks them bit for bit against the byte path and against
// the compiled libxxhash.
#pragma once

#include <cstddef>
#include <cstdint>

#include <bloom/hash/policy.hpp>

#ifndef XXH_INLINE_ALL
#  define XXH_INLINE_ALL
#  define BLOOM_DEFINED_XXH_INLINE_ALL
#endif
#include <xxhash.h>
#ifdef BLOOM_DEFINED_XXH_INLINE_ALL
#  undef XXH_INLINE_ALL
#  undef BLOOM_DEFINED_XXH_INLINE_ALL
#endif

namespace bloom {
namespace detail {

constexpr std::uint32_t xxh_bswap32(std::uint32_t x) noexcept {
    return (x >> 24) | ((x >> 8) & 0xFF00U) | ((x << 8) & 0xFF0000U) | (x << 24);
}

// The primes of XXH32 and XXH64.
inline constexpr std::uint32_t xxh32_p1 = 0x9E3779B1U;
inline constexpr std::uint32_t xxh32_p2 = 0x85EBCA77U;
inline constexpr std::uint32_t xxh32_p3 = 0xC2B2AE3DU;
inline constexpr std::uint32_t xxh32_p4 = 0x27D4EB2FU;
inline constexpr std::uint32_t xxh32_p5 = 0x165667B1U;
inline constexpr std::uint64_t xxh64_p1 = 0x9E3779B185EBCA87ULL;
inline constexpr std::uint64_t xxh64_p2 = 0xC2B2AE3D27D4EB4FULL;
inline constexpr std::uint64_t xxh64_p3 = 0x165667B19E3779F9ULL;
inline constexpr std::uint64_t xxh64_p4 = 0x85EBCA77C2B2AE63ULL;
inline constexpr std::uint64_t xxh64_p5 = 0x27D4EB2F165667C5ULL;
#if defined(XXH_PRIME32_1) && defined(XXH_PRIME64_1)
static_assert(xxh32_p1 == XXH_PRIME32_1 && xxh32_p2 == XXH_PRIME32_2 &&
                  xxh32_p3 == XXH_PRIME32_3 && xxh32_p4 == XXH_PRIME32_4 &&
                  xxh32_p5 == XXH_PRIME32_5,
              "bloom: XXH32 primes differ from <xxhash.h>");
static_assert(xxh64_p1 == XXH_PRIME64_1 && xxh64_p2 == XXH_PRIME64_2 &&
                  xxh64_p3 == XXH_PRIME64_3 && xxh64_p4 == XXH_PRIME64_4 &&
                  xxh64_p5 == XXH_PRIME64_5,
              "bloom: XXH64 primes differ from <xxhash.h>");
#endif

// XXH32 finalisation of 4 bytes (one lane of XXH32's tail loop), and its avalanche.
constexpr std::uint32_t xxh32_lane4(std::uint32_t h, std::uint32_t lane) noexcept {
    return rotl32(h + lane * xxh32_p3, 17) * xxh32_p4;
}
constexpr std::uint32_t xxh32_avalanche(std::uint32_t h) noexcept {
    h ^= h >> 15;
    h *= xxh32_p2;
    h ^= h >> 13;
    h *= xxh32_p3;
    return h ^ (h >> 16);
}

// XXH64's avalanche.
constexpr std::uint64_t xxh64_avalanche(std::uint64_t h) noexcept {
    h ^= h >> 33;
    h *= xxh64_p2;
    h ^= h >> 29;
    h *= xxh64_p3;
    return h ^ (h >> 32);
}

// XXH3's 4..8-byte branch keys the input with bytes 8..23 of the default secret (kSecret, 192
// bytes, from FARSH): the little-endian words at offsets 8 and 16, xor-ed.
constexpr std::uint64_t xxh3_le64(const unsigned char (&b)[8]) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
    return v;
}
inline constexpr unsigned char xxh3_secret_8[8] = {0x7c, 0x01, 0x81, 0x2c,
                                                   0xf7, 0x21, 0xad, 0x1c};
inline constexpr unsigned char xxh3_secret_16[8] = {0xde, 0xd4, 0x6d, 0xe9,
                                                    0x83, 0x90, 0x97, 0xdb};
inline constexpr std::uint64_t xxh3_4to8_mask =
    xxh3_le64(xxh3_secret_8) ^ xxh3_le64(xxh3_secret_16);
static_assert(xxh3_4to8_mask == 0xC73AB174C5ECD5A2ULL, "bloom: XXH3 secret words mistyped");

// The 4..8-byte branch for a key whose first and last 4 bytes (little-endian) are `first` and
// `last` (the same word when len = 4): the seed's low word byte-swapped into its high half,
// bitflip = secret words - seed, keyed = (last + first * 2^32) ^ bitflip, then rrmxmx with len.
BLOOM_ALWAYS_INLINE std::uint64_t xxh3_4to8(std::uint32_t first, std::uint32_t last,
                                            std::uint64_t len, std::uint64_t seed) noexcept {
    seed ^= static_cast<std::uint64_t>(xxh_bswap32(static_cast<std::uint32_t>(seed))) << 32;
    const std::uint64_t bitflip = xxh3_4to8_mask - seed;
    const std::uint64_t input64 =
        static_cast<std::uint64_t>(last) + (static_cast<std::uint64_t>(first) << 32);
    std::uint64_t h = input64 ^ bitflip;
    // rrmxmx (Pelle Evensen's mix, as XXH3 uses it).
    h ^= rotl64(h, 49) ^ rotl64(h, 24);
    h *= 0x9FB21C651E98DF25ULL;
    h ^= (h >> 35) + len;
    h *= 0x9FB21C651E98DF25ULL;
    return h ^ (h >> 28);
}

}  // namespace detail

// XXH32: a 32-bit result; uses the low 32 bits of the seed.
struct xxh32 {
    static constexpr unsigned bits = 32;
    static constexpr const char* name = "xxh32";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return XXH32(data, len, static_cast<XXH32_hash_t>(seed));
    }
    // len < 16: h = seed + prime5 + len, then one 4-byte lane of the tail per 4 bytes.
    std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept {
        const std::uint32_t h = static_cast<std::uint32_t>(seed) + detail::xxh32_p5 + 4U;
        return detail::xxh32_avalanche(detail::xxh32_lane4(h, key));
    }
    std::uint64_t operator()(std::uint64_t key, std::uint64_t seed) const noexcept {
        std::uint32_t h = static_cast<std::uint32_t>(seed) + detail::xxh32_p5 + 8U;
        h = detail::xxh32_lane4(h, static_cast<std::uint32_t>(key));
        h = detail::xxh32_lane4(h, static_cast<std::uint32_t>(key >> 32));
        return detail::xxh32_avalanche(h);
    }
};

// XXH64.
struct xxh64 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "xxh64";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return XXH64(data, len, seed);
    }
    // len < 32: h = seed + prime5 + len, then the tail: a 4-byte step for 4 bytes, an 8-byte
    // round for 8.
    std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept {
        std::uint64_t h = seed + detail::xxh64_p5 + 4U;
        h ^= static_cast<std::uint64_t>(key) * detail::xxh64_p1;
        h = detail::rotl64(h, 23) * detail::xxh64_p2 + detail::xxh64_p3;
        return detail::xxh64_avalanche(h);
    }
    std::uint64_t operator()(std::uint64_t key, std::uint64_t seed) const noexcept {
        std::uint64_t h = seed + detail::xxh64_p5 + 8U;
        h ^= detail::rotl64(key * detail::xxh64_p2, 31) * detail::xxh64_p1;
        h = detail::rotl64(h, 27) * detail::xxh64_p1 + detail::xxh64_p4;
        return detail::xxh64_avalanche(h);
    }
};

// XXH3_64bits_withSeed: the fastest of the three on short keys. 4- and 8-byte keys take its
// 4..8-byte branch: first and last 4 bytes are the same word for a 4-byte key, the low and the
// high word for an 8-byte one.
struct xxh3 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "xxh3";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return XXH3_64bits_withSeed(data, len, seed);
    }
    std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept {
        return detail::xxh3_4to8(key, key, 4U, seed);
    }
    std::uint64_t operator()(std::uint64_t key, std::uint64_t seed) const noexcept {
        return detail::xxh3_4to8(static_cast<std::uint32_t>(key),
                                 static_cast<std::uint32_t>(key >> 32), 8U, seed);
    }
};

}  // namespace bloom
