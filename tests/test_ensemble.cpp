// The dynamics-model ensemble: it learns, members see disjoint minibatches, training allocates
// nothing after warm-up, and results do not depend on the number of threads.
#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "../envs/obstacles.hpp"
#include "../envs/true_model.hpp"
#include "helpers.hpp"

using namespace mbrl;

// ------------------------------------------------------------------------------------------------
// Allocation counting: this test binary replaces the global operator new; while `g_counting` is
// set, every allocation from any thread is counted.
#if defined(__GNUC__) && !defined(__clang__)
// (GCC reads free() of what the replaced operator new returned as a mismatch; here it is the pair.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
static std::atomic<long> g_allocations{0};
static std::atomic<bool> g_counting{false};
static void* counted_alloc(std::size_t n, std::size_t align) {
    if (g_counting) ++g_allocations;
    n = n ? n : 1;
    void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                                : std::malloc(n);
    if (!p) throw std::bad_alloc();
    return p;
}
void* operator new(std::size_t n) { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
// The nothrow forms too (std::stable_sort's buffer uses them): otherwise a sanitizer's own
// nothrow new meets the free() above (make sanitize: alloc-dealloc-mismatch).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n, 0);
    } catch (...) {
        return nullptr;
    }
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n, static_cast<std::size_t>(a));
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
// ------------------------------------------------------------------------------------------------

namespace {
// A known system to learn: s' = s + 0.1 tanh(A s + B a) with fixed random A [4, 4], B [4, 2].
struct ToySystem {
    static constexpr int D = 4, U = 2;
    double A[D][D], B[D][U];
    explicit ToySystem(uint64_t seed) {
        Rng rng(seed);
        for (auto& r : A)
            for (double& v : r) v = rng.uniform(-1, 1);
        for (auto& r : B)
            for (double& v : r) v = rng.uniform(-1, 1);
    }
    void next(const float* s, const float* a, float* s2) const {
        for (int i = 0; i < D; ++i) {
            double z = 0;
            for (int j = 0; j < D; ++j) z += A[i][j] * s[j];
            for (int j = 0; j < U; ++j) z += B[i][j] * a[j];
            s2[i] = static_cast<float>(s[i] + 0.1 * std::tanh(z));
        }
    }
    // n transitions from random states and actions.
    void data(int n, uint64_t seed, Tensor<float>& s, Tensor<float>& a, Tensor<float>& s2) const {
        Rng rng(seed);
        s.resize(n, D);
        a.resize(n, U);
        s2.resize(n, D);
        for (int i = 0; i < n; ++i) {
            for (int j = 0; j < D; ++j) s(i, j) = static_cast<float>(rng.normal());
            for (int j = 0; j < U; ++j) a(i, j) = static_cast<float>(rng.uniform(-1, 1));
            next(s.row(i), a.row(i), s2.row(i));
        }
    }
};
}  // namespace

TEST_CASE("Ensemble fits a known system: normalized training loss below 0.01, held-out error below 2%") {
    ToySystem sys(42);
    Tensor<float> s, a, s2;
    sys.data(4000, 1, s, a, s2);
    Ensemble<float> ens(ToySystem::D, ToySystem::U, 3, 2, 64, 1e-3f, 7);
    ens.fit_stats(s.view(), a.view(), s2.view());
    Rng rng(3, Stream::sample);
    float first = 0, loss = 0;
    for (int step = 0; step < 2000; ++step) {
        loss = ens.train_step(s.view(), a.view(), s2.view(), 128, rng);
        if (step == 0) first = loss;
    }
    CHECK(first > 0.5f);  // the target is normalized: an untrained net is off by about its variance
    CHECK(loss < 0.01f);
    // Held-out data: every member predicts s' to within 2% of the variance of the true change.
    Tensor<float> hs, ha, hs2, pred(500, ToySystem::D);
    sys.data(500, 2, hs, ha, hs2);
    for (int m = 0; m < ens.size(); ++m) {
        MLPWork<float> w(ens.nets[m], 500);
        ens.predict(m, hs.view(), ha.view(), pred.view(), w);
        double err = 0, var = 0;
        for (int i = 0; i < 500; ++i)
            for (int j = 0; j < ToySystem::D; ++j) {
                const double d = hs2(i, j) - hs(i, j);
                err += (pred(i, j) - hs2(i, j)) * (pred(i, j) - hs2(i, j));
                var += d * d;
            }
        CHECK(err / var < 0.02);
    }
}

