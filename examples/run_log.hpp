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
#include "run_lock.hpp"
#include "timer.hpp"
#include "tfevents.hpp"  // TensorBoard: the event file beside metrics.csv

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
// examples/main.hpp, polled through RunSink::stop.
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

// --- kill -9 at any instant (docs/reliability.md) -------------------------------------------
// flags.csv's text: the header row, then one "flag,value" row per setting.
inline std::string flags_csv_text(const std::vector<std::pair<std::string, std::string>>& settings) {
    std::string text = "flag,value\n";
    for (const auto& kv : settings) text += kv.first + "," + kv.second + "\n";
    return text;
}

// Renames the directory `from` to `to` unless `to` exists; 0, or the errno (EEXIST, ENOTEMPTY:
// the name is taken). Where the kernel or file system has no RENAME_NOREPLACE, the name is
// claimed by mkdir and the empty directory replaced by rename.
inline int rename_dir_noreplace(const std::string& from, const std::string& to) {
#ifdef RENAME_NOREPLACE
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
#endif
    if (::mkdir(to.c_str(), 0755) != 0) return errno;
    if (std::rename(from.c_str(), to.c_str()) != 0) {
        const int err = errno;
        ::rmdir(to.c_str());
        return err;
    }
    return 0;
}

// Removes what processes killed while creating or discarding a run directory left in root:
// ".hw4_*.old-<pid>" (a directory being discarded) and ".hw4_*.new-<pid>" whose .lock no process
// holds (a directory being created). No run reads either.
inline void remove_stale_hidden_dirs(const std::string& root) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind(".hw4_", 0) != 0 || !e.is_directory(ec)) continue;
        bool stale = name.find(".old-") != std::string::npos;
        if (!stale && name.find(".new-") != std::string::npos) {
            const int fd = ::open((e.path() / ".lock").c_str(), O_RDWR | O_CLOEXEC);
            if (fd < 0) continue;  // its creator has not locked it yet
            stale = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
            ::close(fd);
        }
        if (stale) fs::remove_all(e.path(), ec);
    }
}

// Creates the run directory <root>/hw4_<exp_name>_<env_name>_<dd-mm-YYYY_HH-MM-SS> (the
// reference's log directory name; a suffix _2, _3, ... if the name is taken) whole: it is made
// as a hidden directory, locked (`lock` holds it from then on), given flags.csv and metrics.csv's
// header row, and only then renamed to its name. A process killed at any instant leaves either
// no run directory or one with both files, never one that a rerun would not recognise.
inline std::string create_run_dir(const std::string& root, const std::string& exp_name, const std::string& env_name,
                                  const std::string& flags_csv, RunLock& lock) {
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%d-%m-%Y_%H-%M-%S", std::localtime(&now));
    const std::string name = "hw4_" + exp_name + "_" + env_name + "_" + stamp;
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec) throw std::runtime_error("cannot create the data directory " + root + ": " + ec.message());
    remove_stale_hidden_dirs(root);
    const std::string tmp = root + "/." + name + ".new-" + std::to_string(::getpid());
    std::filesystem::remove_all(tmp, ec);
    if (!std::filesystem::create_directory(tmp, ec))
        throw std::runtime_error("cannot create the run directory " + tmp + ": " + ec.message());
    lock = RunLock(tmp);  // a lock is on the file, not on its name: it holds through the rename
    write_file_atomically(tmp + "/flags.csv", flags_csv);
    { CsvWriter header(tmp + "/metrics.csv", metric_names()); }
    for (int k = 1;; ++k) {
        const std::string dir = root + "/" + name + (k > 1 ? "_" + std::to_string(k) : "");
        const int err = rename_dir_noreplace(tmp, dir);
        if (err == 0) return dir;
        if (err != EEXIST && err != ENOTEMPTY)
            throw std::runtime_error("cannot create the run directory " + dir + ": " + std::strerror(err));
    }
}

// Removes a run directory whose lock the caller holds: renamed first to a hidden name (atomic:
// no rerun finds a half-removed run), then removed.
inline void discard_run_dir(const std::string& dir) {
    const std::filesystem::path p(dir);
    const std::string trash =
        (p.parent_path() / ("." + p.filename().string() + ".old-" + std::to_string(::getpid()))).string();
    if (std::rename(dir.c_str(), trash.c_str()) != 0)
        throw std::runtime_error("cannot remove the run directory " + dir + ": " + std::strerror(errno));
    std::error_code ec;
    std::filesystem::remove_all(trash, ec);
}

