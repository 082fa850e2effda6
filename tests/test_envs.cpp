// tests/test_envs.cpp: the three environments against the reference spec (docs/reference.md
// sections 1 and 2). The main() of the test binary lives in tests/main.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include "../envs/envs.hpp"

using namespace mbrl;

namespace {

// A random-action rollout with a reset at every episode end (done or ep_len steps), everything
// recorded: obs_before[t] and obs_after[t] bracket action act[t], which earned rew[t], done[t].
struct Rollout {
    std::vector<float> obs_before, act, obs_after, rew, done;
    int steps = 0;
};

template <class Env>
Rollout random_rollout(Env& env, uint64_t seed, int steps) {
    Rollout r;
    std::vector<float> obs, next, act(env.act_dim());
    int episode = 0, t = 0;
    Rng reset_rng(seed, Stream::reset, episode);
    Rng policy(seed, Stream::policy);
    env.reset(reset_rng, obs);
    for (int s = 0; s < steps; ++s) {
        for (int j = 0; j < env.act_dim(); ++j)
            act[j] = static_cast<float>(policy.uniform(env.act_low(j), env.act_high(j)));
        bool done = false;
        const float rew = env.step(act, next, done);
        r.obs_before.insert(r.obs_before.end(), obs.begin(), obs.end());
        r.act.insert(r.act.end(), act.begin(), act.end());
        r.obs_after.insert(r.obs_after.end(), next.begin(), next.end());
        r.rew.push_back(rew);
        r.done.push_back(done ? 1.0f : 0.0f);
        ++r.steps;
        obs = next;
        if (done || ++t == env.ep_len()) {
            Rng rng(seed, Stream::reset, ++episode);
            env.reset(rng, obs);
            t = 0;
        }
    }
    return r;
}

// doctest::Approx with a purely relative tolerance. Approx's own epsilon is relative to
// 1 + |value|, which for values far below 1 is an absolute tolerance, and too loose.
doctest::Approx rel(double value, double relative) {
    return doctest::Approx(value).scale(0).epsilon(relative);
}

// The obstacles of reference 1.1 as open intervals, typed in again from the reference's table so
// that the env's own is_valid is not checked against itself.
bool inside_an_obstacle(double x, double y) {
    const double box[5][4] = {{-0.4, 0.0, 0.5, 0.8},
                              {-0.9, -0.7, -0.3, 0.3},
                              {0.6, 0.72, -0.5, -0.1},
                              {-0.1, 0.05, -0.2, 0.2},
                              {0.1, 0.4, -0.85, -0.7}};  // x from, x to, y from, y to
    for (const auto& b : box)
        if (b[0] < x && x < b[1] && b[2] < y && y < b[3]) return true;
    return false;
}

bool in_square(double x, double y) { return -0.99 < x && x < 0.99 && -0.99 < y && y < 0.99; }

bool all_finite(const std::vector<float>& v) {
    for (float x : v)
        if (!std::isfinite(x)) return false;
    return true;
}

}  // namespace

// =================================================================================================
// Obstacles (section 1.1)
// =================================================================================================

TEST_CASE("obstacles: spaces, goal and episode length") {
    Obstacles env;
    CHECK(env.obs_dim() == 4);
    CHECK(env.act_dim() == 2);
    CHECK(env.ep_len() == 100);
    for (int j = 0; j < 2; ++j) {
        CHECK(env.act_low(j) == -0.99f);
        CHECK(env.act_high(j) == 0.99f);
    }
    Rng rng(1, Stream::reset);
    std::vector<float> obs;
    env.reset(rng, obs);
    REQUIRE(obs.size() == 4);
    CHECK(obs[2] == 0.7f);
    CHECK(obs[3] == -0.8f);
}

TEST_CASE("obstacles: is_valid uses open obstacles and an open square") {
    CHECK(Obstacles::is_valid(0.5, 0.5));
    CHECK_FALSE(Obstacles::is_valid(-0.2, 0.65));   // inside obstacle 1
    CHECK_FALSE(Obstacles::is_valid(-0.8, 0.0));    // inside obstacle 2
    CHECK_FALSE(Obstacles::is_valid(0.65, -0.3));   // inside obstacle 3
    CHECK_FALSE(Obstacles::is_valid(0.0, 0.0));     // inside obstacle 4
    CHECK_FALSE(Obstacles::is_valid(0.25, -0.75));  // inside obstacle 5
    CHECK(Obstacles::is_valid(-0.4, 0.65));         // on an obstacle's edge: not inside
    CHECK(Obstacles::is_valid(-0.2, 0.8));
    CHECK_FALSE(Obstacles::is_valid(0.99, 0.0));    // the square's edge is out (non-strict)
    CHECK_FALSE(Obstacles::is_valid(0.0, -0.99));
    CHECK(Obstacles::is_valid(0.98, -0.98));
}

TEST_CASE("obstacles: starts are valid and come from U([-0.99, 0.59] x [0.26, 0.99])") {
    Obstacles env;
    std::vector<float> obs;
    double min_x = 1, max_x = -1, min_y = 1, max_y = -1;
    for (int e = 0; e < 20000; ++e) {
        Rng rng(7, Stream::reset, e);
        env.reset(rng, obs);
        REQUIRE_FALSE(inside_an_obstacle(env.x(), env.y()));
        REQUIRE(in_square(env.x(), env.y()));
        REQUIRE(obs[0] == static_cast<float>(env.x()));
        REQUIRE(obs[1] == static_cast<float>(env.y()));
        min_x = std::min(min_x, env.x());
        max_x = std::max(max_x, env.x());
        min_y = std::min(min_y, env.y());
        max_y = std::max(max_y, env.y());
    }
    CHECK(min_x >= -0.99);
    CHECK(min_x < -0.98);
    CHECK(max_x < 0.59);
    CHECK(max_x > 0.58);
    CHECK(min_y >= 0.26);
    CHECK(min_y < 0.27);
    CHECK(max_y < 0.99);
    CHECK(max_y > 0.98);
}

