// envs/reacher.hpp: reacher-cs285-v0, a 7-DoF Sawyer-like arm in zero gravity that must bring
// its fingertip to a target, on MuJoCo (reference section 1.2; model in envs/reacher.xml).
//
// Observation (20 floats)                              Action (7 floats, bounds [-1, 1])
//   0-6    qpos of the 7 hinges, in XML order:          motor torques on the same 7 joints
//          shoulder_pan, shoulder_lift, upper_arm_roll,  (gear 20 on shoulder_pan, 10 on the rest)
//          elbow_flex, forearm_roll, wrist_flex, wrist_roll
//   7-13   qvel of the same joints / 10
//   14-16  fingertip: world position of site "finger" (one substep stale, section 1.4)
//   17-19  target: site "target", always (0.1, 0.1, 0.1)
//
// Reward -10 * ||fingertip - target||; never done. frame_skip 2 (dt 0.02). Episode length 200.
#ifndef MBRL_ENVS_REACHER_HPP
#define MBRL_ENVS_REACHER_HPP

#include <vector>

#include "mujoco_env.hpp"

namespace mbrl {

class Reacher : public envs::MujocoEnv<Reacher> {
public:
    static constexpr const char* kName = "reacher-cs285-v0";
    static constexpr const char* kModelFile = "reacher.xml";
    static constexpr int kObsDim = 20, kActDim = 7, kEpLen = 200;
    static constexpr int kFrameSkip = 2;
    static constexpr int kJoints = 7;

    Reacher() {
        const mjModel* m = sim_.model();
        envs::check_model(m, kName, kJoints, kJoints, kActDim);
        finger_ = envs::require_id(m, mjOBJ_SITE, "finger", kName);
        target_ = envs::require_id(m, mjOBJ_SITE, "target", kName);
    }
    // obs_dim(), act_dim(), ep_len(), act_low(j), act_high(j) (the actuators' ctrlrange) and
    // step(act, obs, done): envs::MujocoEnv.

    // Reset (1.2). The reference overrides gym's reset and does NOT call mj_resetData.
    void reset(Rng& rng, std::vector<float>& obs) {
        const mjModel* m = sim_.model();
        mjData* d = sim_.data();
        // 1. qpos = init_qpos (the model's qpos0: all zeros), qvel = 0, no noise; mj_forward.
        mju_copy(d->qpos, m->qpos0, m->nq);
        mju_zero(d->qvel, m->nv);
        mj_forward(m, d);
        // 2-3. The reference draws a random goal, then overwrites it with (0.1, 0.1, 0.1): the
        // three draws are consumed and thrown away, and the target stays where reacher.xml puts
        // it (so the shared model is never written).
        (void)rng.uniform(-0.3, 0.3);
        (void)rng.uniform(-0.2, 0.2);
        (void)rng.uniform(-0.25, 0.25);
        // 4. One step with zero action; its observation is the initial one.
        started_ = true;
        bool done = false;
        step(std::vector<float>(kActDim, 0.0f), obs, done);
    }

    // Batched reward (1.2): -10 * ||obs[14:17] - obs[17:20]||; the action is ignored; never done.
    static void reward(const float* obs, const float* /*act*/, int n, float* rew, float* done) {
        for (int i = 0; i < n; ++i) {
            const float* o = obs + static_cast<std::size_t>(i) * kObsDim;
            rew[i] = -10.0f * envs::norm3(o[14] - o[17], o[15] - o[18], o[16] - o[19]);
            if (done) done[i] = 0.0f;
        }
    }

private:
    friend class envs::MujocoEnv<Reacher>;  // its step() calls observe()
    int finger_ = -1, target_ = -1;

    // Observation layout at the top (1.2). The target comes from the model's site_pos, as in the
    // reference (the site is a child of the world body, so that is its world position).
    void observe(std::vector<float>& obs) const {
        const mjModel* m = sim_.model();
        const mjData* d = sim_.data();
        obs.resize(kObsDim);
        for (int j = 0; j < kJoints; ++j) obs[j] = static_cast<float>(d->qpos[j]);
        for (int j = 0; j < kJoints; ++j) obs[7 + j] = static_cast<float>(d->qvel[j] / 10.0);
        for (int k = 0; k < 3; ++k) obs[14 + k] = static_cast<float>(d->site_xpos[3 * finger_ + k]);
        for (int k = 0; k < 3; ++k) obs[17 + k] = static_cast<float>(m->site_pos[3 * target_ + k]);
    }
};

}  // namespace mbrl
#endif  // MBRL_ENVS_REACHER_HPP
