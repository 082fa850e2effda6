// The kernels behind mbrl.hpp's contract (section 4): every tuned kernel this CPU runs
// (mbrl_kernel.hpp) gives the reference kernel's bits (mbrl.hpp section 19) on matmul, the packed
// forward (float and bf16), Adam's update, the normals and the elementwise entries; the choice by
// MBRL_KERNEL.
#include <cstdlib>
#include <cstring>

#include "helpers.hpp"

using namespace mbrl;
using test::fill_uniform;

namespace {

std::vector<const Kernel*> tuned() {
    std::vector<const Kernel*> k = available_kernels();
    k.pop_back();  // the reference, last
    return k;
}

bool same_bits(const float* a, const float* b, std::size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

}  // namespace

TEST_CASE("kernels: this CPU's list ends with the reference, and the running kernel is on it") {
    const std::vector<const Kernel*> all = available_kernels();
    REQUIRE(!all.empty());
    CHECK(std::string(all.back()->name) == "reference");
    bool found = false;
    for (const Kernel* k : all) found = found || k == &kernel();
    CHECK(found);
    CHECK(std::string(kernel_name()) == kernel().name);
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
    // mbrl_kernel.hpp is beside mbrl.hpp: x86-64 CPUs since 2013 and every aarch64 run a tuned one.
    MESSAGE("tuned kernels on this CPU: ", all.size() - 1, ", running ", std::string(kernel_name()));
#endif
}

TEST_CASE("kernels: matmul gives the reference's bits on every shape, transpose, epilogue and kernel") {
    Rng rng(31);
    // Shapes with partial micro-tiles in both directions, rows below a tile (the few-rows path),
    // K = 0, and a product large enough to be split over threads.
    const int shapes[][3] = {{1, 1, 1},   {3, 70, 250}, {7, 33, 5},    {9, 31, 17},  {17, 65, 3},
                             {64, 250, 27}, {13, 21, 250}, {100, 40, 1}, {5, 8, 0},   {300, 250, 250}};
    for (const Kernel* k : tuned())
        for (auto& s : shapes)
            for (int ta = 0; ta < 2; ++ta)
                for (int tb = 0; tb < 2; ++tb)
                    for (int mode = 0; mode < 4; ++mode) {  // plain, bias + tanh, bias + relu, accumulate
                        const int M = s[0], N = s[1], K = s[2];
                        Tensor<float> A(ta ? K : M, ta ? M : K), B(tb ? N : K, tb ? K : N), C1(M, N), C2(M, N);
                        fill_uniform(A, rng, -3, 3);
                        fill_uniform(B, rng);
                        fill_uniform(C1, rng);
                        C2 = C1;
                        std::vector<float> bias(N);
                        for (float& b : bias) b = static_cast<float>(rng.uniform(-1, 1));
                        Epilogue<float> ep;
                        if (mode == 1 || mode == 2) ep = {bias.data(), mode == 1 ? Activation::tanh : Activation::relu, false};
                        if (mode == 3) ep = {bias.data(), Activation::identity, true};
                        MatmulScratch s1, s2;
                        reference::matmul<float>(C1.view(), A.view(), ta, B.view(), tb, ep, s1);
                        k->matmul(C2.view(), A.view(), ta, B.view(), tb, ep, s2);
                        INFO(std::string(k->name), " M=", M, " N=", N, " K=", K, " ta=", ta, " tb=", tb, " mode=", mode);
                        CHECK(same_bits(C1.data(), C2.data(), C1.size()));
                    }
}

TEST_CASE("kernels: the tanh epilogue gives fast_tanh's bits on 4 million inputs, the clamp and NaN") {
    // C = x I + 0 through each kernel's tanh: every element is fast_tanh of one input.
    const int n = 1 << 12, rows = 1 << 10;
    Tensor<float> eye(n, n), x(rows, n), y(rows, n);
    for (int i = 0; i < n; ++i) eye(i, i) = 1.0f;
    Rng rng(32);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double u = rng.uniform();
        x.data()[i] = static_cast<float>(i % 7 == 0 ? rng.uniform(-12, 12) : (u - 0.5) * std::exp(rng.uniform(-20, 3)));
    }
    x(0, 1) = 9.0f;
    x(0, 2) = -9.5f;
    x(0, 3) = 1e30f;
    x(0, 4) = 0.0f;
    x(0, 5) = -1e-30f;  // (not -0: the sum starts at +0, so -0 comes out +0)
    for (const Kernel* k : tuned()) {
        MatmulScratch s;
        k->matmul(y.view(), x.view(), false, eye.view(), false, Epilogue<float>{nullptr, Activation::tanh, false}, s);
        int mismatches = 0;
        for (std::size_t i = 0; i < y.size(); ++i) mismatches += float_to_bits(y.data()[i]) != float_to_bits(fast_tanh(x.data()[i]));
        Tensor<float> nan(16, 1), one(1, 1), out(16, 1);  // NaN passes through the clamp
        nan.fill(std::nanf(""));
        one(0, 0) = 1.0f;
        k->matmul(out.view(), nan.view(), false, one.view(), false, Epilogue<float>{nullptr, Activation::tanh, false}, s);
        INFO(std::string(k->name));
        CHECK(mismatches == 0);
        CHECK(std::isnan(out(15, 0)));
    }
}

