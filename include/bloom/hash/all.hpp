// Every hash policy that this build has: the core ones always, and the optional ones whose
// package was found (their CMake target, bloom::farmhash / bloom::metrohash / bloom::crypto,
// defines BLOOM_HAS_FARMHASH / BLOOM_HAS_METROHASH / BLOOM_HAS_CRYPTO).
//
// Benchmarks and examples iterate over them without naming each one:
//
//     bloom::for_each_policy([](auto policy) {
//         using H = decltype(policy);
//         std::printf("%s: %llu\n", bloom::hash_name<H>(),
//                     static_cast<unsigned long long>(bloom::hash_u64(policy, 42, 0)));
//     });
//
// The callback receives a value-initialised policy (policies are stateless), once per policy, in
// the order of bloom::all_policies.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include <bloom/hash/policy.hpp>
#include <bloom/hash/modulo.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#if defined(BLOOM_HAS_FARMHASH) && BLOOM_HAS_FARMHASH
#  include <bloom/hash/farmhash.hpp>
#endif
#if defined(BLOOM_HAS_METROHASH) && BLOOM_HAS_METROHASH
#  include <bloom/hash/metrohash.hpp>
#endif
#if defined(BLOOM_HAS_CRYPTO) && BLOOM_HAS_CRYPTO
#  include <bloom/hash/crypto.hpp>
#endif

namespace bloom {

// A compile-time list of hash policies.
template <class... Hs>
struct policy_list {
    static_assert((is_hash_policy_v<Hs> && ...),
                  "bloom::policy_list: every element must be a hash policy "
                  "(see <bloom/hash/policy.hpp>)");
    static constexpr std::size_t size = sizeof...(Hs);
};

namespace detail {

template <class... Lists>
struct concat_policy_lists;
template <>
struct concat_policy_lists<> {
    using type = policy_list<>;
};
template <class... A>
struct concat_policy_lists<policy_list<A...>> {
    using type = policy_list<A...>;
};
template <class... A, class... B, class... Rest>
struct concat_policy_lists<policy_list<A...>, policy_list<B...>, Rest...>
    : concat_policy_lists<policy_list<A..., B...>, Rest...> {};

template <class... Hs, class F>
constexpr void for_each_in(policy_list<Hs...>, F& f) {
    (static_cast<void>(f(Hs{})), ...);
}

template <class H, class... Hs>
constexpr bool contains_policy(policy_list<Hs...>) noexcept {
    return (std::is_same_v<H, Hs> || ...);
}

}  // namespace detail

// The policies that are always built.
using core_policies =
    policy_list<murmur3_32, murmur3_128, xxh32, xxh64, xxh3, multiply_shift, modulo>;

// The optional policies this build has (possibly none).
using optional_policies = typename detail::concat_policy_lists<
#if defined(BLOOM_HAS_FARMHASH) && BLOOM_HAS_FARMHASH
    policy_list<farmhash64>,
#else
    policy_list<>,
#endif
#if defined(BLOOM_HAS_METROHASH) && BLOOM_HAS_METROHASH
    policy_list<metrohash64>,
#else
    policy_list<>,
#endif
#if defined(BLOOM_HAS_CRYPTO) && BLOOM_HAS_CRYPTO
    policy_list<md5, sha1, sha256>
#else
    policy_list<>
#endif
    >::type;

// Core then optional.
using all_policies = typename detail::concat_policy_lists<core_policies, optional_policies>::type;

// True when H is in List.
template <class H, class List = all_policies>
inline constexpr bool contains_policy_v = detail::contains_policy<H>(List{});

// Call f(H{}) for every policy H of List (all_policies by default), in order.
template <class List = all_policies, class F>
constexpr void for_each_policy(F&& f) {
    detail::for_each_in(List{}, f);
}

}  // namespace bloom