TEST_CASE("obstacles: a step moves by clip(a, -1, 1) / 10 or not at all, never into an obstacle") {
    Obstacles env;
    std::vector<float> obs;
    Rng reset_rng(3, Stream::reset), policy(3, Stream::policy);
    env.reset(reset_rng, obs);
    int moved = 0, rejected = 0;
    for (int s = 0; s < 20000; ++s) {
        // Actions in [-1.5, 1.5], so that clipping happens too.
        const std::vector<float> act = {static_cast<float>(policy.uniform(-1.5, 1.5)),
                                        static_cast<float>(policy.uniform(-1.5, 1.5))};
        const double x0 = env.x(), y0 = env.y();
        const double qx = x0 + std::clamp(double(act[0]), -1.0, 1.0) / 10.0;
        const double qy = y0 + std::clamp(double(act[1]), -1.0, 1.0) / 10.0;
        bool done = false;
        env.step(act, obs, done);
        if (!inside_an_obstacle(qx, qy) && in_square(qx, qy)) {
            REQUIRE(env.x() == qx);
            REQUIRE(env.y() == qy);
            ++moved;
        } else {
            REQUIRE(env.x() == x0);
            REQUIRE(env.y() == y0);
            ++rejected;
        }
        if (done) env.reset(reset_rng, obs);
    }
    CHECK(moved > 1000);
    CHECK(rejected > 1000);
}

TEST_CASE("obstacles: moves into an obstacle or out of the square are rejected") {
    Obstacles env;
    std::vector<float> obs;
    bool done = false;

    // Just left of obstacle 1 (x in (-0.4, 0), y in (0.5, 0.8)); moving right would enter it.
    env.set_position(-0.45, 0.65);
    env.step({0.9f, 0.0f}, obs, done);
    CHECK(env.x() == -0.45);
    CHECK(env.y() == 0.65);
    CHECK(obs[0] == static_cast<float>(-0.45));
    CHECK(obs[1] == static_cast<float>(0.65));
    // A smaller move that stops short of the obstacle is taken.
    env.step({0.4f, 0.0f}, obs, done);
    CHECK(env.x() == rel(-0.41, 1e-7));

    // Near the right edge: 0.95 + 0.09 = 1.04 is out of the square, so nothing moves ...
    env.set_position(0.95, 0.0);
    env.step({0.9f, 0.0f}, obs, done);
    CHECK(env.x() == 0.95);
    CHECK(env.y() == 0.0);
    // ... and no sliding: a diagonal move that is out in x does not move in y either.
    env.step({0.9f, 0.5f}, obs, done);
    CHECK(env.x() == 0.95);
    CHECK(env.y() == 0.0);
    // Same at the bottom edge.
    env.set_position(-0.5, -0.95);
    env.step({0.0f, -0.9f}, obs, done);
    CHECK(env.y() == -0.95);
}

TEST_CASE("obstacles: actions are clipped to [-1, 1], then divided by 10") {
    Obstacles env;
    std::vector<float> obs;
    bool done = false;
    env.set_position(0.2, 0.0);
    env.step({5.0f, -0.5f}, obs, done);  // 5 -> 1 -> 0.1 ; -0.5 -> -0.05
    CHECK(env.x() == rel(0.3, 1e-12));
    CHECK(env.y() == rel(-0.05, 1e-7));
    env.step({-100.0f, 1.0f}, obs, done);  // -1 -> -0.1 ; 1 -> 0.1 (not capped at 0.099)
    CHECK(env.x() == rel(0.2, 1e-12));
    CHECK(env.y() == rel(0.05, 1e-6));
}

TEST_CASE("obstacles: reward is minus the distance; done within 0.1 of the goal") {
    Obstacles env;
    std::vector<float> obs;
    bool done = true;
    // Goal (0.7, -0.8). (0.7, -0.6) -> (0.7, -0.699): distance 0.101, just outside: not done.
    env.set_position(0.7, -0.6);
    float rew = env.step({0.0f, -0.99f}, obs, done);
    CHECK_FALSE(done);
    CHECK(rew == rel(-0.101, 1e-5));
    // -> (0.7, -0.701): distance 0.099, just inside: done.
    rew = env.step({0.0f, -0.02f}, obs, done);
    CHECK(done);
    CHECK(rew == rel(-0.099, 1e-5));
    // Off-axis: (0.75, -0.6) -> (0.75, -0.69), distance sqrt(0.05^2 + 0.11^2) = 0.1208.
    env.set_position(0.75, -0.6);
    rew = env.step({0.0f, -0.9f}, obs, done);
    CHECK_FALSE(done);
    CHECK(rew == rel(-std::sqrt(0.05 * 0.05 + 0.11 * 0.11), 1e-6));
    // Stepping on after done is allowed (the trainer resets; gym only warns).
    rew = env.step({-0.5f, -0.5f}, obs, done);  // -> (0.70, -0.74): distance 0.06
    CHECK(done);
    CHECK(rew == rel(-0.06, 1e-5));
    // The batched reward also ends an episode that leaves the square (a model may predict it).
    const float outside[4] = {1.2f, 0.0f, 0.7f, -0.8f}, act[2] = {0, 0};
    float r = 0, d = 0;
    Obstacles::reward(outside, act, 1, &r, &d);
    CHECK(d == 1.0f);
    const float inside[4] = {0.5f, 0.0f, 0.7f, -0.8f};
    Obstacles::reward(inside, act, 1, &r, &d);
    CHECK(d == 0.0f);
    CHECK(r == rel(-std::sqrt(0.2 * 0.2 + 0.8 * 0.8), 1e-6));
}

