// Saving and loading models: what the sections of a model file (model_file.hpp) mean.
//
// A saved object describes itself once, for both directions, in a member template
//
//     template <class Archive> void archive(Archive& a) {
//         a.expect("kind", "full");        // a tag the loader checks
//         a.value("ids", n_);              // a number, enum, bool or string: a metadata key
//         a.array("positions", pos_);      // a std::vector: a binary section
//         a.matrix("weights", w_);         // a matrix: its shape as keys, its values as a section
//         a.object("table", t_);           // a member that archives itself, under "table."
//         if constexpr (Archive::loading) { ...check what was read... }
//     }
//
// With a saver the calls write; with a loader they read into the members and check the file
// against what the object accepts (a missing key, a wrong element type, a shape that does not
// match, a position table that the named hash policy does not give). Names nest with dots:
// "model.item.table.opt.m". The metadata keys are one text section, "meta", of key=value lines;
// numbers are written so that they read back exactly (doubles with 17 significant digits).
// A loaded object is first built empty, by its constructor taking bloom::restore_tag.
//
// file_saver and file_loader write and read a whole file of named objects; save(path, model) and
// load<Model>(path) do it for one model under the name "model".
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/all.hpp>
#include <bloom/io/model_file.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace io {

// The key=value metadata of a model file, in insertion order.
class metadata {
public:
    void set(const std::string& key, std::string value) {
        if (key.empty() || key.find_first_of("=\n\r") != std::string::npos)
            ::bloom::detail::throw_invalid("model metadata: bad key '" + key + "'");
        if (value.find_first_of("\n\r") != std::string::npos)
            ::bloom::detail::throw_invalid("model metadata: the value of '" + key +
                                           "' holds a line break");
        if (!index_.emplace(key, items_.size()).second)
            ::bloom::detail::throw_invalid("model metadata: key '" + key + "' written twice");
        items_.emplace_back(key, std::move(value));
    }
    const std::string* find(const std::string& key) const {
        const auto it = index_.find(key);
        return it == index_.end() ? nullptr : &items_[it->second].second;
    }
    const std::vector<std::pair<std::string, std::string>>& items() const noexcept { return items_; }

    std::string text() const {
        std::string out;
        for (const auto& [k, v] : items_) out += k + "=" + v + "\n";
        return out;
    }
    // Parses the "meta" section of r.
    static metadata read(const model_reader& r) {
        metadata m;
        const std::string_view t = r.text("meta");
        std::size_t line = 0, pos = 0;
        while (pos < t.size()) {
            ++line;
            std::size_t end = t.find('\n', pos);
            if (end == std::string_view::npos) r.fail("meta line " + std::to_string(line) + ": no line end");
            const std::string_view l = t.substr(pos, end - pos);
            const std::size_t eq = l.find('=');
            if (eq == std::string_view::npos || eq == 0)
                r.fail("meta line " + std::to_string(line) + ": not key=value");
            const std::string key(l.substr(0, eq));
            if (!m.index_.emplace(key, m.items_.size()).second)
                r.fail("meta line " + std::to_string(line) + ": key '" + key + "' repeated");
            m.items_.emplace_back(key, std::string(l.substr(eq + 1)));
            pos = end + 1;
        }
        return m;
    }

private:
    std::vector<std::pair<std::string, std::string>> items_;
    std::unordered_map<std::string, std::size_t> index_;
};

struct save_options {
    // Also store every optimizer's state (moments, step counts): needed to resume training
    // exactly; Adam's moments double a table's bytes twice over.
    bool optimizer_state = true;
};

namespace detail {

template <class T>
std::string format_value(const T& v) {
    if constexpr (std::is_same_v<T, std::string>) {
        return v;
    } else if constexpr (std::is_same_v<T, bool>) {
        return v ? "1" : "0";
    } else if constexpr (std::is_enum_v<T>) {
        return std::to_string(static_cast<long long>(v));
    } else if constexpr (std::is_floating_point_v<T>) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", static_cast<double>(v));
        return buf;
    } else {
        static_assert(std::is_integral_v<T>, "bloom::io: a value is a number, enum, bool or string");
        return std::to_string(v);
    }
}

