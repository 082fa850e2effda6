// expect: reset(rng, obs)
#define WITHOUT_RESET
#include "toy_env.hpp"

int main() {
    ToyEnv env;
    collect(env);
}
