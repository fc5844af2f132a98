// Writes the seed corpora of the fuzz harnesses: tests/fuzz/corpus/<harness>/<name>, small
// real-looking inputs and a few edge cases, laid out as each harness reads its input (the knob
// bytes first; see the harness). Run from the repository root:
//
//     build/fuzz/tests/fuzz/bloom_fuzz_make_corpus tests/fuzz/corpus
//
// The output is deterministic, so the committed corpus can be regenerated and compared.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "small_models.hpp"

namespace {

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

fs::path root;

void write(const std::string& harness, const std::string& name, const bytes& b) {
    const fs::path dir = root / harness;
    fs::create_directories(dir);
    std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!f) {
        std::fprintf(stderr, "make_corpus: cannot write %s\n", (dir / name).c_str());
        std::exit(1);
    }
}

// Appends helpers.
void put(bytes& b, std::uint8_t v) { b.push_back(v); }
void put16(bytes& b, std::uint16_t v) {
    put(b, static_cast<std::uint8_t>(v));
    put(b, static_cast<std::uint8_t>(v >> 8));
}
void put64(bytes& b, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) put(b, static_cast<std::uint8_t>(v >> (8 * i)));
}
void put(bytes& b, const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }

// fuzz_loaders: mode, separator, columns, flags, chunk, header; then the file.
void loaders() {
    const auto knobs = [](std::uint8_t mode, std::uint8_t sep, std::uint8_t cols,
                          std::uint8_t flags, std::uint8_t chunk, std::uint8_t header,
                          const std::string& text) {
        bytes b = {mode, sep, cols, flags, chunk, header};
        put(b, text);
        return b;
    };
    // Made-up lines in the MovieLens layouts (never lines of the real files, which may not be
    // redistributed).
    const std::string udata = "7\t31\t4\t880000100\n12\t5\t3\t880000250\n7\t19\t1\t880000900\n"
                              "40\t31\t2\t880001000\n";
    // load_movielens with each format, and format detection
    write("fuzz_loaders", "ml100k-layout", knobs(1, 0, 0, 0, 0, 0, udata));
    write("fuzz_loaders", "ml1m-layout",
          knobs(4, 0, 0, 0, 0, 0, "3::77::4::970000001\n3::12::2::970000050\n9::77::5::970000400\n"));
    write("fuzz_loaders", "ml-csv-layout",
          knobs(7, 0, 0, 0, 0, 0,
                "userId,movieId,rating,timestamp\n4,81,4.5,1100000001\n4,17,3.0,1100000090\n"
                "8,81,2.5,1100000300\n"));
    write("fuzz_loaders", "detect-ml100k-layout", knobs(2, 0, 0, 0, 0, 0, udata));
    // load_csv: ';' separator, header, string ids, weight in column 3, bad lines skipped,
    // 3-byte chunks, 2 lines reported
    write("fuzz_loaders", "csv-strings",
          knobs(0, 3 | 8 | 16, 0 | (1 << 2) | (1 << 4), 8 | 128, 2 | (2 << 3), 0,
                "user;item;w\nalice;x1;1.5\nbob;x2;-2\nalice;x2;x\n\n  carol ; x1 ;0.25\n"));
    // load_csv: tab, integer ids, timestamp in column 3 (code 1 = column 2), exactly 3 fields
    write("fuzz_loaders", "tsv-timestamps",
          knobs(0, 1, 0 | (1 << 2) | (1 << 6), 3 | 128, 1, 0, "3\t7\t100\n3\t8\t-5\n9\t7\t0\n"));
    // edge cases: CRLF, a byte-order mark, blank lines, no final line break, a '\r' inside
    write("fuzz_loaders", "crlf-bom",
          knobs(1, 0, 0, 8 | 128, 0 | (1 << 3), 0,
                "\xEF\xBB\xBF" "1\t2\t3\t4\r\n\r\n  \n5\t6\t7\t8\r\r\n9\t10\t1\t2"));
    write("fuzz_loaders", "all-bad-unreported", knobs(0, 0, 0, 8, 0, 0, "0,\n32,\nx,1\n"));
    write("fuzz_loaders", "empty", knobs(0, 0, 0, 0, 0, 0, ""));
    write("fuzz_loaders", "header-only", knobs(7, 0, 0, 0, 0, 0, "userId,movieId,rating,timestamp\n"));
    write("fuzz_loaders", "long-line",
          knobs(0, 2, 1 << 2, 128, 0, 0,
                std::string(300, '7') + "::1\n18446744073709551615::18446744073709551616\n"));
}

