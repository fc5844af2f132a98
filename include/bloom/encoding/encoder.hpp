// The encoder: an item set (integer ids or byte-string keys) -> its sorted unique Bloom positions,
// the indices of the ones in the m-dimensional binary vector that stands for the set.
//
//     bloom::spec_config cfg;
//     cfg.items = 1682; cfg.m = 336; cfg.k = 4;
//     const bloom::encoder enc(bloom::spec(cfg), bloom::lookup::table);
//     std::vector<std::uint32_t> pos = enc.encode(std::vector<std::uint32_t>{3, 17, 256});
//
// The ways to call it, from the hot path outwards:
//   positions(ids, n, out)              the n * k raw positions, unsorted, repeats kept
//   encode(ids, n, out[, scratch])      no allocation, no checks (BLOOM_ASSERT only); `out` holds
//                                       n * k values; returns the number of positions written
//   encode_checked(ids, n, out, cap)    the same, but throws on bad ids or a short buffer
//   encode(range)                       a std::vector of positions (checked)
//   encode_batch(sets) / dense(range)   CSR rows for many sets, or the 0/1 vector itself
//   encode_batch(items, offsets)        CSR rows from flat vectors (checked, the offsets too)
//
// Both lookups give identical results: `lookup::on_the_fly` hashes through the spec at every call;
// `lookup::table` reads a precomputed basic_position_table (needs d, and ids < d). Byte-string keys
// are always hashed (a table is indexed by integer ids).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/encoding/csr.hpp>
#include <bloom/encoding/position_table.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace detail {

// Removes adjacent duplicates from sorted a[0..n) without branches; returns the new length.
inline std::size_t unique_sorted(std::uint32_t* a, std::size_t n) noexcept {
    if (n == 0) return 0;
    std::size_t w = 1;
    std::uint32_t prev = a[0];
    for (std::size_t i = 1; i < n; ++i) {
        const std::uint32_t v = a[i];
        a[w] = v;
        w += static_cast<std::size_t>(v != prev);
        prev = v;
    }
    return w;
}

// A radix sort of hash positions, which are close to uniform over [0, m): two LSD passes over
// the top bits of [0, m) (up to 16, fewer for small inputs), so that few values share a key.
// Afterwards only values sharing a key can be out of order (none when [0, m) fits the key bits),
// and the final pass that drops duplicates also moves those few into place. The histograms are
// filled while the positions are produced (counts()), so the sort reads its input three times:
// two scatters and the final pass.
class position_radix {
public:
    position_radix(std::uint64_t m, std::size_t n) noexcept {
        unsigned bits = 1;
        while (bits < 32 && (std::uint64_t{1} << bits) < m) ++bits;  // [0, m) fits `bits` bits
        unsigned lg = 0;
        while (lg < 63 && (std::size_t{1} << lg) < n) ++lg;  // ceil(log2 n)
        const unsigned digit = std::min(8U, std::max(5U, (lg + 4) / 2));
        const unsigned total = std::min(bits, 2 * digit);  // key bits: the top `total` of `bits`
        d0_ = total / 2;
        d1_ = total - d0_;
        shift_ = bits - total;
        std::memset(c0_, 0, sizeof(std::uint32_t) << d0_);
        std::memset(c1_, 0, sizeof(std::uint32_t) << d1_);
    }

    // Adds values to the histograms. A copy of the parameters, so that they stay in registers
    // while the counters (also std::uint32_t) are written.
    struct counter {
        unsigned shift, d0;
        std::uint32_t mask0;
        std::uint32_t* c0;
        std::uint32_t* c1;
        BLOOM_ALWAYS_INLINE void operator()(std::uint32_t v) const noexcept {
            const std::uint32_t key = v >> shift;
            ++c0[key & mask0];
            ++c1[key >> d0];
        }
    };
    counter counts() noexcept { return {shift_, d0_, (1U << d0_) - 1, c0_, c1_}; }

