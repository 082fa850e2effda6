// mbrl_checkpoint.hpp: checkpoints for mbrl.hpp: a run's whole state as bytes, and back
//
// USE
//   #include "mbrl_checkpoint.hpp"            // includes mbrl.hpp
//   sink.checkpoint = [&](int next_itr, const mbrl::RunState& run) {
//       std::ofstream out(path, std::ios::binary);   // (write a temporary file and rename it)
//       mbrl::save_checkpoint(out, run);
//   };
//   mbrl::run_mb(env, cfg, sink, &in);              // continue from the checkpoint read from `in`
// A resumed run is bit-identical to one never stopped. The library writes into and reads from
// streams; the caller owns the files (examples/run_log.hpp writes a temporary file and renames
// it, so a checkpoint on disk is always whole).
//
// CONTENTS
//   1. The format: writer and reader
//   2. visit(): the fields of every type a run holds, listed once for both directions
//   3. A run's settings, from the configs' field tables (mbrl.hpp section 15)
//   4. Save and load an MBRun or MBPORun; run_mb and run_mbpo continued from a stream
#ifndef MBRL_CHECKPOINT_HPP
#define MBRL_CHECKPOINT_HPP

#include <cstdint>
#include <cstring>
#include <limits>
#include <istream>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "mbrl.hpp"

