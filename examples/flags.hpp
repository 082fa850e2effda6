// examples/flags.hpp: the question binaries' command line. Every flag comes from a config's field
// table (mbrl.hpp section 15): the reference's run_hw4_mb.py (q1..q5) and run_hw4_mbpo.py (q6)
// names, with their aliases and defaults; the flags that change nothing here are kept to be shown.
#ifndef MBRL_EXAMPLES_FLAGS_HPP
#define MBRL_EXAMPLES_FLAGS_HPP

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
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

// The processor a run ran on, for flags.csv: /proc/cpuinfo's model name, family and model (which
// tell CPU generations apart where the name does not, e.g. "AMD EPYC"), and its widest vector
// extensions; "unknown" where there is no /proc/cpuinfo.
inline std::string cpu_description() {
    std::ifstream in("/proc/cpuinfo");
    std::string line, name, family, model, flags;
    auto value = [](const std::string& l) {
        const auto c = l.find(':');
        std::string v = c == std::string::npos ? "" : l.substr(c + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
        return v;
    };
    while (std::getline(in, line) && !line.empty()) {  // the first processor's block
        if (line.rfind("model name", 0) == 0) name = value(line);
        else if (line.rfind("cpu family", 0) == 0) family = value(line);
        else if (line.rfind("model", 0) == 0 && line.find("model name") != 0) model = value(line);
        else if (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0) flags = " " + value(line) + " ";
    }
    if (name.empty() && flags.empty()) return "unknown";
    std::string s = name.empty() ? "unknown" : name;
    if (!family.empty()) s += " (family " + family + " model " + model + ")";
    std::string isa;
    for (const char* f : {"avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "asimd", "bf16"})
        if (flags.find(std::string(" ") + f + " ") != std::string::npos) isa += (isa.empty() ? "" : " ") + std::string(f);
    return isa.empty() ? s : s + " " + isa;  // no comma: flags.csv is name,value
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
    unsigned tags = 0;  // the field's FieldTag bits (kBeyond: not a flag of the reference)
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

// The reference's short aliases (argparse), by long name.
inline std::vector<std::string> flag_names(const std::string& name) {
    static const std::map<std::string, std::string> alias = {
        {"n_iter", "-n"}, {"ensemble_size", "-e"}, {"add_sl_noise", "-noise"}, {"batch_size", "-b"},
        {"train_batch_size", "-tb"}, {"eval_batch_size", "-eb"}, {"learning_rate", "-lr"}, {"n_layers", "-l"},
        {"size", "-s"}, {"no_gpu", "-ngpu"}, {"which_gpu", "-gpu_id"}};
    const auto it = alias.find(name);
    if (it == alias.end()) return {"--" + name};
    return {"--" + name, it->second};
}

// The flag of one field of a table: how its text sets the member and how the member shows.
// Numbers parse strictly; a bool without names is a switch (no value); a choice takes one of
// its names.
template <class X>
Flag field_flag(const Field& d, X& v) {
    const std::string name = "--" + std::string(d.name);
    Flag f{flag_names(d.name), true, nullptr, nullptr, d.help, d.tags};
    if constexpr (std::is_same<X, bool>::value) {
        f.takes_value = false;
        f.set = [&v](const std::string&) { v = true; };
        f.show = [&v] { return std::string(v ? "1" : "0"); };
    } else if constexpr (std::is_same<X, std::string>::value) {
        f.set = [&v](const std::string& t) { v = t; };
        f.show = [&v] { return v; };
    } else if constexpr (std::is_same<X, double>::value) {
        f.set = [&v, name](const std::string& t) { v = parse_double(name, t); };
        f.show = [&v] { return csv_num(v); };
    } else if constexpr (std::is_same<X, uint64_t>::value) {
        f.set = [&v, name](const std::string& t) {
            const long long s = parse_int(name, t);
            if (s < 0) throw FlagError(name + ": must be >= 0, got " + t);
            v = static_cast<uint64_t>(s);
        };
        f.show = [&v] { return std::to_string(v); };
    } else {
        static_assert(std::is_same<X, int>::value, "a field is int, uint64_t, double, bool, std::string or a choice");
        f.set = [&v, name](const std::string& t) { v = static_cast<int>(parse_int(name, t)); };
        f.show = [&v] { return std::to_string(v); };
    }
    return f;
}
template <class X>
Flag field_flag(const Field& d, X& v, const Names& names) {
    const std::string name = "--" + std::string(d.name);
    Flag f{flag_names(d.name), true, nullptr, nullptr, d.help, d.tags};
    f.set = [&v, name, names](const std::string& t) {
        std::string all;
        for (int k = 0; k < names.count; ++k) {
            if (t == names.text[k]) {
                v = static_cast<X>(k);
                return;
            }
            all += (k ? ", " : "") + std::string(names.text[k]);
        }
        throw FlagError(name + ": '" + t + "' is not one of " + all);
    };
    f.show = [&v, names] { return std::string(names.text[static_cast<int>(v)]); };
    return f;
}

// A flag of the reference that changes nothing here (GPU choice, videos, ep_len, sac_batch_size):
// accepted, its value kept in the flag itself, only to be shown (flags.csv).
inline Flag kept_flag(const std::string& name, int value, const std::string& help) {
    auto v = std::make_shared<int>(value);
    return Flag{flag_names(name), true, [v, n = "--" + name](const std::string& t) { *v = static_cast<int>(parse_int(n, t)); },
                [v] { return std::to_string(*v); }, help};
}
inline Flag kept_switch(const std::string& name, const std::string& help) {
    auto v = std::make_shared<bool>(false);
    return Flag{flag_names(name), false, [v](const std::string&) { *v = true; }, [v] { return std::string(*v ? "1" : "0"); },
                help};
}

// --video_log_freq: -1 (no videos), or N > 0: videos every N iterations (examples/video.hpp),
// which reads the value back from the run's settings (flags.csv's): no config holds it.
inline Flag video_flag() {
    Flag f = kept_flag("video_log_freq", -1,
                       "videos every this many iterations (GIFs; obstacles: path CSVs), 2 rollouts each of the "
                       "collection and evaluation policies; -1: none");
    f.set = [set = f.set](const std::string& t) {
        const long long v = parse_int("--video_log_freq", t);
        if (v == 0 || v < -1) throw FlagError("--video_log_freq: must be -1 or positive, got " + t);
        set(t);
    };
    return f;
}

// The flags of a config's table (fields tagged kNoFlag have none; with reference_only, none for
// those tagged kBeyond either), in the table's order, with the kept flags where the reference
// lists them. `fields` calls the config's table with a visitor.
template <class Fields>
std::vector<Flag> table_flags(Fields&& fields, bool reference_only) {
    std::vector<Flag> flags;
    fields([&](const Field& d, auto& v, auto&&... names) {
        if ((d.tags & kNoFlag) || (reference_only && (d.tags & kBeyond))) return;
        flags.push_back(field_flag(d, v, names...));
        const std::string n = d.name;
        if (n == "env_name")
            flags.push_back(kept_flag("ep_len", 200, "ignored: each env fixes its own (100 / 200 / 500), which flags.csv shows"));
        if (n == "seed") {
            flags.push_back(kept_switch("no_gpu", "accepted; everything runs on the CPU"));
            flags.push_back(kept_flag("which_gpu", 0, "accepted; everything runs on the CPU"));
            flags.push_back(video_flag());
        }
        if (n == "sac_train_batch_size") flags.push_back(kept_flag("sac_batch_size", 1000, "accepted; unused, as in the reference"));
    });
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

// run_hw4_mb.py's flags bound to the shared settings c and the planner's m (reference_only: the
// reference's flags alone, else with those beyond it).
inline std::vector<Flag> mb_flags(LoopConfig& c, MPCConfig& m, bool reference_only = true) {
    return table_flags([&](auto&& f) { c.fields(f, &m); }, reference_only);
}
inline std::vector<Flag> mb_flags(MBConfig& c) { return mb_flags(c, c.mpc); }
// run_hw4_mbpo.py's: the shared flags, the SAC flags, --mbpo_rollout_length, and the planner's,
// which run_hw4_mbpo.py accepts though no planner runs: they set `unused` and show in flags.csv.
inline std::vector<Flag> mbpo_flags(MBPOConfig& c, MPCConfig& unused, bool reference_only = true) {
    return table_flags([&](auto&& f) { c.fields(f, &unused); }, reference_only);
}
inline std::vector<Flag> mbpo_flags(MBPOConfig& c, bool reference_only = true) {
    auto unused = std::make_shared<MPCConfig>();
    std::vector<Flag> flags = mbpo_flags(c, *unused, reference_only);
    keep_alive(flags, unused);
    return flags;
}
// A binary's flags: the reference's and those beyond it.
inline std::vector<Flag> all_flags(MBConfig& c) { return mb_flags(c, c.mpc, false); }
inline std::vector<Flag> all_flags(MBPOConfig& c) { return mbpo_flags(c, false); }

// The values the flags beyond the reference had before they existed: an old run's flags.csv
// without them ran so (their defaults, by the tables' kBeyond tags).
inline const std::map<std::string, std::string>& beyond_defaults() {
    static const std::map<std::string, std::string> d = [] {
        std::map<std::string, std::string> m;
        MBConfig mb;
        MBPOConfig mbpo;
        std::vector<Flag> all = all_flags(mb), all6 = all_flags(mbpo);
        all.insert(all.end(), all6.begin(), all6.end());
        for (Flag& f : all)
            if (f.tags & kBeyond) m[f.names[0].substr(2)] = f.show();
        return m;
    }();
    return d;
}

// The library's validate() of a config, its ConfigError told as a FlagError naming the flag:
// the library and the command line check the same rules, in one place (mbrl.hpp section 15).
template <class Config>
void validate_as_flags(const Config& c) {
    try {
        c.validate();
    } catch (const ConfigError& e) {
        throw FlagError("--" + e.field + ": " + e.problem);
    }
}
// Checks every value; the message names the flag. The numbers are the library's to check; the
// env name and the run directory's name are this program's.
inline void check_names(const LoopConfig& c) {
    const auto names = env_names();
    if (std::find(names.begin(), names.end(), c.env_name) == names.end()) {
        std::string valid;
        for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
        throw FlagError("--env_name: '" + c.env_name + "' is not one of " + valid);
    }
}
inline void check_mb_config(const MBConfig& c) {
    check_names(c);
    validate_as_flags(c);
    if (c.exp_name.empty() || c.exp_name.find('/') != std::string::npos)
        throw FlagError("--exp_name: must be a non-empty name without '/'");
}
inline void check_mbpo_config(const MBPOConfig& c) {
    check_names(c.mb);
    validate_as_flags(c);
    if (c.mb.exp_name.empty() || c.mb.exp_name.find('/') != std::string::npos)
        throw FlagError("--exp_name: must be a non-empty name without '/'");
}
inline void check_config(const MBConfig& c) { check_mb_config(c); }
inline void check_config(const MBPOConfig& c) { check_mbpo_config(c); }

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

inline std::vector<std::string> split_words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> w;
    for (std::string x; in >> x;) w.push_back(x);
    return w;
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
    std::printf("  %-42s the video of the policy the run in DIR ends with, from its checkpoint.bin:\n"
                "  %-42s DIR/eval_rollouts_itr<k>.gif, k its iterations (obstacles: the paths' CSV)\n",
                "--final_video DIR", "");
    std::printf("\nA run whose directory another process is writing (it holds the directory's .lock) is not\n"
                "run: the holder's pid and host are printed, exit code %d.\n", kExitRunLocked);
    std::printf("\nCtrl-C or SIGTERM stops a run within about a second (exit code 130 / 143) and prints\n"
                "the command that resumes it (with --save_params).\n");
    std::printf("\nThreads: OMP_NUM_THREADS (now %d). Results do not depend on it.\n", thread_count());
}

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_FLAGS_HPP