// Parses s as T exactly; false when s is not one (or out of T's range).
template <class T>
bool parse_value(const std::string& s, T& out) {
    if constexpr (std::is_same_v<T, std::string>) {
        out = s;
        return true;
    } else if constexpr (std::is_same_v<T, bool>) {
        if (s != "0" && s != "1") return false;
        out = s == "1";
        return true;
    } else if constexpr (std::is_enum_v<T>) {
        long long v = 0;
        if (!parse_value(s, v)) return false;
        using U = std::underlying_type_t<T>;
        if (v < static_cast<long long>(std::numeric_limits<U>::min()) ||
            v > static_cast<long long>(std::numeric_limits<U>::max()))
            return false;
        out = static_cast<T>(v);
        return true;
    } else if constexpr (std::is_floating_point_v<T>) {
        if (s.empty()) return false;
        errno = 0;
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (end != s.c_str() + s.size() || errno == ERANGE) return false;
        out = static_cast<T>(v);
        return true;
    } else if constexpr (std::is_signed_v<T>) {
        if (s.empty()) return false;
        errno = 0;
        char* end = nullptr;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (end != s.c_str() + s.size() || errno == ERANGE) return false;
        if (v < static_cast<long long>(std::numeric_limits<T>::min()) ||
            v > static_cast<long long>(std::numeric_limits<T>::max()))
            return false;
        out = static_cast<T>(v);
        return true;
    } else {
        if (s.empty() || s[0] < '0' || s[0] > '9') return false;
        errno = 0;
        char* end = nullptr;
        const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
        if (end != s.c_str() + s.size() || errno == ERANGE) return false;
        if (v > static_cast<unsigned long long>(std::numeric_limits<T>::max())) return false;
        out = static_cast<T>(v);
        return true;
    }
}

template <class T>
const char* type_word() noexcept {
    if constexpr (std::is_same_v<T, std::string>) return "string";
    else if constexpr (std::is_same_v<T, bool>) return "0 or 1";
    else if constexpr (std::is_enum_v<T>) return "enumeration value";
    else if constexpr (std::is_floating_point_v<T>) return "number";
    else if constexpr (std::is_signed_v<T>) return "integer";
    else return "unsigned integer";
}

}  // namespace detail

// Writes an object's archive() into a model file.
class saver {
public:
    static constexpr bool loading = false;

    saver(model_writer& w, metadata& m, save_options o = {}, std::string prefix = {})
        : w_(&w), m_(&m), o_(o), prefix_(std::move(prefix)) {}

    saver sub(std::string_view name) const { return saver(*w_, *m_, o_, key(name) + "."); }
    const std::string& prefix() const noexcept { return prefix_; }
    bool optimizer_state() const noexcept { return o_.optimizer_state; }

    template <class T>
    void value(std::string_view name, const T& v) {
        m_->set(key(name), detail::format_value(v));
    }
    void expect(std::string_view name, std::string_view v) { m_->set(key(name), std::string(v)); }
    template <class T>
    void array(std::string_view name, const std::vector<T>& v) {
        w_->add(key(name), v);
    }
    template <class S, int R, int C, int O>
    void matrix(std::string_view name, const Eigen::Matrix<S, R, C, O>& mat) {
        value(std::string(name) + ".rows", static_cast<std::int64_t>(mat.rows()));
        value(std::string(name) + ".cols", static_cast<std::int64_t>(mat.cols()));
        w_->add(key(name), mat.data(), static_cast<std::size_t>(mat.size()));
    }
    template <class T>
    void object(std::string_view name, const T& obj) {
        saver s = sub(name);
        const_cast<T&>(obj).archive(s);
    }
    // Loading checks that the stored positions are what the policy gives; saving has nothing to do.
    template <class F>
    void verify_positions(const std::string&, F&&, const std::vector<std::uint32_t>&) {}
    void require_policy(const std::string&) const {}
    // Both directions' guard for values the object checks after loading.
    void check(bool, const std::string&) const {}

private:
    std::string key(std::string_view name) const { return prefix_ + std::string(name); }

