// Model files: a versioned container of named, checksummed, 64-byte-aligned sections.
//
// Layout (every integer in the writer's byte order; the reader accepts only its own, which the
// endianness mark checks):
//
//   0     header, 64 bytes
//           magic "BLOOMMDL" (8 bytes), format version (u32), endianness mark 0x01020304 (u32),
//           directory offset (u64), directory bytes (u64), file bytes (u64),
//           directory checksum (u64), reserved (8 bytes, zero), header checksum (u64, xxh64 of
//           the 56 bytes before it)
//   64    the sections' data, each starting at a multiple of 64 bytes (zero padding between),
//         so that a table of floats can be used in place from a memory-mapped file
//   ...   the directory: one 96-byte entry per section
//           name (56 bytes, NUL-padded: at most 55 characters), element type (u32), reserved
//           (u32), offset (u64), bytes (u64), elements (u64), checksum (u64, xxh64 of the data)
//
// model_writer streams sections to a temporary file in the destination's folder and, on
// commit(), writes the directory and header, flushes, syncs and renames the temporary file over
// the destination: a crash or an error at any point before the rename leaves an existing model
// untouched. model_reader maps the file (POSIX mmap; a plain read elsewhere), checks the header,
// the directory and every section's checksum, and then hands out typed views of the sections.
// Every problem, from a truncated file to a wrong element type, is a bloom::io::format_error
// that names the file and what is wrong. What the sections mean is archive.hpp's business.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <bloom/error.hpp>
#include <bloom/hash/xxhash.hpp>

#if defined(__unix__) || defined(__APPLE__)
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <sys/stat.h>
#  include <unistd.h>
#  define BLOOM_IO_POSIX 1
#else
#  define BLOOM_IO_POSIX 0
#endif

namespace bloom {
namespace io {

inline constexpr std::uint32_t format_version = 1;
inline constexpr std::size_t section_alignment = 64;
inline constexpr std::size_t max_section_name = 55;

// A model file that cannot be read as one: names the file and the problem.
class format_error : public error {
public:
    format_error(const std::string& file, const std::string& what)
        : error("bloom: " + file + ": " + what), file_(file) {}
    const std::string& file() const noexcept { return file_; }

private:
    std::string file_;
};

// The element type of a section.
enum class element : std::uint32_t { bytes = 0, u32 = 1, u64 = 2, i64 = 3, f32 = 4, f64 = 5 };

inline const char* to_string(element e) noexcept {
    switch (e) {
        case element::bytes: return "bytes";
        case element::u32: return "uint32";
        case element::u64: return "uint64";
        case element::i64: return "int64";
        case element::f32: return "float32";
        case element::f64: return "float64";
    }
    return "?";
}

inline std::size_t element_size(element e) noexcept {
    switch (e) {
        case element::bytes: return 1;
        case element::u32:
        case element::f32: return 4;
        case element::u64:
        case element::i64:
        case element::f64: return 8;
    }
    return 0;
}

// The element type that stores T (a compile error for anything else).
template <class T>
constexpr element element_of() noexcept {
    if constexpr (std::is_same_v<T, char> || std::is_same_v<T, unsigned char>)
        return element::bytes;
    else if constexpr (std::is_same_v<T, std::uint32_t>)
        return element::u32;
    else if constexpr (std::is_same_v<T, std::uint64_t> ||
                       (std::is_same_v<T, std::size_t> && sizeof(std::size_t) == 8))
        return element::u64;
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return element::i64;
    else if constexpr (std::is_same_v<T, float>)
        return element::f32;
    else {
        static_assert(std::is_same_v<T, double>,
                      "bloom::io: a section holds bytes, uint32, uint64, int64, float or double");
        return element::f64;
    }
}

namespace detail {

inline constexpr char magic[8] = {'B', 'L', 'O', 'O', 'M', 'M', 'D', 'L'};
inline constexpr std::uint32_t endian_mark = 0x01020304u;
inline constexpr std::size_t header_bytes = 64;
inline constexpr std::size_t entry_bytes = 96;

struct header {
    char magic[8];
    std::uint32_t version;
    std::uint32_t endian;
    std::uint64_t dir_offset;
    std::uint64_t dir_bytes;
    std::uint64_t file_bytes;
    std::uint64_t dir_checksum;
    std::uint64_t reserved;
    std::uint64_t checksum;
};
static_assert(sizeof(header) == header_bytes, "bloom::io: the header is 64 bytes");

struct entry {
    char name[max_section_name + 1];
    std::uint32_t type;
    std::uint32_t reserved;
    std::uint64_t offset;
    std::uint64_t bytes;
    std::uint64_t elements;
    std::uint64_t checksum;
};
static_assert(sizeof(entry) == entry_bytes, "bloom::io: a directory entry is 96 bytes");

inline std::uint64_t checksum(const void* p, std::size_t n) noexcept { return XXH64(p, n, 0); }

inline std::string errno_text() { return std::strerror(errno); }

// Called by model_writer::commit() just before the rename (tests simulate a failure there).
inline std::function<void()>& before_rename_hook() {
    static std::function<void()> hook;
    return hook;
}

inline bool valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_section_name) return false;
    for (const char c : name)
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
            c != '.' && c != '_' && c != '-')
            return false;
    return true;
}

}  // namespace detail

