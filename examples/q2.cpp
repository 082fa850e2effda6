// Problem 2: random-shooting MPC on obstacles after one iteration of training on random data.
// Expect Train_AverageReturn about -160 (random actions) and Eval_AverageReturn -70 to -50.
#include "main.hpp"

int main(int argc, char** argv) {
    return mbrl_examples::mb_main(argc, argv, {
        "--exp_name q2_obstacles_singleiteration --env_name obstacles-cs285-v0 --add_sl_noise"
        " --num_agent_train_steps_per_iter 20 --n_iter 1 --batch_size_initial 5000 --batch_size 1000"
        " --mpc_horizon 10 --video_log_freq -1 --mpc_action_sampling_strategy random",
    });
}
