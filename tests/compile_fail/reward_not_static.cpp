// expect: reward(obs, act, n, rew, done)
// reward() is there, but as a member function: the planner needs a plain function pointer.
#define REWARD_NOT_STATIC
#include "toy_env.hpp"

int main() {
    ToyEnv env;
    plan(env);
}
