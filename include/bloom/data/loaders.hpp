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

// Gives back a column's spare capacity only when it is large (a copy costs a second column).
template <class T>
void trim_capacity(std::vector<T>& v) {
    if (v.capacity() > v.size() + v.size() / 4 + 1024) v.shrink_to_fit();
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

    load_result result;
    interactions& out = result.data;
    load_report& rep = result.report;
    rep.path = path;
    rep.format = fmt.name;

    detail::line_reader in(path, opt.chunk_bytes);

    // Reserve the columns once, from the line density of the first chunk: no doubling copies.
    in.prime();
    {
        std::error_code ec;
        const auto file_bytes = std::filesystem::file_size(path, ec);
        const std::string_view head = in.buffered();
        const auto newlines = static_cast<std::size_t>(std::count(head.begin(), head.end(), '\n'));
        if (!ec && newlines > 0 && !head.empty()) {
            const double estimate = static_cast<double>(file_bytes) *
                                    static_cast<double>(newlines) /
                                    static_cast<double>(head.size());
            const auto n = static_cast<std::size_t>(estimate * 1.02) + 16;
            out.users.reserve(n);
            out.items.reserve(n);
            if (want_weight) out.weights.reserve(n);
            if (want_time) out.timestamps.reserve(n);
        }
    }

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

        bool ok = true;
        const std::size_t n_fields = detail::split_fields(line, fmt.separator, fields);
        if (fmt.fields != 0 && n_fields != fmt.fields) {
            what = "expected " + std::to_string(fmt.fields) + " fields separated by " +
                   detail::show_separator(fmt.separator) + ", got " + std::to_string(n_fields);
            ok = false;
        } else if (n_fields <= last_col) {
            what = "expected at least " + std::to_string(last_col + 1) +
                   " fields separated by " + detail::show_separator(fmt.separator) + ", got " +
                   std::to_string(n_fields);
            ok = false;
        }

        std::uint64_t user_num = 0, item_num = 0;
        std::string_view user_text, item_text;
        float weight = 0.0f;
        std::int64_t stamp = 0;
        ok = ok && parse_id(fmt.user_column, "user", user_num, user_text) &&
             parse_id(fmt.item_column, "item", item_num, item_text);
        if (ok && want_weight) {
            const std::string_view f = detail::trim_blanks(fields[fmt.weight_column], trim_tabs);
            if (!detail::parse_float(f, weight)) {
                what = "field " + std::to_string(fmt.weight_column + 1) + " (" +
                       fmt.weight_name + "): expected a finite number, got " +
                       detail::quote_field(f);
                ok = false;
            }
        }
        if (ok && want_time) {
            const std::string_view f =
                detail::trim_blanks(fields[fmt.timestamp_column], trim_tabs);
            if (!detail::parse_i64(f, stamp)) {
                what = "field " + std::to_string(fmt.timestamp_column + 1) +
                       " (timestamp): expected an integer, got " + detail::quote_field(f);
                ok = false;
            }
        }

        if (!ok) {
            what += detail::cr_hint(line);
            if (!opt.skip_bad_lines) throw parse_error(path, in.line_number(), what);
            // Kept apart from first_skipped, which max_reported = 0 leaves empty: the error for
            // a file of bad lines only still names the first one.
            if (rep.skipped == 0) first_bad = {in.line_number(), what};
            ++rep.skipped;
            if (rep.first_skipped.size() < opt.max_reported) {
                rep.first_skipped.push_back({in.line_number(), what});
            }
            continue;
        }

        if (fmt.ids == id_kind::integer) {
            out.users.push_back(user_map->intern(user_num));
            out.items.push_back(item_map->intern(item_num));
        } else {
            out.users.push_back(user_map->intern(user_text));
            out.items.push_back(item_map->intern(item_text));
        }
        if (want_weight) out.weights.push_back(weight);
        if (want_time) out.timestamps.push_back(stamp);
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
        const std::vector<std::uint32_t> u = user_map->sort_by_raw();
        const std::vector<std::uint32_t> i = item_map->sort_by_raw();
        for (auto& x : out.users) x = u[x];
        for (auto& x : out.items) x = i[x];
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
