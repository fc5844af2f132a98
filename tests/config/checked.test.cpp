// BLOOM_CHECKED keeps BLOOM_ASSERT on in an NDEBUG build. This file defines both (whatever the
// build type) before it includes config.hpp, and nothing else of bloom: the other test files see
// the usual settings.
#include <catch2/catch.hpp>

#ifndef NDEBUG
#  define NDEBUG 1
#endif
#ifndef BLOOM_CHECKED
#  define BLOOM_CHECKED 1
#endif
#include <cassert>  // again, now under NDEBUG: assert() is compiled out from here on

#include <bloom/config.hpp>

#include <string_view>

#define BLOOM_TEST_TEXT2(x) #x
#define BLOOM_TEST_TEXT(x) BLOOM_TEST_TEXT2(x)

// The expansion calls the failure handler: BLOOM_ASSERT is a check, not assert()'s ((void)0).
static_assert(std::string_view(BLOOM_TEST_TEXT(BLOOM_ASSERT(id < n)))
                      .find("assertion_failed") != std::string_view::npos,
              "under NDEBUG and BLOOM_CHECKED, BLOOM_ASSERT must expand to a check");

TEST_CASE("config: BLOOM_CHECKED keeps BLOOM_ASSERT on under NDEBUG", "[config]") {
    // NDEBUG is in force here: the standard assert() does not even evaluate its condition.
    int by_assert = 0;
    assert(++by_assert == 1);
    CHECK(by_assert == 0);
    // BLOOM_ASSERT does (a true condition passes; a false one would abort).
    int by_bloom = 0;
    BLOOM_ASSERT(++by_bloom == 1);
    CHECK(by_bloom == 1);
}
