// What the example programs share, so that a flag means the same thing in each: the data they
// train on (the built-in synthetic generator or a ratings file), the hash policy named on the
// command line, the progress line, and the aligned text table.
#pragma once

#include <bloom/data/loaders.hpp>
#include <bloom/data/synthetic.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/all.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace examples {

// The synthetic data's shape, as the --synthetic-* options set it.
struct synthetic_shape {
    std::uint32_t users = 0, items = 0;
    std::uint64_t interactions = 0;
    double popularity = 1.0;
};

// The ratings file at `path` (MovieLens layouts detected), or the seeded synthetic data when
// `path` is empty; `name` says which, for the report.
inline bloom::data::interactions load_data(const std::string& path, const synthetic_shape& shape,
                                           std::uint64_t seed, std::string& name) {
    if (path.empty()) {
        bloom::data::synthetic_config c;
        c.n_users = shape.users;
        c.n_items = shape.items;
        c.n_interactions = shape.interactions;
        c.popularity_exponent = shape.popularity;
        c.seed = seed;
        std::ostringstream os;
        os << "synthetic(" << c.n_users << " users, " << c.n_items << " items, "
           << c.n_interactions << " interactions, seed " << c.seed << ")";
        name = os.str();
        return bloom::data::make_synthetic(c);
    }
    bloom::data::load_result r = bloom::data::load_movielens(path);
    name = path + " (" + r.report.format + ")";
    return std::move(r.data);
}

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

// A progress line goes to stderr only when it is a terminal and --quiet is off.
inline bool progress_enabled(bool quiet) { return !quiet && isatty(STDERR_FILENO) != 0; }

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
