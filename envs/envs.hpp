// envs/envs.hpp: the three environments of CS285 hw4 and a way to pick one by name.
//
//   obstacles-cs285-v0   Obstacles   obs 4    act 2   ep_len 100   plain C++
//   reacher-cs285-v0     Reacher     obs 20   act 7   ep_len 200   MuJoCo, envs/reacher.xml
//   cheetah-cs285-v0     Cheetah     obs 21   act 6   ep_len 500   MuJoCo, envs/cheetah.xml
//
// The interface they share is described in envs/common.hpp; how the MJCF files are found, in
// envs/mujoco_env.hpp; the true simulator as a planning model (State, save_state,
// restore_state), in envs/true_model.hpp.
#ifndef MBRL_ENVS_ENVS_HPP
#define MBRL_ENVS_ENVS_HPP

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cheetah.hpp"
#include "obstacles.hpp"
#include "reacher.hpp"
#include "true_model.hpp"

namespace mbrl {

inline std::vector<std::string> env_names() {
    return {Obstacles::kName, Reacher::kName, Cheetah::kName};
}

// Construct the env called `name` and return f(env). f is called with an Obstacles&, a
// Reacher& or a Cheetah& (a generic lambda fits) and must return the same type for all three.
template <class F>
decltype(auto) with_env(const std::string& name, F&& f) {
    if (name == Obstacles::kName) {
        Obstacles env;
        return std::forward<F>(f)(env);
    }
    if (name == Reacher::kName) {
        Reacher env;
        return std::forward<F>(f)(env);
    }
    if (name == Cheetah::kName) {
        Cheetah env;
        return std::forward<F>(f)(env);
    }
    std::string valid;
    for (const std::string& n : env_names()) valid += (valid.empty() ? "" : ", ") + n;
    throw std::invalid_argument("mbrl: unknown environment '" + name + "'; valid names: " + valid);
}

}  // namespace mbrl
#endif  // MBRL_ENVS_ENVS_HPP
