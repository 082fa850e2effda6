// make bench: the speed of mbrl.hpp's hot paths as ratios, against this machine's measured fp32
// FMA peak and against PyTorch on the CPU running the same workloads in the same run.
//
//   build/bench [--threads N] [--torch "COMMAND"]
//
// COMMAND runs examples/bench_torch.py (the Makefile passes it); it is run twice, with the
// environment as it is and tuned as ../shared/reference/machine.md advises (OpenBLAS told the
// real core type, OpenMP threads that sleep instead of spinning, AVX-512 kernels), and our
// speed-up is quoted against the faster of the two. Times are medians over repetitions.
#ifdef _OPENMP
#include <omp.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "../envs/cheetah.hpp"
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

// Peak fp32 FMA throughput of `threads` threads: per thread 16 independent chains y = y * a + b,
// each 16 floats wide (one AVX-512 register), enough to hide the FMA latency on two FMA units.
static double fma_peak_gflops(int threads) {
    constexpr int kChains = 16, kWidth = 16;
    const long iters = 3000000;
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        Timer timer;
        float sink = 0;
        MBRL_OMP(parallel num_threads(threads) reduction(+ : sink))
        {
            float y[kChains][kWidth];
            for (int c = 0; c < kChains; ++c)
                for (int j = 0; j < kWidth; ++j) y[c][j] = 1.0f + 1e-3f * static_cast<float>(c + j);
            const float a = 0.999999f, b = 1e-7f;
            for (long i = 0; i < iters; ++i)
                for (int c = 0; c < kChains; ++c)
                    for (int j = 0; j < kWidth; ++j) y[c][j] = y[c][j] * a + b;
            for (int c = 0; c < kChains; ++c)
                for (int j = 0; j < kWidth; ++j) sink += y[c][j];
        }
        const double s = timer.seconds();
        if (sink == 42.0f) std::printf(" ");  // keeps the loop alive
        best = std::max(best, 2.0 * kChains * kWidth * iters * threads / s / 1e9);
    }
    return best;
}

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

// Runs the PyTorch script; returns workload -> median ms (empty if it failed).
static std::map<std::string, double> run_torch(const std::string& command) {
    std::map<std::string, double> out;
    std::FILE* p = popen((command + " 2>/dev/null").c_str(), "r");
    if (!p) return out;
    char name[64];
    double ms;
    while (std::fscanf(p, "%63s %lf", name, &ms) == 2) out[name] = ms;
    pclose(p);
    return out;
}

