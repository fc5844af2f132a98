// What the three optimizers share: hyperparameter checks, shape and row_sparse validation, and the
// base class that turns one elementwise update kernel into the dense, row-sparse and per-row forms.
//
// Every optimizer is one stateful object per parameter. Its state (velocity, accumulator, moments)
// has the parameter's shape, is allocated once (at the first step, or up front with allocate()),
// and is only ever read or written for the rows a step touches. See docs/optimizers.md.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace optim {
namespace detail {

// "3x64": how shapes appear in messages.
inline std::string shape_string(Eigen::Index rows, Eigen::Index cols) {
    return std::to_string(rows) + "x" + std::to_string(cols);
}

// A hyperparameter as it appears in messages: short, and exact enough to recognise (1e-08, nan).
inline std::string number_string(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

[[noreturn]] inline void bad_hyper(const char* who, const char* name, const char* rule, double v) {
    ::bloom::detail::throw_invalid(std::string(who) + ": " + name + " must be " + rule + ", got " +
                                   number_string(v));
}

// Written as negated comparisons so that NaN fails every rule.
inline void require_nonnegative(const char* who, const char* name, double v) {
    if (!(v >= 0.0 && std::isfinite(v))) bad_hyper(who, name, "finite and >= 0", v);
}
inline void require_positive(const char* who, const char* name, double v) {
    if (!(v > 0.0 && std::isfinite(v))) bad_hyper(who, name, "finite and > 0", v);
}
inline void require_unit(const char* who, const char* name, double v) {
    if (!(v >= 0.0 && v < 1.0)) bad_hyper(who, name, "in [0, 1)", v);
}

// Dense form: the gradient has the parameter's shape.
template <class Scalar>
void check_dense(const char* who, const matrix<Scalar>& param, const matrix<Scalar>& grad) {
    if (param.rows() != grad.rows() || param.cols() != grad.cols())
        ::bloom::detail::throw_invalid(std::string(who) + "::step: gradient is " +
                                       shape_string(grad.rows(), grad.cols()) +
                                       " but the parameter is " +
                                       shape_string(param.rows(), param.cols()));
}

// Row-sparse form: the row_sparse invariant (tensor.hpp) and the table's shape. O(nnz), done in
// full before any row is updated, so a throwing step leaves table and state untouched.
template <class Scalar>
void check_sparse(const char* who, const matrix<Scalar>& table, const row_sparse<Scalar>& grad) {
    const std::string where = std::string(who) + "::step: ";
    const std::size_t n = grad.rows.size();
    if (static_cast<std::size_t>(grad.values.rows()) != n)
        ::bloom::detail::throw_invalid(where + "row_sparse lists " + std::to_string(n) +
                                       " rows but its values have " +
                                       std::to_string(grad.values.rows()) + " rows");
    // An empty gradient may come default-constructed (0x0 values).
    if (n != 0 && grad.values.cols() != table.cols())
        ::bloom::detail::throw_invalid(where + "row_sparse values are " +
                                       shape_string(grad.values.rows(), grad.values.cols()) +
                                       " but the table is " +
                                       shape_string(table.rows(), table.cols()) +
                                       " (gradient rows need " + std::to_string(table.cols()) +
                                       " columns)");
    const auto table_rows = static_cast<std::uint64_t>(table.rows());
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t r = grad.rows[i];
        if (static_cast<std::uint64_t>(r) >= table_rows)
            ::bloom::detail::throw_range(where + "row_sparse entry " + std::to_string(i) +
                                         " is row " + std::to_string(r) + ", outside the " +
                                         shape_string(table.rows(), table.cols()) + " table");
        if (i > 0 && r <= grad.rows[i - 1])
            ::bloom::detail::throw_invalid(
                where + "row_sparse rows must be sorted and unique, but entry " +
                std::to_string(i) + " is row " + std::to_string(r) + " after row " +
                std::to_string(grad.rows[i - 1]) +
                (r == grad.rows[i - 1] ? " (duplicate: merge it first)" : " (unsorted)"));
    }
}

// Asks the CPU to start loading a few cache lines of a row that is about to be updated.
BLOOM_ALWAYS_INLINE void prefetch_write(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p, 1, 3);
#else
    (void)p;
#endif
}

