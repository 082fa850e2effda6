// expect: act_low(j)
#define WITHOUT_ACT_LOW
#include "toy_env.hpp"

int main() {
    ToyEnv env;
    mbpo(env);
}
