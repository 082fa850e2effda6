// examples/pendulum.cpp: model-based RL (run_mb: Algorithm 1 with random-shooting MPC) on the
// pendulum of examples/pendulum.hpp, an environment this library did not ship with.
//
//   make build/pendulum && build/pendulum [--seed S] [--n_iter N]
//
// One line per iteration. Iteration 0 collects its data with uniform random actions, so its
// train return is the random policy's; every later collection and every evaluation plans on the
// ensemble just trained.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pendulum.hpp"
#include "timer.hpp"

int main(int argc, char** argv) {
    mbrl::MBConfig cfg = mbrl::pendulum_config(1);
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (!std::strcmp(argv[i], "--seed") && has_value) {
            cfg.seed = std::strtoull(argv[++i], nullptr, 10);
        } else if (!std::strcmp(argv[i], "--n_iter") && has_value) {
            cfg.n_iter = std::atoi(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: %s [--seed S] [--n_iter N]\n", argv[0]);
            return 2;
        }
    }
    std::printf("%s: seed %llu, %d iterations, ensemble of %d x %d layers of %d, MPC %d sequences x horizon %d\n",
                mbrl::Pendulum::kName, static_cast<unsigned long long>(cfg.seed), cfg.n_iter, cfg.ensemble_size,
                cfg.n_layers, cfg.size, cfg.mpc.num_sequences, cfg.mpc.horizon);
    mbrl_examples::Timer clock;
    mbrl::RunSink sink;
    sink.iteration = [&](const mbrl::IterationReport& r) {
        std::printf("itr %d/%d | env steps %ld | train return %8.1f (%s) | eval return %8.1f +- %5.1f (MPC) | "
                    "loss %.4f | one-step error %.4f | %.1f s\n",
                    r.itr + 1, r.n_iter, r.envsteps, r.train.mean, r.itr == 0 ? "random" : "MPC   ", r.eval.mean,
                    r.eval.std, r.loss, r.model.one_step, clock.seconds());
        std::fflush(stdout);
    };
    try {
        mbrl::Pendulum env;
        mbrl::run_mb(env, cfg, sink);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pendulum: %s\n", e.what());
        return 1;
    }
}
