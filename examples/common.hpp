// examples/common.hpp: what the question binaries share: the flags of the reference's
// run_hw4_mb.py (q1..q5) and run_hw4_mbpo.py (q6) with the same names, aliases and defaults,
// their checks, the start-up banner, and "no flags: run every command of this question".
#ifndef MBRL_EXAMPLES_COMMON_HPP
#define MBRL_EXAMPLES_COMMON_HPP

#ifdef _OPENMP
#include <omp.h>
#endif

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../envs/envs.hpp"
#include "../mbrl.hpp"
#include "run_log.hpp"

namespace mbrl_examples {

using namespace mbrl;  // the library, inside this namespace only

inline int thread_count() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// A bad command line: the message names the flag; main() prints it and exits with code 2.
struct FlagError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One command-line flag: its names, whether it takes a value, how to set it and how to show it.
struct Flag {
    std::vector<std::string> names;  // "--n_iter", "-n"
    bool takes_value;
    std::function<void(const std::string&)> set;
    std::function<std::string()> show;
    std::string help;
};

inline long long parse_int(const std::string& flag, const std::string& text) {
    std::size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(text, &used);
    } catch (...) {
        used = 0;
    }
    if (used == 0 || used != text.size()) throw FlagError(flag + ": '" + text + "' is not an integer");
    return v;
}
inline double parse_double(const std::string& flag, const std::string& text) {
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (...) {
        used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(v))
        throw FlagError(flag + ": '" + text + "' is not a finite number");
    return v;
}

// A flag of the reference that changes nothing here (GPU choice, videos, ep_len, sac_batch_size):
// accepted, and its value kept in the flag itself, only to be shown (flags.csv), so the library's
// configs carry no dead fields.
inline Flag kept_int_flag(std::vector<std::string> names, int value, std::string help) {
    auto v = std::make_shared<int>(value);
    const std::string name = names[0];
    return Flag{names, true, [v, name](const std::string& t) { *v = static_cast<int>(parse_int(name, t)); },
                [v] { return std::to_string(*v); }, help};
}
inline Flag kept_bool_flag(std::vector<std::string> names, std::string help) {
    auto v = std::make_shared<bool>(false);
    return Flag{names, false, [v](const std::string&) { *v = true; }, [v] { return std::string(*v ? "1" : "0"); }, help};
}

