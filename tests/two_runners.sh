#!/usr/bin/env bash
# Two runners on one run (a Slurm task resubmitted while the first still runs, `make sweep`
# started twice): a tiny q2 run A with --save_params --skip_if_complete, and, while A holds its
# run directory's lock, the same command again (B) three ways: before A's first checkpoint, after
# it, and as --resume of A's directory. Each B must not run: exit code 75, a message naming A's
# pid, no second run directory. A must complete as a run made alone does (metrics.csv but its
# time column, checkpoint.bin); afterwards the lock is free and the same command skips the run.
#
#   tests/two_runners.sh [--build DIR]
#
# Only the processes this script starts are waited for or killed (by their pid). Last line:
# "two-runners: P passed, F failed".
set -u
build=build
while (($#)); do
    case $1 in
    --build) build=$2; shift 2 ;;
    *) echo "two_runners.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[[ -x $build/q2 ]] || { echo "two_runners.sh: $build/q2 not built (make $build/q2)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mbrl_two_runners.XXXXXX")
a_pid=''
cleanup() {
    [[ -n $a_pid ]] && kill -9 "$a_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
export OMP_NUM_THREADS=1
# Iteration 0 (3000 random steps, 150 training steps, the model check) takes a few seconds: time
# for B to meet A before A's first checkpoint.
run=("$build/q2" --exp_name two --env_name obstacles-cs285-v0 --n_iter 3 --batch_size_initial 3000
     --batch_size 500 --eval_batch_size 500 --num_agent_train_steps_per_iter 150 --mpc_num_action_sequences 200
     --n_layers 1 --size 64 --save_params --seed 1)
passed=0 failed=0
check() {  # check "what" command...
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "two-runners: ok: $what"
    else
        failed=$((failed + 1))
        echo "two-runners: FAILED: $what"
    fi
}
dirs() { find "$1" -mindepth 1 -maxdepth 1 -name 'hw4_*' 2>/dev/null | wc -l; }
strip_time() { awk -F, -v OFS=, '{ $13 = ""; print }' "$1"; }

# The same run alone, for comparison.
"${run[@]}" --skip_if_complete --data_dir "$work/alone" >"$work/alone.log" 2>&1 ||
    { echo "two_runners.sh: the run alone failed:"; tail -5 "$work/alone.log"; exit 1; }
alone=$(find "$work/alone" -mindepth 1 -maxdepth 1 -name 'hw4_*')

data=$work/data
"${run[@]}" --skip_if_complete --data_dir "$data" >"$work/a.log" 2>&1 &
a_pid=$!
for ((i = 0; i < 600; ++i)); do [[ $(dirs "$data") == 0 ]] || break; sleep 0.01; done
dir=$(find "$data" -mindepth 1 -maxdepth 1 -name 'hw4_*' | head -1)
check "A's run directory appeared" test -n "$dir"

# B1: before A's first checkpoint (the run found as incomplete without a checkpoint).
[[ -e $dir/checkpoint.bin ]] && b1_when="after" || b1_when="before"
status=0
"${run[@]}" --skip_if_complete --data_dir "$data" >"$work/b1.log" 2>&1 || status=$?
check "B $b1_when A's first checkpoint: exit 75 (got $status)" test "$status" = 75
check "B $b1_when A's first checkpoint: names A's pid $a_pid" grep -q "busy: .*pid $a_pid on host" "$work/b1.log"
check "B $b1_when A's first checkpoint: no second run directory" test "$(dirs "$data")" = 1
sed -n 's/^/    B says: /p' "$work/b1.log" | grep busy

# B2: after A's first checkpoint (the run found as resumable).
for ((i = 0; i < 3000; ++i)); do [[ -e $dir/checkpoint.bin ]] && break; sleep 0.01; done
status=0
"${run[@]}" --skip_if_complete --data_dir "$data" >"$work/b2.log" 2>&1 || status=$?
if kill -0 "$a_pid" 2>/dev/null; then
    check "B after A's first checkpoint: exit 75 (got $status)" test "$status" = 75
    check "B after A's first checkpoint: names A's pid $a_pid" grep -q "busy: .*pid $a_pid on host" "$work/b2.log"
else
    check "A still running when B started after A's first checkpoint (make the run longer)" false
fi
# B3: --resume of A's directory.
status=0
"$build/q2" --resume "$dir" >"$work/b3.log" 2>&1 || status=$?
if kill -0 "$a_pid" 2>/dev/null; then
    check "B as --resume of A's directory: exit 75 (got $status)" test "$status" = 75
    check "B as --resume of A's directory: names A's pid $a_pid" grep -q "busy: .*pid $a_pid on host" "$work/b3.log"
else
    check "A still running when B resumed its directory (make the run longer)" false
fi
check "still one run directory" test "$(dirs "$data")" = 1

status=0
wait "$a_pid" || status=$?
a_pid=''
check "A completed (exit $status)" test "$status" = 0
check "A's metrics.csv equals the run made alone (time column aside)" \
    cmp -s <(strip_time "$dir/metrics.csv") <(strip_time "$alone/metrics.csv")
check "A's checkpoint.bin equals the run made alone" cmp -s "$dir/checkpoint.bin" "$alone/checkpoint.bin"
"${run[@]}" --skip_if_complete --data_dir "$data" >"$work/c.log" 2>&1
check "after A, the same command skips the complete run" grep -q '^skip: ' "$work/c.log"
check "still one run directory at the end" test "$(dirs "$data")" = 1
echo "two-runners: $passed passed, $failed failed"
((failed == 0))
