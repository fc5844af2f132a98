#include <catch2/catch.hpp>

#include <bloom/data/loaders.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/data/writers.hpp>

#include "fixtures/temp_files.hpp"

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using namespace bloom::data;

namespace {

interactions small_25m_like() {
    synthetic_config c = synthetic_config::movielens_25m_like();
    c.n_users = 300;
    c.n_items = 400;
    c.n_interactions = 20000;
    return make_synthetic(c);
}

void check_same_columns(const interactions& a, const interactions& b) {
    CHECK(a.users == b.users);
    CHECK(a.items == b.items);
    CHECK(a.weights == b.weights);
    CHECK(a.timestamps == b.timestamps);
}

}  // namespace

TEST_CASE("write_movielens writes ratings.csv that load_movielens reads back the same") {
    const interactions d = small_25m_like();
    bloom_test::temp_dir dir;
    const std::string path = dir.file("ratings.csv");
    const std::size_t bytes = write_movielens(path, d);
    const std::string text = bloom_test::read_all(path);
    CHECK(bytes == text.size());
    REQUIRE(text.rfind("userId,movieId,rating,timestamp\n", 0) == 0);
    CHECK(text.back() == '\n');

    const auto [back, rep] = load_movielens(path);
    CHECK(rep.format == "movielens-csv");
    CHECK(rep.loaded == d.size());
    CHECK(rep.header_lines == 1);
    // Every user and item appears, so the sorted dense ids are the synthetic ids.
    CHECK(back.n_users == d.n_users);
    CHECK(back.n_items == d.n_items);
    check_same_columns(back, d);
    CHECK(back.raw_user(0) == "0");
}

TEST_CASE("write_movielens writes each MovieLens layout, detected again on loading") {
    const interactions d = small_25m_like();
    bloom_test::temp_dir dir;
    for (const ratings_format f : {ratings_format::movielens_100k, ratings_format::movielens_dat,
                                   ratings_format::movielens_csv}) {
        INFO(to_string(f));
        const std::string path = dir.file(std::string(to_string(f)) + ".txt");
        write_movielens(path, d, f);
        CHECK(detect_format(path) == f);
        const auto [back, rep] = load_movielens(path);
        CHECK(rep.loaded == d.size());
        check_same_columns(back, d);
    }
}

TEST_CASE("write_movielens writes raw ids from the maps and ratings as MovieLens does") {
    bloom_test::temp_dir dir;
    const std::string in = dir.write("in.tsv",
                                     "196\t242\t3\t881250949\n"
                                     "7\t100000000000\t0.5\t-5\n"
                                     "196\t7\t4.25\t0\n"
                                     "18446744073709551615\t242\t0.1\t9223372036854775807\n");
    const auto [d, rep] = load_movielens(in);
    REQUIRE(rep.loaded == 4);
    const std::string out = dir.file("out.csv");
    write_movielens(out, d);
    CHECK(bloom_test::read_all(out) ==
          "userId,movieId,rating,timestamp\n"
          "196,242,3.0,881250949\n"
          "7,100000000000,0.5,-5\n"
          "196,7,4.25,0\n"
          "18446744073709551615,242,0.1,9223372036854775807\n");
    const auto [back, rep2] = load_movielens(out);
    check_same_columns(back, d);
    CHECK(back.raw_item(back.items[1]) == "100000000000");
}

TEST_CASE("write_movielens refuses what it cannot write, before writing anything") {
    bloom_test::temp_dir dir;
    const std::string path = dir.file("never.csv");
    interactions d;
    d.n_users = 1;
    d.n_items = 1;
    d.users = {0};
    d.items = {0};
    d.timestamps = {1};
    CHECK_THROWS_WITH(write_movielens(path, d),
                      "bloom: write_movielens: a MovieLens layout needs ratings and timestamps; "
                      "these interactions have no ratings");
    d.weights = {std::nanf("")};
    CHECK_THROWS_WITH(write_movielens(path, d),
                      "bloom: write_movielens: interaction 0 has a rating that is not finite");
    d.weights = {4.0f};
    d.items = {1};  // out of range: validate() says so
    CHECK_THROWS_AS(write_movielens(path, d), bloom::invalid_argument);
    d.items = {0};

    auto ids = std::make_shared<id_map>(id_kind::string);
    ids->intern(std::string_view("a,b"));
    d.user_ids = ids;
    CHECK_THROWS_WITH(write_movielens(path, d),
                      "bloom: write_movielens: the raw id 'a,b' cannot be written between "
                      "separators ','");
    CHECK_FALSE(std::filesystem::exists(path));
    // A text id without the separator is written as it is (u.data's tab separator here).
    CHECK(write_movielens(path, d, ratings_format::movielens_100k) > 0);
    CHECK(bloom_test::read_all(path) == "a,b\t0\t4.0\t1\n");

    CHECK_THROWS_WITH(write_movielens(dir.file("no/such/dir/x.csv"), small_25m_like()),
                      Catch::StartsWith("bloom: " + dir.file("no/such/dir/x.csv") +
                                        ": cannot open for writing ("));
}
