// Helpers shared by the hash tests: deterministic random keys, seeds worth trying, and the
// little-endian bytes of integer keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace bloom_test {

// A fixed-seed engine: every run hashes the same keys, so a failure can be reproduced.
inline std::mt19937_64& rng() {
    static std::mt19937_64 engine(0xB100'0EED'5EED'0001ULL);
    return engine;
}

inline std::vector<unsigned char> random_bytes(std::size_t n) {
    std::vector<unsigned char> out(n);
    for (auto& b : out) b = static_cast<unsigned char>(rng()() >> 56);
    return out;
}

// Edge seeds (0, all ones, sign bits, the high half set) and random ones: 40 in all.
inline std::vector<std::uint64_t> test_seeds() {
    std::vector<std::uint64_t> s = {0ULL,
                                    1ULL,
                                    42ULL,
                                    0x7FFFFFFFULL,
                                    0x80000000ULL,
                                    0xFFFFFFFFULL,
                                    0x100000000ULL,
                                    0x9747B28CULL,
                                    0x8000000000000000ULL,
                                    0xFFFFFFFFFFFFFFFFULL};
    std::mt19937_64 engine(0x5EED5);
    while (s.size() < 40) s.push_back(engine());
    return s;
}

inline void le_bytes(std::uint32_t key, unsigned char (&out)[4]) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(key >> (8 * i));
}
inline void le_bytes(std::uint64_t key, unsigned char (&out)[8]) {
    for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(key >> (8 * i));
}

// Integer keys worth trying: edges and random values.
inline std::vector<std::uint64_t> test_keys64(std::size_t random_count) {
    std::vector<std::uint64_t> k = {0ULL,          1ULL,          2ULL,
                                    0xFFULL,       0x100ULL,      0x7FFFFFFFULL,
                                    0x80000000ULL, 0xFFFFFFFFULL, 0x100000000ULL,
                                    0x0123456789ABCDEFULL, 0x8000000000000000ULL,
                                    0xFFFFFFFFFFFFFFFFULL};
    std::mt19937_64 engine(0xC0FFEE);
    for (std::size_t i = 0; i < random_count; ++i) k.push_back(engine());
    return k;
}

}  // namespace bloom_test
