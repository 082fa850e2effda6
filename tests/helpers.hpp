// Small helpers shared by the tests.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../mbrl_checkpoint.hpp"

namespace test {

// A shared_ptr that points at x without owning it (the aliasing constructor with no owner), for
// a planner (which shares ownership of its ensemble) built on an ensemble the test keeps alive.
template <class T>
std::shared_ptr<const T> borrow(const T& x) {
    return std::shared_ptr<const T>(std::shared_ptr<const T>(), &x);
}

// An activation's name, for test messages.
inline const char* activation_name(mbrl::Activation a) {
    return a == mbrl::Activation::tanh ? "tanh" : a == mbrl::Activation::relu ? "relu" : "identity";
}

// Fills a tensor with uniform numbers in [lo, hi).
template <class T>
void fill_uniform(mbrl::Tensor<T>& t, mbrl::Rng& rng, double lo = -1, double hi = 1) {
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<T>(rng.uniform(lo, hi));
}

// |a - b| / max(|a|, |b|, floor): the relative error used by gradient checks.
inline double rel_err(double a, double b, double floor = 1e-10) {
    return std::fabs(a - b) / std::max({std::fabs(a), std::fabs(b), floor});
}

// A fixture written by tests/make_*fixture.py: 'mbrl-fixture 1', then one tensor per line as
// name rows cols values...
struct Fixture {
    std::map<std::string, mbrl::Tensor<double>> t;
    explicit Fixture(const std::string& path) {
        std::ifstream in(path);
        std::string magic;
        int version = 0;
        in >> magic >> version;
        if (magic != "mbrl-fixture" || version != 1) mbrl::fail("not a version-1 fixture: ", path);
        std::string name;
        int rows, cols;
        while (in >> name >> rows >> cols) {
            mbrl::Tensor<double>& x = t[name];
            x.resize(rows, cols);
            for (std::size_t i = 0; i < x.size(); ++i) in >> x.data()[i];
        }
    }
    const mbrl::Tensor<double>& operator[](const std::string& name) const {
        auto it = t.find(name);
        if (it == t.end()) mbrl::fail("fixture has no tensor ", name);
        return it->second;
    }
};

// tests/fixtures/<name>; the Makefile compiles with absolute paths, so __FILE__ locates it.
inline std::string fixture_path(const std::string& name) {
    const std::string here = __FILE__;
    return here.substr(0, here.find_last_of('/') + 1) + "fixtures/" + name;
}

// Sets net's layer weights from PyTorch's <prefix>_W<l> [out, in] and <prefix>_b<l> [out].
template <class T>
void load_torch_mlp(mbrl::MLP<T>& net, const Fixture& fx, const std::string& prefix) {
    for (int l = 0; l < net.layers(); ++l) {
        const mbrl::Tensor<double>& W = fx[prefix + "_W" + std::to_string(l)];
        const mbrl::Tensor<double>& b = fx[prefix + "_b" + std::to_string(l)];
        for (int o = 0; o < W.rows; ++o) {
            for (int i = 0; i < W.cols; ++i) net.W(l)[i * W.rows + o] = static_cast<T>(W(o, i));
            net.b(l)[o] = static_cast<T>(b(o, 0));
        }
    }
}

// Largest |ours - theirs| over the whole net, theirs as <prefix>_W<l>, <prefix>_b<l>.
template <class T>
double torch_mlp_diff(const mbrl::MLP<T>& net, const Fixture& fx, const std::string& prefix) {
    double d = 0;
    for (int l = 0; l < net.layers(); ++l) {
        const mbrl::Tensor<double>& W = fx[prefix + "_W" + std::to_string(l)];
        const mbrl::Tensor<double>& b = fx[prefix + "_b" + std::to_string(l)];
        for (int o = 0; o < W.rows; ++o) {
            for (int i = 0; i < W.cols; ++i) d = std::max(d, std::fabs(net.W(l)[i * W.rows + o] - W(o, i)));
            d = std::max(d, std::fabs(net.b(l)[o] - b(o, 0)));
        }
    }
    return d;
}

}  // namespace test
