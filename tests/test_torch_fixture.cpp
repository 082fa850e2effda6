// mbrl.hpp against PyTorch: a dynamics-model forward, its gradients and three Adam steps, compared
// with the numbers tests/make_fixture.py wrote from the reference's PyTorch code (llm.c style).
#include <string>

#include "helpers.hpp"

using namespace mbrl;

namespace {
template <class T>
Tensor<T> as(const Tensor<double>& x) {
    Tensor<T> y(x.rows, x.cols);
    for (std::size_t i = 0; i < x.size(); ++i) y.data()[i] = static_cast<T>(x.data()[i]);
    return y;
}

// Largest |ours - theirs| over a layer's weights (ours [in, out], theirs [out, in]) and bias.
template <class T>
double layer_diff(const T* W, const T* b, const Tensor<double>& Wt, const Tensor<double>& bt) {
    double d = 0;
    for (int o = 0; o < Wt.rows; ++o) {
        for (int i = 0; i < Wt.cols; ++i) d = std::max(d, std::fabs(W[i * Wt.rows + o] - Wt(o, i)));
        d = std::max(d, std::fabs(b[o] - bt(o, 0)));
    }
    return d;
}

template <class T>
void run(double tol_forward, double tol_grad, double tol_params) {
    const test::Fixture fx(test::fixture_path("dynamics_step.txt"));
    Ensemble<T> ens(4, 2, 1, 2, 7, T(1e-2), 1);
    MLP<T>& net = ens.nets[0];
    for (int l = 0; l < 3; ++l) {  // PyTorch's weight [out, in] is our W [in, out] transposed
        const Tensor<double>& W = fx["W" + std::to_string(l)];
        for (int o = 0; o < W.rows; ++o)
            for (int i = 0; i < W.cols; ++i) net.W(l)[i * W.rows + o] = static_cast<T>(W(o, i));
        for (int o = 0; o < W.rows; ++o) net.b(l)[o] = static_cast<T>(fx["b" + std::to_string(l)](o, 0));
    }
    const Tensor<T> obs = as<T>(fx["obs"]), act = as<T>(fx["act"]), next_obs = as<T>(fx["next_obs"]);
    ens.fit_stats(obs.view(), act.view(), next_obs.view());
    for (int j = 0; j < 4; ++j) {
        CHECK(ens.stats.obs.mean[j] == doctest::Approx(fx["obs_mean"](j, 0)).epsilon(1e-6));
        CHECK(ens.stats.obs.std[j] == doctest::Approx(fx["obs_std"](j, 0)).epsilon(1e-6));
        CHECK(ens.stats.delta.std[j] == doctest::Approx(fx["delta_std"](j, 0)).epsilon(1e-5));
    }
    // Forward: the normalized state change predicted for the 10 rows.
    MLPWork<T> w(net, 10);
    model_input(w.start_batch(net, 10), obs.view(), act.view(), ens.stats);
    View<const T> y = mlp_forward(net, w);
    double d = 0;
    for (int i = 0; i < 10; ++i)
        for (int j = 0; j < 4; ++j) d = std::max(d, std::fabs(y(i, j) - fx["output0"](i, j)));
    CHECK(d < tol_forward);
    // Three training steps on the whole batch: loss, gradients of the first, weights after each.
    Rng rng(1);
    for (int step = 0; step < 3; ++step) {
        const T loss = ens.train_step(obs.view(), act.view(), next_obs.view(), 10, rng);
        CHECK(loss == doctest::Approx(fx["loss" + std::to_string(step)](0, 0)).epsilon(tol_forward));
        for (int l = 0; l < 3; ++l) {
            const std::string s = std::to_string(l);
            if (step == 0) CHECK(layer_diff(net.dW(l), net.db(l), fx["dW" + s], fx["db" + s]) < tol_grad);
            const std::string a = "_after" + std::to_string(step);
            CHECK(layer_diff(net.W(l), net.b(l), fx["W" + s + a], fx["b" + s + a]) < tol_params);
        }
    }
}
}  // namespace

TEST_CASE("PyTorch fixture: dynamics model forward, gradients and Adam steps, in double") { run<double>(1e-12, 1e-12, 1e-12); }

TEST_CASE("PyTorch fixture: the same in float (fast tanh, float rounding)") { run<float>(2e-6, 2e-6, 1e-5); }
