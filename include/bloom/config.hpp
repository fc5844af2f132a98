// bloom: Bloom embeddings for sparse recommender networks.
// Build-wide switches and the hot-loop assertion macro.
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>

#define BLOOM_VERSION_MAJOR 0
#define BLOOM_VERSION_MINOR 1
#define BLOOM_VERSION_PATCH 0

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
namespace detail {
// Where a BLOOM_CHECKED assertion fails: the condition and its place on stderr, then abort().
[[noreturn]] inline void assertion_failed(const char* cond, const char* file, int line) noexcept {
    std::fprintf(stderr, "%s:%d: bloom: assertion failed: %s\n", file, line, cond);
    std::abort();
}
}  // namespace detail
}  // namespace bloom

// BLOOM_ASSERT guards invariants inside hot loops (ids below a table's size, buffer sizes...).
// It is assert(): compiled out under NDEBUG. Define BLOOM_CHECKED (to any value, as with
// -DBLOOM_CHECKED=1 or the CMake option BLOOM_CHECKED) to keep it on in every build: an
// optimised binary then aborts at the first bad id instead of reading past a table. A user may
// also define BLOOM_ASSERT before including any bloom header to route it elsewhere; that
// definition wins over both.
#ifndef BLOOM_ASSERT
#  if defined(BLOOM_CHECKED)
#    define BLOOM_ASSERT(cond)                                                       \
        (BLOOM_LIKELY(cond) ? static_cast<void>(0)                                   \
                            : ::bloom::detail::assertion_failed(#cond, __FILE__, __LINE__))
#  else
#    define BLOOM_ASSERT(cond) assert(cond)
#  endif
#endif

namespace bloom {
// Passed to the constructor that builds an empty object for a model file to fill
// (io/archive.hpp): `Model m{bloom::restore_tag{}}; loader.object("model", m);`.
struct restore_tag {
    explicit restore_tag() = default;
};
}  // namespace bloom
