// Fuzzes the decoder (include/bloom/encoding/decoder.hpp): scores, top_n with exclusions, and
// the batch forms scores_batch and top_n_batch, in float and double, probabilities and
// log-probabilities, table and on-the-fly lookup, for a spec taken from the input (m <= 4096,
// d <= 2048, k <= 9, a hash seed, one of three hash policies) and output values built from the
// input bytes (NaN, infinities, negatives, zeros, denormals, values just above 1, raw bit
// patterns, ordinary probabilities).
//
// Checked: a call throws bloom::error exactly when its input is invalid (the spec, the floor,
// the output length, a value outside [0, 1 + 1e-3] or above 1e-3 for log-probabilities, an
// excluded id >= d); otherwise every score is finite and equals sum_j floored log p[h_j(id)]
// computed here from the spec; both lookups give the same scores; top_n returns the
// min(n, d - excluded) best items, ranked by score then id, none excluded, none ranking below an
// item left out; a batch row is what the single call gives for that row.
#include <bloom/encoding/decoder.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <vector>

#include "fuzz_common.hpp"

namespace {

using bloom_fuzz::input;

using bloom_fuzz::throws;

// An output value: a special one, an ordinary probability or log-probability, or raw bits.
template <class Scalar>
Scalar value(input& in, bool logs) {
    using lim = std::numeric_limits<Scalar>;
    const std::uint8_t sel = in.byte();
    switch (sel % 16) {
        case 0: return Scalar(0);
        case 1: return Scalar(1);
        case 2: return lim::quiet_NaN();
        case 3: return lim::infinity();
        case 4: return -lim::infinity();
        case 5: return -Scalar(0);
        case 6: return lim::denorm_min();
        case 7: return Scalar(1.0009765625);  // inside the 1e-3 allowance
        case 8: return Scalar(1.002);         // outside it
        case 9: return Scalar(-1e-4);
        case 10: return lim::min();
        case 11: return in.raw<Scalar>();
        case 12: return Scalar(1e-3);
        default: {  // an ordinary value, the most common case
            const Scalar p = Scalar(in.byte()) / Scalar(255);
            return logs ? (p > Scalar(0) ? std::log(p) : -lim::infinity()) : p;
        }
    }
}

template <class Hash, class Scalar>
struct run {
    using decoder = bloom::basic_decoder<Hash>;

    const bloom::spec_config& cfg;
    const bloom::decoder_options& opt;
    std::vector<Scalar> out;       // the output (m values, or a wrong length)
    std::size_t n;                 // top n
    std::vector<std::uint32_t> ex; // exclusions (some may be >= d)

    bool spec_valid() const {
        return cfg.m >= 1 && cfg.m <= bloom::max_positions && cfg.k >= 1 && cfg.k <= cfg.m &&
               cfg.items >= 1 && opt.floor > 0.0 && opt.floor < 1.0;
    }

    // What the decoder should accept: exactly m values, each valid for the input kind.
    bool output_valid(const std::vector<Scalar>& o) const {
        if (o.size() != cfg.m) return false;
        for (const Scalar v : o) {
            if (opt.input == bloom::output_kind::probabilities) {
                if (!(v >= Scalar(0) && v <= static_cast<Scalar>(1.0 + 1e-3))) return false;
            } else if (!(v <= static_cast<Scalar>(1e-3))) {
                return false;
            }
        }
        return true;
    }

    // The score of every item, from the spec's positions and the documented formula.
    std::vector<Scalar> reference(const bloom::basic_spec<Hash>& spec,
                                  const std::vector<Scalar>& o) const {
        const Scalar lf = static_cast<Scalar>(std::log(opt.floor));
        const auto fl = static_cast<Scalar>(opt.floor);
        std::vector<Scalar> logs(o.size());
        for (std::size_t i = 0; i < o.size(); ++i) {
            if (opt.input == bloom::output_kind::probabilities)
                logs[i] = o[i] > fl ? std::log(o[i]) : lf;
            else
                logs[i] = o[i] > lf ? o[i] : lf;
        }
        std::vector<Scalar> s(cfg.items);
        std::vector<std::uint32_t> pos(cfg.k);
        for (std::uint64_t id = 0; id < cfg.items; ++id) {
            spec.positions(id, pos.data());
            Scalar sum = logs[pos[0]];
            for (std::uint32_t j = 1; j < cfg.k; ++j) sum += logs[pos[j]];
            s[id] = sum;
        }
        return s;
    }

