// Spotlight-compatible Bloom mapping: the rows that Spotlight's BloomEmbedding (PyTorch) assigns,
// so trained tables and hashed ids can move between Spotlight and bloom.
//
// Spotlight hashes an int32 id with MurmurHash3_x86_32 (the 4 bytes of the id, little-endian) once
// per hash function j, with seed SEEDS[j]; reads the result as a signed 32-bit integer; takes it
// modulo m with Python's sign rule (the row is always in [0, m)); and sends the padding id 0 to
// row 0 for every j. Its table has m = int(compression_ratio * num_embeddings) rows.
//
//     const auto spec = bloom::spotlight_spec(bloom::spotlight_rows(1682, 0.2), 4);  // m = 336
//     std::uint32_t rows[4];
//     spec.positions(std::uint32_t{17}, rows);
//
// tests/hash/spotlight.test.cpp reproduces every row of tests/data/spotlight_bloom_rows.tsv.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/murmur3.hpp>

namespace bloom {

// Spotlight's hash seeds, in order: hash function j uses spotlight_seeds[j]. Spotlight allows at
// most this many hash functions.
inline constexpr std::array<std::uint32_t, 8> spotlight_seeds = {
    179424941U, 179425457U, 179425907U, 179426369U,
    179424977U, 179425517U, 179425943U, 179426407U,
};

// Spotlight's row count for a compressed table: int(compression_ratio * num_embeddings), the
// product taken in double precision and truncated, as Python does. Throws bloom::invalid_argument
// unless 0 < compression_ratio and the result is at least 1.
inline std::uint64_t spotlight_rows(std::uint64_t num_embeddings, double compression_ratio) {
    if (!(compression_ratio > 0.0) || !std::isfinite(compression_ratio))
        detail::throw_invalid("spotlight_rows: compression_ratio must be a finite value > 0 (got " +
                              std::to_string(compression_ratio) + ")");
    const double rows = std::trunc(compression_ratio * static_cast<double>(num_embeddings));
    if (rows < 1.0)
        detail::throw_invalid("spotlight_rows: int(" + std::to_string(compression_ratio) + " * " +
                              std::to_string(num_embeddings) +
                              ") is 0 rows; a table needs at least 1");
    if (rows > static_cast<double>(max_positions))
        detail::throw_invalid("spotlight_rows: int(" + std::to_string(compression_ratio) + " * " +
                              std::to_string(num_embeddings) +
                              ") exceeds 2^32 rows (positions are 32-bit)");
    return static_cast<std::uint64_t>(rows);
}

// The spec of Spotlight's BloomEmbedding with m rows and k hash functions (Spotlight's default is
// 4): MurmurHash3_x86_32 on 4-byte keys, seeds spotlight_seeds[0..k), the signed Python modulo
// (reduction::spotlight), id 0 on row 0. `items` (d) may be given to have ids checked.
// Throws bloom::invalid_argument when k is 0 or above 8, or m is out of range for a spec.
inline basic_spec<murmur3_32> spotlight_spec(std::uint64_t m, std::uint32_t k = 4,
                                             std::uint64_t items = 0) {
    if (k == 0 || k > spotlight_seeds.size())
        detail::throw_invalid("spotlight_spec: k = " + std::to_string(k) +
                              " hash functions requested; Spotlight has seeds for 1.." +
                              std::to_string(spotlight_seeds.size()));
    spec_config cfg;
    cfg.items = items;
    cfg.m = m;
    cfg.k = k;
    cfg.derive = derivation::seeded;
    cfg.reduce = reduction::spotlight;
    cfg.key_bytes = 4;
    cfg.seeds.assign(spotlight_seeds.begin(), spotlight_seeds.begin() + k);
    cfg.padding_zero = true;
    return basic_spec<murmur3_32>(std::move(cfg));
}

}  // namespace bloom