// fuzz_decoder: knobs, m (2 bytes), k, d (2 bytes), seed (8), reduction/floor, length knob, n,
// exclusion count, exclusions (2 bytes each), then one selector (+ byte) per output value.
bytes decoder_input(std::uint8_t knobs, std::uint16_t m, std::uint8_t k, std::uint16_t d,
                    std::uint64_t seed, std::uint8_t red, std::uint8_t n,
                    const std::vector<std::uint16_t>& ex, const bytes& values) {
    bytes b;
    put(b, knobs);
    put16(b, m);
    put(b, k);
    put16(b, d);
    put64(b, seed);
    put(b, red);
    put(b, 0);  // the right output length
    put(b, n);
    put(b, static_cast<std::uint8_t>(ex.size()));
    for (const std::uint16_t e : ex) put16(b, e);
    b.insert(b.end(), values.begin(), values.end());
    return b;
}

void decoder() {
    bytes probs;  // ordinary probabilities: selector 13, then p * 255
    for (int i = 0; i < 64; ++i) {
        put(probs, 13);
        put(probs, static_cast<std::uint8_t>((i * 53) % 256));
    }
    // knobs % 3 picks the policy (0 xxh3, 1 murmur3_32, 2 multiply_shift), the bits the rest.
    // xxh3, float probabilities, table lookup (even seed), m = 64, k = 4, d = 100
    write("fuzz_decoder", "xxh3-float", decoder_input(0, 64, 4, 100, 42, 0, 10, {3, 17, 17}, probs));
    // murmur3_32, double log-probabilities, on-the-fly (odd seed), padding_zero, m = 64, k = 3
    write("fuzz_decoder", "murmur-double-logs",
          decoder_input(2 | 8 | 32 | 64, 64, 3, 50, 7, 1, 5, {0, 49}, probs));
    // multiply_shift, double hashing, 4-byte keys, modulo reduction, floor 1e-6, 3 batch rows
    write("fuzz_decoder", "multiply-shift-double-hashing",
          decoder_input(4 | 16, 64, 5, 80, 0x200, 2 | (3 << 2), 80, {}, probs));
    // special values: NaN, +inf, -0, a denormal, just above 1, raw bits
    write("fuzz_decoder", "specials",
          decoder_input(0, 8, 2, 10, 2, 0, 3, {}, {2, 3, 5, 6, 7, 8, 11, 0, 0, 128, 63, 10}));
    write("fuzz_decoder", "k-above-m", decoder_input(0, 4, 5, 10, 0, 0, 3, {}, {}));
    write("fuzz_decoder", "one-of-each", decoder_input(0, 1, 1, 1, 0, 0, 1, {0}, {1}));
    write("fuzz_decoder", "exclusion-out-of-range", decoder_input(0, 16, 2, 20, 0, 0, 4, {20, 21}, {}));
}

// fuzz_encoder: knobs, m kind (>= 4: m in 2 bytes), k, d (2 bytes), seed (8), seeds byte, id
// count, ids (a selector >= 16 and 2 bytes each), CSR rows and lengths, end byte, keys.
bytes encoder_input(std::uint8_t knobs, std::uint16_t m, std::uint8_t k, std::uint16_t d,
                    std::uint64_t seed, const std::vector<std::uint16_t>& ids,
                    const std::vector<std::uint8_t>& rows, const std::string& keys) {
    bytes b;
    put(b, knobs);
    put(b, 4);  // m from the next 2 bytes, 1 + value % 5000
    put16(b, static_cast<std::uint16_t>(m - 1));
    put(b, k);
    put16(b, d);
    put64(b, seed);
    put(b, 0);  // derived seeds
    put(b, static_cast<std::uint8_t>(ids.size()));
    for (const std::uint16_t id : ids) {
        put(b, 16);
        put16(b, id);
    }
    put(b, static_cast<std::uint8_t>(rows.size()));
    for (const std::uint8_t r : rows) put(b, r);
    put(b, 0);  // the last offset is the id count
    put(b, keys);
    return b;
}

