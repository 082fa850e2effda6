// examples/render.hpp: RGB frames of a MuJoCo simulation without a display or a GPU: an OpenGL
// context from EGL on Mesa's surfaceless platform (software rendering, llvmpipe), and MuJoCo's
// own renderer (mjv_updateScene, mjr_render) drawing into its offscreen buffer.
//
//   mbrl_examples::render::Renderer r(model, 250, 250, "track");  // a camera of the MJCF
//   std::vector<unsigned char> rgb;                               // width * height * 3, top row first
//   r.render(data, rgb);
//
// libEGL.so.1 is opened at run time (dlopen) the first time a Renderer is made, so that no
// binary links against EGL and the binaries that never render need none of it installed: a
// machine without it fails only when a video is asked for, with a message naming the Debian
// packages (libegl1, libegl-mesa0, libgl1-mesa-dri). MuJoCo finds the GL functions through the
// eglGetProcAddress of that library (it searches the process's symbols first).
//
// The context: eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY),
// eglInitialize, eglBindAPI(EGL_OPENGL_API), a context without a config (EGL_KHR_no_config_context)
// made current without a surface (EGL_KHR_surfaceless_context); MuJoCo makes its framebuffer
// object in it. A Renderer renders from the thread that made it.
#ifndef MBRL_EXAMPLES_RENDER_HPP
#define MBRL_EXAMPLES_RENDER_HPP

#include <dlfcn.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <mujoco/mujoco.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace mbrl_examples {
namespace render {

// The EGL functions used here, from libEGL.so.1 opened once per process.
struct Egl {
    PFNEGLGETPROCADDRESSPROC GetProcAddress = nullptr;
    PFNEGLINITIALIZEPROC Initialize = nullptr;
    PFNEGLBINDAPIPROC BindAPI = nullptr;
    PFNEGLCREATECONTEXTPROC CreateContext = nullptr;
    PFNEGLMAKECURRENTPROC MakeCurrent = nullptr;
    PFNEGLDESTROYCONTEXTPROC DestroyContext = nullptr;
    PFNEGLGETERRORPROC GetError = nullptr;
    PFNEGLQUERYSTRINGPROC QueryString = nullptr;
    PFNEGLGETPLATFORMDISPLAYEXTPROC GetPlatformDisplayEXT = nullptr;
    EGLDisplay display = EGL_NO_DISPLAY;

    static const char* packages() {
        return "the Debian packages libegl1, libegl-mesa0 and libgl1-mesa-dri (apt-get install libegl1 libegl-mesa0 "
               "libgl1-mesa-dri)";
    }
    // The process's EGL, initialised on the surfaceless platform on first use; throws (naming
    // what is missing) if it cannot be.
    static Egl& get() {
        static Egl egl = open();
        return egl;
    }

   private:
    template <class F>
    static F sym(void* lib, const char* name) {
        void* p = dlsym(lib, name);
        if (!p) throw std::runtime_error(std::string("render: libEGL.so.1 has no ") + name);
        return reinterpret_cast<F>(p);
    }
    static Egl open() {
        // RTLD_GLOBAL: MuJoCo looks up eglGetProcAddress among the process's symbols.
        void* lib = dlopen("libEGL.so.1", RTLD_NOW | RTLD_GLOBAL);
        if (!lib)
            throw std::runtime_error(std::string("render: cannot load libEGL.so.1 (") + dlerror() + "); videos need " +
                                     packages());
        Egl e;
        e.GetProcAddress = sym<PFNEGLGETPROCADDRESSPROC>(lib, "eglGetProcAddress");
        e.Initialize = sym<PFNEGLINITIALIZEPROC>(lib, "eglInitialize");
        e.BindAPI = sym<PFNEGLBINDAPIPROC>(lib, "eglBindAPI");
        e.CreateContext = sym<PFNEGLCREATECONTEXTPROC>(lib, "eglCreateContext");
        e.MakeCurrent = sym<PFNEGLMAKECURRENTPROC>(lib, "eglMakeCurrent");
        e.DestroyContext = sym<PFNEGLDESTROYCONTEXTPROC>(lib, "eglDestroyContext");
        e.GetError = sym<PFNEGLGETERRORPROC>(lib, "eglGetError");
        e.QueryString = sym<PFNEGLQUERYSTRINGPROC>(lib, "eglQueryString");
        const char* client = e.QueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
        if (!client || !std::strstr(client, "EGL_MESA_platform_surfaceless"))
            throw std::runtime_error("render: EGL has no surfaceless platform (EGL_MESA_platform_surfaceless); videos need " +
                                     std::string(packages()));
        e.GetPlatformDisplayEXT =
            reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(e.GetProcAddress("eglGetPlatformDisplayEXT"));
        if (!e.GetPlatformDisplayEXT) throw std::runtime_error("render: EGL has no eglGetPlatformDisplayEXT");
        e.display = e.GetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
        EGLint major = 0, minor = 0;
        if (e.display == EGL_NO_DISPLAY || !e.Initialize(e.display, &major, &minor))
            throw std::runtime_error("render: eglInitialize on the surfaceless platform failed (EGL error 0x" +
                                     hex(e.GetError()) + "); videos need " + packages());
        const char* ext = e.QueryString(e.display, EGL_EXTENSIONS);
        for (const char* need : {"EGL_KHR_no_config_context", "EGL_KHR_surfaceless_context"})
            if (!ext || !std::strstr(ext, need))
                throw std::runtime_error(std::string("render: EGL lacks ") + need + "; videos need " + packages());
        if (!e.BindAPI(EGL_OPENGL_API)) throw std::runtime_error("render: eglBindAPI(EGL_OPENGL_API) failed");
        return e;
    }

