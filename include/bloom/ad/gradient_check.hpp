// Finite-difference gradient check, in double.
//
//   auto r = bloom::ad::check_gradients(
//       [&](bloom::ad::tape<double>& t) { return some_loss(t, ...); },   // builds a 1x1 loss
//       {&w, &b},            // dense parameters to check
//       {&table});           // table parameters to check
//   REQUIRE(r.ok);           // r.message says which entry failed and by how much
//
// The function runs one backward pass, then perturbs every entry x of every listed parameter and
// compares the analytic gradient with the central difference (f(x + h) - f(x - h)) / 2h, accepting
// |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|). For a table it also checks the
// row_sparse invariant (rows sorted and unique, one value row per listed row) and that every row not
// listed has a numeric gradient of zero. The loss function must be deterministic: an op that draws
// random numbers (dropout) must reseed its engine inside the function.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <bloom/ad/parameter.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/tensor.hpp>

namespace bloom {
namespace ad {

struct gradient_check_options {
    double eps = 1e-6;   // the finite-difference step h
    double atol = 1e-7;  // absolute tolerance
    double rtol = 1e-5;  // relative tolerance
};

struct gradient_check_result {
    bool ok = true;
    std::size_t checked = 0;      // entries compared
    double max_abs_error = 0.0;   // over all entries
    std::string message;          // the first failure ("" when ok)
};

namespace detail {

inline std::string describe_entry(const char* kind, std::size_t p, Eigen::Index r, Eigen::Index c,
                                  double analytic, double numeric) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s %zu entry (%ld, %ld): analytic %.10g, numeric %.10g", kind,
                  p, static_cast<long>(r), static_cast<long>(c), analytic, numeric);
    return buf;
}

// Densified table gradient, or a message about a broken row_sparse invariant.
inline std::string densify(const table_parameter<double>& tp, matrix<double>& out) {
    const row_sparse<double>& g = tp.grad();
    out.setZero(tp.rows(), tp.cols());
    if (static_cast<std::size_t>(g.values.rows()) != g.rows.size())
        return "row_sparse has " + std::to_string(g.rows.size()) + " rows but " +
               std::to_string(g.values.rows()) + " value rows";
    if (!g.rows.empty() && g.values.cols() != tp.cols())
        return "row_sparse values have " + std::to_string(g.values.cols()) +
               " columns, the table " + std::to_string(tp.cols());
    for (std::size_t i = 0; i < g.rows.size(); ++i) {
        if (i > 0 && g.rows[i] <= g.rows[i - 1])
            return "row_sparse rows are not sorted and unique at entry " + std::to_string(i) +
                   " (row " + std::to_string(g.rows[i]) + " after " +
                   std::to_string(g.rows[i - 1]) + ")";
        if (static_cast<Eigen::Index>(g.rows[i]) >= tp.rows())
            return "row_sparse row " + std::to_string(g.rows[i]) + " is outside the table";
        out.row(static_cast<Eigen::Index>(g.rows[i])) = g.values.row(static_cast<Eigen::Index>(i));
    }
    return {};
}

}  // namespace detail

template <class F>
gradient_check_result check_gradients(F&& loss, const std::vector<parameter<double>*>& dense,
                                      const std::vector<table_parameter<double>*>& tables,
                                      const gradient_check_options& opt = {}) {
    gradient_check_result res;
    tape<double> t;
    for (auto* p : dense) p->zero_grad();
    for (auto* p : tables) p->zero_grad();
    const var l = loss(t);
    t.backward(l);

    auto eval = [&]() {
        t.clear();
        return t.item(loss(t));
    };
    auto compare = [&](const char* kind, std::size_t p, matrix<double>& value,
                       const matrix<double>& analytic, const std::vector<bool>* listed) {
        for (Eigen::Index r = 0; r < value.rows(); ++r)
            for (Eigen::Index c = 0; c < value.cols(); ++c) {
                const double x = value(r, c);
                value(r, c) = x + opt.eps;
                const double fp = eval();
                value(r, c) = x - opt.eps;
                const double fm = eval();
                value(r, c) = x;
                const double numeric = (fp - fm) / (2.0 * opt.eps);
                const double a = analytic(r, c);
                const double err = std::abs(a - numeric);
                ++res.checked;
                res.max_abs_error = std::max(res.max_abs_error, err);
                const bool bad_value =
                    !(err <= opt.atol + opt.rtol * std::max(std::abs(a), std::abs(numeric)));
                const bool bad_row = listed && !(*listed)[static_cast<std::size_t>(r)] &&
                                     !(std::abs(numeric) <= opt.atol);
                if ((bad_value || bad_row) && res.ok) {
                    res.ok = false;
                    res.message = detail::describe_entry(kind, p, r, c, a, numeric);
                    if (bad_row) res.message += " (row missing from the row-sparse gradient)";
                }
            }
    };

    for (std::size_t p = 0; p < dense.size(); ++p) {
        const matrix<double> analytic = dense[p]->grad();
        compare("parameter", p, dense[p]->value(), analytic, nullptr);
    }
    for (std::size_t p = 0; p < tables.size(); ++p) {
        matrix<double> analytic;
        const std::string broken = detail::densify(*tables[p], analytic);
        if (!broken.empty()) {
            if (res.ok) {
                res.ok = false;
                res.message = "table " + std::to_string(p) + ": " + broken;
            }
            continue;
        }
        std::vector<bool> listed(static_cast<std::size_t>(tables[p]->rows()), false);
        for (std::uint32_t r : tables[p]->grad().rows) listed[r] = true;
        compare("table", p, tables[p]->value(), analytic, &listed);
    }
    return res;
}

}  // namespace ad
}  // namespace bloom
