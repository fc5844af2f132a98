// Shared by the tests that compare model files (tests/io, tests/models, tests/network): the file
// comparison and the small models they train.
#pragma once

#include <catch2/catch.hpp>

#include <bloom/io/model_file.hpp>
#include <bloom/models/embeddings.hpp>
#include <bloom/optim/adam.hpp>

#include <cstring>
#include <string>

namespace bloom_test {

// Every section of two model files, the metadata text included, byte for byte (the files may
// differ only in section order and padding).
inline bool same_files(const std::string& a, const std::string& b) {
    bloom::io::model_reader ra(a), rb(b);
    if (ra.sections().size() != rb.sections().size()) return false;
    for (const bloom::io::section& s : ra.sections()) {
        if (!rb.has(s.name)) return false;
        const bloom::io::section& t = rb.get(s.name);
        if (s.type != t.type || s.bytes != t.bytes) return false;
        if (s.bytes != 0 && std::memcmp(s.data, t.data, static_cast<std::size_t>(s.bytes)) != 0) {
            UNSCOPED_INFO("section " << s.name << " differs");
            return false;
        }
    }
    return true;
}

// The small models these tests train: dimension 8, the given initialisation seed; a hashed
// table of `rows` rows and k hashes with hash seed 3; Adam at lr 0.02.
inline bloom::models::embedding_options emb(std::uint64_t seed) {
    bloom::models::embedding_options o;
    o.dim = 8;
    o.seed = seed;
    return o;
}
inline bloom::models::bloom_options spec(std::uint64_t rows, std::uint32_t k) {
    bloom::models::bloom_options b;
    b.rows = rows;
    b.k = k;
    b.hash_seed = 3;
    return b;
}
inline bloom::optim::adam<float>::config opt() {
    bloom::optim::adam<float>::config c;
    c.lr = 0.02;
    return c;
}

}  // namespace bloom_test
