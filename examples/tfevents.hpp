// examples/tfevents.hpp: a run's metrics.csv as a TensorBoard event file beside it
// (docs/tensorboard.md). Standalone: the C++ standard library and POSIX, no protobuf.
//
// The file is <run dir>/events.out.tfevents.<start>.<host>, a sequence of TFRecords
//   u64 length (little-endian) | u32 masked CRC32C of those 8 bytes | payload | u32 masked CRC32C of the payload
// (CRC32C: Castagnoli, reflected polynomial 0x82F63B78; mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8),
// each payload an Event message (tensorflow/core/util/event.proto), encoded by hand:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
// Record 0: Event{wall_time = start, file_version = "brain.Event:2"}. Then one Event per whole
// metrics.csv row, in order: step = the row's Iteration cell (the row's index if there is no such
// column), wall_time = start + the row's TimeSinceStart cell (seconds since the run started, as
// run_log.hpp writes it; start alone without that column), one Value per other column whose cell
// is a number, tag = the column's name, simple_value = the cell as a double rounded to float.
// Empty cells (metrics.csv's "not logged": an iteration without evaluation, say) and cells that
// are not numbers are left out; "nan" or "inf" text would be written as that float.
// Videos (examples/video.hpp): before a row's event, one Event per GIF file <tag>_itr<step>.gif of
// the run directory for that row's step, tags train_rollouts then eval_rollouts (the reference's
// order), each Event{wall_time and step of the row, summary{value: {tag, image{height, width,
// colorspace = 3, encoded_image_string = the file's bytes}}}}, as tensorboardX's add_video writes
// a video (height and width from the GIF's logical screen). A row without such files has none.
//
// start (whole seconds since the epoch) is the <start> of an existing event file's name;
// otherwise the time in the run directory's name (..._dd-mm-YYYY_HH-MM-SS[_k], the local time
// create_run_dir wrote); otherwise metrics.csv's modification time less its last TimeSinceStart.
// So the event file is a function of metrics.csv, the GIF files and the file's name: rewriting it
// from them gives the same bytes, and a resumed run's rows (TimeSinceStart continues across a resume) keep
// increasing wall times.
//
// EventFile rewrites a directory's event file from its metrics.csv (into a temporary file whose
// name has no "tfevents" in it, which TensorBoard would read, then renamed over the old one) and
// keeps it open, holding an exclusive flock, to append one record per new row with one write().
// build/tfevents skips a run whose event file is so held, instead of cutting the run off.
#ifndef MBRL_EXAMPLES_TFEVENTS_HPP
#define MBRL_EXAMPLES_TFEVENTS_HPP

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mbrl_examples {
namespace tfevents {

// ------------------------------------------------------------------------------------------------
// TFRecord framing

inline uint32_t crc32c(const void* data, std::size_t n, uint32_t crc = 0) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
inline uint32_t masked_crc(const void* data, std::size_t n) {
    const uint32_t c = crc32c(data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

inline void put_fixed32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFFu);
}
inline void put_fixed64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFFu);
}

// One TFRecord holding payload.
inline std::string record(const std::string& payload) {
    std::string len, out;
    put_fixed64(len, payload.size());
    out = len;
    put_fixed32(out, masked_crc(len.data(), len.size()));
    out += payload;
    put_fixed32(out, masked_crc(payload.data(), payload.size()));
    return out;
}

// ------------------------------------------------------------------------------------------------
// Protocol buffer encoding of Event, Summary and Value

inline void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7F) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
}
// wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
inline void put_key(std::string& out, int field, int wire) { put_varint(out, (static_cast<uint64_t>(field) << 3) | wire); }
inline void put_bytes(std::string& out, int field, const std::string& bytes) {
    put_key(out, field, 2);
    put_varint(out, bytes.size());
    out += bytes;
}
inline void put_double(std::string& out, int field, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    put_key(out, field, 1);
    put_fixed64(out, bits);
}
inline void put_float(std::string& out, int field, float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    put_key(out, field, 5);
    put_fixed32(out, bits);
}

struct Scalar {
    std::string tag;
    float value;
};