    // src[0..n) holds the counted values (n < 2^32). Sorts them, drops duplicates, writes the
    // result to out[0..) and returns its length. src is clobbered; out and src hold n values.
    std::size_t finish(std::uint32_t* src, std::size_t n, std::uint32_t* out) noexcept {
        prefix(c0_, 1U << d0_);
        prefix(c1_, 1U << d1_);
        const unsigned shift = shift_, shift1 = shift_ + d0_;
        const std::uint32_t mask0 = (1U << d0_) - 1;
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t v = src[i];
            out[c0_[(v >> shift) & mask0]++] = v;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t v = out[i];
            src[c1_[v >> shift1]++] = v;
        }
        if (n == 0) return 0;
        // Copy src to out dropping duplicates; an element smaller than the last one kept (rare,
        // and impossible when shift_ == 0) is inserted where it belongs. If that shifting grows
        // much beyond the input size (clustered positions, as the `modulo` policy makes),
        // std::sort finishes the job.
        std::size_t w = 1;
        std::uint32_t last = src[0];
        out[0] = last;
        std::size_t budget = 4 * n + 64;
        for (std::size_t i = 1; i < n; ++i) {
            const std::uint32_t v = src[i];
            if (BLOOM_LIKELY(v >= last)) {
                out[w] = v;
                w += static_cast<std::size_t>(v != last);
                last = v;
                continue;
            }
            std::size_t j = w - 1;
            while (j > 0 && out[j - 1] > v) --j;  // out[j - 1] <= v < out[j]
            if (j > 0 && out[j - 1] == v) continue;
            const std::size_t moved = w - j;
            if (moved > budget) {
                std::copy(src + i, src + n, out + w);
                std::sort(out, out + w + (n - i));
                return unique_sorted(out, w + (n - i));
            }
            budget -= moved;
            std::copy_backward(out + j, out + w, out + w + 1);
            out[j] = v;
            ++w;
        }
        return w;
    }

private:
    static void prefix(std::uint32_t* c, std::uint32_t buckets) noexcept {
        std::uint32_t sum = 0;
        for (std::uint32_t b = 0; b < buckets; ++b) {
            const std::uint32_t t = c[b];
            c[b] = sum;
            sum += t;
        }
    }

    unsigned d0_ = 0;     // bits of the first (low) digit
    unsigned d1_ = 0;     // bits of the second (high) digit, d0_ <= d1_ <= 8
    unsigned shift_ = 0;  // key = value >> shift_
    std::uint32_t c0_[256];  // only the first 2^d0_ / 2^d1_ are used (and zeroed)
    std::uint32_t c1_[256];
};

// Below this many positions (n * k) std::sort is used, from it the radix sort. On fresh random
// positions (measured on the development machine, cycling through 512 different inputs so that
// the branch predictor cannot learn one) the radix sort takes 0.28 us for 32 positions, 1.3 us
// for 400 and 3 us for 1,000, where std::sort, which mispredicts about half of its comparisons,
// takes 0.4, 13 and 39 us.
inline constexpr std::size_t encode_radix_from = 24;
// How many positions the no-allocation encode sorts with a stack scratch buffer (16 KB); beyond
// it, pass a scratch buffer, or the no-allocation encode falls back to std::sort.
inline constexpr std::size_t encode_stack_scratch = 4096;

template <class T>
using range_value_t = std::remove_cv_t<
    std::remove_reference_t<decltype(*std::begin(std::declval<const T&>()))>>;

template <class T>
inline constexpr bool is_id_type_v =
    std::is_integral_v<T> && std::is_unsigned_v<T> && !std::is_same_v<T, bool>;

template <class T>
inline constexpr bool is_key_type_v = !is_id_type_v<T> && std::is_convertible_v<const T&,
                                                                                 std::string_view>;

}  // namespace detail

template <class Hash>
class basic_encoder {
public:
    using spec_type = basic_spec<Hash>;
    using table_type = basic_position_table<Hash>;
    using hash_type = Hash;
    using position_type = typename spec_type::position_type;

    // Throws bloom::invalid_argument in table mode when the spec has no item count (d = 0).
    explicit basic_encoder(spec_type s, lookup mode = lookup::on_the_fly) : spec_(std::move(s)) {
        if (mode == lookup::table) {
            if (spec_.items() == 0)
                detail::throw_invalid(std::string("encoder<") + spec_type::hash_name() +
                                      ">: lookup::table needs the item count d "
                                      "(spec_config::items > 0); use lookup::on_the_fly for an "
                                      "open id space");
            table_ = std::make_shared<const table_type>(spec_);
        }
    }
    explicit basic_encoder(const spec_config& cfg, lookup mode = lookup::on_the_fly)
        : basic_encoder(spec_type(cfg), mode) {}

    // Table mode on a table built elsewhere (shared with a decoder, say). Throws when null.
    explicit basic_encoder(std::shared_ptr<const table_type> table)
        : spec_(table ? table->spec() : throw_null_table()), table_(std::move(table)) {}

    const spec_type& spec() const noexcept { return spec_; }
    lookup mode() const noexcept { return table_ ? lookup::table : lookup::on_the_fly; }
    const table_type* table() const noexcept { return table_.get(); }
    const std::shared_ptr<const table_type>& shared_table() const noexcept { return table_; }
    std::uint64_t m() const noexcept { return spec_.m(); }
    std::uint32_t k() const noexcept { return spec_.k(); }
    std::uint64_t items() const noexcept { return spec_.items(); }

