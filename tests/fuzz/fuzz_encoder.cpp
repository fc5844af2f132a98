// Fuzzes the spec, the position table and the encoder (include/bloom/encoding/spec.hpp,
// position_table.hpp, encoder.hpp) with three hash policies (xxh3, murmur3_32, multiply_shift):
// m up to 2^32 + 1, k up to 70 (past the 64 positions kept on the stack), d up to 2048, any seed
// or explicit seeds, each derivation and reduction, padding_zero, 4- and 8-byte keys, and item
// lists (integer ids, some out of range, and byte-string keys) from the input.
//
// Checked: building a spec, a table or a table-mode encoder throws bloom::error exactly when the
// parameters are invalid (m = 0, m > 2^32, k = 0, k > m, bad key_bytes, a wrong seed count, d =
// 0 for a table); the table holds what the spec gives and every position is below m; the
// table-mode and on-the-fly encoders give identical raw positions and identical encodings,
// equal to the sorted unique spec positions, through encode (span, with and without scratch),
// encode_checked, encode(range), encode_batch (pointer, vector and range-of-sets forms) and
// dense; the checked forms throw bloom::error exactly for an id >= d, an id that does not fit
// 4-byte keys, a short output buffer or bad CSR offsets.
#include <bloom/encoding/encoder.hpp>
#include <bloom/encoding/position_table.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

namespace {

using bloom_fuzz::input;

using bloom_fuzz::throws;

bool spec_valid(const bloom::spec_config& c) {
    const std::size_t want_seeds = c.derive == bloom::derivation::seeded ? c.k : 2;
    return c.m >= 1 && c.m <= bloom::max_positions && c.k >= 1 && c.k <= c.m &&
           (c.key_bytes == 4 || c.key_bytes == 8) &&
           !(c.key_bytes == 4 && c.items > (std::uint64_t{1} << 32)) &&
           (c.seeds.empty() || c.seeds.size() == want_seeds);
}

template <class Hash>
struct run {
    using spec_t = bloom::basic_spec<Hash>;
    using encoder_t = bloom::basic_encoder<Hash>;
    using table_t = bloom::basic_position_table<Hash>;

    const bloom::spec_config& cfg;
    std::vector<std::uint64_t> ids;   // some may be invalid
    std::vector<std::string> keys;
    std::vector<std::size_t> offsets; // CSR rows over ids (may be malformed)

    bool id_ok(std::uint64_t id) const {
        return (cfg.items == 0 || id < cfg.items) && !(cfg.key_bytes == 4 && id > 0xFFFFFFFFULL);
    }

    // The k positions of an id straight from the spec.
    static std::vector<std::uint32_t> raw(const spec_t& s, std::uint64_t id) {
        std::vector<std::uint32_t> p(s.k());
        s.positions(id, p.data());
        return p;
    }

    static std::vector<std::uint32_t> sorted_unique(std::vector<std::uint32_t> v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        return v;
    }

    template <class T>
    std::vector<std::uint32_t> reference(const spec_t& s, const std::vector<T>& xs) const {
        std::vector<std::uint32_t> all;
        for (const T x : xs) {
            const std::vector<std::uint32_t> p = raw(s, x);
            all.insert(all.end(), p.begin(), p.end());
        }
        return sorted_unique(all);
    }

    // Every encoding path of one encoder on one id list, against the spec.
    template <class T>
    void check_ids(const encoder_t& enc, const spec_t& s, const std::vector<T>& xs,
                   bool all_ok) const {
        const std::size_t n = xs.size();
        std::vector<std::uint32_t> out(enc.capacity(n) + 1), scratch(enc.capacity(n) + 1);
        // encode_checked: an error exactly for a bad id or a short buffer
        BLOOM_FUZZ_CHECK(throws([&] { enc.encode_checked(xs.data(), n, out.data(),
                                                         out.size() - 1); }) == !all_ok);
        if (n > 0 && enc.capacity(n) > 0)
            BLOOM_FUZZ_CHECK(throws([&] { enc.encode_checked(xs.data(), n, out.data(),
                                                             enc.capacity(n) - 1); }));
        std::vector<std::uint32_t> via_range;
        BLOOM_FUZZ_CHECK(throws([&] { via_range = enc.encode(xs); }) == !all_ok);
        if (!all_ok) return;

        const std::vector<std::uint32_t> want = reference(s, xs);
        for (const std::uint32_t p : want) BLOOM_FUZZ_CHECK(p < cfg.m);
        BLOOM_FUZZ_CHECK(via_range == want);
        const std::size_t w1 = enc.encode_checked(xs.data(), n, out.data(), out.size() - 1);
        BLOOM_FUZZ_CHECK(std::vector<std::uint32_t>(out.begin(), out.begin() + w1) == want);
        const std::size_t w2 = enc.encode(xs.data(), n, out.data());
        BLOOM_FUZZ_CHECK(std::vector<std::uint32_t>(out.begin(), out.begin() + w2) == want);
        const std::size_t w3 = enc.encode(xs.data(), n, out.data(), scratch.data());
        BLOOM_FUZZ_CHECK(std::vector<std::uint32_t>(out.begin(), out.begin() + w3) == want);
        // raw positions: k per id, in hash order
        BLOOM_FUZZ_CHECK(enc.positions(xs.data(), n, out.data()) == enc.capacity(n));
        for (std::size_t i = 0; i < n; ++i) {
            const std::vector<std::uint32_t> p = raw(s, xs[i]);
            BLOOM_FUZZ_CHECK(std::equal(p.begin(), p.end(), out.begin() + i * cfg.k));
        }
        if (cfg.m <= 4096) {
            const bloom::vector<float> d = enc.dense(xs);
            std::size_t ones = 0;
            for (Eigen::Index i = 0; i < d.size(); ++i) ones += d(i) == 1.0f;
            BLOOM_FUZZ_CHECK(static_cast<std::uint64_t>(d.size()) == cfg.m && ones == want.size());
            for (const std::uint32_t p : want) BLOOM_FUZZ_CHECK(d(p) == 1.0f);
        }
    }

