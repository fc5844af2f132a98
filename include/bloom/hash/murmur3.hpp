// MurmurHash3 (Austin Appleby's x86_32 and x64_128 variants), written inline from the algorithm's
// specification so that the hot path needs no library call. tests/hash/murmur3.test.cpp checks
// every variant bit-for-bit against Debian's libmurmurhash.
//
// MurmurHash3 takes a 32-bit seed: both policies use the low 32 bits of the 64-bit seed.
#pragma once

#include <cstddef>
#include <cstdint>

#include <bloom/hash/policy.hpp>

namespace bloom {
namespace detail {

constexpr std::uint32_t murmur3_fmix32(std::uint32_t h) noexcept {
    h ^= h >> 16;
    h *= 0x85EBCA6BU;
    h ^= h >> 13;
    h *= 0xC2B2AE35U;
    h ^= h >> 16;
    return h;
}

constexpr std::uint64_t murmur3_fmix64(std::uint64_t k) noexcept {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ULL;
    k ^= k >> 33;
    return k;
}

// One 4-byte block of the x86_32 body.
BLOOM_ALWAYS_INLINE std::uint32_t murmur3_32_block(std::uint32_t h, std::uint32_t k) noexcept {
    k *= 0xCC9E2D51U;
    k = rotl32(k, 15);
    k *= 0x1B873593U;
    h ^= k;
    h = rotl32(h, 13);
    return h * 5U + 0xE6546B64U;
}

inline std::uint32_t murmur3_x86_32(const void* key, std::size_t len, std::uint32_t seed) noexcept {
    const auto* data = static_cast<const unsigned char*>(key);
    const std::size_t nblocks = len / 4;
    std::uint32_t h = seed;
    for (std::size_t i = 0; i < nblocks; ++i) h = murmur3_32_block(h, load_le32(data + 4 * i));

    const unsigned char* tail = data + 4 * nblocks;
    std::uint32_t k = 0;
    switch (len & 3U) {
        case 3: k ^= static_cast<std::uint32_t>(tail[2]) << 16; [[fallthrough]];
        case 2: k ^= static_cast<std::uint32_t>(tail[1]) << 8; [[fallthrough]];
        case 1:
            k ^= tail[0];
            k *= 0xCC9E2D51U;
            k = rotl32(k, 15);
            k *= 0x1B873593U;
            h ^= k;
            break;
        default: break;
    }
    h ^= static_cast<std::uint32_t>(len);
    return murmur3_fmix32(h);
}

// Both 64-bit halves of MurmurHash3_x64_128.
struct murmur3_128_result {
    std::uint64_t low;
    std::uint64_t high;
};

inline murmur3_128_result murmur3_x64_128(const void* key, std::size_t len,
                                          std::uint32_t seed) noexcept {
    constexpr std::uint64_t c1 = 0x87C37B91114253D5ULL;
    constexpr std::uint64_t c2 = 0x4CF5AD432745937FULL;
    const auto* data = static_cast<const unsigned char*>(key);
    const std::size_t nblocks = len / 16;
    std::uint64_t h1 = seed;
    std::uint64_t h2 = seed;

    for (std::size_t i = 0; i < nblocks; ++i) {
        std::uint64_t k1 = load_le64(data + 16 * i);
        std::uint64_t k2 = load_le64(data + 16 * i + 8);
        k1 *= c1;
        k1 = rotl64(k1, 31);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52DCE729ULL;
        k2 *= c2;
        k2 = rotl64(k2, 33);
        k2 *= c1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495AB5ULL;
    }

    const unsigned char* tail = data + 16 * nblocks;
    std::uint64_t k1 = 0;
    std::uint64_t k2 = 0;
    switch (len & 15U) {
        case 15: k2 ^= static_cast<std::uint64_t>(tail[14]) << 48; [[fallthrough]];
        case 14: k2 ^= static_cast<std::uint64_t>(tail[13]) << 40; [[fallthrough]];
        case 13: k2 ^= static_cast<std::uint64_t>(tail[12]) << 32; [[fallthrough]];
        case 12: k2 ^= static_cast<std::uint64_t>(tail[11]) << 24; [[fallthrough]];
        case 11: k2 ^= static_cast<std::uint64_t>(tail[10]) << 16; [[fallthrough]];
        case 10: k2 ^= static_cast<std::uint64_t>(tail[9]) << 8; [[fallthrough]];
        case 9:
            k2 ^= static_cast<std::uint64_t>(tail[8]);
            k2 *= c2;
            k2 = rotl64(k2, 33);
            k2 *= c1;
            h2 ^= k2;
            [[fallthrough]];
        case 8: k1 ^= static_cast<std::uint64_t>(tail[7]) << 56; [[fallthrough]];
        case 7: k1 ^= static_cast<std::uint64_t>(tail[6]) << 48; [[fallthrough]];
        case 6: k1 ^= static_cast<std::uint64_t>(tail[5]) << 40; [[fallthrough]];
        case 5: k1 ^= static_cast<std::uint64_t>(tail[4]) << 32; [[fallthrough]];
        case 4: k1 ^= static_cast<std::uint64_t>(tail[3]) << 24; [[fallthrough]];
        case 3: k1 ^= static_cast<std::uint64_t>(tail[2]) << 16; [[fallthrough]];
        case 2: k1 ^= static_cast<std::uint64_t>(tail[1]) << 8; [[fallthrough]];
        case 1:
            k1 ^= static_cast<std::uint64_t>(tail[0]);
            k1 *= c1;
            k1 = rotl64(k1, 31);
            k1 *= c2;
            h1 ^= k1;
            break;
        default: break;
    }

    h1 ^= static_cast<std::uint64_t>(len);
    h2 ^= static_cast<std::uint64_t>(len);
    h1 += h2;
    h2 += h1;
    h1 = murmur3_fmix64(h1);
    h2 = murmur3_fmix64(h2);
    h1 += h2;
    h2 += h1;
    return {h1, h2};
}

// MurmurHash3_x64_128 of a key of at most 8 bytes, already read little-endian into `k1`: no
// 16-byte block, only the first tail word (the k2 word is empty), then the finalisation. Low word.
BLOOM_ALWAYS_INLINE std::uint64_t murmur3_x64_128_short(std::uint64_t k1, std::uint64_t len,
                                                        std::uint32_t seed) noexcept {
    k1 *= 0x87C37B91114253D5ULL;
    k1 = rotl64(k1, 31);
    k1 *= 0x4CF5AD432745937FULL;
    // After the tail h1 = seed ^ k1 and h2 = seed; the finalisation xors len into both, then
    // h1 += h2, h2 += h1. Written so that seed ^ len is one loop-invariant value.
    const std::uint64_t seed_len = seed ^ len;
    const std::uint64_t h1 = (k1 ^ seed_len) + seed_len;
    const std::uint64_t h2 = seed_len + h1;
    return murmur3_fmix64(h1) + murmur3_fmix64(h2);
}

}  // namespace detail

// MurmurHash3_x86_32: a 32-bit result in the low bits. Spotlight's BloomEmbedding uses it.
struct murmur3_32 {
    static constexpr unsigned bits = 32;
    static constexpr const char* name = "murmur3_32";

    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return detail::murmur3_x86_32(data, len, static_cast<std::uint32_t>(seed));
    }
    // One block, no tail: the 4-byte key path with the loop and the switch folded away.
    std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept {
        std::uint32_t h = detail::murmur3_32_block(static_cast<std::uint32_t>(seed), key);
        return detail::murmur3_fmix32(h ^ 4U);
    }
    std::uint64_t operator()(std::uint64_t key, std::uint64_t seed) const noexcept {
        std::uint32_t h = detail::murmur3_32_block(static_cast<std::uint32_t>(seed),
                                                   static_cast<std::uint32_t>(key));
        h = detail::murmur3_32_block(h, static_cast<std::uint32_t>(key >> 32));
        return detail::murmur3_fmix32(h ^ 8U);
    }
};

// MurmurHash3_x64_128, low 64 bits (the first output word).
struct murmur3_128 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "murmur3_128";

    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return detail::murmur3_x64_128(data, len, static_cast<std::uint32_t>(seed)).low;
    }
    // Tail-only keys: 4 or 8 bytes fill the first tail word, the 16-byte body loop never runs.
    std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept {
        return detail::murmur3_x64_128_short(key, 4U, static_cast<std::uint32_t>(seed));
    }
    std::uint64_t operator()(std::uint64_t key, std::uint64_t seed) const noexcept {
        return detail::murmur3_x64_128_short(key, 8U, static_cast<std::uint32_t>(seed));
    }
};

}  // namespace bloom
