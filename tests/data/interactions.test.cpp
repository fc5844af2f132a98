#include <catch2/catch.hpp>

#include <bloom/data/interactions.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using bloom::data::csr;
using bloom::data::csr_options;
using bloom::data::id_kind;
using bloom::data::id_map;
using bloom::data::interactions;
using bloom::data::row_order;

namespace {

std::vector<std::uint32_t> row_of(const csr& m, std::uint32_t r) {
    return std::vector<std::uint32_t>(m.row(r).begin(), m.row(r).end());
}

// 3 users, 4 items; user 1 has item 2 twice.
interactions small() {
    interactions d;
    d.users = {1, 0, 1, 2, 1, 0};
    d.items = {2, 3, 0, 1, 2, 1};
    d.weights = {1, 2, 3, 4, 5, 6};
    d.timestamps = {50, 10, 20, 30, 40, 5};
    d.n_users = 3;
    d.n_items = 4;
    return d;
}

}  // namespace

TEST_CASE("id_map interns integers in first-seen order and finds them") {
    id_map m;
    CHECK(m.kind() == id_kind::integer);
    CHECK(m.intern(std::uint64_t{900}) == 0);
    CHECK(m.intern(std::uint64_t{5}) == 1);
    CHECK(m.intern(std::uint64_t{900}) == 0);
    CHECK(m.intern(std::uint64_t{0xFFFFFFFFFFFFFFFFull}) == 2);
    CHECK(m.size() == 3);
    CHECK(m.find(std::uint64_t{5}) == std::optional<std::uint32_t>(1));
    CHECK_FALSE(m.find(std::uint64_t{6}).has_value());
    CHECK(m.integer(2) == 0xFFFFFFFFFFFFFFFFull);
    CHECK(m.to_string(0) == "900");
    CHECK_THROWS_AS(m.integer(3), bloom::out_of_range);
    CHECK_THROWS_AS(m.intern(std::string_view("900")), bloom::invalid_argument);
    CHECK_THROWS_AS(m.text(0), bloom::invalid_argument);
}

TEST_CASE("id_map keeps every id through many rehashes") {
    id_map m;
    for (std::uint64_t k = 0; k < 100000; ++k) {
        REQUIRE(m.intern(k * 7919 + 13) == k);
    }
    for (std::uint64_t k = 0; k < 100000; k += 997) {
        REQUIRE(m.find(k * 7919 + 13) == std::optional<std::uint32_t>(static_cast<std::uint32_t>(k)));
        REQUIRE(m.integer(static_cast<std::uint32_t>(k)) == k * 7919 + 13);
    }
    CHECK_FALSE(m.find(std::uint64_t{14}).has_value());
}

TEST_CASE("id_map of strings stores any bytes without confusing prefixes") {
    id_map m(id_kind::string);
    CHECK(m.intern(std::string_view("ab")) == 0);
    CHECK(m.intern(std::string_view("a")) == 1);
    CHECK(m.intern(std::string_view("abc")) == 2);
    CHECK(m.intern(std::string_view("a")) == 1);
    CHECK(m.intern(std::string_view("A2SUAM1J3GNN3B")) == 3);
    CHECK(m.text(0) == "ab");
    CHECK(m.text(2) == "abc");
    CHECK(m.to_string(3) == "A2SUAM1J3GNN3B");
    CHECK(m.find(std::string_view("abc")) == std::optional<std::uint32_t>(2));
    CHECK_FALSE(m.find(std::string_view("b")).has_value());
    CHECK_THROWS_AS(m.intern(std::uint64_t{1}), bloom::invalid_argument);
    for (int k = 0; k < 5000; ++k) m.intern("user-" + std::to_string(k));
    CHECK(m.size() == 5004);
    CHECK(m.find(std::string_view("user-4999")) == std::optional<std::uint32_t>(5003));
    CHECK(m.text(1) == "a");
}

TEST_CASE("id_map::sort_by_raw renumbers by raw value and reports the permutation") {
    SECTION("integers sort numerically") {
        id_map m;
        for (std::uint64_t raw : {30u, 4u, 100u, 7u}) m.intern(raw);
        const std::vector<std::uint32_t> new_of_old = m.sort_by_raw();
        CHECK(new_of_old == std::vector<std::uint32_t>{2, 0, 3, 1});
        CHECK(m.integer(0) == 4);
        CHECK(m.integer(1) == 7);
        CHECK(m.integer(2) == 30);
        CHECK(m.integer(3) == 100);
        CHECK(m.find(std::uint64_t{100}) == std::optional<std::uint32_t>(3));
        CHECK(m.intern(std::uint64_t{1}) == 4);  // still usable after the rebuild
    }
    SECTION("strings sort bytewise") {
        id_map m(id_kind::string);
        for (const char* raw : {"b", "ab", "a", "10", "9"}) m.intern(std::string_view(raw));
        const std::vector<std::uint32_t> new_of_old = m.sort_by_raw();
        CHECK(new_of_old == std::vector<std::uint32_t>{4, 3, 2, 0, 1});
        CHECK(m.text(0) == "10");
        CHECK(m.text(1) == "9");
        CHECK(m.text(4) == "b");
        CHECK(m.find(std::string_view("ab")) == std::optional<std::uint32_t>(3));
    }
}

TEST_CASE("id_map::iota maps each dense id to itself") {
    const id_map m = id_map::iota(5);
    CHECK(m.size() == 5);
    for (std::uint32_t i = 0; i < 5; ++i) CHECK(m.integer(i) == i);
}

