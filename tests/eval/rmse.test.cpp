// rmse: known values and error paths.
#include <catch2/catch.hpp>

#include <bloom/eval/rmse.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

using bloom::eval::rmse;
using Catch::Matchers::Contains;

TEST_CASE("rmse: known values", "[eval][rmse]") {
    CHECK(rmse(std::vector<double>{1, 2, 3}, std::vector<double>{1, 2, 5}) ==
          Approx(std::sqrt(4.0 / 3)));
    CHECK(rmse(std::vector<float>{0, 0}, std::vector<float>{3, 4}) == Approx(std::sqrt(12.5)));
    CHECK(rmse(std::vector<float>{3.5f, 4.0f}, std::vector<float>{3.5f, 4.0f}) == 0.0);
    const int p[] = {1, 5}, t[] = {2, 2};
    CHECK(rmse(p, t, 2) == Approx(std::sqrt(5.0)));
}

TEST_CASE("rmse: over (user, item, rating) triples with a predictor", "[eval][rmse]") {
    const std::vector<std::uint32_t> users = {0, 1, 2}, items = {3, 3, 1};
    const std::vector<float> ratings = {3.0f, 5.0f, 2.0f};
    const auto predict = [](std::uint32_t u, std::uint32_t i) { return static_cast<float>(u + i); };
    // Predictions 3, 4, 3: errors 0, -1, 1.
    CHECK(rmse(predict, users, items, ratings) == Approx(std::sqrt(2.0 / 3)));
}

TEST_CASE("rmse: bad input", "[eval][rmse]") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(rmse(std::vector<float>{}, std::vector<float>{}), bloom::invalid_argument);
    CHECK_THROWS_WITH(rmse(std::vector<float>{1, 2}, std::vector<float>{1}),
                      Contains("2 predictions but 1 targets"));
    CHECK_THROWS_WITH(rmse(std::vector<float>{1, nan}, std::vector<float>{1, 2}),
                      Contains("prediction 1 is NaN"));
    CHECK_THROWS_WITH(rmse(std::vector<float>{1, 2}, std::vector<float>{nan, 2}),
                      Contains("target 0 is NaN"));

    const std::vector<std::uint32_t> users = {0, 4}, items = {1, 6};
    const auto predict = [&](std::uint32_t u, std::uint32_t) { return u == 4 ? nan : 1.0f; };
    CHECK_THROWS_WITH(rmse(predict, users, items, std::vector<float>{1, 1}),
                      Contains("prediction of user 4, item 6") && Contains("NaN"));
    const auto one = [](std::uint32_t, std::uint32_t) { return 1.0f; };
    CHECK_THROWS_WITH(rmse(one, users, items, std::vector<float>{1, nan}),
                      Contains("rating of user 4, item 6"));
    CHECK_THROWS_WITH(rmse(one, users, items, std::vector<float>{1}), Contains("differ in length"));
    CHECK_THROWS_WITH(rmse(one, std::vector<std::uint32_t>{}, {}, std::vector<float>{}),
                      Contains("no ratings"));
}