int main(int argc, char** argv) {
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    std::string torch_cmd;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--torch" && i + 1 < argc) torch_cmd = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--threads N] [--torch COMMAND]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1) threads = 1;
    set_threads(threads);
    std::printf("mbrl.hpp benchmark, %d thread(s), compiled by GCC %s\n\n", threads, __VERSION__);
    const double peak1 = fma_peak_gflops(1), peak2 = fma_peak_gflops(2);
    const double peak = threads >= 2 ? peak2 : peak1;
    std::printf("measured fp32 FMA peak: 1 thread %.0f GFLOP/s, 2 threads %.0f GFLOP/s\n\n", peak1, peak2);

    struct Result {
        std::string name, what;
        double gflop, ms;
    };
    std::vector<Result> results;

    // 1. matmul 1000 x 250 x 250, as one call (split over threads by row blocks)
    Rng rng(1);
    {
        Tensor<float> A(1000, 250), B(250, 250), C(1000, 250);
        for (auto* t : {&A, &B})
            for (std::size_t i = 0; i < t->size(); ++i) t->data()[i] = static_cast<float>(rng.uniform(-1, 1));
        auto mm = [&] { matmul<float>(C.view(), A.view(), false, B.view(), false); };
        set_threads(1);
        const double s1 = median_seconds(200, mm);
        set_threads(threads);
        const double s = median_seconds(200, mm);
        const double gf = 2.0 * 1000 * 250 * 250 / 1e9;
        std::printf("matmul 1000x250x250, 1 thread: %.3f ms, %.0f GFLOP/s, %.0f%% of the 1-thread peak\n", s1 * 1e3,
                    gf / s1, 100 * gf / s1 / peak1);
        results.push_back({"matmul", "matmul 1000x250x250", gf, s * 1e3});
    }
    // 2-3. planning at the cheetah shape: 3 members of 27 -> 250 -> 250 -> 21 (tanh), K = 1000, H = 15
    const int E = 3, K = 1000, H = 15, ob = Cheetah::kObsDim, ac = Cheetah::kActDim;
    const double plan_gflop = 2.0 * E * K * H * ((ob + ac) * 250 + 250 * 250 + 250 * ob) / 1e9;
    {
        Ensemble<float> ens(ob, ac, E, 2, 250, 1e-3f, 1);
        MPCConfig cfg;
        cfg.horizon = H;
        cfg.num_sequences = K;
        MPC<float> mpc(ens, &Cheetah::reward, std::vector<float>(ac, -1.0f), std::vector<float>(ac, 1.0f), cfg, 1);
        std::vector<float> obs(ob), act(ac);
        for (float& o : obs) o = static_cast<float>(0.1 * rng.normal());
        mpc.act(obs.data(), act.data());  // fills the candidates
        const double fwd = median_seconds(20, [&] { mpc.evaluate(obs.data()); });
        results.push_back({"plan_forward", "planning forward (score 1000 fixed sequences)", plan_gflop, fwd * 1e3});
        const double call = median_seconds(20, [&] { mpc.act(obs.data(), act.data()); });
        results.push_back({"plan_call", "one MPC call (random shooting)", plan_gflop, call * 1e3});
    }
    // 4. one ensemble training step: 3 members x 512 rows, forward, backward and Adam
    {
        const int rows = 20000;
        Ensemble<float> ens(ob, ac, E, 2, 250, 1e-3f, 1);
        Tensor<float> o(rows, ob), a(rows, ac), o2(rows, ob);
        for (auto* t : {&o, &a, &o2})
            for (std::size_t i = 0; i < t->size(); ++i) t->data()[i] = static_cast<float>(rng.uniform(-1, 1));
        ens.fit_stats(o.view(), a.view(), o2.view());
        Rng srng(4);
        const double s = median_seconds(50, [&] { ens.train_step(o.view(), a.view(), o2.view(), 512, srng); });
        // forward (3 layers), weight gradients (3), input gradients (2 layers: the first needs none)
        const double per_row = 2.0 * (2 * ((ob + ac) * 250 + 250 * 250 + 250 * ob) + (250 * 250 + 250 * ob));
        results.push_back({"train_step", "ensemble training step (3 x 512 rows)", E * 512 * per_row / 1e9, s * 1e3});
    }

    // PyTorch, twice.
    std::map<std::string, double> asis, tuned;
    const std::string t = " " + std::to_string(threads);
    if (!torch_cmd.empty()) {
        asis = run_torch(torch_cmd + t);
        tuned = run_torch("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE "
                          "GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=268435456 "
                          "ATEN_CPU_CAPABILITY=avx512 " + torch_cmd + t);
    }
    std::printf("\n%-46s %7s %9s %8s %6s | %11s %11s %9s\n", "workload", "GFLOP", "ours ms", "GFLOP/s", "%peak",
                "torch as-is", "torch tuned", "speed-up");
    for (const Result& r : results) {
        const double gfs = r.gflop / (r.ms / 1e3);
        auto ms = [](const std::map<std::string, double>& m, const std::string& k) {
            auto it = m.find(k);
            return it == m.end() ? -1.0 : it->second;
        };
        const double a = ms(asis, r.name), b = ms(tuned, r.name);
        const double best = a > 0 && b > 0 ? std::min(a, b) : std::max(a, b);
        char ta[16] = "-", tb[16] = "-", sp[16] = "-";
        if (a > 0) std::snprintf(ta, sizeof ta, "%.2f ms", a);
        if (b > 0) std::snprintf(tb, sizeof tb, "%.2f ms", b);
        if (best > 0) std::snprintf(sp, sizeof sp, "%.1fx", best / r.ms);
        std::printf("%-46s %7.3f %9.3f %8.0f %5.0f%% | %11s %11s %9s\n", r.what.c_str(), r.gflop, r.ms, gfs,
                    100 * gfs / peak, ta, tb, sp);
    }
    if (torch_cmd.empty())
        std::printf("\n(no PyTorch comparison: run through `make bench`, which passes --torch)\n");
    else if (asis.empty() && tuned.empty())
        std::printf("\n(PyTorch comparison skipped: `%s` failed; install python3-torch)\n", torch_cmd.c_str());
    std::printf("\nspeed-up = the faster PyTorch time / ours; %%peak is against the %d-thread peak above.\n", threads);
    return 0;
}
