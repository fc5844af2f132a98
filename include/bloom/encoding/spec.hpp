// The spec: the single definition of how an id becomes k positions in [0, m).
//
// Everything that maps ids to positions asks a spec: the encoder, the decoder, the embedding
// tables and saved models. A precomputed position table (encoding/position_table.hpp) is a cache
// of a spec, never a second definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/policy.hpp>

namespace bloom {

// How the k positions of an id are derived from the hash policy.
enum class derivation : std::uint8_t {
    seeded,          // h_j(x) = H(x, seed_j) for j = 0..k-1: k independent hashes
    double_hashing,  // h_j(x) = H(x, seed_0) + j * (H(x, seed_1) | 1): two hashes per id
};

// Plain configuration, validated once when a basic_spec is built from it.
struct spec_config {
    std::uint64_t items = 0;     // d, the number of ids, when known (0: unknown); ids are < d
    std::uint64_t m = 0;         // number of positions (rows, output units); 1 <= m <= 2^32
    std::uint32_t k = 4;         // positions per id; 1 <= k <= m
    std::uint64_t seed = 0;      // user seed; per-hash seeds are derived from it with SplitMix64
    derivation derive = derivation::seeded;
    reduction reduce = reduction::automatic;
    std::uint32_t key_bytes = 8;  // integer ids hash as 4- or 8-byte little-endian keys
    // Explicit per-hash seeds, overriding `seed`: k of them (seeded) or 2 (double hashing).
    std::vector<std::uint64_t> seeds = {};
    // Id 0 is a padding id mapped to position 0 by every hash (Spotlight's padding_idx = 0).
    bool padding_zero = false;
};

// The largest m a spec accepts: positions are stored as std::uint32_t.
inline constexpr std::uint64_t max_positions = std::uint64_t{1} << 32;

template <class Hash>
class basic_spec {
    static_assert(is_hash_policy_v<Hash>,
                  "bloom::basic_spec<Hash>: Hash is not a hash policy. It must be a default-"
                  "constructible, trivially copyable type with a noexcept "
                  "operator()(const void*, std::size_t, std::uint64_t) -> std::uint64_t "
                  "(see <bloom/hash/policy.hpp>)");

public:
    using hash_type = Hash;
    using position_type = std::uint32_t;

    explicit basic_spec(spec_config cfg) : cfg_(std::move(cfg)) {
        validate();
        if (cfg_.reduce == reduction::automatic) cfg_.reduce = preferred_reduction_v<Hash>;
        const std::size_t nseeds = cfg_.derive == derivation::seeded ? cfg_.k : 2;
        if (cfg_.seeds.empty()) {
            seeds_.resize(nseeds);
            for (std::size_t j = 0; j < nseeds; ++j)
                seeds_[j] = detail::splitmix64(cfg_.seed + 0x632BE59BD9B4E019ULL * (j + 1));
        } else {
            seeds_ = cfg_.seeds;
        }
        cfg_.seeds = seeds_;
    }

    const spec_config& config() const noexcept { return cfg_; }
    std::uint64_t m() const noexcept { return cfg_.m; }
    std::uint32_t k() const noexcept { return cfg_.k; }
    std::uint64_t items() const noexcept { return cfg_.items; }
    derivation derive() const noexcept { return cfg_.derive; }
    reduction reduce() const noexcept { return cfg_.reduce; }
    std::uint32_t key_bytes() const noexcept { return cfg_.key_bytes; }
    const std::vector<std::uint64_t>& seeds() const noexcept { return seeds_; }
    static constexpr const char* hash_name() noexcept { return ::bloom::hash_name<Hash>(); }

    // Throws bloom::out_of_range unless `id` is one this spec can hash: below d when d is known,
    // below 2^32 when keys are 4 bytes.
    void check_id(std::uint64_t id) const {
        if (cfg_.items != 0 && id >= cfg_.items)
            detail::throw_range("id " + std::to_string(id) + " is out of range: the spec has d = " +
                                std::to_string(cfg_.items) + " items (ids 0.." +
                                std::to_string(cfg_.items - 1) + ")");
        if (cfg_.key_bytes == 4 && id > std::numeric_limits<std::uint32_t>::max())
            detail::throw_range("id " + std::to_string(id) +
                                " does not fit the spec's 4-byte keys (key_bytes = 4)");
    }

    // The k positions of an integer id, in hash order j = 0..k-1 (duplicates possible, not sorted).
    // `out` must hold k values. No allocation, no check beyond BLOOM_ASSERT.
    template <class Id>
    void positions(Id id, position_type* out) const noexcept {
        static_assert(std::is_integral_v<Id> && std::is_unsigned_v<Id>,
                      "bloom: integer ids must be an unsigned integer type");
        const auto x = static_cast<std::uint64_t>(id);
        BLOOM_ASSERT(cfg_.key_bytes == 8 || x <= 0xFFFFFFFFULL);
        if (cfg_.padding_zero && x == 0) {
            for (std::uint32_t j = 0; j < cfg_.k; ++j) out[j] = 0;
            return;
        }
        if (cfg_.key_bytes == 4) {
            fill(out, [&](std::uint64_t s) {
                return hash_u32(Hash{}, static_cast<std::uint32_t>(x), s);
            });
        } else {
            fill(out, [&](std::uint64_t s) { return hash_u64(Hash{}, x, s); });
        }
    }

