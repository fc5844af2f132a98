// The hash-policy requirements: the detection trait (and concept), the optional members, the
// fast-path detection and hash_u32/hash_u64's choice between fast path and byte path.
#include <bloom/hash/policy.hpp>

#include <bloom/hash/modulo.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

namespace {

// A minimal valid policy: only the byte path. Returns the length in the top byte and the
// little-endian value of the (up to 7) bytes below, plus the seed, so a test can see what it got.
struct bytes_only {
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < len && i < 7; ++i) v |= std::uint64_t{p[i]} << (8 * i);
        return (std::uint64_t{len} << 56 | v) + seed;
    }
};

// Fast paths that answer differently from the byte path (a contract violation, on purpose), so
// that the tests can tell which one hash_u32/hash_u64 called.
struct marked_fast_paths : bytes_only {
    using bytes_only::operator();
    std::uint64_t operator()(std::uint32_t, std::uint64_t) const noexcept { return 0x32; }
    std::uint64_t operator()(std::uint64_t, std::uint64_t) const noexcept { return 0x64; }
};

struct only_u64_fast_path : bytes_only {
    using bytes_only::operator();
    std::uint64_t operator()(std::uint64_t, std::uint64_t) const noexcept { return 0x64; }
};

// Fast paths that do not count: not noexcept, or the wrong result type, or not const.
struct throwing_fast_path : bytes_only {
    using bytes_only::operator();
    std::uint64_t operator()(std::uint32_t, std::uint64_t) const { return 0x32; }
};
struct narrow_fast_path : bytes_only {
    using bytes_only::operator();
    std::uint32_t operator()(std::uint32_t, std::uint64_t) const noexcept { return 0x32; }
};
struct mutable_fast_path : bytes_only {
    using bytes_only::operator();
    std::uint64_t operator()(std::uint64_t, std::uint64_t) noexcept { return 0x64; }
};

// A template fast path is detected for both widths.
struct template_fast_path : bytes_only {
    using bytes_only::operator();
    template <class Key>
    std::uint64_t operator()(Key, std::uint64_t) const noexcept {
        return sizeof(Key);
    }
};

struct with_members {
    static constexpr unsigned bits = 16;
    static constexpr const char* name = "with_members";
    static constexpr bloom::reduction preferred_reduction = bloom::reduction::modulo;
    std::uint64_t operator()(const void*, std::size_t, std::uint64_t) const noexcept { return 0; }
};

// Not policies.
struct not_noexcept {
    std::uint64_t operator()(const void*, std::size_t, std::uint64_t) const { return 0; }
};
struct wrong_arguments {
    std::uint64_t operator()(const char*, std::size_t) const noexcept { return 0; }
};
struct wrong_result {
    std::string operator()(const void*, std::size_t, std::uint64_t) const noexcept { return {}; }
};
struct void_result {
    void operator()(const void*, std::size_t, std::uint64_t) const noexcept {}
};
struct non_const_call {
    std::uint64_t operator()(const void*, std::size_t, std::uint64_t) noexcept { return 0; }
};
struct stateful {
    std::uint64_t salt = 0;
    std::uint64_t operator()(const void*, std::size_t, std::uint64_t s) const noexcept {
        return salt + s;
    }
};
struct not_trivially_copyable {
    not_trivially_copyable() = default;
    not_trivially_copyable(const not_trivially_copyable&) {}
    std::uint64_t operator()(const void*, std::size_t, std::uint64_t) const noexcept { return 0; }
};
struct no_default_constructor {
    explicit no_default_constructor(int) {}
    std::uint64_t operator()(const void*, std::size_t, std::uint64_t) const noexcept { return 0; }
};
struct zero_bits {
    static constexpr unsigned bits = 0;
    std::uint64_t operator()(const void*, std::size_t, std::uint64_t) const noexcept { return 0; }
};
struct too_many_bits {
    static constexpr unsigned bits = 65;
    std::uint64_t operator()(const void*, std::size_t, std::uint64_t) const noexcept { return 0; }
};
struct no_call {};

using function_pointer = std::uint64_t (*)(const void*, std::size_t, std::uint64_t) noexcept;

}  // namespace

TEST_CASE("is_hash_policy_v accepts every core policy and minimal user policies", "[policy]") {
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::murmur3_32>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::murmur3_128>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::xxh32>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::xxh64>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::xxh3>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::multiply_shift>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::modulo>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bytes_only>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<marked_fast_paths>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<template_fast_path>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<with_members>);
    STATIC_REQUIRE(bloom::is_hash_policy<bytes_only>::value);
    // A policy whose fast path does not count is still a policy (through its byte path).
    STATIC_REQUIRE(bloom::is_hash_policy_v<throwing_fast_path>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<narrow_fast_path>);
}

TEST_CASE("is_hash_policy_v rejects what is not a policy", "[policy]") {
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<not_noexcept>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<wrong_arguments>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<wrong_result>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<void_result>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<non_const_call>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<stateful>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<not_trivially_copyable>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<no_default_constructor>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<zero_bits>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<too_many_bits>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<no_call>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<int>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy_v<function_pointer>);
    STATIC_REQUIRE_FALSE(bloom::is_hash_policy<stateful>::value);
}

#if defined(__cpp_concepts) && __cpp_concepts >= 201907L
TEST_CASE("the hash_policy concept agrees with the trait", "[policy]") {
    STATIC_REQUIRE(bloom::hash_policy<bloom::murmur3_32>);
    STATIC_REQUIRE(bloom::hash_policy<bytes_only>);
    STATIC_REQUIRE_FALSE(bloom::hash_policy<stateful>);
    STATIC_REQUIRE_FALSE(bloom::hash_policy<not_noexcept>);
}
#endif