TEST_CASE("obstacles: uniform random actions give a mean return of -166 +- 5 (section 1.1)") {
    Obstacles env;
    std::vector<float> obs, act(2);
    double total = 0;
    long steps = 0;
    const int episodes = 3000;
    for (int e = 0; e < episodes; ++e) {
        Rng reset_rng(2022, Stream::reset, e), policy(2022, Stream::policy, e);
        env.reset(reset_rng, obs);
        for (int t = 0; t < env.ep_len(); ++t) {
            act[0] = static_cast<float>(policy.uniform(-0.99, 0.99));
            act[1] = static_cast<float>(policy.uniform(-0.99, 0.99));
            bool done = false;
            total += env.step(act, obs, done);
            ++steps;
            if (done) break;
        }
    }
    const double mean_return = total / episodes, mean_len = double(steps) / episodes;
    INFO("mean return " << mean_return << ", mean episode length " << mean_len);
    CHECK(mean_return == rel(-166, 5.0 / 166));
    CHECK(mean_len > 99.0);  // reaching the goal at random is rare (reference: 99.9)
}

// =================================================================================================
// Reacher (section 1.2)
// =================================================================================================

TEST_CASE("reacher: the loaded model has the reference's options, joints and actuators") {
    Reacher env;
    const mjModel* m = env.model();
    CHECK(m->opt.gravity[0] == 0.0);
    CHECK(m->opt.gravity[1] == 0.0);
    CHECK(m->opt.gravity[2] == 0.0);
    CHECK(m->opt.timestep == 0.01);
    CHECK(m->opt.integrator == mjINT_EULER);
    CHECK(m->opt.iterations == 100);
    CHECK(m->nq == 7);
    CHECK(m->nu == 7);
    CHECK(env.obs_dim() == 20);
    CHECK(env.act_dim() == 7);
    CHECK(env.ep_len() == 200);
    for (int j = 0; j < 7; ++j) {
        CHECK(env.act_low(j) == -1.0f);
        CHECK(env.act_high(j) == 1.0f);
        CHECK(m->actuator_gear[6 * j] == (j == 0 ? 20.0 : 10.0));
        CHECK(m->dof_damping[j] == (j < 2 ? 2.0 : 0.8));
        CHECK(m->dof_armature[j] == 0.004);
    }
}

TEST_CASE("reacher: the reset is deterministic, the target is (0.1, 0.1, 0.1)") {
    Reacher a, b;
    std::vector<float> first, again, other, obs;
    Rng r1(1, Stream::reset), r2(2, Stream::reset), r3(99, Stream::reset, 5);
    a.reset(r1, first);
    // Move the arm around, then reset the same instance with another seed ...
    random_rollout(a, 3, 150);
    a.reset(r2, again);
    // ... and a fresh instance with a third.
    b.reset(r3, other);
    REQUIRE(first.size() == 20);
    CHECK(again == first);
    CHECK(other == first);
    // The target never moves, during an episode either.
    for (int k = 0; k < 3; ++k) CHECK(first[17 + k] == 0.1f);
    const Rollout r = random_rollout(a, 4, 300);
    for (int s = 0; s < r.steps; ++s)
        for (int k = 0; k < 3; ++k) REQUIRE(r.obs_after[20 * s + 17 + k] == 0.1f);
}

TEST_CASE("reacher: initial state, fingertip (0.821, -0.6, 0) and first reward -10.0987") {
    Reacher env;
    std::vector<float> obs, zeros(7, 0.0f);
    Rng rng(1, Stream::reset);
    env.reset(rng, obs);
    // Zero state, zero action, no gravity: nothing moves (exactly, here; 1e-12 leaves room for a
    // solver residual in another MuJoCo version, while any real motion would be far larger).
    for (int j = 0; j < 14; ++j) CHECK(std::fabs(obs[j]) < 1e-12);
    // Fingertip = shoulder (0, -0.6, 0) + 0.1 + 0.4 + 0.321 along x, exact up to float rounding
    // (ulp(0.821) = 6e-8), so 1e-6 is tight.
    CHECK(std::fabs(obs[14] - 0.821) < 1e-6);
    CHECK(std::fabs(obs[15] - -0.6) < 1e-6);
    CHECK(std::fabs(obs[16] - 0.0) < 1e-6);
    // First reward: -10 * sqrt(0.721^2 + 0.7^2 + 0.1^2) = -10.09872; float error ~1e-6.
    bool done = true;
    const float rew = env.step(zeros, obs, done);
    CHECK_FALSE(done);
    CHECK(std::fabs(rew - -10.0 * std::sqrt(0.721 * 0.721 + 0.7 * 0.7 + 0.1 * 0.1)) < 1e-5);
    CHECK(std::fabs(rew - -10.1) < 0.01);
}

