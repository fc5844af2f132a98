// Loaders: MovieLens ratings files (format detected from the content) and a generic CSV/TSV
// loader with column and separator options. All stream the file in chunks (see csv.hpp).
//
//   auto [data, report] = bloom::data::load_movielens("ml-100k/u.data");
//   auto r = bloom::data::load_csv("events.tsv", fmt, opts);   // csv_format says the columns
//
// Every line is accounted for in the load_report: lines == header_lines + blank_lines + loaded
// + skipped. A bad line (wrong field count, a field that is not the number it should be) throws
// bloom::parse_error naming file:line and what was expected, unless load_options::skip_bad_lines
// is set; then it is counted in `skipped` and the first few are listed with their messages.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/data/csv.hpp>
#include <bloom/data/interactions.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace data {

// Which columns of a delimited file hold what. Columns are 0-based here; error messages count
// fields from 1 ("field 2 (item)"), as cut and awk do.
struct csv_format {
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    std::string separator = ",";     // one or more characters ("\t", ",", "::", ...)
    bool header = false;             // the first line is a header, not data
    std::string expected_header;     // if set, the header must be exactly this line
    std::size_t user_column = 0;
    std::size_t item_column = 1;
    std::size_t weight_column = none;     // a rating or weight (float), or none
    std::size_t timestamp_column = none;  // an integer timestamp, or none
    std::size_t fields = 0;          // exact field count per line; 0: at least the last column
    id_kind ids = id_kind::integer;  // raw ids are unsigned integers, or any text
    std::string name = "csv";        // the name load_report::format shows
    std::string weight_name = "weight";  // what error messages call the weight field
};

struct load_options {
    bool skip_bad_lines = false;   // count and report bad lines instead of throwing
    std::size_t max_reported = 10; // how many skipped lines load_report keeps (number + message)
    bool sort_ids = true;          // dense ids in increasing raw-id order (else first seen)
    bool weights = true;           // keep the weight column, when the format has one
    bool timestamps = true;        // keep the timestamp column, when the format has one
    std::size_t chunk_bytes = detail::line_reader::default_chunk_bytes;
};

struct bad_line {
    std::size_t line;  // 1-based line number
    std::string what;  // what was expected and what was found
};

struct load_report {
    std::string path;
    std::string format;
    std::size_t lines = 0;         // physical lines read
    std::size_t header_lines = 0;
    std::size_t blank_lines = 0;   // empty or only blanks: carry no data
    std::size_t loaded = 0;        // interactions kept
    std::size_t skipped = 0;       // bad lines skipped (only with skip_bad_lines)
    std::vector<bad_line> first_skipped;  // the first max_reported of them
    std::size_t bytes = 0;         // bytes read
    std::size_t buffer_bytes = 0;  // the reader's largest buffer: the streaming memory bound

    // One line for a log: "u.data (movielens-100k): 100000 interactions, 943 users, ...".
    std::string summary(const interactions& data) const {
        std::string s = path + " (" + format + "): " + std::to_string(loaded) +
                        " interactions, " + std::to_string(data.n_users) + " users, " +
                        std::to_string(data.n_items) + " items from " + std::to_string(lines) +
                        " lines";
        if (header_lines) s += ", " + std::to_string(header_lines) + " header";
        if (blank_lines) s += ", " + std::to_string(blank_lines) + " blank";
        s += ", " + std::to_string(skipped) + " bad lines skipped";
        if (!first_skipped.empty()) {
            s += " (first at line";
            s += first_skipped.size() > 1 ? "s" : "";
            for (std::size_t i = 0; i < first_skipped.size(); ++i) {
                s += (i ? ", " : " ") + std::to_string(first_skipped[i].line);
            }
            s += ")";
        }
        return s;
    }
};

struct load_result {
    interactions data;
    load_report report;
};

// The MovieLens ratings formats.
enum class ratings_format : std::uint8_t {
    movielens_100k,  // u.data: user \t item \t rating \t timestamp
    movielens_dat,   // ratings.dat (1M, 10M): user::item::rating::timestamp
    movielens_csv    // ratings.csv (20M, 25M, latest): header userId,movieId,rating,timestamp
};

