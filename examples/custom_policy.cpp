// A user-defined hash policy plugged into bloom::basic_spec.
//
// A policy is a stateless struct with a noexcept call operator that hashes (bytes, length, seed)
// to a 64-bit value. Here: 64-bit FNV-1a, with the seed folded into the offset basis and a final
// mix so that the high bits (which the spec's multiply-shift reduction reads) depend on every
// input bit. An optional fast path for 4-byte keys must give the same value as the byte path on
// the key's little-endian bytes.
#include <bloom/bloom.hpp>

#include <cstdint>
#include <cstdio>

struct fnv1a64 {
    static constexpr unsigned bits = 64;          // optional; 64 is the default
    static constexpr const char* name = "fnv1a64";  // optional; shown by bloom::hash_name

    static constexpr std::uint64_t prime = 0x100000001B3ULL;
    static constexpr std::uint64_t basis = 0xCBF29CE484222325ULL;

    static constexpr std::uint64_t finish(std::uint64_t h) noexcept {
        h ^= h >> 32;
        h *= 0xD6E8FEB86659FD93ULL;
        return h ^ (h >> 32);
    }

    // The required byte path.
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        std::uint64_t h = basis ^ seed;
        for (std::size_t i = 0; i < len; ++i) h = (h ^ p[i]) * prime;
        return finish(h);
    }

    // An optional fast path for 4-byte keys: the same bytes, low byte first, no loop.
    std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept {
        std::uint64_t h = basis ^ seed;
        for (int i = 0; i < 4; ++i) h = (h ^ ((key >> (8 * i)) & 0xFFU)) * prime;
        return finish(h);
    }
};

static_assert(bloom::is_hash_policy_v<fnv1a64>, "fnv1a64 must satisfy the policy requirements");
static_assert(bloom::has_u32_fast_path_v<fnv1a64>, "the 4-byte fast path is detected");

int main() {
    bloom::spec_config cfg;
    cfg.m = 1000;      // positions (rows of an embedding table, units of an output layer)
    cfg.k = 4;         // positions per id
    cfg.seed = 42;     // the k per-hash seeds are derived from it
    cfg.key_bytes = 4;  // ids hash as 4-byte keys: the fast path above
    const bloom::basic_spec<fnv1a64> spec(cfg);

    std::printf("policy %s, m = %llu, k = %u\n", spec.hash_name(),
                static_cast<unsigned long long>(spec.m()), spec.k());
    for (std::uint32_t id : {1U, 2U, 3U, 1000U, 123456U}) {
        std::uint32_t pos[4];
        spec.positions(id, pos);
        std::printf("id %6u -> %3u %3u %3u %3u\n", id, pos[0], pos[1], pos[2], pos[3]);
    }

    // The fast path and the byte path agree, as the policy requirements ask.
    const unsigned char bytes[4] = {0x40, 0xE2, 0x01, 0x00};  // 123456, little-endian
    const bool same = fnv1a64{}(std::uint32_t{123456}, 9) == fnv1a64{}(bytes, 4, 9);
    std::printf("fast path == byte path: %s\n", same ? "yes" : "NO");
    return same ? 0 : 1;
}