TEST_CASE("kernels: the packed forward gives the reference's bits, in float and in bf16") {
    Rng rng(33);
    const int shapes[][4] = {{27, 21, 2, 250}, {5, 3, 1, 17}, {14, 40, 2, 33}, {9, 1, 0, 1}};
    for (const Kernel* k : tuned())
        for (auto& s : shapes)
            for (bool bf16 : {false, true})
                for (Activation act : {Activation::tanh, Activation::relu})
                    for (int B : {1, 5, 16, 31, 33, 257}) {
                        MLP<float> net(s[0], s[1], s[2], s[3], act);
                        net.init(rng);
                        for (float& p : net.params) p *= 3.0f;  // well into tanh's saturation too
                        PackedLayers<float> pr, pk;
                        pr.layer.resize(net.layers());
                        pk.layer.resize(net.layers());
                        pr.act = pk.act = act;
                        pr.bf16 = pk.bf16 = bf16;
                        for (int l = 0; l < net.layers(); ++l) {
                            reference::pack_layer(pr.layer[l], net.W(l), net.b(l), net.widths[l], net.widths[l + 1], bf16);
                            k->pack_layer(pk.layer[l], net.W(l), net.b(l), net.widths[l], net.widths[l + 1], bf16);
                        }
                        Tensor<float> X(B, s[0]), Y1(B, s[1]), Y2(B, s[1]);
                        fill_uniform(X, rng, -2, 2);
                        ForwardScratch<float> f1, f2;
                        reference::forward<float>(pr, X.view(), Y1.view(), f1);
                        k->forward(pk, X.view(), Y2.view(), f2);
                        INFO(std::string(k->name), " in=", s[0], " out=", s[1], " layers=", s[2], " size=", s[3], " B=", B,
                             " bf16=", bf16, " act=", test::activation_name(act));
                        CHECK(same_bits(Y1.data(), Y2.data(), Y1.size()));
                    }
}

TEST_CASE("kernels: Adam's update and the normals give the reference's bits") {
    Rng rng(34);
    for (const Kernel* k : tuned())
        for (std::ptrdiff_t n : {1, 7, 16, 33, 1000, 70001}) {  // partial vectors; a block split over threads
            Buffer<float> p(n), g(n), m(n), v(n);
            for (std::ptrdiff_t i = 0; i < n; ++i) {
                p[i] = static_cast<float>(rng.uniform(-1, 1));
                g[i] = static_cast<float>(rng.uniform(-1, 1) * std::exp(rng.uniform(-10, 2)));
                m[i] = static_cast<float>(rng.uniform(-0.1, 0.1));
                v[i] = static_cast<float>(rng.uniform(0, 0.01));
            }
            Buffer<float> p2 = p, m2 = m, v2 = v;
            const AdamStep<float> c{0.9f, 0.999f, 1e-3f / 0.271f, 1.0f / std::sqrt(0.003f), 1e-8f};
            reference::adam<float>(p.data(), g.data(), m.data(), v.data(), n, c);
            k->adam(p2.data(), g.data(), m2.data(), v2.data(), n, c);
            INFO(std::string(k->name), " n=", n);
            CHECK(same_bits(p.data(), p2.data(), n));
            CHECK(same_bits(m.data(), m2.data(), n));
            CHECK(same_bits(v.data(), v2.data(), n));
        }
    for (const Kernel* k : tuned())
        for (int n : {1, 2, 3, 31, 32, 33, 100, 1001}) {
            std::vector<float> a(n), b(n);
            reference::normals(0x1234567u, 99, a.data(), n);
            k->normals(0x1234567u, 99, b.data(), n);
            INFO(std::string(k->name), " n=", n);
            CHECK(same_bits(a.data(), b.data(), n));
        }
}

