// The position table: a d x k cache that must agree with its spec row for row.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include <bloom/encoding/position_table.hpp>
#include <bloom/hash/modulo.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include "encoding_test_util.hpp"

using Catch::Matchers::Contains;
using enc_test::config;

TEMPLATE_TEST_CASE("position_table: every row is the spec's positions of that id",
                   "[position_table]", bloom::xxh3, bloom::xxh64, bloom::xxh32,
                   bloom::murmur3_32, bloom::murmur3_128, bloom::multiply_shift, bloom::modulo) {
    for (const auto derive : {bloom::derivation::seeded, bloom::derivation::double_hashing}) {
        for (const std::uint32_t key_bytes : {4U, 8U}) {
            const bloom::basic_spec<TestType> s(config(3001, 517, 5, derive, 7, key_bytes));
            const bloom::basic_position_table<TestType> t(s);
            REQUIRE(t.items() == 3001);
            REQUIRE(t.k() == 5);
            REQUIRE(t.m() == 517);
            REQUIRE(t.size() == 3001 * 5);
            std::uint32_t p[5];
            for (std::uint32_t id = 0; id < 3001; ++id) {
                s.positions(id, p);
                REQUIRE(std::equal(p, p + 5, t.row(id)));
                REQUIRE(t.row(id) == t.data() + 5 * id);
            }
        }
    }
}

TEST_CASE("position_table: memory, id types and padding", "[position_table]") {
    auto c = config(1000, 300, 4);
    c.padding_zero = true;
    const bloom::position_table t{bloom::spec(c)};
    CHECK(t.memory_bytes() == 1000 * 4 * sizeof(std::uint32_t));
    CHECK(std::all_of(t.row(0U), t.row(0U) + 4, [](std::uint32_t x) { return x == 0; }));
    CHECK(t.row(std::uint8_t{200}) == t.row(std::uint64_t{200}));
    CHECK(t.row(std::uint16_t{999}) == t.data() + 4 * 999);
    // The table keeps its own copy of the spec.
    CHECK(t.spec().seeds() == bloom::spec(c).seeds());
    CHECK(t.spec().config().padding_zero);
}

TEST_CASE("position_table: a spec without an item count is an error", "[position_table][errors]") {
    CHECK_THROWS_AS(bloom::position_table(bloom::spec(config(0, 100, 4))), bloom::invalid_argument);
    CHECK_THROWS_WITH(bloom::position_table(bloom::spec(config(0, 100, 4))),
                      Contains("spec_config::items = 0") && Contains("position_table<xxh3>"));
}

TEST_CASE("make_shared_table builds one immutable table to share", "[position_table]") {
    const auto t = bloom::make_shared_table(bloom::basic_spec<bloom::murmur3_32>(config(50, 20, 2)));
    static_assert(std::is_same_v<decltype(t),
                                 const std::shared_ptr<const bloom::basic_position_table<bloom::murmur3_32>>>);
    CHECK(t->size() == 100);
    CHECK(bloom::to_string(bloom::lookup::table) == std::string("table"));
    CHECK(bloom::to_string(bloom::lookup::on_the_fly) == std::string("on-the-fly"));
}