void encoder() {
    write("fuzz_encoder", "xxh3-k4",
          encoder_input(0, 336, 4, 1682, 1, {3, 17, 256, 1681, 17}, {2, 1, 2}, "alice\0bob"));
    write("fuzz_encoder", "murmur-double-hashing",
          encoder_input(4, 100, 3, 50, 9, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {4, 8},
                        std::string("k\0\0x", 4)));
    write("fuzz_encoder", "multiply-shift-padding-4byte",
          encoder_input(2 | 8 | (2 << 4) | (2 << 6), 40, 2, 30, 3, {0, 29, 28}, {1}, ""));
    write("fuzz_encoder", "k-above-64", encoder_input(0, 300, 70, 20, 5, {1, 2, 19}, {3}, "z"));
    write("fuzz_encoder", "open-ids", encoder_input(0, 1000, 4, 0, 5, {60000, 1}, {}, ""));
    bytes zero_m = {0, 0, 4, 10, 0};  // m = 0
    write("fuzz_encoder", "m-zero", zero_m);
    bytes huge_m = {0, 1, 4, 16, 0};  // m = 2^32
    put64(huge_m, 77);
    put(huge_m, 0);
    put(huge_m, 3);
    for (int i = 0; i < 3; ++i) {
        put(huge_m, 16);
        put16(huge_m, static_cast<std::uint16_t>(i * 5));
    }
    write("fuzz_encoder", "m-2-to-32", huge_m);
}

std::vector<std::uint8_t> read_all(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// fuzz_model_file: mode 0 + a real model file; mode 1 + a template index (+ edits).
void model_file() {
    using namespace bloom_fuzz;
    const std::string tmp = "/tmp/bloom-make-corpus-" + std::to_string(::getpid()) + ".bin";
    const auto raw = [&](const std::string& name) {
        bytes b = {0};
        const bytes file = read_all(tmp);
        b.insert(b.end(), file.begin(), file.end());
        write("fuzz_model_file", name, b);
    };
    bloom::io::save(tmp, make_bloom_freq());
    raw("bloom-freq.bin");
    bloom::io::save(tmp, make_hash_qr());
    raw("hash-qr.bin");
    bloom::io::save(tmp, make_hist_full());
    raw("hist-full.bin");
    bloom::io::save(tmp, make_sgd_bloom());
    raw("sgd-bloom.bin");
    save_object(tmp, make_adam());
    raw("adam.bin");
    save_object(tmp, make_id_map());
    raw("id-map.bin");
    std::remove(tmp.c_str());
    write("fuzz_model_file", "not-a-model", {0, 'B', 'L', 'O', 'O', 'M', 'M', 'D', 'L', 1, 0, 0, 0});
    // Structured: each template as it is, and a few edits (op byte, then its arguments).
    for (std::uint8_t t = 0; t < 6; ++t) write("fuzz_model_file", "template-" + std::to_string(t), {1, t});
    write("fuzz_model_file", "edit-meta-value", {1, 0, 7, 0, 3, 5});     // a value replaced
    write("fuzz_model_file", "edit-cut-section", {1, 1, 2, 2, 3, 0});    // a section cut
    write("fuzz_model_file", "edit-offsets", {1, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});  // 8 bytes set
    write("fuzz_model_file", "edit-retype-rename", {1, 2, 4, 1, 3, 5, 2, 9});
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
        return 2;
    }
    root = argv[1];
    loaders();
    decoder();
    encoder();
    model_file();
    return 0;
}
