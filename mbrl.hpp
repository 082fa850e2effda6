// mbrl.hpp: model-based reinforcement learning in one C++17 header
//
// A readable CPU implementation that is also fast, of what the CS285 (fall 2022) homework 4 asks
// for: an ensemble of neural dynamics models, model-predictive control by random shooting and the
// cross-entropy method, model-based RL with on-policy data aggregation (Algorithm 1), soft
// actor-critic and MBPO. Beyond the homework, with defaults that keep its behaviour: Gaussian
// members and trajectory sampling (PETS), planning on a true simulator, model diagnostics.
// Standard C++17 only; a few OpenMP pragmas use more cores and compile away without -fopenmp.
//
// USE
//   #include "mbrl.hpp"                   // everything is in namespace mbrl
//   g++ -std=c++17 -O2 -fopenmp app.cpp   // no -march needed: see SPEED below
// examples/minimal.cpp is a whole program: collect data, train an ensemble, plan with CEM. The
// whole homework loop is one call, run_mb(env, MBConfig{...}, sink) (MBPO: run_mbpo). The library
// opens no file: it reports every iteration to the caller's RunSink. mbrl_checkpoint.hpp (beside
// this file) saves and resumes runs through streams; examples/run_log.hpp writes a run directory.
//
// READING ORDER
//   Part I, the algorithms of the homework, each section using only those above it:
//    1. Utilities: errors, counter-based random numbers     8. Normalization statistics
//    2. Tensor: row-major matrices (Tensor, View)           9. Dynamics ensemble (Eqs. 5, 6, 9)
//    3. Activations                                        10. Rollouts and the replay buffer
//    4. The kernel contract: matmul, packed forward,       11. MPC: random shooting, CEM (Eq. 8)
//       Adam's update, normals, elementwise, parallel      12. Soft actor-critic
//    5. Dense layer and MLP, forward beside backward       13. Algorithm 1: run_mb
//    6. Loss: mean squared error                           14. MBPO: run_mbpo
//    7. Adam
//   Part II, machinery: 15. settings (one field table per config) and the environment concept;
//   16. reports and model diagnostics; 17. the numerics that fix the bits (fused multiply-adds,
//   tanh, exp, log, normal pairs, bf16); 18. parallel loops; 19. the reference kernel (plain
//   loops); 20. choosing the kernel.
//   Part III, beyond the homework: 21. Gaussian members, trajectory sampling (PETS), planning on
//   a true simulator.
//
// CONVENTIONS
// - Matrices are row-major, shapes [rows, cols], a batch being rows; each buffer's comment gives
//   its shape. Weights are W [in, out], so a layer's forward pass is X W.
// - T is float for speed, double for gradient checks (then tanh, exp and log are exact).
// - Each struct keeps its parameters, its optimizer state and its scratch apart; scratch lives in
//   *Work structs, sized once: hot loops allocate nothing.
// - Arrays cross the API as View (a pointer and a shape); a std::vector is a View of one row.
// - Random numbers are pure functions of (seed, purpose, step, index) (Rng), and every fused
//   multiply-add is written out (std::fma): results are bit-identical for any OMP_NUM_THREADS,
//   compiler flags and CPU.
// - Bad input throws std::invalid_argument naming the argument and the shapes; a setting out of
//   range throws ConfigError naming its command-line flag; a caller's exception inside a
//   parallel loop is rethrown after it (parallel_for).
// - An environment is a type with obs_dim(), act_dim(), ep_len(), act_low(j), act_high(j),
//   reset(rng, obs), step(act, obs, done) -> reward and a static batched reward(obs, act, n, rew,
//   done) (docs/environments.md; check_environment, section 15, names what a type lacks).
//
// SPEED: Part I reaches speed only through section 4's contract. mbrl_kernel.hpp, beside this
// file, implements it with register-tiled micro-kernels (packed panels, bias and activation fused
// in; the planner's forward turned around, the batch along the vector lanes) and whole-vector
// elementwise work, one copy per instruction set (AVX-512, AVX-512 with bf16 dot products, AVX2,
// NEON) in every program whatever its flags; the first call picks the best this CPU runs
// (MBRL_KERNEL=<name> forces one; kernel_name() says which). Without that file, the reference
// kernel (section 19, plain loops) runs, slower, with the same bits. No BLAS, GPU or autodiff
// graph. `make bench` reports the speed as ratios to the machine's FMA peak and to PyTorch.
#ifndef MBRL_HPP
#define MBRL_HPP

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
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
// PART I: THE ALGORITHMS
// =================================================================================================

// =================================================================================================
// 1. Utilities: errors, counter-based random numbers
// =================================================================================================

// Every error this library reports is a std::invalid_argument (bad shapes, sizes, NaN input,
// a setting out of range, an unreadable checkpoint); the one exception is Interrupted (section
// 13), a stop the caller asked for. fail() builds the message from its parts.
template <class... Parts>
[[noreturn]] inline void fail(const Parts&... parts) {
    std::ostringstream s;
    (s << ... << parts);
    throw std::invalid_argument(s.str());
}

// A setting out of range, thrown by the validate() of every config (section 15). `field` is the
// setting's name as the reference's flag spells it, without "--" (so the command line can name
// its flag), `problem` what is wrong ("must be positive, got 0").
struct ConfigError : std::invalid_argument {
    std::string field, problem;
    ConfigError(const std::string& config, const std::string& f, const std::string& p)
        : std::invalid_argument(config + ": " + f + " " + p), field(f), problem(p) {}
};

// n standard normals, two per pair of uniforms, from draw `counter` + 1 on of the stream `key`
// (section 4's kernel contract).
inline void normal_block(uint64_t key, uint64_t counter, float* out, int n);

