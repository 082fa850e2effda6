// Model-based RL end to end: replay buffer and add_sl_noise, the MPC planners on toy problems
// with known answers, a short obstacles run, thread-count independence, and the command line.
#ifdef _OPENMP
#include <omp.h>
#endif

#include <filesystem>
#include <fstream>

#include "../examples/main.hpp"
#include "helpers.hpp"

using namespace mbrl;
using namespace mbrl_examples;
namespace fs = std::filesystem;

namespace {
// A temporary directory removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("mbrl_test_" + std::to_string(Rng(std::time(nullptr), Stream::test, ::getpid()).bits()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::vector<std::string> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

// A toy "learned model": an ensemble of linear members (no hidden layer) set by hand to
// s' = s + a (2-D), with statistics that make normalization the identity.
Ensemble<float> integrator_model(int members) {
    Ensemble<float> ens(2, 2, members, 0, 1, 1e-3f, 1);
    for (auto& net : ens.nets) {
        std::fill(net.params.begin(), net.params.end(), 0.0f);
        net.W(0)[2 * 2 + 0] = 1.0f;  // input 2 (a_x) -> output 0
        net.W(0)[3 * 2 + 1] = 1.0f;  // input 3 (a_y) -> output 1
    }
    for (Normalizer<float>* n : {&ens.stats.obs, &ens.stats.act, &ens.stats.delta}) {
        n->mean.assign(2, 0.0f);
        n->std.assign(2, 1.0f);
    }
    return ens;
}
// Reward: minus the squared distance to (0.5, -0.3).
void target_reward(const float* obs, const float*, int n, float* rew, float* done) {
    for (int i = 0; i < n; ++i) {
        const float dx = obs[2 * i] - 0.5f, dy = obs[2 * i + 1] + 0.3f;
        rew[i] = -(dx * dx + dy * dy);
        if (done) done[i] = 0;
    }
}
// Reward for a long trip: minus the distance to (6, -6), far beyond one step's reach.
void far_reward(const float* obs, const float*, int n, float* rew, float* done) {
    for (int i = 0; i < n; ++i) {
        const float dx = obs[2 * i] - 6.0f, dy = obs[2 * i + 1] + 6.0f;
        rew[i] = -std::sqrt(dx * dx + dy * dy);
        if (done) done[i] = 0;
    }
}
}  // namespace

// add_sl_noise itself: tests/test_algorithm.cpp (tolerances from the sample size).

TEST_CASE("ReplayBuffer: appends, noises only observations, keeps the newest rows (FIFO)") {
    Rollouts<float> r;
    r.clear(2, 1);
    for (int i = 0; i < 6; ++i) {
        const float o[2] = {float(i), 10.0f}, a[1] = {float(-i)}, o2[2] = {float(i + 1), 10.0f};
        r.push(o, a, float(i), o2, i == 5);
    }
    ReplayBuffer<float> buf(2, 1, 10);
    Rng rng(1);
    buf.add(r, false, rng);
    buf.add(r, true, rng);
    CHECK(buf.size() == 10);                // 12 added, capacity 10
    CHECK(buf.act()(0, 0) == -2.0f);        // the two oldest rows are gone
    CHECK(buf.rew()(3, 0) == 5.0f);
    CHECK(buf.terminal()(3, 0) == 1.0f);
    CHECK(buf.obs()(3, 1) == 10.0f);        // from the clean add
    CHECK(buf.obs()(4, 1) != 10.0f);        // noised
    CHECK(std::fabs(buf.obs()(4, 1) - 10.0f) < 0.5f);
    CHECK(buf.act()(4, 0) == 0.0f);         // actions are never noised
    CHECK(buf.rew()(9, 0) == 5.0f);
    // Many small adds to a full buffer: always the newest 10 rows, in order.
    Rollouts<float> one;
    for (int k = 0; k < 57; ++k) {
        one.clear(2, 1);
        const float o[2] = {float(k), 0}, a[1] = {float(k)};
        one.push(o, a, 0, o, false);
        buf.add(one, false, rng);
        REQUIRE(buf.size() == 10);
        CHECK(buf.act()(9, 0) == float(k));
        CHECK(buf.act()(0, 0) == (k >= 9 ? float(k - 9) : buf.act()(0, 0)));
    }
    CHECK_THROWS_AS(ReplayBuffer<float>(2, 1, 0), std::invalid_argument);
}