// Event{wall_time, file_version = "brain.Event:2"}: the first record of every event file.
inline std::string version_event(double wall_time) {
    std::string e;
    put_double(e, 1, wall_time);
    put_bytes(e, 3, "brain.Event:2");
    return e;
}
// Event{wall_time, step, summary{value: {tag, simple_value} ...}}
inline void put_int(std::string& out, int field, int64_t v) {
    put_key(out, field, 0);
    put_varint(out, static_cast<uint64_t>(v));
}
// Event{wall_time = 1, step = 2, summary = 5} around an encoded Summary.
inline std::string summary_event(double wall_time, int64_t step, const std::string& summary) {
    std::string e;
    put_double(e, 1, wall_time);
    put_int(e, 2, step);
    put_bytes(e, 5, summary);
    return e;
}
inline std::string scalars_event(double wall_time, int64_t step, const std::vector<Scalar>& scalars) {
    std::string summary;
    for (const Scalar& s : scalars) {
        std::string value;
        put_bytes(value, 1, s.tag);
        put_float(value, 2, s.value);
        put_bytes(summary, 1, value);
    }
    return summary_event(wall_time, step, summary);
}
// Event{wall_time, step, summary{value: {tag, image{height, width, colorspace, encoded_image_string}}}}
// (Summary.Value.image = 4; Summary.Image: height = 1, width = 2, colorspace = 3 (3: RGB),
// encoded_image_string = 4).
inline std::string image_event(double wall_time, int64_t step, const std::string& tag, int height, int width,
                               int colorspace, const std::string& encoded) {
    std::string image;
    put_int(image, 1, height);
    put_int(image, 2, width);
    put_int(image, 3, colorspace);
    put_bytes(image, 4, encoded);
    std::string value;
    put_bytes(value, 1, tag);
    put_bytes(value, 4, image);
    std::string summary;
    put_bytes(summary, 1, value);
    return summary_event(wall_time, step, summary);
}

// ------------------------------------------------------------------------------------------------
// Videos: GIF files of the run directory as image summaries

// The tags of the videos, in the order their events go before a row's.
inline const std::vector<std::string>& video_tags() {
    static const std::vector<std::string> tags = {"train_rollouts", "eval_rollouts"};
    return tags;
}
// <dir>/<tag>_itr<step>.gif
inline std::string video_file(const std::string& dir, const std::string& tag, int64_t step) {
    return dir + "/" + tag + "_itr" + std::to_string(step) + ".gif";
}
// Removes the files <tag>_itr<k>.<anything> of dir with k >= from_step (the videos of iterations
// a resumed run makes again); a file so named but with other text after "_itr" stays.
inline void remove_video_files(const std::string& dir, int64_t from_step) {
    std::error_code ec;
    std::vector<std::filesystem::path> doomed;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        for (const std::string& tag : video_tags()) {
            const std::string prefix = tag + "_itr";
            if (name.rfind(prefix, 0) != 0) continue;
            const std::size_t dot = name.find('.', prefix.size());
            const std::string digits = name.substr(prefix.size(), dot == std::string::npos ? std::string::npos : dot - prefix.size());
            if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
            if (std::stoll(digits) >= from_step) doomed.push_back(e.path());
        }
    }
    for (const auto& p : doomed) std::filesystem::remove(p, ec);
}
// The records of the GIF files of `step` in dir (none when dir is empty), at wall_time. A file that
// does not start as a GIF does (GIF87a or GIF89a and a logical screen) is left out.
inline std::string video_records(const std::string& dir, int64_t step, double wall_time) {
    std::string out;
    if (dir.empty()) return out;
    for (const std::string& tag : video_tags()) {
        std::ifstream in(video_file(dir, tag, step), std::ios::binary);
        if (!in) continue;
        std::ostringstream bytes;
        bytes << in.rdbuf();
        const std::string g = bytes.str();
        if (g.size() < 13 || (g.compare(0, 6, "GIF89a") != 0 && g.compare(0, 6, "GIF87a") != 0)) continue;
        const auto u16 = [&g](std::size_t at) {
            return static_cast<int>(static_cast<unsigned char>(g[at]) | (static_cast<unsigned char>(g[at + 1]) << 8));
        };
        out += record(image_event(wall_time, step, tag, u16(8), u16(6), 3, g));
    }
    return out;
}

// ------------------------------------------------------------------------------------------------
// metrics.csv rows as events

// The cells of one CSV line (no quoting: the example CSVs have none).
inline std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> cells;
    std::string cell;
    std::stringstream ss(line);
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    return cells;
}
// The whole lines of a CSV text (each ended by a newline; a last line without one is a row cut
// off mid-write and left out), without a trailing '\r'.
inline std::vector<std::string> whole_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t from = 0;
    for (std::size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1) {
        std::string l = text.substr(from, nl - from);
        if (!l.empty() && l.back() == '\r') l.pop_back();
        lines.push_back(l);
    }
    return lines;
}
// A cell as a number: false if it is empty or not entirely a number.
inline bool parse_number(const std::string& cell, double* v) {
    if (cell.empty()) return false;
    char* end = nullptr;
    *v = std::strtod(cell.c_str(), &end);
    return end == cell.c_str() + cell.size();
}

