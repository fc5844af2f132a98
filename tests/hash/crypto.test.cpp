// md5 / sha1 / sha256 policies: digest(seed_le64 || key), first 8 bytes little-endian.
// Checked against OpenSSL's own one-shot digest of the concatenated buffer, and against values
// computed with an independent implementation (Python's hashlib). Built only with bloom::crypto.
#include <catch2/catch.hpp>

#if defined(BLOOM_HAS_CRYPTO) && BLOOM_HAS_CRYPTO

#  include <bloom/hash/crypto.hpp>

#  include <openssl/evp.h>

#  include <cstdint>
#  include <cstring>
#  include <string>
#  include <thread>
#  include <vector>

#  include "hash_test_util.hpp"

namespace {

// OpenSSL's one-shot EVP_Digest over seed_le64 || data, read the way the policies read it.
std::uint64_t openssl_reference(const EVP_MD* md, const void* data, std::size_t len,
                                std::uint64_t seed) {
    std::vector<unsigned char> buf(8 + len);
    for (int i = 0; i < 8; ++i) buf[static_cast<std::size_t>(i)] =
        static_cast<unsigned char>(seed >> (8 * i));
    if (len != 0) std::memcpy(buf.data() + 8, data, len);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    REQUIRE(EVP_Digest(buf.data(), buf.size(), digest, &n, md, nullptr) == 1);
    REQUIRE(n >= 8);
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | digest[i];
    return v;
}

template <class H>
void check_against_openssl(const EVP_MD* md) {
    REQUIRE(md != nullptr);
    const H h;
    std::size_t mismatches = 0;
    const auto seeds = bloom_test::test_seeds();
    for (std::size_t len = 0; len <= 200; ++len) {
        for (std::size_t s = 0; s < seeds.size(); s += 4) {
            const auto key = bloom_test::random_bytes(len);
            const std::uint64_t want = openssl_reference(md, key.data(), len, seeds[s]);
            if (h(key.data(), len, seeds[s]) != want) {
                ++mismatches;
                INFO(bloom::hash_name<H>() << ": len " << len << ", seed " << seeds[s]);
                CHECK(h(key.data(), len, seeds[s]) == want);
            }
        }
    }
    for (const std::uint64_t key : bloom_test::test_keys64(50)) {
        unsigned char b8[8];
        bloom_test::le_bytes(key, b8);
        CHECK(bloom::hash_u64(h, key, 11) == openssl_reference(md, b8, 8, 11));
    }
    REQUIRE(mismatches == 0);
}

}  // namespace

TEST_CASE("md5, sha1, sha256 equal OpenSSL's EVP_Digest of seed bytes || key", "[crypto]") {
    check_against_openssl<bloom::md5>(EVP_md5());
    check_against_openssl<bloom::sha1>(EVP_sha1());
    check_against_openssl<bloom::sha256>(EVP_sha256());
}

TEST_CASE("md5, sha1, sha256 known-answer vectors (from Python's hashlib)", "[crypto][kat]") {
    struct kat {
        const char* input;
        std::uint64_t seed;
        std::uint64_t md5, sha1, sha256;
    };
    const kat kats[] = {
        {"", 0, 0x008EAC3F2B36EA7DULL, 0x126F16535740FE05ULL, 0x7A0B81A1F57055AFULL},
        {"", 42, 0x6D6E095844C3BDE8ULL, 0xB13C76A64909C5D2ULL, 0xC6F218BC089104EDULL},
        {"a", 0xDEADBEEFCAFEF00DULL, 0x06288FD99C21655CULL, 0x051155D60EC7F211ULL,
         0x98F69199958E7FEDULL},
        {"abc", 0, 0x180E1873DF283024ULL, 0xF2E207FE93881AFCULL, 0x99BB38E94C2E65F3ULL},
        {"Hello, world!", 42, 0x0E17707751A74A63ULL, 0x5CD030F1063790BBULL,
         0xA68CAED60CF96DD7ULL},
        {"The quick brown fox jumps over the lazy dog", 0xDEADBEEFCAFEF00DULL,
         0x5FDB729E9E1306B9ULL, 0x082B658C9FEBA041ULL, 0x59D858ACA26FA2BDULL},
    };
    for (const kat& k : kats) {
        INFO('"' << k.input << "\", seed " << k.seed);
        const std::size_t len = std::strlen(k.input);
        CHECK(bloom::md5{}(k.input, len, k.seed) == k.md5);
        CHECK(bloom::sha1{}(k.input, len, k.seed) == k.sha1);
        CHECK(bloom::sha256{}(k.input, len, k.seed) == k.sha256);
    }
}

TEST_CASE("crypto policies give the same values from several threads", "[crypto]") {
    // Each thread has its own EVP_MD_CTX: results must not depend on which thread hashes.
    std::vector<std::uint64_t> expected(3000);
    for (std::uint64_t i = 0; i < expected.size(); ++i)
        expected[i] = bloom::sha256{}(&i, sizeof i, i * 7) ^ bloom::md5{}(&i, sizeof i, 3);
    std::vector<std::size_t> wrong(2, 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
            for (std::uint64_t i = 0; i < expected.size(); ++i) {
                const std::uint64_t v =
                    bloom::sha256{}(&i, sizeof i, i * 7) ^ bloom::md5{}(&i, sizeof i, 3);
                if (v != expected[i]) ++wrong[t];
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(wrong[0] == 0);
    CHECK(wrong[1] == 0);
}

TEST_CASE("crypto policy traits", "[crypto][traits]") {
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::md5>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::sha1>);
    STATIC_REQUIRE(bloom::is_hash_policy_v<bloom::sha256>);
    STATIC_REQUIRE(bloom::hash_bits_v<bloom::sha256> == 64);
    CHECK(std::string(bloom::hash_name<bloom::md5>()) == "md5");
    CHECK(std::string(bloom::hash_name<bloom::sha1>()) == "sha1");
    CHECK(std::string(bloom::hash_name<bloom::sha256>()) == "sha256");
    // The seed is hashed in: different seeds, different values.
    CHECK(bloom::sha256{}("x", 1, 0) != bloom::sha256{}("x", 1, 1));
}

#endif  // BLOOM_HAS_CRYPTO
