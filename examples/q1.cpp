// Problem 1: the dynamics model alone. Cheetah, 20000 random steps, one iteration; writes the
// model's open-loop predictions (predictions.csv, with the MPE) and its training losses.
#include "main.hpp"

int main(int argc, char** argv) {
    const std::string common =
        " --env_name cheetah-cs285-v0 --add_sl_noise --n_iter 1 --batch_size_initial 20000"
        " --scalar_log_freq -1 --video_log_freq -1 --mpc_action_sampling_strategy random";
    return mbrl_examples::mb_main(argc, argv, {
        "--exp_name q1_cheetah_n500_arch1x32 --num_agent_train_steps_per_iter 500 --n_layers 1 --size 32" + common,
        "--exp_name q1_cheetah_n5_arch2x250 --num_agent_train_steps_per_iter 5 --n_layers 2 --size 250" + common,
        "--exp_name q1_cheetah_n500_arch2x250 --num_agent_train_steps_per_iter 500 --n_layers 2 --size 250" + common,
    });
}
