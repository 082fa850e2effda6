// mbrl_kernel.hpp: the speed behind mbrl.hpp's kernel contract (mbrl.hpp, section 4)
//
// mbrl.hpp includes this file when it finds it beside itself; nobody else includes it. Without it
// every product runs in mbrl.hpp's reference kernel (section 20): plain loops, the same numbers,
// several times slower. With it, the float products run here:
//   matmul           C = act(op(A) op(B) + bias) or C += op(A) op(B): op(B) packed into column
//                    panels, a register-tiled micro-kernel with the bias and activation fused in
//                    (Goto/BLIS)
//   packed forward   a stack of dense layers through weights packed once, turned around
//                    (Y^T = f(W^T X^T + b)): the batch along the vector lanes, optionally with
//                    bf16 products
//   adam             Adam's update on whole vectors
//   normals          normal pairs a vector at a time
//   elementwise      e^x, softplus and fused multiply-adds over rows, a vector at a time
// and nothing else: the kernel knows matrices, vectors, activations and epilogues, not networks,
// ensembles, planners or agents.
//
// ONE BINARY, EVERY CPU. The body of this file (below the first #else) is compiled once per
// instruction set, each copy in its own namespace under the compiler's target pragma, so a
// program built with the compiler's default flags (no -march) carries them all:
//   x86-64   avx512_bf16, avx512 (AVX-512 F/BW/DQ/VL, FMA), avx2 (AVX2, FMA)
//   aarch64  neon
// The first kernel call picks the best the CPU has (CPUID through __builtin_cpu_supports),
// else mbrl.hpp's reference kernel. MBRL_KERNEL=<name> in the environment picks one by name
// (avx512_bf16, avx512, avx2, neon, reference) for tests and benchmarks; a name the CPU cannot
// run is an error that says so, never an illegal instruction. mbrl::kernel_name() says which
// one runs.
//
// THE SAME BITS FROM EVERY KERNEL. Every element of a product is summed in one order, bias
// first, then k = 0, 1, 2, ..., each term one fused multiply-add; activations, Adam and the
// normals use mbrl.hpp's formulas (Part II) with their fused multiply-adds written out. Every FMA
// is explicit (an instruction here, std::fma in the reference), so nothing depends on
// -ffp-contract, on the tile, on the vector width or on the thread count. GCC and Clang's vector
// extensions name the registers; intrinsics only where they have no word: the fused
// multiply-add, a register's square root, max and min, and the bf16 dot product.
//
// Tiles, chosen so that the kMR x kNV accumulators, the kNV loaded vectors and one broadcast fit
// the vector registers:
//   AVX-512 (32 registers of 64 bytes)      12 x 2 vectors = 12 x 32 floats
//   AVX2    (16 registers of 32 bytes)       6 x 2 vectors =  6 x 16 floats
//   NEON    (32 registers of 16 bytes)       8 x 3 vectors =  8 x 12 floats
#if !defined(MBRL_KERNEL_VARIANT)
#ifndef MBRL_HPP
// Included first: mbrl.hpp comes first, and includes this file back at its end.
#include "mbrl.hpp"
#elif !defined(MBRL_KERNEL_HPP)
#define MBRL_KERNEL_HPP
#include <cstdint>
#include <cstring>
#include <vector>
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
#define MBRL_KERNEL_TUNED 1
#if defined(__x86_64__)
#include <immintrin.h>
#else
#include <arm_neon.h>
#endif

// The variants, each the body below under its target. (GCC's pragma and Clang's attribute
// reach every function defined in the region: templates, lambdas and inline functions.)
#if defined(__clang__)
#define MBRL_KERNEL_TARGET_BEGIN(t) _Pragma(MBRL_KERNEL_STR(clang attribute push(__attribute__((target(t))), apply_to = function)))
#define MBRL_KERNEL_TARGET_END _Pragma("clang attribute pop")
#else
#define MBRL_KERNEL_TARGET_BEGIN(t) _Pragma("GCC push_options") _Pragma(MBRL_KERNEL_STR(GCC target(t)))
#define MBRL_KERNEL_TARGET_END _Pragma("GCC pop_options")
#endif
#define MBRL_KERNEL_STR(x) #x
// The micro-kernels' loops over the tile's rows and vectors are unrolled whatever the -O level,
// so that the accumulators live in registers.
#define MBRL_KERNEL_UNROLL _Pragma("GCC unroll 16")

// Optional, for a program of many translation units that wants the kernels compiled once:
// every one of them defines MBRL_KERNEL_SEPARATE and exactly one also MBRL_KERNEL_IMPLEMENTATION;
// the others see only each variant's table declared. (make test builds its test binary so.)
#if defined(MBRL_KERNEL_SEPARATE) && !defined(MBRL_KERNEL_IMPLEMENTATION)
namespace mbrl {
namespace kernels {
#if defined(__x86_64__)
namespace avx512 {
const Kernel& table(bool with_dot);
}
namespace avx2 {
const Kernel& table(bool with_dot);
}
#else
namespace neon {
const Kernel& table(bool with_dot);
}
#endif
}  // namespace kernels
}  // namespace mbrl
#elif defined(__x86_64__)
#define MBRL_KERNEL_VARIANT avx512
#define MBRL_KERNEL_BYTES 64
#define MBRL_KERNEL_MR 12
#define MBRL_KERNEL_NV 2
MBRL_KERNEL_TARGET_BEGIN("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi2,popcnt")
#include "mbrl_kernel.hpp"
MBRL_KERNEL_TARGET_END
#undef MBRL_KERNEL_VARIANT
#undef MBRL_KERNEL_BYTES
#undef MBRL_KERNEL_MR
#undef MBRL_KERNEL_NV
#define MBRL_KERNEL_VARIANT avx2
#define MBRL_KERNEL_BYTES 32
#define MBRL_KERNEL_MR 6
#define MBRL_KERNEL_NV 2
MBRL_KERNEL_TARGET_BEGIN("avx2,fma,bmi2,popcnt")
#include "mbrl_kernel.hpp"
MBRL_KERNEL_TARGET_END
#undef MBRL_KERNEL_VARIANT
#undef MBRL_KERNEL_BYTES
#undef MBRL_KERNEL_MR
#undef MBRL_KERNEL_NV
#else  // aarch64: NEON and FMA are part of the base instruction set
#define MBRL_KERNEL_VARIANT neon
#define MBRL_KERNEL_BYTES 16
#define MBRL_KERNEL_MR 8
#define MBRL_KERNEL_NV 3
#include "mbrl_kernel.hpp"
#undef MBRL_KERNEL_VARIANT
#undef MBRL_KERNEL_BYTES
#undef MBRL_KERNEL_MR
#undef MBRL_KERNEL_NV
#endif

