#!/usr/bin/python3
"""tests/video_check.py: checks of the videos (examples/video.hpp, gif.hpp, render.hpp) with decoders
that are not this project's: Debian's python3-pil, and the Event classes of tests/tfevents_check.py.

  video_check.py gif DIR             DIR/smooth.gif and DIR/scattered.gif (build/video_tool gif DIR)
                                     decode to their frames (DIR/*.rgb): size, frame count, delay,
                                     looping; smooth's pixels within the quantisation's error,
                                     scattered's (200 colours) exactly
  video_check.py render DIR          the frames of build/video_tool render DIR: the body is in view
                                     (pixels that differ from the frame without it: a share of the
                                     frame, centred, of the body's colour), and up is up (the sky's
                                     rows at the top are even, the floor's at the bottom are not)
  video_check.py run RUN_DIR ITRS EP_LEN   a run with --video_log_freq: for each iteration in ITRS
                                     (comma separated) its train_rollouts and eval_rollouts GIFs,
                                     decoded from the event file's image summaries and from the
                                     files: 500 x 250 (two 250 x 250 rollouts side by side), EP_LEN
                                     frames, the env's delay, looping, frames that move; and no
                                     video of any other iteration
  video_check.py paths RUN_DIR ITRS  the obstacles env's path CSVs and obstacles.csv
Exit code 1 on the first failed check, naming it.
"""
import csv
import io
import os
import sys

from PIL import Image, ImageChops, ImageStat  # Debian's python3-pil

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg):
    raise AssertionError(msg)


def frames_of(gif_bytes):
    """The frames of a GIF as RGB images, and the first frame's info."""
    im = Image.open(io.BytesIO(gif_bytes))
    out = []
    for k in range(im.n_frames):
        im.seek(k)
        out.append(im.convert("RGB"))
    im.seek(0)
    return out, im.info


def check_gif_file(path, w, h, n, delay_ms, rgb_path, max_mean, max_px):
    data = open(path, "rb").read()
    assert data[:6] == b"GIF89a", "%s: not GIF89a" % path
    frames, info = frames_of(data)
    assert frames[0].size == (w, h), "%s: size %s, expected %s" % (path, frames[0].size, (w, h))
    assert len(frames) == n, "%s: %d frames, expected %d" % (path, len(frames), n)
    assert info.get("duration") == delay_ms, "%s: delay %r ms, expected %d" % (path, info.get("duration"), delay_ms)
    assert info.get("loop") == 0, "%s: loop %r, expected 0 (forever)" % (path, info.get("loop"))
    raw = open(rgb_path, "rb").read()
    assert len(raw) == w * h * 3 * n, "%s: %d bytes for %d frames" % (rgb_path, len(raw), n)
    worst_mean = worst_px = 0
    for k, f in enumerate(frames):
        src = Image.frombytes("RGB", (w, h), raw[k * w * h * 3:(k + 1) * w * h * 3])
        diff = ImageChops.difference(f, src)
        mean = sum(ImageStat.Stat(diff).mean) / 3
        px = max(hi for _, hi in diff.getextrema())
        worst_mean, worst_px = max(worst_mean, mean), max(worst_px, px)
        assert mean <= max_mean and px <= max_px, "%s: frame %d differs from its source: mean %.2f (at most %g), max %d (at most %d)" % (
            path, k, mean, max_mean, px, max_px)
    print("video_check: %s: %d frames of %dx%d, delay %d ms, loops; pixels within mean %.2f, max %d of the source" % (
        path, n, w, h, delay_ms, worst_mean, worst_px))


def cmd_gif(d):
    check_gif_file(os.path.join(d, "smooth.gif"), 120, 90, 7, 30, os.path.join(d, "smooth.rgb"), 4.0, 24)
    check_gif_file(os.path.join(d, "scattered.gif"), 120, 90, 2, 10, os.path.join(d, "scattered.rgb"), 0, 0)


def changed_pixels(a, b, threshold=40):
    """The (x, y) where a and b differ by more than threshold in some channel."""
    w, h = a.size
    pa, pb = a.load(), b.load()
    return [(x, y) for y in range(h) for x in range(w)
            if max(abs(pa[x, y][c] - pb[x, y][c]) for c in range(3)) > threshold]