// --- a square root that is correctly rounded in every SIMD lane --------------------------------
// Eigen's vectorised sqrt is, under its default EIGEN_FAST_MATH, an approximation (rsqrt and a
// Newton step) for float (SSE, AVX) and double (AVX-512), while its scalar path is std::sqrt. A
// row's result would then depend on which of its scalars fall in a SIMD packet and which in the
// scalar head or tail, that is on the row's width and address, and the dense, sparse and per-row
// forms would disagree in the last bit. This functor uses the IEEE sqrt instruction in every lane,
// so each scalar's update is the same arithmetic whatever the layout. Where no such instruction
// is wired up here, it takes the scalar path (still exact, not vectorised).
#if defined(EIGEN_VECTORIZE_SSE2)
#  define BLOOM_OPTIM_EXACT_PSQRT 1
inline Eigen::internal::Packet4f exact_psqrt(const Eigen::internal::Packet4f& x) {
    return _mm_sqrt_ps(x);
}
inline Eigen::internal::Packet2d exact_psqrt(const Eigen::internal::Packet2d& x) {
    return _mm_sqrt_pd(x);
}
#  if defined(EIGEN_VECTORIZE_AVX)
inline Eigen::internal::Packet8f exact_psqrt(const Eigen::internal::Packet8f& x) {
    return _mm256_sqrt_ps(x);
}
inline Eigen::internal::Packet4d exact_psqrt(const Eigen::internal::Packet4d& x) {
    return _mm256_sqrt_pd(x);
}
#  endif
#  if defined(EIGEN_VECTORIZE_AVX512)
// The zero-masked forms: GCC 12's _mm512_sqrt_ps passes _mm512_undefined_ps() through, which
// -Wmaybe-uninitialized flags once inlined; with a full mask the result is the same.
inline Eigen::internal::Packet16f exact_psqrt(const Eigen::internal::Packet16f& x) {
    return _mm512_maskz_sqrt_ps(static_cast<__mmask16>(0xFFFF), x);
}
inline Eigen::internal::Packet8d exact_psqrt(const Eigen::internal::Packet8d& x) {
    return _mm512_maskz_sqrt_pd(static_cast<__mmask8>(0xFF), x);
}
#  endif
#else
#  define BLOOM_OPTIM_EXACT_PSQRT 0
#endif

template <class Scalar>
struct exact_sqrt_op {
    Scalar operator()(const Scalar& x) const { return std::sqrt(x); }
    template <class Packet>
    Packet packetOp(const Packet& x) const {
        return exact_psqrt(x);
    }
};

// Elementwise kernels work on a span: a table row, or a block of a dense parameter.
template <class Scalar>
using span = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
template <class Scalar>
using const_span = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;

// The dense form walks the parameter in blocks of this many scalars, so that a kernel's several
// passes (moments, then the parameter) reuse data in L1/L2 instead of streaming the whole
// parameter several times.
inline constexpr Eigen::Index dense_block = 2048;

// One optimizer bound to one parameter, configured by a Config (which has a double lr). The base
// owns the validated Config, settings() and set_lr(); Derived supplies:
//   static constexpr const char* name;                 // "adam", for messages
//   static void validate(const Config& c);             // checks all but lr (the base checks lr)
//   void cache() noexcept;                             // Scalar copies of the config for apply()
//   void allocate_state(Eigen::Index rows, Eigen::Index cols);   // zeros of the bound shape
//   void on_begin_step(std::uint64_t t) noexcept;      // per-step coefficients (bias correction)
//   void apply(Scalar* w, const Scalar* g, Eigen::Index offset, Eigen::Index n) noexcept;
//       // update w[0..n) with g[0..n); the state of these scalars starts at element `offset`
//   void prefetch_state(Eigen::Index offset) const noexcept;   // optional hint for a row
//   void clear_state() noexcept;                       // zero the state (reset())
// The update must be elementwise: scalar i of the result depends only on scalar i of w, g and
// the state. That is what makes the dense, sparse and per-row forms agree exactly.
// Derived's constructors call cache() in their bodies: the base cannot, as Derived's members are
// not built yet while the base is.
template <class Derived, class Scalar, class Config>
class optimizer_base {
public:
    using scalar_type = Scalar;

    const Config& settings() const noexcept { return cfg_; }

    // Changes the learning rate (for schedules); the rule is the constructor's. It applies from
    // the current step on: the step's coefficients are computed again, as they may depend on lr
    // (adam's step size).
    void set_lr(double lr) {
        require_nonnegative(Derived::name, "lr", lr);
        cfg_.lr = lr;
        self().cache();
        if (t_ > 0) self().on_begin_step(t_);
    }

