// examples/progress_line.hpp: the progress line of a run (RunSink::progress), on a terminal or in a
// log.
#ifndef MBRL_EXAMPLES_PROGRESS_LINE_HPP
#define MBRL_EXAMPLES_PROGRESS_LINE_HPP

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "../mbrl.hpp"
#include "run_dir.hpp"  // csv_num
#include "timer.hpp"

namespace mbrl_examples {


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

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_PROGRESS_LINE_HPP
