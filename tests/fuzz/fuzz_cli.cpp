// tests/fuzz/fuzz_cli.cpp: libFuzzer target for the command-line parser of the question binaries
// (examples/flags.hpp, examples/main.hpp): the input, split into words at blanks, newlines and NUL bytes, is a
// command line. For run_hw4_mb.py's flags (MBConfig) and run_hw4_mbpo.py's (MBPOConfig):
// all_flags, parse_flags and check_config, which either accept the words or throw FlagError
// naming the flag; then question_main with the words and --print_commands (the sweep flags
// --seeds, --skip_if_complete, --resume taken out, every command checked, nothing run or written).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "../../examples/main.hpp"
#include "fuzz_util.hpp"

namespace {

std::vector<std::string> words_of(const uint8_t* data, std::size_t size) {
    std::vector<std::string> words;
    std::string w;
    for (std::size_t i = 0; i <= size; ++i) {
        const char ch = i < size ? static_cast<char>(data[i]) : ' ';
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\0') {
            if (!w.empty()) words.push_back(w);
            w.clear();
        } else {
            w += ch;
        }
    }
    return words;
}

template <class Config>
void parse(const std::vector<std::string>& words) {
    Config cfg;
    std::vector<mbrl_examples::Flag> flags = mbrl_examples::all_flags(cfg);
    try {
        mbrl_examples::parse_flags(words, flags);
        mbrl_examples::check_config(cfg);
    } catch (const mbrl_examples::FlagError& e) {
        mbrl_fuzz::check_message("FlagError", e.what());
        return;
    }
    for (auto& f : flags) f.show();  // what flags.csv shows
}

// question_main's answer with --print_commands; its printing goes to /dev/null.
template <class Config>
int print_commands(std::vector<std::string> words) {
    static const int null_fd = ::open("/dev/null", O_WRONLY);
    words.insert(words.begin(), "fuzz_cli");
    words.push_back("--print_commands");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(&w[0]);
    argv.push_back(nullptr);
    std::fflush(stderr);
    const int saved = ::dup(2);
    ::dup2(null_fd, 2);
    const int code = mbrl_examples::question_main<Config>(
        static_cast<int>(words.size()), argv.data(),
        {"--exp_name fuzz --env_name obstacles-cs285-v0 --n_iter 2 --batch_size_initial 20 --batch_size 10"});
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    return code;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    std::freopen("/dev/null", "w", stdout);  // --help and the commands printed
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::vector<std::string> words = words_of(data, size);
    try {
        parse<mbrl::MBConfig>(words);
        parse<mbrl::MBPOConfig>(words);
    } catch (const std::exception& e) {
        mbrl_fuzz::finding("parse_flags / check_config threw something other than FlagError", e.what());
    }
    for (int code : {print_commands<mbrl::MBConfig>(words), print_commands<mbrl::MBPOConfig>(words)})
        if (code != 0 && code != 2) mbrl_fuzz::finding("question_main --print_commands", std::to_string(code));
    return 0;
}
