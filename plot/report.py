#!/usr/bin/env python3
"""The assignment's report (CS285 HW4, problems 1-6) from the runs under a data directory
(Python standard library only).

  plot/report.py [--data DIR] [--out FILE]        (defaults: data  docs/report.md)

Writes one Markdown file: every figure the assignment asks for (DIR/figures/*.png as plot/plot.sh
names them, linked relative to FILE; never redrawn here), per run the final Eval return and the
mean of the last LAST_K iterations as mean over seeds with a percentile bootstrap interval over
seeds, the assignment's questions answered from those numbers, a GIF slot per MuJoCo question's
final policy and the runs' provenance. Every number printed comes from the runs, from the
assignment's statements (ASSIGNMENT, below) or from this file's method constants (LAST_K, CONF,
...), which the report states. Runs in progress are skipped and listed. The same data give the
same bytes.
"""
import argparse
import math
import os
import re
import sys
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aggregate as agg  # noqa: E402  (read_rows, read_run, last_value, seed_order, to_float)

# ------------------------------------------------------------------------------------------------
# The assignment's numbers (the CS285 HW4 handout; docs/reference.md section 5), the only numbers
# typed here that the report compares runs against. Each is cited as the assignment's.
# ------------------------------------------------------------------------------------------------
ASSIGNMENT = {
    # Problem 1, first command: "the loss should go below 0.2 by the iteration 500"
    "q1_loss_below": 0.2,
    "q1_loss_by_step": 500,
    # Problem 2: "Train AverageReturn to be around -160 and Eval AverageReturn to be around -70 to -50"
    "q2_train_about": -160.0,
    "q2_eval_range": (-70.0, -50.0),
    # Problem 3: "around -25 to -20 for the obstacles env", "-250 to -300 for the reacher env",
    # "250-350 for the cheetah env"
    "q3_obstacles": (-25.0, -20.0),
    "q3_reacher": (-300.0, -250.0),
    "q3_cheetah": (250.0, 350.0),
    # ... and their run times without a GPU, in minutes: "takes 40 minutes", "takes 2-3 hours",
    # "takes 3-4 hours"
    "q3_minutes": {"q3_obstacles": (40, 40), "q3_reacher": (120, 180), "q3_cheetah": (180, 240)},
    # Problem 5: "rewards around 800 or higher when using CEM on the cheetah env"
    "q5_cem_at_least": 800.0,
    # Problem 6: "rewards around 1000 or higher with a rollout length of 10"
    "q6_rlen10_at_least": 1000.0,
}

# ------------------------------------------------------------------------------------------------
# Method constants (stated in the report's "How the numbers are made")
# ------------------------------------------------------------------------------------------------
LAST_K = 3             # the last-iterations mean: the last LAST_K iterations of each seed
CONF = 95              # the confidence of every interval, in percent
MIN_SEEDS_TO_ORDER = 2  # one seed has a degenerate bootstrap: no ordering from it
EXACT_SUPPORT = 250000  # the bootstrap is enumerated exactly while it has at most this many outcomes
RESAMPLES = 10000       # beyond that: this many resamples ...
BOOT_SEED = 20211031    # ... from splitmix64 with this seed (any fixed value: reproducible bytes)

REFERENCE = ("R. Agarwal, M. Schwarzer, P. S. Castro, A. Courville, M. G. Bellemare. Deep Reinforcement "
             "Learning at the Edge of the Statistical Precipice. NeurIPS 2021 (arXiv:2108.13264); its "
             "library is rliable.")

# The assignment's runs (their --exp_name), question by question, in the handout's order.
Q1 = ["q1_cheetah_n500_arch1x32", "q1_cheetah_n5_arch2x250", "q1_cheetah_n500_arch2x250"]
Q2 = "q2_obstacles_singleiteration"
Q3 = ["q3_obstacles", "q3_reacher", "q3_cheetah"]
Q4 = [  # "effect of ensemble size", "... number of candidate action sequences", "... planning horizon"
    ("ensemble", "ensemble_size", ["q4_reacher_ensemble1", "q4_reacher_ensemble3", "q4_reacher_ensemble5"]),
    ("numseq", "mpc_num_action_sequences", ["q4_reacher_numseq100", "q4_reacher_numseq1000"]),
    ("horizon", "mpc_horizon", ["q4_reacher_horizon5", "q4_reacher_horizon15", "q4_reacher_horizon30"]),
]
Q5 = ["q5_cheetah_random", "q5_cheetah_cem_2", "q5_cheetah_cem_4"]
Q6 = ["q6_cheetah_rlenl0", "q6_cheetah_rlen1", "q6_cheetah_rlen10"]
ALL_EXPS = Q1 + [Q2] + Q3 + [e for _, _, exps in Q4 for e in exps] + Q5 + Q6
# The final policies whose video the report shows (a GIF in the run directory, if any).
VIDEOS = ["q3_reacher", "q3_cheetah", "q5_cheetah_cem_4", "q6_cheetah_rlen10"]

EVAL, TRAIN = "Eval_AverageReturn", "Train_AverageReturn"


# ================================================================================================
# 1. Statistics: means, the percentile bootstrap over seeds, the ordering rule
# ================================================================================================
def exact_mean(values):
    """The mean as the float nearest the exact rational mean (equal values give that value)."""
    return float(sum(Fraction(v) for v in values) / len(values))


def iqm(values):
    """rliable's interquartile mean: the mean after dropping floor(n/4) values at each end."""
    v = sorted(values)
    cut = len(v) // 4
    return exact_mean(v[cut:len(v) - cut])


def compositions(n, parts):
    """Every tuple of `parts` counts >= 0 that sum to n."""
    if parts == 1:
        yield (n,)
        return
    for first in range(n, -1, -1):
        for rest in compositions(n - first, parts - 1):
            yield (first,) + rest


def support_size(n):
    """How many distinct resamples (multisets) n values have: C(2n-1, n)."""
    return math.comb(2 * n - 1, n)


def exact_distribution(values):
    """The bootstrap distribution of the mean of `values`, exactly: {mean: integer weight} over
    all n^n equally likely resamples (each multiset weighted by its multinomial coefficient)."""
    n = len(values)
    fr = [Fraction(v) for v in values]
    dist = {}
    for counts in compositions(n, n):
        w = math.factorial(n)
        for c in counts:
            w //= math.factorial(c)
        m = float(sum(c * f for c, f in zip(counts, fr)) / n)
        dist[m] = dist.get(m, 0) + w
    return dist


class SplitMix64:
    """A small 64-bit generator (Steele, Lea and Flood's splitmix64): the same stream on every
    Python, unlike the random module's methods, whose algorithms may change between versions."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def below(self, n):
        """An integer in [0, n) (the top bits of a 64-bit draw times n)."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        z ^= z >> 31
        return (z * n) >> 64


def resampled_means(values, rng):
    n = len(values)
    return [math.fsum(values[rng.below(n)] for _ in range(n)) / n for _ in range(RESAMPLES)]


def tail():
    """The probability in each tail of a CONF% interval, exactly."""
    return Fraction(100 - CONF, 200)


def quantiles(dist):
    """The ends of the CONF% percentile interval of a weighted distribution {value: weight}: the
    smallest values with at least tail() and 1 - tail() of the weight at or below them."""
    total = sum(dist.values())
    lo_q, hi_q = tail(), 1 - tail()
    lo = hi = None
    cum = 0
    for v in sorted(dist):
        cum += dist[v]
        if lo is None and cum >= lo_q * total:
            lo = v
        if hi is None and cum >= hi_q * total:
            hi = v
            break
    return lo, hi


def counted(samples):
    dist = {}
    for s in samples:
        dist[s] = dist.get(s, 0) + 1
    return dist


