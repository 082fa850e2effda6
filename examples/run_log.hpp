// examples/run_log.hpp: a run's files and console lines, from what run_mb and run_mbpo report.
// A run directory <data_dir>/hw4_<exp_name>_<env_name>_<time> (the reference's name) holds
// flags.csv (the settings), metrics.csv (one row per iteration, the reference's keys) and, for
// run_mb, predictions.csv and losses.csv (iteration 0, the Q1 figures); one progress line is
// printed per iteration (reference 4.1). With --save_params, checkpoint.bin (the library's
// format, mbrl_checkpoint.hpp) is replaced after every iteration, and a run continues from it
// with --resume DIR. Every write is checked: a full disk is an error naming the file. A run
// directory appears whole and is locked for the run's life (run_lock.hpp), so that a run killed
// at any instant continues exactly (docs/reliability.md).
// TensorBoard: events.out.tfevents.<start>.<host> holds metrics.csv's rows as events, rewritten
// from metrics.csv when the run starts or resumes and appended to after every row (tfevents.hpp).
#ifndef MBRL_EXAMPLES_RUN_LOG_HPP
#define MBRL_EXAMPLES_RUN_LOG_HPP

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../envs/true_model.hpp"
#include "../mbrl_checkpoint.hpp"
#include "progress_line.hpp"
#include "run_dir.hpp"
#include "stop.hpp"
#include "tfevents.hpp"  // TensorBoard: the event file beside metrics.csv

namespace mbrl_examples {


// predictions.csv: step, dimension, true, predicted, mpe (one row per step and state dimension).
inline void write_predictions(const std::string& path, const mbrl::ModelPredictions& p) {
    CsvWriter csv(path, {"step", "dimension", "true", "predicted", "mpe"});
    for (int t = 0; t < p.truth.rows; ++t)
        for (int j = 0; j < p.truth.cols; ++j) csv.row({double(t), double(j), p.truth(t, j), p.pred(t, j), p.mpe});
}

// The files and console lines of one run: the run directory with flags.csv (the settings given),
// then what sink() receives: one metrics.csv row and one progress line per iteration, and
// predictions.csv and losses.csv at run_mb's iteration 0.
class RunLog {
   public:
    using Settings = std::vector<std::pair<std::string, std::string>>;
    // A new run directory; or, with resume_dir, the directory of a run to continue, in which
    // nothing is written until the library has accepted its checkpoint (resumed()).
    // Either way the directory is locked (run_lock.hpp) for the RunLog's life: RunLocked if another
    // process holds it.
    RunLog(const mbrl::LoopConfig& cfg, const Settings& settings, bool verbose, const std::string& resume_dir = "")
        : dir_(resume_dir), settings_(settings), verbose_(verbose), save_params_(cfg.save_params) {
        if (!resume_dir.empty()) {
            lock_ = RunLock(dir_);
            return;
        }
        dir_ = create_run_dir(cfg.data_dir, cfg.exp_name, cfg.env_name, flags_csv_text(settings), lock_);
        metrics_ = std::make_unique<CsvWriter>(dir_ + "/metrics.csv", metric_names(), /*append=*/true);
        events_ = std::make_unique<tfevents::EventFile>(dir_);  // TensorBoard: the event file, from metrics.csv
        if (verbose_) std::printf("writing %s/\n", dir_.c_str());
    }
    const std::string& dir() const { return dir_; }
    std::string checkpoint_path() const { return dir_ + "/checkpoint.bin"; }
    int checkpoints() const { return checkpoint_itr_; }  // iterations done in the last checkpoint written or read

