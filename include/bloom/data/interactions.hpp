// The interactions container: who interacted with what, as columns (struct of arrays), with
// dense ids and the maps back to the raw ids read from a file.
//
// - users[i], items[i]: dense ids in [0, n_users) and [0, n_items).
// - weights[i] (a rating, or any float weight) and timestamps[i] (integer, e.g. Unix seconds) are
//   optional: each column is either empty or has one value per interaction.
// - user_ids / item_ids map a dense id back to its raw id. Raw ids are kept as read: as unsigned
//   64-bit integers (MovieLens and most numeric files), or as text for files whose ids are not
//   numbers (an id_map holds one kind). A null map means "the raw id is the dense id" (synthetic
//   data). The maps are shared (shared_ptr to const), so train and test halves of a split carry
//   the same maps and the same n_users / n_items at no cost.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace data {

// How an id_map stores raw ids.
enum class id_kind : std::uint8_t {
    integer,  // unsigned 64-bit integers
    string    // arbitrary bytes
};

// Interns raw ids into dense ids 0, 1, 2, ... (in order of first appearance, or sorted by raw
// value after sort_by_raw()). Raw ids are stored contiguously (strings in one character buffer),
// so interning allocates nothing per id. The index has two parts:
// - integer ids below a limit that grows with the map (about 16 to 32 table entries per id, at
//   least 65536) are looked up directly in a table: MovieLens ids are small, and a direct lookup stays
//   in cache where a hash table would not;
// - other ids (and all strings) by open addressing with linear probing, a slot holding the
//   integer key (or a string's 64-bit hash) next to its dense id: one cache miss per lookup.
class id_map {
public:
    // Dense ids are uint32_t; the all-ones value is kept free.
    static constexpr std::uint32_t max_size = 0xFFFFFFFEu;

    explicit id_map(id_kind kind = id_kind::integer) : kind_(kind) {}