    // Steps taken so far: the number of begin_step() calls, counting those made by step().
    std::uint64_t steps() const noexcept { return t_; }

    // Whether the optimizer is bound to a parameter shape (and its state allocated).
    bool allocated() const noexcept { return rows_ >= 0; }
    // The bound shape, -1 before the first step or allocate().
    Eigen::Index rows() const noexcept { return rows_; }
    Eigen::Index cols() const noexcept { return cols_; }

    // Binds the optimizer to a rows x cols parameter and allocates its state (zeros) now rather
    // than at the first step. Calling it again with the same shape does nothing; another shape
    // throws (one optimizer per parameter).
    void allocate(Eigen::Index rows, Eigen::Index cols) {
        if (rows < 0 || cols < 0)
            ::bloom::detail::throw_invalid(std::string(Derived::name) + "::allocate: shape " +
                                           shape_string(rows, cols) + " is negative");
        if (allocated()) {
            if (rows != rows_ || cols != cols_)
                ::bloom::detail::throw_invalid(
                    std::string(Derived::name) + ": the parameter is " + shape_string(rows, cols) +
                    " but this optimizer's state was allocated for " +
                    shape_string(rows_, cols_) + " (use one optimizer per parameter)");
            return;
        }
        self().allocate_state(rows, cols);
        rows_ = rows;
        cols_ = cols;
    }

    // Forgets the step count and zeroes the state; the shape stays bound.
    void reset() noexcept {
        t_ = 0;
        self().clear_state();
    }

    // Model files (io/archive.hpp): the rule's name and settings, the step count and bound
    // shape, and the state itself when the archive keeps optimizer state. A file without the
    // state loads as a fresh optimizer of the same settings (step count 0, bound at its first
    // step).
    template <class A>
    void archive(A& a) {
        a.expect("name", Derived::name);
        Derived::archive_config(a, cfg_);
        a.value("steps", t_);
        a.value("rows", rows_);
        a.value("cols", cols_);
        if constexpr (A::loading) {
            validated(cfg_);
            self().cache();
            a.check(rows_ >= -1 && cols_ >= -1 && (rows_ < 0) == (cols_ < 0),
                    "the optimizer's shape " + shape_string(rows_, cols_) + " is not a shape");
        }
        if (a.optimizer_state()) {
            self().archive_state(a);
        } else if constexpr (A::loading) {
            // A fresh optimizer: unbound, its state allocated at the first step (a model loaded
            // to be used, not trained, never pays for it).
            t_ = 0;
            rows_ = -1;
            cols_ = -1;
        }
        if constexpr (A::loading) {
            if (t_ > 0) self().on_begin_step(t_);
        }
    }

    // --- the low-level form, for models that update rows one at a time -------------------------
    // One step is: begin_step(), then update_row() once for each row the batch touched, with the
    // row's complete (merged) gradient. A row updated twice within one step is updated twice.
    void begin_step() noexcept {
        ++t_;
        self().on_begin_step(t_);
    }

    // table.row(row) and its state take one update with gradient grad[0..table.cols()).
    // The state is allocated here at the first call if it was not before (so this may throw
    // std::bad_alloc once); after that only BLOOM_ASSERT checks remain.
    void update_row(matrix<Scalar>& table, std::uint32_t row, const Scalar* grad) {
        if (BLOOM_UNLIKELY(!allocated())) allocate(table.rows(), table.cols());
        BLOOM_ASSERT(t_ > 0 && "begin_step() must come before update_row()");
        BLOOM_ASSERT(table.rows() == rows_ && table.cols() == cols_);
        BLOOM_ASSERT(static_cast<Eigen::Index>(row) < table.rows());
        const Eigen::Index off = static_cast<Eigen::Index>(row) * cols_;
        self().apply(table.data() + off, grad, off, cols_);
    }

    // update_row() for n distinct rows at once: rows[i] takes gradient grads[i * cols ..). The
    // result is the same as n update_row() calls, bit for bit; this form prefetches rows ahead
    // and lets an optimizer vectorise across rows where a row is short (a bias column). The rows
    // must be distinct (a row_grads batch is).
    void update_rows(matrix<Scalar>& table, const std::uint32_t* rows, const Scalar* grads,
                     std::size_t n) {
        if (n == 0) return;
        if (BLOOM_UNLIKELY(!allocated())) allocate(table.rows(), table.cols());
        BLOOM_ASSERT(t_ > 0 && "begin_step() must come before update_rows()");
        BLOOM_ASSERT(table.rows() == rows_ && table.cols() == cols_);
        self().apply_rows(table.data(), rows, grads, n);
    }

