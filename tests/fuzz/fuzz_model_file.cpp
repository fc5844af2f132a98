// Fuzzes the model-file reader and the archive loaders (include/bloom/io/model_file.hpp,
// archive.hpp) on six object types (tests/fuzz/small_models.hpp): factorizations of bloom +
// freq-bloom, hash-emb + qr and bloom-history + full embeddings (each with full bias tables and
// Adam), an SGD-momentum bloom embedding alone, an Adam optimizer alone and a string id map.
//
// The first input byte picks the mode:
//   even: the rest of the input is a model file, written to a temp file and loaded as every type
//         (model_reader must refuse anything that is not one: magic, checksums, layout);
//   odd:  structured: the next byte picks one of the real small saved models (built at start-up),
//         the rest is a list of edits to its sections and to its metadata text (flip or set bytes,
//         cut or grow a section, change its element type, rename it to another real section
//         name, drop it; replace, drop or add a metadata line with real keys and interesting
//         values), written back with model_writer so that every checksum is valid, then loaded
//         as every type.
// Checked: every load either succeeds or throws bloom::error (io::format_error is one). A loaded
// object must be usable (predictions, forward passes, id look-ups read inside its tables, which
// ASan checks) and must save and load back; refused files leave no mappings behind (the count
// of the process's mappings is checked every 4096 runs). Anything else is a bug.
#include <bloom/error.hpp>
#include <bloom/io/archive.hpp>
#include <bloom/io/model_file.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "small_models.hpp"

