// tests/test_algorithm.cpp: the homework's algorithm around the numerical core, each part against
// an oracle that does not come from the code under test: the planner's scores computed by hand
// from closed-form toy models, CEM's refit recomputed from the candidates it scored, path
// collection on a toy env whose episodes are known in advance, add_sl_noise against the
// reference's rule (section 3.2) with tolerances derived from the sample size, MBPO's rollouts
// and buffers, and the metrics of reference 4.1 on a toy env whose returns are known in advance.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include <unistd.h>

#include "../envs/envs.hpp"
#include "../examples/run_log.hpp"
#include "helpers.hpp"

using namespace mbrl;
namespace fs = std::filesystem;

namespace {

// Relative tolerance only (doctest's epsilon is relative to 1 + |value|).
doctest::Approx rel(double value, double relative) { return doctest::Approx(value).scale(0).epsilon(relative); }

// An ensemble of linear members s' = s + g_m a (2-D state, 2-D action), one gain per member, with
// statistics that make normalization the identity.
Ensemble<float> gain_model(const std::vector<float>& gains) {
    Ensemble<float> ens(2, 2, static_cast<int>(gains.size()), 0, 1, 1e-3f, 1);
    for (std::size_t m = 0; m < gains.size(); ++m) {
        MLP<float>& net = ens.nets[m];
        std::fill(net.params.begin(), net.params.end(), 0.0f);
        net.W(0)[2 * 2 + 0] = gains[m];  // input 2 (a_x) -> output 0; W is [in, out]
        net.W(0)[3 * 2 + 1] = gains[m];  // input 3 (a_y) -> output 1
    }
    for (Normalizer<float>* n : {&ens.stats.obs, &ens.stats.act, &ens.stats.delta}) {
        n->mean.assign(2, 0.0f);
        n->std.assign(2, 1.0f);
    }
    return ens;
}

// R(s) = -(x - 0.5)^2 - |y + 0.3| + 0.2 x y: nonlinear, so that the mean over members of the
// members' sums differs from the sum at the mean state, from the max, and from member 0's.
double R(double x, double y) { return -(x - 0.5) * (x - 0.5) - std::fabs(y + 0.3) + 0.2 * x * y; }
void toy_reward(const float* obs, const float*, int n, float* rew, float* done) {
    for (int i = 0; i < n; ++i) {
        rew[i] = static_cast<float>(R(obs[2 * i], obs[2 * i + 1]));
        if (done) done[i] = 0;
    }
}
// The same reward, counting its calls (one call per member, block of candidates and step).
std::atomic<int> reward_calls{0};
void counting_reward(const float* obs, const float* act, int n, float* rew, float* done) {
    ++reward_calls;
    toy_reward(obs, act, n, rew, done);
}
// Every sequence scores the same: CEM's elites are then decided by the tie rule alone.
void flat_reward(const float*, const float*, int n, float* rew, float* done) {
    for (int i = 0; i < n; ++i) {
        rew[i] = 1.0f;
        if (done) done[i] = 0;
    }
}

// The hand-computed score of one candidate a [H * 2] from s0 under members with gains g:
// (1/E) sum_m sum_{t=1..H} R(s_t^m), with s_t^m = s0 + g_m (a_0 + ... + a_{t-1}).
double oracle_score(const float* s0, const float* a, int H, const std::vector<float>& gains) {
    double total = 0;
    for (float g : gains) {
        double x = s0[0], y = s0[1], sum = 0;
        for (int t = 0; t < H; ++t) {
            x += g * a[2 * t];
            y += g * a[2 * t + 1];
            sum += R(x, y);
        }
        total += sum;
    }
    return total / static_cast<double>(gains.size());
}

// The top J candidate indices by oracle score, ties to the lower index.
std::vector<int> oracle_elites(const std::vector<double>& score, int J) {
    std::vector<int> idx(score.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return score[a] > score[b]; });
    idx.resize(J);
    return idx;
}

// Mean and population std of column d over the given rows of cand.
std::pair<double, double> column_stats(const Tensor<float>& cand, const std::vector<int>& rows, int d) {
    double m = 0, v = 0;
    for (int r : rows) m += cand(r, d);
    m /= rows.size();
    for (int r : rows) v += (cand(r, d) - m) * (cand(r, d) - m);
    return {m, std::sqrt(v / rows.size())};
}

double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

}  // namespace

// =================================================================================================
// 1. MPC scoring
// =================================================================================================

