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
echo "plot_test: plot.sh drew all ${#expected[@]} figures from tests/fixtures/plot"