inline const char* to_string(ratings_format f) noexcept {
    switch (f) {
        case ratings_format::movielens_100k: return "movielens-100k";
        case ratings_format::movielens_dat: return "movielens-dat";
        case ratings_format::movielens_csv: return "movielens-csv";
    }
    return "?";
}

inline constexpr std::string_view movielens_csv_header = "userId,movieId,rating,timestamp";

// The csv_format each MovieLens format is loaded with.
inline csv_format format_of(ratings_format f) {
    csv_format c;
    c.user_column = 0;
    c.item_column = 1;
    c.weight_column = 2;
    c.timestamp_column = 3;
    c.fields = 4;
    c.ids = id_kind::integer;
    c.weight_name = "rating";
    c.name = to_string(f);
    switch (f) {
        case ratings_format::movielens_100k: c.separator = "\t"; break;
        case ratings_format::movielens_dat: c.separator = "::"; break;
        case ratings_format::movielens_csv:
            c.separator = ",";
            c.header = true;
            c.expected_header = std::string(movielens_csv_header);
            break;
    }
    return c;
}

// Detects a MovieLens format from the file's first non-blank line (never from its name):
// the header userId,movieId,rating,timestamp -> movielens_csv; a line containing "::" ->
// movielens_dat; a line containing a tab -> movielens_100k. Anything else, or an empty file,
// throws bloom::parse_error. The lines themselves are checked when the file is loaded.
inline ratings_format detect_format(const std::string& path) {
    detail::line_reader in(path, std::size_t{64} << 10);
    std::string_view line;
    while (in.next(line)) {
        if (detail::is_blank_line(line)) continue;
        if (line == movielens_csv_header) return ratings_format::movielens_csv;
        if (line.find("::") != std::string_view::npos) return ratings_format::movielens_dat;
        if (line.find('\t') != std::string_view::npos) return ratings_format::movielens_100k;
        throw parse_error(path, in.line_number(),
                          "cannot detect a MovieLens ratings format: expected "
                          "user<TAB>item<TAB>rating<TAB>timestamp (u.data), "
                          "user::item::rating::timestamp (ratings.dat) or the header '" +
                              std::string(movielens_csv_header) + "' (ratings.csv), got " +
                              detail::quote_field(line) +
                              "; use load_csv with a csv_format for other files");
    }
    throw parse_error(path, in.line_number() + 1,
                      "empty file: expected a MovieLens ratings file");
}

