// The model-file container: sections round-trip aligned and typed; every truncation, every
// flipped byte outside the zero padding and every malformed header gives a format_error; a save
// that fails before its rename leaves the previous file as it was.
#include <catch2/catch.hpp>

#include <bloom/io/model_file.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

namespace io = bloom::io;

std::string temp_path(const std::string& name) {
    return "/tmp/bloom-io-test-" + std::to_string(::getpid()) + "-" + name;
}

std::vector<char> read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// A small file with one section of each type.
void write_sample(const std::string& path) {
    io::model_writer w(path);
    const std::vector<float> f = {1.5f, -2.25f, 3.0f};
    const std::vector<double> d = {0.1, 1e300};
    const std::vector<std::uint32_t> u = {7, 8, 9, 10, 11};
    const std::vector<std::uint64_t> u64 = {1ULL << 40};
    const std::vector<std::int64_t> i64 = {-1, 5};
    w.add("floats", f);
    w.add("doubles", d);
    w.add("u32", u);
    w.add("u64", u64);
    w.add("i64", i64);
    w.add_text("text", "hello");
    w.add("empty", std::vector<float>{});
    w.commit();
}

std::string load_error(const std::string& path) {
    try {
        io::model_reader r(path);
    } catch (const io::format_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("model file: sections round-trip with their types, 64-byte aligned") {
    const std::string path = temp_path("roundtrip.bin");
    write_sample(path);
    io::model_reader r(path);
    REQUIRE(r.sections().size() == 7);
    std::uint64_t n = 0;
    const float* f = r.view<float>("floats", &n);
    REQUIRE(n == 3);
    CHECK(f[0] == 1.5f);
    CHECK(f[1] == -2.25f);
    CHECK(r.view<double>("doubles", &n)[1] == 1e300);
    CHECK(r.view<std::uint32_t>("u32", &n)[4] == 11);
    CHECK(n == 5);
    CHECK(r.view<std::uint64_t>("u64")[0] == (1ULL << 40));
    CHECK(r.view<std::int64_t>("i64")[0] == -1);
    CHECK(r.text("text") == "hello");
    r.view<float>("empty", &n);
    CHECK(n == 0);
    for (const io::section& s : r.sections())
        CHECK(reinterpret_cast<std::uintptr_t>(s.data) % io::section_alignment == 0);
    CHECK_THROWS_WITH(r.view<double>("floats"),
                      Catch::Contains("section 'floats' holds float32, expected float64"));
    CHECK_THROWS_WITH(r.get("nope"), Catch::Contains("no section 'nope'"));
    std::remove(path.c_str());
}

TEST_CASE("model file: every truncation is a format_error") {
    const std::string path = temp_path("trunc-src.bin");
    const std::string cut = temp_path("trunc.bin");
    write_sample(path);
    const std::vector<char> all = read_all(path);
    for (std::size_t len = 0; len < all.size(); ++len) {
        write_all(cut, std::vector<char>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(len)));
        INFO("length " << len << " of " << all.size());
        const std::string e = load_error(cut);
        CHECK(e.find(cut) != std::string::npos);
        CHECK(e.find("truncated") != std::string::npos);
    }
    std::vector<char> longer = all;
    longer.push_back('x');
    write_all(cut, longer);
    CHECK_THAT(load_error(cut), Catch::Contains("bytes after the end"));
    std::remove(path.c_str());
    std::remove(cut.c_str());
}

TEST_CASE("model file: a flipped byte is caught unless it is zero padding") {
    const std::string path = temp_path("flip-src.bin");
    const std::string bad = temp_path("flip.bin");
    write_sample(path);
    const std::vector<char> all = read_all(path);
    // The bytes that no checksum covers: the padding before each section and before the directory.
    std::vector<bool> covered(all.size(), false);
    {
        io::model_reader r(path);
        for (std::size_t b = 0; b < 64; ++b) covered[b] = true;
        for (const io::section& s : r.sections())
            for (std::uint64_t b = s.offset; b < s.offset + s.bytes; ++b) covered[b] = true;
        const std::size_t dir = all.size() - r.sections().size() * 96;
        for (std::size_t b = dir; b < all.size(); ++b) covered[b] = true;
    }
    std::size_t caught = 0, padding = 0;
    for (std::size_t b = 0; b < all.size(); ++b) {
        std::vector<char> x = all;
        x[b] = static_cast<char>(x[b] ^ 0x5A);
        write_all(bad, x);
        INFO("byte " << b);
        const std::string e = load_error(bad);
        if (covered[b]) {
            CHECK(!e.empty());
            ++caught;
        } else {
            CHECK(e.empty());
            ++padding;
        }
    }
    CHECK(caught > padding);
    std::remove(path.c_str());
    std::remove(bad.c_str());
}

TEST_CASE("model file: wrong magic, missing file, a folder") {
    const std::string path = temp_path("magic.bin");
    write_sample(path);
    std::vector<char> all = read_all(path);
    all[0] = 'X';
    write_all(path, all);
    CHECK_THAT(load_error(path), Catch::Contains("not a bloom model file"));
    std::vector<char> text(200, 'a');
    write_all(path, text);
    CHECK_THAT(load_error(path), Catch::Contains("not a bloom model file"));
    std::remove(path.c_str());
    CHECK_THAT(load_error(path), Catch::Contains("cannot open"));
    CHECK_THAT(load_error("/tmp"), Catch::Contains("not a regular file"));
}

#if defined(__linux__)
// Found by tests/fuzz/fuzz_model_file: model_reader's constructor mapped the file and then threw
// from its checks, which runs no destructor, so every refused file kept its mapping until the
// process ran out of them (vm.max_map_count) after some 65,000 refusals.
TEST_CASE("model file: a refused file does not keep its mapping") {
    const auto mappings = [] {
        std::ifstream maps("/proc/self/maps");
        std::string line;
        int n = 0;
        while (std::getline(maps, line)) ++n;
        return n;
    };
    const std::string path = temp_path("refused.bin");
    write_sample(path);
    std::vector<char> all = read_all(path);
    all[64] = static_cast<char>(all[64] ^ 1);  // the first section's data: a checksum mismatch
    write_all(path, all);
    REQUIRE_THAT(load_error(path), Catch::Contains("corrupt data (checksum mismatch)"));
    const int before = mappings();
    for (int i = 0; i < 200; ++i) load_error(path);
    CHECK(mappings() < before + 20);
    std::remove(path.c_str());
}
#endif

TEST_CASE("model file: writer rejects bad names and duplicates, and an unwritable folder") {
    const std::string path = temp_path("names.bin");
    io::model_writer w(path);
    CHECK_THROWS_WITH(w.add_text("", "x"), Catch::Contains("must be 1-55 characters"));
    CHECK_THROWS_WITH(w.add_text("a b", "x"), Catch::Contains("must be 1-55 characters"));
    CHECK_THROWS_WITH(w.add_text(std::string(56, 'a'), "x"), Catch::Contains("must be 1-55"));
    w.add_text("a", "x");
    CHECK_THROWS_WITH(w.add_text("a", "y"), Catch::Contains("two sections named 'a'"));
    w.abandon();
    CHECK(!file_exists(path));
    CHECK_THROWS_WITH(io::model_writer("/nonexistent-folder/model.bin"),
                      Catch::Contains("/nonexistent-folder/model.bin") &&
                          Catch::Contains("cannot create"));
}

TEST_CASE("model file: a save that fails before the rename keeps the old file") {
    const std::string path = temp_path("atomic.bin");
    write_sample(path);
    const std::vector<char> before = read_all(path);
    io::detail::before_rename_hook() = [] { throw std::runtime_error("simulated crash"); };
    {
        io::model_writer w(path);
        w.add_text("other", "a different model");
        CHECK_THROWS_WITH(w.commit(), "simulated crash");
    }
    io::detail::before_rename_hook() = nullptr;
    CHECK(read_all(path) == before);
    CHECK_NOTHROW(io::model_reader(path));
    // no temporary file is left beside it
    bool leftover = false;
    for (int i = 0; i < 10; ++i)
        leftover = leftover || file_exists(path + ".tmp-" + std::to_string(::getpid()) + "-" +
                                           std::to_string(i));
    CHECK(!leftover);
    // a writer dropped without commit() leaves nothing either
    { io::model_writer w(path); w.add_text("x", "y"); }
    CHECK(read_all(path) == before);
    std::remove(path.c_str());
}
