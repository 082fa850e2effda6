// examples/video.hpp: --video_log_freq N > 0, the reference's videos (reference 4.1): every N
// iterations (itr % N == 0), 2 rollouts of up to ep_len steps with the collection policy as it
// collected (tag train_rollouts) and 2 with the policy as it was evaluated (tag eval_rollouts).
//
// MuJoCo envs (reacher, cheetah): each rollout's frames are rendered before each step (as the
// reference's sample_trajectory does: the reset state first, not the state after the last
// step) by examples/render.hpp, kVideoSide x kVideoSide pixels, from the MJCF's camera ("track"
// for cheetah: follows the torso's centre of mass; "front" for reacher). The two rollouts go side
// by side into one GIF (examples/gif.hpp), the shorter padded with its last frame, as
// tensorboardX's add_video lays out a batch of two videos; the frame delay is
// gif::delay_cs(1 / dt) for the env's dt = the model's timestep times its frame skip (cheetah
// 100 fps: 1/100 s; reacher 50 fps: 2/100 s). The GIF is written to <run dir>/<tag>_itr<k>.gif;
// the row of iteration k in the event file is preceded by its image summary (tfevents.hpp).
//
// obstacles (no renderer): the rollouts' positions go to <run dir>/<tag>_itr<k>.csv (rollout,
// step, x, y, reward: step 0 the reset position, reward empty there), and the field, the
// obstacles and the goal once to <run dir>/obstacles.csv (shape, x_min, y_min, x_max, y_max);
// plot/paths.gp draws them.
//
// The run is not changed: the policies are the library's copies (RunSink::videos), the video's
// env is an instance of its own, and its resets come from Rng(seed, Stream::video, itr,
// kind * 2 + rollout). A run with videos writes the same metrics as one without.
#ifndef MBRL_EXAMPLES_VIDEO_HPP
#define MBRL_EXAMPLES_VIDEO_HPP

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include "../envs/envs.hpp"
#include "../mbrl.hpp"
#include "gif.hpp"
#include "timer.hpp"
#include "render.hpp"
#include "run_log.hpp"

namespace mbrl_examples {

constexpr int kVideoSide = 250;    // a rollout's frame: 250 x 250 (docs/running.md says why)
constexpr int kVideoRollouts = 2;  // the reference's MAX_NVIDEO

// The value of --video_log_freq in a run's settings (as flags.csv records them); -1 if absent.
inline int video_log_freq(const RunLog::Settings& settings) {
    for (const auto& kv : settings)
        if (kv.first == "video_log_freq") return std::stoi(kv.second);
    return -1;
}

inline const std::string& video_tag(mbrl::VideoKind kind) {
    return tfevents::video_tags()[kind == mbrl::VideoKind::train ? 0 : 1];
}

// The camera of the videos of each MuJoCo env (a camera of its MJCF).
inline const char* video_camera(const mbrl::Cheetah&) { return "track"; }
inline const char* video_camera(const mbrl::Reacher&) { return "front"; }

template <class Env>
constexpr bool is_mujoco_env() {
    return std::is_base_of<mbrl::envs::MujocoEnv<Env>, Env>::value;
}

// One rollout of `policy` in env from a reset by rng, at most max_len steps; calls
// on_state(t, obs) before each step t (t = 0: the reset state) and after(t, obs, reward) after it.
// Throws mbrl::Interrupted(itr) when the run is asked to stop (stop_signal).
template <class Env, class Before, class After>
void video_rollout(Env& env, mbrl::Rng& rng, const mbrl::PolicyFn& policy, int max_len, int itr, Before&& on_state,
                   After&& after) {
    std::vector<float> obs, act(env.act_dim());
    env.reset(rng, obs);
    for (int t = 0; t < max_len; ++t) {
        if (stop_signal() != 0) throw mbrl::Interrupted(itr);
        on_state(t, obs);
        policy(mbrl::View<const float>(obs), mbrl::View<float>(act));
        bool done = false;
        const float r = env.step(act, obs, done);
        after(t, obs, r);
        if (done) break;
    }
}

// The sink's videos of one run (RunSink::videos): renders and writes as said at the top.
template <class Env>
class VideoRecorder {
   public:
    VideoRecorder(int freq, uint64_t seed, bool verbose) : freq_(freq), seed_(seed), verbose_(verbose) {
        if constexpr (is_mujoco_env<Env>()) {
            // made now, before the run directory: a machine that cannot render fails at once
            renderer_ = std::make_unique<render::Renderer>(env_.model(), kVideoSide, kVideoSide, video_camera(env_));
        }
    }
    void set_dir(const std::string& dir) { dir_ = dir; }

