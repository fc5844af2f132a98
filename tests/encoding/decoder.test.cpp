// The decoder: scores are sum_j log p[h_j(i)] with the documented floor, both lookups agree,
// top_n matches a brute-force ranking (exclusions, ties by lower id), the batch form equals the
// single form, and every bad input is reported with its index.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include <bloom/encoding/decoder.hpp>
#include <bloom/encoding/diagnostics.hpp>
#include <bloom/encoding/encoder.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/xxhash.hpp>

#include "encoding_test_util.hpp"

using Catch::Matchers::Contains;
using enc_test::config;
using enc_test::random_ids;

namespace {

template <class S>
bloom::vector<S> random_probabilities(std::uint64_t m, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    bloom::vector<S> p(static_cast<Eigen::Index>(m));
    for (Eigen::Index i = 0; i < p.size(); ++i)
        p(i) = static_cast<S>(static_cast<double>(rng() >> 11) / 9007199254740992.0);
    return p;
}

// Brute-force ranking: every item not excluded, sorted by score descending then id ascending.
template <class H, class S>
std::vector<bloom::scored_item> brute_force(const bloom::basic_spec<H>& s,
                                            const bloom::vector<S>& scores,
                                            const std::set<std::uint64_t>& exclude) {
    std::vector<bloom::scored_item> all;
    for (std::uint64_t id = 0; id < s.items(); ++id)
        if (!exclude.count(id))
            all.push_back({id, static_cast<double>(scores(static_cast<Eigen::Index>(id)))});
    std::sort(all.begin(), all.end(), [](const bloom::scored_item& a, const bloom::scored_item& b) {
        return a.score > b.score || (a.score == b.score && a.id < b.id);
    });
    return all;
}

}  // namespace

TEMPLATE_TEST_CASE("decoder: scores are the sums of log p over each item's positions, in either lookup", "[decoder]",
                   bloom::xxh3, bloom::murmur3_32, bloom::multiply_shift) {
    for (const auto derive : {bloom::derivation::seeded, bloom::derivation::double_hashing}) {
        const bloom::basic_spec<TestType> s(config(3000, 500, 4, derive, 11));
        const auto p = random_probabilities<double>(500, 3);
        const bloom::basic_decoder<TestType> tab(s);
        const bloom::basic_decoder<TestType> fly(s, bloom::lookup::on_the_fly);
        CHECK(tab.mode() == bloom::lookup::table);
        CHECK(fly.mode() == bloom::lookup::on_the_fly);
        const bloom::vector<double> a = tab.scores(p);
        const bloom::vector<double> b = fly.scores(p);
        REQUIRE(a.size() == 3000);
        CHECK(a == b);
        std::uint32_t pos[4];
        for (std::uint32_t id = 0; id < 3000; ++id) {
            s.positions(id, pos);
            double want = 0;
            for (const std::uint32_t x : pos) want += std::log(p(x));
            REQUIRE(a(id) == Approx(want).epsilon(1e-12));
        }
        // Log-probabilities give the same scores.
        bloom::decoder_options lo;
        lo.input = bloom::output_kind::log_probabilities;
        const bloom::basic_decoder<TestType> tab_log(s, bloom::lookup::table, lo);
        bloom::vector<double> logp(500);
        for (Eigen::Index i = 0; i < 500; ++i) logp(i) = std::log(p(i));
        CHECK(tab_log.scores(logp) == a);
    }
}

TEST_CASE("decoder: zero probabilities and -inf log-probabilities count as the floor",
          "[decoder]") {
    const bloom::spec s(config(200, 50, 3));
    bloom::vector<float> p = bloom::vector<float>::Constant(50, 0.5f);
    p(7) = 0.0f;
    bloom::decoder_options o;
    o.floor = 1e-6;
    const bloom::decoder dec(s, bloom::lookup::table, o);
    const bloom::vector<float> sc = dec.scores(p);
    std::uint32_t pos[3];
    for (std::uint32_t id = 0; id < 200; ++id) {
        s.positions(id, pos);
        float want = 0;
        for (const std::uint32_t x : pos) want += x == 7 ? std::log(1e-6f) : std::log(0.5f);
        CHECK(sc(id) == Approx(want).epsilon(1e-6));
    }
    o.input = bloom::output_kind::log_probabilities;
    const bloom::decoder dec_log(s, bloom::lookup::table, o);
    bloom::vector<float> l = p.array().log();  // log(0) = -inf
    REQUIRE(std::isinf(l(7)));
    const bloom::vector<float> sl = dec_log.scores(l);
    for (Eigen::Index i = 0; i < 200; ++i) CHECK(sl(i) == Approx(sc(i)).epsilon(1e-6));
    // The default floor is 1e-30.
    CHECK(bloom::decoder_options{}.floor == 1e-30);
}