    // update_rows() for the n consecutive rows first .. first + n, whose gradients are
    // grads[0 .. n * cols) (row first + i at grads + i * cols). Bit for bit the same as
    // update_rows() with those rows listed, but the rows, their state and their gradients are
    // walked as contiguous spans (the dense form's blocks): no gather or scatter per row, which
    // is what a short row (a one-column table) costs in update_rows().
    void update_range(matrix<Scalar>& table, std::uint32_t first, std::size_t n,
                      const Scalar* grads) {
        if (n == 0) return;
        if (BLOOM_UNLIKELY(!allocated())) allocate(table.rows(), table.cols());
        BLOOM_ASSERT(t_ > 0 && "begin_step() must come before update_range()");
        BLOOM_ASSERT(table.rows() == rows_ && table.cols() == cols_);
        BLOOM_ASSERT(static_cast<Eigen::Index>(first) + static_cast<Eigen::Index>(n) <= rows_);
        const Eigen::Index off = static_cast<Eigen::Index>(first) * cols_;
        const Eigen::Index len = static_cast<Eigen::Index>(n) * cols_;
        Scalar* w = table.data() + off;
        for (Eigen::Index b = 0; b < len; b += dense_block)
            self().apply(w + b, grads + b, off + b, len - b < dense_block ? len - b : dense_block);
    }

    // --- concurrent (Hogwild) form ----------------------------------------------------------------
    // update_rows() as step number t (>= 1), for several threads updating one table at once:
    // it reads the configuration and writes only the listed rows' values and state, never the
    // step count or the per-step coefficients that begin_step() caches. The state must be
    // allocated before the threads start (allocate()). Two threads updating the same row at the
    // same time race on it, as Hogwild training accepts (Recht et al. 2011): part of an update
    // may be lost. After the threads join, advance_steps() counts the steps they took.
    void update_rows_concurrent(std::uint64_t t, matrix<Scalar>& table, const std::uint32_t* rows,
                                const Scalar* grads, std::size_t n) noexcept {
        if (n == 0) return;
        BLOOM_ASSERT(allocated() && "allocate() before concurrent updates");
        BLOOM_ASSERT(t > 0);
        BLOOM_ASSERT(table.rows() == rows_ && table.cols() == cols_);
        self().apply_rows_at(t, table.data(), rows, grads, n);
    }
    // update_range() as step number t, for several threads at once (as update_rows_concurrent()).
    void update_range_concurrent(std::uint64_t t, matrix<Scalar>& table, std::uint32_t first,
                                 std::size_t n, const Scalar* grads) noexcept {
        if (n == 0) return;
        BLOOM_ASSERT(allocated() && "allocate() before concurrent updates");
        BLOOM_ASSERT(t > 0);
        BLOOM_ASSERT(table.rows() == rows_ && table.cols() == cols_);
        BLOOM_ASSERT(static_cast<Eigen::Index>(first) + static_cast<Eigen::Index>(n) <= rows_);
        const Eigen::Index off = static_cast<Eigen::Index>(first) * cols_;
        const Eigen::Index len = static_cast<Eigen::Index>(n) * cols_;
        Scalar* w = table.data() + off;
        for (Eigen::Index b = 0; b < len; b += dense_block)
            self().apply_at(t, w + b, grads + b, off + b,
                            len - b < dense_block ? len - b : dense_block);
    }
    // Adds n to the step count (and computes the coefficients of the step reached).
    void advance_steps(std::uint64_t n) noexcept {
        t_ += n;
        if (t_ > 0) self().on_begin_step(t_);
    }

    // --- dense form: every scalar of the parameter takes one update ----------------------------
    void step(matrix<Scalar>& param, const matrix<Scalar>& grad) {
        check_dense(Derived::name, param, grad);
        allocate(param.rows(), param.cols());
        begin_step();
        Scalar* w = param.data();
        const Scalar* g = grad.data();
        const Eigen::Index n = param.size();
        for (Eigen::Index b = 0; b < n; b += dense_block) {
            const Eigen::Index len = n - b < dense_block ? n - b : dense_block;
            self().apply(w + b, g + b, b, len);
        }
    }