// Writes a model file section by section; nothing replaces `path` until commit().
class model_writer {
public:
    explicit model_writer(std::string path) : path_(std::move(path)) {
        static std::uint64_t counter = 0;
        tmp_ = path_ + ".tmp-" + std::to_string(process_id()) + "-" + std::to_string(++counter);
        f_ = std::fopen(tmp_.c_str(), "wb");
        if (f_ == nullptr)
            throw format_error(path_, "cannot create '" + tmp_ + "' to write the model: " +
                                          detail::errno_text());
        const char zeros[detail::header_bytes] = {};
        write_raw(zeros, sizeof zeros);
    }
    model_writer(const model_writer&) = delete;
    model_writer& operator=(const model_writer&) = delete;
    ~model_writer() { abandon(); }

    const std::string& path() const noexcept { return path_; }

    // Adds a section of n elements of T.
    template <class T>
    void add(std::string_view name, const T* data, std::size_t n) {
        add_raw(name, element_of<T>(), data, n * sizeof(T), n);
    }
    template <class T>
    void add(std::string_view name, const std::vector<T>& v) {
        add(name, v.data(), v.size());
    }
    void add_text(std::string_view name, std::string_view text) {
        add_raw(name, element::bytes, text.data(), text.size(), text.size());
    }

    // Writes the directory and the header, syncs, and renames the file into place.
    void commit() {
        if (f_ == nullptr) throw format_error(path_, "model_writer: already committed or abandoned");
        pad();
        const std::uint64_t dir_offset = offset_;
        std::vector<char> dir(entries_.size() * detail::entry_bytes);
        if (!dir.empty()) std::memcpy(dir.data(), entries_.data(), dir.size());
        write_raw(dir.data(), dir.size());
        detail::header h{};
        std::memcpy(h.magic, detail::magic, sizeof h.magic);
        h.version = format_version;
        h.endian = detail::endian_mark;
        h.dir_offset = dir_offset;
        h.dir_bytes = dir.size();
        h.file_bytes = offset_;
        h.dir_checksum = detail::checksum(dir.data(), dir.size());
        h.checksum = detail::checksum(&h, offsetof(detail::header, checksum));
        if (std::fseek(f_, 0, SEEK_SET) != 0) fail("cannot seek");
        if (std::fwrite(&h, sizeof h, 1, f_) != 1) fail("cannot write the header");
        if (std::fflush(f_) != 0) fail("cannot flush");
#if BLOOM_IO_POSIX
        if (::fsync(fileno(f_)) != 0) fail("cannot sync");
#endif
        std::FILE* f = f_;
        f_ = nullptr;
        if (std::fclose(f) != 0) {
            std::remove(tmp_.c_str());
            throw format_error(path_, "cannot close '" + tmp_ + "': " + detail::errno_text());
        }
        try {
            if (detail::before_rename_hook()) detail::before_rename_hook()();
        } catch (...) {
            std::remove(tmp_.c_str());
            throw;
        }
        if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
            const std::string why = detail::errno_text();
            std::remove(tmp_.c_str());
            throw format_error(path_, "cannot rename '" + tmp_ + "' into place: " + why);
        }
    }

    // Drops the temporary file (the destination stays as it was). The destructor does this when
    // commit() was not reached.
    void abandon() noexcept {
        if (f_ != nullptr) {
            std::fclose(f_);
            f_ = nullptr;
            std::remove(tmp_.c_str());
        }
    }

    std::uint64_t bytes_written() const noexcept { return offset_; }

