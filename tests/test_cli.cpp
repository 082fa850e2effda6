// tests/test_cli.cpp: the command line of the question binaries against the reference's scripts
// (docs/reference.md section 2): every flag and alias lands in its own field and no other, and
// every default equals the reference's. The table below is typed in from the reference document
// (docs/reference.md section 2), not derived from the field tables that make the flags.
#include <functional>
#include <set>

#include "../examples/main.hpp"
#include "helpers.hpp"

using namespace mbrl;
using namespace mbrl_examples;

namespace {

struct Row {
    std::vector<std::string> names;  // long name first, then the aliases
    std::string value;               // a non-default value to set ("" for a switch)
    std::string ref_default;         // reference section 2.1 / 2.2 ("" for --env_name: none)
    std::function<std::string(MBPOConfig&)> get;  // null: read through the flag's show() (no field)
    bool mbpo_only = false;
};

std::string s(double v) { return csv_num(v); }
std::string s(int v) { return std::to_string(v); }
std::string b(bool v) { return v ? "1" : "0"; }

// Reference section 2.1 (run_hw4_mb.py) and 2.2 (run_hw4_mbpo.py).
std::vector<Row> reference_table() {
    return {
        {{"--env_name"}, "reacher-cs285-v0", "", [](MBPOConfig& c) { return c.mb.env_name; }},
        {{"--ep_len"}, "77", "200", nullptr},
        {{"--exp_name"}, "abc", "todo", [](MBPOConfig& c) { return c.mb.exp_name; }},
        {{"--n_iter", "-n"}, "7", "20", [](MBPOConfig& c) { return s(c.mb.n_iter); }},
        {{"--ensemble_size", "-e"}, "4", "3", [](MBPOConfig& c) { return s(c.mb.ensemble_size); }},
        // The planner's flags: in an MBConfig's mpc (q1-q5), parsed and unused in q6 (as the
        // reference's run_hw4_mbpo.py has them): read through the flag.
        {{"--mpc_horizon"}, "13", "10", nullptr},
        {{"--mpc_num_action_sequences"}, "321", "1000", nullptr},
        {{"--mpc_action_sampling_strategy"}, "cem", "random", nullptr},
        {{"--cem_iterations"}, "6", "4", nullptr},
        {{"--cem_num_elites"}, "9", "5", nullptr},
        {{"--cem_alpha"}, "0.25", "1.0", nullptr},
        {{"--add_sl_noise", "-noise"}, "", "0", [](MBPOConfig& c) { return b(c.mb.add_sl_noise); }},
        {{"--num_agent_train_steps_per_iter"}, "55", "1000",
         [](MBPOConfig& c) { return s(c.mb.num_agent_train_steps_per_iter); }},
        {{"--batch_size_initial"}, "1234", "20000", [](MBPOConfig& c) { return s(c.mb.batch_size_initial); }},
        {{"--batch_size", "-b"}, "777", "8000", [](MBPOConfig& c) { return s(c.mb.batch_size); }},
        {{"--train_batch_size", "-tb"}, "64", "512", [](MBPOConfig& c) { return s(c.mb.train_batch_size); }},
        {{"--eval_batch_size", "-eb"}, "123", "400", [](MBPOConfig& c) { return s(c.mb.eval_batch_size); }},
        {{"--learning_rate", "-lr"}, "0.005", "0.001", [](MBPOConfig& c) { return s(c.mb.learning_rate); }},
        {{"--n_layers", "-l"}, "3", "2", [](MBPOConfig& c) { return s(c.mb.n_layers); }},
        {{"--size", "-s"}, "99", "250", [](MBPOConfig& c) { return s(c.mb.size); }},
        {{"--seed"}, "17", "1", [](MBPOConfig& c) { return std::to_string(c.mb.seed); }},
        {{"--no_gpu", "-ngpu"}, "", "0", nullptr},
        {{"--which_gpu", "-gpu_id"}, "2", "0", nullptr},
        {{"--video_log_freq"}, "5", "-1", nullptr},
        {{"--scalar_log_freq"}, "3", "1", [](MBPOConfig& c) { return s(c.mb.scalar_log_freq); }},
        {{"--save_params"}, "", "0", nullptr},
        // Not a reference flag: where run directories go (the reference writes under data/).
        {{"--data_dir"}, "elsewhere", "data", [](MBPOConfig& c) { return c.mb.data_dir; }},
        // Section 2.2.
        {{"--sac_num_agent_train_steps_per_iter"}, "2", "1", [](MBPOConfig& c) { return s(c.sac_train_steps); }, true},
        {{"--sac_num_critic_updates_per_agent_update"}, "3", "1", [](MBPOConfig& c) { return s(c.sac.critic_updates); }, true},
        {{"--sac_num_actor_updates_per_agent_update"}, "4", "1", [](MBPOConfig& c) { return s(c.sac.actor_updates); }, true},
        {{"--sac_actor_update_frequency"}, "5", "1", [](MBPOConfig& c) { return s(c.sac.actor_update_frequency); }, true},
        {{"--sac_critic_target_update_frequency"}, "6", "1",
         [](MBPOConfig& c) { return s(c.sac.critic_target_update_frequency); }, true},
        {{"--sac_train_batch_size"}, "128", "256", [](MBPOConfig& c) { return s(c.sac.batch); }, true},
        {{"--sac_batch_size"}, "1500", "1000", nullptr, true},
        {{"--sac_discount"}, "0.95", "0.99", [](MBPOConfig& c) { return s(c.sac.discount); }, true},
        {{"--sac_init_temperature"}, "0.1", "1.0", [](MBPOConfig& c) { return s(c.sac.init_temperature); }, true},
        {{"--sac_learning_rate"}, "0.001", "3e-4", [](MBPOConfig& c) { return s(c.sac.learning_rate); }, true},
        {{"--sac_n_layers"}, "3", "2", [](MBPOConfig& c) { return s(c.sac.n_layers); }, true},
        {{"--sac_size"}, "256", "64", [](MBPOConfig& c) { return s(c.sac.size); }, true},
        {{"--sac_n_iter"}, "5000", "200", [](MBPOConfig& c) { return s(c.sac_n_iter); }, true},
        {{"--mbpo_rollout_length"}, "10", "1", [](MBPOConfig& c) { return s(c.rollout_length); }, true},
    };
}

// Equal as numbers when both are numbers, else as text.
bool same(const std::string& a, const std::string& b) {
    char *ea = nullptr, *eb = nullptr;
    const double x = std::strtod(a.c_str(), &ea), y = std::strtod(b.c_str(), &eb);
    if (!a.empty() && !b.empty() && *ea == 0 && *eb == 0) return std::fabs(x - y) <= 1e-12 * std::max(1.0, std::fabs(x));
    return a == b;
}

Flag* find_flag(std::vector<Flag>& flags, const std::string& name) {
    for (Flag& f : flags)
        if (std::find(f.names.begin(), f.names.end(), name) != f.names.end()) return &f;
    return nullptr;
}

// The current value of a table row: its field, or the flag's show() for flags without a field.
std::string current(const Row& r, MBPOConfig& c, std::vector<Flag>& flags) {
    if (r.get) return r.get(c);
    return find_flag(flags, r.names[0])->show();
}

}  // namespace