// The flags of run_hw4_mb.py bound to the shared settings c and the planner's m.
inline std::vector<Flag> mb_flags(LoopConfig& c, MPCConfig& m) {
    auto int_flag = [](std::vector<std::string> names, int* p, std::string help) {
        const std::string name = names[0];
        return Flag{names, true, [p, name](const std::string& v) { *p = static_cast<int>(parse_int(name, v)); },
                    [p] { return std::to_string(*p); }, help};
    };
    auto str_flag = [](std::vector<std::string> names, std::string* p, std::string help) {
        return Flag{names, true, [p](const std::string& v) { *p = v; }, [p] { return *p; }, help};
    };
    auto bool_flag = [](std::vector<std::string> names, bool* p, std::string help) {
        return Flag{names, false, [p](const std::string&) { *p = true; }, [p] { return std::string(*p ? "1" : "0"); },
                    help};
    };
    return {
        str_flag({"--env_name"}, &c.env_name, "obstacles-cs285-v0 | reacher-cs285-v0 | cheetah-cs285-v0"),
        kept_int_flag({"--ep_len"}, 200, "ignored: each env fixes its own (100 / 200 / 500), which flags.csv shows"),
        str_flag({"--exp_name"}, &c.exp_name, "name of the run directory data/hw4_<exp_name>_<env_name>_<time>"),
        int_flag({"--n_iter", "-n"}, &c.n_iter, "outer iterations"),
        int_flag({"--ensemble_size", "-e"}, &c.ensemble_size, "members of the dynamics ensemble"),
        int_flag({"--mpc_horizon"}, &m.horizon, "planning horizon H"),
        int_flag({"--mpc_num_action_sequences"}, &m.num_sequences, "candidate sequences K"),
        Flag{{"--mpc_action_sampling_strategy"}, true,
             [&m](const std::string& v) {
                 if (v != "random" && v != "cem")
                     throw FlagError("--mpc_action_sampling_strategy: '" + v + "' is not one of random, cem");
                 m.cem = v == "cem";
             },
             [&m] { return std::string(m.cem ? "cem" : "random"); }, "random | cem"},
        int_flag({"--cem_iterations"}, &m.cem_iterations, "CEM rounds M (the first is uniform)"),
        int_flag({"--cem_num_elites"}, &m.cem_num_elites, "CEM elites J"),
        Flag{{"--cem_alpha"}, true, [&m](const std::string& v) { m.cem_alpha = parse_double("--cem_alpha", v); },
             [&m] { return csv_num(m.cem_alpha); }, "CEM smoothing in (0, 1]"},
        bool_flag({"--add_sl_noise", "-noise"}, &c.add_sl_noise, "noise the new observations in the buffer"),
        int_flag({"--num_agent_train_steps_per_iter"}, &c.num_agent_train_steps_per_iter, "ensemble steps per iteration"),
        int_flag({"--batch_size_initial"}, &c.batch_size_initial, "env steps collected at iteration 0 (random)"),
        int_flag({"--batch_size", "-b"}, &c.batch_size, "env steps collected per later iteration (MPC)"),
        int_flag({"--train_batch_size", "-tb"}, &c.train_batch_size, "minibatch rows per member per step"),
        int_flag({"--eval_batch_size", "-eb"}, &c.eval_batch_size, "env steps of evaluation per iteration"),
        Flag{{"--learning_rate", "-lr"}, true,
             [&c](const std::string& v) { c.learning_rate = parse_double("--learning_rate", v); },
             [&c] { return csv_num(c.learning_rate); }, "Adam step size of the dynamics models"},
        int_flag({"--n_layers", "-l"}, &c.n_layers, "hidden layers per member"),
        int_flag({"--size", "-s"}, &c.size, "units per hidden layer"),
        Flag{{"--seed"}, true,
             [&c](const std::string& v) {
                 const long long s = parse_int("--seed", v);
                 if (s < 0) throw FlagError("--seed: must be >= 0, got " + v);
                 c.seed = static_cast<uint64_t>(s);
             },
             [&c] { return std::to_string(c.seed); }, "seed of every random draw"},
        kept_bool_flag({"--no_gpu", "-ngpu"}, "accepted; everything runs on the CPU"),
        kept_int_flag({"--which_gpu", "-gpu_id"}, 0, "accepted; everything runs on the CPU"),
        kept_int_flag({"--video_log_freq"}, -1, "accepted; no videos are written"),
        int_flag({"--scalar_log_freq"}, &c.scalar_log_freq, "evaluate and log every this many iterations; -1: never"),
        bool_flag({"--save_params"}, &c.save_params,
                  "write checkpoint.bin into the run directory after every iteration (for --resume)"),
        str_flag({"--data_dir"}, &c.data_dir, "where run directories go (default data)"),
    };
}
inline std::vector<Flag> mb_flags(MBConfig& c) { return mb_flags(c, c.mpc); }

// The flags beyond the homework (issue 13: PETS, planning on the true simulator), for every
// question; the defaults are the homework's behaviour. Not in mb_flags(): those are exactly the
// reference's.
inline std::vector<Flag> beyond_flags(LoopConfig& c, MPCConfig& m) {
    return {
        Flag{{"--model_type"}, true,
             [&c](const std::string& v) {
                 if (v != "deterministic" && v != "probabilistic")
                     throw FlagError("--model_type: '" + v + "' is not one of deterministic, probabilistic");
                 c.model_type = v == "probabilistic" ? ModelType::probabilistic : ModelType::deterministic;
             },
             [&c] { return std::string(c.model_type == ModelType::probabilistic ? "probabilistic" : "deterministic"); },
             "deterministic | probabilistic: members predict s' - s, or a Gaussian of it (PETS; also q6's rollouts)"},
        Flag{{"--mpc_propagation"}, true,
             [&m](const std::string& v) {
                 if (v != "expectation" && v != "ts1" && v != "tsinf")
                     throw FlagError("--mpc_propagation: '" + v + "' is not one of expectation, ts1, tsinf");
                 m.propagation = v == "ts1" ? Propagation::ts1 : v == "tsinf" ? Propagation::tsinf
                                                                                 : Propagation::expectation;
             },
             [&m] {
                 return std::string(m.propagation == Propagation::ts1     ? "ts1"
                                    : m.propagation == Propagation::tsinf ? "tsinf"
                                                                              : "expectation");
             },
             "expectation | ts1 | tsinf: one mean rollout per member, or particles with a member drawn per step / "
             "fixed per particle"},
        Flag{{"--mpc_particles"}, true,
             [&m](const std::string& v) { m.particles = static_cast<int>(parse_int("--mpc_particles", v)); },
             [&m] { return std::to_string(m.particles); },
             "particles per candidate with ts1 / tsinf; 0: one per member"},
        Flag{{"--mpc_model"}, true,
             [&m](const std::string& v) {
                 if (v != "learned" && v != "true")
                     throw FlagError("--mpc_model: '" + v + "' is not one of learned, true");
                 m.true_model = v == "true";
             },
             [&m] { return std::string(m.true_model ? "true" : "learned"); },
             "learned | true: plan on the ensemble, or on the true simulator (the upper bound)"},
    };
}
// The values these flags had before they existed: an old run's flags.csv without them ran so.
inline const std::map<std::string, std::string>& beyond_defaults() {
    static const std::map<std::string, std::string> d = {
        {"model_type", "deterministic"}, {"mpc_propagation", "expectation"}, {"mpc_particles", "0"}, {"mpc_model", "learned"},
        {"mbpo_rollout_reward", "post"}, {"mbpo_rollout_model", "mean"}, {"sac_logstd", "clamp"}};
    return d;
}