   public:
    static std::string hex(EGLint v) {
        char b[16];
        std::snprintf(b, sizeof b, "%04x", static_cast<unsigned>(v));
        return b;
    }
};

// Frames of one model, from one camera, at one size.
class Renderer {
   public:
    // camera: the name of a camera of the model (mjCAMERA_FIXED; a trackcom camera follows its
    // body), or "" for MuJoCo's default free camera. width and height must fit the model's
    // offscreen buffer (<visual><global offwidth offheight>, 640 x 480 unless the MJCF says).
    Renderer(const mjModel* m, int width, int height, const std::string& camera) : m_(m), width_(width), height_(height) {
        if (width <= 0 || height <= 0) throw std::invalid_argument("render: frame size must be positive");
        if (width > m->vis.global.offwidth || height > m->vis.global.offheight)
            throw std::invalid_argument("render: a " + std::to_string(width) + " x " + std::to_string(height) +
                                        " frame does not fit the model's offscreen buffer (" +
                                        std::to_string(m->vis.global.offwidth) + " x " +
                                        std::to_string(m->vis.global.offheight) + ")");
        Egl& egl = Egl::get();
        ctx_ = egl.CreateContext(egl.display, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, nullptr);
        if (ctx_ == EGL_NO_CONTEXT)
            throw std::runtime_error("render: eglCreateContext failed (EGL error 0x" + Egl::hex(egl.GetError()) + ")");
        current();
        mjv_defaultOption(&opt_);
        mjv_defaultCamera(&cam_);
        mjv_defaultScene(&scn_);
        mjr_defaultContext(&con_);
        mjv_makeScene(m, &scn_, 1000);
        mjr_makeContext(m, &con_, mjFONTSCALE_100);
        mjr_setBuffer(mjFB_OFFSCREEN, &con_);
        if (con_.currentBuffer != mjFB_OFFSCREEN) {
            release();
            throw std::runtime_error("render: MuJoCo has no offscreen buffer in this OpenGL context");
        }
        if (!camera.empty()) {
            const int id = mj_name2id(m, mjOBJ_CAMERA, camera.c_str());
            if (id < 0) {
                release();
                throw std::invalid_argument("render: the model has no camera '" + camera + "'");
            }
            cam_.type = mjCAMERA_FIXED;
            cam_.fixedcamid = id;
        }
        rows_.resize(static_cast<std::size_t>(width) * height * 3);
    }
    Renderer(const Renderer&) = delete;
    Renderer& operator=(const Renderer&) = delete;
    ~Renderer() { release(); }

    int width() const { return width_; }
    int height() const { return height_; }
    mjvOption& option() { return opt_; }  // e.g. geomgroup[k] = 0 hides geom group k

    // The frame of d's current state (MuJoCo reads positions and orientations only: xpos, xmat,
    // geom_xpos, ...; d is not changed), as width * height RGB bytes, top row first.
    void render(const mjData* d, std::vector<unsigned char>& rgb) {
        current();
        mjv_updateScene(m_, const_cast<mjData*>(d), &opt_, nullptr, &cam_, mjCAT_ALL, &scn_);
        const mjrRect viewport = {0, 0, width_, height_};
        mjr_render(viewport, &scn_, &con_);
        mjr_readPixels(rows_.data(), nullptr, viewport, &con_);  // OpenGL's rows: bottom first
        rgb.resize(rows_.size());
        const std::size_t row = static_cast<std::size_t>(width_) * 3;
        for (int y = 0; y < height_; ++y)
            std::memcpy(rgb.data() + static_cast<std::size_t>(y) * row,
                        rows_.data() + static_cast<std::size_t>(height_ - 1 - y) * row, row);
    }

   private:
    void current() {
        Egl& egl = Egl::get();
        if (!egl.MakeCurrent(egl.display, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx_))
            throw std::runtime_error("render: eglMakeCurrent failed (EGL error 0x" + Egl::hex(egl.GetError()) + ")");
    }
    void release() {
        if (ctx_ == EGL_NO_CONTEXT) return;
        Egl& egl = Egl::get();
        if (egl.MakeCurrent(egl.display, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx_)) {
            mjr_freeContext(&con_);
            mjv_freeScene(&scn_);
        }
        egl.MakeCurrent(egl.display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
        egl.DestroyContext(egl.display, ctx_);
        ctx_ = EGL_NO_CONTEXT;
    }

    const mjModel* m_;
    int width_, height_;
    EGLContext ctx_ = EGL_NO_CONTEXT;
    mjvScene scn_;
    mjvCamera cam_;
    mjvOption opt_;
    mjrContext con_;
    std::vector<unsigned char> rows_;
};

}  // namespace render
}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_RENDER_HPP
