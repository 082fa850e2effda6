// tests/test_pendulum.cpp: the environment of examples/pendulum.hpp, brought to the library from
// its equations: the interface check, the dynamics against the equations, the batched reward
// against step(), and run_mb's planner against uniform random actions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../examples/pendulum.hpp"

using namespace mbrl;

static_assert(is_environment_v<Pendulum>, "Pendulum implements the environment concept");

namespace {

// The step of Gym's Pendulum-v1, typed in again from its equations (not the env's code).
void gym_step(double& th, double& th_dot, double u) {
    u = std::min(2.0, std::max(-2.0, u));
    th_dot = th_dot + (3.0 * 10.0 / 2.0 * std::sin(th) + 3.0 * u) * 0.05;
    th_dot = std::min(8.0, std::max(-8.0, th_dot));
    th = th + th_dot * 0.05;
}

// angle_normalize of Gym: into [-pi, pi).
double angle_normalize(double x) {
    const double pi = 3.14159265358979323846;
    return std::fmod(std::fmod(x + pi, 2 * pi) + 2 * pi, 2 * pi) - pi;
}

}  // namespace

TEST_CASE("pendulum: spaces, episode length and start distribution") {
    Pendulum env;
    CHECK(env.obs_dim() == 3);
    CHECK(env.act_dim() == 1);
    CHECK(env.ep_len() == 200);
    CHECK(env.act_low(0) == -2.0f);
    CHECK(env.act_high(0) == 2.0f);
    double th_min = 10, th_max = -10, v_min = 10, v_max = -10;
    std::vector<float> obs;
    for (int k = 0; k < 2000; ++k) {
        Rng rng(1, Stream::reset, k);
        env.reset(rng, obs);
        REQUIRE(obs.size() == 3);
        th_min = std::min(th_min, env.theta());
        th_max = std::max(th_max, env.theta());
        v_min = std::min(v_min, env.theta_dot());
        v_max = std::max(v_max, env.theta_dot());
        CHECK(obs[0] == static_cast<float>(std::cos(env.theta())));
        CHECK(obs[1] == static_cast<float>(std::sin(env.theta())));
        CHECK(obs[2] == static_cast<float>(env.theta_dot()));
    }
    // U(-pi, pi) and U(-1, 1): 2000 draws come within 1% of every end, and never beyond.
    CHECK(th_min >= -Pendulum::kPi);
    CHECK(th_min < -0.99 * Pendulum::kPi);
    CHECK(th_max < Pendulum::kPi);
    CHECK(th_max > 0.99 * Pendulum::kPi);
    CHECK(v_min >= -1.0);
    CHECK(v_min < -0.99);
    CHECK(v_max < 1.0);
    CHECK(v_max > 0.99);
}

TEST_CASE("pendulum: a step is Gym's, torque clipped to [-2, 2] and speed to [-8, 8]; never done") {
    Pendulum env;
    std::vector<float> obs;
    bool done = true;
    // (th, th_dot, action): at rest upright, falling, torques beyond the bounds, speeds at the clip.
    const double cases[][3] = {{0.0, 0.0, 0.0},  {0.3, -0.5, 1.0}, {2.5, 7.9, 2.0},  {-3.0, -7.5, -5.0},
                               {1.0, 0.0, 3.7},  {-1.2, 8.0, -2.0}, {3.1, -1.0, 0.25}, {10.0, 2.0, -1.5}};
    for (const auto& c : cases) {
        CAPTURE(c[0]);
        CAPTURE(c[1]);
        CAPTURE(c[2]);
        env.set_state(c[0], c[1]);
        double th = c[0], th_dot = c[1];
        gym_step(th, th_dot, static_cast<float>(c[2]));
        env.step({static_cast<float>(c[2])}, obs, done);
        CHECK_FALSE(done);
        CHECK(env.theta() == doctest::Approx(th).epsilon(1e-12));
        CHECK(env.theta_dot() == doctest::Approx(th_dot).epsilon(1e-12));
        CHECK(std::fabs(env.theta_dot()) <= 8.0);
        CHECK(obs[0] == static_cast<float>(std::cos(env.theta())));
        CHECK(obs[1] == static_cast<float>(std::sin(env.theta())));
        CHECK(obs[2] == static_cast<float>(env.theta_dot()));
    }
    // A 200-step episode is never done (only the time limit ends it).
    Rng rng(3, Stream::reset);
    env.reset(rng, obs);
    Rng policy(3, Stream::policy);
    for (int t = 0; t < 200; ++t) {
        env.step({static_cast<float>(policy.uniform(-2, 2))}, obs, done);
        REQUIRE_FALSE(done);
    }
    CHECK_THROWS_WITH(env.step({0.0f, 0.0f}, obs, done), doctest::Contains("expects an action of size 1"));
    CHECK_THROWS_WITH(env.step({NAN}, obs, done), doctest::Contains("not finite"));
    Pendulum fresh;
    CHECK_THROWS_WITH(fresh.step({0.0f}, obs, done), doctest::Contains("before reset"));
}