    model_writer* w_;
    metadata* m_;
    save_options o_;
    std::string prefix_;
};

// Reads an object's archive() from a model file. Policies is the list of hash policies whose
// names the file may use (bloom::all_policies by default; add your own policy to load a model
// that uses it).
template <class Policies = all_policies>
class basic_loader {
public:
    static constexpr bool loading = true;

    basic_loader(const model_reader& r, const metadata& m, std::string prefix = {})
        : r_(&r), m_(&m), prefix_(std::move(prefix)) {
        const std::string* s = m.find("optimizer_state");
        state_ = s != nullptr && *s == "1";
    }

    basic_loader sub(std::string_view name) const {
        basic_loader l(*r_, *m_, key(name) + ".");
        l.state_ = state_;
        return l;
    }
    const std::string& prefix() const noexcept { return prefix_; }
    const model_reader& reader() const noexcept { return *r_; }
    bool optimizer_state() const noexcept { return state_; }
    bool has(std::string_view name) const { return m_->find(key(name)) != nullptr; }

    template <class T>
    void value(std::string_view name, T& v) const {
        const std::string k = key(name);
        const std::string* s = m_->find(k);
        if (s == nullptr) fail("no value '" + k + "'");
        if (!detail::parse_value(*s, v))
            fail("value '" + k + "' is '" + *s + "', not a " + detail::type_word<T>() +
                 " of the type it is read into");
    }
    template <class T>
    T get(std::string_view name) const {
        T v{};
        value(name, v);
        return v;
    }
    void expect(std::string_view name, std::string_view v) const {
        const std::string k = key(name);
        const std::string s = get<std::string>(name);
        if (s != v) fail("'" + k + "' is '" + s + "', but the object loaded from it expects '" +
                         std::string(v) + "'");
    }
    template <class T>
    void array(std::string_view name, std::vector<T>& v) const {
        std::uint64_t n = 0;
        const T* p = r_->view<T>(key(name), &n);
        v.assign(p, p + n);
    }
    template <class S, int R, int C, int O>
    void matrix(std::string_view name, Eigen::Matrix<S, R, C, O>& mat) const {
        const std::string k = key(name);
        const auto rows = get<std::int64_t>(std::string(name) + ".rows");
        const auto cols = get<std::int64_t>(std::string(name) + ".cols");
        std::uint64_t n = 0;
        const S* p = r_->view<S>(k, &n);
        if (rows < 0 || cols < 0 || (cols != 0 && static_cast<std::uint64_t>(rows) >
                                                      n / static_cast<std::uint64_t>(cols)) ||
            static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols) != n)
            fail("matrix '" + k + "' is said to be " + std::to_string(rows) + " x " +
                 std::to_string(cols) + " but holds " + std::to_string(n) + " values");
        if ((R != Eigen::Dynamic && rows != R) || (C != Eigen::Dynamic && cols != C))
            fail("matrix '" + k + "' has the wrong fixed shape");
        mat.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
        ::bloom::detail::advise_huge_pages(mat.data(), static_cast<std::size_t>(n) * sizeof(S));
        if (n != 0) std::memcpy(mat.data(), p, static_cast<std::size_t>(n) * sizeof(S));
    }
    template <class T>
    void object(std::string_view name, T& obj) const {
        basic_loader l = sub(name);
        obj.archive(l);
    }

    // Checks that `stored` is what compute(policy) gives for the policy named `policy`; fails
    // when that policy is not in Policies (not compiled in) or the tables differ.
    template <class F>
    void verify_positions(const std::string& policy, F&& compute,
                          const std::vector<std::uint32_t>& stored) const {
        require_policy(policy);
        bool same = false;
        bool done = false;
        for_each_policy<Policies>([&](auto h) {
            if (!done && policy == hash_name<decltype(h)>()) {
                done = true;
                same = compute(h) == stored;
            }
        });
        if (!same)
            fail("'" + prefix_ + "': the stored positions are not what '" + policy +
                 "' gives for the stored spec (the file was written by a build whose '" + policy +
                 "' differs, or it was altered)");
    }

    // Fails when the policy named `policy` is not in Policies.
    void require_policy(const std::string& policy) const {
        bool found = false;
        for_each_policy<Policies>([&](auto h) { found = found || policy == hash_name<decltype(h)>(); });
        if (!found)
            fail("'" + prefix_ + "' uses the hash policy '" + policy +
                 "', which this build does not have (an optional package missing, or a policy "
                 "of your own: load with basic_loader<your policy list>)");
    }

    void check(bool ok, const std::string& what) const {
        if (!ok) fail("'" + prefix_ + "': " + what);
    }
    [[noreturn]] void fail(const std::string& what) const { r_->fail(what); }