private:
    static long process_id() noexcept {
#if BLOOM_IO_POSIX
        return static_cast<long>(::getpid());
#else
        return 0;
#endif
    }

    [[noreturn]] void fail(const std::string& what) {
        const std::string why = detail::errno_text();
        abandon();
        throw format_error(path_, what + " '" + tmp_ + "': " + why);
    }

    void write_raw(const void* p, std::size_t n) {
        if (n != 0 && std::fwrite(p, 1, n, f_) != n) fail("cannot write");
        offset_ += n;
    }

    void pad() {
        static const char zeros[section_alignment] = {};
        const std::size_t r = static_cast<std::size_t>(offset_ % section_alignment);
        if (r != 0) write_raw(zeros, section_alignment - r);
    }

    void add_raw(std::string_view name, element type, const void* data, std::size_t bytes,
                 std::size_t elements) {
        if (f_ == nullptr) throw format_error(path_, "model_writer: already committed or abandoned");
        if (!detail::valid_name(name))
            throw format_error(path_, "section name '" + std::string(name) +
                                          "' must be 1-55 characters of [A-Za-z0-9._-]");
        for (const detail::entry& e : entries_)
            if (name == e.name) throw format_error(path_, "two sections named '" + std::string(name) + "'");
        pad();
        detail::entry e{};
        std::memcpy(e.name, name.data(), name.size());
        e.type = static_cast<std::uint32_t>(type);
        e.offset = offset_;
        e.bytes = bytes;
        e.elements = elements;
        e.checksum = detail::checksum(data, bytes);
        write_raw(data, bytes);
        entries_.push_back(e);
    }

    std::string path_;
    std::string tmp_;
    std::FILE* f_ = nullptr;
    std::uint64_t offset_ = 0;
    std::vector<detail::entry> entries_;
};

// A section of a model file as read: a view into the mapped file.
struct section {
    std::string name;
    element type = element::bytes;
    const unsigned char* data = nullptr;
    std::uint64_t offset = 0;  // in the file
    std::uint64_t bytes = 0;
    std::uint64_t elements = 0;
};

// Opens, checks and maps a model file. Every section's checksum is verified on open.
class model_reader {
public:
    explicit model_reader(std::string path) : path_(std::move(path)) {
        map_file();
        // A constructor that throws runs no destructor: a file that fails its checks must not
        // keep its mapping (each refused file would cost one, up to the process's map limit).
        try {
            check();
        } catch (...) {
            unmap();
            throw;
        }
    }
    model_reader(const model_reader&) = delete;
    model_reader& operator=(const model_reader&) = delete;
    ~model_reader() { unmap(); }

    const std::string& path() const noexcept { return path_; }
    std::uint64_t file_bytes() const noexcept { return size_; }
    const std::vector<section>& sections() const noexcept { return sections_; }

    bool has(std::string_view name) const { return index_.count(std::string(name)) != 0; }

    const section& get(std::string_view name) const {
        const auto it = index_.find(std::string(name));
        if (it == index_.end()) fail("no section '" + std::string(name) + "'");
        return sections_[it->second];
    }

    // The section's elements as T, checking the stored type (and optionally the count).
    template <class T>
    const T* view(std::string_view name, std::uint64_t* count = nullptr) const {
        const section& s = get(name);
        if (s.type != element_of<T>())
            fail("section '" + s.name + "' holds " + to_string(s.type) + ", expected " +
                 to_string(element_of<T>()));
        if (count != nullptr) *count = s.elements;
        return reinterpret_cast<const T*>(s.data);
    }
    std::string_view text(std::string_view name) const {
        std::uint64_t n = 0;
        const char* p = view<char>(name, &n);
        return std::string_view(p, static_cast<std::size_t>(n));
    }

    [[noreturn]] void fail(const std::string& what) const { throw format_error(path_, what); }

private:
    void map_file() {
#if BLOOM_IO_POSIX
        const int fd = ::open(path_.c_str(), O_RDONLY);
        if (fd < 0) fail("cannot open: " + detail::errno_text());
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const std::string why = detail::errno_text();
            ::close(fd);
            fail("cannot stat: " + why);
        }
        if (!S_ISREG(st.st_mode)) {
            ::close(fd);
            fail("not a regular file");
        }
        size_ = static_cast<std::uint64_t>(st.st_size);
        if (size_ < detail::header_bytes) {
            ::close(fd);
            fail("truncated: " + std::to_string(size_) +
                 " bytes, a model file starts with a 64-byte header");
        }
        // Every byte is read at once (the checksums), so the pages are faulted in up front.
#  if defined(MAP_POPULATE)
        constexpr int flags = MAP_PRIVATE | MAP_POPULATE;
#  else
        constexpr int flags = MAP_PRIVATE;
#  endif
        void* p = ::mmap(nullptr, static_cast<std::size_t>(size_), PROT_READ, flags, fd, 0);
        ::close(fd);
        if (p == MAP_FAILED) fail("cannot map: " + detail::errno_text());
        base_ = static_cast<const unsigned char*>(p);
        mapped_ = true;
#else
        std::FILE* f = std::fopen(path_.c_str(), "rb");
        if (f == nullptr) fail("cannot open: " + detail::errno_text());
        std::vector<unsigned char> buf;
        unsigned char chunk[1 << 16];
        std::size_t got;
        while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) buf.insert(buf.end(), chunk, chunk + got);
        std::fclose(f);
        size_ = buf.size();
        if (size_ < detail::header_bytes)
            fail("truncated: " + std::to_string(size_) +
                 " bytes, a model file starts with a 64-byte header");
        // 64-byte aligned copy, so that sections stay aligned
        copy_.reset(new unsigned char[size_ + section_alignment]);
        unsigned char* a = copy_.get();
        while (reinterpret_cast<std::uintptr_t>(a) % section_alignment != 0) ++a;
        std::memcpy(a, buf.data(), size_);
        base_ = a;
