#!/usr/bin/env bash
# tests/plot_test.sh OUT_DIR: runs plot/plot.sh on the CSV fixture tests/fixtures/plot/ (one tiny
# run per exp_name, written by tests/make_plot_fixture.py) and checks that every figure plot.sh
# promises (plot/README.md's table) exists, is non-empty and is a PNG, and, from the settings each
# gnuplot script writes beside its figure (PLOT_CHECK_DIR), what the figures show: axis labels,
# y ranges, marks, titles and keys. Part of `make test`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: tests/plot_test.sh OUT_DIR}
CHECK=$OUT/check
rm -rf "$OUT"
PLOT_CHECK_DIR=$CHECK "$HERE/../plot/plot.sh" "$HERE/fixtures/plot" "$OUT" >"$OUT.log" 2>&1 ||
    { cat "$OUT.log"; echo "plot_test: plot.sh failed" >&2; exit 1; }
expected=(
    q1_cheetah_n500_arch1x32_predictions.png q1_cheetah_n5_arch2x250_predictions.png
    q1_cheetah_n500_arch2x250_predictions.png
    q1_cheetah_n500_arch1x32_losses.png q1_cheetah_n5_arch2x250_losses.png q1_cheetah_n500_arch2x250_losses.png
    q1_losses.png
    q2_returns.png
    q3_obstacles.png q3_reacher.png q3_cheetah.png
    q4_ensemble.png q4_numseq.png q4_horizon.png
    q5_cem.png
    q6_mbpo.png
    q3_obstacles_model.png q4_reacher_ensemble1_model.png q6_cheetah_rlenl0_model.png
    beyond_obstacles_true.png
)
bad=0
for f in "${expected[@]}"; do
    p="$OUT/$f"
    if [[ ! -s $p ]]; then
        echo "plot_test: missing or empty: $p" >&2
        bad=1
    elif [[ $(head -c 8 "$p" | od -An -tx1 | tr -d ' \n') != 89504e470d0a1a0a ]]; then
        echo "plot_test: not a PNG: $p" >&2
        bad=1
    fi
done
if grep -qi "warning" "$OUT.log"; then
    cat "$OUT.log"
    echo "plot_test: plot.sh warned" >&2
    bad=1
fi
((bad == 0)) || { cat "$OUT.log"; exit 1; }

fail() {
    echo "plot_test: $*" >&2
    exit 1
}
# The settings files of a figure: <name>.txt, or <name>.panel<k>.txt per panel.
sidecars() {
    compgen -G "$CHECK/$1.txt" || true
    compgen -G "$CHECK/$1.panel[0-9]*.txt" || true
}
# A label as gnuplot's `save set` writes it (empty when unset).
label() {
    sed -n "s/^set $2 \"\(.*\)\" *\$/\1/p" "$1" | head -n 1
}
# The y range drawn, "MIN MAX".
drawn() {
    sed -n 's/^# drawn y range: //p' "$1"
}
# Every figure (each of its panels) draws an x and a y label.
for f in "${expected[@]}"; do
    files=$(sidecars "${f%.png}")
    [[ -n $files ]] || fail "no settings written for $f (PLOT_CHECK_DIR)"
    for c in $files; do
        [[ -n $(label "$c" xlabel) ]] || fail "${c##*/}: no x label"
        [[ -n $(label "$c" ylabel) ]] || fail "${c##*/}: no y label"
    done
done
# The model diagnostics: a title with the seed on every panel; one member: no disagreement panel
# (2 panels, annotated), and the lowest seed with diagnostics (seed 1's run has no Model_*
# columns); q6_cheetah_rlen10 (no Model_* columns) is skipped with a note.
for f in $(sidecars '*_model'); do
    grep -Eq '^# title: .*, seed [0-9]+$' "$f" || fail "${f##*/}: a diagnostics title without the seed: $(grep '^# title' "$f")"
done
[[ $(sidecars q4_reacher_ensemble1_model | wc -l) == 2 ]] || fail "q4_reacher_ensemble1_model.png: one member, yet not 2 panels"
[[ $(sidecars q3_obstacles_model | wc -l) == 3 ]] || fail "q3_obstacles_model.png: not 3 panels"
grep -q '^# title: .*q4_reacher_ensemble1, seed 2$' "$CHECK/q4_reacher_ensemble1_model.panel1.txt" &&
    grep -q '^(one member: no disagreement.*seed 1: no diagnostics in the run)$' "$CHECK/q4_reacher_ensemble1_model.panel1.txt" ||
    fail "q4_reacher_ensemble1_model.png: not seed 2's, or its title misses the member or seed 1 note"