TEST_CASE("MPC scores: the mean over members of each member's R(s_1) + ... + R(s_H), computed by hand") {
    const std::vector<float> gains = {1.0f, 2.0f, -0.5f};  // s' = s + a, s + 2a, s - a/2
    Ensemble<float> ens = gain_model(gains);
    MPCConfig cfg;
    cfg.horizon = 4;
    cfg.num_sequences = 6;
    MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), toy_reward, {-1, -1}, {1, 1}, cfg, 3);
    const float s0[2] = {0.1f, -0.2f};
    const float given[6][8] = {{0.3f, -0.1f, 0.2f, 0.0f, -0.4f, 0.5f, 0.1f, 0.1f},
                               {-1.0f, 1.0f, 0.5f, -0.5f, 0.25f, 0.25f, 0.0f, -0.75f},
                               {0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f},
                               {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f},  // only the last step moves
                               {0.2f, -0.05f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
                               {-0.3f, 0.6f, -0.3f, 0.6f, 0.7f, -0.8f, 0.05f, -0.95f}};
    for (int i = 0; i < 6; ++i) std::copy(given[i], given[i] + 8, mpc.cand.row(i));
    mpc.evaluate(s0);
    for (int i = 0; i < 6; ++i) {
        CAPTURE(i);
        CHECK(mpc.mean_score[i] == rel(oracle_score(s0, given[i], 4, gains), 1e-5));
        for (int m = 0; m < 3; ++m) CHECK(mpc.score(m, i) == rel(oracle_score(s0, given[i], 4, {gains[m]}), 1e-5));
    }
    // Candidate 3 moves only at its last step: a score without R(s_H) would not see that move.
    CHECK(std::fabs(oracle_score(s0, given[3], 4, gains) - oracle_score(s0, given[3], 3, gains)) > 0.1);
}

TEST_CASE("Random shooting executes the first action of the candidate with the best hand-computed score") {
    const std::vector<float> gains = {1.0f, 2.0f, -0.5f};
    Ensemble<float> ens = gain_model(gains);
    MPCConfig cfg;
    cfg.horizon = 3;
    cfg.num_sequences = 300;  // two blocks of candidates
    for (uint64_t seed = 1; seed <= 5; ++seed) {
        MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), toy_reward, {-1, -1}, {1, 1}, cfg, seed);
        const float s0[2] = {0.2f * seed - 0.5f, 0.3f};
        float a[2];
        mpc.act(s0, a);
        std::vector<double> sc(cfg.num_sequences);
        for (int i = 0; i < cfg.num_sequences; ++i) sc[i] = oracle_score(s0, mpc.cand.row(i), 3, gains);
        const int best = oracle_elites(sc, 1)[0];
        CAPTURE(seed);
        CHECK(a[0] == mpc.cand(best, 0));
        CHECK(a[1] == mpc.cand(best, 1));
        for (int i = 0; i < cfg.num_sequences * 6; ++i) {  // candidates are uniform in the bounds
            REQUIRE(mpc.cand.data()[i] >= -1.0f);
            REQUIRE(mpc.cand.data()[i] <= 1.0f);
        }
    }
}

// =================================================================================================
// 2. CEM
// =================================================================================================

TEST_CASE("CEM round 1: mean and population std of the top J uniform candidates, no smoothing yet") {
    const std::vector<float> gains = {1.0f, 2.0f};
    Ensemble<float> ens = gain_model(gains);
    MPCConfig cfg;
    cfg.horizon = 3;
    cfg.num_sequences = 60;
    cfg.cem = true;
    cfg.cem_iterations = 1;
    cfg.cem_num_elites = 7;
    cfg.cem_alpha = 0.5;  // must not act in the first round
    MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), toy_reward, {-1, -1}, {1, 1}, cfg, 11);
    const float s0[2] = {-0.3f, 0.4f};
    float a[2];
    mpc.act(s0, a);
    std::vector<double> sc(cfg.num_sequences);
    for (int i = 0; i < cfg.num_sequences; ++i) sc[i] = oracle_score(s0, mpc.cand.row(i), 3, gains);
    const std::vector<int> elites = oracle_elites(sc, cfg.cem_num_elites);
    for (int d = 0; d < 6; ++d) {
        const auto [m, s] = column_stats(mpc.cand, elites, d);
        CAPTURE(d);
        CHECK(mpc.mu[d] == rel(m, 1e-5));
        CHECK(mpc.sigma[d] == rel(s, 1e-5));
    }
    CHECK(a[0] == mpc.mu[0]);  // the first action of the final mean
    CHECK(a[1] == mpc.mu[1]);
}

