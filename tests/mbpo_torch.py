#!/usr/bin/python3
"""tests/mbpo_torch.py: an independent PyTorch MBPO (CS285 fall-2022 HW4, q6) on cheetah-cs285-v0.

Written from the reference specification (docs/reference.md) only (section numbers below refer to it), as
a cross-check of the C++ library's q6 numbers. The env is the C++ one, through the extern "C" shim
tests/cheetah_capi.cpp (build command at its top); nothing else is shared with the C++ code.

Run from the repository's root, after building build/libcheetah_capi.so (tests/cheetah_capi.cpp
gives the command); the defaults are the q6 rlen10 command's values:
  env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 /usr/bin/python3 tests/mbpo_torch.py \
      --seed 1 --out data/torch/q6_cheetah_rlen10_seed1
Writes OUT/metrics.csv (Iteration,Eval_AverageReturn,Train_AverageReturn,TimeSinceStart), one row
per iteration, flushed as it goes.

Choices where the spec leaves one open (marked [inferred] there):
  - model-rollout reward on the predicted NEXT state (3.6 offers ob or next_ob);
  - log-std clamped to [-20, 2] (3.7), not tanh-rescaled;
  - temperature loss uses alpha, not log_alpha (3.7, pytorch_sac form);
  - path terminal flag set when steps == ep_len (3.1, "==");
  - eval and collection both sample from the policy (3.7 get_action default sample=True).
"""
import argparse
import copy
import ctypes
import math
import os
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

LIB = os.environ.get("CHEETAH_CAPI", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build",
                                                  "libcheetah_capi.so"))
OB_DIM, AC_DIM, EP_LEN = 21, 6, 500          # 1.3
EVAL_BATCH, MB_TRAIN_BATCH = 400, 512        # 2.2 defaults: --eval_batch_size, --train_batch_size


# ---------------------------------------------------------------- env (1.3) through the C shim
class Cheetah:
    def __init__(self, seed):
        self.lib = ctypes.CDLL(LIB)
        self.lib.cheetah_create.restype = ctypes.c_void_p
        self.lib.cheetah_create.argtypes = [ctypes.c_uint64]
        self.lib.cheetah_reset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.lib.cheetah_step.restype = ctypes.c_float
        self.lib.cheetah_step.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self.lib.cheetah_destroy.argtypes = [ctypes.c_void_p]
        self.h = self.lib.cheetah_create(seed)

    def reset(self):
        ob = np.empty(OB_DIM, np.float32)
        self.lib.cheetah_reset(self.h, ob.ctypes.data)
        return ob

    def step(self, ac):
        ac = np.ascontiguousarray(ac, np.float32)
        ob = np.empty(OB_DIM, np.float32)
        rew = self.lib.cheetah_step(self.h, ac.ctypes.data, ob.ctypes.data)
        return ob, np.float32(rew)

    def __del__(self):
        self.lib.cheetah_destroy(self.h)


def cheetah_reward(obs):
    """Batched cheetah reward (1.3), numpy or torch float32, on rows of obs:
    r = obs[9] - 10[obs[6] > 0.2] - 10[obs[7] > 0] - 10[obs[8] > 0], left to right in float32."""
    f = (lambda m: m.float()) if torch.is_tensor(obs) else (lambda m: m.astype(np.float32))
    return (obs[..., 9] - 10 * f(obs[..., 6] > 0.2) - 10 * f(obs[..., 7] > 0)
            - 10 * f(obs[..., 8] > 0))


# ---------------------------------------------------------------- rollout collection (3.1)
def sample_trajectory(env, policy, max_len):
    ob, obs, acs, rews, next_obs, terms = env.reset(), [], [], [], [], []
    while True:
        obs.append(ob)
        ac = policy.get_action(ob)[0]
        ob, rew = env.step(ac)
        acs.append(ac); rews.append(rew); next_obs.append(ob)
        done = len(obs) == max_len                  # cheetah never ends early; "==" (3.1)
        terms.append(float(done))
        if done:
            break
    path = {k: np.array(v, np.float32) for k, v in
            dict(obs=obs, acs=acs, rews=rews, next_obs=next_obs, terminals=terms).items()}
    # The reimplemented reward must equal the env's own step reward (checked on every real step).
    assert np.array_equal(cheetah_reward(path["next_obs"]), path["rews"])
    assert torch.equal(cheetah_reward(torch.from_numpy(path["next_obs"])),
                       torch.from_numpy(path["rews"]))
    return path