[[ ! -e $OUT/q6_cheetah_rlen10_model.png ]] || fail "q6_cheetah_rlen10_model.png drawn from runs without Model_* columns"
grep -Eq '^skip <exp>_model.png for .*q6_cheetah_rlen10[ :].*no Model_\* columns' "$OUT.log" || fail "no note for q6_cheetah_rlen10's model figure"
# q3 and q6: the y range comes from iterations 1 on (and the assignment's range), so iteration 0's
# outlier (Train -2500, Eval -3000) is outside it and marked with its value and an arrow. q3
# cheetah's learning curve and band span 92 .. 401; q6's 100 .. 1000.
in_range() { # FILE LO HI OUTLIER: the drawn range lies within LO .. HI widened by 30%, OUTLIER out
    read -r ymin ymax <<<"$(drawn "$1")"
    awk -v a="$ymin" -v b="$ymax" -v lo="$2" -v hi="$3" -v o="$4" \
        'BEGIN { w = 0.3 * (hi - lo); exit !(a >= lo - w && a <= lo && b <= hi + w && b >= hi && (o < a || o > b)) }' ||
        fail "${1##*/}: y range drawn $ymin .. $ymax, expected about $2 .. $3 without $4"
    grep -q "^set label .*\"[^\"]* at iteration 0: $4[^\"]*\"" "$1" || fail "${1##*/}: iteration 0's $4 not marked"
    grep -q '^set arrow ' "$1" || fail "${1##*/}: no arrow at iteration 0"
}
in_range "$CHECK/q3_cheetah.txt" 92 401 -2500
in_range "$CHECK/q6_mbpo.txt" 100 1000 -3000
# q3's range holds the assignment's band: on obstacles it is above the learning curve (whose
# top is -39)
for spec in "obstacles -25 -20" "reacher -300 -250" "cheetah 250 350"; do
    read -r env lo hi <<<"$spec"
    read -r ymin ymax <<<"$(drawn "$CHECK/q3_$env.txt")"
    awk -v a="$ymin" -v b="$ymax" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(a < lo && b > hi) }' ||
        fail "q3_$env.png: y range drawn $ymin .. $ymax leaves out the assignment's $lo .. $hi"
done
# q3's Train curve has a band too (as Eval's: +- std over episodes for one seed)
grep -q '^# plot: .*band_lo("Train")' "$CHECK/q3_cheetah.txt" || fail "q3_cheetah.png: no band for Train"
# q1: the 5-step run gets a panel of its own steps, labelled as the 500-step run's start; integer
# step tics on the 5-step run's own figure.
[[ $(sidecars q1_losses | wc -l) == 2 ]] || fail "q1_losses.png: no panel of the first steps"
grep -q '^set xrange \[ -0.24.* : 4.24.* \]' "$CHECK/q1_losses.panel1.txt" || fail "q1_losses.png: the first panel is not steps 0-4"
grep -q "^# key: n5 arch2x250, seed 1 = n500 arch2x250's first 5 steps" "$CHECK/q1_losses.panel2.txt" ||
    fail "q1_losses.png: the 5-step run's key does not say it is the 500-step run's start"
grep -q '^set xtics  norangelimit 1 *$' "$CHECK/q1_cheetah_n5_arch2x250_losses.panel1.txt" ||
    fail "q1_cheetah_n5_arch2x250_losses.png: x tics not every step"
# beyond: runs of different lengths name their iterations in the key
grep -q '^# key: learned model (n=1, iterations 0-2)$' "$CHECK/beyond_obstacles_true.txt" &&
    grep -q '^# key: true simulator (n=1, iterations 0-1)$' "$CHECK/beyond_obstacles_true.txt" ||
    fail "beyond_obstacles_true.png: the key does not name each run's iterations"
