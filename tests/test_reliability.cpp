// Reliability (docs/reliability.md): the run directory's lock, the iterations of a checkpoint
// file, and which earlier run --skip_if_complete continues. tests/kill9.sh and
// tests/two_runners.sh test the same with real processes.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../examples/main.hpp"
#include "helpers.hpp"

using namespace mbrl;
using namespace mbrl_examples;
namespace fs = std::filesystem;

namespace {
struct RelTmp {
    fs::path path = fs::temp_directory_path() / ("mbrl_test_reliability_" + std::to_string(::getpid()));
    RelTmp() {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~RelTmp() { fs::remove_all(path); }
};
std::string checkpoint_bytes(int itr) {
    LoopState state;
    state.itr = itr;
    CheckpointWriter w;
    save_settings(w, "run_mb", {{"a", "1"}});
    save(w, "loop", state);
    std::ostringstream out;
    w.finish(out);
    return out.str();
}
void put(const fs::path& file, const std::string& bytes) { std::ofstream(file, std::ios::binary) << bytes; }
}  // namespace

TEST_CASE("Run lock: a second lock of a run directory fails naming the holder's pid; released, it can be taken") {
    RelTmp tmp;
    const std::string dir = tmp.path.string();
    RunLock first(dir);
    CHECK(first.held());
    try {
        RunLock second(dir);  // flock is per open file: a second open conflicts even in this process
        FAIL("the second lock was taken");
    } catch (const RunLocked& e) {
        CHECK(e.dir == dir);
        CHECK(e.holder.rfind("pid " + std::to_string(::getpid()) + " on host ", 0) == 0);
        CHECK(std::string(e.what()).find(dir + "/.lock") != std::string::npos);
    }
    first.release();
    CHECK_NOTHROW(RunLock{dir});
    CHECK(kExitRunLocked == 75);
}

TEST_CASE("checkpoint_iterations: a whole checkpoint's iterations; -1 if missing, torn, padded, corrupt or another version") {
    RelTmp tmp;
    const fs::path f = tmp.path / "checkpoint.bin";
    CHECK(checkpoint_iterations(f.string()) == -1);
    const std::string good = checkpoint_bytes(3);
    put(f, good);
    CHECK(checkpoint_iterations(f.string()) == 3);
    put(f, good.substr(0, good.size() - 1));
    CHECK(checkpoint_iterations(f.string()) == -1);
    put(f, good + "x");
    CHECK(checkpoint_iterations(f.string()) == -1);
    std::string bad = good;
    bad[8] ^= 1;  // the version
    put(f, bad);
    CHECK(checkpoint_iterations(f.string()) == -1);
    bad = good;
    bad[bad.size() / 2] ^= 1;
    put(f, bad);
    CHECK(checkpoint_iterations(f.string()) == -1);
}

TEST_CASE("--skip_if_complete: complete needs the checkpoint's n_iter iterations; no checkpoint with --save_params: made again") {
    RelTmp tmp;
    const std::vector<std::pair<std::string, std::string>> settings = {{"seed", "1"}, {"save_params", "1"}};
    const fs::path run = tmp.path / "hw4_x_env_01-01-2026_00-00-00";
    fs::create_directories(run);
    put(run / "flags.csv", flags_csv_text(settings));
    put(run / "metrics.csv", "Iteration\n0\n1\n");
    // n_iter 2 rows, but the checkpoint holds 1 iteration (killed between the last row and the
    // last checkpoint): resumable, not complete.
    put(run / "checkpoint.bin", checkpoint_bytes(1));
    EarlierRuns e = find_earlier_runs(tmp.path.string(), "x", "env", 2, settings);
    CHECK(e.complete.empty());
    CHECK(e.resumable == run.string());
    put(run / "checkpoint.bin", checkpoint_bytes(2));
    e = find_earlier_runs(tmp.path.string(), "x", "env", 2, settings);
    CHECK(e.complete == run.string());
    // No checkpoint, one row: made again in its place (with --save_params), else left alone.
    fs::remove(run / "checkpoint.bin");
    put(run / "metrics.csv", "Iteration\n0\n");
    e = find_earlier_runs(tmp.path.string(), "x", "env", 2, settings);
    CHECK(e.complete.empty());
    CHECK(e.resumable.empty());
    CHECK(e.restartable == run.string());
    put(run / "flags.csv", flags_csv_text({{"seed", "1"}, {"save_params", "0"}}));
    e = find_earlier_runs(tmp.path.string(), "x", "env", 2, settings);
    CHECK(e.restartable.empty());
    // A run directory appears whole and locked; discarded, it is gone.
    RunLock lock;
    const std::string made = create_run_dir(tmp.path.string(), "y", "env", flags_csv_text(settings), lock);
    CHECK(lock.held());
    CHECK(fs::exists(made + "/flags.csv"));
    CHECK(csv_data_rows(made + "/metrics.csv") == 0);
    CHECK_THROWS_AS(RunLock{made}, RunLocked);
    discard_run_dir(made);
    CHECK(!fs::exists(made));
    int hidden = 0;
    for (const auto& entry : fs::directory_iterator(tmp.path)) hidden += entry.path().filename().string()[0] == '.';
    CHECK(hidden == 0);
}