TEST_CASE("Command line: every default equals the reference's (docs/reference.md section 2)") {
    MBPOConfig c;
    std::vector<Flag> flags = mbpo_flags(c);
    for (const Row& r : reference_table()) {
        CAPTURE(r.names[0]);
        REQUIRE(find_flag(flags, r.names[0]) != nullptr);
        CHECK(same(current(r, c, flags), r.ref_default));
    }
    CHECK(SACConfig().tau == 0.005);  // critic_tau (3.7), not a flag
    CHECK(c.sac_buffer_size == 100000);
}

TEST_CASE("Command line: the flags are exactly the reference's, with its aliases") {
    std::set<std::vector<std::string>> want_mb, have_mb;
    std::set<std::string> want_long, have_long, have_aliases;
    for (const Row& r : reference_table()) {
        want_long.insert(r.names[0]);
        if (!r.mbpo_only) want_mb.insert(r.names);
    }
    MBPOConfig c;
    MBConfig mb;
    for (const Flag& f : mb_flags(mb)) have_mb.insert(f.names);
    CHECK(have_mb == want_mb);  // q1-q5: run_hw4_mb.py's names and aliases
    for (const Flag& f : mbpo_flags(c)) {
        have_long.insert(f.names[0]);
        have_aliases.insert(f.names.begin() + 1, f.names.end());
    }
    CHECK(have_long == want_long);  // q6: run_hw4_mbpo.py's names ...
    // ... and its aliases (reference 2.2: -n, -eb, -tb). q6 also accepts run_hw4_mb.py's other
    // aliases (-e, -noise, -b, -lr, -l, -s), which run_hw4_mbpo.py lacks: a harmless superset.
    for (const char* a : {"-n", "-eb", "-tb"}) CHECK(have_aliases.count(a) == 1);
    // Every flag beyond the reference's (q6's switches, PETS and the true model) has the value that runs
    // made before it existed ran with, so that --skip_if_complete knows their flags.csv.
    std::set<std::string> reference;
    for (const Row& r : reference_table()) reference.insert(r.names[0]);
    MBConfig probe_mb;
    MBPOConfig probe_mbpo;
    std::vector<Flag> all = all_flags(probe_mb), all6 = all_flags(probe_mbpo);
    all.insert(all.end(), all6.begin(), all6.end());
    for (const Flag& f : all) {
        CAPTURE(f.names[0]);
        if (!reference.count(f.names[0])) CHECK(beyond_defaults().count(f.names[0].substr(2)) == 1);
    }
}

