// examples/pendulum.hpp: an environment brought to mbrl.hpp from its equations, pendulum swing-up
// as in Gym's Pendulum-v1. Plain C++ (no physics engine), written after envs/obstacles.hpp; the
// interface it implements is described in docs/environments.md.
//
// State (double): the angle th (0 upright, counter-clockwise positive) and the angular velocity
// th_dot. With g = 10, m = 1, l = 1, dt = 0.05 and the torque u = clip(a, -2, 2), one step is
// Gym's semi-implicit Euler step:
//   th_dot' = clip(th_dot + (3 g / (2 l) sin th + 3 / (m l^2) u) dt, -8, 8)
//   th'     = th + th_dot' dt
//
// Observation (3 floats)                 Action (1 float, bounds [-2, 2])
//   0  cos th                              0  torque (clipped to [-2, 2])
//   1  sin th
//   2  th_dot
//
// Start: th ~ U(-pi, pi), th_dot ~ U(-1, 1). Never done: an episode ends only at its time limit,
// ep_len() = 200 steps (Gym's TimeLimit).
//
// Reward -(angle_normalize(th)^2 + 0.1 th_dot^2 + 0.001 u^2), taken as this library takes every
// reward: on the state the step leads to, with the step's own action. The batched reward sees
// only (post-step observation, action), so it reads
//   the angle   atan2(obs[1], obs[0]), which lies in [-pi, pi] and so is angle_normalize(th)
//               already; it needs no unit-length (cos, sin), so a model's predicted pair off the
//               unit circle still gives an angle (only (0, 0) gives none: atan2 returns 0 there)
//   the torque  the action argument, clipped to [-2, 2] as step() clips it
// Gym charges the state a step starts from instead (its step t pays for th_t, th_dot_t and u_t):
// here step t pays for th_{t+1}, th_dot_{t+1} and u_t. The sums over an episode differ only by
// the first state's cost against the last's, and the planner, which scores predicted next states
// (R(s_1) + ... + R(s_H)), sees the consequence of every action it chooses, including the first.
#ifndef MBRL_EXAMPLES_PENDULUM_HPP
#define MBRL_EXAMPLES_PENDULUM_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "../envs/common.hpp"

namespace mbrl {

class Pendulum {
public:
    static constexpr const char* kName = "pendulum-v1";
    static constexpr int kObsDim = 3, kActDim = 1, kEpLen = 200;
    static constexpr double kG = 10.0, kM = 1.0, kL = 1.0, kDt = 0.05;
    static constexpr double kMaxSpeed = 8.0;
    static constexpr float kMaxTorque = 2.0f;
    static constexpr double kPi = 3.14159265358979323846;

    int obs_dim() const { return kObsDim; }
    int act_dim() const { return kActDim; }
    int ep_len() const { return kEpLen; }
    float act_low(int /*j*/) const { return -kMaxTorque; }
    float act_high(int /*j*/) const { return kMaxTorque; }

    void reset(Rng& rng, std::vector<float>& obs) {
        th_ = rng.uniform(-kPi, kPi);
        th_dot_ = rng.uniform(-1.0, 1.0);
        started_ = true;
        observe(obs);
    }

    float step(const std::vector<float>& act, std::vector<float>& obs, bool& done) {
        envs::check_action(kName, act, kActDim);
        if (!started_) fail(kName, ": step() called before reset()");
        const double u = std::clamp(act[0], -kMaxTorque, kMaxTorque);
        th_dot_ += (3.0 * kG / (2.0 * kL) * std::sin(th_) + 3.0 / (kM * kL * kL) * u) * kDt;
        th_dot_ = std::clamp(th_dot_, -kMaxSpeed, kMaxSpeed);
        th_ += th_dot_ * kDt;
        observe(obs);
        return envs::step_reward<Pendulum>(obs, act, done);  // reward() on the post-step observation
    }

    // Batched reward: obs [n, 3], act [n, 1] -> rew [n]; done [n] is all 0 (never terminates).
    // Pure and static: the planner calls it from several threads at once. The sum is written
    // with explicit fma so that a vectorized batch and a single row round alike (envs/common.hpp).
    static void reward(const float* obs, const float* act, int n, float* rew, float* done) {
        for (int i = 0; i < n; ++i) {
            const float* o = obs + static_cast<std::size_t>(i) * kObsDim;
            const float th = std::atan2(o[1], o[0]);  // angle_normalize(th), in [-pi, pi]
            const float th_dot = o[2];
            const float u = std::clamp(act[static_cast<std::size_t>(i) * kActDim], -kMaxTorque, kMaxTorque);
            rew[i] = -std::fma(th, th, std::fma(0.1f * th_dot, th_dot, 0.001f * (u * u)));
            if (done) done[i] = 0.0f;
        }
    }

    // The exact (double) state, and a way to set it: for tests and demos.
    double theta() const { return th_; }
    double theta_dot() const { return th_dot_; }
    void set_state(double th, double th_dot) {
        th_ = th;
        th_dot_ = th_dot;
        started_ = true;
    }

private:
    double th_ = 0, th_dot_ = 0;
    bool started_ = false;

    void observe(std::vector<float>& obs) const {
        obs.resize(kObsDim);
        obs[0] = static_cast<float>(std::cos(th_));
        obs[1] = static_cast<float>(std::sin(th_));
        obs[2] = static_cast<float>(th_dot_);
    }
};

// Small settings for run_mb on the pendulum, the ones of examples/pendulum.cpp and
// tests/test_pendulum.cpp: 2000 steps (10 episodes) of uniform random actions first, an ensemble
// of 3 small models (2 x 64) trained 500 steps per iteration, random shooting over 200 sequences
// of 15 steps, 400 steps (2 episodes) per later collection and per evaluation.
inline MBConfig pendulum_config(uint64_t seed) {
    MBConfig c;
    c.exp_name = "pendulum";
    c.env_name = Pendulum::kName;
    c.seed = seed;
    c.n_iter = 3;
    c.ensemble_size = 3;
    c.n_layers = 2;
    c.size = 64;
    c.num_agent_train_steps_per_iter = 500;
    c.batch_size_initial = 2000;
    c.batch_size = 400;
    c.eval_batch_size = 400;
    c.mpc.horizon = 15;
    c.mpc.num_sequences = 200;
    c.mpc.cem = false;
    return c;
}

}  // namespace mbrl
#endif  // MBRL_EXAMPLES_PENDULUM_HPP
