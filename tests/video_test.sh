#!/usr/bin/env bash
# tests/video_test.sh BUILD_DIR OUT_DIR: --video_log_freq (examples/video.hpp, gif.hpp, render.hpp)
# checked by tests/video_check.py and tests/tfevents_check.py (PIL, protoc's classes: not this
# project's decoders):
#   gif       synthetic GIFs decode to their frames (size, count, delay, looping, pixels)
#   render    a cheetah and a reacher frame show the body, centred, the right way up
#   reacher   a tiny q3 run with --video_log_freq 2 (videos at iteration 0 of 2) writes the same
#             metrics.csv (but TimeSinceStart), predictions.csv and losses.csv as without; its
#             GIFs and image summaries decode (200 frames, 500 x 250); its event file equals a
#             rewrite from its files (build/tfevents --check)
#   mbpo      the same for q6 (SAC's copies), videos at its one iteration
#   resume    a video file of an iteration past the checkpoint is removed by --resume
#   obstacles q2 with --video_log_freq 1: the same metrics as without; path CSVs; plot/paths.gp
# Part of `make test` (make test-video).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${1:?usage: tests/video_test.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: tests/video_test.sh BUILD_DIR OUT_DIR}
PYTHON=${PYTHON:-/usr/bin/python3}
check() { "$PYTHON" "$HERE/video_check.py" "$@"; }
fail() { echo "video_test: FAILED: $*" >&2; exit 1; }
run_dir() { ls -d "$1"/hw4_* 2>/dev/null; }
# metrics.csv of two runs equal but for the TimeSinceStart column; the Q1 CSVs equal when present
same_run() {
    "$PYTHON" - "$1/metrics.csv" "$2/metrics.csv" <<'PY' || fail "metrics.csv of $1 and $2 differ"
import csv, sys
def cut(p):
    rows = list(csv.reader(open(p)))
    i = rows[0].index("TimeSinceStart")
    return [r[:i] + r[i + 1:] for r in rows]
a, b = cut(sys.argv[1]), cut(sys.argv[2])
sys.exit(a != b or len(a) < 2)
PY
    for f in predictions.csv losses.csv; do
        [[ ! -f $1/$f ]] || cmp -s "$1/$f" "$2/$f" || fail "$f of $1 and $2 differ"
    done
    echo "video_test: $(basename "$2"): the same metrics as without videos"
}
rm -rf "$OUT"
mkdir -p "$OUT"

echo "video_test: gif"
mkdir -p "$OUT/gif"
"$BUILD/video_tool" gif "$OUT/gif"
check gif "$OUT/gif"

echo "video_test: render"
mkdir -p "$OUT/render"
"$BUILD/video_tool" render "$OUT/render"
check render "$OUT/render"

TINY=(--n_iter 2 --batch_size_initial 400 --batch_size 200 --eval_batch_size 200 --num_agent_train_steps_per_iter 5
      --n_layers 1 --size 32)
echo "video_test: reacher"
MB=(--exp_name video --env_name reacher-cs285-v0 "${TINY[@]}" --mpc_num_action_sequences 20 --mpc_horizon 3)
"$BUILD/q3" "${MB[@]}" --data_dir "$OUT/reacher/off" > "$OUT/reacher_off.log" 2>&1 || { cat "$OUT/reacher_off.log"; fail "reacher run"; }
"$BUILD/q3" "${MB[@]}" --video_log_freq 2 --data_dir "$OUT/reacher/on" > "$OUT/reacher_on.log" 2>&1 \
    || { cat "$OUT/reacher_on.log"; fail "reacher run with videos"; }
on=$(run_dir "$OUT/reacher/on")
same_run "$(run_dir "$OUT/reacher/off")" "$on"
check run "$on" 0 200
"$PYTHON" "$HERE/tfevents_check.py" --rows 2 --videos 2 "$on"
"$BUILD/tfevents" --check "$on"

