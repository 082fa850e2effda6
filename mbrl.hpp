// mbrl.hpp: model-based reinforcement learning in one C++17 header
//
// This is a readable CPU reference that is also fast. It covers what the CS285 (fall 2022)
// homework 4 asks for: an ensemble of neural dynamics models that predict the normalized state
// change, trained with Adam; model-predictive control by random shooting and by the cross-entropy
// method; iterative model-based RL with on-policy data aggregation; soft actor-critic, and MBPO on
// top of it. Beyond the homework (issue 13): probabilistic members (PETS's Gaussian ensembles),
// trajectory sampling in the planner (TS1, TS-inf), planning on a true simulator the caller
// supplies (TrueModel), and model diagnostics on held-out data in every iteration; their defaults
// leave the homework's behaviour unchanged. It includes only the C++17 standard library. A few
// OpenMP pragmas speed it up on several cores and compile away without -fopenmp.
//
// USE
//   #include "mbrl.hpp"        // everything is in namespace mbrl, templated or inline
//   g++ -std=c++17 -O3 -march=native -ffp-contract=fast -fopenmp my.cpp
// -ffp-contract=fast lets GCC fuse a*b + c into one FMA under -std=c++17. On AVX-512 machines,
// also pass -mprefer-vector-width=512 (GCC's default tuning keeps loops at 256 bits). The tuned
// matmul picks its register tile from the target (AVX-512, AVX2, NEON, or a portable default):
// no macro to set (the appendix at the end says how and how to override it).
// The environments (envs/*.hpp) and the example programs (examples/q1.cpp ... q6.cpp) live
// beside this file; README.md has the commands, examples/common.hpp shows a whole program.
// The library opens no file: run_mb and run_mbpo report each iteration to the caller's RunSink,
// and examples/run_log.hpp writes the reports as the reference's CSV files and progress lines.
// They also hand the sink a checkpoint after every iteration (written into any std::ostream,
// section 13), continue a run from one read from a std::istream, bit for bit, and stop within
// an env step or a gradient step when the sink's stop predicate says so (throwing Interrupted).
//
// CONTENTS (each section uses only the ones above it)
//    1. Utilities: errors, timer, fast float exp and log, counter-based random numbers
//    2. Tensor: row-major matrices (owning Tensor, non-owning View)
//    3. Activations, with a fast vectorizable tanh
//    4. Matrix multiply: a naive reference, and the contract of the tuned one (appendix)
//    5. Dense layer and MLP (each forward beside its backward)
//    6. Loss: mean squared error
//    7. Adam
//    8. Normalization statistics
//    9. Dynamics model and ensemble (assignment Eqs. 1-6 and 9), deterministic or probabilistic (PETS)
//   10. Rollouts and the replay buffer
//   11. Model-predictive control: random shooting and CEM (Eq. 8), with trajectory sampling (TS1,
//       TS-inf) or on a caller's true simulator (TrueModel)
//   12. Soft actor-critic
//   13. Checkpoints: a run's state through std::ostream / std::istream (format version, checksum)
//   14. Model-based RL with on-policy data aggregation (Algorithm 1), reported to a RunSink;
//       model diagnostics on held-out data every iteration; checkpoints, resume, stop on request
//   15. MBPO
//   Appendix: speed. The tuned matrix multiply behind section 4's contract
//
// CONVENTIONS
// - Matrices are row-major; shapes are written [rows, cols], a batch being rows. Each buffer's
//   comment gives its shape. Weights are stored W [in, out], so a layer's forward pass is X W.
// - Scalar type T: float for speed, double for gradient checks (then tanh is std::tanh).
// - Hot loops allocate nothing: networks, planners and training steps keep preallocated
//   workspaces, structs named *Work (MLPWork, MPC's JobWork, RolloutWork), sized once and
//   reused; a product packs op(B) into a PackedB its caller owns (`scratch`).
// - Arrays cross the API as View (a pointer and a shape). At the edges a std::vector or a C array
//   converts to a View of one row [1, n] (an observation, an action); the environments speak
//   std::vector<float>, and their batched reward (RewardFn) takes the planner's raw rows.
// - Random numbers are pure functions of (seed, purpose, step, index) (Rng), so results are
//   bit-identical whatever OMP_NUM_THREADS is.
// - Bad input (shapes that do not fit, sizes <= 0, NaN or inf data) throws std::invalid_argument
//   with a message naming the argument and the shapes. Each config (MPCConfig, SACConfig,
//   LoopConfig, MBConfig, MBPOConfig) has validate(), which its users call: a ConfigError names the setting.
// - An exception thrown inside an OpenMP loop (by the caller's reward function, say) is caught
//   there and rethrown after the loop (ParallelErrors), with or without OpenMP.
// - An environment is any type with obs_dim(), act_dim(), ep_len(), act_low(j), act_high(j),
//   reset(rng, obs), step(act, obs, done) -> reward, and a static batched
//   reward(obs, act, n, rew, done); envs/common.hpp describes it.
//
// WHAT IS TUNED, WHAT IS NOT
// Tuned: the matrix multiply (packed panels, a register-tiled micro-kernel, bias and activation
// fused into its last step: the appendix), the tanh, OpenMP over independent work (planning jobs,
// row slices of a minibatch, the two SAC critics, row blocks of a large product). GCC and Clang's
// vector extensions name the kernel's registers (other compilers get plain loops with the same
// results). Not done, on purpose: SIMD intrinsics, BLAS, GPUs, an autodiff graph. `make bench` reports the speed as ratios against the machine's peak and
// against PyTorch.
#ifndef MBRL_HPP
#define MBRL_HPP

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <istream>
#include <limits>
#include <memory>
#include <new>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// OpenMP through _Pragma, so that a build without -fopenmp sees no pragma at all (and no warning).
#define MBRL_PRAGMA(x) _Pragma(#x)
#ifdef _OPENMP
#define MBRL_OMP(...) MBRL_PRAGMA(omp __VA_ARGS__)
#else
#define MBRL_OMP(...)
#endif

namespace mbrl {

// =================================================================================================
// 1. Utilities: errors, timer, fast float exp and log, counter-based random numbers
// =================================================================================================

// Every error this library reports is a std::invalid_argument (bad shapes, sizes, NaN input,
// a setting out of range, an unreadable checkpoint); the one exception is Interrupted (section
// 14), a stop the caller asked for. fail() builds the message from its parts.
template <class... Parts>
[[noreturn]] inline void fail(const Parts&... parts) {
    std::ostringstream s;
    (s << ... << parts);
    throw std::invalid_argument(s.str());
}

// A setting out of range, thrown by the validate() of every config (MPCConfig, SACConfig,
// MBConfig, MBPOConfig). `field` is the setting's name as the reference's flag spells it, without
// "--" (so the command line can name its flag), `problem` what is wrong ("must be positive, got 0").
struct ConfigError : std::invalid_argument {
    std::string field, problem;
    ConfigError(const std::string& config, const std::string& f, const std::string& p)
        : std::invalid_argument(config + ": " + f + " " + p), field(f), problem(p) {}
};

// Exceptions out of an OpenMP loop. An exception must not leave a parallel region (the program
// would end in std::terminate), so every iteration's body runs inside run(i, body), which catches
// whatever it throws; after the loop, rethrow() throws again the exception of the lowest
// iteration that threw: the same one whatever the number of threads, and the same in a build
// without OpenMP. The other iterations still run (a parallel loop cannot be left early).
class ParallelErrors {
   public:
    template <class Body>
    void run(long i, Body&& body) noexcept {
        try {
            body();
        } catch (...) {
            MBRL_OMP(critical(mbrl_parallel_errors))
            if (!error_ || i < index_) {
                error_ = std::current_exception();
                index_ = i;
            }
        }
    }
    void rethrow() const {
        if (error_) std::rethrow_exception(error_);
    }

   private:
    std::exception_ptr error_;
    long index_ = 0;
};

struct Timer {
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
};

// Fast float e^x and ln x for the sampling loops (trajectory sampling draws about a million
// normals and soft-bounded variances per planning call; glibc's scalar exp, log1p and cos took
// about a third of a PETS run's time). Branch-free polynomials with Cephes' expf and logf coefficients, so loops
// over them vectorize; relative error below 4e-7 (tests/test_core.cpp checks them against <cmath>).
inline float bits_to_float(uint32_t b) {
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
}
inline uint32_t float_to_bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
}
// (No branches and no float selects, which compilers turn into branches: the clamp is an integer
// min on the bits, which order as the floats do for each sign. NaN goes to a bound.)
// e^x = 2^n p(r) with n = round(x / ln 2) and |r| <= ln 2 / 2; x is clamped to [-87, 88].
inline float fast_exp(float x) {
    uint32_t b = float_to_bits(x);
    const uint32_t limit = 0x42b00000u + (b >> 31) * 0x7ffe0000u;  // the bits of 88, or of -87 if x < 0
    b = b < limit ? b : limit;
    x = bits_to_float(b);
    const float t = x * 1.44269504088896341f;  // n = t rounded half away from zero, by a cast
    const float n = static_cast<float>(static_cast<int32_t>(t + std::copysign(0.5f, t)));
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln 2 in two parts
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * bits_to_float(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
}
// ln x for a normal float x > 0: x = 2^e m with m in [sqrt(1/2), sqrt(2)), ln x = e ln 2 + ln m.
inline float fast_log(float x) {
    const uint32_t b = float_to_bits(x);
    const uint32_t big = (b & 0x007fffffu) > 0x003504f3u;  // 1 if the mantissa is above sqrt(2): halve m, add 1 to e
    const float e = static_cast<float>(static_cast<int32_t>(b >> 23) - 127 + static_cast<int32_t>(big));
    const float m = bits_to_float((b & 0x007fffffu) | (0x3f800000u - (big << 23)));
    const float f = m - 1.0f, z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z - 2.12194440e-4f * e - 0.5f * z;
    return (f + y) + 0.693359375f * e;
}
// Two independent standard normals from uniforms u1 in (0, 1] and u2 in [0, 1): Box-Muller with
// both outputs, radius sqrt(-2 ln u1) and an angle uniform on the circle, q quarter turns (q =
// floor(4 u2)) plus b in [-pi/4, pi/4], where sin and cos need only short polynomials (Cephes').
inline void fast_normal_pair(double u1, double u2, float& z0, float& z1) {
    const float radius = std::sqrt(-2.0f * fast_log(static_cast<float>(u1)));
    const float v = static_cast<float>(4.0 * u2);
    const int k = std::min(static_cast<int>(v), 3);  // v >= 0: the cast is floor
    const float b = (v - static_cast<float>(k) - 0.5f) * 1.57079632679489662f, z = b * b;
    const float c = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z -
                    0.5f * z + 1.0f;
    const float s = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * b + b;
    // (c, s) turned by k quarter turns, without branches: an odd k turns once, (c, s) -> (-s, c);
    // k >= 2 turns twice more, a change of sign.
    const float odd = static_cast<float>(k & 1), even = 1.0f - odd;
    const float sign = radius * static_cast<float>(1 - (k & 2));
    z0 = sign * (even * c - odd * s);
    z1 = sign * (even * s + odd * c);
}

// SplitMix64's output function: a bijection on 64-bit integers that scatters every input bit
// (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014).
inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

// What a random stream is for. Each use gets its own stream, so adding draws to one use never
// shifts the numbers of another.
enum class Stream : uint64_t {
    init = 1,     // network weights
    reset,        // environment resets
    policy,       // random actions of the initial data collection
    plan,         // MPC candidate sequences
    sample,       // replay-buffer minibatches
    noise,        // add_sl_noise
    sac_act,      // SAC's actions in the environment
    sac_train,    // SAC's minibatches and action noise while training
    rollout,      // MBPO's model rollouts
    test,         // tests
    particle,     // MPC trajectory sampling: members and Gaussian noise of the particles
};

// Counter-based generator: draw number c of the stream keyed by (seed, stream, a, b) is
// mix64(key + c * golden), a pure function of those five numbers. Give each thread's work its own
// (a, b), e.g. (env step, candidate index), and the numbers no longer depend on which thread runs
// it or in what order: results are bit-identical for any OMP_NUM_THREADS.
struct Rng {
    uint64_t key = 0, counter = 0;

    explicit Rng(uint64_t seed, Stream s = Stream::test, uint64_t a = 0, uint64_t b = 0) {
        key = mix64(seed + kGolden);
        for (uint64_t v : {static_cast<uint64_t>(s), a, b}) key = mix64(key ^ mix64(v + kGolden));
    }
    uint64_t bits() { return mix64(key + (++counter) * kGolden); }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Standard normal by Box-Muller (one of the pair is used; the stream stays stateless).
    double normal() {
        const double u1 = 1.0 - uniform();  // (0, 1]
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    // n standard normals into out [n], two per pair of uniforms (fast_normal_pair): faster than n
    // normal() calls, and different numbers. Allocates nothing.
    void normals(float* out, int n) {
        for (int i = 0; i < n; i += 2) {
            const double u1 = 1.0 - uniform(), u2 = uniform();
            float z0, z1;
            fast_normal_pair(u1, u2, z0, z1);
            out[i] = z0;
            if (i + 1 < n) out[i + 1] = z1;
        }
    }
    // Uniform integer in [0, n); n = 0 (an empty range) is an error.
    uint64_t below(uint64_t n) {
        if (n == 0) fail("Rng::below: the range [0, n) is empty (n = 0)");
        return static_cast<uint64_t>(uniform() * static_cast<double>(n)) % n;
    }
};


// =================================================================================================
// 2. Tensor: row-major matrices (owning Tensor, non-owning View)
// =================================================================================================
// Shapes are written [rows, cols]; element (i, j) of a View lives at data[i * cols + j].

// Storage aligned to 64 bytes (one AVX-512 register, one cache line).
template <class T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::size_t kAlign = 64;
    AlignedAllocator() = default;
    template <class U>
    AlignedAllocator(const AlignedAllocator<U>&) {}
    T* allocate(std::size_t n) {
        return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kAlign)));
    }
    void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(kAlign)); }
    template <class U>
    bool operator==(const AlignedAllocator<U>&) const { return true; }
    template <class U>
    bool operator!=(const AlignedAllocator<U>&) const { return false; }
};
template <class T>
using Buffer = std::vector<T, AlignedAllocator<T>>;

// The one array type of the API: every function that takes or returns numbers takes a View.
// At the edges, a std::vector or a C array converts to a View of one row, [1, n] (an
// observation, an action), so `mpc.act(obs, action)` takes the env's std::vector<float>s.
template <class T>
struct View {
    T* data = nullptr;
    int rows = 0, cols = 0;

    View() = default;
    View(T* d, int r, int c) : data(d), rows(r), cols(c) {}
    template <class U, class A>
    View(std::vector<U, A>& v) : data(v.data()), rows(1), cols(static_cast<int>(v.size())) {}
    template <class U, class A>
    View(const std::vector<U, A>& v) : data(v.data()), rows(1), cols(static_cast<int>(v.size())) {}
    template <class U, std::size_t N>
    View(U (&a)[N]) : data(a), rows(1), cols(static_cast<int>(N)) {}
    operator View<const T>() const { return {data, rows, cols}; }

    T* row(int i) const { return data + static_cast<std::size_t>(i) * cols; }
    T& operator()(int i, int j) const { return data[static_cast<std::size_t>(i) * cols + j]; }
    T& operator[](std::size_t k) const { return data[k]; }  // element k in row-major order
    std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
    // Rows [r0, r0 + n) as a view of the same memory.
    View middle_rows(int r0, int n) const { return {row(r0), n, cols}; }
};

inline std::string shape_str(int rows, int cols) {
    return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}
// Throws unless v has shape [rows, cols]; `what` names the argument in the message.
template <class T>
void check_shape(const View<T>& v, int rows, int cols, const char* what) {
    if (v.rows != rows || v.cols != cols)
        fail(what, ": expected shape ", shape_str(rows, cols), ", got ", shape_str(v.rows, v.cols));
}
// Throws if any element is NaN or infinite.
template <class T>
void check_finite(const View<T>& v, const char* what) {
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v.data[i]))
            fail(what, ": non-finite value ", v.data[i], " at row ", i / v.cols, ", column ", i % v.cols);
}

template <class T>
struct Tensor {
    Buffer<T> buf;
    int rows = 0, cols = 0;

    Tensor() = default;
    Tensor(int r, int c) { resize(r, c); }
    // Changes the shape; memory is reallocated only when it grows past its largest size so far.
    void resize(int r, int c) {
        if (r < 0 || c < 0) fail("Tensor: negative shape ", shape_str(r, c));
        rows = r;
        cols = c;
        if (buf.size() < size()) buf.resize(size());
    }
    std::size_t size() const { return static_cast<std::size_t>(rows) * cols; }
    T* data() { return buf.data(); }
    const T* data() const { return buf.data(); }
    T* row(int i) { return data() + static_cast<std::size_t>(i) * cols; }
    const T* row(int i) const { return data() + static_cast<std::size_t>(i) * cols; }
    T& operator()(int i, int j) { return buf[static_cast<std::size_t>(i) * cols + j]; }
    const T& operator()(int i, int j) const { return buf[static_cast<std::size_t>(i) * cols + j]; }
    View<T> view() { return {data(), rows, cols}; }
    View<const T> view() const { return {data(), rows, cols}; }
    void fill(T v) { std::fill(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(size()), v); }
};

// =================================================================================================
// 3. Activations, with a fast vectorizable tanh
// =================================================================================================
enum class Activation { identity, tanh, relu };

// tanh(x) = x P(x^2) / Q(x^2) on |x| <= 9, and +-1 beyond (where float tanh rounds to 1).
// P has degree 6 and Q degree 3; the coefficients are a rational fit of tanh's relative error
// made for this library (tests/fit_tanh.py). In float the relative error is below 4e-7 for every
// input: FMAs and one division, many times faster than std::tanh. tanh_rational takes x already
// clamped to [-9, 9] and works for a float or for a vector of floats (the matmul's epilogue
// applies it to whole registers, see the appendix), with the same operations in the same order.
template <class V>
inline V tanh_rational(V x) {
    const V u = x * x;
    V p = -8.4927711294017168e-14f * u + 5.2795179375355598e-11f;
    p = p * u - 2.0228459576975267e-08f;
    p = p * u + 1.1155099822570587e-05f;
    p = p * u + 3.1040315602711183e-03f;
    p = p * u + 1.3084077456687074e-01f;
    p = p * u + 9.9999999339761614e-01f;
    V q = 2.5462551373263187e-04f * u + 2.4495478140192494e-02f;
    q = q * u + 4.6417404568923964e-01f;
    q = q * u + 1.0f;
    return x * p / q;
}
inline float fast_tanh(float x) {
    x = x < -9.0f ? -9.0f : x;  // written so that NaN passes through
    x = x > 9.0f ? 9.0f : x;
    return tanh_rational(x);
}
inline float tanh_of(float x) { return fast_tanh(x); }
inline double tanh_of(double x) { return std::tanh(x); }  // double is for gradient checks: exact

// y = f(x)
template <class T>
inline T activate(Activation f, T x) {
    return f == Activation::tanh ? tanh_of(x) : f == Activation::relu ? (x > T(0) ? x : T(0)) : x;
}
// dy *= f'(x) over n values, written with the forward output y = f(x): tanh' = 1 - y^2,
// relu' = [y > 0], identity' = 1.
template <class T>
void activation_backward(Activation f, const T* y, T* dy, std::size_t n) {
    if (f == Activation::tanh)
        for (std::size_t i = 0; i < n; ++i) dy[i] *= T(1) - y[i] * y[i];
    else if (f == Activation::relu)
        for (std::size_t i = 0; i < n; ++i) dy[i] = y[i] > T(0) ? dy[i] : T(0);
}

// =================================================================================================
// 4. Matrix multiply: C = op(A) op(B), a naive reference and the tuned version's contract
// =================================================================================================
// op(X) is X or its transpose X^T (flag `ta` / `tb`); shapes: op(A) [M, K], op(B) [K, N], C [M, N].
// With weights stored W [in, out], the three products of a dense layer are all of this form:
//   forward  Y  = X W       matmul(Y, X, false, W, false)
//   weights  dW = X^T dY    matmul(dW, X, true, dY, false)
//   inputs   dX = dY W^T    matmul(dX, dY, false, W, true)

// Element (i, k) of op(A) is a[i * rs + k * cs]; this picks rs and cs.
struct Strides {
    std::ptrdiff_t rs, cs;
};
template <class T>
Strides op_strides(const View<T>& x, bool transposed) {
    return transposed ? Strides{1, x.cols} : Strides{x.cols, 1};
}

template <class T>
void check_matmul(const View<T>& C, const View<const T>& A, bool ta, const View<const T>& B, bool tb) {
    const int M = ta ? A.cols : A.rows, K = ta ? A.rows : A.cols;
    const int KB = tb ? B.cols : B.rows, N = tb ? B.rows : B.cols;
    if (K != KB || C.rows != M || C.cols != N)
        fail("matmul: op(A) ", shape_str(M, K), " times op(B) ", shape_str(KB, N), " into C ",
             shape_str(C.rows, C.cols), " does not fit");
}

