#!/usr/bin/env bash
# tests/report_test.sh OUT_DIR: plot/report.py on the fixture tests/fixtures/report/ (written by
# tests/make_report_fixture.py, whose comments work out the expected numbers by hand). Checks: the
# fixture is what the script writes; the report is the same bytes twice (other hash seeds); the
# planted numbers, intervals and orderings appear; runs in progress (rows missing, a checkpoint
# short of n_iter, a held .lock) are skipped and a stale .lock is not; a changed value changes the
# report; every image it links exists; the bootstrap's known cases, exact and resampled; and no
# string in plot/report.py types a number by hand. Part of `make test`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=${PYTHON:-/usr/bin/python3}
OUT=${1:?usage: tests/report_test.sh OUT_DIR}
FIX=$HERE/fixtures/report
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

fail() { echo "report_test: $*" >&2; exit 1; }
report() { "$PY" "$ROOT/plot/report.py" --data "$1" --out "$2" >/dev/null || fail "report.py failed on $1"; }
has() { grep -qF -- "$2" "$1" || fail "$(basename "$(dirname "$1")")/$(basename "$1") lacks: $2"; }
lacks() { ! grep -qF -- "$2" "$1" || fail "$(basename "$(dirname "$1")")/$(basename "$1") has: $2"; }

# The committed fixture is what tests/make_report_fixture.py writes.
"$PY" "$HERE/make_report_fixture.py" "$OUT/fixture"
diff -r "$FIX" "$OUT/fixture" >/dev/null || fail "tests/fixtures/report differs from what tests/make_report_fixture.py writes"

# Determinism: the same bytes from two runs under different hash seeds.
PYTHONHASHSEED=1 report "$FIX" "$OUT/a/report.md"
PYTHONHASHSEED=2 report "$FIX" "$OUT/b/report.md"
cmp -s "$OUT/a/report.md" "$OUT/b/report.md" || fail "two runs on the same data differ"
R=$OUT/a/report.md

# Planted numbers (the fixture's comments): Q1 losses and MPEs, the best model by loss, the MPE unresolved.
has "$R" "| 0.176 [0.163, 0.187] (n=3) | 0.304 [0.297, 0.311] (n=3) |"
has "$R" "| 0.702 [0.694, 0.713] (n=3) | 2.424 [1.414, 3.141] (n=3) |"
has "$R" "| 0.117 [0.112, 0.121] (n=3) | 0.273 [0.205, 0.401] (n=3) |"
has "$R" "\`q1_cheetah_n500_arch2x250\` (500 steps, 2 x 250) has the lowest final training loss"
has "$R" "\`q1_cheetah_n500_arch1x32\` against \`q1_cheetah_n500_arch2x250\`: unresolved at n=3 and 3 seeds; the difference of their MPEs"
has "$R" "loss goes below 0.2 by step 500 at 3 of 3 seeds"
# Q2
has "$R" "| -161.0 [-163.1, -158.6] (n=3) | -57.3 [-61.9, -52.6] (n=3) |"
has "$R" "an interval that contains the assignment's -160"
has "$R" "-57.3 [-61.9, -52.6] (n=3), within the assignment's range -70 to -50"
# Q3: within, below, past the top; the last-3 mean is the final minus the fixture's step
has "$R" "-22.4 [-23.2, -21.7] (n=3), within the assignment's range -25 to -20"
has "$R" "-312.5 [-321.5, -305.9] (n=3), below the assignment's range -300 to -250"
has "$R" "| 353.5 [341.7, 365.5] (n=3) | 343.5 [331.7, 355.5] (n=3) |"
has "$R" "Minutes per run: 25.3 [2.0, 72.0] (n=3) (the assignment: 180 to 240 without a GPU"
# Cheetah's fixture runs evaluate one episode (Eval_StdReturn 0), the others several, q1 none
has "$R" "- **Evaluation.** \`q3_cheetah\`, \`q5_cheetah_random\`, \`q5_cheetah_cem_2\`, \`q5_cheetah_cem_4\`, \`q6_cheetah_rlenl0\`, \`q6_cheetah_rlen1\`, \`q6_cheetah_rlen10\`: \`Eval_StdReturn\` is zero"
# Q4: all seeds equal (zero width); four seeds -270 x 3 and -250 (interval by hand [-270, -255], IQM -270)
has "$R" "| -290.0 [-290.0, -290.0] (n=3) | -300.0 [-300.0, -300.0] (n=3) |"
has "$R" "| -265.0 [-270.0, -255.0] (n=4) | -275.0 [-280.0, -265.0] (n=4) | -270.0 |"
has "$R" "- N = 1000 sequences beats N = 100 sequences:"
has "$R" "**Trend:** no ordering is resolved at these seeds, so the data show no effect of the horizon."
has "$R" "- Q4, the number of candidate action sequences: N = 1000 sequences beats N = 100 sequences (difference 61.3 ["
has "$R" "*Figure \`q4_horizon.png\` is not drawn yet"
has "$R" "at 3 of their 3 common seeds their Eval returns agree"
# Q5: separated seeds claim the order; overlapping ones do not
has "$R" "- CEM (4 iterations) beats random shooting:"
has "$R" "- CEM (4 iterations) against CEM (2 iterations): unresolved at n=3 and 3 seeds"
has "$R" "CEM (4 iterations) against CEM (2 iterations) (difference 44.9 ["
has "$R" "| 850.3 [780.5, 950.1] (n=3) |"
# Q6: one seed cannot be ordered
has "$R" "| 1234.5 [1101.1, 1367.9] (n=3) |"
has "$R" "at or above the assignment's 1000"
has "$R" "- Dyna (rollout length 1) against model-free SAC (rollout length 0): unresolved, with 1 and 3 seed(s)"
has "$R" "The final Eval of MBPO (rollout length 10) is 1234.5 [1101.1, 1367.9] (n=3), at or above the assignment's 1000."
# Runs in progress: skipped and listed, their values nowhere; a stale .lock (q3_reacher seed 3) counts.
has "$R" "(\`q5_cheetah_cem_4\`, seed 4): metrics.csv holds 2 of 5 iterations."
has "$R" "(\`q6_cheetah_rlen10\`, seed 4): its checkpoint.bin holds 2 of 4 iterations."
lacks "$R" "9876.5"
lacks "$R" "9826.5"
lacks "$R" "7777.7"
has "$R" "| \`q3_reacher\` | reacher-cs285-v0 | seeds 1, 2, 3 |"
# Videos: the newest iteration's GIF; another seed's when the first has none; none at all.
has "$R" "seed 1, \`video/itr_10.gif\`"
has "$R" "seed 2, \`eval_final.gif\`"
has "$R" "**Video of the final policy** (\`q3_cheetah\`): no video recorded for this run."
# Provenance
has "$R" "| \`fedcba9-dirty\` | Fixture CPU (family 6 model 85) avx2 fma | 1 | 72.0 |"
has "$R" "| \`q2_obstacles_singleiteration\` | 1 | \`hw4_q2_obstacles_singleiteration_obstacles-cs285-v0_01-01-2026_00-00-01\` | not recorded | not recorded | 1 |"
# Every image the report links exists, relative to the report.
n_img=0
while IFS= read -r path; do
    [[ -e $OUT/a/$path ]] || fail "the report links a missing file: $path"
    n_img=$((n_img + 1))
