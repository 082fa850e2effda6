// examples/minimal.cpp: the library in one page. Random data from an environment, an ensemble of
// dynamics models trained on it, then CEM planning on the learned model for one episode.
// make build/minimal && build/minimal (make test builds and runs it, with and without OpenMP).
#include <cstdio>

#include "../envs/obstacles.hpp"  // a 2-D point among obstacles, plain C++ (includes mbrl.hpp)

int main() {
    using namespace mbrl;
    // 1. Random transitions from an environment.
    Obstacles env;
    Rng act_rng(1, Stream::policy);
    auto random_policy = [&](View<const float> /*obs [1, 2]*/, View<float> a /*[1, 2]*/) {
        for (int j = 0; j < env.act_dim(); ++j) a[j] = float(act_rng.uniform(env.act_low(j), env.act_high(j)));
    };
    Rollouts<float> data;
    uint64_t episodes = 0;
    sample_trajectories(env, random_policy, /*min_steps=*/2000, env.ep_len(), /*seed=*/1, &episodes, data);

    // 2. An ensemble of 3 dynamics models (2 hidden layers of 64 tanh units), trained with Adam
    //    on the normalized state change (Eq. 5). Shared: the planner below holds it too.
    auto model = std::make_shared<Ensemble<float>>(env.obs_dim(), env.act_dim(), /*members=*/3, /*n_layers=*/2,
                                                   /*size=*/64, /*learning_rate=*/1e-3f, /*seed=*/1);
    model->fit_stats(data.obs.view(), data.act.view(), data.next_obs.view());
    Rng batches(1, Stream::sample);
    float loss = 0;
    for (int step = 0; step < 300; ++step)
        loss = model->train_step(data.obs.view(), data.act.view(), data.next_obs.view(), 256, batches);

    // 3. Plan with CEM on the learned model and the env's batched reward; act; replan.
    MPCConfig cfg;
    cfg.cem = true;
    cfg.num_sequences = 200;
    MPC<float> mpc(model, &Obstacles::reward, {-0.99f, -0.99f}, {0.99f, 0.99f}, cfg, /*seed=*/1);
    std::vector<float> obs, next, act(2);
    Rng reset_rng(1, Stream::reset);
    env.reset(reset_rng, obs);
    double ret = 0;
    bool done = false;
    for (int t = 0; t < env.ep_len() && !done; ++t) {
        mpc.act(obs, act);  // std::vectors at the edge: Views of one row, [1, 4] and [1, 2]
        ret += env.step(act, next, done);
        std::swap(obs, next);
    }
    std::printf("training loss %.3f, return of one MPC episode %.1f (random actions: about -166)\n", loss, ret);
}