// The library's validate() of a config, its ConfigError told as a FlagError naming the flag:
// the library and the command line check the same rules, in one place (mbrl.hpp).
template <class Config>
void validate_as_flags(const Config& c) {
    try {
        c.validate();
    } catch (const ConfigError& e) {
        throw FlagError("--" + e.field + ": " + e.problem);
    }
}

// Checks every value; the message names the flag. The numbers are the library's to check
// (MBConfig::validate); the env name and the run directory's name are this program's.
template <class Config>
void check_names_and_values(const Config& c) {
    const auto names = env_names();
    if (std::find(names.begin(), names.end(), c.env_name) == names.end()) {
        std::string valid;
        for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
        throw FlagError("--env_name: '" + c.env_name + "' is not one of " + valid);
    }
    validate_as_flags(c);
    if (c.exp_name.empty() || c.exp_name.find('/') != std::string::npos)
        throw FlagError("--exp_name: must be a non-empty name without '/'");
}
inline void check_mb_config(const MBConfig& c) { check_names_and_values(c); }

// Parses args (without the program name) through `flags`; throws FlagError on anything unknown.
inline void parse_flags(const std::vector<std::string>& args, std::vector<Flag>& flags) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i], value;
        const std::size_t eq = name.find('=');
        const bool inline_value = name.rfind("-", 0) == 0 && eq != std::string::npos;
        if (inline_value) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        Flag* f = nullptr;
        for (Flag& g : flags)
            if (std::find(g.names.begin(), g.names.end(), name) != g.names.end()) f = &g;
        if (!f) throw FlagError("unknown flag '" + name + "' (see --help)");
        if (f->takes_value && !inline_value) {
            if (i + 1 >= args.size()) throw FlagError(name + ": missing value");
            value = args[++i];
        }
        if (!f->takes_value && inline_value) throw FlagError(name + ": takes no value");
        f->set(value);
    }
}
inline void parse_mb_flags(const std::vector<std::string>& args, MBConfig& cfg, std::vector<Flag>& flags) {
    parse_flags(args, flags);
    check_mb_config(cfg);
}