namespace mbrl {
namespace kernels {
// The tuned kernels this CPU can run, best first (mbrl.hpp's choose_kernel() takes the first, or
// the one MBRL_KERNEL names).
inline std::vector<const Kernel*> tuned_kernels() {
    std::vector<const Kernel*> k;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")) {
        if (__builtin_cpu_supports("avx512bf16")) k.push_back(&avx512::table(true));
        k.push_back(&avx512::table(false));
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k.push_back(&avx2::table(false));
#else
    k.push_back(&neon::table(false));
#endif
    return k;
}
// Every kernel name this build knows, whether or not this CPU can run it.
inline const char* known_kernel_names() {
#if defined(__x86_64__)
    return "avx512_bf16, avx512, avx2, reference";
#else
    return "neon, reference";
#endif
}
}  // namespace kernels
}  // namespace mbrl
#endif  // __GNUC__ on x86-64 or aarch64
#endif  // MBRL_HPP, MBRL_KERNEL_HPP

#else  // MBRL_KERNEL_VARIANT: one instruction set's kernel, in namespace mbrl::kernels::<variant>
namespace mbrl {
namespace kernels {
namespace MBRL_KERNEL_VARIANT {

constexpr int kW = MBRL_KERNEL_BYTES / 4;  // floats per vector
constexpr int kMR = MBRL_KERNEL_MR;        // rows of C per micro-tile (outputs, in the packed forward)
constexpr int kNV = MBRL_KERNEL_NV;        // vectors per micro-tile row (rows of the batch, in the packed forward)
constexpr int kNR = kNV * kW;              // columns of a full panel
typedef float vfloat __attribute__((vector_size(MBRL_KERNEL_BYTES)));
typedef uint32_t vword __attribute__((vector_size(MBRL_KERNEL_BYTES)));
typedef int32_t vint __attribute__((vector_size(MBRL_KERNEL_BYTES)));

// ---------------------------------------------------------------------------------------------
// One vector of kW floats
// ---------------------------------------------------------------------------------------------
inline vfloat load(const float* p) {
    vfloat v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }
inline vfloat splat(float x) { return x - vfloat{}; }  // x - 0 = x for every x, -0 included
// a b + c with one rounding per lane.
inline vfloat fmadd(vfloat a, vfloat b, vfloat c) {
#if MBRL_KERNEL_BYTES == 64
    return (vfloat)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif MBRL_KERNEL_BYTES == 32
    return (vfloat)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return (vfloat)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
#endif
}
// Each lane's square root, correctly rounded (as std::sqrt).
inline vfloat vsqrt(vfloat x) {
#if MBRL_KERNEL_BYTES == 64  // (masked forms, all lanes on: the plain ones trip GCC 12's -Wmaybe-uninitialized)
    return (vfloat)_mm512_mask_sqrt_ps((__m512)x, 0xFFFF, (__m512)x);
#elif MBRL_KERNEL_BYTES == 32
    return (vfloat)_mm256_sqrt_ps((__m256)x);
#else
    return (vfloat)vsqrtq_f32((float32x4_t)x);
#endif
}
// f applied to every lane: the bits of mbrl::activate(f, lane) (tests/test_kernel.cpp).
inline vfloat activate(Activation f, vfloat x) {
    if (f == Activation::tanh) {
        // The clamp to [-9, 9], NaN passing through: x86's max(a, b) is a > b ? a : b and min(a, b)
        // a < b ? a : b, which give b when either is NaN.
#if MBRL_KERNEL_BYTES == 64
        const __m512 lo = _mm512_mask_max_ps((__m512)x, 0xFFFF, _mm512_set1_ps(-9.0f), (__m512)x);
        x = (vfloat)_mm512_mask_min_ps(lo, 0xFFFF, _mm512_set1_ps(9.0f), lo);
#elif MBRL_KERNEL_BYTES == 32
        x = (vfloat)_mm256_min_ps(_mm256_set1_ps(9.0f), _mm256_max_ps(_mm256_set1_ps(-9.0f), (__m256)x));
#else
        x = -9.0f > x ? splat(-9.0f) : x;  // NaN compares false: it passes through
        x = 9.0f < x ? splat(9.0f) : x;
#endif
        // fast_tanh's polynomials (mbrl.hpp section 17), the same operations on every lane
        const vfloat u = x * x;
        vfloat p = fmadd(u, splat(kTanhP[0]), splat(kTanhP[1])), q = fmadd(u, splat(kTanhQ[0]), splat(kTanhQ[1]));
        MBRL_KERNEL_UNROLL
        for (int i = 2; i < 7; ++i) p = fmadd(p, u, splat(kTanhP[i]));
        MBRL_KERNEL_UNROLL
        for (int i = 2; i < 4; ++i) q = fmadd(q, u, splat(kTanhQ[i]));
        return x * p / q;
    }
    if (f == Activation::relu) return x > 0.0f ? x : vfloat{};
    return x;
}

// ---------------------------------------------------------------------------------------------
// Matrix multiply (Goto/BLIS): op(B) packed into column panels, zero-padded to whole vectors,
// panel p [K + 1, width_p] contiguous, its last row the bias (or zeros); for every block of kMR
// rows of C and every panel, a micro-kernel keeps that kMR x width_p block of C in registers
// while it runs over k: per k, kMR broadcasts of A, kNV vector loads of B, kMR x kNV FMAs.
// ---------------------------------------------------------------------------------------------
inline int panel_count(const MatmulScratch& B) { return (B.N + kNR - 1) / kNR; }
inline int panel_width(const MatmulScratch& B, int p) {  // kNR, or the last panel's columns in whole vectors
    const int cols = std::min(kNR, B.N - p * kNR);
    return (cols + kW - 1) / kW * kW;
}
inline const float* panel_data(const MatmulScratch& B, int p) {
    return B.data.data() + static_cast<std::size_t>(p) * (B.K + 1) * kNR;
}

inline void pack_b(MatmulScratch& out, View<const float> B, bool tb, const float* bias) {
    out.K = tb ? B.cols : B.rows;
    out.N = tb ? B.rows : B.cols;
    const int K = out.K, N = out.N, panels = panel_count(out);
    const std::size_t panel_size = static_cast<std::size_t>(K + 1) * kNR;  // the last panel may use less
    if (out.data.size() < panels * panel_size) out.data.resize(panels * panel_size);
    // Panels are independent: split over the threads when large. Each loop reads B along its
    // contiguous direction.
    parallel_for(panels, static_cast<std::ptrdiff_t>(K) * N >= kParallelElements, [&](long pl) {
        const int p = static_cast<int>(pl);
        float* dst = out.data.data() + p * panel_size;
        const int j0 = p * kNR, nr = std::min(kNR, N - j0), w = panel_width(out, p);
        if (!tb) {  // op(B) = B: row k of the panel is B[k, j0 .. j0 + nr), then zeros
            for (int k = 0; k < K; ++k) {
                const float* src = B.data + static_cast<std::ptrdiff_t>(k) * N + j0;
                float* d = dst + static_cast<std::ptrdiff_t>(k) * w;
                for (int j = 0; j < nr; ++j) d[j] = src[j];
                for (int j = nr; j < w; ++j) d[j] = 0.0f;
            }
        } else {  // op(B) = B^T: column j of the panel is row j0 + j of B
            for (int j = 0; j < nr; ++j) {
                const float* src = B.data + static_cast<std::ptrdiff_t>(j0 + j) * K;
                for (int k = 0; k < K; ++k) dst[static_cast<std::ptrdiff_t>(k) * w + j] = src[k];
            }
            for (int k = 0; k < K; ++k)
                for (int j = nr; j < w; ++j) dst[static_cast<std::ptrdiff_t>(k) * w + j] = 0.0f;
        }
        for (int j = 0; j < w; ++j) dst[static_cast<std::ptrdiff_t>(K) * w + j] = bias && j < nr ? bias[j0 + j] : 0.0f;
    });
}

// C[MR, nr] (row stride ldc) = act(op(A)[MR, K] panel[K, :nr] + bias), or += op(A) panel, with
// the MR x NV vectors of accumulators held in registers over the whole loop over k.
template <int MR, int NV>
inline void micro_kernel(int K, const float* a, Strides sa, const float* panel, float* c, int ldc, int nr,
                         Activation act, bool accumulate) {
    constexpr int NW = NV * kW;  // this panel's stored width
    vfloat acc[MR][NV];
    MBRL_KERNEL_UNROLL
    for (int v = 0; v < NV; ++v) {
        const vfloat bias = load(panel + static_cast<std::ptrdiff_t>(K) * NW + v * kW);
        MBRL_KERNEL_UNROLL
        for (int r = 0; r < MR; ++r) acc[r][v] = bias;
    }
    for (int k = 0; k < K; ++k) {
        vfloat b[NV];
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) b[v] = load(panel + static_cast<std::ptrdiff_t>(k) * NW + v * kW);
        MBRL_KERNEL_UNROLL
        for (int r = 0; r < MR; ++r) {
            const vfloat ar = splat(a[r * sa.rs + k * sa.cs]);
            MBRL_KERNEL_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] = fmadd(ar, b[v], acc[r][v]);
        }
    }
    if (!accumulate && act != Activation::identity)
        MBRL_KERNEL_UNROLL
        for (int r = 0; r < MR; ++r)
            MBRL_KERNEL_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] = activate(act, acc[r][v]);
    MBRL_KERNEL_UNROLL
    for (int r = 0; r < MR; ++r) {
        float* cr = c + static_cast<std::ptrdiff_t>(r) * ldc;
        if (nr == NW && !accumulate) {  // the common case: straight from the registers
            MBRL_KERNEL_UNROLL
            for (int v = 0; v < NV; ++v) store(cr + v * kW, acc[r][v]);
        } else {
            float row[NW];
            MBRL_KERNEL_UNROLL
            for (int v = 0; v < NV; ++v) store(row + v * kW, acc[r][v]);
            if (accumulate)
                for (int j = 0; j < nr; ++j) cr[j] += row[j];
            else
                for (int j = 0; j < nr; ++j) cr[j] = row[j];
        }
    }
}

