// The identity hash: h(x) = x + seed, reduced modulo m. A deliberately weak baseline. Consecutive
// ids land on consecutive positions and the k positions of an id are fixed shifts of each other,
// so two ids that collide in one position tend to collide in all of them. Benchmarks and the
// comparison example keep it to show why hash quality matters; do not use it for real models.
#pragma once

#include <cstddef>
#include <cstdint>

#include <bloom/hash/policy.hpp>

namespace bloom {

struct modulo {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "modulo";
    static constexpr reduction preferred_reduction = reduction::modulo;

    std::uint64_t operator()(std::uint64_t key, std::uint64_t seed) const noexcept {
        return key + seed;
    }
    std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept {
        return static_cast<std::uint64_t>(key) + seed;
    }
    // Up to 8 bytes: the little-endian integer; longer keys: their 8-byte words xor-ed together.
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        std::uint64_t x = 0;
        for (std::size_t i = 0; i < len; i += 8) {
            unsigned char buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (std::size_t j = 0; j < 8 && i + j < len; ++j) buf[j] = p[i + j];
            x ^= detail::load_le64(buf);
        }
        return x + seed;
    }
};

}  // namespace bloom