TEST_CASE("Command line: every flag and alias, as '--flag v' and '--flag=v', lands in its own field and no other") {
    const std::vector<Row> table = reference_table();
    for (const Row& r : table) {
        for (const std::string& name : r.names) {
            for (int form = 0; form < 2; ++form) {
                if (form == 1 && r.value.empty()) continue;  // a switch takes no value
                for (int which = 0; which < 2; ++which) {    // the q6 flag set, and q1-q5's
                    if (which == 1 && r.mbpo_only) continue;
                    MBPOConfig c;
                    MPCConfig planner;  // q1-q5: the shared settings in c.mb, the planner's here
                    std::vector<Flag> flags = which == 0 ? mbpo_flags(c) : mb_flags(c.mb, planner);
                    // Every setting's value, before: its field, or its flag's show() for the
                    // flags that keep their value themselves ("" for a flag not in this set).
                    auto value_of = [&](const Row& o) -> std::string {
                        if (o.get) return o.get(c);
                        Flag* f = find_flag(flags, o.names[0]);
                        return f ? f->show() : "";
                    };
                    std::vector<std::string> before;
                    for (const Row& o : table) before.push_back(value_of(o));
                    std::vector<std::string> args;
                    if (r.value.empty())
                        args = {name};
                    else if (form == 0)
                        args = {name, r.value};
                    else
                        args = {name + "=" + r.value};
                    CAPTURE(name);
                    CAPTURE(form);
                    CAPTURE(which);
                    parse_flags(args, flags);
                    CHECK(same(current(r, c, flags), r.value.empty() ? "1" : r.value));
                    for (std::size_t k = 0; k < table.size(); ++k)
                        if (table[k].names != r.names) {
                            CAPTURE(table[k].names[0]);
                            CHECK(value_of(table[k]) == before[k]);  // nothing else moved
                        }
                }
            }
        }
    }
}

// --no_gpu, --which_gpu and --save_params were once kept in function-local statics, so a value
// set for one command line showed up in every later config of the same process (the q binaries
// run every command of a question in one process). They are fields of MBConfig now.
TEST_CASE("Command line: --no_gpu, --which_gpu and --save_params of one config do not leak into the next") {
    {
        MBConfig c;
        std::vector<Flag> flags = mb_flags(c);
        parse_flags({"--no_gpu", "--which_gpu", "3", "--save_params"}, flags);
    }
    MBConfig fresh;
    std::vector<Flag> flags = mb_flags(fresh);
    CHECK(find_flag(flags, "--no_gpu")->show() == "0");
    CHECK(find_flag(flags, "--which_gpu")->show() == "0");
    CHECK(find_flag(flags, "--save_params")->show() == "0");
}
