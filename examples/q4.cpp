// Problem 4: reacher ablations: planning horizon (5, 15, 30), number of candidate sequences
// (100, 1000) and ensemble size (1, 3, 5), each with the others at H 10, K 1000, 3 members.
#include "main.hpp"

int main(int argc, char** argv) {
    const std::string common =
        " --env_name reacher-cs285-v0 --add_sl_noise --num_agent_train_steps_per_iter 1000 --batch_size 800"
        " --n_iter 15 --video_log_freq -1 --mpc_action_sampling_strategy random";
    return mbrl_examples::mb_main(argc, argv, {
        "--exp_name q4_reacher_horizon5 --mpc_horizon 5" + common,
        "--exp_name q4_reacher_horizon15 --mpc_horizon 15" + common,
        "--exp_name q4_reacher_horizon30 --mpc_horizon 30" + common,
        "--exp_name q4_reacher_numseq100 --mpc_horizon 10 --mpc_num_action_sequences 100" + common,
        "--exp_name q4_reacher_numseq1000 --mpc_horizon 10 --mpc_num_action_sequences 1000" + common,
        "--exp_name q4_reacher_ensemble1 --ensemble_size 1 --mpc_horizon 10" + common,
        "--exp_name q4_reacher_ensemble3 --ensemble_size 3 --mpc_horizon 10" + common,
        "--exp_name q4_reacher_ensemble5 --ensemble_size 5 --mpc_horizon 10" + common,
    });
}