namespace detail {

inline void check_format(const csv_format& f) {
    const std::size_t none = csv_format::none;
    if (f.separator.empty()) bloom::detail::throw_invalid("csv_format: the separator is empty");
    if (f.user_column == none || f.item_column == none) {
        bloom::detail::throw_invalid("csv_format: the user and item columns are required");
    }
    const std::size_t cols[4] = {f.user_column, f.item_column, f.weight_column,
                                 f.timestamp_column};
    for (int a = 0; a < 4; ++a) {
        for (int b = a + 1; b < 4; ++b) {
            if (cols[a] != none && cols[a] == cols[b]) {
                bloom::detail::throw_invalid("csv_format: column " + std::to_string(cols[a]) +
                              " is used for two fields");
            }
        }
    }
    std::size_t last = 0;
    for (const std::size_t c : cols) {
        if (c != none) last = std::max(last, c);
    }
    if (f.fields != 0 && last >= f.fields) {
        bloom::detail::throw_invalid("csv_format: column " + std::to_string(last) + " is beyond the " +
                      std::to_string(f.fields) + " fields of a line");
    }
}

// Describes a line of the format for "empty file" messages.
inline std::string describe_line(const csv_format& f) {
    std::size_t last = std::max(f.user_column, f.item_column);
    if (f.weight_column != csv_format::none) last = std::max(last, f.weight_column);
    if (f.timestamp_column != csv_format::none) last = std::max(last, f.timestamp_column);
    return (f.fields ? std::to_string(f.fields) : "at least " + std::to_string(last + 1)) +
           " fields separated by " + show_separator(f.separator);
}

// What an error on `line` adds when the line holds a carriage return: the line reader strips
// one \r before each \n, so a \r left in a line comes from \r-only (old Mac) line ends, from
// \r\r\n, or from a stray \r, which the field shown as '...\r...' alone would not explain.
inline std::string cr_hint(std::string_view line) {
    if (line.find('\r') == std::string_view::npos) return {};
    return " (the line holds a carriage return, \\r, that does not end it: only \\n and \\r\\n "
           "end lines, so a file with \\r-only line ends reads as one long line)";
}

// advise_huge_pages for a column's capacity (csv.hpp): the columns are written once, front to
// back; with 4 KiB pages the 500 MB of a 25M-line file cost 125,000 page faults.
template <class T>
void advise_huge_pages(const std::vector<T>& v) noexcept {
    advise_huge_pages(v.data(), v.capacity() * sizeof(T));
}

// Gives back a column's spare capacity only when it is large (a copy costs a second column).
template <class T>
void trim_capacity(std::vector<T>& v) {
    if (v.capacity() > v.size() + v.size() / 4 + 1024) v.shrink_to_fit();
}

// What load_csv reads from each column up to the last one it uses.
enum class column_role : std::uint8_t { other, user, item, weight, timestamp };

// The numbers of one line.
struct line_values {
    std::uint64_t user = 0, item = 0;
    float weight = 0.0f;
    std::int64_t stamp = 0;
};

// The one-pass reading of a plain line: integer ids, numbers in their plain forms (scan_u64,
// scan_i64, scan_decimal), no blanks, separated by the one-byte `sep`, which cannot be part of a
// number; exactly `fields` fields (0: at least roles.size()). Each byte is looked at once. False
// for any other line, with nothing decided: load_csv then reads it field by field, which
// accepts what this does not (blanks around a field, "+5", "1e3", 20-digit ids) and words the
// error of a bad line. On the lines this accepts, both give the same values.
inline bool read_plain_line(std::string_view line, char sep,
                            const std::vector<column_role>& roles, std::size_t fields,
                            line_values& v) noexcept {
    const char* p = line.data();
    const char* const end = p + line.size();
    const std::size_t n = roles.size();
    for (std::size_t k = 0;; ++k) {
        const char* q = nullptr;
        switch (roles[k]) {
            case column_role::user: q = scan_u64(p, end, v.user); break;
            case column_role::item: q = scan_u64(p, end, v.item); break;
            case column_role::weight: q = scan_decimal(p, end, v.weight); break;
            case column_role::timestamp: q = scan_i64(p, end, v.stamp); break;
            case column_role::other:
                for (q = p; q != end && *q != sep; ++q) {
                }
                break;
        }
        if (!q || (q != end && *q != sep)) return false;  // not all of the field was read
        p = q;
        if (k + 1 == n) break;
        if (p == end) return false;  // too few fields
        ++p;
    }
    if (fields == 0) return true;
    std::size_t count = n;
    for (; p != end; ++p) count += *p == sep;
    return count == fields;
}

}  // namespace detail