TEST_CASE("Random shooting finds the best first action of a toy model with a known optimum") {
    // One step of s' = s + a from s = 0 toward (0.5, -0.3): the best action is (0.5, -0.3).
    Ensemble<float> ens = integrator_model(3);
    MPCConfig cfg;
    cfg.horizon = 1;
    cfg.num_sequences = 2000;
    MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), target_reward, {-1, -1}, {1, 1}, cfg, 7);
    const float obs[2] = {0, 0};
    float a[2];
    mpc.act(obs, a);
    CHECK(std::fabs(a[0] - 0.5f) < 0.06f);
    CHECK(std::fabs(a[1] + 0.3f) < 0.06f);
    // Bad settings are reported.
    const float bad[2] = {0, std::nanf("")};
    CHECK_THROWS_WITH_AS(mpc.act(bad, a), doctest::Contains("MPC::act: observation: non-finite value"),
                         std::invalid_argument);
    cfg.horizon = 0;
    CHECK_THROWS_WITH_AS(MPC<float>(std::make_shared<Ensemble<float>>(ens), target_reward, {-1, -1}, {1, 1}, cfg, 7), doctest::Contains("mpc_horizon"),
                         std::invalid_argument);
    cfg.horizon = 5;
    cfg.cem = true;
    cfg.cem_num_elites = 3000;
    CHECK_THROWS_WITH_AS(MPC<float>(std::make_shared<Ensemble<float>>(ens), target_reward, {-1, -1}, {1, 1}, cfg, 7), doctest::Contains("cem_num_elites"),
                         std::invalid_argument);
}

TEST_CASE("CEM beats random shooting with the same number of samples") {
    // 8 steps toward a point far away: the best plan is a long straight run at full speed.
    Ensemble<float> ens = integrator_model(1);
    MPCConfig rs, cem;
    rs.horizon = cem.horizon = 8;
    rs.num_sequences = 400;
    cem.num_sequences = 100;
    cem.cem = true;
    cem.cem_iterations = 4;  // 4 x 100 = 400 samples, as random shooting's
    cem.cem_num_elites = 10;
    double rs_total = 0, cem_total = 0;
    for (uint64_t seed = 0; seed < 10; ++seed) {
        MPC<float> a(std::make_shared<Ensemble<float>>(ens), far_reward, {-1, -1}, {1, 1}, rs, seed), b(std::make_shared<Ensemble<float>>(ens), far_reward, {-1, -1}, {1, 1}, cem, seed);
        const float obs[2] = {0, 0};
        float act[2];
        a.act(obs, act);
        rs_total += *std::max_element(a.mean_score.begin(), a.mean_score.end());  // best sequence found
        b.act(obs, act);
        // The final CEM mean, scored by the same model.
        for (int i = 0; i < cem.num_sequences; ++i)
            std::copy(b.mu.begin(), b.mu.end(), b.cand.row(i));
        b.evaluate(obs);
        cem_total += b.mean_score[0];
        CHECK(act[0] > 0.5f);  // heads right and down
        CHECK(act[1] < -0.5f);
    }
    MESSAGE("mean predicted return: random shooting ", rs_total / 10, ", CEM ", cem_total / 10);
    CHECK(cem_total > rs_total);
}

TEST_CASE("A short obstacles run: MPC with a model trained on random data beats random actions") {
    TempDir tmp;
    MBConfig c;
    c.exp_name = "test_short";
    c.env_name = Obstacles::kName;
    c.n_iter = 1;
    c.add_sl_noise = true;
    c.batch_size_initial = 3000;
    c.num_agent_train_steps_per_iter = 60;
    c.mpc.num_sequences = 300;
    c.size = 64;
    c.data_dir = tmp.path.string();
    Obstacles env;
    const std::string dir = mbrl_examples::run_and_log(env, c, {{"seed", "1"}}, false);
    const auto lines = read_lines(fs::path(dir) / "metrics.csv");
    REQUIRE(lines.size() == 2);
    std::vector<double> v;
    std::stringstream ss(lines[1]);
    for (std::string cell; std::getline(ss, cell, ',');) v.push_back(cell.empty() ? NAN : std::stod(cell));
    const double eval = v[1], train = v[6];
    MESSAGE("train (random) ", train, ", eval (MPC) ", eval);
    CHECK(train < -130);  // random actions: about -166
    CHECK(eval > -100);   // MPC: clearly better
    CHECK(fs::exists(fs::path(dir) / "predictions.csv"));
    CHECK(read_lines(fs::path(dir) / "losses.csv").size() == 61);
}

TEST_CASE("The same seed gives the same metrics.csv with 1 and 2 threads") {
#ifdef _OPENMP
    TempDir tmp;
    auto run = [&](int threads) {
        omp_set_num_threads(threads);
        MBConfig c;
        c.exp_name = "threads" + std::to_string(threads);
        c.env_name = Obstacles::kName;
        c.n_iter = 2;
        c.add_sl_noise = true;
        c.batch_size_initial = 500;
        c.batch_size = 200;
        c.eval_batch_size = 100;
        c.num_agent_train_steps_per_iter = 10;
        c.train_batch_size = 64;
        c.mpc.num_sequences = 300;  // two planning blocks per member
        c.mpc.cem = true;
        c.mpc.cem_iterations = 2;
        c.size = 32;
        c.data_dir = tmp.path.string();
        Obstacles env;
        auto lines = read_lines(fs::path(mbrl_examples::run_and_log(env, c, {}, false)) / "metrics.csv");
        for (auto& l : lines) {  // drop TimeSinceStart, the one column that may differ
            std::vector<std::string> cells;
            std::stringstream ss(l);
            for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
            cells.erase(cells.begin() + 12);
            l.clear();
            for (auto& cell : cells) l += cell + ",";
        }
        return lines;
    };
    const int saved = omp_get_max_threads();
    const auto one = run(1), two = run(2);
    omp_set_num_threads(saved);
    REQUIRE(one.size() == 3);
    CHECK(one == two);
#endif
}