    // Output capacity the span API needs for n ids or keys: n * k.
    std::size_t capacity(std::size_t n) const noexcept { return n * spec_.k(); }

    // The k positions of one id in hash order (duplicates possible): the spec's answer.
    template <class Id>
    void positions(Id id, position_type* out) const noexcept {
        static_assert(detail::is_id_type_v<Id>,
                      "bloom::encoder: integer ids must be an unsigned integer type");
        if (table_) {
            std::memcpy(out, table_->row(id), sizeof(position_type) * spec_.k());
        } else {
            spec_.positions(id, out);
        }
    }

    // The raw positions of items[0..n): k per item, item after item, in hash order, duplicates
    // kept (n * k values into out; returns n * k). No sort: the cheapest form, for callers that
    // only scatter ones into a target or gather rows, where order and repeats do not matter.
    template <class T>
    std::size_t positions(const T* items, std::size_t n, position_type* out) const noexcept {
        static_assert(detail::is_id_type_v<T> || detail::is_key_type_v<T>,
                      "bloom::encoder: items must be unsigned integer ids or byte-string keys "
                      "(convertible to std::string_view)");
        gather(items, n, out, [](position_type) {});
        return capacity(n);
    }

    // ---- span API: no allocation --------------------------------------------------------------

    // Writes the sorted unique positions of ids[0..n) (unsigned integers) or keys[0..n) (anything
    // convertible to std::string_view) to out, which must hold capacity(n) values, and returns
    // how many it wrote. Unchecked: ids must be valid for the spec (< d in table mode).
    //
    // Sets of up to encode_stack_scratch / k items (1,024 at k = 4) sort with a radix sort on a
    // 16 KB stack buffer; larger ones fall back to std::sort, several times slower, unless a
    // scratch buffer is given (below).
    template <class T>
    std::size_t encode(const T* items, std::size_t n, position_type* out) const noexcept {
        static_assert(detail::is_id_type_v<T> || detail::is_key_type_v<T>,
                      "bloom::encoder: items must be unsigned integer ids or byte-string keys "
                      "(convertible to std::string_view)");
        const std::size_t count = capacity(n);
        if (count >= detail::encode_radix_from && count <= detail::encode_stack_scratch) {
            position_type scratch[detail::encode_stack_scratch];
            return encode_into(items, n, out, scratch);
        }
        return encode_into(items, n, out, nullptr);
    }

    // As above, with a caller-provided scratch buffer of capacity(n) values (clobbered): the
    // radix sort at any size, still without allocation.
    template <class T>
    std::size_t encode(const T* items, std::size_t n, position_type* out,
                       position_type* scratch) const noexcept {
        static_assert(detail::is_id_type_v<T> || detail::is_key_type_v<T>,
                      "bloom::encoder: items must be unsigned integer ids or byte-string keys "
                      "(convertible to std::string_view)");
        return encode_into(items, n, out, scratch);
    }

    // As encode, after checking every id (and the buffer size). Throws bloom::out_of_range naming
    // the first bad id and its index, bloom::invalid_argument when capacity < capacity(n).
    template <class T>
    std::size_t encode_checked(const T* items, std::size_t n, position_type* out,
                               std::size_t capacity) const {
        check_capacity(n, capacity);
        check_items(items, n);
        return encode(items, n, out);
    }

    // ---- allocating conveniences (checked) ----------------------------------------------------

    // Sorted unique positions of a range of ids or keys (a vector, array, list...).
    template <class Range>
    std::vector<position_type> encode(const Range& items) const {
        using T = detail::range_value_t<Range>;
        static_assert(detail::is_id_type_v<T> || detail::is_key_type_v<T>,
                      "bloom::encoder: items must be unsigned integer ids or byte-string keys "
                      "(convertible to std::string_view)");
        std::vector<T> copy;
        const auto [data, n] = contiguous(items, copy);
        check_items(data, n);
        std::vector<position_type> out(capacity(n));
        std::vector<position_type> tmp(out.size());
        out.resize(encode_into(data, n, out.data(), tmp.data()));
        return out;
    }
    template <class T>
    std::vector<position_type> encode(std::initializer_list<T> items) const {
        return encode<std::initializer_list<T>>(items);
    }