TEST_CASE("reacher: observation layout and frame_skip 2") {
    Reacher env;
    std::vector<float> obs;
    Rng rng(1, Stream::reset);
    env.reset(rng, obs);
    const Rollout r = random_rollout(env, 6, 50);  // the arm is moving now
    const mjModel* m = env.model();
    const mjData* d = env.data();
    const int finger = mj_name2id(m, mjOBJ_SITE, "finger");
    const float* o = &r.obs_after[20 * (r.steps - 1)];
    double speed = 0;
    for (int j = 0; j < 7; ++j) {
        CHECK(o[j] == static_cast<float>(d->qpos[j]));
        CHECK(o[7 + j] == static_cast<float>(d->qvel[j] / 10.0));  // qvel / 10
        speed += std::fabs(d->qvel[j]);
    }
    CHECK(speed > 0.1);
    for (int k = 0; k < 3; ++k)
        CHECK(o[14 + k] == static_cast<float>(d->site_xpos[3 * finger + k]));
    // Each env step advances the simulation by 2 substeps of 0.01 s.
    const double t0 = d->time;
    std::vector<float> next;
    bool done = false;
    env.step(std::vector<float>(7, 0.5f), next, done);
    CHECK(env.data()->time - t0 == rel(0.02, 1e-9));
}

TEST_CASE("reacher: the fingertip is one physics substep behind qpos") {
    // frame_skip 2 and no mj_forward after stepping (1.4): the observed fingertip is the forward
    // kinematics of the state after the first of the two substeps, not of the observed qpos.
    Reacher env;
    std::vector<float> obs, act(7, 1.0f);
    Rng rng(1, Stream::reset);
    env.reset(rng, obs);
    bool done = false;
    for (int k = 0; k < 5; ++k) env.step(act, obs, done);  // get the arm moving
    // Replay the first substep of the next env step by hand in a copy of the simulation.
    const mjModel* m = env.model();
    mjData* d = mj_makeData(m);
    mj_copyData(d, m, env.data());
    for (int j = 0; j < 7; ++j) d->ctrl[j] = act[j];
    mj_step(m, d);
    mj_kinematics(m, d);
    env.step(act, obs, done);
    const int finger = mj_name2id(m, mjOBJ_SITE, "finger");
    for (int k = 0; k < 3; ++k)  // the same computation, so bit for bit
        CHECK(obs[14 + k] == static_cast<float>(d->site_xpos[3 * finger + k]));
    // The fingertip of the observed qpos is elsewhere: the arm moves fast under full torque.
    mju_copy(d->qpos, env.data()->qpos, m->nq);
    mj_kinematics(m, d);
    double gap = 0;
    for (int k = 0; k < 3; ++k) gap += std::fabs(d->site_xpos[3 * finger + k] - obs[14 + k]);
    CHECK(gap > 1e-3);
    mj_deleteData(d);
}

// =================================================================================================
// Cheetah (section 1.3)
// =================================================================================================

TEST_CASE("cheetah: the loaded model has total mass 14 and the reference's options") {
    Cheetah env;
    const mjModel* m = env.model();
    double mass = 0;
    for (int b = 0; b < m->nbody; ++b) mass += m->body_mass[b];
    CHECK(mass == rel(14.0, 1e-12));
    CHECK(m->opt.timestep == 0.01);
    CHECK(m->opt.gravity[2] == -9.81);
    CHECK(m->opt.integrator == mjINT_EULER);
    CHECK(m->nq == 9);
    CHECK(m->nu == 6);
    CHECK(env.obs_dim() == 21);
    CHECK(env.act_dim() == 6);
    CHECK(env.ep_len() == 500);
    const double gears[6] = {120, 90, 60, 120, 60, 30};
    for (int j = 0; j < 6; ++j) {
        CHECK(env.act_low(j) == -1.0f);
        CHECK(env.act_high(j) == 1.0f);
        CHECK(m->actuator_gear[6 * j] == gears[j]);
    }
}

TEST_CASE("cheetah: reset noise is U(-0.1, 0.1) on qpos and 0.1 N(0, 1) on qvel") {
    Cheetah env;
    std::vector<float> obs;
    const int resets = 2000;
    double qpos_sum = 0, qpos_sq = 0, qvel_sum = 0, qvel_sq = 0, qpos_max = 0;
    for (int e = 0; e < resets; ++e) {
        Rng rng(11, Stream::reset, e);
        env.reset(rng, obs);
        REQUIRE(obs.size() == 21);
        for (int j = 0; j < 9; ++j) {
            REQUIRE(std::fabs(obs[j]) <= 0.1f);
            qpos_max = std::max(qpos_max, std::fabs(double(obs[j])));
            qpos_sum += obs[j];
            qpos_sq += double(obs[j]) * obs[j];
            qvel_sum += obs[9 + j];
            qvel_sq += double(obs[9 + j]) * obs[9 + j];
        }
        // Right after reset (mj_forward) the torso position matches qpos exactly.
        REQUIRE(obs[18] == obs[0]);
        REQUIRE(obs[19] == 0.0f);
    }
    const double n = 9.0 * resets;
    // Uniform(-0.1, 0.1): mean 0, std 0.2/sqrt(12) = 0.0577. Over 18000 draws the standard error
    // is 0.0004 on the mean and 0.0002 on the std: the tolerances are about 7 and 8 sigma, and
    // a range of +-0.11 (std 0.0635) would fail.
    CHECK(std::fabs(qpos_sum / n) < 0.003);
    CHECK(std::sqrt(qpos_sq / n) == rel(0.2 / std::sqrt(12.0), 0.03));
    CHECK(qpos_max > 0.099);
    // 0.1 N(0, 1): standard errors 0.0007 on the mean and 0.0005 on the std; a scale of 0.11
    // would fail.
    CHECK(std::fabs(qvel_sum / n) < 0.005);
    CHECK(std::sqrt(qvel_sq / n) == rel(0.1, 0.03));
}

