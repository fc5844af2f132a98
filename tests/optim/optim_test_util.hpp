// Helpers shared by the optimizer tests: seeded random tables and row-sparse gradients, bitwise
// comparisons, and checks that every optimizer must pass (instantiated in each test file).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <random>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <bloom/optim/adagrad.hpp>
#include <bloom/optim/adam.hpp>
#include <bloom/optim/sgd.hpp>
#include <bloom/tensor.hpp>

namespace optim_test {

using Eigen::Index;

// Uniform in [lo, hi), from the engine's bits (the same numbers with every standard library).
inline double uniform(std::mt19937_64& rng, double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

template <class S>
bloom::matrix<S> random_matrix(Index rows, Index cols, std::uint64_t seed, double lo = -1.0,
                               double hi = 1.0) {
    std::mt19937_64 rng(seed);
    bloom::matrix<S> m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<S>(uniform(rng, lo, hi));
    return m;
}

// nnz distinct rows of [0, table_rows), sorted, with random gradient rows.
template <class S>
bloom::row_sparse<S> random_row_sparse(Index table_rows, Index cols, std::size_t nnz,
                                       std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint32_t> all(static_cast<std::size_t>(table_rows));
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint32_t>(i);
    for (std::size_t i = 0; i < nnz; ++i) {  // partial Fisher-Yates
        const std::size_t j = i + static_cast<std::size_t>(rng() % (all.size() - i));
        std::swap(all[i], all[j]);
    }
    bloom::row_sparse<S> g;
    g.rows.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(nnz));
    std::sort(g.rows.begin(), g.rows.end());
    g.values = random_matrix<S>(static_cast<Index>(nnz), cols, seed ^ 0x9E3779B97F4A7C15ULL);
    return g;
}

// Every row of the table, in order: the sparse form of a dense gradient.
template <class S>
bloom::row_sparse<S> all_rows(const bloom::matrix<S>& dense) {
    bloom::row_sparse<S> g;
    for (Index r = 0; r < dense.rows(); ++r) g.rows.push_back(static_cast<std::uint32_t>(r));
    g.values = dense;
    return g;
}

// The dense gradient equal to g: g's rows, zeros elsewhere.
template <class S>
bloom::matrix<S> to_dense(const bloom::row_sparse<S>& g, Index rows) {
    bloom::matrix<S> d = bloom::matrix<S>::Zero(rows, g.cols());
    for (std::size_t i = 0; i < g.rows.size(); ++i)
        d.row(g.rows[i]) = g.values.row(static_cast<Index>(i));
    return d;
}

template <class S>
bool contains(const bloom::row_sparse<S>& g, Index r) {
    return std::binary_search(g.rows.begin(), g.rows.end(), static_cast<std::uint32_t>(r));
}

template <class S>
bool same_bits(const bloom::matrix<S>& a, const bloom::matrix<S>& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), sizeof(S) * static_cast<std::size_t>(a.size())) == 0;
}

template <class S>
bool row_same_bits(const bloom::matrix<S>& a, const bloom::matrix<S>& b, Index r) {
    return std::memcmp(a.data() + r * a.cols(), b.data() + r * b.cols(),
                       sizeof(S) * static_cast<std::size_t>(a.cols())) == 0;
}

// Every piece of an optimizer's state, as matrices of the parameter's shape.
template <class S>
std::vector<bloom::matrix<S>> state_of(const bloom::optim::sgd<S>& o) {
    if (o.velocity().size() == 0) return {};  // no momentum: no state
    return {o.velocity()};
}
template <class S>
std::vector<bloom::matrix<S>> state_of(const bloom::optim::adagrad<S>& o) {
    return {o.accumulator()};
}
template <class S>
std::vector<bloom::matrix<S>> state_of(const bloom::optim::adam<S>& o) {
    return {o.first_moment(), o.second_moment()};
}

template <class Opt>
bool same_state(const Opt& a, const Opt& b) {
    const auto sa = state_of(a), sb = state_of(b);
    for (std::size_t i = 0; i < sa.size(); ++i)
        if (!same_bits(sa[i], sb[i])) return false;
    return true;
}

// --- checks every optimizer passes -------------------------------------------------------------

