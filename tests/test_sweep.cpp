// Sweeps: the command list of a question binary (--print_commands --seeds) and the rule that
// skips a run already complete in --data_dir (--skip_if_complete).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "../examples/main.hpp"
#include "helpers.hpp"

using namespace mbrl;
using namespace mbrl_examples;
namespace fs = std::filesystem;

namespace {

// The complete earlier run of the same command, or "".
std::string find_complete_run(const std::string& data_dir, const std::string& exp_name, const std::string& env_name,
                              int n_iter, const std::vector<std::pair<std::string, std::string>>& settings) {
    return find_earlier_runs(data_dir, exp_name, env_name, n_iter, settings).complete;
}
struct SweepTempDir {
    fs::path path;
    SweepTempDir() {
        path = fs::temp_directory_path() /
               ("mbrl_sweep_test_" + std::to_string(Rng(std::time(nullptr), Stream::test, ::getpid()).bits()));
        fs::create_directories(path);
    }
    ~SweepTempDir() { fs::remove_all(path); }
};

// The lines a shell command prints on stdout, and its exit status.
std::vector<std::string> command_lines(const std::string& cmd, int* status) {
    std::vector<std::string> lines;
    std::FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string cur;
    for (int ch; (ch = std::fgetc(p)) != EOF;) {
        if (ch == '\n') {
            lines.push_back(cur);
            cur.clear();
        } else {
            cur += char(ch);
        }
    }
    *status = ::pclose(p);
    return lines;
}

std::vector<fs::path> run_dirs(const fs::path& data) {
    std::vector<fs::path> d;
    if (fs::exists(data))
        for (const auto& e : fs::directory_iterator(data)) d.push_back(e.path());
    return d;
}

// One tiny obstacles run through a question main (well under a second): Config is MBConfig
// (q1..q5) or MBPOConfig (q6, a few SAC steps).
template <class Config = MBConfig>
int tiny_run(const fs::path& data, const std::string& extra) {
    const bool mbpo = std::is_same<Config, MBPOConfig>::value;
    std::vector<std::string> args = split_words(
        std::string(mbpo ? "q --exp_name tiny6" : "q --exp_name tiny") +
        " --env_name obstacles-cs285-v0 --n_iter 1 --batch_size_initial 200 --batch_size 100"
        " --eval_batch_size 100 --num_agent_train_steps_per_iter 2 --train_batch_size 32 --n_layers 1 --size 8" +
        (mbpo ? " --sac_n_iter 3 --mbpo_rollout_length 2 --sac_size 8 --sac_train_batch_size 16"
              : " --mpc_num_action_sequences 10") +
        " --data_dir " + data.string() + " " + extra);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return question_main<Config>(static_cast<int>(argv.size()), argv.data(), {});
}
// Drops the lines of the given flags from a run directory's flags.csv, as if an older binary,
// which did not have them yet, had written it.
void forget_flags(const fs::path& dir, const std::set<std::string>& names) {
    std::ifstream in(dir / "flags.csv");
    std::string line, kept;
    while (std::getline(in, line))
        if (!names.count(line.substr(0, line.find(',')))) kept += line + "\n";
    in.close();
    std::ofstream(dir / "flags.csv") << kept;
}
}  // namespace

#ifdef MBRL_BUILD_DIR
TEST_CASE("--print_commands: q4 with seeds 1,2 prints 16 commands that parse back as valid flags") {
    int status = -1;
    const auto lines = command_lines(std::string(MBRL_BUILD_DIR) + "/q4 --print_commands --seeds 1,2", &status);
    CHECK(status == 0);
    REQUIRE(lines.size() == 16);
    std::set<std::string> exps;
    std::map<uint64_t, int> per_seed;
    for (const auto& line : lines) {
        std::vector<std::string> words = split_words(line);
        REQUIRE(words.size() > 2);
        CHECK(words[0] == std::string(MBRL_BUILD_DIR) + "/q4");
        words.erase(words.begin());
        MBConfig c;
        auto flags = mb_flags(c);
        CHECK_NOTHROW(parse_mb_flags(words, c, flags));
        CHECK(c.env_name == "reacher-cs285-v0");
        CHECK(c.n_iter == 15);
        CHECK(words[words.size() - 2] == "--seed");  // the seed comes last
        exps.insert(c.exp_name);
        ++per_seed[c.seed];
    }
    CHECK(exps.size() == 8);
    CHECK(per_seed[1] == 8);
    CHECK(per_seed[2] == 8);
    // Without --seeds: the default seed 1; extra flags are appended; a bad extra flag exits with 2.
    CHECK(command_lines(std::string(MBRL_BUILD_DIR) + "/q4 --print_commands", &status).size() == 8);
    const auto q2 = command_lines(std::string(MBRL_BUILD_DIR) + "/q2 --print_commands --seeds 7 --n_iter 2", &status);
    REQUIRE(q2.size() == 1);
    CHECK(q2[0].find("--n_iter 2 --seed 7") != std::string::npos);
    command_lines(std::string(MBRL_BUILD_DIR) + "/q2 --print_commands --bogus 2>/dev/null", &status);
    CHECK(status != 0);
}