// The textbook triple loop, kept as the reference the tuned version is tested against.
template <class T>
void matmul_naive(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, bool accumulate = false) {
    check_matmul(C, A, ta, B, tb);
    const int K = ta ? A.rows : A.cols;
    const Strides sa = op_strides(A, ta), sb = op_strides(B, tb);
    for (int i = 0; i < C.rows; ++i)
        for (int j = 0; j < C.cols; ++j) {
            T sum = accumulate ? C(i, j) : T(0);
            for (int k = 0; k < K; ++k) sum += A.data[i * sa.rs + k * sa.cs] * B.data[k * sb.rs + j * sb.cs];
            C(i, j) = sum;
        }
}

// What is done to each element of C once its sum over k is complete, while it is still in a
// register: C = act(sum + bias) (a dense layer's forward in one pass), or C += sum.
template <class T>
struct Epilogue {
    const T* bias = nullptr;  // [N], or nullptr
    Activation act = Activation::identity;
    bool accumulate = false;
};

// The tuned product lives in the appendix at the end of this file ("Speed"); here is its
// contract. It works on op(B) (and the bias) copied into the micro-kernel's layout, a PackedB.
// Whoever multiplies owns the PackedB it packs into (an MLPWork has one), so nothing is cached
// behind the caller's back, and a caller who multiplies by the same B many times (the planner,
// with weights that do not change during a call) packs it once and keeps it.
// Each element of C is summed in one fixed order, act(bias + a_0 b_0 + a_1 b_1 + ...), whatever
// the blocking, the thread or the instruction set, so results do not depend on any of them.
template <class T>
struct PackedB {
    Buffer<T> data;  // op(B) [K, N] and a bias [N] in the micro-kernel's layout (see the appendix)
    int K = 0, N = 0;
};
// out = op(B) and bias (or zeros) in the micro-kernel's layout; memory grows only when it must.
template <class T>
void pack_b(PackedB<T>& out, View<const T> B, bool tb, const T* bias);
// C = act(op(A) B + bias) or C += op(A) B, with B packed by pack_b.
template <class T>
void matmul_packed(View<T> C, View<const T> A, bool ta, const PackedB<T>& B, Activation act, bool accumulate);
// C = act(op(A) op(B) + bias) or C += op(A) op(B), as the epilogue says; `scratch` receives the
// packed op(B) (or, for fewer rows than a micro-tile, serves as the row accumulator).
template <class T>
void matmul_tuned(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, Epilogue<T> ep, PackedB<T>& scratch);

template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, Epilogue<T> ep, PackedB<T>& scratch) {
    check_matmul(C, A, ta, B, tb);
    matmul_tuned(C, A, ta, B, tb, ep, scratch);
}
template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, bool accumulate, PackedB<T>& scratch) {
    matmul(C, A, ta, B, tb, Epilogue<T>{nullptr, Activation::identity, accumulate}, scratch);
}
// For a one-off product: the same with a scratch of its own, allocated at every call.
template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, Epilogue<T> ep) {
    PackedB<T> scratch;
    matmul(C, A, ta, B, tb, ep, scratch);
}
template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, bool accumulate = false) {
    matmul(C, A, ta, B, tb, Epilogue<T>{nullptr, Activation::identity, accumulate});
}

// =================================================================================================
// 5. Dense layer and MLP (each forward beside its backward)
// =================================================================================================
// Letters: B batch rows, I layer inputs, O layer outputs. Weights are stored W [I, O] (the
// transpose of PyTorch's nn.Linear.weight [O, I]) so that the forward is a plain X W.

// y[B, O] = f(x[B, I] W[I, O] + b[O]), the activation f applied in the same pass; `scratch` is
// for the product.
template <class T>
void linear_forward(View<T> y, View<const T> x, const T* W, const T* b, Activation f, PackedB<T>& scratch) {
    matmul(y, x, false, View<const T>(W, x.cols, y.cols), false, Epilogue<T>{b, f, false}, scratch);
}
// The same with W and b packed beforehand by pack_b (a PackedMLP holds every layer's).
template <class T>
void linear_forward(View<T> y, View<const T> x, const PackedB<T>& Wb, Activation f) {
    matmul_packed(y, x, false, Wb, f, false);
}
// Given dy[B, O]: dW[I, O] = x^T dy, db[O] = sum over rows of dy, and dx[B, I] = dy W^T (skipped
// when dx is empty: the first layer's input needs no gradient). `scratch` is for the products.
template <class T>
void linear_backward(View<T> dx, T* dW, T* db, View<const T> dy, View<const T> x, const T* W, PackedB<T>& scratch) {
    matmul(View<T>(dW, x.cols, dy.cols), x, true, dy, false, false, scratch);
    for (int j = 0; j < dy.cols; ++j) db[j] = T(0);
    for (int i = 0; i < dy.rows; ++i) {
        const T* di = dy.row(i);
        for (int j = 0; j < dy.cols; ++j) db[j] += di[j];
    }
    if (dx.data) matmul(dx, dy, false, View<const T>(W, x.cols, dy.cols), true, false, scratch);
}

// A multilayer perceptron: n_layers hidden layers of `size` units with activation `act`, then a
// linear output layer (identity), as the reference's build_mlp. All weights and biases live in
// one block `params`, so Adam, copies and soft updates are single flat loops.
template <class T>
struct MLP {
    std::vector<int> widths;          // [in, size, ..., size, out]: layer l maps widths[l] -> widths[l+1]
    Activation act = Activation::tanh;
    Buffer<T> params;                 // per layer l: W_l [widths[l], widths[l+1]], then b_l [widths[l+1]]
    Buffer<T> grads;                  // same layout as params
    std::vector<std::size_t> offset;  // offset of W_l in params; b_l follows W_l

    MLP() = default;
    MLP(int in, int out, int n_layers, int size, Activation a = Activation::tanh) : act(a) {
        if (in <= 0 || out <= 0 || n_layers < 0 || (n_layers > 0 && size <= 0))
            fail("MLP: need in > 0, out > 0, n_layers >= 0 and size > 0; got in=", in, " out=", out,
                 " n_layers=", n_layers, " size=", size);
        widths.push_back(in);
        for (int l = 0; l < n_layers; ++l) widths.push_back(size);
        widths.push_back(out);
        std::size_t n = 0;
        for (int l = 0; l + 1 < static_cast<int>(widths.size()); ++l) {
            offset.push_back(n);
            n += static_cast<std::size_t>(widths[l]) * widths[l + 1] + widths[l + 1];
        }
        params.assign(n, T(0));
        grads.assign(n, T(0));
    }
    int layers() const { return static_cast<int>(offset.size()); }  // number of linear layers
    int in() const { return widths.front(); }
    int out() const { return widths.back(); }
    std::size_t size() const { return params.size(); }
    T* W(int l) { return params.data() + offset[l]; }
    const T* W(int l) const { return params.data() + offset[l]; }
    T* b(int l) { return W(l) + static_cast<std::size_t>(widths[l]) * widths[l + 1]; }
    const T* b(int l) const { return W(l) + static_cast<std::size_t>(widths[l]) * widths[l + 1]; }
    T* dW(int l) { return grads.data() + offset[l]; }
    T* db(int l) { return dW(l) + static_cast<std::size_t>(widths[l]) * widths[l + 1]; }

    // PyTorch's default nn.Linear init: weights and biases uniform in +-1/sqrt(fan_in).
    void init(Rng& rng) {
        for (int l = 0; l < layers(); ++l) {
            const double bound = 1.0 / std::sqrt(static_cast<double>(widths[l]));
            const std::size_t n = static_cast<std::size_t>(widths[l]) * widths[l + 1] + widths[l + 1];
            T* p = W(l);
            for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<T>(rng.uniform(-bound, bound));
        }
    }
};

// Every layer's weights and bias in the micro-kernel's layout (pack_mlp), with the activations:
// what a forward pass multiplies by. Packing costs a copy of the weights; a caller that runs many
// forward passes through unchanged weights (a planning call) packs once and keeps it.
template <class T>
struct PackedMLP {
    std::vector<PackedB<T>> layer;  // [layers] W_l and b_l packed
    Activation act = Activation::tanh;
};
template <class T>
void pack_mlp(const MLP<T>& net, PackedMLP<T>& p) {
    p.layer.resize(net.layers());
    p.act = net.act;
    for (int l = 0; l < net.layers(); ++l)
        pack_b(p.layer[l], View<const T>(net.W(l), net.widths[l], net.widths[l + 1]), false, net.b(l));
}

// The activations of one batch through an MLP, sized once for up to `max_batch` rows and reused:
// forward and backward never allocate.
template <class T>
struct MLPWork {
    std::vector<Tensor<T>> a;  // a[0] = input [B, in]; a[l+1] = output of layer l [B, widths[l+1]]
    Tensor<T> g, g_next;       // gradient scratch [B, max width], swapped layer by layer
    PackedB<T> scratch;        // what the products pack op(B) into
    int max_batch = 0;

    MLPWork() = default;
    MLPWork(const MLP<T>& net, int batch) { reserve(net, batch); }
    void reserve(const MLP<T>& net, int batch) {
        if (batch <= 0) fail("MLPWork: batch must be positive, got ", batch);
        max_batch = batch;
        a.resize(net.widths.size());
        int widest = 0;
        for (std::size_t l = 0; l < net.widths.size(); ++l) {
            a[l].resize(batch, net.widths[l]);
            widest = std::max(widest, net.widths[l]);
        }
        g.resize(batch, widest);
        g_next.resize(batch, widest);
    }
    // Starts a batch: shapes every buffer for B rows (B <= max_batch) and returns the input
    // [B, in], for the caller to fill before mlp_forward.
    View<T> start_batch(const MLP<T>& net, int B) {
        if (B <= 0 || B > max_batch || a.size() != net.widths.size())
            fail("MLPWork: batch of ", B, " rows does not fit this workspace (max ", max_batch, ")");
        for (std::size_t l = 0; l < a.size(); ++l) a[l].resize(B, net.widths[l]);
        return a[0].view();
    }
    View<T> output() { return a.back().view(); }
};

// Forward pass of the batch written into work.start_batch(): returns the output [B, out].
// Hidden layers apply the activation, the output layer none.
template <class T>
View<T> mlp_forward(const MLP<T>& net, MLPWork<T>& work) {
    const int L = net.layers();
    for (int l = 0; l < L; ++l)
        linear_forward<T>(work.a[l + 1].view(), work.a[l].view(), net.W(l), net.b(l),
                          l + 1 < L ? net.act : Activation::identity, work.scratch);
    return work.output();
}
// The same through weights packed beforehand (pack_mlp), for many passes through unchanged weights.
template <class T>
View<T> mlp_forward(const PackedMLP<T>& net, MLPWork<T>& work) {
    const int L = static_cast<int>(net.layer.size());
    for (int l = 0; l < L; ++l)
        linear_forward<T>(work.a[l + 1].view(), work.a[l].view(), net.layer[l], l + 1 < L ? net.act : Activation::identity);
    return work.output();
}
// Backward pass: given dout [B, out] = dLoss/dOutput, writes dLoss/dparams into `grads` (laid out
// as params; net.grads if null), overwriting them. If dinput is non-empty it receives
// dLoss/dInput [B, in].
template <class T>
void mlp_backward(const MLP<T>& net, MLPWork<T>& work, View<const T> dout, View<T> dinput, T* grads) {
    const int B = work.a[0].rows;
    check_shape(dout, B, net.out(), "mlp_backward: dout");
    if (dinput.data) check_shape(dinput, B, net.in(), "mlp_backward: dinput");
    View<const T> dy = dout;
    for (int l = net.layers() - 1; l >= 0; --l) {
        work.g_next.resize(B, net.widths[l]);
        View<T> dx = l > 0 ? work.g_next.view() : dinput;
        T* dW = grads + net.offset[l];
        T* db = dW + static_cast<std::size_t>(net.widths[l]) * net.widths[l + 1];
        linear_backward<T>(dx, dW, db, dy, work.a[l].view(), net.W(l), work.scratch);
        if (l > 0) {
            activation_backward(net.act, work.a[l].data(), dx.data, dx.size());  // through layer l-1's f
            std::swap(work.g, work.g_next);
            dy = work.g.view();
        }
    }
}
template <class T>
void mlp_backward(MLP<T>& net, MLPWork<T>& work, View<const T> dout, View<T> dinput = {}) {
    mlp_backward<T>(net, work, dout, dinput, net.grads.data());
}

// =================================================================================================
// 6. Loss: mean squared error (nn.MSELoss: the mean over every element)
// =================================================================================================
// loss = mean over B x D of (pred - target)^2
template <class T>
T mse_forward(View<const T> pred, View<const T> target) {
    check_shape(target, pred.rows, pred.cols, "mse: target");
    double sum = 0;
    for (std::size_t i = 0; i < pred.size(); ++i) {
        const double d = static_cast<double>(pred.data[i]) - target.data[i];
        sum += d * d;
    }
    return static_cast<T>(sum / static_cast<double>(pred.size()));
}
// dpred[B, D] = 2 (pred - target) / (B D). When pred is a slice of a larger batch, `count` is the
// number of elements of the whole batch (the mean is over all of them).
template <class T>
void mse_backward(View<T> dpred, View<const T> pred, View<const T> target, std::size_t count = 0) {
    check_shape(target, pred.rows, pred.cols, "mse: target");
    check_shape(dpred, pred.rows, pred.cols, "mse: dpred");
    const T scale = T(2) / static_cast<T>(count ? count : pred.size());
    for (std::size_t i = 0; i < pred.size(); ++i) dpred.data[i] = scale * (pred.data[i] - target.data[i]);
}

// =================================================================================================
// 7. Adam (Kingma and Ba 2015; PyTorch's torch.optim.Adam without weight decay)
// =================================================================================================
template <class T>
struct Adam {
    T lr = T(1e-3), beta1 = T(0.9), beta2 = T(0.999), eps = T(1e-8);
    long t = 0;     // steps taken
    Buffer<T> m, v;  // first and second moment estimates [n]

    Adam() = default;
    Adam(std::size_t n, T learning_rate) : lr(learning_rate), m(n, T(0)), v(n, T(0)) {
        if (!(learning_rate > T(0))) fail("Adam: learning rate must be positive, got ", learning_rate);
    }
    // One update of params[n] from grads[n], written as PyTorch computes it:
    //   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    //   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    void step(T* params, const T* grads) {
        ++t;
        const T bc1 = T(1) - static_cast<T>(std::pow(static_cast<double>(beta1), static_cast<double>(t)));
        const T bc2 = T(1) - static_cast<T>(std::pow(static_cast<double>(beta2), static_cast<double>(t)));
        const T step_size = lr / bc1, inv_sqrt_bc2 = T(1) / std::sqrt(bc2);
        const std::size_t n = m.size();
        for (std::size_t i = 0; i < n; ++i) {
            const T g = grads[i];
            m[i] = beta1 * m[i] + (T(1) - beta1) * g;
            v[i] = beta2 * v[i] + (T(1) - beta2) * g * g;
            params[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
        }
    }
};

// =================================================================================================
// 8. Normalization statistics (reference section 3.3)
// =================================================================================================
// Per-column mean and population std of a data set; normalize(x) = (x - mean) / (std + 1e-8),
// unnormalize(y) = y std + mean (no epsilon).
template <class T>
struct Normalizer {
    static constexpr double kEps = 1e-8;
    std::vector<T> mean, std;

    Normalizer() = default;
    explicit Normalizer(int dim) : mean(dim, T(0)), std(dim, T(1)) {}
    int dim() const { return static_cast<int>(mean.size()); }

    // Mean and population std of each column of x [N, D], accumulated in double.
    void fit(View<const T> x) {
        if (x.rows <= 0 || x.cols <= 0) fail("Normalizer::fit: empty data ", shape_str(x.rows, x.cols));
        std::vector<double> s(x.cols, 0.0), ss(x.cols, 0.0);
        for (int i = 0; i < x.rows; ++i)
            for (int j = 0; j < x.cols; ++j) s[j] += x(i, j);
        mean.assign(x.cols, T(0));
        std.assign(x.cols, T(0));
        for (int j = 0; j < x.cols; ++j) mean[j] = static_cast<T>(s[j] / x.rows);
        for (int i = 0; i < x.rows; ++i)
            for (int j = 0; j < x.cols; ++j) {
                const double d = static_cast<double>(x(i, j)) - s[j] / x.rows;
                ss[j] += d * d;
            }
        for (int j = 0; j < x.cols; ++j) std[j] = static_cast<T>(std::sqrt(ss[j] / x.rows));
    }
    T normalize(T x, int j) const { return static_cast<T>((x - mean[j]) / (std[j] + kEps)); }
    T unnormalize(T y, int j) const { return y * std[j] + mean[j]; }
};

// =================================================================================================
// 9. Dynamics model and ensemble (assignment Eqs. 1-6 and 9; reference section 3.3)
// =================================================================================================
// Member n is an MLP f_n: [normalize(s), normalize(a)] -> normalized state change. It is trained
// on Eq. 5, || normalize(s' - s) - f_n(s, a) ||^2 averaged as nn.MSELoss does, and predicts with
// Eq. 6, s' = s + unnormalize(f_n(s, a)).
//
// Probabilistic members (PETS, Chua et al. 2018, Eqs. 1 and A.1 of its code): the MLP has 2 D
// outputs, the mean mu [D] and a raw log-variance r [D] of the normalized state change, and the
// log-variance is soft-bounded between learned per-dimension bounds (max_lv, min_lv):
//   lv = max_lv - softplus(max_lv - r);  lv = min_lv + softplus(lv - min_lv)
// The loss of a member on a minibatch of B rows is the Gaussian negative log-likelihood (without
// its constant) plus PETS's small penalty that keeps the bounds from drifting apart:
//   L = 1/(B D) sum_{i,j} [ (mu_ij - y_ij)^2 exp(-lv_ij) + lv_ij ] + 0.01 (sum_j max_lv_j - sum_j min_lv_j)
// The bounds start at max_lv = 0.5 and min_lv = -10 (PETS) and are each member's own (PETS shares
// one pair over the ensemble; per member keeps the members independent). predict() gives the mean,
// s' = s + unnormalize(mu); predict_sample() a draw, s' = s + unnormalize(mu + exp(lv / 2) eps).

enum class ModelType { deterministic, probabilistic };

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double softplus(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }
// In float, softplus(x) = max(x, 0) + ln(1 + e^-|x|) with section 1's fast exp and log (error below
// 4e-7 of max(softplus, 1)); in double (gradient checks) exact, like tanh_of. Likewise exp_of.
inline float softplus_of(float x) { return (x > 0.0f ? x : 0.0f) + fast_log(1.0f + fast_exp(-std::fabs(x))); }
inline double softplus_of(double x) { return softplus(x); }
inline float exp_of(float x) { return fast_exp(x); }
inline double exp_of(double x) { return std::exp(x); }

// The soft-bounded log-variance (forward) of a raw output r with bounds hi = max_lv, lo = min_lv.
template <class T>
T bounded_logvar(T r, T hi, T lo) {
    const T a = hi - softplus_of(hi - r);
    return lo + softplus_of(a - lo);
}
// Its backward: given g = dL/dlv, returns dL/dr and adds dL/dhi, dL/dlo into *dhi, *dlo.
// dlv/da = sigmoid(a - lo), dlv/dlo = 1 - sigmoid(a - lo); da/dr = sigmoid(hi - r), da/dhi = 1 - sigmoid(hi - r).
template <class T>
T bounded_logvar_backward(T r, T hi, T lo, T g, T* dhi, T* dlo) {
    const double a = hi - softplus(static_cast<double>(hi) - r);
    const double s_lo = sigmoid(a - lo), s_hi = sigmoid(static_cast<double>(hi) - r);
    *dlo += static_cast<T>(g * (1 - s_lo));
    *dhi += static_cast<T>(g * s_lo * (1 - s_hi));
    return static_cast<T>(g * s_lo * s_hi);
}

// Statistics of the whole replay buffer, shared by every member and by the planner.
template <class T>
struct DataStats {
    Normalizer<T> obs, act, delta;  // of observations [ob_dim], actions [ac_dim], next_obs - obs [ob_dim]
};

// x [B, ob_dim + ac_dim] = [normalize(obs), normalize(act)] (observation first), of rows
// idx[0..B) of obs and act, or of rows 0..B if idx is null.
template <class T>
void model_input(View<T> x, View<const T> obs, View<const T> act, const DataStats<T>& stats, const int* idx = nullptr) {
    const int D = obs.cols, A = act.cols;
    for (int i = 0; i < x.rows; ++i) {
        T* xi = x.row(i);
        const T* oi = obs.row(idx ? idx[i] : i);
        const T* ai = act.row(idx ? idx[i] : i);
        for (int j = 0; j < D; ++j) xi[j] = stats.obs.normalize(oi[j], j);
        for (int j = 0; j < A; ++j) xi[D + j] = stats.act.normalize(ai[j], j);
    }
}

