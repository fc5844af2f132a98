#include <catch2/catch.hpp>

#include <bloom/data/csv.hpp>

#include "fixtures/temp_files.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using bloom::data::detail::line_reader;

namespace {

std::vector<std::string> read_lines(const std::string& path, std::size_t chunk,
                                    std::size_t* buffer = nullptr) {
    line_reader in(path, chunk);
    std::vector<std::string> lines;
    std::string_view line;
    while (in.next(line)) {
        lines.emplace_back(line);
        REQUIRE(in.line_number() == lines.size());
    }
    if (buffer) *buffer = in.buffer_bytes();
    return lines;
}

}  // namespace

TEST_CASE("line_reader returns the same lines whatever the chunk size") {
    bloom_test::temp_dir dir;
    const std::string long_line(300, 'x');
    const std::vector<std::string> expected = {"a\tb", "", "ccc", long_line, "last"};
    const std::string text = "a\tb\n\nccc\n" + long_line + "\nlast\n";
    const std::string path = dir.write("lines.txt", text);
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u, 4096u}) {
        INFO("chunk " << chunk);
        std::size_t buffer = 0;
        CHECK(read_lines(path, chunk, &buffer) == expected);
        // One chunk, or about twice the longest line when a line does not fit in one.
        CHECK(buffer <= std::max<std::size_t>(chunk, 2 * (long_line.size() + 1)));
    }
}

TEST_CASE("line_reader strips CRLF, a missing final newline and a byte-order mark") {
    bloom_test::temp_dir dir;
    const std::vector<std::string> expected = {"1,2", "3,4", "5,6"};
    for (std::size_t chunk : {1u, 2u, 5u, 4096u}) {
        INFO("chunk " << chunk);
        CHECK(read_lines(dir.write("crlf", "1,2\r\n3,4\r\n5,6\r\n"), chunk) == expected);
        CHECK(read_lines(dir.write("no-final", "1,2\n3,4\n5,6"), chunk) == expected);
        CHECK(read_lines(dir.write("crlf-no-final", "1,2\r\n3,4\r\n5,6"), chunk) == expected);
        CHECK(read_lines(dir.write("bom", "\xEF\xBB\xBF" "1,2\n3,4\n5,6\n"), chunk) == expected);
    }
}

TEST_CASE("line_reader on an empty file and on a lone newline") {
    bloom_test::temp_dir dir;
    line_reader empty(dir.write("empty", ""));
    std::string_view line;
    CHECK_FALSE(empty.next(line));
    CHECK(empty.line_number() == 0);
    CHECK(read_lines(dir.write("nl", "\n"), 16) == std::vector<std::string>{""});
    CHECK(read_lines(dir.write("crlf", "\r\n"), 16) == std::vector<std::string>{""});
}

TEST_CASE("line_reader counts the bytes it reads") {
    bloom_test::temp_dir dir;
    line_reader in(dir.write("f", "abc\ndef\n"), 3);
    std::string_view line;
    while (in.next(line)) {
    }
    CHECK(in.bytes_read() == 8);
}

TEST_CASE("line_reader names the file it cannot open") {
    CHECK_THROWS_AS(line_reader("/nonexistent/bloom/ratings.csv"), bloom::error);
    CHECK_THROWS_WITH(line_reader("/nonexistent/bloom/ratings.csv"),
                      Catch::StartsWith("bloom: /nonexistent/bloom/ratings.csv: cannot open"));
}

TEST_CASE("split_fields splits on one- and multi-character separators") {
    using bloom::data::detail::split_fields;
    std::vector<std::string_view> f(4);
    CHECK(split_fields("1\t2\t3\t4", "\t", f) == 4);
    CHECK(f[0] == "1");
    CHECK(f[3] == "4");
    CHECK(split_fields("10::20::3.5::99", "::", f) == 4);
    CHECK(f[1] == "20");
    CHECK(f[2] == "3.5");
    CHECK(split_fields("a,,b", ",", f) == 3);
    CHECK(f[1].empty());
    CHECK(f[2] == "b");
    CHECK(split_fields("", ",", f) == 1);
    CHECK(f[0].empty());
    CHECK(split_fields("1:2::3", "::", f) == 2);
    CHECK(f[0] == "1:2");
    // More fields than slots: counted, not stored.
    CHECK(split_fields("1,2,3,4,5,6", ",", f) == 6);
    CHECK(f[3] == "4");
}

TEST_CASE("number parsers take the whole field or nothing") {
    using namespace bloom::data::detail;
    std::uint64_t u = 0;
    CHECK(parse_u64("18446744073709551615", u));
    CHECK(u == 18446744073709551615ull);
    CHECK_FALSE(parse_u64("18446744073709551616", u));
    CHECK_FALSE(parse_u64("-1", u));
    CHECK_FALSE(parse_u64("12a", u));
    CHECK_FALSE(parse_u64("", u));
    CHECK_FALSE(parse_u64(" 1", u));
    std::int64_t i = 0;
    CHECK(parse_i64("-5", i));
    CHECK(i == -5);
    CHECK_FALSE(parse_i64("12.5", i));
    float x = 0;
    CHECK(parse_float("3.5", x));
    CHECK(x == 3.5f);
    CHECK(parse_float("4", x));
    CHECK(x == 4.0f);
    CHECK(parse_float("1e-3", x));
    CHECK_FALSE(parse_float("nan", x));
    CHECK_FALSE(parse_float("inf", x));
    CHECK_FALSE(parse_float("1e99", x));
    CHECK_FALSE(parse_float("3.5x", x));
    CHECK_FALSE(parse_float("", x));
}

TEST_CASE("field helpers for messages") {
    using namespace bloom::data::detail;
    CHECK(trim_blanks("  7 \t", true) == "7");
    CHECK(trim_blanks(" 7\t", false) == "7\t");
    CHECK(is_blank_line(" \t\r"));
    CHECK_FALSE(is_blank_line(" x"));
    CHECK(quote_field("abc") == "'abc'");
    CHECK(quote_field(std::string(50, 'z')) == "'" + std::string(40, 'z') + "...'");
    CHECK(show_separator("\t") == "'\\t'");
    CHECK(show_separator("::") == "'::'");
}
