#include <catch2/catch.hpp>

#include <bloom/data/csv.hpp>

#include "fixtures/temp_files.hpp"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
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

namespace {

// What std::from_chars makes of the whole of `s` (the reference the fast paths must match).
template <class T>
bool reference_parse(std::string_view s, T& out) {
    if (s.empty()) return false;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::uint32_t bits_of(float f) {
    std::uint32_t b = 0;
    std::memcpy(&b, &f, sizeof b);
    return b;
}

// Checks parse_float against std::from_chars, bit for bit.
void check_float(const std::string& s) {
    float fast = -1.0f, ref = -2.0f;
    const bool ok = bloom::data::detail::parse_float(s, fast);
    const bool ref_ok = reference_parse(s, ref) && std::isfinite(ref);
    INFO("'" << s << "'");
    REQUIRE(ok == ref_ok);
    if (ok) REQUIRE(bits_of(fast) == bits_of(ref));
}

}  // namespace

TEST_CASE("the number parsers' fast paths give exactly what std::from_chars gives") {
    using namespace bloom::data::detail;
    // Every decimal of up to 5 digits, with the point anywhere (or none), and its negative.
    for (std::uint32_t m = 0; m < 100000; ++m) {
        const std::string digits = std::to_string(m);
        for (std::size_t dot = 1; dot <= digits.size(); ++dot) {  // at size(): no point
            std::string s = digits;
            if (dot < digits.size()) s.insert(dot, ".");
            check_float(s);
            if (m % 7 == 0) check_float("-" + s);
        }
    }
    // Random decimals of 6 to 9 digits (7 is the fast path's limit), leading zeros, and forms
    // the fast path leaves to from_chars.
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < 200000; ++k) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::string s = std::to_string(x % 1000000000);
        while (s.size() < 6 + x % 4) s.insert(0, "0");
        const std::size_t dot = (x >> 40) % (s.size() + 1);
        if (dot > 0 && dot < s.size()) s.insert(dot, ".");
        check_float(s);
    }
    for (const char* s : {"0", "-0", "-0.0", "0.0000001", "9999999", "9999.999", "99999999",
                          "16777217", "1677721.7", "3.", ".5", "-.5", "+1", "1e3", "1.5e1",
                          "0x1p3", "00000003.5", "3.50000", "--1", "-", ".", "1.2.3", "1,5",
                          " 1", "1 ", "5\r", "3.4028235e38", "1e39"}) {
        check_float(s);
    }
#if !defined(__FAST_MATH__) && defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    // The fast path does take the plain forms (else the above would test from_chars alone).
    float f = 0;
    const std::string_view plain = "1234.567", eight = "1234.5678";
    const char* const plain_end = plain.data() + plain.size();
    CHECK(scan_decimal(plain.data(), plain_end, f) == plain_end);
    CHECK(f == 1234.567f);
    CHECK(scan_decimal(eight.data(), eight.data() + eight.size(), f) == nullptr);
#endif

    // Integers: edge cases and random values of 1 to 20 digits, signed and not.
    std::vector<std::string> ints = {"0", "-0", "00", "1", "-1", "+1", "", "-", " 1", "1 ",
                                     "999999999999999999", "1000000000000000000",
                                     "9999999999999999999", "18446744073709551615",
                                     "18446744073709551616", "99999999999999999999",
                                     "9223372036854775807", "9223372036854775808",
                                     "-9223372036854775808", "-9223372036854775809",
                                     "-999999999999999999", "0000000000000000000000012", "12a",
                                     "1.0", "0x10"};
    for (int k = 0; k < 100000; ++k) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::string s = std::to_string(x >> (x % 64));
        if (x & 1) s.insert(0, "-");
        ints.push_back(s);
    }
    for (const std::string& s : ints) {
        INFO("'" << s << "'");
        std::uint64_t u = 1, u_ref = 2;
        const bool u_ok = parse_u64(s, u);
        REQUIRE(u_ok == reference_parse(s, u_ref));
        if (u_ok) REQUIRE(u == u_ref);
        std::int64_t i = 1, i_ref = 2;
        const bool i_ok = parse_i64(s, i);
        REQUIRE(i_ok == reference_parse(s, i_ref));
        if (i_ok) REQUIRE(i == i_ref);
    }
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

TEST_CASE("escape_text shows what a field really holds") {
    using bloom::data::detail::escape_text;
    CHECK(escape_text("202") == "202");
    CHECK(escape_text("202\r") == "202\\r");
    CHECK(escape_text("a\tb\nc") == "a\\tb\\nc");
    CHECK(escape_text("C:\\x") == "C:\\\\x");  // a backslash doubled, so \\r is not \r
    CHECK(escape_text(std::string_view("1\0" "2", 3)) == "1\\x002");
    CHECK(escape_text("\x7F\x1B[0m") == "\\x7F\\x1B[0m");  // DEL, and an escape sequence
    // The byte-order mark and other invisible characters, byte by byte.
    CHECK(escape_text("\xEF\xBB\xBF" "196") == "\\xEF\\xBB\\xBF196");
    CHECK(escape_text("12\xC2\xA0") == "12\\xC2\\xA0");            // no-break space
    CHECK(escape_text("a\xE2\x80\x8B" "b") == "a\\xE2\\x80\\x8Bb");  // zero-width space
    CHECK(escape_text("\xC2\x85") == "\\xC2\\x85");                // C1 control NEL
    // Visible UTF-8 stays as it is.
    CHECK(escape_text("Am\xC3\xA9lie \xE2\x82\xAC \xF0\x9F\x8E\xAC") ==
          "Am\xC3\xA9lie \xE2\x82\xAC \xF0\x9F\x8E\xAC");
    // Bytes that are not UTF-8: a stray continuation byte, Latin-1, an overlong '/', a
    // truncated sequence, a surrogate, UTF-16's byte-order mark.
    CHECK(escape_text("\x80") == "\\x80");
    CHECK(escape_text("caf\xE9") == "caf\\xE9");
    CHECK(escape_text("\xC0\xAF") == "\\xC0\\xAF");
    CHECK(escape_text("\xE2\x82") == "\\xE2\\x82");
    CHECK(escape_text("\xED\xA0\x80") == "\\xED\\xA0\\x80");
    CHECK(escape_text("\xFF\xFE" "1") == "\\xFF\\xFE1");
    // The cut: at most max_bytes of the input, never inside a character, then "...".
    CHECK(escape_text("abcdef", 3) == "abc...");
    CHECK(escape_text("abc", 3) == "abc");
    CHECK(escape_text("ab\xC3\xA9z", 3) == "ab\xC3\xA9...");
}

TEST_CASE("error quotes escape the field and the separator") {
    using namespace bloom::data::detail;
    CHECK(quote_field("202\r") == "'202\\r'");
    CHECK(quote_field("\xEF\xBB\xBF") == "'\\xEF\\xBB\\xBF'");
    CHECK(quote_field(std::string(39, 'z') + "\t\t") == "'" + std::string(39, 'z') + "\\t...'");
    CHECK(show_separator("\x1F") == "'\\x1F'");
}
