// Fuzzes the ratings loaders (include/bloom/data/loaders.hpp, csv.hpp): load_csv with the
// csv_format and load_options knobs, and load_movielens with each ratings_format and with format
// detection. The first 6 input bytes pick the knobs; the rest is the file, written to a
// per-process temp file and loaded.
//
// Checked: every load either throws bloom::error or returns consistent data: users, items (and
// weights, timestamps when kept) of one length, every dense id below n_users / n_items, the id
// maps as large as the counts, every line accounted for in the report (lines == header + blank
// + loaded + skipped), sorted raw ids when sort_ids is on; and the chunk size changes nothing:
// the file loaded in chunks of 1 to 4096 bytes gives the same data, report and error as the
// file read in one chunk.
// Anything else (another exception, a sanitizer report) is a bug.
#include <bloom/data/loaders.hpp>
#include <bloom/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "fuzz_common.hpp"

namespace {

namespace data = bloom::data;
using bloom_fuzz::input;

const std::string& path() {
    static const std::string p = bloom_fuzz::temp_path("fuzz-loaders", ".csv");
    return p;
}

// What a load gave: the result, or the message of the bloom::error it threw.
struct outcome {
    std::optional<data::load_result> result;
    std::string error;
};

template <class Load>
outcome attempt(Load&& load) {
    outcome o;
    try {
        o.result.emplace(load());
    } catch (const bloom::error& e) {
        o.error = e.what();
        BLOOM_FUZZ_CHECK(!o.error.empty());
    }
    return o;
}

void check_consistent(const data::load_result& r, const data::csv_format& fmt,
                      const data::load_options& opt, std::size_t file_bytes) {
    const data::interactions& d = r.data;
    const data::load_report& rep = r.report;
    const std::size_t n = d.users.size();
    BLOOM_FUZZ_CHECK(d.items.size() == n);
    BLOOM_FUZZ_CHECK(n > 0);  // an empty result is an error, not a result
    BLOOM_FUZZ_CHECK(rep.loaded == n);
    BLOOM_FUZZ_CHECK(rep.lines == rep.header_lines + rep.blank_lines + rep.loaded + rep.skipped);
    BLOOM_FUZZ_CHECK(rep.skipped == 0 || opt.skip_bad_lines);
    BLOOM_FUZZ_CHECK(rep.first_skipped.size() == std::min(rep.skipped, opt.max_reported));
    BLOOM_FUZZ_CHECK(rep.header_lines == (fmt.header ? 1u : 0u));
    BLOOM_FUZZ_CHECK(rep.bytes == file_bytes);  // a load that succeeds has read every byte
    const bool want_weight = fmt.weight_column != data::csv_format::none && opt.weights;
    const bool want_time = fmt.timestamp_column != data::csv_format::none && opt.timestamps;
    BLOOM_FUZZ_CHECK(d.weights.size() == (want_weight ? n : 0));
    BLOOM_FUZZ_CHECK(d.timestamps.size() == (want_time ? n : 0));
    BLOOM_FUZZ_CHECK(d.n_users >= 1 && d.n_users <= n);
    BLOOM_FUZZ_CHECK(d.n_items >= 1 && d.n_items <= n);
    for (std::size_t i = 0; i < n; ++i) {
        BLOOM_FUZZ_CHECK(d.users[i] < d.n_users);
        BLOOM_FUZZ_CHECK(d.items[i] < d.n_items);
    }
    for (const float w : d.weights) BLOOM_FUZZ_CHECK(std::isfinite(w));
    BLOOM_FUZZ_CHECK(d.user_ids && d.user_ids->size() == d.n_users);
    BLOOM_FUZZ_CHECK(d.item_ids && d.item_ids->size() == d.n_items);
    BLOOM_FUZZ_CHECK(d.user_ids->kind() == fmt.ids && d.item_ids->kind() == fmt.ids);
    if (opt.sort_ids) {
        for (const data::id_map* m : {d.user_ids.get(), d.item_ids.get()}) {
            for (std::uint32_t i = 1; i < m->size(); ++i) {
                if (m->kind() == data::id_kind::integer)
                    BLOOM_FUZZ_CHECK(m->integer(i - 1) < m->integer(i));
                else
                    BLOOM_FUZZ_CHECK(m->text(i - 1) < m->text(i));
            }
        }
    }
    // Every dense id maps back to itself through its raw id.
    for (const data::id_map* m : {d.user_ids.get(), d.item_ids.get()}) {
        for (std::uint32_t i = 0; i < m->size(); ++i) {
            const std::optional<std::uint32_t> back = m->kind() == data::id_kind::integer
                                                          ? m->find(m->integer(i))
                                                          : m->find(m->text(i));
            BLOOM_FUZZ_CHECK(back && *back == i);
        }
    }
    d.validate();  // throws bloom::invalid_argument, caught as a failure below
}

bool same(const data::load_result& a, const data::load_result& b) {
    const data::interactions& x = a.data;
    const data::interactions& y = b.data;
    if (x.users != y.users || x.items != y.items || x.weights != y.weights ||
        x.timestamps != y.timestamps || x.n_users != y.n_users || x.n_items != y.n_items)
        return false;
    for (std::uint32_t i = 0; i < x.n_users; ++i)
        if (x.user_ids->to_string(i) != y.user_ids->to_string(i)) return false;
    for (std::uint32_t i = 0; i < x.n_items; ++i)
        if (x.item_ids->to_string(i) != y.item_ids->to_string(i)) return false;
    const data::load_report& r = a.report;
    const data::load_report& s = b.report;
    if (r.lines != s.lines || r.header_lines != s.header_lines || r.blank_lines != s.blank_lines ||
        r.loaded != s.loaded || r.skipped != s.skipped || r.bytes != s.bytes ||
        r.first_skipped.size() != s.first_skipped.size())
        return false;
    for (std::size_t i = 0; i < r.first_skipped.size(); ++i)
        if (r.first_skipped[i].line != s.first_skipped[i].line ||
            r.first_skipped[i].what != s.first_skipped[i].what)
            return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::atexit([] { std::remove(path().c_str()); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    input in(bytes, size);
    const std::uint8_t mode = in.byte();     // which loader
    const std::uint8_t sep = in.byte();      // separator, header, id kind
    const std::uint8_t cols = in.byte();     // user, item, weight and timestamp columns
    const std::uint8_t flags = in.byte();    // field count, load options
    const std::uint8_t chunk = in.byte();    // chunk size, max_reported
    const std::uint8_t header = in.byte();   // the expected header, if any

    static const char* const separators[] = {",", "\t", "::", ";", " ", "|", ",,", "\t\t"};
    static const std::size_t chunks[] = {1, 2, 3, 5, 8, 17, 64, 4096};
    static const char* const headers[] = {"", "", "userId,movieId,rating,timestamp", "u,i"};

    data::csv_format fmt;
    fmt.separator = separators[sep & 7];
    fmt.header = (sep & 8) != 0;
    fmt.ids = (sep & 16) != 0 ? data::id_kind::string : data::id_kind::integer;
    fmt.user_column = cols & 3;
    fmt.item_column = (cols >> 2) & 3;
    // weight and timestamp columns: none, or 0..2 (a clash with another column is an error)
    fmt.weight_column = (cols >> 4) & 3 ? ((cols >> 4) & 3) + 1 : data::csv_format::none;
    fmt.timestamp_column = (cols >> 6) & 3 ? ((cols >> 6) & 3) + 1 : data::csv_format::none;
    fmt.fields = flags & 7;  // 0: at least the last column; 1..7 exactly (too few is an error)
    fmt.expected_header = headers[header & 3];

    data::load_options opt;
    opt.skip_bad_lines = (flags & 8) != 0;
    opt.sort_ids = (flags & 16) == 0;
    opt.weights = (flags & 32) == 0;
    opt.timestamps = (flags & 64) == 0;
    opt.max_reported = (chunk >> 3) & 3;

    bloom_fuzz::write_file(path(), in.rest(), in.left());
    const std::size_t file_bytes = in.left();
    // One chunk for the whole file (as the default 4 MiB chunk reads any input here, without
    // allocating 4 MiB per run), or a small chunk, so that lines straddle chunks.
    const std::size_t whole_file = file_bytes + 1;
    opt.chunk_bytes = (flags & 128) != 0 ? chunks[chunk & 7] : whole_file;

    const data::ratings_format formats[] = {data::ratings_format::movielens_100k,
                                            data::ratings_format::movielens_dat,
                                            data::ratings_format::movielens_csv};
    std::optional<data::ratings_format> movielens;  // set for load_movielens with a format
    bool detect = false;
    switch (mode % 3) {
        case 0: break;  // load_csv
        case 1: movielens = formats[(mode / 3) % 3]; break;
        case 2: detect = true; break;
    }

    auto load = [&](const data::load_options& o) {
        return attempt([&] {
            if (movielens) return data::load_movielens(path(), *movielens, o);
            if (detect) return data::load_movielens(path(), o);
            return data::load_csv(path(), fmt, o);
        });
    };
    const outcome got = load(opt);
    if (got.result) {
        // The format the data were really read with, for the checks.
        data::csv_format used = fmt;
        if (movielens) used = data::format_of(*movielens);
        if (detect) used = data::format_of(data::detect_format(path()));
        try {
            check_consistent(*got.result, used, opt, file_bytes);
        } catch (const bloom::error& e) {
            std::fprintf(stderr, "bloom fuzz: a loaded result fails validate(): %s\n", e.what());
            __builtin_trap();
        }
    }
    // The chunk size is an implementation detail: one chunk for the whole file must give the
    // same outcome.
    if (opt.chunk_bytes != whole_file) {
        data::load_options whole = opt;
        whole.chunk_bytes = whole_file;
        const outcome ref = load(whole);
        BLOOM_FUZZ_CHECK(got.result.has_value() == ref.result.has_value());
        if (got.result) {
            BLOOM_FUZZ_CHECK(same(*got.result, *ref.result));
        } else if (got.error != ref.error) {
            std::fprintf(stderr, "bloom fuzz: chunk %zu: %s\nwhole file in one chunk: %s\n", opt.chunk_bytes,
                         got.error.c_str(), ref.error.c_str());
            __builtin_trap();
        }
    }
    // Removed after every run: libFuzzer ends a timed run without running atexit handlers.
    std::remove(path().c_str());
    return 0;
}
