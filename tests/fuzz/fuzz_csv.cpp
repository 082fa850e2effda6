// tests/fuzz/fuzz_csv.cpp: libFuzzer target for the readers of a run directory's flags.csv and
// metrics.csv behind --resume and --skip_if_complete (examples/resume.hpp, examples/run_log.hpp).
// The input up to its first NUL byte is flags.csv, the rest metrics.csv, of a run directory
// data/hw4_fuzz_obstacles-cs285-v0_<time>/ in a temporary directory. Then, in a run's order:
//   --resume:  read_flags_csv, flags_csv_as_args, parse_flags and check_config (for MBConfig and
//              MBPOConfig): the flags are accepted or a FlagError names the flag;
//   --skip_if_complete: csv_data_rows and find_earlier_runs, which never throw;
//   --resume, once the checkpoint is accepted: RunLog::resumed(2) keeps the first 2 rows of
//              metrics.csv and reads its clock and initial return from them, or throws
//              std::runtime_error naming the file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../examples/main.hpp"
#include "fuzz_util.hpp"

namespace fs = std::filesystem;
using namespace mbrl_examples;

namespace {

// A temporary directory (in memory where /dev/shm exists), removed after each input.
const fs::path& root() {
    static const fs::path r = [] {
        const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        return base / ("mbrl_fuzz_csv_" + std::to_string(::getpid()));
    }();
    return r;
}
void write(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The settings of the seed runs (corpus/fuzz_csv), as question_main makes them.
RunLog::Settings seed_settings() {
    mbrl::MBConfig c;
    std::vector<Flag> flags = all_flags(c);
    parse_flags(split_words("--exp_name fuzz --env_name obstacles-cs285-v0 --n_iter 2 --ensemble_size 2 "
                            "--batch_size_initial 20 --batch_size 10 --eval_batch_size 10 "
                            "--num_agent_train_steps_per_iter 2 --train_batch_size 4 --n_layers 1 --size 4 "
                            "--mpc_num_action_sequences 8 --mpc_horizon 3 --save_params --data_dir data --ep_len 100"),
                flags);
    RunLog::Settings s;
    for (auto& f : flags) s.push_back({f.names[0].substr(2), f.show()});
    return s;
}

template <class Config>
void resume_flags(const std::map<std::string, std::string>& old) {
    Config cfg;
    std::vector<Flag> flags = all_flags(cfg);
    try {
        parse_flags(flags_csv_as_args(old, flags), flags);
        check_config(cfg);
    } catch (const FlagError& e) {
        mbrl_fuzz::check_message("--resume: flags.csv", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const RunLog::Settings settings = seed_settings();
    static const fs::path data_dir = root() / "data";
    const fs::path dir = data_dir / "hw4_fuzz_obstacles-cs285-v0_05-12-2026_12-00-00";
    fs::remove_all(data_dir);
    fs::create_directories(dir);
    const std::string in(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = in.find('\0');
    write(dir / "flags.csv", in.substr(0, nul));
    write(dir / "metrics.csv", nul == std::string::npos ? "" : in.substr(nul + 1));
    try {
        const auto old = read_flags_csv(dir / "flags.csv");
        if (!old.empty()) {
            resume_flags<mbrl::MBConfig>(old);
            resume_flags<mbrl::MBPOConfig>(old);
        }
        if (csv_data_rows(dir / "metrics.csv") < 0) mbrl_fuzz::finding("csv_data_rows", "negative");
        find_earlier_runs(data_dir.string(), "fuzz", "obstacles-cs285-v0", 2, settings);
    } catch (const std::exception& e) {
        mbrl_fuzz::finding("flags.csv / metrics.csv reader threw", e.what());
    }
    try {
        mbrl::MBConfig cfg;
        cfg.exp_name = "fuzz";
        cfg.env_name = "obstacles-cs285-v0";
        RunLog log(cfg, settings, false, dir.string());
        log.resumed(2);
    } catch (const std::runtime_error& e) {
        mbrl_fuzz::check_message("RunLog::resumed", e.what());
    } catch (const std::exception& e) {
        mbrl_fuzz::finding("RunLog::resumed threw something other than std::runtime_error", e.what());
    }
    fs::remove_all(root());
    return 0;
}