#ifdef MBRL_ENVS_DIR
// GNU nproc answers OMP_NUM_THREADS when it is set, and a sweep is started with it exported.
TEST_CASE("sweep.sh local --dry_run: the machine's cores whatever OMP_NUM_THREADS says, an exported one per job") {
    const std::string sweep = (fs::path(MBRL_ENVS_DIR).parent_path() / "examples" / "sweep.sh").string();
    const std::string list = " local --questions q2 --seeds 1,2 --build " MBRL_BUILD_DIR " --dry_run";
    int status = -1;
    const std::string env = "env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT ";
    const auto cores = command_lines(env + "nproc", &status);
    REQUIRE(cores.size() == 1);
    // 7 threads a job: neither the cores (unless there are 7) nor cores / jobs.
    const auto exported = command_lines(env + "OMP_NUM_THREADS=7 " + sweep + list + " --jobs 2", &status);
    CHECK(status == 0);
    REQUIRE(exported.size() == 1);
    const std::string want = "sweep: 2 runs (seeds 1,2), 2 at a time with OMP_NUM_THREADS=7 (" + cores[0] + " cores)";
    CHECK(exported[0].rfind(want, 0) == 0);
    // Not exported: one job gets every core.
    const auto chosen = command_lines(env + sweep + list + " --jobs 1", &status);
    CHECK(status == 0);
    REQUIRE(chosen.size() == 1);
    CHECK(chosen[0].find("1 at a time with OMP_NUM_THREADS=" + cores[0] + " (" + cores[0] + " cores)") !=
          std::string::npos);
}
#endif
#endif