    // Position j of an integer id (0 <= j < k).
    template <class Id>
    position_type position(Id id, std::uint32_t j) const noexcept {
        BLOOM_ASSERT(j < cfg_.k);
        position_type buf[max_inline_k];
        if (cfg_.k <= max_inline_k) {
            positions(id, buf);
            return buf[j];
        }
        std::vector<position_type> big(cfg_.k);
        positions(id, big.data());
        return big[j];
    }

    // The k positions of a byte-string key (padding_zero does not apply).
    void positions(const void* data, std::size_t len, position_type* out) const noexcept {
        fill(out, [&](std::uint64_t s) { return Hash{}(data, len, s); });
    }

    // Map one hash value to [0, m) by the spec's reduction.
    position_type reduce_value(std::uint64_t h) const noexcept {
        switch (cfg_.reduce) {
            case reduction::modulo: return static_cast<position_type>(mask(h) % cfg_.m);
            case reduction::spotlight: {
                const auto s = static_cast<std::int64_t>(static_cast<std::int32_t>(
                    static_cast<std::uint32_t>(h)));
                std::int64_t r = s % static_cast<std::int64_t>(cfg_.m);
                if (r < 0) r += static_cast<std::int64_t>(cfg_.m);
                return static_cast<position_type>(r);
            }
            case reduction::automatic:
            case reduction::multiply_shift:
            default:
                // (h * m) >> bits over the policy's significant bits, so a policy with, say,
                // bits = 16 or 48 still covers all of [0, m).
                if constexpr (hash_bits_v<Hash> <= 32) {
                    return static_cast<position_type>((mask(h) * cfg_.m) >> hash_bits_v<Hash>);
                } else if constexpr (hash_bits_v<Hash> < 64) {
                    return static_cast<position_type>(
                        detail::mul_high64(mask(h) << (64 - hash_bits_v<Hash>), cfg_.m));
                } else {
                    return static_cast<position_type>(detail::mul_high64(h, cfg_.m));
                }
        }
    }

    static constexpr std::uint32_t max_inline_k = 64;

private:
    static constexpr std::uint64_t mask(std::uint64_t h) noexcept {
        if constexpr (hash_bits_v<Hash> < 64) {
            return h & ((std::uint64_t{1} << hash_bits_v<Hash>) - 1);
        } else {
            return h;
        }
    }

    template <class HashOf>
    BLOOM_ALWAYS_INLINE void fill(position_type* out, HashOf&& hash_of) const noexcept {
        const std::uint32_t k = cfg_.k;
        if (cfg_.derive == derivation::seeded) {
            for (std::uint32_t j = 0; j < k; ++j) out[j] = reduce_value(hash_of(seeds_[j]));
        } else {
            const std::uint64_t h1 = hash_of(seeds_[0]);
            const std::uint64_t h2 = hash_of(seeds_[1]) | 1U;
            for (std::uint32_t j = 0; j < k; ++j)
                out[j] = reduce_value(h1 + static_cast<std::uint64_t>(j) * h2);
        }
    }

    void validate() const {
        const std::string where = std::string("spec<") + ::bloom::hash_name<Hash>() + ">: ";
        if (cfg_.m == 0) detail::throw_invalid(where + "m must be at least 1 (got m = 0)");
        if (cfg_.m > max_positions)
            detail::throw_invalid(where + "m = " + std::to_string(cfg_.m) +
                                  " exceeds 2^32 (positions are 32-bit)");
        if (cfg_.k == 0) detail::throw_invalid(where + "k must be at least 1 (got k = 0)");
        if (cfg_.k > cfg_.m)
            detail::throw_invalid(where + "k = " + std::to_string(cfg_.k) +
                                  " exceeds m = " + std::to_string(cfg_.m) +
                                  ": an id cannot have more distinct positions than there are");
        if (cfg_.key_bytes != 4 && cfg_.key_bytes != 8)
            detail::throw_invalid(where + "key_bytes must be 4 or 8 (got " +
                                  std::to_string(cfg_.key_bytes) + ")");
        if (cfg_.key_bytes == 4 && cfg_.items > (std::uint64_t{1} << 32))
            detail::throw_invalid(where + "d = " + std::to_string(cfg_.items) +
                                  " items do not fit 4-byte keys");
        if (!cfg_.seeds.empty()) {
            const std::size_t want = cfg_.derive == derivation::seeded ? cfg_.k : 2;
            if (cfg_.seeds.size() != want)
                detail::throw_invalid(where + "seeds has " + std::to_string(cfg_.seeds.size()) +
                                      " values; " + std::to_string(want) + " needed (" +
                                      (cfg_.derive == derivation::seeded
                                           ? "one per hash function, k"
                                           : "two for double hashing") +
                                      ")");
        }
    }

    spec_config cfg_;
    std::vector<std::uint64_t> seeds_;
};

}  // namespace bloom