def bootstrap_ci(values, force_resampling=False):
    """(lo, hi): the CONF% percentile bootstrap interval of the mean over `values` (the seeds)."""
    if support_size(len(values)) <= EXACT_SUPPORT and not force_resampling:
        return quantiles(exact_distribution(values))
    return quantiles(counted(resampled_means(values, SplitMix64(BOOT_SEED))))


def difference_ci(a, b, force_resampling=False):
    """(lo, hi): the CONF% percentile bootstrap interval of mean(a) - mean(b), each run's seeds
    resampled on their own (rliable's stratified bootstrap, one stratum per run)."""
    if support_size(len(a)) <= EXACT_SUPPORT and support_size(len(b)) <= EXACT_SUPPORT and not force_resampling:
        da, db = exact_distribution(a), exact_distribution(b)
        if len(da) * len(db) <= EXACT_SUPPORT:
            dist = {}
            for x, wx in da.items():
                for y, wy in db.items():
                    dist[x - y] = dist.get(x - y, 0) + wx * wy
            return quantiles(dist)
    rng = SplitMix64(BOOT_SEED)
    ma = resampled_means(a, rng)
    mb = resampled_means(b, rng)
    return quantiles(counted([x - y for x, y in zip(ma, mb)]))


class Stat:
    """A quantity over seeds: the values (in seed order), their seeds, mean, interval, IQM."""

    def __init__(self, pairs):
        self.seeds = [s for s, _ in pairs]
        self.values = [v for _, v in pairs]
        self.n = len(self.values)
        if self.n:
            self.mean = exact_mean(self.values)
            self.lo, self.hi = bootstrap_ci(self.values)
            self.iqm = iqm(self.values)


def order(a, b):
    """The ordering rule: +1 if run a's values beat run b's (the CONF% interval of the difference
    of the means lies above zero), -1 if b's beat a's, 0 if unresolved; and (d, lo, hi)."""
    if a.n == 0 or b.n == 0:
        return 0, None
    d = exact_mean(a.values) - exact_mean(b.values)
    lo, hi = difference_ci(a.values, b.values)
    if min(a.n, b.n) < MIN_SEEDS_TO_ORDER:
        return 0, (d, lo, hi)
    return (1 if lo > 0 else -1 if hi < 0 else 0), (d, lo, hi)


# ================================================================================================
# 2. Runs: which are complete, which are in progress
# ================================================================================================
def read_flags(run_dir):
    flags = {}
    path = os.path.join(run_dir, "flags.csv")
    if os.path.isfile(path):
        with open(path, newline="") as f:
            next(f, None)
            for line in f:
                key, _, value = line.rstrip("\n").partition(",")
                flags[key] = value
    return flags


def checkpoint_iterations(path):
    """The iterations done in a checkpoint.bin (its loop.itr field: mbrl_checkpoint.hpp's format),
    or -1 if the file is not a whole checkpoint (magic, length, checksum)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return -1
    if len(data) < 28 or data[:8] != b"MBRLCKPT":
        return -1
    n = int.from_bytes(data[12:20], "little")
    if n != len(data) - 28:
        return -1
    payload = data[20:20 + n]
    h = 0xCBF29CE484222325
    for byte in payload:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    if h != int.from_bytes(data[20 + n:], "little"):
        return -1
    pos = 0
    while n - pos >= 4:
        length = int.from_bytes(payload[pos:pos + 4], "little")
        pos += 4
        if length > n - pos or n - pos - length < 9:
            return -1
        name = payload[pos:pos + length]
        pos += length
        kind = payload[pos:pos + 1]
        count = int.from_bytes(payload[pos + 1:pos + 9], "little")
        pos += 9
        size = 4 if kind in (b"f", b"i") else 1 if kind == b"s" else 8
        if count > (n - pos) // size:
            return -1
        if name == b"loop.itr" and kind == b"u" and count == 1:
            return int.from_bytes(payload[pos:pos + 8], "little")
        pos += count * size
    return -1


def held_locks():
    """(major, minor, inode) of every file locked now, from /proc/locks; None where unreadable."""
    try:
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    held = set()
    for line in lines:
        words = [w for w in line.split() if w != "->"]
        if len(words) >= 6:
            parts = words[5].split(":")
            if len(parts) == 3:
                try:
                    held.add((int(parts[0], 16), int(parts[1], 16), int(parts[2])))
                except ValueError:
                    pass
    return held


def lock_held(run_dir, locks):
    """True if a process holds run_dir/.lock now. A run leaves its .lock file behind when it ends
    (examples/run_lock.hpp), so only a held lock marks a running run."""
    path = os.path.join(run_dir, ".lock")
    if not os.path.exists(path):
        return False
    st = os.stat(path)
    if locks is not None:
        return (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in locks
    try:  # no /proc/locks: ask for a shared lock without waiting
        import fcntl
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        except OSError:
            return True
        finally:
            os.close(fd)
    except (ImportError, OSError):
        return False


def scan(data_dir):
    """{exp_name: {"used": {seed: run}, "skipped": [run, ...]}} for the assignment's runs: per
    seed the newest complete run; every run in progress is skipped, with its reasons."""
    locks = held_locks()
    found = {exp: {"used": {}, "skipped": []} for exp in ALL_EXPS}
    names = sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else []
    for name in names:
        path = os.path.join(data_dir, name)
        if not name.startswith("hw4_") or not os.path.isdir(path):
            continue
        run = agg.read_run(path)
        if run is None or run["exp"] not in found:
            continue
        run["flags"] = read_flags(path)
        run["name"] = name
        why = []
        n_iter = run["n_iter"]
        if n_iter is None:
            why.append("flags.csv has no n_iter")
        elif len(run["rows"]) < n_iter:
            why.append("metrics.csv holds %d of %d iterations" % (len(run["rows"]), n_iter))
        ckpt = os.path.join(path, "checkpoint.bin")
        if os.path.exists(ckpt) and n_iter is not None:
            itr = checkpoint_iterations(ckpt)
            if itr < 0:
                why.append("its checkpoint.bin is not a whole checkpoint (being written?)")
            elif itr < n_iter:
                why.append("its checkpoint.bin holds %d of %d iterations" % (itr, n_iter))
        if lock_held(path, locks):
            why.append("a running process holds its .lock")
        run["why"] = why
        entry = found[run["exp"]]
        if why:
            entry["skipped"].append(run)
            continue
        old = entry["used"].get(run["seed"])
        if old is None or run["key"] > old["key"]:
            entry["used"][run["seed"]] = run
    return found


def seeds_of(entry):
    return sorted(entry["used"], key=agg.seed_order)


def per_seed(entry, fn):
    """[(seed, value)] over the used runs, seeds in order, where fn(run) gives a value."""
    out = []
    for seed in seeds_of(entry):
        v = fn(entry["used"][seed])
        if v is not None:
            out.append((seed, v))
    return out


def final_of(column):
    return lambda run: agg.last_value(run["rows"], column)


def last_k_of(column):
    def f(run):
        vals = [agg.to_float(row.get(column)) for row in run["rows"][-LAST_K:]]
        vals = [v for v in vals if v is not None]
        return exact_mean(vals) if vals else None
    return f


def flag_of(entry, key):
    """A flag's value as the runs of one exp_name have it (their common value), or None."""
    values = {run["flags"].get(key) for run in entry["used"].values()} or \
        {run["flags"].get(key) for run in entry["skipped"]}
    values.discard(None)
    return values.pop() if len(values) == 1 else None


# ================================================================================================
# 3. Text: numbers, intervals, decisions
# ================================================================================================
def num(v, digits=1):
    s = "%.*f" % (digits, v)
    return s.lstrip("-") if float(s) == 0 else s  # no "-0.0"