namespace {

namespace io = bloom::io;
using bloom_fuzz::input;

const std::string& path() {
    static const std::string p = bloom_fuzz::temp_path("fuzz-model-file", ".bin");
    return p;
}
const std::string& resaved_path() {
    static const std::string p = bloom_fuzz::temp_path("fuzz-model-file", "-resaved.bin");
    return p;
}

// Uses a loaded factorization: every prediction reads the tables through the loaded positions.
template <class Model>
void use_model(const Model& mdl) {
    const std::uint32_t nu = std::min<std::uint32_t>(mdl.n_users(), 16);
    const std::uint32_t ni = std::min<std::uint32_t>(mdl.n_items(), 16);
    volatile float sink = 0;
    for (std::uint32_t u = 0; u < nu; ++u)
        for (std::uint32_t i = 0; i < ni; ++i) sink = sink + mdl.predict(u, i);
    // An id past the end is an error, not a read past the tables.
    bool threw = false;
    try {
        sink = sink + mdl.predict(mdl.n_users(), 0);
    } catch (const bloom::error&) {
        threw = true;
    }
    BLOOM_FUZZ_CHECK(threw);
}

template <class Kind>
void use_kind(const Kind& k) {
    std::vector<float> out(k.dim());
    for (std::uint32_t id = 0; id < std::min<std::uint32_t>(k.ids(), 16); ++id)
        k.forward(id, out.data());
}

// The message of the last load that failed.
std::string last_error;

// One type the harness loads: how to save the real small one, how to load one from a file (false
// when that throws bloom::error), use it, and save it again (an error there escapes: a crash).
struct kind {
    const char* name;
    std::function<void(const std::string&)> save_template;
    std::function<bool(const std::string&, bool resave)> load;
};

template <class T, class Load>
bool attempt(std::optional<T>& obj, Load&& load) {
    try {
        load(obj);
    } catch (const bloom::error& e) {
        last_error = e.what();
        return false;
    }
    return true;
}

template <class Model>
bool load_factorization(const std::string& p, bool resave) {
    std::optional<Model> mdl;
    if (!attempt(mdl, [&](std::optional<Model>& o) { o.emplace(io::load<Model>(p)); })) return false;
    use_model(*mdl);
    if (resave) io::save(resaved_path(), *mdl);
    return true;
}

template <class Kind>
bool load_embedding(const std::string& p, bool resave) {
    std::optional<Kind> k;
    if (!attempt(k, [&](std::optional<Kind>& o) { o.emplace(io::load<Kind>(p)); })) return false;
    use_kind(*k);
    if (resave) io::save(resaved_path(), *k);
    return true;
}

bool load_adam(const std::string& p, bool resave) {
    std::optional<bloom_fuzz::adam> a;
    if (!attempt(a, [&](std::optional<bloom_fuzz::adam>& o) {
            const io::file_loader in(p);
            o.emplace();
            in.object("model", *o);
        }))
        return false;
    if (resave) bloom_fuzz::save_object(resaved_path(), *a);
    return true;
}

bool load_id_map(const std::string& p, bool resave) {
    using bloom::data::id_map;
    std::optional<id_map> ids;
    if (!attempt(ids, [&](std::optional<id_map>& o) {
            const io::file_loader in(p);
            o.emplace();
            in.object("model", *o);
        }))
        return false;
    for (std::uint32_t d = 0; d < ids->size(); ++d) {
        const std::optional<std::uint32_t> back =
            ids->kind() == bloom::data::id_kind::integer ? ids->find(ids->integer(d))
                                                         : ids->find(ids->text(d));
        BLOOM_FUZZ_CHECK(back && *back == d);
    }
    if (resave) bloom_fuzz::save_object(resaved_path(), *ids);
    return true;
}

const std::vector<kind>& kinds() {
    using namespace bloom_fuzz;
    static const std::vector<kind> k = {
        {"bloom-freq", [](const std::string& p) { io::save(p, make_bloom_freq()); },
         load_factorization<bloom_freq_model>},
        {"hash-qr", [](const std::string& p) { io::save(p, make_hash_qr()); },
         load_factorization<hash_qr_model>},
        {"hist-full", [](const std::string& p) { io::save(p, make_hist_full()); },
         load_factorization<hist_full_model>},
        {"sgd-bloom", [](const std::string& p) { io::save(p, make_sgd_bloom()); },
         load_embedding<sgd_bloom_t>},
        {"adam", [](const std::string& p) { save_object(p, make_adam()); }, load_adam},
        {"id-map", [](const std::string& p) { save_object(p, make_id_map()); }, load_id_map},
    };
    return k;
}

// A saved model as editable parts: its sections (but "meta") and its metadata lines.
struct parts {
    struct sec {
        std::string name;
        io::element type;
        std::vector<unsigned char> bytes;
    };
    std::vector<sec> sections;
    std::vector<std::string> meta;  // "key=value" lines
};

std::vector<parts> templates;
std::vector<std::string> section_names;  // every name the templates use
std::vector<std::string> meta_keys;
std::vector<std::string> values;         // interesting metadata values, the templates' included

parts read_parts(const std::string& p) {
    io::model_reader r(p);
    parts out;
    for (const io::section& s : r.sections()) {
        if (s.name == "meta") continue;
        out.sections.push_back({s.name, s.type, std::vector<unsigned char>(s.data, s.data + s.bytes)});
    }
    const std::string_view t = r.text("meta");
    std::size_t pos = 0;
    while (pos < t.size()) {
        std::size_t end = t.find('\n', pos);
        if (end == std::string_view::npos) end = t.size();
        out.meta.emplace_back(t.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

// Writes the parts as a model file (valid checksums); false when model_writer refuses them
// (a duplicate name, say).
bool write_parts(const parts& pt, const std::string& p) {
    try {
        io::model_writer w(p);
        for (const parts::sec& s : pt.sections) {
            const std::size_t size = io::element_size(s.type);
            const std::size_t n = s.bytes.size() / size;
            // Copied to aligned storage of the element type.
            std::vector<std::uint64_t> buf((s.bytes.size() + 7) / 8);
            if (!s.bytes.empty()) std::memcpy(buf.data(), s.bytes.data(), s.bytes.size());
            switch (s.type) {
                case io::element::bytes:
                    w.add_text(s.name, std::string(s.bytes.begin(), s.bytes.end()));
                    break;
                case io::element::u32:
                    w.add(s.name, reinterpret_cast<const std::uint32_t*>(buf.data()), n);
                    break;
                case io::element::f32:
                    w.add(s.name, reinterpret_cast<const float*>(buf.data()), n);
                    break;
                case io::element::u64:
                    w.add(s.name, reinterpret_cast<const std::uint64_t*>(buf.data()), n);
                    break;
                case io::element::i64:
                    w.add(s.name, reinterpret_cast<const std::int64_t*>(buf.data()), n);
                    break;
                case io::element::f64:
                    w.add(s.name, reinterpret_cast<const double*>(buf.data()), n);
                    break;
            }
        }
        std::string meta;
        for (const std::string& l : pt.meta) meta += l + "\n";
        w.add_text("meta", meta);
        w.commit();
    } catch (const io::format_error&) {
        return false;
    }
    return true;
}

void load_all(const std::string& p) {
    for (const kind& k : kinds()) {
        if (!k.load(p, true)) continue;
        // What loaded saves and loads back.
        if (!k.load(resaved_path(), false)) {
            std::fprintf(stderr, "bloom fuzz: %s loaded, saved again, and then: %s\n", k.name,
                         last_error.c_str());
            __builtin_trap();
        }
    }
}

std::size_t pick(input& in, std::size_t n) { return n == 0 ? 0 : in.byte() % n; }

void edit(parts& pt, input& in) {
    while (!in.empty()) {
        const std::uint8_t op = in.byte() % 12;
        auto& secs = pt.sections;
        parts::sec* s = secs.empty() ? nullptr : &secs[pick(in, secs.size())];
        switch (op) {
            case 0:  // set one byte
                if (s && !s->bytes.empty()) {
                    const std::size_t at = in.take<std::uint16_t>() % s->bytes.size();
                    s->bytes[at] = in.byte();
                }
                break;
            case 1: {  // set 8 bytes (a u64, an i64, a double, two u32 or floats)
                if (s && s->bytes.size() >= 8) {
                    const std::size_t at = (in.byte() * 4) % (s->bytes.size() - 7);
                    for (std::size_t i = 0; i < 8; ++i) s->bytes[at + i] = in.byte();
                }
                break;
            }
            case 2:  // cut
                if (s) s->bytes.resize(in.take<std::uint16_t>() % (s->bytes.size() + 1));
                break;
            case 3: {  // grow
                if (s) {
                    const std::size_t n = in.byte() % 17;
                    for (std::size_t i = 0; i < n; ++i) s->bytes.push_back(in.byte());
                }
                break;
            }
            case 4:  // another element type
                if (s) s->type = static_cast<io::element>(in.byte() % 6);
                break;
            case 5:  // another real section name
                if (s) s->name = section_names[pick(in, section_names.size())];
                break;
            case 6:  // drop
                if (s) secs.erase(secs.begin() + (s - secs.data()));
                break;
            case 7: {  // a metadata value replaced by an interesting one
                if (pt.meta.empty()) break;
                std::string& l = pt.meta[pick(in, pt.meta.size())];
                l = l.substr(0, l.find('=') + 1) + values[pick(in, values.size())];
                break;
            }
            case 8: {  // a metadata value replaced by raw text
                if (pt.meta.empty()) break;
                std::string& l = pt.meta[pick(in, pt.meta.size())];
                std::string v;
                for (std::size_t n = in.byte() % 24; n > 0 && !in.empty(); --n)
                    v += static_cast<char>(in.byte());
                l = l.substr(0, l.find('=') + 1) + v;
                break;
            }
            case 9:  // a metadata line dropped
                if (!pt.meta.empty()) pt.meta.erase(pt.meta.begin() + pick(in, pt.meta.size()));
                break;
            case 10:  // a metadata line added (a repeated key is the reader's to refuse)
                pt.meta.push_back(meta_keys[pick(in, meta_keys.size())] + "=" +
                                  values[pick(in, values.size())]);
                break;
            case 11: {  // a section of another template spliced in (replacing or added)
                const parts& other = templates[pick(in, templates.size())];
                if (other.sections.empty()) break;
                const parts::sec& o = other.sections[pick(in, other.sections.size())];
                auto same = std::find_if(secs.begin(), secs.end(),
                                         [&](const parts::sec& x) { return x.name == o.name; });
                if (same != secs.end()) *same = o;
                else secs.push_back(o);
                break;
            }
        }
    }
    // A cut or retyped section keeps whole elements only (as a writer can store it).
    for (parts::sec& s : pt.sections)
        s.bytes.resize(s.bytes.size() - s.bytes.size() % io::element_size(s.type));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::atexit([] {
        std::remove(path().c_str());
        std::remove(resaved_path().c_str());
    });
    std::set<std::string> names, keys, vals = {
        "0", "1", "2", "3", "-1", "-2", "255", "256", "65536", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "-9223372036854775808", "0.5", "1.5", "-0.5", "1e308", "1e309",
        "1e-320", "nan", "inf", "-inf", "", " 1", "1 ", "0x10", "+1", "x", "xxh3", "murmur3_32",
        "multiply_shift", "nosuch", "full", "bloom", "hash-emb", "qr", "freq-bloom",
        "bloom-history", "factorization", "adam", "sgd", "adagrad", "bloom model"};
    for (const kind& k : kinds()) {
        k.save_template(path());
        templates.push_back(read_parts(path()));
        for (const auto& s : templates.back().sections) names.insert(s.name);
        for (const std::string& l : templates.back().meta) {
            const std::size_t eq = l.find('=');
            keys.insert(l.substr(0, eq));
            vals.insert(l.substr(eq + 1));
        }
        // The template itself loads as its own type, saves and loads back; written back from
        // its parts it still loads.
        if (!k.load(path(), true) || !k.load(resaved_path(), false) ||
            !write_parts(templates.back(), path()) || !k.load(path(), false)) {
            std::fprintf(stderr, "bloom fuzz: the small %s model does not load: %s\n", k.name,
                         last_error.c_str());
            std::abort();
        }
    }
    section_names.assign(names.begin(), names.end());
    meta_keys.assign(keys.begin(), keys.end());
    values.assign(vals.begin(), vals.end());
    return 0;
}

// The process's memory mappings (Linux; 0 elsewhere). A reader that leaks its mapping shows as
// a count that keeps growing, long before mmap fails.
int mappings() {
    std::FILE* f = std::fopen("/proc/self/maps", "r");
    if (f == nullptr) return 0;
    int n = 0;
    for (int c; (c = std::fgetc(f)) != EOF;) n += c == '\n';
    std::fclose(f);
    return n;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    static const int mappings_at_start = mappings();
    static unsigned long runs = 0;
    if (++runs % 4096 == 0) BLOOM_FUZZ_CHECK(mappings() < mappings_at_start + 4000);
    input in(bytes, size);
    const std::uint8_t mode = in.byte();
    if (mode % 2 == 0) {
        bloom_fuzz::write_file(path(), in.rest(), in.left());
        load_all(path());
    } else {
        parts pt = templates[pick(in, templates.size())];
        edit(pt, in);
        if (write_parts(pt, path())) load_all(path());
    }
    // Removed after every run: libFuzzer ends a timed run without running atexit handlers.
    std::remove(path().c_str());
    std::remove(resaved_path().c_str());
    return 0;
}