    // An integer map with raw id == dense id for 0..n-1.
    static id_map iota(std::uint32_t n) {
        id_map m(id_kind::integer);
        m.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) m.intern(std::uint64_t{i});
        return m;
    }

    id_kind kind() const noexcept { return kind_; }
    std::uint32_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    void reserve(std::size_t n) {
        if (kind_ == id_kind::integer) ints_.reserve(n);
        else offsets_.reserve(n + 1);
    }

    // The dense id of `raw`, adding it if new. Integer maps take integers, string maps text.
    // An id already in the direct table is found inline; the rest goes to intern_slow.
    std::uint32_t intern(std::uint64_t raw) {
        if (BLOOM_LIKELY(raw < direct_.size())) {  // direct_ stays empty in a string map
            const std::uint32_t d = direct_[static_cast<std::size_t>(raw)];
            if (BLOOM_LIKELY(d != 0)) return d - 1;
        }
        return intern_slow(raw);
    }

    std::uint32_t intern(std::string_view raw) {
        require(id_kind::string, "intern(string)");
        if ((hashed_ + 1) * 2 > slots_.size()) grow();
        const std::size_t mask = slots_.size() - 1;
        const std::uint64_t tag = hash_text(raw);
        for (std::size_t h = static_cast<std::size_t>(tag) & mask;; h = (h + 1) & mask) {
            slot& s = slots_[h];
            if (s.id1 == 0) {
                check_room();
                chars_.append(raw.data(), raw.size());
                offsets_.push_back(chars_.size());
                s.tag = tag;
                s.id1 = ++size_;
                ++hashed_;
                return size_ - 1;
            }
            if (s.tag == tag && text_unchecked(s.id1 - 1) == raw) return s.id1 - 1;
        }
    }

    // The dense id of `raw`, if present.
    std::optional<std::uint32_t> find(std::uint64_t raw) const {
        require(id_kind::integer, "find(integer)");
        if (raw < direct_.size()) {
            const std::uint32_t d = direct_[static_cast<std::size_t>(raw)];
            if (d == 0) return std::nullopt;
            return d - 1;
        }
        if (slots_.empty()) return std::nullopt;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t h = hash_int(raw) & mask;; h = (h + 1) & mask) {
            const slot& s = slots_[h];
            if (s.id1 == 0) return std::nullopt;
            if (s.tag == raw) return s.id1 - 1;
        }
    }

    std::optional<std::uint32_t> find(std::string_view raw) const {
        require(id_kind::string, "find(string)");
        if (slots_.empty()) return std::nullopt;
        const std::size_t mask = slots_.size() - 1;
        const std::uint64_t tag = hash_text(raw);
        for (std::size_t h = static_cast<std::size_t>(tag) & mask;; h = (h + 1) & mask) {
            const slot& s = slots_[h];
            if (s.id1 == 0) return std::nullopt;
            if (s.tag == tag && text_unchecked(s.id1 - 1) == raw) return s.id1 - 1;
        }
    }

    // The raw id of a dense id (integer maps).
    std::uint64_t integer(std::uint32_t dense) const {
        require(id_kind::integer, "integer()");
        check(dense);
        return ints_[dense];
    }

    // The raw id of a dense id (string maps). Valid until the map is next modified.
    std::string_view text(std::uint32_t dense) const {
        require(id_kind::string, "text()");
        check(dense);
        return text_unchecked(dense);
    }

    // The raw id as text, for either kind.
    std::string to_string(std::uint32_t dense) const {
        check(dense);
        if (kind_ == id_kind::integer) return std::to_string(ints_[dense]);
        return std::string(text_unchecked(dense));
    }

    // Model files (io/archive.hpp): the raw id of every dense id, in dense order. Loading
    // interns them again and fails on a repeated raw id.
    template <class A>
    void archive(A& a) {
        a.value("kind", kind_);
        std::vector<std::uint64_t> ints, offsets;
        std::vector<char> chars;
        if constexpr (!A::loading) {
            if (kind_ == id_kind::integer) {
                ints = ints_;
            } else {
                offsets = offsets_;
                chars.assign(chars_.begin(), chars_.end());
            }
        }
        if (kind_ == id_kind::integer) {
            a.array("raw", ints);
        } else {
            a.array("raw_offsets", offsets);
            a.array("raw_text", chars);
        }
        if constexpr (A::loading) {
            a.check(kind_ == id_kind::integer || kind_ == id_kind::string, "unknown id kind");
            id_map m(kind_);
            if (kind_ == id_kind::integer) {
                a.check(ints.size() <= max_size, "too many ids");
                m.reserve(ints.size());
                for (std::size_t d = 0; d < ints.size(); ++d)
                    a.check(m.intern(ints[d]) == d, "raw id " + std::to_string(ints[d]) +
                                                        " appears twice");
            } else {
                a.check(!offsets.empty() && offsets.front() == 0 && offsets.back() == chars.size() &&
                            offsets.size() - 1 <= max_size,
                        "the text offsets do not cover the text");
                m.reserve(offsets.size() - 1);
                for (std::size_t d = 0; d + 1 < offsets.size(); ++d) {
                    a.check(offsets[d] <= offsets[d + 1], "the text offsets decrease");
                    // Only the last offset was checked against the text: one in the middle may
                    // point past it and the next come back.
                    a.check(offsets[d + 1] <= chars.size(),
                            "text offset " + std::to_string(d + 1) + " (" +
                                std::to_string(offsets[d + 1]) + ") is past the end of the " +
                                std::to_string(chars.size()) + " bytes of text");
                    const std::string_view raw(chars.data() + offsets[d],
                                               static_cast<std::size_t>(offsets[d + 1] - offsets[d]));
                    a.check(m.intern(raw) == d, "raw id '" + std::string(raw) + "' appears twice");
                }
            }
            *this = std::move(m);
        }
    }

    // Renumbers the dense ids in increasing raw order (numeric for integers, bytewise for text),
    // so the numbering does not depend on the order of the lines in a file.
    // Returns new_of_old: the new dense id of each old dense id.
    std::vector<std::uint32_t> sort_by_raw() {
        std::vector<std::uint32_t> order(size_);
        std::iota(order.begin(), order.end(), 0u);
        if (kind_ == id_kind::integer) {
            std::sort(order.begin(), order.end(),
                      [this](std::uint32_t a, std::uint32_t b) { return ints_[a] < ints_[b]; });
            std::vector<std::uint64_t> ints(size_);
            for (std::uint32_t k = 0; k < size_; ++k) ints[k] = ints_[order[k]];
            ints_.swap(ints);
        } else {
            std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
                return text_unchecked(a) < text_unchecked(b);
            });
            std::string chars;
            chars.reserve(chars_.size());
            std::vector<std::uint64_t> offsets;
            offsets.reserve(offsets_.size());
            offsets.push_back(0);
            for (std::uint32_t k = 0; k < size_; ++k) {
                const std::string_view t = text_unchecked(order[k]);
                chars.append(t.data(), t.size());
                offsets.push_back(chars.size());
            }
            chars_.swap(chars);
            offsets_.swap(offsets);
        }
        std::vector<std::uint32_t> new_of_old(size_);
        for (std::uint32_t k = 0; k < size_; ++k) new_of_old[order[k]] = k;
        rebuild(slots_.size());
        return new_of_old;
    }

