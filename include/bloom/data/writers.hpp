// Writers: interactions to a MovieLens ratings layout, the inverse of load_movielens.
//
//   bloom::data::write_movielens("/tmp/ratings.csv", data);   // ratings.csv, with its header
//   bloom::data::write_movielens("u.data", data, bloom::data::ratings_format::movielens_100k);
//
// Each interaction is one line user, item, rating, timestamp in the interactions' order. Ids are
// the raw ids (from the id maps; the dense id itself when a map is null, as for synthetic data).
// Ratings are written in the shortest form that reads back as the same float, with ".0" added
// to a whole number as MovieLens writes it ("5.0", "3.5"). So load_movielens(path) gives back the
// same columns (and, when every raw id is present and the maps are sorted, the same dense ids).
// The file is written through a 1 MiB buffer; nothing is allocated per line.
#pragma once

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include <bloom/data/interactions.hpp>
#include <bloom/data/loaders.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace data {
namespace detail {

class file_writer {
public:
    explicit file_writer(std::string path) : path_(std::move(path)) {
        file_ = std::fopen(path_.c_str(), "wb");
        if (!file_) fail("cannot open for writing");
        buf_.reserve(capacity + 64);
    }
    file_writer(const file_writer&) = delete;
    file_writer& operator=(const file_writer&) = delete;
    ~file_writer() {
        if (file_) std::fclose(file_);
    }

    void put(std::string_view s) { buf_.append(s.data(), s.size()); }
    void put(char c) { buf_ += c; }
    void put_u64(std::uint64_t v) {
        char num[24];
        const auto r = std::to_chars(num, num + sizeof num, v);
        buf_.append(num, r.ptr);
    }
    void put_i64(std::int64_t v) {
        char num[24];
        const auto r = std::to_chars(num, num + sizeof num, v);
        buf_.append(num, r.ptr);
    }
    // The shortest text that reads back as `v`, with ".0" after a whole number.
    void put_rating(float v) {
        char num[48];
        const auto r = std::to_chars(num, num + sizeof num, v);
        buf_.append(num, r.ptr);
        if (std::find_if(num, r.ptr, [](char c) { return c == '.' || c == 'e'; }) == r.ptr) {
            buf_ += ".0";
        }
    }
    // Call after each line: writes the buffer out once it is full.
    void line_done() {
        if (buf_.size() >= capacity) flush();
    }
    // Writes what is buffered and closes the file; throws on any write error.
    void close() {
        flush();
        std::FILE* f = file_;
        file_ = nullptr;
        if (std::fclose(f) != 0) fail("cannot write");
    }
    std::size_t bytes() const noexcept { return written_ + buf_.size(); }

private:
    static constexpr std::size_t capacity = std::size_t{1} << 20;

    void flush() {
        if (buf_.empty()) return;
        if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) fail("cannot write");
        written_ += buf_.size();
        buf_.clear();
    }
    [[noreturn]] void fail(const char* what) const {
        const int e = errno;
        throw bloom::error("bloom: " + path_ + ": " + what + " (" + std::strerror(e) + ")");
    }

    std::string path_;
    std::FILE* file_ = nullptr;
    std::string buf_;
    std::size_t written_ = 0;
};

}  // namespace detail

// Writes `data` in a MovieLens layout (ratings.csv by default: the header, then
// userId,movieId,rating,timestamp lines). The interactions need ratings (weights) and
// timestamps; ratings must be finite and text ids must not hold the separator or a line break
// (else bloom::invalid_argument, before anything is written). Returns the bytes written;
// throws bloom::error when the file cannot be written.
inline std::size_t write_movielens(const std::string& path, const interactions& data,
                                   ratings_format format = ratings_format::movielens_csv) {
    data.validate();
    if (!data.has_weights() || !data.has_timestamps()) {
        bloom::detail::throw_invalid(
            std::string("write_movielens: a MovieLens layout needs ratings and timestamps; these "
                        "interactions have ") +
            (data.has_weights() ? "no timestamps" : data.has_timestamps() ? "no ratings"
                                                                          : "neither"));
    }
    const csv_format fmt = format_of(format);
    const std::string_view sep = fmt.separator;
    for (std::size_t k = 0; k < data.size(); ++k) {
        if (!std::isfinite(data.weights[k])) {
            bloom::detail::throw_invalid("write_movielens: interaction " + std::to_string(k) +
                                         " has a rating that is not finite");
        }
    }
    for (const auto* map : {data.user_ids.get(), data.item_ids.get()}) {
        if (!map || map->kind() != id_kind::string) continue;
        for (std::uint32_t d = 0; d < map->size(); ++d) {
            const std::string_view t = map->text(d);
            if (t.empty() || t.find(sep) != std::string_view::npos ||
                t.find_first_of("\r\n") != std::string_view::npos) {
                bloom::detail::throw_invalid(
                    "write_movielens: the raw id " + detail::quote_field(t) +
                    " cannot be written between separators " + detail::show_separator(sep));
            }
        }
    }

    detail::file_writer out(path);
    if (format == ratings_format::movielens_csv) {
        out.put(movielens_csv_header);
        out.put('\n');
    }
    auto put_id = [&out](const id_map* map, std::uint32_t dense) {
        if (!map) out.put_u64(dense);
        else if (map->kind() == id_kind::integer) out.put_u64(map->integer(dense));
        else out.put(map->text(dense));
    };
    const id_map* users = data.user_ids.get();
    const id_map* items = data.item_ids.get();
    for (std::size_t k = 0; k < data.size(); ++k) {
        put_id(users, data.users[k]);
        out.put(sep);
        put_id(items, data.items[k]);
        out.put(sep);
        out.put_rating(data.weights[k]);
        out.put(sep);
        out.put_i64(data.timestamps[k]);
        out.put('\n');
        out.line_done();
    }
    const std::size_t bytes = out.bytes();
    out.close();
    return bytes;
}

}  // namespace data
}  // namespace bloom