TEST_CASE("CEM rounds 2 and 3: alpha smooths the refit of each round's elites into the previous mean and std") {
    const std::vector<float> gains = {1.0f, -1.5f};
    Ensemble<float> ens = gain_model(gains);
    MPCConfig cfg;
    cfg.horizon = 3;
    cfg.num_sequences = 80;
    cfg.cem = true;
    cfg.cem_num_elites = 6;
    cfg.cem_alpha = 0.3;  // not 0.5, so that swapping alpha and 1 - alpha shows
    const float s0[2] = {0.2f, -0.6f};
    // Runs with M = 1, 2, 3 and the same seed share their first rounds (the same random numbers),
    // so the mean and std after round k are those of the run with M = k.
    std::vector<std::vector<float>> mu(4), sigma(4);
    std::vector<Tensor<float>> cand(4);
    for (int M = 1; M <= 3; ++M) {
        cfg.cem_iterations = M;
        MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), toy_reward, {-1, -1}, {1, 1}, cfg, 5);
        float a[2];
        mpc.act(s0, a);
        mu[M] = mpc.mu;
        sigma[M] = mpc.sigma;
        cand[M] = Tensor<float>(cfg.num_sequences, 6);
        std::copy(mpc.cand.data(), mpc.cand.data() + mpc.cand.size(), cand[M].data());
    }
    for (int M = 2; M <= 3; ++M) {
        std::vector<double> sc(cfg.num_sequences);
        for (int i = 0; i < cfg.num_sequences; ++i) sc[i] = oracle_score(s0, cand[M].row(i), 3, gains);
        const std::vector<int> elites = oracle_elites(sc, cfg.cem_num_elites);
        for (int d = 0; d < 6; ++d) {
            const auto [m, s] = column_stats(cand[M], elites, d);
            CAPTURE(M);
            CAPTURE(d);
            CHECK(mu[M][d] == doctest::Approx(0.3 * m + 0.7 * mu[M - 1][d]).epsilon(1e-5));
            CHECK(sigma[M][d] == doctest::Approx(0.3 * s + 0.7 * sigma[M - 1][d]).epsilon(1e-5));
        }
    }
    // Round 2 really draws new candidates (from N(mu, sigma), not uniform again).
    CHECK(cand[2].data()[0] != cand[1].data()[0]);
}

TEST_CASE("CEM: later rounds sample N(mu, sigma) clipped to the bounds (clipped share and mean in closed form)") {
    // A flat reward: the elites are candidates 0..J-1 of the uniform first round, so sigma is large
    // and many of the second round's samples fall outside [-1, 1] and are clipped to it.
    Ensemble<float> ens = gain_model({1.0f});
    MPCConfig cfg;
    cfg.horizon = 2;
    cfg.num_sequences = 20000;
    cfg.cem = true;
    cfg.cem_num_elites = 1000;  // sigma about 1/sqrt(3)
    cfg.cem_iterations = 1;
    const float s0[2] = {0, 0};
    float a[2];
    MPC<float> one(std::make_shared<Ensemble<float>>(ens), flat_reward, {-1, -1}, {1, 1}, cfg, 8);
    one.act(s0, a);
    const std::vector<float> mu = one.mu, sigma = one.sigma;
    cfg.cem_iterations = 2;
    MPC<float> two(std::make_shared<Ensemble<float>>(ens), flat_reward, {-1, -1}, {1, 1}, cfg, 8);
    two.act(s0, a);
    const int K = cfg.num_sequences;
    for (int d = 0; d < 4; ++d) {
        int at_low = 0, at_high = 0;
        double sum = 0;
        for (int i = 0; i < K; ++i) {
            const float x = two.cand(i, d);
            REQUIRE(x >= -1.0f);
            REQUIRE(x <= 1.0f);
            at_low += x == -1.0f;
            at_high += x == 1.0f;
            sum += x;
        }
        // X = clip(N(mu, sigma), -1, 1): P(X = -1) = Phi(a), P(X = 1) = 1 - Phi(b), and
        // E[X] = -Phi(a) + (1 - Phi(b)) + mu (Phi(b) - Phi(a)) + sigma (phi(a) - phi(b)),
        // a = (-1 - mu) / sigma, b = (1 - mu) / sigma. Each count within 6 binomial standard
        // deviations, the mean within 6 standard errors (bounded by 1 / sqrt(K)).
        const double m = mu[d], s = sigma[d], za = (-1 - m) / s, zb = (1 - m) / s;
        const double pl = Phi(za), ph = 1 - Phi(zb);
        const double phi_a = std::exp(-za * za / 2) / std::sqrt(2 * 3.14159265358979323846), phi_b = std::exp(-zb * zb / 2) / std::sqrt(2 * 3.14159265358979323846);
        const double ex = -pl + ph + m * (Phi(zb) - Phi(za)) + s * (phi_a - phi_b);
        CAPTURE(d);
        CAPTURE(m);
        CAPTURE(s);
        REQUIRE(pl + ph > 0.01);  // the test means something: clipping happens
        CHECK(std::fabs(at_low - K * pl) < 6 * std::sqrt(K * pl * (1 - pl)) + 1);
        CHECK(std::fabs(at_high - K * ph) < 6 * std::sqrt(K * ph * (1 - ph)) + 1);
        CHECK(std::fabs(sum / K - ex) < 6 / std::sqrt(double(K)));
    }
}

