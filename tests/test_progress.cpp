// tests/test_progress.cpp: RunSink::progress, the reports inside an iteration. They come at the
// stop predicate's points, are monotone within a phase with done <= total, cover every phase of an
// iteration in order, and change no result.
#include <cmath>
#include <vector>

#include "../envs/obstacles.hpp"
#include "helpers.hpp"

using namespace mbrl;

namespace {

MBConfig tiny_mb() {
    MBConfig c;
    c.env_name = "obstacles-cs285-v0";
    c.n_iter = 2;
    c.batch_size_initial = 400;
    c.batch_size = 250;
    c.eval_batch_size = 150;
    c.num_agent_train_steps_per_iter = 7;
    c.n_layers = 1;
    c.size = 16;
    c.mpc.num_sequences = 40;
    c.mpc.horizon = 4;
    return c;
}
MBPOConfig tiny_mbpo() {
    MBPOConfig c;
    c.mb = tiny_mb();
    c.sac_n_iter = 5;
    c.sac_train_steps = 3;
    c.sac.batch = 32;
    c.sac.size = 16;
    c.rollout_length = 2;
    return c;
}

// Every report of a run, and the iteration reports it gave (with or without progress).
struct Seen {
    std::vector<Progress> progress;
    std::vector<IterationReport> reports;
};
template <class Config, class Run>
Seen run_with(const Config& c, bool with_progress, Run&& run) {
    Seen seen;
    RunSink sink;
    sink.iteration = [&](const IterationReport& r) { seen.reports.push_back(r); };
    if (with_progress) sink.progress = [&](const Progress& p) { seen.progress.push_back(p); };
    Obstacles env;
    run(env, c, sink);
    return seen;
}

// The reports are monotone and bounded, and each iteration shows `phases` in that order.
void check_reports(const std::vector<Progress>& ps, int n_iter, const std::vector<Phase>& phases) {
    REQUIRE(!ps.empty());
    for (int itr = 0; itr < n_iter; ++itr) {
        std::vector<Phase> order;
        const Progress* prev = nullptr;
        for (const Progress& p : ps) {
            if (p.itr != itr) continue;
            CHECK(p.n_iter == n_iter);
            CHECK(p.done >= 0);
            CHECK(p.done <= p.total);
            if (order.empty() || order.back() != p.phase) {
                order.push_back(p.phase);
                CHECK(p.done == 0);  // a phase starts at 0
            } else {
                REQUIRE(prev != nullptr);
                CHECK(p.done >= prev->done);
                CHECK(p.total == prev->total);
            }
            prev = &p;
        }
        CAPTURE(itr);
        CHECK(order == phases);
    }
    // Iterations come in order.
    for (std::size_t k = 1; k < ps.size(); ++k) CHECK(ps[k].itr >= ps[k - 1].itr);
}

void check_same(const std::vector<IterationReport>& a, const std::vector<IterationReport>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
        CHECK(a[k].train.mean == b[k].train.mean);
        CHECK(a[k].eval.mean == b[k].eval.mean);
        CHECK(a[k].loss == b[k].loss);
        CHECK(a[k].model.one_step == b[k].model.one_step);
        CHECK((a[k].critic_loss == b[k].critic_loss || (std::isnan(a[k].critic_loss) && std::isnan(b[k].critic_loss))));
    }
}

}  // namespace

TEST_CASE("Progress: run_mb reports collecting, training the model, evaluating; results unchanged") {
    const MBConfig c = tiny_mb();
    auto run = [](Obstacles& env, const MBConfig& cfg, const RunSink& sink) { run_mb(env, cfg, sink); };
    const Seen with = run_with(c, true, run), without = run_with(c, false, run);
    check_reports(with.progress, c.n_iter, {Phase::collecting, Phase::training_model, Phase::evaluating});
    check_same(with.reports, without.reports);
    // One report per env step of collection (steps done 0 .. total - 1, clamped at the total for
    // the last path's extra steps) and per training step.
    long training = 0;
    for (const Progress& p : with.progress) training += p.phase == Phase::training_model;
    CHECK(training == static_cast<long>(c.n_iter) * c.num_agent_train_steps_per_iter);
    long collected_itr0 = 0;
    for (const Progress& p : with.progress) collected_itr0 += p.itr == 0 && p.phase == Phase::collecting;
    CHECK(collected_itr0 >= c.batch_size_initial);
}

TEST_CASE("Progress: run_mbpo adds SAC's training, one report per SAC step; results unchanged") {
    const MBPOConfig c = tiny_mbpo();
    auto run = [](Obstacles& env, const MBPOConfig& cfg, const RunSink& sink) { run_mbpo(env, cfg, sink); };
    const Seen with = run_with(c, true, run), without = run_with(c, false, run);
    check_reports(with.progress, c.mb.n_iter,
                  {Phase::collecting, Phase::training_model, Phase::training_sac, Phase::evaluating});
    long sac = 0;
    for (const Progress& p : with.progress)
        if (p.phase == Phase::training_sac) {
            ++sac;
            CHECK(p.total == c.sac_n_iter * c.sac_train_steps);
        }
    CHECK(sac == static_cast<long>(c.mb.n_iter) * c.sac_n_iter * c.sac_train_steps);
    check_same(with.reports, without.reports);
}
