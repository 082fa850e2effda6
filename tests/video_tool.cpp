// tests/video_tool.cpp: what tests/video_test.sh checks with tests/video_check.py (PIL):
//   build/video_tool gif DIR               synthetic frames through examples/gif.hpp, each GIF
//                                          beside its frames' bytes (.rgb): DIR/smooth.gif, 7
//                                          frames of gradients with a moving square, delay 3/100 s;
//                                          DIR/scattered.gif, 2 frames of 200 colours scattered
//                                          (the LZW table fills and is cleared), delay 1/100 s
//   build/video_tool render DIR [FRAMES]    DIR/<env>_body.ppm and DIR/<env>_empty.ppm for cheetah
//                                          and reacher: a frame after a reset from their video
//                                          cameras, and the same frame with the body's geoms in
//                                          a hidden group; with FRAMES, the time per frame of
//                                          FRAMES renders of each
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "../envs/envs.hpp"
#include "../examples/gif.hpp"
#include "../examples/render.hpp"
#include "../examples/video.hpp"

namespace {

using Frame = std::vector<uint8_t>;

void write_gif(const std::string& dir, const std::string& name, const std::vector<Frame>& frames, int W, int H, int delay) {
    const std::string bytes = mbrl_examples::gif::encode(frames, W, H, delay);
    std::ofstream(dir + "/" + name + ".gif", std::ios::binary) << bytes;
    std::ofstream rgb(dir + "/" + name + ".rgb", std::ios::binary);
    for (const Frame& f : frames) rgb.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
    std::printf("video_tool: %s/%s.gif: %zu frames of %d x %d, %zu bytes\n", dir.c_str(), name.c_str(), frames.size(), W,
                H, bytes.size());
}

int gif_command(const std::string& dir) {
    const int W = 120, H = 90;
    std::vector<Frame> smooth;
    for (int f = 0; f < 7; ++f) {
        Frame img(W * H * 3);
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                uint8_t* p = &img[(y * W + x) * 3];
                p[0] = static_cast<uint8_t>(255 * x / (W - 1));  // red grows to the right
                p[1] = static_cast<uint8_t>(255 * y / (H - 1));  // green grows downwards
                p[2] = 60;
                if (x >= 10 + 12 * f && x < 30 + 12 * f && y >= 30 && y < 50) p[0] = p[1] = p[2] = 255;  // the square
            }
        smooth.push_back(img);
    }
    write_gif(dir, "smooth", smooth, W, H, 3);
    std::vector<Frame> scattered(2, Frame(W * H * 3));  // 200 colours, in 200 cells of the palette's histogram
    uint32_t s = 12345;
    for (Frame& f : scattered)
        for (int i = 0; i < W * H; ++i) {
            s = s * 1664525u + 1013904223u;
            const int c = static_cast<int>((s >> 16) % 200);
            f[i * 3 + 0] = static_cast<uint8_t>(8 * (c % 8) + 4);
            f[i * 3 + 1] = static_cast<uint8_t>(8 * ((c / 8) % 5) + 100);
            f[i * 3 + 2] = static_cast<uint8_t>(8 * (c / 40) + 200);
        }
    write_gif(dir, "scattered", scattered, W, H, 1);
    return 0;
}

void write_ppm(const std::string& path, const std::vector<unsigned char>& rgb, int w, int h) {
    std::ofstream out(path, std::ios::binary);
    out << "P6\n" << w << " " << h << "\n255\n";
    out.write(reinterpret_cast<const char*>(rgb.data()), static_cast<std::streamsize>(rgb.size()));
}

template <class Env>
void render_env(const std::string& dir, const char* name, const char* ground, int frames) {
    Env env;
    mbrl::Rng rng(1, mbrl::Stream::video, 0, 0);
    std::vector<float> obs;
    env.reset(rng, obs);
    const int side = mbrl_examples::kVideoSide;
    std::vector<unsigned char> rgb;
    {
        mbrl_examples::render::Renderer r(env.model(), side, side, mbrl_examples::video_camera(env));
        r.render(env.data(), rgb);
        write_ppm(dir + "/" + name + "_body.ppm", rgb, side, side);
        if (frames > 0) {
            mbrl_examples::Timer t;
            for (int k = 0; k < frames; ++k) r.render(env.data(), rgb);
            std::printf("video_tool: %s: %.2f ms per %d x %d frame (%d frames)\n", name, 1000 * t.seconds() / frames, side,
                        side, frames);
        }
    }
    // The same model with every geom but the ground in group 3, which MuJoCo's default
    // mjvOption does not draw.
    mjModel* hidden = mj_copyModel(nullptr, env.model());
    const int keep = mj_name2id(hidden, mjOBJ_GEOM, ground);
    for (int g = 0; g < hidden->ngeom; ++g)
        if (g != keep) hidden->geom_group[g] = 3;
    {
        mbrl_examples::render::Renderer r(hidden, side, side, mbrl_examples::video_camera(env));
        r.render(env.data(), rgb);
        write_ppm(dir + "/" + name + "_empty.ppm", rgb, side, side);
    }
    mj_deleteModel(hidden);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string cmd = argc > 1 ? argv[1] : "";
    try {
        if (cmd == "gif" && argc == 3) return gif_command(argv[2]);
        if (cmd == "render" && (argc == 3 || argc == 4)) {
            const int frames = argc == 4 ? std::atoi(argv[3]) : 0;
            render_env<mbrl::Cheetah>(argv[2], "cheetah", "floor", frames);
            render_env<mbrl::Reacher>(argv[2], "reacher", "table", frames);
            std::printf("video_tool: frames in %s\n", argv[2]);
            return 0;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "video_tool: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "usage: %s gif DIR | render DIR [FRAMES]\n", argv[0]);
    return 2;
}
