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
# The sweep report: two 1-thread runs of 100 s and 49.5 s (the second started 0.5 s later, and
# failed) on 2 cores: wall 100 s, busy (100 + 49.5) / (100 x 2) = 74.75%, printed 75%.
log="$OUT/joblog.tsv"
printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n' >"$log"
printf '1\t:\t1000.0\t100.0\t0\t0\t0\t0\tsweep.sh _run a.log a_seed1 1 build/q2 --seed 1\n' >>"$log"
printf '2\t:\t1000.5\t49.5\t0\t0\t1\t0\tsweep.sh _run b.log b_seed1 1 build/q2 --seed 2\n' >>"$log"
report=$("$HERE/../plot/aggregate.py" sweep "$log" --cores 2 | sed -n 1p)  # sed reads to the end: head could close the pipe under python
want="sweep: 2 runs (1 failed), wall time 1 min 40 s, run times summed 2 min 30 s, cores busy 75% (2 cores)"
[[ $report == "$want" ]] || { echo "plot_test: sweep report '$report', expected '$want'" >&2; exit 1; }
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
echo "plot_test: plot.sh drew all ${#expected[@]} figures from tests/fixtures/plot"