done < <(grep -o '!\[[^]]*\]([^)]*)' "$R" | sed 's/.*](\(.*\))$/\1/')
((n_img == 14)) || fail "$n_img images linked, expected 14 (12 figures, 2 GIFs)"

# A changed value changes the report: q3_cheetah seed 2's final Eval 353.3 -> 383.3, mean 363.5.
cp -r "$FIX" "$OUT/changed"
sed -i 's/^3,353.3,/3,383.3,/' "$OUT/changed/hw4_q3_cheetah_cheetah-cs285-v0_01-01-2026_00-00-02/metrics.csv"
report "$OUT/changed" "$OUT/changed.md"
has "$OUT/changed.md" "| 363.5 [341.7, 383.3] (n=3) |"
lacks "$OUT/changed.md" "353.5 [341.7, 365.5]"

# Questions without a complete run say so; an empty data directory still gives a report.
mkdir -p "$OUT/only_q2" "$OUT/empty"
cp -r "$FIX"/hw4_q2_* "$FIX"/hw4_q5_cheetah_random_* "$OUT/only_q2/"
report "$OUT/only_q2" "$OUT/only_q2.md"
has "$OUT/only_q2.md" "- Q1: not run yet."
has "$OUT/only_q2.md" "- Q6: not run yet."
has "$OUT/only_q2.md" "Not run yet (no complete seed): \`q5_cheetah_cem_2\`, \`q5_cheetah_cem_4\`"
has "$OUT/only_q2.md" "| -161.0 [-163.1, -158.6] (n=3) | -57.3 [-61.9, -52.6] (n=3) |"
report "$OUT/empty" "$OUT/empty.md"
has "$OUT/empty.md" "- Q2: not run yet."

# A run whose .lock a process holds is in progress: q3_cheetah seed 3 (held by a child, by its pid).
cp -r "$FIX" "$OUT/locked"
lock="$OUT/locked/hw4_q3_cheetah_cheetah-cs285-v0_01-01-2026_00-00-03/.lock"
# The holder prints "held" once it has the lock and ends when its standard input closes.
coproc "$PY" -c 'import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()' "$lock"
holder=$COPROC_PID
to_holder=${COPROC[1]} from_holder=${COPROC[0]}
read -r word <&"$from_holder"
[[ $word == held ]] || fail "could not hold $lock"
report "$OUT/locked" "$OUT/locked.md"
exec {to_holder}>&-
wait "$holder" 2>/dev/null || true
has "$OUT/locked.md" "(\`q3_cheetah\`, seed 3): a running process holds its .lock."
has "$OUT/locked.md" "| \`q3_cheetah\` | cheetah-cs285-v0 | seeds 1, 2; 1 run in progress not counted |"
lacks "$OUT/locked.md" "Fixture CPU"