    // Many sets at once, as CSR rows: set r is items[offsets[r] .. offsets[r + 1]), offsets has
    // rows + 1 non-decreasing entries. Checked like encode_checked (the message names the row),
    // except that a pointer cannot tell how many items there are: offsets[rows] past the end of
    // `items` is not caught. The vector form below checks that too.
    template <class T>
    csr encode_batch(const T* items, const std::size_t* offsets, std::size_t rows) const {
        static_assert(detail::is_id_type_v<T> || detail::is_key_type_v<T>,
                      "bloom::encoder: items must be unsigned integer ids or byte-string keys "
                      "(convertible to std::string_view)");
        csr out;
        out.cols = spec_.m();
        out.offsets.assign(rows + 1, 0);
        if (rows == 0) return out;
        if (offsets[0] != 0)
            detail::throw_invalid("encode_batch: offsets[0] = " + std::to_string(offsets[0]) +
                                  " must be 0");
        for (std::size_t r = 0; r < rows; ++r)
            if (offsets[r + 1] < offsets[r])
                detail::throw_invalid("encode_batch: offsets decrease at row " +
                                      std::to_string(r) + " (" + std::to_string(offsets[r]) +
                                      " then " + std::to_string(offsets[r + 1]) + ")");
        std::size_t longest = 0;
        for (std::size_t r = 0; r < rows; ++r)
            longest = std::max(longest, offsets[r + 1] - offsets[r]);
        for (std::size_t r = 0; r < rows; ++r) check_items(items + offsets[r],
                                                           offsets[r + 1] - offsets[r], r);
        // Each row is written right after the previous one; a row never outgrows the room
        // reserved for it, so one buffer of total * k holds them all.
        out.positions.resize(capacity(offsets[rows]));
        std::vector<position_type> tmp(capacity(longest));
        std::size_t at = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t n = offsets[r + 1] - offsets[r];
            at += encode_into(items + offsets[r], n, out.positions.data() + at, tmp.data());
            out.offsets[r + 1] = at;
        }
        out.positions.resize(at);
        out.positions.shrink_to_fit();
        return out;
    }

    // The same from vectors: offsets.size() - 1 rows, the last offset equal to items.size().
    template <class T>
    csr encode_batch(const std::vector<T>& items, const std::vector<std::size_t>& offsets) const {
        if (offsets.empty())
            detail::throw_invalid("encode_batch: offsets is empty (it needs rows + 1 entries, "
                                  "starting at 0)");
        if (offsets.back() != items.size())
            detail::throw_invalid("encode_batch: the last offset is " +
                                  std::to_string(offsets.back()) + " but there are " +
                                  std::to_string(items.size()) + " items");
        return encode_batch(items.data(), offsets.data(), offsets.size() - 1);
    }

    // A range of sets (std::vector<std::vector<std::uint32_t>>, a vector of string lists...).
    template <class Sets>
    csr encode_batch(const Sets& sets) const {
        using Set = detail::range_value_t<Sets>;
        using T = detail::range_value_t<Set>;
        std::vector<T> flat;
        std::vector<std::size_t> offsets{0};
        for (const auto& set : sets) {
            for (const auto& x : set) flat.push_back(x);
            offsets.push_back(flat.size());
        }
        return encode_batch(flat.data(), offsets.data(), offsets.size() - 1);
    }

    // The 0/1 vector of length m that stands for the set (checked).
    template <class Scalar = float, class Range>
    vector<Scalar> dense(const Range& items) const {
        vector<Scalar> out = vector<Scalar>::Zero(static_cast<Eigen::Index>(spec_.m()));
        for (const position_type p : encode(items)) out(static_cast<Eigen::Index>(p)) = Scalar(1);
        return out;
    }
    template <class Scalar = float, class T>
    vector<Scalar> dense(std::initializer_list<T> items) const {
        return dense<Scalar, std::initializer_list<T>>(items);
    }

