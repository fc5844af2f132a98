// A program that uses the optional hash policies whose targets it links: each linked target must
// bring its policy into bloom::optional_policies (and none that is not linked), and the policy
// must hash, which needs the package's library at link time.
#include <bloom/hash/all.hpp>

#include <cstdint>
#include <cstdio>

#ifndef BLOOM_CONSUMER_LINKS_FARMHASH
#  define BLOOM_CONSUMER_LINKS_FARMHASH 0
#endif
#ifndef BLOOM_CONSUMER_LINKS_METROHASH
#  define BLOOM_CONSUMER_LINKS_METROHASH 0
#endif
#ifndef BLOOM_CONSUMER_LINKS_CRYPTO
#  define BLOOM_CONSUMER_LINKS_CRYPTO 0
#endif

constexpr std::size_t linked_policies = (BLOOM_CONSUMER_LINKS_FARMHASH ? 1 : 0) +
                                        (BLOOM_CONSUMER_LINKS_METROHASH ? 1 : 0) +
                                        (BLOOM_CONSUMER_LINKS_CRYPTO ? 3 : 0);  // MD5, SHA-1, SHA-256
static_assert(bloom::optional_policies::size == linked_policies,
              "the optional policies are not those of the linked targets");

int main() {
    int failures = 0;
    bloom::for_each_policy<bloom::optional_policies>([&](auto policy) {
        const std::uint64_t a = bloom::hash_u64(policy, 42, 0);
        const std::uint64_t b = bloom::hash_u64(policy, 43, 0);
        std::printf("%s: %016llx %016llx\n", bloom::hash_name<decltype(policy)>(),
                    static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
        if (a == b || a != bloom::hash_u64(policy, 42, 0)) ++failures;
    });
    std::printf("%zu optional policies\n", bloom::optional_policies::size);
    return failures == 0 ? 0 : 1;
}