TEST_CASE("interactions::validate catches inconsistent columns, ids and maps") {
    interactions d = small();
    CHECK_NOTHROW(d.validate());
    CHECK(d.size() == 6);
    CHECK(d.has_weights());
    CHECK(d.has_timestamps());

    SECTION("column lengths") {
        d.items.pop_back();
        CHECK_THROWS_AS(d.validate(), bloom::invalid_argument);
    }
    SECTION("weights length") {
        d.weights.pop_back();
        CHECK_THROWS_WITH(d.validate(), Catch::Contains("5 weights for 6 interactions"));
    }
    SECTION("timestamps length") {
        d.timestamps.push_back(1);
        CHECK_THROWS_AS(d.validate(), bloom::invalid_argument);
    }
    SECTION("an item outside n_items") {
        d.items[3] = 4;
        CHECK_THROWS_WITH(d.validate(), Catch::Contains("interaction 3"));
    }
    SECTION("a map of the wrong size") {
        d.user_ids = std::make_shared<const id_map>(id_map::iota(2));
        CHECK_THROWS_WITH(d.validate(), Catch::Contains("user map has 2 ids"));
    }
}

TEST_CASE("raw ids come from the maps, or are the dense ids without them") {
    interactions d = small();
    CHECK(d.raw_user(2) == "2");
    auto users = std::make_shared<id_map>();
    for (std::uint64_t raw : {196u, 186u, 22u}) users->intern(raw);
    d.user_ids = users;
    CHECK(d.raw_user(0) == "196");
    CHECK(d.raw_user(2) == "22");
    CHECK_THROWS_AS(d.raw_user(3), bloom::out_of_range);
}

TEST_CASE("user and item counts include duplicates") {
    const interactions d = small();
    CHECK(d.user_counts() == std::vector<std::uint32_t>{2, 3, 1});
    CHECK(d.item_counts() == std::vector<std::uint32_t>{1, 2, 2, 1});
}

TEST_CASE("subset keeps the id space and the optional columns") {
    const interactions d = small();
    const interactions s = d.subset({5, 0});
    CHECK(s.size() == 2);
    CHECK(s.n_users == 3);
    CHECK(s.n_items == 4);
    CHECK(s.users == std::vector<std::uint32_t>{0, 1});
    CHECK(s.items == std::vector<std::uint32_t>{1, 2});
    CHECK(s.weights == std::vector<float>{6, 1});
    CHECK(s.timestamps == std::vector<std::int64_t>{5, 50});
    CHECK_NOTHROW(s.validate());
    CHECK_THROWS_AS(d.subset({6}), bloom::out_of_range);
}

TEST_CASE("by_user builds CSR rows in the order asked") {
    const interactions d = small();

    SECTION("sorted by item (the default)") {
        const csr m = d.by_user();
        CHECK(m.n_rows == 3);
        CHECK(m.n_cols == 4);
        CHECK(m.offsets == std::vector<std::size_t>{0, 2, 5, 6});
        CHECK(row_of(m, 0) == std::vector<std::uint32_t>{1, 3});
        CHECK(row_of(m, 1) == std::vector<std::uint32_t>{0, 2, 2});
        CHECK(row_of(m, 2) == std::vector<std::uint32_t>{1});
        CHECK(m.nnz() == 6);
        CHECK(m.row_size(1) == 3);
        CHECK(m.source.empty());
    }
    SECTION("input order, with the source interactions") {
        csr_options o;
        o.order = row_order::input;
        o.with_source = true;
        const csr m = d.by_user(o);
        CHECK(row_of(m, 1) == std::vector<std::uint32_t>{2, 0, 2});
        CHECK(m.source == std::vector<std::size_t>{1, 5, 0, 2, 4, 3});
    }
    SECTION("time order") {
        csr_options o;
        o.order = row_order::time;
        const csr m = d.by_user(o);
        CHECK(row_of(m, 0) == std::vector<std::uint32_t>{1, 3});     // t = 5, 10
        CHECK(row_of(m, 1) == std::vector<std::uint32_t>{0, 2, 2});  // t = 20, 40, 50
    }
    SECTION("unique keeps the first of each item") {
        csr_options o;
        o.unique = true;
        o.with_source = true;
        const csr m = d.by_user(o);
        CHECK(m.offsets == std::vector<std::size_t>{0, 2, 4, 5});
        CHECK(row_of(m, 1) == std::vector<std::uint32_t>{0, 2});
        CHECK(m.source == std::vector<std::size_t>{5, 1, 2, 0, 3});  // item 2 of user 1: row 0
    }
    SECTION("time order needs timestamps") {
        interactions no_time = d;
        no_time.timestamps.clear();
        csr_options o;
        o.order = row_order::time;
        CHECK_THROWS_AS(no_time.by_user(o), bloom::invalid_argument);
    }
}

TEST_CASE("by_item transposes, and users without interactions get empty rows") {
    interactions d = small();
    d.n_users = 5;
    const csr m = d.by_item();
    CHECK(m.n_rows == 4);
    CHECK(m.n_cols == 5);
    CHECK(row_of(m, 1) == std::vector<std::uint32_t>{0, 2});
    CHECK(row_of(m, 2) == std::vector<std::uint32_t>{1, 1});
    const csr u = d.by_user();
    CHECK(u.row(3).empty());
    CHECK(u.row(4).empty());
    CHECK(u.offsets.size() == 6);
}
