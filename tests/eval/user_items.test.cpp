// user_items: grouping (user, item) pairs into CSR, and validation of the shape and the ids.
#include <catch2/catch.hpp>

#include <bloom/eval/user_items.hpp>

#include <cstdint>
#include <vector>

using bloom::eval::make_user_items;
using bloom::eval::user_items;
using bloom::eval::validate;
using Catch::Matchers::Contains;

TEST_CASE("make_user_items groups pairs by user, keeping their order", "[eval][user_items]") {
    const std::vector<std::uint32_t> users = {2, 0, 2, 3, 0, 2};
    const std::vector<std::uint32_t> items = {5, 1, 4, 1, 7, 5};
    const user_items x = make_user_items(5, users, items);
    CHECK(x.n_users() == 5);
    CHECK(x.size() == 6);
    CHECK(x.offsets == std::vector<std::size_t>{0, 2, 2, 5, 6, 6});
    CHECK(x.items == std::vector<std::uint32_t>{1, 7, 5, 4, 5, 1});
    CHECK(x.count(1) == 0);
    CHECK(x.count(2) == 3);
    CHECK(std::vector<std::uint32_t>(x.begin(2), x.end(2)) == std::vector<std::uint32_t>{5, 4, 5});
    CHECK_NOTHROW(validate(x, 8, "x"));

    const user_items none = make_user_items(3, std::vector<std::uint32_t>{}, {});
    CHECK(none.offsets == std::vector<std::size_t>{0, 0, 0, 0});
    CHECK(none.empty());
}

TEST_CASE("make_user_items rejects bad input", "[eval][user_items]") {
    CHECK_THROWS_AS(make_user_items(3, {0, 3}, {1, 1}), bloom::out_of_range);
    CHECK_THROWS_WITH(make_user_items(3, {0, 3}, {1, 1}),
                      Contains("pair 1 has user 3") && Contains("3 users"));
    CHECK_THROWS_AS(make_user_items(3, {0, 1}, {1}), bloom::invalid_argument);
}

TEST_CASE("validate checks the shape and the item ids", "[eval][user_items]") {
    CHECK_NOTHROW(validate(user_items{}, 0, "x"));
    user_items x;
    x.items = {1};
    CHECK_THROWS_WITH(validate(x, 4, "train"), Contains("train") && Contains("no offsets"));
    x.offsets = {0, 1};
    CHECK_NOTHROW(validate(x, 4, "train"));
    CHECK_THROWS_AS(validate(x, 1, "train"), bloom::out_of_range);
    CHECK_THROWS_WITH(validate(x, 1, "train"), Contains("item 1 of user 0"));
    x.offsets = {1, 1};
    CHECK_THROWS_AS(validate(x, 4, "train"), bloom::invalid_argument);
    x.offsets = {0, 0};
    CHECK_THROWS_WITH(validate(x, 4, "train"), Contains("last offset is 0"));
    x.items = {1, 2};
    x.offsets = {0, 2, 1, 2};
    CHECK_THROWS_WITH(validate(x, 4, "train"), Contains("offsets decrease at user 1"));
}