# The sweep report. Sitting 1: runs a (100 s from t = 1000) and b (49.5 s from 1000.5, failed),
# e skipped as complete (0.3 s), and c, not in the job log (stopped with its sitting): its run
# log was last written at 1180, so it ran from a's end (1100) for 80 s. Sitting 2: c again, 60 s.
# Wall time 180 + 60 s (the gap between sittings does not count); busy (100 + 49.5 + 0.3 + 80 +
# 60) / (240 x 2) = 60.4%; 3 runs.
s1="$OUT/sweep/1" s2="$OUT/sweep/2"
mkdir -p "$s1" "$s2"
header='Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n'
printf "$header" >"$s1/joblog.tsv"
printf '1\t:\t1000.0\t100.0\t0\t0\t0\t0\tsweep.sh _run a.log a_seed1 1 build/q2 --seed 1\n' >>"$s1/joblog.tsv"
printf '2\t:\t1000.5\t49.5\t0\t0\t1\t0\tsweep.sh _run b.log b_seed1 1 build/q2 --seed 2\n' >>"$s1/joblog.tsv"
printf '3\t:\t1000.2\t0.3\t0\t0\t0\t0\tsweep.sh _run e.log e_seed1 1 build/q3 --seed 1\n' >>"$s1/joblog.tsv"
echo "== a" >"$s1/a_seed1.log"
echo "== b" >"$s1/b_seed1.log"
echo "skip: e, seed 1: complete run in ..." >"$s1/e_seed1.log"
echo "== c" >"$s1/c_seed1.log"
touch -d @1180 "$s1/c_seed1.log"
printf "$header" >"$s2/joblog.tsv"
printf '1\t:\t5000.0\t60.0\t0\t0\t0\t0\tsweep.sh _run c.log c_seed1 1 build/q4 --seed 1\n' >>"$s2/joblog.tsv"
echo "== c" >"$s2/c_seed1.log"
report=$("$HERE/../plot/aggregate.py" sweep "$s1/joblog.tsv" "$s2/joblog.tsv" --cores 2 --csv "$OUT/sweep.csv" | sed -n 1,2p)  # sed reads to the end: head could close the pipe under python
want="sweep: 3 runs (1 failed), wall time 4 min 0 s in 2 sittings, run times summed 4 min 50 s, cores busy 60% (2 cores)
  (5 jobs: 1 skipped as complete, 1 not in a job log: stopped with their sitting or still running)"
[[ $report == "$want" ]] || { echo "plot_test: sweep report '$report', expected '$want'" >&2; exit 1; }
# Its figure: c's stopped part starts at 1100 s = 0.0278 h, in the slot a freed (0); the second
# sitting starts where the first ended (180 s = 0.05 h).
row=$(grep '^c_seed1,0,' "$OUT/sweep.csv")
[[ $row == "c_seed1,0,0,0.0277777778,0.05,q4,unfinished" ]] || { echo "plot_test: sweep CSV row '$row'" >&2; exit 1; }
row=$(grep '^c_seed1,1,' "$OUT/sweep.csv")
[[ $row == "c_seed1,1,0,0.05,0.0666666667,q4,ok" ]] || { echo "plot_test: sweep CSV row '$row'" >&2; exit 1; }
gnuplot -e "file='$OUT/sweep.csv'; cores=2; out='$OUT/sweep.png'; ttl='test'; check='$CHECK/sweep'" "$HERE/../plot/sweep.gp" 2>"$OUT/sweep.gp.log"
if [[ ! -s $OUT/sweep.png || -s $OUT/sweep.gp.log ]]; then
    cat "$OUT/sweep.gp.log"
    echo "plot_test: plot/sweep.gp drew no figure, or warned" >&2
    exit 1
