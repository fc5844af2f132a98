// scripts/fetch-movielens.sh, run against a small fake archive served from a file:// URL.
// No MovieLens data is involved: the archive holds a few invented ratings.
#include <catch2/catch.hpp>

#include <bloom/data/loaders.hpp>

#include "fixtures/temp_files.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

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
    const bool can_hash = (have("sha256sum") || have("shasum") || have("python3")) &&
                          (have("md5sum") || have("md5") || have("python3"));
    const bool can_unzip = have("unzip") || have("python3");
    if (!have("bash") || !can_zip || !can_hash || !can_unzip) {
        WARN("SKIPPED: fetch-movielens.sh test needs bash, zip or python3, sha256sum and md5sum "
             "or python3, unzip or python3");
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
    REQUIRE(run("cd " + quote(root.string()) + " && (md5sum srv/ml-100k.zip 2>/dev/null || "
                "python3 -c 'import hashlib, sys; "
                "print(hashlib.md5(open(sys.argv[1], \"rb\").read()).hexdigest(), sys.argv[1])' "
                "srv/ml-100k.zip) > md5.txt") == 0);
    const std::string md5 = bloom_test::read_all((root / "md5.txt").string()).substr(0, 32);
    REQUIRE(md5.size() == 32);

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
        // latest-small has no published, fixed sum, so the script's table has none for it.
        const std::string dest = (root / "none").string();
        CHECK(fetch("--base-url " + quote(base) + " latest-small", dest) == 2);
        CHECK_THAT(err(), Catch::Contains("--no-verify"));
        CHECK_FALSE(fs::exists(dest));
    }
    SECTION("the built-in table holds GroupLens's published MD5 sums, and a fake archive fails them") {
        // The same fake zip served under every archive name: each is downloaded, checked against
        // the table's sum, refused (exit 3) and nothing is unpacked.
        const fs::path table_srv = root / "table-srv";
        fs::create_directories(table_srv);
        const std::pair<const char*, const char*> published[] = {
            {"100k", "0e33842e24a9c977be4e0107933c0723"},
            {"1m", "c4d9eecfca2ab87c1945afe126590906"},
            {"10m", "ce571fd55effeba0271552578f2648bd"},
            {"20m", "cd245b17a1ae2cc31bb14903e1204af3"},
            {"25m", "6b51fb2759a8657d3bfcbfc42b592ada"},
        };
        for (const auto& [name, sum] : published) {
            fs::copy_file(root / "srv" / "ml-100k.zip",
                          table_srv / (std::string("ml-") + name + ".zip"));
        }
        const std::string table_base = "file://" + table_srv.string();
        for (const auto& [name, sum] : published) {
            INFO(name);
            const std::string dest = (root / (std::string("table-") + name)).string();
            CHECK(fetch("--base-url " + quote(table_base) + " " + name, dest) == 3);
            CHECK_THAT(err(), Catch::Contains("checksum mismatch") &&
                                  Catch::Contains(std::string("expected md5 ") + sum) &&
                                  Catch::Contains(md5));
            CHECK(fs::is_empty(dest));
        }
    }
    SECTION("--md5: the right sum unpacks, a wrong one is refused") {
        const std::string dest = (root / "md5").string();
        CHECK(fetch("--base-url " + quote(base) + " --md5 " + std::string(32, 'f') + " 100k",
                    dest) == 3);
        CHECK_THAT(err(), Catch::Contains("checksum mismatch"));
        CHECK(fs::is_empty(dest));
        REQUIRE(fetch("--base-url " + quote(base) + " --md5 " + md5 + " 100k", dest) == 0);
        CHECK_THAT(err(), Catch::Contains("md5 " + md5 + " verified"));
        CHECK(bloom_test::read_all(dest + "/ml-100k/u.data") == ratings);
        CHECK(fetch("--md5 abc 100k", (root / "md5-bad").string()) == 1);
        CHECK(fetch("--md5 " + md5 + " --sha256 " + sha + " 100k", (root / "md5-both").string()) ==
              1);
    }
    SECTION("without --dest it unpacks into ../shared/data beside the repository") {
        // A copy of the script in a fake checkout: <root>/checkout/scripts/fetch-movielens.sh.
        fs::create_directories(root / "checkout" / "scripts");
        const fs::path copy = root / "checkout" / "scripts" / "fetch-movielens.sh";
        fs::copy_file(script, copy);
        const int status = run("cd / && bash " + quote(copy.string()) + " --base-url " +
                               quote(base) + " --sha256 " + sha + " 100k >" +
                               quote((root / "out.txt").string()) + " 2>" +
                               quote((root / "err.txt").string()));
        REQUIRE(status == 0);
        const fs::path expected = root.lexically_normal() / "shared" / "data" / "ml-100k" / "u.data";
        CHECK(out() == expected.string());
        CHECK(bloom_test::read_all(expected.string()) == ratings);
        CHECK_FALSE(fs::exists(root / "checkout" / "data"));
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
