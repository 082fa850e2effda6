#!/usr/bin/env python3
"""Writes tests/fixtures/plot/: one tiny run directory per exp_name that plot/plot.sh draws, in the
layout our runs write (data/hw4_<exp_name>_<env_name>_<dd-mm-YYYY_HH-MM-SS>/ with flags.csv,
metrics.csv and, for q1, predictions.csv and losses.csv). The numbers are made up; tests/plot_test.sh
checks that every promised PNG comes out of them, and what some figures show:
- q3_cheetah's Train and q6_cheetah_rlenl0's Eval at iteration 0 are far below the later
  iterations (as random data are), so that the y range is chosen without them;
- q1: the 5-step run's losses are the 500-step arch2x250 run's first 5 (as with equal seeds), and
  the 500-step runs are 60 steps, over ten times as long;
- q4_reacher_ensemble1 has one member (disagreement 0) and two seeds: seed 1's metrics.csv has no
  Model_* columns, seed 2's has them; q6_cheetah_rlen10 has none (as its real runs);
- q3_obstacles' returns stay below the assignment's -25 .. -20, which the y range must hold;
- q3_obstacles_true has 2 iterations beside q3_obstacles' 3.
Run from the repository root."""
import math, os

ROOT = "tests/fixtures/plot"
STAMP = "01-01-2026_00-00-00"
METRICS = ("Iteration,Eval_AverageReturn,Eval_StdReturn,Eval_MaxReturn,Eval_MinReturn,Eval_AverageEpLen,"
           "Train_AverageReturn,Train_StdReturn,Train_MaxReturn,Train_MinReturn,Train_AverageEpLen,"
           "Train_EnvstepsSoFar,TimeSinceStart,Training Loss,Initial_DataCollection_AverageReturn")


MODEL = ",Model_OneStepError,Model_OpenLoop10Error,Model_Disagreement"  # the model diagnostics


def run(exp, env, n_iter, base, step, q1=False, model=False, seed=1, stamp=STAMP, members=None,
        train0=None, eval0=None, steps=6, losses=lambda s: 1.0 / (s + 1)):
    """train0, eval0: Train / Eval_AverageReturn of iteration 0 instead of the line's."""
    d = os.path.join(ROOT, f"hw4_{exp}_{env}_{stamp}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "flags.csv"), "w") as f:
        f.write(f"flag,value\nenv_name,{env}\nexp_name,{exp}\nn_iter,{n_iter}\n"
                + (f"ensemble_size,{members}\n" if members else "") + f"seed,{seed}\n")
    with open(os.path.join(d, "metrics.csv"), "w") as f:
        f.write(METRICS + (MODEL if model else "") + "\n")
        for i in range(n_iter):
            ev, tr = base + step * (i + 1), base + step * i - 5
            if i == 0:
                ev = eval0 if eval0 is not None else ev
                tr = train0 if train0 is not None else tr
            if q1:  # --scalar_log_freq -1: empty Eval cells
                f.write(f"{i},,,,,,{tr},3,{tr+4},{tr-4},100,{5000*(i+1)},{10*i+1},0.{i+1},{base-5}\n")
            else:
                dis = 0.0 if members == 1 else 0.1 / (i + 1)
                f.write(f"{i},{ev},{abs(step)+1},{ev+5},{ev-5},100,{tr},3,{tr+4},{tr-4},100,{5000*(i+1)},{10*i+1},0.{i+1},{base-5}"
                        + (f",{0.5 / (i + 1):.6g},{2.0 / (i + 1):.6g},{dis:.6g}" if model else "") + "\n")
    if q1:
        with open(os.path.join(d, "losses.csv"), "w") as f:
            f.write("step,Training Loss\n")
            for s in range(steps):
                f.write(f"{s},{losses(s):.6g}\n")
        with open(os.path.join(d, "predictions.csv"), "w") as f:
            f.write("step,dimension,true,predicted,mpe\n")
            for t in range(10):
                for j in range(4):
                    tru = math.sin(0.3 * t + j)
                    f.write(f"{t},{j},{tru:.6g},{tru + 0.01 * t:.6g},0.00285\n")


run("q1_cheetah_n500_arch1x32", "cheetah-cs285-v0", 1, -50, 0, q1=True, steps=60)
run("q1_cheetah_n500_arch2x250", "cheetah-cs285-v0", 1, -50, 0, q1=True, steps=60, losses=lambda s: 0.8 / (s + 1) ** 1.5)
run("q1_cheetah_n5_arch2x250", "cheetah-cs285-v0", 1, -50, 0, q1=True, steps=5, losses=lambda s: 0.8 / (s + 1) ** 1.5)
run("q2_obstacles_singleiteration", "obstacles-cs285-v0", 1, -160, 100)
run("q3_obstacles", "obstacles-cs285-v0", 3, -80, 10, model=True)  # below the assignment: -25 .. -20
run("q3_reacher", "reacher-cs285-v0", 3, -600, 100)
run("q3_cheetah", "cheetah-cs285-v0", 3, 0, 100, train0=-2500)
for exp in ("q4_reacher_ensemble3", "q4_reacher_numseq1000", "q4_reacher_horizon5"):
    run(exp, "reacher-cs285-v0", 3, -600, 80)
run("q4_reacher_ensemble1", "reacher-cs285-v0", 3, -600, 70, members=1)
run("q4_reacher_ensemble1", "reacher-cs285-v0", 3, -600, 70, members=1, model=True, seed=2, stamp="01-01-2026_00-00-01")
run("q5_cheetah_random", "cheetah-cs285-v0", 3, 0, 150)
run("q6_cheetah_rlen10", "cheetah-cs285-v0", 3, -100, 300)
run("q6_cheetah_rlenl0", "cheetah-cs285-v0", 3, -100, 100, model=True, members=5, eval0=-3000)
run("q3_obstacles_true", "obstacles-cs285-v0", 2, -40, 8)  # beyond_obstacles_true.png
