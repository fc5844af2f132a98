// Exceptions thrown by bloom for configuration and input errors.
// Messages say what is wrong and where: "bloom: ratings.csv:1042: expected 4 fields, got 3".
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace bloom {

// Base of every exception bloom throws.
class error : public std::runtime_error {
public:
    explicit error(const std::string& what) : std::runtime_error(what) {}
};

// A configuration value or argument is outside what the call accepts (m = 0, k > m, NaN input...).
class invalid_argument : public error {
public:
    explicit invalid_argument(const std::string& what) : error(what) {}
};

// An id or index lies outside the range a table or spec was built for.
class out_of_range : public error {
public:
    explicit out_of_range(const std::string& what) : error(what) {}
};

// A data file could not be read or does not have the expected shape.
class parse_error : public error {
public:
    parse_error(const std::string& file, std::size_t line, const std::string& what)
        : error("bloom: " + file + ":" + std::to_string(line) + ": " + what),
          file_(file), line_(line) {}
    const std::string& file() const noexcept { return file_; }
    std::size_t line() const noexcept { return line_; }

private:
    std::string file_;
    std::size_t line_;
};

namespace detail {
[[noreturn]] inline void throw_invalid(const std::string& what) {
    throw invalid_argument("bloom: " + what);
}
[[noreturn]] inline void throw_range(const std::string& what) {
    throw out_of_range("bloom: " + what);
}
}  // namespace detail

}  // namespace bloom
