// Streaming pieces the loaders are built from: a chunked line reader, a field splitter, strict
// number parsers, and escape_text, which shows a field in an error message with its invisible
// bytes spelled out. Nothing here allocates per line (only an error's message does).
//
// line_reader reads a file in large chunks with std::fread and hands out each line as a
// string_view into its buffer (valid until the next call). It strips the line break ("\n" or
// "\r\n") and a UTF-8 byte-order mark at the start, and returns a last line that has no final
// line break. The buffer holds one chunk plus the line that straddles it, so the extra memory is
// bounded by chunk_bytes + the longest line, whatever the file size.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <bloom/error.hpp>

namespace bloom {
namespace data {
namespace detail {

// Asks the kernel to back [p, p + bytes) with transparent huge pages (Linux; elsewhere, or under
// 4 MiB, nothing). For memory written once front to back (the line buffer, the loaded columns):
// with 4 KiB pages every 4 KiB first written costs a page fault. Advice only: without THP, or
// with it off, the call fails or does nothing, which is ignored.
inline void advise_huge_pages(const void* p, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes < (std::size_t{4} << 20)) return;
    constexpr std::uintptr_t page = 4096;
    const auto first = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t begin = (first + page - 1) & ~(page - 1);
    const std::uintptr_t end = (first + bytes) & ~(page - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

// A growable byte buffer that, unlike std::vector<char>, does not zero what it allocates (the
// reader overwrites it at once), and asks for huge pages when large.
class byte_buffer {
public:
    char* data() noexcept { return data_.get(); }
    const char* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    char operator[](std::size_t i) const noexcept { return data_[i]; }
    // Grows to n bytes, keeping the first size() (never shrinks).
    void grow(std::size_t n) {
        if (n <= size_) return;
        std::unique_ptr<char[]> bigger(new char[n]);
        advise_huge_pages(bigger.get(), n);
        if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
        data_ = std::move(bigger);
        size_ = n;
    }

private:
    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
};

class line_reader {
public:
    static constexpr std::size_t default_chunk_bytes = std::size_t{4} << 20;

    explicit line_reader(std::string path, std::size_t chunk_bytes = default_chunk_bytes)
        : path_(std::move(path)), chunk_(std::max<std::size_t>(chunk_bytes, 1)) {
        file_ = std::fopen(path_.c_str(), "rb");
        if (!file_) {
            const int e = errno;
            throw bloom::error("bloom: " + path_ + ": cannot open (" +
                               std::string(std::strerror(e)) + ")");
        }
        buf_.grow(chunk_);
    }
    line_reader(const line_reader&) = delete;
    line_reader& operator=(const line_reader&) = delete;
    ~line_reader() {
        if (file_) std::fclose(file_);
    }

    // The next line, without its line break; false at the end of the file.
    bool next(std::string_view& line) {
        for (;;) {
            const char* const base = buf_.data();
            if (pos_ < end_) {
                const void* nl = std::memchr(base + pos_, '\n', end_ - pos_);
                if (nl) {
                    const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
                    line = trim_cr(std::string_view(base + pos_, at - pos_));
                    pos_ = at + 1;
                    ++line_no_;
                    return true;
                }
            }
            if (eof_) {
                if (pos_ < end_) {  // a last line without a final line break
                    line = trim_cr(std::string_view(base + pos_, end_ - pos_));
                    pos_ = end_;
                    ++line_no_;
                    return true;
                }
                return false;
            }
            fill();
        }
    }

    // The number of the line last returned by next() (1-based; 0 before the first).
    std::size_t line_number() const noexcept { return line_no_; }
    // Bytes read from the file so far.
    std::size_t bytes_read() const noexcept { return bytes_; }
    // The largest the buffer has been (chunk size, more only for a line longer than a chunk).
    std::size_t buffer_bytes() const noexcept { return buf_.size(); }
    const std::string& path() const noexcept { return path_; }

    // Bytes currently buffered and not yet returned (used to estimate the line count).
    std::string_view buffered() const noexcept {
        return std::string_view(buf_.data() + pos_, end_ - pos_);
    }
    // Reads the first chunk now (if nothing is buffered yet), so buffered() can be inspected.
    void prime() {
        if (pos_ == end_ && !eof_) fill();
    }

private:
    static std::string_view trim_cr(std::string_view s) noexcept {
        if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
        return s;
    }

    void fill() {
        // Keep the unfinished line, at the front of the buffer.
        const std::size_t keep = end_ - pos_;
        if (keep > 0 && pos_ > 0) std::memmove(buf_.data(), buf_.data() + pos_, keep);
        pos_ = 0;
        end_ = keep;
        if (end_ == buf_.size()) buf_.grow(buf_.size() * 2);  // a line longer than the buffer
        const std::size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - end_, file_);
        if (got == 0) {
            if (std::ferror(file_)) {
                throw bloom::parse_error(path_, line_no_ + 1, "read error");
            }
            eof_ = true;
        }
        bytes_ += got;
        end_ += got;
        // A UTF-8 byte-order mark is not part of the first line. Checked once 3 bytes are in
        // (before any line is returned, the buffer starts at the file's first byte).
        if (!bom_checked_ && (end_ >= 3 || eof_)) {
            bom_checked_ = true;
            if (line_no_ == 0 && end_ >= 3 && static_cast<unsigned char>(buf_[0]) == 0xEF &&
                static_cast<unsigned char>(buf_[1]) == 0xBB &&
                static_cast<unsigned char>(buf_[2]) == 0xBF) {
                pos_ = 3;
            }
        }
    }

    std::string path_;
    std::size_t chunk_;
    std::FILE* file_ = nullptr;
    byte_buffer buf_;
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
    std::size_t line_no_ = 0;
    std::size_t bytes_ = 0;
    bool eof_ = false;
    bool bom_checked_ = false;
};

// Splits `line` at every occurrence of `sep` (one or more characters). Stores up to
// out.size() fields into `out` (resized by the caller once) and returns the total number of
// fields, which may be larger.
inline std::size_t split_fields(std::string_view line, std::string_view sep,
                                std::vector<std::string_view>& out) noexcept {
    std::size_t count = 0;
    const std::size_t cap = out.size();
    if (sep.size() == 1) {
        // A byte loop, not memchr: fields are a few bytes, shorter than a call to memchr costs.
        const char c = sep[0];
        const char* field = line.data();
        const char* const end = field + line.size();
        for (const char* p = field; p != end; ++p) {
            if (*p != c) continue;
            if (count < cap) {
                out[count] = std::string_view(field, static_cast<std::size_t>(p - field));
            }
            ++count;
            field = p + 1;
        }
        line = std::string_view(field, static_cast<std::size_t>(end - field));
    } else {
        for (;;) {
            const std::size_t at = line.find(sep);
            if (at == std::string_view::npos) break;
            if (count < cap) out[count] = line.substr(0, at);
            ++count;
            line.remove_prefix(at + sep.size());
        }
    }
    if (count < cap) out[count] = line;
    return count + 1;
}

// Removes spaces (and tabs, unless tab is the separator) around a field.
inline std::string_view trim_blanks(std::string_view s, bool tabs) noexcept {
    auto blank = [tabs](char c) { return c == ' ' || (tabs && c == '\t'); };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

inline bool is_blank_line(std::string_view s) noexcept {
    for (const char c : s) {
        if (c != ' ' && c != '\t' && c != '\r') return false;
    }
    return true;
}

// Scanners for the plain forms of numbers that data files hold ("196", "-5", "3.5"): each reads
// the number at p (before `end`) and returns the pointer past it, or nullptr when the bytes there
// do not start with that form. They stop at the first byte that does not belong to it, so the
// caller checks what follows (a separator, the end). The strict parsers below use them as a fast
// path and leave every other field, and every error, to std::from_chars; the loaders use them
// to read a whole line in one pass (loaders.hpp).

// The value of a decimal digit; 10 or more for any other byte.
inline unsigned digit_value(char c) noexcept {
    return static_cast<unsigned>(static_cast<unsigned char>(c)) - unsigned{'0'};
}

// 1 to 19 decimal digits (below 10^19 < 2^64, so nothing overflows).
inline const char* scan_u64(const char* p, const char* end, std::uint64_t& out) noexcept {
    const char* const start = p;
    std::uint64_t v = 0;
    for (; p != end; ++p) {
        const unsigned d = digit_value(*p);
        if (d > 9) break;
        v = v * 10 + d;
    }
    if (p == start || p - start > 19) return nullptr;
    out = v;
    return p;
}

// An optional '-', then 1 to 18 decimal digits (below 10^18 < 2^63).
inline const char* scan_i64(const char* p, const char* end, std::int64_t& out) noexcept {
    const bool neg = p != end && *p == '-';
    std::uint64_t v = 0;
    const char* const q = scan_u64(p + (neg ? 1 : 0), end, v);
    if (!q || q - p > (neg ? 19 : 18)) return nullptr;
    out = neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
    return q;
}

// [-]digits[.digits], at most 7 digits in all. The digits m (below 10^7 < 2^24) and 10^k
// (k <= 7) are exact floats, and IEEE division rounds the exact quotient m / 10^k once, to
// nearest: the correctly rounded value of the decimal, which std::from_chars returns too. Never
// used where float arithmetic may be wider than float or be rewritten (FLT_EVAL_METHOD != 0,
// -ffast-math): nullptr there.
inline const char* scan_decimal(const char* p, const char* end, float& out) noexcept {
#if defined(__FAST_MATH__) || !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
    (void)p;
    (void)end;
    (void)out;
    return nullptr;
#else
    static constexpr float pow10[8] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f};
    const bool neg = p != end && *p == '-';
    if (neg) ++p;
    const char* const start = p;
    std::uint32_t m = 0;
    for (; p != end && p - start < 8; ++p) {
        const unsigned d = digit_value(*p);
        if (d > 9) break;
        m = m * 10 + d;
    }
    const auto whole = p - start;
    if (whole == 0) return nullptr;
    std::ptrdiff_t frac = 0;
    if (p != end && *p == '.') {
        const char* const f = ++p;
        for (; p != end && p - start < 9; ++p) {
            const unsigned d = digit_value(*p);
            if (d > 9) break;
            m = m * 10 + d;
        }
        frac = p - f;
        if (frac == 0) return nullptr;
    }
    if (whole + frac > 7) return nullptr;
    const float v = static_cast<float>(m) / pow10[frac];
    out = neg ? -v : v;
    return p;
#endif
}

// Strict parsers: the whole field must be the number.
inline bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
    if (s.empty()) return false;
    const char* const end = s.data() + s.size();
    if (scan_u64(s.data(), end, out) == end) return true;
    const auto r = std::from_chars(s.data(), end, out);
    return r.ec == std::errc() && r.ptr == end;
}

inline bool parse_i64(std::string_view s, std::int64_t& out) noexcept {
    if (s.empty()) return false;
    const char* const end = s.data() + s.size();
    if (scan_i64(s.data(), end, out) == end) return true;
    const auto r = std::from_chars(s.data(), end, out);
    return r.ec == std::errc() && r.ptr == end;
}

// A finite float (rejects "nan", "inf" and values out of float's range).
inline bool parse_float(std::string_view s, float& out) noexcept {
    if (s.empty()) return false;
    const char* const end = s.data() + s.size();
    if (scan_decimal(s.data(), end, out) == end) return true;
    const auto r = std::from_chars(s.data(), end, out);
    return r.ec == std::errc() && r.ptr == end && std::isfinite(out);
}

// Code points that print as nothing, or as a blank that cannot be told from a space: C1
// controls, no-break and other spaces, the soft hyphen, zero-width characters, direction marks,
// line and paragraph separators, invisible operators, variation selectors, the byte-order mark
// U+FEFF, the interlinear annotation characters and the tag characters.
inline bool is_invisible(char32_t cp) noexcept {
    return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x34F || cp == 0x61C ||
           cp == 0x115F || cp == 0x1160 || cp == 0x1680 || cp == 0x180E ||
           (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
           (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || cp == 0x3164 ||
           (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFA0 ||
           (cp >= 0xFFF0 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE0FFF);
}

// The length (2 to 4) of the well-formed UTF-8 sequence at the start of `s`, with its code point
// in `cp`; 0 when the bytes there are not one (a stray continuation byte, an overlong form, a
// surrogate, a value above U+10FFFF, a truncated sequence).
inline std::size_t utf8_sequence(std::string_view s, char32_t& cp) noexcept {
    if (s.empty()) return 0;
    const auto b0 = static_cast<unsigned char>(s[0]);
    std::size_t n = 0;
    char32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
        cp = b0 & 0x1FU;
        min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        cp = b0 & 0x0FU;
        min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        cp = b0 & 0x07U;
        min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() < n) return 0;
    for (std::size_t i = 1; i < n; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xC0U) != 0x80U) return 0;
        cp = (cp << 6) | (b & 0x3FU);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

// Text as an error message shows it: printable ASCII and visible UTF-8 characters as they are;
// tab, carriage return and line feed as \t, \r, \n; a backslash as \\; every other byte
// (control characters, DEL, invisible characters such as the byte-order mark, bytes that are not
// UTF-8) as \xHH, so "202\r" or "\xEF\xBB\xBF1" shows what the field really holds. At most
// `max_bytes` bytes of `s` are shown (a character is never cut), then "...".
inline std::string escape_text(std::string_view s,
                               std::size_t max_bytes = std::string_view::npos) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(std::min(s.size(), max_bytes) + 8);
    std::size_t i = 0;
    while (i < s.size() && i < max_bytes) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7F) {
            if (c == '\\') out += '\\';
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        if (c == '\t' || c == '\r' || c == '\n') {
            out += '\\';
            out += c == '\t' ? 't' : c == '\r' ? 'r' : 'n';
            ++i;
            continue;
        }
        char32_t cp = 0;
        std::size_t n = c >= 0x80 ? utf8_sequence(s.substr(i), cp) : 0;
        if (n > 0 && !is_invisible(cp)) {
            out.append(s.data() + i, n);
        } else {
            if (n == 0) n = 1;
            for (std::size_t j = i; j < i + n; ++j) {
                const auto b = static_cast<unsigned char>(s[j]);
                out += "\\x";
                out += hex[b >> 4];
                out += hex[b & 0xFU];
            }
        }
        i += n;
    }
    if (i < s.size()) out += "...";
    return out;
}

// A field quoted in an error message: escaped (escape_text), at most 40 bytes of it, then "...".
inline std::string quote_field(std::string_view s) { return "'" + escape_text(s, 40) + "'"; }

// A separator spelled for an error message: '\t' for a tab (escape_text).
inline std::string show_separator(std::string_view sep) { return "'" + escape_text(sep) + "'"; }

}  // namespace detail
}  // namespace data
}  // namespace bloom
