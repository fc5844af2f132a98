// Item codes: how the paper's network sees the d items, on its input and on its output side.
//
// A sparse code gives every item a short list of positions in [0, m): item i owns
// positions[offsets[i] .. offsets[i+1]). The Bloom family has k positions per item in hash order
// (a position an item hits twice is listed twice); an ECOC code word lists its set bits. An item
// set is encoded as the sorted union of its items' positions (the m-bit vector with those bits set).
//
//   identity_code(d)            m = d, k = 1, item i -> position i: the uncompressed baseline
//   spec_code(spec)             k positions per item from a hash spec (Bloom; k = 1: hashing trick)
//   table_code(m, k, table)     k positions per item from a stored d x k table (positions that no
//                               hash gives: co-occurrence-aware, frequency-aware)
//   ecoc_code(d, m, seed)       a random m-bit code word per item, each bit set with probability
//                               1/2, all code words distinct when 2^m allows
//
// write_code / read_code keep a sparse code in a stream (a table stored with a model: positions
// that no hash can give again). The format, little-endian: the 8 bytes "BLOOMSC1", then m, d and
// the number of positions as uint64, the d + 1 offsets as uint64, the positions as uint32.
//
// A dense code gives every item a real m-vector (a row of a d x m matrix): PMI and CCA embeddings
// (network/spectral.hpp). An item set is encoded as the sum of its items' rows.
#pragma once

#include <algorithm>
#include <cstring>
#include <istream>
#include <ostream>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace models {

struct sparse_code {
    std::uint64_t m = 0;                  // width of the code (positions are < m)
    std::vector<std::uint64_t> offsets;   // d + 1 values, offsets[0] = 0, non-decreasing
    std::vector<std::uint32_t> positions; // offsets[d] values

    std::uint32_t items() const noexcept {
        return offsets.empty() ? 0 : static_cast<std::uint32_t>(offsets.size() - 1);
    }
    // Positions of item i (i < items(), checked by BLOOM_ASSERT only).
    const std::uint32_t* begin(std::uint32_t i) const noexcept {
        BLOOM_ASSERT(i + std::size_t{1} < offsets.size());
        return positions.data() + offsets[i];
    }
    const std::uint32_t* end(std::uint32_t i) const noexcept {
        BLOOM_ASSERT(i + std::size_t{1} < offsets.size());
        return positions.data() + offsets[i + 1];
    }
    std::size_t count(std::uint32_t i) const noexcept { return offsets[i + 1] - offsets[i]; }
    // k when every item has exactly k positions, else 0.
    std::uint32_t fixed_k() const noexcept {
        const std::uint32_t d = items();
        if (d == 0) return 0;
        const std::uint64_t k = offsets[1] - offsets[0];
        return offsets[d] == k * d && uniform_ ? static_cast<std::uint32_t>(k) : 0;
    }

    // Throws bloom::invalid_argument (naming `who`) unless the code is well formed: m >= 1,
    // offsets start at 0 and never decrease, every item has a position, every position is < m.
    void validate(const std::string& who) const {
        if (m == 0) ::bloom::detail::throw_invalid(who + ": the code has m = 0 positions");
        if (offsets.size() < 2 || offsets[0] != 0)
            ::bloom::detail::throw_invalid(who + ": the code has no items (offsets need d + 1 "
                                                 "values starting at 0)");
        if (offsets.back() != positions.size())
            ::bloom::detail::throw_invalid(who + ": offsets end at " +
                                           std::to_string(offsets.back()) + " but there are " +
                                           std::to_string(positions.size()) + " positions");
        for (std::size_t i = 0; i + 1 < offsets.size(); ++i)
            if (offsets[i + 1] <= offsets[i])
                ::bloom::detail::throw_invalid(who + ": item " + std::to_string(i) +
                                               " has no position");
        for (std::size_t e = 0; e < positions.size(); ++e)
            if (positions[e] >= m)
                ::bloom::detail::throw_range(who + ": position " + std::to_string(positions[e]) +
                                             " (entry " + std::to_string(e) + ") is not below m = " +
                                             std::to_string(m));
    }

