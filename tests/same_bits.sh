#!/usr/bin/env bash
# tests/same_bits.sh BUILD_DIR: every kernel gives the same bits. Short runs of build/q2, build/q3
# and build/q6 (built with the default flags, which carry every kernel), once under each kernel
# this CPU runs and the reference kernel (MBRL_KERNEL), with --save_params; their metrics.csv (time
# aside), losses.csv, predictions.csv and checkpoint.bin must be equal byte for byte:
#   q2 seed 1       the assignment's q2 command (tuned kernels; the reference runs a smaller q2)
#   q2 small        obstacles, 2 iterations, a 1x32 ensemble
#   TS-inf          cheetah, probabilistic members, trajectory sampling, 2 iterations
#   MBPO            cheetah, SAC on model rollouts of length 3, 2 iterations
# Part of make test (make test-isa).
set -euo pipefail
B=${1:?usage: tests/same_bits.sh BUILD_DIR}
OUT=$B/same-bits
rm -rf "$OUT"
mkdir -p "$OUT"
kernels="$("$B/bench" --kernels | tr '\n' ' ')reference"
tiny="--n_iter 2 --batch_size_initial 600 --batch_size 200 --eval_batch_size 200 --num_agent_train_steps_per_iter 10"
tiny="$tiny --n_layers 1 --size 32 --mpc_num_action_sequences 40 --mpc_horizon 5 --add_sl_noise"
q2_seed1=$("$B/q2" --print_commands --seeds 1 | head -1 | cut -d' ' -f2-)
runs=(
    "q2_seed1|q2|$q2_seed1"
    "q2_small|q2|--exp_name small --env_name obstacles-cs285-v0 $tiny --seed 3"
    "tsinf|q3|--exp_name tsinf --env_name cheetah-cs285-v0 $tiny --model_type probabilistic --mpc_propagation tsinf --seed 4"
    "mbpo|q6|--exp_name mbpo --env_name cheetah-cs285-v0 $tiny --sac_n_iter 30 --sac_n_layers 1 --sac_size 32 --mbpo_rollout_length 3 --seed 5"
)
status=0
for k in $kernels; do
    for r in "${runs[@]}"; do
        IFS='|' read -r name bin args <<<"$r"
        [[ $k == reference && $name == q2_seed1 ]] && continue  # plain loops: an hour
        mkdir -p "$OUT/$k"
        # shellcheck disable=SC2086
        MBRL_KERNEL=$k OMP_NUM_THREADS=1 "$B/$bin" $args --save_params --data_dir "$OUT/$k/$name" \
            >"$OUT/$k/$name.log" 2>&1 || { echo "same-bits: $k $name FAILED (see $OUT/$k/$name.log)"; status=1; }
    done
done
# The files that must agree, with metrics.csv's TimeSinceStart column cut out.
strip() {
    local col
    col=$(head -1 "$1" | tr ',' '\n' | grep -n '^TimeSinceStart$' | cut -d: -f1)
    if [[ -n $col ]]; then cut -d, -f"$col" --complement "$1"; else cat "$1"; fi
}
first=${kernels%% *}
compared=0
for k in $kernels; do
    [[ $k == "$first" ]] && continue
    for r in "${runs[@]}"; do
        name=${r%%|*}
        [[ -d $OUT/$k/$name ]] || continue
        for f in metrics.csv losses.csv predictions.csv checkpoint.bin; do
            a=$(ls "$OUT/$first/$name"/*/"$f" 2>/dev/null || true) b=$(ls "$OUT/$k/$name"/*/"$f" 2>/dev/null || true)
            [[ -z $a && -z $b ]] && continue
            if [[ -n $a && -n $b ]] && cmp -s <(strip "$a") <(strip "$b"); then
                compared=$((compared + 1))
            else
                echo "same-bits: $name/$f: kernel $k differs from $first"
                status=1
            fi
        done
    done
done
echo "same-bits: kernels $kernels: $compared files equal to the $first kernel's, byte for byte"
exit $status
