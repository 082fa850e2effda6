// make bench: speed as ratios, against this machine's measured FMA peak and against PyTorch.
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../mbrl.hpp"

using namespace mbrl;

// Median wall time of `reps` calls of f, after one warm-up call.
template <class F>
double median_seconds(int reps, F&& f) {
    f();
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        Timer timer;
        f();
        t.push_back(timer.seconds());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Peak fp32 FMA throughput: 16 independent chains of y = y * a + b per thread, 16 floats wide,
// enough to cover the FMA latency on two FMA units.
static double fma_peak_gflops(int threads) {
    constexpr int kChains = 16, kWidth = 16;
    const long iters = 4000000;
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        Timer timer;
        float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        {
            float y[kChains][kWidth];
            for (int c = 0; c < kChains; ++c)
                for (int j = 0; j < kWidth; ++j) y[c][j] = 1.0f + 1e-3f * (c + j);
            const float a = 0.999999f, b = 1e-7f;
            for (long i = 0; i < iters; ++i)
                for (int c = 0; c < kChains; ++c)
                    for (int j = 0; j < kWidth; ++j) y[c][j] = y[c][j] * a + b;
            for (int c = 0; c < kChains; ++c)
                for (int j = 0; j < kWidth; ++j) sink += y[c][j];
        }
        const double s = timer.seconds();
        if (sink == 42.0f) std::printf(" ");
        best = std::max(best, 2.0 * kChains * kWidth * iters * threads / s / 1e9);
    }
    return best;
}

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : omp_get_max_threads();
    omp_set_num_threads(threads);
    std::printf("mbrl.hpp benchmark: %d thread(s)\n\n", threads);
    const double peak1 = fma_peak_gflops(1), peak2 = fma_peak_gflops(2);
    const double peak = threads >= 2 ? peak2 : peak1;
    std::printf("fp32 FMA peak (measured): 1 thread %.0f GFLOP/s, 2 threads %.0f GFLOP/s\n\n", peak1, peak2);

    // 1. matmul 1000 x 250 x 250
    {
        Rng rng(1);
        Tensor<float> A(1000, 250), B(250, 250), C(1000, 250);
        for (auto* t : {&A, &B})
            for (std::size_t i = 0; i < t->size(); ++i) t->data()[i] = float(rng.uniform(-1, 1));
        const double s = median_seconds(50, [&] { matmul<float>(C.view(), A.view(), false, B.view(), false); });
        const double gf = 2.0 * 1000 * 250 * 250 / s / 1e9;
        std::printf("matmul 1000x250x250:     %7.3f ms  %6.1f GFLOP/s  %4.0f%% of peak\n", s * 1e3, gf,
                    100 * gf / peak);
    }
    // 2. planning-shaped forward: 3 members x 1000 rows x 15 steps through 27 -> 250 -> 250 -> 21
    {
        const int E = 3, N = 1000, H = 15, ob = 21, ac = 6, chunk = getenv("CHUNK") ? atoi(getenv("CHUNK")) : 250;
        Ensemble<float> ens(ob, ac, E, 2, 250, 1e-3f, 1);
        const int chunks = (N + chunk - 1) / chunk, jobs = E * chunks;
        std::vector<MLPWork<float>> work;
        std::vector<Tensor<float>> s(jobs), a(jobs), s2(jobs);
        Rng rng(2);
        for (int j = 0; j < jobs; ++j) {
            work.emplace_back(ens.nets[0], chunk);
            s[j].resize(chunk, ob);
            s2[j].resize(chunk, ob);
            a[j].resize(chunk, ac);
            for (std::size_t i = 0; i < a[j].size(); ++i) a[j].data()[i] = float(rng.uniform(-1, 1));
        }
        auto plan = [&] {
#pragma omp parallel for schedule(static)
            for (int j = 0; j < jobs; ++j) {
                s[j].fill(0.1f);
                for (int t = 0; t < H; ++t) {
                    ens.predict(j / chunks, s[j].view(), a[j].view(), s2[j].view(), work[j]);
                    std::swap(s[j], s2[j]);
                }
            }
        };
        const double flop = 2.0 * E * N * H * (27 * 250 + 250 * 250 + 250 * 21);
        const double sec = median_seconds(20, plan);
        std::printf("planning forward (%.2f GFLOP): %7.2f ms  %6.1f GFLOP/s  %4.0f%% of peak\n", flop / 1e9,
                    sec * 1e3, flop / sec / 1e9, 100 * flop / sec / 1e9 / peak);
    }
    // 3. one ensemble training step, 3 members x batch 512
    {
        const int E = 3, ob = 21, ac = 6, rows = 20000;
        Ensemble<float> ens(ob, ac, E, 2, 250, 1e-3f, 1);
        Tensor<float> o(rows, ob), a(rows, ac), o2(rows, ob);
        Rng rng(3);
        for (auto* t : {&o, &a, &o2})
            for (std::size_t i = 0; i < t->size(); ++i) t->data()[i] = float(rng.uniform(-1, 1));
        ens.fit_stats(o.view(), a.view(), o2.view());
        Rng srng(4);
        const double sec =
            median_seconds(30, [&] { ens.train_step(o.view(), a.view(), o2.view(), 512, srng); });
        const double flop = 2.0 * E * 512 * (2 * (27 * 250 + 250 * 250 + 250 * 21) + (250 * 250 + 250 * 21));
        std::printf("training step (%.2f GFLOP): %7.2f ms  %6.1f GFLOP/s  %4.0f%% of peak\n", flop / 1e9,
                    sec * 1e3, flop / sec / 1e9, 100 * flop / sec / 1e9 / peak);
    }
    return 0;
}
