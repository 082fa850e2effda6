#!/usr/bin/env python3
"""Writes tests/fixtures/report/: a tiny data directory for plot/report.py (tests/report_test.sh),
in the layout the runs write (hw4_<exp_name>_<env_name>_<dd-mm-YYYY_HH-MM-SS>/ with flags.csv,
metrics.csv and, for q1, losses.csv and predictions.csv), plus figures/ and a few GIFs
(or into the directory given as the argument).

The numbers are made up and chosen so that the report's numbers can be worked out by hand (the
comments below and tests/report_test.sh do so). Each run's final Eval return is planted; earlier
iterations are the final minus STEP per iteration before the last, so that a seed's mean over its
last 3 iterations is its final minus STEP. Runs that report.py must skip carry values (9876.5,
7777.7) that must never appear in the report. Run from the repository root."""
import os
import shutil
import struct
import sys
import zlib

ROOT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/report"
COLUMNS = ["Iteration", "Eval_AverageReturn", "Eval_StdReturn", "Eval_MaxReturn", "Eval_MinReturn",
           "Eval_AverageEpLen", "Train_AverageReturn", "Train_StdReturn", "Train_MaxReturn", "Train_MinReturn",
           "Train_AverageEpLen", "Train_EnvstepsSoFar", "TimeSinceStart", "Training Loss",
           "Initial_DataCollection_AverageReturn"]
ENV = {"q1": "cheetah-cs285-v0", "q2": "obstacles-cs285-v0", "q3_obstacles": "obstacles-cs285-v0",
       "q3_reacher": "reacher-cs285-v0", "q3_cheetah": "cheetah-cs285-v0", "q4": "reacher-cs285-v0",
       "q5": "cheetah-cs285-v0", "q6": "cheetah-cs285-v0"}


def env_of(exp):
    for k in sorted(ENV, key=len, reverse=True):
        if exp.startswith(k):
            return ENV[k]
    raise KeyError(exp)


def run_dir(exp, seed, suffix=""):
    return os.path.join(ROOT, "hw4_%s_%s_01-01-2026_00-00-%02d%s" % (exp, env_of(exp), seed, suffix))


def g(v):
    return "%.10g" % v


def write_run(exp, seed, finals, n_iter, step=10.0, rows=None, flags=None, train=None, minutes=None,
              suffix=""):
    """One run: n_iter rows (or `rows` of them), Eval at iteration i = final - step * (n_iter-1-i)."""
    d = run_dir(exp, seed, suffix)
    os.makedirs(d)
    fl = {"env_name": env_of(exp), "exp_name": exp, "n_iter": n_iter, "seed": seed, "threads": 1}
    fl.update(flags or {})
    with open(os.path.join(d, "flags.csv"), "w") as f:
        f.write("flag,value\n" + "".join("%s,%s\n" % (k, v) for k, v in fl.items()))
    with open(os.path.join(d, "metrics.csv"), "w") as f:
        f.write(",".join(COLUMNS) + "\n")
        for i in range(n_iter if rows is None else rows):
            ev = None if finals is None else finals - step * (n_iter - 1 - i)
            tr = train if train is not None else (-100.0 if ev is None else ev - 7.0)
            t = (minutes * 60.0 * (i + 1) / n_iter) if minutes else 30.0 * (i + 1)
            # one evaluation episode (std 0) on cheetah, several elsewhere; q1 has no Eval
            std = None if ev is None else 0 if fl["env_name"].startswith("cheetah") else 2.5
            cells = [i, ev, std, ev, ev, 100, tr, 3, tr + 4, tr - 4, 100, 1000 * (i + 1), t, 0.05, -100.0]
            f.write(",".join("" if c is None else g(c) for c in cells) + "\n")
    return d


def png(path):
    """A valid 1x1 grey PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def checkpoint(path, itr):
    """A whole checkpoint in mbrl_checkpoint.hpp's format whose loop.itr is `itr`."""
    def field(name, kind, count, payload):
        return struct.pack("<I", len(name)) + name + kind + struct.pack("<Q", count) + payload
    payload = field(b"kind", b"s", 2, b"mb") + field(b"settings", b"u", 1, struct.pack("<Q", 0)) + \
        field(b"loop.itr", b"u", 1, struct.pack("<Q", itr)) + field(b"loop.envsteps", b"u", 1, struct.pack("<Q", 0))
    h = 0xCBF29CE484222325
    for byte in payload:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    with open(path, "wb") as f:
        f.write(b"MBRLCKPT" + struct.pack("<I", 1) + struct.pack("<Q", len(payload)) + payload + struct.pack("<Q", h))