TEST_CASE("kernels: MBRL_KERNEL picks one by name; an unknown one or one this CPU lacks is a clear error") {
    const char* before = std::getenv("MBRL_KERNEL");
    const std::string saved = before ? before : "";
    setenv("MBRL_KERNEL", "reference", 1);
    CHECK(std::string(choose_kernel().name) == "reference");
    for (const Kernel* k : tuned()) {
        setenv("MBRL_KERNEL", k->name, 1);
        CHECK(&choose_kernel() == k);
    }
    setenv("MBRL_KERNEL", "sse9", 1);
    CHECK_THROWS_WITH_AS(choose_kernel(), doctest::Contains("MBRL_KERNEL=sse9: no such kernel in this build"),
                         std::invalid_argument);
#if defined(__GNUC__) && defined(__x86_64__)
    if (!__builtin_cpu_supports("avx512f")) {  // a known kernel this CPU cannot run
        setenv("MBRL_KERNEL", "avx512", 1);
        CHECK_THROWS_WITH_AS(choose_kernel(), doctest::Contains("this CPU cannot run that kernel"), std::invalid_argument);
    }
#endif
    if (before) setenv("MBRL_KERNEL", saved.c_str(), 1);
    else unsetenv("MBRL_KERNEL");
}

TEST_CASE("kernels: the elementwise entries (activation gradients, residual affine) give the reference's bits") {
    Rng rng(35);
    for (const Kernel* k : tuned())
        for (std::size_t n : {std::size_t(1), std::size_t(15), std::size_t(16), std::size_t(17), std::size_t(1000)})
            for (Activation f : {Activation::tanh, Activation::relu, Activation::identity}) {
                std::vector<float> y(n), d1(n), d2;
                for (std::size_t i = 0; i < n; ++i) {
                    y[i] = static_cast<float>(rng.uniform(-1, 1));
                    d1[i] = static_cast<float>(rng.uniform(-3, 3));
                }
                d2 = d1;
                reference::activation_backward(f, y.data(), d1.data(), n);
                k->activation_backward(f, y.data(), d2.data(), n);
                INFO(std::string(k->name), " n=", n, " f=", test::activation_name(f));
                CHECK(same_bits(d1.data(), d2.data(), n));
            }
    for (const Kernel* k : tuned())
        for (int cols : {1, 5, 16, 21, 40}) {
            const int rows = 7, ldy = 2 * cols;  // y: the first half of each row (a model's mean)
            Tensor<float> x(rows, cols), y(rows, ldy), o1(rows, cols), o2(rows, cols);
            fill_uniform(x, rng, -5, 5);
            fill_uniform(y, rng, -3, 3);
            std::vector<float> scale(cols), shift(cols);
            for (int j = 0; j < cols; ++j) scale[j] = static_cast<float>(rng.uniform(0.01, 2)), shift[j] = static_cast<float>(rng.uniform(-1, 1));
            reference::residual_affine(rows, cols, x.data(), cols, y.data(), ldy, scale.data(), shift.data(), o1.data(), cols);
            k->residual_affine(rows, cols, x.data(), cols, y.data(), ldy, scale.data(), shift.data(), o2.data(), cols);
            INFO(std::string(k->name), " cols=", cols);
            CHECK(same_bits(o1.data(), o2.data(), o1.size()));
        }
}

