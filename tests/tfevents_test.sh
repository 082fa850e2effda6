#!/usr/bin/env bash
# tests/tfevents_test.sh BUILD_DIR OUT_DIR: the TensorBoard event files that tiny q2 runs write
# (examples/tfevents.hpp), checked against their metrics.csv by tests/tfevents_check.py (protoc's
# classes and python3-crc32c, not this project's code), in four runs:
#   fresh     a complete run: every row's event, and the appended file equals a rewrite from the
#             CSV byte for byte (build/tfevents --check)
#   sigint    stopped by SIGINT in iteration 2 (after checkpoint 1): events equal the CSV; resumed
#             with --resume DIR to 3 iterations: equal again
#   sigkill   frozen in iteration 2, given a metrics.csv row past its checkpoint, which
#             build/tfevents must leave alone (the run holds the file), killed by SIGKILL, and
#             continued by the same command with --skip_if_complete
#   truncate  a kill between a row (and its event) and the checkpoint, and a record cut off
#             mid-write: metrics.csv given a row past checkpoint.bin, the event file that row's
#             event and half a record more (the checker must reject that file); resumed with
#             --resume DIR to 3 iterations, which drops the row: events equal the CSV
# Part of `make test` (make test-tfevents).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${1:?usage: tests/tfevents_test.sh BUILD_DIR OUT_DIR}
OUT=${2:?usage: tests/tfevents_test.sh BUILD_DIR OUT_DIR}
PYTHON=${PYTHON:-/usr/bin/python3}
Q2="$BUILD/q2"
TINY=(--exp_name tfevents --env_name obstacles-cs285-v0 --batch_size_initial 500 --batch_size 200
      --eval_batch_size 200 --num_agent_train_steps_per_iter 5 --mpc_num_action_sequences 50 --n_layers 1 --size 32)
check() { "$PYTHON" "$HERE/tfevents_check.py" "$@"; }
fail() { echo "tfevents_test: FAILED: $*" >&2; exit 1; }
run_dir() { ls -d "$1"/hw4_tfevents_* 2>/dev/null; }
rows() { echo $(($(wc -l < "$1/metrics.csv") - 1)); }
rm -rf "$OUT"
mkdir -p "$OUT"

echo "tfevents_test: fresh"
"$Q2" "${TINY[@]}" --n_iter 2 --data_dir "$OUT/fresh" > "$OUT/fresh.log" 2>&1 || { cat "$OUT/fresh.log"; fail "fresh run"; }
check --rows 2 "$(run_dir "$OUT/fresh")"
"$BUILD/tfevents" --check "$OUT/fresh"

# Starts a 3-iteration run with --save_params in $OUT/$1 and freezes it (SIGSTOP) as soon as its
# first checkpoint exists, i.e. early in iteration 2; sets pid (q2's), waiter (a subshell that
# waits for it and exits with its status, so that no job message about a kill reaches stderr) and dir.
start_and_freeze() {
    rm -f "$OUT/$1.pid"
    ( "$Q2" "${TINY[@]}" --n_iter 3 --save_params --data_dir "$OUT/$1" > "$OUT/$1.log" 2>&1 &
      echo $! > "$OUT/$1.pid"
      wait $! ) 2>/dev/null &
    waiter=$!
    until [[ -s $OUT/$1.pid ]]; do sleep 0.01; done
    pid=$(cat "$OUT/$1.pid")
    dir=""
    while :; do
        dir=$(run_dir "$OUT/$1" || true)
        [[ -n $dir && -f $dir/checkpoint.bin ]] && break
        kill -0 $pid 2>/dev/null || { cat "$OUT/$1.log"; fail "$1: the run ended before its first checkpoint"; }
        sleep 0.02
    done
    kill -STOP $pid || fail "$1: the run ended before it could be stopped"
    echo "tfevents_test: $1: frozen with $(rows "$dir") row(s) and a checkpoint"
}

echo "tfevents_test: sigint"
start_and_freeze sigint
kill -INT $pid
kill -CONT $pid
status=0
wait $waiter || status=$?
[[ $status == 130 ]] || { cat "$OUT/sigint.log"; fail "sigint: exit code $status, expected 130 (stopped by SIGINT)"; }
n=$(rows "$dir")
[[ $n -lt 3 ]] || fail "sigint: the run was complete before SIGINT"
check --rows "$n" "$dir"
"$Q2" --resume "$dir" --n_iter 3 > "$OUT/sigint_resume.log" 2>&1 || { cat "$OUT/sigint_resume.log"; fail "sigint: resume"; }
check --rows 3 "$dir"

echo "tfevents_test: sigkill"
start_and_freeze sigkill
# While the run holds its event file, build/tfevents must not replace it (even when stale).
ev=$(ls "$dir"/events.out.tfevents.*)
cp "$ev" "$OUT/sigkill_events_before"
tail -n 1 "$dir/metrics.csv" | sed 's/^0,/1,/' >> "$dir/metrics.csv"   # a row checkpoint.bin does not have
"$BUILD/tfevents" "$OUT/sigkill" > "$OUT/sigkill_tool.log"
grep -q '^skipped: .* is held by a running run$' "$OUT/sigkill_tool.log" || { cat "$OUT/sigkill_tool.log"; fail "sigkill: build/tfevents did not skip the running run"; }
cmp -s "$ev" "$OUT/sigkill_events_before" || fail "sigkill: build/tfevents changed a running run's event file"
kill -KILL $pid
wait $waiter || true
n=$(rows "$dir")
[[ $n -lt 3 ]] || fail "sigkill: the run was complete before SIGKILL"
"$Q2" "${TINY[@]}" --n_iter 3 --save_params --data_dir "$OUT/sigkill" --skip_if_complete > "$OUT/sigkill_resume.log" 2>&1 \
    || { cat "$OUT/sigkill_resume.log"; fail "sigkill: resume"; }
grep -q '^resume: ' "$OUT/sigkill_resume.log" || { cat "$OUT/sigkill_resume.log"; fail "sigkill: --skip_if_complete did not resume"; }
[[ $(run_dir "$OUT/sigkill" | wc -l) == 1 ]] || fail "sigkill: a second run directory"
check --rows 3 "$dir"

echo "tfevents_test: truncate"
"$Q2" "${TINY[@]}" --n_iter 1 --save_params --data_dir "$OUT/truncate" > "$OUT/truncate.log" 2>&1 \
    || { cat "$OUT/truncate.log"; fail "truncate: run"; }
dir=$(run_dir "$OUT/truncate")
tail -n 1 "$dir/metrics.csv" | sed 's/^0,/1,/' >> "$dir/metrics.csv"   # a row checkpoint.bin does not have
"$BUILD/tfevents" "$dir" > /dev/null                                  # ... and its event
check --rows 2 "$dir"
ev=$(ls "$dir"/events.out.tfevents.*)
head -c 30 "$ev" >> "$ev"                                            # half a record
if check "$dir" 2> "$OUT/truncate_check.err"; then fail "truncate: the checker accepted a cut-off record"; fi
echo "tfevents_test: truncate: the checker rejects the cut-off record: $(cat "$OUT/truncate_check.err")"
"$Q2" --resume "$dir" --n_iter 3 > "$OUT/truncate_resume.log" 2>&1 || { cat "$OUT/truncate_resume.log"; fail "truncate: resume"; }
grep -q 'resuming .* at iteration 2$' "$OUT/truncate_resume.log" || { cat "$OUT/truncate_resume.log"; fail "truncate: not resumed at iteration 2"; }
check --rows 3 "$dir"
"$BUILD/tfevents" --check "$OUT"
echo "tfevents_test: OK"