    void operator()(int itr, mbrl::VideoKind kind, const std::function<mbrl::PolicyFn()>& copy_policy) {
        if (freq_ <= 0 || itr % freq_ != 0) return;
        const mbrl::PolicyFn policy = copy_policy();
        Timer clock;
        const int b = kind == mbrl::VideoKind::train ? 0 : 1;
        if constexpr (is_mujoco_env<Env>()) {
            gif_video(itr, kind, b, policy, clock);
        } else {
            paths(itr, kind, b, policy);
        }
    }

    double render_seconds() const { return render_s_; }
    long frames_rendered() const { return frames_; }
    const std::string& last_file() const { return last_file_; }  // the newest video or path CSV written

   private:
    void gif_video(int itr, mbrl::VideoKind kind, int b, const mbrl::PolicyFn& policy, const Timer& clock) {
        const int side = kVideoSide, W = side * kVideoRollouts;
        const std::size_t half_row = static_cast<std::size_t>(side) * 3, row = static_cast<std::size_t>(W) * 3;
        std::vector<std::vector<uint8_t>> frames;  // side by side: [t] W x side x 3
        std::vector<int> lengths;
        std::vector<unsigned char> rgb;
        double render_s = 0;
        for (int i = 0; i < kVideoRollouts; ++i) {
            mbrl::Rng rng(seed_, mbrl::Stream::video, static_cast<uint64_t>(itr), static_cast<uint64_t>(b * kVideoRollouts + i));
            int n = 0;
            video_rollout(
                env_, rng, policy, env_.ep_len(), itr,
                [&](int t, const std::vector<float>&) {
                    Timer r;
                    renderer_->render(env_.data(), rgb);
                    render_s += r.seconds();
                    if (static_cast<int>(frames.size()) <= t) frames.emplace_back(row * side, 0);
                    for (int y = 0; y < side; ++y)
                        std::copy(rgb.begin() + y * half_row, rgb.begin() + (y + 1) * half_row,
                                  frames[t].begin() + y * row + i * half_row);
                    n = t + 1;
                },
                [](int, const std::vector<float>&, float) {});
            lengths.push_back(n);
        }
        for (int i = 0; i < kVideoRollouts; ++i)  // pad the shorter rollout with its last frame
            for (std::size_t t = lengths[i]; t < frames.size(); ++t)
                for (int y = 0; y < side; ++y)
                    std::copy(frames[lengths[i] - 1].begin() + y * row + i * half_row,
                              frames[lengths[i] - 1].begin() + y * row + (i + 1) * half_row,
                              frames[t].begin() + y * row + i * half_row);
        const double dt = env_.model()->opt.timestep * Env::kFrameSkip;  // seconds per env step
        Timer enc;
        const std::string bytes = gif::encode(frames, W, side, gif::delay_cs(1.0 / dt));
        const double encode_s = enc.seconds();
        const std::string path = tfevents::video_file(dir_, video_tag(kind), itr);
        write_file_atomically(path, bytes);
        last_file_ = path;
        render_s_ += render_s;
        frames_ += lengths[0] + lengths[1];
        if (verbose_)
            say(video_tag(kind) + "_itr" + std::to_string(itr) + ": " + std::to_string(frames.size()) +
                " frames of 2 rollouts, " + fixed(clock.seconds(), 1) + " s (render " +
                fixed(1000 * render_s / (lengths[0] + lengths[1]), 1) + " ms/frame, GIF " + fixed(encode_s, 1) + " s, " +
                fixed(bytes.size() / 1e6, 1) + " MB) -> " + path);
    }

    void paths(int itr, mbrl::VideoKind kind, int b, const mbrl::PolicyFn& policy) {
        if constexpr (std::is_same<Env, mbrl::Obstacles>::value) write_obstacles();
        const std::string path = dir_ + "/" + video_tag(kind) + "_itr" + std::to_string(itr) + ".csv";
        std::string text = "rollout,step,x,y,reward\n";
        for (int i = 0; i < kVideoRollouts; ++i) {
            mbrl::Rng rng(seed_, mbrl::Stream::video, static_cast<uint64_t>(itr), static_cast<uint64_t>(b * kVideoRollouts + i));
            auto line = [&](int step, const std::vector<float>& obs, const std::string& reward) {
                text += std::to_string(i) + "," + std::to_string(step) + "," + csv_num(obs[0]) + "," + csv_num(obs[1]) +
                        "," + reward + "\n";
            };
            video_rollout(
                env_, rng, policy, env_.ep_len(), itr,
                [&](int t, const std::vector<float>& obs) {
                    if (t == 0) line(0, obs, "");
                },
                [&](int t, const std::vector<float>& obs, float r) { line(t + 1, obs, csv_num(r)); });
        }
        write_file_atomically(path, text);
        last_file_ = path;
        if (verbose_) say(video_tag(kind) + "_itr" + std::to_string(itr) + ": 2 paths -> " + path);
    }