// Eq. 5's target y [B, ob_dim] = normalize(next_obs - obs), of rows idx[0..B) (or 0..B if idx is null).
template <class T>
void model_target(View<T> y, View<const T> obs, View<const T> next_obs, const DataStats<T>& stats,
                  const int* idx = nullptr) {
    for (int i = 0; i < y.rows; ++i) {
        const int r = idx ? idx[i] : i;
        for (int j = 0; j < y.cols; ++j) y(i, j) = stats.delta.normalize(next_obs(r, j) - obs(r, j), j);
    }
}

template <class T>
struct Ensemble {
    static constexpr double kBoundPenalty = 0.01;  // PETS's weight of sum max_lv - sum min_lv
    int obs_dim = 0, act_dim = 0;
    ModelType type = ModelType::deterministic;
    std::vector<MLP<T>> nets;  // [N] members, independently initialized; outputs [D] or (probabilistic) [2 D]
    std::vector<Adam<T>> opts;  // [N] one optimizer per member
    DataStats<T> stats;
    // Probabilistic members only (empty otherwise):
    std::vector<Buffer<T>> bounds;       // [N] x [2 D]: max_lv [D], then min_lv [D]
    std::vector<Buffer<T>> bound_grads;  // [N] x [2 D], same layout: the member's gradient
    std::vector<Adam<T>> bound_opts;     // [N]
    std::vector<Buffer<T>> slice_bound_grads;  // [N * kSlices] x [2 D]: a slice's share

    // Training: each member's minibatch is cut into kSlices slices of rows, and the E x kSlices
    // slices run in parallel, each with its own scratch; a member's gradient is the sum of its
    // slices' gradients, always in the same order. kSlices is a constant, not the thread count,
    // so the result does not depend on the number of threads; with 2 slices, 3 members still
    // keep 2 threads equally busy.
    static constexpr int kSlices = 2;
    std::vector<MLPWork<T>> work;     // [N * kSlices] activations of a slice
    std::vector<Tensor<T>> target;    // [N * kSlices] x [rows, ob_dim]: normalize(s' - s), Eq. 5
    std::vector<Tensor<T>> dout;      // [N * kSlices] x [rows, ob_dim]: dLoss/dOutput
    std::vector<Buffer<T>> grads;     // [N * kSlices] x [params]: the slice's share of the gradient
    std::vector<T> slice_loss;        // [N * kSlices] the slice's share of its member's loss
    std::vector<T> losses;            // [N] each member's loss at the last step
    std::vector<int> perm;          // [rows of data] a permutation, partly reshuffled every step
    Tensor<T> delta;                // [rows of data, ob_dim] s' - s, for the statistics

    Ensemble() = default;
    Ensemble(int ob_dim, int ac_dim, int n_models, int n_layers, int size, T learning_rate, uint64_t seed,
             Activation act = Activation::tanh, ModelType model_type = ModelType::deterministic)
        : obs_dim(ob_dim), act_dim(ac_dim), type(model_type) {
        if (n_models <= 0) fail("Ensemble: ensemble_size must be positive, got ", n_models);
        const int outputs = probabilistic() ? 2 * ob_dim : ob_dim;
        for (int m = 0; m < n_models; ++m) {
            nets.emplace_back(ob_dim + ac_dim, outputs, n_layers, size, act);
            Rng rng(seed, Stream::init, static_cast<uint64_t>(m));
            nets.back().init(rng);
            opts.emplace_back(nets.back().size(), learning_rate);
            if (probabilistic()) {
                bounds.emplace_back(2 * ob_dim, T(0.5));
                std::fill(bounds.back().begin() + ob_dim, bounds.back().end(), T(-10));
                bound_grads.emplace_back(2 * ob_dim, T(0));
                bound_opts.emplace_back(2 * ob_dim, learning_rate);
            }
        }
        if (probabilistic()) slice_bound_grads.assign(n_models * kSlices, Buffer<T>(2 * ob_dim, T(0)));
        work.resize(n_models * kSlices);
        target.resize(n_models * kSlices);
        dout.resize(n_models * kSlices);
        grads.resize(n_models * kSlices);
        for (int j = 0; j < n_models * kSlices; ++j) grads[j].assign(nets[j / kSlices].size(), T(0));
        slice_loss.assign(n_models * kSlices, T(0));
        losses.assign(n_models, T(0));
        stats.obs = Normalizer<T>(ob_dim);
        stats.act = Normalizer<T>(ac_dim);
        stats.delta = Normalizer<T>(ob_dim);
    }
    int size() const { return static_cast<int>(nets.size()); }
    bool probabilistic() const { return type == ModelType::probabilistic; }
    const T* max_logvar(int m) const { return bounds[m].data(); }
    const T* min_logvar(int m) const { return bounds[m].data() + obs_dim; }

    // Recompute the statistics over a whole data set (reference: after every add to the buffer).
    // NaN or inf anywhere in the data is an error here, before it can reach a network.
    void fit_stats(View<const T> obs, View<const T> act, View<const T> next_obs) {
        check_data(obs, act, next_obs);
        check_finite(obs, "Ensemble::fit_stats: obs");
        check_finite(act, "Ensemble::fit_stats: act");
        check_finite(next_obs, "Ensemble::fit_stats: next_obs");
        delta.resize(obs.rows, obs_dim);
        for (std::size_t i = 0; i < obs.size(); ++i) delta.data()[i] = next_obs.data[i] - obs.data[i];
        stats.obs.fit(obs);
        stats.act.fit(act);
        stats.delta.fit(delta.view());
    }

    // Eq. 6 with member m: next_obs [B, ob_dim] = obs + unnormalize(f_m([normalize(obs), normalize(act)])).
    // `w` must be reserved for at least B rows (MLPWork(nets[m], B)); nothing is allocated.
    // `packed`, if given, is pack_mlp of member m.
    void predict(int m, View<const T> obs, View<const T> act, View<T> next_obs, MLPWork<T>& w,
                 const PackedMLP<T>* packed = nullptr) const {
        const MLP<T>& net = nets[m];
        model_input(w.start_batch(net, obs.rows), obs, act, stats);
        View<const T> y = packed ? mlp_forward(*packed, w) : mlp_forward(net, w);  // [B, D] or [B, 2 D]: mean first
        for (int i = 0; i < obs.rows; ++i)
            for (int j = 0; j < obs_dim; ++j) next_obs(i, j) = obs(i, j) + stats.delta.unnormalize(y(i, j), j);
    }
    // A draw of member m's Gaussian (probabilistic members): next_obs [B, ob_dim] = obs +
    // unnormalize(mu + exp(lv / 2) eps), eps [B, ob_dim] standard normal given by the caller.
    // Deterministic members ignore eps (same as predict). Nothing is allocated.
    void predict_sample(int m, View<const T> obs, View<const T> act, View<T> next_obs, View<const T> eps,
                        MLPWork<T>& w, const PackedMLP<T>* packed = nullptr) const {
        if (!probabilistic()) return predict(m, obs, act, next_obs, w, packed);
        const MLP<T>& net = nets[m];
        model_input(w.start_batch(net, obs.rows), obs, act, stats);
        View<const T> y = packed ? mlp_forward(*packed, w) : mlp_forward(net, w);  // [B, 2 D]
        const T *hi = max_logvar(m), *lo = min_logvar(m);
        for (int i = 0; i < obs.rows; ++i)
            for (int j = 0; j < obs_dim; ++j) {
                const T lv = bounded_logvar(y(i, obs_dim + j), hi[j], lo[j]);
                const T z = y(i, j) + exp_of(T(0.5) * lv) * eps(i, j);
                next_obs(i, j) = obs(i, j) + stats.delta.unnormalize(z, j);
            }
    }

    // One training step of every member (Eq. 5 and Adam), each on its own minibatch of `batch` rows
    // drawn without replacement, disjoint across members (reference: B x N rows from one
    // permutation, member n takes the n-th slice). Returns the mean over members of their losses,
    // the reference's 'Training Loss'.
    T train_step(View<const T> obs, View<const T> act, View<const T> next_obs, int batch, Rng& rng) {
        check_data(obs, act, next_obs);
        const int B = draw_minibatches(obs.rows, batch, rng);  // member m's rows: perm[m B, (m + 1) B)
        ParallelErrors errors;
        MBRL_OMP(parallel for schedule(static))
        for (int job = 0; job < size() * kSlices; ++job) {  // loss and gradient of every slice
            errors.run(job, [&] {
                const Slice sl = slice(job, B);
                slice_gradient(job, sl.member, perm.data() + sl.member * B + sl.r0, sl.rows, B, obs, act, next_obs);
            });
        }
        errors.rethrow();
        T mean = 0;
        for (int m = 0; m < size(); ++m) {  // per member: the slices' sum, then one Adam step
            MLP<T>& net = nets[m];
            gather_gradient(m);
            opts[m].step(net.params.data(), net.grads.data());
            if (probabilistic()) bound_opts[m].step(bounds[m].data(), bound_grads[m].data());
            mean += losses[m];
        }
        mean /= static_cast<T>(size());
        if (!std::isfinite(mean))
            fail("Ensemble::train_step: the training loss is ", mean,
                 " (non-finite data, or training diverged: try a smaller learning rate)");
        return mean;
    }

    // Member m's loss and gradient from its slices: losses[m], net.grads and (probabilistic)
    // bound_grads[m] = the slices' sums in slice order, plus the bound penalty and its gradient.
    void gather_gradient(int m) {
        MLP<T>& net = nets[m];
        losses[m] = 0;
        std::fill(net.grads.begin(), net.grads.end(), T(0));
        for (int s = 0; s < kSlices; ++s) {
            losses[m] += slice_loss[m * kSlices + s];
            const Buffer<T>& g = grads[m * kSlices + s];
            for (std::size_t i = 0; i < g.size(); ++i) net.grads[i] += g[i];
        }
        if (!probabilistic()) return;
        Buffer<T>& bg = bound_grads[m];
        std::fill(bg.begin(), bg.end(), T(0));
        for (int s = 0; s < kSlices; ++s)
            for (int j = 0; j < 2 * obs_dim; ++j) bg[j] += slice_bound_grads[m * kSlices + s][j];
        double penalty = 0;  // 0.01 (sum max_lv - sum min_lv); d/dmax = 0.01, d/dmin = -0.01
        for (int j = 0; j < obs_dim; ++j) {
            penalty += static_cast<double>(max_logvar(m)[j]) - min_logvar(m)[j];
            bg[j] += static_cast<T>(kBoundPenalty);
            bg[obs_dim + j] -= static_cast<T>(kBoundPenalty);
        }
        losses[m] += static_cast<T>(kBoundPenalty * penalty);
    }

    // Member m's share of Eq. 5 on `rows` rows idx[0..rows) of its minibatch of B rows: x =
    // [normalize(s), normalize(a)], target normalize(s' - s), the MSE's part (sum over these rows
    // / (B ob_dim)) and its gradient into grads[job]. Probabilistic members: the Gaussian NLL's
    // part instead (the bound penalty is added once per member, by gather_gradient), and the
    // bounds' gradient into slice_bound_grads[job].
    void slice_gradient(int job, int m, const int* idx, int rows, int B, View<const T> obs, View<const T> act,
                        View<const T> next_obs) {
        const MLP<T>& net = nets[m];
        if (probabilistic()) std::fill(slice_bound_grads[job].begin(), slice_bound_grads[job].end(), T(0));
        if (rows == 0) {
            std::fill(grads[job].begin(), grads[job].end(), T(0));
            slice_loss[job] = 0;
            return;
        }
        if (work[job].max_batch < rows) work[job].reserve(net, rows);
        target[job].resize(rows, obs_dim);
        dout[job].resize(rows, net.out());
        model_input(work[job].start_batch(net, rows), obs, act, stats, idx);
        model_target(target[job].view(), obs, next_obs, stats, idx);
        View<const T> y = mlp_forward(net, work[job]);
        if (probabilistic()) {
            slice_loss[job] = gaussian_nll(m, y, target[job].view(), dout[job].view(), B, slice_bound_grads[job].data());
        } else {
            slice_loss[job] = mse_forward<T>(y, target[job].view()) * static_cast<T>(rows) / static_cast<T>(B);
            mse_backward<T>(dout[job].view(), y, target[job].view(), static_cast<std::size_t>(B) * obs_dim);
        }
        mlp_backward<T>(net, work[job], dout[job].view(), View<T>(), grads[job].data());
    }

    // The NLL part of the probabilistic loss on the rows of y [rows, 2 D] (mean, raw log-variance)
    // against label [rows, D] (the slice's Eq. 5 target), as a share of a minibatch of B rows: returns
    // 1/(B D) sum [(mu - y)^2 exp(-lv) + lv]; writes dL/dy into dy [rows, 2 D] and adds dL/dbounds
    // into dbounds [2 D]. dL/dmu = 2 (mu - y) exp(-lv) / (B D), dL/dlv = (1 - (mu - y)^2 exp(-lv)) / (B D).
    T gaussian_nll(int m, View<const T> y, View<const T> label, View<T> dy, int B, T* dbounds) const {
        const int D = obs_dim;
        const T *hi = max_logvar(m), *lo = min_logvar(m);
        const double scale = 1.0 / (static_cast<double>(B) * D);
        double loss = 0;
        for (int i = 0; i < y.rows; ++i)
            for (int j = 0; j < D; ++j) {
                const T r = y(i, D + j), lv = bounded_logvar(r, hi[j], lo[j]);
                const double err = static_cast<double>(y(i, j)) - label(i, j), inv_var = std::exp(-static_cast<double>(lv));
                loss += err * err * inv_var + lv;
                dy(i, j) = static_cast<T>(2 * err * inv_var * scale);
                const T dlv = static_cast<T>((1 - err * err * inv_var) * scale);
                dy(i, D + j) = bounded_logvar_backward(r, hi[j], lo[j], dlv, dbounds + j, dbounds + D + j);
            }
        return static_cast<T>(loss * scale);
    }

    // The scheduling: job j is slice j % kSlices of member j / kSlices, rows [r0, r0 + rows) of
    // the member's minibatch of B rows.
    struct Slice {
        int member, r0, rows;
    };
    static Slice slice(int job, int B) {
        const int s = job % kSlices, r0 = B * s / kSlices;
        return {job / kSlices, r0, B * (s + 1) / kSlices - r0};
    }

    // Draws the members' disjoint minibatches into perm[0, B E) and returns B, the rows per member:
    // `batch`, or floor(N / E) when the data is short (as the reference).
    int draw_minibatches(int N, int batch, Rng& rng) {
        const int E = size();
        if (batch <= 0) fail("Ensemble::train_step: batch must be positive, got ", batch);
        const int B = std::min(batch, N / E);
        if (B <= 0) fail("Ensemble::train_step: ", N, " rows of data cannot feed ", E, " members");
        if (static_cast<int>(perm.size()) != N) {
            perm.resize(N);
            for (int i = 0; i < N; ++i) perm[i] = i;
        }
        // Partial Fisher-Yates: perm[0, B E) becomes a uniform sample without replacement.
        for (int i = 0; i < B * E; ++i) std::swap(perm[i], perm[i + rng.below(static_cast<uint64_t>(N - i))]);
        return B;
    }

   private:
    void check_data(View<const T> obs, View<const T> act, View<const T> next_obs) const {
        if (obs.rows <= 0) fail("Ensemble: no data (0 rows)");
        check_shape(obs, obs.rows, obs_dim, "Ensemble: obs");
        check_shape(act, obs.rows, act_dim, "Ensemble: act");
        check_shape(next_obs, obs.rows, obs_dim, "Ensemble: next_obs");
    }
};

// =================================================================================================
// 10. Rollouts and the replay buffer (reference sections 3.1 and 3.2)
// =================================================================================================

// Whole paths stored transition by transition, with each path's return and length.
template <class T>
struct Rollouts {
    Tensor<T> obs, act, next_obs;   // [steps, ob_dim], [steps, ac_dim], [steps, ob_dim]
    std::vector<T> rew, terminal;   // [steps]; terminal is 1 on the last step of every path
    std::vector<double> returns;    // [paths] sum of the path's rewards
    std::vector<int> lengths;       // [paths]

    int steps() const { return static_cast<int>(rew.size()); }
    void clear(int ob_dim, int ac_dim) {
        obs.resize(0, ob_dim);
        act.resize(0, ac_dim);
        next_obs.resize(0, ob_dim);
        rew.clear();
        terminal.clear();
        returns.clear();
        lengths.clear();
    }
    // Appends one transition: o [1, ob_dim], a [1, ac_dim], reward r, o2 [1, ob_dim].
    void push(View<const T> o, View<const T> a, T r, View<const T> o2, bool last) {
        check_shape(o, 1, obs.cols, "Rollouts::push: obs");
        check_shape(a, 1, act.cols, "Rollouts::push: act");
        check_shape(o2, 1, next_obs.cols, "Rollouts::push: next_obs");
        const int n = steps();
        obs.resize(n + 1, obs.cols);
        act.resize(n + 1, act.cols);
        next_obs.resize(n + 1, next_obs.cols);
        std::copy(o.data, o.data + obs.cols, obs.row(n));
        std::copy(a.data, a.data + act.cols, act.row(n));
        std::copy(o2.data, o2.data + next_obs.cols, next_obs.row(n));
        rew.push_back(r);
        terminal.push_back(last ? T(1) : T(0));
    }
};

// Runs whole paths until at least min_steps steps are collected (reference sample_trajectories).
// A path ends at done or after max_len steps; its last step is marked terminal either way.
// The k-th reset of the env draws from Rng(seed, Stream::reset, k), counted by *episodes.
// policy(obs, act) writes the action for obs: View<const T> [1, ob_dim] -> View<T> [1, ac_dim].
// The env speaks std::vector<float> (the edge); out holds T.
template <class Env, class Policy, class T>
void sample_trajectories(Env& env, Policy&& policy, int min_steps, int max_len, uint64_t seed,
                         uint64_t* episodes, Rollouts<T>& out) {
    if (min_steps <= 0 || max_len <= 0) fail("sample_trajectories: need min_steps > 0 and max_len > 0");
    const int O = env.obs_dim(), A = env.act_dim();
    out.clear(O, A);
    std::vector<float> env_obs, env_next, env_act(A);  // the env's side
    std::vector<T> obs(O), next(O), act(A);             // [ob_dim], [ob_dim], [ac_dim]: the policy's side
    while (out.steps() < min_steps) {
        Rng rng(seed, Stream::reset, (*episodes)++);
        env.reset(rng, env_obs);
        std::copy(env_obs.begin(), env_obs.end(), obs.begin());
        double ret = 0;
        for (int t = 1;; ++t) {
            policy(View<const T>(obs), View<T>(act));
            std::copy(act.begin(), act.end(), env_act.begin());
            bool done = false;
            const float r = env.step(env_act, env_next, done);
            std::copy(env_next.begin(), env_next.end(), next.begin());
            const bool last = done || t == max_len;
            out.push(obs, act, static_cast<T>(r), next, last);
            ret += r;
            std::swap(obs, next);
            if (last) {
                out.returns.push_back(ret);
                out.lengths.push_back(t);
                break;
            }
        }
    }
}

// The reference's add_noise, on rows [r0, r0 + n) of x: per column j, with m_j the column's mean
// over those rows (0 replaced by 1e-6), add N(0, |0.01 m_j|) noise to every row.
template <class T>
void add_sl_noise(Tensor<T>& x, int r0, int n, Rng& rng) {
    for (int j = 0; j < x.cols; ++j) {
        double mean = 0;
        for (int i = r0; i < r0 + n; ++i) mean += x(i, j);
        mean /= n;
        if (mean == 0) mean = 1e-6;
        const double std = std::fabs(0.01 * mean);
        for (int i = r0; i < r0 + n; ++i) x(i, j) = static_cast<T>(x(i, j) + std * rng.normal());
    }
}

// Transitions in arrival order, the newest `capacity` kept (FIFO). The valid rows are
// [begin, end) of the storage tensors, so views of them go straight to the ensemble; forgotten
// rows are dropped lazily, by one copy once the dead rows number `capacity`, so that adding a few
// rows to a full buffer (MBPO adds one model rollout per SAC step) costs no more than the rows.
template <class T>
struct ReplayBuffer {
    int capacity = 1000000;
    Tensor<T> obs_, act_, next_obs_, rew_, terminal_;  // storage [end, ob_dim], [end, ac_dim], ..., [end, 1]
    int begin = 0;

    ReplayBuffer() = default;
    ReplayBuffer(int ob_dim, int ac_dim, int max_size) : capacity(max_size) {
        if (max_size <= 0) fail("ReplayBuffer: capacity must be positive, got ", max_size);
        obs_.resize(0, ob_dim);
        act_.resize(0, ac_dim);
        next_obs_.resize(0, ob_dim);
        rew_.resize(0, 1);
        terminal_.resize(0, 1);
    }
    int size() const { return obs_.rows - begin; }
    View<const T> obs() const { return obs_.view().middle_rows(begin, size()); }            // [size, ob_dim]
    View<const T> act() const { return act_.view().middle_rows(begin, size()); }            // [size, ac_dim]
    View<const T> next_obs() const { return next_obs_.view().middle_rows(begin, size()); }  // [size, ob_dim]
    View<const T> rew() const { return rew_.view().middle_rows(begin, size()); }            // [size, 1]
    View<const T> terminal() const { return terminal_.view().middle_rows(begin, size()); }  // [size, 1]