def minutes(seconds):
    m = seconds / 60.0
    return num(m) if m >= 1 else "%.2g" % m


def plain(v):
    """An assignment's number as the handout writes it (-160, 0.2)."""
    return "%g" % v


def interval(stat, digits=1):
    """'mean [lo, hi] (n=..)'; 'no complete run' if there is none."""
    if stat.n == 0:
        return "no complete run"
    return "%s [%s, %s] (n=%d)" % (num(stat.mean, digits), num(stat.lo, digits), num(stat.hi, digits), stat.n)


def seed_list(stat, digits=1):
    return ", ".join("%s (seed %s)" % (num(v, digits), s) for s, v in zip(stat.seeds, stat.values))


def diff_text(dd, digits=1):
    d, lo, hi = dd
    return "%s [%s, %s]" % (num(d, digits), num(lo, digits), num(hi, digits))


def compare(a, b, la, lb, what, digits=1, higher_is="beats"):
    """One sentence on runs a and b (Stats) by the ordering rule; `what` names the quantity."""
    decision, dd = order(a, b)
    if dd is None:
        return decision, "%s and %s cannot be compared: %s has no complete run." % (
            la, lb, la if a.n == 0 else lb)
    if decision > 0:
        text = "%s %s %s: the difference of their %s is %s, an interval above zero (n=%d and %d)." % (
            la, higher_is, lb, what, diff_text(dd, digits), a.n, b.n)
    elif decision < 0:
        text = "%s %s %s: the difference of their %s is %s, an interval above zero (n=%d and %d)." % (
            lb, higher_is, la, what, diff_text((-dd[0], -dd[2], -dd[1]), digits), b.n, a.n)
    elif min(a.n, b.n) < MIN_SEEDS_TO_ORDER:
        text = "%s against %s: unresolved, with %d and %d seed(s) (the rule needs %d each); the difference " \
               "of their %s is %s." % (la, lb, a.n, b.n, MIN_SEEDS_TO_ORDER, what, diff_text(dd, digits))
    else:
        text = "%s against %s: unresolved at n=%d and %d seeds; the difference of their %s is %s, an " \
               "interval that contains zero." % (la, lb, a.n, b.n, what, diff_text(dd, digits))
    return decision, text


def short_order(a, b, la, lb, digits=1):
    """'A beats B (difference ...)', 'B beats A (...)' or 'A against B: unresolved (...)' by the
    ordering rule, with the difference of the means and its interval."""
    d, dd = order(a, b)
    if dd is None:
        return "%s against %s: not run yet" % (la, lb)
    if d < 0:
        return "%s beats %s (difference %s)" % (lb, la, diff_text((-dd[0], -dd[2], -dd[1]), digits))
    return "%s %s %s (difference %s)" % (la, "beats" if d > 0 else "against", lb, diff_text(dd, digits)) + \
        ("" if d > 0 else ": unresolved")


def range_relation(stat, lo_hi, digits=1):
    """Where the interval of `stat` lies against the range [a, b]."""
    a, b = lo_hi
    if stat.n == 0:
        return "not run yet"
    rng = "the assignment's range %s to %s" % (plain(a), plain(b))
    if stat.hi < a:
        return "below %s" % rng
    if stat.lo > b:
        return "above %s" % rng
    if stat.lo >= a and stat.hi <= b:
        return "within %s" % rng
    if stat.lo >= a:
        return "at or above the low end of %s (the interval reaches past its top)" % rng
    if stat.hi <= b:
        return "straddling the low end of %s: unresolved at n=%d" % (rng, stat.n)
    return "wider than %s: unresolved at n=%d" % (rng, stat.n)


def threshold_relation(stat, t, digits=1):
    if stat.n == 0:
        return "not run yet"
    if stat.lo >= t:
        return "at or above the assignment's %s" % plain(t)
    if stat.hi < t:
        return "below the assignment's %s" % plain(t)
    return "straddling the assignment's %s: unresolved at n=%d" % (plain(t), stat.n)


def point_relation(stat, p, digits=1):
    if stat.n == 0:
        return "not run yet"
    if stat.lo <= p <= stat.hi:
        return "an interval that contains the assignment's %s" % plain(p)
    side = "above" if stat.lo > p else "below"
    return "its mean %s %s the assignment's %s" % (num(abs(stat.mean - p), digits), side, plain(p))