private:
    // intern(integer) for an id not in the direct table (new, large, or a string map).
    std::uint32_t intern_slow(std::uint64_t raw) {
        require(id_kind::integer, "intern(integer)");
        if (raw < direct_.size()) {
            std::uint32_t& d = direct_[static_cast<std::size_t>(raw)];
            if (d == 0) d = add(raw);
            return d - 1;
        }
        if (raw < direct_limit()) {  // widen the direct table (at least doubling), look again
            std::size_t n = direct_.empty() ? 1024 : direct_.size() * 2;
            while (n <= raw) n *= 2;
            direct_.assign(n, 0);
            rebuild(slots_.size());
            return intern(raw);
        }
        if ((hashed_ + 1) * 2 > slots_.size()) grow();
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t h = hash_int(raw) & mask;; h = (h + 1) & mask) {
            slot& s = slots_[h];
            if (s.id1 == 0) {
                s.tag = raw;
                s.id1 = add(raw);
                ++hashed_;
                return s.id1 - 1;
            }
            if (s.tag == raw) return s.id1 - 1;
        }
    }

    struct slot {
        std::uint64_t tag = 0;  // the integer id, or the string's hash
        std::uint32_t id1 = 0;  // dense id + 1; 0: empty
    };

    static std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finaliser
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        x ^= x >> 31;
        return x;
    }
    static std::size_t hash_int(std::uint64_t x) noexcept {
        return static_cast<std::size_t>(mix(x));
    }
    static std::uint64_t hash_text(std::string_view s) noexcept {  // FNV-1a, then mixed
        std::uint64_t h = 0xcbf29ce484222325ull;
        for (const char c : s) {
            h ^= static_cast<unsigned char>(c);
            h *= 0x100000001b3ull;
        }
        return mix(h);
    }

    // An integer id below this may widen the direct table (to a power of two above it, so the
    // table has at most 32 entries per id, or 2^17 in all).
    std::size_t direct_limit() const noexcept {
        return std::max<std::size_t>(std::size_t{1} << 16, (std::size_t{size_} + 1) * 16);
    }

    std::string_view text_unchecked(std::uint32_t dense) const noexcept {
        const auto b = static_cast<std::size_t>(offsets_[dense]);
        const auto e = static_cast<std::size_t>(offsets_[std::size_t{dense} + 1]);
        return std::string_view(chars_.data() + b, e - b);
    }

    std::uint32_t add(std::uint64_t raw) {  // a new integer id; returns dense id + 1
        check_room();
        ints_.push_back(raw);
        return ++size_;
    }

    void require(id_kind k, const char* what) const {
        if (k != kind_) {
            bloom::detail::throw_invalid(std::string("id_map::") + what + " called on a map of " +
                                  (kind_ == id_kind::integer ? "integer" : "string") + " ids");
        }
    }
    void check(std::uint32_t dense) const {
        if (dense >= size_) {
            bloom::detail::throw_range("id_map: dense id " + std::to_string(dense) +
                                " is not below the map's size " + std::to_string(size_));
        }
    }
    void check_room() const {
        if (size_ >= max_size) {
            bloom::detail::throw_range("id_map: more than " + std::to_string(max_size) +
                                       " distinct ids");
        }
    }

    void grow() { rebuild(slots_.empty() ? 16 : slots_.size() * 2); }

    // Re-indexes every id: integers below direct_.size() in the direct table, the others in a
    // hash table of (at least) `capacity` slots.
    void rebuild(std::size_t capacity) {
        std::fill(direct_.begin(), direct_.end(), 0u);
        hashed_ = 0;
        for (std::uint32_t d = 0; d < size_; ++d) {
            if (kind_ == id_kind::integer && ints_[d] < direct_.size()) {
                direct_[static_cast<std::size_t>(ints_[d])] = d + 1;
            } else {
                ++hashed_;
            }
        }
        if (capacity == 0 && hashed_ == 0) {  // nothing hashed, and no table asked for
            slots_.clear();
            return;
        }
        capacity = std::max<std::size_t>(capacity, 16);
        while (capacity < hashed_ * 2 + 2) capacity *= 2;
        slots_.assign(capacity, slot{});
        const std::size_t mask = capacity - 1;
        for (std::uint32_t d = 0; d < size_; ++d) {
            std::uint64_t tag;
            std::size_t h;
            if (kind_ == id_kind::integer) {
                if (ints_[d] < direct_.size()) continue;
                tag = ints_[d];
                h = hash_int(tag) & mask;
            } else {
                tag = hash_text(text_unchecked(d));
                h = static_cast<std::size_t>(tag) & mask;
            }
            while (slots_[h].id1 != 0) h = (h + 1) & mask;
            slots_[h] = slot{tag, d + 1};
        }
    }

    id_kind kind_;
    std::uint32_t size_ = 0;
    std::size_t hashed_ = 0;                    // ids in the hash table
    std::vector<std::uint64_t> ints_;           // integer kind: raw id of each dense id
    std::string chars_;                         // string kind: all raw ids, back to back
    std::vector<std::uint64_t> offsets_{0};     // string kind: size_ + 1 offsets into chars_
    std::vector<std::uint32_t> direct_;         // integer kind: direct_[raw] = dense id + 1
    std::vector<slot> slots_;                   // the hash table (power-of-two size)
};