TEST_CASE("decoder: round trip: members rank above every non-member with an unset position",
          "[decoder][round-trip]") {
    for (const std::size_t n : {1, 10, 60, 200}) {
        const bloom::spec s(config(5000, 2000, 4, bloom::derivation::seeded, n));
        const bloom::encoder enc(s, bloom::lookup::table);
        const bloom::decoder dec(enc.shared_table());
        const auto members = random_ids(n, 5000, 100 + n);
        const bloom::vector<float> target = enc.dense(members);
        const bloom::vector<float> p = (target.array() * 0.98f + 0.01f).matrix();  // 0.99 / 0.01
        const auto ranking = dec.top_n(p, 5000);
        REQUIRE(ranking.size() == 5000);
        const std::set<std::uint64_t> member_set(members.begin(), members.end());
        // Items whose positions are all set: the members and the false positives.
        std::size_t all_set = 0;
        std::uint32_t pos[4];
        for (std::uint32_t id = 0; id < 5000; ++id) {
            s.positions(id, pos);
            bool full = true;
            for (const std::uint32_t x : pos) full = full && target(x) == 1.0f;
            all_set += full ? 1 : 0;
            if (member_set.count(id)) REQUIRE(full);
        }
        // Members and false positives (all at the top score) come first, then everyone else.
        std::size_t members_seen = 0;
        for (std::size_t r = 0; r < ranking.size(); ++r) {
            const bool member = member_set.count(ranking[r].id) != 0;
            if (member) {
                ++members_seen;
                CHECK(r < all_set);
            }
        }
        CHECK(members_seen == n);
        CHECK(ranking[all_set - 1].score > ranking[all_set].score);
        // The false positives are exactly what the diagnostics count.
        const auto fpr = bloom::false_positive_rate(enc, members);
        CHECK(fpr.false_positives == all_set - n);
    }
}

TEMPLATE_TEST_CASE("decoder: top_n equals the brute-force ranking with exclusions",
                   "[decoder][top_n]", float, double) {
    const bloom::spec s(config(4000, 800, 4, bloom::derivation::double_hashing, 5));
    const bloom::decoder tab(s);
    const bloom::decoder fly(s, bloom::lookup::on_the_fly);
    const auto p = random_probabilities<TestType>(800, 17);
    const bloom::vector<TestType> scores = tab.scores(p);
    const auto ex_ids = random_ids(300, 4000, 4);
    const std::set<std::uint64_t> ex(ex_ids.begin(), ex_ids.end());
    const auto want = brute_force(s, scores, ex);
    for (const std::size_t n : {0, 1, 10, 100, 3700, 5000}) {
        const auto got = tab.top_n(p, n, ex_ids);
        REQUIRE(got.size() == std::min(n, want.size()));
        CHECK(std::equal(got.begin(), got.end(), want.begin()));
        CHECK(fly.top_n(p, n, ex_ids) == got);
        // Pointer form, with duplicated exclusions.
        std::vector<std::uint32_t> dup = ex_ids;
        dup.insert(dup.end(), ex_ids.begin(), ex_ids.end());
        CHECK(tab.top_n(p.data(), 800, n, dup.data(), dup.size()) == got);
    }
    // Without exclusions.
    const auto none = brute_force(s, scores, {});
    const auto got = tab.top_n(p, 50);
    CHECK(std::equal(got.begin(), got.end(), none.begin()));
}