    // Appends every transition of r; with `noised`, add_sl_noise is applied to the new
    // observations and, separately, to the new next observations (never to actions or rewards).
    void add(const Rollouts<T>& r, bool noised, Rng& rng) {
        check_shape(r.obs.view(), r.steps(), obs_.cols, "ReplayBuffer::add: obs");
        check_shape(r.act.view(), r.steps(), act_.cols, "ReplayBuffer::add: act");
        const int n0 = obs_.rows, n = r.steps();
        if (n == 0) return;
        for (Tensor<T>* t : {&obs_, &act_, &next_obs_, &rew_, &terminal_}) t->resize(n0 + n, t->cols);
        std::copy(r.obs.data(), r.obs.data() + r.obs.size(), obs_.row(n0));
        std::copy(r.act.data(), r.act.data() + r.act.size(), act_.row(n0));
        std::copy(r.next_obs.data(), r.next_obs.data() + r.next_obs.size(), next_obs_.row(n0));
        std::copy(r.rew.begin(), r.rew.end(), rew_.row(n0));
        std::copy(r.terminal.begin(), r.terminal.end(), terminal_.row(n0));
        if (noised) {
            add_sl_noise(obs_, n0, n, rng);
            add_sl_noise(next_obs_, n0, n, rng);
        }
        if (size() > capacity) begin = obs_.rows - capacity;  // FIFO: forget the oldest rows ...
        if (begin >= capacity) {  // ... and reclaim their memory once they are as many as the live rows
            for (Tensor<T>* t : {&obs_, &act_, &next_obs_, &rew_, &terminal_}) {
                std::copy(t->row(begin), t->row(t->rows), t->row(0));
                t->resize(t->rows - begin, t->cols);
            }
            begin = 0;
        }
    }
    // Appends every transition of r unchanged.
    void add(const Rollouts<T>& r) {
        Rng unused(0);
        add(r, false, unused);
    }
    // A minibatch: the live rows rows[0..n) copied, in that order, into the first n rows of
    // obs [n, ob_dim], act [n, ac_dim], rew [n, 1], next [n, ob_dim] and done [n, 1] (the
    // tensors keep their memory: sized once for the largest n, nothing is allocated).
    void gather(const std::vector<int>& rows, int n, Tensor<T>& obs, Tensor<T>& act, Tensor<T>& rew, Tensor<T>& next,
                Tensor<T>& done) const {
        obs.resize(n, obs_.cols);
        act.resize(n, act_.cols);
        rew.resize(n, 1);
        next.resize(n, next_obs_.cols);
        done.resize(n, 1);
        for (int i = 0; i < n; ++i) {
            const int r = begin + rows[i];
            std::copy(obs_.row(r), obs_.row(r) + obs_.cols, obs.row(i));
            std::copy(act_.row(r), act_.row(r) + act_.cols, act.row(i));
            std::copy(next_obs_.row(r), next_obs_.row(r) + next_obs_.cols, next.row(i));
            rew(i, 0) = rew_(r, 0);
            done(i, 0) = terminal_(r, 0);
        }
    }
};

// =================================================================================================
// 11. Model-predictive control: random shooting and the cross-entropy method (assignment 2.2)
// =================================================================================================
// At every env step (MPC: replan, execute the first action), K candidate action sequences of
// length H are scored by rolling each through every ensemble member: the score of a sequence is
// the mean over members of its summed predicted rewards (Eq. 8 with the ensemble of Eq. 9).
// Rewards are taken on the predicted next states, R(s_1) + ... + R(s_H), as the real env rewards
// the post-step state. Random shooting executes the first action of the best sequence. CEM refits
// a diagonal Gaussian to the best J sequences for M rounds (the first round uniform) and executes
// the first action of the final mean.
//
// Cost of one call: M x E x K x H forward passes of one row. All candidates advance one step at a
// time as one batch; the work is split into jobs (member, block of candidates), each running its
// block through the whole horizon, two or more jobs per thread and no barrier until the end.
//
// Trajectory sampling (PETS, Chua et al. 2018, section 5): instead of one deterministic rollout
// per member, each candidate gets P particles (MPCConfig::particles, default one per member). A
// particle's next state is a draw of one member's Gaussian (probabilistic members; the mean for
// deterministic ones). TS1 draws that member afresh for each particle at each step; TS-inf fixes
// it per particle for the whole horizon (particle p uses member p mod E, PETS's even split). A
// candidate's score is the mean over its particles of their summed rewards. The draws are keyed
// by (call, round, step, candidate), so they do not depend on the thread count. Jobs are blocks
// of candidates with all their particles (at most 256 rows); at each step each job gathers its
// rows by member, predicts, and scatters them back, in preallocated scratch.
//
// Planning on the true simulator (upper bound of a perfect model): the same candidates, scored by
// a TrueModel that the caller supplies (this library knows no simulator; envs/true_model.hpp has
// one for every env of envs/). One score per candidate: the summed rewards of its actions
// simulated from the real env's current state.

// The environment's batched reward: obs [n, ob_dim], act [n, ac_dim] -> rew [n], done [n] (or null).
template <class T>
using RewardFn = void (*)(const T* obs, const T* act, int n, T* rew, T* done);

// How the planner carries a candidate through the learned model (see above).
enum class Propagation { expectation, ts1, tsinf };

// The particles' Gaussian noise: in float two normals per pair of uniforms (Rng::normals); in
// double one normal() each.
inline void sample_normals(Rng& rng, float* out, int n) { rng.normals(out, n); }
inline void sample_normals(Rng& rng, double* out, int n) {
    for (int i = 0; i < n; ++i) out[i] = rng.normal();
}

struct MPCConfig {
    int horizon = 10;           // H
    int num_sequences = 1000;   // K
    bool cem = false;           // false: random shooting
    int cem_iterations = 4;     // M
    int cem_num_elites = 5;     // J
    double cem_alpha = 1.0;     // smoothing: new = alpha * elite statistic + (1 - alpha) * old
    Propagation propagation = Propagation::expectation;  // expectation: one mean rollout per member
    int particles = 0;          // P per candidate with ts1 / tsinf; 0: one per member
    bool true_model = false;    // score on the true simulator (run_mb then needs a TrueModel)

    // Throws ConfigError naming the first setting out of range. The CEM settings are checked
    // with random shooting too (as the command line always did), so a run can switch to CEM.
    void validate() const {
        auto bad = [](const char* field, const std::string& problem) { throw ConfigError("MPCConfig", field, problem); };
        if (horizon <= 0) bad("mpc_horizon", "must be positive, got " + std::to_string(horizon));
        if (num_sequences <= 0) bad("mpc_num_action_sequences", "must be positive, got " + std::to_string(num_sequences));
        if (cem_iterations <= 0) bad("cem_iterations", "must be positive, got " + std::to_string(cem_iterations));
        if (cem_num_elites <= 0 || cem_num_elites > num_sequences)
            bad("cem_num_elites", "must be in [1, mpc_num_action_sequences = " + std::to_string(num_sequences) +
                                      "], got " + std::to_string(cem_num_elites));
        if (!(cem_alpha > 0 && cem_alpha <= 1)) {
            std::ostringstream v;
            v << cem_alpha;
            bad("cem_alpha", "must be in (0, 1], got " + v.str());
        }
        if (particles < 0) bad("mpc_particles", "must be >= 0, got " + std::to_string(particles));
    }
};

// The true simulator as the planner sees it, implemented by the caller (envs/true_model.hpp).
// begin() is called once per planning call, from one thread, before any rollout; rollout() may
// run concurrently for distinct slots and must leave the real environment untouched.
template <class T>
struct TrueModel {
    virtual ~TrueModel() = default;
    // Prepare `slots` independent copies of the simulation (once, before planning).
    virtual void reserve(int slots) = 0;
    // Snapshot the real environment's current state.
    virtual void begin() = 0;
    // The summed reward of actions [H, ac_dim] simulated from the snapshot with copy `slot`.
    virtual T rollout(int slot, View<const T> actions) = 0;
};

// The planner shares ownership of the ensemble it plans with (the caller keeps training it
// through its own shared_ptr), so no move or copy of anything can leave the planner dangling.
template <class T>
struct MPC {
    std::shared_ptr<const Ensemble<T>> model;
    RewardFn<T> reward;
    MPCConfig cfg;
    int ob_dim = 0, ac_dim = 0;
    std::vector<T> low, high;  // [ac_dim] action bounds
    uint64_t seed;
    uint64_t calls = 0;        // planning calls so far: the random numbers of call c depend on c
    TrueModel<T>* truth = nullptr;  // set by plan_on(): candidates are scored on the true simulator
    int particles = 0;              // P, with trajectory sampling

    // Preallocated: nothing is allocated by act().
    Tensor<T> cand;             // [K, H * ac_dim] candidate sequences, row i = a_0 .. a_{H-1}
    Tensor<T> score;            // [E, K] summed predicted reward of each candidate under each member
    std::vector<T> mean_score;  // [K] mean over members
    std::vector<int> order;     // [K] candidate indices, best first (CEM elites)
    std::vector<T> mu, sigma;   // [H * ac_dim] CEM sampling distribution
    int block = 0, blocks = 0;  // candidates per job, jobs per member (trajectory sampling and true model: jobs)
    // Rows of a job: its candidates (expectation), or its candidates' particles, row i P + p
    // for particle p of candidate i (trajectory sampling); R = block or block P.
    struct JobWork {
        MLPWork<T> work;
        Tensor<T> s, s_next, a, r;  // [R, ob_dim], [R, ob_dim], [R, ac_dim], [R, 1]
        // Trajectory sampling only:
        std::vector<T> total;       // [R] each particle's summed reward
        std::vector<int> member;    // [R] the member each particle steps with, this step
        std::vector<int> rows_of;   // [R] gathered row k came from row rows_of[k]
        Tensor<T> eps, g_s, g_a, g_eps, g_next;  // [R, ob_dim] noise; the rows of one member, gathered
    };
    std::vector<JobWork> jobs;      // [E * blocks] (trajectory sampling and true model: [blocks])
    std::vector<PackedMLP<T>> packed;  // [E] each member's weights, packed once per evaluate()

    MPC(std::shared_ptr<const Ensemble<T>> ensemble, RewardFn<T> reward_fn, std::vector<T> act_low,
        std::vector<T> act_high, const MPCConfig& config, uint64_t seed_)
        : model(std::move(ensemble)), reward(reward_fn), cfg(config), low(std::move(act_low)), high(std::move(act_high)),
          seed(seed_) {
        if (!model) fail("MPC: no ensemble (null pointer)");
        if (!reward) fail("MPC: no reward function (null pointer)");
        cfg.validate();
        ob_dim = model->obs_dim;
        ac_dim = model->act_dim;
        if (static_cast<int>(low.size()) != ac_dim || static_cast<int>(high.size()) != ac_dim)
            fail("MPC: action bounds must have ", ac_dim, " entries");
        const Ensemble<T>& ens = *model;
        if (cfg.propagation == Propagation::expectation && cfg.particles != 0 && cfg.particles != ens.size())
            fail("MPC: expectation propagates one particle per member (", ens.size(),
                 "); mpc_particles = ", cfg.particles, " needs ts1 or tsinf");
        const int K = cfg.num_sequences, E = ens.size();
        cand.resize(K, cfg.horizon * ac_dim);
        mean_score.assign(K, T(0));
        order.resize(K);
        mu.assign(cfg.horizon * ac_dim, T(0));
        sigma.assign(cfg.horizon * ac_dim, T(0));
        if (cfg.propagation == Propagation::expectation) {
            score.resize(E, K);
            blocks = (K + 255) / 256;  // blocks of at most 256 candidates, as equal as possible
            block = (K + blocks - 1) / blocks;
            jobs.resize(static_cast<std::size_t>(E) * blocks);
            for (JobWork& j : jobs) {
                j.work.reserve(ens.nets[0], block);
                j.s.resize(block, ob_dim);
                j.s_next.resize(block, ob_dim);
                j.a.resize(block, ac_dim);
                j.r.resize(block, 1);
            }
        } else {
            particles = cfg.particles > 0 ? cfg.particles : E;
            score.resize(1, K);
            // Candidates per job: each member's share of a job's rows (P / E per candidate) about 256,
            // the batch the matmul is fast at (the rows of a job are split among the members).
            const int per_job = std::max(1, 256 * E / particles);
            blocks = (K + per_job - 1) / per_job;
            block = (K + blocks - 1) / blocks;
            const int R = block * particles;
            jobs.resize(blocks);
            for (JobWork& j : jobs) {
                j.work.reserve(ens.nets[0], R);
                for (Tensor<T>* t : {&j.s, &j.s_next, &j.eps, &j.g_s, &j.g_eps, &j.g_next}) t->resize(R, ob_dim);
                j.a.resize(R, ac_dim);
                j.g_a.resize(R, ac_dim);
                j.r.resize(R, 1);
                j.total.assign(R, T(0));
                j.member.assign(R, 0);
                j.rows_of.assign(R, 0);
            }
        }
    }

    // Score candidates on the true simulator from now on (the ensemble is no longer used): one
    // job, and one copy of the simulation, per block of at most 64 candidates.
    void plan_on(TrueModel<T>& true_model) {
        if (cfg.propagation != Propagation::expectation || cfg.particles != 0)
            fail("MPC: planning on the true model takes no trajectory sampling (mpc_propagation expectation, "
                 "mpc_particles 0)");
        truth = &true_model;
        const int K = cfg.num_sequences;
        score.resize(1, K);
        blocks = (K + 63) / 64;
        block = (K + blocks - 1) / blocks;
        jobs.resize(blocks);
        truth->reserve(blocks);
    }

    // Scores every candidate in `cand` from the real observation obs [1, ob_dim] into mean_score.
    // (call, round) key the particles' random numbers (trajectory sampling).
    void evaluate(View<const T> obs, uint64_t call = 0, int round = 0) {
        check_shape(obs, 1, ob_dim, "MPC::evaluate: observation");
        if (truth) return evaluate_true();
        if (cfg.propagation != Propagation::expectation) return evaluate_sampled(obs, call, round);
        const int E = model->size(), K = cfg.num_sequences, H = cfg.horizon;
        packed.resize(E);
        for (int m = 0; m < E; ++m) pack_mlp(model->nets[m], packed[m]);
        ParallelErrors errors;  // the reward function is the caller's code: it may throw
        MBRL_OMP(parallel for schedule(static))
        for (int j = 0; j < static_cast<int>(jobs.size()); ++j) {  // job j: member j / blocks, block j % blocks
            errors.run(j, [&] {
                JobWork& job = jobs[j];
                const int m = j / blocks, i0 = (j % blocks) * block, n = std::min(block, K - i0);
                if (n <= 0) return;
                View<T> s = job.s.view().middle_rows(0, n), s2 = job.s_next.view().middle_rows(0, n);
                View<T> a = job.a.view().middle_rows(0, n);
                T* total = score.row(m) + i0;  // [n] the block's summed rewards under member m
                for (int i = 0; i < n; ++i) {
                    std::copy(obs.data, obs.data + ob_dim, s.row(i));
                    total[i] = T(0);
                }
                for (int t = 0; t < H; ++t) {
                    for (int i = 0; i < n; ++i)
                        std::copy(cand.row(i0 + i) + t * ac_dim, cand.row(i0 + i) + (t + 1) * ac_dim, a.row(i));
                    model->predict(m, s, a, s2, job.work, &packed[m]);    // s_{t+1} = s_t + f_m(s_t, a_t)
                    reward(s2.data, a.data, n, job.r.data(), nullptr);      // R(s_{t+1})
                    for (int i = 0; i < n; ++i) total[i] += job.r.data()[i];
                    std::swap(s.data, s2.data);
                }
            });
        }
        errors.rethrow();
        for (int i = 0; i < K; ++i) {
            T sum = 0;
            for (int m = 0; m < E; ++m) sum += score(m, i);
            mean_score[i] = sum / static_cast<T>(E);
        }
    }

    // Trajectory sampling (TS1 / TS-inf): P particles per candidate, each stepping with one
    // member's draw; score = mean over particles of their summed rewards.
    void evaluate_sampled(View<const T> obs, uint64_t call, int round) {
        const int E = model->size(), K = cfg.num_sequences, H = cfg.horizon, P = particles;
        const bool ts1 = cfg.propagation == Propagation::ts1, noisy = model->probabilistic();
        packed.resize(E);
        for (int m = 0; m < E; ++m) pack_mlp(model->nets[m], packed[m]);
        MBRL_OMP(parallel for schedule(static))
        for (int j = 0; j < static_cast<int>(jobs.size()); ++j) {  // job j: candidates [j block, j block + n)
            JobWork& job = jobs[j];
            const int i0 = j * block, n = std::min(block, K - i0), R = n * P;
            if (n <= 0) continue;
            View<T> s = job.s.view().middle_rows(0, R), s2 = job.s_next.view().middle_rows(0, R);
            View<T> a = job.a.view().middle_rows(0, R);
            for (int r = 0; r < R; ++r) {
                std::copy(obs.data, obs.data + ob_dim, s.row(r));
                job.total[r] = T(0);
            }
            for (int t = 0; t < H; ++t) {
                for (int i = 0; i < n; ++i) {  // this step's members and noise of candidate i's particles
                    Rng rng(seed, Stream::particle, call, (static_cast<uint64_t>(round) * H + t) * K + i0 + i);
                    for (int p = 0; p < P; ++p) {
                        const int r = i * P + p;
                        job.member[r] = ts1 ? static_cast<int>(rng.below(static_cast<uint64_t>(E))) : p % E;
                        std::copy(cand.row(i0 + i) + t * ac_dim, cand.row(i0 + i) + (t + 1) * ac_dim, a.row(r));
                    }
                    if (noisy) sample_normals(rng, job.eps.row(i * P), P * ob_dim);  // rows i P .. i P + P - 1
                }
                for (int m = 0; m < E; ++m) {  // member m's rows: gather, predict, scatter
                    int c = 0;
                    for (int r = 0; r < R; ++r) {
                        if (job.member[r] != m) continue;
                        std::copy(s.row(r), s.row(r) + ob_dim, job.g_s.row(c));
                        std::copy(a.row(r), a.row(r) + ac_dim, job.g_a.row(c));
                        if (noisy) std::copy(job.eps.row(r), job.eps.row(r) + ob_dim, job.g_eps.row(c));
                        job.rows_of[c++] = r;
                    }
                    if (c == 0) continue;
                    View<T> next = job.g_next.view().middle_rows(0, c);
                    model->predict_sample(m, job.g_s.view().middle_rows(0, c), job.g_a.view().middle_rows(0, c), next,
                                          job.g_eps.view().middle_rows(0, c), job.work, &packed[m]);
                    for (int k = 0; k < c; ++k) std::copy(next.row(k), next.row(k) + ob_dim, s2.row(job.rows_of[k]));
                }
                reward(s2.data, a.data, R, job.r.data(), nullptr);  // R(s_{t+1})
                for (int r = 0; r < R; ++r) job.total[r] += job.r.data()[r];
                std::swap(s.data, s2.data);
            }
            for (int i = 0; i < n; ++i) {
                T sum = 0;
                for (int p = 0; p < P; ++p) sum += job.total[i * P + p];
                score(0, i0 + i) = sum / static_cast<T>(P);
            }
        }
        for (int i = 0; i < K; ++i) mean_score[i] = score(0, i);
    }

    // The true simulator: candidate i's score is its summed reward simulated from the real state.
    void evaluate_true() {
        const int K = cfg.num_sequences, H = cfg.horizon;
        ParallelErrors errors;  // the simulator is the caller's code: it may throw
        MBRL_OMP(parallel for schedule(static))
        for (int j = 0; j < blocks; ++j) {  // job j: candidates [j block, j block + n) with copy j
            errors.run(j, [&] {
                const int i0 = j * block, n = std::min(block, K - i0);
                for (int i = 0; i < n; ++i) score(0, i0 + i) = truth->rollout(j, View<const T>(cand.row(i0 + i), H, ac_dim));
            });
        }
        errors.rethrow();
        for (int i = 0; i < K; ++i) mean_score[i] = score(0, i);
    }

    // The action for observation obs [1, ob_dim], written to action [1, ac_dim]: sample
    // candidates, evaluate them, and (CEM) refit the sampling distribution, for M rounds (random
    // shooting: one); then choose.
    void act(View<const T> obs, View<T> action) {
        check_shape(obs, 1, ob_dim, "MPC::act: observation");
        check_shape(action, 1, ac_dim, "MPC::act: action");
        check_finite(obs, "MPC::act: observation");
        const uint64_t call = calls++;
        const int rounds = cfg.cem ? cfg.cem_iterations : 1;
        if (truth) truth->begin();
        for (int round = 0; round < rounds; ++round) {
            sample(call, round);
            evaluate(obs, call, round);
            for (int i = 0; i < cfg.num_sequences; ++i)  // NaN would make the elites' sort undefined
                if (!std::isfinite(mean_score[i]))
                    fail("MPC::act: planning call ", call, ", round ", round, ": candidate ", i, " scored ",
                         mean_score[i], " (a non-finite model prediction or reward)");
            if (cfg.cem) refit(round);
        }
        choose(action);
    }