def sample_trajectories(env, policy, min_steps, max_len):
    paths, n = [], 0
    while n < min_steps:
        paths.append(sample_trajectory(env, policy, max_len))
        n += len(paths[-1]["rews"])
    return paths, n


# ---------------------------------------------------------------- replay buffer (3.2)
KEYS = ("obs", "acs", "rews", "next_obs", "terminals")


def add_noise(data, noise_to_signal=0.01):
    """3.2: per column j of this batch, add N(0, |0.01 * mean_j|), zero means replaced by 1e-6."""
    data = data.copy()
    mean = np.mean(data, axis=0)
    mean[mean == 0] = 1e-6
    std = mean * noise_to_signal
    for j in range(data.shape[1]):
        data[:, j] = data[:, j] + np.random.normal(0, np.abs(std[j]), (data.shape[0],))
    return data


class ReplayBuffer:
    """FIFO buffer keeping the newest max_size rows. Stored as a ring (the reference concatenates
    and truncates; for uniform sampling the two are the same)."""
    def __init__(self, max_size):
        self.max_size, self.n, self.ptr, self.d = max_size, 0, 0, None

    def add_rollouts(self, paths, noised=False):
        new = {k: np.concatenate([p[k] for p in paths]).astype(np.float32) for k in KEYS}
        if noised:                                  # obs and next_obs noised separately
            new["obs"], new["next_obs"] = add_noise(new["obs"]), add_noise(new["next_obs"])
        if self.d is None:                          # np.empty: untouched pages cost nothing
            self.d = {k: np.empty((self.max_size,) + v.shape[1:], np.float32) for k, v in new.items()}
        rows = len(new["obs"])
        idx = (self.ptr + np.arange(rows)) % self.max_size
        for k in KEYS:
            self.d[k][idx] = new[k]
        self.ptr = (self.ptr + rows) % self.max_size
        self.n = min(self.n + rows, self.max_size)

    def sample_random_data(self, batch):
        """Uniform without replacement: first `batch` of a random permutation (3.2)."""
        idx = np.random.permutation(self.n)[:batch]
        return [self.d[k][idx] for k in KEYS]

    def all(self, k):
        return self.d[k][:self.n]


def build_mlp(n_in, n_out, n_layers, size, act):
    layers = []
    for _ in range(n_layers):
        layers += [nn.Linear(n_in, size), act()]
        n_in = size
    return nn.Sequential(*layers, nn.Linear(n_in, n_out))


# ---------------------------------------------------------------- dynamics ensemble (3.3)
def normalize(x, m, s):
    return (x - m) / (s + 1e-8)


def unnormalize(y, m, s):
    return y * s + m


class FFModel:
    def __init__(self, n_layers=2, size=250, lr=1e-3):
        self.net = build_mlp(OB_DIM + AC_DIM, OB_DIM, n_layers, size, nn.Tanh)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)

    def forward(self, obs, acs, st):
        x = torch.cat([normalize(obs, st["obs_mean"], st["obs_std"]),
                       normalize(acs, st["acs_mean"], st["acs_std"])], dim=-1)
        delta_n = self.net(x)
        return obs + unnormalize(delta_n, st["delta_mean"], st["delta_std"]), delta_n

    def update(self, obs, acs, next_obs, st):
        target = normalize(next_obs - obs, st["delta_mean"], st["delta_std"])
        loss = F.mse_loss(self.forward(obs, acs, st)[1], target)
        self.opt.zero_grad(); loss.backward(); self.opt.step()
        return loss.item()


# ---------------------------------------------------------------- SAC (3.7)
class SquashedNormal:
    """Normal(loc, scale) pushed through tanh; log|det J| = 2(log 2 - x - softplus(-2x))."""
    def __init__(self, loc, scale):
        self.base = torch.distributions.Normal(loc, scale)

    def rsample_with_log_prob(self):
        x = self.base.rsample()
        log_det = 2 * (math.log(2) - x - F.softplus(-2 * x))
        return torch.tanh(x), (self.base.log_prob(x) - log_det).sum(-1)


class SACActor(nn.Module):
    def __init__(self, n_layers, size):
        super().__init__()
        self.mean_net = build_mlp(OB_DIM, AC_DIM, n_layers, size, nn.Tanh)
        self.logstd = nn.Parameter(torch.zeros(AC_DIM))     # state-independent

    def dist(self, obs):
        std = torch.exp(torch.clamp(self.logstd, -20, 2))   # clamp, not tanh-rescale
        return SquashedNormal(self.mean_net(obs), std)

    @torch.no_grad()
    def get_action_t(self, obs_t):                          # always sampled (sample=True)
        return self.dist(obs_t).rsample_with_log_prob()[0].clamp(-1.0, 1.0)

    def get_action(self, ob):                               # numpy (ob_dim,) -> (1, ac_dim)
        return self.get_action_t(torch.from_numpy(ob).view(1, -1)).numpy()