    // --- row-sparse (lazy) form: only grad.rows take an update --------------------------------
    // Rows not listed are neither read nor written, values and state alike. Counts as one step
    // even when grad is empty.
    void step(matrix<Scalar>& table, const row_sparse<Scalar>& grad) {
        check_sparse(Derived::name, table, grad);
        allocate(table.rows(), table.cols());
        begin_step();
        const std::size_t n = grad.rows.size();
        if (n == 0) return;
        self().apply_rows(table.data(), grad.rows.data(), grad.values.data(), n);
    }

protected:
    explicit optimizer_base(const Config& c) : cfg_(validated(c)) {}

    // Distinct rows[0..n) of the table at w take gradients g[i * cols ..). Derived may hide this
    // with a faster form of the same arithmetic (adam gathers bias columns into SIMD lanes).
    void apply_rows(Scalar* w, const std::uint32_t* rows, const Scalar* g, std::size_t n) noexcept {
        const Eigen::Index c = cols_;
        // Rows are random in a large table: ask for the lines of the row `ahead` updates from now
        // while this one is computed, so the memory latencies overlap.
        constexpr std::size_t ahead = 8;
        for (std::size_t i = 0; i < n; ++i) {
            if (i + ahead < n) {
                const Eigen::Index po = static_cast<Eigen::Index>(rows[i + ahead]) * c;
                prefetch_span(w + po);
                self().prefetch_state(po);
            }
            const Eigen::Index off = static_cast<Eigen::Index>(rows[i]) * c;
            self().apply(w + off, g + static_cast<Eigen::Index>(i) * c, off, c);
        }
    }

    // apply_rows() as step t without touching the cached coefficients: the rules whose update
    // does not depend on t (sgd, adagrad) use apply_rows() itself; adam hides this.
    void apply_rows_at(std::uint64_t, Scalar* w, const std::uint32_t* rows, const Scalar* g,
                       std::size_t n) noexcept {
        self().apply_rows(w, rows, g, n);
    }

    // apply() as step t without touching the cached coefficients (update_range_concurrent()); as
    // apply_rows_at(), adam hides it.
    void apply_at(std::uint64_t, Scalar* w, const Scalar* g, Eigen::Index offset,
                  Eigen::Index n) noexcept {
        self().apply(w, g, offset, n);
    }

    // One state matrix of Derived's archive_state(): when `used`, of the bound shape (empty
    // before the optimizer is bound); otherwise empty.
    template <class A>
    void archive_state_matrix(A& a, const char* name, matrix<Scalar>& s, bool used) {
        a.matrix(name, s);
        if constexpr (A::loading) {
            const bool ok = used && allocated() ? s.rows() == rows_ && s.cols() == cols_ : s.size() == 0;
            a.check(ok, std::string("the optimizer state '") + name + "' is " +
                            shape_string(s.rows(), s.cols()) + ", the parameter " +
                            shape_string(rows_, cols_));
        }
    }

    // Prefetches the cache lines of one row, s[0 .. cols) (also for Derived::prefetch_state). The
    // last scalar is asked for separately: a row need not start on a 64-byte line.
    void prefetch_span(const Scalar* s) const noexcept {
        if (cols_ <= 0) return;
        constexpr Eigen::Index line = static_cast<Eigen::Index>(64 / sizeof(Scalar));
        for (Eigen::Index k = 0; k < cols_; k += line) prefetch_write(s + k);
        prefetch_write(s + cols_ - 1);
    }

    // Protected so that Derived's kernels read it by name (`using base::cfg_;`); only set_lr()
    // changes it after construction.
    Config cfg_;

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }

    // lr first, by set_lr()'s rule, then Derived's own rules in Derived's order.
    static const Config& validated(const Config& c) {
        require_nonnegative(Derived::name, "lr", c.lr);
        Derived::validate(c);
        return c;
    }

    std::uint64_t t_ = 0;
    Eigen::Index rows_ = -1;
    Eigen::Index cols_ = -1;
};

}  // namespace detail
}  // namespace optim
}  // namespace bloom

namespace Eigen {
namespace internal {
template <class Scalar>
struct functor_traits<::bloom::optim::detail::exact_sqrt_op<Scalar>> {
    enum {
        Cost = 5 * NumTraits<Scalar>::MulCost,
        PacketAccess = BLOOM_OPTIM_EXACT_PSQRT &&
                       (std::is_same<Scalar, float>::value || std::is_same<Scalar, double>::value)
    };
};
}  // namespace internal
}  // namespace Eigen
