// Shared by the tests that compare model files (tests/io, tests/models, tests/network).
#pragma once

#include <catch2/catch.hpp>

#include <bloom/io/model_file.hpp>

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

}  // namespace bloom_test
