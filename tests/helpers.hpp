// Small helpers shared by the tests.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "../mbrl.hpp"

namespace test {

// Fills a tensor with uniform numbers in [lo, hi).
template <class T>
void fill_uniform(mbrl::Tensor<T>& t, mbrl::Rng& rng, double lo = -1, double hi = 1) {
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(rng.uniform(lo, hi));
}

// |a - b| / max(|a|, |b|, floor): the relative error used by gradient checks.
inline double rel_err(double a, double b, double floor = 1e-10) {
    return std::fabs(a - b) / std::max({std::fabs(a), std::fabs(b), floor});
}

}  // namespace test
