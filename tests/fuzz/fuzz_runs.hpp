// tests/fuzz/fuzz_runs.hpp: the settings of the tiny runs whose checkpoints seed the checkpoint
// corpus (tests/fuzz/corpus/fuzz_checkpoint), shared by the fuzz target and its regression test.
#ifndef MBRL_TESTS_FUZZ_RUNS_HPP
#define MBRL_TESTS_FUZZ_RUNS_HPP

#include "../../envs/obstacles.hpp"

namespace mbrl_fuzz {
using namespace mbrl;

// The settings of the seed checkpoints (docs/fuzzing.md says how they were made).
inline MBConfig tiny(ModelType type = ModelType::deterministic) {
    MBConfig c;
    c.env_name = Obstacles::kName;
    c.n_iter = 2;
    c.ensemble_size = 2;
    c.batch_size_initial = 20;
    c.batch_size = 10;
    c.eval_batch_size = 10;
    c.num_agent_train_steps_per_iter = 2;
    c.train_batch_size = 4;
    c.n_layers = 1;
    c.size = 4;
    c.mpc.num_sequences = 8;
    c.mpc.horizon = 3;
    c.model_type = type;
    return c;
}

// The settings of the seed checkpoint run_mbpo_itr1.bin.
inline MBPOConfig tiny_mbpo() {
    MBPOConfig c;
    c.mb = tiny(ModelType::deterministic);
    c.sac_n_iter = 2;
    c.sac_train_steps = 2;
    c.sac.batch = 8;
    c.sac.n_layers = 1;
    c.sac.size = 4;
    c.rollout_length = 1;
    return c;
}

}  // namespace mbrl_fuzz
#endif  // MBRL_TESTS_FUZZ_RUNS_HPP