// Fused multiply-adds are written out: a b + c is std::fma(a, b, c) where it is one rounding, and
// unfused(a * b) + c where it is two (a compiler may fuse a plain a * b + c or not, depending on
// its flags and on the CPU it tunes for).
template <class T>
inline T unfused(T x);  // x, which no compiler may fuse into a following addition (section 17)

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
    video,        // the resets of the episodes a RunSink's videos show (not the run's)
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
    // Skips n draws: the stream then continues as if they had been made.
    void discard(uint64_t n) { counter += n; }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return std::fma(hi - lo, uniform(), lo); }
    // Standard normal by Box-Muller (one of the pair is used; the stream stays stateless). It
    // takes kDrawsPerNormal draws, so the i-th normal of a stream can be drawn on its own.
    static constexpr uint64_t kDrawsPerNormal = 2;
    double normal() {
        const double u1 = 1.0 - uniform();  // (0, 1]
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    // n standard normals into out [n], two per pair of uniforms (fast_normal_pair, section 17):
    // faster than n normal() calls, and different numbers. Allocates nothing.
    void normals(float* out, int n) {
        normal_block(key, counter, out, n);
        counter += 2 * static_cast<uint64_t>((n + 1) / 2);  // two draws a pair
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

// Storage aligned to 64 bytes (a cache line, and the widest vector register).
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
// 3. Activations
// =================================================================================================
enum class Activation { identity, tanh, relu };

// tanh in the network's precision: in float a rational approximation (section 17: relative error
// below 4e-7, many times faster than std::tanh), in double (gradient checks) exact.
inline float fast_tanh(float x);
inline float tanh_fast_in_float(float x) { return fast_tanh(x); }
inline double tanh_fast_in_float(double x) { return std::tanh(x); }

// The logistic function and softplus(x) = ln(1 + e^x), exact (double).
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double softplus(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

// y = f(x)
template <class T>
inline T activate(Activation f, T x) {
    return f == Activation::tanh ? tanh_fast_in_float(x) : f == Activation::relu ? (x > T(0) ? x : T(0)) : x;
}
// dy *= f'(x) over n values, written with the forward output y = f(x): tanh' = 1 - y^2 (one
// fused multiply-add), relu' = [y > 0], identity' = 1. (Elementwise work of every backward pass:
// the kernel's, section 4; the loop is section 19's.)
template <class T>
void activation_backward(Activation f, const T* y, T* dy, std::size_t n);

// =================================================================================================
// 4. The kernel contract: matrix multiply, packed forward, Adam's update, normals, elementwise, parallel loops
// =================================================================================================
// Part I asks for speed here and nowhere else. Each piece has a reference implementation in plain
// loops (section 19) and a tuned one in mbrl_kernel.hpp (beside this file), picked when the
// program first needs one (section 20: kernel() is the one that runs, kernel_name() its name). Both sum every element in one
// order with the same fused multiply-adds, so they give the same bits.

// Matrix multiply: C = op(A) op(B), op(X) being X or its transpose X^T (flag `ta` / `tb`); shapes
// op(A) [M, K], op(B) [K, N], C [M, N]. With weights stored W [in, out], the three products of a
// dense layer are all of this form:
//   forward  Y  = X W       matmul(Y, X, false, W, false)
//   weights  dW = X^T dY    matmul(dW, X, true, dY, false)
//   inputs   dX = dY W^T    matmul(dX, dY, false, W, true)
// Each element of C is summed as act(bias + a_0 b_0 + a_1 b_1 + ...), each term one fused
// multiply-add, whatever the blocking, the thread or the instruction set.

// What is done to each element of C once its sum over k is complete: C = act(sum + bias) (a
// dense layer's forward in one pass), or C += sum.
template <class T>
struct Epilogue {
    const T* bias = nullptr;  // [N], or nullptr
    Activation act = Activation::identity;
    bool accumulate = false;
};
// The kernel's working memory for products (op(B) copied into its layout), owned by whoever
// multiplies (an MLPWork has one): nothing is cached behind the caller's back.
struct MatmulScratch {
    Buffer<float> data;
    int K = 0, N = 0;
};
// C = act(op(A) op(B) + bias) or C += op(A) op(B), as the epilogue says.
template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, Epilogue<T> ep, MatmulScratch& scratch);

// The packed forward: a stack of dense layers y_{l+1} = f_l(y_l W_l + b_l) (f_l = act, the last
// one identity) through weights copied once into the kernel's layout, for many batches through
// unchanged weights (the planner's). Every element is summed as by matmul, so the result has the
// same bits as the layer-by-layer forward.
// Opt-in, in float: products in bf16 (8 significant bits) summed in float, for CPUs with bf16 dot
// products (AVX512_BF16). Weights and each layer's input are rounded to bf16 (nearest even); every
// element is then bias + x_0 w_0 + x_1 w_1 + ..., one rounding per term (section 17).
struct Kernel;
template <class T>
struct PackedLayer {
    Buffer<T> data;                     // W and b in the kernel's layout
    Buffer<uint32_t> bf16;              // with bf16 products: W rounded, in the kernel's layout
    int in = 0, out = 0;
    const Kernel* packed_by = nullptr;  // the kernel whose layout this is
};
template <class T>
struct PackedLayers {
    std::vector<PackedLayer<T>> layer;  // [layers]
    Activation act = Activation::tanh;  // of every layer but the last
    bool bf16 = false;                  // products in bf16 (float only)
};
template <class T>
struct ForwardScratch {  // the activations between layers, in the kernel's layout
    Buffer<T> fm[2];
    Buffer<uint32_t> pairs;
    // Room for a batch of up to `rows` rows and `features` features in any kernel's layout (its
    // panels round the rows up by less than 64), so that forwards of that size allocate nothing.
    void reserve(int rows, int features) {
        const std::size_t n = static_cast<std::size_t>(rows + 64) * (features + 1);
        for (Buffer<T>& f : fm)
            if (f.size() < n) f.resize(n);
        if (pairs.size() < n / 2 + 1) pairs.resize(n / 2 + 1);
    }
};
// out = W [in, outputs] and b [outputs] in the kernel's layout.
template <class T>
void pack_layer(PackedLayer<T>& out, const T* W, const T* b, int in, int outputs, bool bf16);
// Y [B, out] from X [B, in] through the packed layers.
template <class T>
void forward_packed(const PackedLayers<T>& net, View<const T> X, View<T> Y, ForwardScratch<T>& scratch);

// out = x + (y scale + shift), column j scaled by scale[j] and shifted by shift[j] (one fused
// multiply-add), for `rows` rows of `cols` columns; ld* are the row strides. A model's
// prediction s' = s + unnormalize(y) (section 9), for every row the planner predicts.
template <class T>
void residual_affine(int rows, int cols, const T* x, int ldx, const T* y, int ldy, const T* scale, const T* shift,
                     T* out, int ldo);

// Elementwise functions on `rows` rows of `cols` columns (ld*: the row strides): out = f(x) for
// f = e^x or softplus(x) = ln(1 + e^x) (section 17's formulas in float, exact in double), and
// out = a b + c with one rounding. The Gaussian draws of probabilistic members (section 21).
enum class Elementwise { exp, softplus };
template <class T>
void map_rows(Elementwise f, int rows, int cols, const T* x, int ldx, T* out, int ldo);
template <class T>
void fma_rows(int rows, int cols, const T* a, int lda, const T* b, int ldb, const T* c, int ldc, T* out, int ldo);
// y = a x + b y over n values, each std::fma(a, x_i, b y_i): Polyak averaging (SAC's targets).
template <class T>
void axpby(std::ptrdiff_t n, T a, const T* x, T b, T* y);

// Adam's update (section 7) of params[0, n), each element by adam_param.
template <class T>
struct AdamStep;
template <class T>
void adam_update(T* params, const T* grads, T* m, T* v, std::ptrdiff_t n, const AdamStep<T>& c);

// (normal_block, the n normals of Rng::normals, is declared in section 1.)

// body(i) for i in [0, n), split over the OpenMP threads when `parallel` is true (and this is not
// already inside a parallel region). An exception thrown by a body (a reward function, a
// simulator: the caller's code) is caught and rethrown after the loop: the one of the lowest i,
// whatever the number of threads (section 18).
template <class Body>
void parallel_for(long n, bool parallel, Body&& body);
template <class Body>
void parallel_for(long n, Body&& body) {
    parallel_for(n, true, body);
}
// Elementwise loops at least this long (Adam, sums of gradient slices, the target networks'
// update, packing) are split over the threads; each element is computed alone, so any split gives
// the same bits.
constexpr std::ptrdiff_t kParallelElements = 1 << 15;
// Loops over rows that call the math library per element (SAC's policy) are split from this many rows.
constexpr int kParallelRows = 64;

// =================================================================================================
// 5. Dense layer and MLP (each forward beside its backward)
// =================================================================================================
// Letters: B batch rows, I layer inputs, O layer outputs. Weights are stored W [I, O] (the
// transpose of PyTorch's nn.Linear.weight [O, I]) so that the forward is a plain X W.

// y[B, O] = f(x[B, I] W[I, O] + b[O]), the activation f applied in the same pass; `scratch` is
// for the product.
template <class T>
void linear_forward(View<T> y, View<const T> x, const T* W, const T* b, Activation f, MatmulScratch& scratch) {
    matmul(y, x, false, View<const T>(W, x.cols, y.cols), false, Epilogue<T>{b, f, false}, scratch);
}
// Given dy[B, O]: dW[I, O] = x^T dy, db[O] = sum over rows of dy, and dx[B, I] = dy W^T (skipped
// when dx is empty: the first layer's input needs no gradient). `scratch` is for the products.
template <class T>
void linear_backward(View<T> dx, T* dW, T* db, View<const T> dy, View<const T> x, const T* W, MatmulScratch& scratch) {
    matmul(View<T>(dW, x.cols, dy.cols), x, true, dy, false, Epilogue<T>{}, scratch);
    for (int j = 0; j < dy.cols; ++j) db[j] = T(0);
    for (int i = 0; i < dy.rows; ++i) {
        const T* di = dy.row(i);
        for (int j = 0; j < dy.cols; ++j) db[j] += di[j];
    }
    if (dx.data) matmul(dx, dy, false, View<const T>(W, x.cols, dy.cols), true, Epilogue<T>{}, scratch);
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

// Every layer of `net` packed for the kernel's forward (section 4), for many batches through
// unchanged weights: a planning call packs each member once and runs thousands of batches
// through it. bf16: products in bf16, summed in float (float networks only).
template <class T>
void pack_mlp(const MLP<T>& net, PackedLayers<T>& p, bool bf16 = false) {
    if (bf16 && !std::is_same<T, float>::value) fail("pack_mlp: bf16 products are for float networks");
    p.layer.resize(net.layers());
    p.act = net.act;
    p.bf16 = bf16;
    for (int l = 0; l < net.layers(); ++l)
        pack_layer(p.layer[l], net.W(l), net.b(l), net.widths[l], net.widths[l + 1], bf16);
}

// The activations of one batch through an MLP, sized once for up to `max_batch` rows and reused:
// forward and backward never allocate.
template <class T>
struct MLPWork {
    std::vector<Tensor<T>> a;  // a[0] = input [B, in]; a[l+1] = output of layer l [B, widths[l+1]]
    Tensor<T> g, g_next;       // gradient scratch [B, max width], swapped layer by layer
    MatmulScratch scratch;     // the products' scratch
    ForwardScratch<T> packed;  // the packed forward's
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
        packed.reserve(batch, widest);
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
// The same through weights packed beforehand (pack_mlp), for many passes through unchanged weights:
// the same bits. It fills only the input and the output of `work` (no hidden activations for a
// backward pass).
template <class T>
View<T> mlp_forward(const PackedLayers<T>& net, MLPWork<T>& work) {
    forward_packed<T>(net, work.a[0].view(), work.output(), work.packed);
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
        sum += unfused(d * d);
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
// One step's constants, and the update of one parameter p with gradient g and moments m, v (each
// updated in place), with fused multiply-adds where written. (The tuned kernel runs the same
// operations on whole vectors: the same bits.)
template <class T>
struct AdamStep {
    T beta1, beta2, step_size, inv_sqrt_bc2, eps;  // step_size = lr / (1 - b1^t), inv_sqrt_bc2 = 1 / sqrt(1 - b2^t)
};
template <class T>
inline void adam_param(T& p, T g, T& m, T& v, const AdamStep<T>& c) {
    m = std::fma(c.beta1, m, (T(1) - c.beta1) * g);
    v = std::fma(c.beta2, v, (T(1) - c.beta2) * g * g);
    p = p - c.step_size * m / std::fma(std::sqrt(v), c.inv_sqrt_bc2, c.eps);
}

template <class T>
struct Adam {
    T lr = T(1e-3), beta1 = T(0.9), beta2 = T(0.999), eps = T(1e-8);
    long t = 0;     // steps taken
    Buffer<T> m, v;  // first and second moment estimates [n]

    Adam() = default;
    Adam(std::size_t n, T learning_rate) : lr(learning_rate), m(n, T(0)), v(n, T(0)) {
        if (!(learning_rate > T(0))) fail("Adam: learning rate must be positive, got ", learning_rate);
    }
    // One update of params[n] from grads[n], written as PyTorch computes it (adam_param below),
    // with one bias correction for the whole step:
    //   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    //   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    void step(T* params, const T* grads) {
        ++t;
        const T bc1 = T(1) - static_cast<T>(std::pow(static_cast<double>(beta1), static_cast<double>(t)));
        const T bc2 = T(1) - static_cast<T>(std::pow(static_cast<double>(beta2), static_cast<double>(t)));
        adam_update(params, grads, m.data(), v.data(), static_cast<std::ptrdiff_t>(m.size()),
                    AdamStep<T>{beta1, beta2, lr / bc1, T(1) / std::sqrt(bc2), eps});
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
                ss[j] = std::fma(d, d, ss[j]);
            }
        for (int j = 0; j < x.cols; ++j) std[j] = static_cast<T>(std::sqrt(ss[j] / x.rows));
    }
    T normalize(T x, int j) const { return static_cast<T>((x - mean[j]) / (std[j] + kEps)); }
    T unnormalize(T y, int j) const { return std::fma(y, std[j], mean[j]); }
};

// =================================================================================================
// 9. Dynamics model and ensemble (assignment Eqs. 1-6 and 9; reference section 3.3)
// =================================================================================================
// Member n is an MLP f_n: [normalize(s), normalize(a)] -> normalized state change. It is trained
// on Eq. 5, || normalize(s' - s) - f_n(s, a) ||^2 averaged as nn.MSELoss does, and predicts with
// Eq. 6, s' = s + unnormalize(f_n(s, a)). Probabilistic members (PETS) output a mean and a bounded
// log-variance, train on the Gaussian likelihood and predict draws of it: section 21.

enum class ModelType { deterministic, probabilistic };



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

// The scratch of Ensemble::train_step, one set per slice (N members x kSlices slices of rows).
template <class T>
struct EnsembleWork {
    std::vector<MLPWork<T>> mlp;         // [N * kSlices] activations of a slice
    std::vector<Tensor<T>> target;       // [N * kSlices] x [rows, ob_dim]: normalize(s' - s), Eq. 5
    std::vector<Tensor<T>> dout;         // [N * kSlices] x [rows, outputs]: dLoss/dOutput
    std::vector<Buffer<T>> grads;        // [N * kSlices] x [params]: the slice's share of the gradient
    std::vector<Buffer<T>> bound_grads;  // [N * kSlices] x [2 D]: its share of the bounds' (probabilistic)
    std::vector<T> loss;                 // [N * kSlices] the slice's share of its member's loss
    Tensor<T> delta;                     // [rows of data, ob_dim] s' - s, for the statistics
};

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
    // Sampling state and results of training:
    std::vector<int> perm;    // [rows of data] a permutation, partly reshuffled every step
    std::vector<T> losses;    // [N] each member's loss at the last step
    // Training: each member's minibatch is cut into kSlices slices of rows, and the E x kSlices
    // slices run in parallel, each with its own scratch; a member's gradient is the sum of its
    // slices' gradients, always in the same order. kSlices is a constant, not the thread count,
    // so the result does not depend on the number of threads; with 2 slices, 3 members still
    // keep 2 threads equally busy.
    static constexpr int kSlices = 2;
    EnsembleWork<T> train_work;

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
        if (probabilistic()) train_work.bound_grads.assign(n_models * kSlices, Buffer<T>(2 * ob_dim, T(0)));
        train_work.mlp.resize(n_models * kSlices);
        train_work.target.resize(n_models * kSlices);
        train_work.dout.resize(n_models * kSlices);
        train_work.grads.resize(n_models * kSlices);
        for (int j = 0; j < n_models * kSlices; ++j) train_work.grads[j].assign(nets[j / kSlices].size(), T(0));
        train_work.loss.assign(n_models * kSlices, T(0));
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
        train_work.delta.resize(obs.rows, obs_dim);
        for (std::size_t i = 0; i < obs.size(); ++i) train_work.delta.data()[i] = next_obs.data[i] - obs.data[i];
        stats.obs.fit(obs);
        stats.act.fit(act);
        stats.delta.fit(train_work.delta.view());
    }

    // Eq. 6 with member m: next_obs [B, ob_dim] = obs + unnormalize(f_m([normalize(obs), normalize(act)])).
    // `w` must be reserved for at least B rows (MLPWork(nets[m], B)); nothing is allocated.
    // `packed`, if given, is pack_mlp of member m.
    void predict(int m, View<const T> obs, View<const T> act, View<T> next_obs, MLPWork<T>& w,
                 const PackedLayers<T>* packed = nullptr) const {
        const MLP<T>& net = nets[m];
        model_input(w.start_batch(net, obs.rows), obs, act, stats);
        View<const T> y = packed ? mlp_forward(*packed, w) : mlp_forward(net, w);  // [B, D] or [B, 2 D]: mean first
        // next_obs(i, j) = obs(i, j) + stats.delta.unnormalize(y(i, j), j), for every row at once
        residual_affine(obs.rows, obs_dim, obs.data, obs.cols, y.data, y.cols, stats.delta.std.data(),
                        stats.delta.mean.data(), next_obs.data, next_obs.cols);
    }

    // A draw of member m's Gaussian (probabilistic members, section 21): next_obs [B, ob_dim] = obs +
    // unnormalize(mu + exp(lv / 2) eps), eps [B, ob_dim] standard normal given by the caller.
    // Deterministic members ignore eps (same as predict). Nothing is allocated.
    void predict_sample(int m, View<const T> obs, View<const T> act, View<T> next_obs, View<const T> eps,
                        MLPWork<T>& w, const PackedLayers<T>* packed = nullptr) const;
    void bounded_logvars(int m, View<const T> y, T* lv, int ldl) const;  // (section 21)

    // One training step of every member (Eq. 5 and Adam), each on its own minibatch of `batch` rows
    // drawn without replacement, disjoint across members (reference: B x N rows from one
    // permutation, member n takes the n-th slice). Returns the mean over members of their losses,
    // the reference's 'Training Loss'.
    T train_step(View<const T> obs, View<const T> act, View<const T> next_obs, int batch, Rng& rng) {
        check_data(obs, act, next_obs);
        const int B = draw_minibatches(obs.rows, batch, rng);  // member m's rows: perm[m B, (m + 1) B)
        parallel_for(size() * kSlices, [&](long job) {  // loss and gradient of every slice
            const Slice sl = slice(static_cast<int>(job), B);
            slice_gradient(static_cast<int>(job), sl.member, perm.data() + sl.member * B + sl.r0, sl.rows, B, obs, act,
                           next_obs);
        });
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
        for (int s = 0; s < kSlices; ++s) losses[m] += train_work.loss[m * kSlices + s];
        const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(net.grads.size());
        MBRL_OMP(parallel for schedule(static) if (n >= kParallelElements))
        for (std::ptrdiff_t i = 0; i < n; ++i) {  // 0 + slice 0 + slice 1 + ..., in that order
            T sum = T(0);
            for (int s = 0; s < kSlices; ++s) sum += train_work.grads[m * kSlices + s][i];
            net.grads[i] = sum;
        }
        if (probabilistic()) gather_bound_gradient(m);
    }
    void gather_bound_gradient(int m);  // the same for the log-variance bounds, and their penalty (section 21)

    // Member m's share of Eq. 5 on `rows` rows idx[0..rows) of its minibatch of B rows: x =
    // [normalize(s), normalize(a)], target normalize(s' - s), the MSE's part (sum over these rows
    // / (B ob_dim)) and its gradient into train_work.grads[job]. Probabilistic members: the Gaussian NLL's
    // part instead (the bound penalty is added once per member, by gather_gradient), and the
    // bounds' gradient into train_work.bound_grads[job].
    void slice_gradient(int job, int m, const int* idx, int rows, int B, View<const T> obs, View<const T> act,
                        View<const T> next_obs) {
        const MLP<T>& net = nets[m];
        EnsembleWork<T>& w = train_work;
        if (probabilistic()) std::fill(w.bound_grads[job].begin(), w.bound_grads[job].end(), T(0));
        if (rows == 0) {
            std::fill(w.grads[job].begin(), w.grads[job].end(), T(0));
            w.loss[job] = 0;
            return;
        }
        if (w.mlp[job].max_batch < rows) w.mlp[job].reserve(net, rows);
        w.target[job].resize(rows, obs_dim);
        w.dout[job].resize(rows, net.out());
        model_input(w.mlp[job].start_batch(net, rows), obs, act, stats, idx);
        model_target(w.target[job].view(), obs, next_obs, stats, idx);
        View<const T> y = mlp_forward(net, w.mlp[job]);
        if (probabilistic()) {
            w.loss[job] = gaussian_nll(m, y, w.target[job].view(), w.dout[job].view(), B, w.bound_grads[job].data());
        } else {
            w.loss[job] = mse_forward<T>(y, w.target[job].view()) * static_cast<T>(rows) / static_cast<T>(B);
            mse_backward<T>(w.dout[job].view(), y, w.target[job].view(), static_cast<std::size_t>(B) * obs_dim);
        }
        mlp_backward<T>(net, w.mlp[job], w.dout[job].view(), View<T>(), w.grads[job].data());
    }

    // The Gaussian NLL of member m's slice and its gradient (section 21).
    T gaussian_nll(int m, View<const T> y, View<const T> label, View<T> dy, int B, T* dbounds) const;

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

// An environment's members, checked at compile time with one message per missing member
// (section 15; docs/environments.md describes each).
template <class Env>
constexpr bool check_environment();

// Runs whole paths until at least min_steps steps are collected (reference sample_trajectories).
// A path ends at done or after max_len steps; its last step is marked terminal either way.
// The k-th reset of the env draws from Rng(seed, Stream::reset, k), counted by *episodes.
// policy(obs, act) writes the action for obs: View<const T> [1, ob_dim] -> View<T> [1, ac_dim].
// The env speaks std::vector<float> (the edge); out holds T.
template <class Env, class Policy, class T>
void sample_trajectories(Env& env, Policy&& policy, int min_steps, int max_len, uint64_t seed,
                         uint64_t* episodes, Rollouts<T>& out) {
    static_assert(check_environment<Env>(), "mbrl: sample_trajectories needs an environment");
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
        for (int i = r0; i < r0 + n; ++i) x(i, j) = static_cast<T>(std::fma(std, rng.normal(), static_cast<double>(x(i, j))));
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
// After CEM: trajectory sampling (PETS) and scoring on a true simulator, two other ways to score.

// The environment's batched reward: obs [n, ob_dim], act [n, ac_dim] -> rew [n], done [n] (or null).
template <class T>
using RewardFn = void (*)(const T* obs, const T* act, int n, T* rew, T* done);

// How the planner carries a candidate through the learned model: one mean rollout per member
// (the homework), or particles (trajectory sampling, below).
enum class Propagation { expectation, ts1, tsinf };

struct MPCConfig {
    int horizon = 10;           // H
    int num_sequences = 1000;   // K
    bool cem = false;           // false: random shooting
    int cem_iterations = 4;     // M
    int cem_num_elites = 5;     // J
    double cem_alpha = 1.0;     // smoothing: new = alpha * elite statistic + (1 - alpha) * old
    Propagation propagation = Propagation::expectation;
    int particles = 0;          // P per candidate with ts1 / tsinf; 0: one per member
    bool true_model = false;    // score on the true simulator (run_mb then needs a TrueModel)
    bool bf16 = false;          // the model's products in bf16, summed in float (section 4)

    // The field table (section 15): the reference's flags, then (beyond) those it lacks.
    template <class V>
    void fields(V&& f, bool beyond);  // section 15
    template <class V>
    void fields(V&& f) {
        fields(f, false);
        fields(f, true);
    }
    // Throws ConfigError naming the first setting out of range (section 15). The CEM settings are
    // checked with random shooting too, so a run can switch to CEM.
    void validate() const;
};

template <class T>
struct TrueModel;  // a true simulator to score candidates on (section 21)

// The planner shares ownership of the ensemble it plans with (the caller keeps training it
// through its own shared_ptr), so no move or copy of anything can leave the planner dangling.
template <class T>
struct MPC {
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
            for (int e = 0; e < J; ++e) v += unfused((cand(order[e], d) - m) * (cand(order[e], d) - m));
            v = std::sqrt(v / J);  // population std
            mu[d] = static_cast<T>(std::fma(alpha, m, (1 - alpha) * mu[d]));
            sigma[d] = static_cast<T>(std::fma(alpha, v, (1 - alpha) * sigma[d]));
        }
    }

    // cand: round 0 uniform in the bounds, later rounds from N(mu, sigma), clipped to the bounds.
    void sample(uint64_t call, int round) {
        const int K = cfg.num_sequences, D = cfg.horizon * ac_dim;
        parallel_for(K, [&](long i) {
            Rng rng(seed, Stream::plan, call, static_cast<uint64_t>(round) * K + static_cast<uint64_t>(i));
            T* c = cand.row(static_cast<int>(i));
            for (int d = 0; d < D; ++d) {
                const int j = d % ac_dim;
                const double x = round == 0 ? rng.uniform(low[j], high[j]) : std::fma(sigma[d], rng.normal(), mu[d]);
                c[d] = static_cast<T>(std::min<double>(high[j], std::max<double>(low[j], x)));
            }
        });
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

    // Scores every candidate in `cand` from the real observation obs [1, ob_dim] into mean_score.
    // (call, round) key the particles' random numbers (trajectory sampling).
    void evaluate(View<const T> obs, uint64_t call = 0, int round = 0) {
        check_shape(obs, 1, ob_dim, "MPC::evaluate: observation");
        if (truth) return evaluate_true();                                                          // section 21
        if (cfg.propagation != Propagation::expectation) return evaluate_sampled(obs, call, round);  // section 21
        const int E = model->size(), K = cfg.num_sequences, H = cfg.horizon;
        packed.resize(E);
        for (int m = 0; m < E; ++m) pack_mlp(model->nets[m], packed[m], cfg.bf16);
        parallel_for(static_cast<long>(jobs.size()), [&](long j) {  // job j: member j / blocks, block j % blocks
            JobWork& job = jobs[j];
            const int m = static_cast<int>(j / blocks), i0 = static_cast<int>(j % blocks) * block, n = std::min(block, K - i0);
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
                model->predict(m, s, a, s2, job.work, &packed[m]);  // s_{t+1} = s_t + f_m(s_t, a_t)
                reward(s2.data, a.data, n, job.r.data(), nullptr);    // R(s_{t+1})
                for (int i = 0; i < n; ++i) total[i] += job.r.data()[i];
                std::swap(s.data, s2.data);
            }
        });
        for (int i = 0; i < K; ++i) {
            T sum = 0;
            for (int m = 0; m < E; ++m) sum += score(m, i);
            mean_score[i] = sum / static_cast<T>(E);
        }
    }

    // Trajectory sampling and planning on a true simulator (section 21). plan_on: score the
    // candidates on `true_model` from now on (the ensemble is no longer used).
    void reserve_sampled();
    void evaluate_sampled(View<const T> obs, uint64_t call, int round);
    void plan_on(TrueModel<T>& true_model);
    void evaluate_true();

    // ---------------------------------------------------------------------------------------------
    // The planner's state and scratch, and its construction.
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
    static constexpr int kBlockRows = 256;  // a batch the kernel is fast at (a multiple of its panels)
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
    std::vector<PackedLayers<T>> packed;  // [E] each member's weights, packed once per evaluate()

    MPC(std::shared_ptr<const Ensemble<T>> ensemble, RewardFn<T> reward_fn, std::vector<T> act_low,
        std::vector<T> act_high, const MPCConfig& config, uint64_t seed_)
        : model(std::move(ensemble)), reward(reward_fn), cfg(config), low(std::move(act_low)), high(std::move(act_high)),
          seed(seed_) {
        if (!model) fail("MPC: no ensemble (null pointer)");
        if (!reward) fail("MPC: no reward function (null pointer)");
        cfg.validate();
        if (cfg.bf16 && !std::is_same<T, float>::value) fail("MPC: mpc_precision bf16 is for a float planner");
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
        if (cfg.propagation != Propagation::expectation) {
            reserve_sampled();  // section 21
            return;
        }
        score.resize(E, K);
        block = std::min(K, kBlockRows);  // candidates per job, the last job taking the rest
        blocks = (K + block - 1) / block;
        jobs.resize(static_cast<std::size_t>(E) * blocks);
        for (JobWork& j : jobs) {
            j.work.reserve(ens.nets[0], block);
            j.s.resize(block, ob_dim);
            j.s_next.resize(block, ob_dim);
            j.a.resize(block, ac_dim);
            j.r.resize(block, 1);
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
    int batch = 256;
    int critic_updates = 1, actor_updates = 1;
    int actor_update_frequency = 1, critic_target_update_frequency = 1;
    // How the learned parameter p gives log std: clamp(p, -20, 2) (default, the reference's reading)
    // or, with logstd_tanh, tanh(p), so std stays in [e^-1, e] (some public solutions).
    bool logstd_tanh = false;

    // The field table (section 15), under run_hw4_mbpo.py's flag names.
    template <class V>
    void fields(V&& f);  // section 15
    void validate() const;  // throws ConfigError naming the first setting out of range (section 15)
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

// The scratch of SAC's training step, for one minibatch of B = batch rows, allocated once. Index c is critic Q_{c+1}.
template <class T>
struct SACWork {
    MLPWork<T> q[2], q_targ[2];     // activations of the critics and of their targets
    MLPWork<T> actor, actor_one;    // of the actor on B rows; on one row (act())
    Tensor<T> a_pi, eps, logp;      // [B, ac], [B, ac], [B, 1] a sample of pi and its log-prob
    Tensor<T> y;                    // [B, 1] the critics' regression target
    Tensor<T> critic_dq[2];         // [B, 1] dLoss_critic/dQ_c
    Tensor<T> actor_dq[2];          // [B, 1] dLoss_actor/dQ_c (nonzero where Q_c is the smaller)
    Tensor<T> actor_dsa[2];         // [B, ob + ac] dLoss_actor/d[s, a] through Q_c
    Tensor<T> actor_du;             // [B, ac] dLoss_actor/du, u the pre-tanh action
    Buffer<T> unused_q_grads[2];    // the critics' parameter gradients of the actor step (dropped)
    std::vector<T> dlogstd;         // [ac] dLoss_actor/dlogstd
};

template <class T>
struct SAC {
    static constexpr double kLogStdMin = -20, kLogStdMax = 2;
    int ob_dim = 0, ac_dim = 0;
    SACConfig cfg;
    T act_low = -1, act_high = 1;    // the reference clamps actions to [min(low), max(high)]
    uint64_t seed = 0;
    // Parameters:
    MLP<T> q1, q2, q1_targ, q2_targ;  // critics [ob + ac -> 1], ReLU; targets start as copies
    MLP<T> actor;                     // mean of u [ob -> ac], tanh
    std::vector<T> logstd;            // [ac] log std of u, state independent
    T log_alpha = 0;
    // Optimizer state, and the counters that key the random numbers:
    Adam<T> q1_opt, q2_opt, actor_opt, logstd_opt, alpha_opt;
    long training_step = 0;
    uint64_t act_calls = 0;
    T last_critic_loss = 0, last_actor_loss = 0, last_alpha_loss = 0;
    // Scratch:
    SACWork<T> work;

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
            work.q[k].reserve(q1, B);
            work.q_targ[k].reserve(q1, B);
            work.critic_dq[k].resize(B, 1);
            work.actor_dq[k].resize(B, 1);
            work.actor_dsa[k].resize(B, ob + ac);
            work.unused_q_grads[k].assign(critic(k).size(), T(0));
        }
        work.actor.reserve(actor, B);
        work.actor_one.reserve(actor, 1);
        work.a_pi.resize(B, ac);
        work.eps.resize(B, ac);
        work.logp.resize(B, 1);
        work.y.resize(B, 1);
        work.actor_du.resize(B, ac);
        work.dlogstd.assign(ac, T(0));
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
    // Rows are independent: long batches are split over the threads.
    void policy_forward(View<const T> obs, View<const T> noise, MLPWork<T>& w, View<T> a, View<T> lp) const {
        View<T> x = w.start_batch(actor, obs.rows);
        std::copy(obs.data, obs.data + obs.size(), x.data);
        View<const T> mu = mlp_forward(actor, w);
        MBRL_OMP(parallel for schedule(static) if (obs.rows >= kParallelRows))
        for (int i = 0; i < obs.rows; ++i) {
            double l = 0;
            for (int j = 0; j < ac_dim; ++j) {
                const T sd = std_of(j);
                const double e = noise(i, j), u = std::fma(static_cast<double>(sd), e, static_cast<double>(mu(i, j)));
                a(i, j) = static_cast<T>(std::tanh(u));
                l += std::fma(-0.5 * e, e, -std::log(static_cast<double>(sd))) - 0.9189385332046727;  // log N(u)
                l = std::fma(-2.0, 0.6931471805599453 - u - softplus(-2.0 * u), l);                  // log |da/du|
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
        Tensor<T>& e = work.eps;  // row 0 of the training scratch serves
        for (int j = 0; j < ac_dim; ++j) e(0, j) = static_cast<T>(rng.normal());
        policy_forward(obs, e.view().middle_rows(0, 1), work.actor_one,
                       work.a_pi.view().middle_rows(0, 1), work.logp.view().middle_rows(0, 1));
        for (int j = 0; j < ac_dim; ++j) action[j] = std::min(act_high, std::max(act_low, work.a_pi(0, j)));
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

    // eps [B, ac] = standard normal draws of rng, row by row. Each row starts at its own place
    // in the stream, so long batches are split over the threads with the same numbers.
    View<const T> draw_noise(Rng& rng, int B) {
        const uint64_t per_row = Rng::kDrawsPerNormal * static_cast<uint64_t>(ac_dim);
        MBRL_OMP(parallel for schedule(static) if (B >= kParallelRows))
        for (int i = 0; i < B; ++i) {
            Rng r = rng;
            r.discard(per_row * static_cast<uint64_t>(i));
            for (int j = 0; j < ac_dim; ++j) work.eps(i, j) = static_cast<T>(r.normal());
        }
        rng.discard(per_row * static_cast<uint64_t>(B));
        return work.eps.view().middle_rows(0, B);
    }

    // The critic step's gradients (into q1.grads, q2.grads) for a minibatch, with a' ~ pi(s')
    // drawn from `noise` [B, ac]; returns the loss.
    T critic_gradients(View<const T> obs, View<const T> act, View<const T> rew, View<const T> next_obs,
                       View<const T> done, View<const T> noise) {
        const int B = obs.rows;
        View<T> a_next = work.a_pi.view().middle_rows(0, B);
        policy_forward(next_obs, noise, work.actor, a_next, work.logp.view().middle_rows(0, B));  // a' ~ pi(s')
        // The two critics are independent: one per thread where there are two (same results on one).
        View<const T> q_targ[2];  // [B, 1] Q_targ_c(s', a')
        parallel_for(2, [&](long c) { q_targ[c] = q_forward(critic_target(static_cast<int>(c)), work.q_targ[c], next_obs, a_next); });
        const T temperature = alpha(), gamma = static_cast<T>(cfg.discount);
        for (int i = 0; i < B; ++i)  // y = r + gamma (1 - d) (min_c Q_targ_c(s', a') - alpha log pi(a'|s'))
            work.y(i, 0) = std::fma(std::fma(-temperature, work.logp(i, 0), std::min(q_targ[0](i, 0), q_targ[1](i, 0))),
                                    gamma * (T(1) - done(i, 0)), rew(i, 0));
        View<const T> target = work.y.view().middle_rows(0, B);
        T loss[2];  // MSE(Q_c(s, a), y) and its gradient into critic c
        parallel_for(2, [&](long c) {
            View<T> dq = work.critic_dq[c].view().middle_rows(0, B);
            View<const T> q = q_forward(critic(static_cast<int>(c)), work.q[c], obs, act);
            loss[c] = mse_forward<T>(q, target);
            mse_backward<T>(dq, q, target);
            mlp_backward<T>(critic(static_cast<int>(c)), work.q[c], dq);
        });
        return loss[0] + loss[1];
    }

    // The actor step's gradients (into actor.grads and work.dlogstd) for the states obs [B, ob], the
    // sample drawn from `noise` [B, ac]; log pi of the sample stays in `work.logp` for the temperature
    // step. Returns the loss mean(alpha log pi(a|s) - min_c Q_c(s, a)).
    T actor_gradients(View<const T> obs, View<const T> noise) {
        const int B = obs.rows, D = ob_dim;
        View<T> a = work.a_pi.view().middle_rows(0, B);
        policy_forward(obs, noise, work.actor, a, work.logp.view().middle_rows(0, B));
        View<const T> q[2];  // [B, 1] Q_c(s, a)
        parallel_for(2, [&](long c) { q[c] = q_forward(critic(static_cast<int>(c)), work.q[c], obs, a); });
        const T temperature = alpha(), inv_b = T(1) / static_cast<T>(B);
        double loss = 0;
        for (int i = 0; i < B; ++i) {  // dLoss/dQ flows only into the smaller critic
            const bool first = q[0](i, 0) <= q[1](i, 0);
            loss += temperature * work.logp(i, 0) - (first ? q[0](i, 0) : q[1](i, 0));
            work.actor_dq[0](i, 0) = first ? -inv_b : T(0);
            work.actor_dq[1](i, 0) = first ? T(0) : -inv_b;
        }
        // dLoss/d[s, a] through each critic (their parameter gradients are not wanted here).
        parallel_for(2, [&](long c) {
            mlp_backward<T>(critic(static_cast<int>(c)), work.q[c], work.actor_dq[c].view().middle_rows(0, B),
                            work.actor_dsa[c].view().middle_rows(0, B), work.unused_q_grads[c].data());
        });
        std::fill(work.dlogstd.begin(), work.dlogstd.end(), T(0));
        for (int i = 0; i < B; ++i)
            for (int j = 0; j < ac_dim; ++j) {
                const T aj = a(i, j), da = work.actor_dsa[0](i, D + j) + work.actor_dsa[1](i, D + j);  // dLoss/da
                // u = mu + std eps: dLoss/du = dLoss/da (1 - a^2) + alpha/B d(log pi)/du, where
                // d(log pi)/du = 2 tanh(u) = 2a through the squashing term (log N(u) does not
                // depend on mu once eps is fixed). dLoss/dmu = dLoss/du.
                work.actor_du(i, j) = std::fma(std::fma(-aj, aj, T(1)), da, temperature * inv_b * T(2) * aj);
                // d/dlogstd = dLoss/du * std eps, plus alpha/B d(log N)/dlogstd = -alpha/B.
                work.dlogstd[j] += std::fma(work.actor_du(i, j) * std_of(j), noise(i, j), -(temperature * inv_b));
            }
        for (int j = 0; j < ac_dim; ++j)  // through tanh, or the clamp: no gradient outside [-20, 2]
            if (cfg.logstd_tanh)
                work.dlogstd[j] *= std::fma(-std::tanh(logstd[j]), std::tanh(logstd[j]), T(1));
            else if (logstd[j] < kLogStdMin || logstd[j] > kLogStdMax)
                work.dlogstd[j] = T(0);
        mlp_backward<T>(actor, work.actor, work.actor_du.view().middle_rows(0, B));
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
            axpby(static_cast<std::ptrdiff_t>(net->size()), tau, net->params.data(), T(1) - tau, targ->params.data());
    }
    void actor_update(View<const T> obs, View<const T> noise) {
        last_actor_loss = actor_gradients(obs, noise);
        actor_opt.step(actor.params.data(), actor.grads.data());
        logstd_opt.step(logstd.data(), work.dlogstd.data());
        temperature_update(work.logp.view().middle_rows(0, obs.rows));
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
// 13. Model-based RL with on-policy data aggregation (assignment Algorithm 1; reference 3.5, 4)
// =================================================================================================
// The library runs the loop and hands each iteration's results to the caller (a RunSink); it
// opens no file. examples/run_log.hpp writes them as the reference's files and progress lines.

// The settings run_mb and run_mbpo share: those of the reference's run_hw4_mb.py but the
// planner's, with its defaults (reference section 2.1).
struct LoopConfig {
    std::string exp_name = "todo", env_name;  // "todo": the reference's placeholder for --exp_name
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
    ModelType model_type = ModelType::deterministic;  // probabilistic: PETS's Gaussian members (section 21)
    uint64_t seed = 1;
    int scalar_log_freq = 1;  // -1: no evaluation and no eval metrics
    // The caller's, not the loop's (which opens no file): where run directories go, and whether
    // the caller saves the run's state after every iteration (examples/run_log.hpp).
    std::string data_dir = "data";
    bool save_params = false;

    // The field table (section 15). run_hw4_mb.py lists the planner's flags after ensemble_size,
    // and so does the table when given a planner (MBConfig's).
    template <class V>
    void fields(V&& f, MPCConfig* planner = nullptr);  // section 15
    void validate() const;  // throws ConfigError naming the first setting out of range (section 15)
};

// Every setting of the reference's run_hw4_mb.py: the shared ones and the planner's.
struct MBConfig : LoopConfig {
    MPCConfig mpc;

    template <class V>
    void fields(V&& f) {
        LoopConfig::fields(f, &mpc);
    }
    void validate() const;  // the shared settings, the planner's, then how they go together
};

// One iteration's results, the metrics the reference logs (reference 4.1), and what else the
// loop shows its caller.
struct ReturnStats {  // of the paths' returns: mean, population std, max, min; mean path length
    double mean = NAN, std = NAN, max = NAN, min = NAN, ep_len = NAN;
};
struct ModelDiagnostics {  // of the model on held-out data (section 16)
    double one_step = NAN, open_loop = NAN, disagreement = NAN;
};
struct IterationReport {
    int itr = 0, n_iter = 0;
    ReturnStats train, eval;  // the collected paths; the evaluation's (NaN when not evaluated)
    long envsteps = 0;        // env steps collected for training so far (not evaluation, not Q1's)
    double loss = NAN;        // the ensemble's last training loss
    double critic_loss = NAN, alpha = NAN;  // MBPO: SAC's last critic loss and its temperature
    ModelDiagnostics model;   // on the evaluation paths (NaN when not evaluated)
};
// Q1's check (reference 4.2): member 0's open-loop predictions of 10 random steps (section 16).
struct ModelPredictions {
    Tensor<float> truth, pred;  // [steps, ob_dim] true states and member 0's predictions (steps <= 10)
    double mpe = NAN;           // mean of (predicted - true)^2
};
// MBPO, after each iteration's SAC training: the real paths just collected, and both buffers.
struct MBPOIteration {
    int itr;
    const Rollouts<float>& paths;              // collected this iteration, clean
    const ReplayBuffer<float>& model_buffer;   // real data, noised if add_sl_noise
    const ReplayBuffer<float>& sac_buffer;     // clean real data and model rollouts, FIFO
};

// Thrown when RunSink::stop says so: the run stopped between two env steps or gradient steps, and
// what the sink was given so far (rows, states) stays whole.
struct Interrupted : std::runtime_error {
    int itr;  // the iteration that was stopped (iterations before it are complete)
    explicit Interrupted(int at) : std::runtime_error("run stopped on request in iteration " + std::to_string(at)), itr(at) {}
};

// Where a run stands between two iterations.
struct LoopState {
    int itr = 0;            // the next iteration to run
    long envsteps = 0;      // env steps collected for training so far
    uint64_t episodes = 0;  // env resets so far: the k-th draws from Rng(seed, Stream::reset, k)
};

// A run's whole state after an iteration, one of the two set (below): what a checkpoint saves.
struct MBRun;
struct MBPORun;
struct RunState {
    const MBRun* mb = nullptr;
    const MBPORun* mbpo = nullptr;
};

// Where a run stands inside an iteration: the phase, and its steps done of its total (env steps
// while collecting or evaluating, gradient steps while training the model or SAC).
enum class Phase { collecting, training_model, training_sac, evaluating };
struct Progress {
    int itr = 0, n_iter = 0;
    Phase phase = Phase::collecting;
    long done = 0, total = 0;  // done <= total; a phase starts at 0
};

// A policy as the videos get it (RunSink::videos): obs [1, ob_dim] -> action [1, ac_dim].
using PolicyFn = std::function<void(View<const float> obs, View<float> act)>;
enum class VideoKind { train, eval };  // the policy as it collected; as it was evaluated

// Where the loops report; every callback may be left empty.
struct RunSink {
    std::function<void(const IterationReport&)> iteration;  // at the end of every iteration
    // run_mb, iteration 0: Q1's model predictions and the loss of every model training step
    std::function<void(const ModelPredictions&, const std::vector<double>& losses)> model_check;
    std::function<void(const MBPOIteration&)> mbpo_buffers;  // run_mbpo, after the SAC training
    // After iteration(), when the run's state is complete: next_itr iterations are done.
    // mbrl_checkpoint.hpp's save_checkpoint(out, run) writes the state to continue from.
    std::function<void(int next_itr, const RunState& run)> checkpoint;
    // After a saved state was read and accepted (mbrl_checkpoint.hpp): the run continues at next_itr.
    std::function<void(int next_itr)> resumed;
    // Called before every env step, every model training step and every SAC step with where the
    // run stands (nothing is computed for it when it is empty); results do not depend on it.
    std::function<void(const Progress&)> progress;
    // Polled at the same points: true stops the run at once by throwing Interrupted. Both are
    // called from the thread that called run_mb.
    std::function<bool()> stop;
    // Videos (reference 4.1, video_log_freq): called after the collection (VideoKind::train) and
    // after the evaluation (VideoKind::eval) with copy_policy, which returns a copy of the policy
    // as it is then (MPC: uniform random before the first data; SAC: sampling). A copy keeps its
    // own counters (the planner's calls, SAC's act_calls, the random actions drawn), so acting
    // with it changes no number of the run; the sink resets its own env, from Stream::video.
    // (With mpc true_model the copy plans on the run's env, not on the sink's.)
    std::function<void(int itr, VideoKind kind, const std::function<PolicyFn()>& copy_policy)> videos;

    void poll(const Progress& p) const {
        if (progress) progress(p);
        if (stop && stop()) throw Interrupted(p.itr);
    }
};

// Part II's reports (section 16), which the loop uses.
template <class T>
ReturnStats return_stats(const Rollouts<T>& r);
template <class T>
ModelDiagnostics model_diagnostics(const Ensemble<T>& ens, const Rollouts<T>& paths, int horizon = 10);
template <class Env>
ModelPredictions model_predictions(Env& env, const Ensemble<float>& ens, uint64_t seed, uint64_t* episodes);

// Algorithm 1's skeleton, shared by run_mb and run_mbpo. Per iteration, in the reference's order:
//   1. collect whole paths with `policy` (batch_size_initial steps at iteration 0, then batch_size)
//   2. add them to the model's buffer (add_sl_noise if asked) and recompute the statistics
//   3. train the ensemble: num_agent_train_steps_per_iter minibatch steps
//   4. after_training(itr, paths, losses, report): what the algorithm does with the model
//   5. evaluate `policy` (when scalar_log_freq says so), diagnose the model on the evaluation
//      paths (model_diagnostics) and report the iteration
//   6. hand the sink the run's state to continue from
// from iteration state.itr (0, or where a saved state left off) to cfg.n_iter. The sink's stop
// predicate (and progress) is polled before every env step and every model training step. The
// sink's videos get copy_policy (a copy of `policy`) after steps 1 and 5.
template <class Env, class Policy, class AfterTraining>
void model_based_loop(Env& env, const LoopConfig& cfg, Ensemble<float>& ens, ReplayBuffer<float>& buffer,
                      Policy&& policy, LoopState& state, const RunSink& sink, AfterTraining&& after_training,
                      const RunState& run, const std::function<PolicyFn()>& copy_policy = {}) {
    Rollouts<float> paths, eval_paths;
    std::vector<double> losses;
    uint64_t* episodes = &state.episodes;
    for (int itr = state.itr; itr < cfg.n_iter; ++itr) {
        Progress at{itr, cfg.n_iter, Phase::collecting, 0, 0};
        auto polled = [&](View<const float> obs, View<float> act) {  // the policy, after a poll
            sink.poll(at);
            at.done = std::min(at.done + 1, at.total);  // the last path may run past the total
            policy(obs, act);
        };
        // 1. collect
        at.total = itr == 0 ? cfg.batch_size_initial : cfg.batch_size;
        sample_trajectories(env, polled, static_cast<int>(at.total), env.ep_len(), cfg.seed, episodes, paths);
        state.envsteps += paths.steps();
        if (sink.videos && copy_policy) sink.videos(itr, VideoKind::train, copy_policy);
        // 2. add to the buffer, recompute the statistics
        Rng noise_rng(cfg.seed, Stream::noise, static_cast<uint64_t>(itr));
        buffer.add(paths, cfg.add_sl_noise, noise_rng);
        ens.fit_stats(buffer.obs(), buffer.act(), buffer.next_obs());
        // 3. train the ensemble
        Rng sample_rng(cfg.seed, Stream::sample, static_cast<uint64_t>(itr));
        losses.clear();
        at = Progress{itr, cfg.n_iter, Phase::training_model, 0, cfg.num_agent_train_steps_per_iter};
        for (int step = 0; step < cfg.num_agent_train_steps_per_iter; ++step) {
            at.done = step;
            sink.poll(at);
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
            at = Progress{itr, cfg.n_iter, Phase::evaluating, 0, cfg.eval_batch_size};
            sample_trajectories(env, polled, cfg.eval_batch_size, env.ep_len(), cfg.seed, episodes, eval_paths);
            report.eval = return_stats(eval_paths);
            report.model = model_diagnostics(ens, eval_paths);
        }
        if (sink.videos && copy_policy) sink.videos(itr, VideoKind::eval, copy_policy);
        if (sink.iteration) sink.iteration(report);
        // 6. the state to continue from
        state.itr = itr + 1;
        if (sink.checkpoint) sink.checkpoint(state.itr, run);
    }
}

// Everything run_mb carries from one iteration to the next: what its checkpoint holds.
struct MBRun {
    MBConfig cfg;
    LoopState loop;
    std::shared_ptr<Ensemble<float>> model;  // shared with the planner
    ReplayBuffer<float> buffer;              // every real transition (capacity 1,000,000)
    MPC<float> mpc;                          // its call counter keys the planner's random numbers
    uint64_t random_actions = 0;             // uniform actions drawn before the first data

    template <class Env>
    MBRun(Env& env, const MBConfig& c)
        : cfg(validated(c)),
          model(std::make_shared<Ensemble<float>>(env.obs_dim(), env.act_dim(), c.ensemble_size, c.n_layers, c.size,
                                                  static_cast<float>(c.learning_rate), c.seed, Activation::tanh,
                                                  c.model_type)),
          buffer(env.obs_dim(), env.act_dim(), 1000000),
          mpc(model, &Env::reward, bounds(env, true), bounds(env, false), c.mpc, c.seed) {}
    static const MBConfig& validated(const MBConfig& c) {
        c.validate();
        return c;
    }
    template <class Env>
    static std::vector<float> bounds(Env& env, bool low) {
        std::vector<float> b(env.act_dim());
        for (int j = 0; j < env.act_dim(); ++j) b[j] = low ? env.act_low(j) : env.act_high(j);
        return b;
    }
};

// The videos' copies of the policies as they are now (RunSink::videos; section 16).
template <class Env>
PolicyFn video_policy(Env& env, const MBRun& run);
inline PolicyFn video_policy(const MBPORun& run);

// The training loop of run_hw4_mb.py: MPC on the learned ensemble (uniform random actions until
// the first data exists, reference 3.4); at iteration 0, after training, Q1's model check.
// With cfg.mpc.true_model, the planner scores its candidates on `truth` (a TrueModel of this very
// env, e.g. envs/true_model.hpp's) instead; the ensemble is still trained, checked and diagnosed,
// so that the two runs compare column by column. Continues `run` from run.loop.itr (0 for a new
// run; mbrl_checkpoint.hpp reads a saved one) up to run.cfg.n_iter.
template <class Env>
void run_mb(Env& env, MBRun& run, const RunSink& sink = {}, TrueModel<float>* truth = nullptr) {
    static_assert(check_environment<Env>(), "mbrl: run_mb needs an environment");
    const MBConfig& cfg = run.cfg;
    if (cfg.mpc.true_model) {
        if (!truth) fail("run_mb: mpc true_model is set but no TrueModel was given");
        run.mpc.plan_on(*truth);
    }
    Ensemble<float>& ens = *run.model;
    auto policy = [&](View<const float> obs, View<float> act) {
        if (run.buffer.size() == 0) {  // no statistics yet, so a uniform random action
            Rng rng(cfg.seed, Stream::policy, run.random_actions++);
            for (int j = 0; j < env.act_dim(); ++j) act[j] = static_cast<float>(rng.uniform(env.act_low(j), env.act_high(j)));
        } else {
            run.mpc.act(obs, act);
        }
    };
    auto prediction_check = [&](int itr, const Rollouts<float>&, const std::vector<double>& losses, IterationReport&) {
        if (itr != 0) return;
        const ModelPredictions p = model_predictions(env, ens, cfg.seed, &run.loop.episodes);
        if (sink.model_check) sink.model_check(p, losses);
    };
    auto copy_policy = [&] { return video_policy(env, run); };
    model_based_loop(env, cfg, ens, run.buffer, policy, run.loop, sink, prediction_check, RunState{&run, nullptr}, copy_policy);
}
// A new run.
template <class Env>
void run_mb(Env& env, const MBConfig& cfg, const RunSink& sink = {}, TrueModel<float>* truth = nullptr) {
    static_assert(check_environment<Env>(), "mbrl: run_mb needs an environment");
    MBRun run(env, cfg);
    run_mb(env, run, sink, truth);
}

// =================================================================================================
// 14. MBPO: SAC on real and model-generated data (assignment Problem 6; reference 3.5-3.7)
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
    int sac_train_steps = 1;     // SAC steps per round
    int rollout_length = 1;      // 0 = model-free SAC
    int sac_buffer_size = 100000;
    bool reward_pre_step = false;  // reward a model step by its state (the public solutions), not its predicted next
    bool random_member = false;    // step with one member drawn per step (MBPO paper), not the ensemble mean

    // The field table (section 15). run_hw4_mbpo.py accepts the planner's flags too (no planner
    // runs): a caller that wants to accept them passes an unused MPCConfig as `planner`.
    template <class V>
    void fields(V&& f, MPCConfig* planner = nullptr);  // section 15
    void validate() const;  // throws ConfigError naming the first setting out of range (section 15)
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

// Everything run_mbpo carries from one iteration to the next: what its checkpoint holds.
struct MBPORun {
    MBPOConfig cfg;
    LoopState loop;
    Ensemble<float> model;
    SAC<float> sac;
    ReplayBuffer<float> model_buffer;  // every real transition, noised if add_sl_noise (capacity 1,000,000)
    ReplayBuffer<float> sac_buffer;    // clean real transitions and model rollouts (capacity sac_buffer_size)
    uint64_t rollouts = 0;             // model rollouts so far: the k-th draws from Rng(seed, Stream::rollout, k)

    template <class Env>
    MBPORun(Env& env, const MBPOConfig& c)
        : cfg(validated(c)),
          model(env.obs_dim(), env.act_dim(), c.mb.ensemble_size, c.mb.n_layers, c.mb.size,
                static_cast<float>(c.mb.learning_rate), c.mb.seed, Activation::tanh, c.mb.model_type),
          sac(env.obs_dim(), env.act_dim(), bound(env, true), bound(env, false), c.sac, c.mb.seed),
          model_buffer(env.obs_dim(), env.act_dim(), 1000000),
          sac_buffer(env.obs_dim(), env.act_dim(), c.sac_buffer_size) {}
    static const MBPOConfig& validated(const MBPOConfig& c) {
        c.validate();
        return c;
    }
    // The reference clamps SAC's actions to [min over j of act_low(j), max over j of act_high(j)].
    template <class Env>
    static float bound(Env& env, bool low) {
        float b = low ? env.act_low(0) : env.act_high(0);
        for (int j = 1; j < env.act_dim(); ++j) b = low ? std::min(b, env.act_low(j)) : std::max(b, env.act_high(j));
        return b;
    }
};

// The scratch of run_mbpo: SAC minibatches and model rollouts, allocated once.
struct MBPOWork {
    Tensor<float> obs, act, rew, next, done;  // [B, ob_dim], [B, ac_dim], [B, 1], [B, ob_dim], [B, 1]
    std::vector<int> rows;                    // [B] the minibatch's rows of the SAC buffer
    RolloutWork rollout_work;
    Rollouts<float> rollout;                  // one model rollout
    MBPOWork(const MBPORun& r)
        : obs(r.cfg.sac.batch, r.model.obs_dim), act(r.cfg.sac.batch, r.model.act_dim), rew(r.cfg.sac.batch, 1),
          next(r.cfg.sac.batch, r.model.obs_dim), done(r.cfg.sac.batch, 1), rollout_work(r.model) {}
};

// The training loop of run_hw4_mbpo.py: the skeleton of section 13 with the SAC policy (sampling,
// also at iteration 0) and, after the model's training, the SAC rounds. Continues `run` from
// run.loop.itr (0 for a new run; mbrl_checkpoint.hpp reads a saved one) up to run.cfg.mb.n_iter.
template <class Env>
void run_mbpo(Env& env, MBPORun& run, const RunSink& sink = {}) {
    static_assert(check_environment<Env>(), "mbrl: run_mbpo needs an environment");
    const MBPOConfig& cfg = run.cfg;
    const uint64_t seed = cfg.mb.seed;
    const int B = cfg.sac.batch;
    MBPOWork w(run);
    auto policy = [&](View<const float> obs, View<float> act) { run.sac.act(obs, act); };
    auto sac_rounds = [&](int itr, const Rollouts<float>& paths, const std::vector<double>&, IterationReport& report) {
        run.sac_buffer.add(paths);  // clean
        for (int k = 0; k < cfg.sac_n_iter; ++k) {
            if (cfg.rollout_length > 0) {
                Rng rrng(seed, Stream::rollout, run.rollouts++);
                model_rollout<Env>(run.model, run.sac, run.model_buffer, cfg.rollout_length, rrng, w.rollout_work,
                                   w.rollout, cfg.reward_pre_step, cfg.random_member);
                run.sac_buffer.add(w.rollout);
            }
            for (int s = 0; s < cfg.sac_train_steps; ++s) {
                sink.poll(Progress{itr, cfg.mb.n_iter, Phase::training_sac, static_cast<long>(k) * cfg.sac_train_steps + s,
                                   static_cast<long>(cfg.sac_n_iter) * cfg.sac_train_steps});
                const int n = std::min(B, run.sac_buffer.size());
                Rng brng(seed, Stream::sac_train, static_cast<uint64_t>(run.sac.training_step), 1);  // minibatch
                sample_distinct(run.sac_buffer.size(), n, brng, w.rows);
                run.sac_buffer.gather(w.rows, n, w.obs, w.act, w.rew, w.next, w.done);
                run.sac.train(w.obs.view(), w.act.view(), w.rew.view(), w.next.view(), w.done.view());
            }
        }
        if (sink.mbpo_buffers) sink.mbpo_buffers(MBPOIteration{itr, paths, run.model_buffer, run.sac_buffer});
        report.critic_loss = run.sac.last_critic_loss;
        report.alpha = run.sac.alpha();
    };
    auto copy_policy = [&] { return video_policy(run); };
    model_based_loop(env, cfg.mb, run.model, run.model_buffer, policy, run.loop, sink, sac_rounds,
                     RunState{nullptr, &run}, copy_policy);
}
// A new run.
template <class Env>
void run_mbpo(Env& env, const MBPOConfig& cfg, const RunSink& sink = {}) {
    static_assert(check_environment<Env>(), "mbrl: run_mbpo needs an environment");
    MBPORun run(env, cfg);
    run_mbpo(env, run, sink);
}

// =================================================================================================
// PART II: MACHINERY
// =================================================================================================

// =================================================================================================
// 15. Checks: the settings (one field table per config) and the environment concept
// =================================================================================================
// Each config lists its settings once, in fields(f): f(Field{name, rule, tags, help}, member) or,
// for a choice among names, f(Field{...}, member, Names(...)). `name` is the reference's flag
// (without "--"), which is how every message, checkpoint and command line names the setting,
// whatever the member is called (cem is mpc_action_sampling_strategy, batch is
// sac_train_batch_size, sac_train_steps is sac_num_agent_train_steps_per_iter, ...). From the
// table come validate()'s checks (here), the settings a checkpoint records and compares
// (mbrl_checkpoint.hpp), and the examples' command-line flags (examples/flags.hpp).
enum class Rule { any, positive, non_negative, minus1_or_positive, unit_open /* (0, 1] */, unit_closed /* [0, 1] */ };
enum FieldTag : unsigned {
    kUnchecked = 1,  // a resumed run need not agree on it (names, where files go, n_iter)
    kBeyond = 2,     // not one of the reference's flags: an older run without it had the default
    kNoFlag = 4,     // fixed in the reference's code, not a flag
};
struct Field {
    const char* name;  // the flag's name without "--"
    Rule rule;
    unsigned tags;     // FieldTag bits
    const char* help;
};
// The names of a choice's values (an enum class, or a bool: false, true), in order.
struct Names {
    const char* text[3];
    int count;
    Names(const char* a, const char* b, const char* c = nullptr) : text{a, b, c}, count(c ? 3 : 2) {}
};


// The field tables of the configs of Part I.
template <class V>
void MPCConfig::fields(V&& f, bool beyond) {
    if (!beyond) {
        f(Field{"mpc_horizon", Rule::positive, 0, "planning horizon H"}, horizon);
        f(Field{"mpc_num_action_sequences", Rule::positive, 0, "candidate sequences K"}, num_sequences);
        f(Field{"mpc_action_sampling_strategy", Rule::any, 0, "random | cem"}, cem, Names("random", "cem"));
        f(Field{"cem_iterations", Rule::positive, 0, "CEM rounds M (the first is uniform)"}, cem_iterations);
        f(Field{"cem_num_elites", Rule::any, 0, "CEM elites J, in [1, K]"}, cem_num_elites);
        f(Field{"cem_alpha", Rule::unit_open, 0, "CEM smoothing in (0, 1]"}, cem_alpha);
    } else {
        f(Field{"mpc_propagation", Rule::any, kBeyond,
                "expectation | ts1 | tsinf: one mean rollout per member, or particles with a member drawn per "
                "step / fixed per particle"},
          propagation, Names("expectation", "ts1", "tsinf"));
        f(Field{"mpc_particles", Rule::non_negative, kBeyond, "particles per candidate with ts1 / tsinf; 0: one per member"},
          particles);
        f(Field{"mpc_model", Rule::any, kBeyond, "learned | true: plan on the ensemble, or on the true simulator"},
          true_model, Names("learned", "true"));
        // Unchecked on resume: only how the planner computes, nothing a checkpoint holds.
        f(Field{"mpc_precision", Rule::any, kBeyond | kUnchecked,
                "fp32 | bf16: the planner's network products in float, or in bf16 summed in float (fast with "
                "AVX512_BF16; emulated elsewhere)"},
          bf16, Names("fp32", "bf16"));
    }
}

template <class V>
void SACConfig::fields(V&& f) {
    f(Field{"sac_n_layers", Rule::non_negative, 0, "hidden layers of actor and critics"}, n_layers);
    f(Field{"sac_size", Rule::positive, 0, "units per hidden layer of actor and critics"}, size);
    f(Field{"sac_learning_rate", Rule::positive, 0, "Adam step size of actor, critics and alpha"}, learning_rate);
    f(Field{"sac_discount", Rule::unit_closed, 0, "gamma"}, discount);
    f(Field{"sac_init_temperature", Rule::positive, 0, "initial alpha"}, init_temperature);
    f(Field{"critic_tau", Rule::unit_closed, kNoFlag, "Polyak weight of the target critics"}, tau);
    f(Field{"sac_train_batch_size", Rule::positive, 0, "SAC minibatch rows"}, batch);
    f(Field{"sac_num_critic_updates_per_agent_update", Rule::positive, 0, "critic updates per SAC step"},
      critic_updates);
    f(Field{"sac_num_actor_updates_per_agent_update", Rule::positive, 0, "actor updates per SAC step"}, actor_updates);
    f(Field{"sac_actor_update_frequency", Rule::positive, 0, "update the actor every this many steps"},
      actor_update_frequency);
    f(Field{"sac_critic_target_update_frequency", Rule::positive, 0, "update the target critics every this many steps"},
      critic_target_update_frequency);
    f(Field{"sac_logstd", Rule::any, kBeyond, "clamp | tanh: log std of the actor: clamp(p, -20, 2) or tanh(p)"},
      logstd_tanh, Names("clamp", "tanh"));
}

template <class V>
void LoopConfig::fields(V&& f, MPCConfig* planner) {
    f(Field{"env_name", Rule::any, 0, "obstacles-cs285-v0 | reacher-cs285-v0 | cheetah-cs285-v0"}, env_name);
    f(Field{"exp_name", Rule::any, kUnchecked, "name of the run directory data/hw4_<exp_name>_<env_name>_<time>"},
      exp_name);
    f(Field{"n_iter", Rule::positive, kUnchecked, "outer iterations"}, n_iter);
    f(Field{"ensemble_size", Rule::positive, 0, "members of the dynamics ensemble"}, ensemble_size);
    if (planner) planner->fields(f, false);
    f(Field{"add_sl_noise", Rule::any, 0, "noise the new observations in the buffer"}, add_sl_noise);
    f(Field{"num_agent_train_steps_per_iter", Rule::positive, 0, "ensemble steps per iteration"},
      num_agent_train_steps_per_iter);
    f(Field{"batch_size_initial", Rule::positive, 0, "env steps collected at iteration 0 (random)"},
      batch_size_initial);
    f(Field{"batch_size", Rule::positive, 0, "env steps collected per later iteration"}, batch_size);
    f(Field{"train_batch_size", Rule::positive, 0, "minibatch rows per member per step"}, train_batch_size);
    f(Field{"eval_batch_size", Rule::positive, 0, "env steps of evaluation per iteration"}, eval_batch_size);
    f(Field{"learning_rate", Rule::positive, 0, "Adam step size of the dynamics models"}, learning_rate);
    f(Field{"n_layers", Rule::non_negative, 0, "hidden layers per member"}, n_layers);
    f(Field{"size", Rule::positive, 0, "units per hidden layer"}, size);
    f(Field{"seed", Rule::any, 0, "seed of every random draw"}, seed);
    f(Field{"scalar_log_freq", Rule::minus1_or_positive, 0, "evaluate and log every this many iterations; -1: never"},
      scalar_log_freq);
    f(Field{"model_type", Rule::any, kBeyond,
            "deterministic | probabilistic: members predict s' - s, or a Gaussian of it (PETS)"},
      model_type, Names("deterministic", "probabilistic"));
    if (planner) planner->fields(f, true);
    f(Field{"save_params", Rule::any, kUnchecked, "save the run's state after every iteration (for --resume)"},
      save_params);
    f(Field{"data_dir", Rule::any, kUnchecked, "where run directories go"}, data_dir);
}

template <class V>
void MBPOConfig::fields(V&& f, MPCConfig* planner) {
    mb.fields(f, planner);
    sac.fields(f);
    f(Field{"sac_n_iter", Rule::positive, 0, "SAC rounds (a model rollout, then SAC steps) per iteration"}, sac_n_iter);
    f(Field{"sac_num_agent_train_steps_per_iter", Rule::positive, 0, "SAC steps per SAC round"}, sac_train_steps);
    f(Field{"mbpo_rollout_length", Rule::non_negative, 0, "model rollout length k; 0 = model-free SAC"},
      rollout_length);
    f(Field{"sac_buffer_size", Rule::positive, kNoFlag, "transitions the SAC buffer keeps (FIFO)"}, sac_buffer_size);
    f(Field{"mbpo_rollout_reward", Rule::any, kBeyond,
            "post | pre: model steps rewarded by the predicted next state or by the state they start from"},
      reward_pre_step, Names("post", "pre"));
    f(Field{"mbpo_rollout_model", Rule::any, kBeyond,
            "mean | random: model steps by the ensemble mean or by one member drawn per step"},
      random_member, Names("mean", "random"));
}

// Throws ConfigError unless `v` obeys the field's rule (numbers only; names and switches are free).
template <class X>
void check_rule(const char* config, const Field& d, const X& v) {
    if constexpr (std::is_arithmetic<X>::value && !std::is_same<X, bool>::value) {
        const double x = static_cast<double>(v);
        const char* need = nullptr;
        switch (d.rule) {
            case Rule::any: break;
            case Rule::positive: need = x > 0 ? nullptr : "must be positive"; break;
            case Rule::non_negative: need = x >= 0 ? nullptr : "must be >= 0"; break;
            case Rule::minus1_or_positive: need = x == -1 || x > 0 ? nullptr : "must be -1 or positive"; break;
            case Rule::unit_open: need = x > 0 && x <= 1 ? nullptr : "must be in (0, 1]"; break;
            case Rule::unit_closed: need = x >= 0 && x <= 1 ? nullptr : "must be in [0, 1]"; break;
        }
        if (!need) return;
        std::ostringstream s;
        s << need << ", got " << v;
        throw ConfigError(config, d.name, s.str());
    }
}
// Every field of config c against its rule, in the table's order. (fields() does not change the
// config; it takes it by non-const reference so that one table serves reading and writing.)
template <class Config>
void check_rules(const char* name, const Config& c) {
    const_cast<Config&>(c).fields([&](const Field& d, auto& v, auto&&...) { check_rule(name, d, v); });
}

inline void MPCConfig::validate() const {
    check_rules("MPCConfig", *this);
    if (cem_num_elites <= 0 || cem_num_elites > num_sequences)
        throw ConfigError("MPCConfig", "cem_num_elites",
                          "must be in [1, mpc_num_action_sequences = " + std::to_string(num_sequences) + "], got " +
                              std::to_string(cem_num_elites));
}
inline void SACConfig::validate() const { check_rules("SACConfig", *this); }
inline void LoopConfig::validate() const { check_rules("LoopConfig", *this); }
inline void MBConfig::validate() const {
    LoopConfig::validate();
    mpc.validate();
    auto bad = [](const char* field, const std::string& problem) { throw ConfigError("MBConfig", field, problem); };
    if (mpc.propagation == Propagation::expectation && mpc.particles != 0 && mpc.particles != ensemble_size)
        bad("mpc_particles", "must be 0 or ensemble_size = " + std::to_string(ensemble_size) +
                                 " with expectation (one particle per member), got " + std::to_string(mpc.particles) +
                                 "; more need mpc_propagation ts1 or tsinf");
    if (mpc.true_model && (mpc.propagation != Propagation::expectation || mpc.particles != 0))
        bad("mpc_model", "true takes no trajectory sampling (the simulator is exact): mpc_propagation must be "
                         "expectation and mpc_particles 0");
}
inline void MBPOConfig::validate() const { check_rules("MBPOConfig", *this); }

// A setting's value as text: numbers exactly (doubles to 17 significant digits), switches 0 / 1,
// choices by name. What a checkpoint records (mbrl_checkpoint.hpp).
template <class X>
std::string setting_text(const X& v) {
    std::ostringstream s;
    if constexpr (std::is_floating_point<X>::value) s.precision(17);
    if constexpr (std::is_same<X, bool>::value) s << (v ? 1 : 0);
    else s << v;
    return s.str();
}
template <class X>
std::string setting_text(const X& v, const Names& names) {
    return names.text[static_cast<int>(v)];
}

// The environment concept (docs/environments.md): one detector per member, is_environment<Env>
// for all of them, and check_environment<Env>(), one static_assert per member, each naming the
// member it misses. sample_trajectories, run_mb and run_mbpo open with
// static_assert(check_environment<Env>()): the constant evaluation instantiates the check at
// once, so its messages come before any error from the rest of the function. The detectors ask
// for what the library calls (on an Env&), with results convertible to the types it uses.
namespace env_concept {
template <class Void, template <class> class Op, class Env, class R>
struct detect : std::false_type {};
template <template <class> class Op, class Env, class R>
struct detect<std::void_t<Op<Env>>, Op, Env, R> : std::is_convertible<Op<Env>, R> {};
using Reward = void (*)(const float* obs, const float* act, int n, float* rew, float* done);
template <class E> using obs_dim = decltype(std::declval<E&>().obs_dim());
template <class E> using act_dim = decltype(std::declval<E&>().act_dim());
template <class E> using ep_len = decltype(std::declval<E&>().ep_len());
template <class E> using act_low = decltype(std::declval<E&>().act_low(0));
template <class E> using act_high = decltype(std::declval<E&>().act_high(0));
template <class E>
using reset = decltype(std::declval<E&>().reset(std::declval<Rng&>(), std::declval<std::vector<float>&>()));
template <class E>
using step = decltype(std::declval<E&>().step(std::declval<std::vector<float>&>(), std::declval<std::vector<float>&>(),
                                              std::declval<bool&>()));
template <class E> using reward = decltype(static_cast<Reward>(&E::reward));  // static, this signature
}  // namespace env_concept
template <class E> struct has_obs_dim : env_concept::detect<void, env_concept::obs_dim, E, int> {};
template <class E> struct has_act_dim : env_concept::detect<void, env_concept::act_dim, E, int> {};
template <class E> struct has_ep_len : env_concept::detect<void, env_concept::ep_len, E, int> {};
template <class E> struct has_act_low : env_concept::detect<void, env_concept::act_low, E, float> {};
template <class E> struct has_act_high : env_concept::detect<void, env_concept::act_high, E, float> {};
template <class E> struct has_reset : env_concept::detect<void, env_concept::reset, E, void> {};
template <class E> struct has_step : env_concept::detect<void, env_concept::step, E, float> {};
template <class E> struct has_static_reward : env_concept::detect<void, env_concept::reward, E, env_concept::Reward> {};
template <class E>
struct is_environment
    : std::bool_constant<has_obs_dim<E>::value && has_act_dim<E>::value && has_ep_len<E>::value &&
                         has_act_low<E>::value && has_act_high<E>::value && has_reset<E>::value &&
                         has_step<E>::value && has_static_reward<E>::value> {};
template <class E>
inline constexpr bool is_environment_v = is_environment<E>::value;

// Returns true; a type that is not an environment stops the compilation here, with one message
// per missing member.
template <class Env>
constexpr bool check_environment() {
    static_assert(has_obs_dim<Env>::value, "mbrl: the environment type has no member obs_dim() (int obs_dim() const)");
    static_assert(has_act_dim<Env>::value, "mbrl: the environment type has no member act_dim() (int act_dim() const)");
    static_assert(has_ep_len<Env>::value, "mbrl: the environment type has no member ep_len() (int ep_len() const)");
    static_assert(has_act_low<Env>::value,
                  "mbrl: the environment type has no member act_low(j) (float act_low(int j) const)");
    static_assert(has_act_high<Env>::value,
                  "mbrl: the environment type has no member act_high(j) (float act_high(int j) const)");
    static_assert(has_reset<Env>::value,
                  "mbrl: the environment type has no member reset(rng, obs) (void reset(Rng&, std::vector<float>&))");
    static_assert(has_step<Env>::value,
                  "mbrl: the environment type has no member step(act, obs, done) -> reward "
                  "(float step(const std::vector<float>&, std::vector<float>&, bool&))");
    static_assert(has_static_reward<Env>::value,
                  "mbrl: the environment type has no member reward(obs, act, n, rew, done) (static: "
                  "static void reward(const float*, const float*, int, float*, float*))");
    return true;
}

// =================================================================================================
// 16. Reports and model diagnostics
// =================================================================================================
// The videos' copies of the policies (RunSink::videos), each with counters of its own, so that
// acting with it changes no number of the run: run_mb's planner, or before the first data its
// uniform random actions; run_mbpo's SAC, sampling.
template <class Env>
PolicyFn video_policy(Env& env, const MBRun& run) {
    auto mpc = std::make_shared<MPC<float>>(run.mpc);
    auto draws = std::make_shared<uint64_t>(run.random_actions);
    const bool uniform = run.buffer.size() == 0;  // no data yet: uniform random actions
    const std::vector<float> low = MBRun::bounds(env, true), high = MBRun::bounds(env, false);
    const uint64_t seed = run.cfg.seed;
    return [mpc, draws, uniform, low, high, seed](View<const float> obs, View<float> act) {
        if (!uniform) return mpc->act(obs, act);
        Rng rng(seed, Stream::policy, (*draws)++);
        for (std::size_t j = 0; j < low.size(); ++j) act[static_cast<int>(j)] = static_cast<float>(rng.uniform(low[j], high[j]));
    };
}
inline PolicyFn video_policy(const MBPORun& run) {
    auto sac = std::make_shared<SAC<float>>(run.sac);
    return [sac](View<const float> obs, View<float> act) { sac->act(obs, act); };
}

template <class T>
ReturnStats return_stats(const Rollouts<T>& r) {
    ReturnStats s;
    const std::size_t n = r.returns.size();
    if (n == 0) return s;
    double sum = 0, sq = 0, len = 0;
    for (double x : r.returns) sum += x;
    s.mean = sum / n;
    for (double x : r.returns) sq += unfused((x - s.mean) * (x - s.mean));
    s.std = std::sqrt(sq / n);
    s.max = *std::max_element(r.returns.begin(), r.returns.end());
    s.min = *std::min_element(r.returns.begin(), r.returns.end());
    for (int l : r.lengths) len += l;
    s.ep_len = len / n;
    return s;
}

// Q1's diagnostic (reference 4.2): from a fresh reset, 10 uniform random actions executed in the
// env and, open loop, by member 0 alone; the model prediction error MPE = mean of (predicted - true)^2.
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
template <class T>
ModelDiagnostics model_diagnostics(const Ensemble<T>& ens, const Rollouts<T>& paths, int horizon) {
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
            for (int m = 0; m < E; ++m) var += unfused((f[m](i, j) - mean) * (f[m](i, j) - mean));
            err += unfused((mean - target(i, j)) * (mean - target(i, j)));
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
            ol += unfused(e * e);
        }
    d.open_loop = ol / (static_cast<double>(S) * D);
    return d;
}

// =================================================================================================
// 17. The numerics that fix the bits: fused multiply-adds, tanh, exp and log, normal pairs, bf16
// =================================================================================================
// Every result of the library is a function of these formulas and of the order of summation
// (matmul: bias first, then k = 0, 1, ...; sums over slices and members in index order), written
// once and used by the reference kernel and the tuned one alike, so that every kernel, compiler
// flag and thread count gives the same bits.

// x, which the compiler may not fuse into a following addition: unfused(a * b) + c rounds twice,
// as written. (GCC contracts a * b + c under -ffp-contract=fast where its tuning for the CPU says
// so and not elsewhere; Clang within an expression by default.)
template <class T>
inline T unfused(T x) {
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
    return __builtin_assoc_barrier(x);
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__("" : "+x"(x));  // the value passes through a register the optimizer cannot see into
    return x;
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__("" : "+w"(x));
    return x;
#else
    volatile T v = x;
    return v;
#endif
}

// tanh(x) = x P(x^2) / Q(x^2) on |x| <= 9, and +-1 beyond (where float tanh rounds to 1). P has
// degree 6 and Q degree 3; the coefficients are a rational fit of tanh's relative error made for
// this library (tests/fit_tanh.py): relative error below 4e-7 for every float. Horner's rule,
// one fused multiply-add a step: p = P0 u + P1, then p = p u + P2, ..., p u + P6; q likewise; the
// kernel's epilogue does the same on whole vectors.
constexpr float kTanhP[7] = {-8.4927711294017168e-14f, 5.2795179375355598e-11f, -2.0228459576975267e-08f,
                             1.1155099822570587e-05f,  3.1040315602711183e-03f, 1.3084077456687074e-01f,
                             9.9999999339761614e-01f};
constexpr float kTanhQ[4] = {2.5462551373263187e-04f, 2.4495478140192494e-02f, 4.6417404568923964e-01f, 1.0f};
inline float fast_tanh(float x) {
    x = x < -9.0f ? -9.0f : x;  // written so that NaN passes through
    x = x > 9.0f ? 9.0f : x;
    const float u = x * x;
    float p = std::fma(u, kTanhP[0], kTanhP[1]), q = std::fma(u, kTanhQ[0], kTanhQ[1]);
    for (int i = 2; i < 7; ++i) p = std::fma(p, u, kTanhP[i]);
    for (int i = 2; i < 4; ++i) q = std::fma(q, u, kTanhQ[i]);
    return x * p / q;
}

// Fast float e^x and ln x for the sampling loops (trajectory sampling draws about a million
// normals and soft-bounded variances per planning call; glibc's scalar exp, log1p and cos took
// about a third of a PETS run's time). Branch-free polynomials with Cephes' expf and logf
// coefficients, so loops over them vectorize; relative error below 4e-7 (tests/test_core.cpp
// checks them against <cmath>).
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
    const float r = std::fma(n, 2.12194440e-4f, std::fma(-n, 0.693359375f, x));  // x - n ln 2, ln 2 in two parts
    float p = 1.9875691500e-4f;
    p = std::fma(p, r, 1.3981999507e-3f);
    p = std::fma(p, r, 8.3334519073e-3f);
    p = std::fma(p, r, 4.1665795894e-2f);
    p = std::fma(p, r, 1.6666665459e-1f);
    p = std::fma(p, r, 5.0000001201e-1f);
    p = std::fma(p * r, r, r) + 1.0f;
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
    y = std::fma(y, f, -1.1514610310e-1f);
    y = std::fma(y, f, 1.1676998740e-1f);
    y = std::fma(y, f, -1.2420140846e-1f);
    y = std::fma(y, f, 1.4249322787e-1f);
    y = std::fma(y, f, -1.6668057665e-1f);
    y = std::fma(y, f, 2.0000714765e-1f);
    y = std::fma(y, f, -2.4999993993e-1f);
    y = std::fma(y, f, 3.3333331174e-1f);
    y = std::fma(-z, 0.5f, std::fma(y * f, z, -(2.12194440e-4f * e)));
    return std::fma(e, 0.693359375f, f + y);
}
// softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), in float with the fast exp and log
// (error below 4e-7 of max(softplus, 1)); in double (gradient checks) exact, like tanh_fast_in_float.
inline float softplus_fast_in_float(float x) {
    return (x > 0.0f ? x : 0.0f) + fast_log(1.0f + unfused(fast_exp(-std::fabs(x))));
}
inline double softplus_fast_in_float(double x) { return softplus(x); }
inline float exp_fast_in_float(float x) { return fast_exp(x); }
inline double exp_fast_in_float(double x) { return std::exp(x); }
// Two independent standard normals from uniforms u1 in (0, 1] and u2 in [0, 1): Box-Muller with
// both outputs, radius sqrt(-2 ln u1) and an angle uniform on the circle, q quarter turns (q =
// floor(4 u2)) plus b in [-pi/4, pi/4], where sin and cos need only short polynomials (Cephes').
// The parts before the square root come apart, for the kernel, which takes it on whole vectors:
// z0 = (sqrt(r2) sign) t0, z1 = (sqrt(r2) sign) t1.
struct NormalPairParts {
    float r2, sign, t0, t1;
};
inline NormalPairParts normal_pair_parts(double u1, double u2) {
    const float r2 = -2.0f * fast_log(static_cast<float>(u1));
    const float v = static_cast<float>(4.0 * u2);
    const int k = std::min(static_cast<int>(v), 3);  // v >= 0: the cast is floor
    const float b = (v - static_cast<float>(k) - 0.5f) * 1.57079632679489662f, z = b * b;
    const float c =
        std::fma(std::fma(std::fma(z, 2.443315711809948e-5f, -1.388731625493765e-3f), z, 4.166664568298827e-2f) * z, z,
                 -(0.5f * z)) +
        1.0f;
    const float s =
        std::fma(std::fma(std::fma(z, -1.9515295891e-4f, 8.3321608736e-3f), z, -1.6666654611e-1f) * z, b, b);
    // (c, s) turned by k quarter turns, without branches: an odd k turns once, (c, s) -> (-s, c);
    // k >= 2 turns twice more, a change of sign.
    const float odd = static_cast<float>(k & 1), even = 1.0f - odd;
    return {r2, static_cast<float>(1 - (k & 2)), std::fma(even, c, -(odd * s)), std::fma(odd, c, even * s)};
}
inline void fast_normal_pair(double u1, double u2, float& z0, float& z1) {
    const NormalPairParts q = normal_pair_parts(u1, u2);
    const float radius = std::sqrt(q.r2), sign = radius * q.sign;
    z0 = sign * q.t0;
    z1 = sign * q.t1;
}
// Rng::uniform() of draw number `draw` of the stream `key`, its 53-bit integer converted as two
// exact int32 halves (x86 converts no 64-bit integer to a double vector before AVX-512).
inline double uniform_at(uint64_t key, uint64_t draw) {
    const uint64_t m = mix64(key + draw * kGolden) >> 11;
    const double hi = static_cast<double>(static_cast<int32_t>(m >> 26));
    const double lo = static_cast<double>(static_cast<int32_t>(m & 0x3ffffffu));
    return (hi * 67108864.0 + lo) * 0x1.0p-53;  // exact: 53 bits
}

// bf16, the upper half of a float's bits. x rounded to bf16, to nearest even; NaN stays NaN, and
// float subnormals go to zero (of their sign), as the AVX512_BF16 instruction reads its inputs.
// (The instruction also flushes a subnormal sum to zero, which the other kernels do not: they can
// differ where a sum falls below 1.2e-38.) Pairs of them share a 32-bit word, the even k (or row
// of features) in the upper half. (Written without branches, so that loops over panels vectorize.)
inline uint32_t bf16_bits(float x) {
    const uint32_t u = float_to_bits(x);
    const uint32_t nearest = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    const uint32_t quiet_nan = (u >> 16) | 0x40u, signed_zero = (u >> 16) & 0x8000u;
    return (u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : (u & 0x7f800000u) == 0 ? signed_zero : nearest;
}
inline uint32_t bf16_pair(float even, float odd) { return bf16_bits(even) << 16 | bf16_bits(odd); }
inline float bf16_upper(uint32_t p) { return bits_to_float(p & 0xffff0000u); }
inline float bf16_lower(uint32_t p) { return bits_to_float(p << 16); }
inline float bf16_round(float x) { return bits_to_float(bf16_bits(x) << 16); }
inline int bf16_pairs(int k) { return (k + 1) / 2; }

// =================================================================================================
// 18. Parallel loops that carry exceptions
// =================================================================================================
// An exception must not leave an OpenMP region (the program would end in std::terminate), so every
// iteration's body runs inside run(i, body), which catches whatever it throws; after the loop,
// rethrow() throws again the exception of the lowest iteration that threw: the same one whatever
// the number of threads, and the same in a build without OpenMP. The other iterations still run
// (a parallel loop cannot be left early).
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

template <class Body>
void parallel_for(long n, bool parallel, Body&& body) {
    (void)parallel;  // (without OpenMP)
    ParallelErrors errors;
    MBRL_OMP(parallel for schedule(static) if (parallel))
    for (long i = 0; i < n; ++i) errors.run(i, [&] { body(i); });
    errors.rethrow();
}

// =================================================================================================
// 19. The reference kernel: section 4's contract in plain loops
// =================================================================================================
// The definition of what every kernel computes, and what runs where mbrl_kernel.hpp is absent (or
// with MBRL_KERNEL=reference); double (gradient checks) always runs here. Each loop sums in the
// contract's order with std::fma, so the tuned kernels, which are tested against it, give its bits.

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

namespace reference {
// C = act(op(A) op(B) + bias) or C += op(A) op(B) + bias: element (i, j) is bias_j, then
// + a_i0 b_0j, + a_i1 b_1j, ..., each one fused multiply-add.
template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, Epilogue<T> ep, MatmulScratch&) {
    const int K = ta ? A.rows : A.cols;
    const Strides sa = op_strides(A, ta), sb = op_strides(B, tb);
    const double flops = 2.0 * C.rows * C.cols * K;
    (void)flops;
    MBRL_OMP(parallel for schedule(static) if (flops > 4e6))
    for (int i = 0; i < C.rows; ++i)
        for (int j = 0; j < C.cols; ++j) {
            T sum = ep.bias ? ep.bias[j] : T(0);
            for (int k = 0; k < K; ++k) sum = std::fma(A.data[i * sa.rs + k * sa.cs], B.data[k * sb.rs + j * sb.cs], sum);
            C(i, j) = ep.accumulate ? C(i, j) + sum : activate(ep.act, sum);
        }
}
// The reference's layout is the plain one: W [in, outputs], then b [outputs].
template <class T>
void pack_layer(PackedLayer<T>& out, const T* W, const T* b, int in, int outputs, bool) {
    out.in = in;
    out.out = outputs;
    const std::size_t nw = static_cast<std::size_t>(in) * outputs;
    out.data.assign(W, W + nw);
    out.data.insert(out.data.end(), b, b + outputs);
    out.bf16.clear();
}
// Layer by layer, row by row: y_j = f(b_j + x_0 W_0j + x_1 W_1j + ...), with bf16 the x and W
// rounded to bf16 first (their products are exact in float: one rounding per term, as the
// instruction).
template <class T>
void forward(const PackedLayers<T>& net, View<const T> X, View<T> Y, ForwardScratch<T>& s) {
    const int L = static_cast<int>(net.layer.size()), B = X.rows;
    int widest = X.cols;
    for (const PackedLayer<T>& layer : net.layer) widest = std::max(widest, layer.out);
    for (Buffer<T>& f : s.fm)
        if (f.size() < static_cast<std::size_t>(B) * widest) f.resize(static_cast<std::size_t>(B) * widest);
    std::copy(X.data, X.data + X.size(), s.fm[0].data());
    for (int l = 0; l < L; ++l) {
        const PackedLayer<T>& layer = net.layer[l];
        const Activation f = l + 1 < L ? net.act : Activation::identity;
        const T *W = layer.data.data(), *b = W + static_cast<std::size_t>(layer.in) * layer.out;
        for (int i = 0; i < B; ++i)
            for (int j = 0; j < layer.out; ++j) {
                T sum = b[j];
                for (int k = 0; k < layer.in; ++k) {
                    T x = s.fm[0][static_cast<std::size_t>(i) * layer.in + k], w = W[static_cast<std::size_t>(k) * layer.out + j];
                    if constexpr (std::is_same<T, float>::value)
                        if (net.bf16) x = bf16_round(x), w = bf16_round(w);
                    sum = std::fma(x, w, sum);
                }
                s.fm[1][static_cast<std::size_t>(i) * layer.out + j] = activate(f, sum);
            }
        std::swap(s.fm[0], s.fm[1]);
    }
    std::copy(s.fm[0].data(), s.fm[0].data() + Y.size(), Y.data);
}
template <class T>
void activation_backward(Activation f, const T* y, T* dy, std::size_t n) {
    if (f == Activation::tanh)
        for (std::size_t i = 0; i < n; ++i) dy[i] *= std::fma(-y[i], y[i], T(1));
    else if (f == Activation::relu)
        for (std::size_t i = 0; i < n; ++i) dy[i] = y[i] > T(0) ? dy[i] : T(0);
}
template <class T>
void residual_affine(int rows, int cols, const T* x, int ldx, const T* y, int ldy, const T* scale, const T* shift,
                     T* out, int ldo) {
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j)
            out[static_cast<std::ptrdiff_t>(i) * ldo + j] =
                x[static_cast<std::ptrdiff_t>(i) * ldx + j] + std::fma(y[static_cast<std::ptrdiff_t>(i) * ldy + j], scale[j], shift[j]);
}
template <class T>
void map_rows(Elementwise f, int rows, int cols, const T* x, int ldx, T* out, int ldo) {
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) {
            const T xij = x[static_cast<std::ptrdiff_t>(i) * ldx + j];
            out[static_cast<std::ptrdiff_t>(i) * ldo + j] = f == Elementwise::exp ? exp_fast_in_float(xij) : softplus_fast_in_float(xij);
        }
}
template <class T>
void fma_rows(int rows, int cols, const T* a, int lda, const T* b, int ldb, const T* c, int ldc, T* out, int ldo) {
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j)
            out[static_cast<std::ptrdiff_t>(i) * ldo + j] =
                std::fma(a[static_cast<std::ptrdiff_t>(i) * lda + j], b[static_cast<std::ptrdiff_t>(i) * ldb + j],
                         c[static_cast<std::ptrdiff_t>(i) * ldc + j]);
}
template <class T>
void axpby(std::ptrdiff_t n, T a, const T* x, T b, T* y) {
    MBRL_OMP(parallel for schedule(static) if (n >= kParallelElements))
    for (std::ptrdiff_t i = 0; i < n; ++i) y[i] = std::fma(a, x[i], b * y[i]);
}
template <class T>
void adam(T* params, const T* grads, T* m, T* v, std::ptrdiff_t n, const AdamStep<T>& c) {
    MBRL_OMP(parallel for schedule(static) if (n >= kParallelElements))
    for (std::ptrdiff_t i = 0; i < n; ++i) adam_param(params[i], grads[i], m[i], v[i], c);
}
// Normal i (and i + 1) from draws counter + i + 1 and counter + i + 2.
inline void normals(uint64_t key, uint64_t counter, float* out, int n) {
    for (int i = 0; i < n; i += 2) {
        const uint64_t c = counter + static_cast<uint64_t>(i);
        float z0, z1;
        fast_normal_pair(1.0 - uniform_at(key, c + 1), uniform_at(key, c + 2), z0, z1);
        out[i] = z0;
        if (i + 1 < n) out[i + 1] = z1;
    }
}
}  // namespace reference

// =================================================================================================
// 20. Choosing the kernel
// =================================================================================================
// A kernel is section 4's contract for float as a table of functions. mbrl_kernel.hpp, where it
// sits beside this file, adds tuned kernels for the instruction sets of x86-64 and aarch64; the
// first call picks the best this CPU runs, or the one the environment variable MBRL_KERNEL names.
struct Kernel {
    const char* name;
    void (*matmul)(View<float> C, View<const float> A, bool ta, View<const float> B, bool tb, Epilogue<float> ep,
                   MatmulScratch& scratch);
    void (*pack_layer)(PackedLayer<float>& out, const float* W, const float* b, int in, int outputs, bool bf16);
    void (*forward)(const PackedLayers<float>& net, View<const float> X, View<float> Y, ForwardScratch<float>& scratch);
    void (*adam)(float* params, const float* grads, float* m, float* v, std::ptrdiff_t n, const AdamStep<float>& c);
    void (*normals)(uint64_t key, uint64_t counter, float* out, int n);
    void (*activation_backward)(Activation f, const float* y, float* dy, std::size_t n);
    void (*residual_affine)(int rows, int cols, const float* x, int ldx, const float* y, int ldy, const float* scale,
                            const float* shift, float* out, int ldo);
    void (*map_rows)(Elementwise f, int rows, int cols, const float* x, int ldx, float* out, int ldo);
    void (*fma_rows)(int rows, int cols, const float* a, int lda, const float* b, int ldb, const float* c, int ldc,
                     float* out, int ldo);
    void (*axpby)(std::ptrdiff_t n, float a, const float* x, float b, float* y);
};
namespace reference {
inline const Kernel& table() {
    static const Kernel k{"reference",      &matmul<float>,   &pack_layer<float>,          &forward<float>,
                          &adam<float>,     &normals,         &activation_backward<float>, &residual_affine<float>,
                          &map_rows<float>, &fma_rows<float>, &axpby<float>};
    return k;
}
}  // namespace reference
}  // namespace mbrl

#if __has_include("mbrl_kernel.hpp")
#include "mbrl_kernel.hpp"
#endif

namespace mbrl {
// The tuned kernels this CPU runs, best first, then the reference; or the one MBRL_KERNEL names
// (an error, naming what there is, if it is unknown or this CPU cannot run it).
inline std::vector<const Kernel*> available_kernels() {
    std::vector<const Kernel*> k;
#ifdef MBRL_KERNEL_TUNED
    k = kernels::tuned_kernels();
#endif
    k.push_back(&reference::table());
    return k;
}
inline const Kernel& choose_kernel() {
    const std::vector<const Kernel*> all = available_kernels();
    const char* want = std::getenv("MBRL_KERNEL");
    if (!want || !*want) return *all.front();
    std::string runs;
    for (const Kernel* k : all) {
        if (std::strcmp(k->name, want) == 0) return *k;
        runs += std::string(runs.empty() ? "" : ", ") + k->name;
    }
#ifdef MBRL_KERNEL_TUNED
    const std::string known = kernels::known_kernel_names();
#else
    const std::string known = "reference";
#endif
    const bool is_known = (", " + known + ",").find(", " + std::string(want) + ",") != std::string::npos;
    fail("MBRL_KERNEL=", want, ": ", is_known ? "this CPU cannot run that kernel" : "no such kernel in this build",
         " (this CPU runs: ", runs, ")");
}
inline const Kernel& kernel() {
    static const Kernel& k = choose_kernel();
    return k;
}
inline const char* kernel_name() { return kernel().name; }

// Section 4's contract: float to the kernel, double to the reference.
template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, Epilogue<T> ep, MatmulScratch& scratch) {
    check_matmul(C, A, ta, B, tb);
    if constexpr (std::is_same<T, float>::value) kernel().matmul(C, A, ta, B, tb, ep, scratch);
    else reference::matmul(C, A, ta, B, tb, ep, scratch);
}
// One-off products, with a scratch of their own.
template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, Epilogue<T> ep) {
    MatmulScratch scratch;
    matmul(C, A, ta, B, tb, ep, scratch);
}
template <class T>
void matmul(View<T> C, View<const T> A, bool ta, View<const T> B, bool tb, bool accumulate = false) {
    matmul(C, A, ta, B, tb, Epilogue<T>{nullptr, Activation::identity, accumulate});
}
template <class T>
void pack_layer(PackedLayer<T>& out, const T* W, const T* b, int in, int outputs, bool bf16) {
    if constexpr (std::is_same<T, float>::value) {
        kernel().pack_layer(out, W, b, in, outputs, bf16);
        out.packed_by = &kernel();
    } else {
        if (bf16) fail("pack_layer: bf16 products are for float networks");
        reference::pack_layer(out, W, b, in, outputs, bf16);
    }
}
template <class T>
void forward_packed(const PackedLayers<T>& net, View<const T> X, View<T> Y, ForwardScratch<T>& scratch) {
    if constexpr (std::is_same<T, float>::value) {
        for (const PackedLayer<T>& layer : net.layer)
            if (layer.packed_by != &kernel())
                fail("forward_packed: the layers were packed by another kernel (", layer.packed_by ? layer.packed_by->name : "none",
                     ") than the one running (", kernel().name, ")");
        kernel().forward(net, X, Y, scratch);
    } else {
        reference::forward(net, X, Y, scratch);
    }
}
template <class T>
void adam_update(T* params, const T* grads, T* m, T* v, std::ptrdiff_t n, const AdamStep<T>& c) {
    if constexpr (std::is_same<T, float>::value) kernel().adam(params, grads, m, v, n, c);
    else reference::adam(params, grads, m, v, n, c);
}
inline void normal_block(uint64_t key, uint64_t counter, float* out, int n) { kernel().normals(key, counter, out, n); }
template <class T>
void activation_backward(Activation f, const T* y, T* dy, std::size_t n) {
    if constexpr (std::is_same<T, float>::value) kernel().activation_backward(f, y, dy, n);
    else reference::activation_backward(f, y, dy, n);
}
template <class T>
void residual_affine(int rows, int cols, const T* x, int ldx, const T* y, int ldy, const T* scale, const T* shift,
                     T* out, int ldo) {
    if constexpr (std::is_same<T, float>::value) kernel().residual_affine(rows, cols, x, ldx, y, ldy, scale, shift, out, ldo);
    else reference::residual_affine(rows, cols, x, ldx, y, ldy, scale, shift, out, ldo);
}
template <class T>
void map_rows(Elementwise f, int rows, int cols, const T* x, int ldx, T* out, int ldo) {
    if constexpr (std::is_same<T, float>::value) kernel().map_rows(f, rows, cols, x, ldx, out, ldo);
    else reference::map_rows(f, rows, cols, x, ldx, out, ldo);
}
template <class T>
void fma_rows(int rows, int cols, const T* a, int lda, const T* b, int ldb, const T* c, int ldc, T* out, int ldo) {
    if constexpr (std::is_same<T, float>::value) kernel().fma_rows(rows, cols, a, lda, b, ldb, c, ldc, out, ldo);
    else reference::fma_rows(rows, cols, a, lda, b, ldb, c, ldc, out, ldo);
}
template <class T>
void axpby(std::ptrdiff_t n, T a, const T* x, T b, T* y) {
    if constexpr (std::is_same<T, float>::value) kernel().axpby(n, a, x, b, y);
    else reference::axpby(n, a, x, b, y);
}

}  // namespace mbrl