    void check_top(const std::vector<bloom::scored_item>& best, const std::vector<Scalar>& s,
                   std::size_t want_n, const std::vector<std::uint32_t>& exclude) const {
        std::vector<bool> out_of_play(cfg.items, false);
        for (const std::uint32_t e : exclude) out_of_play[e] = true;
        if (cfg.padding_zero) out_of_play[0] = true;
        const auto left = static_cast<std::size_t>(
            std::count(out_of_play.begin(), out_of_play.end(), false));
        BLOOM_FUZZ_CHECK(best.size() == std::min(want_n, left));
        const bloom::detail::ranks_before before;
        std::vector<bool> chosen(cfg.items, false);
        for (std::size_t r = 0; r < best.size(); ++r) {
            const bloom::scored_item& it = best[r];
            BLOOM_FUZZ_CHECK(it.id < cfg.items);
            BLOOM_FUZZ_CHECK(!out_of_play[it.id]);
            BLOOM_FUZZ_CHECK(!chosen[it.id]);
            chosen[it.id] = true;
            BLOOM_FUZZ_CHECK(it.score == static_cast<double>(s[it.id]));
            if (r > 0) BLOOM_FUZZ_CHECK(before(best[r - 1], it));
        }
        if (best.empty()) return;
        // Nothing left out ranks before the last one returned.
        for (std::uint64_t id = 0; id < cfg.items; ++id) {
            if (out_of_play[id] || chosen[id]) continue;
            const bloom::scored_item other{id, static_cast<double>(s[id])};
            BLOOM_FUZZ_CHECK(!before(other, best.back()));
        }
    }