    // cand: round 0 uniform in the bounds, later rounds from N(mu, sigma), clipped to the bounds.
    void sample(uint64_t call, int round) {
        const int K = cfg.num_sequences, D = cfg.horizon * ac_dim;
        ParallelErrors errors;
        MBRL_OMP(parallel for schedule(static))
        for (int i = 0; i < K; ++i) {
            errors.run(i, [&] {
                Rng rng(seed, Stream::plan, call, static_cast<uint64_t>(round) * K + i);
                T* c = cand.row(i);
                for (int d = 0; d < D; ++d) {
                    const int j = d % ac_dim;
                    const double x = round == 0 ? rng.uniform(low[j], high[j]) : mu[d] + sigma[d] * rng.normal();
                    c[d] = static_cast<T>(std::min<double>(high[j], std::max<double>(low[j], x)));
                }
            });
        }
        errors.rethrow();
    }

    // CEM: the J best candidates (the elites; ties broken by index, so the choice is reproducible)
    // give mu <- alpha mean + (1 - alpha) mu and sigma <- alpha std + (1 - alpha) sigma, per
    // entry of the sequence (alpha = 1 in round 0).
    void refit(int round) {
        const int K = cfg.num_sequences, D = cfg.horizon * ac_dim, J = cfg.cem_num_elites;
        for (int i = 0; i < K; ++i) order[i] = i;
        std::partial_sort(order.begin(), order.begin() + J, order.end(), [&](int x, int y) {
            return mean_score[x] > mean_score[y] || (mean_score[x] == mean_score[y] && x < y);
        });
        const double alpha = round == 0 ? 1.0 : cfg.cem_alpha;
        for (int d = 0; d < D; ++d) {
            double m = 0, v = 0;
            for (int e = 0; e < J; ++e) m += cand(order[e], d);
            m /= J;
            for (int e = 0; e < J; ++e) v += (cand(order[e], d) - m) * (cand(order[e], d) - m);
            v = std::sqrt(v / J);  // population std
            mu[d] = static_cast<T>(alpha * m + (1 - alpha) * mu[d]);
            sigma[d] = static_cast<T>(alpha * v + (1 - alpha) * sigma[d]);
        }
    }

    // Random shooting: the first action of the best candidate; CEM: the first action of the mean.
    void choose(View<T> action) const {
        if (cfg.cem) {
            std::copy(mu.begin(), mu.begin() + ac_dim, action.data);
        } else {
            const int best = static_cast<int>(std::max_element(mean_score.begin(), mean_score.end()) - mean_score.begin());
            std::copy(cand.row(best), cand.row(best) + ac_dim, action.data);
        }
    }
};

// =================================================================================================
// 12. Soft actor-critic (Haarnoja et al. 2018; reference section 3.7)
// =================================================================================================
// Two critics Q1, Q2: MLP([s, a]) -> 1 with ReLU, their targets updated by Polyak averaging; an
// actor whose mean is an MLP(s) with tanh and whose log-std is one learned vector (state
// independent, clamped to [-20, 2]; or tanh of it, SACConfig::logstd_tanh); actions a = tanh(u),
// u = mu(s) + std * eps, eps ~ N(0, 1); a learned temperature alpha = exp(log_alpha) with target
// entropy -ac_dim. One training step:
//   critic  y = r + gamma (1 - d) (min_i Q_targ_i(s', a') - alpha log pi(a'|s')),  a' ~ pi(s')
//           loss = MSE(Q1(s, a), y) + MSE(Q2(s, a), y)
//   target  theta_targ <- tau theta + (1 - tau) theta_targ
//   actor   loss = mean(alpha log pi(a|s) - min_i Q_i(s, a)),  a = tanh(mu + std eps) (reparameterized)
//   alpha   loss = mean(alpha (-log pi(a|s) - target_entropy)), log pi held fixed
// with log pi(a|s) = sum_j [log N(u_j; mu_j, std_j) - 2 (log 2 - u_j - softplus(-2 u_j))].

struct SACConfig {
    int n_layers = 2, size = 64;
    double learning_rate = 3e-4, discount = 0.99, init_temperature = 1.0, tau = 0.005;
    int batch = 256;                         // sac_train_batch_size
    int critic_updates = 1, actor_updates = 1;
    int actor_update_frequency = 1, critic_target_update_frequency = 1;
    // How the learned parameter p gives log std: clamp(p, -20, 2) (default, the reference's reading)
    // or, with logstd_tanh, tanh(p), so std stays in [e^-1, e] (some public solutions; issue 11).
    bool logstd_tanh = false;

    // Throws ConfigError naming the first setting out of range (fields named as the reference's flags).
    void validate() const {
        auto bad = [](const char* field, const std::string& problem) { throw ConfigError("SACConfig", field, problem); };
        auto num = [](double v) {
            std::ostringstream s;
            s << v;
            return s.str();
        };
        auto positive = [&](const char* field, int v) {
            if (v <= 0) bad(field, "must be positive, got " + std::to_string(v));
        };
        if (n_layers < 0) bad("sac_n_layers", "must be >= 0, got " + std::to_string(n_layers));
        positive("sac_size", size);
        if (!(learning_rate > 0)) bad("sac_learning_rate", "must be positive, got " + num(learning_rate));
        if (!(discount >= 0 && discount <= 1)) bad("sac_discount", "must be in [0, 1], got " + num(discount));
        if (!(init_temperature > 0)) bad("sac_init_temperature", "must be positive, got " + num(init_temperature));
        if (!(tau >= 0 && tau <= 1)) bad("critic_tau", "must be in [0, 1], got " + num(tau));
        positive("sac_train_batch_size", batch);
        positive("sac_num_critic_updates_per_agent_update", critic_updates);
        positive("sac_num_actor_updates_per_agent_update", actor_updates);
        positive("sac_actor_update_frequency", actor_update_frequency);
        positive("sac_critic_target_update_frequency", critic_target_update_frequency);
    }
};

// k distinct integers of [0, n), uniformly (Floyd's algorithm), into out.
inline void sample_distinct(int n, int k, Rng& rng, std::vector<int>& out) {
    if (k > n) fail("sample_distinct: cannot draw ", k, " distinct rows from ", n);
    out.clear();
    for (int j = n - k; j < n; ++j) {
        const int t = static_cast<int>(rng.below(static_cast<uint64_t>(j) + 1));
        out.push_back(std::find(out.begin(), out.end(), t) == out.end() ? t : j);
    }
}

template <class T>
struct SAC {
    static constexpr double kLogStdMin = -20, kLogStdMax = 2;
    int ob_dim = 0, ac_dim = 0;
    SACConfig cfg;
    T act_low = -1, act_high = 1;    // the reference clamps actions to [min(low), max(high)]
    uint64_t seed = 0;
    MLP<T> q1, q2, q1_targ, q2_targ;  // critics [ob + ac -> 1], ReLU; targets start as copies
    MLP<T> actor;                     // mean of u [ob -> ac], tanh
    std::vector<T> logstd;            // [ac] log std of u, state independent
    T log_alpha = 0;
    Adam<T> q1_opt, q2_opt, actor_opt, logstd_opt, alpha_opt;
    long training_step = 0;
    uint64_t act_calls = 0;
    T last_critic_loss = 0, last_actor_loss = 0, last_alpha_loss = 0;

    // Scratch for one minibatch of B = cfg.batch rows, allocated once. Index c is critic Q_{c+1}.
    MLPWork<T> q_work[2], q_targ_work[2];  // activations of the critics and of their targets
    MLPWork<T> actor_work, actor_work_one;  // of the actor on B rows; on one row (act())
    Tensor<T> a_pi, eps, logp;              // [B, ac], [B, ac], [B, 1] a sample of pi and its log-prob
    Tensor<T> y;                            // [B, 1] the critics' regression target
    Tensor<T> critic_dq[2];                 // [B, 1] dLoss_critic/dQ_c
    Tensor<T> actor_dq[2];                  // [B, 1] dLoss_actor/dQ_c (nonzero where Q_c is the smaller)
    Tensor<T> actor_dsa[2];                 // [B, ob + ac] dLoss_actor/d[s, a] through Q_c
    Tensor<T> actor_du;                     // [B, ac] dLoss_actor/du, u the pre-tanh action
    Buffer<T> unused_q_grads[2];            // the critics' parameter gradients of the actor step (dropped)
    std::vector<T> dlogstd;                 // [ac] dLoss_actor/dlogstd

    SAC() = default;
    SAC(int ob, int ac, T low, T high, const SACConfig& c, uint64_t seed_)
        : ob_dim(ob), ac_dim(ac), cfg(validated(c)), act_low(low), act_high(high), seed(seed_),
          q1(ob + ac, 1, c.n_layers, c.size, Activation::relu), q2(ob + ac, 1, c.n_layers, c.size, Activation::relu),
          actor(ob, ac, c.n_layers, c.size, Activation::tanh), logstd(ac, T(0)) {
        Rng r1(seed, Stream::init, 101), r2(seed, Stream::init, 102), r3(seed, Stream::init, 103);
        q1.init(r1);
        q2.init(r2);
        actor.init(r3);
        q1_targ = q1;
        q2_targ = q2;
        log_alpha = static_cast<T>(std::log(c.init_temperature));
        const T lr = static_cast<T>(c.learning_rate);
        q1_opt = Adam<T>(q1.size(), lr);
        q2_opt = Adam<T>(q2.size(), lr);
        actor_opt = Adam<T>(actor.size(), lr);
        logstd_opt = Adam<T>(ac, lr);
        alpha_opt = Adam<T>(1, lr);
        const int B = c.batch;
        for (int k = 0; k < 2; ++k) {
            q_work[k].reserve(q1, B);
            q_targ_work[k].reserve(q1, B);
            critic_dq[k].resize(B, 1);
            actor_dq[k].resize(B, 1);
            actor_dsa[k].resize(B, ob + ac);
            unused_q_grads[k].assign(critic(k).size(), T(0));
        }
        actor_work.reserve(actor, B);
        actor_work_one.reserve(actor, 1);
        a_pi.resize(B, ac);
        eps.resize(B, ac);
        logp.resize(B, 1);
        y.resize(B, 1);
        actor_du.resize(B, ac);
        dlogstd.assign(ac, T(0));
    }
    // The config, once its validate() has passed (the constructor checks before building anything).
    static const SACConfig& validated(const SACConfig& c) {
        c.validate();
        return c;
    }
    MLP<T>& critic(int c) { return c == 0 ? q1 : q2; }
    MLP<T>& critic_target(int c) { return c == 0 ? q1_targ : q2_targ; }
    T alpha() const { return static_cast<T>(std::exp(static_cast<double>(log_alpha))); }
    T std_of(int j) const {
        const double p = static_cast<double>(logstd[j]);
        return static_cast<T>(std::exp(cfg.logstd_tanh ? std::tanh(p) : std::min(kLogStdMax, std::max(kLogStdMin, p))));
    }

    // a = tanh(mu(s) + std eps) for the rows of obs [B, ob] with the noise eps [B, ac] given;
    // writes a [B, ac] and log pi(a|s) [B, 1]. The actor's activations stay in `w`.
    void policy_forward(View<const T> obs, View<const T> noise, MLPWork<T>& w, View<T> a, View<T> lp) const {
        View<T> x = w.start_batch(actor, obs.rows);
        std::copy(obs.data, obs.data + obs.size(), x.data);
        View<const T> mu = mlp_forward(actor, w);
        for (int i = 0; i < obs.rows; ++i) {
            double l = 0;
            for (int j = 0; j < ac_dim; ++j) {
                const double e = noise(i, j), u = mu(i, j) + std_of(j) * e;
                a(i, j) = static_cast<T>(std::tanh(u));
                l += -0.5 * e * e - std::log(static_cast<double>(std_of(j))) - 0.9189385332046727;  // log N(u)
                l -= 2.0 * (0.6931471805599453 - u - softplus(-2.0 * u));                       // log |da/du|
            }
            lp(i, 0) = static_cast<T>(l);
        }
    }

    // An action for one observation obs [1, ob] into action [1, ac]: a sample of pi (the
    // reference samples both when collecting and when evaluating), clamped to the action range.
    void act(View<const T> obs, View<T> action) {
        check_shape(obs, 1, ob_dim, "SAC::act: observation");
        check_shape(action, 1, ac_dim, "SAC::act: action");
        check_finite(obs, "SAC::act: observation");
        Rng rng(seed, Stream::sac_act, act_calls++);
        Tensor<T>& e = eps;  // row 0 of the training scratch serves
        for (int j = 0; j < ac_dim; ++j) e(0, j) = static_cast<T>(rng.normal());
        policy_forward(obs, e.view().middle_rows(0, 1), actor_work_one,
                       a_pi.view().middle_rows(0, 1), logp.view().middle_rows(0, 1));
        for (int j = 0; j < ac_dim; ++j) action[j] = std::min(act_high, std::max(act_low, a_pi(0, j)));
    }

    // Q(s, a) of critic q for the rows of obs [B, ob] and act [B, ac]; returns the output [B, 1].
    View<T> q_forward(const MLP<T>& q, MLPWork<T>& w, View<const T> obs, View<const T> act) const {
        View<T> x = w.start_batch(q, obs.rows);
        for (int i = 0; i < obs.rows; ++i) {
            std::copy(obs.row(i), obs.row(i) + ob_dim, x.row(i));
            std::copy(act.row(i), act.row(i) + ac_dim, x.row(i) + ob_dim);
        }
        return mlp_forward(q, w);
    }

    // eps [B, ac] = standard normal draws of rng.
    View<const T> draw_noise(Rng& rng, int B) {
        for (int i = 0; i < B; ++i)
            for (int j = 0; j < ac_dim; ++j) eps(i, j) = static_cast<T>(rng.normal());
        return eps.view().middle_rows(0, B);
    }

    // The critic step's gradients (into q1.grads, q2.grads) for a minibatch, with a' ~ pi(s')
    // drawn from `noise` [B, ac]; returns the loss.
    T critic_gradients(View<const T> obs, View<const T> act, View<const T> rew, View<const T> next_obs,
                       View<const T> done, View<const T> noise) {
        const int B = obs.rows;
        View<T> a_next = a_pi.view().middle_rows(0, B);
        policy_forward(next_obs, noise, actor_work, a_next, logp.view().middle_rows(0, B));  // a' ~ pi(s')
        // The two critics are independent: one per thread where there are two (same results on one).
        View<const T> q_targ[2];  // [B, 1] Q_targ_c(s', a')
        ParallelErrors errors;
        MBRL_OMP(parallel for schedule(static))
        for (int c = 0; c < 2; ++c)
            errors.run(c, [&] { q_targ[c] = q_forward(critic_target(c), q_targ_work[c], next_obs, a_next); });
        errors.rethrow();
        const T temperature = alpha(), gamma = static_cast<T>(cfg.discount);
        for (int i = 0; i < B; ++i)  // y = r + gamma (1 - d) (min_c Q_targ_c(s', a') - alpha log pi(a'|s'))
            y(i, 0) = rew(i, 0) + gamma * (T(1) - done(i, 0)) *
                                      (std::min(q_targ[0](i, 0), q_targ[1](i, 0)) - temperature * logp(i, 0));
        View<const T> target = y.view().middle_rows(0, B);
        T loss[2];  // MSE(Q_c(s, a), y) and its gradient into critic c
        MBRL_OMP(parallel for schedule(static))
        for (int c = 0; c < 2; ++c) {
            errors.run(c, [&] {
                View<T> dq = critic_dq[c].view().middle_rows(0, B);
                View<const T> q = q_forward(critic(c), q_work[c], obs, act);
                loss[c] = mse_forward<T>(q, target);
                mse_backward<T>(dq, q, target);
                mlp_backward<T>(critic(c), q_work[c], dq);
            });
        }
        errors.rethrow();
        return loss[0] + loss[1];
    }

    // The actor step's gradients (into actor.grads and dlogstd) for the states obs [B, ob], the
    // sample drawn from `noise` [B, ac]; log pi of the sample stays in `logp` for the temperature
    // step. Returns the loss mean(alpha log pi(a|s) - min_c Q_c(s, a)).
    T actor_gradients(View<const T> obs, View<const T> noise) {
        const int B = obs.rows, D = ob_dim;
        View<T> a = a_pi.view().middle_rows(0, B);
        policy_forward(obs, noise, actor_work, a, logp.view().middle_rows(0, B));
        View<const T> q[2];  // [B, 1] Q_c(s, a)
        ParallelErrors errors;
        MBRL_OMP(parallel for schedule(static))
        for (int c = 0; c < 2; ++c) errors.run(c, [&] { q[c] = q_forward(critic(c), q_work[c], obs, a); });
        errors.rethrow();
        const T temperature = alpha(), inv_b = T(1) / static_cast<T>(B);
        double loss = 0;
        for (int i = 0; i < B; ++i) {  // dLoss/dQ flows only into the smaller critic
            const bool first = q[0](i, 0) <= q[1](i, 0);
            loss += temperature * logp(i, 0) - (first ? q[0](i, 0) : q[1](i, 0));
            actor_dq[0](i, 0) = first ? -inv_b : T(0);
            actor_dq[1](i, 0) = first ? T(0) : -inv_b;
        }
        // dLoss/d[s, a] through each critic (their parameter gradients are not wanted here).
        MBRL_OMP(parallel for schedule(static))
        for (int c = 0; c < 2; ++c)
            errors.run(c, [&] {
                mlp_backward<T>(critic(c), q_work[c], actor_dq[c].view().middle_rows(0, B),
                                actor_dsa[c].view().middle_rows(0, B), unused_q_grads[c].data());
            });
        errors.rethrow();
        std::fill(dlogstd.begin(), dlogstd.end(), T(0));
        for (int i = 0; i < B; ++i)
            for (int j = 0; j < ac_dim; ++j) {
                const T aj = a(i, j), da = actor_dsa[0](i, D + j) + actor_dsa[1](i, D + j);  // dLoss/da
                // u = mu + std eps: dLoss/du = dLoss/da (1 - a^2) + alpha/B d(log pi)/du, where
                // d(log pi)/du = 2 tanh(u) = 2a through the squashing term (log N(u) does not
                // depend on mu once eps is fixed). dLoss/dmu = dLoss/du.
                actor_du(i, j) = da * (T(1) - aj * aj) + temperature * inv_b * T(2) * aj;
                // d/dlogstd = dLoss/du * std eps, plus alpha/B d(log N)/dlogstd = -alpha/B.
                dlogstd[j] += actor_du(i, j) * std_of(j) * noise(i, j) - temperature * inv_b;
            }
        for (int j = 0; j < ac_dim; ++j)  // through tanh, or the clamp: no gradient outside [-20, 2]
            if (cfg.logstd_tanh)
                dlogstd[j] *= T(1) - std::tanh(logstd[j]) * std::tanh(logstd[j]);
            else if (logstd[j] < kLogStdMin || logstd[j] > kLogStdMax)
                dlogstd[j] = T(0);
        mlp_backward<T>(actor, actor_work, actor_du.view().middle_rows(0, B));
        return static_cast<T>(loss / B);
    }

    // The three updates of a SAC step, each with its noise given ([B, ac], standard normal).
    void critic_update(View<const T> obs, View<const T> act, View<const T> rew, View<const T> next_obs,
                       View<const T> done, View<const T> noise) {
        last_critic_loss = critic_gradients(obs, act, rew, next_obs, done, noise);
        q1_opt.step(q1.params.data(), q1.grads.data());
        q2_opt.step(q2.params.data(), q2.grads.data());
    }
    void soft_update_targets() {  // theta_targ <- tau theta + (1 - tau) theta_targ
        const T tau = static_cast<T>(cfg.tau);
        for (auto [net, targ] : {std::pair<MLP<T>*, MLP<T>*>{&q1, &q1_targ}, {&q2, &q2_targ}})
            for (std::size_t i = 0; i < net->size(); ++i)
                targ->params[i] = tau * net->params[i] + (T(1) - tau) * targ->params[i];
    }
    void actor_update(View<const T> obs, View<const T> noise) {
        last_actor_loss = actor_gradients(obs, noise);
        actor_opt.step(actor.params.data(), actor.grads.data());
        logstd_opt.step(logstd.data(), dlogstd.data());
        temperature_update(logp.view().middle_rows(0, obs.rows));
    }
    // alpha_loss = mean(alpha (-log pi - target_entropy)) with the actor step's log pi [B, 1],
    // target entropy -ac_dim. Its derivative in log_alpha is alpha_loss itself (d alpha / d
    // log_alpha = alpha), so the loss is the gradient Adam steps with.
    void temperature_update(View<const T> log_pi) {
        double sum = 0;
        for (int i = 0; i < log_pi.rows; ++i) sum += -log_pi(i, 0) + ac_dim;
        last_alpha_loss = static_cast<T>(alpha() * sum / log_pi.rows);
        const T dloss_dlog_alpha = last_alpha_loss;
        alpha_opt.step(&log_alpha, &dloss_dlog_alpha);
    }