TEST_CASE("pendulum: the batched reward equals step()'s reward on the same transitions, and Gym's cost of the post-step state") {
    // Random transitions, with actions beyond the bounds too (the reward clips them as step() does).
    Pendulum env;
    std::vector<float> obs, next, act(1), all_obs, all_act, rew;
    std::vector<double> th, th_dot;
    Rng policy(7, Stream::policy);
    int episode = 0;
    for (int t = 0; t < 1000; ++t) {
        if (t % 200 == 0) {
            Rng rng(7, Stream::reset, episode++);
            env.reset(rng, obs);
        }
        act[0] = static_cast<float>(policy.uniform(-3, 3));
        bool done = true;
        rew.push_back(env.step(act, next, done));
        CHECK_FALSE(done);
        all_obs.insert(all_obs.end(), next.begin(), next.end());  // the post-step observation
        all_act.push_back(act[0]);
        th.push_back(env.theta());
        th_dot.push_back(env.theta_dot());
    }
    const int n = static_cast<int>(rew.size());
    std::vector<float> batch(n), done(n, -1.0f);
    Pendulum::reward(all_obs.data(), all_act.data(), n, batch.data(), done.data());
    int differ = 0;
    for (int i = 0; i < n; ++i) {
        differ += batch[i] != rew[i];  // bit for bit: step() calls the batched reward on one row
        CHECK(done[i] == 0.0f);
        // Gym's cost, in double from the exact state the step reached, with the clipped torque.
        const double u = std::min(2.0, std::max(-2.0, static_cast<double>(all_act[i])));
        const double a = angle_normalize(th[i]);
        const double cost = a * a + 0.1 * th_dot[i] * th_dot[i] + 0.001 * u * u;
        CHECK(-batch[i] == doctest::Approx(cost).epsilon(1e-5));
    }
    CHECK(differ == 0);
    // done may be left out (the planner passes nullptr); the rewards stay the same.
    std::vector<float> again(n);
    Pendulum::reward(all_obs.data(), all_act.data(), n, again.data(), nullptr);
    CHECK(again == batch);
    // A model's predicted (cos, sin) off the unit circle gives the same angle.
    for (int i = 0; i < 20; ++i) {
        float o[3] = {0.5f * all_obs[3 * i], 0.5f * all_obs[3 * i + 1], all_obs[3 * i + 2]}, r = 0;
        Pendulum::reward(o, &all_act[i], 1, &r, nullptr);
        CHECK(r == doctest::Approx(batch[i]).epsilon(1e-6));
    }
}

TEST_CASE("pendulum: run_mb's planner on the learned model beats uniform random actions by far") {
    // Per seed, one iteration of pendulum_config (n_iter 1): iteration 0 collects 10 episodes of
    // uniform random actions (its Train return is the random baseline), trains the ensemble on
    // them, and evaluates random-shooting MPC on it over 2 episodes (its Eval return).
    // Measured over seeds 1-24 (-O3 -march=native): random -1253.6 and -1243.7 on average (seeds
    // 1-12, 13-24), each seed's mean of 10 episodes between -1479 and -1118; MPC -222.2 and -212.9
    // (each seed's mean of 2 episodes between -680 and -61, the worst episode -856). Each seed's
    // improvement lies in [755, 1290], mean 1031, std 136; an -O1 build without -march=native
    // (so without FMA) and the make sanitize build gave the same returns to 0.1, from other
    // floating-point streams. Seeds 1-4 are used here (improvement 1061),
    // and the bound is 500 on the mean improvement: below the least of any single seed, 3.9
    // standard deviations of one seed below the mean, 7.8 of a 4-seed mean.
    const int seeds = 4;
    double random_sum = 0, mpc_sum = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
        MBConfig c = pendulum_config(static_cast<uint64_t>(seed));
        c.n_iter = 1;
        IterationReport last;
        RunSink sink;
        sink.iteration = [&](const IterationReport& r) { last = r; };
        Pendulum env;
        run_mb(env, c, sink);
        REQUIRE(last.train.ep_len == 200);
        REQUIRE(last.eval.ep_len == 200);
        random_sum += last.train.mean;
        mpc_sum += last.eval.mean;
    }
    const double random_mean = random_sum / seeds, mpc_mean = mpc_sum / seeds;
    MESSAGE("pendulum over ", seeds, " seeds: random ", random_mean, ", MPC ", mpc_mean, ", improvement ",
            mpc_mean - random_mean, " (bound 500)");
    CHECK(random_mean < -900);            // random actions do not swing it up
    CHECK(mpc_mean - random_mean > 500);  // the planner does, or at least holds it far higher
}
