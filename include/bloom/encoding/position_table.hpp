// A precomputed d x k position table: the k positions of every id 0..d-1, computed once from a
// spec and then read instead of hashed.
//
// The table is a cache of its spec, never a second definition: row(id) holds exactly what
// spec.positions(id, out) writes (hash order j = 0..k-1, duplicates kept). It costs
// d * k * 4 bytes (16 MB for d = 1,000,000 and k = 4) and turns k hashes into one contiguous read.
//
//     bloom::spec_config cfg;
//     cfg.items = 1682; cfg.m = 336; cfg.k = 4;
//     const bloom::position_table table(bloom::spec(cfg));
//     const std::uint32_t* p = table.row(17);   // p[0..4)
//
// Encoders and decoders built in `lookup::table` mode hold one (shared, immutable), so an
// encoder and a decoder of the same spec can share a single table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/xxhash.hpp>

namespace bloom {

// How an encoder or decoder finds the k positions of an integer id.
enum class lookup : std::uint8_t {
    on_the_fly,  // hash the id through the spec at every call (no memory, k hashes per id)
    table,       // read a precomputed basic_position_table (d * k * 4 bytes, needs d > 0)
};

inline const char* to_string(lookup l) noexcept {
    return l == lookup::table ? "table" : "on-the-fly";
}

// The spec with the xxh3 policy, the library's default.
using spec = basic_spec<xxh3>;

template <class Hash>
class basic_position_table {
public:
    using spec_type = basic_spec<Hash>;
    using hash_type = Hash;
    using position_type = typename spec_type::position_type;

    // Computes all d rows. Throws bloom::invalid_argument when the spec does not know its item
    // count (spec_config::items == 0) or when d * k positions would not fit in memory's size_t.
    explicit basic_position_table(spec_type s) : spec_(std::move(s)) {
        const std::uint64_t d = spec_.items();
        const std::uint64_t k = spec_.k();
        if (d == 0)
            detail::throw_invalid(
                std::string("position_table<") + spec_type::hash_name() +
                ">: the spec has no item count (spec_config::items = 0); a table needs d > 0 "
                "to know which ids to precompute");
        constexpr std::uint64_t max_entries =
            std::numeric_limits<std::size_t>::max() / sizeof(position_type);
        if (d > max_entries / k)
            detail::throw_invalid(std::string("position_table<") + spec_type::hash_name() +
                                  ">: d = " + std::to_string(d) + " times k = " +
                                  std::to_string(k) + " positions do not fit in memory");
        pos_.resize(static_cast<std::size_t>(d * k));
        position_type* out = pos_.data();
        for (std::uint64_t id = 0; id < d; ++id, out += k) spec_.positions(id, out);
    }

    const spec_type& spec() const noexcept { return spec_; }
    std::uint64_t items() const noexcept { return spec_.items(); }
    std::uint64_t m() const noexcept { return spec_.m(); }
    std::uint32_t k() const noexcept { return spec_.k(); }

    // The k positions of `id` (< d), in hash order. No check beyond BLOOM_ASSERT.
    template <class Id>
    const position_type* row(Id id) const noexcept {
        static_assert(std::is_integral_v<Id> && std::is_unsigned_v<Id>,
                      "bloom: integer ids must be an unsigned integer type");
        BLOOM_ASSERT(static_cast<std::uint64_t>(id) < spec_.items());
        return pos_.data() + static_cast<std::size_t>(id) * spec_.k();
    }

    // All rows, row-major: d * k values.
    const position_type* data() const noexcept { return pos_.data(); }
    std::size_t size() const noexcept { return pos_.size(); }

    // Bytes held by the position storage (d * k * sizeof(position_type)).
    std::size_t memory_bytes() const noexcept { return pos_.size() * sizeof(position_type); }

private:
    spec_type spec_;
    std::vector<position_type> pos_;
};

using position_table = basic_position_table<xxh3>;

// Builds a table owned by a shared_ptr, ready to hand to several encoders and decoders.
template <class Hash>
std::shared_ptr<const basic_position_table<Hash>> make_shared_table(basic_spec<Hash> s) {
    return std::make_shared<const basic_position_table<Hash>>(std::move(s));
}

}  // namespace bloom
