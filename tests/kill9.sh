#!/usr/bin/env bash
# kill -9 at any instant: tiny runs (q2 on obstacles, q6 MBPO on cheetah) with --save_params are
# SIGKILLed at random instants and continued with the same command plus --skip_if_complete (as a
# sweep does), again and again until one finishes by itself. Then its metrics.csv (all but the
# TimeSinceStart column), checkpoint.bin and flags.csv (the data directory's name aside) must equal, byte for byte, those of the same
# run made without interruption; the data directory must hold exactly one run directory (no
# hidden leftover), metrics.csv exactly n_iter whole rows, iterations 0..n_iter-1 once each, and
# one more start must skip the run as complete.
#
#   tests/kill9.sh [--kills N] [--per-run K] [--build DIR] [--seed S]
#
# N: kills to survive in all (default 12); K: kills at most per run before it is let finish
# (default 6). Runs alternate between q2 and q6 until N kills were made. Only the processes this
# script starts are killed (by their pid). Last line: "kill9: P passed, F failed" (runs compared).
set -u
kills_wanted=12 per_run=6 build=build seed=$(( $(date +%s) % 100000 ))
while (($#)); do
    case $1 in
    --kills) kills_wanted=$2; shift 2 ;;
    --per-run) per_run=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "kill9.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
RANDOM=$seed
for q in q2 q6; do
    [[ -x $build/$q ]] || { echo "kill9.sh: $build/$q not built (make $build/$q)" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/mbrl_kill9.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1

TINY="--n_iter 4 --batch_size_initial 500 --batch_size 200 --eval_batch_size 200 --num_agent_train_steps_per_iter 5
      --mpc_num_action_sequences 50 --n_layers 1 --size 32 --save_params --seed 1"
# The command of a case (word-split on purpose): $1 = q2 | q6
command_of() {
    case $1 in
    q2) echo "$build/q2 --exp_name k9 --env_name obstacles-cs285-v0 $TINY" ;;
    q6) echo "$build/q6 --exp_name k9 --env_name cheetah-cs285-v0 $TINY --sac_n_iter 20
              --sac_num_agent_train_steps_per_iter 1 --sac_size 32 --mbpo_rollout_length 2" ;;
    esac
}
# metrics.csv without its TimeSinceStart column (the 13th)
strip_time() { awk -F, -v OFS=, '{ $13 = ""; print }' "$1"; }
now() { date +%s.%N; }

# The uninterrupted runs, and how long each takes.
declare -A ref_dir duration
for q in q2 q6; do
    t0=$(now)
    # shellcheck disable=SC2046
    $(command_of $q) --skip_if_complete --data_dir "$work/ref_$q" >"$work/ref_$q.log" 2>&1 ||
        { echo "kill9.sh: the uninterrupted $q run failed:"; tail -5 "$work/ref_$q.log"; exit 1; }
    duration[$q]=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
    ref_dir[$q]=$(ls -d "$work/ref_$q"/hw4_* | head -1)
    echo "kill9: uninterrupted $q run: ${duration[$q]} s (kills are drawn uniformly in [0, that])"
done

kills=0 passed=0 failed=0 diffs=0 round=0 started=$(now)
while ((kills < kills_wanted)); do
    q=$([[ $((round % 2)) == 0 ]] && echo q2 || echo q6)
    round=$((round + 1))
    data=$work/run$round
    k=0 starts=0 status=''
    while :; do
        starts=$((starts + 1))
        # shellcheck disable=SC2046
        $(command_of $q) --skip_if_complete --data_dir "$data" >>"$work/run$round.log" 2>&1 &
        pid=$!
        if ((k < per_run && kills < kills_wanted)); then
            sleep "$(awk -v r=$RANDOM -v t="${duration[$q]}" 'BEGIN { printf "%.3f", r / 32768 * t }')"
            if kill -9 "$pid" 2>/dev/null; then
                wait "$pid" 2>/dev/null
                k=$((k + 1)) kills=$((kills + 1))
                continue
            fi
        fi
        wait "$pid"
        status=$?
        break
    done
    problems=()
    [[ $status == 0 ]] || problems+=("the last start exited with $status")
    dirs=$(find "$data" -mindepth 1 -maxdepth 1 -name 'hw4_*' | wc -l)
    hidden=$(find "$data" -mindepth 1 -maxdepth 1 -name '.hw4_*' | wc -l)
    [[ $dirs == 1 ]] || problems+=("$dirs run directories")
    [[ $hidden == 0 ]] || problems+=("$hidden hidden leftover directories")
    dir=$(find "$data" -mindepth 1 -maxdepth 1 -name 'hw4_*' | head -1)
    if [[ -n $dir ]]; then
        m=$dir/metrics.csv
        [[ $(tail -c 1 "$m" | od -An -c | tr -d ' ') == '\n' ]] || problems+=("metrics.csv ends in a partial row")
        rows=$(($(wc -l <"$m") - 1))
        [[ $rows == 4 ]] || problems+=("metrics.csv has $rows rows, not 4")
        [[ $(tail -n +2 "$m" | cut -d, -f1 | tr '\n' ' ') == '0 1 2 3 ' ]] ||
            problems+=("iterations $(tail -n +2 "$m" | cut -d, -f1 | tr '\n' ' ')")
        cmp -s <(strip_time "$m") <(strip_time "${ref_dir[$q]}/metrics.csv") ||
            { problems+=("metrics.csv differs"); diffs=$((diffs + 1)); }
        cmp -s "$dir/checkpoint.bin" "${ref_dir[$q]}/checkpoint.bin" ||
            { problems+=("checkpoint.bin differs"); diffs=$((diffs + 1)); }
        cmp -s <(sed "s#$data#DATA#g" "$dir/flags.csv") <(sed "s#$work/ref_$q#DATA#g" "${ref_dir[$q]}/flags.csv") ||
            { problems+=("flags.csv differs"); diffs=$((diffs + 1)); }
        # shellcheck disable=SC2046
        $(command_of $q) --skip_if_complete --data_dir "$data" 2>&1 | grep -q '^skip: ' ||
            problems+=("a further start did not skip it as complete")
    fi
    if ((${#problems[@]} == 0)); then
        passed=$((passed + 1))
        echo "kill9: run $round ($q): $k kills in $starts starts, then complete; metrics.csv, checkpoint.bin, flags.csv equal"
        rm -rf "$data" "$work/run$round.log"
    else
        failed=$((failed + 1))
        echo "kill9: run $round ($q): $k kills in $starts starts: FAILED: $(IFS=';'; echo "${problems[*]}")"
        echo "--- its log:"
        tail -n 20 "$work/run$round.log"
    fi
done
elapsed=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')
echo "kill9: $kills kills survived, $round runs compared, $diffs differences found ($elapsed s, random seed $seed)"
echo "kill9: $passed passed, $failed failed"
((failed == 0))