    // encode_batch over the CSR rows `offsets` of `ids`.
    void check_batch(const encoder_t& enc, const spec_t& s) const {
        bool offsets_ok = !offsets.empty() && offsets.front() == 0 && offsets.back() == ids.size();
        for (std::size_t r = 0; offsets_ok && r + 1 < offsets.size(); ++r)
            offsets_ok = offsets[r] <= offsets[r + 1];
        bool ids_ok = true;
        for (const std::uint64_t id : ids) ids_ok = ids_ok && id_ok(id);
        bloom::csr c;
        BLOOM_FUZZ_CHECK(throws([&] { c = enc.encode_batch(ids, offsets); }) ==
                         !(offsets_ok && ids_ok));
        if (!(offsets_ok && ids_ok)) return;
        BLOOM_FUZZ_CHECK(c.cols == cfg.m && c.rows() == offsets.size() - 1);
        BLOOM_FUZZ_CHECK(c.offsets.front() == 0 && c.offsets.back() == c.nnz());
        std::vector<std::vector<std::uint64_t>> sets;
        for (std::size_t r = 0; r + 1 < offsets.size(); ++r) {
            sets.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(offsets[r]),
                              ids.begin() + static_cast<std::ptrdiff_t>(offsets[r + 1]));
            const auto row = c.row(r);
            BLOOM_FUZZ_CHECK(std::vector<std::uint32_t>(row.begin(), row.end()) ==
                             reference(s, sets.back()));
        }
        const bloom::csr c2 = enc.encode_batch(sets);
        BLOOM_FUZZ_CHECK(c2.offsets == c.offsets && c2.positions == c.positions);
        const bloom::csr c3 = enc.encode_batch(ids.data(), offsets.data(), offsets.size() - 1);
        BLOOM_FUZZ_CHECK(c3.offsets == c.offsets && c3.positions == c.positions);
    }

    void go() {
        std::unique_ptr<spec_t> s;
        BLOOM_FUZZ_CHECK(throws([&] { s = std::make_unique<spec_t>(cfg); }) == !spec_valid(cfg));
        if (!s) return;
        const std::uint32_t k = s->k();
        BLOOM_FUZZ_CHECK(s->seeds().size() == (cfg.derive == bloom::derivation::seeded ? k : 2u));

        std::unique_ptr<encoder_t> fly = std::make_unique<encoder_t>(*s, bloom::lookup::on_the_fly);
        std::unique_ptr<encoder_t> tab;
        BLOOM_FUZZ_CHECK(throws([&] {
            tab = std::make_unique<encoder_t>(*s, bloom::lookup::table);
        }) == (cfg.items == 0));
        if (tab) {
            const table_t& t = *tab->table();
            BLOOM_FUZZ_CHECK(t.size() == cfg.items * k);
            std::vector<std::uint32_t> p(k);
            for (std::uint64_t id = 0; id < cfg.items; ++id) {
                const std::vector<std::uint32_t> want = raw(*s, id);
                BLOOM_FUZZ_CHECK(std::equal(want.begin(), want.end(), t.row(id)));
                for (const std::uint32_t x : want) BLOOM_FUZZ_CHECK(x < cfg.m);
                tab->positions(id, p.data());
                BLOOM_FUZZ_CHECK(p == want);
                fly->positions(id, p.data());
                BLOOM_FUZZ_CHECK(p == want);
                const std::uint32_t j = static_cast<std::uint32_t>(id % k);
                BLOOM_FUZZ_CHECK(s->position(id, j) == want[j]);
                if (cfg.padding_zero && id == 0)
                    BLOOM_FUZZ_CHECK(std::count(want.begin(), want.end(), 0u) == k);
            }
            // A shared table gives the same encoder.
            const encoder_t shared(tab->shared_table());
            BLOOM_FUZZ_CHECK(shared.mode() == bloom::lookup::table);
        }

        bool all_ok = true;
        for (const std::uint64_t id : ids) all_ok = all_ok && id_ok(id);
        std::vector<std::uint32_t> ids32;
        bool fits32 = true;
        for (const std::uint64_t id : ids) {
            fits32 = fits32 && id <= 0xFFFFFFFFULL;
            ids32.push_back(static_cast<std::uint32_t>(id));
        }
        for (const encoder_t* e : {fly.get(), tab.get()}) {
            if (e == nullptr) continue;
            check_ids(*e, *s, ids, all_ok);
            if (fits32) check_ids(*e, *s, ids32, all_ok);
            check_batch(*e, *s);
        }
        // Byte-string keys: always hashed, the same in both modes.
        std::vector<std::uint32_t> all;
        std::vector<std::uint32_t> p(k);
        for (const std::string& key : keys) {
            s->positions(key.data(), key.size(), p.data());
            all.insert(all.end(), p.begin(), p.end());
        }
        const std::vector<std::uint32_t> want = sorted_unique(all);
        BLOOM_FUZZ_CHECK(fly->encode(keys) == want);
        if (tab) BLOOM_FUZZ_CHECK(tab->encode(keys) == want);
        std::vector<std::uint32_t> out(fly->capacity(keys.size()));
        BLOOM_FUZZ_CHECK(std::vector<std::uint32_t>(
                             out.begin(), out.begin() + static_cast<std::ptrdiff_t>(
                                                            fly->encode(keys.data(), keys.size(),
                                                                        out.data()))) == want);
    }
};