private:
    std::string key(std::string_view name) const { return prefix_ + std::string(name); }

    const model_reader* r_;
    const metadata* m_;
    std::string prefix_;
    bool state_ = false;
};

using loader = basic_loader<>;

// A model file being written: objects under names, then commit() (atomically: model_writer).
//
//     io::file_saver out("model.bin");
//     out.object("model", model);
//     out.object("train", state);      // anything else with an archive(), or out.root().value(...)
//     out.commit();
class file_saver {
public:
    explicit file_saver(const std::string& path, save_options o = {})
        : w_(path), root_(w_, m_, o) {
        m_.set("format", "bloom model");
        m_.set("optimizer_state", o.optimizer_state ? "1" : "0");
    }
    saver& root() noexcept { return root_; }
    template <class T>
    void object(std::string_view name, const T& obj) {
        root_.object(name, obj);
    }
    void commit() {
        w_.add_text("meta", m_.text());
        w_.commit();
    }

private:
    model_writer w_;
    metadata m_;
    saver root_;
};

// A model file being read: checked on opening (model_reader), then objects by name. Errors the
// objects raise while loading (an invalid setting...) come out as format_error naming the file.
template <class Policies = all_policies>
class basic_file_loader {
public:
    explicit basic_file_loader(const std::string& path)
        : r_(path), m_(metadata::read(r_)), root_(r_, m_) {
        const std::string* f = m_.find("format");
        if (f == nullptr || *f != "bloom model") r_.fail("the metadata do not say \"format=bloom model\"");
    }
    const basic_loader<Policies>& root() const noexcept { return root_; }
    const model_reader& reader() const noexcept { return r_; }
    const metadata& meta() const noexcept { return m_; }
    bool has(std::string_view key) const { return root_.has(key); }

    template <class T>
    void object(std::string_view name, T& obj) const {
        try {
            root_.object(name, obj);
        } catch (const format_error&) {
            throw;
        } catch (const ::bloom::error& e) {
            throw format_error(r_.path(), std::string(name) + ": " + e.what());
        }
    }
    // Builds a T from its restore_tag constructor and loads it.
    template <class T>
    T make(std::string_view name) const {
        T obj{restore_tag{}};
        object(name, obj);
        return obj;
    }

private:
    model_reader r_;
    metadata m_;
    basic_loader<Policies> root_;
};

using file_loader = basic_file_loader<>;

// Writes `model` into `path` under the name "model".
template <class Model>
void save(const std::string& path, const Model& model, const save_options& o = {}) {
    file_saver out(path, o);
    out.object("model", model);
    out.commit();
}

// Reads the model saved by save().
template <class Model, class Policies = all_policies>
Model load(const std::string& path) {
    return basic_file_loader<Policies>(path).template make<Model>("model");
}

}  // namespace io
}  // namespace bloom