class SAC:
    def __init__(self, n_layers=2, size=256, lr=3e-4, init_temperature=0.1, discount=0.99,
                 tau=0.005):
        self.q1 = build_mlp(OB_DIM + AC_DIM, 1, n_layers, size, nn.ReLU)
        self.q2 = build_mlp(OB_DIM + AC_DIM, 1, n_layers, size, nn.ReLU)
        self.q1_t, self.q2_t = copy.deepcopy(self.q1), copy.deepcopy(self.q2)  # same init
        self.critic_opt = torch.optim.Adam(list(self.q1.parameters()) + list(self.q2.parameters()),
                                           lr=lr)
        self.actor = SACActor(n_layers, size)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.log_alpha = torch.tensor(math.log(init_temperature), requires_grad=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=lr)
        self.target_entropy = -AC_DIM
        self.gamma, self.tau, self.training_step = discount, tau, 0

    def q(self, nets, ob, ac):
        x = torch.cat([ob, ac], -1)
        return nets[0](x).squeeze(-1), nets[1](x).squeeze(-1)

    def train(self, ob, ac, re, next_ob, d):
        ob, ac, re, next_ob, d = (torch.from_numpy(v) for v in (ob, ac, re, next_ob, d))
        alpha = self.log_alpha.exp()
        # critic: y = r + gamma (1 - d) (min Q_targ(s', a') - alpha logp'), a' ~ pi(.|s')
        with torch.no_grad():
            a2, logp2 = self.actor.dist(next_ob).rsample_with_log_prob()
            q1t, q2t = self.q((self.q1_t, self.q2_t), next_ob, a2)
            y = re + self.gamma * (1 - d) * (torch.min(q1t, q2t) - alpha * logp2)
        q1, q2 = self.q((self.q1, self.q2), ob, ac)
        critic_loss = F.mse_loss(q1, y) + F.mse_loss(q2, y)
        self.critic_opt.zero_grad(); critic_loss.backward(); self.critic_opt.step()
        # target update every step (critic_target_update_frequency 1), tau 0.005
        with torch.no_grad():
            for net, tgt in ((self.q1, self.q1_t), (self.q2, self.q2_t)):
                for p, pt in zip(net.parameters(), tgt.parameters()):
                    pt.mul_(1 - self.tau).add_(self.tau * p)
        # actor, then temperature (actor_update_frequency 1), on the same batch
        a, logp = self.actor.dist(ob).rsample_with_log_prob()
        q1a, q2a = self.q((self.q1, self.q2), ob, a)
        actor_loss = (alpha.detach() * logp - torch.min(q1a, q2a)).mean()
        self.actor_opt.zero_grad(); actor_loss.backward(); self.actor_opt.step()
        alpha_loss = (alpha * (-logp - self.target_entropy).detach()).mean()   # alpha, not log
        self.alpha_opt.zero_grad(); alpha_loss.backward(); self.alpha_opt.step()
        self.training_step += 1