# The statistics by hand: exact and resampled bootstrap intervals, the ordering rule.
"$PY" - "$ROOT/plot" <<'EOF' || fail "the bootstrap's known cases"
import sys
sys.path.insert(0, sys.argv[1])
import report as r

def check(got, want, what):
    if got != want:
        sys.exit("report_test: %s: got %r, expected %r" % (what, got, want))

check(r.bootstrap_ci([0.1] * 7), (0.1, 0.1), "seven equal seeds")
check(r.bootstrap_ci([0.0, 1.0]), (0.0, 1.0), "two seeds: their range")
# {0, 0, 0, 1}: k ones of 4 draws, P(k <= 2) = 243/256 < 97.5% <= P(k <= 3) = 255/256
check(r.bootstrap_ci([0.0, 0.0, 0.0, 1.0]), (0.0, 0.75), "{0, 0, 0, 1}")
check(r.bootstrap_ci([0.0, 1.0, 1.0, 1.0]), (0.25, 1.0), "{0, 1, 1, 1}")
# {0, 0, 0, 0, 1}: P(k <= 2) = 0.942 < 97.5% <= P(k <= 3) = 0.993 (99% would reach k = 4)
check(r.bootstrap_ci([0.0, 0.0, 0.0, 0.0, 1.0]), (0.0, 0.6), "{0, 0, 0, 0, 1}")
# {0, 1, 1}: P(all three draws 0) = 1/27 = 3.7%, at least 2.5% (a 90% interval would start at 1/3)
check(r.bootstrap_ci([0.0, 1.0, 1.0]), (0.0, 1.0), "{0, 1, 1}")
check(r.bootstrap_ci([0.0, 0.0, 0.0, 1.0], force_resampling=True), (0.0, 0.75), "{0, 0, 0, 1} resampled")
check(r.difference_ci([0.0, 0.0, 0.0, 1.0], [2.0, 2.0]), (-2.0, -1.25), "difference from a constant")
check(r.difference_ci([0.0, 0.0, 0.0, 1.0], [2.0, 2.0], force_resampling=True), (-2.0, -1.25),
      "difference from a constant, resampled")
many = [float(i % 7) for i in range(12)]  # beyond the exact enumeration: resampled, with a fixed seed
lo, hi = r.bootstrap_ci(many)
check((lo, hi), r.bootstrap_ci(many), "resampling twice")
if not lo < r.exact_mean(many) < hi or (lo, hi) == (0.0, 6.0):
    sys.exit("report_test: twelve seeds: interval %r around %r" % ((lo, hi), r.exact_mean(many)))
sep, low = r.Stat([("1", 10.0), ("2", 11.0), ("3", 12.0)]), r.Stat([("1", 1.0), ("2", 2.0), ("3", 3.0)])
check(r.order(sep, low)[0], 1, "separated seeds: the order is claimed")
check(r.order(low, sep)[0], -1, "separated seeds, the other way")
wide, mid = r.Stat([("1", 0.0), ("2", 10.0)]), r.Stat([("1", 5.0), ("2", 6.0)])
check(r.order(wide, mid)[0], 0, "overlapping seeds: unresolved")
check(r.order(r.Stat([("1", 10.0)]), r.Stat([("1", 1.0)]))[0], 0, "one seed each: unresolved")
EOF
# The whole report through the resampling path: the same bytes from two processes.
for k in 1 2; do
    "$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import report as r; r.EXACT_SUPPORT = 0
sys.stdout.write(r.Report(sys.argv[2], "/nonexistent/report.md").build())' "$ROOT/plot" "$FIX" >"$OUT/resampled$k.md"
done
cmp -s "$OUT/resampled1.md" "$OUT/resampled2.md" || fail "the resampled report differs between two processes"

# No number typed by hand: every string literal of plot/report.py but docstrings and REFERENCE,
# with its %-conversions and its words (names such as q1_cheetah_n500_arch1x32 or Q3) taken out,
# holds no digit. Numbers come from the runs, ASSIGNMENT or the method constants.
"$PY" - "$ROOT/plot/report.py" <<'EOF' || fail "plot/report.py types a number into its text"
import ast, re, sys
tree = ast.parse(open(sys.argv[1]).read())
skip = set()
for node in ast.walk(tree):
    body = getattr(node, "body", None)
    if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and body and isinstance(body[0], ast.Expr):
        skip.add(id(body[0].value))
    if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "REFERENCE" for t in node.targets):
        skip.update(id(n) for n in ast.walk(node.value))
bad = []
for node in ast.walk(tree):
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
        text = re.sub(r"%[-+ #0]*\d*(?:\.\d+|\.\*)?[sdfgr%]", "", node.value)
        text = re.sub(r"[A-Za-z_][A-Za-z0-9_.\-]*", "", text)
        if re.search(r"\d", text):
            bad.append("line %d: %r" % (node.lineno, node.value))
if bad:
    sys.exit("report_test: numbers typed into strings:\n  " + "\n  ".join(bad))
EOF
echo "report_test: the report of tests/fixtures/report is right, the same twice, and skips the runs in progress"
