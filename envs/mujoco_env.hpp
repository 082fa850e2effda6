// envs/mujoco_env.hpp: the MuJoCo plumbing shared by reacher and cheetah: finding and loading
// the MJCF, one simulation per env instance, and the step sequence of reference section 1.4.
//
// Where the MJCF files are found (binaries must run from any working directory). The first
// rule that applies wins:
//   1. the environment variable MBRL_ENVS_DIR, if set and not empty: the files must be there;
//   2. the compile-time directory MBRL_ENVS_DIR, set by the Makefile with
//      -DMBRL_ENVS_DIR=\"$(CURDIR)/envs\"; without it, the directory of this header as the
//      compiler saw it (__FILE__), which is absolute when the source path given to it is;
//   3. <directory of the running executable>/../envs (Linux), e.g. build/q2 -> envs/.
// Rules 2 and 3 are tried in turn until one holds the file; otherwise a std::runtime_error lists
// every path tried.
//
// Threads: each env class loads its mjModel once (a function-local static, whose initialisation
// C++ makes thread-safe) and shares it read-only; each instance owns its mjData. MuJoCo calls
// that take a const mjModel and distinct mjData may run concurrently.
#ifndef MBRL_ENVS_MUJOCO_ENV_HPP
#define MBRL_ENVS_MUJOCO_ENV_HPP

#include <mujoco/mujoco.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#ifdef __linux__
#include <unistd.h>
#endif

#include "common.hpp"

