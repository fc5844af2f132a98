#include <catch2/catch.hpp>

#include <bloom/data/loaders.hpp>

#include "fixtures/temp_files.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

using namespace bloom::data;

namespace {

const std::string fixtures = BLOOM_TEST_DATA_DIR "/fixtures/";

// Every line is accounted for: nothing is silently lost.
void check_accounting(const load_report& r) {
    CHECK(r.lines == r.header_lines + r.blank_lines + r.loaded + r.skipped);
}

std::string message_of(const std::string& path, const csv_format& fmt,
                       const load_options& opt = {}) {
    try {
        load_csv(path, fmt, opt);
    } catch (const bloom::parse_error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string movielens_message(const std::string& path) {
    try {
        load_movielens(path);
    } catch (const bloom::parse_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("u.data (MovieLens 100K) loads with its ratings, timestamps and raw ids") {
    const auto [d, r] = load_movielens(fixtures + "u.data.sample");
    CHECK(r.format == "movielens-100k");
    CHECK(r.loaded == 5);
    CHECK(r.lines == 5);
    check_accounting(r);
    REQUIRE(d.size() == 5);
    CHECK_NOTHROW(d.validate());
    CHECK(d.n_users == 3);  // raw 3, 7, 22
    CHECK(d.n_items == 4);  // raw 7, 12, 31, 508
    // Dense ids follow the raw order (sort_ids): users 3 -> 0, 7 -> 1, 22 -> 2.
    CHECK(d.users == std::vector<std::uint32_t>{1, 1, 2, 0, 2});
    CHECK(d.raw_user(2) == "22");
    CHECK(d.user_ids->integer(1) == 7);
    CHECK(d.items == std::vector<std::uint32_t>{2, 1, 2, 3, 0});
    CHECK(d.item_ids->integer(3) == 508);
    CHECK(d.weights == std::vector<float>{4, 5, 1, 3, 2});
    CHECK(d.timestamps ==
          std::vector<std::int64_t>{880000010, 880000020, 880000005, 890000000, 880000006});
}

TEST_CASE("ratings.dat (MovieLens 1M/10M) loads") {
    const auto [d, r] = load_movielens(fixtures + "ratings.dat.sample");
    CHECK(r.format == "movielens-dat");
    CHECK(r.loaded == 4);
    check_accounting(r);
    CHECK(d.n_users == 3);
    CHECK(d.n_items == 3);
    CHECK(d.raw_item(d.items[0]) == "2001");
    CHECK(d.raw_user(d.users[3]) == "1");
    CHECK(d.weights == std::vector<float>{5, 3, 4, 5});
    CHECK(d.timestamps[3] == 970000789);
}

TEST_CASE("ratings.csv (MovieLens 20M/25M/latest) loads, header checked and skipped") {
    const auto [d, r] = load_movielens(fixtures + "ratings.csv.sample");
    CHECK(r.format == "movielens-csv");
    CHECK(r.header_lines == 1);
    CHECK(r.loaded == 4);
    CHECK(r.lines == 5);
    check_accounting(r);
    CHECK(d.weights == std::vector<float>{5.0f, 3.5f, 0.5f, 4.0f});
    CHECK(d.raw_user(d.users[3]) == "10");
    CHECK(d.raw_item(d.items[3]) == "1");
}

TEST_CASE("the format is detected from the content, not the file name") {
    bloom_test::temp_dir dir;
    const std::string tab = bloom_test::read_all(fixtures + "u.data.sample");
    const std::string dat = bloom_test::read_all(fixtures + "ratings.dat.sample");
    const std::string csv = bloom_test::read_all(fixtures + "ratings.csv.sample");
    CHECK(detect_format(dir.write("ratings.csv", tab)) == ratings_format::movielens_100k);
    CHECK(detect_format(dir.write("u.data", dat)) == ratings_format::movielens_dat);
    CHECK(detect_format(dir.write("ratings.dat", csv)) == ratings_format::movielens_csv);
    CHECK(detect_format(dir.write("blank-first", "\n\n" + dat)) == ratings_format::movielens_dat);
    CHECK(load_movielens(dir.file("ratings.csv")).data.size() == 5);

    SECTION("a headerless comma file is not guessed") {
        const std::string msg = movielens_message(dir.write("x.csv", "1,2,3.5,100\n"));
        CHECK_THAT(msg, Catch::StartsWith("bloom: " + dir.file("x.csv") + ":1: cannot detect"));
        CHECK_THAT(msg, Catch::Contains("load_csv"));
    }
    SECTION("u.item (pipe-separated) is not a ratings file") {
        CHECK_THROWS_AS(detect_format(dir.write("u.item", "1|Some Film (1995)|01-Jan-1995\n")),
                        bloom::parse_error);
    }
    SECTION("an empty or blank file") {
        CHECK(movielens_message(dir.write("empty", "")) ==
              "bloom: " + dir.file("empty") + ":1: empty file: expected a MovieLens ratings file");
        CHECK_THROWS_AS(detect_format(dir.write("blank", "\n \n")), bloom::parse_error);
    }
}

TEST_CASE("bad lines are errors naming file:line and what was expected") {
    bloom_test::temp_dir dir;
    const csv_format tab = format_of(ratings_format::movielens_100k);
    auto msg = [&](const std::string& text) { return message_of(dir.write("u.data", text), tab); };
    const std::string at = "bloom: " + dir.file("u.data") + ":";

    CHECK(msg("1\t2\t3\t4\n5\t6\t7\n") == at + "2: expected 4 fields separated by '\\t', got 3");
    CHECK(msg("1\t2\t3\t4\t5\n") == at + "1: expected 4 fields separated by '\\t', got 5");
    CHECK(msg("1\t2\t3\t4\nx\t2\t3\t4\n") ==
          at + "2: field 1 (user): expected an unsigned integer id, got 'x'");
    CHECK(msg("1\t-2\t3\t4\n") == at + "1: field 2 (item): expected an unsigned integer id, got '-2'");
    CHECK(msg("1\t2\tfive\t4\n") == at + "1: field 3 (rating): expected a finite number, got 'five'");
    CHECK(msg("1\t2\tnan\t4\n") == at + "1: field 3 (rating): expected a finite number, got 'nan'");
    CHECK(msg("1\t2\t3\t4.5\n") == at + "1: field 4 (timestamp): expected an integer, got '4.5'");
    CHECK(msg("1\t2\t3\t\n") == at + "1: field 4 (timestamp): expected an integer, got ''");
    CHECK(msg("") == at + "1: empty file: expected lines of 4 fields separated by '\\t'");
    CHECK(msg("\n\n") == at + "2: no interactions in 2 lines: expected lines of 4 fields "
                              "separated by '\\t'");
    // The line number counts blank lines too.
    CHECK(msg("1\t2\t3\t4\n\n\n1\t2\n") == at + "4: expected 4 fields separated by '\\t', got 2");
}

TEST_CASE("ratings.csv needs its header, and a header alone is no data") {
    bloom_test::temp_dir dir;
    const csv_format csv = format_of(ratings_format::movielens_csv);
    CHECK(message_of(dir.write("r.csv", "user,movie,rating,ts\n1,2,3,4\n"), csv) ==
          "bloom: " + dir.file("r.csv") +
              ":1: expected the header 'userId,movieId,rating,timestamp', got "
              "'user,movie,rating,ts'");
    CHECK(message_of(dir.write("h.csv", "userId,movieId,rating,timestamp\n"), csv) ==
          "bloom: " + dir.file("h.csv") +
              ":1: no interactions in 1 line: expected lines of 4 fields separated by ','");
    CHECK_THROWS_AS(load_movielens(dir.write("d.dat", "1::2::3::4\n"), ratings_format::movielens_csv),
                    bloom::parse_error);
}

TEST_CASE("skip_bad_lines counts and reports the lines it skips") {
    bloom_test::temp_dir dir;
    std::string text = "1\t10\t4\t100\n";     // line 1: good
    text += "2\t20\t4\n";                     // 2: 3 fields
    text += "\n";                             // 3: blank
    text += "3\tx\t4\t100\n";                 // 4: bad item
    text += "3\t30\t2\t101\n";                // 5: good
    for (int k = 0; k < 12; ++k) text += "4\t40\t?\t1\n";  // 6..17: bad rating
    text += "5\t50\t1\t102";                  // 18: good, no final newline
    const std::string path = dir.write("u.data", text);

    load_options opt;
    opt.skip_bad_lines = true;
    opt.max_reported = 3;
    const auto [d, r] = load_movielens(path, opt);
    CHECK(r.lines == 18);
    CHECK(r.loaded == 3);
    CHECK(r.blank_lines == 1);
    CHECK(r.skipped == 14);
    check_accounting(r);
    REQUIRE(r.first_skipped.size() == 3);
    CHECK(r.first_skipped[0].line == 2);
    CHECK(r.first_skipped[0].what == "expected 4 fields separated by '\\t', got 3");
    CHECK(r.first_skipped[1].line == 4);
    CHECK(r.first_skipped[1].what == "field 2 (item): expected an unsigned integer id, got 'x'");
    CHECK(r.first_skipped[2].line == 6);
    CHECK(d.n_users == 3);
    CHECK(d.raw_user(d.users[2]) == "5");
    const std::string summary = r.summary(d);
    CHECK_THAT(summary, Catch::Contains("3 interactions, 3 users, 3 items from 18 lines"));
    CHECK_THAT(summary, Catch::Contains("14 bad lines skipped (first at lines 2, 4, 6)"));

    SECTION("all lines bad is still an error, with the first reason") {
        const std::string bad = dir.write("bad", "a\tb\tc\td\n1\t2\n");
        const std::string msg = message_of(bad, format_of(ratings_format::movielens_100k), opt);
        CHECK_THAT(msg, Catch::StartsWith("bloom: " + bad + ":2: no interactions in 2 lines "
                                          "(2 bad, the first at line 1: field 1 (user)"));
    }
}

// Found by tests/fuzz/fuzz_loaders: with max_reported = 0 the error for a file of bad lines
// only read the first of the (empty) reported lines.
TEST_CASE("all lines bad with max_reported = 0 is an error naming the first bad line") {
    bloom_test::temp_dir dir;
    const std::string bad = dir.write("bad.csv", "0,\n32,\nx,1\n");
    load_options opt;
    opt.skip_bad_lines = true;
    opt.max_reported = 0;
    csv_format fmt;
    const std::string msg = message_of(bad, fmt, opt);
    CHECK_THAT(msg, Catch::StartsWith("bloom: " + bad + ":3: no interactions in 3 lines "
                                      "(3 bad, the first at line 1: field 2 (item): expected an "
                                      "unsigned integer id, got ''"));
    opt.max_reported = 1;
    CHECK(message_of(bad, fmt, opt) == msg);
}

TEST_CASE("CRLF, a missing final newline and a BOM load like plain LF") {
    bloom_test::temp_dir dir;
    const std::string lf = "userId,movieId,rating,timestamp\n1,300,5.0,1\n2,310,3.5,2\n";
    const auto plain = load_movielens(dir.write("lf.csv", lf)).data;
    for (const std::string& text :
         {std::string("userId,movieId,rating,timestamp\r\n1,300,5.0,1\r\n2,310,3.5,2\r\n"),
          std::string("userId,movieId,rating,timestamp\n1,300,5.0,1\n2,310,3.5,2"),
          std::string("userId,movieId,rating,timestamp\r\n1,300,5.0,1\r\n2,310,3.5,2"),
          std::string("\xEF\xBB\xBFuserId,movieId,rating,timestamp\n1,300,5.0,1\n2,310,3.5,2\n")}) {
        for (std::size_t chunk : {3u, 4096u}) {
            load_options opt;
            opt.chunk_bytes = chunk;
            const auto [d, r] = load_movielens(dir.write("x.csv", text), opt);
            CHECK(r.loaded == 2);
            CHECK(d.users == plain.users);
            CHECK(d.items == plain.items);
            CHECK(d.weights == plain.weights);
            CHECK(d.timestamps == plain.timestamps);
        }
    }
}

TEST_CASE("generic CSV: columns, separators, headers, string ids") {
    bloom_test::temp_dir dir;

    SECTION("item first, user third, no weight, extra fields allowed") {
        csv_format f;
        f.separator = ";";
        f.header = true;
        f.item_column = 0;
        f.user_column = 2;
        f.timestamp_column = 3;
        const std::string path =
            dir.write("e.csv", "item;note;user;time;more\n10;a;1;5;x;y\n11;b;1;6;z\n");
        const auto [d, r] = load_csv(path, f);
        CHECK(r.loaded == 2);
        CHECK(r.header_lines == 1);
        CHECK(d.n_users == 1);
        CHECK(d.n_items == 2);
        CHECK_FALSE(d.has_weights());
        CHECK(d.timestamps == std::vector<std::int64_t>{5, 6});
        CHECK(message_of(dir.write("short.csv", "h\n10;a\n"), f) ==
              "bloom: " + dir.file("short.csv") +
                  ":2: expected at least 4 fields separated by ';', got 2");
    }
    SECTION("string ids, spaces around fields") {
        csv_format f;
        f.ids = id_kind::string;
        f.weight_column = 2;
        const auto [d, r] = load_csv(
            dir.write("s.csv", "A2SUAM1J3GNN3B, item-9 , 4.5\nB000, item-1,1\nA2SUAM1J3GNN3B,item-1,2\n"),
            f);
        CHECK(r.loaded == 3);
        CHECK(d.user_ids->kind() == id_kind::string);
        CHECK(d.n_users == 2);
        CHECK(d.n_items == 2);
        CHECK(d.raw_user(d.users[0]) == "A2SUAM1J3GNN3B");
        CHECK(d.raw_item(d.items[0]) == "item-9");
        CHECK(d.items[1] == d.items[2]);
        CHECK(d.weights == std::vector<float>{4.5f, 1.0f, 2.0f});
        CHECK(message_of(dir.write("e.csv", "u1,,3\n"), f) ==
              "bloom: " + dir.file("e.csv") + ":1: field 2 (item): expected an id, got ''");
    }
    SECTION("a two-character separator and an exact field count") {
        csv_format f;
        f.separator = "::";
        f.fields = 3;
        f.weight_column = 2;
        const auto [d, r] = load_csv(dir.write("d", "1::2::0.5\n3::4::1\n"), f);
        CHECK(d.weights == std::vector<float>{0.5f, 1.0f});
        CHECK(message_of(dir.write("d4", "1::2::0.5::9\n"), f) ==
              "bloom: " + dir.file("d4") + ":1: expected 3 fields separated by '::', got 4");
    }
    SECTION("invalid formats are rejected before reading") {
        csv_format f;
        f.separator = "";
        CHECK_THROWS_AS(load_csv(fixtures + "u.data.sample", f), bloom::invalid_argument);
        f = csv_format{};
        f.item_column = 0;
        CHECK_THROWS_AS(load_csv(fixtures + "u.data.sample", f), bloom::invalid_argument);
        f = csv_format{};
        f.fields = 2;
        f.weight_column = 2;
        CHECK_THROWS_AS(load_csv(fixtures + "u.data.sample", f), bloom::invalid_argument);
    }
    SECTION("a missing file") {
        CHECK_THROWS_WITH(load_csv(dir.file("nope.csv"), csv_format{}),
                          Catch::Contains("nope.csv: cannot open"));
    }
}

TEST_CASE("delimited files: headerless user,item CSV, TSV with a header, CRLF, BOM, columns") {
    bloom_test::temp_dir dir;
    // The reference: users 10, 10, 20 and items 7, 8, 7, read from plain "user,item" lines.
    csv_format plain;
    const auto ref = load_csv(dir.write("plain.csv", "10,7\n10,8\n20,7\n"), plain);
    CHECK(ref.report.loaded == 3);
    CHECK(ref.report.header_lines == 0);
    CHECK(ref.data.users == std::vector<std::uint32_t>{0, 0, 1});
    CHECK(ref.data.items == std::vector<std::uint32_t>{0, 1, 0});
    CHECK_FALSE(ref.data.has_weights());
    auto same = [&](const load_result& r) {
        CHECK(r.report.loaded == 3);
        CHECK(r.data.users == ref.data.users);
        CHECK(r.data.items == ref.data.items);
        CHECK(r.data.raw_user(1) == "20");
        CHECK(r.data.raw_item(1) == "8");
        check_accounting(r.report);
    };

    SECTION("CRLF line ends, a byte-order mark, both, no final line break") {
        for (const std::string& text :
             {std::string("10,7\r\n10,8\r\n20,7\r\n"), std::string("\xEF\xBB\xBF" "10,7\n10,8\n20,7\n"),
              std::string("\xEF\xBB\xBF" "10,7\r\n10,8\r\n20,7")}) {
            for (std::size_t chunk : {2u, 4096u}) {
                load_options opt;
                opt.chunk_bytes = chunk;
                same(load_csv(dir.write("x.csv", text), plain, opt));
            }
        }
    }
    SECTION("a TSV with a header, the ids in columns 2 and 3") {
        csv_format f;
        f.separator = "\t";
        f.header = true;
        f.user_column = 1;
        f.item_column = 2;
        const auto r = load_csv(
            dir.write("h.tsv", "\xEF\xBB\xBF" "time\tuser\titem\r\n5\t10\t7\r\n6\t10\t8\r\n7\t20\t7\r\n"), f);
        same(r);
        CHECK(r.report.header_lines == 1);
        CHECK(r.report.lines == 4);
    }
    SECTION("a tab-separated field keeps its spaces trimmed, a tab is not trimmed as a blank") {
        csv_format f;
        f.separator = "\t";
        same(load_csv(dir.write("t.tsv", " 10 \t7\n10\t 8\n20\t7 \n"), f));
    }
    SECTION("rating and time columns in any order") {
        csv_format f;
        f.separator = ";";
        f.user_column = 3;
        f.item_column = 0;
        f.weight_column = 2;
        f.timestamp_column = 1;
        const auto r = load_csv(dir.write("s.csv", "7;100;4.5;10\n8;101;1;10\n7;102;2;20\n"), f);
        same(r);
        CHECK(r.data.weights == std::vector<float>{4.5f, 1.0f, 2.0f});
        CHECK(r.data.timestamps == std::vector<std::int64_t>{100, 101, 102});
    }
}

TEST_CASE("errors show the invisible characters of the field they quote") {
    bloom_test::temp_dir dir;
    csv_format plain;
    const std::string at = "bloom: " + dir.file("x.csv") + ":";
    auto msg = [&](const std::string& text, const csv_format& f) {
        return message_of(dir.write("x.csv", text), f);
    };
    const std::string cr =
        " (the line holds a carriage return, \\r, that does not end it: only \\n and \\r\\n end "
        "lines, so a file with \\r-only line ends reads as one long line)";
    // \r-only line ends: one long line; the carriage returns are shown, and explained.
    CHECK(msg("196,202\r186,302\r", plain) ==
          at + "1: field 2 (item): expected an unsigned integer id, got '202\\r186'" + cr);
    // \r\r\n: the line reader takes one \r with the \n; the other one is shown.
    CHECK(msg("7\t31\t4\t880000100\r\r\n", format_of(ratings_format::movielens_100k)) ==
          at + "1: field 4 (timestamp): expected an integer, got '880000100\\r'" + cr);
    // A byte-order mark inside the file (two files joined), and a no-break space.
    CHECK(msg("1,2\n\xEF\xBB\xBF" "3,4\n", plain) ==
          at + "2: field 1 (user): expected an unsigned integer id, got '\\xEF\\xBB\\xBF3'");
    CHECK(msg("1,2\xC2\xA0\n", plain) ==
          at + "1: field 2 (item): expected an unsigned integer id, got '2\\xC2\\xA0'");
    // UTF-16 (little-endian) is not UTF-8: its bytes are shown as they are.
    CHECK(msg(std::string("\xFF\xFE" "1\0,\0" "2\0", 8), plain) ==
          at + "1: field 1 (user): expected an unsigned integer id, got '\\xFF\\xFE1\\x00'");
    // A tab inside a comma-separated field.
    CHECK(msg("1\t5,2\n", plain) ==
          at + "1: field 1 (user): expected an unsigned integer id, got '1\\t5'");
    // The header a MovieLens ratings.csv must have, with a stray \r.
    CHECK(msg("userId,movieId,rating,timestamp\r\r\n1,2,3,4\n", format_of(ratings_format::movielens_csv)) ==
          at + "1: expected the header 'userId,movieId,rating,timestamp', got "
               "'userId,movieId,rating,timestamp\\r'" + cr);
    // A line that detection cannot place is shown escaped too.
    CHECK(movielens_message(dir.write("d.csv", "\x01" "1,2\n")) ==
          "bloom: " + dir.file("d.csv") +
              ":1: cannot detect a MovieLens ratings format: expected user<TAB>item<TAB>rating<TAB>"
              "timestamp (u.data), user::item::rating::timestamp (ratings.dat) or the header "
              "'userId,movieId,rating,timestamp' (ratings.csv), got '\\x011,2'; use load_csv with a "
              "csv_format for other files");
}

TEST_CASE("load options: dropping columns, first-seen ids, line order independence") {
    bloom_test::temp_dir dir;
    const std::string a = dir.write("a", "9\t1\t5\t10\n2\t7\t4\t11\n9\t7\t3\t12\n");
    const std::string b = dir.write("b", "9\t7\t3\t12\n2\t7\t4\t11\n9\t1\t5\t10\n");

    load_options no_cols;
    no_cols.weights = false;
    no_cols.timestamps = false;
    const auto bare = load_movielens(a, no_cols).data;
    CHECK_FALSE(bare.has_weights());
    CHECK_FALSE(bare.has_timestamps());
    CHECK(bare.size() == 3);

    load_options first_seen;
    first_seen.sort_ids = false;
    const auto fs = load_movielens(a, first_seen).data;
    CHECK(fs.users == std::vector<std::uint32_t>{0, 1, 0});  // 9 was seen first
    CHECK(fs.raw_user(0) == "9");

    // Sorted ids: the same raw id gets the same dense id whatever the line order.
    const auto da = load_movielens(a).data;
    const auto db = load_movielens(b).data;
    CHECK(da.users == std::vector<std::uint32_t>{1, 0, 1});
    CHECK(db.users == std::vector<std::uint32_t>{1, 0, 1});
    CHECK(da.items == std::vector<std::uint32_t>{0, 1, 1});
    CHECK(db.items == std::vector<std::uint32_t>{1, 1, 0});
}

TEST_CASE("plain lines, read in one pass, give what the field-by-field reading gives") {
    // The same lines twice: as written, and with a blank after each separator, which the
    // one-pass reading (read_plain_line) leaves to the field-by-field one. Fields in every form,
    // good and bad; both loads must give the same data and the same report, messages included.
    std::uint64_t x = 0x2545F4914F6CDD1Dull;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    auto pick = [&next](std::initializer_list<const char*> odd) {
        return std::string(odd.begin()[next() % odd.size()]);
    };
    auto id = [&] {
        if (next() % 40) return std::to_string(next() % 5000);
        return pick({"18446744073709551615", "007", "0", "-3", "1.5", "", "99999999999999999999",
                     "+4", "1e3"});
    };
    auto rating = [&] {
        if (next() % 10) {
            const std::uint64_t half = next() % 10 + 1;
            return std::to_string(half / 2) + (half % 2 ? ".5" : ".0");
        }
        return pick({"4", "-1.25", "1e-3", "2.50000001", "0001.5", "3.", ".5", "+2", "nan", "x",
                     "", "1234567", "12345678", "0.1", "-0"});
    };
    auto stamp = [&] {
        if (next() % 20) return std::to_string(next() % 2000000000);
        return pick({"-5", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                     "12.5", "+7", "", "-", "0"});
    };
    std::string plain = std::string(movielens_csv_header) + "\n", spaced = plain;
    for (int k = 0; k < 20000; ++k) {
        std::vector<std::string> fields = {id(), id(), rating(), stamp()};
        if (next() % 50 == 0) fields.pop_back();
        if (next() % 50 == 0) fields.push_back("extra");
        if (next() % 200 == 0) fields.clear();  // a blank line
        for (std::size_t f = 0; f < fields.size(); ++f) {
            plain += (f ? "," : "") + fields[f];
            spaced += (f ? ", " : "") + fields[f];
        }
        plain += '\n';
        spaced += '\n';
    }
    bloom_test::temp_dir dir;
    const std::string a = dir.write("plain.csv", plain), b = dir.write("spaced.csv", spaced);

    // The one-pass reading takes the plain lines (so the loads below do compare both readings)
    // and nothing else.
    using role = detail::column_role;
    const std::vector<role> roles = {role::user, role::item, role::weight, role::timestamp};
    detail::line_values v;
    CHECK(detail::read_plain_line("196,242,3.5,881250949", ',', roles, 4, v));
    CHECK((v.user == 196 && v.item == 242 && v.weight == 3.5f && v.stamp == 881250949));
    CHECK(detail::read_plain_line("1,2,-0.25,-7,x", ',', roles, 0, v));
    CHECK((v.weight == -0.25f && v.stamp == -7));
    CHECK_FALSE(detail::read_plain_line("1,2,-0.25,-7,x", ',', roles, 4, v));
    CHECK_FALSE(detail::read_plain_line("1,2,3.5", ',', roles, 4, v));
    CHECK_FALSE(detail::read_plain_line("1, 2,3.5,4", ',', roles, 4, v));
    CHECK_FALSE(detail::read_plain_line("1,2,3.5,4 ", ',', roles, 4, v));
    CHECK_FALSE(detail::read_plain_line("1,2,1e3,4", ',', roles, 4, v));
    CHECK_FALSE(detail::read_plain_line("", ',', roles, 4, v));

    csv_format other_columns;  // user, item, (ignored), timestamp, any more fields
    other_columns.header = true;
    other_columns.timestamp_column = 3;
    load_options keep_all;
    keep_all.skip_bad_lines = true;
    keep_all.max_reported = 100000;
    load_options ids_only = keep_all;
    ids_only.weights = false;
    ids_only.timestamps = false;
    const std::pair<csv_format, load_options> cases[] = {
        {format_of(ratings_format::movielens_csv), keep_all},
        {format_of(ratings_format::movielens_csv), ids_only},
        {other_columns, keep_all}};
    for (const auto& [fmt, opt] : cases) {
        const auto [da, ra] = load_csv(a, fmt, opt);
        const auto [db, rb] = load_csv(b, fmt, opt);
        INFO("fields " << fmt.fields << ", weights " << opt.weights);
        CHECK(ra.loaded > 10000);
        CHECK(ra.skipped > 100);
        CHECK(ra.loaded == rb.loaded);
        CHECK(ra.lines == rb.lines);
        CHECK(ra.blank_lines == rb.blank_lines);
        REQUIRE(ra.skipped == rb.skipped);
        REQUIRE(ra.first_skipped.size() == rb.first_skipped.size());
        for (std::size_t k = 0; k < ra.first_skipped.size(); ++k) {
            REQUIRE(ra.first_skipped[k].line == rb.first_skipped[k].line);
            REQUIRE(ra.first_skipped[k].what == rb.first_skipped[k].what);
        }
        check_accounting(ra);
        CHECK(da.users == db.users);
        CHECK(da.items == db.items);
        CHECK(da.weights == db.weights);
        CHECK(da.timestamps == db.timestamps);
        REQUIRE(da.n_users == db.n_users);
        REQUIRE(da.n_items == db.n_items);
        for (std::uint32_t u = 0; u < da.n_users; ++u) {
            REQUIRE(da.user_ids->integer(u) == db.user_ids->integer(u));
        }
        for (std::uint32_t i = 0; i < da.n_items; ++i) {
            REQUIRE(da.item_ids->integer(i) == db.item_ids->integer(i));
        }
    }
}

TEST_CASE("MovieLens 100K from the shared data folder") {
    const std::string path = BLOOM_SHARED_DIR "/data/ml-100k/u.data";
    if (!std::filesystem::exists(path)) {
        WARN("SKIPPED: " << path << " is absent (scripts/fetch-movielens.sh 100k fetches it)");
        return;
    }
    const auto [d, r] = load_movielens(path);
    CHECK(r.format == "movielens-100k");
    CHECK(r.loaded == 100000);
    CHECK(r.skipped == 0);
    check_accounting(r);
    CHECK(d.n_users == 943);
    CHECK(d.n_items == 1682);
    CHECK_NOTHROW(d.validate());
    double sum = 0;
    for (float w : d.weights) sum += w;
    CHECK(sum == 352986.0);
    CHECK(*std::min_element(d.timestamps.begin(), d.timestamps.end()) == 874724710);
    CHECK(*std::max_element(d.timestamps.begin(), d.timestamps.end()) == 893286638);
    // Users 1..943 and items 1..1682 are contiguous: dense = raw - 1.
    CHECK(d.raw_user(0) == "1");
    CHECK(d.raw_item(1681) == "1682");
    CHECK(d.raw_user(d.users[0]) == "196");  // the first line

    // Small chunks give the same result (lines straddling every chunk boundary).
    load_options small;
    small.chunk_bytes = 1000;
    const auto again = load_movielens(path, small);
    CHECK(again.data.users == d.users);
    CHECK(again.data.items == d.items);
    CHECK(again.data.weights == d.weights);
    CHECK(again.data.timestamps == d.timestamps);
    CHECK(again.report.buffer_bytes == 1000);
}

TEST_CASE("a 5M-line ratings.csv streams with bounded memory") {
    // Lines like MovieLens 25M's: ~160k users, ~60k items, half-star ratings. The load time is
    // printed, never asserted. BLOOM_TEST_BIG_LINES overrides the line count.
    std::size_t n_lines = 5000000;
    if (const char* env = std::getenv("BLOOM_TEST_BIG_LINES")) n_lines = std::stoull(env);
    bloom_test::temp_dir dir;
    const std::string path = dir.file("ratings.csv");

    std::uint64_t user_sum = 0, item_sum = 0, half_stars = 0, time_sum = 0;
    std::vector<char> seen_user(162542, 0), seen_item(60001, 0);
    std::size_t n_users = 0, n_items = 0;
    {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f);
        std::string buf = "userId,movieId,rating,timestamp\n";
        std::uint64_t x = 0x9E3779B97F4A7C15ull;
        char num[24];
        auto put = [&](std::uint64_t v, char end) {
            const auto res = std::to_chars(num, num + sizeof num, v);
            buf.append(num, res.ptr);
            buf += end;
        };
        for (std::size_t k = 0; k < n_lines; ++k) {
            x ^= x << 13;  // xorshift64: a fixed, cheap stream of values
            x ^= x >> 7;
            x ^= x << 17;
            const std::uint64_t user = 1 + x % 162541, item = 1 + (x >> 20) % 60000;
            const std::uint64_t half = 1 + (x >> 40) % 10, t = 1500000000 + (x >> 34) % 100000000;
            user_sum += user;
            item_sum += item;
            half_stars += half;
            time_sum += t;
            if (!seen_user[user]) { seen_user[user] = 1; ++n_users; }
            if (!seen_item[item]) { seen_item[item] = 1; ++n_items; }
            put(user, ',');
            put(item, ',');
            put(half / 2, '.');  // rating = half / 2, written as "2.5" or "3.0"
            buf += (half % 2) ? '5' : '0';
            buf += ',';
            put(t, '\n');
            if (buf.size() > (1u << 20)) {
                REQUIRE(std::fwrite(buf.data(), 1, buf.size(), f) == buf.size());
                buf.clear();
            }
        }
        REQUIRE(std::fwrite(buf.data(), 1, buf.size(), f) == buf.size());
        std::fclose(f);
    }

    const auto start = std::chrono::steady_clock::now();
    const auto [d, r] = load_movielens(path);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "[data] loaded " << r.loaded << " lines (" << r.bytes / 1000000.0
              << " MB) of a generated ratings.csv in " << seconds << " s ("
              << static_cast<double>(r.loaded) / seconds / 1e6 << " M lines/s)\n";

    REQUIRE(r.loaded == n_lines);
    CHECK(r.header_lines == 1);
    check_accounting(r);
    CHECK(d.n_users == n_users);
    CHECK(d.n_items == n_items);
    std::uint64_t us = 0, is = 0, hs = 0, ts = 0;
    for (std::size_t k = 0; k < d.size(); ++k) {
        us += d.user_ids->integer(d.users[k]);
        is += d.item_ids->integer(d.items[k]);
        hs += static_cast<std::uint64_t>(d.weights[k] * 2.0f);
        ts += static_cast<std::uint64_t>(d.timestamps[k]);
    }
    CHECK(us == user_sum);
    CHECK(is == item_sum);
    CHECK(hs == half_stars);
    CHECK(ts == time_sum);
    // Bounded extra memory: the reader's buffer stayed one chunk, and the columns were reserved
    // once from an estimate instead of doubling (capacity within 10% of the size).
    CHECK(r.buffer_bytes == load_options{}.chunk_bytes);
    CHECK(d.users.capacity() <= d.size() + d.size() / 10);
    CHECK(d.timestamps.capacity() <= d.size() + d.size() / 10);
}
