// What the harnesses share: reading knobs off the front of the input, a per-process temp file,
// and a check that traps (a crash libFuzzer reports, with the failed condition printed first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#include <bloom/error.hpp>

namespace bloom_fuzz {

// An invariant of the library that does not hold: print it and trap.
#define BLOOM_FUZZ_CHECK(cond)                                                               \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::fprintf(stderr, "bloom fuzz: invariant violated: %s (%s:%d)\n", #cond,      \
                         __FILE__, __LINE__);                                                \
            __builtin_trap();                                                                \
        }                                                                                    \
    } while (0)

// Consumes the input from the front; past its end every read gives zeros.
class input {
public:
    input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}

    std::uint8_t byte() {
        if (n_ == 0) return 0;
        --n_;
        return *p_++;
    }
    template <class T>
    T take() {  // a little-endian unsigned integer of sizeof(T) bytes
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(T{byte()} << (8 * i));
        return v;
    }
    template <class T>
    T raw() {  // the next sizeof(T) bytes as a T (a float or double bit pattern)
        unsigned char b[sizeof(T)] = {};
        for (std::size_t i = 0; i < sizeof(T); ++i) b[i] = byte();
        T v;
        std::memcpy(&v, b, sizeof v);
        return v;
    }
    // An integer in [lo, hi].
    std::uint64_t in_range(std::uint64_t lo, std::uint64_t hi) {
        const std::uint64_t span = hi - lo + 1;
        const std::uint64_t v = hi - lo < 0x100 ? byte() : hi - lo < 0x10000 ? take<std::uint16_t>()
                                                                             : take<std::uint32_t>();
        return span == 0 ? lo + v : lo + v % span;
    }
    const std::uint8_t* rest() const noexcept { return p_; }
    std::size_t left() const noexcept { return n_; }
    bool empty() const noexcept { return n_ == 0; }

private:
    const std::uint8_t* p_;
    std::size_t n_;
};

// A file of this process only ($TMPDIR, else /dev/shm, else /tmp), with the pid in its name.
inline std::string temp_path(const char* harness, const char* suffix) {
    const char* dir = std::getenv("TMPDIR");
    std::string d = dir != nullptr && *dir != '\0' ? dir
                    : ::access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                       : "/tmp";
    return d + "/bloom-" + harness + "-" + std::to_string(::getpid()) + suffix;
}

inline void write_file(const std::string& path, const void* data, std::size_t size) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
        std::perror(path.c_str());
        std::abort();  // not the library's fault, but nothing can be tested without it
    }
    if (size != 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
}

// Runs f; true when it threw a bloom::error. Any other exception escapes (a crash).
template <class F>
bool throws(F&& f) {
    try {
        f();
    } catch (const bloom::error&) {
        return true;
    }
    return false;
}

}  // namespace bloom_fuzz
