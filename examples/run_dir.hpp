// examples/run_dir.hpp: a run directory and its files: whole CSV rows, atomic file writes, a run
// directory created whole and locked, removed atomically, and how many iterations a checkpoint
// file holds (docs/reliability.md: a run killed at any instant continues exactly).
#ifndef MBRL_EXAMPLES_RUN_DIR_HPP
#define MBRL_EXAMPLES_RUN_DIR_HPP

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../mbrl_checkpoint.hpp"
#include "run_lock.hpp"

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
}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_RUN_DIR_HPP
