// envs/cheetah.hpp: cheetah-cs285-v0, gym's 2-D half-cheetah that should run forward, on MuJoCo
// (reference section 1.3; model in envs/cheetah.xml). Unlike gym's HalfCheetah: frame_skip 1,
// rootx in the observation, and a reward that punishes three front-leg poses.
//
// Observation (21 floats)                               Action (6 floats, bounds [-1, 1])
//   0-8    qpos: rootx, rootz, rooty, bthigh, bshin,      motor torques: bthigh, bshin, bfoot,
//          bfoot, fthigh, fshin, ffoot                    fthigh, fshin, ffoot
//   9-17   qvel, same order (obs[9]: forward velocity)    (gears 120, 90, 60, 120, 60, 30)
//   18-20  torso frame origin, data.xpos["torso"], one env step stale (section 1.4):
//          obs[18] after a step is the rootx of the observation before it
//
// Reward obs[9] - 10*[obs[6] > 0.2] - 10*[obs[7] > 0] - 10*[obs[8] > 0]; never done.
// frame_skip 1 (dt 0.01). Episode length 500.
#ifndef MBRL_ENVS_CHEETAH_HPP
#define MBRL_ENVS_CHEETAH_HPP

#include <vector>

#include "mujoco_env.hpp"

namespace mbrl {

class Cheetah : public envs::MujocoEnv<Cheetah> {
public:
    static constexpr const char* kName = "cheetah-cs285-v0";
    static constexpr const char* kModelFile = "cheetah.xml";
    static constexpr int kObsDim = 21, kActDim = 6, kEpLen = 500;
    static constexpr int kFrameSkip = 1;
    static constexpr int kDof = 9;

    Cheetah() {
        const mjModel* m = sim_.model();
        envs::check_model(m, kName, kDof, kDof, kActDim);
        torso_ = envs::require_id(m, mjOBJ_BODY, "torso", kName);
    }
    // obs_dim(), act_dim(), ep_len(), act_low(j), act_high(j) (the actuators' ctrlrange) and
    // step(act, obs, done): envs::MujocoEnv.

    // Reset (1.3): gym's mj_resetData, then qpos = qpos0 + U(-0.1, 0.1) and
    // qvel = 0.1 * N(0, 1) on all 9 DoF (rootx and rootz included; all uniforms first), then
    // mj_forward.
    void reset(Rng& rng, std::vector<float>& obs) {
        const mjModel* m = sim_.model();
        mjData* d = sim_.data();
        mj_resetData(m, d);
        for (int j = 0; j < m->nq; ++j) d->qpos[j] = m->qpos0[j] + rng.uniform(-0.1, 0.1);
        for (int j = 0; j < m->nv; ++j) d->qvel[j] = 0.1 * rng.normal();
        mj_forward(m, d);
        started_ = true;
        observe(obs);
    }

    // Batched reward (1.3): forward velocity, minus 10 for each of front thigh > 0.2, front
    // shin > 0 and front foot > 0. No control cost; never done.
    static void reward(const float* obs, const float* /*act*/, int n, float* rew, float* done) {
        for (int i = 0; i < n; ++i) {
            const float* o = obs + static_cast<std::size_t>(i) * kObsDim;
            float r = o[9];
            if (o[6] > 0.2f) r -= 10.0f;
            if (o[7] > 0.0f) r -= 10.0f;
            if (o[8] > 0.0f) r -= 10.0f;
            rew[i] = r;
            if (done) done[i] = 0.0f;
        }
    }

private:
    friend class envs::MujocoEnv<Cheetah>;  // its step() calls observe()
    int torso_ = -1;

    // Observation layout at the top (1.3).
    void observe(std::vector<float>& obs) const {
        const mjData* d = sim_.data();
        obs.resize(kObsDim);
        for (int j = 0; j < kDof; ++j) obs[j] = static_cast<float>(d->qpos[j]);
        for (int j = 0; j < kDof; ++j) obs[9 + j] = static_cast<float>(d->qvel[j]);
        for (int k = 0; k < 3; ++k) obs[18 + k] = static_cast<float>(d->xpos[3 * torso_ + k]);
    }
};

}  // namespace mbrl
#endif  // MBRL_ENVS_CHEETAH_HPP