// How the entries of one CSR row are ordered.
enum class row_order : std::uint8_t {
    sorted,  // increasing column id (ties in input order)
    input,   // the order of the interactions
    time     // increasing timestamp, ties in input order (needs timestamps)
};

struct csr_options {
    row_order order = row_order::sorted;
    bool unique = false;       // keep only the first entry (in `order`) of each column in a row
    bool with_source = false;  // fill csr::source with each entry's interaction index
};

// Compressed sparse rows: row r's column ids are indices[offsets[r] .. offsets[r + 1]).
// by_user() gives each user's items; by_item() each item's users.
struct csr {
    std::uint32_t n_rows = 0;
    std::uint32_t n_cols = 0;
    std::vector<std::size_t> offsets;    // n_rows + 1 entries, offsets[0] == 0
    std::vector<std::uint32_t> indices;  // column ids
    std::vector<std::size_t> source;     // empty, or the interaction index of each entry

    struct row_view {
        const std::uint32_t* first;
        const std::uint32_t* last;
        const std::uint32_t* begin() const noexcept { return first; }
        const std::uint32_t* end() const noexcept { return last; }
        std::size_t size() const noexcept { return static_cast<std::size_t>(last - first); }
        bool empty() const noexcept { return first == last; }
        std::uint32_t operator[](std::size_t i) const noexcept { return first[i]; }
    };