# ---------------------------------------------------------------- MBPO agent (3.3, 3.6)
class MBPOAgent:
    def __init__(self, ensemble_size):
        self.models = [FFModel() for _ in range(ensemble_size)]
        self.mb_buffer = ReplayBuffer(1000000)
        self.sac_buffer = ReplayBuffer(100000)
        self.sac = SAC()
        self.stats = None

    def add_real(self, paths, add_sl_noise=True):           # 3.5 step 3
        self.sac_buffer.add_rollouts(paths, noised=False)
        self.mb_buffer.add_rollouts(paths, noised=add_sl_noise)
        b = self.mb_buffer                                   # stats over the whole MB buffer
        stats = dict(obs_mean=np.mean(b.all("obs"), 0), obs_std=np.std(b.all("obs"), 0),
                     acs_mean=np.mean(b.all("acs"), 0), acs_std=np.std(b.all("acs"), 0),
                     delta_mean=np.mean(b.all("next_obs") - b.all("obs"), 0),
                     delta_std=np.std(b.all("next_obs") - b.all("obs"), 0))
        self.stats = {k: torch.from_numpy(v.astype(np.float32)) for k, v in stats.items()}

    def train_models(self, batch):                           # one step, disjoint minibatches
        ens = len(self.models)
        ob, ac, _, next_ob, _ = self.mb_buffer.sample_random_data(batch * ens)
        ob, ac, next_ob = (torch.from_numpy(v) for v in (ob, ac, next_ob))
        n = ob.shape[0] // ens
        losses = [m.update(ob[i * n:(i + 1) * n], ac[i * n:(i + 1) * n],
                           next_ob[i * n:(i + 1) * n], self.stats)
                  for i, m in enumerate(self.models)]
        return float(np.mean(losses))                        # 'Training Loss'

    @torch.no_grad()
    def collect_model_trajectory(self, rollout_length):     # 3.6
        ob, _, _, _, term = self.mb_buffer.sample_random_data(1)
        ob = torch.from_numpy(ob)
        obs, acs, next_obs = [], [], []
        for _ in range(rollout_length):
            ac = self.sac.actor.get_action_t(ob)
            next_ob = torch.stack([m.forward(ob, ac, self.stats)[0] for m in self.models]).mean(0)
            obs.append(ob); acs.append(ac); next_obs.append(next_ob)
            ob = next_ob
        path = dict(obs=torch.cat(obs).numpy(), acs=torch.cat(acs).numpy(),
                    next_obs=torch.cat(next_obs).numpy())
        path["rews"] = cheetah_reward(path["next_obs"])     # reward on the predicted next state
        path["terminals"] = np.full(rollout_length, term[0], np.float32)  # start's flag, copied
        return path


# ---------------------------------------------------------------- trainer loop (3.5, 4.1)
def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n_iter", type=int, default=10)
    p.add_argument("--sac_n_iter", type=int, default=5000)
    p.add_argument("--mbpo_rollout_length", type=int, default=10)
    p.add_argument("--num_agent_train_steps_per_iter", type=int, default=1500)
    p.add_argument("--batch_size_initial", type=int, default=5000)
    p.add_argument("--batch_size", type=int, default=5000)
    p.add_argument("--ensemble_size", type=int, default=3)
    p.add_argument("--sac_train_batch_size", type=int, default=256)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    torch.set_num_threads(1)
    np.random.seed(args.seed)                                # section 0 seeding
    torch.manual_seed(args.seed)
    env = Cheetah(args.seed)
    agent = MBPOAgent(args.ensemble_size)
    os.makedirs(args.out, exist_ok=True)
    csv = open(os.path.join(args.out, "metrics.csv"), "w")
    csv.write("Iteration,Eval_AverageReturn,Train_AverageReturn,TimeSinceStart\n"); csv.flush()
    start = time.time()
    for itr in range(args.n_iter):
        # 1. collect with the SAC actor, sampling (5000 steps = 10 episodes of 500)
        n = args.batch_size_initial if itr == 0 else args.batch_size
        paths, _ = sample_trajectories(env, agent.sac.actor, n, EP_LEN)
        # 2. SAC buffer un-noised, MB buffer noised; recompute stats
        agent.add_real(paths, add_sl_noise=True)
        # 3. dynamics ensemble
        for _ in range(args.num_agent_train_steps_per_iter):
            model_loss = agent.train_models(MB_TRAIN_BATCH)
        # 4. MBPO: one model rollout into the SAC buffer, then one SAC step, sac_n_iter times
        for _ in range(args.sac_n_iter):
            if args.mbpo_rollout_length > 0:
                agent.sac_buffer.add_rollouts([agent.collect_model_trajectory(
                    args.mbpo_rollout_length)])
            agent.sac.train(*agent.sac_buffer.sample_random_data(args.sac_train_batch_size))
        # 5. eval: 400 steps -> one episode of 500, sampled actions (4.1)
        eval_paths, _ = sample_trajectories(env, agent.sac.actor, EVAL_BATCH, EP_LEN)
        ev = float(np.mean([pth["rews"].sum() for pth in eval_paths]))
        tr = float(np.mean([pth["rews"].sum() for pth in paths]))
        t = time.time() - start
        csv.write(f"{itr},{ev},{tr},{t}\n"); csv.flush()
        print(f"itr {itr}: Eval_AverageReturn {ev:.2f}  Train_AverageReturn {tr:.2f}  "
              f"Training Loss {model_loss:.4f}  alpha {agent.sac.log_alpha.exp().item():.4f}  "
              f"SAC buffer {agent.sac_buffer.n}  time {t:.1f}s", flush=True)
    csv.close()


if __name__ == "__main__":
    main()