echo "video_test: mbpo"
M6=(--exp_name video --env_name reacher-cs285-v0 "${TINY[@]}" --n_iter 1 --sac_n_iter 20 --mbpo_rollout_length 2)
"$BUILD/q6" "${M6[@]}" --data_dir "$OUT/mbpo/off" > "$OUT/mbpo_off.log" 2>&1 || { cat "$OUT/mbpo_off.log"; fail "mbpo run"; }
"$BUILD/q6" "${M6[@]}" --video_log_freq 1 --save_params --data_dir "$OUT/mbpo/on" > "$OUT/mbpo_on.log" 2>&1 \
    || { cat "$OUT/mbpo_on.log"; fail "mbpo run with videos"; }
on=$(run_dir "$OUT/mbpo/on")
same_run "$(run_dir "$OUT/mbpo/off")" "$on"
check run "$on" 0 200
"$PYTHON" "$HERE/tfevents_check.py" --rows 1 --videos 2 "$on"

echo "video_test: resume"
# as if a kill had come after iteration 1's videos and before its checkpoint: --resume makes
# iteration 1 again (here without videos), and its old videos must go
cp "$on/train_rollouts_itr0.gif" "$on/train_rollouts_itr1.gif"
"$BUILD/q6" --resume "$on" --n_iter 2 --video_log_freq -1 > "$OUT/mbpo_resume.log" 2>&1 \
    || { cat "$OUT/mbpo_resume.log"; fail "resume"; }
[[ ! -e $on/train_rollouts_itr1.gif ]] || fail "resume: the video of iteration 1 is still there"
check run "$on" 0 200
"$PYTHON" "$HERE/tfevents_check.py" --rows 2 --videos 2 "$on"

echo "video_test: final video"
# --final_video: the policy the run ends with, from its checkpoint (2 iterations: itr 2's GIF);
# no other file of the run changes
sums=$(cd "$on" && md5sum metrics.csv checkpoint.bin events.out.tfevents.*)
"$BUILD/q6" --final_video "$on" > "$OUT/mbpo_final.log" 2>&1 || { cat "$OUT/mbpo_final.log"; fail "final video"; }
[[ -s $on/eval_rollouts_itr2.gif ]] || fail "final video: no eval_rollouts_itr2.gif"
[[ $(cd "$on" && md5sum metrics.csv checkpoint.bin events.out.tfevents.*) == "$sums" ]] || fail "final video: the run changed"
"$PYTHON" -c "
import sys; from PIL import Image
a, b = Image.open(sys.argv[1]), Image.open(sys.argv[2])
assert a.size == b.size == (500, 250) and a.n_frames == b.n_frames > 1, (a.size, b.size, a.n_frames, b.n_frames)
" "$on/eval_rollouts_itr2.gif" "$on/train_rollouts_itr0.gif" || fail "final video: not a GIF of the videos' size and length"

# with --print_commands or --skip_if_complete it is refused (exit 2), as --resume is
for extra in --print_commands --skip_if_complete; do
    status=0
    "$BUILD/q6" --final_video "$on" $extra > "$OUT/final_refused.log" 2>&1 || status=$?
    [[ $status == 2 ]] && grep -q -- "--final_video goes with neither" "$OUT/final_refused.log" \
        || { cat "$OUT/final_refused.log"; fail "final video with $extra: exit $status, not refused"; }
done

echo "video_test: obstacles"
OB=(--exp_name video --env_name obstacles-cs285-v0 "${TINY[@]}" --mpc_num_action_sequences 50)
"$BUILD/q2" "${OB[@]}" --data_dir "$OUT/obstacles/off" > "$OUT/obstacles_off.log" 2>&1 || { cat "$OUT/obstacles_off.log"; fail "obstacles run"; }
"$BUILD/q2" "${OB[@]}" --video_log_freq 1 --data_dir "$OUT/obstacles/on" > "$OUT/obstacles_on.log" 2>&1 \
    || { cat "$OUT/obstacles_on.log"; fail "obstacles run with videos"; }
on=$(run_dir "$OUT/obstacles/on")
same_run "$(run_dir "$OUT/obstacles/off")" "$on"
check paths "$on" 0,1
"$PYTHON" "$HERE/tfevents_check.py" --rows 2 --videos 0 "$on"
gnuplot -e "run='$on'; itr=1; out='$OUT/paths.png'" "$ROOT/plot/paths.gp"
[[ -s $OUT/paths.png ]] || fail "plot/paths.gp drew nothing"
echo "video_test: OK"