TEST_CASE("cheetah: reward is the forward velocity minus 10 per front-leg condition") {
    std::vector<float> o(21, 0.0f);
    const std::vector<float> act(6, 0.0f);
    float r = 0, d = 1;
    auto reward_of = [&](const std::vector<float>& obs) {
        Cheetah::reward(obs.data(), act.data(), 1, &r, &d);
        return r;
    };
    o[9] = 1.5f;
    CHECK(reward_of(o) == 1.5f);
    CHECK(d == 0.0f);
    o[2] = 3.0f;  // body angle: read by the reference but unused
    CHECK(reward_of(o) == 1.5f);
    // Front thigh > 0.2 (the threshold is strict).
    o[6] = 0.2f;
    CHECK(reward_of(o) == 1.5f);
    o[6] = 0.21f;
    CHECK(reward_of(o) == 1.5f - 10.0f);
    o[6] = 0.0f;
    // Front shin > 0.
    o[7] = 0.0f;
    CHECK(reward_of(o) == 1.5f);
    o[7] = 1e-4f;
    CHECK(reward_of(o) == 1.5f - 10.0f);
    o[7] = -1e-4f;
    CHECK(reward_of(o) == 1.5f);
    // Front foot > 0.
    o[8] = 1e-4f;
    CHECK(reward_of(o) == 1.5f - 10.0f);
    o[8] = 0.0f;
    // All three at once, with a backward velocity; the back leg (3-5) does not matter.
    o[6] = 0.5f;
    o[7] = 0.5f;
    o[8] = 0.5f;
    o[3] = o[4] = o[5] = 1.0f;
    o[9] = -2.0f;
    CHECK(reward_of(o) == -32.0f);
    CHECK(d == 0.0f);
}

TEST_CASE("cheetah: observation layout and frame_skip 1") {
    Cheetah env;
    const Rollout r = random_rollout(env, 6, 50);
    const mjModel* m = env.model();
    const mjData* d = env.data();
    const int torso = mj_name2id(m, mjOBJ_BODY, "torso");
    const float* o = &r.obs_after[21 * (r.steps - 1)];
    for (int j = 0; j < 9; ++j) {
        CHECK(o[j] == static_cast<float>(d->qpos[j]));
        CHECK(o[9 + j] == static_cast<float>(d->qvel[j]));
    }
    for (int k = 0; k < 3; ++k) CHECK(o[18 + k] == static_cast<float>(d->xpos[3 * torso + k]));
    // Each env step is one substep of 0.01 s; reset (mj_resetData) sets the clock back to 0.
    const double t0 = d->time;
    std::vector<float> next;
    bool done = false;
    env.step(std::vector<float>(6, 0.5f), next, done);
    CHECK(env.data()->time - t0 == rel(0.01, 1e-9));
    Rng rng(1, Stream::reset);
    env.reset(rng, next);
    CHECK(env.data()->time == 0.0);
}

TEST_CASE("cheetah: the torso position in the observation lags qpos by exactly one step") {
    // With frame_skip 1, obs[18:21] after step k is the torso frame for the qpos *before* step k
    // (section 1.4). The torso origin is at (rootx, 0, 0.7 + rootz), and for slide joints MuJoCo
    // computes it as 0 + 1 * rootx exactly, so obs[18] must equal the previous obs[0] bit for bit;
    // obs[20] = float(0.7 + rootz) may differ from 0.7f + float(rootz) by an ulp or two.
    Cheetah env;
    const Rollout r = random_rollout(env, 5, 1500);  // 3 episodes: resets included
    int moving = 0;
    for (int s = 0; s < r.steps; ++s) {
        const float* before = &r.obs_before[21 * s];
        const float* after = &r.obs_after[21 * s];
        REQUIRE(after[18] == before[0]);
        REQUIRE(after[19] == 0.0f);
        REQUIRE(std::fabs(after[20] - (0.7 + before[1])) < 2e-7);
        moving += after[18] != after[0];
    }
    CHECK(moving > r.steps * 9 / 10);  // and the lag is real: the current rootx differs
}

// =================================================================================================
// All three environments
// =================================================================================================

// The reference's get_reward (sections 1.1-1.3), typed in again in double: the oracle for the
// env's batched reward and for the reward of a real step (which is that of the post-step obs).
double ref_reward(const Obstacles&, const float* o, double* done) {
    const double dist = std::hypot(double(o[0]) - o[2], double(o[1]) - o[3]);
    *done = (dist < 0.1 || o[0] < -0.99 || o[0] > 0.99 || o[1] < -0.99 || o[1] > 0.99) ? 1 : 0;
    return -dist;
}
double ref_reward(const Reacher&, const float* o, double* done) {
    *done = 0;
    return -10 * std::sqrt(std::pow(double(o[14]) - o[17], 2) + std::pow(double(o[15]) - o[18], 2) +
                           std::pow(double(o[16]) - o[19], 2));
}
double ref_reward(const Cheetah&, const float* o, double* done) {
    *done = 0;
    return o[9] - 10.0 * (o[6] > 0.2) - 10.0 * (o[7] > 0) - 10.0 * (o[8] > 0);
}