def q1(exp, seed, final_loss, mpe, steps, layers, size, n_steps):
    """Loss by step falls from 1 to final_loss at the last step (first below 0.2 at the last step
    of the 500-step runs, never for the 5-step ones); predictions: 3 steps x 4 dimensions."""
    d = write_run(exp, seed, None, 1, flags={"num_agent_train_steps_per_iter": steps, "n_layers": layers,
                                               "size": size, "commit": "abc1234"})
    with open(os.path.join(d, "losses.csv"), "w") as f:
        f.write("step,Training Loss\n")
        for s in range(n_steps):
            f.write("%d,%s\n" % (s, g(final_loss if s == n_steps - 1 else 1.0 - 0.1 * s)))
    with open(os.path.join(d, "predictions.csv"), "w") as f:
        f.write("step,dimension,true,predicted,mpe\n")
        for t in range(3):
            for j in range(4):
                f.write("%d,%d,%s,%s,%s\n" % (t, j, g(0.1 * j), g(0.1 * j + 0.01 * t), g(mpe)))


shutil.rmtree(ROOT, ignore_errors=True)
os.makedirs(ROOT)

# Q1: final losses 0.187/0.163/0.178 (mean 0.176), 0.713/0.699/0.694 (0.702), 0.121/0.118/0.112
# (0.117): the large network's loss is resolved below both others'. MPE: 0.311/0.297/0.305 (0.304),
# 3.141/2.718/1.414 (2.424), 0.205/0.401/0.213 (0.273): 1x32 against 2x250 unresolved.
for seed, (a, b, c) in enumerate([(0.187, 0.713, 0.121), (0.163, 0.699, 0.118), (0.178, 0.694, 0.112)], 1):
    ma, mb, mc = [(0.311, 3.141, 0.205), (0.297, 2.718, 0.401), (0.305, 1.414, 0.213)][seed - 1]
    q1("q1_cheetah_n500_arch1x32", seed, a, ma, 500, 1, 32, 8)
    q1("q1_cheetah_n5_arch2x250", seed, b, mb, 5, 2, 250, 5)
    q1("q1_cheetah_n500_arch2x250", seed, c, mc, 500, 2, 250, 8)

# Q2: Train -161.3/-158.6/-163.1 (mean -161.0), Eval -57.4/-61.9/-52.6 (-57.3).
for seed, (tr, ev) in enumerate([(-161.3, -57.4), (-158.6, -61.9), (-163.1, -52.6)], 1):
    write_run("q2_obstacles_singleiteration", seed, ev, 1, train=tr,
              flags={"num_agent_train_steps_per_iter": 20})

# Q3 (4 iterations, STEP 10): obstacles -22.4/-21.7/-23.2 (mean -22.4, within -25..-20); reacher
# -310.2/-321.5/-305.9 (-312.5, below -300..-250); cheetah 341.7/353.3/365.5 (353.5 [341.7, 365.5],
# reaching past 350; last-3 mean 343.5). Reacher seed 3 has a .lock file no process holds (counted);
# its seed 1 holds two GIFs, the newer iteration's is shown. Cheetah seed 3 runs 72 minutes on a
# CPU recorded in flags.csv.
for seed, v in enumerate([-22.4, -21.7, -23.2], 1):
    write_run("q3_obstacles", seed, v, 4, step=1.0)
for seed, v in enumerate([-310.2, -321.5, -305.9], 1):
    d = write_run("q3_reacher", seed, v, 4)
    if seed == 3:
        with open(os.path.join(d, ".lock"), "w") as f:
            f.write("pid 1 on host fixture\n")
    if seed == 1:
        os.makedirs(os.path.join(d, "video"))
        for name in ("itr_2.gif", "itr_10.gif"):
            with open(os.path.join(d, "video", name), "wb") as f:
                f.write(b"GIF89a")
RECORDED = {"cpu": "Fixture CPU (family 6 model 85) avx2 fma", "commit": "fedcba9-dirty"}
for seed, v in enumerate([341.7, 353.3, 365.5], 1):
    write_run("q3_cheetah", seed, v, 4, minutes=72.0 if seed == 3 else None, flags=RECORDED if seed == 3 else None)