    // Recomputes fixed_k()'s answer after offsets changed (the builders below call it).
    void refresh() noexcept {
        uniform_ = true;
        if (offsets.size() < 2) return;
        const std::uint64_t k = offsets[1] - offsets[0];
        for (std::size_t i = 1; i + 1 < offsets.size(); ++i)
            if (offsets[i + 1] - offsets[i] != k) {
                uniform_ = false;
                return;
            }
    }

    // The sorted union of the positions of items[0..n) into `out` (cleared first). Item ids are
    // not checked here (see check_items).
    void encode_set(const std::uint32_t* items_, std::size_t n,
                    std::vector<std::uint32_t>& out) const {
        out.clear();
        for (std::size_t j = 0; j < n; ++j) out.insert(out.end(), begin(items_[j]), end(items_[j]));
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }

    // Model files (io/archive.hpp): m, the offsets and the positions; loading validates them.
    template <class A>
    void archive(A& a) {
        a.value("m", m);
        a.array("offsets", offsets);
        a.array("positions", positions);
        if constexpr (A::loading) {
            refresh();
            validate("the stored code '" + a.prefix() + "'");
        }
    }

    friend bool operator==(const sparse_code& a, const sparse_code& b) noexcept {
        return a.m == b.m && a.offsets == b.offsets && a.positions == b.positions;
    }
    friend bool operator!=(const sparse_code& a, const sparse_code& b) noexcept { return !(a == b); }

private:
    bool uniform_ = true;
};

// m = d, one position per item, item i at position i.
inline sparse_code identity_code(std::uint32_t d) {
    if (d == 0) ::bloom::detail::throw_invalid("identity_code: d = 0 items");
    sparse_code c;
    c.m = d;
    c.offsets.resize(std::size_t{d} + 1);
    c.positions.resize(d);
    for (std::uint32_t i = 0; i <= d; ++i) c.offsets[i] = i;
    for (std::uint32_t i = 0; i < d; ++i) c.positions[i] = i;
    c.refresh();
    return c;
}

// k positions per item from a stored d x k table (row-major: item i at table[i*k .. i*k+k)).
inline sparse_code table_code(std::uint64_t m, std::uint32_t k, std::vector<std::uint32_t> table) {
    if (k == 0) ::bloom::detail::throw_invalid("table_code: k = 0 positions per item");
    if (table.empty() || table.size() % k != 0)
        ::bloom::detail::throw_invalid("table_code: " + std::to_string(table.size()) +
                                       " positions are not d rows of k = " + std::to_string(k));
    sparse_code c;
    c.m = m;
    const std::size_t d = table.size() / k;
    c.offsets.resize(d + 1);
    for (std::size_t i = 0; i <= d; ++i) c.offsets[i] = i * k;
    c.positions = std::move(table);
    c.refresh();
    c.validate("table_code");
    return c;
}

// The k positions the spec gives each of its d = spec.items() ids.
template <class Hash>
sparse_code spec_code(const basic_spec<Hash>& s) {
    if (s.items() == 0)
        ::bloom::detail::throw_invalid(std::string("spec_code<") + s.hash_name() +
                                       ">: the spec has no item count (spec_config::items = 0)");
    if (s.items() > 0xffffffffULL)
        ::bloom::detail::throw_invalid("spec_code: more than 2^32 - 1 items");
    const std::uint32_t d = static_cast<std::uint32_t>(s.items());
    std::vector<std::uint32_t> table(std::size_t{d} * s.k());
    for (std::uint32_t i = 0; i < d; ++i) s.positions(i, table.data() + std::size_t{i} * s.k());
    return table_code(s.m(), s.k(), std::move(table));
}

