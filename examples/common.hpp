// What the example programs share, so that a flag means the same thing in each: the data they
// train on (the built-in synthetic generator or a ratings file, and the options that say how a
// file is read), the hash policy named on the command line, the progress report, and the
// aligned text table. A future `bloom` tool takes the same functions.
#pragma once

#include <bloom/data/loaders.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/all.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace examples {

// An option, or a combination of options, that cannot work: the programs exit 2 for it (1 is
// for bad data and failures while working).
struct option_error : bloom::invalid_argument {
    using bloom::invalid_argument::invalid_argument;
};

// ---- data ---------------------------------------------------------------------------------

// The synthetic data's shape, as the --synthetic-* options set it.
struct synthetic_shape {
    std::uint32_t users = 0, items = 0;
    std::uint64_t interactions = 0;
    double popularity = 1.0;
};

// Where the data comes from and how a ratings file is read, as the options of
// add_data_options() set them. Columns are counted from 1 here, as on the command line (and as
// cut and awk count); bloom::data::csv_format counts from 0.
struct data_options {
    std::string path;             // --data; empty: the synthetic data
    std::optional<std::string> sep;  // --sep as given (a name such as "tab", or the characters); unset: detected
    std::string header = "auto";  // --header: auto, yes (also --header alone) or no
    std::optional<std::uint32_t> user_col, item_col, rating_col, time_col;  // --user-col ...; unset: the default
    bool string_ids = false;      // --string-ids
    synthetic_shape synthetic;    // --synthetic-users, -items, -interactions, -popularity
};

// The options that say how --data is read (all but --data and --synthetic-*).
inline bool reads_as_delimited(const data_options& o) {
    return o.sep || o.header != "auto" || o.user_col || o.item_col || o.rating_col ||
           o.time_col || o.string_ids;
}

// --sep's value as the characters that separate fields: the names tab (also the two characters
// \t), space, comma, semicolon and pipe, or the text itself ("::", ";", ...).
inline std::string separator_of(const std::string& sep) {
    if (sep == "tab" || sep == "\\t") return "\t";
    if (sep == "space") return " ";
    if (sep == "comma") return ",";
    if (sep == "semicolon") return ";";
    if (sep == "pipe") return "|";
    return sep;
}

// Registers --data, --sep, --header, --user-col, --item-col, --rating-col, --time-col,
// --string-ids and --synthetic-{users,items,interactions,popularity} on `app`, under the group
// "Data"; the values already in `o` are the defaults shown by --help.
inline void add_data_options(CLI::App& app, data_options& o) {
    const std::string g = "Data";
    app.add_option("--data", o.path,
                   "ratings file: MovieLens u.data, ratings.dat or ratings.csv (layout detected), "
                   "or any delimited file (see --sep, --header, --user-col); CRLF line ends and a "
                   "UTF-8 byte-order mark are fine. Default: the built-in synthetic data")
        ->check(CLI::ExistingFile)
        ->group(g);
    app.add_option("--sep", o.sep,
                   "field separator of --data: its characters (',', ';', '|', '::', ...) or tab "
                   "(also written \\t), space, comma, semicolon, pipe. Default: detected from the "
                   "first non-blank line ('::', tab, ',', ';' or '|', the first found)")
        ->group(g);
    app.add_option("--header", o.header,
                   "is --data's first line a header to skip? yes (also --header alone), no, or "
                   "auto: yes when its user and item fields are both not unsigned integers (with "
                   "--string-ids: when its --rating-col and --time-col fields are not numbers)")
        ->expected(0, 1)
        ->type_name("[auto|yes|no]")
        ->capture_default_str()
        ->group(g);
    app.add_option("--user-col", o.user_col, "column of the user id in --data, counted from 1 (default 1)")
        ->type_name("N")
        ->group(g);
    app.add_option("--item-col", o.item_col, "column of the item id in --data, counted from 1 (default 2)")
        ->type_name("N")
        ->group(g);
    app.add_option("--rating-col", o.rating_col,
                   "column of a rating or weight in --data, counted from 1; every line's must be a "
                   "finite number (default: none; MovieLens files: 3). The examples train on the "
                   "interactions alone and do not use it")
        ->type_name("N")
        ->group(g);
    app.add_option("--time-col", o.time_col,
                   "column of an integer timestamp in --data, counted from 1 (default: none; "
                   "MovieLens files: 4). The examples do not use it")
        ->type_name("N")
        ->group(g);
    app.add_flag("--string-ids", o.string_ids,
                 "ids in --data are any text (such as A2SUAM1J3GNN3B), not unsigned integers")
        ->group(g);
    app.add_option("--synthetic-users", o.synthetic.users, "synthetic data: users")
        ->check(CLI::PositiveNumber)
        ->capture_default_str()
        ->group(g);
    app.add_option("--synthetic-items", o.synthetic.items, "synthetic data: items")
        ->check(CLI::PositiveNumber)
        ->capture_default_str()
        ->group(g);
    app.add_option("--synthetic-interactions", o.synthetic.interactions, "synthetic data: interactions")
        ->check(CLI::PositiveNumber)
        ->capture_default_str()
        ->group(g);
    app.add_option("--synthetic-popularity", o.synthetic.popularity,
                   "synthetic data: Zipf exponent of item popularity")
        ->check(CLI::Range(0.0, 8.0))
        ->capture_default_str()
        ->group(g);
}