TEST_CASE("kernels: e^x and softplus on whole vectors give fast_exp's and softplus_fast_in_float's bits on 4 million inputs") {
    // Inputs over every scale and sign, the clamp's edges, infinities, NaN, subnormals and zeros.
    const int n = 1 << 22;
    std::vector<float> x(n), y(n);
    Rng rng(36);
    for (int i = 0; i < n; ++i) {
        const double u = rng.uniform();
        x[i] = static_cast<float>(i % 5 == 0 ? rng.uniform(-100, 100) : (u - 0.5) * std::exp(rng.uniform(-30, 6)));
    }
    const float special[] = {0.0f, -0.0f, 88.0f, 88.5f, -87.0f, -87.5f, 1e30f, -1e30f, 1e-40f, -1e-40f,
                             std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), std::nanf("")};
    std::copy(std::begin(special), std::end(special), x.begin());
    for (const Kernel* k : tuned())
        for (Elementwise f : {Elementwise::exp, Elementwise::softplus}) {
            k->map_rows(f, 1, n, x.data(), n, y.data(), n);
            int mismatches = 0;
            for (int i = 0; i < n; ++i) {
                const float want = f == Elementwise::exp ? fast_exp(x[i]) : softplus_fast_in_float(x[i]);
                mismatches += float_to_bits(y[i]) != float_to_bits(want);
            }
            INFO(std::string(k->name), f == Elementwise::exp ? " exp" : " softplus");
            CHECK(mismatches == 0);
        }
}

TEST_CASE("kernels: the elementwise functions and fused multiply-adds over strided rows give the reference's bits") {
    Rng rng(37);
    for (const Kernel* k : tuned())
        for (int cols : {1, 5, 16, 17, 40})
            for (int ld : {cols, 2 * cols + 3}) {  // rows back to back, and rows inside wider ones
                const int rows = 9;
                Tensor<float> a(rows, ld), b(rows, ld), c(rows, ld);
                fill_uniform(a, rng, -20, 20);
                fill_uniform(b, rng, -3, 3);
                fill_uniform(c, rng, -3, 3);
                for (Elementwise f : {Elementwise::exp, Elementwise::softplus}) {
                    Tensor<float> o1 = c, o2 = c;  // the columns past `cols` must stay as they are
                    reference::map_rows(f, rows, cols, a.data(), ld, o1.data(), ld);
                    k->map_rows(f, rows, cols, a.data(), ld, o2.data(), ld);
                    INFO(std::string(k->name), " cols=", cols, " ld=", ld);
                    CHECK(same_bits(o1.data(), o2.data(), o1.size()));
                }
                Tensor<float> o1 = a, o2 = a;
                reference::fma_rows(rows, cols, a.data(), ld, b.data(), ld, c.data(), ld, o1.data(), ld);
                k->fma_rows(rows, cols, a.data(), ld, b.data(), ld, c.data(), ld, o2.data(), ld);
                INFO(std::string(k->name), " fma cols=", cols, " ld=", ld);
                CHECK(same_bits(o1.data(), o2.data(), o1.size()));
            }
}

TEST_CASE("kernels: axpby (Polyak averaging) gives the reference's bits, long blocks split over the threads") {
    Rng rng(38);
    for (const Kernel* k : tuned())
        for (std::ptrdiff_t n : {std::ptrdiff_t(1), std::ptrdiff_t(17), std::ptrdiff_t(1000), std::ptrdiff_t(70001)}) {
            std::vector<float> x(n), y1(n), y2;
            for (std::ptrdiff_t i = 0; i < n; ++i) {
                x[i] = static_cast<float>(rng.uniform(-1, 1));
                y1[i] = static_cast<float>(rng.uniform(-1, 1));
            }
            y2 = y1;
            reference::axpby(n, 0.005f, x.data(), 0.995f, y1.data());
            k->axpby(n, 0.005f, x.data(), 0.995f, y2.data());
            INFO(std::string(k->name), " n=", n);
            CHECK(same_bits(y1.data(), y2.data(), static_cast<std::size_t>(n)));
        }
}
