// tests/test_checkpoint.cpp: checkpoints and resume (a resumed run is bit-identical to
// an uninterrupted one, for the MB loop and for MBPO), stopping on request, bad checkpoints,
// one validation per config, exceptions out of OpenMP regions, and write errors.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../envs/obstacles.hpp"
#include "../examples/main.hpp"
#include "helpers.hpp"

using namespace mbrl;
namespace fs = std::filesystem;
using mbrl_examples::run_and_log;

namespace {

struct Tmp {
    fs::path path;
    explicit Tmp(const std::string& tag) {
        path = fs::temp_directory_path() / ("mbrl_test_ckpt_" + tag + "_" + std::to_string(::getpid()));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~Tmp() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// metrics.csv with the TimeSinceStart column cut out of every line.
std::string metrics_without_time(const std::string& dir) {
    std::ifstream in(dir + "/metrics.csv");
    std::string line, out;
    int time_col = -1;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::string cell, kept;
        int k = 0;
        for (; std::getline(ss, cell, ','); ++k) {
            if (time_col < 0 && cell == "TimeSinceStart") time_col = k;
            if (k != time_col) kept += cell + ",";
        }
        if (!line.empty() && line.back() == ',') kept += "<empty>";
        out += kept + "\n";
    }
    return out;
}

long rows_of(const std::string& dir) { return mbrl_examples::csv_data_rows(dir + "/metrics.csv"); }

MBConfig tiny_mb(const fs::path& data) {
    MBConfig c;
    c.exp_name = "ckpt";
    c.env_name = Obstacles::kName;
    c.n_iter = 3;
    c.ensemble_size = 2;
    c.batch_size_initial = 300;
    c.batch_size = 100;
    c.eval_batch_size = 100;
    c.num_agent_train_steps_per_iter = 6;
    c.train_batch_size = 32;
    c.n_layers = 1;
    c.size = 16;
    c.mpc.num_sequences = 24;
    c.mpc.horizon = 3;
    c.add_sl_noise = true;
    c.save_params = true;
    c.data_dir = data.string();
    return c;
}

MBPOConfig tiny_mbpo(const fs::path& data) {
    MBPOConfig c;
    c.mb = tiny_mb(data);
    c.mb.batch_size_initial = 200;
    c.sac.size = 16;
    c.sac.batch = 32;
    c.sac_n_iter = 12;
    c.sac_train_steps = 2;
    c.sac.actor_update_frequency = 2;          // SAC's step counter decides something
    c.sac.critic_target_update_frequency = 3;
    c.rollout_length = 2;
    c.sac_buffer_size = 260;  // small: the FIFO forgets rows (begin > 0) before the checkpoints
    return c;
}

LoopConfig& loop_of(MBConfig& c) { return c; }
LoopConfig& loop_of(MBPOConfig& c) { return c.mb; }

// One config run twice through the example's files: straight to its n_iter (3) in tmp/a, and
// in tmp/b for 2 iterations, then resumed from tmp/b's checkpoint to 3 (each run with a new
// env, as in a new process).
struct Resumed {
    std::string full, resumed;  // the two run directories
    std::string after_two;      // tmp/b's checkpoint.bin after 2 iterations
};
template <class Config>
Resumed run_full_and_resumed(Config c, const fs::path& tmp) {
    Resumed r;
    const int n_iter = loop_of(c).n_iter;
    loop_of(c).data_dir = (tmp / "a").string();
    Obstacles env_a;
    r.full = run_and_log(env_a, c, {}, false);
    loop_of(c).n_iter = 2;
    loop_of(c).data_dir = (tmp / "b").string();
    Obstacles env_b;
    r.resumed = run_and_log(env_b, c, {}, false);
    REQUIRE(rows_of(r.resumed) == 2);
    r.after_two = slurp(r.resumed + "/checkpoint.bin");
    loop_of(c).n_iter = n_iter;
    Obstacles env_c;
    CHECK(run_and_log(env_c, c, {}, false, r.resumed) == r.resumed);
    CHECK(rows_of(r.resumed) == n_iter);
    return r;
}

}  // namespace

// The MB loop and MBPO through the example's files (examples/run_log.hpp), as q1..q6 use them.
TEST_CASE("Checkpoint: run_mb for 3 iterations equals 2 iterations, then --resume to 3 (metrics and final state)") {
    Tmp tmp("mb");
    const MBConfig c3 = tiny_mb(tmp.path);
    const Resumed run = run_full_and_resumed(c3, tmp.path);
    const std::string &a = run.full, &b = run.resumed;
    CHECK(metrics_without_time(a) == metrics_without_time(b));
    CHECK(slurp(a + "/checkpoint.bin") == slurp(b + "/checkpoint.bin"));  // every parameter, buffer and counter
    CHECK(slurp(b + "/checkpoint.bin") != run.after_two);
    CHECK(fs::exists(b + "/predictions.csv"));
    // Resuming a complete run to a larger n_iter goes on.
    MBConfig c4 = c3;
    c4.data_dir = (tmp.path / "b").string();
    c4.n_iter = 4;
    Obstacles env_d;
    run_and_log(env_d, c4, {}, false, b);
    CHECK(rows_of(b) == 4);
}

TEST_CASE("Checkpoint: run_mbpo for 3 iterations equals 2 iterations, then --resume to 3 (SAC state, both buffers)") {
    Tmp tmp("mbpo");
    const MBPOConfig c3 = tiny_mbpo(tmp.path);
    const Resumed run = run_full_and_resumed(c3, tmp.path);
    const std::string &a = run.full, &b = run.resumed;
    CHECK(metrics_without_time(a) == metrics_without_time(b));
    CHECK(slurp(a + "/checkpoint.bin") == slurp(b + "/checkpoint.bin"));
    // The state in the checkpoint is SAC's as trained: its step counter and a forgetful buffer.
    std::ifstream in(b + "/checkpoint.bin", std::ios::binary);
    Obstacles env;
    const int D = env.obs_dim(), A = env.act_dim();
    SAC<float> sac(D, A, -1, 1, c3.sac, 1);
    CheckpointReader r(in);
    check_settings(r, "run_mbpo", checkpoint_settings(c3));
    LoopState st;
    load(r, "loop", st);
    CHECK(st.itr == 3);
    Ensemble<float> ens(D, A, c3.mb.ensemble_size, c3.mb.n_layers, c3.mb.size, 1e-3f, 1);
    load(r, "ensemble", ens);
    load(r, "sac", sac);
    CHECK(sac.training_step == 3 * c3.sac_n_iter * c3.sac_train_steps);
    CHECK(sac.q1_opt.t == sac.training_step);
    CHECK(sac.q1.params != sac.q1_targ.params);
    ReplayBuffer<float> model_buffer(D, A, 1000000), sac_buffer(D, A, c3.sac_buffer_size);
    load(r, "model_buffer", model_buffer);
    load(r, "sac_buffer", sac_buffer);
    CHECK(sac_buffer.size() == c3.sac_buffer_size);
    CHECK(r.u64("rollouts") == 3u * c3.sac_n_iter);
    r.finish();
}

TEST_CASE("Checkpoint: a stop request ends the run inside an iteration; rows stay whole and the run resumes bit for bit") {
    Tmp tmp("stop");
    MBConfig c = tiny_mb(tmp.path / "a");
    Obstacles env_a;
    const std::string a = run_and_log(env_a, c, {}, false);
    // The same run, stopped 7 polls into iteration 2 (index 1), after its first checkpoint.
    c.data_dir = (tmp.path / "b").string();
    std::string dir;
    {  // the stopped process: its lock on the run directory ends with it (examples/run_lock.hpp)
        mbrl_examples::RunLog log(c, {}, false);
        RunSink sink = log.sink();
        int checkpoints = 0, polls_after = 0;
        auto write_checkpoint = sink.checkpoint;
        sink.checkpoint = [&](int next, const RunState& w) {
            write_checkpoint(next, w);
            ++checkpoints;
        };
        sink.stop = [&] { return checkpoints >= 1 && ++polls_after > 7; };
        Obstacles env_b;
        try {
            run_mb(env_b, c, sink);
            FAIL("run_mb was not stopped");
        } catch (const Interrupted& e) {
            CHECK(e.itr == 1);
        }
        CHECK(polls_after == 8);  // stopped at the first poll that said so, within the iteration
        CHECK(rows_of(log.dir()) == 1);
        CHECK(checkpoints == 1);
        dir = log.dir();
    }
    Obstacles env_c;
    run_and_log(env_c, c, {}, false, dir);
    CHECK(metrics_without_time(a) == metrics_without_time(dir));
    CHECK(slurp(a + "/checkpoint.bin") == slurp(dir + "/checkpoint.bin"));
}

TEST_CASE("Checkpoint: missing, truncated, corrupt or other settings: an error naming the file, nothing overwritten") {
    Tmp tmp("bad");
    MBConfig c = tiny_mb(tmp.path);
    c.n_iter = 1;
    Obstacles env;
    const std::string dir = run_and_log(env, c, {}, false);
    const std::string ckpt = dir + "/checkpoint.bin", good = slurp(ckpt), metrics = slurp(dir + "/metrics.csv");
    const std::string flags = slurp(dir + "/flags.csv");
    c.n_iter = 2;
    auto resume_error = [&](const MBConfig& cfg) {
        Obstacles e;
        try {
            run_and_log(e, cfg, {}, false, dir);
        } catch (const std::exception& x) {
            return std::string(x.what());
        }
        return std::string("no error");
    };
    auto put = [&](const std::string& bytes) {
        std::ofstream out(ckpt, std::ios::binary | std::ios::trunc);
        out << bytes;
    };
    put(good.substr(0, good.size() - 100));
    std::string e = resume_error(c);
    CHECK(e.find(ckpt) != std::string::npos);
    CHECK(e.find("truncated") != std::string::npos);
    std::string flipped = good;
    flipped[flipped.size() / 2] ^= 0x10;
    put(flipped);
    e = resume_error(c);
    CHECK(e.find(ckpt) != std::string::npos);
    CHECK(e.find("checksum") != std::string::npos);
    put("not a checkpoint at all, but long enough to have a header");
    CHECK(resume_error(c).find("not a checkpoint") != std::string::npos);
    put(good);
    MBConfig other = c;
    other.mpc.horizon = 4;
    e = resume_error(other);
    CHECK(e.find(ckpt) != std::string::npos);
    CHECK(e.find("setting mpc_horizon is 3 in the checkpoint but 4 in this run") != std::string::npos);
    MBPOConfig mbpo = tiny_mbpo(tmp.path);
    mbpo.mb.n_iter = 2;
    {
        Obstacles e2;
        CHECK_THROWS_WITH(run_and_log(e2, mbpo, {}, false, dir), doctest::Contains("made by run_mb, not by run_mbpo"));
    }
    fs::remove(ckpt);
    e = resume_error(c);
    CHECK(e.find("cannot read the checkpoint " + ckpt) != std::string::npos);
    // Nothing was written by any of the failed resumes.
    CHECK(slurp(dir + "/metrics.csv") == metrics);
    CHECK(slurp(dir + "/flags.csv") == flags);
    // The reader itself names the field that does not fit.
    CheckpointWriter w;
    w.u64("a", 1);
    std::stringstream s;
    w.finish(s);
    CheckpointReader r(s);
    CHECK_THROWS_WITH_AS(r.u64("b"), doctest::Contains("expected field 'b', found 'a'"), std::invalid_argument);
}

TEST_CASE("Validation: each config validates itself, constructors call it, the command line reports through it") {
    SACConfig s;
    s.critic_target_update_frequency = 0;  // once a division by zero in SAC::train
    CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("sac_critic_target_update_frequency must be positive, got 0"),
                         ConfigError);
    CHECK_THROWS_AS(SAC<float>(2, 2, -1, 1, s, 1), ConfigError);
    MPCConfig m;
    m.cem_alpha = 0;
    CHECK_THROWS_WITH_AS(m.validate(), doctest::Contains("cem_alpha must be in (0, 1], got 0"), ConfigError);
    MBConfig mb;
    mb.scalar_log_freq = 0;  // once itr % 0 in the loop
    try {
        mb.validate();
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(e.field == "scalar_log_freq");
        CHECK(e.problem == "must be -1 or positive, got 0");
    }
    Obstacles env;
    mb.env_name = Obstacles::kName;
    CHECK_THROWS_AS(run_mb(env, mb), ConfigError);
    MBPOConfig p;
    p.mb.env_name = Obstacles::kName;
    p.sac_buffer_size = 0;
    CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("sac_buffer_size"), ConfigError);
    // The command line: the same rule, told with the flag's name.
    MBPOConfig q;
    q.mb.env_name = Obstacles::kName;
    q.sac.critic_target_update_frequency = 0;
    CHECK_THROWS_WITH_AS(mbrl_examples::check_mbpo_config(q),
                         "--sac_critic_target_update_frequency: must be positive, got 0", mbrl_examples::FlagError);
    // Rng::below(0) and a model rollout from an empty buffer are errors, not % 0.
    Rng rng(1);
    CHECK_THROWS_WITH_AS(rng.below(0), doctest::Contains("Rng::below"), std::invalid_argument);
    CHECK(rng.below(1) == 0u);
}

