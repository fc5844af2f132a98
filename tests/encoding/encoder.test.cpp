// The encoder: sorted unique positions equal to the spec's, identical in both lookups, for every
// policy and derivation; the span, checked, allocating, batch and dense forms agree; errors name
// the bad id and where it was.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <bloom/encoding/csr.hpp>
#include <bloom/encoding/encoder.hpp>
#include <bloom/hash/modulo.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include "encoding_test_util.hpp"

using Catch::Matchers::Contains;
using enc_test::config;
using enc_test::random_ids;
using enc_test::reference_encode;

namespace {

template <class H>
std::vector<std::uint32_t> span_encode(const bloom::basic_encoder<H>& enc,
                                       const std::vector<std::uint32_t>& ids) {
    std::vector<std::uint32_t> out(enc.capacity(ids.size()));
    out.resize(enc.encode(ids.data(), ids.size(), out.data()));
    return out;
}

// The span API with a caller scratch buffer (the radix sort at every size above std::sort's).
template <class H>
std::vector<std::uint32_t> scratch_encode(const bloom::basic_encoder<H>& enc,
                                          const std::vector<std::uint32_t>& ids) {
    std::vector<std::uint32_t> out(enc.capacity(ids.size()));
    std::vector<std::uint32_t> scratch(enc.capacity(ids.size()));
    out.resize(enc.encode(ids.data(), ids.size(), out.data(), scratch.data()));
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("encoder: both lookups give the spec's sorted unique positions",
                   "[encoder][modes]", bloom::xxh3, bloom::xxh64, bloom::murmur3_32,
                   bloom::murmur3_128, bloom::multiply_shift, bloom::modulo) {
    // Set sizes (times k = 4) cover the std::sort (< 24 positions), stack radix (<= 4096) and
    // std::sort fallback (above, without scratch) paths of the span API, and the radix digit
    // widths; m values cover ranges where the radix keys are exact and where its final pass must
    // fix a few values up.
    for (const auto derive : {bloom::derivation::seeded, bloom::derivation::double_hashing}) {
        for (const std::uint64_t m : {64ULL, 4099ULL, 70001ULL, 3000000000ULL}) {
            for (const std::uint64_t seed : {0ULL, 12345ULL}) {
                const bloom::basic_spec<TestType> s(config(20000, m, 4, derive, seed));
                const bloom::basic_encoder<TestType> fly(s, bloom::lookup::on_the_fly);
                const bloom::basic_encoder<TestType> tab(s, bloom::lookup::table);
                REQUIRE(fly.mode() == bloom::lookup::on_the_fly);
                REQUIRE(tab.mode() == bloom::lookup::table);
                REQUIRE(fly.table() == nullptr);
                REQUIRE(tab.table() != nullptr);
                for (const std::size_t n : {0, 1, 5, 6, 20, 64, 65, 100, 255, 600, 1024, 1100}) {
                    const auto ids = random_ids(n, 20000, seed + n + m);
                    const auto want = reference_encode(s, ids);
                    INFO("derive " << static_cast<int>(derive) << ", m " << m << ", n " << n);
                    CHECK(span_encode(fly, ids) == want);
                    CHECK(span_encode(tab, ids) == want);
                    CHECK(scratch_encode(fly, ids) == want);
                    CHECK(fly.encode(ids) == want);
                    CHECK(tab.encode(ids) == want);
                }
            }
        }
    }
}

TEST_CASE("encoder: k other than 4, 4-byte keys, duplicates and unsorted input", "[encoder]") {
    for (const std::uint32_t k : {1U, 2U, 3U, 7U, 16U}) {
        const bloom::basic_spec<bloom::murmur3_32> s(
            config(5000, 911, k, bloom::derivation::seeded, 3, 4));
        const bloom::basic_encoder<bloom::murmur3_32> fly(s);
        const bloom::basic_encoder<bloom::murmur3_32> tab(s, bloom::lookup::table);
        auto ids = random_ids(150, 5000, k);
        ids.insert(ids.end(), ids.begin(), ids.begin() + 40);  // duplicates
        const auto want = reference_encode(s, ids);
        CHECK(span_encode(fly, ids) == want);
        CHECK(span_encode(tab, ids) == want);
        CHECK(std::is_sorted(want.begin(), want.end()));
    }
}

TEST_CASE("encoder: tiny m (1, 2, 3 positions) and m = 2^32", "[encoder]") {
    for (const std::uint64_t m : {1ULL, 2ULL, 3ULL, 1ULL << 32}) {
        const std::uint32_t k = m == 1 ? 1 : 2;
        const bloom::spec s(config(1000, m, k));
        const bloom::encoder enc(s);
        for (const std::size_t n : {3, 40, 300}) {
            const auto ids = random_ids(n, 1000, n);
            INFO("m = " << m << ", n = " << n);
            CHECK(span_encode(enc, ids) == reference_encode(s, ids));
        }
    }
}

TEST_CASE("encoder: any unsigned id type encodes alike, and the padding id 0", "[encoder]") {
    auto c = config(256, 1000, 4);
    c.padding_zero = true;
    const bloom::encoder enc(c, bloom::lookup::table);
    const std::vector<std::uint8_t> a{0, 3, 200, 255};
    const std::vector<std::uint16_t> b{0, 3, 200, 255};
    const std::vector<std::uint64_t> d{0, 3, 200, 255};
    const std::array<unsigned long, 4> e{0, 3, 200, 255};
    const std::list<std::uint32_t> f{255, 200, 3, 0};  // not contiguous: copied
    const auto want = enc.encode(std::vector<std::uint32_t>{0, 3, 200, 255});
    CHECK(enc.encode(a) == want);
    CHECK(enc.encode(b) == want);
    CHECK(enc.encode(d) == want);
    CHECK(enc.encode(e) == want);
    CHECK(enc.encode(f) == want);
    CHECK(enc.encode({0u, 3u, 200u, 255u}) == want);
    CHECK(want.front() == 0);  // the padding id's only position
    CHECK(enc.encode({0u}) == std::vector<std::uint32_t>{0});
}

TEST_CASE("encoder: byte-string keys hash their bytes, in either lookup", "[encoder][keys]") {
    const bloom::spec s(config(100, 5000, 4, bloom::derivation::double_hashing, 5));
    const std::vector<std::string> keys{"", "a", "ab", "item:42", "user/17/history",
                                        std::string(300, 'x')};
    const auto want = enc_test::reference_encode_keys(s, keys);
    for (const auto mode : {bloom::lookup::on_the_fly, bloom::lookup::table}) {
        const bloom::encoder enc(s, mode);
        CHECK(enc.encode(keys) == want);
        std::vector<std::string_view> views(keys.begin(), keys.end());
        CHECK(enc.encode(views) == want);
        std::vector<std::uint32_t> out(enc.capacity(views.size()));
        out.resize(enc.encode(views.data(), views.size(), out.data()));
        CHECK(out == want);
        std::vector<std::uint32_t> out2(enc.capacity(keys.size()));
        out2.resize(enc.encode_checked(keys.data(), keys.size(), out2.data(), out2.size()));
        CHECK(out2 == want);
        const char* raw[] = {"item:42", "a"};
        CHECK(enc.encode(std::vector<const char*>(raw, raw + 2)) ==
              enc.encode(std::vector<std::string>{"a", "item:42"}));
    }
    // A key's bytes, not its integer value: "1" is not the id 1.
    const bloom::encoder enc(s);
    CHECK(enc.encode(std::vector<std::string>{"1"}) != enc.encode({1u}));
}

TEST_CASE("encoder: clustered positions (the modulo policy) take the sort fallback correctly",
          "[encoder]") {
    // modulo puts consecutive ids on consecutive positions: a large shuffled range makes long
    // runs out of order after the radix pass and exhausts the insertion budget.
    auto c = config(1 << 20, std::uint64_t{1} << 31, 4);
    c.seeds = {0, 1, 2, 3};
    const bloom::basic_spec<bloom::modulo> s(c);
    const bloom::basic_encoder<bloom::modulo> enc(s);
    std::vector<std::uint32_t> ids(250);
    for (std::uint32_t i = 0; i < 250; ++i) ids[i] = i * 7;
    std::mt19937_64 rng(1);
    std::shuffle(ids.begin(), ids.end(), rng);
    CHECK(span_encode(enc, ids) == reference_encode(s, ids));
    ids.resize(5);  // 20 positions: the std::sort path
    CHECK(span_encode(enc, ids) == reference_encode(s, ids));
}

TEST_CASE("encoder: positions() gives the raw k positions per item, in order", "[encoder]") {
    const bloom::spec s(config(1000, 300, 4, bloom::derivation::double_hashing, 2));
    for (const auto mode : {bloom::lookup::on_the_fly, bloom::lookup::table}) {
        const bloom::encoder enc(s, mode);
        const std::vector<std::uint32_t> ids{9, 3, 9, 999};
        std::vector<std::uint32_t> out(enc.capacity(ids.size()));
        REQUIRE(enc.positions(ids.data(), ids.size(), out.data()) == 16);
        std::uint32_t p[4];
        for (std::size_t i = 0; i < ids.size(); ++i) {
            s.positions(ids[i], p);
            CHECK(std::equal(p, p + 4, out.begin() + static_cast<std::ptrdiff_t>(4 * i)));
            enc.positions(ids[i], p);
            CHECK(std::equal(p, p + 4, out.begin() + static_cast<std::ptrdiff_t>(4 * i)));
        }
    }
}

TEST_CASE("encoder: encode_checked names the bad id and its index", "[encoder][errors]") {
    const bloom::encoder tab(config(1682, 336, 4), bloom::lookup::table);
    std::vector<std::uint32_t> out(tab.capacity(3));
    const std::vector<std::uint32_t> bad{5, 9, 1682};
    CHECK_THROWS_AS(tab.encode_checked(bad.data(), 3, out.data(), out.size()),
                    bloom::out_of_range);
    CHECK_THROWS_WITH(tab.encode_checked(bad.data(), 3, out.data(), out.size()),
                      Contains("ids[2] = 1682") && Contains("d = 1682"));
    CHECK_THROWS_WITH(tab.encode(bad), Contains("ids[2] = 1682"));
    // A short buffer.
    const std::vector<std::uint32_t> good{5, 9, 10};
    CHECK_THROWS_AS(tab.encode_checked(good.data(), 3, out.data(), 11), bloom::invalid_argument);
    CHECK_THROWS_WITH(tab.encode_checked(good.data(), 3, out.data(), 11),
                      Contains("holds 11") && Contains("need 12"));
    CHECK(tab.encode_checked(good.data(), 3, out.data(), 12) > 0);

    // On the fly, d still bounds ids when it is known; with 4-byte keys ids must fit 32 bits.
    const bloom::encoder fly(config(1682, 336, 4));
    CHECK_THROWS_AS(fly.encode({1682u}), bloom::out_of_range);
    const bloom::encoder open(config(0, 336, 4, bloom::derivation::seeded, 0, 4));
    CHECK_NOTHROW(open.encode({0xFFFFFFFFULL}));
    CHECK_THROWS_WITH(open.encode(std::vector<std::uint64_t>{1, 0x100000000ULL}),
                      Contains("ids[1] = 4294967296") && Contains("4-byte keys"));
}

TEST_CASE("encoder: bad configurations throw", "[encoder][errors]") {
    CHECK_THROWS_AS(bloom::encoder(config(0, 100, 4), bloom::lookup::table),
                    bloom::invalid_argument);
    CHECK_THROWS_WITH(bloom::encoder(config(0, 100, 4), bloom::lookup::table),
                      Contains("lookup::table needs the item count d"));
    CHECK_NOTHROW(bloom::encoder(config(0, 100, 4)));  // open id space on the fly
    CHECK_THROWS_WITH(bloom::encoder(config(10, 0, 4)), Contains("m must be at least 1"));
    CHECK_THROWS_WITH(bloom::encoder(config(10, 10, 0)), Contains("k must be at least 1"));
    CHECK_THROWS_WITH(bloom::encoder(config(10, 3, 4)), Contains("k = 4 exceeds m = 3"));
    CHECK_THROWS_WITH(bloom::encoder(std::shared_ptr<const bloom::position_table>{}),
                      Contains("null"));
}

TEST_CASE("encoder: a shared table serves several encoders", "[encoder]") {
    const bloom::encoder a(config(500, 128, 3), bloom::lookup::table);
    const bloom::encoder b(a.shared_table());
    CHECK(b.mode() == bloom::lookup::table);
    CHECK(b.table() == a.table());
    const auto ids = random_ids(50, 500, 2);
    CHECK(a.encode(ids) == b.encode(ids));
}

TEST_CASE("encoder: encode_batch rows equal single encodes", "[encoder][batch]") {
    const bloom::spec s(config(10000, 2000, 4, bloom::derivation::double_hashing, 1));
    for (const auto mode : {bloom::lookup::on_the_fly, bloom::lookup::table}) {
        const bloom::encoder enc(s, mode);
        std::vector<std::vector<std::uint32_t>> sets;
        for (std::size_t r = 0; r < 40; ++r) sets.push_back(random_ids(r * 13 % 97, 10000, r));
        sets.push_back({});  // an empty row
        const bloom::csr batch = enc.encode_batch(sets);
        REQUIRE(batch.rows() == sets.size());
        REQUIRE(batch.cols == 2000);
        REQUIRE(batch.offsets.front() == 0);
        REQUIRE(batch.offsets.back() == batch.nnz());
        for (std::size_t r = 0; r < sets.size(); ++r) {
            const auto want = enc.encode(sets[r]);
            const auto row = batch.row(r);
            CHECK(std::vector<std::uint32_t>(row.begin(), row.end()) == want);
        }
        // The pointer-and-offsets form.
        std::vector<std::uint32_t> flat;
        std::vector<std::size_t> offsets{0};
        for (const auto& set : sets) {
            flat.insert(flat.end(), set.begin(), set.end());
            offsets.push_back(flat.size());
        }
        const bloom::csr b2 = enc.encode_batch(flat.data(), offsets.data(), sets.size());
        CHECK(b2.offsets == batch.offsets);
        CHECK(b2.positions == batch.positions);
        // The vector form.
        const bloom::csr b3 = enc.encode_batch(flat, offsets);
        CHECK(b3.offsets == batch.offsets);
        CHECK(b3.positions == batch.positions);
        // The dense matrix of the batch has the single dense vectors as rows.
        const bloom::matrix<float> dense = bloom::to_dense(batch);
        for (std::size_t r = 0; r < sets.size(); ++r)
            CHECK(dense.row(static_cast<Eigen::Index>(r)).transpose() == enc.dense(sets[r]));
    }
    const bloom::encoder enc(s);
    CHECK(enc.encode_batch(std::vector<std::vector<std::uint32_t>>{}).rows() == 0);
    const auto keys = enc.encode_batch(std::vector<std::vector<std::string>>{{"a", "b"}, {"c"}});
    CHECK(keys.rows() == 2);
}

TEST_CASE("encoder: encode_batch errors name the row", "[encoder][batch][errors]") {
    const bloom::encoder enc(config(100, 64, 4), bloom::lookup::table);
    const std::vector<std::vector<std::uint32_t>> sets{{1, 2}, {3, 4, 100}};
    CHECK_THROWS_AS(enc.encode_batch(sets), bloom::out_of_range);
    CHECK_THROWS_WITH(enc.encode_batch(sets), Contains("row 1, ids[2] = 100"));
    const std::vector<std::uint32_t> flat{1, 2, 3};
    const std::vector<std::size_t> bad_offsets{0, 2, 1};
    CHECK_THROWS_WITH(enc.encode_batch(flat.data(), bad_offsets.data(), 2),
                      Contains("offsets decrease at row 1"));
    const std::vector<std::size_t> bad_start{1, 2};
    CHECK_THROWS_WITH(enc.encode_batch(flat.data(), bad_start.data(), 1),
                      Contains("offsets[0] = 1"));
    // The vector form also knows where the items end.
    const std::vector<std::size_t> past_end{0, 2, 5};
    CHECK_THROWS_AS(enc.encode_batch(flat, past_end), bloom::invalid_argument);
    CHECK_THROWS_WITH(enc.encode_batch(flat, past_end),
                      "bloom: encode_batch: the last offset is 5 but there are 3 items");
    CHECK_THROWS_WITH(enc.encode_batch(flat, std::vector<std::size_t>{0, 2}),
                      "bloom: encode_batch: the last offset is 2 but there are 3 items");
    CHECK_THROWS_WITH(enc.encode_batch(flat, std::vector<std::size_t>{}),
                      "bloom: encode_batch: offsets is empty (it needs rows + 1 entries, starting "
                      "at 0)");
    CHECK_THROWS_WITH(enc.encode_batch(flat, std::vector<std::size_t>{0, 3, 2, 3}),
                      Contains("offsets decrease at row 1"));
    const std::vector<std::uint32_t> big{1, 100};
    CHECK_THROWS_AS(enc.encode_batch(big, {0, 1, 2}), bloom::out_of_range);
    CHECK_THROWS_WITH(enc.encode_batch(big, {0, 1, 2}),
                      "bloom: encode: row 1, ids[0] = 100 is out of range: the spec has d = 100 "
                      "items (ids 0..99)");
    const bloom::csr empty_rows = enc.encode_batch(std::vector<std::uint32_t>{1, 2}, {0, 2, 2, 2});
    CHECK(empty_rows.rows() == 3);
    CHECK(empty_rows.offsets[1] == empty_rows.nnz());  // rows 1 and 2 are empty
}

TEST_CASE("encoder: dense is the 0/1 vector of the positions", "[encoder][dense]") {
    const bloom::encoder enc(config(1000, 257, 4));
    const auto ids = random_ids(30, 1000, 9);
    const auto pos = enc.encode(ids);
    const bloom::vector<float> v = enc.dense(ids);
    REQUIRE(v.size() == 257);
    CHECK(v.sum() == static_cast<float>(pos.size()));
    for (const std::uint32_t p : pos) CHECK(v(p) == 1.0f);
    const bloom::vector<double> vd = enc.dense<double>(ids);
    CHECK(vd.cast<float>() == v);
    CHECK(enc.dense({1u, 2u}) == enc.dense(std::vector<std::uint32_t>{2, 1}));
    CHECK(enc.dense(std::vector<std::uint32_t>{}).sum() == 0.0f);
}
