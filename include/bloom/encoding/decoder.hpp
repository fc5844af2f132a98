// The decoder: from a network's m-dimensional output back to a ranking of the d items.
//
// The output stands for the probability that each of the m positions is set. An item i is
// present when all of its k positions are, so the decoder scores it by the log-likelihood
//
//     score(i) = sum_{j < k} log p[h_j(i)]
//
// (Serrà & Karatzoglou's likelihood recovery; a position an item hits twice counts twice). It takes
// the m logs once, then gathers k of them per item: O(m + d k) time, and no per-item allocation.
//
//     const bloom::decoder dec(spec);                      // lookup::table by default
//     auto best = dec.top_n(output, 10, seen_items);       // [(id, score)], best first
//
// Input checks (every call): the output has exactly m values; none is NaN or +inf; probabilities
// lie in [0, 1] and log-probabilities are <= 0 (both with a 1e-3 allowance for rounding), which
// catches logits passed by mistake. Values below the floor (decoder_options::floor, 1e-30 by
// default; zero included) count as the floor, so one empty position makes an item unlikely but
// still ranked by its other positions. Ties rank the lower id first.
//
// With spec_config::padding_zero, id 0 is padding: scores() still scores it, top_n never
// returns it.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <bloom/config.hpp>
#include <bloom/encoding/position_table.hpp>
#include <bloom/encoding/spec.hpp>
#include <bloom/error.hpp>
#include <bloom/hash/xxhash.hpp>
#include <bloom/tensor.hpp>

namespace bloom {

// What the m values given to a decoder are.
enum class output_kind : std::uint8_t {
    probabilities,      // p in [0, 1] (a sigmoid or softmax output)
    log_probabilities,  // log p <= 0 (a log-softmax or log-sigmoid output)
};

struct decoder_options {
    output_kind input = output_kind::probabilities;
    // Probabilities below this (zero included) count as this; log-probabilities below log(floor)
    // (-inf included) as log(floor). 0 < floor < 1.
    double floor = 1e-30;
};

// One ranked item.
struct scored_item {
    std::uint64_t id;
    double score;  // sum_j log p[h_j(id)], computed in the output's scalar type
    friend bool operator==(const scored_item& a, const scored_item& b) noexcept {
        return a.id == b.id && a.score == b.score;
    }
    friend bool operator!=(const scored_item& a, const scored_item& b) noexcept {
        return !(a == b);
    }
};

namespace detail {

// Ranking order: higher score first, then lower id.
struct ranks_before {
    bool operator()(const scored_item& a, const scored_item& b) const noexcept {
        return a.score > b.score || (a.score == b.score && a.id < b.id);
    }
};

template <class T, class = void>
struct is_row_callable : std::false_type {};
template <class T>
struct is_row_callable<T, std::void_t<decltype(std::declval<const T&>()(std::size_t{}))>>
    : std::true_type {};

}  // namespace detail

template <class Hash>
class basic_decoder {
public:
    using spec_type = basic_spec<Hash>;
    using table_type = basic_position_table<Hash>;
    using hash_type = Hash;
    using position_type = typename spec_type::position_type;

    // Throws bloom::invalid_argument when the spec has no item count (d = 0: a decoder must know
    // which items to score) or the options are invalid.
    explicit basic_decoder(spec_type s, lookup mode = lookup::table, decoder_options opt = {})
        : spec_(std::move(s)), opt_(opt) {
        if (spec_.items() == 0)
            detail::throw_invalid(std::string("decoder<") + spec_type::hash_name() +
                                  ">: the spec has no item count (spec_config::items = 0); a "
                                  "decoder needs d to know which items to score");
        check_options();
        if (mode == lookup::table) table_ = std::make_shared<const table_type>(spec_);
    }
    explicit basic_decoder(const spec_config& cfg, lookup mode = lookup::table,
                           decoder_options opt = {})
        : basic_decoder(spec_type(cfg), mode, opt) {}

    // Table mode on a table built elsewhere (an encoder's shared_table(), say).
    explicit basic_decoder(std::shared_ptr<const table_type> table, decoder_options opt = {})
        : spec_(table ? table->spec() : throw_null_table()), table_(std::move(table)), opt_(opt) {
        check_options();
    }

