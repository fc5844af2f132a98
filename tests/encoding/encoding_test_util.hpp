// Helpers shared by the encoding tests: spec construction in one line, seeded random id sets,
// and a reference encoder (std::set over the spec's positions) to check the fast paths against.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <bloom/encoding/spec.hpp>

namespace enc_test {

inline bloom::spec_config config(std::uint64_t d, std::uint64_t m, std::uint32_t k,
                                 bloom::derivation derive = bloom::derivation::seeded,
                                 std::uint64_t seed = 0, std::uint32_t key_bytes = 8) {
    bloom::spec_config c;
    c.items = d;
    c.m = m;
    c.k = k;
    c.derive = derive;
    c.seed = seed;
    c.key_bytes = key_bytes;
    return c;
}

// n distinct ids drawn from [0, d), in random order.
inline std::vector<std::uint32_t> random_ids(std::size_t n, std::uint64_t d, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::set<std::uint32_t> seen;
    std::vector<std::uint32_t> out;
    while (out.size() < n) {
        const auto id = static_cast<std::uint32_t>(rng() % d);
        if (seen.insert(id).second) out.push_back(id);
    }
    return out;
}

// The sorted unique positions of a set of integer ids, straight from the spec.
template <class H, class Id>
std::vector<std::uint32_t> reference_encode(const bloom::basic_spec<H>& s,
                                            const std::vector<Id>& ids) {
    std::set<std::uint32_t> all;
    std::vector<std::uint32_t> buf(s.k());
    for (const Id id : ids) {
        s.positions(id, buf.data());
        all.insert(buf.begin(), buf.end());
    }
    return {all.begin(), all.end()};
}

template <class H>
std::vector<std::uint32_t> reference_encode_keys(const bloom::basic_spec<H>& s,
                                                 const std::vector<std::string>& keys) {
    std::set<std::uint32_t> all;
    std::vector<std::uint32_t> buf(s.k());
    for (const auto& key : keys) {
        s.positions(key.data(), key.size(), buf.data());
        all.insert(buf.begin(), buf.end());
    }
    return {all.begin(), all.end()};
}

}  // namespace enc_test
