// MetroHash policy: MetroHash64::Hash from Debian's libmetrohash (libmetrohash-dev), linked
// through the `bloom::metrohash` CMake target (which also defines BLOOM_HAS_METROHASH).
#pragma once

#if defined(__has_include)
#  if !__has_include(<metrohash/metrohash64.h>)
#    error "bloom/hash/metrohash.hpp needs MetroHash's <metrohash/metrohash64.h>: install libmetrohash-dev (apt-get install libmetrohash-dev) and link the bloom::metrohash target"
#  endif
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <metrohash/metrohash64.h>

#include <bloom/hash/policy.hpp>

namespace bloom {

// MetroHash64 with a 64-bit seed. The library writes its 64-bit state into an 8-byte buffer in
// native byte order; the policy returns that 64-bit value. No integer fast path.
struct metrohash64 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "metrohash64";

    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        std::uint8_t out[8];
        ::MetroHash64::Hash(static_cast<const std::uint8_t*>(data), static_cast<std::uint64_t>(len),
                            out, seed);
        std::uint64_t h;
        std::memcpy(&h, out, sizeof h);
        return h;
    }
};

}  // namespace bloom