    const spec_type& spec() const noexcept { return spec_; }
    lookup mode() const noexcept { return table_ ? lookup::table : lookup::on_the_fly; }
    const table_type* table() const noexcept { return table_.get(); }
    const std::shared_ptr<const table_type>& shared_table() const noexcept { return table_; }
    const decoder_options& options() const noexcept { return opt_; }
    std::uint64_t items() const noexcept { return spec_.items(); }
    std::uint64_t m() const noexcept { return spec_.m(); }
    std::uint32_t k() const noexcept { return spec_.k(); }

    // ---- per-position logs -------------------------------------------------------------------

    // logs[0..m) = the floored log of each output value. Throws bloom::invalid_argument when
    // len != m or a value is NaN, +inf or out of range (the message names the index).
    template <class Scalar>
    void log_values(const Scalar* output, std::size_t len, Scalar* logs) const {
        log_values(output, len, logs, npos);
    }

    // ---- scores of every item ----------------------------------------------------------------

    // out[0..d) = score of each item. `out_len` must be d.
    template <class Scalar>
    void scores(const Scalar* output, std::size_t len, Scalar* out, std::size_t out_len) const {
        static_assert(std::is_floating_point_v<Scalar>, "bloom::decoder: outputs are float or double");
        if (out_len != spec_.items())
            detail::throw_invalid("decoder: scores() needs room for d = " +
                                  std::to_string(spec_.items()) + " scores (got " +
                                  std::to_string(out_len) + ")");
        std::vector<Scalar> logs(static_cast<std::size_t>(spec_.m()));
        log_values(output, len, logs.data(), npos);
        scores_from_logs(logs.data(), out);
    }

    // The d scores of one output (an Eigen vector expression of length m).
    template <class Derived>
    vector<typename Derived::Scalar> scores(const Eigen::MatrixBase<Derived>& output) const {
        using Scalar = typename Derived::Scalar;
        const vector<Scalar> v = as_vector(output);
        vector<Scalar> out(static_cast<Eigen::Index>(spec_.items()));
        scores(v.data(), static_cast<std::size_t>(v.size()), out.data(),
               static_cast<std::size_t>(out.size()));
        return out;
    }

    // Scores for many outputs: one row per example in (an Eigen matrix, rows x m; a row-major
    // bloom::matrix is read in place, anything else is copied to one first), one row of d
    // scores per example out.
    template <class Derived>
    matrix<typename Derived::Scalar> scores_batch(const Eigen::MatrixBase<Derived>& in) const {
        using Scalar = typename Derived::Scalar;
        matrix<Scalar> storage;
        const matrix<Scalar>& outputs = row_major(in, storage);
        check_batch_width(static_cast<std::size_t>(outputs.cols()));
        matrix<Scalar> out(outputs.rows(), static_cast<Eigen::Index>(spec_.items()));
        std::vector<Scalar> logs(static_cast<std::size_t>(spec_.m()));
        for (Eigen::Index r = 0; r < outputs.rows(); ++r) {
            log_values(outputs.row(r).data(), static_cast<std::size_t>(outputs.cols()),
                       logs.data(), static_cast<std::size_t>(r));
            scores_from_logs(logs.data(), out.row(r).data());
        }
        return out;
    }

    // ---- top n ------------------------------------------------------------------------------

    // The n best items of one output, best first, skipping the ids in exclude[0..n_exclude)
    // (items already seen; ids must be < d, duplicates are fine). Fewer than n when fewer items
    // remain.
    template <class Scalar, class Id = std::uint32_t>
    std::vector<scored_item> top_n(const Scalar* output, std::size_t len, std::size_t n,
                                   const Id* exclude = nullptr, std::size_t n_exclude = 0) const {
        static_assert(std::is_floating_point_v<Scalar>, "bloom::decoder: outputs are float or double");
        std::vector<std::uint64_t> ex = sorted_exclusions(exclude, n_exclude, npos);
        std::vector<Scalar> logs(static_cast<std::size_t>(spec_.m()));
        log_values(output, len, logs.data(), npos);
        std::vector<scored_item> best;
        select(logs.data(), n, ex, best);
        return best;
    }