namespace {
void throwing_reward(const float*, const float*, int, float*, float*) { throw std::runtime_error("reward failed"); }
void quiet_reward(const float*, const float* act, int n, float* rew, float*) {
    for (int i = 0; i < n; ++i) rew[i] = -(act[2 * i] * act[2 * i] + act[2 * i + 1] * act[2 * i + 1]);
}
void nan_reward(const float*, const float*, int n, float* rew, float*) {
    for (int i = 0; i < n; ++i) rew[i] = i == n - 1 ? std::nanf("") : 0.0f;
}
}  // namespace

TEST_CASE("OpenMP regions: a throwing reward function is caught and rethrown; NaN scores name the planning call") {
    auto ens = std::make_shared<Ensemble<float>>(2, 2, 2, 1, 8, 1e-3f, 1);
    MPCConfig cfg;
    cfg.num_sequences = 600;  // several jobs per member
    cfg.horizon = 2;
    const float obs[2] = {0.1f, 0.2f};
    float act[2];
    MPC<float> bad(ens, throwing_reward, {-1, -1}, {1, 1}, cfg, 1);
    CHECK_THROWS_WITH_AS(bad.act(obs, act), "reward failed", std::runtime_error);
    MPC<float> nan(ens, nan_reward, {-1, -1}, {1, 1}, cfg, 1);
    CHECK_THROWS_WITH_AS(nan.act(obs, act), doctest::Contains("MPC::act: planning call 0, round 0: candidate "),
                         std::invalid_argument);
    cfg.cem = true;
    MPC<float> nan_cem(ens, nan_reward, {-1, -1}, {1, 1}, cfg, 1);
    nan_cem.calls = 5;
    CHECK_THROWS_WITH_AS(nan_cem.act(obs, act), doctest::Contains("planning call 5, round 0"), std::invalid_argument);
}

