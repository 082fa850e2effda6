// Tensor, matmul, activations, layers and MLP (gradient checks), MSE, Adam, normalizer.
#include <functional>

#include "helpers.hpp"

using namespace mbrl;
using test::fill_uniform;
using test::rel_err;

TEST_CASE("Tensor: shapes, views and errors") {
    Tensor<float> t(3, 4);
    CHECK(t.size() == 12);
    t(2, 3) = 5.0f;
    View<float> v = t.view();
    CHECK(v(2, 3) == 5.0f);
    CHECK(v.middle_rows(2, 1)(0, 3) == 5.0f);
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    CHECK_THROWS_WITH_AS(Tensor<float>(-1, 2), doctest::Contains("negative shape [-1, 2]"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(check_shape(t.view(), 3, 5, "x"), doctest::Contains("x: expected shape [3, 5], got [3, 4]"),
                         std::invalid_argument);
    t(1, 2) = std::nanf("");
    CHECK_THROWS_WITH_AS(check_finite(t.view(), "obs"), doctest::Contains("row 1, column 2"), std::invalid_argument);
}

TEST_CASE("Rng: a pure function of (seed, stream, a, b) and the draw count") {
    Rng a(7, Stream::plan, 3, 4), b(7, Stream::plan, 3, 4), c(7, Stream::plan, 3, 5), d(8, Stream::plan, 3, 4);
    for (int i = 0; i < 10; ++i) CHECK(a.bits() == b.bits());
    CHECK(a.bits() != c.bits());
    CHECK(b.bits() != d.bits());
    // discard(n) continues the stream n draws on; normal() takes kDrawsPerNormal draws.
    Rng e(7, Stream::plan, 3, 4), f = e;
    e.discard(5);
    for (int i = 0; i < 5; ++i) f.bits();
    CHECK(e.bits() == f.bits());
    Rng g(9), h(9);
    g.normal();
    h.discard(Rng::kDrawsPerNormal);
    CHECK(g.bits() == h.bits());
    // Moments of uniform and normal draws.
    Rng r(1);
    double su = 0, sn = 0, sn2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
        su += r.uniform();
        const double z = r.normal();
        sn += z;
        sn2 += z * z;
    }
    CHECK(su / n == doctest::Approx(0.5).epsilon(0.01));
    CHECK(std::fabs(sn / n) < 0.01);
    CHECK(sn2 / n == doctest::Approx(1.0).epsilon(0.02));
}

TEST_CASE("fast_exp, fast_log, softplus_fast_in_float: relative error below 4e-7 against <cmath> over their ranges") {
    double worst_exp = 0, worst_log = 0, worst_sp = 0;
    for (int i = 0; i <= 200000; ++i) {
        const float x = -87.0f + 175.0f * static_cast<float>(i) / 200000.0f;  // e^x normal throughout
        worst_exp = std::max(worst_exp, std::fabs(fast_exp(x) - std::exp(static_cast<double>(x))) / std::exp(static_cast<double>(x)));
        const double sp = softplus(static_cast<double>(x));
        worst_sp = std::max(worst_sp, std::fabs(softplus_fast_in_float(x) - sp) / std::max(sp, 1.0));  // absolute below 1
    }
    for (int i = 0; i <= 200000; ++i) {  // ln x over 2^-120 .. 2^120, log-spaced, and around 1
        const float x = std::ldexp(1.0f + static_cast<float>(i % 997) / 997.0f, -120 + (i % 241));
        const double l = std::log(static_cast<double>(x));
        worst_log = std::max(worst_log, std::fabs(fast_log(x) - l) / std::max(std::fabs(l), 1.0));
    }
    for (float x = 0.5f; x < 2.0f; x = std::nextafter(x, 3.0f) + 1e-5f)  // relative near x = 1, where ln x -> 0
        CHECK(std::fabs(fast_log(x) - std::log(static_cast<double>(x))) <= 4e-7 * std::max(std::fabs(std::log(static_cast<double>(x))), 1e-7) + 1e-12);
    CHECK(worst_exp < 4e-7);
    CHECK(worst_log < 4e-7);
    CHECK(worst_sp < 4e-7);
    CHECK(fast_exp(-1000.0f) > 0.0f);  // clamped, not garbage
    CHECK(fast_exp(1000.0f) == fast_exp(88.0f));
    CHECK(fast_log(1.0f) == 0.0f);
}

TEST_CASE("Rng::normals: standard normal pairs (moments, tails, no correlation within a pair), odd n, same stream same numbers") {
    Rng r(3, Stream::particle, 1, 2);
    const int n = 1 << 20;
    std::vector<float> z(n);
    r.normals(z.data(), n);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0, pair = 0;
    int beyond2 = 0, beyond3 = 0;
    for (int i = 0; i < n; ++i) {
        const double v = z[i];
        s1 += v, s2 += v * v, s3 += v * v * v, s4 += v * v * v * v;
        beyond2 += std::fabs(v) > 2, beyond3 += std::fabs(v) > 3;
        if (i % 2 == 0) pair += v * z[i + 1];
    }
    const double se = 1.0 / std::sqrt(static_cast<double>(n));  // standard error of the mean
    CHECK(std::fabs(s1 / n) < 5 * se);
    CHECK(std::fabs(s2 / n - 1) < 5 * std::sqrt(2.0) * se);
    CHECK(std::fabs(s3 / n) < 5 * std::sqrt(15.0) * se);
    CHECK(std::fabs(s4 / n - 3) < 5 * std::sqrt(96.0) * se);
    CHECK(std::fabs(pair / (n / 2)) < 5 * std::sqrt(2.0) * se);
    const double p2 = 0.04550026, p3 = 0.00269980;  // P(|z| > 2), P(|z| > 3)
    CHECK(std::fabs(beyond2 / static_cast<double>(n) - p2) < 5 * std::sqrt(p2 / n));
    CHECK(std::fabs(beyond3 / static_cast<double>(n) - p3) < 5 * std::sqrt(p3 / n));
    // The quadrant of the angle is uniform: each sign pattern of a pair a quarter of the time.
    int quadrant[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i += 2) ++quadrant[(z[i] > 0 ? 1 : 0) + (z[i + 1] > 0 ? 2 : 0)];
    for (int q : quadrant) CHECK(std::fabs(q / (n / 2.0) - 0.25) < 5 * std::sqrt(0.25 * 0.75 / (n / 2.0)));
    // Odd counts fill exactly n values; the same stream gives the same numbers.
    std::vector<float> a(8, 99.0f), b(8, 99.0f);
    Rng ra(5), rb(5);
    ra.normals(a.data(), 7);
    rb.normals(b.data(), 7);
    CHECK(a == b);
    CHECK(a[7] == 99.0f);
    CHECK(a[6] != 99.0f);
    // Each pair is fast_normal_pair of the stream's next two uniforms, whether it was made a
    // vector at a time (the kernel's normals) or alone, and the stream moves on two draws a pair.
    int mismatches = 0;
    for (int count = 1; count <= 100; ++count) {
        std::vector<float> got(count);
        Rng rg(11, Stream::particle, 7, static_cast<uint64_t>(count)), ru = rg;
        rg.normals(got.data(), count);
        for (int i = 0; i < count; i += 2) {
            const double u1 = 1.0 - ru.uniform(), u2 = ru.uniform();
            float z0, z1;
            fast_normal_pair(u1, u2, z0, z1);
            mismatches += got[i] != z0;
            if (i + 1 < count) mismatches += got[i + 1] != z1;
        }
        mismatches += rg.counter != ru.counter;
    }
    CHECK(mismatches == 0);
}

TEST_CASE_TEMPLATE("matmul: the textbook triple loop's sums on odd shapes, every transpose, with accumulate", T, float, double) {
    Rng rng(3);
    const int shapes[][3] = {{1, 1, 1}, {7, 33, 5}, {9, 31, 17}, {17, 65, 3}, {64, 250, 27}, {13, 21, 250}, {100, 40, 1}};
    for (auto& s : shapes)
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb)
                for (int acc = 0; acc < 2; ++acc) {
                    const int M = s[0], N = s[1], K = s[2];
                    Tensor<T> A(ta ? K : M, ta ? M : K), B(tb ? N : K, tb ? K : N), C1(M, N), C2(M, N);
                    fill_uniform(A, rng);
                    fill_uniform(B, rng);
                    fill_uniform(C1, rng);
                    C2 = C1;
                    for (int i = 0; i < M; ++i)  // the textbook's C = op(A) op(B), summed in double
                        for (int j = 0; j < N; ++j) {
                            double sum = acc ? double(C1(i, j)) : 0.0;
                            for (int k = 0; k < K; ++k)
                                sum += double(ta ? A(k, i) : A(i, k)) * double(tb ? B(j, k) : B(k, j));
                            C1(i, j) = static_cast<T>(sum);
                        }
                    matmul<T>(C2.view(), A.view(), ta, B.view(), tb, acc);
                    double worst = 0;
                    for (std::size_t i = 0; i < C1.size(); ++i)
                        worst = std::max(worst, std::fabs(double(C1.data()[i]) - C2.data()[i]) / (1 + std::fabs(double(C1.data()[i]))));
                    INFO("M=", M, " N=", N, " K=", K, " ta=", ta, " tb=", tb, " acc=", acc);
                    CHECK(worst < (sizeof(T) == 4 ? 1e-5 : 1e-13));
                }
    Tensor<T> A(2, 3), B(4, 5), C(2, 5);
    CHECK_THROWS_WITH_AS(matmul<T>(C.view(), A.view(), false, B.view(), false),
                         doctest::Contains("op(A) [2, 3] times op(B) [4, 5] into C [2, 5] does not fit"),
                         std::invalid_argument);
}

