// A consumer of mbrl::mbrl: one MPC action on the obstacles env from a tiny untrained ensemble, and
// the kernel it ran (built with the consumer's flags, no -march: a tuned one on a CPU that has one).
// Built by tests/cmake/run.sh through find_package, add_subdirectory and pkg-config.
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "envs/obstacles.hpp"  // plain C++, no MuJoCo; includes mbrl.hpp

int main() {
    using namespace mbrl;
    Obstacles env;
    Rng act_rng(1, Stream::policy);
    auto random_policy = [&](View<const float>, View<float> a) {
        for (int j = 0; j < env.act_dim(); ++j) a[j] = float(act_rng.uniform(env.act_low(j), env.act_high(j)));
    };
    Rollouts<float> data;
    uint64_t episodes = 0;
    sample_trajectories(env, random_policy, /*min_steps=*/200, env.ep_len(), /*seed=*/1, &episodes, data);

    auto model = std::make_shared<Ensemble<float>>(env.obs_dim(), env.act_dim(), /*members=*/2, /*n_layers=*/1,
                                                   /*size=*/16, /*learning_rate=*/1e-3f, /*seed=*/1);
    model->fit_stats(data.obs.view(), data.act.view(), data.next_obs.view());
    MPCConfig cfg;
    cfg.horizon = 5;
    cfg.num_sequences = 50;
    MPC<float> mpc(model, &Obstacles::reward, {-0.99f, -0.99f}, {0.99f, 0.99f}, cfg, /*seed=*/1);

    std::vector<float> obs, act(2);
    Rng reset_rng(1, Stream::reset);
    env.reset(reset_rng, obs);
    mpc.act(obs, act);
    std::printf("action %.4f %.4f\nkernel %s\n", act[0], act[1], kernel_name());
    for (float a : act)
        if (!std::isfinite(a) || a < -0.99f || a > 0.99f) {
            std::printf("FAIL: action not finite or out of bounds\n");
            return 1;
        }
    return 0;
}
