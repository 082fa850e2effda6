// make bench: the speed of mbrl.hpp's hot paths as ratios, against this machine's measured fp32
// FMA peak and against PyTorch on the CPU running the same workloads in the same run.
//
//   build/bench [--threads N] [--torch "COMMAND"]     (MBRL_KERNEL=<name> to time another kernel)
//   build/bench --kernels                            the tuned kernels this CPU runs, one a line
//
// It times the kernel that runs (mbrl::kernel_name(); `make bench` runs it once per tuned kernel
// of this CPU). COMMAND runs examples/bench_torch.py (the Makefile passes it); it is run twice,
// with the environment as it is and tuned as docs/speed.md describes (OpenMP threads that sleep
// instead of spinning, OpenBLAS told the core type, PyTorch's kernels for the same instruction set
// as ours: AVX-512 against an AVX-512 kernel, AVX2 against AVX2), and our speed-up is quoted
// against the faster of the two. Times are medians over repetitions. The denominator, the FMA
// peak of the kernel's instruction set (a loop written with intrinsics), drifts on a shared VM,
// so it is measured many times, interleaved with the workloads (peak, workload, peak, ...); the
// median of the readings is used and their spread printed.
// Besides the table, one line per workload for scripts (plain numbers, "-" when not measured):
//   BENCH isa=<kernel_name()> workload=<name> threads=<n> ms=<ours> peak_pct=<% of the median peak>
//         torch_ms=<ms> speedup=<torch_ms / ms>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "../envs/cheetah.hpp"
#include "../mbrl.hpp"
#include "timer.hpp"

using namespace mbrl;

