// Row sources: which rows of a table an id reads. The embedding op (sparse_ops.hpp) is written
// against this small interface, so it does not know whether the table is a full one-row-per-id
// table or a Bloom table of m hashed rows:
//
//   std::uint32_t k() const noexcept;        // rows per id (>= 1)
//   std::uint64_t rows() const noexcept;     // every row it returns is < rows()
//   void check(std::uint64_t id) const;      // throws bloom::out_of_range for an id it cannot map
//   void operator()(std::uint64_t id, std::uint32_t* out) const noexcept;  // k rows, hash order
//
// identity_rows   row = id (k = 1): a full table, or a per-id importance table
// spec_rows<H>    the k positions of a bloom::basic_spec<H>: the single definition of the hashing
//                 (with k = 1 it is the hashing trick)
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include <bloom/config.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace ad {

// One row per id: row = id, for ids below n.
class identity_rows {
public:
    explicit identity_rows(std::uint64_t n) : n_(n) {
        if (n == 0 || n > max_positions)
            ::bloom::detail::throw_invalid("identity_rows: n = " + std::to_string(n) +
                                           " must be in [1, 2^32]");
    }

    std::uint32_t k() const noexcept { return 1; }
    std::uint64_t rows() const noexcept { return n_; }
    void check(std::uint64_t id) const {
        if (id >= n_)
            ::bloom::detail::throw_range("identity_rows: id " + std::to_string(id) +
                                         " is out of range (the table has " + std::to_string(n_) +
                                         " rows)");
    }
    void operator()(std::uint64_t id, std::uint32_t* out) const noexcept {
        BLOOM_ASSERT(id < n_);
        out[0] = static_cast<std::uint32_t>(id);
    }

private:
    std::uint64_t n_;
};

// The k hashed positions of a spec (m rows).
template <class Hash>
class spec_rows {
public:
    explicit spec_rows(basic_spec<Hash> spec) : spec_(std::move(spec)) {}
    explicit spec_rows(spec_config cfg) : spec_(std::move(cfg)) {}

    const basic_spec<Hash>& spec() const noexcept { return spec_; }
    std::uint32_t k() const noexcept { return spec_.k(); }
    std::uint64_t rows() const noexcept { return spec_.m(); }
    void check(std::uint64_t id) const { spec_.check_id(id); }
    void operator()(std::uint64_t id, std::uint32_t* out) const noexcept {
        spec_.positions(id, out);
    }

private:
    basic_spec<Hash> spec_;
};

// True when R offers the row-source interface above.
template <class R, class = void>
struct is_row_source : std::false_type {};
template <class R>
struct is_row_source<
    R, std::void_t<decltype(std::uint32_t{std::declval<const R&>().k()}),
                   decltype(std::uint64_t{std::declval<const R&>().rows()}),
                   decltype(std::declval<const R&>().check(std::uint64_t{})),
                   decltype(std::declval<const R&>()(std::uint64_t{},
                                                     std::declval<std::uint32_t*>()))>>
    : std::true_type {};
template <class R>
inline constexpr bool is_row_source_v = is_row_source<R>::value;

}  // namespace ad
}  // namespace bloom
