// xxHash policies (xxh32, xxh64, xxh3), inlined from Debian's libxxhash headers.
// This is the only bloom header that defines XXH_INLINE_ALL: every xxHash symbol it pulls in is
// static and renamed, so a program may also link libxxhash without clashes.
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

// XXH32: a 32-bit result; uses the low 32 bits of the seed.
struct xxh32 {
    static constexpr unsigned bits = 32;
    static constexpr const char* name = "xxh32";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return XXH32(data, len, static_cast<XXH32_hash_t>(seed));
    }
};

// XXH64.
struct xxh64 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "xxh64";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return XXH64(data, len, seed);
    }
};

// XXH3_64bits_withSeed: the fastest of the three on short keys.
struct xxh3 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "xxh3";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return XXH3_64bits_withSeed(data, len, seed);
    }
};

}  // namespace bloom