// The iterations done in the checkpoint file `path` (its field loop.itr), or -1 if the file is
// missing or not a whole checkpoint (magic, version, length and checksum are checked).
inline int checkpoint_iterations(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return -1;
    std::ostringstream all;
    all << in.rdbuf();
    const std::string bytes = all.str();
    try {
        std::istringstream whole(bytes);
        mbrl::CheckpointReader check(whole);
    } catch (const std::exception&) {
        return -1;
    }
    uint64_t n = 0;
    std::memcpy(&n, bytes.data() + 12, sizeof n);
    const std::size_t end = 20 + static_cast<std::size_t>(n);
    std::size_t pos = 20;
    while (end - pos >= 4) {  // fields: name length (u32), name, kind (u8), count (u64), elements
        uint32_t len = 0;
        std::memcpy(&len, bytes.data() + pos, 4);
        pos += 4;
        if (len > end - pos || end - pos - len < 9) return -1;
        const std::string name = bytes.substr(pos, len);
        pos += len;
        const char kind = bytes[pos];
        uint64_t count = 0;
        std::memcpy(&count, bytes.data() + pos + 1, 8);
        pos += 9;
        const std::size_t size = kind == 'f' || kind == 'i' ? 4 : kind == 's' ? 1 : 8;
        if (count > (end - pos) / size) return -1;
        if (name == "loop.itr" && kind == 'u' && count == 1) {
            uint64_t itr = 0;
            std::memcpy(&itr, bytes.data() + pos, 8);
            return static_cast<int>(itr);
        }
        pos += static_cast<std::size_t>(count) * size;
    }
    return -1;
}
// ---------------------------------------------------------------------------------------------

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

// Progress inside an iteration (RunSink::progress). On a terminal: one status line, redrawn at
// most 4 times a second and erased before the iteration's line; elsewhere (a pipe, a sweep's or
// a Slurm job's log): a plain line at most every `every` seconds (60).
//   itr 3/20 | training the model 412/1500 | 95.1 steps/s | phase ~0m11s left | run ~1h02m left
// The run's estimate: the mean time of the iterations done so far in this process, times the
// iterations left, less this one's time so far (none before the first iteration ends).
class ProgressLine {
   public:
    ProgressLine(bool terminal, double every = 60) : terminal_(terminal), every_(terminal ? 0.25 : every) {}
    void operator()(const mbrl::Progress& p) {
        const double now = clock_.seconds();
        if (p.itr != itr_ || p.phase != phase_) {  // a new phase: its rate starts afresh
            if (p.itr != itr_) itr_start_ = now;
            itr_ = p.itr;
            phase_ = p.phase;
            phase_start_ = now;
            phase_done0_ = p.done;
        }
        if (now - last_ < every_) return;
        last_ = now;
        static const char* names[] = {"collecting", "training the model", "training SAC", "evaluating"};
        const double rate = now > phase_start_ ? (p.done - phase_done0_) / (now - phase_start_) : 0;
        std::string line = "itr " + std::to_string(p.itr + 1) + "/" + std::to_string(p.n_iter) + " | " +
                           names[static_cast<int>(p.phase)] + " " + std::to_string(p.done) + "/" + std::to_string(p.total);
        if (rate > 0)
            line += " | " + csv_num(std::round(rate * 10) / 10) + " steps/s | phase ~" + hms((p.total - p.done) / rate) + " left";
        if (itrs_done_ > 0) {
            const double per_itr = itr_seconds_ / itrs_done_;
            line += " | run ~" + hms(std::max(0.0, per_itr * (p.n_iter - p.itr) - (now - itr_start_))) + " left";
        }
        if (terminal_)
            std::printf("\r\033[K%s", line.c_str());
        else
            std::printf("%s\n", line.c_str());
        shown_ = terminal_;
        std::fflush(stdout);
    }
    // Before the iteration's own line: erase the status line; count the iteration's time.
    void iteration_done() {
        const double now = clock_.seconds();
        if (itr_ >= 0) {
            itr_seconds_ += now - itr_start_;
            ++itrs_done_;
        }
        itr_ = -1;
        clear();
    }
    // Erases the status line (before another line is printed).
    void clear() {
        if (shown_) std::printf("\r\033[K");
        shown_ = false;
    }

   private:
    bool terminal_;
    double every_;
    Timer clock_;
    double last_ = 0, itr_start_ = 0, phase_start_ = 0, itr_seconds_ = 0;
    long phase_done0_ = 0;
    int itr_ = -1, itrs_done_ = 0;
    mbrl::Phase phase_ = mbrl::Phase::collecting;
    bool shown_ = false;
};

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
    if constexpr (has_state<Env>::value) {
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