    // <run dir>/obstacles.csv: the field, each obstacle's rectangle, the goal's disc (its bounds).
    void write_obstacles() {
        if (wrote_obstacles_) return;
        using O = mbrl::Obstacles;
        std::string text = "shape,x_min,y_min,x_max,y_max\n";
        auto row = [&](const char* shape, double x0, double y0, double x1, double y1) {
            char b[160];  // 6 significant digits: the float goal radius shows as 0.1
            std::snprintf(b, sizeof b, "%s,%.6g,%.6g,%.6g,%.6g\n", shape, x0, y0, x1, y1);
            text += b;
        };
        row("field", O::kBoundMin, O::kBoundMin, O::kBoundMax, O::kBoundMax);
        for (const auto& o : O::kObstacles) row("obstacle", o[0], o[1] - o[3], o[0] + o[2], o[1]);
        const double r = O::kGoalRadius;
        row("goal", O::kGoalX - r, O::kGoalY - r, O::kGoalX + r, O::kGoalY + r);
        write_file_atomically(dir_ + "/obstacles.csv", text);
        wrote_obstacles_ = true;
    }

    static std::string fixed(double v, int digits) {
        char b[32];
        std::snprintf(b, sizeof b, "%.*f", digits, v);
        return b;
    }
    static void say(const std::string& line) {
        std::printf("%s%s\n", ::isatty(STDOUT_FILENO) == 1 ? "\r\033[K" : "", line.c_str());
        std::fflush(stdout);
    }

    int freq_;
    uint64_t seed_;
    bool verbose_;
    std::string dir_, last_file_;
    Env env_;  // the videos' own instance: the run's env is never stepped here
    std::unique_ptr<render::Renderer> renderer_;
    bool wrote_obstacles_ = false;
    double render_s_ = 0;
    long frames_ = 0;
};

inline uint64_t video_seed(const mbrl::MBConfig& c) { return c.seed; }
inline uint64_t video_seed(const mbrl::MBPOConfig& c) { return c.mb.seed; }

// The sink's videos for a run of env by `settings` (video_log_freq), or an empty VideoMaker when
// it is -1. Throws (before any run directory exists) if the run cannot have videos: rendering
// unavailable, or a planner on the true simulator (its copy would plan on the run's env).
template <class Env, class Config>
VideoMaker video_maker(const Config& cfg, const RunLog::Settings& settings, bool verbose) {
    const int freq = video_log_freq(settings);
    if (freq <= 0) return {};
    if constexpr (std::is_same<Config, mbrl::MBConfig>::value) {
        if (cfg.mpc.true_model)
            throw std::runtime_error("--video_log_freq: not with --mpc_model true (the videos' planner would plan on the "
                                     "run's env, not on the video's)");
    }
    auto rec = std::make_shared<VideoRecorder<Env>>(freq, video_seed(cfg), verbose);
    return [rec](const std::string& dir) -> decltype(mbrl::RunSink::videos) {
        rec->set_dir(dir);
        return [rec](int itr, mbrl::VideoKind kind, const std::function<mbrl::PolicyFn()>& copy_policy) {
            (*rec)(itr, kind, copy_policy);
        };
    };
}

// --final_video DIR: the video of the policy a run in DIR ends with, from its checkpoint.bin (the
// state after its last complete iteration k - 1): 2 rollouts as above, written as
// DIR/eval_rollouts_itr<k>.gif (obstacles: its path CSV), with iteration k's resets. Nothing else
// of the run changes, and it takes the run's lock, so no process may be writing the run. Returns
// the file written.
template <class Env, class Config>
std::string final_video(Env& env, const Config& cfg, const std::string& dir, bool verbose) {
    using Run = std::conditional_t<std::is_same<Config, mbrl::MBConfig>::value, mbrl::MBRun, mbrl::MBPORun>;
    RunLock lock(dir);
    const std::string path = dir + "/checkpoint.bin";
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("--final_video: cannot read " + path + " (a run writes it with --save_params)");
    Run run(env, cfg);
    try {
        mbrl::load_checkpoint(in, run);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
    VideoRecorder<Env> rec(1, video_seed(cfg), verbose);
    rec.set_dir(dir);
    rec(run.loop.itr, mbrl::VideoKind::eval, [&]() -> mbrl::PolicyFn {
        if constexpr (std::is_same<Run, mbrl::MBRun>::value) return mbrl::video_policy(env, run);
        else return mbrl::video_policy(run);
    });
    return rec.last_file();
}

}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_VIDEO_HPP