namespace detail {

// One field's column option: its name, its value (1-based) and whether it was given.
struct column_option {
    const char* option;
    const char* field;
    std::uint32_t column;  // 0: none
    bool given;
};

inline std::vector<column_option> columns_of(const data_options& o) {
    return {{"--user-col", "user", o.user_col.value_or(1), o.user_col.has_value()},
            {"--item-col", "item", o.item_col.value_or(2), o.item_col.has_value()},
            {"--rating-col", "rating", o.rating_col.value_or(0), o.rating_col.has_value()},
            {"--time-col", "time", o.time_col.value_or(0), o.time_col.has_value()}};
}

// "--item-col 1" or "--user-col 1 (its default)".
inline std::string spell(const column_option& c) {
    return std::string(c.option) + " " + std::to_string(c.column) + (c.given ? "" : " (its default)");
}

}  // namespace detail

// Every data option on its own and against the others, before any file is read: throws
// option_error starting "who: " and naming the option.
inline void check_data_options(const data_options& o, const std::string& who) {
    auto bad = [&](const std::string& what) { throw option_error(who + ": " + what); };
    if (o.path.empty()) {
        const char* given = o.sep                ? "--sep"
                            : o.header != "auto" ? "--header"
                            : o.user_col         ? "--user-col"
                            : o.item_col         ? "--item-col"
                            : o.rating_col       ? "--rating-col"
                            : o.time_col         ? "--time-col"
                            : o.string_ids       ? "--string-ids"
                                                 : nullptr;
        if (given)
            bad(std::string(given) + " says how --data is read, and there is no --data (the "
                "synthetic data is used without one)");
        return;
    }
    if (o.sep && separator_of(*o.sep).empty()) bad("--sep is empty: give the characters that separate fields");
    if (o.header != "auto" && o.header != "yes" && o.header != "no" && !o.header.empty())
        bad("--header takes auto, yes or no, got '" + bloom::data::detail::escape_text(o.header) + "'");
    const std::vector<detail::column_option> cols = detail::columns_of(o);
    for (const detail::column_option& c : cols)
        if (c.given && c.column == 0)
            bad(std::string(c.option) + " counts columns from 1, got 0");
    for (std::size_t a = 0; a < cols.size(); ++a)
        for (std::size_t b = a + 1; b < cols.size(); ++b)
            if (cols[a].column != 0 && cols[a].column == cols[b].column) {
                const detail::column_option& x = cols[a].given ? cols[b] : cols[a];
                const detail::column_option& y = cols[a].given ? cols[a] : cols[b];
                bad(detail::spell(y) + " and " + detail::spell(x) +
                    " name the same column; each field needs its own");
            }
    if (o.string_ids && o.header == "auto" && !o.rating_col && !o.time_col)
        bad("--header auto cannot tell a header from data when ids are text (--string-ids) and "
            "no --rating-col or --time-col holds a number: pass --header yes or --header no");
}

