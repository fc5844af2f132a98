// Cryptographic hash policies: MD5, SHA-1 and SHA-256 from OpenSSL's libcrypto (Debian:
// libssl-dev), linked through the `bloom::crypto` CMake target (which also defines
// BLOOM_HAS_CRYPTO). They are here to be compared with, not to be fast: one digest costs
// hundreds of nanoseconds where murmur3 costs one or two.
//
// Each policy hashes the 8 little-endian bytes of the 64-bit seed followed by the key,
//     digest(seed_le64 || data),
// and returns the first 8 bytes of the digest read as a little-endian integer. The digest runs
// through OpenSSL's EVP interface (no deprecated calls in OpenSSL 3): the algorithm is fetched
// once per process and each thread reuses one EVP_MD_CTX, so hashing allocates nothing that can
// throw. Should OpenSSL itself fail (no provider for the algorithm, out of memory), the
// policy returns 0 rather than throw; it never does with Debian's default provider.
#pragma once

#if defined(__has_include)
#  if !__has_include(<openssl/evp.h>)
#    error "bloom/hash/crypto.hpp needs OpenSSL's libcrypto headers <openssl/evp.h>: install libssl-dev (apt-get install libssl-dev) and link the bloom::crypto target"
#  endif
#endif

#include <cstddef>
#include <cstdint>

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include <bloom/hash/policy.hpp>

namespace bloom {
namespace detail {

// One EVP_MD_CTX per thread and algorithm, freed when the thread ends.
struct evp_context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    evp_context() = default;
    evp_context(const evp_context&) = delete;
    evp_context& operator=(const evp_context&) = delete;
    ~evp_context() { EVP_MD_CTX_free(ctx); }
};

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
// The algorithm, fetched once from the default library context and released at exit.
struct evp_algorithm {
    EVP_MD* md;
    explicit evp_algorithm(const char* name) noexcept : md(EVP_MD_fetch(nullptr, name, nullptr)) {}
    evp_algorithm(const evp_algorithm&) = delete;
    evp_algorithm& operator=(const evp_algorithm&) = delete;
    ~evp_algorithm() { EVP_MD_free(md); }
};
#endif

// digest(seed_le64 || data), first 8 bytes little-endian. Tag names the algorithm.
template <class Tag>
inline std::uint64_t evp_seeded_digest64(const void* data, std::size_t len,
                                         std::uint64_t seed) noexcept {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static const evp_algorithm algorithm(Tag::openssl_name);
    const EVP_MD* md = algorithm.md;
#else
    const EVP_MD* md = Tag::legacy_md();
#endif
    thread_local evp_context context;
    EVP_MD_CTX* ctx = context.ctx;

    unsigned char seed_bytes[8];
    for (int i = 0; i < 8; ++i) seed_bytes[i] = static_cast<unsigned char>(seed >> (8 * i));
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (md == nullptr || ctx == nullptr) return 0;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1) return 0;
#else
    if (EVP_DigestInit_ex(ctx, md, nullptr) != 1) return 0;
#endif
    if (EVP_DigestUpdate(ctx, seed_bytes, sizeof seed_bytes) != 1) return 0;
    if (len != 0 && EVP_DigestUpdate(ctx, data, len) != 1) return 0;
    if (EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1 || digest_len < 8) return 0;
    return load_le64(digest);
}

struct md5_tag {
    static constexpr const char* openssl_name = "MD5";
#if OPENSSL_VERSION_NUMBER < 0x30000000L
    static const EVP_MD* legacy_md() noexcept { return EVP_md5(); }
#endif
};
struct sha1_tag {
    static constexpr const char* openssl_name = "SHA1";
#if OPENSSL_VERSION_NUMBER < 0x30000000L
    static const EVP_MD* legacy_md() noexcept { return EVP_sha1(); }
#endif
};
struct sha256_tag {
    static constexpr const char* openssl_name = "SHA256";
#if OPENSSL_VERSION_NUMBER < 0x30000000L
    static const EVP_MD* legacy_md() noexcept { return EVP_sha256(); }
#endif
};

}  // namespace detail

// MD5(seed_le64 || key), first 8 digest bytes, little-endian.
struct md5 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "md5";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return detail::evp_seeded_digest64<detail::md5_tag>(data, len, seed);
    }
};

// SHA-1(seed_le64 || key), first 8 digest bytes, little-endian.
struct sha1 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "sha1";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return detail::evp_seeded_digest64<detail::sha1_tag>(data, len, seed);
    }
};

// SHA-256(seed_le64 || key), first 8 digest bytes, little-endian.
struct sha256 {
    static constexpr unsigned bits = 64;
    static constexpr const char* name = "sha256";
    std::uint64_t operator()(const void* data, std::size_t len, std::uint64_t seed) const noexcept {
        return detail::evp_seeded_digest64<detail::sha256_tag>(data, len, seed);
    }
};

}  // namespace bloom