// After dense warm-up steps (so every row has non-zero state), sparse steps leave each untouched
// row bit-for-bit as it was, values and every piece of state, and change every touched row.
template <class Opt>
void check_untouched_rows_unchanged(const typename Opt::config& c) {
    using S = typename Opt::scalar_type;
    const Index rows = 40, cols = 7;  // 7: not a multiple of any SIMD width
    bloom::matrix<S> table = random_matrix<S>(rows, cols, 1);
    Opt opt(c);
    for (std::uint64_t s = 0; s < 3; ++s) opt.step(table, random_matrix<S>(rows, cols, 100 + s));
    for (const auto& st : state_of(opt)) REQUIRE(st.cwiseAbs().minCoeff() > S(0));

    for (std::uint64_t s = 0; s < 5; ++s) {
        const auto g = random_row_sparse<S>(rows, cols, 9, 200 + s);
        const bloom::matrix<S> before = table;
        const auto state_before = state_of(opt);
        opt.step(table, g);
        const auto state_after = state_of(opt);
        for (Index r = 0; r < rows; ++r) {
            INFO("step " << s << ", row " << r);
            if (contains(g, r)) {
                CHECK_FALSE(row_same_bits(table, before, r));
                continue;
            }
            CHECK(row_same_bits(table, before, r));
            for (std::size_t k = 0; k < state_after.size(); ++k)
                CHECK(row_same_bits(state_after[k], state_before[k], r));
        }
    }
}

// Untouched rows are not even read: poisoning them with NaN changes nothing in the touched rows.
template <class Opt>
void check_untouched_rows_not_read(const typename Opt::config& c) {
    using S = typename Opt::scalar_type;
    const Index rows = 30, cols = 5;
    std::vector<bloom::row_sparse<S>> grads;
    for (std::uint64_t s = 0; s < 4; ++s)
        grads.push_back(random_row_sparse<S>(rows, cols, 6, 300 + s));
    auto touched = [&](Index r) {
        for (const auto& g : grads)
            if (contains(g, r)) return true;
        return false;
    };
    bloom::matrix<S> clean = random_matrix<S>(rows, cols, 2);
    bloom::matrix<S> poisoned = clean;
    for (Index r = 0; r < rows; ++r)
        if (!touched(r)) poisoned.row(r).setConstant(std::numeric_limits<S>::quiet_NaN());
    Opt a(c), b(c);
    for (const auto& g : grads) {
        a.step(clean, g);
        b.step(poisoned, g);
    }
    for (Index r = 0; r < rows; ++r) {
        INFO("row " << r);
        if (touched(r))
            CHECK(row_same_bits(clean, poisoned, r));
        else
            CHECK(poisoned.row(r).array().isNaN().all());
    }
}

// Sparse steps whose gradient lists every row are dense steps, bit for bit (values and state).
template <class Opt>
void check_full_sparse_equals_dense(const typename Opt::config& c) {
    using S = typename Opt::scalar_type;
    const Index rows = 13, cols = 19;
    bloom::matrix<S> dense = random_matrix<S>(rows, cols, 3);
    bloom::matrix<S> sparse = dense;
    Opt a(c), b(c);
    for (std::uint64_t s = 0; s < 6; ++s) {
        const bloom::matrix<S> g = random_matrix<S>(rows, cols, 400 + s);
        a.step(dense, g);
        b.step(sparse, all_rows(g));
    }
    CHECK_FALSE(same_bits(dense, random_matrix<S>(rows, cols, 3)));  // it did move
    CHECK(same_bits(dense, sparse));
    CHECK(same_state(a, b));
    CHECK(a.steps() == b.steps());
}

// begin_step() + update_row() per row is the row-sparse step, bit for bit.
template <class Opt>
void check_update_row_equals_sparse_step(const typename Opt::config& c) {
    using S = typename Opt::scalar_type;
    const Index rows = 25, cols = 6;
    bloom::matrix<S> t1 = random_matrix<S>(rows, cols, 4);
    bloom::matrix<S> t2 = t1;
    Opt a(c), b(c);
    for (std::uint64_t s = 0; s < 5; ++s) {
        const auto g = random_row_sparse<S>(rows, cols, 8, 500 + s);
        a.step(t1, g);
        b.begin_step();
        // any order: rows are independent
        for (std::size_t i = g.rows.size(); i-- > 0;)
            b.update_row(t2, g.rows[i], g.values.data() + static_cast<Index>(i) * cols);
    }
    CHECK(same_bits(t1, t2));
    CHECK(same_state(a, b));
    CHECK(a.steps() == b.steps());
}