// ------------------------------------------------------------------------------------------------
// run_hw4_mbpo.py: the shared flags, the SAC flags and --mbpo_rollout_length (reference 2.2).
// run_hw4_mbpo.py accepts the planner's flags but no planner runs: they are parsed into `unused`
// (kept alive by the flags, see keep_alive) and shown in flags.csv, as the reference's.
inline std::vector<Flag> mbpo_flags(MBPOConfig& c, MPCConfig& unused) {
    std::vector<Flag> flags = mb_flags(c.mb, unused);
    auto int_flag = [](std::string name, int* p, std::string help) {
        return Flag{{name}, true, [p, name](const std::string& v) { *p = static_cast<int>(parse_int(name, v)); },
                    [p] { return std::to_string(*p); }, help};
    };
    auto real_flag = [](std::string name, double* p, std::string help) {
        return Flag{{name}, true, [p, name](const std::string& v) { *p = parse_double(name, v); },
                    [p] { return csv_num(*p); }, help};
    };
    // A two-way choice (issue 11's switches): value `off` (the default) sets *p false, `on` true.
    auto choice_flag = [](std::string name, bool* p, std::string off, std::string on, std::string help) {
        return Flag{{name}, true,
                    [p, name, off, on](const std::string& v) {
                        if (v != off && v != on) throw FlagError(name + ": '" + v + "' is not one of " + off + ", " + on);
                        *p = v == on;
                    },
                    [p, off, on] { return *p ? on : off; }, off + " | " + on + ": " + help};
    };
    std::vector<Flag> more = {
        int_flag("--sac_num_agent_train_steps_per_iter", &c.sac_train_steps, "SAC steps per SAC round"),
        int_flag("--sac_num_critic_updates_per_agent_update", &c.sac.critic_updates, "critic updates per SAC step"),
        int_flag("--sac_num_actor_updates_per_agent_update", &c.sac.actor_updates, "actor updates per SAC step"),
        int_flag("--sac_actor_update_frequency", &c.sac.actor_update_frequency, "update the actor every this many steps"),
        int_flag("--sac_critic_target_update_frequency", &c.sac.critic_target_update_frequency,
                 "update the target critics every this many steps"),
        int_flag("--sac_train_batch_size", &c.sac.batch, "SAC minibatch rows"),
        kept_int_flag({"--sac_batch_size"}, 1000, "accepted; unused, as in the reference"),
        real_flag("--sac_discount", &c.sac.discount, "gamma"),
        real_flag("--sac_init_temperature", &c.sac.init_temperature, "initial alpha"),
        real_flag("--sac_learning_rate", &c.sac.learning_rate, "Adam step size of actor, critics and alpha"),
        int_flag("--sac_n_layers", &c.sac.n_layers, "hidden layers of actor and critics"),
        int_flag("--sac_size", &c.sac.size, "units per hidden layer of actor and critics"),
        int_flag("--sac_n_iter", &c.sac_n_iter, "SAC rounds (a model rollout, then SAC steps) per iteration"),
        int_flag("--mbpo_rollout_length", &c.rollout_length, "model rollout length k; 0 = model-free SAC"),
        choice_flag("--mbpo_rollout_reward", &c.reward_pre_step, "post", "pre",
                    "model steps rewarded by the predicted next state or by the state they start from"),
        choice_flag("--mbpo_rollout_model", &c.random_member, "mean", "random",
                    "model steps by the ensemble mean or by one member drawn per step"),
        choice_flag("--sac_logstd", &c.sac.logstd_tanh, "clamp", "tanh",
                    "log std of the actor: clamp(p, -20, 2) or tanh(p)"),
    };
    flags.insert(flags.end() - 1, more.begin(), more.end());  // keep --data_dir last
    return flags;
}
// Makes every flag hold `owner` (what some of them point into) for as long as the flag lives.
template <class T>
void keep_alive(std::vector<Flag>& flags, const std::shared_ptr<T>& owner) {
    for (Flag& f : flags) {
        f.set = [owner, set = f.set](const std::string& v) { set(v); };
        f.show = [owner, show = f.show] { return show(); };
    }
}
inline std::vector<Flag> mbpo_flags(MBPOConfig& c) {
    auto unused = std::make_shared<MPCConfig>();
    std::vector<Flag> flags = mbpo_flags(c, *unused);
    keep_alive(flags, unused);
    return flags;
}

inline void check_mbpo_config(const MBPOConfig& c) {
    check_names_and_values(c.mb);
    validate_as_flags(c);
}

// What differs between the two kinds of binary, as overloads the generic main below calls.
// A binary's flags: the reference's, then beyond_flags (before --data_dir, which stays last).
inline std::vector<Flag> with_beyond(std::vector<Flag> flags, LoopConfig& c, MPCConfig& m) {
    std::vector<Flag> more = beyond_flags(c, m);
    flags.insert(flags.end() - 1, more.begin(), more.end());
    return flags;
}
inline std::vector<Flag> all_flags(MBConfig& c) { return with_beyond(mb_flags(c), c, c.mpc); }
inline std::vector<Flag> all_flags(MBPOConfig& c) {
    auto unused = std::make_shared<MPCConfig>();
    std::vector<Flag> flags = with_beyond(mbpo_flags(c, *unused), c.mb, *unused);
    keep_alive(flags, unused);
    return flags;
}
inline void check_config(const MBConfig& c) { check_mb_config(c); }
inline void check_config(const MBPOConfig& c) { check_mbpo_config(c); }
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
    return run_and_log(env, c, s, true, resume_dir);
}
template <class Env>
std::string run_config(Env& env, const MBPOConfig& c, const std::vector<std::pair<std::string, std::string>>& s,
                       const std::string& resume_dir) {
    return run_and_log(env, c, s, true, resume_dir);
}

inline std::vector<std::string> split_words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> w;
    for (std::string x; in >> x;) w.push_back(x);
    return w;
}

