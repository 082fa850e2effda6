// examples/run_log.hpp: a run's files and console lines, from what run_mb and run_mbpo report.
// A run directory <data_dir>/hw4_<exp_name>_<env_name>_<time> (the reference's name) holds
// flags.csv (the settings), metrics.csv (one row per iteration, the reference's keys) and, for
// run_mb, predictions.csv and losses.csv (iteration 0, the Q1 figures); one progress line is
// printed per iteration (reference 4.1). With --save_params, checkpoint.bin (the library's
// format, mbrl.hpp section 13) is replaced after every iteration, and a run continues from it
// with --resume DIR. Every write is checked: a full disk is an error naming the file.
#ifndef MBRL_EXAMPLES_RUN_LOG_HPP
#define MBRL_EXAMPLES_RUN_LOG_HPP

#include <fcntl.h>
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
    // A new file with the header row, or (append) rows added to an existing file's.
    CsvWriter(const std::string& path, std::vector<std::string> columns, bool append = false)
        : path_(path), columns_(std::move(columns)) {
        f_ = std::fopen(path.c_str(), append ? "a" : "w");
        if (!f_) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
        if (!append) write(columns_);
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
        std::string line;
        for (std::size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + cells[i];
        line += "\n";
        errno = 0;
        if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0)
            throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno ? errno : EIO));
    }

   private:
    std::string path_;
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
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec) throw std::runtime_error("cannot create the data directory " + root + ": " + ec.message());
    std::string dir = base;
    for (int k = 2;; ++k) {
        if (std::filesystem::create_directory(dir, ec)) break;
        if (ec) throw std::runtime_error("cannot create the run directory " + dir + ": " + ec.message());
        dir = base + "_" + std::to_string(k);
    }
    return dir;
}

// Throws (naming the path and the reason) unless files can be created in dir, which is
// created if missing: an unwritable --data_dir is reported before a run starts.
inline void check_writable_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir + ": " + ec.message());
    const std::string probe = dir + "/.mbrl_write_probe_" + std::to_string(::getpid());
    std::FILE* f = std::fopen(probe.c_str(), "w");
    if (!f) throw std::runtime_error("cannot write into " + dir + ": " + std::strerror(errno));
    const bool ok = std::fputs("ok\n", f) >= 0 && std::fflush(f) == 0;
    const int err = errno;
    std::fclose(f);
    std::remove(probe.c_str());
    if (!ok) throw std::runtime_error("cannot write into " + dir + ": " + std::strerror(err));
}

// Writes `bytes` to `path` atomically: into path.tmp, flushed to the disk (fsync), then renamed
// over path. A reader sees the old file or the new one, never a part; on any error (a full
// disk) the old file stays and the error names the path.
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    int err = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            err = n < 0 ? errno : ENOSPC;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    if (!err && ::fsync(fd) != 0) err = errno;
    if (::close(fd) != 0 && !err) err = errno;
    if (!err && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err) {
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot write " + path + ": " + std::strerror(err));
    }
}