// The header of a metrics.csv and the start of its run: turns rows into events. With a run
// directory, a row's records start with its videos' (video_records).
class RowEncoder {
   public:
    RowEncoder() = default;
    RowEncoder(std::vector<std::string> columns, double start, std::string dir = "")
        : columns_(std::move(columns)), start_(start), dir_(std::move(dir)) {
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            if (columns_[i] == "Iteration") step_col_ = static_cast<long>(i);
            if (columns_[i] == "TimeSinceStart") time_col_ = static_cast<long>(i);
        }
    }
    double start() const { return start_; }
    // The records of data row `index`: its videos', then its event's.
    std::string records(const std::vector<std::string>& cells, long index) const {
        int64_t step;
        double wall_time;
        step_and_time(cells, index, &step, &wall_time);
        return video_records(dir_, step, wall_time) + record(event(cells, index));
    }
    // The event of data row `index` (0 for the first row after the header).
    std::string event(const std::vector<std::string>& cells, long index) const {
        double v = 0;
        int64_t step;
        double wall_time;
        step_and_time(cells, index, &step, &wall_time);
        std::vector<Scalar> scalars;
        for (std::size_t i = 0; i < columns_.size() && i < cells.size(); ++i)
            if (static_cast<long>(i) != step_col_ && parse_number(cells[i], &v))
                scalars.push_back({columns_[i], static_cast<float>(v)});
        return scalars_event(wall_time, step, scalars);
    }

   private:
    // step = the Iteration cell (else index), wall_time = start + the TimeSinceStart cell (else start)
    void step_and_time(const std::vector<std::string>& cells, long index, int64_t* step, double* wall_time) const {
        double v = 0;
        *step = index;
        if (step_col_ >= 0 && step_col_ < static_cast<long>(cells.size()) && parse_number(cells[step_col_], &v) &&
            std::isfinite(v))
            *step = static_cast<int64_t>(std::llround(v));
        *wall_time = start_;
        if (time_col_ >= 0 && time_col_ < static_cast<long>(cells.size()) && parse_number(cells[time_col_], &v))
            *wall_time = start_ + v;
    }
    std::vector<std::string> columns_;
    double start_ = 0;
    std::string dir_;
    long step_col_ = -1, time_col_ = -1;
};

// The bytes of the event file of a metrics.csv text (with the videos of the run directory dir, if
// given), and the encoder for rows that follow.
inline std::string events_of_csv(const std::string& csv_text, double start, RowEncoder* encoder = nullptr,
                                 long* rows = nullptr, const std::string& dir = "") {
    const std::vector<std::string> lines = whole_lines(csv_text);
    RowEncoder enc(lines.empty() ? std::vector<std::string>{} : split_csv_line(lines[0]), start, dir);
    std::string out = record(version_event(start));
    for (std::size_t i = 1; i < lines.size(); ++i) out += enc.records(split_csv_line(lines[i]), static_cast<long>(i) - 1);
    if (encoder) *encoder = enc;
    if (rows) *rows = lines.empty() ? 0 : static_cast<long>(lines.size()) - 1;
    return out;
}

// ------------------------------------------------------------------------------------------------
// Files

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The event files in dir (names containing "tfevents", as TensorBoard finds them), sorted.
inline std::vector<std::string> event_files(const std::string& dir) {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().filename().string().find("tfevents") != std::string::npos && e.is_regular_file(ec))
            files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

// <start> of events.out.tfevents.<start>.<host>, or -1.
inline long long start_of_name(const std::string& path) {
    const std::string name = std::filesystem::path(path).filename().string(), prefix = "events.out.tfevents.";
    if (name.rfind(prefix, 0) != 0) return -1;
    char* end = nullptr;
    const long long t = std::strtoll(name.c_str() + prefix.size(), &end, 10);
    return end != name.c_str() + prefix.size() && *end == '.' ? t : -1;
}

// The time in a run directory's name ..._dd-mm-YYYY_HH-MM-SS or ..._dd-mm-YYYY_HH-MM-SS_k, read
// as local time, or -1.
inline long long start_of_run_dir(const std::string& dir) {
    std::string name = std::filesystem::path(dir).filename().string();
    if (name.empty()) name = std::filesystem::path(dir).parent_path().filename().string();
    const std::string pattern = "_00-00-0000_00-00-00";
    auto matches_at_end = [&](const std::string& s) {
        if (s.size() < pattern.size()) return false;
        const std::size_t o = s.size() - pattern.size();
        for (std::size_t i = 0; i < pattern.size(); ++i)
            if (pattern[i] == '0' ? !(s[o + i] >= '0' && s[o + i] <= '9') : s[o + i] != pattern[i]) return false;
        return true;
    };
    if (!matches_at_end(name)) {
        const std::size_t u = name.find_last_of('_');
        if (u == std::string::npos || u + 1 == name.size() ||
            name.find_first_not_of("0123456789", u + 1) != std::string::npos)
            return -1;
        name.resize(u);
        if (!matches_at_end(name)) return -1;
    }
    const char* s = name.c_str() + name.size() - pattern.size() + 1;
    std::tm tm{};
    if (std::sscanf(s, "%2d-%2d-%4d_%2d-%2d-%2d", &tm.tm_mday, &tm.tm_mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
                    &tm.tm_sec) != 6)
        return -1;
    tm.tm_mon -= 1;
    tm.tm_year -= 1900;
    tm.tm_isdst = -1;
    const std::time_t t = std::mktime(&tm);
    return t == static_cast<std::time_t>(-1) ? -1 : static_cast<long long>(t);
}