TEST_CASE("CEM: equal scores go to the lower index; M rounds score M x members x blocks x H batches") {
    Ensemble<float> ens = gain_model({1.0f, 2.0f});
    MPCConfig cfg;
    cfg.horizon = 3;
    cfg.num_sequences = 50;
    cfg.cem = true;
    cfg.cem_iterations = 1;
    cfg.cem_num_elites = 5;
    MPC<float> mpc(std::make_shared<Ensemble<float>>(ens), flat_reward, {-1, -1}, {1, 1}, cfg, 2);
    const float s0[2] = {0, 0};
    float a[2];
    mpc.act(s0, a);
    const std::vector<int> first = {0, 1, 2, 3, 4};
    for (int d = 0; d < 6; ++d) {
        const auto [m, s] = column_stats(mpc.cand, first, d);
        CHECK(mpc.mu[d] == rel(m, 1e-6));
        CHECK(mpc.sigma[d] == rel(s, 1e-6));
    }
    // Rounds: each round scores every block of candidates with every member, one reward call per step.
    for (int M : {1, 2, 3, 5}) {
        cfg.cem_iterations = M;
        cfg.num_sequences = 300;  // 2 blocks of 150
        MPC<float> p(std::make_shared<Ensemble<float>>(ens), counting_reward, {-1, -1}, {1, 1}, cfg, 2);
        reward_calls = 0;
        p.act(s0, a);
        CHECK(reward_calls.load() == M * 2 * 2 * 3);
    }
    cfg.cem = false;  // random shooting: one round
    MPC<float> rs(std::make_shared<Ensemble<float>>(ens), counting_reward, {-1, -1}, {1, 1}, cfg, 2);
    reward_calls = 0;
    rs.act(s0, a);
    CHECK(reward_calls.load() == 2 * 2 * 3);
}

// =================================================================================================
// 3. sample_trajectories
// =================================================================================================

namespace {
// A toy env whose k-th episode lasts L_k = 2 + (k * 5) % 7 steps (2..8) until done, k counted by
// the env itself; obs = [steps so far], reward of step t = 10 t + the action.
struct CountEnv {
    static constexpr const char* kName = "count";
    int k = 0, t = 0, L = 0;
    std::vector<int> episode_lengths;  // L of every reset, in order
    int obs_dim() const { return 1; }
    int act_dim() const { return 1; }
    int ep_len() const { return 5; }
    float act_low(int) const { return -1; }
    float act_high(int) const { return 1; }
    void reset(Rng&, std::vector<float>& obs) {
        L = 2 + (k++ * 5) % 7;
        episode_lengths.push_back(L);
        t = 0;
        obs.assign(1, 0.0f);
    }
    float step(const std::vector<float>& act, std::vector<float>& obs, bool& done) {
        ++t;
        obs.assign(1, float(t));
        done = t == L;
        return 10.0f * t + act[0];
    }
    static void reward(const float* obs, const float*, int n, float* rew, float* done) {
        for (int i = 0; i < n; ++i) {
            rew[i] = 10.0f * obs[i];
            if (done) done[i] = 0;
        }
    }
};
}  // namespace

TEST_CASE("sample_trajectories: whole paths until min_steps, cut at done or at exactly max_len, returns = sums") {
    for (int max_len : {1, 5, 8, 100}) {
        for (int min_steps : {1, 4, 17, 60}) {
            CountEnv env;
            uint64_t episodes = 3;
            Rollouts<float> out;
            // The action is 0.5 + the observation, so a return also shows what the policy saw.
            sample_trajectories(env, [](View<const float> o, View<float> a) { a[0] = 0.5f + o[0]; },
                                min_steps, max_len, 1, &episodes, out);
            CAPTURE(max_len);
            CAPTURE(min_steps);
            // The oracle: path k lasts min(L_k, max_len); paths are added whole until >= min_steps.
            std::vector<int> len;
            int total = 0;
            for (int k = 0; total < min_steps; ++k) {
                len.push_back(std::min(2 + (k * 5) % 7, max_len));
                total += len.back();
            }
            REQUIRE(out.lengths == len);
            REQUIRE(out.steps() == total);
            CHECK(episodes == 3 + len.size());
            CHECK(env.episode_lengths.size() == len.size());
            int row = 0;
            for (std::size_t p = 0; p < len.size(); ++p) {
                double ret = 0;
                for (int t = 1; t <= len[p]; ++t, ++row) {
                    const double r = 10.0 * t + 0.5 + (t - 1);
                    ret += r;
                    CHECK(out.obs(row, 0) == float(t - 1));
                    CHECK(out.next_obs(row, 0) == float(t));
                    CHECK(out.act(row, 0) == float(0.5 + (t - 1)));
                    CHECK(out.rew[row] == float(r));
                    CHECK(out.terminal[row] == (t == len[p] ? 1.0f : 0.0f));  // 1 on the last step only
                }
                CHECK(out.returns[p] == doctest::Approx(ret));
            }
        }
    }
}