# Q4 (4 iterations, STEP 10; H 10, N 1000, 3 members unless swept). ensemble1: every seed -290.0
# (a zero-width interval); ensemble3 = numseq1000 (the same settings): -280.1/-250.4/-310.7;
# ensemble5, four seeds -270.0 x 3 and -250.0: mean -265.0, interval [-270.0, -255.0] (a resample of
# k copies of -250.0 has mean -270 + 5k; P(k <= 3) = 255/256 >= 97.5% > P(k <= 2) = 243/256),
# IQM -270.0. numseq100: -341.2/-338.8/-345.0, resolved below numseq1000. horizon 5/15/30: overlapping
# seeds, no ordering resolved.
BASE = {"mpc_horizon": 10, "mpc_num_action_sequences": 1000, "ensemble_size": 3, "env_name": "reacher-cs285-v0"}
SWEEP = {
    "q4_reacher_ensemble1": ({"ensemble_size": 1}, [-290.0, -290.0, -290.0]),
    "q4_reacher_ensemble3": ({}, [-280.1, -250.4, -310.7]),
    "q4_reacher_ensemble5": ({"ensemble_size": 5}, [-270.0, -270.0, -270.0, -250.0]),
    "q4_reacher_numseq100": ({"mpc_num_action_sequences": 100}, [-341.2, -338.8, -345.0]),
    "q4_reacher_numseq1000": ({}, [-280.1, -250.4, -310.7]),
    "q4_reacher_horizon5": ({"mpc_horizon": 5}, [-300.5, -260.5, -280.5]),
    "q4_reacher_horizon15": ({"mpc_horizon": 15}, [-290.2, -270.2, -285.2]),
    "q4_reacher_horizon30": ({"mpc_horizon": 30}, [-295.0, -265.0, -275.0]),
}
for exp, (change, finals) in SWEEP.items():
    for seed, v in enumerate(finals, 1):
        fl = dict(BASE)
        fl.update(change)
        write_run(exp, seed, v, 4, flags=fl)

# Q5 (5 iterations, STEP 50): random 250.3/280.9/265.1; CEM-2 700.2/905.4/810.6; CEM-4
# 780.5/950.1/820.3 (CEM-4 resolved above random, not above CEM-2). CEM-4 seed 4 is in progress
# (2 of 5 rows, Eval 9876.5: never reported).
Q5F = {"mpc_horizon": 15, "mpc_num_action_sequences": 1000, "cem_num_elites": 5}
for seed, v in enumerate([250.3, 280.9, 265.1], 1):
    write_run("q5_cheetah_random", seed, v, 5, step=50.0, flags=dict(Q5F, mpc_action_sampling_strategy="random"))
for seed, v in enumerate([700.2, 905.4, 810.6], 1):
    write_run("q5_cheetah_cem_2", seed, v, 5, step=50.0,
              flags=dict(Q5F, mpc_action_sampling_strategy="cem", cem_iterations=2))
for seed, v in enumerate([780.5, 950.1, 820.3], 1):
    write_run("q5_cheetah_cem_4", seed, v, 5, step=50.0,
              flags=dict(Q5F, mpc_action_sampling_strategy="cem", cem_iterations=4))
write_run("q5_cheetah_cem_4", 4, 9876.5 + 150.0, 5, step=50.0, rows=2,
          flags=dict(Q5F, mpc_action_sampling_strategy="cem", cem_iterations=4))

# Q6 (4 iterations, STEP 10): rlen0 120.5/230.5/180.5; rlen1 one seed, 640.0; rlen10
# 1101.1/1234.5/1367.9 (1234.5, at or above 1000). rlen10 seed 4 has all 4 rows (final 7777.7) but its
# checkpoint.bin holds 2 iterations: in progress, never reported. rlen10 seed 2 has a GIF.
Q6F = {"batch_size": 5000}
for seed, v in enumerate([120.5, 230.5, 180.5], 1):
    write_run("q6_cheetah_rlenl0", seed, v, 4, flags=dict(Q6F, mbpo_rollout_length=0, sac_n_iter=1000))
write_run("q6_cheetah_rlen1", 1, 640.0, 4, flags=dict(Q6F, mbpo_rollout_length=1, sac_n_iter=5000))
for seed, v in enumerate([1101.1, 1234.5, 1367.9], 1):
    d = write_run("q6_cheetah_rlen10", seed, v, 4, flags=dict(Q6F, mbpo_rollout_length=10, sac_n_iter=5000))
    if seed == 2:
        with open(os.path.join(d, "eval_final.gif"), "wb") as f:
            f.write(b"GIF89a")
d = write_run("q6_cheetah_rlen10", 4, 7777.7, 4, flags=dict(Q6F, mbpo_rollout_length=10, sac_n_iter=5000))
checkpoint(os.path.join(d, "checkpoint.bin"), 2)

# The figures plot.sh would draw, but q4_horizon.png (not drawn yet).
os.makedirs(os.path.join(ROOT, "figures"))
for name in ["q1_cheetah_n500_arch1x32_predictions.png", "q1_cheetah_n5_arch2x250_predictions.png",
             "q1_cheetah_n500_arch2x250_predictions.png", "q1_losses.png", "q2_returns.png", "q3_obstacles.png",
             "q3_reacher.png", "q3_cheetah.png", "q4_ensemble.png", "q4_numseq.png", "q5_cem.png", "q6_mbpo.png"]:
    png(os.path.join(ROOT, "figures", name))
