// examples/env_speed.cpp: environment steps per second, one thread, uniform random actions,
// a reset at every episode end. Prints the median of 5 runs of about 0.5 s per environment.
//
//   build/env_speed [seconds per run, default 0.5]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../envs/envs.hpp"
#include "timer.hpp"

using namespace mbrl;

// Steps per second of one timed run of at least `seconds`.
template <class Env>
double steps_per_second(Env& env, double seconds, uint64_t seed) {
    std::vector<float> obs, act(env.act_dim());
    Rng policy(seed, Stream::policy);
    int episode = 0, t = 0;
    Rng first(seed, Stream::reset, episode);
    env.reset(first, obs);
    long steps = 0;
    double checksum = 0;
    mbrl_examples::Timer timer;
    while (true) {
        for (int k = 0; k < 1000; ++k, ++steps) {
            for (int j = 0; j < env.act_dim(); ++j)
                act[j] = static_cast<float>(policy.uniform(env.act_low(j), env.act_high(j)));
            bool done = false;
            checksum += env.step(act, obs, done);
            if (done || ++t == env.ep_len()) {
                Rng rng(seed, Stream::reset, ++episode);
                env.reset(rng, obs);
                t = 0;
            }
        }
        if (timer.seconds() >= seconds) break;
    }
    const double rate = steps / timer.seconds();
    if (checksum != checksum) std::printf("(NaN reward)\n");  // keeps the loop from being elided
    return rate;
}

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 0.5;
    std::printf("env steps per second, 1 thread, median of 5 runs\n");
    for (const std::string& name : env_names()) {
        const double rate = with_env(name, [&](auto& env) {
            std::vector<double> runs;
            for (int r = 0; r < 5; ++r) runs.push_back(steps_per_second(env, seconds, 1 + r));
            std::sort(runs.begin(), runs.end());
            return runs[2];
        });
        std::printf("%-22s %14.0f\n", name.c_str(), rate);
    }
}