    // The callbacks for run_mb / run_mbpo; they write into this object, which must outlive the run.
    mbrl::RunSink sink() {
        mbrl::RunSink s;
        s.iteration = [this](const mbrl::IterationReport& r) { iteration(r); };
        s.stop = [] { return stop_signal() != 0; };
        if (verbose_) s.progress = [this](const mbrl::Progress& p) { progress_(p); };
        s.resumed = [this](int next_itr) { resumed(next_itr); };
        if (save_params_)
            s.checkpoint = [this](int next_itr, const mbrl::RunState& run) {
                std::ostringstream out;
                mbrl::save_checkpoint(out, run);
                write_file_atomically(checkpoint_path(), out.str());
                checkpoint_itr_ = next_itr;
            };
        s.model_check = [this](const mbrl::ModelPredictions& p, const std::vector<double>& losses) {
            write_predictions(dir_ + "/predictions.csv", p);
            CsvWriter lc(dir_ + "/losses.csv", {"step", "Training Loss"});
            for (std::size_t k = 0; k < losses.size(); ++k) lc.row({double(k), losses[k]});
            if (!verbose_) return;
            progress_.clear();
            std::printf("itr 0: model prediction error (MPE) %.6g\n", p.mpe);
        };
        return s;
    }

    // The checkpoint was accepted: metrics.csv keeps its first next_itr rows (a row written after
    // the checkpoint, by an iteration that did not finish its checkpoint, goes) and is appended
    // to; the clock and the initial return continue from them; flags.csv gets the new settings.
    void resumed(int next_itr) {
        const std::string path = dir_ + "/metrics.csv";
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
        std::string line, kept;
        std::vector<std::string> rows;
        std::getline(in, line);
        kept = line + "\n";
        while (static_cast<int>(rows.size()) < next_itr && std::getline(in, line) && !in.eof()) rows.push_back(line);
        if (static_cast<int>(rows.size()) < next_itr)
            throw std::runtime_error(path + ": " + std::to_string(rows.size()) + " whole rows, but the checkpoint has " +
                                     std::to_string(next_itr) + " iterations done");
        auto cell = [&path](const std::string& row, const std::string& column) -> double {
            const auto& names = metric_names();
            const std::size_t k = std::find(names.begin(), names.end(), column) - names.begin();
            std::stringstream ss(row);
            std::string c;
            for (std::size_t i = 0; i <= k && std::getline(ss, c, ',');) ++i;
            if (c.empty()) return NAN;
            std::size_t used = 0;
            double v = NAN;
            try {
                v = std::stod(c, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used != c.size()) throw std::runtime_error(path + ": " + column + " '" + c + "' is not a number");
            return v;
        };
        if (!rows.empty()) {
            initial_return_ = cell(rows.front(), "Initial_DataCollection_AverageReturn");
            time_offset_ = cell(rows.back(), "TimeSinceStart");
        }
        for (const auto& r : rows) kept += r + "\n";
        write_file_atomically(path, kept);
        tfevents::remove_video_files(dir_, next_itr);  // videos of iterations made again
        write_file_atomically(dir_ + "/flags.csv", flags_csv_text(settings_));
        metrics_ = std::make_unique<CsvWriter>(path, metric_names(), /*append=*/true);
        events_ = std::make_unique<tfevents::EventFile>(dir_);  // TensorBoard: rewritten from the rows kept
        checkpoint_itr_ = next_itr;
        if (verbose_) std::printf("resuming %s/ at iteration %d\n", dir_.c_str(), next_itr + 1);
    }

    // One metrics.csv row and one progress line (MBPO's with SAC's critic loss and temperature).
    void iteration(const mbrl::IterationReport& r) {
        if (verbose_) progress_.iteration_done();
        if (r.itr == 0) initial_return_ = r.train.mean;
        const double t = time_offset_ + clock_.seconds();
        const mbrl::ReturnStats &train = r.train, &eval = r.eval;
        const std::vector<double> row = {double(r.itr), eval.mean, eval.std, eval.max, eval.min, eval.ep_len,
                                         train.mean, train.std, train.max, train.min, train.ep_len,
                                         double(r.envsteps), t, r.loss, initial_return_,
                                         r.model.one_step, r.model.open_loop, r.model.disagreement};
        std::vector<std::string> cells;
        for (double v : row) cells.push_back(csv_num(v));
        metrics_->write(cells);  // the text CsvWriter::row would write
        events_->row(cells);  // TensorBoard: the same row, from the same text
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
    RunLock lock_;  // first: released last, after every file is closed
    std::string dir_;
    Settings settings_;
    std::unique_ptr<CsvWriter> metrics_;
    std::unique_ptr<tfevents::EventFile> events_;  // TensorBoard: metrics.csv's rows as events (tfevents.hpp)
    bool verbose_, save_params_;
    Timer clock_;
    double time_offset_ = 0;  // TimeSinceStart of the last row before a resume
    double initial_return_ = NAN;
    int checkpoint_itr_ = 0;
    ProgressLine progress_{::isatty(STDOUT_FILENO) == 1};
};

// A run stopped by a signal (mbrl::Interrupted, with where its files are).
struct RunStopped : std::runtime_error {
    std::string dir;
    int itr, checkpoint_itr;  // the iteration stopped; iterations in checkpoint.bin (0: none)
    RunStopped(const std::string& d, int at, int ckpt)
        : std::runtime_error("run stopped in iteration " + std::to_string(at + 1)), dir(d), itr(at), checkpoint_itr(ckpt) {}
};

// The sink's videos for a run directory (examples/video.hpp makes them), or an empty function.
using VideoMaker = std::function<decltype(mbrl::RunSink::videos)(const std::string& run_dir)>;

// Runs `run(sink, checkpoint stream or null)` with a RunLog: a new run directory, or the run in
// resume_dir continued from its checkpoint.bin. An unreadable or unfitting checkpoint is an
// error naming the file (and, from the library, what does not fit); nothing is written then.
template <class Run>
std::string run_logged(const mbrl::LoopConfig& cfg, const RunLog::Settings& settings, bool verbose,
                       const std::string& resume_dir, Run&& run, const VideoMaker& videos = {}) {
    RunLog log(cfg, settings, verbose, resume_dir);
    mbrl::RunSink sink = log.sink();
    if (videos) sink.videos = videos(log.dir());
    std::ifstream in;
    if (!resume_dir.empty()) {
        in.open(log.checkpoint_path(), std::ios::binary);
        if (!in)
            throw std::runtime_error("cannot read the checkpoint " + log.checkpoint_path() + ": " + std::strerror(errno) +
                                     " (a run writes one only with --save_params, after its first iteration)");
    }
    try {
        run(sink, resume_dir.empty() ? nullptr : &in);
    } catch (const mbrl::Interrupted& e) {
        throw RunStopped(log.dir(), e.itr, log.checkpoints());
    } catch (const std::invalid_argument& e) {
        if (std::string(e.what()).rfind("checkpoint:", 0) == 0)
            throw std::runtime_error(log.checkpoint_path() + ": " + std::string(e.what()).substr(12));
        throw;
    }
    return log.dir();
}

// One run of run_mb or run_mbpo (by the config's type) written into a new run directory; returns
// the directory. With resume_dir, continues the run there from its checkpoint. With
// cfg.mpc.true_model, run_mb plans on a TrueSimulator of env. `videos`: the sink's videos.
template <class Env>
std::string run_and_log(Env& env, const mbrl::MBConfig& cfg, const RunLog::Settings& settings, bool verbose = true,
                        const std::string& resume_dir = "", const VideoMaker& videos = {}) {
    if constexpr (mbrl::envs::has_state<Env>::value) {
        if (cfg.mpc.true_model) {
            mbrl::envs::TrueSimulator<Env> sim(env);
            return run_logged(cfg, settings, verbose, resume_dir,
                              [&](const mbrl::RunSink& sink, std::istream* in) { mbrl::run_mb(env, cfg, sink, in, &sim); },
                              videos);
        }
    } else {
        if (cfg.mpc.true_model) mbrl::fail("--mpc_model true: this env cannot save and restore its state");
    }
    return run_logged(cfg, settings, verbose, resume_dir,
                      [&](const mbrl::RunSink& sink, std::istream* in) { mbrl::run_mb(env, cfg, sink, in); }, videos);
}
template <class Env>
std::string run_and_log(Env& env, const mbrl::MBPOConfig& cfg, const RunLog::Settings& settings, bool verbose = true,
                        const std::string& resume_dir = "", const VideoMaker& videos = {}) {
    return run_logged(cfg.mb, settings, verbose, resume_dir,
                      [&](const mbrl::RunSink& sink, std::istream* in) { mbrl::run_mbpo(env, cfg, sink, in); }, videos);
}

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_RUN_LOG_HPP