TEST_CASE("matmul: a row gets the same bits whether it comes alone, in a few rows or in a large batch") {
    // The few-rows path (no packing) and the micro-kernel sum in the same order, so a planner
    // or a policy acting on one observation matches the batched computation exactly.
    Rng rng(12);
    Tensor<float> A(30, 250), B(250, 70), big(30, 70), few(3, 70), one(1, 70);
    fill_uniform(A, rng);
    fill_uniform(B, rng);
    std::vector<float> bias(70);
    for (float& b : bias) b = static_cast<float>(rng.uniform(-1, 1));
    const Epilogue<float> ep{bias.data(), Activation::tanh, false};
    matmul<float>(big.view(), A.view(), false, B.view(), false, ep);
    matmul<float>(few.view(), A.view().middle_rows(13, 3), false, B.view(), false, ep);
    matmul<float>(one.view(), A.view().middle_rows(29, 1), false, B.view(), false, ep);
    CHECK(std::memcmp(few.data(), big.row(13), 3 * 70 * sizeof(float)) == 0);
    CHECK(std::memcmp(one.data(), big.row(29), 70 * sizeof(float)) == 0);
}

TEST_CASE_TEMPLATE("packed MLP forward (batch along the lanes): the same bits as the unpacked forward", T, float, double) {
    // The packed forward sums every element as matmul does, so a planner's scores equal those of
    // predict() through the unpacked weights. Odd widths leave partial micro-tiles in both
    // directions (outputs not a multiple of the tile's rows, batches not a multiple of a panel).
    Rng rng(21);
    const int shapes[][4] = {{27, 21, 2, 250}, {5, 3, 1, 17}, {13, 40, 2, 33}, {9, 1, 0, 1}};
    const int batches[] = {1, 5, 16, 31, 33, 250, 257};
    for (auto& s : shapes)
        for (Activation act : {Activation::tanh, Activation::relu, Activation::identity}) {
            MLP<T> net(s[0], s[1], s[2], s[3], act);
            net.init(rng);
            for (T& p : net.params) p *= T(3);  // pre-activations well into tanh's saturation too
            PackedLayers<T> packed;
            pack_mlp(net, packed);
            MLPWork<T> w1(net, 257), w2(net, 257);
            for (int B : batches) {
                View<T> x1 = w1.start_batch(net, B), x2 = w2.start_batch(net, B);
                for (std::size_t i = 0; i < x1.size(); ++i) x1[i] = x2[i] = static_cast<T>(rng.uniform(-2, 2));
                View<T> y1 = mlp_forward(net, w1), y2 = mlp_forward(packed, w2);
                INFO("in=", s[0], " out=", s[1], " layers=", s[2], " size=", s[3], " B=", B, " act=", int(act));
                REQUIRE(y2.rows == B);
                CHECK(std::memcmp(y1.data, y2.data, y1.size() * sizeof(T)) == 0);
            }
        }
}

