// Problem 3: iterative model-based RL with on-policy data aggregation on the three envs.
// Expected returns: obstacles -25 to -20, reacher -300 to -250, cheetah 250 to 350.
#include "main.hpp"

int main(int argc, char** argv) {
    return mbrl_examples::mb_main(argc, argv, {
        "--exp_name q3_obstacles --env_name obstacles-cs285-v0 --add_sl_noise --num_agent_train_steps_per_iter 20"
        " --batch_size_initial 5000 --batch_size 1000 --mpc_horizon 10 --n_iter 12 --video_log_freq -1"
        " --mpc_action_sampling_strategy random",
        "--exp_name q3_reacher --env_name reacher-cs285-v0 --add_sl_noise --mpc_horizon 10"
        " --num_agent_train_steps_per_iter 1000 --batch_size_initial 5000 --batch_size 5000 --n_iter 15"
        " --video_log_freq -1 --mpc_action_sampling_strategy random",
        "--exp_name q3_cheetah --env_name cheetah-cs285-v0 --mpc_horizon 15 --add_sl_noise"
        " --num_agent_train_steps_per_iter 1500 --batch_size_initial 5000 --batch_size 5000 --n_iter 20"
        " --video_log_freq -1 --mpc_action_sampling_strategy random",
    });
}