private:
    [[noreturn]] static const spec_type& throw_null_table() {
        detail::throw_invalid(std::string("encoder<") + spec_type::hash_name() +
                              ">: the shared position table is null");
    }

    // Sorted unique positions of items[0..n) into out (capacity(n) values); scratch holds
    // capacity(n) values or is null (then std::sort at every size).
    template <class T>
    std::size_t encode_into(const T* items, std::size_t n, position_type* out,
                            position_type* scratch) const noexcept {
        const std::size_t count = capacity(n);
        if (scratch == nullptr || count < detail::encode_radix_from || count > 0xFFFFFFFFULL) {
            gather(items, n, out, [](position_type) {});
            std::sort(out, out + count);
            return detail::unique_sorted(out, count);
        }
        detail::position_radix radix(spec_.m(), count);
        gather(items, n, scratch, radix.counts());
        return radix.finish(scratch, count, out);
    }

    // Positions of every item, in item order then hash order: n * k values into out, each also
    // handed to sink (the radix histograms).
    template <class T, class Sink>
    BLOOM_ALWAYS_INLINE void gather(const T* items, std::size_t n, position_type* out,
                                    Sink&& sink) const noexcept {
        const std::uint32_t k = spec_.k();
        if constexpr (detail::is_id_type_v<T>) {
            if (table_) {
                const position_type* base = table_->data();
                if (k == 4) {  // the common case: one 16-byte copy per id
                    for (std::size_t i = 0; i < n; ++i) {
                        BLOOM_ASSERT(static_cast<std::uint64_t>(items[i]) < spec_.items());
                        const position_type* row = base + 4 * static_cast<std::size_t>(items[i]);
                        std::memcpy(out + 4 * i, row, 4 * sizeof(position_type));
                        sink(row[0]);
                        sink(row[1]);
                        sink(row[2]);
                        sink(row[3]);
                    }
                } else {
                    for (std::size_t i = 0; i < n; ++i) {
                        BLOOM_ASSERT(static_cast<std::uint64_t>(items[i]) < spec_.items());
                        const position_type* row = base + k * static_cast<std::size_t>(items[i]);
                        for (std::uint32_t j = 0; j < k; ++j) {
                            out[k * i + j] = row[j];
                            sink(row[j]);
                        }
                    }
                }
            } else {
                for (std::size_t i = 0; i < n; ++i) {
                    position_type* dst = out + k * i;
                    spec_.positions(items[i], dst);
                    for (std::uint32_t j = 0; j < k; ++j) sink(dst[j]);
                }
            }
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                const std::string_view key(items[i]);
                position_type* dst = out + k * i;
                spec_.positions(key.data(), key.size(), dst);
                for (std::uint32_t j = 0; j < k; ++j) sink(dst[j]);
            }
        }
    }

    void check_capacity(std::size_t n, std::size_t cap) const {
        if (cap < capacity(n))
            detail::throw_invalid("encode: the output holds " + std::to_string(cap) +
                                  " positions; " + std::to_string(n) + " items with k = " +
                                  std::to_string(spec_.k()) + " need " +
                                  std::to_string(capacity(n)));
    }

    // Throws bloom::out_of_range for the first id the spec or the table cannot take.
    template <class T>
    void check_items(const T* items, std::size_t n, std::size_t row = npos) const {
        if constexpr (detail::is_id_type_v<T>) {
            const std::uint64_t d = spec_.items();
            const bool four = spec_.key_bytes() == 4;
            for (std::size_t i = 0; i < n; ++i) {
                const auto id = static_cast<std::uint64_t>(items[i]);
                if ((d != 0 && id >= d) || (four && id > 0xFFFFFFFFULL)) {
                    const std::string where =
                        row == npos ? "ids[" + std::to_string(i) + "]"
                                    : "row " + std::to_string(row) + ", ids[" +
                                          std::to_string(i) + "]";
                    const std::string why =
                        d != 0 && id >= d
                            ? "is out of range: the spec has d = " + std::to_string(d) +
                                  " items (ids 0.." + std::to_string(d - 1) + ")"
                            : "does not fit the spec's 4-byte keys (key_bytes = 4)";
                    detail::throw_range("encode: " + where + " = " + std::to_string(id) + " " +
                                        why);
                }
            }
        } else {
            (void)items;
            (void)n;
            (void)row;
        }
    }

    // Pointer and size of a range's elements: the range's own storage when it has data() and
    // size() (vector, array, string_view of ids...), else a copy made into `copy`.
    template <class Range, class T>
    static std::pair<const T*, std::size_t> contiguous(const Range& items, std::vector<T>& copy) {
        if constexpr (has_data_v<Range, T>) {
            return {items.data(), static_cast<std::size_t>(items.size())};
        } else {
            copy.assign(std::begin(items), std::end(items));
            return {copy.data(), copy.size()};
        }
    }

    template <class R, class T, class = void>
    struct has_data : std::false_type {};
    template <class R, class T>
    struct has_data<R, T,
                    std::void_t<decltype(std::declval<const R&>().data()),
                                decltype(std::declval<const R&>().size())>>
        : std::is_same<std::remove_cv_t<std::remove_pointer_t<
                           decltype(std::declval<const R&>().data())>>,
                       T> {};
    template <class R, class T>
    static constexpr bool has_data_v = has_data<R, T>::value;

    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    spec_type spec_;
    std::shared_ptr<const table_type> table_;
};

using encoder = basic_encoder<xxh3>;

}  // namespace bloom
