// tests/fuzz/fuzz_checkpoint.cpp: libFuzzer target for the checkpoint reader (mbrl_checkpoint.hpp):
// CheckpointReader on the input's bytes, then a run's state read from it as the run reads it
// (load_checkpoint into an MBRun / MBPORun): run_mb's (settings, loop state, ensemble, buffer, counters)
// for a tiny run on obstacles with a deterministic and with a probabilistic ensemble, and
// run_mbpo's (settings, loop state, ensemble, SAC, model and SAC buffers, counter) for a tiny
// run on obstacles (the settings of the seed checkpoints in corpus/fuzz_checkpoint).
//
// Each input is read twice: as it is, and with its length field and checksum made to fit (so
// that mutated payloads reach the field reader rather than stopping at the checksum).
// An input must either load or throw std::invalid_argument whose message starts "checkpoint: "
// (the prefix examples/run_log.hpp relies on to name the file). A loaded state must be whole:
// writing it back gives the same bytes, and the next steps of a run (a training step of the
// ensemble on the buffer, one planning call or SAC action) run without fault.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../../envs/obstacles.hpp"
#include "../../mbrl_checkpoint.hpp"
#include "fuzz_runs.hpp"
#include "fuzz_util.hpp"

using namespace mbrl;

namespace {


// A loaded state must be what the bytes say: written back, the same bytes.
template <class Run>
void check_round_trip(const std::string& bytes, const Run& run, int n_iter) {
    if (run.loop.itr < 0 || run.loop.itr > n_iter || run.loop.envsteps < 0)
        mbrl_fuzz::finding("loaded a loop state out of range", std::to_string(run.loop.itr));
    std::ostringstream out;
    save_checkpoint(out, run);
    if (out.str() != bytes) mbrl_fuzz::finding("loaded state", "written back, it differs from the bytes read");
}

// A checkpoint error: std::invalid_argument starting "checkpoint: ", naming what is wrong.
void check_checkpoint_error(const std::invalid_argument& e) {
    if (std::strncmp(e.what(), "checkpoint: ", 12) != 0)
        mbrl_fuzz::finding("checkpoint error without the 'checkpoint: ' prefix", e.what());
    mbrl_fuzz::check_message("checkpoint", e.what());
}

// run_mb's state, built as run_mb builds it (MBRun), read from `bytes` as run_mb reads a checkpoint.
void load_run_mb(const std::string& bytes, const MBConfig& cfg) {
    Obstacles env;
    const int D = env.obs_dim(), A = env.act_dim();
    MBRun run(env, cfg);
    std::istringstream in(bytes);
    try {
        load_checkpoint(in, run);
    } catch (const std::invalid_argument& e) {
        check_checkpoint_error(e);
        return;
    }
    check_round_trip(bytes, run, cfg.n_iter);
    // The run can go on from it: a training step and a planning call.
    ReplayBuffer<float>& buffer = run.buffer;
    if (buffer.size() > 0) {
        try {
            Rng rng(cfg.seed, Stream::sample, 0);
            run.model->train_step(buffer.obs(), buffer.act(), buffer.next_obs(), cfg.train_batch_size, rng);
            std::vector<float> obs(buffer.obs().data, buffer.obs().data + D), act(A);
            run.mpc.act(View<const float>(obs.data(), 1, D), View<float>(act.data(), 1, A));
        } catch (const std::invalid_argument& e) {
            mbrl_fuzz::check_message("after loading", e.what());  // e.g. NaN data: refused, named
        }
    }
}


// run_mbpo's state, built as run_mbpo builds it (MBPORun), read from `bytes` as run_mbpo reads a checkpoint.
void load_run_mbpo(const std::string& bytes, const MBPOConfig& cfg) {
    Obstacles env;
    const LoopConfig& mb = cfg.mb;
    const int D = env.obs_dim(), A = env.act_dim();
    MBPORun run(env, cfg);
    std::istringstream in(bytes);
    try {
        load_checkpoint(in, run);
    } catch (const std::invalid_argument& e) {
        check_checkpoint_error(e);
        return;
    }
    check_round_trip(bytes, run, mb.n_iter);
    // The run can go on from it: a training step of the model and an action of SAC.
    ReplayBuffer<float>& model_buffer = run.model_buffer;
    if (model_buffer.size() > 0) {
        try {
            Rng rng(mb.seed, Stream::sample, 0);
            run.model.train_step(model_buffer.obs(), model_buffer.act(), model_buffer.next_obs(), mb.train_batch_size, rng);
            std::vector<float> obs(model_buffer.obs().data, model_buffer.obs().data + D), act(A);
            run.sac.act(View<const float>(obs.data(), 1, D), View<float>(act.data(), 1, A));
        } catch (const std::invalid_argument& e) {
            mbrl_fuzz::check_message("after loading", e.what());
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const MBConfig configs[] = {mbrl_fuzz::tiny(ModelType::deterministic), mbrl_fuzz::tiny(ModelType::probabilistic)};
    static const MBPOConfig mbpo = mbrl_fuzz::tiny_mbpo();
    const std::string raw(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> inputs = {raw};
    if (size >= 28) {  // the same bytes with the length field and the checksum that fit them
        std::string fixed = raw;
        const uint64_t n = size - 28;
        std::memcpy(&fixed[12], &n, sizeof n);
        const uint64_t sum = fnv1a64(fixed.data() + 20, n);
        std::memcpy(&fixed[20 + n], &sum, sizeof sum);
        if (fixed != raw) inputs.push_back(fixed);
    }
    for (const std::string& bytes : inputs) {
        for (const MBConfig& cfg : configs) load_run_mb(bytes, cfg);
        load_run_mbpo(bytes, mbpo);
    }
    return 0;
}