// Median wall time of `reps` calls of f, after one warm-up call.
template <class F>
double median_seconds(int reps, F&& f) {
    f();
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        mbrl_examples::Timer timer;
        f();
        t.push_back(timer.seconds());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Peak fp32 FMA throughput of `threads` threads, for the instruction set of the kernel that runs
// (mbrl::kernel_name()): per thread 12 independent chains y = y * a + b of the widest FMA, enough
// to hide its latency (4 cycles) on two FMA units, written with intrinsics in functions compiled
// for that instruction set (one binary measures every kernel the CPU runs). One reading: the best
// of 3 short runs (about 0.1 s).
// (A macro, so that each instruction set's copy is compiled in a function with its target.)
#define MBRL_BENCH_PEAK_LOOP(V, kW, set1, fma, sum)                                                           \
    const long iters = 12000000 / (kW);                                                                       \
    double best = 0;                                                                                          \
    for (int rep = 0; rep < 3; ++rep) {                                                                       \
        mbrl_examples::Timer timer;                                                                           \
        float total = 0;                                                                                      \
        MBRL_OMP(parallel num_threads(threads) reduction(+ : total))                                          \
        {                                                                                                     \
            const V a = set1(0.999999f), b = set1(1e-7f);                                                     \
            V y[12];                                                                                          \
            for (int c = 0; c < 12; ++c) y[c] = set1(1.0f + 0.1f * static_cast<float>(c));                    \
            for (long i = 0; i < iters; ++i) {                                                                \
                _Pragma("GCC unroll 12") for (int c = 0; c < 12; ++c) y[c] = fma(y[c], a, b);                \
            }                                                                                                 \
            float s = 0;                                                                                      \
            for (int c = 0; c < 12; ++c) s += sum(y[c]);                                                      \
            total += s;                                                                                       \
        }                                                                                                     \
        const double seconds = timer.seconds();                                                               \
        if (total == 42.0f) std::printf(" "); /* keeps the loop alive */                                      \
        best = std::max(best, 2.0 * 12 * (kW) * iters * threads / seconds / 1e9);                             \
    }                                                                                                         \
    return best;
#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx512f,fma"))) static float sum512(__m512 x) {
    alignas(64) float t[16];
    _mm512_store_ps(t, x);
    float s = 0;
    for (float v : t) s += v;
    return s;
}
__attribute__((target("avx512f,fma"))) static double peak_avx512(int threads) {
    MBRL_BENCH_PEAK_LOOP(__m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, sum512)
}
__attribute__((target("avx2,fma"))) static float sum256(__m256 x) {
    alignas(32) float t[8];
    _mm256_store_ps(t, x);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
__attribute__((target("avx2,fma"))) static double peak_avx2(int threads) {
    MBRL_BENCH_PEAK_LOOP(__m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, sum256)
}
#elif defined(__aarch64__)
static float32x4_t neon_fma(float32x4_t x, float32x4_t a, float32x4_t b) { return vfmaq_f32(b, x, a); }
static double peak_neon(int threads) { MBRL_BENCH_PEAK_LOOP(float32x4_t, 4, vdupq_n_f32, neon_fma, vaddvq_f32) }
#endif
static float scalar_fma(float x, float a, float b) { return std::fma(x, a, b); }
static float same(float x) { return x; }
static double peak_scalar(int threads) { MBRL_BENCH_PEAK_LOOP(float, 1, same, scalar_fma, same) }

static double fma_peak_gflops(int threads) {
    const std::string k = kernel_name();
#if defined(__GNUC__) && defined(__x86_64__)
    if (k.rfind("avx512", 0) == 0) return peak_avx512(threads);
    if (k == "avx2") return peak_avx2(threads);
#elif defined(__aarch64__)
    if (k == "neon") return peak_neon(threads);
#endif
    return peak_scalar(threads);
}

// Peak readings taken between the workloads, per thread count; the median is the denominator.
struct PeakReadings {
    std::vector<double> one, two;
    void take() {
        one.push_back(fma_peak_gflops(1));
        two.push_back(fma_peak_gflops(2));
    }
    static double median(std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0 : v[v.size() / 2];
    }
};

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
        else if (a == "--kernels") {  // the kernels this CPU runs, one a line (make bench runs each)
            for (const Kernel* k : available_kernels())
                if (std::string(k->name) != "reference") std::printf("%s\n", k->name);
            return 0;
        } else {
            std::fprintf(stderr, "usage: %s [--threads N] [--torch COMMAND] | --kernels\n", argv[0]);
            return 2;
        }
    }
    const bool bf16_hardware = std::string(kernel_name()) == "avx512_bf16";
    if (threads < 1) threads = 1;
    set_threads(threads);
    std::printf("mbrl.hpp benchmark: the %s kernel (MBRL_KERNEL picks another), %d thread(s), compiler %s\n\n",
                kernel_name(), threads, __VERSION__);
    PeakReadings peaks;
    peaks.take();

    struct Result {
        std::string name, what;
        double gflop, ms;
        int threads;
        std::string torch;  // the PyTorch workload it is compared with
    };
    std::vector<Result> results;

    // 1. matmul 1000 x 250 x 250, as one call (split over threads by row blocks)
    Rng rng(1);
    {
        Tensor<float> A(1000, 250), B(250, 250), C(1000, 250);
        for (auto* t : {&A, &B})
            for (std::size_t i = 0; i < t->size(); ++i) t->data()[i] = static_cast<float>(rng.uniform(-1, 1));
        MatmulScratch scratch;
        auto mm = [&] { matmul<float>(C.view(), A.view(), false, B.view(), false, Epilogue<float>{}, scratch); };
        const double s = median_seconds(200, mm);
        results.push_back({"matmul", "matmul 1000x250x250", 2.0 * 1000 * 250 * 250 / 1e9, s * 1e3, threads, "matmul"});
    }
    peaks.take();
    // 2. one MPC call at the cheetah shape: 3 members of 27 -> 250 -> 250 -> 21 (tanh), K = 1000,
    //    H = 15, random shooting; at the chosen thread count and at 1 thread (scaling)
    const int E = 3, K = 1000, H = 15, ob = Cheetah::kObsDim, ac = Cheetah::kActDim;
    const double plan_gflop = 2.0 * E * K * H * ((ob + ac) * 250 + 250 * 250 + 250 * ob) / 1e9;
    {
        Ensemble<float> ens(ob, ac, E, 2, 250, 1e-3f, 1);
        MPCConfig cfg;
        cfg.horizon = H;
        cfg.num_sequences = K;
        MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), &Cheetah::reward, std::vector<float>(ac, -1.0f), std::vector<float>(ac, 1.0f), cfg, 1);
        std::vector<float> obs(ob), act(ac);
        for (float& o : obs) o = static_cast<float>(0.1 * rng.normal());
        auto call = [&] { mpc.act(obs, act); };
        results.push_back({"mpc_call", "one MPC call (random shooting, cheetah shape)", plan_gflop,
                           median_seconds(20, call) * 1e3, threads, "plan_call"});
        peaks.take();
        set_threads(1);
        results.push_back({"mpc_call_1thread", "the same MPC call on 1 thread", plan_gflop,
                           median_seconds(10, call) * 1e3, 1, "plan_call"});
        set_threads(threads);
        // 2a. the same call with bf16 products (--mpc_precision bf16), against the float peak
        cfg.bf16 = true;
        MPC<float> mpc_bf16(std::make_shared<Ensemble<float>>(ens), &Cheetah::reward, std::vector<float>(ac, -1.0f),
                            std::vector<float>(ac, 1.0f), cfg, 1);
        results.push_back({"mpc_call_bf16", bf16_hardware ? "the same MPC call, bf16 products (AVX512_BF16)"
                                                           : "the same MPC call, bf16 products (emulated)",
                           plan_gflop, median_seconds(bf16_hardware ? 20 : 3, [&] { mpc_bf16.act(obs, act); }) * 1e3,
                           threads, ""});
    }
    peaks.take();
    // 2b. the same call with probabilistic members (27 -> 250 -> 250 -> 42: mean and log-variance)
    //     and TS-inf, one particle per member (PETS; README, beyond the homework)
    {
        const double pets_gflop = 2.0 * E * K * H * ((ob + ac) * 250 + 250 * 250 + 250 * 2 * ob) / 1e9;
        auto ens = std::make_shared<Ensemble<float>>(ob, ac, E, 2, 250, 1e-3f, 1, Activation::tanh,
                                                     ModelType::probabilistic);
        MPCConfig cfg;
        cfg.horizon = H;
        cfg.num_sequences = K;
        cfg.propagation = Propagation::tsinf;
        MPC<float> mpc(ens, &Cheetah::reward, std::vector<float>(ac, -1.0f), std::vector<float>(ac, 1.0f), cfg, 1);
        std::vector<float> obs(ob), act(ac);
        for (float& o : obs) o = static_cast<float>(0.1 * rng.normal());
        results.push_back({"mpc_call_tsinf", "the same with probabilistic members, TS-inf", pets_gflop,
                           median_seconds(20, [&] { mpc.act(obs, act); }) * 1e3, threads, "plan_tsinf"});
    }
    peaks.take();
    // 3. one ensemble training step: 3 members x 512 rows, forward, backward and Adam
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
        results.push_back({"train_step", "ensemble training step (3 x 512 rows)", E * 512 * per_row / 1e9, s * 1e3,
                           threads, "train_step"});
    }
    peaks.take();
    // 4. one SAC update, batch 256: critic step (both critics, their targets, the actor on s'),
    //    target update, actor step (actor forward and backward through both critics), temperature
    {
        const int B = 256;
        SACConfig cfg;
        cfg.n_layers = 2;
        cfg.size = 256;
        cfg.batch = B;
        SAC<float> sac(ob, ac, -1.0f, 1.0f, cfg, 1);
        Tensor<float> o(B, ob), a(B, ac), r(B, 1), o2(B, ob), d(B, 1);
        for (auto* t : {&o, &a, &r, &o2})
            for (std::size_t i = 0; i < t->size(); ++i) t->data()[i] = static_cast<float>(rng.uniform(-1, 1));
        d.fill(0.0f);
        const double s = median_seconds(50, [&] { sac.train(o.view(), a.view(), r.view(), o2.view(), d.view()); });
        // forwards: actor x2, targets x2, critics x4; backwards (weights and inputs, about twice a
        // forward): critics x4, actor x1
        const double actor_f = 2.0 * (ob * 256 + 256 * 256 + 256 * ac), critic_f = 2.0 * ((ob + ac) * 256 + 256 * 256 + 256);
        const double gflop = B * (2 * actor_f + 6 * critic_f + 4 * 2 * critic_f + 2 * actor_f) / 1e9;
        results.push_back({"sac_update", "one SAC update (batch 256, 2x256 nets)", gflop, s * 1e3, threads, "sac_update"});
    }
    peaks.take();
    const double peak1 = PeakReadings::median(peaks.one), peak2 = PeakReadings::median(peaks.two);
    const double peak = threads >= 2 ? peak2 : peak1;
    auto spread = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        char b[64];
        std::snprintf(b, sizeof b, "%.0f-%.0f", v.front(), v.back());
        return std::string(b);
    };
    std::printf("measured fp32 FMA peak, median of %zu readings between the workloads (spread): 1 thread %.0f GFLOP/s "
                "(%s), 2 threads %.0f GFLOP/s (%s)\n\n",
                peaks.one.size(), peak1, spread(peaks.one).c_str(), peak2, spread(peaks.two).c_str());

    // PyTorch, twice at the chosen thread count (as the environment has it, and tuned for this
    // build's instruction set), and tuned once at 1 thread for the MPC call.
    std::map<std::string, double> asis, tuned, tuned1;
    const bool avx512 = std::string(kernel_name()).rfind("avx512", 0) == 0;
    const std::string tune = std::string("env -u OPENBLAS_L2_SIZE -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE ") +
                             "GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=268435456 " +
                             (avx512 ? "ATEN_CPU_CAPABILITY=avx512 " : "OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2 ");
    if (!torch_cmd.empty()) {
        const std::string t = " " + std::to_string(threads);
        asis = run_torch(torch_cmd + t);
        tuned = run_torch(tune + torch_cmd + t);
        tuned1 = run_torch(tune + torch_cmd + " 1 plan_call");
    }
    std::printf("%-46s %7s %9s %8s %6s | %11s %11s %9s\n", "workload", "GFLOP", "ours ms", "GFLOP/s", "%peak",
                "torch as-is", "torch tuned", "speed-up");
    std::string lines;
    for (const Result& r : results) {
        const double gfs = r.gflop / (r.ms / 1e3);
        auto ms = [](const std::map<std::string, double>& m, const std::string& k) {
            auto it = m.find(k);
            return it == m.end() ? -1.0 : it->second;
        };
        const bool one = r.threads == 1 && threads > 1;
        const double a = one ? -1.0 : ms(asis, r.torch), b = ms(one ? tuned1 : tuned, r.torch);
        const double best = a > 0 && b > 0 ? std::min(a, b) : std::max(a, b);
        char ta[16] = "-", tb[16] = "-", sp[16] = "-", tm[32] = "-", spn[16] = "-";
        if (a > 0) std::snprintf(ta, sizeof ta, "%.2f ms", a);
        if (b > 0) std::snprintf(tb, sizeof tb, "%.2f ms", b);
        if (best > 0) std::snprintf(sp, sizeof sp, "%.2fx", best / r.ms);
        if (best > 0) std::snprintf(spn, sizeof spn, "%.3f", best / r.ms);
        if (best > 0) std::snprintf(tm, sizeof tm, "%.3f", best);
        const double pct = 100 * gfs / (r.threads == 1 ? peak1 : peak);
        std::printf("%-46s %7.3f %9.3f %8.0f %5.0f%% | %11s %11s %9s\n", r.what.c_str(), r.gflop, r.ms, gfs, pct, ta,
                    tb, sp);
        char line[256];
        std::snprintf(line, sizeof line, "BENCH isa=%s workload=%s threads=%d ms=%.3f peak_pct=%.1f torch_ms=%s speedup=%s\n",
                      kernel_name(), r.name.c_str(), r.threads, r.ms, pct, tm, spn);
        lines += line;
    }
    const double scaling = results[2].ms / results[1].ms;
    std::printf("\nMPC call, 1 thread -> %d threads: %.2fx faster\n", threads, scaling);
    std::printf("MPC call with bf16 products (%s): %.2fx the speed of the float call (its %%peak is against the float "
                "peak)\n", bf16_hardware ? "AVX512_BF16" : "emulated", results[1].ms / results[3].ms);
    if (torch_cmd.empty())
        std::printf("(no PyTorch comparison: run through `make bench`, which passes --torch)\n");
    else if (asis.empty() && tuned.empty())
        std::printf("(PyTorch comparison skipped: `%s` failed; install python3-torch)\n", torch_cmd.c_str());
    std::printf("speed-up = the faster PyTorch time / ours; %%peak is against the measured peak of the same thread "
                "count.\n\n%s",
                lines.c_str());
    return 0;
}
