// envs/true_model.hpp: the true simulator as a model for the planner (mbrl::TrueModel, section 21
// of mbrl.hpp), for any env of envs/ (the upper bound of planning with a perfect model).
//
//   Cheetah env;                                // the real env, stepped by the run
//   mbrl::envs::TrueSimulator<Cheetah> sim(env);
//   mpc.plan_on(sim);                           // or run_mb(env, cfg, sink, &sim) with cfg.mpc.true_model
//
// At each planning call, begin() saves the real env's state (Env::save_state: qpos, qvel, act, the
// warm start and time for MuJoCo; the position for obstacles); a candidate is scored by restoring
// that state into one of `slots` private instances of the env (one per planning job, so results do
// not depend on the thread count) and stepping it through the candidate's actions, summing the
// rewards step() returns (the env's reward of each post-step state, as the learned planner sums
// R(s_1) + ... + R(s_H)); each step's reward equals, bit for bit, the real env's for that action. Done is ignored, as by the learned planner. The real env is only read.
// Nothing is allocated per call once every slot has run once.
#ifndef MBRL_ENVS_TRUE_MODEL_HPP
#define MBRL_ENVS_TRUE_MODEL_HPP

#include <type_traits>
#include <vector>

#include "../mbrl.hpp"

namespace mbrl {
namespace envs {

// Whether Env can save and restore its state (Env::State, save_state, restore_state), i.e. be
// planned on by a TrueSimulator.
template <class Env, class = void>
struct has_state : std::false_type {};
template <class Env>
struct has_state<Env, std::void_t<typename Env::State>> : std::true_type {};

template <class Env>
class TrueSimulator : public TrueModel<float> {
public:
    explicit TrueSimulator(const Env& real) : real_(real) {}

    void reserve(int slots) override {
        if (slots <= 0) fail("TrueSimulator: slots must be positive, got ", slots);
        copies_.clear();
        copies_.resize(slots);  // default-constructed instances: their own simulation each
        act_.assign(slots, std::vector<float>(real_.act_dim()));
        obs_.assign(slots, std::vector<float>(real_.obs_dim()));
        rew_.assign(slots, std::vector<float>());
    }
    void begin() override { real_.save_state(snapshot_); }
    float rollout(int slot, mbrl::View<const float> actions) override {
        Env& env = copies_[slot];
        std::vector<float>& act = act_[slot];
        std::vector<float>& obs = obs_[slot];
        const int A = real_.act_dim(), H = actions.rows;
        std::vector<float>& rew = rew_[slot];
        if (static_cast<int>(rew.size()) < H) rew.resize(H);  // grows once, at the first call
        env.restore_state(snapshot_);
        for (int t = 0; t < H; ++t) {
            std::copy(actions.row(t), actions.row(t) + A, act.begin());
            bool done = false;
            rew[t] = env.step(act, obs, done);
        }
        // Summed apart from the steps: were the sum written into the step loop, -ffp-contract=fast
        // could fuse it with the reward's last multiply (reacher: -10 * distance) into one FMA.
        float total = 0;
        for (int t = 0; t < H; ++t) total += rew[t];
        return total;
    }
    // The rewards of slot's last rollout, step by step: rewards(slot)[t] for t < H.
    const std::vector<float>& rewards(int slot) const { return rew_[slot]; }

private:
    const Env& real_;
    typename Env::State snapshot_;
    std::vector<Env> copies_;                   // [slots]
    std::vector<std::vector<float>> act_, obs_;  // [slots] x [act_dim], [obs_dim]
    std::vector<std::vector<float>> rew_;        // [slots] x [H] the last rollout's rewards
};

}  // namespace envs
}  // namespace mbrl
#endif  // MBRL_ENVS_TRUE_MODEL_HPP
