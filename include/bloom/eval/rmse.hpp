// Root-mean-square error of explicit-feedback predictions:
//   RMSE = sqrt( (1/n) sum_i (prediction_i - target_i)^2 )
// accumulated in double, in index order (so the value does not depend on anything but the input).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>

namespace bloom {
namespace eval {

// RMSE of predictions[0..n) against targets[0..n). Throws bloom::invalid_argument when n = 0 or a
// value is NaN (naming its index).
template <class T>
double rmse(const T* predictions, const T* targets, std::size_t n) {
    static_assert(std::is_arithmetic_v<T>, "bloom::eval::rmse: values must be numbers");
    if (n == 0) bloom::detail::throw_invalid("rmse: no values");
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double p = static_cast<double>(predictions[i]);
        const double t = static_cast<double>(targets[i]);
        if (std::isnan(p))
            bloom::detail::throw_invalid("rmse: prediction " + std::to_string(i) + " is NaN");
        if (std::isnan(t))
            bloom::detail::throw_invalid("rmse: target " + std::to_string(i) + " is NaN");
        sum += (p - t) * (p - t);
    }
    return std::sqrt(sum / static_cast<double>(n));
}

template <class T>
double rmse(const std::vector<T>& predictions, const std::vector<T>& targets) {
    if (predictions.size() != targets.size())
        bloom::detail::throw_invalid("rmse: " + std::to_string(predictions.size()) +
                                     " predictions but " + std::to_string(targets.size()) +
                                     " targets");
    return rmse(predictions.data(), targets.data(), predictions.size());
}

// RMSE of predict(user, item) against the ratings of n (user, item, rating) triples, e.g. a
// test split: predict may be factorization::predict. Throws bloom::invalid_argument when n = 0,
// the columns differ in length, or a prediction or rating is NaN (naming the user and item).
template <class Predict, class T>
double rmse(Predict&& predict, const std::vector<std::uint32_t>& users,
            const std::vector<std::uint32_t>& items, const std::vector<T>& ratings) {
    static_assert(std::is_invocable_v<Predict&, std::uint32_t, std::uint32_t>,
                  "bloom::eval::rmse: predict must be callable as predict(user, item)");
    if (users.size() != items.size() || users.size() != ratings.size())
        bloom::detail::throw_invalid("rmse: the columns differ in length (" +
                                     std::to_string(users.size()) + " users, " +
                                     std::to_string(items.size()) + " items, " +
                                     std::to_string(ratings.size()) + " ratings)");
    if (users.empty()) bloom::detail::throw_invalid("rmse: no ratings");
    double sum = 0;
    for (std::size_t i = 0; i < users.size(); ++i) {
        const double p = static_cast<double>(predict(users[i], items[i]));
        const double t = static_cast<double>(ratings[i]);
        if (std::isnan(p) || std::isnan(t))
            bloom::detail::throw_invalid(
                std::string("rmse: the ") + (std::isnan(p) ? "prediction" : "rating") +
                " of user " + std::to_string(users[i]) + ", item " + std::to_string(items[i]) +
                " (row " + std::to_string(i) + ") is NaN");
        sum += (p - t) * (p - t);
    }
    return std::sqrt(sum / static_cast<double>(users.size()));
}

}  // namespace eval
}  // namespace bloom