inline void print_help(const char* prog, std::vector<Flag>& flags, const std::vector<std::string>& commands) {
    std::printf("usage: %s [flags]\n\nWith no flags, runs every command of this question:\n", prog);
    for (const auto& c : commands) std::printf("  %s %s\n", prog, c.c_str());
    std::printf("\nflags (names and defaults of the reference's scripts):\n");
    for (auto& f : flags) {
        std::string names;
        for (const auto& n : f.names) names += (names.empty() ? "" : ", ") + n;
        std::printf("  %-42s %s (default %s)\n", names.c_str(), f.help.c_str(), f.show().c_str());
    }
    std::printf("  %-42s this text\n", "--help, -h");
    std::printf("  %-42s print the commands above instead of running them, once per seed\n"
                "  %-42s (default: --seed's default), with any other flags given appended\n",
                "--print_commands [--seeds 1,2,3]", "");
    std::printf("  %-42s skip a run whose flags match a complete run in --data_dir\n", "--skip_if_complete");
    std::printf("  %-42s continue the run in DIR from its checkpoint.bin (flags from its flags.csv;\n"
                "  %-42s flags given here override them, e.g. a larger --n_iter)\n",
                "--resume DIR", "");
    std::printf("\nA run whose directory another process is writing (it holds the directory's .lock) is not\n"
                "run: the holder's pid and host are printed, exit code %d.\n", kExitRunLocked);
    std::printf("\nCtrl-C or SIGTERM stops a run within about a second (exit code 130 / 143) and prints\n"
                "the command that resumes it (with --save_params).\n");
    std::printf("\nThreads: OMP_NUM_THREADS (now %d). Results do not depend on it.\n", thread_count());
}

// ------------------------------------------------------------------------------------------------
// Sweeps: --print_commands [--seeds 1,2,3] and --skip_if_complete (see README, "Sweeps").

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

// A word as one shell word: unchanged if it has only safe characters, else single-quoted.
inline std::string shell_quote(const std::string& w) {
    const bool safe = !w.empty() && w.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                        "0123456789_-+=.,:/@%") == std::string::npos;
    if (safe) return w;
    std::string q = "'";
    for (char ch : w) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return q + "'";
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
// (threads, compiler, commit, command, save_params); a flag missing from the old file counts as
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
            if (kv.first == "data_dir" || kv.first == "threads" || kv.first == "compiler" || kv.first == "commit" ||
                kv.first == "command" || kv.first == "save_params")
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
inline std::string find_complete_run(const std::string& data_dir, const std::string& exp_name,
                                     const std::string& env_name, int n_iter,
                                     const std::vector<std::pair<std::string, std::string>>& settings) {
    return find_earlier_runs(data_dir, exp_name, env_name, n_iter, settings).complete;
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
    bool print_commands = false, skip_if_complete = false;
    std::string seeds_text, resume_dir;
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
            } else if (args[i] == "--resume" || args[i].rfind("--resume=", 0) == 0) {
                if (args[i] == "--resume" && i + 1 >= args.size()) {
                    std::fprintf(stderr, "%s: --resume: missing value (a run directory)\n", argv[0]);
                    return 2;
                }
                resume_dir = args[i] == "--resume" ? args[++i] : args[i].substr(9);
                if (resume_dir.empty()) {
                    std::fprintf(stderr, "%s: --resume: missing value (a run directory)\n", argv[0]);
                    return 2;
                }
            } else {
                rest.push_back(args[i]);
            }
        }
        args = rest;
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
        if (print_commands || skip_if_complete) {
            std::fprintf(stderr, "%s: --resume goes with neither --print_commands nor --skip_if_complete\n", argv[0]);
            return 2;
        }
        while (resume_dir.size() > 1 && resume_dir.back() == '/') resume_dir.pop_back();
        const auto old = read_flags_csv(std::filesystem::path(resume_dir) / "flags.csv");
        if (old.empty()) {
            std::fprintf(stderr, "%s: --resume: %s/flags.csv is missing or empty: not a run directory\n", argv[0],
                         resume_dir.c_str());
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
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const LoopConfig& b = base(cfgs[r]);
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
                    std::fprintf(stderr, "%s: busy: %s; not run (exit %d)\n", argv[0], e.what(), kExitRunLocked);
                    busy = true;
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
        std::printf("== %s on %s | seed %llu | %d thread(s) | %s ==\n", b.exp_name.c_str(), b.env_name.c_str(),
                    static_cast<unsigned long long>(b.seed), thread_count(), describe(cfgs[r]).c_str());
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
            std::fprintf(stderr, "%s: busy: %s; not run (exit %d)\n", argv[0], e.what(), kExitRunLocked);
            busy = true;
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
#endif  // MBRL_EXAMPLES_COMMON_HPP
