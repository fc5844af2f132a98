#include <catch2/catch.hpp>
#include <bloom/bloom.hpp>
TEST_CASE("smoke") { REQUIRE(bloom::is_hash_policy_v<bloom::xxh3>); }