namespace mbrl {

// =================================================================================================
// 1. The format
// =================================================================================================
// Layout (numbers in the host's byte order, little-endian on x86-64 and aarch64):
//   "MBRLCKPT"     8 bytes, the magic
//   version        u32, kCheckpointVersion
//   n              u64, bytes of payload
//   payload        n bytes: named fields, one after the other, in the order they were written
//   checksum       u64, FNV-1a 64 of the payload
// A field: name length (u32), name, kind (u8: 'f' float32, 'd' float64, 'i' int32, 'u' uint64,
// 's' bytes), element count (u64), the elements. Reading names the first thing that is wrong:
// the magic, the version, a truncated file, the checksum, a field of another name, kind or
// size, or (section 3) a setting that differs from the run's.
constexpr uint32_t kCheckpointVersion = 1;
constexpr char kCheckpointMagic[9] = "MBRLCKPT";

// FNV-1a, 64 bits (Fowler, Noll and Vo), over n bytes.
inline uint64_t fnv1a64(const char* p, std::size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (std::size_t i = 0; i < n; ++i) {
        h ^= static_cast<unsigned char>(p[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}

template <class T>
constexpr char field_kind() {
    static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value || std::is_same<T, int>::value ||
                      std::is_same<T, uint64_t>::value || std::is_same<T, char>::value,
                  "checkpoint fields hold float, double, int, uint64_t or char");
    return std::is_same<T, float>::value ? 'f' : std::is_same<T, double>::value ? 'd' : std::is_same<T, int>::value ? 'i'
           : std::is_same<T, uint64_t>::value ? 'u' : 's';
}

// Collects fields into a payload; finish() writes the whole checkpoint to a stream.
class CheckpointWriter {
   public:
    template <class T>
    void array(const std::string& name, const T* p, std::size_t n) {
        const uint32_t len = static_cast<uint32_t>(name.size());
        const char kind = field_kind<T>();
        const uint64_t count = n;
        raw(&len, sizeof len);
        raw(name.data(), name.size());
        raw(&kind, 1);
        raw(&count, sizeof count);
        if (n) raw(p, n * sizeof(T));
    }
    void u64(const std::string& name, uint64_t v) { array(name, &v, 1); }
    void f64(const std::string& name, double v) { array(name, &v, 1); }
    void text(const std::string& name, const std::string& s) { array(name, s.data(), s.size()); }
    // The calls of CheckpointReader's that visit() uses, writing here.
    static constexpr bool reading = false;
    template <class T>
    void field(const std::string& name, T* p, std::size_t n) { array(name, static_cast<const T*>(p), n); }
    template <class T, class A>
    void vector(const std::string& name, const std::vector<T, A>& v) { array(name, v.data(), v.size()); }
    template <class I>
    void count(const std::string& name, I v) { u64(name, static_cast<uint64_t>(v)); }
    // magic, version, length, payload, checksum; throws if the stream fails
    void finish(std::ostream& out) const {
        const uint32_t version = kCheckpointVersion;
        const uint64_t n = payload_.size(), sum = fnv1a64(payload_.data(), payload_.size());
        out.write(kCheckpointMagic, 8);
        out.write(reinterpret_cast<const char*>(&version), sizeof version);
        out.write(reinterpret_cast<const char*>(&n), sizeof n);
        out.write(payload_.data(), static_cast<std::streamsize>(n));
        out.write(reinterpret_cast<const char*>(&sum), sizeof sum);
        out.flush();
        if (!out) fail("checkpoint: the stream failed while writing ", n + 28, " bytes");
    }

   private:
    std::string payload_;
    void raw(const void* p, std::size_t n) { payload_.append(static_cast<const char*>(p), n); }
};

// Reads a whole checkpoint from a stream and checks magic, version, length and checksum before
// any field is read; then hands out the fields in the order they were written.
class CheckpointReader {
   public:
    explicit CheckpointReader(std::istream& in) {
        std::ostringstream all;
        all << in.rdbuf();
        const std::string bytes = all.str();
        if (bytes.size() < 20 || bytes.compare(0, 8, kCheckpointMagic) != 0)
            fail("checkpoint: not a checkpoint (", bytes.size() < 8 ? "too short for" : "no", " magic ", kCheckpointMagic,
                 ")");
        uint32_t version = 0;
        uint64_t n = 0;
        std::memcpy(&version, bytes.data() + 8, sizeof version);
        std::memcpy(&n, bytes.data() + 12, sizeof n);
        if (version != kCheckpointVersion)
            fail("checkpoint: format version ", version, ", this library reads version ", kCheckpointVersion);
        if (bytes.size() - 20 < 8 || n != bytes.size() - 28)
            fail("checkpoint: truncated or padded: the header announces ", n, " bytes of payload, the file holds ",
                 bytes.size() < 28 ? 0 : bytes.size() - 28);
        payload_ = bytes.substr(20, n);
        uint64_t stored = 0;
        std::memcpy(&stored, bytes.data() + 20 + n, sizeof stored);
        if (stored != fnv1a64(payload_.data(), payload_.size()))
            fail("checkpoint: checksum mismatch (the file is corrupt)");
    }
    // Field `name` of exactly n elements of T into p[n].
    template <class T>
    void array(const std::string& name, T* p, std::size_t n) {
        const uint64_t count = header<T>(name);
        if (count != n) fail("checkpoint: field '", name, "' holds ", count, " values, this run needs ", n);
        take(p, n * sizeof(T));
    }
    // Field `name` of any length into v.
    template <class T, class A>
    void vector(const std::string& name, std::vector<T, A>& v) {
        const uint64_t count = header<T>(name);
        if (count > (payload_.size() - pos_) / sizeof(T)) fail("checkpoint: field '", name, "' runs past the end");
        v.resize(count);
        take(v.data(), count * sizeof(T));
    }
    uint64_t u64(const std::string& name) {
        uint64_t v = 0;
        array(name, &v, 1);
        return v;
    }
    double f64(const std::string& name) {
        double v = 0;
        array(name, &v, 1);
        return v;
    }
    std::string text(const std::string& name) {
        std::vector<char> v;
        vector(name, v);
        return std::string(v.begin(), v.end());
    }
    // The calls of CheckpointWriter's that visit() uses, reading here.
    static constexpr bool reading = true;
    template <class T>
    void field(const std::string& name, T* p, std::size_t n) { array(name, p, n); }
    template <class I>
    void count(const std::string& name, I& v) {
        const uint64_t u = u64(name);
        if (u > static_cast<uint64_t>(std::numeric_limits<I>::max()))
            fail("checkpoint: field '", name, "' holds ", u, ", more than its counter holds");
        v = static_cast<I>(u);
    }
    // Bytes of payload not read yet (a length read from the file is checked against it before
    // anything is allocated for it).
    std::size_t remaining() const { return payload_.size() - pos_; }
    // Throws unless every byte of the payload was read.
    void finish() const {
        if (pos_ != payload_.size()) fail("checkpoint: ", payload_.size() - pos_, " bytes left after the last field");
    }

   private:
    std::string payload_;
    std::size_t pos_ = 0;
    void take(void* p, std::size_t n) {
        if (n > payload_.size() - pos_) fail("checkpoint: a field runs past the end of the payload");
        if (n) std::memcpy(p, payload_.data() + pos_, n);
        pos_ += n;
    }
    template <class T>
    uint64_t header(const std::string& name) {
        uint32_t len = 0;
        take(&len, sizeof len);
        if (len > payload_.size() - pos_) fail("checkpoint: expected field '", name, "', found a damaged name");
        const std::string found = payload_.substr(pos_, len);
        pos_ += len;
        char kind = 0;
        uint64_t count = 0;
        take(&kind, 1);
        take(&count, sizeof count);
        if (found != name) fail("checkpoint: expected field '", name, "', found '", found, "'");
        if (kind != field_kind<T>())
            fail("checkpoint: field '", name, "' is of kind '", kind, "', expected '", field_kind<T>(), "'");
        return count;
    }
};


// =================================================================================================
// 2. visit(): what a run holds, field by field
// =================================================================================================
// The pieces of a run. One visit() per type lists its fields in order, for both directions:
// save() visits with a CheckpointWriter, load() with a CheckpointReader, which needs an object
// built with the same settings (the shapes are checked, not taken from the file).
template <class Ar, class T>
void visit(Ar& a, const std::string& name, MLP<T>& net) {
    a.field(name + ".params", net.params.data(), net.params.size());
}
template <class Ar, class T>
void visit(Ar& a, const std::string& name, Adam<T>& opt) {
    a.count(name + ".t", opt.t);
    a.field(name + ".m", opt.m.data(), opt.m.size());
    a.field(name + ".v", opt.v.data(), opt.v.size());
}
template <class Ar, class T>
void visit(Ar& a, const std::string& name, Normalizer<T>& n) {
    a.field(name + ".mean", n.mean.data(), n.mean.size());
    a.field(name + ".std", n.std.data(), n.std.size());
}
// Every member's weights and optimizer, the statistics, and the minibatch permutation (it
// carries over from step to step while the data does not grow).
template <class Ar, class T>
void visit(Ar& a, const std::string& name, Ensemble<T>& e) {
    uint64_t members = static_cast<uint64_t>(e.size());
    a.count(name + ".members", members);
    if (members != static_cast<uint64_t>(e.size()))
        fail("checkpoint: ", name, " has ", members, " members, this run ", e.size());
    for (int m = 0; m < e.size(); ++m) {
        visit(a, name + ".net" + std::to_string(m), e.nets[m]);
        visit(a, name + ".adam" + std::to_string(m), e.opts[m]);
        if (e.probabilistic()) {  // the log-variance bounds and their optimizer
            a.field(name + ".bounds" + std::to_string(m), e.bounds[m].data(), e.bounds[m].size());
            visit(a, name + ".bounds_adam" + std::to_string(m), e.bound_opts[m]);
        }
    }
    visit(a, name + ".stats.obs", e.stats.obs);
    visit(a, name + ".stats.act", e.stats.act);
    visit(a, name + ".stats.delta", e.stats.delta);
    a.vector(name + ".perm", e.perm);
    if constexpr (Ar::reading) {  // train_step indexes the data by it
        std::vector<char> seen(e.perm.size());
        for (const int i : e.perm) {
            if (i < 0 || static_cast<std::size_t>(i) >= seen.size() || seen[i])
                fail("checkpoint: ", name, ".perm is not a permutation of 0..", seen.size() - 1);
            seen[i] = 1;
        }
    }
}
// SAC: the critics, their targets, the actor, log std, temperature, the five optimizers, and the
// counters its random numbers are keyed by (training steps, actions taken).
template <class Ar, class T>
void visit(Ar& a, const std::string& name, SAC<T>& s) {
    visit(a, name + ".q1", s.q1);
    visit(a, name + ".q2", s.q2);
    visit(a, name + ".q1_targ", s.q1_targ);
    visit(a, name + ".q2_targ", s.q2_targ);
    visit(a, name + ".actor", s.actor);
    a.field(name + ".logstd", s.logstd.data(), s.logstd.size());
    a.field(name + ".log_alpha", &s.log_alpha, 1);
    visit(a, name + ".q1_opt", s.q1_opt);
    visit(a, name + ".q2_opt", s.q2_opt);
    visit(a, name + ".actor_opt", s.actor_opt);
    visit(a, name + ".logstd_opt", s.logstd_opt);
    visit(a, name + ".alpha_opt", s.alpha_opt);
    a.count(name + ".training_step", s.training_step);
    a.count(name + ".act_calls", s.act_calls);
    T losses[3] = {s.last_critic_loss, s.last_actor_loss, s.last_alpha_loss};
    a.field(name + ".last_losses", losses, 3);
    if constexpr (Ar::reading) {
        s.last_critic_loss = losses[0];
        s.last_actor_loss = losses[1];
        s.last_alpha_loss = losses[2];
    }
}
// The live rows only (the forgotten ones are dropped; read back, the buffer starts at row 0).
template <class Ar, class T>
void visit(Ar& a, const std::string& name, ReplayBuffer<T>& b) {
    uint64_t capacity = static_cast<uint64_t>(b.capacity), rows = static_cast<uint64_t>(b.size());
    a.count(name + ".capacity", capacity);
    a.count(name + ".rows", rows);
    if constexpr (Ar::reading) {
        if (capacity != static_cast<uint64_t>(b.capacity))
            fail("checkpoint: ", name, " has capacity ", capacity, ", this run ", b.capacity);
        if (rows > capacity) fail("checkpoint: ", name, " holds ", rows, " rows, more than its capacity ", capacity);
        const uint64_t row_bytes = sizeof(T) * (2 * static_cast<uint64_t>(b.obs_.cols) + b.act_.cols + 2);
        if (rows > a.remaining() / row_bytes)
            fail("checkpoint: ", name, " announces ", rows, " rows, more than the ", a.remaining(), " bytes left hold");
        b.begin = 0;
        for (Tensor<T>* t : {&b.obs_, &b.act_, &b.next_obs_, &b.rew_, &b.terminal_})
            t->resize(static_cast<int>(rows), t->cols);
    }
    for (auto [part, v] : {std::pair<const char*, View<const T>>{"obs", b.obs()}, {"act", b.act()},
                           {"next_obs", b.next_obs()}, {"rew", b.rew()}, {"terminal", b.terminal()}})
        a.field(name + "." + part, const_cast<T*>(v.data), v.size());
}
// The loop's counters (mbrl.hpp section 13).
template <class Ar>
void visit(Ar& a, const std::string& name, LoopState& s) {
    a.count(name + ".itr", s.itr);
    a.count(name + ".envsteps", s.envsteps);
    a.count(name + ".episodes", s.episodes);
}
// save() writes what visit() lists (visit only reads the object when writing: the const_cast
// changes nothing); load() reads it back.
template <class X>
void save(CheckpointWriter& w, const std::string& name, const X& x) {
    visit(w, name, const_cast<X&>(x));
}
template <class X>
void load(CheckpointReader& r, const std::string& name, X& x) {
    visit(r, name, x);
}
// =================================================================================================
// 3. A run's settings
// =================================================================================================
// The settings a checkpoint was made with, as (name, value) text: written first, and compared
// one by one when reading, so that resuming with other settings names the first that differs.
using CheckpointSettings = std::vector<std::pair<std::string, std::string>>;
inline void save_settings(CheckpointWriter& w, const std::string& kind, const CheckpointSettings& s) {
    w.text("kind", kind);
    w.u64("settings", s.size());
    for (const auto& kv : s) w.text("setting." + kv.first, kv.second);
}
inline void check_settings(CheckpointReader& r, const std::string& kind, const CheckpointSettings& s) {
    const std::string found = r.text("kind");
    if (found != kind) fail("checkpoint: made by ", found, ", not by ", kind);
    const uint64_t n = r.u64("settings");
    if (n != s.size()) fail("checkpoint: holds ", n, " settings, this run has ", s.size());
    for (const auto& kv : s) {
        const std::string v = r.text("setting." + kv.first);
        if (v != kv.second)
            fail("checkpoint: setting ", kv.first, " is ", v, " in the checkpoint but ", kv.second, " in this run");
    }
}
// The settings a checkpoint must agree on: every field of the config's table but those tagged
// kUnchecked (names, where files go, n_iter: a resumed run may go further), in the table's order.
template <class Config>
CheckpointSettings checkpoint_settings(const Config& c) {
    CheckpointSettings s;
    const_cast<Config&>(c).fields([&](const Field& d, auto& v, auto&&... names) {
        if (!(d.tags & kUnchecked)) s.emplace_back(d.name, setting_text(v, names...));
    });
    return s;
}

// =================================================================================================
// 4. Save and load a run
// =================================================================================================
// A run's checkpoint: its kind ("run_mb", "run_mbpo") and settings, the loop's state, then the
// algorithm's own part.
template <class Ar>
void visit(Ar& a, MBRun& r) {
    visit(a, "ensemble", *r.model);
    visit(a, "buffer", r.buffer);
    a.count("mpc.calls", r.mpc.calls);
    a.count("random_actions", r.random_actions);
}
template <class Ar>
void visit(Ar& a, MBPORun& r) {
    visit(a, "ensemble", r.model);
    visit(a, "sac", r.sac);
    visit(a, "model_buffer", r.model_buffer);
    visit(a, "sac_buffer", r.sac_buffer);
    a.count("rollouts", r.rollouts);
}
inline const char* run_kind(const MBRun&) { return "run_mb"; }
inline const char* run_kind(const MBPORun&) { return "run_mbpo"; }
inline int n_iter_of(const MBRun& r) { return r.cfg.n_iter; }
inline int n_iter_of(const MBPORun& r) { return r.cfg.mb.n_iter; }

// Writes the run's state, to continue from, into `out`.
template <class Run>
void save_checkpoint(std::ostream& out, const Run& run) {
    CheckpointWriter w;
    save_settings(w, run_kind(run), checkpoint_settings(run.cfg));
    save(w, "loop", run.loop);
    visit(w, const_cast<Run&>(run));
    w.finish(out);
}
inline void save_checkpoint(std::ostream& out, const RunState& s) {
    if (s.mb) return save_checkpoint(out, *s.mb);
    if (s.mbpo) return save_checkpoint(out, *s.mbpo);
    fail("save_checkpoint: an empty RunState");
}
// Reads back into `run` (built with the same settings but n_iter) what save_checkpoint wrote.
// Throws, naming the first thing that is wrong, if the kind, a setting or a field differs.
template <class Run>
void load_checkpoint(std::istream& in, Run& run) {
    CheckpointReader r(in);
    check_settings(r, run_kind(run), checkpoint_settings(run.cfg));
    load(r, "loop", run.loop);
    visit(r, run);
    r.finish();
    if (run.loop.itr > n_iter_of(run))
        fail("checkpoint: ", run.loop.itr, " iterations are done already, more than n_iter = ", n_iter_of(run));
}

// run_mb and run_mbpo continued from the checkpoint read from `resume` (a new run if it is null),
// bit for bit as if never stopped; sink.resumed is told where the run continues.
template <class Env>
void run_mb(Env& env, const MBConfig& cfg, const RunSink& sink, std::istream* resume, TrueModel<float>* truth = nullptr) {
    static_assert(check_environment<Env>(), "mbrl: run_mb needs an environment");
    MBRun run(env, cfg);
    if (resume) {
        load_checkpoint(*resume, run);
        if (sink.resumed) sink.resumed(run.loop.itr);
    }
    run_mb(env, run, sink, truth);
}
template <class Env>
void run_mbpo(Env& env, const MBPOConfig& cfg, const RunSink& sink, std::istream* resume) {
    static_assert(check_environment<Env>(), "mbrl: run_mbpo needs an environment");
    MBPORun run(env, cfg);
    if (resume) {
        load_checkpoint(*resume, run);
        if (sink.resumed) sink.resumed(run.loop.itr);
    }
    run_mbpo(env, run, sink);
}

}  // namespace mbrl
#endif  // MBRL_CHECKPOINT_HPP
