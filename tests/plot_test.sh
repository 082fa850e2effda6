#!/usr/bin/env bash
# tests/plot_test.sh OUT_DIR: runs plot/plot.sh on the CSV fixture tests/fixtures/plot/ (one tiny
# run per exp_name, written by tests/make_plot_fixture.py) and checks that every figure plot.sh
# promises (plot/README.md's table) exists, is non-empty and is a PNG. Part of `make test`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:?usage: tests/plot_test.sh OUT_DIR}
rm -rf "$OUT"
"$HERE/../plot/plot.sh" "$HERE/fixtures/plot" "$OUT" >"$OUT.log" 2>&1 || { cat "$OUT.log"; echo "plot_test: plot.sh failed" >&2; exit 1; }
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
    q3_obstacles_model.png q6_cheetah_rlen10_model.png
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
gnuplot -e "file='$OUT/sweep.csv'; cores=2; out='$OUT/sweep.png'; ttl='test'" "$HERE/../plot/sweep.gp" 2>"$OUT/sweep.gp.log"
if [[ ! -s $OUT/sweep.png || -s $OUT/sweep.gp.log ]]; then
    cat "$OUT/sweep.gp.log"
    echo "plot_test: plot/sweep.gp drew no figure, or warned" >&2
    exit 1
fi
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
echo "plot_test: plot.sh drew all ${#expected[@]} figures from tests/fixtures/plot"