// =================================================================================================
// 4. add_sl_noise (reference 3.2)
// =================================================================================================
// Tolerances: for n i.i.d. N(0, s) draws, the sample std has relative standard error about
// 1/sqrt(2n) and the sample mean standard error s/sqrt(n); the sample correlation of two
// independent columns has standard error about 1/sqrt(n). Every check allows 6 standard errors:
// a correct implementation fails one with probability about 2e-9 whatever the seed.

TEST_CASE("add_sl_noise: std |0.01 x mean of the new rows| per column (1e-6 x 0.01 for a zero mean), to 6 standard errors") {
    const int old = 500, n = 20000;
    Tensor<double> x(old + n, 4), before(old + n, 4);
    for (int i = 0; i < old; ++i)
        for (int j = 0; j < 4; ++j) x(i, j) = 1000.0;  // old rows: would dominate a mean over all rows
    for (int i = old; i < old + n; ++i) {
        x(i, 0) = 2.0;
        x(i, 1) = -5.0;
        x(i, 2) = (i % 2) ? 1.0 : -1.0;        // mean exactly 0: the reference's 1e-6 -> std 1e-8
        x(i, 3) = 4.0 + ((i % 4) - 1.5);       // mean 4, not constant
    }
    std::copy(x.data(), x.data() + x.size(), before.data());
    Rng rng(4, Stream::noise);
    add_sl_noise(x, old, n, rng);
    for (int i = 0; i < old; ++i)
        for (int j = 0; j < 4; ++j) REQUIRE(x(i, j) == 1000.0);
    const double expect[4] = {0.02, 0.05, 1e-8, 0.04};
    for (int j = 0; j < 4; ++j) {
        double m = 0, v = 0;
        for (int i = old; i < old + n; ++i) m += x(i, j) - before(i, j);
        m /= n;
        for (int i = old; i < old + n; ++i) v += (x(i, j) - before(i, j) - m) * (x(i, j) - before(i, j) - m);
        const double s = std::sqrt(v / n);
        CAPTURE(j);
        CHECK(s == rel(expect[j], 6 / std::sqrt(2.0 * n)));  // 6 x 0.5%: 40% or 5% too small fails
        CHECK(std::fabs(m) < 6 * expect[j] / std::sqrt(double(n)));
    }
}

TEST_CASE("ReplayBuffer add with noise: obs and next_obs noised independently; actions, rewards, terminals exact") {
    const int n = 20000;
    Rollouts<double> r;
    r.clear(2, 1);
    for (int i = 0; i < n; ++i) {
        const double o[2] = {3.0, -1.0}, a[1] = {0.25 * (i % 5)};
        r.push(o, a, -0.5 * (i % 3), o, i % 7 == 0);  // next_obs == obs: equal noise would show
    }
    ReplayBuffer<double> buf(2, 1, 1000000);
    Rng rng(9, Stream::noise);
    buf.add(r, true, rng);
    REQUIRE(buf.size() == n);
    for (int j = 0; j < 2; ++j) {
        double so = 0, sn = 0, son = 0;
        for (int i = 0; i < n; ++i) {
            const double eo = buf.obs()(i, j) - r.obs(i, j), en = buf.next_obs()(i, j) - r.next_obs(i, j);
            so += eo * eo;
            sn += en * en;
            son += eo * en;
        }
        const double s = j == 0 ? 0.03 : 0.01;
        CAPTURE(j);
        CHECK(std::sqrt(so / n) == rel(s, 6 / std::sqrt(2.0 * n)));
        CHECK(std::sqrt(sn / n) == rel(s, 6 / std::sqrt(2.0 * n)));
        CHECK(std::fabs(son / std::sqrt(so * sn)) < 6 / std::sqrt(double(n)));  // uncorrelated
    }
    for (int i = 0; i < n; ++i) {
        REQUIRE(buf.act()(i, 0) == r.act(i, 0));
        REQUIRE(buf.rew()(i, 0) == r.rew[i]);
        REQUIRE(buf.terminal()(i, 0) == r.terminal[i]);
    }
}

// =================================================================================================
// 5. MBPO: rollouts and the SAC buffer
// =================================================================================================