    // One SAC training step on a minibatch (rew and done are [B, 1]), its noise drawn from a
    // stream of its own: critic updates, target update, actor and temperature updates.
    void train(View<const T> obs, View<const T> act, View<const T> rew, View<const T> next_obs, View<const T> done) {
        const int B = obs.rows;
        if (B <= 0 || B > cfg.batch) fail("SAC::train: batch of ", B, " rows (at most ", cfg.batch, ")");
        Rng rng(seed, Stream::sac_train, static_cast<uint64_t>(training_step), 0);  // action noise
        for (int k = 0; k < cfg.critic_updates; ++k) critic_update(obs, act, rew, next_obs, done, draw_noise(rng, B));
        if (training_step % cfg.critic_target_update_frequency == 0) soft_update_targets();
        if (training_step % cfg.actor_update_frequency == 0)
            for (int k = 0; k < cfg.actor_updates; ++k) actor_update(obs, draw_noise(rng, B));
        ++training_step;
    }
};

// =================================================================================================
// 13. Checkpoints: the state of a run as bytes, through std::ostream and std::istream
// =================================================================================================
// run_mb and run_mbpo hand a checkpoint to their caller at the end of every iteration and can
// continue from one (section 14); this section is the format. The library writes into and
// reads from streams; the caller owns the files (examples/run_log.hpp writes a temporary file
// and renames it, so a checkpoint on disk is always whole). Layout (numbers in the host's byte
// order, little-endian on x86-64 and aarch64):
//   "MBRLCKPT"     8 bytes, the magic
//   version        u32, kCheckpointVersion
//   n              u64, bytes of payload
//   payload        n bytes: named fields, one after the other, in the order they were written
//   checksum       u64, FNV-1a 64 of the payload
// A field: name length (u32), name, kind (u8: 'f' float32, 'd' float64, 'i' int32, 'u' uint64,
// 's' bytes), element count (u64), the elements. Reading names the first thing that is wrong:
// the magic, the version, a truncated file, the checksum, a field of another name, kind or
// size, or (section 14) a setting that differs from the run's.
constexpr uint32_t kCheckpointVersion = 1;
constexpr char kCheckpointMagic[9] = "MBRLCKPT";

