// The Spotlight-compatible spec (<bloom/encoding/spotlight.hpp>) against the rows Spotlight's
// BloomEmbedding assigns, listed in tests/data/spotlight_bloom_rows.tsv.
#include <bloom/encoding/spotlight.hpp>

#include <catch2/catch.hpp>
#include <murmurhash.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct tsv_row {
    std::size_t line;
    std::int64_t id;
    std::uint32_t j;
    std::uint64_t seed;
    std::uint64_t m;
    std::int64_t murmur_signed;
    std::uint64_t row;
};

// Reads the file; a missing file or an unreadable line fails the test that asked.
std::vector<tsv_row> read_rows(const std::string& path) {
    std::ifstream in(path);
    INFO("reading " << path);
    REQUIRE(in.is_open());
    std::vector<tsv_row> rows;
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        tsv_row r{};
        r.line = number;
        fields >> r.id >> r.j >> r.seed >> r.m >> r.murmur_signed >> r.row;
        INFO(path << ":" << number << ": '" << line << "'");
        REQUIRE(fields);
        rows.push_back(r);
    }
    return rows;
}

std::int32_t reference_signed_murmur(std::uint32_t id, std::uint32_t seed) {
    unsigned char bytes[4];
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<unsigned char>(id >> (8 * i));
    std::uint32_t out[1] = {0};
    lmmh_x86_32(bytes, 4, seed, out);
    return static_cast<std::int32_t>(out[0]);
}

}  // namespace

TEST_CASE("spotlight_spec reproduces every row of spotlight_bloom_rows.tsv", "[spotlight]") {
    const auto rows = read_rows(std::string(BLOOM_TEST_DATA_DIR) + "/spotlight_bloom_rows.tsv");
    REQUIRE(!rows.empty());

    std::map<std::uint64_t, bloom::basic_spec<bloom::murmur3_32>> specs;
    std::set<std::pair<std::uint64_t, std::uint32_t>> seen;  // (m, j) pairs covered
    std::size_t checked = 0;
    for (const tsv_row& r : rows) {
        INFO("spotlight_bloom_rows.tsv:" << r.line << ": id " << r.id << ", j " << r.j << ", m "
                                         << r.m);
        REQUIRE(r.id >= 0);
        REQUIRE(r.j < bloom::spotlight_seeds.size());
        CHECK(r.seed == bloom::spotlight_seeds[r.j]);
        // The signed murmur column, from our policy (the padding id's value is listed too).
        const auto id = static_cast<std::uint32_t>(r.id);
        const auto h = bloom::murmur3_32{}(id, bloom::spotlight_seeds[r.j]);
        CHECK(static_cast<std::int32_t>(static_cast<std::uint32_t>(h)) == r.murmur_signed);
        // The row column, from the spec.
        auto it = specs.find(r.m);
        if (it == specs.end()) it = specs.emplace(r.m, bloom::spotlight_spec(r.m, 8)).first;
        std::uint32_t positions[8];
        it->second.positions(id, positions);
        CHECK(positions[r.j] == r.row);
        CHECK(it->second.position(id, r.j) == r.row);
        seen.insert({r.m, r.j});
        ++checked;
    }
    CHECK(checked == rows.size());
    INFO("distinct (m, j) pairs in the file: " << seen.size());
    CHECK(seen.size() >= 2);
}

TEST_CASE("spotlight_spec: all 8 seeds follow Python's signed modulo of the reference murmur",
          "[spotlight]") {
    // The file covers j = 0..3; recompute the rule for every seed from libmurmurhash.
    for (const std::uint64_t m : {1ULL, 7ULL, 188ULL, 336ULL, 1000003ULL, 4294967296ULL}) {
        const auto spec = bloom::spotlight_spec(m, m >= 8 ? 8 : static_cast<std::uint32_t>(m));
        const std::uint32_t k = spec.k();
        for (std::uint32_t id : {1U, 2U, 3U, 100U, 65535U, 2147483647U, 2147483648U, 4294967295U}) {
            std::uint32_t pos[8];
            spec.positions(id, pos);
            for (std::uint32_t j = 0; j < k; ++j) {
                const std::int64_t v = reference_signed_murmur(id, bloom::spotlight_seeds[j]);
                const auto mm = static_cast<std::int64_t>(m);
                const std::int64_t python_mod = ((v % mm) + mm) % mm;
                INFO("m " << m << ", id " << id << ", j " << j);
                CHECK(pos[j] == static_cast<std::uint64_t>(python_mod));
            }
        }
        std::uint32_t zero[8];
        spec.positions(std::uint32_t{0}, zero);
        for (std::uint32_t j = 0; j < k; ++j) CHECK(zero[j] == 0);
    }
}

TEST_CASE("spotlight_spec configuration", "[spotlight]") {
    const auto spec = bloom::spotlight_spec(336);
    CHECK(spec.m() == 336);
    CHECK(spec.k() == 4);
    CHECK(spec.key_bytes() == 4);
    CHECK(spec.reduce() == bloom::reduction::spotlight);
    CHECK(spec.derive() == bloom::derivation::seeded);
    CHECK(spec.config().padding_zero);
    REQUIRE(spec.seeds().size() == 4);
    for (std::size_t j = 0; j < 4; ++j) CHECK(spec.seeds()[j] == bloom::spotlight_seeds[j]);
    CHECK(bloom::spotlight_seeds[0] == 179424941U);
    CHECK(bloom::spotlight_seeds[7] == 179426407U);

    const auto checked = bloom::spotlight_spec(188, 2, 943);
    CHECK(checked.items() == 943);
    CHECK_THROWS_AS(checked.check_id(943), bloom::out_of_range);
}

TEST_CASE("spotlight_spec and spotlight_rows reject bad arguments with a message",
          "[spotlight]") {
    CHECK_THROWS_AS(bloom::spotlight_spec(100, 0), bloom::invalid_argument);
    CHECK_THROWS_WITH(bloom::spotlight_spec(100, 9), Catch::Contains("k = 9") &&
                                                         Catch::Contains("1..8"));
    CHECK_THROWS_AS(bloom::spotlight_spec(0, 4), bloom::invalid_argument);
    CHECK_THROWS_AS(bloom::spotlight_spec(3, 4), bloom::invalid_argument);  // k > m

    // Spotlight's int(compression_ratio * num_embeddings).
    CHECK(bloom::spotlight_rows(943, 0.2) == 188);
    CHECK(bloom::spotlight_rows(1682, 0.2) == 336);
    CHECK(bloom::spotlight_rows(10, 1.0) == 10);
    CHECK(bloom::spotlight_rows(100, 0.29) == 28);  // 0.29 * 100 = 28.999999999999996 in double
    CHECK_THROWS_WITH(bloom::spotlight_rows(4, 0.2), Catch::Contains("0 rows"));
    CHECK_THROWS_AS(bloom::spotlight_rows(100, 0.0), bloom::invalid_argument);
    CHECK_THROWS_AS(bloom::spotlight_rows(100, -1.0), bloom::invalid_argument);
    CHECK_THROWS_AS(bloom::spotlight_rows(100, std::numeric_limits<double>::quiet_NaN()),
                    bloom::invalid_argument);
    CHECK_THROWS_AS(bloom::spotlight_rows(std::uint64_t{1} << 40, 1.0), bloom::invalid_argument);
}