TEST_CASE("Ensemble: members train on disjoint minibatches, drawn without replacement") {
    ToySystem sys(1);
    Tensor<float> s, a, s2;
    sys.data(100, 1, s, a, s2);
    Ensemble<float> ens(ToySystem::D, ToySystem::U, 2, 1, 16, 1e-2f, 3);
    ens.nets[1].params = ens.nets[0].params;  // identical members ...
    ens.fit_stats(s.view(), a.view(), s2.view());
    Rng rng(5);
    ens.train_step(s.view(), a.view(), s2.view(), 40, rng);
    CHECK(ens.nets[0].params != ens.nets[1].params);  // ... part after one step: different data
    // The 2 x 40 rows drawn are distinct rows of the data set.
    std::vector<int> drawn(ens.perm.begin(), ens.perm.begin() + 80);
    std::sort(drawn.begin(), drawn.end());
    CHECK(std::adjacent_find(drawn.begin(), drawn.end()) == drawn.end());
    CHECK(drawn.front() >= 0);
    CHECK(drawn.back() < 100);
    // With exactly 2 x 50 rows, both members together see every row once in every step.
    ens.train_step(s.view(), a.view(), s2.view(), 50, rng);
    std::vector<int> all(ens.perm.begin(), ens.perm.begin() + 100);
    std::sort(all.begin(), all.end());
    for (int i = 0; i < 100; ++i) CHECK(all[i] == i);
    // Too little data for even one row per member is an error, not a crash.
    CHECK_THROWS_WITH_AS(ens.train_step(s.view().middle_rows(0, 1), a.view().middle_rows(0, 1),
                                        s2.view().middle_rows(0, 1), 50, rng),
                         doctest::Contains("1 rows of data cannot feed 2 members"), std::invalid_argument);
    s2(7, 1) = std::nanf("");  // NaN in the data: an error naming where it is, not a NaN network
    CHECK_THROWS_WITH_AS(ens.fit_stats(s.view(), a.view(), s2.view()),
                         doctest::Contains("next_obs: non-finite value nan at row 7, column 1"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(ens.train_step(s.view(), a.view(), s2.view(), 50, rng), doctest::Contains("training loss is nan"),
                         std::invalid_argument);
    Tensor<float> bad(100, 3);
    CHECK_THROWS_WITH_AS(ens.train_step(bad.view(), a.view(), s2.view(), 50, rng),
                         doctest::Contains("Ensemble: obs: expected shape [100, 4], got [100, 3]"),
                         std::invalid_argument);
}

TEST_CASE("Ensemble: a training step allocates nothing after warm-up") {
    ToySystem sys(2);
    Tensor<float> s, a, s2;
    sys.data(3000, 1, s, a, s2);
    Ensemble<float> ens(ToySystem::D, ToySystem::U, 3, 2, 250, 1e-3f, 1);
    ens.fit_stats(s.view(), a.view(), s2.view());
    Rng rng(1);
    for (int i = 0; i < 3; ++i) ens.train_step(s.view(), a.view(), s2.view(), 512, rng);  // warm-up
    MLPWork<float> w(ens.nets[0], 64);
    Tensor<float> pred(64, ToySystem::D);
    ens.predict(0, s.view().middle_rows(0, 64), a.view().middle_rows(0, 64), pred.view(), w);  // warm-up
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 5; ++i) ens.train_step(s.view(), a.view(), s2.view(), 512, rng);
    ens.predict(0, s.view().middle_rows(0, 64), a.view().middle_rows(0, 64), pred.view(), w);
    g_counting = false;
    CHECK(g_allocations == 0);
    // The counter does count: one more member's workspace is an allocation.
    g_counting = true;
    MLPWork<float> another(ens.nets[0], 8);
    g_counting = false;
    CHECK(g_allocations > 0);
}

TEST_CASE("MPC planning calls and SAC training steps allocate nothing after warm-up") {
    ToySystem sys(4);
    Tensor<float> s, a, s2;
    sys.data(500, 1, s, a, s2);
    Ensemble<float> ens(ToySystem::D, ToySystem::U, 3, 2, 64, 1e-3f, 1);
    ens.fit_stats(s.view(), a.view(), s2.view());
    auto reward = [](const float* obs, const float*, int n, float* rew, float*) {
        for (int i = 0; i < n; ++i) rew[i] = -obs[4 * i] * obs[4 * i];
    };
    MPCConfig cfg;
    cfg.num_sequences = 600;  // three planning blocks per member
    cfg.cem = true;
    cfg.cem_iterations = 3;
    MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), reward, {-1, -1}, {1, 1}, cfg, 1);
    SACConfig sc;
    sc.size = 32;
    sc.batch = 64;
    SAC<float> sac(ToySystem::D, ToySystem::U, -1, 1, sc, 1);
    Tensor<float> r(64, 1), d(64, 1);
    float act[2];
    auto work = [&] {
        mpc.act(s.view().middle_rows(0, 1), act);
        sac.act(s.view().middle_rows(1, 1), act);
        sac.train(s.view().middle_rows(0, 64), a.view().middle_rows(0, 64), r.view(), s2.view().middle_rows(0, 64),
                  d.view());
    };
    work();  // warm-up
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 3; ++i) work();
    g_counting = false;
    CHECK(g_allocations == 0);
}