fi
[[ -n $(label "$CHECK/sweep.txt" xlabel) && -n $(label "$CHECK/sweep.txt" ylabel) ]] || fail "sweep.png: an axis label missing"
# The series' counts: seeds, then how many are incomplete. Seed 2 is a copy of the q3_obstacles
# fixture (3 iterations) cut to its first iteration: 2 seeds, 1 in progress; with seed 2's rows
# back, none.
series_dir="$OUT/series"
fixture="$HERE/fixtures/plot/hw4_q3_obstacles_obstacles-cs285-v0_01-01-2026_00-00-00"
mkdir -p "$series_dir"
cp -r "$fixture" "$series_dir/"
cp -r "$fixture" "$series_dir/hw4_q3_obstacles_obstacles-cs285-v0_01-01-2026_00-00-01"
sed -i 's/^seed,1$/seed,2/' "$series_dir/hw4_q3_obstacles_obstacles-cs285-v0_01-01-2026_00-00-01/flags.csv"
head -n 2 "$fixture/metrics.csv" >"$series_dir/hw4_q3_obstacles_obstacles-cs285-v0_01-01-2026_00-00-01/metrics.csv"
counts=$("$HERE/../plot/aggregate.py" series "$series_dir" q3_obstacles "$series_dir/mean.csv")
[[ $counts == "2 1" ]] || { echo "plot_test: series of a complete and an incomplete seed printed '$counts', expected '2 1'" >&2; exit 1; }
cp "$fixture/metrics.csv" "$series_dir/hw4_q3_obstacles_obstacles-cs285-v0_01-01-2026_00-00-01/metrics.csv"
counts=$("$HERE/../plot/aggregate.py" series "$series_dir" q3_obstacles "$series_dir/mean.csv")
[[ $counts == "2 0" ]] || { echo "plot_test: series of two complete seeds printed '$counts', expected '2 0'" >&2; exit 1; }
# q1 over seeds: seed 10 (the newest run) and seed 2 of the q1 fixture, seed 2's losses doubled.
# The run of one-run figures is the lowest seed by number (2, not "10"); the losses' mean at step
# 1 is (0.5 + 1) / 2 with n = 2.
q1_dir="$OUT/q1"
q1_fixture="$HERE/fixtures/plot/hw4_q1_cheetah_n500_arch1x32_cheetah-cs285-v0_01-01-2026_00-00-00"
mkdir -p "$q1_dir"
for s in 2:01 10:02; do
    d="$q1_dir/hw4_q1_cheetah_n500_arch1x32_cheetah-cs285-v0_01-01-2026_00-00-${s#*:}"
    cp -r "$q1_fixture" "$d"
    sed -i "s/^seed,1\$/seed,${s%%:*}/" "$d/flags.csv"
done
awk -F, 'NR == 1 { print; next } { print $1 "," 2 * $2 }' "$q1_fixture/losses.csv" \
    >"$q1_dir/hw4_q1_cheetah_n500_arch1x32_cheetah-cs285-v0_01-01-2026_00-00-01/losses.csv"
first=$("$HERE/../plot/aggregate.py" first "$q1_dir" q1_cheetah_n500_arch1x32)
[[ $first == "$q1_dir/hw4_q1_cheetah_n500_arch1x32_cheetah-cs285-v0_01-01-2026_00-00-01"$'\t'2 ]] ||
    { echo "plot_test: aggregate.py first gave '$first', expected seed 2's run" >&2; exit 1; }
counts=$("$HERE/../plot/aggregate.py" losses "$q1_dir" q1_cheetah_n500_arch1x32 "$q1_dir/mean.csv")
row=$(grep '^1,' "$q1_dir/mean.csv")
[[ $counts == "2 0" && $row == 1,2,0.75,0.5,1,* ]] ||
    { echo "plot_test: q1 losses over seeds printed '$counts', step 1 '$row'; expected '2 0', 1,2,0.75,0.5,1,..." >&2; exit 1; }
# The results tables (aggregate.py results): the fixture's final values against the assignment's
# numbers: q3_obstacles -50 (below -25), q6_cheetah_rlen10 800 (below 1000) and q1's loss set to
# 0.2 (not under 0.2) are marked; q3_reacher's -300 (the range's lower end) and q3_cheetah's 300
# are not; q1's loss 0.1999 is not. The CPU: none recorded, then one for every run, then two CPUs
# and runs without a record.
res_dir="$OUT/results"
mkdir -p "$res_dir"
for r in q1_cheetah_n500_arch1x32:cheetah q3_obstacles:obstacles q3_reacher:reacher q3_cheetah:cheetah \
         q6_cheetah_rlen10:cheetah; do
    e=${r%:*}
    cp -r "$HERE/fixtures/plot/hw4_${e}_${r#*:}-cs285-v0_01-01-2026_00-00-00" "$res_dir/"
    echo "build/${e%%_*} --exp_name $e --seed 1" >>"$res_dir/commands.txt"