namespace mbrl {
namespace envs {

inline std::string compiled_envs_dir() {
#ifdef MBRL_ENVS_DIR
    return MBRL_ENVS_DIR;
#else
    const std::string here = __FILE__;
    const std::size_t slash = here.rfind('/');
    return slash == std::string::npos ? std::string(".") : here.substr(0, slash);
#endif
}

// <directory of the running executable>/../envs, or "" where that cannot be known.
inline std::string exe_envs_dir() {
#ifdef __linux__
    char buf[4096];
    const ssize_t len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (len <= 0) return "";
    const std::string exe(buf, static_cast<std::size_t>(len));
    const std::size_t slash = exe.rfind('/');
    if (slash == std::string::npos) return "";
    return exe.substr(0, slash) + "/../envs";
#else
    return "";
#endif
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// The full path of the MJCF file `name` (e.g. "cheetah.xml"), by the rules at the top.
inline std::string find_mjcf(const std::string& name) {
    const char* env = std::getenv("MBRL_ENVS_DIR");
    if (env && *env) {
        const std::string path = std::string(env) + "/" + name;
        if (!file_exists(path))
            throw std::runtime_error("mbrl: MJCF file " + path + " not found (the environment " +
                                     "variable MBRL_ENVS_DIR is set to " + env + ")");
        return path;
    }
    std::string tried;
    for (const std::string& dir : {compiled_envs_dir(), exe_envs_dir()}) {
        if (dir.empty()) continue;
        const std::string path = dir + "/" + name;
        if (file_exists(path)) return path;
        tried += "\n  " + path;
    }
    throw std::runtime_error("mbrl: MJCF file " + name + " not found; tried:" + tried +
                             "\nset the environment variable MBRL_ENVS_DIR to the envs/ directory");
}

// Load an MJCF file; the model is freed by mj_deleteModel when the last owner lets go.
inline std::shared_ptr<const mjModel> load_mjcf(const std::string& path) {
    if (mj_version() != mjVERSION_HEADER)
        throw std::runtime_error("mbrl: MuJoCo library version " + std::to_string(mj_version()) +
                                 " does not match its headers (" +
                                 std::to_string(mjVERSION_HEADER) + ")");
    char error[1000] = "";
    mjModel* model = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
    if (!model) throw std::runtime_error("mbrl: cannot load MJCF " + path + ": " + error);
    return std::shared_ptr<const mjModel>(model, mj_deleteModel);
}

// The model must have the sizes the env's observation layout assumes: fail loudly if someone
// edits the MJCF into something else.
inline void check_model(const mjModel* m, const char* env, int nq, int nv, int nu) {
    if (m->nq != nq || m->nv != nv || m->nu != nu)
        throw std::runtime_error(std::string("mbrl: ") + env + ": the model has nq=" +
                                 std::to_string(m->nq) + " nv=" + std::to_string(m->nv) +
                                 " nu=" + std::to_string(m->nu) + ", expected nq=" +
                                 std::to_string(nq) + " nv=" + std::to_string(nv) +
                                 " nu=" + std::to_string(nu));
}

inline int require_id(const mjModel* m, int type, const char* name, const char* env) {
    const int id = mj_name2id(m, type, name);
    if (id < 0)
        throw std::runtime_error(std::string("mbrl: ") + env + ": the model has no '" + name + "'");
    return id;
}

struct DataDeleter {
    void operator()(mjData* d) const { mj_deleteData(d); }
};

// One simulation: the shared, read-only model and this instance's own mjData. Movable, not
// copyable (the unique_ptr sees to both); a moved-from simulation may only be destroyed or
// assigned to.
class MujocoSim {
public:
    explicit MujocoSim(std::shared_ptr<const mjModel> model)
        : model_(std::move(model)), data_(mj_makeData(model_.get())) {
        if (!data_) throw std::runtime_error("mbrl: mj_makeData failed");
    }

    const mjModel* model() const { return model_.get(); }
    mjData* data() { return data_.get(); }
    const mjData* data() const { return data_.get(); }

    // One env step (1.4): write the action into ctrl (MuJoCo clamps it to ctrlrange), then
    // mj_step frame_skip times, then mj_rnePostConstraint once. No mj_forward afterwards, so the
    // Cartesian positions (xpos, site_xpos) are one physics substep older than qpos and qvel.
    void step(const std::vector<float>& act, int frame_skip) {
        const mjModel* m = model_.get();
        mjData* d = data_.get();
        for (int j = 0; j < m->nu; ++j) d->ctrl[j] = static_cast<mjtNum>(act[j]);
        for (int k = 0; k < frame_skip; ++k) mj_step(m, d);
        mj_rnePostConstraint(m, d);
    }

private:
    std::shared_ptr<const mjModel> model_;
    std::unique_ptr<mjData, DataDeleter> data_;
};

// What reacher and cheetah share (Task is the env, CRTP): the model loaded once from
// Task::kModelFile and shared by every instance, a simulation of it, the sizes, the action bounds
// (the actuators' ctrlrange, sections 1.2 and 1.3) and the step: check the action, simulate
// Task::kFrameSkip substeps, observe (Task::observe) and reward (Task::reward). Each env adds its
// constants, observation, reset and reward.
template <class Task>
class MujocoEnv {
public:
    // The model is loaded once, on first use, and shared by every instance.
    static std::shared_ptr<const mjModel> shared_model() {
        static const std::shared_ptr<const mjModel> model = load_mjcf(find_mjcf(Task::kModelFile));
        return model;
    }

    int obs_dim() const { return Task::kObsDim; }
    int act_dim() const { return Task::kActDim; }
    int ep_len() const { return Task::kEpLen; }
    float act_low(int j) const { return static_cast<float>(sim_.model()->actuator_ctrlrange[2 * j]); }
    float act_high(int j) const { return static_cast<float>(sim_.model()->actuator_ctrlrange[2 * j + 1]); }
    const mjModel* model() const { return sim_.model(); }
    const mjData* data() const { return sim_.data(); }

    // What a step depends on, to simulate from here on another instance of the same env (the
    // true-simulator planner, envs/true_model.hpp): qpos, qvel, act, the solver's warm start and
    // time. Restoring it into an instance makes its next steps equal, bit for bit, the steps this
    // instance would take; the Cartesian quantities are recomputed by the first mj_step.
    struct State {
        std::vector<mjtNum> qpos, qvel, act, qacc_warmstart;  // [nq], [nv], [na], [nv]
        mjtNum time = 0;
    };
    void save_state(State& s) const {
        const mjModel* m = sim_.model();
        const mjData* d = sim_.data();
        if (!started_) fail("save_state() called before reset()");
        s.qpos.assign(d->qpos, d->qpos + m->nq);  // no allocation once sized
        s.qvel.assign(d->qvel, d->qvel + m->nv);
        s.act.assign(d->act, d->act + m->na);
        s.qacc_warmstart.assign(d->qacc_warmstart, d->qacc_warmstart + m->nv);
        s.time = d->time;
    }
    void restore_state(const State& s) {
        const mjModel* m = sim_.model();
        mjData* d = sim_.data();
        if (static_cast<int>(s.qpos.size()) != m->nq || static_cast<int>(s.qvel.size()) != m->nv)
            fail("restore_state(): the state is not of this model");
        std::copy(s.qpos.begin(), s.qpos.end(), d->qpos);
        std::copy(s.qvel.begin(), s.qvel.end(), d->qvel);
        std::copy(s.act.begin(), s.act.end(), d->act);
        std::copy(s.qacc_warmstart.begin(), s.qacc_warmstart.end(), d->qacc_warmstart);
        d->time = s.time;
        started_ = true;
    }

    // One env step (1.4): the physics, then the observation and the reward of the new state.
    float step(const std::vector<float>& act, std::vector<float>& obs, bool& done) {
        check_action(Task::kName, act, Task::kActDim);
        if (!started_) fail(Task::kName, ": step() called before reset()");
        sim_.step(act, Task::kFrameSkip);
        static_cast<const Task*>(this)->observe(obs);
        return step_reward<Task>(obs, act, done);
    }

protected:
    MujocoEnv() : sim_(shared_model()) {}

    MujocoSim sim_;
    bool started_ = false;
};

}  // namespace envs
}  // namespace mbrl
#endif  // MBRL_ENVS_MUJOCO_ENV_HPP