TEST_CASE("OpenMP regions: trajectory sampling (TS1, TS-inf) catches and rethrows a throwing reward function") {
    // Without the guard, an exception leaving the parallel loop ends the program (std::terminate).
    for (ModelType type : {ModelType::deterministic, ModelType::probabilistic}) {
        auto ens = std::make_shared<Ensemble<float>>(2, 2, 3, 1, 8, 1e-3f, 1, Activation::tanh, type);
        for (Propagation prop : {Propagation::ts1, Propagation::tsinf}) {
            MPCConfig cfg;
            cfg.num_sequences = 900;  // several jobs
            cfg.horizon = 2;
            cfg.propagation = prop;
            cfg.particles = 6;
            const float obs[2] = {0.1f, 0.2f};
            float act[2];
            MPC<float> bad(ens, throwing_reward, {-1, -1}, {1, 1}, cfg, 1);
            CAPTURE(static_cast<int>(prop));
            REQUIRE(bad.jobs.size() > 1);
            CHECK_THROWS_WITH_AS(bad.act(obs, act), "reward failed", std::runtime_error);
            MPC<float> good(ens, quiet_reward, {-1, -1}, {1, 1}, cfg, 1);  // and the same planner works
            CHECK_NOTHROW(good.act(obs, act));
        }
    }
}