TEST_CASE("packed MLP forward with bf16 products: the bits of bf16 inputs summed in float in order, near float") {
    // The reference rounds every weight and layer input to bf16 (nearest even, subnormals to
    // zero), then sums bias + x_0 w_0 + x_1 w_1 + ... in float, one rounding per term: what the
    // AVX512_BF16 instruction computes (this CPU's, if it has one) and the emulation elsewhere.
    auto to_bf16 = [](float x) {
        uint32_t u;
        std::memcpy(&u, &x, 4);
        u = (u & 0x7f800000u) == 0 ? u & 0x80000000u : (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
        std::memcpy(&x, &u, 4);
        return x;
    };
    Rng rng(22);
    const int shapes[][4] = {{27, 21, 2, 250}, {5, 3, 1, 17}, {14, 40, 2, 33}};
    for (auto& s : shapes)
        for (int B : {1, 16, 33, 257}) {
            MLP<float> net(s[0], s[1], s[2], s[3], Activation::tanh);
            net.init(rng);
            PackedLayers<float> bf, fp;
            pack_mlp(net, bf, true);
            pack_mlp(net, fp, false);
            MLPWork<float> w1(net, B), w2(net, B);
            View<float> x1 = w1.start_batch(net, B), x2 = w2.start_batch(net, B);
            for (std::size_t i = 0; i < x1.size(); ++i) x1[i] = x2[i] = static_cast<float>(rng.uniform(-2, 2));
            std::vector<float> h(x1.data, x1.data + x1.size());
            View<float> y = mlp_forward(bf, w1), yf = mlp_forward(fp, w2);
            int in = s[0];
            for (int l = 0; l < net.layers(); ++l) {
                const int out = net.widths[l + 1];
                std::vector<float> o(static_cast<std::size_t>(B) * out);
                for (int i = 0; i < B; ++i)
                    for (int j = 0; j < out; ++j) {
                        float acc = net.b(l)[j];
                        for (int k = 0; k < in; ++k)
                            acc = std::fma(to_bf16(h[i * in + k]), to_bf16(net.W(l)[k * out + j]), acc);
                        o[i * out + j] = l + 1 < net.layers() ? tanh_fast_in_float(acc) : acc;
                    }
                h = o;
                in = out;
            }
            INFO("in=", s[0], " out=", s[1], " layers=", s[2], " size=", s[3], " B=", B);
            CHECK(std::memcmp(h.data(), y.data, h.size() * sizeof(float)) == 0);
            double worst = 0;  // bf16 keeps 8 significant bits: the outputs stay near float's
            for (std::size_t i = 0; i < h.size(); ++i) worst = std::max(worst, double(std::fabs(y[i] - yf[i])));
            CHECK(worst < 0.1);
            CHECK(worst > 0);
        }
    MLP<double> dnet(3, 2, 1, 4);
    PackedLayers<double> dp;
    CHECK_THROWS_WITH_AS(pack_mlp(dnet, dp, true), doctest::Contains("bf16 products are for float networks"),
                         std::invalid_argument);
}

TEST_CASE("fast_tanh: relative error below 1e-6 everywhere, odd, saturates, NaN passes") {
    double worst = 0;
    for (double x = -20; x <= 20; x += 1e-4) {
        const float f = fast_tanh(static_cast<float>(x));
        const double ref = std::tanh(static_cast<double>(static_cast<float>(x)));
        if (ref != 0) worst = std::max(worst, std::fabs(f - ref) / std::fabs(ref));
    }
    for (double x = 1e-30; x < 1e-2; x *= 1.1) {
        const float xf = static_cast<float>(x);
        worst = std::max(worst, std::fabs(fast_tanh(xf) - std::tanh(double(xf))) / std::tanh(double(xf)));
    }
    CHECK(worst < 1e-6);
    CHECK(fast_tanh(0.0f) == 0.0f);
    CHECK(fast_tanh(-3.0f) == -fast_tanh(3.0f));
    CHECK(fast_tanh(100.0f) == 1.0f);
    CHECK(fast_tanh(-1e30f) == -1.0f);
    CHECK(std::isnan(fast_tanh(std::nanf(""))));
}

// Central-difference gradient check of an MLP in double: loss = sum(weights * output), so that
// dLoss/dOutput = weights. Compares every parameter's gradient and (optionally) the input's.
static void check_mlp_gradients(int in, int out, int n_layers, int size, Activation act, int B) {
    Rng rng(11);
    MLP<double> net(in, out, n_layers, size, act);
    net.init(rng);
    MLPWork<double> w(net, B);
    Tensor<double> x(B, in), wout(B, out), dinput(B, in);
    fill_uniform(x, rng, -2, 2);
    fill_uniform(wout, rng);
    auto loss = [&]() {
        View<double> xi = w.start_batch(net, B);
        std::copy(x.data(), x.data() + x.size(), xi.data);
        View<const double> y = mlp_forward(net, w);
        double s = 0;
        for (std::size_t i = 0; i < y.size(); ++i) s += wout.data()[i] * y.data[i];
        return s;
    };
    loss();
    mlp_backward<double>(net, w, wout.view(), dinput.view());
    const std::vector<double> analytic(net.grads.begin(), net.grads.end());
    const double h = 1e-6;
    double worst = 0;
    for (std::size_t i = 0; i < net.size(); ++i) {
        const double p = net.params[i];
        net.params[i] = p + h;
        const double lp = loss();
        net.params[i] = p - h;
        const double lm = loss();
        net.params[i] = p;
        worst = std::max(worst, rel_err(analytic[i], (lp - lm) / (2 * h)));
    }
    double worst_in = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double p = x.data()[i];
        x.data()[i] = p + h;
        const double lp = loss();
        x.data()[i] = p - h;
        const double lm = loss();
        x.data()[i] = p;
        worst_in = std::max(worst_in, rel_err(dinput.data()[i], (lp - lm) / (2 * h)));
    }
    INFO("act=", test::activation_name(act), " layers=", n_layers);
    CHECK(worst < 1e-6);
    CHECK(worst_in < 1e-6);
}

