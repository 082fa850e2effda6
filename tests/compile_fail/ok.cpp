// expect: compiles
// The complete toy environment passes the check in all three entry points, and the trait
// agrees with it.
#include "toy_env.hpp"

static_assert(mbrl::is_environment_v<ToyEnv>, "the toy environment is an environment");
static_assert(!mbrl::is_environment_v<int>, "int is not an environment");

int main() {
    ToyEnv env;
    collect(env);
    plan(env);
    mbpo(env);
}