// Hand-made observations at the edges of each formula (whatever the env's dynamics can reach).
std::vector<std::vector<float>> edge_states(const Obstacles&) {
    return {{0.7f, -0.8f, 0.7f, -0.8f},    // at the goal: 0, done
            {0.7f, -0.71f, 0.7f, -0.8f},   // 0.09 away: done
            {0.7f, -0.69f, 0.7f, -0.8f},   // 0.11 away: not done
            {0.995f, 0.0f, 0.7f, -0.8f},   // outside the square: done
            {-0.5f, -1.2f, 0.7f, -0.8f},   // far outside: done
            {-0.98f, 0.98f, 0.7f, -0.8f},  // inside, far from the goal
            {0.1f, 0.2f, -0.3f, 0.4f}};    // another goal in the obs: the reward reads it
}
std::vector<std::vector<float>> edge_states(const Reacher&) {
    std::vector<std::vector<float>> v(4, std::vector<float>(20, 0.0f));
    for (int k = 0; k < 3; ++k) v[0][17 + k] = 0.1f;                 // target (0.1, 0.1, 0.1), finger at 0
    v[1][14] = 0.821f, v[1][15] = -0.6f;                              // the initial fingertip
    for (int k = 0; k < 3; ++k) v[1][17 + k] = 0.1f;
    for (int k = 0; k < 3; ++k) v[2][14 + k] = v[2][17 + k] = 0.1f;  // on the target: 0
    for (int j = 0; j < 14; ++j) v[3][j] = 0.5f * (j + 1);          // joints are ignored
    v[3][16] = -0.3f;
    return v;
}
std::vector<std::vector<float>> edge_states(const Cheetah&) {
    std::vector<std::vector<float>> v(6, std::vector<float>(21, 0.0f));
    v[0][9] = 3.5f;                                      // forward velocity alone
    v[1][9] = -1.25f, v[1][6] = 0.21f;                   // front thigh above 0.2: -10
    v[2][9] = 2.0f, v[2][6] = 0.19f, v[2][7] = 1e-6f;    // thigh below 0.2; shin above 0: -10
    v[3][9] = 0.5f, v[3][7] = 0.0f, v[3][8] = 0.3f;      // shin exactly 0: no penalty; foot: -10
    v[4][9] = 7.0f, v[4][6] = 1.0f, v[4][7] = 0.4f, v[4][8] = 0.1f;  // all three: -30
    v[5][9] = 1.0f, v[5][2] = 1.0f, v[5][6] = -0.5f, v[5][7] = -0.1f, v[5][8] = -0.2f;  // body angle unused
    return v;
}

TEST_CASE_TEMPLATE("env: batched and step rewards equal the reference's formula, at reached and hand-made states", Env,
                   Obstacles, Reacher, Cheetah) {
    Env env;
    const int D = env.obs_dim();
    // Hand-made states, batched (with and without done) and one at a time.
    const auto edges = edge_states(env);
    std::vector<float> obs;
    for (const auto& e : edges) obs.insert(obs.end(), e.begin(), e.end());
    const int n = static_cast<int>(edges.size());
    std::vector<float> rew(n), done(n), rew2(n), act(static_cast<std::size_t>(n) * env.act_dim(), 0.3f);
    Env::reward(obs.data(), act.data(), n, rew.data(), done.data());
    Env::reward(obs.data(), act.data(), n, rew2.data(), nullptr);
    for (int i = 0; i < n; ++i) {
        double d = 0;
        const double r = ref_reward(env, &obs[static_cast<std::size_t>(i) * D], &d);
        CAPTURE(i);
        CHECK(rew[i] == doctest::Approx(r).epsilon(1e-6));
        CHECK(rew2[i] == rew[i]);
        CHECK(done[i] == d);
    }
    // States reached by random rollouts: the step's reward and done are the formula's on the
    // post-step observation (no action term), and the batched reward agrees.
    const Rollout ro = random_rollout(env, 21, 3000);
    std::vector<float> br(ro.steps), bd(ro.steps);
    Env::reward(ro.obs_after.data(), ro.act.data(), ro.steps, br.data(), bd.data());
    int reward_mismatch = 0, done_mismatch = 0, batch_mismatch = 0, penalties = 0;
    for (int s = 0; s < ro.steps; ++s) {
        double d = 0;
        const double r = ref_reward(env, &ro.obs_after[static_cast<std::size_t>(s) * D], &d);
        reward_mismatch += std::fabs(ro.rew[s] - r) > 1e-5 * (1 + std::fabs(r));
        done_mismatch += ro.done[s] != d;
        batch_mismatch += br[s] != ro.rew[s] || bd[s] != ro.done[s];
        penalties += r < -5;
    }
    CHECK(reward_mismatch == 0);
    CHECK(done_mismatch == 0);
    CHECK(batch_mismatch == 0);  // envs/common.hpp: the step reward is the batched one, bit for bit
    if (std::is_same_v<Env, Cheetah>) CHECK(penalties > 0);  // the rollouts reach the penalty branches
}

TEST_CASE_TEMPLATE("env: the same seed gives the same trajectory", Env, Obstacles, Reacher,
                   Cheetah) {
    Env a, b, c;
    const Rollout ra = random_rollout(a, 42, 700);
    const Rollout rb = random_rollout(b, 42, 700);
    const Rollout rc = random_rollout(c, 43, 700);
    CHECK(ra.obs_after == rb.obs_after);
    CHECK(ra.rew == rb.rew);
    CHECK(ra.done == rb.done);
    CHECK(ra.obs_after != rc.obs_after);
}