TEST_CASE("MLP gradients match central differences (double)") {
    SUBCASE("linear layer alone") { check_mlp_gradients(5, 3, 0, 0, Activation::identity, 4); }
    SUBCASE("tanh, 2 hidden layers") { check_mlp_gradients(6, 4, 2, 9, Activation::tanh, 5); }
    SUBCASE("relu, 2 hidden layers") { check_mlp_gradients(6, 4, 2, 9, Activation::relu, 5); }
    SUBCASE("tanh, 1 hidden layer wider than a panel") { check_mlp_gradients(3, 2, 1, 37, Activation::tanh, 9); }
}

TEST_CASE("MSE: value and gradient against central differences") {
    Rng rng(5);
    Tensor<double> p(4, 3), t(4, 3), d(4, 3);
    fill_uniform(p, rng);
    fill_uniform(t, rng);
    double manual = 0;
    for (std::size_t i = 0; i < p.size(); ++i) manual += (p.data()[i] - t.data()[i]) * (p.data()[i] - t.data()[i]);
    CHECK(mse_forward<double>(p.view(), t.view()) == doctest::Approx(manual / 12).epsilon(1e-14));
    mse_backward<double>(d.view(), p.view(), t.view());
    for (std::size_t i = 0; i < p.size(); ++i) {
        const double x = p.data()[i], h = 1e-6;
        p.data()[i] = x + h;
        const double lp = mse_forward<double>(p.view(), t.view());
        p.data()[i] = x - h;
        const double lm = mse_forward<double>(p.view(), t.view());
        p.data()[i] = x;
        CHECK(rel_err(d.data()[i], (lp - lm) / (2 * h)) < 1e-6);
    }
    Tensor<double> wrong(4, 2);
    CHECK_THROWS_WITH_AS(mse_forward<double>(p.view(), wrong.view()), doctest::Contains("mse: target"),
                         std::invalid_argument);
}

