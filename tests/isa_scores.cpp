// The same numbers on every instruction set: a small ensemble is trained for a few steps on
// made-up data, then scores 300 candidate sequences in one planning call (random shooting).
// Prints every score as a hex float, so that `make test-isa` can compare the output of builds
// for different instruction sets byte for byte (AVX-512, AVX2, the portable kernel, aarch64
// NEON under qemu). Each element of every product is summed in one fixed order with FMAs and
// the same tanh, so they must agree to the last bit.
#include <cstdio>

#include "../mbrl.hpp"

using namespace mbrl;

// A reward with no product in it: a compiler may or may not fuse a product into a following
// sum (-ffp-contract=fast allows both, and GCC for aarch64 chooses differently from GCC for
// x86 in a loop like r -= 0.1 a_j^2), so a reward written that way would differ in the last
// bit across targets for reasons that are not the library's.
static void reward(const float* obs, const float*, int n, float* rew, float* done) {
    const int ob = 9;
    for (int i = 0; i < n; ++i) {
        rew[i] = obs[i * ob] - obs[i * ob + 1];
        if (done) done[i] = 0;
    }
}

int main() {
    const int ob = 9, ac = 4, rows = 2000;
    Ensemble<float> ens(ob, ac, 3, 2, 64, 1e-3f, 7);
    Tensor<float> o(rows, ob), a(rows, ac), o2(rows, ob);
    Rng rng(3);
    for (int i = 0; i < rows; ++i) {
        // (No libm and no product before a sum here either: the data must be the same bits everywhere.)
        for (int j = 0; j < ob; ++j) o(i, j) = static_cast<float>(rng.uniform(-2, 2));
        for (int j = 0; j < ac; ++j) a(i, j) = static_cast<float>(rng.uniform(-1, 1));
        for (int j = 0; j < ob; ++j)
            o2(i, j) = o(i, j) + unfused(0.1f * fast_tanh(o(i, (j + 1) % ob))) + unfused(0.05f * a(i, j % ac));
    }
    ens.fit_stats(o.view(), a.view(), o2.view());
    Rng srng(5);
    float loss = 0;
    for (int s = 0; s < 20; ++s) loss = ens.train_step(o.view(), a.view(), o2.view(), 256, srng);
    std::printf("loss %a\n", static_cast<double>(loss));
    MPCConfig cfg;
    cfg.horizon = 7;
    cfg.num_sequences = 300;
    MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), &reward, std::vector<float>(ac, -1.0f), std::vector<float>(ac, 1.0f), cfg, 11);
    std::vector<float> obs(ob, 0.3f), act(ac);
    mpc.act(obs, act);
    for (int i = 0; i < cfg.num_sequences; ++i) std::printf("%a\n", static_cast<double>(mpc.mean_score[i]));
    for (float x : act) std::printf("action %a\n", static_cast<double>(x));
    return 0;
}
