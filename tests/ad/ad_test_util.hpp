// Helpers shared by the autodiff tests: seeded random matrices and a scalar probe of a node.
#pragma once

#include <cstdint>
#include <random>

#include <bloom/ad/ops.hpp>
#include <bloom/ad/tape.hpp>
#include <bloom/tensor.hpp>

namespace ad_test {

using engine = std::mt19937_64;
using dmat = bloom::matrix<double>;

inline double uniform(engine& rng, double lo, double hi) {
    return lo + (hi - lo) * bloom::ad::detail::uniform01(rng);
}

inline int uniform_int(engine& rng, int lo, int hi) {  // [lo, hi]
    return lo + static_cast<int>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
}

inline dmat random_matrix(engine& rng, Eigen::Index r, Eigen::Index c, double lo = -1.0,
                          double hi = 1.0) {
    dmat m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = uniform(rng, lo, hi);
    return m;
}

// Entries with |x| in [0.1, 1]: away from the kinks of relu and hinge.
inline dmat away_from_zero(engine& rng, Eigen::Index r, Eigen::Index c) {
    dmat m = random_matrix(rng, r, c, 0.1, 1.0);
    for (Eigen::Index i = 0; i < m.size(); ++i)
        if (rng() & 1) m.data()[i] = -m.data()[i];
    return m;
}

// sum(x * C) for a fixed random C: a scalar whose gradient with respect to x is C, so every entry
// of an op's output gradient differs.
inline bloom::ad::var probe(bloom::ad::tape<double>& t, bloom::ad::var x, const dmat& c) {
    return bloom::ad::sum(t, bloom::ad::mul(t, x, t.constant(c)));
}

}  // namespace ad_test