TEST_CASE("Adam: two steps computed by hand") {
    // p = 1, lr = 0.1, grads 0.5 then -0.25.
    // step 1: m = 0.05, v = 0.00025, m^ = 0.5, v^ = 0.25:  p = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.900000002
    // step 2: m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225,
    //         m^ = 0.02 / 0.19, v^ = 0.00031225 / 0.001999:  p = 0.9 - 0.02663370... = 0.87336629870784...
    Adam<double> opt(1, 0.1);
    double p = 1.0, g = 0.5;
    opt.step(&p, &g);
    CHECK(p == doctest::Approx(0.900000002).epsilon(1e-15));
    g = -0.25;
    opt.step(&p, &g);
    CHECK(p == doctest::Approx(0.8733662987078463).epsilon(1e-14));
    CHECK(opt.m[0] == doctest::Approx(0.02).epsilon(1e-14));
    CHECK(opt.v[0] == doctest::Approx(0.00031225).epsilon(1e-14));
    CHECK_THROWS_AS(Adam<double>(1, 0.0), std::invalid_argument);
}

TEST_CASE_TEMPLATE("Adam: the vectorized update gives the bits of the scalar formula, for any length", T, float, double) {
    // The scalar loop below is PyTorch's formula written out with its fused multiply-adds; Adam::step
    // runs it in the kernel (on whole vectors, split over threads for long blocks, a scalar tail).
    Rng rng(5);
    for (std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(16), std::size_t(33), std::size_t(70001)}) {
        Adam<T> opt(n, T(1e-3));
        std::vector<T> p(n), g(n), q, m(n, T(0)), v(n, T(0));
        for (T& x : p) x = static_cast<T>(rng.uniform(-1, 1));
        q = p;
        for (int t = 1; t <= 3; ++t) {
            for (T& x : g) x = static_cast<T>(rng.uniform(-2, 2));
            g[0] = T(0);  // v = 0 at step 1: sqrt(0)
            opt.step(p.data(), g.data());
            const T b1 = opt.beta1, b2 = opt.beta2;
            const T bc1 = T(1) - static_cast<T>(std::pow(static_cast<double>(b1), t));
            const T bc2 = T(1) - static_cast<T>(std::pow(static_cast<double>(b2), t));
            const T step_size = opt.lr / bc1, inv_sqrt_bc2 = T(1) / std::sqrt(bc2);
            for (std::size_t i = 0; i < n; ++i) {
                m[i] = std::fma(b1, m[i], (T(1) - b1) * g[i]);
                v[i] = std::fma(b2, v[i], (T(1) - b2) * g[i] * g[i]);
                q[i] -= step_size * m[i] / std::fma(std::sqrt(v[i]), inv_sqrt_bc2, opt.eps);
            }
        }
        INFO("n=", n);
        CHECK(std::memcmp(p.data(), q.data(), n * sizeof(T)) == 0);
        CHECK(std::memcmp(opt.m.data(), m.data(), n * sizeof(T)) == 0);
        CHECK(std::memcmp(opt.v.data(), v.data(), n * sizeof(T)) == 0);
    }
}

