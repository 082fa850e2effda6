// examples/stop.hpp: a run stopped between two steps by SIGINT or SIGTERM (examples/main.hpp
// installs the handler; the run polls stop_signal() through RunSink::stop).
#ifndef MBRL_EXAMPLES_STOP_HPP
#define MBRL_EXAMPLES_STOP_HPP

#include <csignal>

namespace mbrl_examples {

// The signal that asked the run to stop (SIGINT, SIGTERM), or 0. Set by the handler of
// examples/main.hpp, polled through RunSink::stop.
inline volatile std::sig_atomic_t& stop_signal() {
    static volatile std::sig_atomic_t s = 0;
    return s;
}

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_STOP_HPP