// A kernel compiled for exactly (mr, nv): mr rows left after the full blocks, nv vectors in the
// last, narrower panel. Recursion over the template arguments covers every pair up to (kMR, kNV).
template <int MR, int NV>
inline void micro_kernel_for(int mr, int nv, int K, const float* a, Strides sa, const float* panel, float* c, int ldc,
                             int nr, Activation act, bool accumulate) {
    if (nv < NV) {
        if constexpr (NV > 1) micro_kernel_for<MR, NV - 1>(mr, nv, K, a, sa, panel, c, ldc, nr, act, accumulate);
    } else if (mr < MR) {
        if constexpr (MR > 1) micro_kernel_for<MR - 1, NV>(mr, nv, K, a, sa, panel, c, ldc, nr, act, accumulate);
    } else {
        micro_kernel<MR, NV>(K, a, sa, panel, c, ldc, nr, act, accumulate);
    }
}

// C = act(op(A) B + bias) or C += op(A) B through the packed B; large products are split over
// the threads by blocks of rows.
inline void matmul_packed(View<float> C, View<const float> A, bool ta, const MatmulScratch& B, Activation act,
                          bool accumulate) {
    const int M = ta ? A.cols : A.rows, K = ta ? A.rows : A.cols, N = B.N, blocks = (M + kMR - 1) / kMR;
    if (M == 0 || N == 0) return;
    const Strides sa = op_strides(A, ta);
    parallel_for(blocks, 2.0 * M * N * K > 4e6, [&](long blk) {
        const int i0 = static_cast<int>(blk) * kMR, mr = std::min(kMR, M - i0);
        const float* a = A.data + i0 * sa.rs;
        for (int p = 0; p < panel_count(B); ++p) {
            const int j0 = p * kNR;
            micro_kernel_for<kMR, kNV>(mr, panel_width(B, p) / kW, K, a, sa, panel_data(B, p), C.row(i0) + j0, N,
                                       std::min(kNR, N - j0), act, accumulate);
        }
    });
}

