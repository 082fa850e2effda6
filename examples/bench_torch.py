#!/usr/bin/env python3
"""The PyTorch side of `make bench`: the same workloads as examples/bench.cpp, on the CPU.

    /usr/bin/python3 examples/bench_torch.py THREADS [WORKLOAD ...]

Prints one line per workload, `name median_ms`, read by build/bench. The workloads:
  matmul        C = A B, A [1000, 250], B [250, 250]
  plan_forward  3 models x 1000 rows x 15 steps through 27 -> 250 -> 250 -> 21 (tanh), with the
                normalization of the reference's FFModel, under no_grad
  plan_call     one random-shooting MPC call at the cheetah shape: 1000 uniform sequences of 15
                actions, rolled through the 3 models, cheetah reward on each predicted state,
                mean over models, argmax; all in torch (faster than the reference's numpy loop)
  plan_tsinf    the same call with probabilistic members and TS-inf (PETS), one particle per member:
                each member outputs mean and raw log-variance (27 -> 250 -> 250 -> 42), the
                log-variance soft-bounded to [-10, 0.5] by two softplus, next state = s +
                unnormalize(mean + exp(lv / 2) eps), eps ~ N(0, 1)
  train_step    one ensemble step: 3 models, each its own Adam and its own 512 rows, MSE loss
  sac_update    one SAC update on a minibatch of 256 (cheetah sizes): two 2x256 ReLU critics and
                their targets, a 2x256 tanh actor with a state-independent log std, the
                temperature; critic step, target soft update, actor step, temperature step
With workload names given, only those run.
"""
import sys
import time

import torch

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
ONLY = set(sys.argv[2:])
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


pmodels = [torch.nn.Sequential(torch.nn.Linear(OB + AC, HID), torch.nn.Tanh(), torch.nn.Linear(HID, HID),
                               torch.nn.Tanh(), torch.nn.Linear(HID, 2 * OB)) for _ in range(E)]
max_lv, min_lv = torch.full((OB,), 0.5), torch.full((OB,), -10.0)


def plan_tsinf():
    sp = torch.nn.functional.softplus
    with torch.no_grad():
        cand = torch.rand(N, H, AC) * 2 - 1
        total = torch.zeros(N)
        for m in pmodels:  # TS-inf with P = E: particle p of every candidate steps with member p
            s = obs0.expand(N, OB)
            for t in range(H):
                act = cand[:, t]
                x = torch.cat([(s - stats["obs_mean"]) / (stats["obs_std"] + 1e-8),
                               (act - stats["act_mean"]) / (stats["act_std"] + 1e-8)], 1)
                out = m(x)
                lv = max_lv - sp(max_lv - out[:, OB:])
                lv = min_lv + sp(lv - min_lv)
                z = out[:, :OB] + torch.exp(0.5 * lv) * torch.randn(N, OB)
                s = s + z * stats["delta_std"] + stats["delta_mean"]
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


B, SAC_HID = 256, 256


def sac_mlp(inp, out, act):
    return torch.nn.Sequential(torch.nn.Linear(inp, SAC_HID), act(), torch.nn.Linear(SAC_HID, SAC_HID), act(),
                               torch.nn.Linear(SAC_HID, out))


critics = [sac_mlp(OB + AC, 1, torch.nn.ReLU) for _ in range(2)]
targets = [sac_mlp(OB + AC, 1, torch.nn.ReLU) for _ in range(2)]
for c, t in zip(critics, targets):
    t.load_state_dict(c.state_dict())
actor = sac_mlp(OB, AC, torch.nn.Tanh)
logstd = torch.zeros(AC, requires_grad=True)
log_alpha = torch.tensor(0.0, requires_grad=True)
critic_opt = torch.optim.Adam([p for c in critics for p in c.parameters()], lr=3e-4)
actor_opt = torch.optim.Adam(list(actor.parameters()) + [logstd], lr=3e-4)
alpha_opt = torch.optim.Adam([log_alpha], lr=3e-4)
s_obs, s_act, s_next = torch.randn(B, OB), torch.rand(B, AC) * 2 - 1, torch.randn(B, OB)
s_rew, s_done = torch.randn(B, 1), torch.zeros(B, 1)


def policy(obs):  # a = tanh(u), u ~ N(mu(s), std); log pi(a|s) with the squashing correction
    mu = actor(obs)
    std = logstd.clamp(-20, 2).exp()
    u = mu + std * torch.randn_like(mu)
    logp = torch.distributions.Normal(mu, std).log_prob(u).sum(1, keepdim=True)
    logp = logp - (2 * (0.6931471805599453 - u - torch.nn.functional.softplus(-2 * u))).sum(1, keepdim=True)
    return torch.tanh(u), logp


def sac_update():
    alpha = log_alpha.exp().detach()
    with torch.no_grad():  # critic targets
        a2, lp2 = policy(s_next)
        x2 = torch.cat([s_next, a2], 1)
        y = s_rew + 0.99 * (1 - s_done) * (torch.min(targets[0](x2), targets[1](x2)) - alpha * lp2)
    x = torch.cat([s_obs, s_act], 1)
    critic_loss = sum(torch.nn.functional.mse_loss(c(x), y) for c in critics)
    critic_opt.zero_grad()
    critic_loss.backward()
    critic_opt.step()
    with torch.no_grad():  # target soft update
        for c, t in zip(critics, targets):
            for p, q in zip(c.parameters(), t.parameters()):
                q.mul_(0.995).add_(p, alpha=0.005)
    a, lp = policy(s_obs)  # actor step
    xa = torch.cat([s_obs, a], 1)
    actor_loss = (alpha * lp - torch.min(critics[0](xa), critics[1](xa))).mean()
    actor_opt.zero_grad()
    actor_loss.backward()
    actor_opt.step()
    alpha_loss = (log_alpha.exp() * (-lp.detach() + AC)).mean()  # temperature step
    alpha_opt.zero_grad()
    alpha_loss.backward()
    alpha_opt.step()


WORKLOADS = [("matmul", lambda: a @ b, 200), ("plan_forward", plan_forward, 10), ("plan_call", plan_call, 10),
             ("plan_tsinf", plan_tsinf, 10),
             ("train_step", train_step, 30), ("sac_update", sac_update, 50)]
for name, f, reps in WORKLOADS:
    if not ONLY or name in ONLY:
        print(name, median_ms(f, reps), flush=True)