    // Eigen vector output; `exclude` is any range of unsigned ids (a vector, an initializer
    // list, a bloom::data::csr row...).
    template <class Derived, class Exclude = std::initializer_list<std::uint32_t>>
    std::vector<scored_item> top_n(const Eigen::MatrixBase<Derived>& output, std::size_t n,
                                   const Exclude& exclude = {}) const {
        const vector<typename Derived::Scalar> v = as_vector(output);
        const std::vector<std::uint64_t> ex = collect(exclude);
        return top_n(v.data(), static_cast<std::size_t>(v.size()), n, ex.data(), ex.size());
    }

    // Top n of every row of a matrix (rows x m, as for scores_batch). `exclude_rows` gives row
    // r's exclusions either as exclude_rows[r] (a std::vector<std::vector<Id>>, with one entry
    // per row) or as exclude_rows(r) (a callable returning a range of ids).
    template <class Derived, class ExcludeRows>
    std::vector<std::vector<scored_item>> top_n_batch(const Eigen::MatrixBase<Derived>& in,
                                                      std::size_t n,
                                                      const ExcludeRows& exclude_rows) const {
        using Scalar = typename Derived::Scalar;
        matrix<Scalar> storage;
        const matrix<Scalar>& outputs = row_major(in, storage);
        check_batch_width(static_cast<std::size_t>(outputs.cols()));
        const auto rows = static_cast<std::size_t>(outputs.rows());
        if constexpr (!detail::is_row_callable<ExcludeRows>::value) {
            if (static_cast<std::size_t>(std::size(exclude_rows)) != rows)
                detail::throw_invalid("decoder: top_n_batch got exclusions for " +
                                      std::to_string(std::size(exclude_rows)) + " rows and " +
                                      std::to_string(rows) + " output rows");
        }
        std::vector<std::vector<scored_item>> out(rows);
        std::vector<Scalar> logs(static_cast<std::size_t>(spec_.m()));
        for (std::size_t r = 0; r < rows; ++r) {
            std::vector<std::uint64_t> ex;
            if constexpr (detail::is_row_callable<ExcludeRows>::value) {
                ex = collect(exclude_rows(r), r);
            } else {
                ex = collect(exclude_rows[r], r);
            }
            log_values(outputs.row(static_cast<Eigen::Index>(r)).data(),
                       static_cast<std::size_t>(outputs.cols()), logs.data(), r);
            select(logs.data(), n, ex, out[r]);
        }
        return out;
    }

