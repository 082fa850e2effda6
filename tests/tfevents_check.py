#!/usr/bin/python3
"""tests/tfevents_check.py [--rows N] [--videos N] RUN_DIR...

Checks the TensorBoard event file of each run directory against its metrics.csv with decoders
written independently of examples/tfevents.hpp: the Event classes Debian's protoc generates from
tests/tfevents.proto (protoc --python_out, run here into a temporary directory), and the CRC32C of
Debian's python3-crc32c. Asserts: exactly one event file, events.out.tfevents.<start>.<host>, and
no temporary file beside it; every record's length and payload CRC (masked) right, no bytes after
the last record; record 0 is Event{wall_time = start, file_version = "brain.Event:2"}; then one
Event per whole metrics.csv row (all of them, N with --rows), with step = the Iteration cell,
wall_time = start + the TimeSinceStart cell, and one value per other column whose cell is a
number, in the CSV's order, tag = the column name, simple_value = the cell rounded to float32
(bit for bit). Videos (examples/video.hpp): before a row's event, one image Event per file
<tag>_itr<step>.gif of the run directory for that row's step (tags train_rollouts, then
eval_rollouts; no other image events), with the row's step and wall time, colorspace 3, height and
width those of the GIF's logical screen, and encoded_image_string the file's bytes (N with
--videos: the image events of all run directories given). Exit code 1 on the first difference,
naming it.
"""
import csv
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

import crc32c  # Debian's python3-crc32c

HERE = os.path.dirname(os.path.abspath(__file__))