// update_rows() over a batch of distinct rows is update_row() per row, bit for bit, for a
// one-column table (Adam's gathered SIMD path, with a full chunk of 64 and a tail) and a wide one.
template <class Opt>
void check_update_rows_equals_update_row(const typename Opt::config& c) {
    using S = typename Opt::scalar_type;
    for (const Index cols : {Index{1}, Index{32}, Index{5}}) {
        const Index rows = 300;
        bloom::matrix<S> t1 = random_matrix<S>(rows, cols, 6);
        bloom::matrix<S> t2 = t1;
        Opt a(c), b(c);
        for (std::uint64_t s = 0; s < 4; ++s) {
            const auto g = random_row_sparse<S>(rows, cols, 150 + 7 * s, 900 + s);
            // first-touch order, as a row_grads batch hands them over: not sorted
            std::vector<std::uint32_t> order(g.rows.size());
            for (std::size_t i = 0; i < order.size(); ++i)
                order[i] = static_cast<std::uint32_t>((i * 37) % order.size());
            std::vector<std::uint32_t> rs;
            std::vector<S> gs;
            for (std::uint32_t i : order) {
                rs.push_back(g.rows[i]);
                for (Index k = 0; k < cols; ++k) gs.push_back(g.values(static_cast<Index>(i), k));
            }
            a.begin_step();
            for (std::size_t i = 0; i < rs.size(); ++i)
                a.update_row(t1, rs[i], gs.data() + static_cast<Index>(i) * cols);
            b.begin_step();
            b.update_rows(t2, rs.data(), gs.data(), rs.size());
        }
        INFO("cols " << cols);
        CHECK_FALSE(same_bits(t1, random_matrix<S>(rows, cols, 6)));  // it did move
        CHECK(same_bits(t1, t2));
        CHECK(same_state(a, b));
    }
}

// update_range() over consecutive rows equals update_rows() listing them, bit for bit, values and
// state; so does update_range_concurrent() at step t against update_rows_concurrent(). The runs
// are short (below a SIMD packet), of a common width, and longer than a dense block.
template <class Opt>
void check_update_range_equals_update_rows(const typename Opt::config& c) {
    using S = typename Opt::scalar_type;
    for (const Index cols : {Index{1}, Index{5}}) {
        const Index rows = 3000;
        const bloom::matrix<S> start = random_matrix<S>(rows, cols, 16);
        bloom::matrix<S> t1 = start, t2 = start, t3 = start, t4 = start;
        Opt a(c), b(c), d(c), e(c);
        d.allocate(rows, cols);
        e.allocate(rows, cols);
        const std::pair<std::uint32_t, std::uint32_t> runs[] = {
            {0, 1}, {3, 3}, {10, 7}, {40, 32}, {100, 2500}, {2999, 1}};
        for (std::uint64_t s = 0; s < 3; ++s) {
            const bloom::matrix<S> g = random_matrix<S>(rows, cols, 70 + s);
            a.begin_step();
            b.begin_step();
            for (const auto& r : runs) {
                std::vector<std::uint32_t> rs;
                for (std::uint32_t i = 0; i < r.second; ++i) rs.push_back(r.first + i);
                const S* gp = g.data() + static_cast<Index>(r.first) * cols;
                a.update_rows(t1, rs.data(), gp, rs.size());
                b.update_range(t2, r.first, r.second, gp);
                d.update_rows_concurrent(s + 1, t3, rs.data(), gp, rs.size());
                e.update_range_concurrent(s + 1, t4, r.first, r.second, gp);
            }
        }
        d.advance_steps(3);
        e.advance_steps(3);
        INFO("cols " << cols);
        CHECK_FALSE(same_bits(t1, start));
        CHECK(same_bits(t1, t2));
        CHECK(same_state(a, b));
        CHECK(same_bits(t1, t3));
        CHECK(same_bits(t3, t4));
        CHECK(same_state(d, e));
        CHECK(same_state(a, e));
        // Rows in no run: unchanged.
        for (const Index r : {Index{1}, Index{2}, Index{9}, Index{72}, Index{2600}, Index{2998}})
            CHECK(row_same_bits(t2, start, r));
    }
}