// Fewer rows than a micro-tile (one observation, say): packing B would cost more than the
// product, so each row of C streams through the rows of B instead, accumulating in the scratch's
// memory; every element summed in the micro-kernel's order (bias first, then k = 0, 1, ...).
inline void matmul_few_rows(View<float> C, View<const float> A, bool ta, View<const float> B, Epilogue<float> ep,
                            MatmulScratch& scratch) {
    const int N = C.cols, K = B.rows;
    const Strides sa = op_strides(A, ta);
    if (scratch.data.size() < static_cast<std::size_t>(N)) scratch.data.resize(N);
    float* acc = scratch.data.data();  // [N]
    for (int i = 0; i < C.rows; ++i) {
        for (int j = 0; j < N; ++j) acc[j] = ep.bias ? ep.bias[j] : 0.0f;
        for (int k = 0; k < K; ++k) {
            const float a = A.data[i * sa.rs + k * sa.cs];
            const float* b = B.row(k);
            int j = 0;
            for (; j + kW <= N; j += kW) store(acc + j, fmadd(splat(a), load(b + j), load(acc + j)));
            for (; j < N; ++j) acc[j] = std::fma(a, b[j], acc[j]);
        }
        float* c = C.row(i);
        if (ep.accumulate) {
            for (int j = 0; j < N; ++j) c[j] += acc[j];
        } else {
            int j = 0;
            for (; j + kW <= N; j += kW) store(c + j, activate(ep.act, load(acc + j)));
            for (; j < N; ++j) c[j] = mbrl::activate(ep.act, acc[j]);
        }
    }
    scratch.K = scratch.N = 0;  // the scratch holds no packed matrix now
}

inline void matmul(View<float> C, View<const float> A, bool ta, View<const float> B, bool tb, Epilogue<float> ep,
                   MatmulScratch& scratch) {
    if (C.rows < kMR && !tb) return matmul_few_rows(C, A, ta, B, ep, scratch);
    pack_b(scratch, B, tb, ep.bias);
    matmul_packed(C, A, ta, scratch, ep.act, ep.accumulate);
}

// ---------------------------------------------------------------------------------------------
// The packed forward, Y^T = f(W^T X^T + b), on the same micro-tiles turned around: the kMR rows of
// a tile are outputs of the layer, its kNV vectors rows of the batch.
//  - Activations X^T of B rows and F features lie in panels of kNR rows, the last one narrower
//    (its rows rounded up to whole vectors, the extra lanes zero): panel p is [F, width_p]
//    contiguous at offset p F kNR. A layer reads the panel layout of its input and writes that
//    of its output, which is the next layer's input: nothing is packed between layers.
//  - Weights W [I, O] lie as W^T in blocks of kMR outputs: block q is [I + 1, kMR] contiguous,
//    entry (k, r) = W[k, q kMR + r], its last row the bias, zero beyond O.
// Per k the micro-kernel loads kNV vectors of X^T (contiguous), broadcasts kMR weights
// (contiguous) and does kMR x kNV FMAs, each element summed as matmul sums it.
// ---------------------------------------------------------------------------------------------
inline int fm_panels(int rows) { return (rows + kNR - 1) / kNR; }
inline int fm_width(int rows, int p) {  // kNR, or the last panel's rows in whole vectors
    const int n = std::min(kNR, rows - p * kNR);
    return (n + kW - 1) / kW * kW;
}
inline std::size_t fm_size(int rows, int features) { return static_cast<std::size_t>(fm_panels(rows)) * kNR * features; }
inline void to_feature_major(View<const float> X, float* out) {
    const int F = X.cols;
    for (int p = 0; p < fm_panels(X.rows); ++p) {
        const int w = fm_width(X.rows, p), i0 = p * kNR, n = std::min(kNR, X.rows - i0);
        float* panel = out + static_cast<std::size_t>(p) * F * kNR;
        for (int f = 0; f < F; ++f) {
            for (int i = 0; i < n; ++i) panel[f * w + i] = X(i0 + i, f);
            for (int i = n; i < w; ++i) panel[f * w + i] = 0.0f;
        }
    }
}
inline void from_feature_major(const float* in, View<float> Y) {
    const int F = Y.cols;
    for (int p = 0; p < fm_panels(Y.rows); ++p) {
        const int w = fm_width(Y.rows, p), i0 = p * kNR, n = std::min(kNR, Y.rows - i0);
        const float* panel = in + static_cast<std::size_t>(p) * F * kNR;
        for (int i = 0; i < n; ++i)
            for (int f = 0; f < F; ++f) Y(i0 + i, f) = panel[f * w + i];
    }
}