    template <class Derived>
    std::vector<std::vector<scored_item>> top_n_batch(const Eigen::MatrixBase<Derived>& outputs,
                                                      std::size_t n) const {
        return top_n_batch(outputs, n, [](std::size_t) { return std::array<std::uint32_t, 0>{}; });
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static constexpr double allowance = 1e-3;

    [[noreturn]] static const spec_type& throw_null_table() {
        detail::throw_invalid(std::string("decoder<") + spec_type::hash_name() +
                              ">: the shared position table is null");
    }

    void check_options() const {
        if (!(opt_.floor > 0.0 && opt_.floor < 1.0))
            detail::throw_invalid("decoder: decoder_options::floor = " +
                                  std::to_string(opt_.floor) + " must lie in (0, 1)");
    }

    void check_batch_width(std::size_t cols) const {
        if (cols != spec_.m())
            detail::throw_invalid("decoder: the outputs have " + std::to_string(cols) +
                                  " columns; the spec has m = " + std::to_string(spec_.m()));
    }

    static std::string at(std::size_t row, std::size_t i) {
        return row == npos ? "output[" + std::to_string(i) + "]"
                           : "row " + std::to_string(row) + ", output[" + std::to_string(i) + "]";
    }

    template <class Scalar>
    void log_values(const Scalar* output, std::size_t len, Scalar* logs, std::size_t row) const {
        static_assert(std::is_floating_point_v<Scalar>, "bloom::decoder: outputs are float or double");
        if (len != spec_.m())
            detail::throw_invalid("decoder: " +
                                  (row == npos ? std::string("the output")
                                               : "row " + std::to_string(row)) +
                                  " has " + std::to_string(len) + " values; the spec has m = " +
                                  std::to_string(spec_.m()));
        const Scalar lf = static_cast<Scalar>(std::log(opt_.floor));
        if (opt_.input == output_kind::probabilities) {
            const auto fl = static_cast<Scalar>(opt_.floor);
            const auto hi = static_cast<Scalar>(1.0 + allowance);
            for (std::size_t i = 0; i < len; ++i) {
                const Scalar p = output[i];
                if (BLOOM_UNLIKELY(!(p >= Scalar(0) && p <= hi))) bad_probability(p, row, i);
                logs[i] = p > fl ? std::log(p) : lf;
            }
        } else {
            const auto hi = static_cast<Scalar>(allowance);
            for (std::size_t i = 0; i < len; ++i) {
                const Scalar l = output[i];
                if (BLOOM_UNLIKELY(!(l <= hi))) bad_log_probability(l, row, i);
                logs[i] = l > lf ? l : lf;
            }
        }
    }

    template <class Scalar>
    [[noreturn]] static void bad_probability(Scalar p, std::size_t row, std::size_t i) {
        if (std::isnan(p)) detail::throw_invalid("decoder: " + at(row, i) + " is NaN");
        detail::throw_invalid("decoder: " + at(row, i) + " = " + std::to_string(p) +
                              " is not a probability (expected [0, 1]; for log-probabilities "
                              "set decoder_options::input = output_kind::log_probabilities, "
                              "and apply a sigmoid or softmax to logits first)");
    }

    template <class Scalar>
    [[noreturn]] static void bad_log_probability(Scalar l, std::size_t row, std::size_t i) {
        if (std::isnan(l)) detail::throw_invalid("decoder: " + at(row, i) + " is NaN");
        detail::throw_invalid("decoder: " + at(row, i) + " = " + std::to_string(l) +
                              " is not a log-probability (expected <= 0; apply a log-sigmoid "
                              "or log-softmax to logits first)");
    }

    // The matrix itself when it is a row-major bloom::matrix, else a copy in `storage`.
    template <class Derived>
    static const matrix<typename Derived::Scalar>& row_major(
        const Eigen::MatrixBase<Derived>& x, matrix<typename Derived::Scalar>& storage) {
        static_assert(std::is_floating_point_v<typename Derived::Scalar>,
                      "bloom::decoder: outputs are float or double");
        if constexpr (std::is_same_v<Derived, matrix<typename Derived::Scalar>>) {
            return x.derived();
        } else {
            storage = x;
            return storage;
        }
    }

    template <class Derived>
    static vector<typename Derived::Scalar> as_vector(const Eigen::MatrixBase<Derived>& output) {
        static_assert(std::is_floating_point_v<typename Derived::Scalar>,
                      "bloom::decoder: outputs are float or double");
        if (output.rows() != 1 && output.cols() != 1)
            detail::throw_invalid("decoder: the output must be a vector, got a " +
                                  std::to_string(output.rows()) + " x " +
                                  std::to_string(output.cols()) + " matrix (use top_n_batch "
                                  "for one example per row)");
        vector<typename Derived::Scalar> v(output.size());
        for (Eigen::Index i = 0; i < output.size(); ++i)
            v(i) = output.derived().coeff(output.rows() == 1 ? 0 : i, output.rows() == 1 ? i : 0);
        return v;
    }

    // Sorted unique exclusions, each checked to be < d.
    template <class Id>
    std::vector<std::uint64_t> sorted_exclusions(const Id* ex, std::size_t n,
                                                 std::size_t row) const {
        static_assert(std::is_integral_v<Id> && std::is_unsigned_v<Id>,
                      "bloom::decoder: excluded ids must be an unsigned integer type");
        std::vector<std::uint64_t> out;
        out.reserve(n + 1);
        for (std::size_t i = 0; i < n; ++i) {
            const auto id = static_cast<std::uint64_t>(ex[i]);
            if (id >= spec_.items())
                detail::throw_range("decoder: " +
                                    (row == npos ? std::string() : "row " + std::to_string(row) +
                                                                       ", ") +
                                    "exclude[" + std::to_string(i) + "] = " + std::to_string(id) +
                                    " is out of range: the spec has d = " +
                                    std::to_string(spec_.items()) + " items");
            out.push_back(id);
        }
        if (spec_.config().padding_zero) out.push_back(0);
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    template <class Range>
    std::vector<std::uint64_t> collect(const Range& ids, std::size_t row = npos) const {
        using Id = std::remove_cv_t<std::remove_reference_t<decltype(*std::begin(ids))>>;
        const std::vector<Id> flat(std::begin(ids), std::end(ids));
        return sorted_exclusions(flat.data(), flat.size(), row);
    }

    // Calls f(id, positions) for every item 0..d-1 in order, `positions` pointing at its k
    // positions, read from the table or hashed into a buffer.
    template <class F>
    BLOOM_ALWAYS_INLINE void for_each_item(F&& f) const {
        const std::uint64_t d = spec_.items();
        const std::uint32_t k = spec_.k();
        if (table_) {
            const position_type* p = table_->data();
            for (std::uint64_t id = 0; id < d; ++id, p += k) f(id, p);
        } else {
            position_type small[spec_type::max_inline_k];
            std::vector<position_type> big(k > spec_type::max_inline_k ? k : 0);
            position_type* buf = k > spec_type::max_inline_k ? big.data() : small;
            for (std::uint64_t id = 0; id < d; ++id) {
                spec_.positions(id, buf);
                f(id, static_cast<const position_type*>(buf));
            }
        }
    }

    // The score of one item: the same sum in the same order everywhere (scores, top_n, batch).
    template <class Scalar>
    static BLOOM_ALWAYS_INLINE Scalar sum_logs(const Scalar* logs, const position_type* p,
                                               std::uint32_t k) noexcept {
        if (k == 4) return ((logs[p[0]] + logs[p[1]]) + logs[p[2]]) + logs[p[3]];
        Scalar s = logs[p[0]];
        for (std::uint32_t j = 1; j < k; ++j) s += logs[p[j]];
        return s;
    }

    template <class Scalar>
    void scores_from_logs(const Scalar* logs, Scalar* out) const {
        const std::uint32_t k = spec_.k();
        for_each_item([&](std::uint64_t id, const position_type* p) {
            out[id] = sum_logs(logs, p, k);
        });
    }

    // Bounded selection: a heap of the n best so far whose top is the worst of them. An item
    // enters only when it beats that worst strictly; items arrive in increasing id, so a tie
    // keeps the lower id, as the ranking order wants.
    template <class Scalar>
    void select(const Scalar* logs, std::size_t n, const std::vector<std::uint64_t>& ex,
                std::vector<scored_item>& best) const {
        best.clear();
        if (n == 0) return;
        const std::uint64_t d = spec_.items();
        const std::size_t cap =
            static_cast<std::size_t>(std::min<std::uint64_t>(n, d));
        best.reserve(cap);
        const std::uint32_t k = spec_.k();
        const detail::ranks_before worse_on_top;
        const std::uint64_t* next_ex = ex.data();
        const std::uint64_t* const ex_end = ex.data() + ex.size();
        Scalar threshold = -std::numeric_limits<Scalar>::infinity();
        bool full = false;
        for_each_item([&](std::uint64_t id, const position_type* p) {
            const Scalar s = sum_logs(logs, p, k);
            if (full && !(s > threshold)) return;
            while (next_ex != ex_end && *next_ex < id) ++next_ex;
            if (next_ex != ex_end && *next_ex == id) return;
            if (!full) {
                best.push_back({id, static_cast<double>(s)});
                std::push_heap(best.begin(), best.end(), worse_on_top);
                if (best.size() == cap) {
                    full = true;
                    threshold = static_cast<Scalar>(best.front().score);
                }
                return;
            }
            std::pop_heap(best.begin(), best.end(), worse_on_top);
            best.back() = {id, static_cast<double>(s)};
            std::push_heap(best.begin(), best.end(), worse_on_top);
            threshold = static_cast<Scalar>(best.front().score);
        });
        std::sort(best.begin(), best.end(), worse_on_top);
    }

    spec_type spec_;
    std::shared_ptr<const table_type> table_;
    decoder_options opt_;
};

using decoder = basic_decoder<xxh3>;

}  // namespace bloom