// The signal that asked the run to stop (SIGINT, SIGTERM), or 0. Set by the handler of
// examples/common.hpp, polled through RunSink::stop.
inline volatile std::sig_atomic_t& stop_signal() {
    static volatile std::sig_atomic_t s = 0;
    return s;
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
    // A new run directory; or, with resume_dir, the directory of a run to continue, in which
    // nothing is written until the library has accepted its checkpoint (resumed()).
    RunLog(const mbrl::LoopConfig& cfg, const Settings& settings, bool verbose, const std::string& resume_dir = "")
        : dir_(resume_dir.empty() ? make_run_dir(cfg.data_dir, cfg.exp_name, cfg.env_name) : resume_dir),
          settings_(settings),
          verbose_(verbose),
          save_params_(cfg.save_params) {
        if (!resume_dir.empty()) return;
        metrics_ = std::make_unique<CsvWriter>(dir_ + "/metrics.csv", metric_names());
        CsvWriter flags(dir_ + "/flags.csv", {"flag", "value"});
        for (const auto& kv : settings) flags.write({kv.first, kv.second});
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
        s.resumed = [this](int next_itr) { resumed(next_itr); };
        if (save_params_)
            s.checkpoint = [this](int next_itr, const std::function<void(std::ostream&)>& write) {
                std::ostringstream out;
                write(out);
                write_file_atomically(checkpoint_path(), out.str());
                checkpoint_itr_ = next_itr;
            };
        s.model_check = [this](const mbrl::ModelPredictions& p, const std::vector<double>& losses) {
            write_predictions(dir_ + "/predictions.csv", p);
            CsvWriter lc(dir_ + "/losses.csv", {"step", "Training Loss"});
            for (std::size_t k = 0; k < losses.size(); ++k) lc.row({double(k), losses[k]});
            if (verbose_) std::printf("itr 0: model prediction error (MPE) %.6g\n", p.mpe);
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
        std::ostringstream flags;
        flags << "flag,value\n";
        for (const auto& kv : settings_) flags << kv.first << "," << kv.second << "\n";
        write_file_atomically(dir_ + "/flags.csv", flags.str());
        metrics_ = std::make_unique<CsvWriter>(path, metric_names(), /*append=*/true);
        checkpoint_itr_ = next_itr;
        if (verbose_) std::printf("resuming %s/ at iteration %d\n", dir_.c_str(), next_itr + 1);
    }

    // One metrics.csv row and one progress line (MBPO's with SAC's critic loss and temperature).
    void iteration(const mbrl::IterationReport& r) {
        if (r.itr == 0) initial_return_ = r.train.mean;
        const double t = time_offset_ + clock_.seconds();
        const mbrl::ReturnStats &train = r.train, &eval = r.eval;
        metrics_->row({double(r.itr), eval.mean, eval.std, eval.max, eval.min, eval.ep_len, train.mean, train.std,
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
    Settings settings_;
    std::unique_ptr<CsvWriter> metrics_;
    bool verbose_, save_params_;
    mbrl::Timer clock_;
    double time_offset_ = 0;  // TimeSinceStart of the last row before a resume
    double initial_return_ = NAN;
    int checkpoint_itr_ = 0;
};

// Whether Env can save and restore its state (envs/true_model.hpp), i.e. be planned on.
template <class Env, class = void>
struct has_state : std::false_type {};
template <class Env>
struct has_state<Env, std::void_t<typename Env::State>> : std::true_type {};

// A run stopped by a signal (mbrl::Interrupted, with where its files are).
struct RunStopped : std::runtime_error {
    std::string dir;
    int itr, checkpoint_itr;  // the iteration stopped; iterations in checkpoint.bin (0: none)
    RunStopped(const std::string& d, int at, int ckpt)
        : std::runtime_error("run stopped in iteration " + std::to_string(at + 1)), dir(d), itr(at), checkpoint_itr(ckpt) {}
};

// Runs `run(sink, checkpoint stream or null)` with a RunLog: a new run directory, or the run in
// resume_dir continued from its checkpoint.bin. An unreadable or unfitting checkpoint is an
// error naming the file (and, from the library, what does not fit); nothing is written then.
template <class Run>
std::string run_logged(const mbrl::LoopConfig& cfg, const RunLog::Settings& settings, bool verbose,
                       const std::string& resume_dir, Run&& run) {
    RunLog log(cfg, settings, verbose, resume_dir);
    std::ifstream in;
    if (!resume_dir.empty()) {
        in.open(log.checkpoint_path(), std::ios::binary);
        if (!in)
            throw std::runtime_error("cannot read the checkpoint " + log.checkpoint_path() + ": " + std::strerror(errno) +
                                     " (a run writes one only with --save_params, after its first iteration)");
    }
    try {
        run(log.sink(), resume_dir.empty() ? nullptr : &in);
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
// cfg.mpc.true_model, run_mb plans on a TrueSimulator of env.
template <class Env>
std::string run_and_log(Env& env, const mbrl::MBConfig& cfg, const RunLog::Settings& settings, bool verbose = true,
                        const std::string& resume_dir = "") {
    if constexpr (has_state<Env>::value) {
        if (cfg.mpc.true_model) {
            mbrl::envs::TrueSimulator<Env> sim(env);
            return run_logged(cfg, settings, verbose, resume_dir,
                              [&](const mbrl::RunSink& sink, std::istream* in) { mbrl::run_mb(env, cfg, sink, in, &sim); });
        }
    } else {
        if (cfg.mpc.true_model) mbrl::fail("--mpc_model true: this env cannot save and restore its state");
    }
    return run_logged(cfg, settings, verbose, resume_dir,
                      [&](const mbrl::RunSink& sink, std::istream* in) { mbrl::run_mb(env, cfg, sink, in); });
}
template <class Env>
std::string run_and_log(Env& env, const mbrl::MBPOConfig& cfg, const RunLog::Settings& settings, bool verbose = true,
                        const std::string& resume_dir = "") {
    return run_logged(cfg.mb, settings, verbose, resume_dir,
                      [&](const mbrl::RunSink& sink, std::istream* in) { mbrl::run_mbpo(env, cfg, sink, in); });
}

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_RUN_LOG_HPP
