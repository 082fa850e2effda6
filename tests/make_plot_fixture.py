#!/usr/bin/env python3
"""Writes tests/fixtures/plot/: one tiny run directory per exp_name that plot/plot.sh draws, in the
layout our runs write (data/hw4_<exp_name>_<env_name>_<dd-mm-YYYY_HH-MM-SS>/ with flags.csv,
metrics.csv and, for q1, predictions.csv and losses.csv). The numbers are made up; tests/plot_test.sh
checks that every promised PNG comes out of them. Run from the repository root."""
import math, os

ROOT = "tests/fixtures/plot"
STAMP = "01-01-2026_00-00-00"
METRICS = ("Iteration,Eval_AverageReturn,Eval_StdReturn,Eval_MaxReturn,Eval_MinReturn,Eval_AverageEpLen,"
           "Train_AverageReturn,Train_StdReturn,Train_MaxReturn,Train_MinReturn,Train_AverageEpLen,"
           "Train_EnvstepsSoFar,TimeSinceStart,Training Loss,Initial_DataCollection_AverageReturn")


MODEL = ",Model_OneStepError,Model_OpenLoop10Error,Model_Disagreement"  # the model diagnostics


def run(exp, env, n_iter, base, step, q1=False, model=False):
    d = os.path.join(ROOT, f"hw4_{exp}_{env}_{STAMP}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "flags.csv"), "w") as f:
        f.write(f"flag,value\nenv_name,{env}\nexp_name,{exp}\nn_iter,{n_iter}\nseed,1\n")
    with open(os.path.join(d, "metrics.csv"), "w") as f:
        f.write(METRICS + (MODEL if model else "") + "\n")
        for i in range(n_iter):
            ev, tr = base + step * (i + 1), base + step * i - 5
            if q1:  # --scalar_log_freq -1: empty Eval cells
                f.write(f"{i},,,,,,{tr},3,{tr+4},{tr-4},100,{5000*(i+1)},{10*i+1},0.{i+1},{base-5}\n")
            else:
                f.write(f"{i},{ev},{abs(step)+1},{ev+5},{ev-5},100,{tr},3,{tr+4},{tr-4},100,{5000*(i+1)},{10*i+1},0.{i+1},{base-5}"
                        + (f",{0.5 / (i + 1):.6g},{2.0 / (i + 1):.6g},{0.1 / (i + 1):.6g}" if model else "") + "\n")
    if q1:
        with open(os.path.join(d, "losses.csv"), "w") as f:
            f.write("step,Training Loss\n")
            for s in range(6):
                f.write(f"{s},{1.0 / (s + 1):.6g}\n")
        with open(os.path.join(d, "predictions.csv"), "w") as f:
            f.write("step,dimension,true,predicted,mpe\n")
            for t in range(10):
                for j in range(4):
                    tru = math.sin(0.3 * t + j)
                    f.write(f"{t},{j},{tru:.6g},{tru + 0.01 * t:.6g},0.00285\n")


for exp in ("q1_cheetah_n500_arch1x32", "q1_cheetah_n5_arch2x250", "q1_cheetah_n500_arch2x250"):
    run(exp, "cheetah-cs285-v0", 1, -50, 0, q1=True)
run("q2_obstacles_singleiteration", "obstacles-cs285-v0", 1, -160, 100)
run("q3_obstacles", "obstacles-cs285-v0", 3, -60, 12, model=True)
run("q3_reacher", "reacher-cs285-v0", 3, -600, 100)
run("q3_cheetah", "cheetah-cs285-v0", 3, 0, 100)
for exp in ("q4_reacher_ensemble3", "q4_reacher_numseq1000", "q4_reacher_horizon5"):
    run(exp, "reacher-cs285-v0", 3, -600, 80)
run("q5_cheetah_random", "cheetah-cs285-v0", 3, 0, 150)
run("q6_cheetah_rlen10", "cheetah-cs285-v0", 3, -100, 300, model=True)
run("q3_obstacles_true", "obstacles-cs285-v0", 3, -40, 8)  # beyond_obstacles_true.png
