// run_grads: runs added in any order (overlapping, adjacent, across bitmap words) come out as the
// disjoint runs of the touched rows in increasing order, with the same sums, bit for bit, as
// row_grads gives for the same additions; clear() forgets the batch; rows no run covered are
// never handed out.
#include <catch2/catch.hpp>

#include <bloom/models/row_grads.hpp>
#include <bloom/models/run_grads.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace {

using bloom::models::row_grads;
using bloom::models::run_grads;

using run_list = std::vector<std::pair<std::uint32_t, std::size_t>>;

run_list runs_of(run_grads<float>& g) {
    run_list out;
    g.for_each_run([&](std::uint32_t first, std::size_t n, const float*) { out.emplace_back(first, n); });
    return out;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("run_grads merges overlapping and adjacent runs, across bitmap words", "[models][run_grads]") {
    run_grads<float> g(300, 1);
    REQUIRE(g.empty());
    const std::vector<float> ones(100, 1.0f);
    g.add_run(70, 10, ones.data());   // 70..79
    g.add_run(60, 12, ones.data());   // 60..71: overlaps, crosses the word boundary at 64
    g.add_run(80, 3, ones.data());    // 80..82: adjacent to 79
    g.add_run(200, 1, ones.data());   // alone
    g.add_run(120, 80, ones.data());  // 120..199: adjacent to 200, three words
    g.add_run(0, 1, ones.data());
    g.add_run(299, 1, ones.data());   // the last row
    REQUIRE_FALSE(g.empty());
    CHECK(runs_of(g) == run_list{{0, 1}, {60, 23}, {120, 81}, {299, 1}});
    CHECK(g.touched() == 106);
    // The sums: rows 70 and 71 were added twice, the others once.
    std::map<std::uint32_t, float> seen;
    g.for_each([&](std::uint32_t r, const float* v) { seen[r] = v[0]; });
    CHECK(seen.size() == 106);
    CHECK(seen.at(69) == 1.0f);
    CHECK(seen.at(70) == 2.0f);
    CHECK(seen.at(71) == 2.0f);
    CHECK(seen.at(72) == 1.0f);
    CHECK(seen.count(83) == 0);
    CHECK(seen.count(119) == 0);
    // Adding after a merge reopens the batch.
    g.add_run(83, 2, ones.data());
    CHECK(runs_of(g) == run_list{{0, 1}, {60, 25}, {120, 81}, {299, 1}});
    g.clear();
    CHECK(g.empty());
    CHECK(runs_of(g).empty());
    // A new batch starts from nothing: a row's first addition is stored as it is.
    std::vector<float> h(64, 0.0f);  // 2 used (see the next test case on the length)
    h[0] = 0.25f;
    h[1] = -0.0f;
    g.add_run(70, 2, h.data());
    std::vector<float> got;
    g.for_each([&](std::uint32_t, const float* v) { got.push_back(v[0]); });
    REQUIRE(got.size() == 2);
    CHECK(same_bits(got[0], 0.25f));
    CHECK(same_bits(got[1], -0.0f));  // as row_grads keeps a first -0.0, not +0.0
}

TEST_CASE("run_grads orders the runs alike whether it sorts few touched words or reads many off the bitmap",
          "[models][run_grads]") {
    const std::vector<float> ones(64, 1.0f);
    // 6,400 rows = 100 bitmap words: 3 touched words are sorted, 40 are read off the bitmap
    for (const std::uint32_t touched : {3U, 40U}) {
        run_grads<float> g(6400, 1);
        run_list want;
        for (std::uint32_t i = touched; i-- > 0;) {  // added last word first
            const std::uint32_t first = (i * 100U / touched) * 64 + 5;
            g.add_run(first, 3, ones.data());
        }
        for (std::uint32_t i = 0; i < touched; ++i) want.emplace_back((i * 100U / touched) * 64 + 5, 3);
        CHECK(runs_of(g) == want);
        CHECK(g.touched() == 3 * touched);
        g.clear();
        CHECK(runs_of(g).empty());
    }
}

TEST_CASE("run_grads with rows of several columns", "[models][run_grads]") {
    run_grads<double> g(10, 3);
    // 6 used; the length keeps GCC 12's -Warray-bounds from flagging add_run's SIMD paths for
    // longer runs, which it cannot prove unreachable once everything is inlined.
    std::vector<double> a(64, 0.0);
    for (int i = 0; i < 6; ++i) a[static_cast<std::size_t>(i)] = i + 1;
    g.add_run(2, 2, a.data());  // rows 2, 3
    g.add_run(3, 1, a.data());  // row 3 again
    std::vector<std::vector<double>> rows;
    std::vector<std::uint32_t> ids;
    g.for_each([&](std::uint32_t r, const double* v) {
        ids.push_back(r);
        rows.emplace_back(v, v + 3);
    });
    CHECK(ids == std::vector<std::uint32_t>{2, 3});
    CHECK(rows[0] == std::vector<double>{1, 2, 3});
    CHECK(rows[1] == std::vector<double>{5, 7, 9});
}

TEST_CASE("run_grads sums as row_grads does, bit for bit", "[models][run_grads]") {
    for (const std::size_t dim : {std::size_t{1}, std::size_t{3}}) {
        const std::uint32_t rows = 1000;
        run_grads<float> runs(rows, dim);
        row_grads<float> slots(rows, dim);
        std::mt19937_64 rng(11);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        for (int batch = 0; batch < 3; ++batch) {
            for (int k = 0; k < 200; ++k) {
                const auto n = static_cast<std::uint32_t>(1 + rng() % 40);
                const auto first = static_cast<std::uint32_t>(rng() % (rows - n + 1));
                std::vector<float> g(n * dim);
                for (float& x : g) x = u(rng);
                runs.add_run(first, n, g.data());
                for (std::uint32_t i = 0; i < n; ++i) {
                    if (dim == 1)
                        slots.add_scalar(first + i, g[i]);  // ROBE's accumulation before run_grads
                    else
                        slots.add(first + i, 1.0f, g.data() + i * dim);
                }
            }
            std::map<std::uint32_t, std::vector<float>> expect;
            slots.for_each([&](std::uint32_t r, const float* v) {
                expect[r].assign(v, v + dim);
            });
            std::size_t n = 0;
            bool same = true;
            std::uint32_t last = 0;
            bool ordered = true;
            runs.for_each([&](std::uint32_t r, const float* v) {
                ordered = ordered && (n == 0 || r > last);
                last = r;
                ++n;
                const auto it = expect.find(r);
                if (it == expect.end() || std::memcmp(it->second.data(), v, dim * sizeof(float)) != 0)
                    same = false;
            });
            INFO("dim " << dim << ", batch " << batch);
            CHECK(n == expect.size());
            CHECK(same);
            CHECK(ordered);
            runs.clear();
            slots.clear();
        }
    }
}