// bf16 products. Pairs of bf16 share a 32-bit word (bf16_pair, mbrl.hpp Part II), the one for
// the even k in the upper half, so that the instruction, which adds the upper half's product
// first, sums in the order k = 0, 1, 2, ...
inline void pack_layer(PackedLayer<float>& L, const float* W, const float* b, int in, int outputs, bool bf16) {
    L.in = in;
    L.out = outputs;
    const int blocks = (outputs + kMR - 1) / kMR;
    const std::size_t block_size = static_cast<std::size_t>(in + 1) * kMR;
    L.data.assign(blocks * block_size, 0.0f);
    for (int q = 0; q < blocks; ++q) {
        float* dst = L.data.data() + q * block_size;
        const int r0 = q * kMR, mr = std::min(kMR, outputs - r0);
        for (int k = 0; k < in; ++k)
            for (int r = 0; r < mr; ++r) dst[k * kMR + r] = W[static_cast<std::size_t>(k) * outputs + r0 + r];
        for (int r = 0; r < mr; ++r) dst[in * kMR + r] = b[r0 + r];
    }
    L.bf16.clear();
    if (!bf16) return;
    // W^T as bf16 in blocks of kMR outputs: block q is [pairs of k, kMR] words; the bias stays in
    // L.data's blocks (float).
    const int KP = bf16_pairs(in);
    L.bf16.assign(static_cast<std::size_t>(blocks) * KP * kMR, 0u);
    for (int q = 0; q < blocks; ++q) {
        uint32_t* dst = L.bf16.data() + static_cast<std::size_t>(q) * KP * kMR;
        const int r0 = q * kMR, mr = std::min(kMR, outputs - r0);
        for (int kp = 0; kp < KP; ++kp)
            for (int r = 0; r < mr; ++r) {
                const float w0 = W[static_cast<std::size_t>(2 * kp) * outputs + r0 + r];
                const float w1 = 2 * kp + 1 < in ? W[static_cast<std::size_t>(2 * kp + 1) * outputs + r0 + r] : 0.0f;
                dst[kp * kMR + r] = bf16_pair(w0, w1);
            }
    }
}

// Y^T[MR, NV vectors] (row r at y + r NV kW) = f(block[K, :MR]^T X^T[K, NV vectors] + bias).
template <int MR, int NV>
inline void fm_micro_kernel(int K, const float* block, const float* x, float* y, Activation act) {
    constexpr int NW = NV * kW;
    vfloat acc[MR][NV];
    MBRL_KERNEL_UNROLL
    for (int r = 0; r < MR; ++r) {
        const vfloat bias = splat(block[static_cast<std::ptrdiff_t>(K) * kMR + r]);
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) acc[r][v] = bias;
    }
    for (int k = 0; k < K; ++k) {
        vfloat xv[NV];
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) xv[v] = load(x + static_cast<std::ptrdiff_t>(k) * NW + v * kW);
        MBRL_KERNEL_UNROLL
        for (int r = 0; r < MR; ++r) {
            const vfloat w = splat(block[static_cast<std::ptrdiff_t>(k) * kMR + r]);
            MBRL_KERNEL_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] = fmadd(xv[v], w, acc[r][v]);
        }
    }
    MBRL_KERNEL_UNROLL
    for (int r = 0; r < MR; ++r)
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) store(y + r * NW + v * kW, activate(act, acc[r][v]));
}
template <int MR, int NV>
inline void fm_micro_kernel_for(int mr, int nv, int K, const float* block, const float* x, float* y, Activation act) {
    if (nv < NV) {
        if constexpr (NV > 1) fm_micro_kernel_for<MR, NV - 1>(mr, nv, K, block, x, y, act);
    } else if (mr < MR) {
        if constexpr (MR > 1) fm_micro_kernel_for<MR - 1, NV>(mr, nv, K, block, x, y, act);
    } else {
        fm_micro_kernel<MR, NV>(K, block, x, y, act);
    }
}