// =================================================================================================
// PART III: BEYOND THE HOMEWORK
// =================================================================================================
namespace mbrl {

// =================================================================================================
// 21. Gaussian members, trajectory sampling (PETS) and planning on a true simulator
// =================================================================================================
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

// The soft-bounded log-variance (forward) of a raw output r with bounds hi = max_lv, lo = min_lv.
template <class T>
T bounded_logvar(T r, T hi, T lo) {
    const T a = hi - softplus_fast_in_float(hi - r);
    return lo + softplus_fast_in_float(a - lo);
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

// A draw, s' = s + unnormalize(mu + exp(lv / 2) eps), for every row at once: lv in place of r, then
// exp(lv / 2), then z = mu + exp(lv / 2) eps, then s + unnormalize(z). Nothing is allocated.
template <class T>
void Ensemble<T>::predict_sample(int m, View<const T> obs, View<const T> act, View<T> next_obs, View<const T> eps,
                                 MLPWork<T>& w, const PackedLayers<T>* packed) const {
    if (!probabilistic()) return predict(m, obs, act, next_obs, w, packed);
    const MLP<T>& net = nets[m];
    const int B = obs.rows, D = obs_dim;
    model_input(w.start_batch(net, B), obs, act, stats);
    View<T> y = packed ? mlp_forward(*packed, w) : mlp_forward(net, w);  // [B, 2 D]: mu, then r
    T* half = y.data + D;  // [B, D] (row stride 2 D) in place of r: lv / 2, ...
    bounded_logvars(m, y, half, y.cols);
    for (int i = 0; i < B; ++i)
        for (int j = 0; j < D; ++j) y(i, D + j) *= T(0.5);
    map_rows(Elementwise::exp, B, D, half, y.cols, half, y.cols);                    // ... exp(lv / 2), ...
    fma_rows(B, D, half, y.cols, eps.data, eps.cols, y.data, y.cols, half, y.cols);  // ... z = mu + exp(lv / 2) eps
    // next_obs(i, j) = obs(i, j) + stats.delta.unnormalize(z(i, j), j)
    residual_affine(B, D, obs.data, obs.cols, half, y.cols, stats.delta.std.data(), stats.delta.mean.data(),
                    next_obs.data, next_obs.cols);
}
// lv [rows, D] (row stride ldl) = bounded_logvar of member m's raw outputs r = y(:, D + j), on
// every element as the kernel's elementwise functions: lo + softplus((hi - softplus(hi - r)) - lo).
template <class T>
void Ensemble<T>::bounded_logvars(int m, View<const T> y, T* lv, int ldl) const {
    const int D = obs_dim;
    const T *hi = max_logvar(m), *lo = min_logvar(m);
    auto at = [&](int i, int j) -> T& { return lv[static_cast<std::ptrdiff_t>(i) * ldl + j]; };
    for (int i = 0; i < y.rows; ++i)
        for (int j = 0; j < D; ++j) at(i, j) = hi[j] - y(i, D + j);
    map_rows(Elementwise::softplus, y.rows, D, lv, ldl, lv, ldl);
    for (int i = 0; i < y.rows; ++i)
        for (int j = 0; j < D; ++j) at(i, j) = (hi[j] - at(i, j)) - lo[j];
    map_rows(Elementwise::softplus, y.rows, D, lv, ldl, lv, ldl);
    for (int i = 0; i < y.rows; ++i)
        for (int j = 0; j < D; ++j) at(i, j) = lo[j] + at(i, j);
}

// The NLL part of the probabilistic loss on the rows of y [rows, 2 D] (mean, raw log-variance)
// against label [rows, D] (the slice's Eq. 5 target), as a share of a minibatch of B rows: returns
// 1/(B D) sum [(mu - y)^2 exp(-lv) + lv]; writes dL/dy into dy [rows, 2 D] and adds dL/dbounds
// into dbounds [2 D]. dL/dmu = 2 (mu - y) exp(-lv) / (B D), dL/dlv = (1 - (mu - y)^2 exp(-lv)) / (B D).
template <class T>
T Ensemble<T>::gaussian_nll(int m, View<const T> y, View<const T> label, View<T> dy, int B, T* dbounds) const {
    const int D = obs_dim;
    const T *hi = max_logvar(m), *lo = min_logvar(m);
    const double scale = 1.0 / (static_cast<double>(B) * D);
    double loss = 0;
    bounded_logvars(m, y, dy.data + D, dy.cols);  // lv, where dL/dr goes
    for (int i = 0; i < y.rows; ++i)
        for (int j = 0; j < D; ++j) {
            const T r = y(i, D + j), lv = dy(i, D + j);
            const double err = static_cast<double>(y(i, j)) - label(i, j), inv_var = std::exp(-static_cast<double>(lv));
            loss += std::fma(err * err, inv_var, static_cast<double>(lv));
            dy(i, j) = static_cast<T>(2 * err * inv_var * scale);
            const T dlv = static_cast<T>(std::fma(-(err * err), inv_var, 1.0) * scale);
            dy(i, D + j) = bounded_logvar_backward(r, hi[j], lo[j], dlv, dbounds + j, dbounds + D + j);
        }
    return static_cast<T>(loss * scale);
}

// Member m's gradient of its log-variance bounds: bound_grads[m] = the slices' sums in slice order,
// plus the penalty's gradient; and the penalty 0.01 (sum max_lv - sum min_lv) into losses[m].
template <class T>
void Ensemble<T>::gather_bound_gradient(int m) {
    Buffer<T>& bg = bound_grads[m];
    std::fill(bg.begin(), bg.end(), T(0));
    for (int s = 0; s < kSlices; ++s)
        for (int j = 0; j < 2 * obs_dim; ++j) bg[j] += train_work.bound_grads[m * kSlices + s][j];
    double penalty = 0;  // d/dmax = 0.01, d/dmin = -0.01
    for (int j = 0; j < obs_dim; ++j) {
        penalty += static_cast<double>(max_logvar(m)[j]) - min_logvar(m)[j];
        bg[j] += static_cast<T>(kBoundPenalty);
        bg[obs_dim + j] -= static_cast<T>(kBoundPenalty);
    }
    losses[m] += static_cast<T>(kBoundPenalty * penalty);
}

// The particles' Gaussian noise: in float two normals per pair of uniforms (Rng::normals); in
// double one normal() each.
inline void sample_normals(Rng& rng, float* out, int n) { rng.normals(out, n); }
inline void sample_normals(Rng& rng, double* out, int n) {
    for (int i = 0; i < n; ++i) out[i] = rng.normal();
}

// Trajectory sampling (PETS, Chua et al. 2018, section 5): instead of one deterministic rollout
// per member, each candidate gets P particles (MPCConfig::particles, default one per member). A
// particle's next state is a draw of one member's Gaussian (probabilistic members; the mean for
// deterministic ones). TS1 draws that member afresh for each particle at each step; TS-inf fixes
// it per particle for the whole horizon (particle p uses member p mod E, PETS's even split). A
// candidate's score is the mean over its particles of their summed rewards. The draws are keyed
// by (call, round, step, candidate), so they do not depend on the thread count. Jobs are blocks
// of candidates with all their particles; at each step each job gathers its rows by member,
// predicts, and scatters them back, in preallocated scratch.
template <class T>
void MPC<T>::reserve_sampled() {
    const Ensemble<T>& ens = *model;
    const int K = cfg.num_sequences, E = ens.size();
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

// Trajectory sampling (TS1 / TS-inf): P particles per candidate, each stepping with one
// member's draw; score = mean over particles of their summed rewards.
template <class T>
void MPC<T>::evaluate_sampled(View<const T> obs, uint64_t call, int round) {
    const int E = model->size(), K = cfg.num_sequences, H = cfg.horizon, P = particles;
    const bool ts1 = cfg.propagation == Propagation::ts1, noisy = model->probabilistic();
    packed.resize(E);
    for (int m = 0; m < E; ++m) pack_mlp(model->nets[m], packed[m], cfg.bf16);
    parallel_for(static_cast<long>(jobs.size()), [&](long j_) {  // job j: candidates [j block, j block + n)
        const int j = static_cast<int>(j_);
        JobWork& job = jobs[j];
        const int i0 = j * block, n = std::min(block, K - i0), R = n * P;
        if (n <= 0) return;
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
    });
    for (int i = 0; i < K; ++i) mean_score[i] = score(0, i);
}

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

// Planning on the true simulator (upper bound of a perfect model): the same candidates, scored by
// a TrueModel that the caller supplies (this library knows no simulator; envs/true_model.hpp has
// one for every env of envs/). One score per candidate: the summed rewards of its actions
// simulated from the real env's current state.
// Score candidates on the true simulator from now on (the ensemble is no longer used): one
// job, and one copy of the simulation, per block of at most 64 candidates.
template <class T>
void MPC<T>::plan_on(TrueModel<T>& true_model) {
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

// The true simulator: candidate i's score is its summed reward simulated from the real state.
template <class T>
void MPC<T>::evaluate_true() {
    const int K = cfg.num_sequences, H = cfg.horizon;
    parallel_for(blocks, [&](long j_) {  // job j: candidates [j block, j block + n) with copy j
        const int j = static_cast<int>(j_);
        const int i0 = j * block, n = std::min(block, K - i0);
        for (int i = 0; i < n; ++i) score(0, i0 + i) = truth->rollout(j, View<const T>(cand.row(i0 + i), H, ac_dim));
    });
    for (int i = 0; i < K; ++i) mean_score[i] = score(0, i);
}

}  // namespace mbrl
#endif  // MBRL_HPP
