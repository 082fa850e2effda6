// tests/compile_fail/toy_env.hpp: a minimal environment for the compile-fail tests. Each test
// file defines one WITHOUT_* macro (or REWARD_NOT_STATIC) before including it, and so leaves out
// (or spoils) exactly one member of the environment concept (docs/environments.md).
#pragma once
#include <vector>

#include "../../mbrl.hpp"

struct ToyEnv {
#ifndef WITHOUT_OBS_DIM
    int obs_dim() const { return 1; }
#endif
    int act_dim() const { return 1; }
#ifndef WITHOUT_EP_LEN
    int ep_len() const { return 5; }
#endif
#ifndef WITHOUT_ACT_LOW
    float act_low(int) const { return -1; }
#endif
    float act_high(int) const { return 1; }
#ifndef WITHOUT_RESET
    void reset(mbrl::Rng&, std::vector<float>& obs) { obs.assign(1, 0.0f); }
#endif
#ifndef WITHOUT_STEP
    float step(const std::vector<float>& act, std::vector<float>& obs, bool& done) {
        obs.assign(1, act[0]);
        float r = 0, d = 0;
        reward(obs.data(), act.data(), 1, &r, &d);
        done = d != 0;
        return r;
    }
#endif
#ifdef REWARD_NOT_STATIC
    void reward(const float* obs, const float*, int n, float* rew, float* done) const {
#else
    static void reward(const float* obs, const float*, int n, float* rew, float* done) {
#endif
        for (int i = 0; i < n; ++i) {
            rew[i] = -obs[i] * obs[i];
            if (done) done[i] = 0;
        }
    }
};

// The three entry points that check their environment type (templates: a test file instantiates
// only the one it calls).
template <class Env>
void collect(Env& env) {
    uint64_t episodes = 0;
    mbrl::Rollouts<float> out;
    mbrl::sample_trajectories(env, [](mbrl::View<const float>, mbrl::View<float> a) { a[0] = 0; }, 10, 5, 1,
                              &episodes, out);
}
template <class Env>
void plan(Env& env) {
    mbrl::run_mb(env, mbrl::MBConfig{});
}
template <class Env>
void mbpo(Env& env) {
    mbrl::run_mbpo(env, mbrl::MBPOConfig{});
}