TEST_CASE("decoder: ties rank the lower id first", "[decoder][top_n][ties]") {
    const bloom::decoder dec(config(1000, 100, 4));
    const bloom::vector<float> flat = bloom::vector<float>::Constant(100, 0.25f);
    const auto top = dec.top_n(flat, 5);
    REQUIRE(top.size() == 5);
    for (std::uint64_t i = 0; i < 5; ++i) CHECK(top[i].id == i);
    const auto top_ex = dec.top_n(flat, 3, std::vector<std::uint32_t>{0, 2, 3});
    REQUIRE(top_ex.size() == 3);
    CHECK(top_ex[0].id == 1);
    CHECK(top_ex[1].id == 4);
    CHECK(top_ex[2].id == 5);
    // Two probability values only: scores take few distinct values, so many ties straddle the
    // selection boundary. The result must still be the brute-force order (ties by lower id).
    std::mt19937_64 rng(3);
    bloom::vector<float> p(100);
    for (Eigen::Index i = 0; i < 100; ++i) p(i) = (rng() & 1U) != 0 ? 0.5f : 0.25f;
    const auto want = brute_force(dec.spec(), dec.scores(p), {});
    for (const std::size_t n : {1, 2, 17, 100, 999}) {
        const auto got = dec.top_n(p, n);
        REQUIRE(got.size() == n);
        CHECK(std::equal(got.begin(), got.end(), want.begin()));
    }
    std::size_t ties = 0;
    for (std::size_t i = 1; i < want.size(); ++i) ties += want[i].score == want[i - 1].score;
    CHECK(ties > 900);
}

TEST_CASE("decoder: the padding id 0 is never recommended", "[decoder][top_n]") {
    auto c = config(100, 40, 2);
    c.padding_zero = true;
    const bloom::decoder dec(c);
    bloom::vector<float> p = bloom::vector<float>::Constant(40, 0.1f);
    p(0) = 1.0f;  // id 0's only position: it would rank first
    const auto top = dec.top_n(p, 99);
    REQUIRE(top.size() == 99);
    for (const auto& it : top) CHECK(it.id != 0);
    CHECK(dec.scores(p)(0) == 0.0f);  // but it is scored
}

TEST_CASE("decoder: Eigen row vectors and matrix rows are accepted", "[decoder]") {
    const bloom::decoder dec(config(300, 60, 3));
    const auto p = random_probabilities<float>(60, 8);
    const Eigen::RowVectorXf row = p.transpose();
    bloom::matrix<float> mat(2, 60);
    mat.row(1) = p.transpose();
    CHECK(dec.top_n(row, 10) == dec.top_n(p, 10));
    CHECK(dec.top_n(mat.row(1), 10) == dec.top_n(p, 10));
    CHECK(dec.scores(mat.row(1)) == dec.scores(p));
    CHECK_THROWS_WITH(dec.top_n(mat, 10), Contains("must be a vector"));
}

TEST_CASE("decoder: batch forms equal the single forms", "[decoder][batch]") {
    const bloom::spec s(config(2000, 400, 4));
    const bloom::decoder dec(s);
    bloom::matrix<float> outs(6, 400);
    for (Eigen::Index r = 0; r < 6; ++r)
        outs.row(r) = random_probabilities<float>(400, 50 + r).transpose();
    std::vector<std::vector<std::uint32_t>> seen;
    for (std::size_t r = 0; r < 6; ++r) seen.push_back(random_ids(r * 20, 2000, r));
    const auto batch = dec.top_n_batch(outs, 25, seen);
    const auto batch_fn = dec.top_n_batch(outs, 25, [&](std::size_t r) { return seen[r]; });
    const auto batch_none = dec.top_n_batch(outs, 25);
    const bloom::matrix<float> all = dec.scores_batch(outs);
    REQUIRE(batch.size() == 6);
    REQUIRE(all.rows() == 6);
    REQUIRE(all.cols() == 2000);
    for (Eigen::Index r = 0; r < 6; ++r) {
        const bloom::vector<float> p = outs.row(r).transpose();
        const auto idx = static_cast<std::size_t>(r);
        CHECK(batch[idx] == dec.top_n(p, 25, seen[idx]));
        CHECK(batch_fn[idx] == batch[idx]);
        CHECK(batch_none[idx] == dec.top_n(p, 25));
        CHECK(all.row(r).transpose() == dec.scores(p));
    }
}