// The start of the run in dir whose metrics.csv is csv_text, when it has no event file yet.
inline long long start_of_new_file(const std::string& dir, const std::string& csv_text) {
    const long long t = start_of_run_dir(dir);
    if (t >= 0) return t;
    struct stat st {};
    long long start = ::stat((dir + "/metrics.csv").c_str(), &st) == 0 ? static_cast<long long>(st.st_mtime)
                                                                         : static_cast<long long>(std::time(nullptr));
    const std::vector<std::string> lines = whole_lines(csv_text);
    if (lines.size() >= 2) {
        const std::vector<std::string> columns = split_csv_line(lines[0]), last = split_csv_line(lines.back());
        double v;
        for (std::size_t i = 0; i < columns.size() && i < last.size(); ++i)
            if (columns[i] == "TimeSinceStart" && parse_number(last[i], &v) && std::isfinite(v))
                start -= static_cast<long long>(std::floor(v));
    }
    return start;
}

inline std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
    std::string h = buf;
    for (char& c : h)
        if (c == '/') c = '_';
    return h;
}

inline void write_all(int fd, const std::string& bytes, const std::string& path) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(n < 0 ? errno : ENOSPC));
        done += static_cast<std::size_t>(n);
    }
}

// What the event file of the run directory dir should hold, from its metrics.csv as it is now.
struct Expected {
    std::string path;   // the existing event file (the first if several), or the name of a new one
    std::string bytes;  // its contents
    RowEncoder encoder;
    long rows = 0;  // whole data rows in metrics.csv
};
inline Expected expected_events(const std::string& dir) {
    Expected x;
    const std::string csv = read_file(dir + "/metrics.csv");
    const std::vector<std::string> existing = event_files(dir);
    long long start = -1;
    for (const auto& f : existing)
        if ((start = start_of_name(f)) >= 0) {
            x.path = f;
            break;
        }
    if (start < 0) {
        start = start_of_new_file(dir, csv);
        x.path = dir + "/events.out.tfevents." + std::to_string(start) + "." + host_name();
    }
    x.bytes = events_of_csv(csv, static_cast<double>(start), &x.encoder, &x.rows, dir);
    return x;
}

// A lock on the event file at path, for rewriting it from another process: an open descriptor
// holding an exclusive flock (close it when done), -1 if there is no such file, or -2 if a
// process holds it (an EventFile: a run writing it).
inline int lock_for_rewrite(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return -1;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK) return fd;  // (no flock on this file system: no lock)
    ::close(fd);
    return -2;
}

// The event file of a run directory, rewritten from its metrics.csv and open for its next rows.
class EventFile {
   public:
    // Rewrites dir's event file from dir/metrics.csv as it is now (atomically: a temporary file,
    // flushed to the disk, renamed over the old one); other event files in dir are removed.
    // The new file is held with an exclusive flock until this object goes (see lock_for_rewrite).
    explicit EventFile(const std::string& dir) {
        Expected x = expected_events(dir);
        path_ = x.path;
        encoder_ = x.encoder;
        rows_ = x.rows;
        const std::string tmp = dir + "/.events_rewrite.tmp";
        fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        try {
            if (fd_ < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
            if (::flock(fd_, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)  // (other errors: no flock here)
                throw std::runtime_error(tmp + " is in use by another process (rewriting " + path_ + ")");
            write_all(fd_, x.bytes, tmp);
            if (::fsync(fd_) != 0 || std::rename(tmp.c_str(), path_.c_str()) != 0)
                throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
        } catch (...) {
            if (fd_ >= 0) ::close(fd_);
            std::remove(tmp.c_str());
            throw;
        }
        for (const auto& f : event_files(dir))
            if (f != path_) std::remove(f.c_str());
    }
    EventFile(const EventFile&) = delete;
    EventFile& operator=(const EventFile&) = delete;
    ~EventFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    const std::string& path() const { return path_; }

    // Appends the records of the next metrics.csv row, given as its cells (the CSV's text): its
    // videos' and its event, with one write().
    void row(const std::vector<std::string>& cells) { write_all(fd_, encoder_.records(cells, rows_++), path_); }

   private:
    std::string path_;
    int fd_ = -1;
    RowEncoder encoder_;
    long rows_ = 0;
};

}  // namespace tfevents
}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_TFEVENTS_HPP
