// tests/test_pets.cpp: probabilistic members (PETS), trajectory sampling in the planner, MBPO rollouts that
// sample the Gaussians, planning on the true simulator, and the model diagnostics of every run.
#include <omp.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "../examples/main.hpp"
#include "helpers.hpp"

using namespace mbrl;
using namespace mbrl_examples;
namespace fs = std::filesystem;

namespace {

// Random transitions of a 3-D state and 2-D action: s' = s + 0.2 sin(s + a) + noise.
template <class T>
void pets_data(int n, uint64_t seed, Tensor<T>& s, Tensor<T>& a, Tensor<T>& s2, double noise = 0.05) {
    Rng rng(seed);
    s.resize(n, 3);
    a.resize(n, 2);
    s2.resize(n, 3);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < 2; ++j) a(i, j) = static_cast<T>(rng.uniform(-1, 1));
        for (int j = 0; j < 3; ++j) {
            s(i, j) = static_cast<T>(rng.normal());
            s2(i, j) = static_cast<T>(s(i, j) + 0.2 * std::sin(s(i, j) + a(i, j % 2)) + noise * (j + 1) * rng.normal());
        }
    }
}

// Member m's whole probabilistic loss on rows idx[0..B) (all its slices, then the penalty), with
// its gradient left in net.grads and bound_grads[m].
double member_loss(Ensemble<double>& ens, int m, const std::vector<int>& idx, const Tensor<double>& s,
                   const Tensor<double>& a, const Tensor<double>& s2) {
    const int B = static_cast<int>(idx.size());
    for (int k = 0; k < Ensemble<double>::kSlices; ++k) {
        const int job = m * Ensemble<double>::kSlices + k;
        const auto sl = Ensemble<double>::slice(job, B);
        ens.slice_gradient(job, m, idx.data() + sl.r0, sl.rows, B, s.view(), a.view(), s2.view());
    }
    ens.gather_gradient(m);
    return ens.losses[m];
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("mbrl_test_pets_" + std::to_string(::getpid()));
        fs::remove_all(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::vector<std::string> split_csv(const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    return cells;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// 1. Probabilistic members

TEST_CASE("Probabilistic head: the soft-bounded log-variance stays within the bounds (to 3e-5) and is the identity well inside") {
    const double hi = 0.5, lo = -10;
    CHECK(bounded_logvar(100.0, hi, lo) == doctest::Approx(hi).epsilon(1e-4));
    CHECK(bounded_logvar(-100.0, hi, lo) == doctest::Approx(lo).epsilon(1e-9));
    CHECK(bounded_logvar(-4.0, hi, lo) == doctest::Approx(-4.0).epsilon(0.02));
    for (double r = -30; r <= 30; r += 0.5) {  // above hi by at most softplus(lo - hi) = 2.8e-5 (the outer softplus)
        CHECK(bounded_logvar(r, hi, lo) < hi + 3e-5);
        CHECK(bounded_logvar(r, hi, lo) > lo);
    }
}

TEST_CASE("Probabilistic head: Gaussian NLL, soft bounds and bound penalty match a direct formula and central differences (double)") {
    Tensor<double> s, a, s2;
    pets_data(24, 3, s, a, s2);
    Ensemble<double> ens(3, 2, 2, 2, 7, 1e-3, 5, Activation::tanh, ModelType::probabilistic);
    REQUIRE(ens.nets[1].out() == 6);
    ens.fit_stats(s.view(), a.view(), s2.view());
    // Bounds near the raw log-variances, so that both softplus bends matter.
    const double bnd[6] = {0.3, 0.1, 0.6, -0.4, -0.8, -0.2};
    std::copy(bnd, bnd + 6, ens.bounds[1].begin());
    const int m = 1;
    std::vector<int> idx;
    for (int i = 0; i < 24; i += 2) idx.push_back(i);  // B = 12 rows, cut into the slices
    const double L = member_loss(ens, m, idx, s, a, s2);
    // The same loss written out: mean over rows and dims of (mu - y)^2 exp(-lv) + lv, plus 0.01 (sum max - sum min).
    {
        MLPWork<double> w(ens.nets[m], 12);
        model_input<double>(w.start_batch(ens.nets[m], 12), s.view(), a.view(), ens.stats, idx.data());
        View<const double> y = mlp_forward(ens.nets[m], w);
        double sum = 0;
        for (int i = 0; i < 12; ++i)
            for (int j = 0; j < 3; ++j) {
                const double target = ens.stats.delta.normalize(s2(idx[i], j) - s(idx[i], j), j);
                double lv = bnd[j] - std::log1p(std::exp(bnd[j] - y(i, 3 + j)));
                lv = bnd[3 + j] + std::log1p(std::exp(lv - bnd[3 + j]));
                sum += (y(i, j) - target) * (y(i, j) - target) * std::exp(-lv) + lv;
            }
        const double penalty = 0.01 * ((bnd[0] + bnd[1] + bnd[2]) - (bnd[3] + bnd[4] + bnd[5]));
        CHECK(L == doctest::Approx(sum / 36 + penalty).epsilon(1e-12));
    }
    const std::vector<double> g_net(ens.nets[m].grads.begin(), ens.nets[m].grads.end());
    const std::vector<double> g_bnd(ens.bound_grads[m].begin(), ens.bound_grads[m].end());
    const double h = 1e-6;
    auto central = [&](double& p) {
        const double p0 = p;
        p = p0 + h;
        const double lp = member_loss(ens, m, idx, s, a, s2);
        p = p0 - h;
        const double lm = member_loss(ens, m, idx, s, a, s2);
        p = p0;
        return (lp - lm) / (2 * h);
    };
    double worst = 0, worst_bnd = 0;
    // Relative error, against at least 1e-4 (the central difference's rounding, ~1e-10, matters for tiny gradients).
    for (std::size_t i = 0; i < ens.nets[m].size(); ++i) worst = std::max(worst, test::rel_err(g_net[i], central(ens.nets[m].params[i]), 1e-4));
    for (int j = 0; j < 6; ++j) worst_bnd = std::max(worst_bnd, test::rel_err(g_bnd[j], central(ens.bounds[m][j]), 1e-4));
    CHECK(worst < 1e-6);
    CHECK(worst_bnd < 1e-6);
    // The bound gradient is not just the penalty's +-0.01: the data pulls on it.
    CHECK(std::fabs(g_bnd[0] - 0.01) > 1e-4);
}

TEST_CASE("Probabilistic members learn the noise: predicted std within 20% of the true std of each dimension") {
    Tensor<float> s, a, s2;
    pets_data(6000, 7, s, a, s2, 0.05);  // noise std 0.05, 0.10, 0.15 on dimensions 0, 1, 2
    Ensemble<float> ens(3, 2, 1, 2, 64, 2e-3f, 3, Activation::tanh, ModelType::probabilistic);
    ens.fit_stats(s.view(), a.view(), s2.view());
    Rng rng(1, Stream::sample);
    for (int step = 0; step < 2500; ++step) ens.train_step(s.view(), a.view(), s2.view(), 256, rng);
    MLPWork<float> w(ens.nets[0], 500);
    model_input<float>(w.start_batch(ens.nets[0], 500), s.view().middle_rows(0, 500), a.view().middle_rows(0, 500), ens.stats);
    View<const float> y = mlp_forward(ens.nets[0], w);
    for (int j = 0; j < 3; ++j) {
        double mean_var = 0;
        for (int i = 0; i < 500; ++i) mean_var += std::exp(static_cast<double>(bounded_logvar(y(i, 3 + j), ens.max_logvar(0)[j], ens.min_logvar(0)[j])));
        const double predicted = std::sqrt(mean_var / 500) * ens.stats.delta.std[j], truth = 0.05 * (j + 1);
        CAPTURE(j);
        CHECK(predicted == doctest::Approx(truth).epsilon(0.2));
    }
    // predict_sample: eps = 0 is the mean prediction, bit for bit; eps = 1 adds one predicted std.
    Tensor<float> mean(4, 3), draw(4, 3), eps(4, 3);
    MLPWork<float> w4(ens.nets[0], 4);
    ens.predict(0, s.view().middle_rows(0, 4), a.view().middle_rows(0, 4), mean.view(), w4);
    eps.fill(0.0f);
    ens.predict_sample(0, s.view().middle_rows(0, 4), a.view().middle_rows(0, 4), draw.view(), eps.view(), w4);
    CHECK(std::memcmp(mean.data(), draw.data(), sizeof(float) * 12) == 0);
    eps.fill(1.0f);
    ens.predict_sample(0, s.view().middle_rows(0, 4), a.view().middle_rows(0, 4), draw.view(), eps.view(), w4);
    for (int j = 0; j < 3; ++j) CHECK((draw(0, j) - mean(0, j)) / ens.stats.delta.std[j] > 0.1f * (j + 1) / ens.stats.delta.std[j] * 0.4f);
}

// ------------------------------------------------------------------------------------------------
// 2. Trajectory sampling

namespace {
void quad_reward(const float* obs, const float*, int n, float* rew, float* done) {
    for (int i = 0; i < n; ++i) {
        rew[i] = -(obs[3 * i] - 0.5f) * (obs[3 * i] - 0.5f) + 0.3f * obs[3 * i + 1] * obs[3 * i + 2];
        if (done) done[i] = 0;
    }
}
Ensemble<float> trained_ensemble(ModelType type, int members = 3) {
    Tensor<float> s, a, s2;
    pets_data(400, 1, s, a, s2);
    Ensemble<float> ens(3, 2, members, 2, 32, 1e-3f, 4, Activation::tanh, type);
    ens.fit_stats(s.view(), a.view(), s2.view());
    Rng rng(2, Stream::sample);
    for (int i = 0; i < 30; ++i) ens.train_step(s.view(), a.view(), s2.view(), 64, rng);
    return ens;
}
}  // namespace

TEST_CASE("TS-inf with deterministic members and one particle per member scores exactly as expectation") {
    Ensemble<float> ens = trained_ensemble(ModelType::deterministic);
    MPCConfig cfg;
    cfg.num_sequences = 300;
    cfg.horizon = 6;
    MPC<float> expect(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 5);
    cfg.propagation = Propagation::tsinf;
    MPC<float> tsinf(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 5);
    REQUIRE(tsinf.particles == 3);
    const float obs[3] = {0.2f, -0.4f, 0.7f};
    float a1[2], a2[2];
    expect.act(obs, a1);
    tsinf.act(obs, a2);
    CHECK(std::memcmp(expect.mean_score.data(), tsinf.mean_score.data(), sizeof(float) * 300) == 0);
    CHECK(std::memcmp(a1, a2, sizeof a1) == 0);
    // TS1 mixes members along the horizon: different scores from the same candidates.
    cfg.propagation = Propagation::ts1;
    MPC<float> ts1(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 5);
    ts1.act(obs, a2);
    CHECK(std::memcmp(expect.cand.data(), ts1.cand.data(), sizeof(float) * ts1.cand.size()) == 0);
    CHECK(std::memcmp(expect.mean_score.data(), ts1.mean_score.data(), sizeof(float) * 300) != 0);
}

TEST_CASE("TS1 with deterministic members: a member drawn per particle per step, so over many particles the 1-step score is the members' mean") {
    Ensemble<float> ens = trained_ensemble(ModelType::deterministic, 2);
    MPCConfig cfg;
    cfg.num_sequences = 4;
    cfg.cem_num_elites = 4;  // the CEM settings are checked with random shooting too
    cfg.horizon = 1;
    MPC<float> expect(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 9);
    cfg.propagation = Propagation::ts1;
    cfg.particles = 4000;
    MPC<float> ts1(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 9);
    const float obs[3] = {0.9f, 0.4f, -1.2f};
    float act[2];
    expect.act(obs, act);
    ts1.act(obs, act);
    for (int i = 0; i < 4; ++i) {
        // Each particle's reward is one of the two members'; the share of member 0 is ~ Binomial(4000, 1/2)/4000.
        const double r0 = expect.score(0, i), r1 = expect.score(1, i), share = (ts1.mean_score[i] - r1) / (r0 - r1);
        CAPTURE(i);
        CHECK(std::fabs(share - 0.5) < 4 * std::sqrt(0.25 / 4000));
    }
}

TEST_CASE("Planning with bf16 products: the same bits with 1 and 2 threads, scores near the float planner's") {
    for (ModelType type : {ModelType::deterministic, ModelType::probabilistic}) {
        Ensemble<float> ens = trained_ensemble(type);
        const float obs[3] = {0.2f, -0.4f, 0.7f};
        for (Propagation prop : {Propagation::expectation, Propagation::tsinf}) {
            auto plan = [&](int threads, bool bf16) {
                omp_set_num_threads(threads);
                MPCConfig cfg;
                cfg.num_sequences = 300;
                cfg.horizon = 5;
                cfg.propagation = prop;
                cfg.cem = true;
                cfg.cem_iterations = 2;
                cfg.bf16 = bf16;
                MPC<float> mpc(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 3);
                float act[2];
                mpc.act(obs, act);
                return mpc.mean_score;
            };
            const int saved = omp_get_max_threads();
            const std::vector<float> one = plan(1, true), two = plan(2, true), fp = plan(2, false);
            omp_set_num_threads(saved);
            CAPTURE(static_cast<int>(type));
            CAPTURE(static_cast<int>(prop));
            CHECK(std::memcmp(one.data(), two.data(), sizeof(float) * one.size()) == 0);
            double worst = 0, scale = 0;
            for (std::size_t i = 0; i < fp.size(); ++i) {
                worst = std::max(worst, std::fabs(double(one[i]) - fp[i]));
                scale = std::max(scale, std::fabs(double(fp[i])));
            }
            CHECK(worst > 0);              // bf16 did run
            CHECK(worst < 0.05 * scale);   // and stays near
        }
    }
    MPCConfig cfg;
    cfg.bf16 = true;
    Ensemble<double> dens(3, 2, 1, 1, 8, 1e-3, 1);
    RewardFn<double> zero = [](const double*, const double*, int n, double* rew, double*) { std::fill(rew, rew + n, 0.0); };
    CHECK_THROWS_WITH_AS(MPC<double>(test::borrow(dens), zero, {-1, -1}, {1, 1}, cfg, 3),
                         doctest::Contains("mpc_precision bf16 is for a float planner"), std::invalid_argument);
}

TEST_CASE("Trajectory sampling with probabilistic members: the same bits with 1 and 2 threads (TS1, TS-inf; random shooting and CEM)") {
    Ensemble<float> ens = trained_ensemble(ModelType::probabilistic);
    const float obs[3] = {0.2f, -0.4f, 0.7f};
    for (Propagation prop : {Propagation::ts1, Propagation::tsinf})
        for (bool cem : {false, true}) {
            auto plan = [&](int threads) {
                omp_set_num_threads(threads);
                MPCConfig cfg;
                cfg.num_sequences = 200;
                cfg.horizon = 5;
                cfg.propagation = prop;
                cfg.particles = 20;
                cfg.cem = cem;
                cfg.cem_iterations = 2;
                MPC<float> mpc(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 3);
                std::vector<float> out;
                float act[2];
                for (int k = 0; k < 2; ++k) {
                    mpc.act(obs, act);
                    out.insert(out.end(), act, act + 2);
                    out.insert(out.end(), mpc.mean_score.begin(), mpc.mean_score.end());
                }
                return out;
            };
            const int saved = omp_get_max_threads();
            const std::vector<float> one = plan(1), two = plan(2);
            omp_set_num_threads(saved);
            CAPTURE(static_cast<int>(prop));
            CAPTURE(cem);
            REQUIRE(one.size() == two.size());
            CHECK(std::memcmp(one.data(), two.data(), sizeof(float) * one.size()) == 0);
        }
    // Sampling makes a difference: TS-inf with probabilistic members is not the expectation of the means.
    MPCConfig cfg;
    cfg.num_sequences = 50;
    MPC<float> expect(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 3);
    cfg.propagation = Propagation::tsinf;
    MPC<float> tsinf(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 3);
    float act[2];
    expect.act(obs, act);
    tsinf.act(obs, act);
    CHECK(std::memcmp(expect.mean_score.data(), tsinf.mean_score.data(), sizeof(float) * 50) != 0);
}

TEST_CASE("MPC: bad trajectory-sampling settings are reported") {
    Ensemble<float> ens = trained_ensemble(ModelType::deterministic);
    MPCConfig cfg;
    cfg.particles = 7;
    CHECK_THROWS_WITH_AS(MPC<float>(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 1), doctest::Contains("needs ts1 or tsinf"),
                         std::invalid_argument);
    cfg.particles = -1;
    cfg.propagation = Propagation::ts1;
    CHECK_THROWS_WITH_AS(MPC<float>(test::borrow(ens), quad_reward, {-1, -1}, {1, 1}, cfg, 1), doctest::Contains("mpc_particles must be >= 0"),
                         std::invalid_argument);
}

// ------------------------------------------------------------------------------------------------
// 3. MBPO rollouts sample the Gaussians

TEST_CASE("MBPO model rollout with probabilistic members: steps are draws of N(mu, exp(lv)) (mean and std to 5 standard errors)") {
    Ensemble<float> ens(4, 2, 2, 1, 8, 1e-3f, 2, Activation::tanh, ModelType::probabilistic);
    ReplayBuffer<float> buf(4, 2, 100);
    Rollouts<float> r;
    r.clear(4, 2);
    for (int i = 0; i < 5; ++i) {
        const float o[4] = {0.1f * i, 0.5f, 0.7f, -0.8f}, a[2] = {0.2f, -0.1f}, o2[4] = {0.1f * i + 0.02f, 0.49f - 0.01f * i, 0.7f, -0.8f};
        r.push(o, a, -1.0f, o2, false);
    }
    Rng rng(1);
    buf.add(r, false, rng);
    ens.fit_stats(buf.obs(), buf.act(), buf.next_obs());
    // Members that ignore their input: mu = 0.5, lv = log(0.04) (std 0.2) on every dimension.
    for (MLP<float>& net : ens.nets) {
        std::fill(net.params.begin(), net.params.end(), 0.0f);
        for (int j = 0; j < 4; ++j) {
            net.b(1)[j] = 0.5f;
            net.b(1)[4 + j] = std::log(0.04f);
        }
    }
    for (auto& b : ens.bounds) {
        std::fill(b.begin(), b.begin() + 4, 5.0f);  // wide bounds: lv = raw to ~1e-6
        std::fill(b.begin() + 4, b.end(), -20.0f);
    }
    SACConfig c;
    c.size = 8;
    c.batch = 8;
    SAC<float> sac(4, 2, -0.99f, 0.99f, c, 1);
    RolloutWork scratch(ens);
    Rollouts<float> out;
    const int n = 3000;
    for (bool random_member : {false, true}) {
        double sum = 0, sq = 0;
        for (int k = 0; k < n; ++k) {
            Rng rrng(3, Stream::rollout, static_cast<uint64_t>(k));
            model_rollout<Obstacles>(ens, sac, buf, 1, rrng, scratch, out, false, random_member);
            const double z = (out.next_obs(0, 1) - out.obs(0, 1) - ens.stats.delta.mean[1]) / ens.stats.delta.std[1];
            sum += z;
            sq += z * z;
        }
        const double mean = sum / n, std = std::sqrt(sq / n - mean * mean);
        // One member drawn: std 0.2. The mean of two members' independent draws: std 0.2 / sqrt(2).
        const double want = random_member ? 0.2 : 0.2 / std::sqrt(2.0);
        CAPTURE(random_member);
        CHECK(std::fabs(mean - 0.5) < 5 * want / std::sqrt(n));
        CHECK(std::fabs(std - want) < 5 * want / std::sqrt(2.0 * n));
    }
}

// ------------------------------------------------------------------------------------------------
// 4. Planning on the true simulator

TEST_CASE_TEMPLATE("True simulator: a candidate's score is the real env's summed reward for its actions, bit for bit; the real env is untouched",
                   Env, Obstacles, Reacher, Cheetah) {
    Env env, twin;
    std::vector<float> obs, obs_twin, act(env.act_dim());
    Rng r1(4, Stream::reset, 0), r2(4, Stream::reset, 0), ar(5);
    env.reset(r1, obs);
    twin.reset(r2, obs_twin);
    bool done = false;
    for (int t = 0; t < 7; ++t) {  // away from the start
        for (int j = 0; j < env.act_dim(); ++j) act[j] = static_cast<float>(ar.uniform(-0.5, 0.5));
        env.step(act, obs, done);
        twin.step(act, obs_twin, done);
    }
    const int H = 8, A = env.act_dim();
    std::vector<float> seq(H * A);
    for (float& x : seq) x = static_cast<float>(ar.uniform(-0.9, 0.9));
    envs::TrueSimulator<Env> sim(env);
    sim.reserve(3);
    sim.begin();
    const View<const float> plan(seq.data(), H, A);  // [H, ac_dim]
    const float s0 = sim.rollout(0, plan), s2 = sim.rollout(2, plan), again = sim.rollout(0, plan);
    CHECK(s0 == s2);
    CHECK(s0 == again);
    const std::vector<float> planned(sim.rewards(0).begin(), sim.rewards(0).begin() + H);
    // The real env continues exactly as its twin that never planned ...
    std::vector<float> o1, o2, real;
    for (int t = 0; t < H; ++t) {
        std::copy(seq.begin() + t * A, seq.begin() + (t + 1) * A, act.begin());
        real.push_back(env.step(act, o1, done));
        CHECK(twin.step(act, o2, done) == real.back());
        CHECK(o1 == o2);
    }
    // ... and its rewards along the candidate's actions are the planner's, step by step, and sum to its score.
    CHECK(real == planned);
    float total = 0;
    for (float r : real) total += r;
    CHECK(total == s0);
}

TEST_CASE("True-simulator planning: obstacles reached from the start (return above -60; random actions: about -166)") {
    Obstacles env;
    Ensemble<float> ens(4, 2, 1, 1, 8, 1e-3f, 1);  // unused by the planner, but it sizes it
    MPCConfig cfg;
    cfg.num_sequences = 200;
    cfg.horizon = 10;
    cfg.true_model = true;
    MPC<float> mpc(test::borrow(ens), &Obstacles::reward, {-0.99f, -0.99f}, {0.99f, 0.99f}, cfg, 1);
    envs::TrueSimulator<Obstacles> sim(env);
    mpc.plan_on(sim);
    std::vector<float> obs, act(2);
    Rng rr(1, Stream::reset, 0);
    env.reset(rr, obs);
    double ret = 0;
    bool done = false;
    for (int t = 0; t < 100 && !done; ++t) {
        mpc.act(obs, act);
        ret += env.step(act, obs, done);
    }
    CHECK(ret > -60);
}

TEST_CASE("True-simulator planning: the same actions and scores with 1 and 2 threads (obstacles, cheetah; random shooting and CEM)") {
    auto run = [](auto& env, int threads, bool cem) {
        omp_set_num_threads(threads);
        using Env = std::decay_t<decltype(env)>;
        Ensemble<float> ens(env.obs_dim(), env.act_dim(), 1, 1, 8, 1e-3f, 1);
        MPCConfig cfg;
        cfg.num_sequences = 150;
        cfg.horizon = 5;
        cfg.cem = cem;
        cfg.cem_iterations = 2;
        std::vector<float> low(env.act_dim()), high(env.act_dim());
        for (int j = 0; j < env.act_dim(); ++j) {
            low[j] = env.act_low(j);
            high[j] = env.act_high(j);
        }
        MPC<float> mpc(test::borrow(ens), &Env::reward, low, high, cfg, 2);
        envs::TrueSimulator<Env> sim(env);
        mpc.plan_on(sim);
        std::vector<float> obs, act(env.act_dim()), out;
        Rng rr(3, Stream::reset, 0);
        env.reset(rr, obs);
        bool done = false;
        for (int t = 0; t < 3; ++t) {
            mpc.act(obs, act);
            out.insert(out.end(), mpc.mean_score.begin(), mpc.mean_score.end());
            out.insert(out.end(), act.begin(), act.end());
            env.step(act, obs, done);
        }
        return out;
    };
    const int saved = omp_get_max_threads();
    for (bool cem : {false, true}) {
        Obstacles o1, o2;
        Cheetah c1, c2;
        const auto a = run(o1, 1, cem), b = run(o2, 2, cem), c = run(c1, 1, cem), d = run(c2, 2, cem);
        CAPTURE(cem);
        CHECK(std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0);
        CHECK(std::memcmp(c.data(), d.data(), sizeof(float) * c.size()) == 0);
    }
    omp_set_num_threads(saved);
}

// ------------------------------------------------------------------------------------------------
// 5. Model diagnostics

TEST_CASE("Model diagnostics of a known model: exact members give zero errors; gains 1 and 2 give error 1/4 and disagreement mean|x|/2") {
    // Paths of s' = s + a: two paths of 15 steps. Linear members f_m = g_m * normalized a.
    Rollouts<float> paths;
    paths.clear(2, 2);
    Rng rng(8);
    for (int p = 0; p < 2; ++p) {
        float s[2] = {0.1f * p, -0.2f};
        for (int t = 0; t < 15; ++t) {
            const float a[2] = {static_cast<float>(rng.uniform(-1, 1)), static_cast<float>(rng.uniform(-1, 1))};
            const float s2[2] = {s[0] + a[0], s[1] + a[1]};
            paths.push(s, a, 0.0f, s2, t == 14);
            s[0] = s2[0];
            s[1] = s2[1];
        }
    }
    auto model = [&](std::vector<float> gains) {
        Ensemble<float> ens(2, 2, static_cast<int>(gains.size()), 0, 1, 1e-3f, 1);
        ens.fit_stats(paths.obs.view(), paths.act.view(), paths.next_obs.view());  // delta stats = action stats
        for (std::size_t m = 0; m < gains.size(); ++m) {
            MLP<float>& net = ens.nets[m];
            std::fill(net.params.begin(), net.params.end(), 0.0f);
            net.W(0)[2 * 2 + 0] = gains[m];
            net.W(0)[3 * 2 + 1] = gains[m];
        }
        return ens;
    };
    const ModelDiagnostics exact = model_diagnostics(model({1.0f, 1.0f}), paths);
    CHECK(exact.one_step < 1e-10);
    CHECK(exact.open_loop < 1e-9);
    CHECK(exact.disagreement == 0);
    const ModelDiagnostics apart = model_diagnostics(model({1.0f, 2.0f}), paths);
    Ensemble<float> probe = model({1.0f});
    double abs_x = 0;
    for (int i = 0; i < paths.steps(); ++i)
        for (int j = 0; j < 2; ++j) abs_x += std::fabs(probe.stats.act.normalize(paths.act(i, j), j));
    CHECK(apart.one_step == doctest::Approx(0.25).epsilon(1e-5));  // (1.5 x - x)^2 averaged; mean x^2 = 1
    CHECK(apart.disagreement == doctest::Approx(0.5 * abs_x / (2.0 * paths.steps())).epsilon(1e-5));
    CHECK(apart.open_loop > 0.01);  // the mean overshoots and the error compounds
    // Paths shorter than the horizon: no open-loop start, NaN; no rows at all: all NaN.
    Rollouts<float> shorter;
    shorter.clear(2, 2);
    for (int i = 0; i < 9; ++i) shorter.push(paths.obs.view().middle_rows(i, 1), paths.act.view().middle_rows(i, 1), 0.0f,
                                             paths.next_obs.view().middle_rows(i, 1), i == 8);
    CHECK(std::isnan(model_diagnostics(model({1.0f}), shorter).open_loop));
    CHECK(std::isfinite(model_diagnostics(model({1.0f}), shorter).one_step));
    Rollouts<float> none;
    none.clear(2, 2);
    CHECK(std::isnan(model_diagnostics(model({1.0f}), none).one_step));
}

TEST_CASE("Model diagnostics in metrics.csv: three columns after the reference's, finite on evaluated iterations; the new modes run end to end") {
    TempDir tmp;
    auto run = [&](const std::string& extra) {
        MBConfig c;
        std::vector<Flag> flags = all_flags(c);
        parse_flags(split_words("--env_name obstacles-cs285-v0 --exp_name d --n_iter 2 --batch_size_initial 300"
                                " --batch_size 200 --eval_batch_size 200 --num_agent_train_steps_per_iter 10"
                                " --mpc_num_action_sequences 100 --n_layers 1 --size 16 --data_dir " +
                                tmp.path.string() + " " + extra),
                    flags);
        check_config(c);
        Obstacles env;
        std::ifstream in(fs::path(run_and_log(env, c, {}, false)) / "metrics.csv");
        std::vector<std::vector<std::string>> rows;
        for (std::string line; std::getline(in, line);) rows.push_back(split_csv(line));
        return rows;
    };
    for (const std::string extra : {"", "--model_type probabilistic --mpc_propagation ts1 --mpc_particles 6",
                                    "--model_type probabilistic --mpc_propagation tsinf", "--mpc_model true"}) {
        CAPTURE(extra);
        const auto rows = run(extra);
        REQUIRE(rows.size() == 3);
        const auto& h = rows[0];
        REQUIRE(h.size() == 18);
        CHECK(h[14] == "Initial_DataCollection_AverageReturn");
        CHECK(h[15] == "Model_OneStepError");
        CHECK(h[16] == "Model_OpenLoop10Error");
        CHECK(h[17] == "Model_Disagreement");
        for (int r = 1; r <= 2; ++r)
            for (int k = 15; k < 18; ++k) {
                REQUIRE(rows[r].size() == 18);
                CHECK(std::stod(rows[r][k]) >= 0);
            }
        if (extra == "--mpc_model true") CHECK(std::stod(rows[2][1]) > -60);  // Eval_AverageReturn near the goal
    }
}

// ------------------------------------------------------------------------------------------------
// Flags

TEST_CASE("Command line: the issue-13 flags parse, default to the homework's behaviour, and bad values exit with code 2") {
    MBConfig d;
    std::vector<Flag> df = all_flags(d);
    CHECK(d.model_type == ModelType::deterministic);
    CHECK(d.mpc.propagation == Propagation::expectation);
    CHECK(d.mpc.particles == 0);
    CHECK_FALSE(d.mpc.true_model);
    CHECK(df.back().names[0] == "--data_dir");
    MBConfig c;
    std::vector<Flag> flags = all_flags(c);
    parse_flags(split_words("--model_type probabilistic --mpc_propagation=tsinf --mpc_particles 20 --mpc_model learned"), flags);
    CHECK(c.model_type == ModelType::probabilistic);
    CHECK(c.mpc.propagation == Propagation::tsinf);
    CHECK(c.mpc.particles == 20);
    MBPOConfig q6;
    std::vector<Flag> f6 = all_flags(q6);
    parse_flags(split_words("--model_type probabilistic"), f6);
    CHECK(q6.mb.model_type == ModelType::probabilistic);

    TempDir tmp;
    const std::string data = (tmp.path / "data").string();
    auto run = [&](const std::string& extra) {
        std::vector<std::string> args = split_words("q --env_name obstacles-cs285-v0 --exp_name t --data_dir " + data + " " + extra);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        return mb_main(static_cast<int>(argv.size()), argv.data(), {});
    };
    CHECK(run("--model_type bayesian") == 2);
    CHECK(run("--mpc_propagation ts2") == 2);
    CHECK(run("--mpc_particles -1") == 2);
    CHECK(run("--mpc_particles x") == 2);
    CHECK(run("--mpc_particles 20") == 2);  // needs ts1 or tsinf
    CHECK(run("--mpc_model perfect") == 2);
    CHECK(run("--mpc_model true --mpc_propagation ts1") == 2);
    CHECK_FALSE(fs::exists(data));
    MBConfig e;
    std::vector<Flag> ef = all_flags(e);
    CHECK_THROWS_WITH_AS((parse_flags(split_words("--env_name obstacles-cs285-v0 --mpc_particles 20"), ef), check_config(e)),
                         doctest::Contains("--mpc_particles"), FlagError);
    CHECK_THROWS_WITH_AS(parse_flags(split_words("--mpc_propagation ts2"), ef),
                         doctest::Contains("'ts2' is not one of expectation, ts1, tsinf"), FlagError);
}
