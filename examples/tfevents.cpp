// examples/tfevents.cpp: build/tfevents [--check] PATH...
// Writes the TensorBoard event file (examples/tfevents.hpp, docs/tensorboard.md) of every run
// directory given, or found under a directory given: every directory holding a metrics.csv.
// A run whose event file already holds exactly what its metrics.csv gives is left alone; a run
// whose event file a running run holds open is skipped. With --check nothing is written, and the
// exit code is 1 if any run's event file is missing or differs from its metrics.csv.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tfevents.hpp"

namespace fs = std::filesystem;
using namespace mbrl_examples::tfevents;

int main(int argc, char** argv) {
    bool check = false;
    std::vector<std::string> roots;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--check") check = true;
        else if (a == "--help" || a == "-h" || (!a.empty() && a[0] == '-')) {
            std::fprintf(a[0] == '-' && a != "--help" && a != "-h" ? stderr : stdout,
                         "usage: %s [--check] PATH...\n"
                         "  writes <run dir>/events.out.tfevents.<start>.<host> from <run dir>/metrics.csv for every\n"
                         "  run directory given or found under PATH (a directory holding a metrics.csv);\n"
                         "  --check: write nothing, exit 1 if an event file is missing or differs\n",
                         argv[0]);
            return a == "--help" || a == "-h" ? 0 : 2;
        } else {
            roots.push_back(a);
        }
    }
    if (roots.empty()) {
        std::fprintf(stderr, "usage: %s [--check] PATH...\n", argv[0]);
        return 2;
    }
    std::vector<std::string> runs;
    for (const auto& root : roots) {
        std::error_code ec;
        if (fs::is_regular_file(fs::path(root) / "metrics.csv", ec)) {
            runs.push_back(root);
            continue;
        }
        if (!fs::is_directory(root, ec)) {
            std::fprintf(stderr, "%s: %s: not a directory\n", argv[0], root.c_str());
            return 2;
        }
        std::vector<std::string> found;
        for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_directory(ec) && fs::is_regular_file(it->path() / "metrics.csv", ec))
                found.push_back(it->path().string());
        std::sort(found.begin(), found.end());
        runs.insert(runs.end(), found.begin(), found.end());
    }
    int written = 0, current = 0, skipped = 0, stale = 0, failed = 0;
    for (const auto& dir : runs) {
        try {
            const Expected x = expected_events(dir);
            const std::vector<std::string> files = event_files(dir);
            const bool same = files.size() == 1 && files[0] == x.path && read_file(x.path) == x.bytes;
            if (same) {
                ++current;
                continue;
            }
            if (check) {
                std::printf("stale: %s (%s)\n", dir.c_str(),
                            files.empty() ? "no event file" : files.size() > 1 ? "several event files" : "differs from metrics.csv");
                ++stale;
                continue;
            }
            const int lock = lock_for_rewrite(x.path);  // held while rewriting
            if (lock == -2) {
                std::printf("skipped: %s is held by a running run\n", x.path.c_str());
                ++skipped;
                continue;
            }
            try {
                EventFile f(dir);
                std::printf("wrote %s (%ld rows)\n", f.path().c_str(), x.rows);
                ++written;
            } catch (...) {
                if (lock >= 0) ::close(lock);
                throw;
            }
            if (lock >= 0) ::close(lock);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s: %s\n", argv[0], dir.c_str(), e.what());
            ++failed;
        }
    }
    if (check)
        std::printf("tfevents --check: %zu runs: %d up to date, %d stale\n", runs.size(), current, stale);
    else
        std::printf("tfevents: %zu runs: %d written, %d up to date, %d skipped (in use)\n", runs.size(), written, current,
                    skipped);
    return failed || stale ? 1 : 0;
}
