// examples/run_log.hpp: a run's files and console lines, from what run_mb and run_mbpo report.
// A run directory <data_dir>/hw4_<exp_name>_<env_name>_<time> (the reference's name) holds
// flags.csv (the settings), metrics.csv (one row per iteration, the reference's keys) and, for
// run_mb, predictions.csv and losses.csv (iteration 0, the Q1 figures); one progress line is
// printed per iteration (reference 4.1).
#ifndef MBRL_EXAMPLES_RUN_LOG_HPP
#define MBRL_EXAMPLES_RUN_LOG_HPP

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "../envs/true_model.hpp"
#include "../mbrl.hpp"

namespace mbrl_examples {

// A number as CSV text: 9 significant digits, NaN as an empty cell (a value not logged).
inline std::string csv_num(double v) {
    if (std::isnan(v)) return "";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

// One CSV file with a header row, written row by row; every row is flushed as it is written, so
// an interrupted run leaves only whole rows behind.
class CsvWriter {
   public:
    CsvWriter(const std::string& path, std::vector<std::string> columns) : columns_(std::move(columns)) {
        f_ = std::fopen(path.c_str(), "w");
        if (!f_) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
        write(columns_);
    }
    CsvWriter(const CsvWriter&) = delete;
    CsvWriter& operator=(const CsvWriter&) = delete;
    ~CsvWriter() {
        if (f_) std::fclose(f_);
    }
    void row(const std::vector<double>& values) {
        std::vector<std::string> cells;
        for (double v : values) cells.push_back(csv_num(v));
        write(cells);
    }
    void write(const std::vector<std::string>& cells) {
        if (cells.size() != columns_.size())
            mbrl::fail("CsvWriter: row of ", cells.size(), " cells for ", columns_.size(), " columns");
        for (std::size_t i = 0; i < cells.size(); ++i) std::fprintf(f_, "%s%s", i ? "," : "", cells[i].c_str());
        std::fprintf(f_, "\n");
        std::fflush(f_);
    }

   private:
    std::FILE* f_ = nullptr;
    std::vector<std::string> columns_;
};

// Creates <root>/hw4_<exp_name>_<env_name>_<dd-mm-YYYY_HH-MM-SS> (the reference's log directory
// name; a suffix _2, _3, ... if two runs start in the same second) and returns its path.
inline std::string make_run_dir(const std::string& root, const std::string& exp_name, const std::string& env_name) {
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%d-%m-%Y_%H-%M-%S", std::localtime(&now));
    const std::string base = root + "/hw4_" + exp_name + "_" + env_name + "_" + stamp;
    std::filesystem::create_directories(root);
    std::string dir = base;
    for (int k = 2; !std::filesystem::create_directory(dir); ++k) dir = base + "_" + std::to_string(k);
    return dir;
}

// The columns of metrics.csv: Iteration, then the metrics named as the reference logs them
// (reference 4.1), then this library's model diagnostics (mbrl::model_diagnostics; empty cells
// when the iteration was not evaluated).
inline const std::vector<std::string>& metric_names() {
    static const std::vector<std::string> names = {
        "Iteration", "Eval_AverageReturn", "Eval_StdReturn", "Eval_MaxReturn", "Eval_MinReturn",
        "Eval_AverageEpLen", "Train_AverageReturn", "Train_StdReturn", "Train_MaxReturn", "Train_MinReturn",
        "Train_AverageEpLen", "Train_EnvstepsSoFar", "TimeSinceStart", "Training Loss",
        "Initial_DataCollection_AverageReturn",
        "Model_OneStepError", "Model_OpenLoop10Error", "Model_Disagreement"};
    return names;
}

// Seconds as "1h02m" or "3m05s".
inline std::string hms(double seconds) {
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else
        std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    return buf;
}

// predictions.csv: step, dimension, true, predicted, mpe (one row per step and state dimension).
inline void write_predictions(const std::string& path, const mbrl::ModelPredictions& p) {
    CsvWriter csv(path, {"step", "dimension", "true", "predicted", "mpe"});
    for (int t = 0; t < p.truth.rows; ++t)
        for (int j = 0; j < p.truth.cols; ++j) csv.row({double(t), double(j), p.truth(t, j), p.pred(t, j), p.mpe});
}

// Q1's diagnostic written to `path`; returns the MPE.
template <class Env>
double log_model_predictions(Env& env, const mbrl::Ensemble<float>& ens, uint64_t seed, uint64_t* episodes,
                             const std::string& path) {
    const mbrl::ModelPredictions p = mbrl::model_predictions(env, ens, seed, episodes);
    write_predictions(path, p);
    return p.mpe;
}

// The files and console lines of one run: the run directory with flags.csv (the settings given),
// then what sink() receives: one metrics.csv row and one progress line per iteration, and
// predictions.csv and losses.csv at run_mb's iteration 0.
class RunLog {
   public:
    using Settings = std::vector<std::pair<std::string, std::string>>;
    RunLog(const mbrl::MBConfig& cfg, const Settings& settings, bool verbose)
        : dir_(make_run_dir(cfg.data_dir, cfg.exp_name, cfg.env_name)),
          metrics_(dir_ + "/metrics.csv", metric_names()),
          verbose_(verbose) {
        CsvWriter flags(dir_ + "/flags.csv", {"flag", "value"});
        for (const auto& kv : settings) flags.write({kv.first, kv.second});
        if (verbose_) std::printf("writing %s/\n", dir_.c_str());
    }
    const std::string& dir() const { return dir_; }

    // The callbacks for run_mb / run_mbpo; they write into this object, which must outlive the run.
    mbrl::RunSink sink() {
        mbrl::RunSink s;
        s.iteration = [this](const mbrl::IterationReport& r) { iteration(r); };
        s.model_check = [this](const mbrl::ModelPredictions& p, const std::vector<double>& losses) {
            write_predictions(dir_ + "/predictions.csv", p);
            CsvWriter lc(dir_ + "/losses.csv", {"step", "Training Loss"});
            for (std::size_t k = 0; k < losses.size(); ++k) lc.row({double(k), losses[k]});
            if (verbose_) std::printf("itr 0: model prediction error (MPE) %.6g\n", p.mpe);
        };
        return s;
    }

    // One metrics.csv row and one progress line (MBPO's with SAC's critic loss and temperature).
    void iteration(const mbrl::IterationReport& r) {
        if (r.itr == 0) initial_return_ = r.train.mean;
        const double t = clock_.seconds();
        const mbrl::ReturnStats &train = r.train, &eval = r.eval;
        metrics_.row({double(r.itr), eval.mean, eval.std, eval.max, eval.min, eval.ep_len, train.mean, train.std,
                      train.max, train.min, train.ep_len, double(r.envsteps), t, r.loss, initial_return_,
                      r.model.one_step, r.model.open_loop, r.model.disagreement});
        if (!verbose_) return;
        char extra[64] = "";
        if (!std::isnan(r.alpha))
            std::snprintf(extra, sizeof extra, " | critic loss %.4g | alpha %.3g", r.critic_loss, r.alpha);
        std::printf("itr %d/%d | env steps %ld | train return %.4g | eval return %s | loss %.4g%s | %s elapsed, ~%s left\n",
                    r.itr + 1, r.n_iter, r.envsteps, train.mean, std::isnan(eval.mean) ? "-" : csv_num(eval.mean).c_str(),
                    r.loss, extra, hms(t).c_str(), hms(t / (r.itr + 1) * (r.n_iter - r.itr - 1)).c_str());
        std::fflush(stdout);
    }

   private:
    std::string dir_;
    CsvWriter metrics_;
    bool verbose_;
    mbrl::Timer clock_;
    double initial_return_ = NAN;
};

// Whether Env can save and restore its state (envs/true_model.hpp), i.e. be planned on.
template <class Env, class = void>
struct has_state : std::false_type {};
template <class Env>
struct has_state<Env, std::void_t<typename Env::State>> : std::true_type {};

// One run of run_mb or run_mbpo (by the config's type) written into a new run directory; returns
// the directory. With cfg.mpc.true_model, run_mb plans on a TrueSimulator of env.
template <class Env>
std::string run_and_log(Env& env, const mbrl::MBConfig& cfg, const RunLog::Settings& settings, bool verbose = true) {
    if constexpr (has_state<Env>::value) {
        if (cfg.mpc.true_model) {
            mbrl::envs::TrueSimulator<Env> sim(env);
            RunLog log(cfg, settings, verbose);
            mbrl::run_mb(env, cfg, log.sink(), &sim);
            return log.dir();
        }
    } else {
        if (cfg.mpc.true_model) mbrl::fail("--mpc_model true: this env cannot save and restore its state");
    }
    RunLog log(cfg, settings, verbose);
    mbrl::run_mb(env, cfg, log.sink());
    return log.dir();
}
template <class Env>
std::string run_and_log(Env& env, const mbrl::MBPOConfig& cfg, const RunLog::Settings& settings, bool verbose = true) {
    RunLog log(cfg.mb, settings, verbose);
    mbrl::run_mbpo(env, cfg, log.sink());
    return log.dir();
}

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_RUN_LOG_HPP
