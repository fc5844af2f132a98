// generate_sparse_keys: keys inside their space (and above an offset), Zipf popularity at the top
// rank, determinism for a seed, and the error paths.
#include <catch2/catch.hpp>

#include <bloom/data/sparse_keys.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

TEST_CASE("sparse_keys: keys are distinct per rank and follow the planted popularity",
          "[data][keys]") {
    bloom::data::sparse_key_config c;
    c.interactions = 20000;
    c.user_space = 1000;
    c.item_space = 1000000;
    c.clusters = 1;
    const bloom::data::key_interactions d = bloom::data::generate_sparse_keys(c);
    REQUIRE(d.size() == 20000);
    // Zipf(1) over 10^6 ranks: the top rank takes ln 2 / ln(10^6 + 1), about 5% of the draws.
    std::map<std::uint64_t, std::size_t> counts;
    for (const std::uint64_t k : d.items) {
        REQUIRE(k < c.item_space);
        ++counts[k];
    }
    std::size_t best = 0;
    for (const auto& kv : counts) best = std::max(best, kv.second);
    CHECK(best > 800);
    CHECK(best < 1200);
    // The same seed gives the same keys; another seed others.
    CHECK(bloom::data::generate_sparse_keys(c).items == d.items);
    c.seed = 2;
    CHECK(bloom::data::generate_sparse_keys(c).items != d.items);
}

TEST_CASE("sparse_keys: keys above an offset, over a space of 2^62", "[data][keys]") {
    bloom::data::sparse_key_config c;
    c.interactions = 3000;
    c.user_space = std::uint64_t{1} << 62;
    c.item_space = std::uint64_t{1} << 62;
    c.key_offset = std::uint64_t{1} << 40;
    const bloom::data::key_interactions d = bloom::data::generate_sparse_keys(c);
    std::uint64_t lo = ~std::uint64_t{0}, hi = 0;
    for (const std::uint64_t k : d.items) {
        lo = std::min(lo, k);
        hi = std::max(hi, k);
    }
    CHECK(lo >= c.key_offset);
    CHECK(hi - c.key_offset < c.item_space);
    CHECK(hi - lo > (std::uint64_t{1} << 60));  // spread over the space, not packed at the start
}

TEST_CASE("sparse_keys: bad settings", "[data][keys][errors]") {
    bloom::data::sparse_key_config c;
    c.item_space = 0;
    CHECK_THROWS_WITH(bloom::data::generate_sparse_keys(c), Catch::Contains("item_space"));
    c.item_space = 10;
    c.key_offset = ~std::uint64_t{0} - 3;
    CHECK_THROWS_WITH(bloom::data::generate_sparse_keys(c), Catch::Contains("overflows 64 bits"));
    c.key_offset = 0;
    c.clusters = 0;
    CHECK_THROWS_WITH(bloom::data::generate_sparse_keys(c), Catch::Contains("clusters"));
    c.clusters = 1;
    c.item_exponent = -1;
    CHECK_THROWS_WITH(bloom::data::generate_sparse_keys(c), Catch::Contains("exponents"));
    c.item_exponent = 1;
    c.interactions = 0;
    CHECK_THROWS_WITH(bloom::data::generate_sparse_keys(c), Catch::Contains("interactions"));
}