    row_view row(std::uint32_t r) const noexcept {
        BLOOM_ASSERT(r < n_rows);
        return {indices.data() + offsets[r], indices.data() + offsets[std::size_t{r} + 1]};
    }
    std::size_t row_size(std::uint32_t r) const noexcept {
        BLOOM_ASSERT(r < n_rows);
        return offsets[std::size_t{r} + 1] - offsets[r];
    }
    std::size_t nnz() const noexcept { return indices.size(); }
};

struct interactions {
    std::vector<std::uint32_t> users;
    std::vector<std::uint32_t> items;
    std::vector<float> weights;             // empty, or one per interaction
    std::vector<std::int64_t> timestamps;   // empty, or one per interaction
    std::uint32_t n_users = 0;
    std::uint32_t n_items = 0;
    std::shared_ptr<const id_map> user_ids;  // null: raw user id == dense id
    std::shared_ptr<const id_map> item_ids;  // null: raw item id == dense id

    std::size_t size() const noexcept { return users.size(); }
    bool empty() const noexcept { return users.empty(); }
    bool has_weights() const noexcept { return !weights.empty(); }
    bool has_timestamps() const noexcept { return !timestamps.empty(); }

    // Throws bloom::invalid_argument if the columns disagree in length, an id is out of range or a
    // map's size differs from n_users / n_items. Loaders, splits and the generator guarantee it.
    void validate() const {
        const std::size_t n = users.size();
        if (items.size() != n) {
            bloom::detail::throw_invalid("interactions: " + std::to_string(n) + " users but " +
                                  std::to_string(items.size()) + " items");
        }
        if (!weights.empty() && weights.size() != n) {
            bloom::detail::throw_invalid("interactions: " + std::to_string(weights.size()) +
                                  " weights for " + std::to_string(n) + " interactions");
        }
        if (!timestamps.empty() && timestamps.size() != n) {
            bloom::detail::throw_invalid("interactions: " + std::to_string(timestamps.size()) +
                                  " timestamps for " + std::to_string(n) + " interactions");
        }
        for (std::size_t i = 0; i < n; ++i) {
            if (users[i] >= n_users || items[i] >= n_items) {
                bloom::detail::throw_invalid("interactions: interaction " + std::to_string(i) +
                                      " has user " + std::to_string(users[i]) + " and item " +
                                      std::to_string(items[i]) + ", outside " +
                                      std::to_string(n_users) + " x " + std::to_string(n_items));
            }
        }
        if (user_ids && user_ids->size() != n_users) {
            bloom::detail::throw_invalid("interactions: the user map has " +
                                  std::to_string(user_ids->size()) + " ids, n_users is " +
                                  std::to_string(n_users));
        }
        if (item_ids && item_ids->size() != n_items) {
            bloom::detail::throw_invalid("interactions: the item map has " +
                                  std::to_string(item_ids->size()) + " ids, n_items is " +
                                  std::to_string(n_items));
        }
    }

    // Raw ids as text (the dense id itself when there is no map).
    std::string raw_user(std::uint32_t u) const {
        return user_ids ? user_ids->to_string(u) : std::to_string(u);
    }
    std::string raw_item(std::uint32_t i) const {
        return item_ids ? item_ids->to_string(i) : std::to_string(i);
    }

    // How many interactions each user / item has (duplicates counted).
    std::vector<std::uint32_t> user_counts() const { return counts(users, n_users); }
    std::vector<std::uint32_t> item_counts() const { return counts(items, n_items); }

    // The interactions at `rows` (in that order), in the same id space: same n_users, n_items
    // and maps.
    interactions subset(const std::vector<std::size_t>& rows) const {
        interactions out;
        out.n_users = n_users;
        out.n_items = n_items;
        out.user_ids = user_ids;
        out.item_ids = item_ids;
        out.users.reserve(rows.size());
        out.items.reserve(rows.size());
        if (has_weights()) out.weights.reserve(rows.size());
        if (has_timestamps()) out.timestamps.reserve(rows.size());
        for (const std::size_t r : rows) {
            if (r >= size()) {
                bloom::detail::throw_range("interactions::subset: row " + std::to_string(r) +
                                    " of " + std::to_string(size()));
            }
            out.users.push_back(users[r]);
            out.items.push_back(items[r]);
            if (has_weights()) out.weights.push_back(weights[r]);
            if (has_timestamps()) out.timestamps.push_back(timestamps[r]);
        }
        return out;
    }

