// expect: ep_len()
#define WITHOUT_EP_LEN
#include "toy_env.hpp"

int main() {
    ToyEnv env;
    plan(env);
}