// The bf16 tile: x holds X^T's rows of features in pairs, [pairs of K, NV vectors] words. Each
// pair's two bf16 are floats once moved to the upper half; products of two bf16 are exact in
// float, so acc + upper + lower, one rounding each, is what the instruction computes.
template <int MR, int NV>
inline void bf16_micro_kernel(int KP, const uint32_t* block, const float* bias, const uint32_t* x, float* y,
                              Activation act) {
    constexpr int NW = NV * kW;
    vfloat acc[MR][NV];
    MBRL_KERNEL_UNROLL
    for (int r = 0; r < MR; ++r)
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) acc[r][v] = splat(bias[r]);
    for (int kp = 0; kp < KP; ++kp) {
        vfloat upper[NV], lower[NV];
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) {
            vword xv;
            std::memcpy(&xv, x + static_cast<std::ptrdiff_t>(kp) * NW + v * kW, sizeof xv);
            upper[v] = (vfloat)(xv & 0xffff0000u);
            lower[v] = (vfloat)(xv << 16);
        }
        MBRL_KERNEL_UNROLL
        for (int r = 0; r < MR; ++r) {
            const uint32_t w = block[static_cast<std::ptrdiff_t>(kp) * kMR + r];
            const vfloat wu = splat(bf16_upper(w)), wl = splat(bf16_lower(w));
            MBRL_KERNEL_UNROLL
            for (int v = 0; v < NV; ++v) {
                acc[r][v] = fmadd(wu, upper[v], acc[r][v]);
                acc[r][v] = fmadd(wl, lower[v], acc[r][v]);
            }
        }
    }
    MBRL_KERNEL_UNROLL
    for (int r = 0; r < MR; ++r)
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) store(y + r * NW + v * kW, activate(act, acc[r][v]));
}
#if MBRL_KERNEL_BYTES == 64
// The same with AVX512_BF16's dot product, two products per lane per instruction.
template <int MR, int NV>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma"))) inline void bf16_dot_micro_kernel(
    int KP, const uint32_t* block, const float* bias, const uint32_t* x, float* y, Activation act) {
    constexpr int NW = NV * kW;
    __m512 acc[MR][NV];
    MBRL_KERNEL_UNROLL
    for (int r = 0; r < MR; ++r)
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_set1_ps(bias[r]);
    for (int kp = 0; kp < KP; ++kp) {
        __m512bh xv[NV];
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) xv[v] = (__m512bh)_mm512_loadu_si512(x + static_cast<std::ptrdiff_t>(kp) * NW + v * kW);
        MBRL_KERNEL_UNROLL
        for (int r = 0; r < MR; ++r) {
            const __m512bh w = (__m512bh)_mm512_set1_epi32(static_cast<int>(block[static_cast<std::ptrdiff_t>(kp) * kMR + r]));
            MBRL_KERNEL_UNROLL
            for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], w, xv[v]);
        }
    }
    MBRL_KERNEL_UNROLL
    for (int r = 0; r < MR; ++r)
        MBRL_KERNEL_UNROLL
        for (int v = 0; v < NV; ++v) store(y + r * NW + v * kW, activate(act, (vfloat)acc[r][v]));
}
#endif
template <bool kDot, int MR, int NV>
inline void bf16_micro_kernel_for(int mr, int nv, int KP, const uint32_t* block, const float* bias, const uint32_t* x,
                                  float* y, Activation act) {
    if (nv < NV) {
        if constexpr (NV > 1) bf16_micro_kernel_for<kDot, MR, NV - 1>(mr, nv, KP, block, bias, x, y, act);
    } else if (mr < MR) {
        if constexpr (MR > 1) bf16_micro_kernel_for<kDot, MR - 1, NV>(mr, nv, KP, block, bias, x, y, act);
    } else {
#if MBRL_KERNEL_BYTES == 64
        if constexpr (kDot) return bf16_dot_micro_kernel<MR, NV>(KP, block, bias, x, y, act);
#endif
        bf16_micro_kernel<MR, NV>(KP, block, bias, x, y, act);
    }
}

// One layer, y = f(W^T x + b), x and y feature-major; `pairs` takes the input rounded to bf16
// pairs when the layer has bf16 weights. Large batches are split over the threads by panels.
template <bool kDot>
inline void layer_forward(const PackedLayer<float>& L, int rows, const float* x, uint32_t* pairs, float* y, Activation f) {
    const int blocks = (L.out + kMR - 1) / kMR, K = L.in, KP = bf16_pairs(K);
    const std::size_t block_size = static_cast<std::size_t>(K + 1) * kMR, wblock = static_cast<std::size_t>(KP) * kMR;
    const bool bf16 = !L.bf16.empty();
    parallel_for(fm_panels(rows), 2.0 * rows * L.in * L.out > 4e6, [&](long pl) {
        const int p = static_cast<int>(pl), w = fm_width(rows, p);
        const float* xp = x + static_cast<std::size_t>(p) * K * kNR;
        float* yp = y + static_cast<std::size_t>(p) * L.out * kNR;
        if (!bf16) {
            for (int q = 0; q < blocks; ++q)
                fm_micro_kernel_for<kMR, kNV>(std::min(kMR, L.out - q * kMR), w / kW, K, L.data.data() + q * block_size,
                                              xp, yp + static_cast<std::size_t>(q) * kMR * w, f);
            return;
        }
        uint32_t* pp = pairs + static_cast<std::size_t>(p) * KP * kNR;
        for (int kp = 0; kp < KP; ++kp) {  // this panel's input, rounded and paired
            const float *even = xp + 2 * kp * w, *odd = even + w;
            uint32_t* dst = pp + kp * w;
            if (2 * kp + 1 < K)
                for (int i = 0; i < w; ++i) dst[i] = bf16_pair(even[i], odd[i]);
            else
                for (int i = 0; i < w; ++i) dst[i] = bf16_pair(even[i], 0.0f);
        }
        for (int q = 0; q < blocks; ++q)
            bf16_micro_kernel_for<kDot, kMR, kNV>(std::min(kMR, L.out - q * kMR), w / kW, KP, L.bf16.data() + q * wblock,
                                                  L.data.data() + q * block_size + static_cast<std::size_t>(K) * kMR, pp,
                                                  yp + static_cast<std::size_t>(q) * kMR * w, f);
    });
}

// The stack: X [B, in] -> Y [B, out], hidden layers with `act`, the last one identity.
template <bool kDot>
inline void forward(const PackedLayers<float>& net, View<const float> X, View<float> Y, ForwardScratch<float>& s) {
    int widest = X.cols;
    for (const PackedLayer<float>& L : net.layer) widest = std::max(widest, L.out);
    s.reserve(X.rows, widest);  // (a no-op where the caller reserved the batch: fm_size <= (rows + kNR) features)
    to_feature_major(X, s.fm[0].data());
    const int L = static_cast<int>(net.layer.size());
    for (int l = 0; l < L; ++l) {
        layer_forward<kDot>(net.layer[l], X.rows, s.fm[0].data(), s.pairs.data(), s.fm[1].data(),
                            l + 1 < L ? net.act : Activation::identity);
        std::swap(s.fm[0], s.fm[1]);
    }
    from_feature_major(s.fm[0].data(), Y);
}