def row_spread(img, y0, y1):
    """The mean over rows y0..y1-1 of the standard deviation of the row's grey levels."""
    g = img.convert("L")
    w, _ = g.size
    total = 0.0
    for y in range(y0, y1):
        total += ImageStat.Stat(g.crop((0, y, w, y + 1))).stddev[0]
    return total / (y1 - y0)


def cmd_render(d):
    for env, colour in (("cheetah", "sand"), ("reacher", "grey")):
        body = Image.open(os.path.join(d, env + "_body.ppm")).convert("RGB")
        empty = Image.open(os.path.join(d, env + "_empty.ppm")).convert("RGB")
        w, h = body.size
        px = changed_pixels(body, empty)
        share = len(px) / (w * h)
        assert 0.02 <= share <= 0.5, "%s: %.1f%% of the pixels show the body (expected 2%% to 50%%)" % (env, 100 * share)
        cx = sum(x for x, _ in px) / len(px) / w
        cy = sum(y for _, y in px) / len(px) / h
        assert 0.3 <= cx <= 0.7 and 0.2 <= cy <= 0.85, "%s: the body's pixels are centred at (%.2f, %.2f) of the frame" % (env, cx, cy)
        p = body.load()
        mean = [sum(p[x, y][c] for x, y in px) / len(px) for c in range(3)]
        if colour == "sand":  # rgba 0.8 0.6 0.4, shaded
            assert mean[0] > mean[1] > mean[2] and mean[0] - mean[2] > 30, "cheetah: the body's mean colour %s is not sand" % mean
        else:  # grey arm: no channel far from the others
            assert max(mean) - min(mean) < 40, "reacher: the body's mean colour %s is not grey" % mean
        # up is up: the sky (a vertical gradient) fills the top rows evenly; the checker floor
        # makes the bottom rows uneven
        top, bottom = row_spread(empty, 0, h // 10), row_spread(empty, h - h // 10, h)
        assert top < 5 and bottom > 20, "%s: row spread %.1f at the top, %.1f at the bottom: upside down?" % (env, top, bottom)
        print("video_check: %s: the body covers %.1f%% of the frame, centred at (%.2f, %.2f), mean colour (%.0f, %.0f, %.0f); "
              "row spread %.1f at the top, %.1f at the bottom" % (env, 100 * share, cx, cy, mean[0], mean[1], mean[2], top, bottom))
    p = Image.open(os.path.join(d, "reacher_body.ppm")).convert("RGB").load()
    red = sum(1 for y in range(h) for x in range(w) if p[x, y][0] > 150 and p[x, y][1] < 60 and p[x, y][2] < 60)
    assert red >= 20, "reacher: %d red pixels: the target is not in view" % red


def image_events(run_dir):
    sys.path.insert(0, HERE)
    import tfevents_check  # noqa: E402
    Event = tfevents_check.load_event_class()
    names = [n for n in os.listdir(run_dir) if "tfevents" in n]
    assert len(names) == 1, "%s: %d event files" % (run_dir, len(names))
    out = []
    for payload in tfevents_check.records(os.path.join(run_dir, names[0])):
        e = Event()
        e.ParseFromString(payload)
        for v in e.summary.value:
            if v.HasField("image"):
                out.append((v.tag, e.step, v.image))
    return out


def cmd_run(run_dir, itrs, ep_len):
    itrs = [int(x) for x in itrs.split(",") if x != ""]
    fps = {200: 50, 500: 100}[ep_len]  # reacher: dt 0.02; cheetah: dt 0.01
    delay_ms = 10 * round(100 / fps)
    events = image_events(run_dir)
    expected = [(tag, k) for k in itrs for tag in ("train_rollouts", "eval_rollouts")]
    got = [(tag, step) for tag, step, _ in events]
    assert got == expected, "%s: image summaries %s, expected %s" % (run_dir, got, expected)
    files = sorted(n for n in os.listdir(run_dir) if n.endswith(".gif"))
    assert files == sorted("%s_itr%d.gif" % te for te in expected), "%s: GIF files %s" % (run_dir, files)
    for tag, step, image in events:
        data = image.encoded_image_string
        assert data == open(os.path.join(run_dir, "%s_itr%d.gif" % (tag, step)), "rb").read(), "%s %d: event and file differ" % (tag, step)
        frames, info = frames_of(data)
        where = "%s: %s step %d" % (run_dir, tag, step)
        assert (image.width, image.height, image.colorspace) == (500, 250, 3), "%s: summary %dx%d colorspace %d" % (
            where, image.width, image.height, image.colorspace)
        assert frames[0].size == (500, 250), "%s: GIF size %s" % (where, frames[0].size)
        assert len(frames) == ep_len, "%s: %d frames, expected %d (ep_len)" % (where, len(frames), ep_len)
        assert info.get("duration") == delay_ms and info.get("loop") == 0, "%s: delay %r loop %r" % (
            where, info.get("duration"), info.get("loop"))
        moved = [ImageChops.difference(frames[k], frames[k + 1]).getbbox() is not None for k in range(0, len(frames) - 1, 10)]
        assert sum(moved) >= len(moved) // 2, "%s: %d of %d sampled frames change: no motion" % (where, sum(moved), len(moved))
        halves = [ImageChops.difference(f.crop((0, 0, 250, 250)), f.crop((250, 0, 500, 250))).getbbox() for f in frames[1::50]]
        assert any(halves), "%s: the two rollouts are the same" % where
        print("video_check: %s: %d frames of 500x250 (2 rollouts), delay %d ms, loops, moving" % (where, len(frames), delay_ms))


def cmd_paths(run_dir, itrs):
    itrs = [int(x) for x in itrs.split(",") if x != ""]
    rows = list(csv.DictReader(open(os.path.join(run_dir, "obstacles.csv"))))
    shapes = [r["shape"] for r in rows]
    assert shapes == ["field"] + ["obstacle"] * 5 + ["goal"], "obstacles.csv shapes %s" % shapes
    boxes = [tuple(float(r[k]) for k in ("x_min", "y_min", "x_max", "y_max")) for r in rows if r["shape"] == "obstacle"]
    files = sorted(n for n in os.listdir(run_dir) if n.endswith(".csv") and "_rollouts_itr" in n)
    expected = sorted("%s_itr%d.csv" % (tag, k) for k in itrs for tag in ("train_rollouts", "eval_rollouts"))
    assert files == expected, "%s: path files %s, expected %s" % (run_dir, files, expected)
    for name in files:
        paths = {}
        for r in csv.DictReader(open(os.path.join(run_dir, name))):
            paths.setdefault(int(r["rollout"]), []).append((int(r["step"]), float(r["x"]), float(r["y"]), r["reward"]))
        assert sorted(paths) == [0, 1], "%s: rollouts %s" % (name, sorted(paths))
        for k, p in paths.items():
            assert [s for s, _, _, _ in p] == list(range(len(p))) and 2 <= len(p) <= 101, "%s: rollout %d steps" % (name, k)
            assert p[0][3] == "" and all(r != "" for _, _, _, r in p[1:]), "%s: rollout %d rewards" % (name, k)
            for _, x, y, _ in p:
                assert -0.99 < x < 0.99 and -0.99 < y < 0.99, "%s: (%g, %g) outside the field" % (name, x, y)
                assert not any(a < x < c and b < y < d for a, b, c, d in boxes), "%s: (%g, %g) inside an obstacle" % (name, x, y)
        print("video_check: %s: 2 paths of %d and %d steps, inside the field, outside the obstacles" % (
            name, len(paths[0]) - 1, len(paths[1]) - 1))


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "gif":
            cmd_gif(argv[2])
        elif len(argv) == 3 and argv[1] == "render":
            cmd_render(argv[2])
        elif len(argv) == 5 and argv[1] == "run":
            cmd_run(argv[2], argv[3], int(argv[4]))
        elif len(argv) == 4 and argv[1] == "paths":
            cmd_paths(argv[2], argv[3])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except AssertionError as e:
        print("video_check: FAILED: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