#endif
    }

    void unmap() noexcept {
#if BLOOM_IO_POSIX
        if (mapped_) ::munmap(const_cast<unsigned char*>(base_), static_cast<std::size_t>(size_));
#endif
        mapped_ = false;
        base_ = nullptr;
    }

    void check() {
        detail::header h{};
        std::memcpy(&h, base_, sizeof h);
        if (std::memcmp(h.magic, detail::magic, sizeof h.magic) != 0)
            fail("not a bloom model file (its first 8 bytes are not \"BLOOMMDL\")");
        if (h.checksum != detail::checksum(&h, offsetof(detail::header, checksum)))
            fail("corrupt header (checksum mismatch)");
        if (h.endian != detail::endian_mark)
            fail("written on a machine of the other byte order; this build reads only its own");
        if (h.version != format_version)
            fail("format version " + std::to_string(h.version) + "; this build reads version " +
                 std::to_string(format_version));
        if (h.file_bytes != size_)
            fail(size_ < h.file_bytes
                     ? "truncated: " + std::to_string(size_) + " bytes of the " +
                           std::to_string(h.file_bytes) + " the header announces"
                     : "has " + std::to_string(size_ - h.file_bytes) +
                           " bytes after the end the header announces (" +
                           std::to_string(h.file_bytes) + " bytes)");
        if (h.dir_offset < detail::header_bytes || h.dir_offset > size_ ||
            h.dir_bytes > size_ - h.dir_offset || h.dir_bytes % detail::entry_bytes != 0)
            fail("corrupt header (directory outside the file)");
        if (h.dir_checksum != detail::checksum(base_ + h.dir_offset, static_cast<std::size_t>(h.dir_bytes)))
            fail("corrupt directory (checksum mismatch)");
        const std::size_t n = static_cast<std::size_t>(h.dir_bytes / detail::entry_bytes);
        sections_.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            detail::entry e{};
            std::memcpy(&e, base_ + h.dir_offset + i * detail::entry_bytes, sizeof e);
            const void* nul = std::memchr(e.name, '\0', sizeof e.name);
            const std::size_t len = nul == nullptr ? sizeof e.name
                                                   : static_cast<std::size_t>(
                                                         static_cast<const char*>(nul) - e.name);
            const std::string name(e.name, len);
            const std::string where = "section " + std::to_string(i) + " ('" + name + "')";
            if (len == sizeof e.name || !detail::valid_name(name)) fail(where + ": corrupt name");
            if (e.type > static_cast<std::uint32_t>(element::f64))
                fail(where + ": unknown element type " + std::to_string(e.type));
            const element type = static_cast<element>(e.type);
            if (e.offset % section_alignment != 0 || e.offset < detail::header_bytes ||
                e.offset > h.dir_offset || e.bytes > h.dir_offset - e.offset)
                fail(where + ": lies outside the data area");
            if (e.elements > e.bytes || e.elements * element_size(type) != e.bytes)
                fail(where + ": " + std::to_string(e.bytes) + " bytes do not hold " +
                     std::to_string(e.elements) + " " + to_string(type) + " elements");
            if (e.checksum != detail::checksum(base_ + e.offset, static_cast<std::size_t>(e.bytes)))
                fail(where + ": corrupt data (checksum mismatch)");
            if (!index_.emplace(name, sections_.size()).second) fail(where + ": a second section of that name");
            sections_.push_back({name, type, base_ + e.offset, e.offset, e.bytes, e.elements});
        }
    }

    std::string path_;
    const unsigned char* base_ = nullptr;
    std::uint64_t size_ = 0;
    bool mapped_ = false;
    std::unique_ptr<unsigned char[]> copy_;
    std::vector<section> sections_;
    std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace io
}  // namespace bloom
