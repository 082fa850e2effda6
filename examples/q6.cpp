// Problem 6: MBPO on cheetah. SAC alone (rollout length 0), Dyna (1-step model rollouts) and MBPO
// (10-step rollouts), 10 iterations of 5000 real steps each. Expect about 1000 or more with 10.
#include "main.hpp"

int main(int argc, char** argv) {
    const std::string common =
        " --env_name cheetah-cs285-v0 --add_sl_noise --num_agent_train_steps_per_iter 1500"
        " --batch_size_initial 5000 --batch_size 5000 --n_iter 10 --video_log_freq -1 --sac_discount 0.99"
        " --sac_n_layers 2 --sac_size 256 --sac_batch_size 1500 --sac_learning_rate 0.0003"
        " --sac_init_temperature 0.1";
    return mbrl_examples::question_main<mbrl::MBPOConfig>(argc, argv, {
        "--exp_name q6_cheetah_rlenl0 --sac_n_iter 1000 --mbpo_rollout_length 0" + common,
        "--exp_name q6_cheetah_rlen1 --sac_n_iter 5000 --mbpo_rollout_length 1" + common,
        "--exp_name q6_cheetah_rlen10 --sac_n_iter 5000 --mbpo_rollout_length 10" + common,
    });
}
