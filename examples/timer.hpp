// examples/timer.hpp: wall-clock seconds since a Timer was made (the progress line, the benchmark).
#ifndef MBRL_EXAMPLES_TIMER_HPP
#define MBRL_EXAMPLES_TIMER_HPP

#include <chrono>

namespace mbrl_examples {

struct Timer {
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_TIMER_HPP