TEST_CASE("ParallelErrors: the exception of the lowest iteration wins, whatever the threads") {
    for (int rep = 0; rep < 3; ++rep) {
        ParallelErrors errors;
        MBRL_OMP(parallel for schedule(dynamic))
        for (int i = 0; i < 64; ++i)
            errors.run(i, [&] {
                if (i == 9 || i == 40 || i == 63) throw std::runtime_error("iteration " + std::to_string(i));
            });
        CHECK_THROWS_WITH_AS(errors.rethrow(), "iteration 9", std::runtime_error);
    }
    ParallelErrors none;
    none.run(0, [] {});
    CHECK_NOTHROW(none.rethrow());
}

TEST_CASE("MPC shares ownership of its ensemble: dropping or moving the caller's handle leaves it working") {
    auto ens = std::make_shared<Ensemble<float>>(2, 2, 2, 1, 8, 1e-3f, 1);
    MPCConfig cfg;
    cfg.num_sequences = 10;
    cfg.horizon = 2;
    MPC<float> mpc(ens, quiet_reward, {-1, -1}, {1, 1}, cfg, 1);
    const float obs[2] = {0.1f, 0.2f};
    float a1[2], a2[2];
    mpc.act(obs, a1);
    MPC<float> moved = std::move(mpc);
    auto other = std::move(ens);
    other.reset();
    moved.calls = 0;
    moved.act(obs, a2);
    CHECK(a1[0] == a2[0]);
    CHECK(a1[1] == a2[1]);
    CHECK_THROWS_AS(MPC<float>(nullptr, quiet_reward, {-1, -1}, {1, 1}, cfg, 1), std::invalid_argument);
}

