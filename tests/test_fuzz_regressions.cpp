// tests/test_fuzz_regressions.cpp: the inputs with which the fuzz targets (tests/fuzz,
// docs/fuzzing.md) found faults, each fed to the reader that failed on it, which must now refuse
// it with an error naming what is wrong; and a seed of each corpus, which must load.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../envs/obstacles.hpp"
#include "../examples/run_log.hpp"
#include "fuzz/fuzz_runs.hpp"
#include "helpers.hpp"

using namespace mbrl;
namespace fs = std::filesystem;

namespace {

// tests/fuzz/<name>, whole.
std::string fuzz_file(const std::string& name) {
    const std::string here = __FILE__;
    std::ifstream in(here.substr(0, here.find_last_of('/') + 1) + "fuzz/" + name, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot read tests/fuzz/" << name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The runs whose checkpoints are tests/fuzz/corpus/fuzz_checkpoint's (tests/fuzz/fuzz_runs.hpp).
MBConfig fuzz_run() { return mbrl_fuzz::tiny(); }
MBPOConfig fuzz_mbpo_run() { return mbrl_fuzz::tiny_mbpo(); }

// run_mb (or run_mbpo) resumed from `bytes` and stopped at its first step: "accepted", or the error.
std::string resume(const std::string& bytes, bool mbpo = false) {
    Obstacles env;
    RunSink sink;
    sink.stop = [] { return true; };
    std::istringstream in(bytes);
    try {
        if (mbpo)
            run_mbpo(env, fuzz_mbpo_run(), sink, &in);
        else
            run_mb(env, fuzz_run(), sink, &in);
    } catch (const Interrupted&) {
        return "accepted";
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "not stopped";
}
std::string resume_run_mb(const std::string& bytes) { return resume(bytes); }

}  // namespace

TEST_CASE("fuzz regressions: seed checkpoints of fuzz_checkpoint load into run_mb and run_mbpo") {
    CHECK(resume_run_mb(fuzz_file("corpus/fuzz_checkpoint/run_mb_deterministic_itr1.bin")) == "accepted");
    CHECK(resume(fuzz_file("corpus/fuzz_checkpoint/run_mbpo_itr1.bin"), /*mbpo=*/true) == "accepted");
}

TEST_CASE("fuzz regression: a checkpoint whose minibatch permutation indexes past the data is refused") {
    // train_step indexed the buffer by ensemble.perm as read: a read after the end of the data
    const std::string e = resume_run_mb(fuzz_file("regressions/fuzz_checkpoint/perm_out_of_range.bin"));
    CHECK_MESSAGE(e.rfind("checkpoint: ensemble.perm is not a permutation of 0..", 0) == 0, e);
}

TEST_CASE("fuzz regression: a checkpoint counter past its type's range is refused, not truncated") {
    // loop.itr = 2^32 + 1 was read into an int as 1, and the run went on from iteration 1
    CHECK(resume_run_mb(fuzz_file("regressions/fuzz_checkpoint/itr_past_int.bin")) ==
          "checkpoint: field 'loop.itr' holds 4294967297, more than its counter holds");
}

TEST_CASE("fuzz regression: a metrics.csv cell that is not a number is named when resuming") {
    // RunLog::resumed parsed cells with std::stod, whose std::invalid_argument said only "stod"
    const std::string input = fuzz_file("regressions/fuzz_csv/metrics_cell_not_a_number");
    const fs::path dir = fs::temp_directory_path() / ("mbrl_test_fuzz_csv_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        std::ofstream out(dir / "metrics.csv", std::ios::binary);
        out << input.substr(input.find('\0') + 1);  // the target's input: flags.csv, NUL, metrics.csv
    }
    MBConfig cfg = fuzz_run();
    mbrl_examples::RunLog log(cfg, {}, false, dir.string());
    std::string what = "no error";
    try {
        log.resumed(2);
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
    fs::remove_all(dir);
    CHECK(what == (dir / "metrics.csv").string() + ": TimeSinceStart 'random' is not a number");
}

// A replay buffer's row count is checked against the bytes the payload has left before its
// tensors are sized: a count of 999,999 rows (within the capacity) in a real checkpoint is
// refused without allocating for it.
TEST_CASE("Fuzz regression: a buffer's row count past the bytes left is refused before any allocation") {
    std::string bytes = fuzz_file("corpus/fuzz_checkpoint/run_mb_deterministic_itr1.bin");
    const std::string name = "buffer.rows";
    const std::size_t at = bytes.find(name);
    REQUIRE(at != std::string::npos);
    const std::size_t value = at + name.size() + 1 + 8;  // name, kind (1 byte), count (u64), the value
    uint64_t rows = 0;
    std::memcpy(&rows, &bytes[value], sizeof rows);
    REQUIRE(rows > 0);
    REQUIRE(rows < 1000);
    rows = 999999;
    std::memcpy(&bytes[value], &rows, sizeof rows);
    uint64_t n = 0;
    std::memcpy(&n, &bytes[12], sizeof n);
    const uint64_t sum = fnv1a64(bytes.data() + 20, n);  // the checksum made to fit again
    std::memcpy(&bytes[20 + n], &sum, sizeof sum);
    const std::string e = resume_run_mb(bytes);
    CHECK(e.find("checkpoint: buffer announces 999999 rows, more than the") != std::string::npos);
}
