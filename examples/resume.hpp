// examples/resume.hpp: continuing runs. --print_commands --seeds for sweeps, --skip_if_complete
// (a run whose flags match a complete run in --data_dir is skipped; one stopped part way continues
// from its checkpoint) and --resume DIR (a run continued with the flags of its flags.csv).
#ifndef MBRL_EXAMPLES_RESUME_HPP
#define MBRL_EXAMPLES_RESUME_HPP

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "flags.hpp"
#include "run_log.hpp"

namespace mbrl_examples {

// "1,2,3" or "1 2 3" -> {1, 2, 3}; throws FlagError on anything else or on an empty list.
inline std::vector<uint64_t> parse_seeds(const std::string& text) {
    std::string t = text;
    std::replace(t.begin(), t.end(), ',', ' ');
    std::vector<uint64_t> seeds;
    for (const auto& w : split_words(t)) {
        const long long s = parse_int("--seeds", w);
        if (s < 0) throw FlagError("--seeds: must be >= 0, got " + w);
        seeds.push_back(static_cast<uint64_t>(s));
    }
    if (seeds.empty()) throw FlagError("--seeds: no seed in '" + text + "'");
    return seeds;
}

// flags.csv of a run directory as flag -> value (the file has no quoting: key, first comma, value).
inline std::map<std::string, std::string> read_flags_csv(const std::filesystem::path& file) {
    std::map<std::string, std::string> kv;
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header "flag,value"
    while (std::getline(in, line)) {
        const std::size_t comma = line.find(',');
        if (comma != std::string::npos) kv[line.substr(0, comma)] = line.substr(comma + 1);
    }
    return kv;
}

// Whole data rows of a CSV file: lines ended by a newline, minus the header.
inline long csv_data_rows(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return 0;
    long lines = 0;
    for (char ch; in.get(ch);) lines += ch == '\n';
    return lines > 0 ? lines - 1 : 0;
}

// Earlier runs of the same command in data_dir. "The same command": a directory
// hw4_<exp_name>_<env_name>_* whose flags.csv has every flag of `settings` (the pairs a run writes
// into flags.csv) with the same value, except data_dir and the entries that are not flags
// (threads, compiler, cpu, kernel, commit, command, save_params); a flag missing from the old file counts as
// different, unless it is one of beyond_flags at its default (the old run predates it).
// complete: the newest whose metrics.csv has n_iter whole data rows and whose checkpoint.bin, if
// any, holds n_iter iterations (a run killed between its last row and its last checkpoint is not
// complete), or "". resumable: if none is complete, the newest that has a checkpoint.bin (a run
// stopped part way with --save_params), or "". restartable: if neither, the newest incomplete one
// made with --save_params but without a checkpoint yet (killed in its first iteration, or running
// it now), or "".
struct EarlierRuns {
    std::string complete, resumable, restartable;
};
inline EarlierRuns find_earlier_runs(const std::string& data_dir, const std::string& exp_name,
                                     const std::string& env_name, int n_iter,
                                     const std::vector<std::pair<std::string, std::string>>& settings) {
    namespace fs = std::filesystem;
    std::error_code ec;
    EarlierRuns runs;
    if (!fs::is_directory(data_dir, ec)) return runs;
    const std::string prefix = "hw4_" + exp_name + "_" + env_name + "_";
    std::vector<std::string> complete, resumable, restartable;
    for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0 || !entry.is_directory(ec)) continue;
        const auto old = read_flags_csv(entry.path() / "flags.csv");
        bool same = !old.empty();
        for (const auto& kv : settings) {
            if (!same) break;
            if (kv.first == "data_dir" || kv.first == "threads" || kv.first == "compiler" || kv.first == "cpu" ||
                kv.first == "kernel" || kv.first == "commit" || kv.first == "command" || kv.first == "save_params")
                continue;  // not flags of the run, or (data_dir) where it is, or (save_params) not its results
            const auto it = old.find(kv.first);
            const auto added = beyond_defaults().find(kv.first);
            if (it == old.end() && added != beyond_defaults().end())
                same = added->second == kv.second;
            else
                same = it != old.end() && it->second == kv.second;
        }
        if (!same) continue;
        const bool checkpoint = fs::is_regular_file(entry.path() / "checkpoint.bin", ec);
        if (csv_data_rows(entry.path() / "metrics.csv") >= n_iter &&
            (!checkpoint || checkpoint_iterations((entry.path() / "checkpoint.bin").string()) >= n_iter))
            complete.push_back(entry.path().string());
        else if (checkpoint)
            resumable.push_back(entry.path().string());
        else if (old.count("save_params") && old.at("save_params") == "1")
            restartable.push_back(entry.path().string());
    }
    std::sort(complete.begin(), complete.end());
    std::sort(resumable.begin(), resumable.end());
    std::sort(restartable.begin(), restartable.end());
    if (!complete.empty()) runs.complete = complete.back();
    else if (!resumable.empty()) runs.resumable = resumable.back();
    else if (!restartable.empty()) runs.restartable = restartable.back();
    return runs;
}

// The flags of a run directory's flags.csv as command-line words (switches that were on, every
// other flag with its value), to be parsed before the words given with --resume.
inline std::vector<std::string> flags_csv_as_args(const std::map<std::string, std::string>& old,
                                                  std::vector<Flag>& flags) {
    std::vector<std::string> words;
    for (const Flag& f : flags) {
        const auto it = old.find(f.names[0].substr(2));
        if (it == old.end()) continue;
        if (!f.takes_value) {
            if (it->second == "1") words.push_back(f.names[0]);
        } else {
            words.push_back(f.names[0] + "=" + it->second);
        }
    }
    return words;
}

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_RESUME_HPP