// With weight decay and zero gradient values, touched rows shrink and untouched rows stay as they
// were; a dense step would shrink every row.
template <class Opt>
void check_weight_decay_touched_only(typename Opt::config c) {
    using S = typename Opt::scalar_type;
    c.weight_decay = 0.5;
    const Index rows = 12, cols = 4;
    const bloom::matrix<S> start = random_matrix<S>(rows, cols, 5, 0.5, 1.5);  // positive
    bloom::matrix<S> table = start;
    Opt opt(c);
    bloom::row_sparse<S> g;
    g.rows = {1, 4, 5, 11};
    g.values = bloom::matrix<S>::Zero(4, cols);
    opt.step(table, g);
    for (Index r = 0; r < rows; ++r) {
        INFO("row " << r);
        if (contains(g, r))
            CHECK((table.row(r).array() < start.row(r).array()).all());
        else
            CHECK(row_same_bits(table, start, r));
    }
    bloom::matrix<S> dense = start;
    Opt d(c);
    d.step(dense, bloom::matrix<S>::Zero(rows, cols).eval());
    CHECK((dense.array() < start.array()).all());
}

// Every way a step can be called wrongly throws, says what and where, and changes nothing.
template <class Opt>
void check_errors(const typename Opt::config& c) {
    using S = typename Opt::scalar_type;
    using Catch::Matchers::Contains;
    const Index rows = 10, cols = 3;
    bloom::matrix<S> table = random_matrix<S>(rows, cols, 6);
    Opt opt(c);
    opt.step(table, random_row_sparse<S>(rows, cols, 4, 600));  // binds the shape
    const bloom::matrix<S> table_before = table;
    const auto state_before = state_of(opt);
    const std::string name = Opt::name;

    SECTION("dense gradient of another shape") {
        bloom::matrix<S> g = bloom::matrix<S>::Zero(rows, cols + 1);
        REQUIRE_THROWS_AS(opt.step(table, g), bloom::invalid_argument);
        REQUIRE_THROWS_WITH(opt.step(table, g),
                            Contains(name + "::step") && Contains("10x4") && Contains("10x3"));
    }
    SECTION("row_sparse rows out of order") {
        bloom::row_sparse<S> g;
        g.rows = {1, 5, 3};
        g.values = bloom::matrix<S>::Ones(3, cols);
        REQUIRE_THROWS_AS(opt.step(table, g), bloom::invalid_argument);
        REQUIRE_THROWS_WITH(opt.step(table, g), Contains("sorted") && Contains("entry 2") &&
                                                    Contains("unsorted"));
    }
    SECTION("row_sparse with a duplicate row") {
        bloom::row_sparse<S> g;
        g.rows = {2, 2};
        g.values = bloom::matrix<S>::Ones(2, cols);
        REQUIRE_THROWS_AS(opt.step(table, g), bloom::invalid_argument);
        REQUIRE_THROWS_WITH(opt.step(table, g), Contains("duplicate") && Contains("row 2"));
    }
    SECTION("row_sparse row outside the table") {
        bloom::row_sparse<S> g;
        g.rows = {0, 10};
        g.values = bloom::matrix<S>::Ones(2, cols);
        REQUIRE_THROWS_AS(opt.step(table, g), bloom::out_of_range);
        REQUIRE_THROWS_WITH(opt.step(table, g), Contains("row 10") && Contains("10x3"));
    }
    SECTION("row_sparse with fewer value rows than rows") {
        bloom::row_sparse<S> g;
        g.rows = {0, 1, 2};
        g.values = bloom::matrix<S>::Ones(2, cols);
        REQUIRE_THROWS_AS(opt.step(table, g), bloom::invalid_argument);
        REQUIRE_THROWS_WITH(opt.step(table, g), Contains("lists 3 rows") && Contains("2 rows"));
    }
    SECTION("row_sparse values of the wrong width") {
        bloom::row_sparse<S> g;
        g.rows = {0, 1};
        g.values = bloom::matrix<S>::Ones(2, cols + 2);
        REQUIRE_THROWS_AS(opt.step(table, g), bloom::invalid_argument);
        REQUIRE_THROWS_WITH(opt.step(table, g), Contains("2x5") && Contains("10x3"));
    }
    SECTION("the same optimizer on a parameter of another shape") {
        bloom::matrix<S> other = random_matrix<S>(rows + 1, cols, 7);
        REQUIRE_THROWS_AS(opt.step(other, bloom::matrix<S>::Zero(rows + 1, cols).eval()),
                          bloom::invalid_argument);
        REQUIRE_THROWS_WITH(opt.step(other, random_row_sparse<S>(rows + 1, cols, 2, 601)),
                            Contains("11x3") && Contains("10x3") &&
                                Contains("one optimizer per parameter"));
        REQUIRE_THROWS_AS(opt.allocate(rows, cols + 1), bloom::invalid_argument);
        REQUIRE_THROWS_AS(opt.allocate(-1, cols), bloom::invalid_argument);
    }
    SECTION("set_lr") {
        REQUIRE_THROWS_WITH(opt.set_lr(-0.5), Contains(name) && Contains("lr") && Contains("-0.5"));
        REQUIRE_THROWS_WITH(opt.set_lr(std::numeric_limits<double>::quiet_NaN()),
                            Contains("lr") && Contains("nan"));
    }
    // A failed call is not a step.
    CHECK(opt.steps() == 1);
    CHECK(same_bits(table, table_before));
    const auto state_after = state_of(opt);
    for (std::size_t k = 0; k < state_after.size(); ++k)
        CHECK(same_bits(state_after[k], state_before[k]));
}