template <class Hash>
void fuzz(input& in, const bloom::spec_config& cfg) {
    run<Hash> r{cfg, {}, {}, {}};
    const std::size_t n = in.byte() % 80;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t how = in.byte();
        if (how < 8) r.ids.push_back(in.take<std::uint64_t>());  // anything, rarely valid
        else if (how < 16) r.ids.push_back(cfg.items + how % 3);  // just past d
        else r.ids.push_back(in.take<std::uint16_t>() % (cfg.items ? cfg.items : 65536));
    }
    // CSR offsets: usually a valid split of the ids, sometimes not.
    const std::uint8_t rows = in.byte();
    r.offsets.push_back(rows == 255 ? 1 : 0);
    std::size_t at = 0;
    for (std::uint8_t row = 0; row < rows % 6; ++row) {
        at = std::min(r.ids.size(), at + in.byte() % 20);
        r.offsets.push_back(at);
    }
    const std::uint8_t end = in.byte();
    if (end == 1) r.offsets.push_back(r.ids.size() + 1);          // past the end
    else if (end == 2 && at > 0) r.offsets.push_back(at - 1);     // decreasing
    else if (end == 3) r.offsets.clear();                         // no offsets at all
    else r.offsets.push_back(r.ids.size());
    // Keys: the rest of the input, cut at every 0 byte.
    std::string key;
    while (!in.empty()) {
        const char c = static_cast<char>(in.byte());
        if (c == 0) {
            r.keys.push_back(key);
            key.clear();
        } else {
            key += c;
        }
    }
    if (!key.empty()) r.keys.push_back(key);
    r.go();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    input in(bytes, size);
    const std::uint8_t knobs = in.byte();
    bloom::spec_config cfg;
    const std::uint8_t m_kind = in.byte();
    switch (m_kind % 8) {
        case 0: cfg.m = 0; break;
        case 1: cfg.m = bloom::max_positions; break;
        case 2: cfg.m = bloom::max_positions + 1; break;
        case 3: cfg.m = in.take<std::uint32_t>(); break;
        default: cfg.m = in.in_range(1, 5000); break;
    }
    cfg.k = static_cast<std::uint32_t>(in.byte() % 71);
    cfg.items = in.in_range(0, 2048);
    cfg.seed = in.take<std::uint64_t>();
    cfg.derive = (knobs & 4) != 0 ? bloom::derivation::double_hashing : bloom::derivation::seeded;
    cfg.padding_zero = (knobs & 8) != 0;
    static const std::uint32_t key_bytes[] = {8, 8, 4, 3};
    cfg.key_bytes = key_bytes[(knobs >> 4) & 3];
    cfg.reduce = static_cast<bloom::reduction>((knobs >> 6) & 3);
    const std::uint8_t seeds = in.byte();
    if (seeds & 1) {  // explicit seeds: the right count, or one off
        std::size_t count = cfg.derive == bloom::derivation::seeded ? cfg.k : 2;
        if (seeds & 2) count += 1;
        for (std::size_t j = 0; j < count; ++j) cfg.seeds.push_back(in.take<std::uint64_t>());
    }
    switch (knobs % 3) {
        case 0: fuzz<bloom::xxh3>(in, cfg); break;
        case 1: fuzz<bloom::murmur3_32>(in, cfg); break;
        default: fuzz<bloom::multiply_shift>(in, cfg); break;
    }
    return 0;
}
