// tests/cheetah_capi.cpp: a tiny extern "C" shim around the C++ cheetah-cs285-v0 env
// (envs/cheetah.hpp), so an independent PyTorch MBPO (tests/mbpo_torch.py) runs on exactly the
// same simulator as the C++ library. Not part of the library or its tests.
//
// Build, from the repository's root (tests/mbpo_torch.py loads build/libcheetah_capi.so, or
// $CHEETAH_CAPI):
//   g++ -O2 -std=c++17 -shared -fPIC -DMBRL_ENVS_DIR=\"$PWD/envs\" -I. \
//       tests/cheetah_capi.cpp -o build/libcheetah_capi.so -lmujoco
//
// API (obs: 21 floats, act: 6 floats):
//   void* cheetah_create(uint64 seed)       one env; its reset noise comes from its own Rng(seed)
//   void  cheetah_reset(void* h, float* obs)
//   float cheetah_step(void* h, const float* act, float* obs)   returns the env's own step reward
//   void  cheetah_destroy(void* h)
// Errors (C++ exceptions) are printed to stderr and abort the process rather than crossing the
// C boundary.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "envs/cheetah.hpp"

namespace {
struct Handle {
    mbrl::Cheetah env;
    mbrl::Rng rng;
    std::vector<float> obs, act;
    explicit Handle(uint64_t seed)
        : rng(seed, mbrl::Stream::reset), obs(mbrl::Cheetah::kObsDim), act(mbrl::Cheetah::kActDim) {}
};

[[noreturn]] void die(const std::exception& e) {
    std::fprintf(stderr, "cheetah_capi: %s\n", e.what());
    std::abort();
}
}  // namespace

extern "C" {

void* cheetah_create(uint64_t seed) {
    try {
        return new Handle(seed);
    } catch (const std::exception& e) {
        die(e);
    }
}

void cheetah_reset(void* h, float* obs) {
    try {
        Handle* p = static_cast<Handle*>(h);
        p->env.reset(p->rng, p->obs);
        for (int j = 0; j < mbrl::Cheetah::kObsDim; ++j) obs[j] = p->obs[j];
    } catch (const std::exception& e) {
        die(e);
    }
}

float cheetah_step(void* h, const float* act, float* obs) {
    try {
        Handle* p = static_cast<Handle*>(h);
        for (int j = 0; j < mbrl::Cheetah::kActDim; ++j) p->act[j] = act[j];
        bool done = false;
        const float rew = p->env.step(p->act, p->obs, done);
        for (int j = 0; j < mbrl::Cheetah::kObsDim; ++j) obs[j] = p->obs[j];
        return rew;
    } catch (const std::exception& e) {
        die(e);
    }
}

void cheetah_destroy(void* h) { delete static_cast<Handle*>(h); }

}  // extern "C"