// Recorded trajectories of the MuJoCo envs: a reset from Rng(7, Stream::test, 0), then 300 steps
// of a_j(t) = sin(0.05 t (j + 1)); the first 4 observation entries after steps 100 and 300 and the
// return, as the MJCF files gave them before their visual elements (textures, colours, cameras:
// envs/*.xml) were added, and as they give them with those. A change of mass, inertia, contact or
// integration moves them far beyond the tolerance.
template <class Env>
void check_recorded_trajectory(const double (&at100)[4], const double (&at300)[4], double ret) {
    Env env;
    Rng rng(7, Stream::test, 0);
    std::vector<float> obs, act(env.act_dim());
    env.reset(rng, obs);
    double total = 0;
    bool done = false;
    for (int t = 0; t < 300; ++t) {
        for (int j = 0; j < env.act_dim(); ++j) act[j] = static_cast<float>(std::sin(0.05 * t * (j + 1)));
        total += env.step(act, obs, done);
        if (t == 99 || t == 299)
            for (int k = 0; k < 4; ++k) CHECK(obs[k] == doctest::Approx(t == 99 ? at100[k] : at300[k]).epsilon(1e-5));
    }
    CHECK(total == doctest::Approx(ret).epsilon(1e-6));
}
TEST_CASE("mjcf: cheetah and reacher give their recorded trajectories (the visual elements change no physics)") {
    check_recorded_trajectory<Cheetah>({-0.689133227, -0.0308045894, -0.0959634408, -0.46652168},
                                       {-2.77177835, -0.0344978981, 0.236504868, 0.043562606}, -5180.71819);
    check_recorded_trajectory<Reacher>({0.206376389, 0.336386353, -0.343640238, -2.21862936},
                                       {-0.745772004, 0.709202707, 1.28633082, -0.862003565}, -2861.70177);
}

TEST_CASE_TEMPLATE("env: instances on different threads give the single-thread trajectories", Env,
                   Obstacles, Reacher, Cheetah) {
    const int threads = 4;
    std::vector<Rollout> serial(threads), parallel(threads);
    for (int i = 0; i < threads; ++i) {
        Env env;
        serial[i] = random_rollout(env, 100 + i, 600);
    }
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
        pool.emplace_back([i, &parallel] {
            Env env;
            parallel[i] = random_rollout(env, 100 + i, 600);
        });
    for (auto& t : pool) t.join();
    for (int i = 0; i < threads; ++i) CHECK(parallel[i].obs_after == serial[i].obs_after);
}

TEST_CASE_TEMPLATE("env: a long random rollout stays finite", Env, Obstacles, Reacher, Cheetah) {
    Env env;
    const Rollout r = random_rollout(env, 9, 20000);
    CHECK(r.steps == 20000);
    CHECK(all_finite(r.obs_after));
    CHECK(all_finite(r.rew));
}

TEST_CASE_TEMPLATE("env: interface shapes, names, episode lengths and action bounds of the reference", Env, Obstacles, Reacher, Cheetah) {
    // The reference's numbers (sections 1.1-1.3 and the trainer's ep_len override of 2.1).
    struct Ref {
        const char* name;
        int obs, act, ep_len;
        float low, high;
    };
    const Ref ref = std::is_same_v<Env, Obstacles> ? Ref{"obstacles-cs285-v0", 4, 2, 100, -0.99f, 0.99f}
                    : std::is_same_v<Env, Reacher> ? Ref{"reacher-cs285-v0", 20, 7, 200, -1.0f, 1.0f}
                                                   : Ref{"cheetah-cs285-v0", 21, 6, 500, -1.0f, 1.0f};
    Env env;
    CHECK(std::string(Env::kName) == ref.name);
    CHECK(env.obs_dim() == ref.obs);
    CHECK(env.act_dim() == ref.act);
    CHECK(env.ep_len() == ref.ep_len);
    for (int j = 0; j < env.act_dim(); ++j) {
        CHECK(env.act_low(j) == ref.low);
        CHECK(env.act_high(j) == ref.high);
    }
    std::vector<float> obs(3, 5.0f);  // wrong size on purpose: reset and step resize it
    Rng rng(1, Stream::reset);
    env.reset(rng, obs);
    CHECK(static_cast<int>(obs.size()) == env.obs_dim());
    std::vector<float> next(100, 0.0f);
    bool done = false;
    env.step(std::vector<float>(env.act_dim(), 0.0f), next, done);
    CHECK(static_cast<int>(next.size()) == env.obs_dim());
    // Movable, not copyable; a moved-to env carries on.
    static_assert(std::is_nothrow_move_constructible_v<Env>);
    if constexpr (!std::is_same_v<Env, Obstacles>)
        static_assert(!std::is_copy_constructible_v<Env>);
    Env moved = std::move(env);
    CHECK_NOTHROW(moved.step(std::vector<float>(moved.act_dim(), 0.0f), next, done));
}

