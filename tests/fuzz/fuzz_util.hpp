// tests/fuzz/fuzz_util.hpp: what the libFuzzer targets share. An input either loads or fails with
// one of the errors the readers promise, whose message names what is wrong; anything else (another
// exception, an error message that is a bare function name such as "stod") stops the fuzzer.
#ifndef MBRL_TESTS_FUZZ_UTIL_HPP
#define MBRL_TESTS_FUZZ_UTIL_HPP

#include <cstdio>
#include <cstdlib>
#include <string>

namespace mbrl_fuzz {

// Aborts (a finding) with `what` and the message.
[[noreturn]] inline void finding(const char* what, const std::string& message) {
    std::fprintf(stderr, "fuzz finding: %s: %s\n", what, message.c_str());
    std::abort();
}

// A message that names what is wrong: a sentence (it has a space), not a bare function name.
inline void check_message(const char* what, const std::string& message) {
    if (message.find(' ') == std::string::npos) finding(what, "error message names nothing: '" + message + "'");
}

}  // namespace mbrl_fuzz
#endif  // MBRL_TESTS_FUZZ_UTIL_HPP
