// The compiled libxxhash (Debian's libxxhash0), reached from a translation unit that does not
// include <bloom/hash/xxhash.hpp>: that header inlines xxHash with XXH_INLINE_ALL, which renames
// every XXH symbol, so the library's exported XXH32 / XXH64 / XXH3_64bits_withSeed can only be
// called from a separate file (xxhash_library.test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bloom_test {

// False when the tests were built without the library (BLOOM_TEST_HAVE_LIBXXHASH undefined).
bool libxxhash_linked() noexcept;
std::uint32_t libxxhash_xxh32(const void* data, std::size_t len, std::uint32_t seed) noexcept;
std::uint64_t libxxhash_xxh64(const void* data, std::size_t len, std::uint64_t seed) noexcept;
std::uint64_t libxxhash_xxh3(const void* data, std::size_t len, std::uint64_t seed) noexcept;

}  // namespace bloom_test
