#!/usr/bin/env python3
"""Writes tests/fixtures/dynamics_step.txt: the numbers test_torch_fixture.cpp checks mbrl.hpp against.

The reference's dynamics model in PyTorch (float64): an MLP 6 -> 7 -> 7 -> 4 built like
build_mlp (tanh hidden layers, identity output, nn.Linear's default init), fed
[normalize(obs), normalize(act)] and trained on MSE to normalize(next_obs - obs) with
Adam(lr=1e-2), three steps on one fixed batch (reference section 3.3). The file holds the
weights, the data, the normalization statistics, the first forward output, the gradients of
the first step and the loss and weights after every step.

Run once with Debian's python3-torch:  /usr/bin/python3 tests/make_fixture.py
Format: a header line 'mbrl-fixture 1', then one tensor per line: name rows cols values...
Weights are in PyTorch's layout [out, in].
"""
import os
import torch

torch.manual_seed(285)
torch.set_default_dtype(torch.float64)
OB, AC, HID, N = 4, 2, 7, 10

net = torch.nn.Sequential(torch.nn.Linear(OB + AC, HID), torch.nn.Tanh(),
                          torch.nn.Linear(HID, HID), torch.nn.Tanh(),
                          torch.nn.Linear(HID, OB))
obs = torch.randn(N, OB) * torch.tensor([1.0, 2.0, 0.5, 3.0]) + 0.3
act = torch.rand(N, AC) * 2 - 1
next_obs = obs + 0.1 * torch.tanh(obs @ torch.randn(OB, OB) + act @ torch.randn(AC, OB))

def stats(x):  # mean and population std, as np.mean / np.std
    return x.mean(0), x.std(0, unbiased=False)

obs_m, obs_s = stats(obs)
act_m, act_s = stats(act)
del_m, del_s = stats(next_obs - obs)
norm = lambda x, m, s: (x - m) / (s + 1e-8)
inp = torch.cat([norm(obs, obs_m, obs_s), norm(act, act_m, act_s)], 1)
target = norm(next_obs - obs, del_m, del_s)

out = []
def put(name, t):
    t = t.detach().reshape(t.shape[0] if t.dim() > 0 else 1, -1)
    out.append(f"{name} {t.shape[0]} {t.shape[1]} " + " ".join(repr(float(v)) for v in t.flatten()))

layers = [m for m in net if isinstance(m, torch.nn.Linear)]
for i, l in enumerate(layers):
    put(f"W{i}", l.weight)
    put(f"b{i}", l.bias)
for name, t in [("obs", obs), ("act", act), ("next_obs", next_obs), ("obs_mean", obs_m), ("obs_std", obs_s),
                ("act_mean", act_m), ("act_std", act_s), ("delta_mean", del_m), ("delta_std", del_s)]:
    put(name, t)

opt = torch.optim.Adam(net.parameters(), lr=1e-2)
for step in range(3):
    pred = net(inp)
    loss = torch.nn.functional.mse_loss(pred, target)
    opt.zero_grad()
    loss.backward()
    if step == 0:
        put("output0", pred)
        for i, l in enumerate(layers):
            put(f"dW{i}", l.weight.grad)
            put(f"db{i}", l.bias.grad)
    opt.step()
    put(f"loss{step}", loss.reshape(1))
    for i, l in enumerate(layers):
        put(f"W{i}_after{step}", l.weight)
        put(f"b{i}_after{step}", l.bias)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "dynamics_step.txt")
with open(path, "w") as f:
    f.write("mbrl-fixture 1\n" + "\n".join(out) + "\n")
print("wrote", path)
