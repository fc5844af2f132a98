// FarmHash policy: Hash64WithSeed from Debian's libfarmhash (libfarmhash-dev), linked through the
// `bloom::farmhash` CMake target (which also defines BLOOM_HAS_FARMHASH).
//
// The library's namespace is `util` unless it was built with NAMESPACE_FOR_HASH_FUNCTIONS set to
// something else; Debian's is `util`. FarmHash documents that its results "may change from time
// to time" between library versions: tests/hash/farmhash.test.cpp pins the values of the packaged
// build, so a changed package shows up as a failing test, not as silently moved positions.
#pragma once

#if defined(__has_include)
#  if !__has_include(<farmhash.h>)
#    error "bloom/hash/farmhash.hpp needs FarmHash's <farmhash.h>: install libfarmhash-dev (apt-get install libfarmhash-dev) and link the bloom::farmhash target"
#  endif
#endif

#include <cstddef>
#include <cstdint>

#include <farmhash.h>

#include <bloom/hash/policy.hpp>

namespace bloom {

// FarmHash64 with a 64-bit seed (util::Hash64WithSeed). No integer fast path: 4- and 8-byte
// keys go through the byte path on their little-endian bytes (a library call per hash).
struct farmhash64 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "farmhash64";

    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return ::util::Hash64WithSeed(static_cast<const char*>(data), len, seed);
    }
};

}  // namespace bloom