TEST_CASE("hash_bits_v, hash_name and preferred_reduction_v read the optional members",
          "[policy]") {
    STATIC_REQUIRE(bloom::hash_bits_v<bytes_only> == 64);
    STATIC_REQUIRE(bloom::hash_bits_v<with_members> == 16);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::murmur3_32> == 32);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::xxh32> == 32);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::murmur3_128> == 64);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::multiply_shift> == 64);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::modulo> == 64);

    CHECK(std::string(bloom::hash_name<bytes_only>()) == "custom");
    CHECK(std::string(bloom::hash_name<with_members>()) == "with_members");
    CHECK(std::string(bloom::hash_name<bloom::multiply_shift>()) == "multiply_shift");
    CHECK(std::string(bloom::hash_name<bloom::modulo>()) == "modulo");

    STATIC_REQUIRE(bloom::preferred_reduction_v<bytes_only> == bloom::reduction::multiply_shift);
    STATIC_REQUIRE(bloom::preferred_reduction_v<with_members> == bloom::reduction::modulo);
    STATIC_REQUIRE(bloom::preferred_reduction_v<bloom::modulo> == bloom::reduction::modulo);
    STATIC_REQUIRE(bloom::preferred_reduction_v<bloom::murmur3_32> ==
                   bloom::reduction::multiply_shift);
    STATIC_REQUIRE(bloom::preferred_reduction_v<bloom::xxh3> == bloom::reduction::multiply_shift);
    STATIC_REQUIRE(bloom::preferred_reduction_v<bloom::multiply_shift> ==
                   bloom::reduction::multiply_shift);
}

TEST_CASE("fast paths are detected only with the exact noexcept const signature", "[policy]") {
    STATIC_REQUIRE_FALSE(bloom::has_u32_fast_path_v<bytes_only>);
    STATIC_REQUIRE_FALSE(bloom::has_u64_fast_path_v<bytes_only>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<marked_fast_paths>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<marked_fast_paths>);
    STATIC_REQUIRE_FALSE(bloom::has_u32_fast_path_v<only_u64_fast_path>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<only_u64_fast_path>);
    STATIC_REQUIRE_FALSE(bloom::has_u32_fast_path_v<throwing_fast_path>);
    STATIC_REQUIRE_FALSE(bloom::has_u32_fast_path_v<narrow_fast_path>);
    STATIC_REQUIRE_FALSE(bloom::has_u64_fast_path_v<mutable_fast_path>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<template_fast_path>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<template_fast_path>);

    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::murmur3_32>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::murmur3_32>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::multiply_shift>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::multiply_shift>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::modulo>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::modulo>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::murmur3_128>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::murmur3_128>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::xxh32>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::xxh32>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::xxh64>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::xxh64>);
    STATIC_REQUIRE(bloom::has_u32_fast_path_v<bloom::xxh3>);
    STATIC_REQUIRE(bloom::has_u64_fast_path_v<bloom::xxh3>);
}

TEST_CASE("hash_u32/hash_u64 take the fast path when there is one, else the LE bytes",
          "[policy]") {
    // bytes_only sees the 4 or 8 little-endian bytes (its top byte is the length).
    CHECK(bloom::hash_u32(bytes_only{}, 0x04030201U, 0) == 0x0400000004030201ULL);
    CHECK(bloom::hash_u32(bytes_only{}, 0x04030201U, 5) == 0x0400000004030206ULL);
    CHECK(bloom::hash_u64(bytes_only{}, 0x0807060504030201ULL, 0) == 0x0807060504030201ULL);

    CHECK(bloom::hash_u32(marked_fast_paths{}, 7U, 0) == 0x32);
    CHECK(bloom::hash_u64(marked_fast_paths{}, 7ULL, 0) == 0x64);

    // Only a u64 fast path: the 4-byte key still hashes its 4 bytes, not the widened integer.
    CHECK(bloom::hash_u32(only_u64_fast_path{}, 0x04030201U, 0) == 0x0400000004030201ULL);
    CHECK(bloom::hash_u64(only_u64_fast_path{}, 1ULL, 0) == 0x64);

    // A fast path that does not count is ignored: the byte path runs.
    CHECK(bloom::hash_u32(throwing_fast_path{}, 0x04030201U, 0) == 0x0400000004030201ULL);
    CHECK(bloom::hash_u32(narrow_fast_path{}, 0x04030201U, 0) == 0x0400000004030201ULL);

    CHECK(bloom::hash_u32(template_fast_path{}, 1U, 0) == 4);
    CHECK(bloom::hash_u64(template_fast_path{}, 1ULL, 0) == 8);

    STATIC_REQUIRE(noexcept(bloom::hash_u32(bytes_only{}, 1U, 0)));
    STATIC_REQUIRE(noexcept(bloom::hash_u64(bloom::xxh3{}, 1ULL, 0)));
}

TEST_CASE("detail helpers: little-endian loads, 64x64 high product, splitmix64", "[policy]") {
    const unsigned char b[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    CHECK(bloom::detail::load_le32(b) == 0x04030201U);
    CHECK(bloom::detail::load_le64(b) == 0x0807060504030201ULL);
    CHECK(bloom::detail::mul_high64(0, 123) == 0);
    CHECK(bloom::detail::mul_high64(std::uint64_t{1} << 63, 2) == 1);
    CHECK(bloom::detail::mul_high64(0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL) ==
          0xFFFFFFFFFFFFFFFEULL);
    CHECK(bloom::detail::mul_high64(0x0123456789ABCDEFULL, 0xFEDCBA9876543210ULL) ==
          0x0121FA00AD77D742ULL);
    // SplitMix64's first outputs for state 0 (Vigna's reference generator).
    CHECK(bloom::detail::splitmix64(0) == 0xE220A8397B1DCDAFULL);
}