def load_event_class():
    with tempfile.TemporaryDirectory(prefix="tfevents_check_") as out:
        subprocess.run(["protoc", "-I", HERE, "--python_out", out, os.path.join(HERE, "tfevents.proto")], check=True)
        sys.path.insert(0, out)
        import tfevents_pb2  # noqa: E402  (generated just above)
        sys.path.remove(out)
    return tfevents_pb2.Event


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        if len(data) - pos < 12:
            raise AssertionError("%s: %d bytes after record %d, less than a record header" % (path, len(data) - pos, len(out)))
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if length_crc != masked(crc32c.crc32c(header)):
            raise AssertionError("%s: record %d: length CRC %08x, expected %08x" % (path, len(out), length_crc, masked(crc32c.crc32c(header))))
        if len(data) - pos - 12 < length + 4:
            raise AssertionError("%s: record %d: %d payload bytes announced, file ends first" % (path, len(out), length))
        payload = data[pos + 12:pos + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if payload_crc != masked(crc32c.crc32c(payload)):
            raise AssertionError("%s: record %d: payload CRC %08x, expected %08x" % (path, len(out), payload_crc, masked(crc32c.crc32c(payload))))
        out.append(payload)
        pos += 16 + length
    return out


def f32(x):
    """x rounded to float32, as 4 bytes (so NaN compares too)."""
    try:
        return struct.pack("<f", x)
    except OverflowError:  # finite but beyond float32: C++ gives +-inf
        return struct.pack("<f", math.copysign(math.inf, x))


def number(cell):
    if cell.strip() == "":
        return None
    try:
        return float(cell)
    except ValueError:
        return None


VIDEO_TAGS = ["train_rollouts", "eval_rollouts"]


def expected_videos(run_dir, step):
    """The (tag, bytes) of the GIF files of `step` in run_dir, in the order of their events."""
    out = []
    for tag in VIDEO_TAGS:
        path = os.path.join(run_dir, "%s_itr%d.gif" % (tag, step))
        if os.path.isfile(path):
            out.append((tag, open(path, "rb").read()))
    return out


def check_run(run_dir, Event, rows_expected):
    names = sorted(n for n in os.listdir(run_dir) if "tfevents" in n)
    assert len(names) == 1, "%s: %d event files: %s" % (run_dir, len(names), names)
    assert not os.path.exists(os.path.join(run_dir, ".events_rewrite.tmp")), "%s: a temporary file is left" % run_dir
    m = re.fullmatch(r"events\.out\.tfevents\.(\d+)\.(.+)", names[0])
    assert m, "%s: event file name %s" % (run_dir, names[0])
    start = float(int(m.group(1)))
    path = os.path.join(run_dir, names[0])
    events = []
    for payload in records(path):
        e = Event()
        e.ParseFromString(payload)
        events.append(e)
    text = open(os.path.join(run_dir, "metrics.csv"), newline="").read()
    lines = text.split("\n")[:-1]  # whole lines only (a last line without its newline is cut off)
    table = list(csv.reader(lines))
    columns, rows = table[0], table[1:]
    if rows_expected is not None:
        assert len(rows) == rows_expected, "%s: metrics.csv has %d rows, expected %d" % (run_dir, len(rows), rows_expected)
    e0 = events[0]
    assert e0.file_version == "brain.Event:2", "%s: record 0 file_version %r" % (run_dir, e0.file_version)
    assert e0.wall_time == start and e0.step == 0 and not e0.HasField("summary"), "%s: record 0: %s" % (run_dir, e0)
    scalars = 0
    images = 0
    pos = 1
    for i, row in enumerate(rows):
        where = "%s: row %d" % (run_dir, i)
        cells = dict(zip(columns, row))
        step = int(cells["Iteration"]) if "Iteration" in cells else i
        t = number(cells.get("TimeSinceStart", ""))
        wall = start + t if t is not None else start
        for tag, gif in expected_videos(run_dir, step):
            assert pos < len(events), "%s: the events end before the image %s of step %d" % (where, tag, step)
            e = events[pos]
            pos += 1
            assert len(e.summary.value) == 1 and e.summary.value[0].HasField("image"), \
                "%s: expected the image %s of step %d, got %s" % (where, tag, step, [v.tag for v in e.summary.value])
            v = e.summary.value[0]
            assert v.tag == tag, "%s: image tag %r, expected %r" % (where, v.tag, tag)
            assert e.step == step and e.wall_time == wall, "%s: image %s: step %d wall_time %r, expected %d %r" % (
                where, tag, e.step, e.wall_time, step, wall)
            im = v.image
            assert im.encoded_image_string == gif, "%s: image %s: not the bytes of %s_itr%d.gif" % (where, tag, tag, step)
            w, h = struct.unpack("<HH", gif[6:10])
            assert (im.width, im.height, im.colorspace) == (w, h, 3), "%s: image %s: %dx%d colorspace %d, GIF %dx%d" % (
                where, tag, im.width, im.height, im.colorspace, w, h)
            images += 1
        assert pos < len(events), "%s: %d events for %d metrics.csv rows (+1)" % (run_dir, len(events), len(rows))
        e = events[pos]
        pos += 1
        assert not e.file_version, where + ": file_version in a row's event"
        assert e.step == step, "%s: step %d, expected %d" % (where, e.step, step)
        assert e.wall_time == wall, "%s: wall_time %r, expected %r" % (where, e.wall_time, wall)
        assert not any(v.HasField("image") for v in e.summary.value), where + ": an image in a row's event"
        expected = [(c, number(v)) for c, v in zip(columns, row) if c != "Iteration" and number(v) is not None]
        got = [(v.tag, v.simple_value) for v in e.summary.value]
        assert [c for c, _ in got] == [c for c, _ in expected], "%s: tags %s, expected %s" % (
            where, [c for c, _ in got], [c for c, _ in expected])
        for (tag, value), (_, x) in zip(got, expected):
            assert f32(value) == f32(x), "%s: %s = %r, metrics.csv has %r (float32 %r)" % (
                where, tag, value, x, struct.unpack("<f", f32(x))[0])
            assert value == x or math.isnan(x) or abs(value - x) <= abs(x) * 2.0 ** -24, where
        scalars += len(got)
    assert pos == len(events), "%s: %d events after the last row's" % (run_dir, len(events) - pos)
    print("tfevents_check: %s: %d records, CRCs right, %d rows and %d scalars equal to metrics.csv%s" % (
        path, len(events), len(rows), scalars, ", %d images equal to the GIF files" % images if images else ""))
    return images


def main(argv):
    rows = videos = None
    args = argv[1:]
    while len(args) >= 2 and args[0] in ("--rows", "--videos"):
        if args[0] == "--rows":
            rows = int(args[1])
        else:
            videos = int(args[1])
        args = args[2:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    Event = load_event_class()
    try:
        images = 0
        for d in args:
            images += check_run(d, Event, rows)
        assert videos is None or images == videos, "%d image events, expected %d" % (images, videos)
    except AssertionError as e:
        print("tfevents_check: FAILED: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
