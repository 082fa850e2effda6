// envs/obstacles.hpp: obstacles-cs285-v0, a point robot in a square with five rectangular
// obstacles that must reach a fixed goal. Plain C++, no physics engine (reference section 1.1).
//
// Observation (4 floats)                 Action (2 floats, bounds [-0.99, 0.99])
//   0  x                                   0  move along x (clipped to [-1, 1], then / 10)
//   1  y                                   1  move along y
//   2  goal x = 0.7 (constant)
//   3  goal y = -0.8 (constant)
//
// Reward -||(x, y) - goal||; done when that distance is below 0.1. Episode length 100 (section 2).
// The position is kept in double, as in the numpy reference; observations are float.
#ifndef MBRL_ENVS_OBSTACLES_HPP
#define MBRL_ENVS_OBSTACLES_HPP

#include <algorithm>
#include <vector>

#include "common.hpp"

namespace mbrl {

class Obstacles {
public:
    static constexpr const char* kName = "obstacles-cs285-v0";
    static constexpr int kObsDim = 4, kActDim = 2, kEpLen = 100;

    // The playing field is the open square (kBoundMin, kBoundMax)^2; the same numbers bound the
    // actions (1.1 "Spaces").
    static constexpr double kBoundMin = -0.99, kBoundMax = 0.99;
    static constexpr double kGoalX = 0.7, kGoalY = -0.8;  // fixed goal (1.1 "Goal")
    static constexpr float kGoalRadius = 0.1f;            // done when closer than this (eps)
    // Obstacles as [top-left x, top-left y, width, height] (1.1 "Obstacles"). The interior is
    // open: tl_x < x < tl_x + width and tl_y - height < y < tl_y.
    static constexpr int kNumObstacles = 5;
    static constexpr double kObstacles[kNumObstacles][4] = {
        {-0.4, 0.8, 0.4, 0.3},
        {-0.9, 0.3, 0.2, 0.6},
        {0.6, -0.1, 0.12, 0.4},
        {-0.1, 0.2, 0.15, 0.4},
        {0.1, -0.7, 0.3, 0.15},
    };

    int obs_dim() const { return kObsDim; }
    int act_dim() const { return kActDim; }
    int ep_len() const { return kEpLen; }
    float act_low(int /*j*/) const { return static_cast<float>(kBoundMin); }
    float act_high(int /*j*/) const { return static_cast<float>(kBoundMax); }

    // is_valid (1.1): not strictly inside any obstacle, and strictly inside the square.
    static bool is_valid(double px, double py) {
        for (const auto& o : kObstacles) {
            const bool inside = o[0] < px && px < o[0] + o[2] && o[1] - o[3] < py && py < o[1];
            if (inside) return false;
        }
        return kBoundMin < px && px < kBoundMax && kBoundMin < py && py < kBoundMax;
    }

    // Start state (1.1): p ~ U([-0.99, 0.59] x [0.26, 0.99]), drawn again until valid.
    void reset(Rng& rng, std::vector<float>& obs) {
        do {
            x_ = rng.uniform(kBoundMin, kBoundMax - 0.4);
            y_ = rng.uniform(kBoundMin + 1.25, kBoundMax);
        } while (!is_valid(x_, y_));
        started_ = true;
        observe(obs);
    }

    float step(const std::vector<float>& act, std::vector<float>& obs, bool& done) {
        envs::check_action(kName, act, kActDim);
        if (!started_) fail(kName, ": step() called before reset()");
        // Step (1.1): clip to [-1, 1] (not +-0.99), divide by 10, and move only if the new
        // point is valid: a move into an obstacle or out of the square leaves p unchanged.
        const double qx = x_ + std::clamp(static_cast<double>(act[0]), -1.0, 1.0) / 10.0;
        const double qy = y_ + std::clamp(static_cast<double>(act[1]), -1.0, 1.0) / 10.0;
        if (is_valid(qx, qy)) {
            x_ = qx;
            y_ = qy;
        }
        observe(obs);
        return envs::step_reward<Obstacles>(obs, act, done);
    }

    // Batched reward (1.1): -dist to the goal; done if dist < 0.1 or if (x, y) left the square
    // (strict; the real env never lets that happen, but a model's prediction may).
    static void reward(const float* obs, const float* /*act*/, int n, float* rew, float* done) {
        const float lo = static_cast<float>(kBoundMin), hi = static_cast<float>(kBoundMax);
        for (int i = 0; i < n; ++i) {
            const float* o = obs + static_cast<std::size_t>(i) * kObsDim;
            const float dist = envs::norm2(o[0] - o[2], o[1] - o[3]);
            rew[i] = -dist;
            if (done) {
                const bool out = o[0] < lo || o[0] > hi || o[1] < lo || o[1] > hi;
                done[i] = (dist < kGoalRadius || out) ? 1.0f : 0.0f;
            }
        }
    }

    // The exact (double) position, and a way to place the point: for tests and demos.
    double x() const { return x_; }
    double y() const { return y_; }
    void set_position(double px, double py) {
        if (!is_valid(px, py))
            fail(kName, ": set_position(", px, ", ", py, ") is not a valid point");
        x_ = px;
        y_ = py;
        started_ = true;
    }

    // The whole state, to simulate from here on another instance (envs/true_model.hpp).
    struct State {
        double x = 0, y = 0;
    };
    void save_state(State& s) const {
        if (!started_) fail(kName, ": save_state() called before reset()");
        s.x = x_;
        s.y = y_;
    }
    void restore_state(const State& s) {
        x_ = s.x;
        y_ = s.y;
        started_ = true;
    }

private:
    double x_ = 0, y_ = 0;
    bool started_ = false;

    void observe(std::vector<float>& obs) const {
        obs.resize(kObsDim);
        obs[0] = static_cast<float>(x_);
        obs[1] = static_cast<float>(y_);
        obs[2] = static_cast<float>(kGoalX);
        obs[3] = static_cast<float>(kGoalY);
    }
};

}  // namespace mbrl
#endif  // MBRL_ENVS_OBSTACLES_HPP
