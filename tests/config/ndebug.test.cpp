// Without BLOOM_CHECKED, NDEBUG compiles BLOOM_ASSERT out (the hot loops pay nothing). This file
// sets NDEBUG and clears BLOOM_CHECKED (a BLOOM_CHECKED=ON build defines it for every target)
// before it includes config.hpp, and nothing else of bloom.
#include <catch2/catch.hpp>

#ifndef NDEBUG
#  define NDEBUG 1
#endif
#undef BLOOM_CHECKED
#include <cassert>

#include <bloom/config.hpp>

#include <string_view>

#define BLOOM_TEST_TEXT2(x) #x
#define BLOOM_TEST_TEXT(x) BLOOM_TEST_TEXT2(x)

static_assert(std::string_view(BLOOM_TEST_TEXT(BLOOM_ASSERT(id < n)))
                      .find("assertion_failed") == std::string_view::npos,
              "without BLOOM_CHECKED, BLOOM_ASSERT is assert()");

TEST_CASE("config: without BLOOM_CHECKED, NDEBUG compiles BLOOM_ASSERT out", "[config]") {
    int by_bloom = 0;
    BLOOM_ASSERT(++by_bloom == 1);
    CHECK(by_bloom == 0);
}