TEST_CASE("Write errors: an unwritable --data_dir exits with code 2 at start; a full disk names the file") {
    Tmp tmp("dir");
    const std::string file = (tmp.path / "a_file").string();
    std::ofstream(file) << "x";
    std::vector<std::string> args = {"q", "--env_name", "obstacles-cs285-v0", "--exp_name", "t", "--data_dir",
                                     file + "/data"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    CHECK(mbrl_examples::mb_main(static_cast<int>(argv.size()), argv.data(), {}) == 2);
    CHECK_THROWS_WITH_AS(mbrl_examples::check_writable_dir(file + "/data"), doctest::Contains((file + "/data").c_str()),
                         std::runtime_error);
    if (fs::exists("/dev/full")) {
        CHECK_THROWS_WITH_AS(mbrl_examples::CsvWriter("/dev/full", {"a", "b"}), doctest::Contains("cannot write /dev/full"),
                             std::runtime_error);
    }
    // --resume of a directory that is not a run: code 2, nothing created.
    std::vector<std::string> r = {"q", "--resume", (tmp.path / "nothing").string()};
    std::vector<char*> rv;
    for (auto& a : r) rv.push_back(a.data());
    CHECK(mbrl_examples::mb_main(static_cast<int>(rv.size()), rv.data(), {}) == 2);
    CHECK_FALSE(fs::exists(tmp.path / "nothing"));
}

// The settings a checkpoint records, in the order and the text that checkpoints written before
// the field tables have: a checkpoint compares them one by one, so a change of order or of
// format would stop every saved run from resuming. Typed in, not derived from the tables.
TEST_CASE("Checkpoint settings: the field tables give the names, order and text of older checkpoints") {
    MBConfig mb;
    mb.env_name = "obstacles-cs285-v0";
    mb.learning_rate = 0.001;
    mb.mpc.cem_alpha = 0.25;
    std::string got;
    for (const auto& kv : checkpoint_settings(mb)) got += kv.first + "=" + kv.second + ";";
    CHECK(got ==
          "env_name=obstacles-cs285-v0;ensemble_size=3;mpc_horizon=10;mpc_num_action_sequences=1000;"
          "mpc_action_sampling_strategy=random;cem_iterations=4;cem_num_elites=5;cem_alpha=0.25;add_sl_noise=0;"
          "num_agent_train_steps_per_iter=1000;batch_size_initial=20000;batch_size=8000;train_batch_size=512;"
          "eval_batch_size=400;learning_rate=0.001;n_layers=2;size=250;seed=1;scalar_log_freq=1;"
          "model_type=deterministic;mpc_propagation=expectation;mpc_particles=0;mpc_model=learned;");
    MBPOConfig p;
    p.mb.env_name = "cheetah-cs285-v0";
    p.mb.add_sl_noise = true;
    p.sac.learning_rate = 3e-4;
    got.clear();
    for (const auto& kv : checkpoint_settings(p)) got += kv.first + "=" + kv.second + ";";
    CHECK(got ==
          "env_name=cheetah-cs285-v0;ensemble_size=3;add_sl_noise=1;num_agent_train_steps_per_iter=1000;"
          "batch_size_initial=20000;batch_size=8000;train_batch_size=512;eval_batch_size=400;learning_rate=0.001;"
          "n_layers=2;size=250;seed=1;scalar_log_freq=1;model_type=deterministic;sac_n_layers=2;sac_size=64;"
          "sac_learning_rate=0.00029999999999999997;sac_discount=0.98999999999999999;sac_init_temperature=1;"
          "critic_tau=0.0050000000000000001;sac_train_batch_size=256;sac_num_critic_updates_per_agent_update=1;"
          "sac_num_actor_updates_per_agent_update=1;sac_actor_update_frequency=1;sac_critic_target_update_frequency=1;"
          "sac_logstd=clamp;sac_n_iter=200;sac_num_agent_train_steps_per_iter=1;mbpo_rollout_length=1;"
          "sac_buffer_size=100000;mbpo_rollout_reward=post;mbpo_rollout_model=mean;");
}