// What load_data() read, and how.
struct loaded_data {
    bloom::data::interactions data;
    std::string name;    // for the report: the file and how it was read, or the synthetic shape
    std::string format;  // synthetic, movielens-100k, movielens-dat, movielens-csv or delimited
    bloom::data::csv_format read_as;  // files: the separator, header and (0-based) columns used
    bloom::data::load_report report;  // files: lines read, header and blank lines
};

namespace detail {

// The first lines of a file, as the line reader gives them (line breaks and a byte-order mark
// stripped): line 1, and the first two non-blank lines with their numbers (0: none).
struct file_head {
    std::string line1;
    std::string nonblank[2];
    std::size_t nonblank_no[2] = {0, 0};
};

inline file_head read_head(const std::string& path) {
    file_head h;
    bloom::data::detail::line_reader in(path, std::size_t{64} << 10);
    std::string_view line;
    int found = 0;
    while (found < 2 && in.next(line)) {
        if (in.line_number() == 1) h.line1 = std::string(line);
        if (bloom::data::detail::is_blank_line(line)) continue;
        h.nonblank[found] = std::string(line);
        h.nonblank_no[found] = in.line_number();
        ++found;
    }
    return h;
}

// The separator a line's fields look separated by: the first of "::", tab, ',', ';', '|' that it
// holds; empty when it holds none.
inline std::string sniff_separator(std::string_view line) {
    for (const char* sep : {"::", "\t", ",", ";", "|"})
        if (line.find(sep) != std::string_view::npos) return sep;
    return {};
}

inline std::vector<std::string_view> fields_of(std::string_view line, const std::string& sep) {
    std::vector<std::string_view> f(1);
    const std::size_t n = bloom::data::detail::split_fields(line, sep, f);
    f.resize(n);
    bloom::data::detail::split_fields(line, sep, f);
    const bool tabs = sep.find('\t') == std::string::npos;
    for (auto& x : f) x = bloom::data::detail::trim_blanks(x, tabs);
    return f;
}

// --header auto: a line is a header when every field that must be a number is not one: with
// integer ids the user and item fields, with text ids the rating and time fields (a data line
// with one bad field is not taken for a header: it stays an error).
inline bool looks_like_header(std::string_view line, const bloom::data::csv_format& f) {
    const std::vector<std::string_view> x = fields_of(line, f.separator);
    auto at = [&](std::size_t c) { return c < x.size() ? x[c] : std::string_view(); };
    auto integer = [&](std::size_t c) {
        std::uint64_t v = 0;
        return bloom::data::detail::parse_u64(at(c), v);
    };
    if (f.ids == bloom::data::id_kind::integer) return !integer(f.user_column) && !integer(f.item_column);
    bool any = false;
    if (f.weight_column != bloom::data::csv_format::none) {
        float v = 0;
        if (bloom::data::detail::parse_float(at(f.weight_column), v)) return false;
        any = true;
    }
    if (f.timestamp_column != bloom::data::csv_format::none) {
        std::int64_t v = 0;
        if (bloom::data::detail::parse_i64(at(f.timestamp_column), v)) return false;
        any = true;
    }
    return any;
}

// The MovieLens layout a line has, if any: 4 fields separated by a tab (u.data) or by "::"
// (ratings.dat), the first two of them integer ids.
inline bool movielens_line(std::string_view line, const std::string& sep) {
    if (sep != "\t" && sep != "::") return false;
    const std::vector<std::string_view> x = fields_of(line, sep);
    std::uint64_t v = 0;
    return x.size() == 4 && bloom::data::detail::parse_u64(x[0], v) &&
           bloom::data::detail::parse_u64(x[1], v);
}

inline std::string describe(const bloom::data::csv_format& f, std::size_t header_lines) {
    std::string s = "delimited: fields separated by " + bloom::data::detail::show_separator(f.separator);
    s += header_lines ? ", header line skipped" : ", no header";
    s += ", user column " + std::to_string(f.user_column + 1) + ", item column " +
         std::to_string(f.item_column + 1);
    if (f.weight_column != bloom::data::csv_format::none)
        s += ", rating column " + std::to_string(f.weight_column + 1);
    if (f.timestamp_column != bloom::data::csv_format::none)
        s += ", time column " + std::to_string(f.timestamp_column + 1);
    if (f.ids == bloom::data::id_kind::string) s += ", text ids";
    return s;
}

// How the file at o.path is read, from the options and its first lines (see load_data).
inline bloom::data::csv_format format_for(const data_options& o, const std::string& who) {
    namespace bd = bloom::data;
    const file_head h = read_head(o.path);
    auto bad = [&](const std::string& what) { throw bloom::invalid_argument(who + ": " + what); };
    const std::string at = h.nonblank_no[0] ? o.path + ":" + std::to_string(h.nonblank_no[0]) : o.path;
    const std::string sniffed = sniff_separator(h.nonblank[0]);
    const bool delimited = reads_as_delimited(o);
    if (h.nonblank_no[0] == 0) {
        // Empty or blank: load_csv says so, with the line count.
        bd::csv_format f;
        f.name = "delimited";
        if (o.sep) f.separator = separator_of(*o.sep);
        return f;
    }
    if (!delimited && h.nonblank[0] == bd::movielens_csv_header)
        return bd::format_of(bd::ratings_format::movielens_csv);

    bd::csv_format f;
    f.name = "delimited";
    if (o.sep) {
        f.separator = separator_of(*o.sep);
        if (h.nonblank[0].find(f.separator) == std::string::npos) {
            std::string msg = "--sep " + bd::detail::show_separator(f.separator) + ": " + at +
                              " holds no " + bd::detail::show_separator(f.separator) + " (" +
                              bd::detail::quote_field(h.nonblank[0]) + ")";
            if (!sniffed.empty()) {
                msg += "; its fields look separated by " + bd::detail::show_separator(sniffed);
                if (movielens_line(h.nonblank[0], sniffed))
                    msg += std::string(", the MovieLens ") +
                           (sniffed == "\t" ? "u.data" : "ratings.dat") +
                           " layout, which has its own separator: leave --sep out to read it as "
                           "detected";
            }
            bad(msg);
        }
    } else {
        f.separator = sniffed;
        if (f.separator.empty())
            bad("cannot tell the field separator of " + at + " (" +
                bd::detail::quote_field(h.nonblank[0]) +
                "): it holds no '::', tab, ',', ';' or '|'; pass --sep");
    }
    f.ids = o.string_ids ? bd::id_kind::string : bd::id_kind::integer;
    const std::vector<column_option> cols = columns_of(o);
    f.user_column = cols[0].column - 1;
    f.item_column = cols[1].column - 1;
    f.weight_column = cols[2].column ? cols[2].column - 1 : bd::csv_format::none;
    f.timestamp_column = cols[3].column ? cols[3].column - 1 : bd::csv_format::none;
    f.header = o.header == "yes" || o.header.empty() ||
               (o.header == "auto" && !bd::detail::is_blank_line(h.line1) &&
                looks_like_header(h.line1, f));
    if (!delimited && !f.header && movielens_line(h.nonblank[0], f.separator))
        return bd::format_of(f.separator == "\t" ? bd::ratings_format::movielens_100k
                                                 : bd::ratings_format::movielens_dat);
    if (f.header) f.expected_header.clear();
    // The first data line must hold every column asked for (later lines are checked as read).
    const bool first_is_header = f.header && h.nonblank_no[0] == 1;
    const std::size_t k = first_is_header ? 1 : 0;
    if (h.nonblank_no[k] != 0) {
        const std::size_t n = fields_of(h.nonblank[k], f.separator).size();
        for (const column_option& c : cols)
            if (c.column > n)
                bad(spell(c) + " is beyond the " + std::to_string(n) + (n == 1 ? " field" : " fields") +
                    " of " + o.path + ":" + std::to_string(h.nonblank_no[k]) + " (separated by " +
                    bd::detail::show_separator(f.separator) + ")");
    }
    return f;
}

}  // namespace detail