TEST_CASE("--skip_if_complete skips a complete run of the same flags, not an incomplete one or other flags") {
    SweepTempDir tmp;
    const fs::path data = tmp.path / "data";
    REQUIRE(tiny_run(data, "--seed 3") == 0);
    auto dirs = run_dirs(data);
    REQUIRE(dirs.size() == 1);
    const fs::path first = dirs[0];
    // Complete (1 of n_iter 1 rows): skipped, nothing new written.
    CHECK(tiny_run(data, "--seed 3 --skip_if_complete") == 0);
    CHECK(run_dirs(data).size() == 1);
    // Another seed, or another value of any flag, is another run.
    CHECK(tiny_run(data, "--seed 4 --skip_if_complete") == 0);
    CHECK(run_dirs(data).size() == 2);
    MBConfig c;
    auto flags = mb_flags(c);
    parse_mb_flags(split_words("--exp_name tiny --env_name obstacles-cs285-v0 --n_iter 2 --seed 3"), c, flags);
    std::vector<std::pair<std::string, std::string>> settings;
    for (auto& f : flags) settings.push_back({f.names[0].substr(2), f.show()});
    CHECK(find_complete_run(data.string(), "tiny", "obstacles-cs285-v0", 2, settings).empty());
    // The seed-3 run cut back to its header is incomplete: the run is made again, in a new directory,
    // and the incomplete directory is left alone.
    {
        std::ofstream out(first / "metrics.csv");
        out << "Iteration,Eval_AverageReturn\n";
    }
    CHECK(tiny_run(data, "--seed 3 --skip_if_complete") == 0);
    CHECK(run_dirs(data).size() == 3);
    CHECK(fs::exists(first / "flags.csv"));
    CHECK(csv_data_rows(first / "metrics.csv") == 0);
    // A last row without its newline (a run killed mid-write) is not a whole row.
    {
        std::ofstream out(tmp.path / "partial.csv");
        out << "a,b\n1,2\n3,";
    }
    CHECK(csv_data_rows(tmp.path / "partial.csv") == 1);
    // An incomplete run with a checkpoint (--save_params) is continued in its own directory, not
    // made again: here a run of n_iter 2 stopped after its first iteration (its flags.csv says 2).
    {
        const fs::path d2 = tmp.path / "data2";
        REQUIRE(tiny_run(d2, "--seed 5 --save_params") == 0);
        const fs::path cut = run_dirs(d2).at(0);
        REQUIRE(fs::exists(cut / "checkpoint.bin"));
        std::ifstream in(cut / "flags.csv");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        in.close();
        const std::size_t at = text.find("\nn_iter,1\n");
        REQUIRE(at != std::string::npos);
        text.replace(at, 10, "\nn_iter,2\n");
        std::ofstream(cut / "flags.csv") << text;
        MBConfig c5;  // the settings question_main compares (ep_len is the env's: obstacles 100)
        auto flags5 = mb_flags(c5);
        parse_mb_flags(split_words("--exp_name tiny --env_name obstacles-cs285-v0 --ep_len 100 --n_iter 2 --seed 5 --batch_size_initial 200"
                                   " --batch_size 100 --eval_batch_size 100 --num_agent_train_steps_per_iter 2"
                                   " --train_batch_size 32 --mpc_num_action_sequences 10 --n_layers 1 --size 8"),
                       c5, flags5);
        std::vector<std::pair<std::string, std::string>> settings5;
        for (auto& f : flags5) settings5.push_back({f.names[0].substr(2), f.show()});
        const EarlierRuns earlier = find_earlier_runs(d2.string(), "tiny", "obstacles-cs285-v0", 2, settings5);
        CHECK(earlier.complete.empty());
        CHECK(earlier.resumable == cut.string());
        CHECK(tiny_run(d2, "--seed 5 --n_iter 2 --save_params --skip_if_complete") == 0);
        CHECK(run_dirs(d2).size() == 1);
        CHECK(csv_data_rows(cut / "metrics.csv") == 2);
        CHECK(tiny_run(d2, "--seed 5 --n_iter 2 --save_params --skip_if_complete") == 0);  // now complete: skipped
        CHECK(run_dirs(d2).size() == 1);
        CHECK(csv_data_rows(cut / "metrics.csv") == 2);
    }
    CHECK(parse_seeds("1,2, 3") == std::vector<uint64_t>{1, 2, 3});
    CHECK(parse_seeds("5 6") == std::vector<uint64_t>{5, 6});
    CHECK_THROWS_AS(parse_seeds("1,x"), FlagError);
    CHECK_THROWS_AS(parse_seeds(""), FlagError);
    CHECK(shell_quote("a b") == "'a b'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
}

TEST_CASE("--skip_if_complete: a run made before a flag existed ran with its default, for q1..q5 and q6 alike") {
    SweepTempDir tmp;
    std::set<std::string> added;  // every flag added after the reference's (q6 switches, PETS, true model), and the commit
    for (const auto& kv : beyond_defaults()) added.insert(kv.first);
    added.insert("commit");
    CHECK(added.count("sac_logstd") == 1);
    CHECK(added.count("mpc_model") == 1);
    for (bool mbpo : {false, true}) {
        CAPTURE(mbpo);
        const fs::path data = tmp.path / (mbpo ? "mbpo" : "mb");
        auto run = [&](const std::string& extra) { return mbpo ? tiny_run<MBPOConfig>(data, extra) : tiny_run(data, extra); };
        REQUIRE(run("--seed 2") == 0);
        REQUIRE(run_dirs(data).size() == 1);
        const fs::path old = run_dirs(data)[0];
        forget_flags(old, added);
        std::ifstream in(old / "flags.csv");
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(text.find("\nmodel_type,") == std::string::npos);
        CHECK(text.find("\nsac_logstd,") == std::string::npos);
        CHECK(run("--seed 2 --skip_if_complete") == 0);  // complete under the defaults: skipped
        CHECK(run_dirs(data).size() == 1);
        // A value other than the default is another run.
        CHECK(run(std::string("--seed 2 --skip_if_complete ") + (mbpo ? "--sac_logstd tanh" : "--mpc_model true")) == 0);
        CHECK(run_dirs(data).size() == 2);
    }
}