TEST_CASE("MBPO model rollout: every step keeps its own start's terminal flag (starts with mixed flags)") {
    Ensemble<float> ens(4, 2, 2, 1, 8, 1e-3f, 2);
    ReplayBuffer<float> buf(4, 2, 100);
    Rollouts<float> r;
    r.clear(4, 2);
    for (int i = 0; i < 40; ++i) {  // row i is recognized by obs[0] = i / 40; terminal on rows 3, 6, ...
        const float o[4] = {i / 40.0f, 0.5f, 0.7f, -0.8f}, a[2] = {0.2f, -0.1f},
                    o2[4] = {i / 40.0f + 0.01f, 0.49f, 0.7f, -0.8f};
        r.push(o, a, -1.0f, o2, i % 3 == 0);
    }
    Rng rng(1);
    buf.add(r, false, rng);
    ens.fit_stats(buf.obs(), buf.act(), buf.next_obs());
    SACConfig c;
    c.size = 8;
    SAC<float> sac(4, 2, -0.99f, 0.99f, c, 1);
    RolloutWork scratch(ens);
    Rollouts<float> out;
    int seen[2] = {0, 0};
    for (uint64_t k = 0; k < 60; ++k) {
        Rng rrng(3, Stream::rollout, k);
        model_rollout<Obstacles>(ens, sac, buf, 4, rrng, scratch, out);
        REQUIRE(out.steps() == 4);
        const int start = static_cast<int>(std::lround(out.obs(0, 0) * 40.0f));
        REQUIRE(out.obs(0, 0) == buf.obs()(start, 0));
        const float flag = (start % 3 == 0) ? 1.0f : 0.0f;
        ++seen[int(flag)];
        for (int t = 0; t < 4; ++t) CHECK(out.terminal[t] == flag);
        CHECK(out.returns.empty());  // model rollouts add transitions, not finished paths
    }
    CHECK(seen[0] > 0);
    CHECK(seen[1] > 0);
    // Rollout length 0 (model-free SAC): nothing to add.
    Rng rrng(3, Stream::rollout, 99);
    model_rollout<Obstacles>(ens, sac, buf, 0, rrng, scratch, out);
    CHECK(out.steps() == 0);
    const int before = buf.size();
    buf.add(out, false, rrng);
    CHECK(buf.size() == before);
}

TEST_CASE("MBPO's SAC buffer: 100k FIFO over many iterations of real paths and one-row rollouts") {
    const int cap = MBPOConfig().sac_buffer_size;
    CHECK(cap == 100000);  // reference 3.2 / 3.6
    ReplayBuffer<float> buf(1, 1, cap);
    Rng rng(1);
    int next_id = 0;
    Rollouts<float> real, one;
    for (int itr = 0; itr < 12; ++itr) {  // 216k rows: the dead rows are reclaimed once, at 200k
        real.clear(1, 1);
        for (int i = 0; i < 15000; ++i, ++next_id) {
            const float o[1] = {float(next_id)}, a[1] = {0};
            real.push(o, a, 0, o, false);
        }
        buf.add(real, false, rng);
        for (int k = 0; k < 3000; ++k, ++next_id) {
            one.clear(1, 1);
            const float o[1] = {float(next_id)}, a[1] = {0};
            one.push(o, a, 0, o, true);
            buf.add(one, false, rng);
        }
        // Exactly the newest min(cap, added) rows, oldest first.
        const int live = std::min(cap, next_id);
        REQUIRE(buf.size() == live);
        for (int i = 0; i < live; ++i) REQUIRE(buf.obs()(i, 0) == float(next_id - live + i));
        REQUIRE(buf.obs()(live - 1, 0) == float(next_id - 1));
    }
}

TEST_CASE("sample_distinct: minibatches without replacement, every row equally likely") {
    std::vector<int> rows;
    std::vector<int> count(300, 0);
    const int draws = 400, k = 256, n = 300;
    for (int d = 0; d < draws; ++d) {
        Rng rng(5, Stream::sac_train, d, 1);
        sample_distinct(n, k, rng, rows);
        REQUIRE(rows.size() == std::size_t(k));
        std::vector<int> s = rows;
        std::sort(s.begin(), s.end());
        REQUIRE(std::adjacent_find(s.begin(), s.end()) == s.end());  // distinct
        REQUIRE(s.front() >= 0);
        REQUIRE(s.back() < n);
        for (int r : rows) ++count[r];
    }
    // Each row is in a minibatch with probability k/n: binomial counts within 6 standard deviations.
    const double p = double(k) / n, mean = draws * p, sd = std::sqrt(draws * p * (1 - p));
    for (int c : count) CHECK(std::fabs(c - mean) < 6 * sd);
    // A minibatch as large as the buffer is a permutation.
    Rng rng(6);
    sample_distinct(10, 10, rng, rows);
    std::sort(rows.begin(), rows.end());
    for (int i = 0; i < 10; ++i) CHECK(rows[i] == i);
}

// =================================================================================================
// 6. Metrics (reference 4.1) and the model prediction error (4.2)
// =================================================================================================

TEST_CASE("return_stats: mean, population std, max, min and mean length of the paths") {
    Rollouts<float> r;
    r.returns = {1, 2, 3, 10};
    r.lengths = {4, 4, 6, 10};
    const ReturnStats s = return_stats(r);
    CHECK(s.mean == 4.0);
    CHECK(s.std == doctest::Approx(std::sqrt(12.5)));  // population: sqrt(50 / 4), not sqrt(50 / 3)
    CHECK(s.max == 10.0);
    CHECK(s.min == 1.0);
    CHECK(s.ep_len == 6.0);
    CHECK(std::isnan(return_stats(Rollouts<float>()).mean));
}