// Loads a delimited file with the given columns.
inline load_result load_csv(const std::string& path, const csv_format& fmt,
                            const load_options& opt = {}) {
    detail::check_format(fmt);
    const std::size_t none = csv_format::none;
    const bool want_weight = fmt.weight_column != none && opt.weights;
    const bool want_time = fmt.timestamp_column != none && opt.timestamps;
    std::size_t last_col = std::max(fmt.user_column, fmt.item_column);
    if (fmt.weight_column != none) last_col = std::max(last_col, fmt.weight_column);
    if (fmt.timestamp_column != none) last_col = std::max(last_col, fmt.timestamp_column);
    const bool trim_tabs = fmt.separator.find('\t') == std::string::npos;
    // Plain lines are read in one pass (read_plain_line) when the separator is one byte that
    // no number holds; the others, and every bad line, field by field.
    const char sep = fmt.separator[0];
    const bool one_pass = fmt.ids == id_kind::integer && fmt.separator.size() == 1 &&
                          !(sep >= '0' && sep <= '9') && sep != '-' && sep != '.';
    std::vector<detail::column_role> roles(last_col + 1, detail::column_role::other);
    roles[fmt.user_column] = detail::column_role::user;
    roles[fmt.item_column] = detail::column_role::item;
    if (want_weight) roles[fmt.weight_column] = detail::column_role::weight;
    if (want_time) roles[fmt.timestamp_column] = detail::column_role::timestamp;

    load_result result;
    interactions& out = result.data;
    load_report& rep = result.report;
    rep.path = path;
    rep.format = fmt.name;

    detail::line_reader in(path, opt.chunk_bytes);

    // Reserve the columns once, from the line density of the first chunk: no doubling copies.
    in.prime();
    auto reserve_columns = [&](std::size_t n) {
        out.users.reserve(n);
        out.items.reserve(n);
        if (want_weight) out.weights.reserve(n);
        if (want_time) out.timestamps.reserve(n);
        detail::advise_huge_pages(out.users);
        detail::advise_huge_pages(out.items);
        detail::advise_huge_pages(out.weights);
        detail::advise_huge_pages(out.timestamps);
    };
    std::error_code size_ec;
    const auto file_bytes = static_cast<double>(std::filesystem::file_size(path, size_ec));
    {
        const std::string_view head = in.buffered();
        const auto newlines = static_cast<std::size_t>(std::count(head.begin(), head.end(), '\n'));
        if (!size_ec && newlines > 0 && !head.empty()) {
            const double estimate = file_bytes * static_cast<double>(newlines) /
                                    static_cast<double>(head.size());
            reserve_columns(static_cast<std::size_t>(estimate * 1.02) + 16);
        }
    }
    // When the estimate falls short (later lines shorter than the first chunk's), estimate again
    // from the bytes read so far, rather than doubling every column.
    auto reserve_more = [&] {
        const std::size_t n = out.users.size();
        const std::size_t done = in.bytes_read() - in.buffered().size();
        std::size_t want = n + n / 2 + 1024;  // the file's size is unknown, or it grew
        if (!size_ec && done > 0 && file_bytes > static_cast<double>(done)) {
            const double estimate = static_cast<double>(n) * file_bytes / static_cast<double>(done);
            want = std::max(static_cast<std::size_t>(estimate * 1.02), n + n / 64) + 1024;
        }
        reserve_columns(want);
    };

    auto user_map = std::make_shared<id_map>(fmt.ids);
    auto item_map = std::make_shared<id_map>(fmt.ids);

    std::vector<std::string_view> fields(last_col + 1);
    std::string what;  // the current line's error, if any (allocated only on error)
    bad_line first_bad{0, {}};  // the first line skipped (skip_bad_lines)
    bool header_pending = fmt.header;
    std::string_view line;

    // Parses one field into an id; returns false and sets `what` on failure.
    auto parse_id = [&](std::size_t col, const char* name, std::uint64_t& num,
                        std::string_view& text) {
        const std::string_view f = detail::trim_blanks(fields[col], trim_tabs);
        if (fmt.ids == id_kind::integer) {
            if (detail::parse_u64(f, num)) return true;
            what = "field " + std::to_string(col + 1) + " (" + name +
                   "): expected an unsigned integer id, got " + detail::quote_field(f);
            return false;
        }
        if (!f.empty()) {
            text = f;
            return true;
        }
        what = "field " + std::to_string(col + 1) + " (" + name + "): expected an id, got ''";
        return false;
    };

    while (in.next(line)) {
        ++rep.lines;
        if (header_pending) {
            header_pending = false;
            ++rep.header_lines;
            if (!fmt.expected_header.empty() && line != fmt.expected_header) {
                throw parse_error(path, in.line_number(),
                                  "expected the header '" +
                                      detail::escape_text(fmt.expected_header) + "', got " +
                                      detail::quote_field(line) + detail::cr_hint(line));
            }
            continue;
        }
        if (detail::is_blank_line(line)) {
            ++rep.blank_lines;
            continue;
        }

        detail::line_values values;
        std::string_view user_text, item_text;
        if (!(one_pass && detail::read_plain_line(line, sep, roles, fmt.fields, values))) {
            bool ok = true;
            const std::size_t n_fields = detail::split_fields(line, fmt.separator, fields);
            if (fmt.fields != 0 && n_fields != fmt.fields) {
                what = "expected " + std::to_string(fmt.fields) + " fields separated by " +
                       detail::show_separator(fmt.separator) + ", got " +
                       std::to_string(n_fields);
                ok = false;
            } else if (n_fields <= last_col) {
                what = "expected at least " + std::to_string(last_col + 1) +
                       " fields separated by " + detail::show_separator(fmt.separator) +
                       ", got " + std::to_string(n_fields);
                ok = false;
            }

            ok = ok && parse_id(fmt.user_column, "user", values.user, user_text) &&
                 parse_id(fmt.item_column, "item", values.item, item_text);
            if (ok && want_weight) {
                const std::string_view f =
                    detail::trim_blanks(fields[fmt.weight_column], trim_tabs);
                if (!detail::parse_float(f, values.weight)) {
                    what = "field " + std::to_string(fmt.weight_column + 1) + " (" +
                           fmt.weight_name + "): expected a finite number, got " +
                           detail::quote_field(f);
                    ok = false;
                }
            }
            if (ok && want_time) {
                const std::string_view f =
                    detail::trim_blanks(fields[fmt.timestamp_column], trim_tabs);
                if (!detail::parse_i64(f, values.stamp)) {
                    what = "field " + std::to_string(fmt.timestamp_column + 1) +
                           " (timestamp): expected an integer, got " + detail::quote_field(f);
                    ok = false;
                }
            }

            if (!ok) {
                what += detail::cr_hint(line);
                if (!opt.skip_bad_lines) throw parse_error(path, in.line_number(), what);
                // Kept apart from first_skipped, which max_reported = 0 leaves empty: the error
                // for a file of bad lines only still names the first one.
                if (rep.skipped == 0) first_bad = {in.line_number(), what};
                ++rep.skipped;
                if (rep.first_skipped.size() < opt.max_reported) {
                    rep.first_skipped.push_back({in.line_number(), what});
                }
                continue;
            }
        }

        if (BLOOM_UNLIKELY(out.users.size() == out.users.capacity())) reserve_more();
        if (fmt.ids == id_kind::integer) {
            out.users.push_back(user_map->intern(values.user));
            out.items.push_back(item_map->intern(values.item));
        } else {
            out.users.push_back(user_map->intern(user_text));
            out.items.push_back(item_map->intern(item_text));
        }
        if (want_weight) out.weights.push_back(values.weight);
        if (want_time) out.timestamps.push_back(values.stamp);
    }

    rep.bytes = in.bytes_read();
    rep.buffer_bytes = in.buffer_bytes();
    rep.loaded = out.users.size();

    if (rep.lines == 0) {
        throw parse_error(path, 1, "empty file: expected lines of " + detail::describe_line(fmt));
    }
    if (rep.loaded == 0) {
        std::string why = "no interactions in " + std::to_string(rep.lines) +
                          (rep.lines == 1 ? " line" : " lines");
        if (rep.skipped) {
            why += " (" + std::to_string(rep.skipped) + " bad, the first at line " +
                   std::to_string(first_bad.line) + ": " + first_bad.what + ")";
        }
        throw parse_error(path, rep.lines, why + ": expected lines of " +
                                               detail::describe_line(fmt));
    }

    if (opt.sort_ids) {
        // Renumber, unless first appearance was already raw order (a file sorted by user, say).
        auto renumber = [](id_map& map, std::vector<std::uint32_t>& column) {
            const std::vector<std::uint32_t> new_of_old = map.sort_by_raw();
            std::uint32_t k = 0;
            while (k < new_of_old.size() && new_of_old[k] == k) ++k;
            if (k == new_of_old.size()) return;
            for (auto& x : column) x = new_of_old[x];
        };
        renumber(*user_map, out.users);
        renumber(*item_map, out.items);
    }
    out.n_users = user_map->size();
    out.n_items = item_map->size();
    out.user_ids = std::move(user_map);
    out.item_ids = std::move(item_map);
    detail::trim_capacity(out.users);
    detail::trim_capacity(out.items);
    detail::trim_capacity(out.weights);
    detail::trim_capacity(out.timestamps);
    return result;
}

// Loads a MovieLens ratings file of a known format.
inline load_result load_movielens(const std::string& path, ratings_format format,
                                  const load_options& opt = {}) {
    return load_csv(path, format_of(format), opt);
}

// Loads a MovieLens ratings file, detecting its format from its content (detect_format).
inline load_result load_movielens(const std::string& path, const load_options& opt = {}) {
    return load_csv(path, format_of(detect_format(path)), opt);
}

}  // namespace data
}  // namespace bloom
