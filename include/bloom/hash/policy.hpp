// The hash-policy requirements, as a C++17 detection trait and (under C++20) a concept.
//
// A hash policy is a small, stateless (empty), default-constructible, trivially copyable
// callable:
//
//     std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept;
//
// It may also offer integer fast paths, which must return exactly what the byte path returns
// on the key's little-endian representation:
//
//     std::uint64_t operator()(std::uint32_t key, std::uint64_t seed) const noexcept;  // 4 bytes
//     std::uint64_t operator()(std::uint64_t key, std::uint64_t seed) const noexcept;  // 8 bytes
//
// Optional static members:
//     static constexpr unsigned bits = 32;   // significant low bits of the result: 1..64 (64)
//     static constexpr const char* name = "murmur3_32";
//     static constexpr bloom::reduction preferred_reduction = bloom::reduction::modulo;
//
// Policies only hash. The spec (encoding/spec.hpp) derives the k positions and reduces to [0, m).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include <bloom/config.hpp>

namespace bloom {

// How a spec maps a hash value to a position in [0, m).
enum class reduction : std::uint8_t {
    automatic,       // the policy's preferred_reduction if it declares one, else multiply_shift
    multiply_shift,  // Lemire: (h * m) >> bits, uses the high bits, no division
    modulo,          // h mod m, uses the low bits (the `modulo` policy's choice)
    spotlight,       // (int32)h mod m with Python's sign rule: Spotlight's BloomEmbedding rows
};

namespace detail {

template <class H, class = void>
struct has_bytes_call : std::false_type {};
template <class H>
struct has_bytes_call<H, std::void_t<decltype(std::declval<const H&>()(
                              std::declval<const void*>(), std::size_t{}, std::uint64_t{}))>>
    : std::bool_constant<std::is_convertible_v<
                             decltype(std::declval<const H&>()(std::declval<const void*>(),
                                                               std::size_t{}, std::uint64_t{})),
                             std::uint64_t> &&
                         noexcept(std::declval<const H&>()(std::declval<const void*>(),
                                                           std::size_t{}, std::uint64_t{}))> {};

// Exact-signature detection of the integer fast paths (no implicit conversions count).
template <class H, class Key>
struct has_int_call_impl {
    template <class T>
    static auto test(int) -> decltype(static_cast<std::uint64_t (T::*)(Key, std::uint64_t)
                                                      const noexcept>(&T::operator()),
                                      std::true_type{});
    template <class T>
    static std::false_type test(...);
    static constexpr bool value = decltype(test<H>(0))::value;
};

template <class H, class = void>
struct hash_bits_impl : std::integral_constant<unsigned, 64> {};
template <class H>
struct hash_bits_impl<H, std::void_t<decltype(H::bits)>>
    : std::integral_constant<unsigned, static_cast<unsigned>(H::bits)> {};

template <class H, class = void>
struct hash_name_impl {
    static constexpr const char* value = "custom";
};
template <class H>
struct hash_name_impl<H, std::void_t<decltype(H::name)>> {
    static constexpr const char* value = H::name;
};

template <class H, class = void>
struct preferred_reduction_impl : std::integral_constant<reduction, reduction::multiply_shift> {};
template <class H>
struct preferred_reduction_impl<H, std::void_t<decltype(H::preferred_reduction)>>
    : std::integral_constant<reduction, H::preferred_reduction> {};

}  // namespace detail

// True when H satisfies the hash-policy requirements above. A policy must be stateless (an empty
// class): the spec hashes with a value-initialised `H{}`, so any state would be silently dropped.
template <class H>
inline constexpr bool is_hash_policy_v =
    std::is_class_v<H> && std::is_empty_v<H> && std::is_default_constructible_v<H> &&
    std::is_trivially_copyable_v<H> && detail::has_bytes_call<H>::value &&
    detail::hash_bits_impl<H>::value >= 1 && detail::hash_bits_impl<H>::value <= 64;

template <class H>
struct is_hash_policy : std::bool_constant<is_hash_policy_v<H>> {};

#if defined(__cpp_concepts) && __cpp_concepts >= 201907L
template <class H>
concept hash_policy = is_hash_policy_v<H>;
#endif

// Number of significant (low) bits a policy's result carries: 32 for 32-bit hashes, else 64.
template <class H>
inline constexpr unsigned hash_bits_v = detail::hash_bits_impl<H>::value;

// The policy's display name ("custom" when it declares none).
template <class H>
constexpr const char* hash_name() noexcept {
    return detail::hash_name_impl<H>::value;
}

template <class H>
inline constexpr bool has_u32_fast_path_v = detail::has_int_call_impl<H, std::uint32_t>::value;
template <class H>
inline constexpr bool has_u64_fast_path_v = detail::has_int_call_impl<H, std::uint64_t>::value;

// The reduction a spec uses with this policy when its config says reduction::automatic.
template <class H>
inline constexpr reduction preferred_reduction_v = detail::preferred_reduction_impl<H>::value;

namespace detail {

// The key's little-endian bytes, written with one store. (A loop of byte stores is not unrolled
// by GCC 12 at -O2 for 8 bytes: the policy then reads the buffer back across 8 byte-sized stores,
// which cannot be store-forwarded, and a 64-bit key cost 10-20 ns instead of 2-6.)
BLOOM_ALWAYS_INLINE void store_le32(unsigned char* p, std::uint32_t v) noexcept {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    std::memcpy(p, &v, 4);
}
BLOOM_ALWAYS_INLINE void store_le64(unsigned char* p, std::uint64_t v) noexcept {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    std::memcpy(p, &v, 8);
}

}  // namespace detail

// Hash an integer key of `width` bytes (4 or 8) through the policy: the fast path when the
// policy has one, otherwise the byte path on the little-endian representation.
template <class H>
BLOOM_ALWAYS_INLINE std::uint64_t hash_u32(const H& h, std::uint32_t key,
                                           std::uint64_t seed) noexcept {
    static_assert(is_hash_policy_v<H>,
                  "bloom: H is not a hash policy: it needs a noexcept "
                  "operator()(const void*, std::size_t, std::uint64_t) -> std::uint64_t");
    if constexpr (has_u32_fast_path_v<H>) {
        return h(key, seed);
    } else {
        unsigned char buf[4];
        detail::store_le32(buf, key);
        return h(static_cast<const void*>(buf), std::size_t{4}, seed);
    }
}

template <class H>
BLOOM_ALWAYS_INLINE std::uint64_t hash_u64(const H& h, std::uint64_t key,
                                           std::uint64_t seed) noexcept {
    static_assert(is_hash_policy_v<H>,
                  "bloom: H is not a hash policy: it needs a noexcept "
                  "operator()(const void*, std::size_t, std::uint64_t) -> std::uint64_t");
    if constexpr (has_u64_fast_path_v<H>) {
        return h(key, seed);
    } else {
        unsigned char buf[8];
        detail::store_le64(buf, key);
        return h(static_cast<const void*>(buf), std::size_t{8}, seed);
    }
}

namespace detail {

constexpr std::uint32_t rotl32(std::uint32_t x, int r) noexcept {
    return (x << r) | (x >> (32 - r));
}
constexpr std::uint64_t rotl64(std::uint64_t x, int r) noexcept {
    return (x << r) | (x >> (64 - r));
}

// Little-endian loads that compile to one mov on x86 and stay correct elsewhere.
BLOOM_ALWAYS_INLINE std::uint32_t load_le32(const unsigned char* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}
BLOOM_ALWAYS_INLINE std::uint64_t load_le64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

// High 64 bits of the 128-bit product a * b (Lemire's multiply-shift range reduction).
#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 uint128_t;
BLOOM_ALWAYS_INLINE std::uint64_t mul_high64(std::uint64_t a, std::uint64_t b) noexcept {
    return static_cast<std::uint64_t>((static_cast<uint128_t>(a) * b) >> 64);
}
#else
BLOOM_ALWAYS_INLINE std::uint64_t mul_high64(std::uint64_t a, std::uint64_t b) noexcept {
    const std::uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
    const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
    const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
    return a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
}
#endif

// SplitMix64 finaliser: used to derive independent per-hash seeds from one user seed.
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

}  // namespace detail
}  // namespace bloom
