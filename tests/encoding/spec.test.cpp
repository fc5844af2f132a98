// The spec: configuration errors, the derivations and reductions, and the range every position
// must fall in (including policies whose results have fewer than 32 or 64 significant bits).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <bloom/encoding/spec.hpp>
#include <bloom/hash/modulo.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include "encoding_test_util.hpp"

using Catch::Matchers::Contains;
using enc_test::config;

namespace {

// A policy with only 16 significant bits (the low 16 bits of xxh3).
struct low16 {
    static constexpr unsigned bits = 16;
    std::uint64_t operator()(const void* p, std::size_t n, std::uint64_t seed) const noexcept {
        return bloom::xxh3{}(p, n, seed) & 0xFFFFU;
    }
};
// A policy with 48 significant bits.
struct low48 {
    static constexpr unsigned bits = 48;
    std::uint64_t operator()(const void* p, std::size_t n, std::uint64_t seed) const noexcept {
        return bloom::xxh3{}(p, n, seed) & 0xFFFFFFFFFFFFULL;
    }
};

template <class H>
void check_covers_range(std::uint64_t m) {
    INFO(bloom::hash_name<H>() << ", m = " << m);
    const bloom::basic_spec<H> s(config(0, m, 4));
    std::vector<std::uint64_t> per_quarter(4, 0);
    std::uint32_t p[4];
    for (std::uint32_t id = 0; id < 20000; ++id) {
        s.positions(id, p);
        for (const std::uint32_t x : p) {
            REQUIRE(x < m);
            ++per_quarter[std::uint64_t{x} * 4 / m];
        }
    }
    // 80,000 positions: each quarter of [0, m) should get about 20,000.
    for (const std::uint64_t c : per_quarter) {
        CHECK(c > 18500);
        CHECK(c < 21500);
    }
}

}  // namespace

TEST_CASE("spec: bad configurations throw bloom::invalid_argument saying what is wrong",
          "[spec][errors]") {
    using S = bloom::basic_spec<bloom::xxh3>;
    CHECK_THROWS_AS(S(config(10, 0, 4)), bloom::invalid_argument);
    CHECK_THROWS_WITH(S(config(10, 0, 4)), Contains("m must be at least 1"));
    CHECK_THROWS_WITH(S(config(10, 8, 0)), Contains("k must be at least 1"));
    CHECK_THROWS_WITH(S(config(10, 3, 4)), Contains("k = 4 exceeds m = 3"));
    CHECK_THROWS_AS(S(config(10, (std::uint64_t{1} << 32) + 1, 4)), bloom::invalid_argument);
    CHECK_THROWS_WITH(S(config(10, 100, 4, bloom::derivation::seeded, 0, 3)),
                      Contains("key_bytes must be 4 or 8"));
    auto c = config(10, 100, 4);
    c.seeds = {1, 2, 3};
    CHECK_THROWS_WITH(S(c), Contains("seeds has 3 values; 4 needed"));
    c.derive = bloom::derivation::double_hashing;
    CHECK_THROWS_WITH(S(c), Contains("2 needed"));
    // Every message names the library and the policy.
    CHECK_THROWS_WITH(S(config(10, 0, 4)), Contains("bloom: spec<xxh3>"));
    // The largest m is fine.
    CHECK_NOTHROW(S(config(10, std::uint64_t{1} << 32, 4)));
    CHECK_NOTHROW(S(config(10, 4, 4)));
}

TEST_CASE("spec: check_id rejects ids >= d and ids beyond 4-byte keys", "[spec][errors]") {
    const bloom::basic_spec<bloom::xxh3> s(config(100, 64, 4));
    CHECK_NOTHROW(s.check_id(99));
    CHECK_THROWS_AS(s.check_id(100), bloom::out_of_range);
    CHECK_THROWS_WITH(s.check_id(100), Contains("id 100") && Contains("d = 100"));
    const bloom::basic_spec<bloom::xxh3> s4(config(0, 64, 4, bloom::derivation::seeded, 0, 4));
    CHECK_NOTHROW(s4.check_id(0xFFFFFFFFULL));
    CHECK_THROWS_WITH(s4.check_id(0x100000000ULL), Contains("4-byte keys"));
}

TEST_CASE("spec: seeded positions are the reduced hashes of the k per-hash seeds", "[spec]") {
    const bloom::basic_spec<bloom::xxh3> s(config(0, 1000, 5, bloom::derivation::seeded, 42));
    REQUIRE(s.seeds().size() == 5);
    std::uint32_t p[5];
    for (std::uint64_t id : {0ULL, 1ULL, 77ULL, 123456789ULL}) {
        s.positions(id, p);
        for (std::uint32_t j = 0; j < 5; ++j) {
            const std::uint64_t h = bloom::xxh3{}(&id, 8, s.seeds()[j]);
            CHECK(p[j] == bloom::detail::mul_high64(h, 1000));
            CHECK(s.position(id, j) == p[j]);
        }
    }
}

