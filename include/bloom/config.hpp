// bloom: Bloom embeddings for sparse recommender networks.
// Build-wide switches and the hot-loop assertion macro.
#pragma once

#include <cassert>

#define BLOOM_VERSION_MAJOR 0
#define BLOOM_VERSION_MINOR 1
#define BLOOM_VERSION_PATCH 0

// BLOOM_ASSERT guards invariants inside hot loops. It compiles out under NDEBUG,
// and a user may define it before including any bloom header to route it elsewhere.
#ifndef BLOOM_ASSERT
#  define BLOOM_ASSERT(cond) assert(cond)
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define BLOOM_ALWAYS_INLINE inline __attribute__((always_inline))
#  define BLOOM_LIKELY(x) __builtin_expect(!!(x), 1)
#  define BLOOM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define BLOOM_ALWAYS_INLINE inline
#  define BLOOM_LIKELY(x) (x)
#  define BLOOM_UNLIKELY(x) (x)
#endif

namespace bloom {
// Passed to the constructor that builds an empty object for a model file to fill
// (io/archive.hpp): `Model m{bloom::restore_tag{}}; loader.object("model", m);`.
struct restore_tag {
    explicit restore_tag() = default;
};
}  // namespace bloom