// Bookkeeping: lazy allocation at the first step, up-front allocation, step counting, reset.
template <class Opt>
void check_lifecycle(const typename Opt::config& c) {
    using S = typename Opt::scalar_type;
    const Index rows = 9, cols = 4;
    bloom::matrix<S> table = random_matrix<S>(rows, cols, 8);
    Opt opt(c);
    CHECK_FALSE(opt.allocated());
    CHECK(opt.steps() == 0);
    opt.step(table, bloom::row_sparse<S>{});  // an empty gradient still counts as a step
    CHECK(opt.allocated());
    CHECK(opt.rows() == rows);
    CHECK(opt.cols() == cols);
    CHECK(opt.steps() == 1);
    CHECK(same_bits(table, random_matrix<S>(rows, cols, 8)));
    opt.step(table, random_matrix<S>(rows, cols, 9));
    opt.begin_step();
    CHECK(opt.steps() == 3);
    opt.reset();
    CHECK(opt.steps() == 0);
    CHECK(opt.allocated());

    Opt early(c, rows, cols);
    CHECK(early.allocated());
    CHECK(early.rows() == rows);

    // update_row on a fresh optimizer allocates the state itself
    Opt lazy(c);
    lazy.begin_step();
    const std::vector<S> g(static_cast<std::size_t>(cols), S(1));
    lazy.update_row(table, 3, g.data());
    CHECK(lazy.allocated());
    CHECK(lazy.rows() == rows);
}

// Minimises f(W) = 1/2 sum a_ij (W_ij - T_ij)^2 (a in [0.5, 2]) from a random start. With `sparse`,
// each step's gradient lists only a random half of the rows. Returns f at the end / f at start.
template <class Opt>
double quadratic_ratio(const typename Opt::config& c, int steps, bool sparse) {
    using S = typename Opt::scalar_type;
    const Index rows = 16, cols = 8;
    const bloom::matrix<S> a = random_matrix<S>(rows, cols, 10, 0.5, 2.0);
    const bloom::matrix<S> target = random_matrix<S>(rows, cols, 11);
    bloom::matrix<S> w = random_matrix<S>(rows, cols, 12, -3.0, 3.0);
    auto loss = [&] {
        return 0.5 * static_cast<double>(
                         (a.array() * (w - target).array().square()).template cast<double>().sum());
    };
    const double f0 = loss();
    Opt opt(c);
    std::mt19937_64 rng(13);
    for (int s = 0; s < steps; ++s) {
        const bloom::matrix<S> g = (a.array() * (w - target).array()).matrix();
        if (!sparse) {
            opt.step(w, g);
            continue;
        }
        bloom::row_sparse<S> gs;
        for (Index r = 0; r < rows; ++r)
            if (rng() & 1) gs.rows.push_back(static_cast<std::uint32_t>(r));
        gs.values.resize(static_cast<Index>(gs.rows.size()), cols);
        for (std::size_t i = 0; i < gs.rows.size(); ++i)
            gs.values.row(static_cast<Index>(i)) = g.row(gs.rows[i]);
        opt.step(w, gs);
    }
    return loss() / f0;
}

}  // namespace optim_test