// ---------------------------------------------------------------------------------------------
// Adam's update on whole vectors, mbrl.hpp section 7's adam_param on every lane with the same
// operations in the same order; split over the threads for long parameter blocks (each element is
// updated alone, so any split gives the same bits).
// ---------------------------------------------------------------------------------------------
inline void adam(float* params, const float* grads, float* m, float* v, std::ptrdiff_t n, const AdamStep<float>& c) {
    const std::ptrdiff_t vectors = n / kW;
    parallel_for(vectors, n >= kParallelElements, [&](long q) {
        float *p = params + q * kW, *mq = m + q * kW, *vq = v + q * kW;
        const vfloat g = load(grads + q * kW);
        vfloat pv = load(p), mv = load(mq), vv = load(vq);
        mv = fmadd(splat(c.beta1), mv, splat(1.0f - c.beta1) * g);
        vv = fmadd(splat(c.beta2), vv, splat(1.0f - c.beta2) * g * g);
        pv = pv - splat(c.step_size) * mv / fmadd(vsqrt(vv), splat(c.inv_sqrt_bc2), splat(c.eps));
        store(p, pv);
        store(mq, mv);
        store(vq, vv);
    });
    for (std::ptrdiff_t i = vectors * kW; i < n; ++i)
        adam_param(params[i], grads[i], m[i], v[i], c);
}

// ---------------------------------------------------------------------------------------------
// Normal pairs a vector at a time (Rng::normals): pair p takes draws counter + 2p + 1 and
// counter + 2p + 2 of the stream `key`. The loop without the square root vectorizes; the root
// is the register's.
// ---------------------------------------------------------------------------------------------
inline void normals(uint64_t key, uint64_t counter, float* out, int n) {
    const int pairs = n / 2;
    int p = 0;
    for (; p + kW <= pairs; p += kW) {
        alignas(64) float r2[kW], sign[kW], t0[kW], t1[kW];
        for (int l = 0; l < kW; ++l) {
            const uint64_t c = counter + 2 * static_cast<uint64_t>(p + l);
            const NormalPairParts q = normal_pair_parts(1.0 - uniform_at(key, c + 1), uniform_at(key, c + 2));
            r2[l] = q.r2;
            sign[l] = q.sign;
            t0[l] = q.t0;
            t1[l] = q.t1;
        }
        const vfloat s = vsqrt(load(r2)) * load(sign);
        alignas(64) float z0[kW], z1[kW];
        store(z0, s * load(t0));
        store(z1, s * load(t1));
        for (int l = 0; l < kW; ++l) {
            out[2 * (p + l)] = z0[l];
            out[2 * (p + l) + 1] = z1[l];
        }
    }
    for (int i = 2 * p; i < n; i += 2) {  // the rest one pair at a time, the same numbers
        const uint64_t c = counter + static_cast<uint64_t>(i);
        float z0, z1;
        fast_normal_pair(1.0 - uniform_at(key, c + 1), uniform_at(key, c + 2), z0, z1);
        out[i] = z0;
        if (i + 1 < n) out[i + 1] = z1;
    }
}

// ---------------------------------------------------------------------------------------------
// Elementwise work: dy *= f'(y) (tanh' = 1 - y^2 as one fused multiply-add), and out = x +
// (y scale + shift) column by column; the reference kernel's operations on whole vectors.
// ---------------------------------------------------------------------------------------------
inline void activation_backward(Activation f, const float* y, float* dy, std::size_t n) {
    if (f == Activation::identity) return;
    std::size_t i = 0;
    const vfloat one = splat(1.0f);
    for (; i + kW <= n; i += kW) {
        const vfloat yv = load(y + i), d = load(dy + i);
        store(dy + i, f == Activation::tanh ? d * fmadd(-yv, yv, one) : (yv > 0.0f ? d : vfloat{}));
    }
    for (; i < n; ++i) dy[i] = f == Activation::tanh ? dy[i] * std::fma(-y[i], y[i], 1.0f) : (y[i] > 0.0f ? dy[i] : 0.0f);
}
inline void residual_affine(int rows, int cols, const float* x, int ldx, const float* y, int ldy, const float* scale,
                            const float* shift, float* out, int ldo) {
    for (int i = 0; i < rows; ++i) {
        const float* xi = x + static_cast<std::ptrdiff_t>(i) * ldx;
        const float* yi = y + static_cast<std::ptrdiff_t>(i) * ldy;
        float* oi = out + static_cast<std::ptrdiff_t>(i) * ldo;
        int j = 0;
        for (; j + kW <= cols; j += kW) store(oi + j, load(xi + j) + fmadd(load(yi + j), load(scale + j), load(shift + j)));
        for (; j < cols; ++j) oi[j] = xi[j] + std::fma(yi[j], scale[j], shift[j]);
    }
}

