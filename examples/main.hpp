// examples/main.hpp: main() of the question binaries q1..q6: one run from the flags given, every
// command of the question when none is given, --print_commands for sweeps, --skip_if_complete and
// --resume; the start-up banner; Ctrl-C and SIGTERM stop a run between two steps.
#ifndef MBRL_EXAMPLES_MAIN_HPP
#define MBRL_EXAMPLES_MAIN_HPP

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "flags.hpp"
#include "resume.hpp"
#include "run_log.hpp"
#include "video.hpp"

namespace mbrl_examples {

inline LoopConfig& base(MBConfig& c) { return c; }
inline LoopConfig& base(MBPOConfig& c) { return c.mb; }
inline std::string describe(const MBConfig& c) {
    std::string s = c.mpc.cem ? "CEM" : "random shooting";
    s += ", K=" + std::to_string(c.mpc.num_sequences) + ", H=" + std::to_string(c.mpc.horizon);
    if (c.mpc.cem) s += ", M=" + std::to_string(c.mpc.cem_iterations) + ", J=" + std::to_string(c.mpc.cem_num_elites);
    if (c.mpc.true_model) s += ", on the true simulator";
    if (c.mpc.propagation != Propagation::expectation)
        s += std::string(c.mpc.propagation == Propagation::ts1 ? ", TS1" : ", TS-inf") + " P=" +
             std::to_string(c.mpc.particles > 0 ? c.mpc.particles : c.ensemble_size);
    return s + " | ensemble " + std::to_string(c.ensemble_size) + " x " + std::to_string(c.n_layers) + "x" +
           std::to_string(c.size) + (c.model_type == ModelType::probabilistic ? " probabilistic" : "");
}
inline std::string describe(const MBPOConfig& c) {
    return "SAC " + std::to_string(c.sac.n_layers) + "x" + std::to_string(c.sac.size) + ", rollout length " +
           std::to_string(c.rollout_length) + ", " + std::to_string(c.sac_n_iter) + " SAC rounds/iteration" +
           " | ensemble " + std::to_string(c.mb.ensemble_size) + " x " + std::to_string(c.mb.n_layers) + "x" +
           std::to_string(c.mb.size) + (c.mb.model_type == ModelType::probabilistic ? " probabilistic" : "");
}
template <class Env>
std::string run_config(Env& env, const MBConfig& c, const std::vector<std::pair<std::string, std::string>>& s,
                       const std::string& resume_dir) {
    return run_and_log(env, c, s, true, resume_dir, video_maker<Env>(c, s, true));
}
template <class Env>
std::string run_config(Env& env, const MBPOConfig& c, const std::vector<std::pair<std::string, std::string>>& s,
                       const std::string& resume_dir) {
    return run_and_log(env, c, s, true, resume_dir, video_maker<Env>(c, s, true));
}

// SIGINT and SIGTERM set stop_signal(), which the running loop polls (RunSink::stop): the run
// stops within about a second. A second signal ends the process at once.
extern "C" inline void on_stop_signal(int sig) {
    if (stop_signal() != 0) std::_Exit(128 + sig);
    stop_signal() = sig;
}
inline void install_stop_handlers() {
    stop_signal() = 0;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
}

// main() of a question binary: one run from the flags given, or every command of the question.
// Config is MBConfig (run_hw4_mb.py) or MBPOConfig (run_hw4_mbpo.py).
template <class Config>
int question_main(int argc, char** argv, const std::vector<std::string>& commands) {
    std::vector<std::string> args(argv + 1, argv + argc);
    {
        Config probe;
        std::vector<Flag> flags = all_flags(probe);
        for (const auto& a : args)
            if (a == "--help" || a == "-h") {
                print_help(argv[0], flags, commands);
                return 0;
            }
    }
    // The sweep flags are the binary's own, not the reference's: take them out of args.
    bool print_commands = false, skip_if_complete = false, video_only = false;  // --final_video DIR
    std::string seeds_text, resume_dir;  // with --final_video, its directory
    std::string dir_flag = "--resume";   // the flag that gave resume_dir, for messages
    {
        std::vector<std::string> rest;
        for (std::size_t i = 0; i < args.size(); ++i) {
            if (args[i] == "--print_commands") {
                print_commands = true;
            } else if (args[i] == "--skip_if_complete") {
                skip_if_complete = true;
            } else if (args[i] == "--seeds" || args[i].rfind("--seeds=", 0) == 0) {
                if (args[i] == "--seeds" && i + 1 >= args.size()) {
                    std::fprintf(stderr, "%s: --seeds: missing value\n", argv[0]);
                    return 2;
                }
                seeds_text = args[i] == "--seeds" ? args[++i] : args[i].substr(8);
            } else if (args[i] == "--resume" || args[i].rfind("--resume=", 0) == 0 || args[i] == "--final_video" ||
                       args[i].rfind("--final_video=", 0) == 0) {
                video_only = args[i].rfind("--final_video", 0) == 0;
                dir_flag = video_only ? "--final_video" : "--resume";
                if (args[i] == dir_flag && i + 1 >= args.size()) {
                    std::fprintf(stderr, "%s: %s: missing value (a run directory)\n", argv[0], dir_flag.c_str());
                    return 2;
                }
                resume_dir = args[i] == dir_flag ? args[++i] : args[i].substr(dir_flag.size() + 1);
                if (resume_dir.empty()) {
                    std::fprintf(stderr, "%s: %s: missing value (a run directory)\n", argv[0], dir_flag.c_str());
                    return 2;
                }
            } else {
                rest.push_back(args[i]);
            }
        }
        args = rest;
    }
    if (!resume_dir.empty() && (print_commands || skip_if_complete)) {
        std::fprintf(stderr, "%s: %s goes with neither --print_commands nor --skip_if_complete\n", argv[0],
                     dir_flag.c_str());
        return 2;
    }
    if (!seeds_text.empty() && !print_commands) {
        std::fprintf(stderr, "%s: --seeds is only for --print_commands (a run takes --seed)\n", argv[0]);
        return 2;
    }
    if (print_commands) {
        // Every command of the question (or the one given), once per seed, each flag checked;
        // flags given besides --print_commands are appended to every command (they win).
        Config probe;
        std::vector<uint64_t> seeds = {base(probe).seed};
        std::vector<std::string> lines;
        try {
            if (!seeds_text.empty()) seeds = parse_seeds(seeds_text);
            for (const auto& c : commands) {
                for (uint64_t seed : seeds) {
                    std::vector<std::string> words = split_words(c);
                    words.insert(words.end(), args.begin(), args.end());
                    words.push_back("--seed");
                    words.push_back(std::to_string(seed));
                    if (skip_if_complete) words.push_back("--skip_if_complete");
                    Config cfg;
                    std::vector<Flag> flags = all_flags(cfg);
                    std::vector<std::string> as_flags = words;
                    if (skip_if_complete) as_flags.pop_back();
                    parse_flags(as_flags, flags);
                    check_config(cfg);
                    std::string line = shell_quote(argv[0]);
                    for (const auto& w : words) line += " " + shell_quote(w);
                    lines.push_back(line);
                }
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
            return 2;
        }
        for (const auto& l : lines) std::printf("%s\n", l.c_str());
        return 0;
    }
    std::vector<std::vector<std::string>> runs;
    std::string resume_command;  // with --resume: the run's command, then the flags given now
    if (!resume_dir.empty()) {
        while (resume_dir.size() > 1 && resume_dir.back() == '/') resume_dir.pop_back();
        const auto old = read_flags_csv(std::filesystem::path(resume_dir) / "flags.csv");
        if (old.empty()) {
            std::fprintf(stderr, "%s: %s: %s/flags.csv is missing or empty: not a run directory\n", argv[0],
                         dir_flag.c_str(), resume_dir.c_str());
            return 2;
        }
        Config probe;
        std::vector<Flag> flags = all_flags(probe);
        std::vector<std::string> words = flags_csv_as_args(old, flags);
        words.insert(words.end(), args.begin(), args.end());
        words.push_back("--save_params");  // a resumed run keeps writing checkpoints
        runs.push_back(words);
        const auto cmd = old.find("command");
        resume_command = cmd != old.end() ? cmd->second : "";
        for (const auto& a : args) resume_command += (resume_command.empty() ? "" : " ") + a;
    } else if (args.empty()) {
        for (const auto& c : commands) runs.push_back(split_words(c));
    } else {
        runs.push_back(args);
    }
    // The kernel the products run in (mbrl_kernel.hpp; MBRL_KERNEL picks one): a name this CPU
    // cannot run is an error here, before anything is written.
    std::string kernel;
    try {
        kernel = kernel_name();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
        return 2;
    }
    // Check every command line before running any, so a typo fails at once and writes nothing.
    std::vector<Config> cfgs(runs.size());
    std::vector<std::vector<std::pair<std::string, std::string>>> settings(runs.size());
    for (std::size_t r = 0; r < runs.size(); ++r) {
        std::vector<Flag> flags = all_flags(cfgs[r]);
        try {
            parse_flags(runs[r], flags);
            check_config(cfgs[r]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
            return 2;
        }
        LoopConfig& b = base(cfgs[r]);
        for (auto& f : flags)  // flags.csv shows the env's episode length, as the reference's does
            if (f.names[0] == "--ep_len") f.set(std::to_string(with_env(b.env_name, [](auto& env) { return env.ep_len(); })));
        for (auto& f : flags) settings[r].push_back({f.names[0].substr(2), f.show()});
        settings[r].push_back({"threads", std::to_string(thread_count())});
        settings[r].push_back({"compiler", __VERSION__});
        settings[r].push_back({"cpu", cpu_description()});
        settings[r].push_back({"kernel", kernel});
#ifdef MBRL_COMMIT
        settings[r].push_back({"commit", MBRL_COMMIT});
#endif
        std::string line;
        for (const auto& a : runs[r]) line += (line.empty() ? "" : " ") + a;
        settings[r].push_back({"command", resume_dir.empty() ? line : resume_command});
    }
    // Every data directory must take files, before any run starts (not an hour into one).
    if (resume_dir.empty()) {
        for (std::size_t r = 0; r < runs.size(); ++r) {
            try {
                check_writable_dir(base(cfgs[r]).data_dir);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "%s: --data_dir: %s\n", argv[0], e.what());
                return 2;
            }
        }
    } else {
        try {
            check_writable_dir(resume_dir);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: --resume: %s\n", argv[0], e.what());
            return 2;
        }
    }
    install_stop_handlers();
    bool busy = false;  // run_lock.hpp: a run not made because another process writes its directory
    auto pass_over = [&](const RunLocked& e) {  // such a run is reported and the next one goes on
        std::fprintf(stderr, "%s: busy: %s; not run (exit %d)\n", argv[0], e.what(), kExitRunLocked);
        busy = true;
    };
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const LoopConfig& b = base(cfgs[r]);
        if (video_only) {  // --final_video DIR: the video of the run's last policy, nothing else
            try {
                const std::string file = with_env(
                    b.env_name, [&](auto& env) { return final_video(env, cfgs[r], resume_dir, true); });
                std::printf("final video: %s\n", file.c_str());
                return 0;
            } catch (const std::exception& e) {
                std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
                return 1;
            }
        }
        std::string continue_dir = resume_dir;
        if (skip_if_complete) {
            const EarlierRuns earlier = find_earlier_runs(b.data_dir, b.exp_name, b.env_name, b.n_iter, settings[r]);
            if (!earlier.complete.empty()) {
                std::printf("skip: %s on %s, seed %llu: complete run in %s/\n", b.exp_name.c_str(), b.env_name.c_str(),
                            static_cast<unsigned long long>(b.seed), earlier.complete.c_str());
                std::fflush(stdout);
                continue;
            }
            if (!earlier.resumable.empty()) {
                std::printf("resume: %s on %s, seed %llu: continuing the incomplete run in %s/ from its checkpoint\n",
                            b.exp_name.c_str(), b.env_name.c_str(), static_cast<unsigned long long>(b.seed),
                            earlier.resumable.c_str());
                continue_dir = earlier.resumable;
            }
            // run_lock.hpp: a run with no checkpoint yet is made again, in a new directory, once
            // its own is discarded; unless a process is running it now (exit kExitRunLocked).
            if (!earlier.restartable.empty()) {
                try {
                    RunLock lock(earlier.restartable);
                    discard_run_dir(earlier.restartable);
                } catch (const RunLocked& e) {
                    pass_over(e);
                    continue;
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
                    return 1;
                }
                std::printf("restart: %s on %s, seed %llu: the incomplete run in %s/ had no checkpoint; made again\n",
                            b.exp_name.c_str(), b.env_name.c_str(), static_cast<unsigned long long>(b.seed),
                            earlier.restartable.c_str());
            }
        }
        std::printf("== %s on %s | seed %llu | %d thread(s), %s kernel | %s ==\n", b.exp_name.c_str(), b.env_name.c_str(),
                    static_cast<unsigned long long>(b.seed), thread_count(), kernel.c_str(), describe(cfgs[r]).c_str());
        std::string all;
        for (const auto& kv : settings[r])
            if (kv.first != "command") all += (all.empty() ? "" : " ") + kv.first + "=" + kv.second;
        std::printf("settings: %s\n", all.c_str());
        std::fflush(stdout);
        try {
            with_env(b.env_name, [&](auto& env) { return run_config(env, cfgs[r], settings[r], continue_dir); });
        } catch (const RunStopped& e) {
            const int sig = stop_signal();
            std::fprintf(stderr, "\n%s: stopped by %s in iteration %d of %d.\n", argv[0],
                         sig == SIGTERM ? "SIGTERM" : "SIGINT", e.itr + 1, b.n_iter);
            if (e.checkpoint_itr > 0)
                std::fprintf(stderr, "%s: %s/checkpoint.bin holds %d complete iteration(s); resume with:\n  %s --resume %s\n",
                             argv[0], e.dir.c_str(), e.checkpoint_itr, shell_quote(argv[0]).c_str(),
                             shell_quote(e.dir).c_str());
            else
                std::fprintf(stderr, "%s: no checkpoint in %s/ (%s), so it cannot be resumed\n", argv[0], e.dir.c_str(),
                             b.save_params ? "no iteration was complete" : "the run had no --save_params");
            return 128 + (sig == SIGTERM ? SIGTERM : SIGINT);
        } catch (const RunLocked& e) {  // run_lock.hpp: another process writes this run directory
            pass_over(e);
            continue;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
            return 1;
        }
        if (stop_signal() != 0) return 128 + (stop_signal() == SIGTERM ? SIGTERM : SIGINT);  // after a complete run
    }
    return busy ? kExitRunLocked : 0;
}
inline int mb_main(int argc, char** argv, const std::vector<std::string>& commands) {
    return question_main<MBConfig>(argc, argv, commands);
}

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_MAIN_HPP
