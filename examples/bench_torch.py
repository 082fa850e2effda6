#!/usr/bin/env python3
"""The PyTorch side of `make bench`: the same four workloads as examples/bench.cpp, on the CPU.

    /usr/bin/python3 examples/bench_torch.py THREADS

Prints one line per workload, `name median_ms`, read by build/bench. The workloads:
  matmul        C = A B, A [1000, 250], B [250, 250]
  plan_forward  3 models x 1000 rows x 15 steps through 27 -> 250 -> 250 -> 21 (tanh), with the
                normalization of the reference's FFModel, under no_grad
  plan_call     one random-shooting MPC call at the cheetah shape: 1000 uniform sequences of 15
                actions, rolled through the 3 models, cheetah reward on each predicted state,
                mean over models, argmax; all in torch (faster than the reference's numpy loop)
  train_step    one ensemble step: 3 models, each its own Adam and its own 512 rows, MSE loss
"""
import sys
import time

import torch

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(THREADS)
torch.manual_seed(0)
OB, AC, H, N, E, HID = 21, 6, 15, 1000, 3, 250


def median_ms(f, reps):
    f()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    t.sort()
    return 1e3 * t[len(t) // 2]


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(OB + AC, HID), torch.nn.Tanh(), torch.nn.Linear(HID, HID),
                               torch.nn.Tanh(), torch.nn.Linear(HID, OB))


models = [mlp() for _ in range(E)]
stats = {k: torch.rand(d) + 0.5 for k, d in [("obs_std", OB), ("act_std", AC), ("delta_std", OB)]}
stats.update({k: torch.randn(d) for k, d in [("obs_mean", OB), ("act_mean", AC), ("delta_mean", OB)]})


def predict(model, obs, act):  # the reference's FFModel.get_prediction, in torch
    x = torch.cat([(obs - stats["obs_mean"]) / (stats["obs_std"] + 1e-8),
                   (act - stats["act_mean"]) / (stats["act_std"] + 1e-8)], 1)
    return obs + model(x) * stats["delta_std"] + stats["delta_mean"]


def cheetah_reward(obs):
    return obs[:, 9] - 10 * ((obs[:, 6] > 0.2).float() + (obs[:, 7] > 0).float() + (obs[:, 8] > 0).float())


a = torch.rand(1000, 250)
b = torch.rand(250, 250)
acts = torch.rand(N, H, AC) * 2 - 1
obs0 = torch.randn(OB)


def plan_forward():
    with torch.no_grad():
        for m in models:
            s = obs0.expand(N, OB)
            for t in range(H):
                s = predict(m, s, acts[:, t])


def plan_call():
    with torch.no_grad():
        cand = torch.rand(N, H, AC) * 2 - 1
        total = torch.zeros(N)
        for m in models:
            s = obs0.expand(N, OB)
            for t in range(H):
                s = predict(m, s, cand[:, t])
                total += cheetah_reward(s)
        return cand[torch.argmax(total / E), 0]


opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in models]
data_in = torch.randn(E, 512, OB + AC)
data_out = torch.randn(E, 512, OB)


def train_step():
    for i, (m, o) in enumerate(zip(models, opts)):
        loss = torch.nn.functional.mse_loss(m(data_in[i]), data_out[i])
        o.zero_grad()
        loss.backward()
        o.step()


print("matmul", median_ms(lambda: a @ b, 200))
print("plan_forward", median_ms(plan_forward, 10))
print("plan_call", median_ms(plan_call, 10))
print("train_step", median_ms(train_step, 30))