done
q1_metrics=$(echo "$res_dir"/hw4_q1_*/metrics.csv)
sed -i 's/,0\.1,-55$/,0.2,-55/' "$q1_metrics"
printf '# x\n\n<!-- results -->\n<!-- /results -->\n\nafter\n' >"$res_dir/README.md"
results() {
    "$HERE/../plot/aggregate.py" results "$res_dir" "$res_dir/commands.txt" "$res_dir/results.md" \
        --readme "$res_dir/README.md" >/dev/null || fail "aggregate.py results failed"
}
row() { grep -F "| \`$1\` |" "$res_dir/README.md" || fail "README table: no row for $1"; }
results
for e in q1_cheetah_n500_arch1x32 q3_obstacles q6_cheetah_rlen10; do
    [[ $(row $e) == *'**below** |'* ]] || fail "README table: $e not marked below: $(row $e)"
    grep -F "| $e |" "$res_dir/results.md" | grep -qF '**below**' || fail "results.md: $e not marked below"
done
for e in q3_reacher q3_cheetah; do
    [[ $(row $e) != *'**below**'* ]] || fail "README table: $e marked below: $(row $e)"
done
sed -i 's/,0\.2,-55$/,0.1999,-55/' "$q1_metrics"
results
[[ $(row q1_cheetah_n500_arch1x32) != *'**below**'* ]] || fail "README table: a loss of 0.1999 marked below"
grep -qF '**below**: the mean over seeds falls short' "$res_dir/README.md" || fail "README table: no shortfall rule"
grep -qF 'threads not recorded; the CPU is not recorded' "$res_dir/README.md" || fail "README table: no CPU sentence"
[[ $(row q3_obstacles) =~ ^'| `q3_obstacles` | '[0-9.]+' | ' ]] || fail "README table: a CPU mark without CPUs: $(row q3_obstacles)"
tail -n 1 "$res_dir/README.md" | grep -qx after || fail "README: the text after the block is gone"
for d in "$res_dir"/hw4_*; do printf 'threads,1\ncpu,Test CPU A\n' >>"$d/flags.csv"; done
results
grep -qF 'one thread on Test CPU A (' "$res_dir/README.md" || fail "README table: one CPU not named"
[[ $(row q3_obstacles) =~ ^'| `q3_obstacles` | '[0-9.]+' | ' ]] || fail "README table: a mark with one CPU: $(row q3_obstacles)"
cp -r "$res_dir/hw4_q3_obstacles_obstacles-cs285-v0_01-01-2026_00-00-00" "$res_dir/hw4_q3_obstacles_obstacles-cs285-v0_01-01-2026_00-00-01"
sed -i 's/^seed,1$/seed,2/; s/^cpu,Test CPU A$/cpu,Test CPU B/' "$res_dir/hw4_q3_obstacles_obstacles-cs285-v0_01-01-2026_00-00-01/flags.csv"
cp -r "$res_dir/hw4_q3_reacher_reacher-cs285-v0_01-01-2026_00-00-00" "$res_dir/hw4_q3_reacher_reacher-cs285-v0_01-01-2026_00-00-01"
sed -i 's/^seed,1$/seed,2/; /^cpu,/d' "$res_dir/hw4_q3_reacher_reacher-cs285-v0_01-01-2026_00-00-01/flags.csv"
results
[[ $(row q3_obstacles) =~ ^'| `q3_obstacles` | '[0-9.]+' (a, b) | ' ]] || fail "README table: q3_obstacles's CPUs: $(row q3_obstacles)"
[[ $(row q3_reacher) =~ ^'| `q3_reacher` | '[0-9.]+' (a, ?) | ' ]] || fail "README table: q3_reacher's CPUs: $(row q3_reacher)"
[[ $(row q3_cheetah) =~ ^'| `q3_cheetah` | '[0-9.]+' (a) | ' ]] || fail "README table: q3_cheetah's CPUs: $(row q3_cheetah)"
grep -qF 'a = Test CPU A; b = Test CPU B; ? = not recorded' "$res_dir/README.md" || fail "README table: no CPU legend"
echo "plot_test: plot.sh drew all ${#expected[@]} figures from tests/fixtures/plot"
