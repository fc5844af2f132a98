// The reference side of tests/hash/xxhash.test.cpp: calls into the compiled libxxhash. This file
// must not include <bloom/hash/xxhash.hpp> (or anything that does): see xxhash_library.hpp.
#include "xxhash_library.hpp"

#include <catch2/catch.hpp>

#include <cstring>

#ifdef BLOOM_TEST_HAVE_LIBXXHASH
#  ifdef XXH_INLINE_ALL
#    error "xxhash_library.test.cpp must see the library's exported symbols, not XXH_INLINE_ALL"
#  endif
#  include <xxhash.h>
#endif

namespace bloom_test {

#ifdef BLOOM_TEST_HAVE_LIBXXHASH
bool libxxhash_linked() noexcept { return true; }
std::uint32_t libxxhash_xxh32(const void* data, std::size_t len, std::uint32_t seed) noexcept {
    return XXH32(data, len, seed);
}
std::uint64_t libxxhash_xxh64(const void* data, std::size_t len, std::uint64_t seed) noexcept {
    return XXH64(data, len, seed);
}
std::uint64_t libxxhash_xxh3(const void* data, std::size_t len, std::uint64_t seed) noexcept {
    return XXH3_64bits_withSeed(data, len, seed);
}
#else
bool libxxhash_linked() noexcept { return false; }
std::uint32_t libxxhash_xxh32(const void*, std::size_t, std::uint32_t) noexcept { return 0; }
std::uint64_t libxxhash_xxh64(const void*, std::size_t, std::uint64_t) noexcept { return 0; }
std::uint64_t libxxhash_xxh3(const void*, std::size_t, std::uint64_t) noexcept { return 0; }
#endif

}  // namespace bloom_test

// Before trusting the library as the oracle, check it against xxHash's published values.
TEST_CASE("libxxhash (the reference) gives xxHash's published values", "[xxhash][reference]") {
    REQUIRE(bloom_test::libxxhash_linked());
    const char* abc = "abc";
    CHECK(bloom_test::libxxhash_xxh32("", 0, 0) == 0x02CC5D05U);
    CHECK(bloom_test::libxxhash_xxh64("", 0, 0) == 0xEF46DB3751D8E999ULL);
    CHECK(bloom_test::libxxhash_xxh3("", 0, 0) == 0x2D06800538D394C2ULL);
    CHECK(bloom_test::libxxhash_xxh32(abc, std::strlen(abc), 0) == 0x32D153FFU);
    CHECK(bloom_test::libxxhash_xxh64(abc, std::strlen(abc), 0) == 0x44BC2CF5AD770999ULL);
    CHECK(bloom_test::libxxhash_xxh3(abc, std::strlen(abc), 0) == 0x78AF5F94892F3950ULL);
}
