// expect: obs_dim()
#define WITHOUT_OBS_DIM
#include "toy_env.hpp"

int main() {
    ToyEnv env;
    mbpo(env);
}