namespace {
// Every episode lasts exactly 4 steps (done), and every step of episode k (counted over all
// resets: collection, the MPE rollout, evaluation) earns k, so each return is 4 k.
struct EpisodeEnv {
    static constexpr const char* kName = "episodes";
    int k = -1, t = 0;
    int obs_dim() const { return 2; }
    int act_dim() const { return 1; }
    int ep_len() const { return 10; }
    float act_low(int) const { return -1; }
    float act_high(int) const { return 1; }
    void reset(Rng& rng, std::vector<float>& obs) {
        ++k;
        t = 0;
        obs = {0.0f, float(k) + 0.01f * float(rng.uniform())};
    }
    float step(const std::vector<float>& act, std::vector<float>& obs, bool& done) {
        ++t;
        obs = {float(t) + 0.1f * act[0], float(k)};
        done = t == 4;
        float r = 0;
        reward(obs.data(), act.data(), 1, &r, nullptr);
        return r;
    }
    static void reward(const float* obs, const float*, int n, float* rew, float* done) {
        for (int i = 0; i < n; ++i) {
            rew[i] = std::round(obs[2 * i + 1]);
            if (done) done[i] = 0;
        }
    }
};

std::vector<std::vector<double>> read_metrics(const std::string& dir, std::vector<std::string>* header = nullptr) {
    std::ifstream in(fs::path(dir) / "metrics.csv");
    std::vector<std::vector<double>> rows;
    std::string line;
    std::getline(in, line);
    if (header) {
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) header->push_back(c);
    }
    while (std::getline(in, line)) {
        std::vector<double> v;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) v.push_back(c.empty() ? NAN : std::stod(c));
        if (!line.empty() && line.back() == ',') v.push_back(NAN);
        rows.push_back(v);
    }
    return rows;
}
}  // namespace

TEST_CASE("run_mb metrics on a toy env with known returns: Train_/Eval_ stats, env steps, initial return, empty Eval cells") {
    const fs::path tmp = fs::temp_directory_path() / ("mbrl_test_metrics_" + std::to_string(::getpid()));
    fs::remove_all(tmp);
    MBConfig c;
    c.exp_name = "metrics";
    c.env_name = EpisodeEnv::kName;
    c.n_iter = 3;
    c.batch_size_initial = 10;  // 3 episodes of 4 steps
    c.batch_size = 5;           // 2 episodes
    c.eval_batch_size = 6;      // 2 episodes
    c.num_agent_train_steps_per_iter = 2;
    c.train_batch_size = 2;
    c.size = 4;
    c.mpc.num_sequences = 8;
    c.mpc.horizon = 2;
    c.scalar_log_freq = 2;  // evaluate at iterations 0 and 2 only
    c.data_dir = tmp.string();
    EpisodeEnv env;
    std::vector<std::string> header;
    const auto rows = read_metrics(mbrl_examples::run_and_log(env, c, {}, false), &header);
    REQUIRE(header == mbrl_examples::metric_names());
    REQUIRE(rows.size() == 3);
    // Episodes in order: 0-2 collect, 3 the MPE rollout, 4-5 eval | 6-7 collect | 8-9 collect, 10-11 eval.
    // Returns are 4k. Population std of {0, 4, 8} is sqrt(32/3); of two returns 4 apart, 2.
    auto col = [&](const char* name) {
        return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    const double train_mean[3] = {4, 26, 34}, train_std[3] = {std::sqrt(32.0 / 3), 2, 2};
    const double train_max[3] = {8, 28, 36}, train_min[3] = {0, 24, 32}, steps[3] = {12, 20, 28};
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        const auto& v = rows[i];
        CHECK(v[col("Iteration")] == i);
        CHECK(v[col("Train_AverageReturn")] == doctest::Approx(train_mean[i]));
        CHECK(v[col("Train_StdReturn")] == doctest::Approx(train_std[i]));
        CHECK(v[col("Train_MaxReturn")] == doctest::Approx(train_max[i]));
        CHECK(v[col("Train_MinReturn")] == doctest::Approx(train_min[i]));
        CHECK(v[col("Train_AverageEpLen")] == 4);
        CHECK(v[col("Train_EnvstepsSoFar")] == steps[i]);  // training steps only, not eval or MPE
        CHECK(v[col("Initial_DataCollection_AverageReturn")] == doctest::Approx(4));
        CHECK(std::isfinite(v[col("Training Loss")]));
    }
    CHECK(rows[0][col("Eval_AverageReturn")] == doctest::Approx(18));
    CHECK(rows[0][col("Eval_StdReturn")] == doctest::Approx(2));
    CHECK(rows[0][col("Eval_MaxReturn")] == doctest::Approx(20));
    CHECK(rows[0][col("Eval_MinReturn")] == doctest::Approx(16));
    CHECK(rows[0][col("Eval_AverageEpLen")] == 4);
    CHECK(rows[2][col("Eval_AverageReturn")] == doctest::Approx(42));
    for (const char* e : {"Eval_AverageReturn", "Eval_StdReturn", "Eval_MaxReturn", "Eval_MinReturn", "Eval_AverageEpLen"})
        CHECK(std::isnan(rows[1][col(e)]));  // not evaluated: an empty cell
    // --scalar_log_freq -1: no Eval cell at all, and no eval episodes (iteration 1 collects 5-6).
    c.scalar_log_freq = -1;
    c.exp_name = "metrics_nolog";
    EpisodeEnv env2;
    const auto none = read_metrics(mbrl_examples::run_and_log(env2, c, {}, false));
    REQUIRE(none.size() == 3);
    for (const auto& v : none) {
        for (const char* e : {"Eval_AverageReturn", "Eval_StdReturn", "Eval_MaxReturn", "Eval_MinReturn", "Eval_AverageEpLen"})
            CHECK(std::isnan(v[col(e)]));
    }
    CHECK(none[1][col("Train_AverageReturn")] == doctest::Approx(18));  // episodes 4 and 5
    fs::remove_all(tmp);
}

