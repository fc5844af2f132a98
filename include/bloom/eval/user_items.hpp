// Each user's items as compressed rows (CSR): the input format of the ranking evaluation.
//
// users u = 0 .. n_users-1 own items[offsets[u] .. offsets[u+1]). The evaluation takes one of
// these for the training items (excluded from ranking) and one for the test items, so it needs
// nothing from the data area: build one from the (user, item) columns of any container with
// make_user_items().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace eval {

struct user_items {
    std::vector<std::size_t> offsets;  // n_users + 1 values: offsets[0] = 0, non-decreasing,
                                       // offsets[n_users] = items.size(); or empty (no users)
    std::vector<std::uint32_t> items;  // item ids, grouped by user

    std::size_t n_users() const noexcept { return offsets.empty() ? 0 : offsets.size() - 1; }
    std::size_t size() const noexcept { return items.size(); }
    bool empty() const noexcept { return items.empty(); }

    // Items of user u (u < n_users()): [begin(u), end(u)).
    std::size_t count(std::size_t u) const noexcept {
        BLOOM_ASSERT(u + 1 < offsets.size());
        return offsets[u + 1] - offsets[u];
    }
    const std::uint32_t* begin(std::size_t u) const noexcept {
        BLOOM_ASSERT(u + 1 < offsets.size());
        return items.data() + offsets[u];
    }
    const std::uint32_t* end(std::size_t u) const noexcept {
        BLOOM_ASSERT(u + 1 < offsets.size());
        return items.data() + offsets[u + 1];
    }
};

// Groups n (user, item) pairs by user (a stable counting sort: a user's items keep their input
// order; duplicates are kept). Throws bloom::out_of_range if a user id is >= n_users.
inline user_items make_user_items(std::size_t n_users, const std::uint32_t* users,
                                  const std::uint32_t* items, std::size_t n) {
    user_items out;
    out.offsets.assign(n_users + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
        if (users[i] >= n_users)
            bloom::detail::throw_range("make_user_items: pair " + std::to_string(i) + " has user " +
                                       std::to_string(users[i]) + ", but there are " +
                                       std::to_string(n_users) + " users");
        ++out.offsets[users[i] + 1];
    }
    for (std::size_t u = 0; u < n_users; ++u) out.offsets[u + 1] += out.offsets[u];
    out.items.resize(n);
    std::vector<std::size_t> next(out.offsets.begin(), out.offsets.end() - 1);
    for (std::size_t i = 0; i < n; ++i) out.items[next[users[i]]++] = items[i];
    return out;
}

inline user_items make_user_items(std::size_t n_users, const std::vector<std::uint32_t>& users,
                                  const std::vector<std::uint32_t>& items) {
    if (users.size() != items.size())
        bloom::detail::throw_invalid("make_user_items: " + std::to_string(users.size()) +
                                     " users but " + std::to_string(items.size()) +
                                     " items; the columns must have the same length");
    return make_user_items(n_users, users.data(), items.data(), users.size());
}

// Checks the CSR shape and that every item id is below n_items. `what` names the argument in the
// messages ("test items"). Throws bloom::invalid_argument for a malformed shape and
// bloom::out_of_range for an item id, naming the user and the item.
inline void validate(const user_items& x, std::size_t n_items, const std::string& what) {
    if (x.offsets.empty()) {
        if (!x.items.empty())
            bloom::detail::throw_invalid(
                what + ": " + std::to_string(x.items.size()) +
                " items but no offsets (offsets must have n_users + 1 values)");
        return;
    }
    if (x.offsets.front() != 0)
        bloom::detail::throw_invalid(what + ": offsets[0] is " + std::to_string(x.offsets.front()) +
                                     ", expected 0");
    if (x.offsets.back() != x.items.size())
        bloom::detail::throw_invalid(what + ": the last offset is " +
                                     std::to_string(x.offsets.back()) + " but there are " +
                                     std::to_string(x.items.size()) + " items");
    const std::size_t n_users = x.n_users();
    for (std::size_t u = 0; u < n_users; ++u) {
        if (x.offsets[u + 1] < x.offsets[u])
            bloom::detail::throw_invalid(what + ": offsets decrease at user " + std::to_string(u) +
                                         " (" + std::to_string(x.offsets[u]) + " then " +
                                         std::to_string(x.offsets[u + 1]) + ")");
        for (std::size_t p = x.offsets[u]; p < x.offsets[u + 1]; ++p)
            if (x.items[p] >= n_items)
                bloom::detail::throw_range(
                    what + ": item " + std::to_string(x.items[p]) + " of user " +
                    std::to_string(u) + " is out of range (n_items = " + std::to_string(n_items) +
                    ")");
    }
}

}  // namespace eval
}  // namespace bloom