// The data the options name: the seeded synthetic data when o.path is empty, else the file.
// Without any of --sep, --header, --*-col, --string-ids a file is read as detected: MovieLens
// ratings.csv (its header), u.data (4 tab-separated fields) or ratings.dat (4 '::'-separated
// fields) with their rating and timestamp columns, checked strictly; any other file as
// delimited, separator from its first non-blank line, header auto, users in column 1 and items
// in column 2. Any of those options reads the file as delimited with what they say. Throws
// bloom::invalid_argument ("who: --option ...") for options that contradict each other or the
// file, and bloom::parse_error ("bloom: file:line: ...") for a line that does not fit.
inline loaded_data load_data(const data_options& o, std::uint64_t seed, const std::string& who) {
    check_data_options(o, who);
    loaded_data out;
    if (o.path.empty()) {
        bloom::data::synthetic_config c;
        c.n_users = o.synthetic.users;
        c.n_items = o.synthetic.items;
        c.n_interactions = o.synthetic.interactions;
        c.popularity_exponent = o.synthetic.popularity;
        c.seed = seed;
        std::ostringstream os;
        os << "synthetic(" << c.n_users << " users, " << c.n_items << " items, "
           << c.n_interactions << " interactions, seed " << c.seed << ")";
        out.name = os.str();
        out.format = "synthetic";
        out.data = bloom::data::make_synthetic(c);
        return out;
    }
    out.read_as = detail::format_for(o, who);
    bloom::data::load_result r = bloom::data::load_csv(o.path, out.read_as);
    out.format = out.read_as.name;
    out.report = std::move(r.report);
    out.name = o.path + " (" +
               (out.format == "delimited" ? detail::describe(out.read_as, out.report.header_lines)
                                          : out.format) +
               ")";
    out.data = std::move(r.data);
    return out;
}

