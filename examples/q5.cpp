// Problem 5: random shooting against CEM (2 and 4 rounds) on cheetah, 5 iterations.
// Expect about 800 or more with CEM.
#include "main.hpp"

int main(int argc, char** argv) {
    const std::string common =
        " --env_name cheetah-cs285-v0 --mpc_horizon 15 --add_sl_noise --num_agent_train_steps_per_iter 1500"
        " --batch_size_initial 5000 --batch_size 5000 --n_iter 5 --video_log_freq -1";
    return mbrl_examples::mb_main(argc, argv, {
        "--exp_name q5_cheetah_random --mpc_action_sampling_strategy random" + common,
        "--exp_name q5_cheetah_cem_2 --mpc_action_sampling_strategy cem --cem_iterations 2" + common,
        "--exp_name q5_cheetah_cem_4 --mpc_action_sampling_strategy cem --cem_iterations 4" + common,
    });
}