TEST_CASE("Ensemble: the same seed gives bit-identical parameters with 1 and 2 threads") {
    ToySystem sys(3);
    Tensor<float> s, a, s2;
    sys.data(2000, 1, s, a, s2);
    auto train = [&](int threads) {
        omp_set_num_threads(threads);
        Ensemble<float> ens(ToySystem::D, ToySystem::U, 3, 2, 40, 1e-3f, 9);
        ens.fit_stats(s.view(), a.view(), s2.view());
        Rng rng(9, Stream::sample);
        for (int i = 0; i < 50; ++i) ens.train_step(s.view(), a.view(), s2.view(), 100, rng);
        std::vector<float> all;
        for (auto& net : ens.nets) all.insert(all.end(), net.params.begin(), net.params.end());
        return all;
    };
    const int saved = omp_get_max_threads();
    const std::vector<float> one = train(1), two = train(2);
    omp_set_num_threads(saved);
    REQUIRE(one.size() == two.size());
    CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
}

TEST_CASE("Trajectory sampling (TS1, TS-inf, probabilistic members) and true-simulator planning allocate nothing after warm-up") {
    ToySystem sys(5);
    Tensor<float> s, a, s2;
    sys.data(500, 1, s, a, s2);
    Ensemble<float> ens(ToySystem::D, ToySystem::U, 3, 2, 32, 1e-3f, 1, Activation::tanh, ModelType::probabilistic);
    ens.fit_stats(s.view(), a.view(), s2.view());
    auto reward = [](const float* obs, const float*, int n, float* rew, float*) {
        for (int i = 0; i < n; ++i) rew[i] = -obs[4 * i] * obs[4 * i];
    };
    std::vector<MPC<float>> planners;
    for (Propagation p : {Propagation::ts1, Propagation::tsinf}) {
        MPCConfig cfg;
        cfg.num_sequences = 100;
        cfg.cem = p == Propagation::tsinf;
        cfg.cem_iterations = 2;
        cfg.propagation = p;
        cfg.particles = 10;
        planners.emplace_back(test::borrow(ens), reward, std::vector<float>{-1, -1}, std::vector<float>{1, 1}, cfg, 1);
    }
    Obstacles env;
    std::vector<float> obs;
    Rng rr(1, Stream::reset, 0);
    env.reset(rr, obs);
    envs::TrueSimulator<Obstacles> sim(env);
    MPCConfig tc;
    tc.num_sequences = 100;
    Ensemble<float> small(4, 2, 1, 1, 8, 1e-3f, 1);
    MPC<float> truth(test::borrow(small), &Obstacles::reward, {-0.99f, -0.99f}, {0.99f, 0.99f}, tc, 1);
    truth.plan_on(sim);
    float act[2];
    auto work = [&] {
        for (MPC<float>& mpc : planners) mpc.act(s.view().middle_rows(0, 1), act);
        truth.act(obs, act);
    };
    work();  // warm-up
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 3; ++i) work();
    g_counting = false;
    CHECK(g_allocations == 0);
}
