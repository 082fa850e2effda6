// examples/run_lock.hpp: one writer per run directory. A process that writes a run directory
// holds flock() on <dir>/.lock for the run's life; the kernel releases it when the process ends,
// however it ends (kill -9 included), so a lock is never left behind. The holder writes its pid
// and host into the file, so that a second process can say who holds it. A second process that
// meets the lock does not run: question_main prints who holds it and exits with kExitRunLocked.
// flock() works on local file systems and on NFS (Linux maps it to NFS byte-range locks); Lustre
// needs its `flock` mount option.
#ifndef MBRL_EXAMPLES_RUN_LOCK_HPP
#define MBRL_EXAMPLES_RUN_LOCK_HPP

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mbrl_examples {

// The exit code of a run not started because another process holds its run directory
// (EX_TEMPFAIL of sysexits.h: try again later).
constexpr int kExitRunLocked = 75;

// Another process holds the lock of `dir`; holder: the lock file's text ("pid P on host H"),
// or "" if that process had not written it yet.
struct RunLocked : std::runtime_error {
    std::string dir, holder;
    RunLocked(const std::string& d, const std::string& h)
        : std::runtime_error(d + "/ is being written by " + (h.empty() ? std::string("another process") : h) +
                             " (it holds " + d + "/.lock)"),
          dir(d),
          holder(h) {}
};

// flock() on <dir>/.lock, held until destruction (or the process's end). Throws RunLocked if
// another process holds it, std::runtime_error (naming the file) on any other failure.
class RunLock {
   public:
    RunLock() = default;
    explicit RunLock(const std::string& dir) {
        const std::string path = dir + "/.lock";
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
        while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            std::string holder;
            char buf[256];
            const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
            if (n > 0) holder.assign(buf, static_cast<std::size_t>(n));
            while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
            ::close(fd_);
            fd_ = -1;
            if (err == EWOULDBLOCK) throw RunLocked(dir, holder);
            throw std::runtime_error("cannot lock " + path + ": " + std::strerror(err));
        }
        char host[256] = "";
        ::gethostname(host, sizeof host - 1);
        const std::string text = "pid " + std::to_string(::getpid()) + " on host " + host + "\n";
        // Best effort: the lock is the flock, the text only names its holder.
        if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
            std::fprintf(stderr, "warning: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    }
    RunLock(RunLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    RunLock& operator=(RunLock&& o) noexcept {
        if (this != &o) {
            release();
            fd_ = o.fd_;
            o.fd_ = -1;
        }
        return *this;
    }
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;
    ~RunLock() { release(); }
    bool held() const { return fd_ >= 0; }
    // Unlocks (closing the file releases the flock); the file stays, naming the last holder.
    void release() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

   private:
    int fd_ = -1;
};

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_RUN_LOCK_HPP