// FNV-1a, 64 bits (Fowler, Noll and Vo), over n bytes.
inline uint64_t fnv1a64(const char* p, std::size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (std::size_t i = 0; i < n; ++i) {
        h ^= static_cast<unsigned char>(p[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}

template <class T>
constexpr char field_kind() {
    static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value || std::is_same<T, int>::value ||
                      std::is_same<T, uint64_t>::value || std::is_same<T, char>::value,
                  "checkpoint fields hold float, double, int, uint64_t or char");
    return std::is_same<T, float>::value ? 'f' : std::is_same<T, double>::value ? 'd' : std::is_same<T, int>::value ? 'i'
           : std::is_same<T, uint64_t>::value ? 'u' : 's';
}

// Collects fields into a payload; finish() writes the whole checkpoint to a stream.
class CheckpointWriter {
   public:
    template <class T>
    void array(const std::string& name, const T* p, std::size_t n) {
        const uint32_t len = static_cast<uint32_t>(name.size());
        const char kind = field_kind<T>();
        const uint64_t count = n;
        raw(&len, sizeof len);
        raw(name.data(), name.size());
        raw(&kind, 1);
        raw(&count, sizeof count);
        if (n) raw(p, n * sizeof(T));
    }
    void u64(const std::string& name, uint64_t v) { array(name, &v, 1); }
    void f64(const std::string& name, double v) { array(name, &v, 1); }
    void text(const std::string& name, const std::string& s) { array(name, s.data(), s.size()); }
    // The calls of CheckpointReader's that visit() uses, writing here.
    static constexpr bool reading = false;
    template <class T>
    void field(const std::string& name, T* p, std::size_t n) { array(name, static_cast<const T*>(p), n); }
    template <class T, class A>
    void vector(const std::string& name, const std::vector<T, A>& v) { array(name, v.data(), v.size()); }
    template <class I>
    void count(const std::string& name, I v) { u64(name, static_cast<uint64_t>(v)); }
    // magic, version, length, payload, checksum; throws if the stream fails
    void finish(std::ostream& out) const {
        const uint32_t version = kCheckpointVersion;
        const uint64_t n = payload_.size(), sum = fnv1a64(payload_.data(), payload_.size());
        out.write(kCheckpointMagic, 8);
        out.write(reinterpret_cast<const char*>(&version), sizeof version);
        out.write(reinterpret_cast<const char*>(&n), sizeof n);
        out.write(payload_.data(), static_cast<std::streamsize>(n));
        out.write(reinterpret_cast<const char*>(&sum), sizeof sum);
        out.flush();
        if (!out) fail("checkpoint: the stream failed while writing ", n + 28, " bytes");
    }

   private:
    std::string payload_;
    void raw(const void* p, std::size_t n) { payload_.append(static_cast<const char*>(p), n); }
};

// Reads a whole checkpoint from a stream and checks magic, version, length and checksum before
// any field is read; then hands out the fields in the order they were written.
class CheckpointReader {
   public:
    explicit CheckpointReader(std::istream& in) {
        std::ostringstream all;
        all << in.rdbuf();
        const std::string bytes = all.str();
        if (bytes.size() < 20 || bytes.compare(0, 8, kCheckpointMagic) != 0)
            fail("checkpoint: not a checkpoint (", bytes.size() < 8 ? "too short for" : "no", " magic ", kCheckpointMagic,
                 ")");
        uint32_t version = 0;
        uint64_t n = 0;
        std::memcpy(&version, bytes.data() + 8, sizeof version);
        std::memcpy(&n, bytes.data() + 12, sizeof n);
        if (version != kCheckpointVersion)
            fail("checkpoint: format version ", version, ", this library reads version ", kCheckpointVersion);
        if (bytes.size() - 20 < 8 || n != bytes.size() - 28)
            fail("checkpoint: truncated or padded: the header announces ", n, " bytes of payload, the file holds ",
                 bytes.size() < 28 ? 0 : bytes.size() - 28);
        payload_ = bytes.substr(20, n);
        uint64_t stored = 0;
        std::memcpy(&stored, bytes.data() + 20 + n, sizeof stored);
        if (stored != fnv1a64(payload_.data(), payload_.size()))
            fail("checkpoint: checksum mismatch (the file is corrupt)");
    }
    // Field `name` of exactly n elements of T into p[n].
    template <class T>
    void array(const std::string& name, T* p, std::size_t n) {
        const uint64_t count = header<T>(name);
        if (count != n) fail("checkpoint: field '", name, "' holds ", count, " values, this run needs ", n);
        take(p, n * sizeof(T));
    }
    // Field `name` of any length into v.
    template <class T, class A>
    void vector(const std::string& name, std::vector<T, A>& v) {
        const uint64_t count = header<T>(name);
        if (count > (payload_.size() - pos_) / sizeof(T)) fail("checkpoint: field '", name, "' runs past the end");
        v.resize(count);
        take(v.data(), count * sizeof(T));
    }
    uint64_t u64(const std::string& name) {
        uint64_t v = 0;
        array(name, &v, 1);
        return v;
    }
    double f64(const std::string& name) {
        double v = 0;
        array(name, &v, 1);
        return v;
    }
    std::string text(const std::string& name) {
        std::vector<char> v;
        vector(name, v);
        return std::string(v.begin(), v.end());
    }
    // The calls of CheckpointWriter's that visit() uses, reading here.
    static constexpr bool reading = true;
    template <class T>
    void field(const std::string& name, T* p, std::size_t n) { array(name, p, n); }
    template <class I>
    void count(const std::string& name, I& v) {
        const uint64_t u = u64(name);
        if (u > static_cast<uint64_t>(std::numeric_limits<I>::max()))
            fail("checkpoint: field '", name, "' holds ", u, ", more than its counter holds");
        v = static_cast<I>(u);
    }
    // Throws unless every byte of the payload was read.
    void finish() const {
        if (pos_ != payload_.size()) fail("checkpoint: ", payload_.size() - pos_, " bytes left after the last field");
    }

   private:
    std::string payload_;
    std::size_t pos_ = 0;
    void take(void* p, std::size_t n) {
        if (n > payload_.size() - pos_) fail("checkpoint: a field runs past the end of the payload");
        if (n) std::memcpy(p, payload_.data() + pos_, n);
        pos_ += n;
    }
    template <class T>
    uint64_t header(const std::string& name) {
        uint32_t len = 0;
        take(&len, sizeof len);
        if (len > payload_.size() - pos_) fail("checkpoint: expected field '", name, "', found a damaged name");
        const std::string found = payload_.substr(pos_, len);
        pos_ += len;
        char kind = 0;
        uint64_t count = 0;
        take(&kind, 1);
        take(&count, sizeof count);
        if (found != name) fail("checkpoint: expected field '", name, "', found '", found, "'");
        if (kind != field_kind<T>())
            fail("checkpoint: field '", name, "' is of kind '", kind, "', expected '", field_kind<T>(), "'");
        return count;
    }
};

// The pieces of a run. One visit() per type lists its fields in order, for both directions:
// save() visits with a CheckpointWriter, load() with a CheckpointReader, which needs an object
// built with the same settings (the shapes are checked, not taken from the file).
template <class Ar, class T>
void visit(Ar& a, const std::string& name, MLP<T>& net) {
    a.field(name + ".params", net.params.data(), net.params.size());
}
template <class Ar, class T>
void visit(Ar& a, const std::string& name, Adam<T>& opt) {
    a.count(name + ".t", opt.t);
    a.field(name + ".m", opt.m.data(), opt.m.size());
    a.field(name + ".v", opt.v.data(), opt.v.size());
}
template <class Ar, class T>
void visit(Ar& a, const std::string& name, Normalizer<T>& n) {
    a.field(name + ".mean", n.mean.data(), n.mean.size());
    a.field(name + ".std", n.std.data(), n.std.size());
}
// Every member's weights and optimizer, the statistics, and the minibatch permutation (it
// carries over from step to step while the data does not grow).
template <class Ar, class T>
void visit(Ar& a, const std::string& name, Ensemble<T>& e) {
    uint64_t members = static_cast<uint64_t>(e.size());
    a.count(name + ".members", members);
    if (members != static_cast<uint64_t>(e.size()))
        fail("checkpoint: ", name, " has ", members, " members, this run ", e.size());
    for (int m = 0; m < e.size(); ++m) {
        visit(a, name + ".net" + std::to_string(m), e.nets[m]);
        visit(a, name + ".adam" + std::to_string(m), e.opts[m]);
        if (e.probabilistic()) {  // the log-variance bounds and their optimizer
            a.field(name + ".bounds" + std::to_string(m), e.bounds[m].data(), e.bounds[m].size());
            visit(a, name + ".bounds_adam" + std::to_string(m), e.bound_opts[m]);
        }
    }
    visit(a, name + ".stats.obs", e.stats.obs);
    visit(a, name + ".stats.act", e.stats.act);
    visit(a, name + ".stats.delta", e.stats.delta);
    a.vector(name + ".perm", e.perm);
    if constexpr (Ar::reading) {  // train_step indexes the data by it
        std::vector<char> seen(e.perm.size());
        for (const int i : e.perm) {
            if (i < 0 || static_cast<std::size_t>(i) >= seen.size() || seen[i])
                fail("checkpoint: ", name, ".perm is not a permutation of 0..", seen.size() - 1);
            seen[i] = 1;
        }
    }
}
// SAC: the critics, their targets, the actor, log std, temperature, the five optimizers, and the
// counters its random numbers are keyed by (training steps, actions taken).
template <class Ar, class T>
void visit(Ar& a, const std::string& name, SAC<T>& s) {
    visit(a, name + ".q1", s.q1);
    visit(a, name + ".q2", s.q2);
    visit(a, name + ".q1_targ", s.q1_targ);
    visit(a, name + ".q2_targ", s.q2_targ);
    visit(a, name + ".actor", s.actor);
    a.field(name + ".logstd", s.logstd.data(), s.logstd.size());
    a.field(name + ".log_alpha", &s.log_alpha, 1);
    visit(a, name + ".q1_opt", s.q1_opt);
    visit(a, name + ".q2_opt", s.q2_opt);
    visit(a, name + ".actor_opt", s.actor_opt);
    visit(a, name + ".logstd_opt", s.logstd_opt);
    visit(a, name + ".alpha_opt", s.alpha_opt);
    a.count(name + ".training_step", s.training_step);
    a.count(name + ".act_calls", s.act_calls);
    T losses[3] = {s.last_critic_loss, s.last_actor_loss, s.last_alpha_loss};
    a.field(name + ".last_losses", losses, 3);
    if constexpr (Ar::reading) {
        s.last_critic_loss = losses[0];
        s.last_actor_loss = losses[1];
        s.last_alpha_loss = losses[2];
    }
}
// The live rows only (the forgotten ones are dropped; read back, the buffer starts at row 0).
template <class Ar, class T>
void visit(Ar& a, const std::string& name, ReplayBuffer<T>& b) {
    uint64_t capacity = static_cast<uint64_t>(b.capacity), rows = static_cast<uint64_t>(b.size());
    a.count(name + ".capacity", capacity);
    a.count(name + ".rows", rows);
    if constexpr (Ar::reading) {
        if (capacity != static_cast<uint64_t>(b.capacity))
            fail("checkpoint: ", name, " has capacity ", capacity, ", this run ", b.capacity);
        if (rows > capacity) fail("checkpoint: ", name, " holds ", rows, " rows, more than its capacity ", capacity);
        b.begin = 0;
        for (Tensor<T>* t : {&b.obs_, &b.act_, &b.next_obs_, &b.rew_, &b.terminal_})
            t->resize(static_cast<int>(rows), t->cols);
    }
    for (auto [part, v] : {std::pair<const char*, View<const T>>{"obs", b.obs()}, {"act", b.act()},
                           {"next_obs", b.next_obs()}, {"rew", b.rew()}, {"terminal", b.terminal()}})
        a.field(name + "." + part, const_cast<T*>(v.data), v.size());
}
// save() writes what visit() lists (visit only reads the object when writing: the const_cast
// changes nothing); load() reads it back.
template <class X>
void save(CheckpointWriter& w, const std::string& name, const X& x) {
    visit(w, name, const_cast<X&>(x));
}
template <class X>
void load(CheckpointReader& r, const std::string& name, X& x) {
    visit(r, name, x);
}
// The settings a checkpoint was made with, as (name, value) text: written first, and compared
// one by one when reading, so that resuming with other settings names the first that differs.
using CheckpointSettings = std::vector<std::pair<std::string, std::string>>;
inline void save_settings(CheckpointWriter& w, const std::string& kind, const CheckpointSettings& s) {
    w.text("kind", kind);
    w.u64("settings", s.size());
    for (const auto& kv : s) w.text("setting." + kv.first, kv.second);
}
inline void check_settings(CheckpointReader& r, const std::string& kind, const CheckpointSettings& s) {
    const std::string found = r.text("kind");
    if (found != kind) fail("checkpoint: made by ", found, ", not by ", kind);
    const uint64_t n = r.u64("settings");
    if (n != s.size()) fail("checkpoint: holds ", n, " settings, this run has ", s.size());
    for (const auto& kv : s) {
        const std::string v = r.text("setting." + kv.first);
        if (v != kv.second)
            fail("checkpoint: setting ", kv.first, " is ", v, " in the checkpoint but ", kv.second, " in this run");
    }
}
// A number as exact text (17 significant digits), for CheckpointSettings.
inline std::string exact(double v) {
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
}

// =================================================================================================
// 14. Model-based RL with on-policy data aggregation (assignment Algorithm 1; reference 3.5, 4)
// =================================================================================================
// The library runs the loops and hands each iteration's results to the caller (a RunSink); it
// opens no file. examples/run_log.hpp writes them as the reference's files and progress lines.

// The settings run_mb and run_mbpo share: those of the reference's run_hw4_mb.py but the
// planner's, with its defaults (reference section 2.1).
struct LoopConfig {
    // exp_name defaults to the reference's placeholder value for --exp_name; env_name: which env (the caller makes it)
    std::string exp_name = "todo", env_name;
    int n_iter = 20;
    int ensemble_size = 3;
    bool add_sl_noise = false;
    int num_agent_train_steps_per_iter = 1000;
    int batch_size_initial = 20000;
    int batch_size = 8000;
    int train_batch_size = 512;
    int eval_batch_size = 400;
    double learning_rate = 1e-3;
    int n_layers = 2, size = 250;
    ModelType model_type = ModelType::deterministic;  // probabilistic: PETS's Gaussian members (section 9)
    uint64_t seed = 1;
    int scalar_log_freq = 1;  // -1: no evaluation and no eval metrics
    // The caller's, not the loops' (which open no file): where run directories go, and whether
    // the caller writes the checkpoint the sink is handed after every iteration (examples/run_log.hpp).
    std::string data_dir = "data";
    bool save_params = false;

    // Throws ConfigError naming the first setting out of range. env_name, exp_name and data_dir
    // are the caller's (which envs exist, where files go): examples/common.hpp checks them.
    void validate() const {
        auto bad = [](const char* field, const std::string& problem) { throw ConfigError("LoopConfig", field, problem); };
        auto positive = [&](const char* field, int v) {
            if (v <= 0) bad(field, "must be positive, got " + std::to_string(v));
        };
        positive("n_iter", n_iter);
        positive("ensemble_size", ensemble_size);
        positive("num_agent_train_steps_per_iter", num_agent_train_steps_per_iter);
        positive("batch_size_initial", batch_size_initial);
        positive("batch_size", batch_size);
        positive("train_batch_size", train_batch_size);
        positive("eval_batch_size", eval_batch_size);
        if (!(learning_rate > 0)) {
            std::ostringstream v;
            v << learning_rate;
            bad("learning_rate", "must be positive, got " + v.str());
        }
        if (n_layers < 0) bad("n_layers", "must be >= 0, got " + std::to_string(n_layers));
        positive("size", size);
        if (scalar_log_freq != -1 && scalar_log_freq <= 0)
            bad("scalar_log_freq", "must be -1 or positive, got " + std::to_string(scalar_log_freq));
    }
};

// Every setting of the reference's run_hw4_mb.py: the shared ones and the planner's.
struct MBConfig : LoopConfig {
    MPCConfig mpc;

    // The shared settings, the planner's, then how they go together.
    void validate() const {
        LoopConfig::validate();
        mpc.validate();
        auto bad = [](const char* field, const std::string& problem) { throw ConfigError("MBConfig", field, problem); };
        if (mpc.propagation == Propagation::expectation && mpc.particles != 0 && mpc.particles != ensemble_size)
            bad("mpc_particles", "must be 0 or ensemble_size = " + std::to_string(ensemble_size) +
                                     " with expectation (one particle per member), got " +
                                     std::to_string(mpc.particles) + "; more need mpc_propagation ts1 or tsinf");
        if (mpc.true_model && (mpc.propagation != Propagation::expectation || mpc.particles != 0))
            bad("mpc_model", "true takes no trajectory sampling (the simulator is exact): mpc_propagation must be "
                             "expectation and mpc_particles 0");
    }
};

// Mean, population std, max and min of the path returns, and the mean path length.
struct ReturnStats {
    double mean = NAN, std = NAN, max = NAN, min = NAN, ep_len = NAN;
};
template <class T>
ReturnStats return_stats(const Rollouts<T>& r) {
    ReturnStats s;
    const std::size_t n = r.returns.size();
    if (n == 0) return s;
    double sum = 0, sq = 0, len = 0;
    for (double x : r.returns) sum += x;
    s.mean = sum / n;
    for (double x : r.returns) sq += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(sq / n);
    s.max = *std::max_element(r.returns.begin(), r.returns.end());
    s.min = *std::min_element(r.returns.begin(), r.returns.end());
    for (int l : r.lengths) len += l;
    s.ep_len = len / n;
    return s;
}

// Q1's diagnostic (reference 4.2): from a fresh reset, 10 uniform random actions executed in the
// env and, open loop, by member 0 alone; the model prediction error MPE = mean of (predicted - true)^2.
struct ModelPredictions {
    Tensor<float> truth, pred;  // [steps, ob_dim] true states and member 0's predictions (steps <= 10)
    double mpe = NAN;
};
template <class Env>
ModelPredictions model_predictions(Env& env, const Ensemble<float>& ens, uint64_t seed, uint64_t* episodes) {
    const int H = 10, D = env.obs_dim(), A = env.act_dim();
    ModelPredictions p;
    Tensor<float> acts(H, A), &truth = p.truth, &pred = p.pred;
    truth.resize(H, D);
    pred.resize(H, D);
    Rng arng(seed, Stream::policy, ~0ull);  // a stream of its own, apart from data collection
    for (int t = 0; t < H; ++t)
        for (int j = 0; j < A; ++j) acts(t, j) = static_cast<float>(arng.uniform(env.act_low(j), env.act_high(j)));
    std::vector<float> obs, next, act(A);
    Rng rrng(seed, Stream::reset, (*episodes)++);
    env.reset(rrng, obs);
    int steps = 0;
    for (int t = 0; t < H; ++t) {  // true_states[t] is the observation before action t
        std::copy(obs.begin(), obs.end(), truth.row(t));
        ++steps;
        std::copy(acts.row(t), acts.row(t) + A, act.begin());
        bool done = false;
        env.step(act, next, done);
        std::swap(obs, next);
        if (done) break;
    }
    MLPWork<float> w(ens.nets[0], 1);
    std::copy(truth.row(0), truth.row(0) + D, pred.row(0));
    for (int t = 0; t + 1 < steps; ++t)
        ens.predict(0, pred.view().middle_rows(t, 1), acts.view().middle_rows(t, 1), pred.view().middle_rows(t + 1, 1), w);
    double mpe = 0;
    for (int t = 0; t < steps; ++t)
        for (int j = 0; j < D; ++j) mpe += (pred(t, j) - truth(t, j)) * (pred(t, j) - truth(t, j));
    p.mpe = mpe / (static_cast<double>(steps) * D);
    truth.resize(steps, D);
    pred.resize(steps, D);
    return p;
}

// Model diagnostics of every iteration, on held-out data: the iteration's evaluation paths,
// collected by the policy that used the model just trained and never trained on (evaluation data
// does not enter the buffer; taking a slice of the training data would change training). All
// three are averaged over rows and state dimensions, in normalized units; no random number is
// drawn and nothing the run uses is changed.
//   one_step      MSE of the ensemble mean's normalized state change against normalize(s' - s):
//                 the units of Eq. 5's training loss, so it compares with 'Training Loss'
//   open_loop     MSE after `horizon` steps (10) of the ensemble mean run open loop on the
//                 recorded actions, from every start with that many steps left in its path, the
//                 error divided by the observation's std (stats.obs) per dimension
//   disagreement  population std across members of their normalized state changes (0 for one member)
// Probabilistic members are represented by their means. NaN where there is nothing to measure.
struct ModelDiagnostics {
    double one_step = NAN, open_loop = NAN, disagreement = NAN;
};
template <class T>
ModelDiagnostics model_diagnostics(const Ensemble<T>& ens, const Rollouts<T>& paths, int horizon = 10) {
    ModelDiagnostics d;
    const int N = paths.steps(), D = ens.obs_dim, E = ens.size();
    if (N == 0) return d;
    Tensor<T> target(N, D);  // normalize(s' - s)
    model_target(target.view(), paths.obs.view(), paths.next_obs.view(), ens.stats);
    std::vector<Tensor<T>> f(E);  // [E] x [N, D]: each member's normalized change (its mean)
    MLPWork<T> w(ens.nets[0], N);
    for (int m = 0; m < E; ++m) {
        model_input(w.start_batch(ens.nets[m], N), paths.obs.view(), paths.act.view(), ens.stats);
        View<const T> y = mlp_forward(ens.nets[m], w);
        f[m].resize(N, D);
        for (int i = 0; i < N; ++i) std::copy(y.row(i), y.row(i) + D, f[m].row(i));
    }
    double err = 0, spread = 0;
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < D; ++j) {
            double mean = 0, var = 0;
            for (int m = 0; m < E; ++m) mean += f[m](i, j);
            mean /= E;
            for (int m = 0; m < E; ++m) var += (f[m](i, j) - mean) * (f[m](i, j) - mean);
            err += (mean - target(i, j)) * (mean - target(i, j));
            spread += std::sqrt(var / E);
        }
    d.one_step = err / (static_cast<double>(N) * D);
    d.disagreement = spread / (static_cast<double>(N) * D);
    // Open loop: starts i whose path has rows i .. i + horizon - 1 (no terminal before the last).
    std::vector<int> starts;
    for (int i = 0; i + horizon <= N; ++i) {
        bool whole = true;
        for (int k = 0; k + 1 < horizon && whole; ++k) whole = paths.terminal[i + k] == T(0);
        if (whole) starts.push_back(i);
    }
    const int S = static_cast<int>(starts.size());
    if (S == 0 || horizon <= 0) return d;
    Tensor<T> s(S, D), a(S, ens.act_dim), pred(S, D), next(S, D);
    MLPWork<T> ws(ens.nets[0], S);
    for (int k = 0; k < S; ++k) std::copy(paths.obs.row(starts[k]), paths.obs.row(starts[k]) + D, s.row(k));
    for (int t = 0; t < horizon; ++t) {
        for (int k = 0; k < S; ++k) std::copy(paths.act.row(starts[k] + t), paths.act.row(starts[k] + t) + ens.act_dim, a.row(k));
        next.fill(T(0));
        for (int m = 0; m < E; ++m) {
            ens.predict(m, s.view(), a.view(), pred.view(), ws);
            for (std::size_t q = 0; q < next.size(); ++q) next.data()[q] += pred.data()[q] / static_cast<T>(E);
        }
        std::swap(s, next);
    }
    double ol = 0;
    for (int k = 0; k < S; ++k)
        for (int j = 0; j < D; ++j) {
            const double e = (static_cast<double>(s(k, j)) - paths.next_obs(starts[k] + horizon - 1, j)) /
                             (static_cast<double>(ens.stats.obs.std[j]) + Normalizer<T>::kEps);
            ol += e * e;
        }
    d.open_loop = ol / (static_cast<double>(S) * D);
    return d;
}

// What MBPO shows after each iteration's SAC training (tests check the data flow with it): the
// real paths just collected, and both buffers.
struct MBPOIteration {
    int itr;
    const Rollouts<float>& paths;              // collected this iteration, clean
    const ReplayBuffer<float>& model_buffer;   // real data, noised if add_sl_noise
    const ReplayBuffer<float>& sac_buffer;     // clean real data and model rollouts, FIFO
};

// One iteration's results, the metrics the reference logs (reference 4.1).
struct IterationReport {
    int itr = 0, n_iter = 0;
    ReturnStats train, eval;  // the collected paths; the evaluation's (NaN when not evaluated)
    long envsteps = 0;        // env steps collected for training so far (not evaluation, not Q1's)
    double loss = NAN;        // the ensemble's last training loss
    double critic_loss = NAN, alpha = NAN;  // MBPO: SAC's last critic loss and its temperature
    ModelDiagnostics model;   // on the evaluation paths (NaN when not evaluated)
};

// Thrown by run_mb and run_mbpo when RunSink::stop says so: the run stopped between two env
// steps or gradient steps, and what the sink was given so far (rows, checkpoints) stays whole.
struct Interrupted : std::runtime_error {
    int itr;  // the iteration that was stopped (iterations before it are complete)
    explicit Interrupted(int at) : std::runtime_error("run stopped on request in iteration " + std::to_string(at)), itr(at) {}
};

// Where the loops report; every callback may be left empty.
struct RunSink {
    std::function<void(const IterationReport&)> iteration;  // at the end of every iteration
    // run_mb, iteration 0: Q1's model predictions and the loss of every model training step
    std::function<void(const ModelPredictions&, const std::vector<double>& losses)> model_check;
    std::function<void(const MBPOIteration&)> mbpo_buffers;  // run_mbpo, after the SAC training
    // After iteration(), when the run's state is complete: next_itr iterations are done, and
    // write(out) writes the checkpoint to continue from (section 13's format) into a stream.
    std::function<void(int next_itr, const std::function<void(std::ostream&)>& write)> checkpoint;
    // After a checkpoint was read and accepted (nothing is reported before): the run continues
    // at iteration next_itr.
    std::function<void(int next_itr)> resumed;
    // Polled before every env step, every model training step and every SAC step: true stops
    // the run at once by throwing Interrupted. Called from the thread that called run_mb.
    std::function<bool()> stop;

    void poll(int itr) const {
        if (stop && stop()) throw Interrupted(itr);
    }
};

// What the skeleton counts, besides the models and buffers: where a run stands between two
// iterations (saved in every checkpoint).
struct LoopState {
    int itr = 0;            // the next iteration to run
    long envsteps = 0;      // env steps collected for training so far
    uint64_t episodes = 0;  // env resets so far: the k-th draws from Rng(seed, Stream::reset, k)
};
template <class Ar>
void visit(Ar& a, const std::string& name, LoopState& s) {
    a.count(name + ".itr", s.itr);
    a.count(name + ".envsteps", s.envsteps);
    a.count(name + ".episodes", s.episodes);
}

// The settings a checkpoint must agree on: all but n_iter (a resumed run may go further) and
// those that do not touch the run (exp_name, save_params, data_dir); the planner's (m) when there
// is one.
inline CheckpointSettings checkpoint_settings(const LoopConfig& c, const MPCConfig* m) {
    CheckpointSettings s = {{"env_name", c.env_name}, {"ensemble_size", std::to_string(c.ensemble_size)}};
    if (m) {
        const CheckpointSettings plan = {{"mpc_horizon", std::to_string(m->horizon)},
                                         {"mpc_num_action_sequences", std::to_string(m->num_sequences)},
                                         {"mpc_action_sampling_strategy", m->cem ? "cem" : "random"},
                                         {"cem_iterations", std::to_string(m->cem_iterations)},
                                         {"cem_num_elites", std::to_string(m->cem_num_elites)},
                                         {"cem_alpha", exact(m->cem_alpha)}};
        s.insert(s.end(), plan.begin(), plan.end());
    }
    const CheckpointSettings rest = {
            {"add_sl_noise", std::to_string(c.add_sl_noise)},
            {"num_agent_train_steps_per_iter", std::to_string(c.num_agent_train_steps_per_iter)},
            {"batch_size_initial", std::to_string(c.batch_size_initial)},
            {"batch_size", std::to_string(c.batch_size)},
            {"train_batch_size", std::to_string(c.train_batch_size)},
            {"eval_batch_size", std::to_string(c.eval_batch_size)},
            {"learning_rate", exact(c.learning_rate)},
            {"n_layers", std::to_string(c.n_layers)},
            {"size", std::to_string(c.size)},
            {"seed", std::to_string(c.seed)},
            {"scalar_log_freq", std::to_string(c.scalar_log_freq)},
            {"model_type", c.model_type == ModelType::probabilistic ? "probabilistic" : "deterministic"}};
    s.insert(s.end(), rest.begin(), rest.end());
    if (m) {
        const CheckpointSettings sampling = {{"mpc_propagation", m->propagation == Propagation::ts1     ? "ts1"
                                                                 : m->propagation == Propagation::tsinf ? "tsinf"
                                                                                                       : "expectation"},
                                             {"mpc_particles", std::to_string(m->particles)},
                                             {"mpc_model", m->true_model ? "true" : "learned"}};
        s.insert(s.end(), sampling.begin(), sampling.end());
    }
    return s;
}
inline CheckpointSettings checkpoint_settings(const MBConfig& c) { return checkpoint_settings(c, &c.mpc); }

// Algorithm 1's skeleton, shared by run_mb and run_mbpo. Per iteration, in the reference's order:
//   1. collect whole paths with `policy` (batch_size_initial steps at iteration 0, then batch_size)
//   2. add them to the model's buffer (add_sl_noise if asked) and recompute the statistics
//   3. train the ensemble: num_agent_train_steps_per_iter minibatch steps
//   4. after_training(itr, paths, losses, report): what the algorithm does with the model
//   5. evaluate `policy` (when scalar_log_freq says so), diagnose the model on the evaluation
//      paths (model_diagnostics) and report the iteration
//   6. hand the sink the checkpoint to continue from (write_state(out) writes it)
// from iteration state.itr (0, or where a checkpoint left off) to cfg.n_iter. The sink's stop
// predicate is polled before every env step and every model training step.
template <class Env, class Policy, class AfterTraining, class WriteCheckpoint>
void model_based_loop(Env& env, const LoopConfig& cfg, Ensemble<float>& ens, ReplayBuffer<float>& buffer,
                      Policy&& policy, LoopState& state, const RunSink& sink, AfterTraining&& after_training,
                      WriteCheckpoint&& write_state) {
    Rollouts<float> paths, eval_paths;
    std::vector<double> losses;
    uint64_t* episodes = &state.episodes;
    for (int itr = state.itr; itr < cfg.n_iter; ++itr) {
        auto polled = [&](View<const float> obs, View<float> act) {
            sink.poll(itr);
            policy(obs, act);
        };
        // 1. collect
        sample_trajectories(env, polled, itr == 0 ? cfg.batch_size_initial : cfg.batch_size, env.ep_len(), cfg.seed,
                            episodes, paths);
        state.envsteps += paths.steps();
        // 2. add to the buffer, recompute the statistics
        Rng noise_rng(cfg.seed, Stream::noise, static_cast<uint64_t>(itr));
        buffer.add(paths, cfg.add_sl_noise, noise_rng);
        ens.fit_stats(buffer.obs(), buffer.act(), buffer.next_obs());
        // 3. train the ensemble
        Rng sample_rng(cfg.seed, Stream::sample, static_cast<uint64_t>(itr));
        losses.clear();
        for (int step = 0; step < cfg.num_agent_train_steps_per_iter; ++step) {
            sink.poll(itr);
            losses.push_back(ens.train_step(buffer.obs(), buffer.act(), buffer.next_obs(), cfg.train_batch_size,
                                            sample_rng));
        }
        IterationReport report;
        report.itr = itr;
        report.n_iter = cfg.n_iter;
        report.envsteps = state.envsteps;
        report.loss = losses.empty() ? NAN : losses.back();
        report.train = return_stats(paths);
        // 4. the algorithm's own step
        after_training(itr, paths, losses, report);
        // 5. evaluate and report
        if (cfg.scalar_log_freq != -1 && itr % cfg.scalar_log_freq == 0) {
            sample_trajectories(env, polled, cfg.eval_batch_size, env.ep_len(), cfg.seed, episodes, eval_paths);
            report.eval = return_stats(eval_paths);
            report.model = model_diagnostics(ens, eval_paths);
        }
        if (sink.iteration) sink.iteration(report);
        // 6. the checkpoint to continue from
        state.itr = itr + 1;
        if (sink.checkpoint) sink.checkpoint(state.itr, write_state);
    }
}

// A run's checkpoint: its kind ("run_mb", "run_mbpo") and settings, the loop's state, then the
// algorithm's own part, which `fields(a)` lists once for both directions (a is a
// CheckpointWriter or a CheckpointReader, as in the types' visit()).
template <class Fields>
void write_checkpoint(std::ostream& out, const std::string& kind, const CheckpointSettings& settings,
                      LoopState& state, Fields& fields) {
    CheckpointWriter w;
    save_settings(w, kind, settings);
    save(w, "loop", state);
    fields(w);
    w.finish(out);
}
// Reads back what write_checkpoint wrote, for a run of the same kind and settings. Throws
// (naming the first thing that is wrong) if the kind, a setting or a field differs.
template <class Fields>
void resume_run(std::istream& in, const std::string& kind, const CheckpointSettings& settings, int n_iter,
                LoopState& state, Fields& fields) {
    CheckpointReader r(in);
    check_settings(r, kind, settings);
    load(r, "loop", state);
    fields(r);
    r.finish();
    if (state.itr > n_iter)
        fail("checkpoint: ", state.itr, " iterations are done already, more than n_iter = ", n_iter);
}

// The training loop of run_hw4_mb.py: MPC on the learned ensemble (uniform random actions until
// the first data exists, reference 3.4); at iteration 0, after training, Q1's model check.
// With cfg.mpc.true_model, the planner scores its candidates on `truth` (a TrueModel of this very
// env, e.g. envs/true_model.hpp's) instead; the ensemble is still trained, checked and diagnosed,
// so that the two runs compare column by column.
// With `resume`, continues from the checkpoint read from it (made by a run_mb with the same
// settings but n_iter) up to cfg.n_iter, bit for bit as if never stopped.
template <class Env>
void run_mb(Env& env, const MBConfig& cfg, const RunSink& sink = {}, std::istream* resume = nullptr,
            TrueModel<float>* truth = nullptr) {
    cfg.validate();
    const int D = env.obs_dim(), A = env.act_dim();
    std::vector<float> low(A), high(A);
    for (int j = 0; j < A; ++j) {
        low[j] = env.act_low(j);
        high[j] = env.act_high(j);
    }
    auto ens_ptr = std::make_shared<Ensemble<float>>(D, A, cfg.ensemble_size, cfg.n_layers, cfg.size,
                                                     static_cast<float>(cfg.learning_rate), cfg.seed,
                                                     Activation::tanh, cfg.model_type);
    Ensemble<float>& ens = *ens_ptr;
    MPC<float> mpc(ens_ptr, &Env::reward, low, high, cfg.mpc, cfg.seed);
    if (cfg.mpc.true_model) {
        if (!truth) fail("run_mb: mpc true_model is set but no TrueModel was given");
        mpc.plan_on(*truth);
    }
    ReplayBuffer<float> buffer(D, A, 1000000);
    LoopState state;
    uint64_t& episodes = state.episodes;
    uint64_t random_actions = 0;
    // The checkpoint's own part, for writing and reading.
    const CheckpointSettings settings = checkpoint_settings(cfg);
    auto fields = [&](auto& a) {
        visit(a, "ensemble", ens);
        visit(a, "buffer", buffer);
        a.count("mpc.calls", mpc.calls);
        a.count("random_actions", random_actions);
    };
    if (resume) {
        resume_run(*resume, "run_mb", settings, cfg.n_iter, state, fields);
        if (sink.resumed) sink.resumed(state.itr);
    }
    auto policy = [&](View<const float> obs, View<float> act) {
        if (buffer.size() == 0) {  // no statistics yet, so a uniform random action
            Rng rng(cfg.seed, Stream::policy, random_actions++);
            for (int j = 0; j < A; ++j) act[j] = static_cast<float>(rng.uniform(low[j], high[j]));
        } else {
            mpc.act(obs, act);
        }
    };
    model_based_loop(
        env, cfg, ens, buffer, policy, state, sink,
        [&](int itr, const Rollouts<float>&, const std::vector<double>& losses, IterationReport&) {
            if (itr != 0) return;
            const ModelPredictions p = model_predictions(env, ens, cfg.seed, &episodes);
            if (sink.model_check) sink.model_check(p, losses);
        },
        [&](std::ostream& out) { write_checkpoint(out, "run_mb", settings, state, fields); });
}

// =================================================================================================
// 15. MBPO: SAC on real and model-generated data (assignment Problem 6; reference 3.5-3.7)
// =================================================================================================
// Per iteration: collect with the SAC policy -> real transitions to the model buffer (noised if
// asked), statistics -> train the ensemble -> the real transitions, clean, to the SAC buffer, then
// sac_n_iter times: one model rollout of rollout_length steps into the SAC buffer (none when the
// length is 0: plain SAC), then SAC steps on minibatches of the SAC buffer -> evaluate the SAC
// policy and report.

// Every setting of the reference's run_hw4_mbpo.py (reference section 2.2).
struct MBPOConfig {
    LoopConfig mb;               // the shared settings (the SAC policy acts: no planner's)
    SACConfig sac;
    int sac_n_iter = 200;        // SAC rounds per iteration
    int sac_train_steps = 1;     // sac_num_agent_train_steps_per_iter: SAC steps per round
    int rollout_length = 1;      // mbpo_rollout_length; 0 = model-free SAC
    int sac_buffer_size = 100000;
    // Switches for issue 11 (rlen 10 trails public runs); the defaults are this library's choices.
    bool reward_pre_step = false;  // reward a model step by its state (the public solutions), not its predicted next
    bool random_member = false;    // step with one member drawn per step (MBPO paper), not the ensemble mean

    // Throws ConfigError naming the first setting out of range: mb's, sac's, then MBPO's own.
    void validate() const {
        mb.validate();
        sac.validate();
        auto bad = [](const char* field, const std::string& problem) { throw ConfigError("MBPOConfig", field, problem); };
        if (sac_train_steps <= 0)
            bad("sac_num_agent_train_steps_per_iter", "must be positive, got " + std::to_string(sac_train_steps));
        if (sac_n_iter <= 0) bad("sac_n_iter", "must be positive, got " + std::to_string(sac_n_iter));
        if (rollout_length < 0) bad("mbpo_rollout_length", "must be >= 0, got " + std::to_string(rollout_length));
        if (sac_buffer_size <= 0) bad("sac_buffer_size", "must be positive, got " + std::to_string(sac_buffer_size));
    }
};

// Scratch of model rollouts, sized once: nothing is allocated per rollout.
struct RolloutWork {
    std::vector<MLPWork<float>> work;  // [E] one row through each member
    Tensor<float> pred, eps;           // [1, ob_dim] one member's prediction; its noise (probabilistic members)
    std::vector<float> ob, next, ac;   // [ob_dim], [ob_dim], [ac_dim]
    RolloutWork(const Ensemble<float>& ens)
        : pred(1, ens.obs_dim), eps(1, ens.obs_dim), ob(ens.obs_dim), next(ens.obs_dim), ac(ens.act_dim) {
        for (const MLP<float>& net : ens.nets) work.emplace_back(net, 1);
    }
};

// One model rollout (reference 3.6): start at a state of the model buffer, act with the SAC
// policy, step with the ensemble-mean prediction (or, with random_member, one member's, drawn per
// step). Each step keeps the start's terminal flag, as the reference does. The reward is the env's
// reward of the predicted next state, the same convention as the real env and as MPC here; with
// reward_pre_step, of the state the step starts from, as the public solutions do. Probabilistic
// members predict a draw of their Gaussian (noise from `rng`, after the step's member draw), as
// the MBPO paper does; with random_member that is the paper's rollout exactly.
template <class Env>
void model_rollout(const Ensemble<float>& ens, SAC<float>& sac, const ReplayBuffer<float>& buffer, int length,
                   Rng& rng, RolloutWork& s, Rollouts<float>& out, bool reward_pre_step = false,
                   bool random_member = false) {
    const int D = ens.obs_dim, A = ens.act_dim, E = ens.size();
    out.clear(D, A);
    if (buffer.size() == 0) fail("model_rollout: the model's buffer is empty (no start state to roll out from)");
    const int start = static_cast<int>(rng.below(static_cast<uint64_t>(buffer.size())));
    const float terminal = buffer.terminal()(start, 0);
    std::copy(buffer.obs().row(start), buffer.obs().row(start) + D, s.ob.begin());
    for (int t = 0; t < length; ++t) {
        sac.act(s.ob, s.ac);
        std::fill(s.next.begin(), s.next.end(), 0.0f);
        const int pick = random_member ? static_cast<int>(rng.below(static_cast<uint64_t>(E))) : -1;
        for (int m = 0; m < E; ++m) {  // the mean of the members' predictions, or the picked one's
            if (pick >= 0 && m != pick) continue;
            if (ens.probabilistic()) {
                for (int j = 0; j < D; ++j) s.eps(0, j) = static_cast<float>(rng.normal());
                ens.predict_sample(m, s.ob, s.ac, s.pred.view(), s.eps.view(), s.work[m]);
            } else {
                ens.predict(m, s.ob, s.ac, s.pred.view(), s.work[m]);
            }
            for (int j = 0; j < D; ++j) s.next[j] += pick >= 0 ? s.pred(0, j) : s.pred(0, j) / static_cast<float>(E);
        }
        float r = 0;
        Env::reward(reward_pre_step ? s.ob.data() : s.next.data(), s.ac.data(), 1, &r, nullptr);
        out.push(s.ob, s.ac, r, s.next, terminal != 0.0f);
        std::swap(s.ob, s.next);
    }
}

// The training loop of run_hw4_mbpo.py: the skeleton of section 14 with the SAC policy (sampling,
// also at iteration 0) and, after the model's training, the SAC rounds.
// The settings an MBPO checkpoint must agree on: the MB ones (section 14), SAC's and MBPO's own.
inline CheckpointSettings checkpoint_settings(const MBPOConfig& c) {
    CheckpointSettings s = checkpoint_settings(c.mb, nullptr);
    const SACConfig& q = c.sac;
    const CheckpointSettings more = {
        {"sac_n_layers", std::to_string(q.n_layers)},
        {"sac_size", std::to_string(q.size)},
        {"sac_learning_rate", exact(q.learning_rate)},
        {"sac_discount", exact(q.discount)},
        {"sac_init_temperature", exact(q.init_temperature)},
        {"critic_tau", exact(q.tau)},
        {"sac_train_batch_size", std::to_string(q.batch)},
        {"sac_num_critic_updates_per_agent_update", std::to_string(q.critic_updates)},
        {"sac_num_actor_updates_per_agent_update", std::to_string(q.actor_updates)},
        {"sac_actor_update_frequency", std::to_string(q.actor_update_frequency)},
        {"sac_critic_target_update_frequency", std::to_string(q.critic_target_update_frequency)},
        {"sac_logstd", q.logstd_tanh ? "tanh" : "clamp"},
        {"sac_n_iter", std::to_string(c.sac_n_iter)},
        {"sac_num_agent_train_steps_per_iter", std::to_string(c.sac_train_steps)},
        {"mbpo_rollout_length", std::to_string(c.rollout_length)},
        {"sac_buffer_size", std::to_string(c.sac_buffer_size)},
        {"mbpo_rollout_reward", c.reward_pre_step ? "pre" : "post"},
        {"mbpo_rollout_model", c.random_member ? "random" : "mean"}};
    s.insert(s.end(), more.begin(), more.end());
    return s;
}

// With `resume`, continues from a checkpoint of run_mbpo, as run_mb does.
template <class Env>
void run_mbpo(Env& env, const MBPOConfig& cfg, const RunSink& sink = {}, std::istream* resume = nullptr) {
    cfg.validate();
    const LoopConfig& mb = cfg.mb;
    const int D = env.obs_dim(), A = env.act_dim();
    float low = env.act_low(0), high = env.act_high(0);
    for (int j = 1; j < A; ++j) {
        low = std::min(low, env.act_low(j));
        high = std::max(high, env.act_high(j));
    }
    Ensemble<float> ens(D, A, mb.ensemble_size, mb.n_layers, mb.size, static_cast<float>(mb.learning_rate), mb.seed,
                        Activation::tanh, mb.model_type);
    SAC<float> sac(D, A, low, high, cfg.sac, mb.seed);
    ReplayBuffer<float> model_buffer(D, A, 1000000), sac_buffer(D, A, cfg.sac_buffer_size);

    // Scratch of the SAC minibatches and model rollouts, allocated once.
    const int B = cfg.sac.batch;
    Tensor<float> b_obs(B, D), b_act(B, A), b_rew(B, 1), b_next(B, D), b_done(B, 1);
    RolloutWork rollout_work(ens);
    std::vector<int> rows;
    Rollouts<float> rollout;
    LoopState state;
    uint64_t rollouts = 0;
    // The checkpoint's own part, for writing and reading.
    const CheckpointSettings settings = checkpoint_settings(cfg);
    auto fields = [&](auto& a) {
        visit(a, "ensemble", ens);
        visit(a, "sac", sac);
        visit(a, "model_buffer", model_buffer);
        visit(a, "sac_buffer", sac_buffer);
        a.count("rollouts", rollouts);
    };
    if (resume) {
        resume_run(*resume, "run_mbpo", settings, mb.n_iter, state, fields);
        if (sink.resumed) sink.resumed(state.itr);
    }

    auto policy = [&](View<const float> obs, View<float> act) { sac.act(obs, act); };
    auto sac_rounds = [&](int itr, const Rollouts<float>& paths, const std::vector<double>&, IterationReport& report) {
        sac_buffer.add(paths);  // clean
        for (int k = 0; k < cfg.sac_n_iter; ++k) {
            if (cfg.rollout_length > 0) {
                Rng rrng(mb.seed, Stream::rollout, rollouts++);
                model_rollout<Env>(ens, sac, model_buffer, cfg.rollout_length, rrng, rollout_work, rollout,
                                   cfg.reward_pre_step, cfg.random_member);
                sac_buffer.add(rollout);
            }
            for (int s = 0; s < cfg.sac_train_steps; ++s) {
                sink.poll(itr);
                const int n = std::min(B, sac_buffer.size());
                Rng brng(mb.seed, Stream::sac_train, static_cast<uint64_t>(sac.training_step), 1);  // minibatch
                sample_distinct(sac_buffer.size(), n, brng, rows);
                sac_buffer.gather(rows, n, b_obs, b_act, b_rew, b_next, b_done);
                sac.train(b_obs.view(), b_act.view(), b_rew.view(), b_next.view(), b_done.view());
            }
        }
        if (sink.mbpo_buffers) sink.mbpo_buffers(MBPOIteration{itr, paths, model_buffer, sac_buffer});
        report.critic_loss = sac.last_critic_loss;
        report.alpha = sac.alpha();
    };
    model_based_loop(env, mb, ens, model_buffer, policy, state, sink, sac_rounds,
                     [&](std::ostream& out) { write_checkpoint(out, "run_mbpo", settings, state, fields); });
}

// =================================================================================================
// Appendix: speed. The tuned matrix multiply behind matmul()'s contract (section 4)
// =================================================================================================
// Goto/BLIS structure:
//  1. pack op(B) into column panels, zero-padded to whole vectors: panel p is [K + 1, width_p]
//     contiguous, its last row holding the bias (or zeros);
//  2. for every block of kMR rows of C and every panel, a micro-kernel keeps that kMR x width_p
//     block of C in vector registers while it runs over k: per k, kMR broadcasts of A, kNV vector
//     loads of B and kMR x kNV fused multiply-adds.
// The tile is chosen from the compiler's target macros so that its kMR x kNV accumulators, the
// kNV loaded vectors of B and one broadcast fit the vector registers:
//   AVX-512 (32 registers of 64 bytes)  12 x 2 vectors = 12 x 32 floats, 24 accumulators
//   AVX2/FMA (16 registers of 32 bytes)  6 x 2 vectors =  6 x 16 floats, 12 accumulators
//   aarch64 NEON (32 registers of 16 bytes) 8 x 3 vectors = 8 x 12 floats, 24 accumulators
//   anything else (16 registers of 16 bytes assumed) 4 x 3 vectors = 4 x 12 floats
// -DMBRL_MR=r and -DMBRL_NV=v override the tile (r in [1, 16], v in [1, 4]). The last panel is
// as narrow as its columns allow (21 outputs: 16 + 8 columns with AVX2, not 32).
// GCC and Clang's vector extensions name the vector type, so that the accumulators are registers
// by construction rather than by the auto-vectorizer's choice; other compilers get an array of
// the same width and plain loops (also with -DMBRL_PORTABLE_KERNEL). Both sum each element in the same order, with a*b + c fused
// into one FMA under -ffp-contract=fast, so every instruction set with FMA gives the same bits.
#if defined(__AVX512F__)
#define MBRL_VEC_BYTES 64
#define MBRL_TILE_MR 12
#define MBRL_TILE_NV 2
#elif defined(__AVX__)
#define MBRL_VEC_BYTES 32
#define MBRL_TILE_MR 6
#define MBRL_TILE_NV 2
#elif defined(__aarch64__) || defined(__ARM_NEON)
#define MBRL_VEC_BYTES 16
#define MBRL_TILE_MR 8
#define MBRL_TILE_NV 3
#else
#define MBRL_VEC_BYTES 16
#define MBRL_TILE_MR 4
#define MBRL_TILE_NV 3
#endif
#ifndef MBRL_MR
#define MBRL_MR MBRL_TILE_MR
#endif
#ifndef MBRL_NV
#define MBRL_NV MBRL_TILE_NV
#endif
constexpr int kMR = MBRL_MR;  // rows of C per micro-tile
constexpr int kNV = MBRL_NV;  // vectors of C per micro-tile row
static_assert(kMR >= 1 && kMR <= 16, "MBRL_MR must be in [1, 16]");
static_assert(kNV >= 1 && kNV <= 4, "MBRL_NV must be in [1, 4]");

// One vector of kW lanes of T, with the operations the micro-kernel needs.
template <class T>
struct Vec {
    static constexpr int kW = MBRL_VEC_BYTES / static_cast<int>(sizeof(T));  // lanes
#if defined(__GNUC__) && !defined(MBRL_PORTABLE_KERNEL)
    typedef T type __attribute__((vector_size(MBRL_VEC_BYTES)));
    static type load(const T* p) {
        type v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    static void store(T* p, type v) { std::memcpy(p, &v, sizeof v); }
    static type splat(T x) { return x - type{}; }  // x - 0 = x for every x, -0 included
    static void fma(type& acc, type a, type b) { acc += a * b; }
    // f applied to every lane; the same bits as activate(f, lane) of section 3.
    static type activate(Activation f, type x) {
        if constexpr (std::is_same<T, float>::value) {
            typedef std::int32_t mask __attribute__((vector_size(MBRL_VEC_BYTES)));
            // where m: a, else b (m from a vector comparison: all ones or all zeros per lane)
            auto select = [](mask m, type a, type b) { return (type)((m & (mask)a) | (~m & (mask)b)); };
            if (f == Activation::tanh) {
                x = select(x < -9.0f, splat(-9.0f), x);  // NaN compares false: it passes through
                x = select(x > 9.0f, splat(9.0f), x);
                return tanh_rational(x);
            }
            if (f == Activation::relu) return select(x > 0.0f, x, type{});
            return x;
        } else {
            for (int l = 0; l < kW; ++l) x[l] = mbrl::activate(f, x[l]);
            return x;
        }
    }
#else
    struct type {
        T x[kW];
    };
    static type load(const T* p) {
        type v;
        for (int l = 0; l < kW; ++l) v.x[l] = p[l];
        return v;
    }
    static void store(T* p, const type& v) {
        for (int l = 0; l < kW; ++l) p[l] = v.x[l];
    }
    static type splat(T x) {
        type v;
        for (int l = 0; l < kW; ++l) v.x[l] = x;
        return v;
    }
    static void fma(type& acc, const type& a, const type& b) {
        for (int l = 0; l < kW; ++l) acc.x[l] += a.x[l] * b.x[l];
    }
    static type activate(Activation f, type v) {
        for (int l = 0; l < kW; ++l) v.x[l] = mbrl::activate(f, v.x[l]);
        return v;
    }
#endif
};
template <class T>
constexpr int kNR = kNV * Vec<T>::kW;  // columns of a full panel

// The layout of a PackedB: panels of kNR columns (the last one narrower, a whole number of
// vectors), panel p [K + 1, panel_width(B, p)] contiguous at panel_data(B, p), the bias last.
template <class T>
int panel_count(const PackedB<T>& B) {
    return (B.N + kNR<T> - 1) / kNR<T>;
}
template <class T>
int panel_width(const PackedB<T>& B, int p) {  // kNR, or the last panel's columns in whole vectors
    constexpr int W = Vec<T>::kW;
    const int cols = std::min(kNR<T>, B.N - p * kNR<T>);
    return (cols + W - 1) / W * W;
}
template <class T>
const T* panel_data(const PackedB<T>& B, int p) {
    return B.data.data() + static_cast<std::size_t>(p) * (B.K + 1) * kNR<T>;
}

template <class T>
void pack_b(PackedB<T>& out, View<const T> B, bool tb, const T* bias) {
    constexpr int NR = kNR<T>;
    out.K = tb ? B.cols : B.rows;
    out.N = tb ? B.rows : B.cols;
    const int K = out.K, N = out.N;
    const std::size_t panel_size = static_cast<std::size_t>(K + 1) * NR;  // the last panel may use less
    if (out.data.size() < panel_count(out) * panel_size) out.data.resize(panel_count(out) * panel_size);
    const Strides sb = op_strides(B, tb);
    for (int p = 0; p < panel_count(out); ++p) {
        T* dst = out.data.data() + p * panel_size;
        const int j0 = p * NR, nr = std::min(NR, N - j0), w = panel_width(out, p);
        for (int k = 0; k < K; ++k) {
            for (int j = 0; j < nr; ++j) dst[k * w + j] = B.data[k * sb.rs + (j0 + j) * sb.cs];
            for (int j = nr; j < w; ++j) dst[k * w + j] = T(0);
        }
        for (int j = 0; j < w; ++j) dst[K * w + j] = bias && j < nr ? bias[j0 + j] : T(0);
    }
}

// C[MR, nr] (row stride ldc) = act(op(A)[MR, K] panel[K, :nr] + bias), or += op(A) panel, with
// the MR x NV vectors of accumulators held in registers over the whole loop over k.
template <class T, int MR, int NV>
inline void micro_kernel(int K, const T* a, Strides sa, const T* panel, T* c, int ldc, int nr, Activation act,
                         bool accumulate) {
    using V = Vec<T>;
    using VT = typename V::type;
    constexpr int W = V::kW, NW = NV * W;  // NW: this panel's stored width
    VT acc[MR][NV];
    for (int v = 0; v < NV; ++v) {
        const VT bias = V::load(panel + static_cast<std::ptrdiff_t>(K) * NW + v * W);
        for (int r = 0; r < MR; ++r) acc[r][v] = bias;
    }
    for (int k = 0; k < K; ++k) {
        VT b[NV];
        for (int v = 0; v < NV; ++v) b[v] = V::load(panel + static_cast<std::ptrdiff_t>(k) * NW + v * W);
        for (int r = 0; r < MR; ++r) {
            const VT ar = V::splat(a[r * sa.rs + k * sa.cs]);
            for (int v = 0; v < NV; ++v) V::fma(acc[r][v], ar, b[v]);
        }
    }
    if (!accumulate && act != Activation::identity)
        for (int r = 0; r < MR; ++r)
            for (int v = 0; v < NV; ++v) acc[r][v] = V::activate(act, acc[r][v]);
    for (int r = 0; r < MR; ++r) {
        T* cr = c + static_cast<std::ptrdiff_t>(r) * ldc;
        if (nr == NW && !accumulate) {  // the common case: straight from the registers
            for (int v = 0; v < NV; ++v) V::store(cr + v * W, acc[r][v]);
        } else {
            T row[NW];
            for (int v = 0; v < NV; ++v) V::store(row + v * W, acc[r][v]);
            if (accumulate)
                for (int j = 0; j < nr; ++j) cr[j] += row[j];
            else
                for (int j = 0; j < nr; ++j) cr[j] = row[j];
        }
    }
}

// A kernel compiled for exactly (mr, nv): mr rows left after the full blocks, nv vectors in the
// last, narrower panel. Recursion over the template arguments covers every pair up to (kMR, kNV).
template <class T, int MR, int NV>
inline void micro_kernel_for(int mr, int nv, int K, const T* a, Strides sa, const T* panel, T* c, int ldc, int nr,
                             Activation act, bool accumulate) {
    if (nv < NV) {
        if constexpr (NV > 1) micro_kernel_for<T, MR, NV - 1>(mr, nv, K, a, sa, panel, c, ldc, nr, act, accumulate);
    } else if (mr < MR) {
        if constexpr (MR > 1) micro_kernel_for<T, MR - 1, NV>(mr, nv, K, a, sa, panel, c, ldc, nr, act, accumulate);
    } else {
        micro_kernel<T, MR, NV>(K, a, sa, panel, c, ldc, nr, act, accumulate);
    }
}

// Large products are split over OpenMP threads by row blocks (inside a parallel region: on the
// calling thread).
template <class T>
void matmul_packed(View<T> C, View<const T> A, bool ta, const PackedB<T>& B, Activation act, bool accumulate) {
    const int M = ta ? A.cols : A.rows, K = ta ? A.rows : A.cols;
    if (K != B.K || C.rows != M || C.cols != B.N)
        fail("matmul: op(A) ", shape_str(M, K), " times packed B ", shape_str(B.K, B.N), " into C ",
             shape_str(C.rows, C.cols), " does not fit");
    constexpr int NR = kNR<T>, W = Vec<T>::kW;
    const int N = B.N, blocks = (M + kMR - 1) / kMR;
    if (M == 0 || N == 0) return;
    const Strides sa = op_strides(A, ta);
    const double flops = 2.0 * M * N * K;
    (void)flops;
    ParallelErrors errors;  // nothing here throws today; the guard keeps it so
    MBRL_OMP(parallel for schedule(static) if (flops > 4e6))
    for (int blk = 0; blk < blocks; ++blk) {
        errors.run(blk, [&] {
            const int i0 = blk * kMR, mr = std::min(kMR, M - i0);
            const T* a = A.data + i0 * sa.rs;
            for (int p = 0; p < panel_count(B); ++p) {
                const int j0 = p * NR;
                micro_kernel_for<T, kMR, kNV>(mr, panel_width(B, p) / W, K, a, sa, panel_data(B, p), C.row(i0) + j0,
                                              N, std::min(NR, N - j0), act, accumulate);
            }
        });
    }
    errors.rethrow();
}

// Fewer rows than a micro-tile (one observation, say): packing B would cost more than the product,
// so each row of C streams through the rows of B instead, accumulating in scratch's memory. Every
// element is summed in the same order as by the micro-kernel (bias first, then k = 0, 1, ...).
template <class T>
void matmul_few_rows(View<T> C, View<const T> A, bool ta, View<const T> B, Epilogue<T> ep, PackedB<T>& scratch) {
    const int N = C.cols, K = B.rows;
    const Strides sa = op_strides(A, ta);
    if (scratch.data.size() < static_cast<std::size_t>(N)) scratch.data.resize(N);
    T* acc = scratch.data.data();  // [N]
    for (int i = 0; i < C.rows; ++i) {
        for (int j = 0; j < N; ++j) acc[j] = ep.bias ? ep.bias[j] : T(0);
        for (int k = 0; k < K; ++k) {
            const T a = A.data[i * sa.rs + k * sa.cs];
            const T* b = B.row(k);
            for (int j = 0; j < N; ++j) acc[j] += a * b[j];
        }
        T* c = C.row(i);
        if (ep.accumulate) {
            for (int j = 0; j < N; ++j) c[j] += acc[j];
        } else {
            for (int j = 0; j < N; ++j) c[j] = activate(ep.act, acc[j]);
        }
    }
    scratch.K = scratch.N = 0;  // scratch holds no packed matrix now
}

template <class T>
void matmul_tuned(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, Epilogue<T> ep, PackedB<T>& scratch) {
    if (C.rows < kMR && !tb) return matmul_few_rows(C, A, ta, B, ep, scratch);
    pack_b(scratch, B, tb, ep.bias);
    matmul_packed(C, A, ta, scratch, ep.act, ep.accumulate);
}

}  // namespace mbrl
#endif  // MBRL_HPP