TEST_CASE("Normalizer: population statistics, round trip, the 1e-8 guard on a constant column") {
    Tensor<double> x(4, 2);
    const double col0[] = {1, 2, 3, 6};
    for (int i = 0; i < 4; ++i) {
        x(i, 0) = col0[i];
        x(i, 1) = 0.7;  // constant
    }
    Normalizer<double> n;
    n.fit(x.view());
    CHECK(n.mean[0] == doctest::Approx(3.0));
    CHECK(n.std[0] == doctest::Approx(std::sqrt(3.5)));  // population: sum of squares 14 / 4
    CHECK(n.std[1] == 0.0);
    for (int i = 0; i < 4; ++i) {
        // not exact: normalize divides by std + 1e-8, unnormalize multiplies by std alone
        CHECK(n.unnormalize(n.normalize(x(i, 0), 0), 0) == doctest::Approx(x(i, 0)).epsilon(1e-8));
        CHECK(n.normalize(x(i, 1), 1) == 0.0);  // finite, thanks to the epsilon
    }
    CHECK(n.normalize(0.7 + 1e-9, 1) == doctest::Approx(0.1).epsilon(1e-6));  // (x - mean) / 1e-8
    CHECK(n.unnormalize(5.0, 1) == doctest::Approx(0.7));
    Tensor<double> empty(0, 2);
    CHECK_THROWS_WITH_AS(n.fit(empty.view()), doctest::Contains("empty data"), std::invalid_argument);
}

TEST_CASE("MLP: bad sizes are reported") {
    CHECK_THROWS_WITH_AS(MLP<float>(0, 3, 2, 8), doctest::Contains("in=0"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(MLP<float>(4, 3, 2, -1), doctest::Contains("size=-1"), std::invalid_argument);
    MLP<float> net(4, 3, 1, 8);
    MLPWork<float> w(net, 10);
    CHECK_THROWS_WITH_AS(w.start_batch(net, 11), doctest::Contains("11 rows"), std::invalid_argument);
}
