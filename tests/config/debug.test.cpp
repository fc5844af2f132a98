// Without NDEBUG (and without BLOOM_CHECKED) BLOOM_ASSERT is assert(), and on. This file clears
// both before it includes config.hpp, and nothing else of bloom.
#include <catch2/catch.hpp>

#undef NDEBUG
#undef BLOOM_CHECKED
#include <cassert>

#include <bloom/config.hpp>

TEST_CASE("config: a debug build checks BLOOM_ASSERT through assert()", "[config]") {
    int by_bloom = 0;
    BLOOM_ASSERT(++by_bloom == 1);
    CHECK(by_bloom == 1);
}