// ---------------------------------------------------------------------------------------------
// e^x, ln x and softplus on every lane: mbrl.hpp section 17's fast_exp, fast_log and
// softplus_fast_in_float, the same operations in the same order (the integer ones on the bits).
// ---------------------------------------------------------------------------------------------
inline vword wsplat(uint32_t x) { return x - vword{}; }
// x, which the compiler may not fuse into a following addition (mbrl.hpp's unfused).
inline vfloat barrier(vfloat x) {
#if defined(__x86_64__)
    __asm__("" : "+v"(x));
#else
    __asm__("" : "+w"(x));
#endif
    return x;
}
inline vfloat vexp(vfloat x) {
    vword b = (vword)x;
    const vword limit = wsplat(0x42b00000u) + (b >> 31) * wsplat(0x7ffe0000u);  // clamp to [-87, 88]
    b = b < limit ? b : limit;
    x = (vfloat)b;
    const vfloat t = x * splat(1.44269504088896341f);
    const vfloat half = (vfloat)(((vword)t & wsplat(0x80000000u)) | wsplat(0x3f000000u));  // copysign(0.5f, t)
    const vint ni = __builtin_convertvector(t + half, vint);  // rounded half away from zero
    const vfloat n = __builtin_convertvector(ni, vfloat);
    const vfloat r = fmadd(n, splat(2.12194440e-4f), fmadd(-n, splat(0.693359375f), x));
    vfloat p = splat(1.9875691500e-4f);
    p = fmadd(p, r, splat(1.3981999507e-3f));
    p = fmadd(p, r, splat(8.3334519073e-3f));
    p = fmadd(p, r, splat(4.1665795894e-2f));
    p = fmadd(p, r, splat(1.6666665459e-1f));
    p = fmadd(p, r, splat(5.0000001201e-1f));
    p = fmadd(p * r, r, r) + splat(1.0f);
    return p * (vfloat)((vword)(ni + 127) << 23);
}
inline vfloat vlog(vfloat x) {
    const vword b = (vword)x, mantissa = b & wsplat(0x007fffffu);
    const vword big = (vword)(mantissa > wsplat(0x003504f3u)) & wsplat(1u);
    const vfloat e = __builtin_convertvector((vint)(b >> 23) - 127 + (vint)big, vfloat);
    const vfloat m = (vfloat)(mantissa | (wsplat(0x3f800000u) - (big << 23)));
    const vfloat f = m - splat(1.0f), z = f * f;
    vfloat y = splat(7.0376836292e-2f);
    y = fmadd(y, f, splat(-1.1514610310e-1f));
    y = fmadd(y, f, splat(1.1676998740e-1f));
    y = fmadd(y, f, splat(-1.2420140846e-1f));
    y = fmadd(y, f, splat(1.4249322787e-1f));
    y = fmadd(y, f, splat(-1.6668057665e-1f));
    y = fmadd(y, f, splat(2.0000714765e-1f));
    y = fmadd(y, f, splat(-2.4999993993e-1f));
    y = fmadd(y, f, splat(3.3333331174e-1f));
    y = fmadd(-z, splat(0.5f), fmadd(y * f, z, -(splat(2.12194440e-4f) * e)));
    return fmadd(e, splat(0.693359375f), f + y);
}
inline vfloat vsoftplus(vfloat x) {
    const vfloat magnitude = (vfloat)((vword)x & wsplat(0x7fffffffu));
    return (x > 0.0f ? x : vfloat{}) + vlog(splat(1.0f) + barrier(vexp(-magnitude)));
}

// f(i, j, n) on the vectors of `rows` rows of `cols` columns: n = kW floats from column j of row
// i, or fewer at the end of a row. Rows stored back to back (`contiguous`) are one long row.
template <class F>
inline void each_vector(int rows, int cols, bool contiguous, F&& f) {
    if (contiguous) {
        cols *= rows;
        rows = 1;
    }
    for (int i = 0; i < rows; ++i) {
        int j = 0;
        for (; j + kW <= cols; j += kW) f(static_cast<std::ptrdiff_t>(i), j, kW);
        if (j < cols) f(static_cast<std::ptrdiff_t>(i), j, cols - j);
    }
}
inline vfloat load_part(const float* p, int n) {  // n <= kW floats, then zeros
    if (n == kW) return load(p);
    alignas(64) float part[kW] = {};
    for (int l = 0; l < n; ++l) part[l] = p[l];
    return load(part);
}
inline void store_part(float* p, vfloat v, int n) {
    if (n == kW) return store(p, v);
    alignas(64) float part[kW];
    store(part, v);
    for (int l = 0; l < n; ++l) p[l] = part[l];
}
inline void map_rows(Elementwise f, int rows, int cols, const float* x, int ldx, float* out, int ldo) {
    each_vector(rows, cols, ldx == cols && ldo == cols, [&](std::ptrdiff_t i, int j, int n) {
        const vfloat v = load_part(x + i * ldx + j, n);
        store_part(out + i * ldo + j, f == Elementwise::exp ? vexp(v) : vsoftplus(v), n);
    });
}
// y = a x + b y, each element fma(a, x, b y); split over the threads for long blocks.
inline void axpby(std::ptrdiff_t n, float a, const float* x, float b, float* y) {
    const std::ptrdiff_t vectors = n / kW;
    parallel_for(vectors, n >= kParallelElements, [&](long q) {
        store(y + q * kW, fmadd(splat(a), load(x + q * kW), splat(b) * load(y + q * kW)));
    });
    for (std::ptrdiff_t i = vectors * kW; i < n; ++i) y[i] = std::fma(a, x[i], b * y[i]);
}
inline void fma_rows(int rows, int cols, const float* a, int lda, const float* b, int ldb, const float* c, int ldc,
                     float* out, int ldo) {
    each_vector(rows, cols, lda == cols && ldb == cols && ldc == cols && ldo == cols, [&](std::ptrdiff_t i, int j, int n) {
        const vfloat v = fmadd(load_part(a + i * lda + j, n), load_part(b + i * ldb + j, n), load_part(c + i * ldc + j, n));
        store_part(out + i * ldo + j, v, n);
    });
}

// ---------------------------------------------------------------------------------------------
// This variant's entry in the kernel table (with_dot: the bf16 layers on AVX512_BF16's dot
// product, AVX-512 only).
// ---------------------------------------------------------------------------------------------
#ifdef MBRL_KERNEL_SEPARATE
const Kernel& table(bool with_dot) {  // defined once, in the MBRL_KERNEL_IMPLEMENTATION unit
#else
inline const Kernel& table(bool with_dot) {
#endif
#define MBRL_KERNEL_NAME_OF(v) MBRL_KERNEL_STR(v)
    static const Kernel plain{MBRL_KERNEL_NAME_OF(MBRL_KERNEL_VARIANT), &matmul, &pack_layer, &forward<false>, &adam,
                              &normals, &activation_backward, &residual_affine, &map_rows, &fma_rows, &axpby};
#if MBRL_KERNEL_BYTES == 64
    static const Kernel dot{"avx512_bf16", &matmul, &pack_layer, &forward<true>, &adam,
                            &normals,      &activation_backward, &residual_affine, &map_rows, &fma_rows, &axpby};
    if (with_dot) return dot;
#endif
#undef MBRL_KERNEL_NAME_OF
    (void)with_dot;
    return plain;
}

}  // namespace MBRL_KERNEL_VARIANT
}  // namespace kernels
}  // namespace mbrl
#endif  // MBRL_KERNEL_VARIANT