TEST_CASE("spec: double hashing gives h1 + j * (h2 | 1), reduced", "[spec]") {
    const bloom::basic_spec<bloom::murmur3_32> s(
        config(0, 777, 6, bloom::derivation::double_hashing, 9, 4));
    REQUIRE(s.seeds().size() == 2);
    std::uint32_t p[6];
    for (std::uint32_t id : {0U, 5U, 4000000000U}) {
        s.positions(id, p);
        const std::uint64_t h1 = bloom::murmur3_32{}(&id, 4, s.seeds()[0]);
        const std::uint64_t h2 = bloom::murmur3_32{}(&id, 4, s.seeds()[1]) | 1U;
        for (std::uint64_t j = 0; j < 6; ++j) {
            const std::uint64_t h = (h1 + j * h2) & 0xFFFFFFFFULL;
            CHECK(p[j] == ((h * 777) >> 32));
        }
    }
}

TEST_CASE("spec: explicit seeds override the user seed, and the user seed changes positions",
          "[spec]") {
    auto c = config(0, 1 << 20, 3);
    c.seeds = {11, 22, 33};
    const bloom::basic_spec<bloom::xxh3> a(c);
    CHECK(a.seeds() == std::vector<std::uint64_t>{11, 22, 33});
    const bloom::basic_spec<bloom::xxh3> s0(config(0, 1 << 20, 3, bloom::derivation::seeded, 0));
    const bloom::basic_spec<bloom::xxh3> s1(config(0, 1 << 20, 3, bloom::derivation::seeded, 1));
    std::uint32_t p0[3], p1[3];
    int same = 0;
    for (std::uint32_t id = 0; id < 100; ++id) {
        s0.positions(id, p0);
        s1.positions(id, p1);
        same += std::equal(p0, p0 + 3, p1) ? 1 : 0;
    }
    CHECK(same == 0);
}

TEST_CASE("spec: padding_zero sends id 0 to position 0 for every hash", "[spec]") {
    auto c = config(10, 50, 4);
    c.padding_zero = true;
    const bloom::basic_spec<bloom::xxh3> s(c);
    std::uint32_t p[4];
    s.positions(std::uint32_t{0}, p);
    CHECK(std::all_of(p, p + 4, [](std::uint32_t x) { return x == 0; }));
    s.positions(std::uint32_t{1}, p);
    CHECK_FALSE(std::all_of(p, p + 4, [](std::uint32_t x) { return x == 0; }));
}

TEST_CASE("spec: integer ids of every unsigned type and width give the same positions",
          "[spec]") {
    const bloom::basic_spec<bloom::xxh3> s(config(0, 5000, 4));
    std::uint32_t a[4], b[4], c[4], d[4];
    for (std::uint32_t id = 0; id < 256; ++id) {
        s.positions(static_cast<std::uint8_t>(id), a);
        s.positions(static_cast<std::uint16_t>(id), b);
        s.positions(id, c);
        s.positions(static_cast<std::uint64_t>(id), d);
        CHECK(std::equal(a, a + 4, b));
        CHECK(std::equal(a, a + 4, c));
        CHECK(std::equal(a, a + 4, d));
    }
}

TEST_CASE("spec: positions cover the whole range 0..m-1 for policies of 16, 32, 48 and 64 bits",
          "[spec][reduction]") {
    // A multiply-shift reduction that assumed 32 or 64 significant bits would squeeze a 16-bit
    // or 48-bit policy into the bottom 2^-16 of the range.
    check_covers_range<low16>(1000);
    check_covers_range<low48>(1000);
    check_covers_range<low48>(3000000000ULL);
    check_covers_range<bloom::murmur3_32>(1000);
    check_covers_range<bloom::murmur3_32>(3000000000ULL);
    check_covers_range<bloom::xxh3>(1000);
    check_covers_range<bloom::xxh3>(std::uint64_t{1} << 32);
    check_covers_range<bloom::multiply_shift>(1000);
}

TEST_CASE("spec: the modulo and spotlight reductions", "[spec][reduction]") {
    auto c = config(0, 97, 2);
    c.reduce = bloom::reduction::modulo;
    c.seeds = {0, 1000};
    const bloom::basic_spec<bloom::modulo> mod(c);
    std::uint32_t p[2];
    mod.positions(std::uint32_t{200}, p);
    CHECK(p[0] == 200 % 97);
    CHECK(p[1] == 1200 % 97);

    // The spotlight reduction reads the low 32 bits as signed and takes Python's modulo.
    c.reduce = bloom::reduction::spotlight;
    c.seeds = {0, 0};
    const bloom::basic_spec<bloom::modulo> spot(c);
    spot.positions(std::uint32_t{0xFFFFFFFFU}, p);  // (int32)-1 mod 97 == 96
    CHECK(p[0] == 96);
}
