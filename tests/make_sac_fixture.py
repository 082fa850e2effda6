#!/usr/bin/env python3
"""Writes tests/fixtures/sac_step.txt: one SAC training step in PyTorch (float64), for test_sac.cpp.

The step the reference's hw3/hw4 SAC takes (reference section 3.7), written with torch's own
Normal.log_prob, autograd and Adam: critics Q1, Q2 (ReLU MLPs on [s, a]) trained on
MSE(Q1, y) + MSE(Q2, y) with one Adam over both, y = r + gamma (1 - d) (min Q_targ(s', a') -
alpha log pi(a'|s')); a Polyak update of the targets; the actor (tanh MLP for the mean, a
log-std vector clamped to [-20, 2], tanh-squashed samples) trained on mean(alpha log pi - min Q)
with one Adam over the mean network and the log-std; the temperature trained on
mean(alpha (-log pi - target_entropy)) with log pi detached. The action noise of both samples is
given, so the C++ side can use the same numbers.

Run once with Debian's python3-torch:  /usr/bin/python3 tests/make_sac_fixture.py
Format as make_fixture.py: 'mbrl-fixture 1', then one tensor per line: name rows cols values...
Weights are in PyTorch's layout [out, in].
"""
import math
import os

import torch

torch.manual_seed(2022)
torch.set_default_dtype(torch.float64)
OB, AC, HID, B = 3, 2, 8, 6
GAMMA, TAU, LR, TEMP = 0.9, 0.005, 1e-2, 0.3


def mlp(i, o, act):
    return torch.nn.Sequential(torch.nn.Linear(i, HID), act(), torch.nn.Linear(HID, HID), act(), torch.nn.Linear(HID, o))


q1, q2 = mlp(OB + AC, 1, torch.nn.ReLU), mlp(OB + AC, 1, torch.nn.ReLU)
q1t, q2t = mlp(OB + AC, 1, torch.nn.ReLU), mlp(OB + AC, 1, torch.nn.ReLU)
with torch.no_grad():  # targets: the critics plus a perturbation, so that they differ
    for t, q in [(q1t, q1), (q2t, q2)]:
        for pt, p in zip(t.parameters(), q.parameters()):
            pt.copy_(p + 0.1 * torch.randn_like(p))
mean_net = mlp(OB, AC, torch.nn.Tanh)
logstd = torch.nn.Parameter(torch.tensor([-0.3, 0.4]))
log_alpha = torch.tensor(math.log(TEMP), requires_grad=True)

obs, next_obs = torch.randn(B, OB), torch.randn(B, OB)
act = torch.rand(B, AC) * 1.8 - 0.9
rew = torch.randn(B, 1)
done = torch.tensor([[1.0], [0.0], [0.0], [1.0], [0.0], [0.0]])
noise_critic, noise_actor = torch.randn(B, AC), torch.randn(B, AC)

out = []


def put(name, t):
    t = t.detach().reshape(t.shape[0] if t.dim() > 0 else 1, -1)
    out.append(f"{name} {t.shape[0]} {t.shape[1]} " + " ".join(repr(float(v)) for v in t.flatten()))


def put_net(prefix, net):
    for i, l in enumerate(m for m in net if isinstance(m, torch.nn.Linear)):
        put(f"{prefix}_W{i}", l.weight)
        put(f"{prefix}_b{i}", l.bias)


def sample(s, eps):  # a = tanh(u), u = mu + std eps, and log pi(a|s)
    mu = mean_net(s)
    std = torch.exp(torch.clamp(logstd, -20, 2))
    u = mu + std * eps
    logp = torch.distributions.Normal(mu, std).log_prob(u).sum(1, keepdim=True)
    logp = logp - (2 * (math.log(2) - u - torch.nn.functional.softplus(-2 * u))).sum(1, keepdim=True)
    return torch.tanh(u), logp


for name, net in [("q1", q1), ("q2", q2), ("q1t", q1t), ("q2t", q2t), ("actor", mean_net)]:
    put_net(name, net)
for name, t in [("logstd", logstd), ("log_alpha", log_alpha.reshape(1)), ("obs", obs), ("act", act), ("rew", rew),
                ("next_obs", next_obs), ("done", done), ("noise_critic", noise_critic), ("noise_actor", noise_actor)]:
    put(name, t)

critic_opt = torch.optim.Adam(list(q1.parameters()) + list(q2.parameters()), lr=LR)
actor_opt = torch.optim.Adam(list(mean_net.parameters()) + [logstd], lr=LR)
alpha_opt = torch.optim.Adam([log_alpha], lr=LR)
alpha = log_alpha.exp()

# critic
with torch.no_grad():
    a2, logp2 = sample(next_obs, noise_critic)
    x2 = torch.cat([next_obs, a2], 1)
    y = rew + GAMMA * (1 - done) * (torch.min(q1t(x2), q2t(x2)) - alpha * logp2)
x = torch.cat([obs, act], 1)
critic_loss = torch.nn.functional.mse_loss(q1(x), y) + torch.nn.functional.mse_loss(q2(x), y)
critic_opt.zero_grad()
critic_loss.backward()
critic_opt.step()
put("critic_loss", critic_loss.reshape(1))
# targets
with torch.no_grad():
    for t, q in [(q1t, q1), (q2t, q2)]:
        for pt, p in zip(t.parameters(), q.parameters()):
            pt.copy_(TAU * p + (1 - TAU) * pt)
# actor
a, logp = sample(obs, noise_actor)
xa = torch.cat([obs, a], 1)
actor_loss = (alpha.detach() * logp - torch.min(q1(xa), q2(xa))).mean()
actor_opt.zero_grad()
actor_loss.backward()
actor_opt.step()
put("actor_loss", actor_loss.reshape(1))
# temperature
alpha_loss = (log_alpha.exp() * (-logp - (-AC)).detach()).mean()
alpha_opt.zero_grad()
alpha_loss.backward()
alpha_opt.step()
put("alpha_loss", alpha_loss.reshape(1))

for name, net in [("q1", q1), ("q2", q2), ("q1t", q1t), ("q2t", q2t), ("actor", mean_net)]:
    put_net(name + "_after", net)
put("logstd_after", logstd)
put("log_alpha_after", log_alpha.reshape(1))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "sac_step.txt")
with open(path, "w") as f:
    f.write("mbrl-fixture 1\n" + "\n".join(out) + "\n")
print("wrote", path)
