// A consumer of mbrl::envs: a Reacher (MuJoCo), reset and stepped. With an argument, the MJCF
// file must have been found in that directory (run.sh passes <prefix>/share/mbrl/envs after
// removing the source tree it installed from).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "envs/reacher.hpp"

int main(int argc, char** argv) {
    using namespace mbrl;
    const std::string mjcf = envs::find_mjcf(Reacher::kModelFile);
    std::printf("MJCF %s\n", mjcf.c_str());
    if (argc > 1 && mjcf != std::string(argv[1]) + "/" + Reacher::kModelFile) {
        std::printf("FAIL: expected the MJCF in %s\n", argv[1]);
        return 1;
    }
    Reacher env;
    Rng rng(1, Stream::reset);
    std::vector<float> obs, next, act(env.act_dim(), 0.5f);
    env.reset(rng, obs);
    double ret = 0;
    bool done = false;
    for (int t = 0; t < 10; ++t) {
        ret += env.step(act, next, done);
        obs.swap(next);
    }
    std::printf("reacher: obs_dim %d, return of 10 steps %.3f\n", env.obs_dim(), ret);
    return std::isfinite(ret) && int(obs.size()) == env.obs_dim() ? 0 : 1;
}
