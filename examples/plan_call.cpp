// examples/plan_call.cpp: the time of one CEM planning call as a program built with its own flags
// sees it (docs/cmake.md): 200 sequences x 4 rounds, horizon 30, 3 members of 2x64 trained 50
// steps on 2000 random obstacles steps, 1 thread; the median of 31 calls after 3 warm-up calls.
// Prints the kernel, the ms and a checksum of the 34 calls' actions (equal for every kernel and
// flag). Build it any way, e.g.:
//   g++ -std=c++17 -O2 -I. examples/plan_call.cpp -o plan_call && ./plan_call
//   MBRL_KERNEL=avx2 ./plan_call
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include "envs/obstacles.hpp"
int main() {
    using namespace mbrl;
    Obstacles env;
    auto model = std::make_shared<Ensemble<float>>(env.obs_dim(), env.act_dim(), 3, 2, 64, 1e-3f, 1);
    Rollouts<float> data; uint64_t eps = 0; Rng ar(1, Stream::policy);
    auto rnd = [&](View<const float>, View<float> a) { for (int j = 0; j < env.act_dim(); ++j) a[j] = float(ar.uniform(-0.99, 0.99)); };
    sample_trajectories(env, rnd, 2000, env.ep_len(), 1, &eps, data);
    model->fit_stats(data.obs.view(), data.act.view(), data.next_obs.view());
    Rng sr(2); for (int s = 0; s < 50; ++s) model->train_step(data.obs.view(), data.act.view(), data.next_obs.view(), 256, sr);
    MPCConfig cfg; cfg.horizon = 30; cfg.num_sequences = 200; cfg.cem = true; cfg.cem_iterations = 4;
    MPC<float> mpc(model, &Obstacles::reward, {-0.99f, -0.99f}, {0.99f, 0.99f}, cfg, 1);
    std::vector<float> obs(data.obs.row(0), data.obs.row(0) + env.obs_dim()), act(2);
    std::vector<double> t; uint32_t sum = 0;
    for (int i = 0; i < 34; ++i) {
        auto t0 = std::chrono::steady_clock::now(); mpc.act(obs, act);
        double ms = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3;
        if (i >= 3) t.push_back(ms);
        uint32_t b; std::memcpy(&b, &act[0], 4); sum = sum * 31 + b;
    }
    std::sort(t.begin(), t.end());
    std::printf("%s %.2f ms checksum %08x\n", kernel_name(), t[t.size() / 2], sum);
}