// Every data option's value, keyed by its name without the dashes ("--user-col": "user_col"),
// for a JSON report's settings; a column or --sep not given is null.
inline nlohmann::json data_settings(const data_options& o) {
    const auto col = [](const std::optional<std::uint32_t>& c) {
        return c ? nlohmann::json(*c) : nlohmann::json(nullptr);
    };
    return {{"data", o.path},
            {"sep", o.sep ? nlohmann::json(*o.sep) : nlohmann::json(nullptr)},
            {"header", o.header.empty() ? "yes" : o.header},
            {"user_col", col(o.user_col)},
            {"item_col", col(o.item_col)},
            {"rating_col", col(o.rating_col)},
            {"time_col", col(o.time_col)},
            {"string_ids", o.string_ids},
            {"synthetic_users", o.synthetic.users},
            {"synthetic_items", o.synthetic.items},
            {"synthetic_interactions", o.synthetic.interactions},
            {"synthetic_popularity", o.synthetic.popularity}};
}

// How load_data() read its data, for a JSON report: the format, and for a file the separator,
// the header lines, the columns (counted from 1; null: none), the id kind and the line counts.
inline nlohmann::json read_as_json(const loaded_data& d) {
    nlohmann::json read = {{"format", d.format}};
    if (d.format == "synthetic") return read;
    const std::size_t none = bloom::data::csv_format::none;
    const auto one_based = [&](std::size_t c) {
        return c == none ? nlohmann::json(nullptr) : nlohmann::json(c + 1);
    };
    read["separator"] = d.read_as.separator;
    read["header_lines"] = d.report.header_lines;
    read["user_col"] = one_based(d.read_as.user_column);
    read["item_col"] = one_based(d.read_as.item_column);
    read["rating_col"] = one_based(d.read_as.weight_column);
    read["time_col"] = one_based(d.read_as.timestamp_column);
    read["string_ids"] = d.read_as.ids == bloom::data::id_kind::string;
    read["lines"] = d.report.lines;
    read["blank_lines"] = d.report.blank_lines;
    read["interactions"] = d.report.loaded;
    return read;
}

