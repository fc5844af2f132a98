// scripts/fetch-movielens.sh, run against a small fake archive served from a file:// URL.
// No MovieLens data is involved: the archive holds a few invented ratings.
#include <catch2/catch.hpp>

#include <bloom/data/loaders.hpp>

#include "fixtures/temp_files.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <sys/wait.h>

namespace fs = std::filesystem;

namespace {

const std::string script = BLOOM_TEST_DATA_DIR "/../../scripts/fetch-movielens.sh";

std::string quote(const std::string& s) {  // for a POSIX shell
    std::string q = "'";
    for (const char c : s) {
        if (c == '\'') q += "'\\''";
        else q += c;
    }
    return q + "'";
}

// The exit status of a shell command (-1 if it did not exit normally).
int run(const std::string& command) {
    const int r = std::system(command.c_str());
    if (r == -1 || !WIFEXITED(r)) return -1;
    return WEXITSTATUS(r);
}

bool have(const std::string& tool) {
    return run("command -v " + tool + " >/dev/null 2>&1") == 0;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace

TEST_CASE("fetch-movielens.sh fetches, verifies and unpacks, and refuses what it cannot verify") {
    const bool can_zip = have("zip") || have("python3");
    const bool can_hash = have("sha256sum") || have("shasum") || have("python3");
    const bool can_unzip = have("unzip") || have("python3");
    if (!have("bash") || !can_zip || !can_hash || !can_unzip) {
        WARN("SKIPPED: fetch-movielens.sh test needs bash, zip or python3, sha256sum or python3, "
             "unzip or python3");
        return;
    }
    bloom_test::temp_dir dir;
    const fs::path root = dir.path();
    fs::create_directories(root / "src" / "ml-100k");
    fs::create_directories(root / "srv");
    fs::create_directories(root / "bad-srv");
    const std::string ratings = "1\t10\t4\t100\n1\t20\t3\t101\n2\t10\t5\t102\n";
    dir.write("src/ml-100k/u.data", ratings);
    dir.write("src/ml-100k/README", "a fake archive for bloom's tests\n");

    // zip -r src/ml-100k -> srv/ml-100k.zip (and one without u.data -> bad-srv).
    auto make_zip = [&](const std::string& zip, const std::string& folder,
                        const std::string& only) {
        if (have("zip")) {
            return run("cd " + quote((root / "src").string()) + " && zip -qr " + quote(zip) +
                       " " + quote(folder + only));
        }
        return run("cd " + quote((root / "src").string()) +
                   " && python3 -c 'import sys, os, zipfile\n"
                   "z = zipfile.ZipFile(sys.argv[1], \"w\")\n"
                   "for d, _, fs in os.walk(sys.argv[2]):\n"
                   "    for f in fs: z.write(os.path.join(d, f))\n' " +
                   quote(zip) + " " + quote(folder + only));
    };
    REQUIRE(make_zip((root / "srv" / "ml-100k.zip").string(), "ml-100k", "") == 0);
    REQUIRE(make_zip((root / "bad-srv" / "ml-100k.zip").string(), "ml-100k", "/README") == 0);
    REQUIRE(run("cd " + quote(root.string()) + " && (sha256sum srv/ml-100k.zip 2>/dev/null || "
                "shasum -a 256 srv/ml-100k.zip 2>/dev/null || python3 -c 'import hashlib, sys; "
                "print(hashlib.sha256(open(sys.argv[1], \"rb\").read()).hexdigest(), sys.argv[1])' "
                "srv/ml-100k.zip) > sum.txt") == 0);
    const std::string sha = bloom_test::read_all((root / "sum.txt").string()).substr(0, 64);
    REQUIRE(sha.size() == 64);

    const std::string base = "file://" + (root / "srv").string();
    auto fetch = [&](const std::string& args, const std::string& dest) {
        return run("bash " + quote(script) + " " + args + " --dest " + quote(dest) + " >" +
                   quote((root / "out.txt").string()) + " 2>" +
                   quote((root / "err.txt").string()));
    };
    auto out = [&] { return trim(bloom_test::read_all((root / "out.txt").string())); };
    auto err = [&] { return bloom_test::read_all((root / "err.txt").string()); };

    SECTION("with the right checksum: unpacked, and the loader reads it") {
        const std::string dest = (root / "data").string();
        REQUIRE(fetch("--base-url " + quote(base) + " --sha256 " + sha + " 100k", dest) == 0);
        CHECK(out() == dest + "/ml-100k/u.data");
        CHECK(bloom_test::read_all(dest + "/ml-100k/u.data") == ratings);
        CHECK(fs::exists(dest + "/ml-100k/README"));
        CHECK_FALSE(fs::exists(dest + "/ml-100k.zip"));  // not kept unless asked
        const auto loaded = bloom::data::load_movielens(out());
        CHECK(loaded.data.size() == 3);
        CHECK(loaded.data.n_users == 2);
        // Leftovers of the work folder are gone.
        for (const auto& e : fs::directory_iterator(dest)) {
            CHECK(e.path().filename().string().rfind(".fetch-", 0) != 0);
        }

        // Already there: nothing to fetch, so no checksum is needed; the path is printed.
        CHECK(fetch("--base-url " + quote(base) + " ml-100k", dest) == 0);
        CHECK_THAT(err(), Catch::Contains("already there"));
        CHECK(out() == dest + "/ml-100k/u.data");
    }
    SECTION("a wrong checksum is rejected and nothing is unpacked") {
        const std::string dest = (root / "wrong").string();
        CHECK(fetch("--base-url " + quote(base) + " --sha256 " + std::string(64, '0') + " 100k",
                    dest) == 3);
        CHECK_THAT(err(), Catch::Contains("checksum mismatch"));
        CHECK_FALSE(fs::exists(dest + "/ml-100k"));
        CHECK(fs::is_empty(dest));
    }
    SECTION("without a checksum it refuses to download") {
        const std::string dest = (root / "none").string();
        CHECK(fetch("--base-url " + quote(base) + " 100k", dest) == 2);
        CHECK_THAT(err(), Catch::Contains("--no-verify"));
        CHECK_FALSE(fs::exists(dest));
    }
    SECTION("a checksums file, in sha256sum's format") {
        const std::string sums = dir.write("SHA256SUMS", sha + "  ml-100k.zip\n");
        const std::string dest = (root / "sums").string();
        CHECK(fetch("--base-url " + quote(base) + " --checksums " + quote(sums) + " --keep-archive 100k",
                    dest) == 0);
        CHECK(fs::exists(dest + "/ml-100k/u.data"));
        CHECK(fs::exists(dest + "/ml-100k.zip"));
        const std::string other = dir.write("OTHER", sha + "  ml-1m.zip\n");
        CHECK(fetch("--base-url " + quote(base) + " --checksums " + quote(other) + " 100k",
                    (root / "sums2").string()) == 2);
    }
    SECTION("--no-verify accepts it and prints the checksum to pin") {
        const std::string dest = (root / "unverified").string();
        CHECK(fetch("--base-url " + quote(base) + " --no-verify 100k", dest) == 0);
        CHECK_THAT(err(), Catch::Contains("NOT verified") && Catch::Contains(sha));
        CHECK(fs::exists(dest + "/ml-100k/u.data"));
    }
    SECTION("an archive without the ratings file, a missing archive, bad arguments") {
        const std::string bad = "file://" + (root / "bad-srv").string();
        CHECK(fetch("--base-url " + quote(bad) + " --no-verify 100k", (root / "b").string()) == 4);
        CHECK_THAT(err(), Catch::Contains("has no ml-100k/u.data"));
        CHECK(fetch("--base-url " + quote(base) + " --no-verify 1m", (root / "c").string()) == 4);
        CHECK(fetch("--no-verify 42m", (root / "d").string()) == 1);
        CHECK(fetch("--sha256 abc 100k", (root / "e").string()) == 1);
        CHECK(fetch("--frobnicate 100k", (root / "f").string()) == 1);
    }
}