TEST_CASE("Command line: bad flags exit with code 2, name the flag and write nothing") {
    TempDir tmp;
    const std::string data = (tmp.path / "data").string();
    auto run = [&](std::vector<std::string> args) {
        args.insert(args.begin(), "q");
        args.push_back("--data_dir");
        args.push_back(data);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        return mb_main(static_cast<int>(argv.size()), argv.data(), {});
    };
    const std::string ok = "--env_name obstacles-cs285-v0 --exp_name t";
    auto with = [&](const std::string& extra) { return split_words(ok + " " + extra); };
    CHECK(run(with("--bogus 3")) == 2);
    CHECK(run(with("--n_iter -1")) == 2);
    CHECK(run(with("--n_iter two")) == 2);
    CHECK(run(with("--mpc_horizon 0")) == 2);
    CHECK(run(with("--size 0")) == 2);
    CHECK(run(with("--cem_num_elites 2000")) == 2);
    CHECK(run(with("--mpc_action_sampling_strategy greedy")) == 2);
    CHECK(run(with("--learning_rate nan")) == 2);
    CHECK(run(with("--n_iter")) == 2);
    CHECK(run(split_words("--env_name pendulum-v0 --exp_name t")) == 2);
    CHECK_FALSE(fs::exists(data));
    // The messages name the flag.
    MBConfig c;
    auto flags = mb_flags(c);
    CHECK_THROWS_WITH_AS(parse_mb_flags(with("--mpc_horizon 0"), c, flags), doctest::Contains("--mpc_horizon"), FlagError);
    CHECK_THROWS_WITH_AS(parse_mb_flags(split_words("--env_name x"), c, flags),
                         doctest::Contains("obstacles-cs285-v0, reacher-cs285-v0, cheetah-cs285-v0"), FlagError);
    CHECK_THROWS_WITH_AS(parse_mb_flags(with("-b=abc"), c, flags), doctest::Contains("--batch_size: 'abc'"), FlagError);
    // Aliases and --flag=value work.
    c = MBConfig();
    flags = mb_flags(c);
    parse_mb_flags(with("-n 3 -e=2 -noise --mpc_action_sampling_strategy=cem"), c, flags);
    CHECK(c.n_iter == 3);
    CHECK(c.ensemble_size == 2);
    CHECK(c.add_sl_noise);
    CHECK(c.mpc.cem);
}

TEST_CASE("Command line of q6 (run_hw4_mbpo.py flags): SAC flags parse, bad values exit with code 2") {
    MBPOConfig c;
    auto flags = all_flags(c);  // the reference's flags and those beyond it
    parse_flags(split_words("--env_name cheetah-cs285-v0 --exp_name t --sac_n_iter 5000 --mbpo_rollout_length 10 "
                            "--sac_size 256 --sac_init_temperature 0.1 --sac_learning_rate 0.0003 -n 10"),
                flags);
    check_mbpo_config(c);
    CHECK(c.sac_n_iter == 5000);
    CHECK(c.rollout_length == 10);
    CHECK(c.sac.size == 256);
    CHECK(c.sac.init_temperature == doctest::Approx(0.1));
    CHECK(c.mb.n_iter == 10);
    CHECK(MBPOConfig().sac.size == 64);      // the reference's defaults
    CHECK(MBPOConfig().sac_n_iter == 200);
    CHECK(MBPOConfig().rollout_length == 1);
    CHECK_FALSE(c.reward_pre_step);  // q6's rollout switches: off unless asked
    CHECK_FALSE(c.random_member);
    CHECK_FALSE(c.sac.logstd_tanh);
    parse_flags(split_words("--mbpo_rollout_reward pre --mbpo_rollout_model random --sac_logstd tanh"), flags);
    CHECK(c.reward_pre_step);
    CHECK(c.random_member);
    CHECK(c.sac.logstd_tanh);
    parse_flags(split_words("--mbpo_rollout_reward post --mbpo_rollout_model mean --sac_logstd clamp"), flags);
    CHECK_FALSE(c.reward_pre_step);
    CHECK_FALSE(c.random_member);
    CHECK_FALSE(c.sac.logstd_tanh);
    TempDir tmp;
    const std::string data = (tmp.path / "data").string();
    auto run = [&](const std::string& extra) {
        std::vector<std::string> args = split_words("q --env_name cheetah-cs285-v0 --exp_name t --data_dir " + data + " " + extra);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        return question_main<MBPOConfig>(static_cast<int>(argv.size()), argv.data(), {});
    };
    CHECK(run("--mbpo_rollout_length -1") == 2);
    CHECK(run("--sac_discount 1.5") == 2);
    CHECK(run("--sac_train_batch_size 0") == 2);
    CHECK(run("--sac_init_temperature 0") == 2);
    CHECK(run("--bogus") == 2);
    CHECK(run("--mbpo_rollout_reward next") == 2);
    CHECK(run("--sac_logstd exp") == 2);
    CHECK_FALSE(fs::exists(data));
}