namespace {
// Q1's diagnostic written to `path` as the question binaries write it; returns the MPE.
template <class Env>
double log_model_predictions(Env& env, const Ensemble<float>& ens, uint64_t seed, uint64_t* episodes,
                             const std::string& path) {
    const ModelPredictions p = model_predictions(env, ens, seed, episodes);
    mbrl_examples::write_predictions(path, p);
    return p.mpe;
}
// s' = s + a from the fixed start (0.3, -0.2), never done.
struct IntegratorEnv {
    static constexpr const char* kName = "integrator";
    std::vector<float> s;
    int obs_dim() const { return 2; }
    int act_dim() const { return 2; }
    int ep_len() const { return 50; }
    float act_low(int) const { return -1; }
    float act_high(int) const { return 1; }
    void reset(Rng&, std::vector<float>& obs) { obs = s = {0.3f, -0.2f}; }
    float step(const std::vector<float>& act, std::vector<float>& obs, bool& done) {
        s[0] += act[0];
        s[1] += act[1];
        obs = s;
        done = false;
        return 0;
    }
    static void reward(const float*, const float*, int n, float* rew, float* done) {
        for (int i = 0; i < n; ++i) {
            rew[i] = 0;
            if (done) done[i] = 0;
        }
    }
};
}  // namespace

TEST_CASE("MPE of a known model: member 0 doubles every move, so MPE = mean over 10 x ob_dim of (s_t - s_0)^2") {
    // Member 0 predicts s + 2a, member 1 the truth s + a: the MPE uses member 0 alone, open loop,
    // so pred_t - s_0 = 2 (true_t - s_0) and the error is true_t - s_0.
    Ensemble<float> ens = gain_model({2.0f, 1.0f});
    IntegratorEnv env;
    uint64_t episodes = 0;
    const fs::path tmp = fs::temp_directory_path() / ("mbrl_test_mpe_" + std::to_string(::getpid()) + ".csv");
    const double mpe = log_model_predictions(env, ens, 4, &episodes, tmp.string());
    CHECK(episodes == 1);
    std::ifstream in(tmp);
    std::string line;
    std::getline(in, line);
    CHECK(line == "step,dimension,true,predicted,mpe");
    double truth[10][2], pred[10][2];
    int n = 0;
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        std::vector<double> v;
        for (std::string c; std::getline(ss, c, ',');) v.push_back(std::stod(c));
        REQUIRE(v.size() == 5);
        truth[int(v[0])][int(v[1])] = v[2];
        pred[int(v[0])][int(v[1])] = v[3];
        CHECK(v[4] == rel(mpe, 1e-7));
        ++n;
    }
    REQUIRE(n == 20);
    const double s0[2] = {0.3, -0.2};
    double oracle = 0;
    for (int t = 0; t < 10; ++t)
        for (int j = 0; j < 2; ++j) {
            if (t > 0) CHECK(std::fabs(truth[t][j] - truth[t - 1][j]) <= 1.0);  // one uniform action per step
            CHECK(pred[t][j] == doctest::Approx(s0[j] + 2 * (truth[t][j] - s0[j])).epsilon(1e-5));
            oracle += (truth[t][j] - s0[j]) * (truth[t][j] - s0[j]);
        }
    CHECK(truth[0][0] == doctest::Approx(0.3));
    oracle /= 20;
    CHECK(oracle > 0.1);
    CHECK(mpe == rel(oracle, 1e-5));
    fs::remove(tmp);
}