    void go() {
        // Building the decoder: an error exactly when the spec or the options are invalid.
        bool built = false;
        const bool table = (cfg.seed & 1) == 0;
        std::unique_ptr<decoder> dec, other;
        const bool failed = throws([&] {
            dec = std::make_unique<decoder>(cfg, table ? bloom::lookup::table
                                                       : bloom::lookup::on_the_fly, opt);
            other = std::make_unique<decoder>(cfg, table ? bloom::lookup::on_the_fly
                                                         : bloom::lookup::table, opt);
            built = true;
        });
        // k > m etc. are spec errors; key_bytes/seeds are always valid here.
        BLOOM_FUZZ_CHECK(failed == !spec_valid());
        if (!built) return;

        const bool valid = output_valid(out);
        std::vector<Scalar> s(cfg.items);
        const bool s_failed = throws([&] { dec->scores(out.data(), out.size(), s.data(), s.size()); });
        BLOOM_FUZZ_CHECK(s_failed == !valid);
        // A wrong room for the scores is an error too.
        std::vector<Scalar> short_room(cfg.items - 1 + 2 * (cfg.seed & 2 ? 1 : 0));
        BLOOM_FUZZ_CHECK(throws([&] {
            dec->scores(out.data(), out.size(), short_room.data(), short_room.size());
        }));

        bool ex_valid = true;
        for (const std::uint32_t e : ex) ex_valid = ex_valid && e < cfg.items;
        std::vector<bloom::scored_item> best;
        const bool t_failed =
            throws([&] { best = dec->top_n(out.data(), out.size(), n, ex.data(), ex.size()); });
        BLOOM_FUZZ_CHECK(t_failed == !(valid && ex_valid));

        if (valid) {
            const std::vector<Scalar> ref = reference(dec->spec(), out);
            for (std::uint64_t id = 0; id < cfg.items; ++id) {
                BLOOM_FUZZ_CHECK(std::isfinite(s[id]));
                BLOOM_FUZZ_CHECK(s[id] == ref[id]);
            }
            std::vector<Scalar> s2(cfg.items);
            other->scores(out.data(), out.size(), s2.data(), s2.size());
            BLOOM_FUZZ_CHECK(s2 == s);
            if (ex_valid) {
                check_top(best, s, n, ex);
                BLOOM_FUZZ_CHECK(other->top_n(out.data(), out.size(), n, ex.data(), ex.size()) ==
                                 best);
            }
        }

        // The batch forms: row 0 is the output, row 1 the output reversed, row 2 all ones.
        if (out.size() != cfg.m) {
            bloom::matrix<Scalar> wrong(1, static_cast<Eigen::Index>(out.size()));
            for (std::size_t i = 0; i < out.size(); ++i) wrong(0, static_cast<Eigen::Index>(i)) = out[i];
            BLOOM_FUZZ_CHECK(throws([&] { dec->scores_batch(wrong); }));
            BLOOM_FUZZ_CHECK(throws([&] { dec->top_n_batch(wrong, n); }));
            return;
        }
        const auto rows = static_cast<Eigen::Index>(1 + (cfg.seed >> 8) % 3);
        bloom::matrix<Scalar> batch(rows, static_cast<Eigen::Index>(cfg.m));
        std::vector<std::vector<Scalar>> row_values(static_cast<std::size_t>(rows));
        for (Eigen::Index r = 0; r < rows; ++r) {
            std::vector<Scalar>& v = row_values[static_cast<std::size_t>(r)];
            v = out;
            if (r == 1) std::reverse(v.begin(), v.end());
            if (r == 2) {
                const Scalar one = opt.input == bloom::output_kind::probabilities ? Scalar(1)
                                                                                  : Scalar(0);
                std::fill(v.begin(), v.end(), one);
            }
            for (std::size_t i = 0; i < v.size(); ++i) batch(r, static_cast<Eigen::Index>(i)) = v[i];
        }
        std::vector<std::vector<std::uint32_t>> ex_rows(static_cast<std::size_t>(rows), ex);
        if (rows > 1) ex_rows[1].clear();
        bool all_valid = true, all_ex_valid = true;
        for (std::size_t r = 0; r < row_values.size(); ++r) {
            all_valid = all_valid && output_valid(row_values[r]);
            for (const std::uint32_t e : ex_rows[r]) all_ex_valid = all_ex_valid && e < cfg.items;
        }
        bloom::matrix<Scalar> sb;
        BLOOM_FUZZ_CHECK(throws([&] { sb = dec->scores_batch(batch); }) == !all_valid);
        std::vector<std::vector<bloom::scored_item>> tb;
        BLOOM_FUZZ_CHECK(throws([&] { tb = dec->top_n_batch(batch, n, ex_rows); }) ==
                         !(all_valid && all_ex_valid));
        // Exclusions for another number of rows are an error.
        std::vector<std::vector<std::uint32_t>> wrong_rows(static_cast<std::size_t>(rows) + 1);
        BLOOM_FUZZ_CHECK(throws([&] { dec->top_n_batch(batch, n, wrong_rows); }));
        if (!all_valid) return;
        for (std::size_t r = 0; r < row_values.size(); ++r) {
            std::vector<Scalar> one(cfg.items);
            dec->scores(row_values[r].data(), row_values[r].size(), one.data(), one.size());
            for (std::uint64_t id = 0; id < cfg.items; ++id)
                BLOOM_FUZZ_CHECK(sb(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(id)) ==
                                 one[id]);
            if (all_ex_valid)
                BLOOM_FUZZ_CHECK(tb[r] == dec->top_n(row_values[r].data(), row_values[r].size(), n,
                                                     ex_rows[r].data(), ex_rows[r].size()));
        }
    }
};

template <class Hash, class Scalar>
void fuzz(input& in, bloom::spec_config& cfg, bloom::decoder_options& opt) {
    run<Hash, Scalar> r{cfg, opt, {}, 0, {}};
    const bool logs = opt.input == bloom::output_kind::log_probabilities;
    const std::uint8_t len_knob = in.byte();
    std::size_t len = static_cast<std::size_t>(cfg.m);
    if (len_knob == 1) len += 1;  // a wrong output length, now and then
    if (len_knob == 2 && len > 0) len -= 1;
    r.n = in.byte() % (cfg.items + 3);
    const std::size_t n_ex = in.byte() % 8;
    for (std::size_t i = 0; i < n_ex; ++i)
        r.ex.push_back(static_cast<std::uint32_t>(in.take<std::uint16_t>() % (cfg.items + 2)));
    r.out.resize(len);
    const Scalar fill_one = logs ? Scalar(0) : Scalar(1);
    for (std::size_t i = 0; i < len; ++i) {
        if (!in.empty()) {
            r.out[i] = value<Scalar>(in, logs);
        } else {  // past the input: ordinary values, distinct enough to rank
            const Scalar p = Scalar(static_cast<int>((i * 37) % 101)) / Scalar(100);
            r.out[i] = logs ? (p > Scalar(0) ? std::log(p) : Scalar(-1e30)) : p;
            if (i % 7 == 0) r.out[i] = fill_one;
        }
    }
    r.go();
}

template <class Hash>
void by_scalar(input& in, bool dbl, bloom::spec_config& cfg, bloom::decoder_options& opt) {
    if (dbl) fuzz<Hash, double>(in, cfg, opt);
    else fuzz<Hash, float>(in, cfg, opt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    input in(bytes, size);
    const std::uint8_t knobs = in.byte();
    bloom::spec_config cfg;
    cfg.m = in.in_range(0, 4096);
    cfg.k = static_cast<std::uint32_t>(in.byte() % 10);
    cfg.items = in.in_range(0, 2048);
    cfg.seed = in.take<std::uint64_t>();
    cfg.derive = (knobs & 4) != 0 ? bloom::derivation::double_hashing : bloom::derivation::seeded;
    cfg.padding_zero = (knobs & 8) != 0;
    cfg.key_bytes = (knobs & 16) != 0 ? 4 : 8;
    const std::uint8_t red = in.byte();
    cfg.reduce = static_cast<bloom::reduction>(red % 4);

    bloom::decoder_options opt;
    opt.input = (knobs & 32) != 0 ? bloom::output_kind::log_probabilities
                                  : bloom::output_kind::probabilities;
    static const double floors[] = {1e-30, 1e-30, 1e-30, 1e-6, 0.5, 1e-300, 0.0, 1.0,
                                    std::numeric_limits<double>::quiet_NaN(), 4.9e-324};
    opt.floor = floors[(red >> 2) % 10];
    const bool dbl = (knobs & 64) != 0;

    switch (knobs % 3) {
        case 0: by_scalar<bloom::xxh3>(in, dbl, cfg, opt); break;
        case 1: by_scalar<bloom::murmur3_32>(in, dbl, cfg, opt); break;
        default: by_scalar<bloom::multiply_shift>(in, dbl, cfg, opt); break;
    }
    return 0;
}