class Report:
    def __init__(self, data_dir, out):
        self.data = data_dir
        self.out = out
        self.figdir = os.path.join(data_dir, "figures")
        self.runs = scan(data_dir)
        self.lines = []
        self.summary = []  # one line per question, written by the question's section

    def w(self, *lines):
        self.lines.extend(lines)

    def rel(self, path):
        return os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(self.out)))

    def stat(self, exp, fn):
        return Stat(per_seed(self.runs[exp], fn))

    def final(self, exp, column=EVAL):
        return self.stat(exp, final_of(column))

    def last_k(self, exp, column=EVAL):
        return self.stat(exp, last_k_of(column))

    def figure(self, name, caption, exps):
        """An image of DATA/figures/name with its caption, or a line saying it is not drawn."""
        path = os.path.join(self.figdir, name)
        if not os.path.isfile(path):
            self.w("*Figure `%s` is not drawn yet (`make plots` draws it from the runs).* %s" % (name, caption), "")
            return
        self.w("![%s](%s)" % (name, self.rel(path)), "", "*%s*" % caption, "")

    def seeds_note(self, exp):
        entry = self.runs[exp]
        seeds = seeds_of(entry)
        text = ("seed%s %s" % ("s" if len(seeds) > 1 else "", ", ".join(seeds))) if seeds else "no complete seed"
        if entry["skipped"]:
            k = len(entry["skipped"])
            text += "; %d run%s in progress not counted" % (k, "" if k == 1 else "s")
        return text

    def label(self, exp):
        entry = self.runs[exp]
        f = lambda k: flag_of(entry, k)  # noqa: E731
        if exp in Q1:
            steps, layers, size = f("num_agent_train_steps_per_iter"), f("n_layers"), f("size")
            if steps and layers and size:
                return "%s steps, %s x %s" % (steps, layers, size)
        for kind, key, exps in Q4:
            if exp in exps and f(key):
                if kind == "ensemble":
                    return "%s member%s" % (f(key), "" if agg.to_float(f(key)) == 1 else "s")
                return {"numseq": "N = %s sequences", "horizon": "H = %s"}[kind] % f(key)
        if exp in Q5 and f("mpc_action_sampling_strategy"):
            if f("mpc_action_sampling_strategy") == "cem" and f("cem_iterations"):
                return "CEM (%s iterations)" % f("cem_iterations")
            strategy = f("mpc_action_sampling_strategy")
            return "random shooting" if strategy == "random" else strategy
        if exp in Q3 and f("env_name"):
            return f("env_name")
        if exp in Q6 and f("mbpo_rollout_length") is not None:
            r = int(f("mbpo_rollout_length"))
            return "%s (rollout length %d)" % ("model-free SAC" if r == 0 else "Dyna" if r == 1 else "MBPO", r)
        return exp

    def returns_table(self, exps, expect=None):
        """One row per run: seeds, final Eval, last-K mean, IQM of the final; `expect(exp)` adds
        the assignment's expectation column."""
        head = "| run | setting | seeds | final Eval return | mean of the last %d iterations | IQM of the final |" % (
            LAST_K)
        rule = "|---|---|---|---|---|---|"
        if expect:
            head += " the assignment expects | the final's interval is |"
            rule += "---|---|"
        self.w(head, rule)
        for exp in exps:
            fin, lk = self.final(exp), self.last_k(exp)
            row = "| `%s` | %s | %s | %s | %s | %s |" % (
                exp, self.label(exp), self.seeds_note(exp), interval(fin), interval(lk),
                num(fin.iqm) if fin.n else "-")
            if expect:
                row += " %s | %s |" % expect(exp, fin)
            self.w(row)
        self.w("")

    # --------------------------------------------------------------------------------------------
    def method(self):
        a = ASSIGNMENT
        t = tail()
        full_range_n = max(n for n in range(1, 12) if Fraction(1, n ** n) >= t)
        lk_runs = [(e, self.runs[e]) for e in ALL_EXPS if flag_of(self.runs[e], "n_iter")]
        multi = [(int(flag_of(r, "n_iter")), e) for e, r in lk_runs if int(flag_of(r, "n_iter")) > 1]
        exact_n = max([n for n in range(1, 30) if support_size(n) <= EXACT_SUPPORT], default=0)
        if exact_n:
            how = "is enumerated exactly (all n^n resamples of n seeds, each multiset weighted by its multinomial " \
                  "coefficient) for a run of up to n=%d seeds, and for the difference of two runs while their " \
                  "distinct resampled means make at most %d pairs; beyond that it draws" % (exact_n, EXACT_SUPPORT)
        else:
            how = "draws"
        shortest = min(multi) if multi else None
        if shortest and shortest[0] >= LAST_K:
            window = ", and %d iterations stay inside the shortest multi-iteration runs (`%s`, %d iterations)" % (
                LAST_K, shortest[1], shortest[0])
        elif shortest:
            window = "; the shortest multi-iteration runs (`%s`) have only %d, all of which count" % (
                shortest[1], shortest[0])
        else:
            window = ""
        self.w(
            "## How the numbers are made", "",
            "- **Runs.** Each of the assignment's runs (its `--exp_name`) may have several seeds. Per seed the "
            "newest complete run under `%s/` counts. Complete: `metrics.csv` holds `n_iter` whole rows, no "
            "`checkpoint.bin` holds fewer than `n_iter` iterations, and no process holds the run's `.lock` (a run "
            "leaves its `.lock` file behind when it ends, so only a held lock marks a running run). Runs in "
            "progress are skipped and listed below." % self.data,
            "- **Final and last-%d.** The final Eval return is the last iteration's `Eval_AverageReturn`. The "
            "last-%d mean is each seed's mean `Eval_AverageReturn` over its last %d iterations (fewer if the run "
            "has fewer): one iteration's Eval swings%s." % (LAST_K, LAST_K, LAST_K, window),
            "- **Intervals.** Every number over seeds is the mean over seeds followed by its %d%% percentile "
            "bootstrap confidence interval over seeds, `mean [lo, hi] (n=seeds)`: the ends are the smallest "
            "resampled means with at least %s%% and %s%% of the resamples at or below them. The bootstrap %s %d "
            "resamples from splitmix64 with the fixed seed %d, so the report is the same byte for byte." % (
                CONF, num(float(t * 100)), num(float((1 - t) * 100)), how, RESAMPLES, BOOT_SEED),
            "- **Few seeds.** Following rliable (Agarwal et al., in the references), the report gives interval "
            "estimates over seeds rather than single numbers, resamples seeds, each run on its own when two runs "
            "are compared (the stratified bootstrap), and lists the interquartile mean (IQM: the mean after "
            "dropping the lowest and highest quarter of the seeds, rounded down). With few seeds the percentile "
            "interval is narrow for what it claims (it covers the true mean less often than its confidence): "
            "with at most %d seeds it is exactly the range of the seeds (a resample that repeats the "
            "lowest seed has probability n^-n, at least %s%%), and an interval of zero width means the seeds "
            "agree, not that the mean is certain. Every interval states its n." % (full_range_n, num(float(t * 100))),
            "- **Orderings.** One rule, used everywhere: run A is said to beat run B only if the %d%% bootstrap "
            "interval of the difference of their means lies entirely above zero and both have at least %d "
            "seeds; Q3-Q6 compare the last-%d means, Q1 the final training loss and the MPE. Otherwise the "
            "report says the ordering is unresolved at those numbers of seeds." % (CONF, MIN_SEEDS_TO_ORDER, LAST_K),
            self.single_episode(),
            "- **The assignment's numbers** are compared with the interval of the final Eval return: below, "
            "within or above a range when the whole interval is; unresolved when it straddles an end. They "
            "are, as the handout states them:", "",
            "| problem | the assignment's statement | number(s) |",
            "|---|---|---|",
            "| Q1 | the first command's training loss goes below ... by step ... | %s, %d |" % (
                plain(a["q1_loss_below"]), a["q1_loss_by_step"]),
            "| Q2 | Train AverageReturn around ...; Eval AverageReturn around ... | %s; %s to %s |" % (
                plain(a["q2_train_about"]), plain(a["q2_eval_range"][0]), plain(a["q2_eval_range"][1])),
            "| Q3 | obstacles, reacher, cheetah returns around | %s |" % "; ".join(
                "%s to %s" % (plain(a[e][0]), plain(a[e][1])) for e in Q3),
            "| Q3 | their run times without a GPU, minutes | %s |" % "; ".join(
                ("%s" % plain(a["q3_minutes"][e][0])) if a["q3_minutes"][e][0] == a["q3_minutes"][e][1] else
                "%s to %s" % (plain(a["q3_minutes"][e][0]), plain(a["q3_minutes"][e][1])) for e in Q3),
            "| Q5 | CEM on cheetah: around ... or higher | %s |" % plain(a["q5_cem_at_least"]),
            "| Q6 | the MBPO command (rollout length %s): around ... or higher | %s |" % (
                flag_of(self.runs[Q6[2]], "mbpo_rollout_length") or "-", plain(a["q6_rlen10_at_least"])),
            "")
        skipped = [r for e in ALL_EXPS for r in self.runs[e]["skipped"]]
        self.w("### Runs in progress (not counted)", "")
        if not skipped:
            self.w("None: every run of the assignment's under `%s/` is complete." % self.data, "")
        for r in skipped:
            self.w("- `%s` (`%s`, seed %s): %s." % (r["name"], r["exp"], r["seed"], "; ".join(r["why"])))
        if skipped:
            self.w("")

    def absent(self, key, exps, title):
        """True (and says so, in the section and the summary) if none of exps has a complete run;
        names the missing ones otherwise. Figures are shown only with the numbers behind them."""
        missing = [e for e in exps if not self.runs[e]["used"]]
        if len(missing) == len(exps):
            self.w("No complete run of %s under `%s/` yet (%s)." % (
                title, self.data, ", ".join("`%s`" % e for e in exps)), "")
            self.summary.append("%s: not run yet." % key)
            return True
        if missing:
            self.w("Not run yet (no complete seed): %s; what follows compares the others." % ", ".join(
                "`%s`" % e for e in missing), "")
        return False

    def single_episode(self):
        """Which runs evaluate one episode per iteration (Eval_StdReturn 0 throughout, every seed)."""
        single = []
        for exp in ALL_EXPS:
            runs = list(self.runs[exp]["used"].values())
            stds = [agg.to_float(row.get("Eval_StdReturn")) for run in runs for row in run["rows"]]
            if stds and all(v == 0 for v in stds):
                single.append(exp)
        if not single:
            return "- **Evaluation.** No run has `Eval_StdReturn` zero throughout: each Eval return averages " \
                   "several evaluation episodes."
        sizes = {(flag_of(self.runs[e], "eval_batch_size"), flag_of(self.runs[e], "ep_len")) for e in single}
        why = ""
        if len(sizes) == 1:
            batch, ep_len = sizes.pop()
            if agg.to_float(batch) is not None and agg.to_float(ep_len) is not None and \
                    agg.to_float(batch) <= agg.to_float(ep_len):
                why = " (their `eval_batch_size`, %s steps, is at most one episode of `ep_len` %s)" % (batch, ep_len)
        return "- **Evaluation.** %s: `Eval_StdReturn` is zero at every iteration of every seed, so each Eval " \
               "return is a single episode's%s, and a seed's final value is one episode; the last-%d mean and " \
               "the seeds smooth that." % (", ".join("`%s`" % e for e in single), why, LAST_K)

    # --------------------------------------------------------------------------------------------
    def q1(self):
        a = ASSIGNMENT
        self.w("## Q1: the dynamics model", "")
        if self.absent("Q1", Q1, "Q1"):
            return

        def table(run, name):
            return agg.read_rows(os.path.join(run["dir"], name))[1]

        def loss_of(run):
            vals = [agg.to_float(r.get("Training Loss")) for r in table(run, "losses.csv")]
            return vals[-1] if vals and vals[-1] is not None else agg.last_value(run["rows"], "Training Loss")

        def mpe_of(run):
            rows = table(run, "predictions.csv")
            return agg.to_float(rows[0].get("mpe")) if rows else None

        def first_below(run):
            for r in table(run, "losses.csv"):
                v = agg.to_float(r.get("Training Loss"))
                if v is not None and v < a["q1_loss_below"]:
                    return int(float(r["step"]))
            return None

        losses, mpes, first, steps = {}, {}, {}, {}
        horizon = None
        for exp in Q1:
            entry = self.runs[exp]
            losses[exp] = Stat(per_seed(entry, loss_of))
            mpes[exp] = Stat(per_seed(entry, mpe_of))
            first[exp] = [(s, first_below(entry["used"][s])) for s in seeds_of(entry)]
            steps[exp] = {s: len(table(entry["used"][s], "losses.csv")) for s in seeds_of(entry)}
            for s in seeds_of(entry):
                rows = table(entry["used"][s], "predictions.csv")
                if rows and horizon is None:
                    horizon = len({r.get("step") for r in rows})
        rollout = "one open-loop rollout%s" % (" of %d steps" % horizon if horizon else "")
        small, few, big = Q1
        lb = {e: "`%s`" % e for e in Q1}
        cap_l, cap_t = compare(losses[small], losses[big], lb[small], lb[big], "final losses", 3,
                               "has a higher loss than")
        cap_m, cap_mt = compare(mpes[small], mpes[big], lb[small], lb[big], "MPEs", 3, "has a higher MPE than")
        stp_l, stp_t = compare(losses[few], losses[big], lb[few], lb[big], "final losses", 3,
                               "has a higher loss than")
        stp_m, stp_mt = compare(mpes[few], mpes[big], lb[few], lb[big], "MPEs", 3, "has a higher MPE than")
        # The best model: the one whose loss is resolved below both others'.
        beats = {e: 0 for e in Q1}
        for i, x in enumerate(Q1):
            for y in Q1[i + 1:]:
                d, _ = order(losses[x], losses[y])
                if d > 0:
                    beats[y] += 1
                elif d < 0:
                    beats[x] += 1
        best = [e for e in Q1 if beats[e] == len(Q1) - 1]
        ok = [st is not None and st < a["q1_loss_by_step"] for _, st in first[small]]

        for exp in Q1:
            drawn = agg.runs_by_seed(self.data, exp)
            seed = min(drawn, key=agg.seed_order) if drawn else None
            mpe = mpe_of(drawn[seed]) if seed is not None else None
            cap = "`%s` (%s): the model's predictions (red) against the true states (green) along %s, seed %s " \
                  "(plot.sh draws the lowest seed); its MPE is %s. Over seeds: MPE %s, final training loss %s." % (
                      exp, self.label(exp), rollout, seed, num(mpe, 3) if mpe is not None else "not recorded",
                      interval(mpes[exp], 3), interval(losses[exp], 3))
            self.figure(exp + "_predictions.png", cap, [exp])
        verdict = ("`%s` reaches the lowest loss, resolved against both others" % best[0]) if best else \
            "no run's loss is resolved below both others'"
        if os.path.isfile(os.path.join(self.figdir, "q1_losses.png")):
            self.figure("q1_losses.png", "The training loss of the three models by step, the mean over seeds (%s): "
                        "%s." % ("; ".join("`%s`: n=%d" % (e, losses[e].n) for e in Q1), verdict), Q1)
        else:
            for exp in Q1:
                self.figure(exp + "_losses.png", "The training loss of `%s` by step (lowest seed)." % exp, [exp])
        self.w("| run | setting | seeds | final training loss | MPE | loss below %s by step %d (the assignment's "
               "check) |" % (plain(a["q1_loss_below"]), a["q1_loss_by_step"]), "|---|---|---|---|---|---|")
        for exp in Q1:
            checks = []
            for s, st in first[exp]:
                if st is None:
                    checks.append("seed %s: never (%d steps)" % (s, steps[exp][s]))
                else:
                    checks.append("seed %s: from step %d%s" % (
                        s, st, "" if st < a["q1_loss_by_step"] else ", too late"))
            self.w("| `%s` | %s | %s | %s | %s | %s |" % (
                exp, self.label(exp), self.seeds_note(exp), interval(losses[exp], 3), interval(mpes[exp], 3),
                "; ".join(checks) or "-"))
        self.w("", "Per seed: final loss %s; MPE %s." % (
            "; ".join("`%s` %s" % (e, seed_list(losses[e], 3)) for e in Q1),
            "; ".join("`%s` %s" % (e, seed_list(mpes[e], 3)) for e in Q1)), "")
        check = "`%s`'s loss goes below %s by step %d at %d of %d seeds" % (
            small, plain(a["q1_loss_below"]), a["q1_loss_by_step"], sum(ok), len(ok))
        self.w("**The assignment's check.** %s." % check, "")
        self.w("**Capacity** (%s against %s, the same number of steps): %s %s" % (
            self.label(small), self.label(big), cap_t, cap_mt), "")
        self.w("**Training steps** (%s against %s, the same network): %s %s" % (
            self.label(few), self.label(big), stp_t, stp_mt), "")
        n_big = flag_of(self.runs[big], "num_agent_train_steps_per_iter")
        n_few = flag_of(self.runs[few], "num_agent_train_steps_per_iter")
        why = {1: "at the same %s steps the larger network fits the dynamics better than the smaller one: "
                  "capacity helps" % n_big,
               -1: "at the same %s steps the smaller network fits better: the larger one does not use its "
                   "capacity within that many steps" % n_big,
               0: "at the same %s steps the two networks' losses are not resolved apart" % n_big}[cap_l]
        why += "; " + {1: "with only %s steps the same larger network stays far from fitted, so capacity pays "
                          "off only with enough training steps" % n_few,
                       -1: "with only %s steps the larger network fits better than with %s, against expectation" % (
                           n_few, n_big),
                       0: "with %s steps against %s the larger network's losses are not resolved apart" % (
                           n_few, n_big)}[stp_l]
        if any(not self.runs[e]["used"] for e in Q1):
            self.summary.append("Q1: not every run is complete yet. %s." % (check[0].upper() + check[1:]))
            return
        if best:
            b = best[0]
            mpe_parts = []
            for e in Q1:
                if e == b:
                    continue
                d, _ = order(mpes[e], mpes[b])
                mpe_parts.append("%s than `%s`'s" % (
                    {1: "resolved lower", -1: "resolved higher", 0: "not resolved lower"}[d], e))
            self.w("**Which model is best.** `%s` (%s) has the lowest final training loss, resolved against both "
                   "other runs. Why: %s. Its MPE is %s. The MPE comes from %s per seed, so it varies more between "
                   "seeds than the loss over the whole data set." % (
                       b, self.label(b), why, " and ".join(mpe_parts), rollout), "")
            self.summary.append("Q1: `%s` (%s) is the best model: final training loss %s, resolved below both "
                                "others' (%s); its MPE %s is %s. %s." % (
                                    b, self.label(b), interval(losses[b], 3), why, interval(mpes[b], 3),
                                    " and ".join(mpe_parts), check[0].upper() + check[1:]))
        else:
            self.w("**Which model is best.** No run's final loss is resolved below both others' at these seeds "
                   "(the comparisons above), so the data do not single out a best model. What they show: %s." % why,
                   "")
            self.summary.append("Q1: no model's loss is resolved below both others' (%s). %s." % (
                why, check[0].upper() + check[1:]))

    # --------------------------------------------------------------------------------------------
    def q2(self):
        a = ASSIGNMENT
        exp = Q2
        self.w("## Q2: random-shooting MPC on obstacles", "")
        if self.absent("Q2", [Q2], "Q2"):
            return
        tr, ev = self.final(exp, TRAIN), self.final(exp, EVAL)
        self.figure("q2_returns.png", "`%s`: Train AverageReturn (random actions) and Eval AverageReturn (MPC "
                    "with the model trained on them) of its single iteration; %s." % (exp, self.seeds_note(exp)),
                    [exp])
        self.w("| run | seeds | Train AverageReturn | Eval AverageReturn | Eval - Train |", "|---|---|---|---|---|")
        d, dd = order(ev, tr)
        self.w("| `%s` | %s | %s | %s | %s |" % (exp, self.seeds_note(exp), interval(tr), interval(ev),
                                              diff_text(dd) if dd else "-"), "")
        if tr.n == 0:
            self.w("No complete run yet.", "")
            self.summary.append("Q2: no complete run yet.")
            return
        _, text = compare(ev, tr, "Eval (MPC)", "Train (random actions)", "returns")
        self.w("Per seed: Train %s; Eval %s." % (seed_list(tr), seed_list(ev)), "",
               "The Train return is that of the random actions that collected the data: %s, %s. The Eval return "
               "is that of MPC planning with the model trained on them for %s steps: %s, %s. %s" % (
                   interval(tr), point_relation(tr, a["q2_train_about"]), flag_of(self.runs[exp],
                                                                                "num_agent_train_steps_per_iter"),
                   interval(ev), range_relation(ev, a["q2_eval_range"]), text), "")
        if d > 0:
            self.w("MPC selects useful actions: planning through a model fitted to random data alone moves the "
                   "point toward the goal far better than the random actions that produced the data.", "")
        else:
            self.w("The runs do not show MPC improving on the random actions at these seeds.", "")
        self.summary.append("Q2: Train (random actions) %s, %s; Eval (MPC) %s, %s; %s." % (
            interval(tr), point_relation(tr, a["q2_train_about"]), interval(ev),
            range_relation(ev, a["q2_eval_range"]), short_order(ev, tr, "Eval", "Train")))

    # --------------------------------------------------------------------------------------------
    def q3(self):
        a = ASSIGNMENT
        self.w("## Q3: iterative model-based RL", "")
        if self.absent("Q3", Q3, "Q3"):
            return
        for exp in Q3:
            env = flag_of(self.runs[exp], "env_name") or exp
            rng = a[exp]
            fin = self.final(exp)
            self.figure(exp + ".png", "`%s` on %s: Eval and Train AverageReturn by iteration, the mean over seeds "
                        "(%s) with the seeds' range; the band of the assignment's %s to %s. Final Eval %s: %s." % (
                            exp, env, self.seeds_note(exp), plain(rng[0]), plain(rng[1]), interval(fin),
                            range_relation(fin, rng)), [exp])
        self.returns_table(Q3, lambda e, fin: ("%s to %s" % (plain(a[e][0]), plain(a[e][1])),
                                               range_relation(fin, a[e])))
        for exp in Q3:
            fin, lk = self.final(exp), self.last_k(exp)
            if fin.n == 0:
                self.w("- `%s`: no complete run yet." % exp)
                continue
            mins = Stat(per_seed(self.runs[exp], lambda run: (
                lambda t: None if t is None else t / 60.0)(agg.last_value(run["rows"], "TimeSinceStart"))))
            lo, hi = a["q3_minutes"][exp]
            self.w("- `%s`: final Eval %s, %s; per seed %s; last-%d mean %s. Minutes per run: %s (the assignment: "
                   "%s without a GPU; threads and CPUs in the provenance)." % (
                       exp, interval(fin), range_relation(fin, a[exp]), seed_list(fin), LAST_K, interval(lk),
                       interval(mins), ("about %s" % plain(lo)) if lo == hi else "%s to %s" % (plain(lo), plain(hi))))
        self.w("")
        self.summary.append("Q3: final Eval return %s." % "; ".join(
            ("%s %s, %s" % (self.label(e), interval(self.final(e)), range_relation(self.final(e), a[e])))
            if self.final(e).n else "%s not run yet" % e for e in Q3))
        for exp in ["q3_reacher", "q3_cheetah"]:
            self.video(exp)

    # --------------------------------------------------------------------------------------------
    def q4(self):
        self.w("## Q4: reacher ablations", "")
        held = {"ensemble": ("mpc_horizon", "mpc_num_action_sequences"),
                "numseq": ("mpc_horizon", "ensemble_size"),
                "horizon": ("mpc_num_action_sequences", "ensemble_size")}
        names = {"mpc_horizon": "H", "mpc_num_action_sequences": "N", "ensemble_size": "members"}
        titles = {"ensemble": "the ensemble size", "numseq": "the number of candidate action sequences",
                  "horizon": "the planning horizon"}
        for kind, key, exps in Q4:
            fixed = []
            for k in held[kind]:
                vals = {flag_of(self.runs[e], k) for e in exps}
                if len(vals) == 1 and None not in vals:
                    fixed.append("%s = %s" % (names[k], vals.pop()))
            stats = {e: self.last_k(e) for e in exps}

            def value(e):  # the swept value, from flags.csv
                v = agg.to_float(flag_of(self.runs[e], key))
                return v if v is not None else float("inf")
            ordered = sorted(exps, key=value)
            decisions, texts = {}, []
            for i, x in enumerate(ordered):
                for y in ordered[i + 1:]:
                    d, text = compare(stats[y], stats[x], self.label(y), self.label(x), "last-%d means" % LAST_K)
                    decisions[(y, x)] = d  # +1: the larger value beats the smaller
                    texts.append(text)
            claims, why = self.trend(kind, decisions, stats)
            self.w("### The effect of %s%s" % (titles[kind], " (%s)" % ", ".join(fixed) if fixed else ""), "")
            if self.absent("Q4, %s" % titles[kind], exps, "this sweep"):
                continue
            self.figure("q4_%s.png" % kind, "Eval AverageReturn by iteration for %s, the mean over seeds with the "
                        "seeds' range: %s. Trend (last-%d means, by the ordering rule): %s.%s" % (
                            titles[kind], "; ".join("%s: %s" % (self.label(e), self.seeds_note(e)) for e in exps),
                            LAST_K, claims, (" " + why) if why else ""), exps)
            self.returns_table(exps)
            for text in texts:
                self.w("- %s" % text)
            self.w("", "**Trend:** %s.%s" % (claims, (" " + why) if why else ""), "")
            self.summary.append("Q4, %s: %s." % (titles[kind], claims))
        self.same_settings([e for _, _, exps in Q4 for e in exps])

    def same_settings(self, exps):
        """Runs of different names with the same settings (flags.csv apart from the name, the seed and
        where and how the binary ran): said once, with whether their Eval returns agree seed by seed."""
        ignore = {"exp_name", "seed", "data_dir", "threads", "compiler", "cpu", "commit", "command", "save_params"}

        def same(x, y, seed):
            fx, fy = self.runs[x]["used"][seed]["flags"], self.runs[y]["used"][seed]["flags"]
            keys = (set(fx) & set(fy)) - ignore  # a flag added later is missing from older runs
            return bool(keys) and all(fx[k] == fy[k] for k in keys)

        for i, x in enumerate(exps):
            for y in exps[i + 1:]:
                common = [s for s in seeds_of(self.runs[x]) if s in self.runs[y]["used"]]
                if not common or not all(same(x, y, s) for s in common):
                    continue
                agree = [s for s in common if
                         [r.get(EVAL) for r in self.runs[x]["used"][s]["rows"]] ==
                         [r.get(EVAL) for r in self.runs[y]["used"][s]["rows"]]]
                self.w("`%s` and `%s` are one setting under two names (their `flags.csv` agree but for the "
                       "name, seed by seed); at %d of their %d common seeds their Eval returns agree to every "
                       "digit." % (
                           x, y, len(agree), len(common)), "")

    def trend(self, kind, decisions, stats):
        """The trend of one sweep in words, from the resolved orderings only: (the orderings, why)."""
        up = [(y, x) for (y, x), d in decisions.items() if d > 0]
        down = [(y, x) for (y, x), d in decisions.items() if d < 0]
        lab = self.label
        if not up and not down:
            return "no ordering is resolved at these seeds, so the data show no effect of %s" % {
                "ensemble": "the ensemble size", "numseq": "the number of sequences",
                "horizon": "the horizon"}[kind], ""
        unresolved = [(y, x) for (y, x), d in decisions.items() if d == 0]
        claims = "; ".join(short_order(stats[y], stats[x], lab(y), lab(x)) for y, x in up + down + unresolved)
        text = ""
        lead = "As far as these seeds resolve it, l" if unresolved else "L"
        if kind == "horizon":
            if down and not up:
                text += "%songer horizons do worse: the model's one-step errors compound over a long open-loop " \
                        "plan, and a random action sequence is rarely good at every one of many steps." % lead
            elif up and not down:
                text += "%songer horizons do better: the planner sees the consequences of its actions further " \
                        "ahead, and the model stays accurate enough over the longer plans." % lead
            else:
                text += "The effect is not monotone: a longer horizon sees further ahead but compounds the " \
                        "model's error."
        elif kind == "numseq":
            if up and not down:
                text += "%s: more random sequences cover the action space more densely, so the best of them " \
                        "is closer to the best plan under the model." % (
                            "As far as these seeds resolve it, more candidates do better" if unresolved
                            else "More candidates do better")
            elif down and not up:
                text += "Fewer candidates do better here, against the expectation that a denser search finds " \
                        "better plans; more candidates also find more sequences that exploit the model's errors."
            else:
                text += "The effect is not monotone."
        elif kind == "ensemble":
            if up and not down:
                text += "%s: averaging independently trained members cancels part of each member's error, so " \
                        "the planner exploits fewer model errors." % (
                            "As far as these seeds resolve it, larger ensembles do better" if unresolved
                            else "Larger ensembles do better")
            elif down and not up:
                text += "Smaller ensembles do better here, against the expectation that averaging members " \
                        "reduces the model's error."
            else:
                text += "The effect is not monotone."
        return claims, text

    # --------------------------------------------------------------------------------------------
    def q5(self):
        a = ASSIGNMENT
        self.w("## Q5: CEM against random shooting", "")
        if self.absent("Q5", Q5, "Q5"):
            return
        stats = {e: self.last_k(e) for e in Q5}
        rnd, cem2, cem4 = Q5
        d2, t2 = compare(stats[cem2], stats[rnd], self.label(cem2), self.label(rnd), "last-%d means" % LAST_K)
        d4, t4 = compare(stats[cem4], stats[rnd], self.label(cem4), self.label(rnd), "last-%d means" % LAST_K)
        d42, t42 = compare(stats[cem4], stats[cem2], self.label(cem4), self.label(cem2), "last-%d means" % LAST_K)
        claims = "; ".join(short_order(stats[x], stats[y], self.label(x), self.label(y))
                           for x, y in ((cem2, rnd), (cem4, rnd), (cem4, cem2)))
        reach = "; ".join("the final Eval of %s is %s, %s" % (self.label(e), interval(self.final(e)),
                                                      threshold_relation(self.final(e), a["q5_cem_at_least"]))
                          for e in (cem2, cem4) if self.runs[e]["used"]) or "no CEM run is complete yet"
        self.figure("q5_cem.png", "Eval AverageReturn by iteration on cheetah, the mean over seeds with the seeds' "
                    "range: %s; the assignment's about %s for CEM. Last-%d means, by the ordering rule: %s." % (
                        "; ".join("%s: %s" % (self.label(e), self.seeds_note(e)) for e in Q5),
                        plain(a["q5_cem_at_least"]), LAST_K, claims), Q5)
        self.summary.append("Q5 (last-%d means): %s. %s." % (LAST_K, claims, reach[0].upper() + reach[1:]))
        self.returns_table(Q5, lambda e, fin: (
            ("%s or higher" % plain(a["q5_cem_at_least"])) if e != Q5[0] else "no number",
            threshold_relation(fin, a["q5_cem_at_least"]) if e != Q5[0] else "-"))
        for t in (t2, t4, t42):
            self.w("- %s" % t)
        self.w("")
        r = self.runs[cem4]
        n, h, el = (flag_of(r, "mpc_num_action_sequences"), flag_of(r, "mpc_horizon"), flag_of(r, "cem_num_elites"))
        mech = "Random shooting scores %s uniformly drawn action sequences of %s steps and executes the first " \
               "action of the best. CEM draws the same number, refits a diagonal Gaussian to the %s best (the " \
               "elites) and draws again from it, as many times as its iterations: its last candidates concentrate " \
               "where the model predicts high return, so it finds better plans than one uniform draw of the same " \
               "size, at the cost of one model rollout of all candidates per CEM iteration." % (n, h, el)
        if d2 > 0 or d4 > 0:
            verdict = "**Why CEM helps.** %s" % mech
        else:
            verdict = "**CEM against random shooting.** At these seeds no CEM run is resolved above random " \
                      "shooting. %s" % mech
        if d42 > 0:
            verdict += " More CEM iterations help: %s is resolved above %s." % (self.label(cem4), self.label(cem2))
        elif d42 < 0:
            verdict += " More CEM iterations do not help here: %s is resolved above %s." % (
                self.label(cem2), self.label(cem4))
        else:
            verdict += " Whether %s improves on %s is unresolved at these seeds." % (self.label(cem4),
                                                                                     self.label(cem2))
        times = {e: Stat(per_seed(self.runs[e], lambda run: (
            lambda t: None if t is None else t / 60.0)(agg.last_value(run["rows"], "TimeSinceStart")))) for e in Q5}
        if all(times[e].n for e in Q5):
            verdict += " The price is planning time: minutes per run, %s (the CPUs are in the provenance)." % \
                "; ".join("%s %s" % (self.label(e), interval(times[e])) for e in Q5)
        self.w(verdict, "")
        self.video(cem4)

    # --------------------------------------------------------------------------------------------
    def q6(self):
        a = ASSIGNMENT
        self.w("## Q6: MBPO", "")
        if self.absent("Q6", Q6, "Q6"):
            return
        stats = {e: self.last_k(e) for e in Q6}
        r0, r1, r10 = Q6
        d10_0, t10_0 = compare(stats[r10], stats[r0], self.label(r10), self.label(r0), "last-%d means" % LAST_K)
        d1_0, t1_0 = compare(stats[r1], stats[r0], self.label(r1), self.label(r0), "last-%d means" % LAST_K)
        d10_1, t10_1 = compare(stats[r10], stats[r1], self.label(r10), self.label(r1), "last-%d means" % LAST_K)
        claims = "; ".join(short_order(stats[x], stats[y], self.label(x), self.label(y))
                           for x, y in ((r1, r0), (r10, r0), (r10, r1)))
        fin = self.final(r10)
        self.figure("q6_mbpo.png", "Eval AverageReturn of the SAC policy by iteration on cheetah, the mean over "
                    "seeds with the seeds' range: %s; the assignment's about %s for rollout length %s. Last-%d "
                    "means, by the ordering rule: %s." % (
                        "; ".join("%s: %s" % (self.label(e), self.seeds_note(e)) for e in Q6),
                        plain(a["q6_rlen10_at_least"]), flag_of(self.runs[r10], "mbpo_rollout_length"), LAST_K,
                        claims), Q6)
        self.summary.append("Q6 (last-%d means): %s. The final Eval of %s is %s, %s." % (
            LAST_K, claims, self.label(r10), interval(fin), threshold_relation(fin, a["q6_rlen10_at_least"])))
        self.returns_table(Q6, lambda e, fin: (
            ("%s or higher" % plain(a["q6_rlen10_at_least"])) if e == Q6[2] else "no number",
            threshold_relation(fin, a["q6_rlen10_at_least"]) if e == Q6[2] else "-"))
        for t in (t1_0, t10_0, t10_1):
            self.w("- %s" % t)
        self.w("")
        sac = {e: flag_of(self.runs[e], "sac_n_iter") for e in Q6}
        budget = "Per iteration the three runs add the same real transitions (`batch_size` %s), but the " \
                 "assignment's commands give them different numbers of SAC updates per iteration " \
                 "(`sac_n_iter`): %s." % (
                     flag_of(self.runs[r10], "batch_size"),
                     ", ".join("%s %s" % (self.label(e), sac[e]) for e in Q6))
        parts = []
        if d10_0 > 0 or d1_0 > 0:
            fewer = agg.to_float(sac[r0]) is not None and all(
                agg.to_float(sac[e]) is not None and agg.to_float(sac[r0]) < agg.to_float(sac[e]) for e in (r1, r10))
            parts.append("Model rollouts help: the model's transitions, branched from real states so that the model "
                         "is queried where it was trained, give SAC more data per real transition than the "
                         "model-free baseline has%s." % (
                             " (the baseline also takes fewer SAC updates, so part of the gap is the update budget)"
                             if fewer else ""))
        len10 = agg.to_float(flag_of(self.runs[r10], "mbpo_rollout_length"))
        len1 = agg.to_float(flag_of(self.runs[r1], "mbpo_rollout_length"))
        if d10_1 > 0:
            parts.append("Longer rollouts help further: %s adds %s synthetic transitions per SAC update where %s "
                         "adds %s, and they reach states further from the real data; the model stays accurate "
                         "enough over those steps for the policy to gain." % (
                             self.label(r10), plain(len10) if len10 is not None else "more", self.label(r1),
                             plain(len1) if len1 is not None else "fewer"))
        elif d10_1 < 0:
            parts.append("Longer rollouts hurt here: errors compound along the model rollouts, and %s trains SAC "
                         "on more of those compounded errors than %s." % (self.label(r10), self.label(r1)))
        else:
            parts.append("Whether rollout length %s improves on %s is unresolved at these seeds." % (
                flag_of(self.runs[r10], "mbpo_rollout_length"), flag_of(self.runs[r1], "mbpo_rollout_length")))
        if not (d10_0 > 0 or d1_0 > 0):
            parts.insert(0, "At these seeds no model-based run is resolved above the model-free baseline.")
        self.w("**Trends.** %s %s" % (budget, " ".join(parts)), "")
        self.video(r10)

    # --------------------------------------------------------------------------------------------
    def video(self, exp):
        """A GIF of the final policy: per seed in order, the run directory's GIF of the newest
        iteration (the largest number in its file name); else a line saying there is none."""
        entry = self.runs[exp]
        for seed in seeds_of(entry):
            run_dir = entry["used"][seed]["dir"]
            gifs = []
            for root, dirs, files in os.walk(run_dir):
                dirs.sort()
                for f in sorted(files):
                    if f.lower().endswith(".gif"):
                        rel = os.path.relpath(os.path.join(root, f), run_dir)
                        numbers = [int(x) for x in re.findall(r"\d+", rel)]
                        gifs.append((max(numbers) if numbers else -1, rel))
            if gifs:
                _, rel = max(gifs)
                self.w("**Video of the final policy** (`%s`, %s, seed %s, `%s`):" % (exp, self.label(exp), seed, rel),
                       "", "![%s](%s)" % (exp, self.rel(os.path.join(run_dir, rel))), "")
                return
        self.w("**Video of the final policy** (`%s`): no video recorded for this run." % exp, "")

    # --------------------------------------------------------------------------------------------
    def provenance(self):
        self.w("## Provenance", "",
               "Per run and seed: the run directory under `%s/`, the commit its binary was built from (`flags.csv`), "
               "the CPU and threads it ran on, and its wall time (the last `TimeSinceStart`)." % self.data, "",
               "| run | seed | directory | commit | CPU | threads | minutes |", "|---|---|---|---|---|---|---|")
        for exp in ALL_EXPS:
            entry = self.runs[exp]
            seeds = seeds_of(entry)
            if not seeds:
                self.w("| `%s` | - | no complete run | | | | |" % exp)
            for seed in seeds:
                run = entry["used"][seed]
                fl = run["flags"]
                t = agg.last_value(run["rows"], "TimeSinceStart")
                self.w("| `%s` | %s | `%s` | %s | %s | %s | %s |" % (
                    exp, seed, run["name"], ("`%s`" % fl["commit"]) if fl.get("commit") else "not recorded",
                    fl.get("cpu") or "not recorded", fl.get("threads") or "not recorded",
                    minutes(t) if t is not None else "not recorded"))
        self.w("", "## References", "", "- %s" % REFERENCE, "")

    def build(self):
        n_runs = sum(1 for e in ALL_EXPS if self.runs[e]["used"])
        n_seeds = sum(len(self.runs[e]["used"]) for e in ALL_EXPS)
        self.w("<!-- written by plot/report.py (make report) from the runs under %s/; do not edit -->" % self.data,
               "", "# CS285 HW4: model-based RL, the report", "",
               "The report of the assignment's problems from the runs under `%s/`: %d of its %d runs have a complete "
               "seed, %d complete runs in all. The figures are those `make plots` draws (`plot/plot.sh`), the numbers "
               "are computed here from the runs' CSV files, and the answers follow from the numbers by the rules "
               "below." % (self.data, n_runs, len(ALL_EXPS), n_seeds), "")
        head, self.lines = self.lines, []
        self.method()
        method, self.lines = self.lines, []
        for q in (self.q1, self.q2, self.q3, self.q4, self.q5, self.q6):
            q()
        self.provenance()
        summary = ["## Summary", "",
                   "Each question's answer in one line, by the rules of the next section (intervals: %d%% over "
                   "seeds, n = seeds):" % CONF, ""] + ["- %s" % line for line in self.summary] + [""]
        return "\n".join(head + summary + method + self.lines).rstrip("\n") + "\n"


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data", help="the directory of the runs (default: data)")
    p.add_argument("--out", default=os.path.join("docs", "report.md"), help="the Markdown file to write")
    args = p.parse_args(argv)
    text = Report(args.data.rstrip("/") or "/", args.out).build()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)
    print("report.py: wrote %s" % args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
