#!/usr/bin/env python3
"""Aggregate the runs of several seeds (Python standard library only).

  plot/aggregate.py series DATA_DIR EXP_NAME OUT_CSV
      One CSV for the plots: per iteration, the mean over seeds of every metrics.csv column (same
      column names), and <column>_min, <column>_max, <column>_std, and n (seeds with that
      iteration). Prints the number of seeds (0: no run; OUT_CSV is then not written) and, after
      a space, how many of them are still incomplete (their runs give only the rows they have).

  plot/aggregate.py losses DATA_DIR EXP_NAME OUT_CSV
      The same for the runs' losses.csv (the model's training loss by step at iteration 0, which
      q1 plots): per step the mean over seeds of Training Loss, its _min, _max, _std, and n.
      Prints as series does (seeds without a losses.csv are not counted).

  plot/aggregate.py first DATA_DIR EXP_NAME [COLUMN]
      The run of the lowest seed (the run series uses for that seed), then a tab and the seed;
      nothing if there is no run. The figures of one run (q1's) show this one. With COLUMN, the
      lowest seed whose run has a value in that metrics.csv column, then a tab and the lower
      seeds passed over (comma-separated, "-" if none); if no run has a value: "-", "-" and why
      ("no column": no run's metrics.csv has the column; "no values": its cells are empty). The
      model diagnostics figures use COLUMN Model_OneStepError.

  plot/aggregate.py results DATA_DIR COMMANDS_FILE OUT_MD [--readme README.md]
      The results table: one row per command of COMMANDS_FILE (the list `make commands` prints;
      the question is the binary's name, the run its --exp_name), with the final and the best
      Eval_AverageReturn, the final Train_AverageReturn and training loss as mean +- std over
      seeds, the number of seeds, the mean wall time, the assignment's expectation and the figure.
      With --readme, a shorter table (run, minutes per run, the assignment's expectation, the final
      Eval_AverageReturn as mean +- std (n), the figure) replaces the block between
      <!-- results --> and <!-- /results --> in that file. Both tables mark with **below** a
      mean that falls short of the assignment's number (EXPECT, SHORTFALL_RULE), and say which
      CPU and threads the times come from (flags.csv's cpu and threads; runs on several CPUs,
      or some without a record, get a letter per CPU beside their time, "?" for none).

  plot/aggregate.py sweep JOBLOG... [--cores N] [--csv OUT_CSV]
      How long a sweep took and how busy it kept the machine, from GNU parallel's job log(s)
      (DATA/sweep/<time>/joblog.tsv; several logs: the sittings of a sweep restarted): wall
      time (each sitting from its first start to its last end, the sittings added), the sum of
      the jobs' times, and the busy fraction sum(run time x threads) / (wall time x N cores) (N:
      os.cpu_count() unless given; threads: the OMP_NUM_THREADS sweep.sh gave each job, in its
      command). A run stopped with its sitting is not in the job log: its run log's last write
      ends it (sweep_jobs). Runs skipped as complete are counted apart. With --csv, one row per
      job for plot/sweep.gp (the figure of the jobs over time).

Which runs count: run directories DATA_DIR/hw4_<exp_name>_<env>_<dd-mm-YYYY_HH-MM-SS>[_k] with a
flags.csv (exp_name, seed and n_iter are read from it) and a metrics.csv. A run is complete when
its metrics.csv has n_iter data rows. For each (exp_name, seed) one run is used: the newest
complete one, else the newest incomplete one. Plots draw incomplete runs too (a run in progress
shows what it has); the results table uses complete runs only and notes the incomplete ones.
"""
import csv
import math
import os
import re
import shlex
import statistics
import sys

STAMP = re.compile(r"_(\d\d)-(\d\d)-(\d{4})_(\d\d)-(\d\d)-(\d\d)(?:_(\d+))?$")