TEST_CASE("decoder: bad outputs are reported with their index", "[decoder][errors]") {
    const bloom::decoder dec(config(500, 100, 4));
    bloom::vector<float> p = bloom::vector<float>::Constant(100, 0.5f);

    bloom::vector<float> nan = p;
    nan(7) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(dec.top_n(nan, 5), bloom::invalid_argument);
    CHECK_THROWS_WITH(dec.top_n(nan, 5), Contains("output[7] is NaN"));
    CHECK_THROWS_WITH(dec.scores(nan), Contains("output[7] is NaN"));

    bloom::vector<float> neg = p;
    neg(3) = -0.5f;  // a logit, say
    CHECK_THROWS_WITH(dec.top_n(neg, 5), Contains("output[3]") && Contains("not a probability"));
    bloom::vector<float> big = p;
    big(99) = 1.5f;
    CHECK_THROWS_WITH(dec.top_n(big, 5), Contains("output[99]"));
    bloom::vector<float> inf = p;
    inf(1) = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH(dec.top_n(inf, 5), Contains("output[1]"));
    bloom::vector<float> rounding = p;
    rounding(0) = 1.0000001f;  // softmax rounding is tolerated
    CHECK_NOTHROW(dec.top_n(rounding, 5));

    bloom::decoder_options lo;
    lo.input = bloom::output_kind::log_probabilities;
    const bloom::decoder dec_log(config(500, 100, 4), bloom::lookup::table, lo);
    bloom::vector<float> lp = bloom::vector<float>::Constant(100, -0.7f);
    lp(42) = 2.0f;
    CHECK_THROWS_WITH(dec_log.top_n(lp, 5), Contains("output[42]") && Contains("log-probability"));
    lp(42) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(dec_log.top_n(lp, 5), Contains("output[42] is NaN"));

    // Wrong length.
    const bloom::vector<float> short_p = bloom::vector<float>::Constant(99, 0.5f);
    CHECK_THROWS_AS(dec.top_n(short_p, 5), bloom::invalid_argument);
    CHECK_THROWS_WITH(dec.top_n(short_p, 5), Contains("99 values") && Contains("m = 100"));
    std::vector<float> out(499);
    CHECK_THROWS_WITH(dec.scores(p.data(), 100, out.data(), out.size()), Contains("d = 500"));

    // Exclusions must be items.
    CHECK_THROWS_AS(dec.top_n(p, 5, std::vector<std::uint32_t>{1, 500}), bloom::out_of_range);
    CHECK_THROWS_WITH(dec.top_n(p, 5, std::vector<std::uint32_t>{1, 500}),
                      Contains("exclude[1] = 500"));

    // Batch errors name the row.
    bloom::matrix<float> outs = bloom::matrix<float>::Constant(3, 100, 0.5f);
    outs(2, 10) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(dec.top_n_batch(outs, 5), Contains("row 2, output[10] is NaN"));
    CHECK_THROWS_WITH(dec.scores_batch(outs), Contains("row 2, output[10] is NaN"));
    const bloom::matrix<float> narrow = bloom::matrix<float>::Constant(3, 90, 0.5f);
    CHECK_THROWS_WITH(dec.top_n_batch(narrow, 5), Contains("90 columns") && Contains("m = 100"));
    const std::vector<std::vector<std::uint32_t>> two_rows(2);
    CHECK_THROWS_WITH(dec.top_n_batch(bloom::matrix<float>::Constant(3, 100, 0.5f), 5, two_rows),
                      Contains("exclusions for 2 rows and 3 output rows"));
    const std::vector<std::vector<std::uint32_t>> bad_ex{{}, {}, {7, 9999}};
    CHECK_THROWS_WITH(dec.top_n_batch(bloom::matrix<float>::Constant(3, 100, 0.5f), 5, bad_ex),
                      Contains("row 2, exclude[1] = 9999"));
}

TEST_CASE("decoder: bad configurations throw", "[decoder][errors]") {
    CHECK_THROWS_AS(bloom::decoder(config(0, 100, 4)), bloom::invalid_argument);
    CHECK_THROWS_WITH(bloom::decoder(config(0, 100, 4)),
                      Contains("spec_config::items = 0") && Contains("decoder<xxh3>"));
    CHECK_THROWS_WITH(bloom::decoder(config(0, 100, 4), bloom::lookup::on_the_fly),
                      Contains("needs d"));
    bloom::decoder_options o;
    o.floor = 0.0;
    CHECK_THROWS_WITH(bloom::decoder(config(10, 100, 4), bloom::lookup::table, o),
                      Contains("floor"));
    o.floor = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(bloom::decoder(config(10, 100, 4), bloom::lookup::table, o),
                    bloom::invalid_argument);
    CHECK_THROWS_WITH(bloom::decoder(std::shared_ptr<const bloom::position_table>{}),
                      Contains("null"));
    CHECK_THROWS_WITH(bloom::decoder(config(10, 0, 4)), Contains("m must be at least 1"));
    CHECK_THROWS_WITH(bloom::decoder(config(10, 2, 4)), Contains("k = 4 exceeds m = 2"));
}