    // Each user's items (rows = users, columns = items) and each item's users.
    csr by_user(const csr_options& opt = {}) const {
        return build_csr(users, items, n_users, n_items, opt);
    }
    csr by_item(const csr_options& opt = {}) const {
        return build_csr(items, users, n_items, n_users, opt);
    }

private:
    static std::vector<std::uint32_t> counts(const std::vector<std::uint32_t>& ids,
                                             std::uint32_t n) {
        std::vector<std::uint32_t> c(n, 0);
        for (const std::uint32_t id : ids) {
            BLOOM_ASSERT(id < n);
            ++c[id];
        }
        return c;
    }

    csr build_csr(const std::vector<std::uint32_t>& rows, const std::vector<std::uint32_t>& cols,
                  std::uint32_t n_rows, std::uint32_t n_cols, const csr_options& opt) const {
        if (opt.order == row_order::time && !has_timestamps()) {
            bloom::detail::throw_invalid("csr: row_order::time needs timestamps, these interactions "
                                  "have none");
        }
        const std::size_t n = rows.size();
        csr out;
        out.n_rows = n_rows;
        out.n_cols = n_cols;
        out.offsets.assign(std::size_t{n_rows} + 1, 0);
        for (const std::uint32_t r : rows) {
            BLOOM_ASSERT(r < n_rows);
            ++out.offsets[std::size_t{r} + 1];
        }
        for (std::size_t r = 0; r < n_rows; ++r) out.offsets[r + 1] += out.offsets[r];

        // Stable counting sort by row: each row's entries in input order.
        std::vector<std::size_t> cursor(out.offsets.begin(), out.offsets.end() - 1);
        std::vector<std::size_t> src(n);
        for (std::size_t i = 0; i < n; ++i) src[cursor[rows[i]]++] = i;
        cursor = {};

        // Order each row by (key, input position).
        if (opt.order == row_order::sorted) {
            for (std::size_t r = 0; r < n_rows; ++r) {
                std::stable_sort(src.begin() + static_cast<std::ptrdiff_t>(out.offsets[r]),
                                 src.begin() + static_cast<std::ptrdiff_t>(out.offsets[r + 1]),
                                 [&cols](std::size_t a, std::size_t b) {
                                     return cols[a] < cols[b];
                                 });
            }
        } else if (opt.order == row_order::time) {
            for (std::size_t r = 0; r < n_rows; ++r) {
                std::stable_sort(src.begin() + static_cast<std::ptrdiff_t>(out.offsets[r]),
                                 src.begin() + static_cast<std::ptrdiff_t>(out.offsets[r + 1]),
                                 [this](std::size_t a, std::size_t b) {
                                     return timestamps[a] < timestamps[b];
                                 });
            }
        }

        if (opt.unique) {  // keep the first entry of each column in each row
            std::vector<std::uint32_t> seen(n_cols, 0);  // row + 1 that last saw the column
            std::size_t w = 0;
            std::size_t begin = 0;
            for (std::size_t r = 0; r < n_rows; ++r) {
                const std::size_t end = out.offsets[r + 1];
                const auto stamp = static_cast<std::uint32_t>(r + 1);
                for (std::size_t k = begin; k < end; ++k) {
                    const std::uint32_t c = cols[src[k]];
                    if (seen[c] == stamp) continue;
                    seen[c] = stamp;
                    src[w++] = src[k];
                }
                begin = end;
                out.offsets[r + 1] = w;
            }
            src.resize(w);
        }

        out.indices.resize(src.size());
        for (std::size_t k = 0; k < src.size(); ++k) out.indices[k] = cols[src[k]];
        if (opt.with_source) out.source = std::move(src);
        return out;
    }
};

}  // namespace data
}  // namespace bloom