def to_float(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_rows(path):
    """(columns, rows) of a CSV file a run writes, whole rows only; ([], []) if it has none."""
    if not os.path.isfile(path):
        return [], []
    with open(path, newline="") as f:
        text = f.read()
    lines = text.split("\n")[:-1] if text else []  # a last line without its newline is being written
    if not lines:
        return [], []
    return lines[0].split(","), list(csv.DictReader(lines))


def read_run(path):
    flags_file = os.path.join(path, "flags.csv")
    metrics_file = os.path.join(path, "metrics.csv")
    if not (os.path.isfile(flags_file) and os.path.isfile(metrics_file)):
        return None
    flags = {}
    with open(flags_file, newline="") as f:
        next(f, None)
        for line in f:
            key, _, value = line.rstrip("\n").partition(",")
            flags[key] = value
    columns, rows = read_rows(metrics_file)
    if not columns:
        return None
    m = STAMP.search(os.path.basename(path))
    if m is None or "exp_name" not in flags:
        return None
    d, mo, y, hh, mi, ss, k = m.groups()
    try:
        n_iter = int(flags.get("n_iter", ""))
    except ValueError:
        n_iter = None
    return {
        "dir": path,
        "exp": flags["exp_name"],
        "seed": flags.get("seed", "?"),
        "cpu": flags.get("cpu", ""),          # "" in runs from before flags.csv had the field
        "threads": flags.get("threads", ""),
        "n_iter": n_iter,
        "rows": rows,
        "columns": columns,
        "complete": n_iter is not None and len(rows) >= n_iter,
        "key": (y, mo, d, hh, mi, ss, int(k or 1), os.path.getmtime(path)),
    }


def runs_by_seed(data_dir, exp):
    """{seed: run} for one exp_name: the newest complete run of each seed, else the newest."""
    best = {}
    prefix = "hw4_" + exp + "_"
    for name in sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else []:
        if not name.startswith(prefix):
            continue
        run = read_run(os.path.join(data_dir, name))
        if run is None or run["exp"] != exp:
            continue
        old = best.get(run["seed"])
        if old is None or (run["complete"], run["key"]) > (old["complete"], old["key"]):
            best[run["seed"]] = run
    return best


def fmt(v):
    return "" if v is None else "%.9g" % v


def mean_over_seeds(tables, key, out):
    """tables: (columns, rows) of each seed's run. Writes per value of the `key` column the mean,
    _min, _max and _std of every other column and n, the seeds that have that row."""
    columns = next((cols for cols, _ in tables if cols), [])
    columns = [c for c in columns if c != key]
    by_key = {}
    for _, rows in tables:
        for row in rows:
            k = to_float(row.get(key))
            if k is not None:
                by_key.setdefault(int(k), []).append(row)
    header = [key, "n"] + columns + [c + s for c in columns for s in ("_min", "_max", "_std")]
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for it in sorted(by_key):
            rows = by_key[it]
            mean, lo, hi, sd = {}, {}, {}, {}
            for c in columns:
                vals = [v for v in (to_float(r.get(c)) for r in rows) if v is not None]
                if vals:
                    mean[c], lo[c], hi[c] = statistics.fmean(vals), min(vals), max(vals)
                    sd[c] = statistics.stdev(vals) if len(vals) > 1 else 0.0
            w.writerow([it, len(rows)] + [fmt(mean.get(c)) for c in columns] +
                       [fmt(d.get(c)) for c in columns for d in (lo, hi, sd)])


def series(data_dir, exp, out):
    runs = list(runs_by_seed(data_dir, exp).values())
    if not runs:
        print(0, 0)
        return
    mean_over_seeds([(run["columns"], run["rows"]) for run in runs], "Iteration", out)
    print(len(runs), sum(1 for run in runs if not run["complete"]))


def losses(data_dir, exp, out):
    runs = list(runs_by_seed(data_dir, exp).values())
    tables = [read_rows(os.path.join(run["dir"], "losses.csv")) for run in runs]
    kept = [(run, t) for run, t in zip(runs, tables) if t[1]]
    if not kept:
        print(0, 0)
        return
    mean_over_seeds([t for _, t in kept], "step", out)
    print(len(kept), sum(1 for run, _ in kept if not run["complete"]))


def seed_order(seed):
    v = to_float(seed)
    return (0, v, "") if v is not None else (1, 0.0, seed)


def first_seed(data_dir, exp, column=None):
    runs = runs_by_seed(data_dir, exp)
    if not runs:
        return
    if column is None:
        seed = min(runs, key=seed_order)
        print(runs[seed]["dir"] + "\t" + seed)
        return
    passed = []
    for seed in sorted(runs, key=seed_order):
        run = runs[seed]
        if any(to_float(row.get(column)) is not None for row in run["rows"]):
            print("%s\t%s\t%s" % (run["dir"], seed, ",".join(passed) or "-"))
            return
        passed.append(seed)
    print("-\t-\t" + ("no values" if any(column in run["columns"] for run in runs.values()) else "no column"))


# What the assignment expects of each run (docs/reference.md section 5), for the results tables:
# the words, and the number a run falls short of when its mean is below it (None: the assignment
# gives no number to fall short of). For q1 the number is a loss to get under; for the others, the
# lowest final Eval return the assignment expects (its range's lower end, or its "about X or more").
EXPECT = {
    "q1_cheetah_n500_arch1x32": ("loss below 0.2 by step 500", 0.2),
    "q1_cheetah_n5_arch2x250": ("no number (compare the MPE)", None),
    "q1_cheetah_n500_arch2x250": ("no number (compare the MPE)", None),
    "q2_obstacles_singleiteration": ("Train about -160, Eval -70 to -50", -70.0),
    "q3_obstacles": ("-25 to -20; about 40 min", -25.0),
    "q3_reacher": ("-300 to -250; 2-3 h", -300.0),
    "q3_cheetah": ("250 to 350; 3-4 h", 250.0),
    "q4_reacher_horizon5": ("no number (effect of the horizon)", None),
    "q4_reacher_horizon15": ("no number (effect of the horizon)", None),
    "q4_reacher_horizon30": ("no number (effect of the horizon)", None),
    "q4_reacher_numseq100": ("no number (effect of the sequences)", None),
    "q4_reacher_numseq1000": ("no number (effect of the sequences)", None),
    "q4_reacher_ensemble1": ("no number (effect of the ensemble size)", None),
    "q4_reacher_ensemble3": ("no number (effect of the ensemble size)", None),
    "q4_reacher_ensemble5": ("no number (effect of the ensemble size)", None),
    "q5_cheetah_random": ("no number (random shooting against CEM)", None),
    "q5_cheetah_cem_2": ("about 800 or more (CEM)", 800.0),
    "q5_cheetah_cem_4": ("about 800 or more (CEM); 2-3 h on a GPU, over twice that without", 800.0),
    "q6_cheetah_rlenl0": ("no number (model-free SAC baseline)", None),
    "q6_cheetah_rlen1": ("no number (Dyna)", None),
    "q6_cheetah_rlen10": ("about 1000 or more; about 100 min on a GPU", 1000.0),
}
SHORT = "**below**"  # the mark of a shortfall in the tables
SHORTFALL_RULE = (
    "**below**: the mean over seeds falls short of the number the assignment gives: the final"
    " Eval return is under the lower end of its range or under its \"about X or more\" (q2: the"
    " Eval return; q1: the final training loss is not under the loss it names). A mean above a"
    " range is not marked; runs the assignment gives no number for are never marked.")


def expect_text(exp):
    return EXPECT.get(exp, ("", None))[0]


def shortfall(exp, s):
    """True when the run's mean falls short of the assignment's number (SHORTFALL_RULE)."""
    target = EXPECT.get(exp, ("", None))[1]
    if target is None:
        return False
    if exp.startswith("q1_"):
        vals = [v for v in s["losses"] if v is not None]
        return bool(vals) and statistics.fmean(vals) >= target
    vals = [v for v in s["finals"] if v is not None]
    return bool(vals) and statistics.fmean(vals) < target


def figure(exp):
    """The figure (under data/figures/) that shows a run, as plot/plot.sh names it."""
    if exp.startswith("q1_"):
        return exp + "_predictions.png"
    if exp.startswith("q2_"):
        return "q2_returns.png"
    if exp.startswith("q4_reacher_"):
        for kind in ("horizon", "numseq", "ensemble"):
            if exp.startswith("q4_reacher_" + kind):
                return "q4_%s.png" % kind
    if exp.startswith("q5_"):
        return "q5_cem.png"
    if exp.startswith("q6_"):
        return "q6_mbpo.png"
    if exp.startswith("q3_"):
        return exp + ".png"
    return None


def mean_std(vals, digits):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "—"
    if len(vals) == 1:
        return "%.*f" % (digits, vals[0])
    return "%.*f ± %.*f" % (digits, statistics.fmean(vals), digits, statistics.stdev(vals))


def duration(seconds):
    if seconds is None:
        return "—"
    if seconds < 10:
        return "%.1f s" % seconds
    s = int(round(seconds))
    if s < 60:
        return "%d s" % s
    if s < 3600:
        return "%d min %d s" % (s // 60, s % 60)
    return "%d h %d min" % (s // 3600, (s % 3600) // 60)


def last_value(rows, col):
    for row in reversed(rows):
        v = to_float(row.get(col))
        if v is not None:
            return v
    return None


def minutes(seconds):
    m = seconds / 60.0
    if m < 0.1:
        return "< 0.1"
    return "%.1f" % m if m < 10 else "%.0f" % m


def summarize(data_dir, exp):
    """What the tables say about one exp_name: its complete runs (per seed the newest) and more."""
    by_seed = runs_by_seed(data_dir, exp)
    done = [r for _, r in sorted(by_seed.items(), key=lambda kv: (len(kv[0]), kv[0])) if r["complete"]]
    bests = []
    for r in done:
        vals = [v for v in (to_float(row.get("Eval_AverageReturn")) for row in r["rows"]) if v is not None]
        bests.append(max(vals) if vals else None)
    return {
        "done": done,
        "partial": len(by_seed) - len(done),
        "seeds": [r["seed"] for r in done],
        "finals": [last_value(r["rows"], "Eval_AverageReturn") for r in done],
        "trains": [last_value(r["rows"], "Train_AverageReturn") for r in done],
        "bests": bests,
        "losses": [last_value(r["rows"], "Training Loss") for r in done],
        "times": [v for v in (last_value(r["rows"], "TimeSinceStart") for r in done) if v is not None],
    }


def ours(s):
    """The README's result cell: mean ± std (n) of the final Eval_AverageReturn (q1: the final
    training loss; q2: Train and Eval, as the assignment states both), marked when it falls short
    of the assignment's number."""
    n = len(s["done"])
    if n == 0:
        text = "not run yet"
    elif all(v is None for v in s["finals"]):
        text = "loss %s (n=%d)" % (mean_std(s["losses"], 3), n)
    elif s["done"][0]["exp"].startswith("q2_"):
        text = "Train %s, Eval %s (n=%d)" % (mean_std(s["trains"], 1), mean_std(s["finals"], 1), n)
    else:
        text = "%s (n=%d)" % (mean_std(s["finals"], 1), n)
    if n and shortfall(s["done"][0]["exp"], s):
        text += " " + SHORT
    if s["partial"]:
        text += "; %d seed%s incomplete" % (s["partial"], "s" if s["partial"] > 1 else "")
    return text


def machines(stats):
    """Which CPU and threads the wall times come from, from the complete runs' flags.csv: a
    function giving a row's mark for its minutes ("" when no row needs one) and the sentence that
    says what the marks mean. One CPU for every run: no marks, the sentence names it. No CPU
    recorded: no marks, the sentence says so. Otherwise each row is marked with letters, one per
    CPU, and "?" for runs without a record."""
    runs = [r for s in stats for r in s["done"]]
    if not runs:
        return (lambda s: ""), "no complete run"
    cpus = []
    for r in runs:
        if r["cpu"] and r["cpu"] not in cpus:
            cpus.append(r["cpu"])
    unrecorded = any(not r["cpu"] for r in runs)
    threads = {r["threads"] for r in runs}
    if threads == {"1"}:
        on = "one thread"
    elif len(threads) == 1 and "" not in threads:
        on = "%s threads" % threads.pop()
    elif threads == {""}:
        on = "threads not recorded"
    else:
        on = "threads differing between runs (flags.csv's `threads`)"
    old = "runs made before flags.csv had a `cpu` field"
    if not cpus:
        return (lambda s: ""), "%s; the CPU is not recorded (%s)" % (on, old)
    if len(cpus) == 1 and not unrecorded:
        return (lambda s: ""), "%s on %s (flags.csv's `cpu`)" % (on, cpus[0])
    label = {c: "abcdefghijklmnopqrstuvwxyz"[i] if i < 26 else str(i + 1) for i, c in enumerate(cpus)}

    def mark(s):
        marks = [label[c] for c in cpus if any(r["cpu"] == c for r in s["done"])]
        if any(not r["cpu"] for r in s["done"]):
            marks.append("?")
        return " (%s)" % ", ".join(marks) if marks else ""
    legend = "; ".join("%s = %s" % (label[c], c) for c in cpus)
    if unrecorded:
        legend += "; ? = not recorded (%s)" % old
    return mark, "%s; the CPU after each time, from flags.csv's `cpu`: %s" % (on, legend)


def results(data_dir, commands_file, out, readme=None):
    runs_listed = []  # (question, exp_name) in the order of the command list, each once
    with open(commands_file) as f:
        for line in f:
            words = shlex.split(line)
            if not words or "--exp_name" not in words[:-1]:
                continue
            question = os.path.basename(words[0])
            exp = words[words.index("--exp_name") + 1]
            if (question, exp) not in runs_listed:
                runs_listed.append((question, exp))
    stats = {exp: summarize(data_dir, exp) for _, exp in runs_listed}
    cpu_mark, cpu_text = machines([stats[exp] for _, exp in runs_listed])
    # data/results.md: everything per run
    lines = [
        "<!-- written by plot/aggregate.py (make results) from the metrics.csv files under %s/; do not edit -->" % data_dir,
        "",
        "| question | run | seeds | final Eval_AverageReturn | best Eval_AverageReturn | final Train_AverageReturn |"
        " final training loss | mean wall time | assignment expects | figure |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for question, exp in runs_listed:
        s = stats[exp]
        n = len(s["done"])
        seeds = "%d (seed%s %s)" % (n, "s" if n > 1 else "", ", ".join(s["seeds"])) if n else "0"
        if s["partial"]:
            seeds += ", %d incomplete" % s["partial"]
        fig = figure(exp)
        short = " " + SHORT if n and shortfall(exp, s) else ""
        final, loss = mean_std(s["finals"], 1), mean_std(s["losses"], 3)
        if exp.startswith("q1_"):
            loss += short
        else:
            final += short
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            question, exp, seeds, final, mean_std(s["bests"], 1), mean_std(s["trains"], 1),
            loss, duration(statistics.fmean(s["times"])) + cpu_mark(s) if s["times"] else "—",
            expect_text(exp), "[%s](figures/%s)" % (fig, fig) if fig else ""))
    lines += [
        "",
        "Mean ± sample standard deviation over the seeds (one value: a single seed). Final: the last"
        " iteration's value; best: the highest Eval_AverageReturn of any iteration; wall time: the last"
        " TimeSinceStart, %s. Only complete runs count (metrics.csv has n_iter rows); per seed, the"
        " newest complete run is used." % cpu_text,
        "",
        SHORTFALL_RULE,
    ]
    text = "\n".join(lines) + "\n"
    with open(out, "w") as f:
        f.write(text)
    if readme:
        # README.md: one row per run, the assignment's expectation beside ours
        rel = os.path.relpath(os.path.join(data_dir, "figures"), os.path.dirname(os.path.abspath(readme)) or ".")
        short = [
            "<!-- written by plot/aggregate.py (make results) from the metrics.csv files under %s/; do not edit -->" % data_dir,
            "",
            "| run | min per run | the assignment expects | ours: final Eval return, mean ± std (n seeds) | figure |",
            "|---|---|---|---|---|",
        ]
        for question, exp in runs_listed:
            s = stats[exp]
            fig = figure(exp)
            short.append("| `%s` | %s | %s | %s | %s |" % (
                exp, minutes(statistics.fmean(s["times"])) + cpu_mark(s) if s["times"] else "—", expect_text(exp), ours(s),
                "[%s](%s/%s)" % (fig[:-4], rel, fig) if fig else ""))
        short += [
            "",
            "Minutes: the mean wall time of a run (its last TimeSinceStart), %s. Std: the sample"
            " standard deviation over seeds (none with n=1). q1 shows the final training loss, q2 the"
            " Train and Eval returns of its one iteration. Complete runs only, per seed the newest;"
            " more columns in [data/results.md](%s)." % (cpu_text, os.path.relpath(
                os.path.abspath(out), os.path.dirname(os.path.abspath(readme)))),
            "",
            SHORTFALL_RULE,
        ]
        block = "\n".join(short) + "\n"
        with open(readme) as f:
            doc = f.read()
        begin, end = "\n<!-- results -->\n", "\n<!-- /results -->\n"  # each a line of its own
        i = doc.find(begin)
        j = doc.find(end, i + 1) if i >= 0 else -1
        if i < 0 or j < 0:
            sys.exit("aggregate.py: %s has no %s ... %s block" % (readme, begin.strip(), end.strip()))
        new = doc[: i + len(begin)] + block + doc[j + 1:]
        if new != doc:
            with open(readme, "w") as f:
                f.write(new)
    print("wrote %s (%d runs)%s" % (out, len(runs_listed), " and its block in " + readme if readme else ""))


def sweep_jobs(joblogs):
    """The jobs of a sweep's sittings, one job log (and directory) per sitting: a list of dicts
    sitting, start, seconds, threads, name, question (the binary: q1 .. q6), exit (None: not in
    the job log) and skipped (the run
    was complete already: its run log starts with "skip:"). A job that a sitting's job log lacks
    but whose run log (<name>.log beside it) exists was stopped when its sitting ended, or is
    still running: it ends at its run log's last write and is taken to have started when the
    latest job before that ended (or when the sitting began)."""
    jobs = []
    for sitting, path in enumerate(joblogs):
        logged = []
        with open(path, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                words = row["Command"].split()
                # sweep.sh _run LOG NAME THREADS COMMAND...
                k = words.index("_run") if "_run" in words else -1
                logged.append({"sitting": sitting, "start": float(row["Starttime"]),
                               "seconds": float(row["JobRuntime"]),
                               "threads": int(words[k + 3]) if k >= 0 else 1,
                               "name": words[k + 2] if k >= 0 else row["Command"][:40],
                               "question": os.path.basename(words[k + 4]) if 0 <= k < len(words) - 4 else "",
                               "exit": int(row["Exitval"])})
        folder = os.path.dirname(os.path.abspath(path))
        began = min([j["start"] for j in logged] + [os.path.getmtime(os.path.join(folder, "jobs.txt"))]
                    if os.path.exists(os.path.join(folder, "jobs.txt")) else [j["start"] for j in logged] or [0.0])
        names = {j["name"] for j in logged}
        ends = sorted([began] + [j["start"] + j["seconds"] for j in logged])
        stopped = []
        for entry in sorted(os.listdir(folder)):
            name = entry[:-4]
            if not entry.endswith(".log") or name in names:
                continue
            end = os.path.getmtime(os.path.join(folder, entry))
            start = max([t for t in ends if t <= end] or [began])
            stopped.append({"sitting": sitting, "start": start, "seconds": end - start, "threads": 1,
                            "name": name, "question": "", "exit": None})
        for j in logged + stopped:
            try:
                with open(os.path.join(folder, j["name"] + ".log")) as f:
                    j["skipped"] = f.read(5) == "skip:"
            except OSError:
                j["skipped"] = False
        jobs += logged + stopped
    # A stopped job's question (its binary): from a sitting that logged it, else its name's start.
    binary = {j["name"]: j["question"] for j in jobs if j["question"]}
    for j in jobs:
        j["question"] = j["question"] or binary.get(j["name"], j["name"].split("_")[0])
    return jobs


def sweep_report(joblogs, cores, csv_out=None):
    jobs = sweep_jobs(joblogs)
    if not jobs:
        sys.exit("aggregate.py sweep: no jobs in " + " ".join(joblogs))
    # Wall time: each sitting from its first start to its last end (the time between sittings,
    # when nothing ran, does not count).
    walls = {}
    for j in jobs:
        a, b = walls.get(j["sitting"], (j["start"], j["start"] + j["seconds"]))
        walls[j["sitting"]] = (min(a, j["start"]), max(b, j["start"] + j["seconds"]))
    wall = sum(b - a for a, b in walls.values())
    busy = sum(j["seconds"] * j["threads"] for j in jobs)
    failed = sum(1 for j in jobs if j["exit"] not in (0, None))
    unfinished = sum(1 for j in jobs if j["exit"] is None)
    skipped = sum(1 for j in jobs if j["skipped"])
    runs = len({j["name"] for j in jobs if not j["skipped"]})
    if csv_out:
        # For plot/sweep.gp: one row per job on the sittings' time laid end to end (hours), with
        # the slot (0 .. cores - 1) it ran in, first free slot first.
        offset, t0 = {}, 0.0
        for s in sorted(walls):
            offset[s] = t0 - walls[s][0]
            t0 += walls[s][1] - walls[s][0]
        free = {}
        with open(csv_out, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["name", "sitting", "slot", "start_h", "end_h", "question", "status"])
            for j in sorted(jobs, key=lambda j: (j["sitting"], j["start"])):
                if j["skipped"]:
                    continue
                start, end = j["start"], j["start"] + j["seconds"]
                slots = free.setdefault(j["sitting"], [walls[j["sitting"]][0]] * cores)
                slot = min(range(cores), key=lambda i: (slots[i] > start + 1.0, i))
                slots[slot] = end
                question = j["question"]
                status = "unfinished" if j["exit"] is None else ("ok" if j["exit"] == 0 else "failed")
                w.writerow([j["name"], j["sitting"], slot, fmt((start + offset[j["sitting"]]) / 3600.0),
                            fmt((end + offset[j["sitting"]]) / 3600.0), question, status])
        with open(csv_out + ".sittings", "w", newline="") as f:  # where each sitting ends, in hours
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["end_h"])
            for s in sorted(walls):
                w.writerow([fmt((walls[s][1] + offset[s]) / 3600.0)])
    print("sweep: %d runs (%d failed), wall time %s%s, run times summed %s, cores busy %.0f%% (%d cores)"
          % (runs, failed, duration(wall), " in %d sittings" % len(walls) if len(walls) > 1 else "",
             duration(sum(j["seconds"] for j in jobs)), 100.0 * busy / (wall * cores) if wall > 0 else 0.0, cores))
    if unfinished or skipped:
        print("  (%d jobs: %d skipped as complete, %d not in a job log: stopped with their sitting or still running)"
              % (len(jobs), skipped, unfinished))
    for j in sorted(jobs, key=lambda j: -j["seconds"]):
        if j["skipped"]:
            continue
        print("  %-40s %10s  %d thread(s)  %s" % (j["name"], duration(j["seconds"]), j["threads"],
                                                  "unfinished" if j["exit"] is None else "exit %d" % j["exit"]))


def main(argv):
    if len(argv) >= 2 and argv[0] == "sweep":
        logs, cores, csv_out = argv[1:], os.cpu_count() or 1, None
        if "--cores" in logs:
            i = logs.index("--cores")
            cores = int(logs[i + 1])
            logs = logs[:i] + logs[i + 2:]
        if "--csv" in logs:
            i = logs.index("--csv")
            csv_out = logs[i + 1]
            logs = logs[:i] + logs[i + 2:]
        sweep_report(logs, cores, csv_out)
        return
    if len(argv) == 4 and argv[0] == "series":
        series(argv[1], argv[2], argv[3])
    elif len(argv) == 4 and argv[0] == "losses":
        losses(argv[1], argv[2], argv[3])
    elif len(argv) in (3, 4) and argv[0] == "first":
        first_seed(*argv[1:])
    elif len(argv) in (4, 6) and argv[0] == "results":
        readme = None
        if len(argv) == 6:
            if argv[4] != "--readme":
                sys.exit(__doc__)
            readme = argv[5]
        results(argv[1], argv[2], argv[3], readme)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (head, say) stopped reading: no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