// ---- the rest -----------------------------------------------------------------------------

// Calls f(Hash{}) for the policy named `hash`; `who` names the program in the error.
template <class F>
void with_hash(const std::string& hash, const char* who, F&& f) {
    bool found = false;
    bloom::for_each_policy([&](auto policy) {
        if (!found && hash == bloom::hash_name<decltype(policy)>()) {
            found = true;
            f(policy);
        }
    });
    if (!found)
        throw bloom::invalid_argument(std::string(who) + ": hash '" + hash +
                                      "' is not built in (see --list-hashes)");
}

// Every policy this build has (the core ones and the optional packages found).
inline std::vector<std::string> built_hashes() {
    std::vector<std::string> out;
    bloom::for_each_policy([&](auto p) { out.emplace_back(bloom::hash_name<decltype(p)>()); });
    return out;
}

// How training progress goes to stderr: not at all (--quiet); as one line rewritten in place at
// every epoch (stderr is a terminal); or as a plain line per epoch (a pipe or a file, so that a
// log keeps every epoch and no carriage returns).
enum class progress_mode { none, terminal, lines };

inline progress_mode progress_of(bool quiet) {
    if (quiet) return progress_mode::none;
    return isatty(STDERR_FILENO) != 0 ? progress_mode::terminal : progress_mode::lines;
}

// One epoch of the run `what` (its method and settings), in the mode.
inline void report_epoch(progress_mode mode, const std::string& what, std::uint32_t epoch,
                         std::uint32_t epochs, double seconds, double loss) {
    if (mode == progress_mode::terminal)
        std::fprintf(stderr, "\r  %s: epoch %u/%u  %.3f s  loss %.4f   ", what.c_str(), epoch,
                     epochs, seconds, loss);
    else if (mode == progress_mode::lines)
        std::fprintf(stderr, "%s: epoch %u/%u %.3f s loss %.6g\n", what.c_str(), epoch, epochs,
                     seconds, loss);
}

// After a run's last epoch: clears the terminal's progress line (the table follows on stdout).
inline void end_progress(progress_mode mode) {
    if (mode == progress_mode::terminal) std::fprintf(stderr, "\r%-120s\r", "");
}

inline std::string fmt(double v, int prec) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", prec, v);
    return buf;
}

// Display width of a UTF-8 cell (continuation bytes take no column).
inline std::size_t columns(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0U) != 0x80U;
    return n;
}

// The header and rows as aligned columns: the first `left` columns (and the last when
// `last_left`) left-aligned, the others right-aligned, two spaces apart.
inline void print_columns(const std::vector<std::string>& head,
                          const std::vector<std::vector<std::string>>& cells, std::size_t left,
                          bool last_left, std::ostream& os) {
    std::vector<std::size_t> w(head.size());
    for (std::size_t c = 0; c < head.size(); ++c) {
        w[c] = columns(head[c]);
        for (const auto& line : cells) w[c] = std::max(w[c], columns(line[c]));
    }
    auto put = [&](const std::vector<std::string>& line) {
        for (std::size_t c = 0; c < line.size(); ++c) {
            const bool l = c < left || (last_left && c + 1 == line.size());
            const std::size_t pad = w[c] - columns(line[c]);
            if (!l) os << std::string(pad, ' ');
            os << line[c];
            if (l && c + 1 < line.size()) os << std::string(pad, ' ');
            os << (c + 1 < line.size() ? "  " : "\n");
        }
    };
    put(head);
    for (const auto& line : cells) put(line);
}

}  // namespace examples