// A random m-bit code word per item (each bit set with probability 1/2, drawn from
// std::mt19937_64(seed) bit by bit). A word with no bit set is drawn again, and so is a word
// equal to an earlier one while m <= 64 makes that likely (beyond, a repeat has probability
// below d^2 2^-65). Positions are the set bits, sorted.
inline sparse_code ecoc_code(std::uint32_t d, std::uint64_t m, std::uint64_t seed) {
    if (d == 0) ::bloom::detail::throw_invalid("ecoc_code: d = 0 items");
    if (m == 0) ::bloom::detail::throw_invalid("ecoc_code: m = 0 bits");
    if (m < 64 && (std::uint64_t{1} << m) - 1 < d)
        ::bloom::detail::throw_invalid("ecoc_code: " + std::to_string(m) + " bits cannot give " +
                                       std::to_string(d) + " distinct non-empty code words");
    std::mt19937_64 rng(seed);
    sparse_code c;
    c.m = m;
    c.offsets.reserve(std::size_t{d} + 1);
    c.offsets.push_back(0);
    c.positions.reserve(static_cast<std::size_t>(d) * static_cast<std::size_t>(m / 2 + 1));
    std::unordered_set<std::uint64_t> seen;  // small words only
    std::vector<std::uint32_t> word;
    for (std::uint32_t i = 0; i < d; ++i) {
        for (;;) {
            word.clear();
            std::uint64_t bits = 0, packed = 0;
            for (std::uint64_t b = 0; b < m; ++b) {
                if (b % 64 == 0) bits = rng();
                if ((bits >> (b % 64)) & 1U) {
                    word.push_back(static_cast<std::uint32_t>(b));
                    if (m <= 64) packed |= std::uint64_t{1} << b;
                }
            }
            if (word.empty()) continue;
            if (m <= 64 && !seen.insert(packed).second) continue;
            break;
        }
        c.positions.insert(c.positions.end(), word.begin(), word.end());
        c.offsets.push_back(c.positions.size());
    }
    c.refresh();
    return c;
}

namespace detail {

inline constexpr char code_magic[8] = {'B', 'L', 'O', 'O', 'M', 'S', 'C', '1'};

template <class T>
void put_le(std::ostream& os, T v) {
    unsigned char b[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<unsigned char>((v >> (8 * i)) & 0xFFU);
    os.write(reinterpret_cast<const char*>(b), sizeof(T));
}

template <class T>
T get_le(std::istream& is, const std::string& name, const char* what) {
    unsigned char b[sizeof(T)];
    if (!is.read(reinterpret_cast<char*>(b), sizeof(T)))
        ::bloom::detail::throw_invalid(name + ": truncated code file (it ends inside " + what + ")");
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v | (static_cast<T>(b[i]) << (8 * i)));
    return v;
}

}  // namespace detail

// Writes c to os (throws bloom::error when the stream fails).
inline void write_code(std::ostream& os, const sparse_code& c) {
    c.validate("write_code");
    os.write(detail::code_magic, sizeof detail::code_magic);
    detail::put_le<std::uint64_t>(os, c.m);
    detail::put_le<std::uint64_t>(os, c.items());
    detail::put_le<std::uint64_t>(os, c.positions.size());
    for (std::uint64_t o : c.offsets) detail::put_le<std::uint64_t>(os, o);
    for (std::uint32_t p : c.positions) detail::put_le<std::uint32_t>(os, p);
    if (!os) throw ::bloom::error("write_code: the stream failed while writing the code");
}

// Reads a code written by write_code; `name` (a file name) goes into every error message. Throws
// bloom::invalid_argument for a stream that is not such a code, is truncated, or holds a code
// that does not validate (a position >= m, offsets that decrease...).
inline sparse_code read_code(std::istream& is, const std::string& name) {
    char magic[8] = {};
    if (!is.read(magic, sizeof magic) || std::memcmp(magic, detail::code_magic, sizeof magic) != 0)
        ::bloom::detail::throw_invalid(name + ": not a bloom code file (it does not start with "
                                              "BLOOMSC1)");
    sparse_code c;
    c.m = detail::get_le<std::uint64_t>(is, name, "the header");
    const std::uint64_t d = detail::get_le<std::uint64_t>(is, name, "the header");
    const std::uint64_t nnz = detail::get_le<std::uint64_t>(is, name, "the header");
    if (d == 0 || d >= 0xffffffffULL || nnz >= 0xffffffffffULL)
        ::bloom::detail::throw_invalid(name + ": implausible code header (d = " +
                                       std::to_string(d) + ", " + std::to_string(nnz) +
                                       " positions)");
    c.offsets.resize(static_cast<std::size_t>(d) + 1);
    for (auto& o : c.offsets) o = detail::get_le<std::uint64_t>(is, name, "the offsets");
    // Grow as the data arrives, so a corrupt count cannot ask for memory the file does not hold.
    for (std::uint64_t e = 0; e < nnz; ++e)
        c.positions.push_back(detail::get_le<std::uint32_t>(is, name, "the positions"));
    c.refresh();
    c.validate(name);
    return c;
}

}  // namespace models
}  // namespace bloom
