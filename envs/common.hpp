// envs/common.hpp: what the three environments share and that needs no physics engine:
// checking an action, and the distance used by the rewards.
//
// The environment interface (duck-typed: the training code in mbrl.hpp is templated on the env,
// and checks it with mbrl::check_environment; docs/environments.md has the whole contract):
//
//   static constexpr const char* kName;  static constexpr int kObsDim, kActDim, kEpLen;
//   int obs_dim() const;  int act_dim() const;  int ep_len() const;
//   float act_low(int j) const;  float act_high(int j) const;       bounds of action dimension j
//   void reset(Rng& rng, std::vector<float>& obs);                  every random draw from rng
//   float step(const std::vector<float>& act, std::vector<float>& obs, bool& done);
//   static void reward(const float* obs, const float* act, int n, float* rew, float* done);
//
// Optional, for planning on the true simulator (envs/true_model.hpp; all three envs have it):
//   struct State;  void save_state(State&) const;  void restore_state(const State&);
//
// reward() is the batched reward of reference section 0: obs [n, obs_dim] and act [n, act_dim]
// row-major in, rew [n] and done [n] (0/1; done may be nullptr) out. It is pure, so the planner
// may call it from many threads at once. step() gets its own reward by calling reward() on the
// post-step observation, as the reference does, so the two agree bit for bit.
#ifndef MBRL_ENVS_COMMON_HPP
#define MBRL_ENVS_COMMON_HPP

#include <cmath>
#include <vector>

#include "../mbrl.hpp"

namespace mbrl {
namespace envs {

// A wrong size or a NaN/inf action is a caller's bug: say which env, what was expected, what came.
inline void check_action(const char* env, const std::vector<float>& act, int act_dim) {
    if (static_cast<int>(act.size()) != act_dim)
        fail(env, ": step() expects an action of size ", act_dim, ", got ", act.size());
    for (int j = 0; j < act_dim; ++j)
        if (!std::isfinite(act[j])) fail(env, ": action[", j, "] is not finite (", act[j], ")");
}

// The reward and done of a real step: the env's batched reward on the post-step observation, as
// the reference's step() calls get_reward (section 0), so the two agree bit for bit.
template <class Env>
float step_reward(const std::vector<float>& obs, const std::vector<float>& act, bool& done) {
    float rew = 0, d = 0;
    Env::reward(obs.data(), act.data(), 1, &rew, &d);
    done = d != 0;
    return rew;
}

// Euclidean norms for the rewards, written with explicit fma. Under -ffp-contract=fast the
// compiler may otherwise fuse dx*dx + dy*dy differently in a scalar step() and in a vectorized
// batch, and the step and batched rewards would differ in the last bit.
inline float norm2(float dx, float dy) { return std::sqrt(std::fma(dx, dx, dy * dy)); }
inline float norm3(float dx, float dy, float dz) {
    return std::sqrt(std::fma(dx, dx, std::fma(dy, dy, dz * dz)));
}

}  // namespace envs
}  // namespace mbrl
#endif  // MBRL_ENVS_COMMON_HPP
