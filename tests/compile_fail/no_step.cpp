// expect: step(act, obs, done)
#define WITHOUT_STEP
#include "toy_env.hpp"

int main() {
    ToyEnv env;
    collect(env);
}