TEST_CASE_TEMPLATE("env: bad actions throw clear errors", Env, Obstacles, Reacher, Cheetah) {
    Env env;
    std::vector<float> obs;
    bool done = false;
    const std::string name = Env::kName;
    const std::string n = std::to_string(Env::kActDim);
    // Before reset.
    CHECK_THROWS_WITH_AS(env.step(std::vector<float>(Env::kActDim, 0.0f), obs, done),
                         (name + ": step() called before reset()").c_str(), std::invalid_argument);
    Rng rng(1, Stream::reset);
    env.reset(rng, obs);
    // Wrong size, both ways.
    CHECK_THROWS_WITH_AS(env.step(std::vector<float>(Env::kActDim + 1, 0.0f), obs, done),
                         (name + ": step() expects an action of size " + n + ", got " +
                          std::to_string(Env::kActDim + 1)).c_str(),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(env.step(std::vector<float>(), obs, done),
                         (name + ": step() expects an action of size " + n + ", got 0").c_str(),
                         std::invalid_argument);
    // NaN and inf, with the index.
    std::vector<float> act(Env::kActDim, 0.0f);
    act[1] = std::nanf("");
    CHECK_THROWS_WITH_AS(env.step(act, obs, done),
                         doctest::Contains((name + ": action[1] is not finite").c_str()),
                         std::invalid_argument);
    act[1] = 0.0f;
    act[Env::kActDim - 1] = -INFINITY;
    const std::string last = "action[" + std::to_string(Env::kActDim - 1) + "] is not finite";
    CHECK_THROWS_WITH_AS(env.step(act, obs, done), doctest::Contains(last.c_str()),
                         std::invalid_argument);
    // A rejected action leaves the env usable.
    act[Env::kActDim - 1] = 0.0f;
    CHECK_NOTHROW(env.step(act, obs, done));
    CHECK(all_finite(obs));
}

TEST_CASE("env: with_env constructs each env by name; unknown names list the valid ones") {
    const std::vector<std::string> names = env_names();
    REQUIRE(names.size() == 3);
    CHECK(names[0] == "obstacles-cs285-v0");
    CHECK(names[1] == "reacher-cs285-v0");
    CHECK(names[2] == "cheetah-cs285-v0");
    const int dims[3][3] = {{4, 2, 100}, {20, 7, 200}, {21, 6, 500}};
    for (int i = 0; i < 3; ++i) {
        const std::string got =
            with_env(names[i], [](auto& env) { return std::string(env.kName); });
        CHECK(got == names[i]);
        const int obs_dim = with_env(names[i], [](auto& env) { return env.obs_dim(); });
        const int act_dim = with_env(names[i], [](auto& env) { return env.act_dim(); });
        const int ep_len = with_env(names[i], [](auto& env) { return env.ep_len(); });
        CHECK(obs_dim == dims[i][0]);
        CHECK(act_dim == dims[i][1]);
        CHECK(ep_len == dims[i][2]);
    }
    CHECK_THROWS_WITH_AS(with_env("ant-cs285-v0", [](auto& env) { return env.obs_dim(); }),
                         "mbrl: unknown environment 'ant-cs285-v0'; valid names: "
                         "obstacles-cs285-v0, reacher-cs285-v0, cheetah-cs285-v0",
                         std::invalid_argument);
}

// =================================================================================================
// Finding and loading the MJCF
// =================================================================================================

TEST_CASE("mjcf: a file that fails to load names the file and MuJoCo's error") {
    const std::string path = "/tmp/mbrl_test_envs_broken_" + std::to_string(::getpid()) + ".xml";  // runs may overlap
    {
        std::ofstream f(path);
        f << "<mujoco><worldbody><body><geom type=\"sphere\" size=\"0.1\"/></body>"
             "<frobnicate/></worldbody></mujoco>\n";
    }
    try {
        envs::load_mjcf(path);
        FAIL("load_mjcf accepted a broken file");
    } catch (const std::runtime_error& e) {
        const std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find("cannot load MJCF " + path) != std::string::npos);
        CHECK(msg.find("frobnicate") != std::string::npos);  // MuJoCo's own text
    }
    std::remove(path.c_str());
    CHECK_THROWS_WITH_AS(envs::load_mjcf("/nonexistent/dir/x.xml"),
                         doctest::Contains("cannot load MJCF /nonexistent/dir/x.xml: "),
                         std::runtime_error);
}

TEST_CASE("mjcf: the files are found without the current directory; MBRL_ENVS_DIR overrides") {
    // Start from an unset MBRL_ENVS_DIR (restored at the end).
    const char* old = std::getenv("MBRL_ENVS_DIR");
    const bool had = old != nullptr;
    const std::string saved = had ? old : "";
    unsetenv("MBRL_ENVS_DIR");
    const std::string reacher = envs::find_mjcf("reacher.xml");
    CHECK(envs::file_exists(reacher));
    CHECK(reacher.find("/envs/reacher.xml") != std::string::npos);
    CHECK_THROWS_WITH_AS(envs::find_mjcf("no_such_model.xml"),
                         doctest::Contains("no_such_model.xml not found; tried:"),
                         std::runtime_error);
    setenv("MBRL_ENVS_DIR", "/nonexistent/envs", 1);
    CHECK_THROWS_WITH_AS(envs::find_mjcf("cheetah.xml"),
                         doctest::Contains("/nonexistent/envs/cheetah.xml not found (the "
                                           "environment variable MBRL_ENVS_DIR"),
                         std::runtime_error);
    const std::string dir = reacher.substr(0, reacher.rfind('/'));
    setenv("MBRL_ENVS_DIR", dir.c_str(), 1);
    CHECK(envs::find_mjcf("cheetah.xml") == dir + "/cheetah.xml");
    if (had)
        setenv("MBRL_ENVS_DIR", saved.c_str(), 1);
    else
        unsetenv("MBRL_ENVS_DIR");
}
